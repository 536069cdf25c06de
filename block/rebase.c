/*
 * The data copy of a safe 'qemu-img rebase': before an image gets a new
 * backing file, every range it does not define itself and where the old
 * and the new backing file differ is copied into it, with the old content,
 * so that what the image reads does not change.
 *
 * Invariants (crash safety):
 *  1. Copies are whole clusters (subclusters with extended L2 entries) of
 *     the image, read from the old backing file: a cluster written here
 *     never needs copy-on-write, and reads the same before and after.
 *  2. Work items are disjoint and cluster-aligned, so no two coroutines
 *     write into the same cluster.
 *  3. The image is flushed (data, L2 entries, refcounts) before this
 *     returns: the caller changes the backing file name only afterwards,
 *     so a crash at any point leaves the old name with copies that read
 *     as the old backing file did, or the new name with every copy on
 *     disk.
 */
#include "config-host.h"

#include "util/osdep.h"
#include "util/coroutine.h"
#include "util/error.h"
#include "util/iov.h"
#include "block/block_int.h"

/* The reference's chunk: its progress bar moves one step per chunk. */
#define REBASE_CHUNK        (2 * MiB)
#define REBASE_WORKERS      8

typedef struct RebaseItem {
    int64_t start;
    int64_t end;
    int steps;                  /* progress steps finished with this item */
} RebaseItem;

typedef struct RebaseState {
    BlockBackend *blk;
    BlockDriverState *bs;
    BlockBackend *old_blk;
    BlockBackend *new_blk;
    BlockDriverState *prefix;
    int64_t size, old_size, new_size;
    int64_t granule;
    int64_t max_item;

    RebaseItem *items;
    int64_t nb_items;
    int64_t next_item;
    int64_t total_steps;
    int64_t done_steps;

    BlockJobProgressCB *progress;
    void *opaque;

    int ret;
    Error *err;
    int running;
    bool scanned;
} RebaseState;

static void rebase_fail(RebaseState *s, int ret, const char *fmt,
                        const char *arg)
{
    if (s->ret == 0) {
        s->ret = ret;
        if (arg) {
            error_setg(&s->err, fmt, arg);
        } else {
            error_setg(&s->err, "%s", fmt);
        }
    }
}

static void rebase_add(RebaseState *s, int64_t start, int64_t end,
                       int64_t *cap)
{
    RebaseItem *last = s->nb_items ? &s->items[s->nb_items - 1] : NULL;

    start = ROUND_DOWN(start, s->granule);
    end = MIN(ROUND_UP(end, s->granule), s->size);
    s->total_steps++;
    /* Invariant 2: a granule shared with the previous item joins it. */
    if (last && start < last->end) {
        last->end = MAX(last->end, end);
        last->steps++;
    } else {
        if (s->nb_items == *cap) {
            *cap = *cap ? *cap * 2 : 256;
            s->items = xrealloc(s->items, *cap * sizeof(RebaseItem));
        }
        last = &s->items[s->nb_items++];
        *last = (RebaseItem) { .start = start, .end = end, .steps = 1 };
    }
    s->max_item = MAX(s->max_item, last->end - last->start);
}

/*
 * Status of [offset, offset + bytes) through bs's chain down to (not
 * into) base, like bdrv_co_block_status_above (ALLOCATED if a layer
 * defines it, ZERO when it surely reads zeroes) but from the formats'
 * metadata alone: probing the files for holes (want_zero) costs system
 * calls per extent and only saves reading the rare data cluster that is
 * a hole. Raw layers still ask their file, once per extent.
 */
static int coroutine_fn rebase_co_status(BlockDriverState *bs,
                                         BlockDriverState *base,
                                         int64_t offset, int64_t bytes,
                                         int64_t *pnum)
{
    BlockDriverState *p, *file;
    int64_t n = bytes;

    for (p = bs; p && p != base; p = bdrv_backing_node(p)) {
        int64_t len = bdrv_co_getlength(p), pn = 0, map = 0;
        int ret;

        if (len < 0) {
            return (int)len;
        }
        if (offset >= len) {
            /* Past the end of a shorter layer: zeroes, defined there. */
            *pnum = n;
            return BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED;
        }
        n = MIN(n, len - offset);
        if (!p->drv) {
            return -ENOMEDIUM;
        }
        if (!p->drv->bdrv_co_block_status) {
            *pnum = n;
            return BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED;
        }
        bdrv_inc_in_flight(p);
        ret = p->drv->bdrv_co_block_status(p, false, offset, n, &pn, &map,
                                           &file);
        bdrv_dec_in_flight(p);
        if (ret >= 0 && (ret & BDRV_BLOCK_RAW)) {
            ret = bdrv_co_block_status(p, offset, n, &pn, NULL, NULL);
            if (ret >= 0) {
                ret = (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) |
                      BDRV_BLOCK_ALLOCATED;
            }
        }
        if (ret < 0) {
            return ret;
        }
        if (pn <= 0) {
            return -EIO;
        }
        n = MIN(n, pn);
        if (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) {
            *pnum = n;
            return (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) |
                   BDRV_BLOCK_ALLOCATED;
        }
        if (!p->drv->supports_backing || !bdrv_backing_node(p)) {
            /* Nothing below: unallocated reads as zeroes. */
            *pnum = n;
            return BDRV_BLOCK_ZERO;
        }
    }
    *pnum = n;
    return 0;
}

/*
 * The ranges to compare, walked as the reference walks them (chunks of
 * REBASE_CHUNK cut short where the image's allocation changes), so that
 * the progress bar takes the same steps.
 */
static void coroutine_fn rebase_co_scan(void *opaque)
{
    RebaseState *s = opaque;
    BlockDriverState *backing = bdrv_backing_node(s->bs);
    int64_t offset = 0, n, cap = 0;
    int ret;

    while (offset < s->size) {
        n = MIN(REBASE_CHUNK, s->size - offset);
        ret = rebase_co_status(s->bs, backing, offset, n, &n);
        if (ret >= 0) {
            ret = !!(ret & BDRV_BLOCK_ALLOCATED);
        }
        if (ret < 0) {
            rebase_fail(s, ret, "error while reading image metadata: %s",
                        strerror(-ret));
            break;
        }
        if (!ret && s->prefix && backing == s->prefix) {
            /* The new backing file is the old one: nothing can differ. */
            ret = 1;
        } else if (!ret && s->prefix && backing) {
            /*
             * Below the new backing file both read the same. The status
             * walk narrows the range layer by layer, as the reference's.
             */
            ret = rebase_co_status(backing, s->prefix, offset, n, &n);
            if (ret < 0) {
                rebase_fail(s, ret, "error while reading image metadata: %s",
                            strerror(-ret));
                break;
            }
            ret = !(ret & BDRV_BLOCK_ALLOCATED);
        }
        if (n <= 0) {
            break;
        }
        if (!ret) {
            rebase_add(s, offset, offset + n, &cap);
        }
        offset += n;
    }
    s->scanned = true;
}

/*
 * Status of a backing file's view at offset: true (with *pnum) if its
 * next *pnum bytes surely read as zeroes (unallocated down the chain, or
 * past its end); NULL blk reads zeroes.
 */
static int coroutine_fn rebase_co_zero(BlockBackend *blk, int64_t size,
                                       int64_t offset, int64_t bytes,
                                       int64_t *pnum)
{
    int ret;

    if (!blk || offset >= size) {
        *pnum = bytes;
        return 1;
    }
    ret = rebase_co_status(blk_bs(blk), NULL, offset,
                           MIN(bytes, size - offset), pnum);
    if (ret < 0) {
        return ret;
    }
    if (*pnum <= 0) {
        *pnum = MIN(bytes, size - offset);
        return 0;
    }
    return !!(ret & BDRV_BLOCK_ZERO);
}

/* Reads [offset, offset + n) of a backing file, zeroes past its end. */
static int coroutine_fn rebase_co_read(BlockBackend *blk, int64_t size,
                                       int64_t offset, int64_t n,
                                       uint8_t *buf)
{
    int64_t avail = blk && offset < size ? MIN(n, size - offset) : 0;
    QEMUIOVector qiov;
    int ret;

    if (avail > 0) {
        qemu_iovec_init_buf(&qiov, buf, avail);
        ret = blk_co_preadv(blk, offset, avail, &qiov, 0);
        if (ret < 0) {
            return ret;
        }
    }
    memset(buf + avail, 0, n - avail);
    return 0;
}

/*
 * Fills both views of [start, end) (relative to the item at base), except
 * where both surely read zeroes: there nothing can differ, and *skip marks
 * the granules lying wholly inside such ranges.
 */
static int coroutine_fn rebase_co_fill(RebaseState *s, int64_t base,
                                       int64_t len, uint8_t *buf_old,
                                       uint8_t *buf_new, bool *skip)
{
    int64_t pos = 0, n_old, n_new, n;
    int64_t nb_granules = DIV_ROUND_UP(len, s->granule), g;
    int z_old, z_new, ret;

    for (g = 0; g < nb_granules; g++) {
        skip[g] = false;
    }
    while (pos < len) {
        z_old = rebase_co_zero(s->old_blk, s->old_size, base + pos,
                               len - pos, &n_old);
        if (z_old < 0) {
            rebase_fail(s, z_old, "error while reading from old backing "
                        "file", NULL);
            return z_old;
        }
        z_new = rebase_co_zero(s->new_blk, s->new_size, base + pos, n_old,
                               &n_new);
        if (z_new < 0) {
            rebase_fail(s, z_new, "error while reading from new backing "
                        "file", NULL);
            return z_new;
        }
        n = MIN(n_old, n_new);
        if (z_old && z_new) {
            int64_t first = DIV_ROUND_UP(pos, s->granule);
            int64_t last = (pos + n) / s->granule;

            if (pos + n == len) {
                last = nb_granules;
            }
            for (g = first; g < last; g++) {
                skip[g] = true;
            }
            /* Granules only partly inside still get compared. */
            if (first > last) {
                memset(buf_old + pos, 0, n);
                memset(buf_new + pos, 0, n);
            } else {
                int64_t head = MIN(first * s->granule, pos + n) - pos;
                int64_t tail = MAX(last * s->granule, pos);

                memset(buf_old + pos, 0, head);
                memset(buf_new + pos, 0, head);
                if (tail < pos + n) {
                    memset(buf_old + tail, 0, pos + n - tail);
                    memset(buf_new + tail, 0, pos + n - tail);
                }
            }
            pos += n;
            continue;
        }
        if (z_old) {
            memset(buf_old + pos, 0, n);
        } else {
            ret = rebase_co_read(s->old_blk, s->old_size, base + pos, n,
                                 buf_old + pos);
            if (ret < 0) {
                rebase_fail(s, ret, "error while reading from old backing "
                            "file", NULL);
                return ret;
            }
        }
        if (z_new) {
            memset(buf_new + pos, 0, n);
        } else {
            ret = rebase_co_read(s->new_blk, s->new_size, base + pos, n,
                                 buf_new + pos);
            if (ret < 0) {
                rebase_fail(s, ret, "error while reading from new backing "
                            "file", NULL);
                return ret;
            }
        }
        pos += n;
    }
    return 0;
}

static int coroutine_fn rebase_co_item(RebaseState *s, RebaseItem *it,
                                       uint8_t *buf_old, uint8_t *buf_new,
                                       bool *skip)
{
    int64_t len = it->end - it->start, pos, run_start = -1;
    QEMUIOVector qiov;
    int ret;

    ret = rebase_co_fill(s, it->start, len, buf_old, buf_new, skip);
    if (ret < 0) {
        return ret;
    }

    /* Runs of differing granules go out as one write each. */
    for (pos = 0; pos <= len; pos += s->granule) {
        int64_t g = MIN(s->granule, len - pos);
        bool differ = pos < len && !skip[pos / s->granule] &&
                      memcmp(buf_old + pos, buf_new + pos, g);

        if (differ && run_start < 0) {
            run_start = pos;
        } else if (!differ && run_start >= 0) {
            int64_t off = it->start + run_start;
            int64_t bytes = MIN(pos, len) - run_start;

            if (off >= s->old_size) {
                /* Past the old backing file's end the image read zeroes. */
                ret = blk_co_pwrite_zeroes(s->blk, off, bytes, 0);
            } else {
                qemu_iovec_init_buf(&qiov, buf_old + run_start, bytes);
                ret = blk_co_pwritev(s->blk, off, bytes, &qiov, 0);
            }
            if (ret < 0) {
                rebase_fail(s, ret, "Error while writing to COW image: %s",
                            strerror(-ret));
                return ret;
            }
            run_start = -1;
        }
    }
    s->done_steps += it->steps;
    if (s->progress) {
        s->progress(s->opaque, s->done_steps, s->total_steps);
    }
    return 0;
}

static void coroutine_fn rebase_co_worker(void *opaque)
{
    RebaseState *s = opaque;
    uint8_t *buf_old = qemu_blockalign(s->max_item);
    uint8_t *buf_new = qemu_blockalign(s->max_item);
    bool *skip = xnew(bool, DIV_ROUND_UP(s->max_item, s->granule));

    while (s->ret == 0 && s->next_item < s->nb_items) {
        rebase_co_item(s, &s->items[s->next_item++], buf_old, buf_new, skip);
    }
    free(skip);
    qemu_vfree(buf_old);
    qemu_vfree(buf_new);
    s->running--;
}

static int64_t rebase_length(RebaseState *s, BlockBackend *blk)
{
    int64_t len = blk_getlength(blk);

    if (len < 0 && s->ret == 0) {
        s->ret = len;
        error_setg(&s->err, "Could not get size of '%s': %s",
                   bdrv_get_filename(blk_bs(blk)), strerror(-len));
    }
    return len;
}

int bdrv_rebase_copy(BlockBackend *blk, BlockBackend *old_blk,
                     BlockBackend *new_blk, BlockDriverState *prefix,
                     BlockJobProgressCB *progress, void *opaque,
                     Error **errp)
{
    RebaseState s = {
        .blk = blk,
        .bs = blk_bs(blk),
        .old_blk = old_blk,
        .new_blk = new_blk,
        .prefix = prefix,
        .progress = progress,
        .opaque = opaque,
    };
    AioContext *ctx = qemu_get_aio_context();
    BlockDriverInfo bdi;
    int i, ret;

    s.size = rebase_length(&s, blk);
    if (s.size >= 0 && old_blk) {
        s.old_size = rebase_length(&s, old_blk);
    }
    if (s.size >= 0 && s.old_size >= 0 && new_blk) {
        s.new_size = rebase_length(&s, new_blk);
    }
    if (s.ret < 0) {
        goto out;
    }

    /* Invariant 1: the unit of allocation of the image. */
    s.granule = (int64_t)BDRV_SECTOR_SIZE;
    if (bdrv_get_info(s.bs, &bdi) == 0) {
        if (bdi.subcluster_size > 0) {
            s.granule = bdi.subcluster_size;
        } else if (bdi.cluster_size > 0) {
            s.granule = bdi.cluster_size;
        }
    }
    if (s.granule < (int64_t)BDRV_SECTOR_SIZE ||
        (s.granule & (s.granule - 1))) {
        s.granule = (int64_t)BDRV_SECTOR_SIZE;
    }

    qemu_coroutine_enter(qemu_coroutine_create(rebase_co_scan, &s));
    while (!s.scanned) {
        aio_poll(ctx, true);
    }
    if (s.ret < 0 || !s.nb_items) {
        goto flush;
    }

    s.running = REBASE_WORKERS;
    for (i = 0; i < REBASE_WORKERS; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(rebase_co_worker, &s));
    }
    while (s.running > 0) {
        aio_poll(ctx, true);
    }

flush:
    if (s.ret == 0) {
        /* Invariant 3: every copy on disk before the name may change. */
        ret = blk_flush(blk);
        if (ret < 0) {
            rebase_fail(&s, ret, "Error while writing to COW image: %s",
                        strerror(-ret));
        }
    }
out:
    free(s.items);
    if (s.ret < 0) {
        error_propagate(errp, s.err);
        return s.ret;
    }
    return 0;
}
