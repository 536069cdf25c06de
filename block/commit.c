/*
 * The data copy of 'qemu-img commit': everything defined above a base in a
 * backing chain is written into the base.
 *
 * Invariants (crash safety: a SIGKILL at any point leaves every image of
 * the chain consistent, each sector showing its old or its new content):
 *  1. Only the base is written here. The images above it keep their data
 *     until the caller empties the top, which it does only after this
 *     returns, i.e. after the base has been flushed: so the chain reads
 *     the same whether or not the emptying happened, or half of it.
 *  2. Work is handed out in windows aligned to the base's cluster size (and
 *     the top's), so that no two coroutines write into the same cluster of
 *     the base: no allocation races, no copy-on-write of half-copied data.
 *  3. The base grows (if smaller than the top) before any data is copied,
 *     and its grown area is zeroed when its own backing file would show.
 */
#include "config-host.h"

#include "util/osdep.h"
#include "util/coroutine.h"
#include "util/error.h"
#include "util/iov.h"
#include "block/block_int.h"

#define COMMIT_WINDOW       (1 * MiB)
#define COMMIT_WORKERS      8
#define COMMIT_MIN_ALIGN    (4 * KiB)
#define COMMIT_RAW_ALIGN    (64 * KiB)

typedef struct CommitState {
    BlockBackend *top_blk;
    BlockDriverState *top;
    BlockDriverState *base;
    BlockBackend *base_blk;
    int64_t len;
    int64_t window;
    int64_t align;              /* unit of the base's allocation */

    /* Windows that hold data above the base, in order. */
    int64_t *windows;
    int64_t nb_windows;
    int64_t next_window;

    int64_t rate_limit;
    int64_t start_ns;
    int64_t copied;             /* bytes handed to the rate limiter */
    int64_t done;               /* bytes finished, for progress */
    int64_t total;
    BlockJobProgressCB *progress;
    void *opaque;

    int ret;                    /* first error, 0 */
    Error *err;
    int running;
    bool scanned;
} CommitState;

/* Records the first failure; name NULL: what alone. */
static void commit_fail(CommitState *s, int ret, const char *what,
                        const char *name)
{
    if (s->ret == 0) {
        s->ret = ret;
        if (name) {
            error_setg_errno(&s->err, -ret, "%s '%s'", what, name);
        } else {
            error_setg_errno(&s->err, -ret, "%s", what);
        }
    }
}

/*
 * Whether [offset, offset + bytes) is defined above base: 1, with *zero
 * set when it is defined as zeroes, 0 if not, -errno. *pnum bytes from
 * offset share the answer. Only the images' metadata is asked (no
 * want_zero): probing the files for holes costs system calls per extent
 * and changes nothing of what is copied. Past the end of a layer shorter
 * than the top, that layer defines zeroes, which the reference commits.
 */
static int coroutine_fn commit_co_status(BlockDriverState *top,
                                         BlockDriverState *base,
                                         int64_t offset, int64_t bytes,
                                         int64_t *pnum, bool *zero)
{
    BlockDriverState *p, *file;
    int64_t n = bytes;

    *zero = false;
    for (p = top; p && p != base; p = bdrv_backing_node(p)) {
        int64_t len = bdrv_co_getlength(p), pn = 0, map = 0;
        int ret;

        if (len < 0) {
            return (int)len;
        }
        if (offset >= len) {
            /* What the layers above do not define reads as zeroes. */
            *zero = true;
            *pnum = n;
            return 1;
        }
        if (!p->drv) {
            return -ENOMEDIUM;
        }
        if (!p->drv->bdrv_co_block_status) {
            *pnum = MIN(n, len - offset);
            return 1;
        }
        bdrv_inc_in_flight(p);
        ret = p->drv->bdrv_co_block_status(p, false, offset,
                                           MIN(n, len - offset), &pn, &map,
                                           &file);
        bdrv_dec_in_flight(p);
        if (ret < 0) {
            return ret;
        }
        if (pn <= 0) {
            return -EIO;
        }
        n = MIN(n, pn);
        if (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO | BDRV_BLOCK_RAW)) {
            *zero = (ret & BDRV_BLOCK_ZERO) && !(ret & BDRV_BLOCK_DATA);
            *pnum = n;
            return 1;
        }
    }
    *pnum = n;
    return 0;
}

/*
 * Finds the windows holding data defined above the base and counts its
 * bytes (the progress bar's total, as the reference counts only what it
 * copies).
 */
static void coroutine_fn commit_co_scan(void *opaque)
{
    CommitState *s = opaque;
    int64_t offset = 0, n, cap = 0, last = -1;
    bool zero;
    int ret;

    while (offset < s->len) {
        ret = commit_co_status(s->top, s->base, offset, s->len - offset, &n,
                               &zero);
        if (ret < 0) {
            commit_fail(s, ret, "Could not read image metadata", NULL);
            break;
        }
        if (n <= 0) {
            break;
        }
        if (ret) {
            int64_t w;

            s->total += n;
            for (w = offset / s->window; w <= (offset + n - 1) / s->window;
                 w++) {
                if (w == last) {
                    continue;
                }
                if (s->nb_windows == cap) {
                    cap = cap ? cap * 2 : 256;
                    s->windows = xrealloc(s->windows, cap * sizeof(int64_t));
                }
                s->windows[s->nb_windows++] = w;
                last = w;
            }
        }
        offset += n;
    }
    s->scanned = true;
}

/* Waits as long as needed for s->copied bytes to fit the rate limit. */
static void coroutine_fn commit_co_throttle(CommitState *s, int64_t bytes)
{
    int64_t due_ns, now_ns;

    if (s->rate_limit <= 0) {
        return;
    }
    s->copied += bytes;
    due_ns = s->start_ns + (int64_t)((double)s->copied * 1e9 /
                                     (double)s->rate_limit);
    now_ns = get_clock_ns();
    if (due_ns > now_ns) {
        qemu_co_sleep_ns(due_ns - now_ns);
    }
}

/*
 * Copies [offset, offset + n) of the top's view into the base: zeroes
 * where the chain above the base says so, data elsewhere (including what
 * the base itself holds, when the range was widened to the alignment).
 */
static int coroutine_fn commit_co_range(CommitState *s, int64_t offset,
                                        int64_t n, uint8_t *buf)
{
    int64_t end = offset + n;
    QEMUIOVector qiov;
    int ret;

    while (offset < end) {
        bool zero;
        int status;

        status = commit_co_status(s->top, s->base, offset, end - offset, &n,
                                  &zero);
        if (status < 0) {
            commit_fail(s, status, "Could not read image metadata", NULL);
            return status;
        }
        if (status && zero) {
            ret = blk_co_pwrite_zeroes(s->base_blk, offset, n,
                                       BDRV_REQ_MAY_UNMAP);
        } else {
            qemu_iovec_init_buf(&qiov, buf, n);
            ret = blk_co_preadv(s->top_blk, offset, n, &qiov, 0);
            if (ret < 0) {
                commit_fail(s, ret, "Could not read from",
                            bdrv_get_filename(s->top));
                return ret;
            }
            /* Zeroes written as data stay data, as the reference keeps. */
            ret = blk_co_pwritev(s->base_blk, offset, n, &qiov, 0);
        }
        if (ret < 0) {
            commit_fail(s, ret, "Could not write to",
                        bdrv_get_filename(s->base));
            return ret;
        }
        offset += n;
    }
    return 0;
}

/*
 * Copies what is defined above the base in [start, end), each range
 * widened to the base's unit of allocation (what the reference writes:
 * whole clusters of a qcow2 base, at least 4 KiB, and 64 KiB blocks of a
 * base without clusters).
 */
static int coroutine_fn commit_co_window(CommitState *s, int64_t start,
                                         int64_t end, uint8_t *buf)
{
    int64_t offset = start, n, done_to = start;
    bool zero;
    int ret;

    while (offset < end) {
        int64_t from, to;

        ret = commit_co_status(s->top, s->base, offset, end - offset, &n,
                               &zero);
        if (ret < 0) {
            commit_fail(s, ret, "Could not read image metadata", NULL);
            return ret;
        }
        if (n <= 0) {
            break;
        }
        if (ret == 0) {
            offset += n;
            continue;
        }
        if (offset + n <= done_to) {
            /* Copied already, with the widened range before it. */
            s->done += n;
            offset += n;
            continue;
        }
        from = MAX(ROUND_DOWN(offset, s->align), done_to);
        to = MIN(ROUND_UP(offset + n, s->align), end);
        commit_co_throttle(s, to - from);
        ret = commit_co_range(s, from, to - from, buf);
        if (ret < 0) {
            return ret;
        }
        s->done += n;
        if (s->progress) {
            s->progress(s->opaque, s->done, s->total);
        }
        done_to = to;
        offset += n;
    }
    return 0;
}

static void coroutine_fn commit_co_worker(void *opaque)
{
    CommitState *s = opaque;
    uint8_t *buf = qemu_blockalign(s->window);

    while (s->ret == 0 && s->next_window < s->nb_windows) {
        int64_t w = s->windows[s->next_window++];
        int64_t start = w * s->window;

        commit_co_window(s, start, MIN(start + s->window, s->len), buf);
    }
    qemu_vfree(buf);
    s->running--;
}

int bdrv_commit_copy(BlockBackend *top_blk, BlockDriverState *base,
                     BlockBackend *base_blk, int64_t rate_limit,
                     BlockJobProgressCB *progress, void *opaque,
                     Error **errp)
{
    CommitState s = {
        .top_blk = top_blk,
        .top = blk_bs(top_blk),
        .base = base,
        .base_blk = base_blk,
        .rate_limit = rate_limit,
        .progress = progress,
        .opaque = opaque,
    };
    AioContext *ctx = qemu_get_aio_context();
    BlockDriverState *backing;
    int64_t base_len;
    int cs, i, ret;

    s.len = blk_getlength(top_blk);
    if (s.len < 0) {
        error_setg_errno(errp, -s.len, "Could not get the size of '%s'",
                         bdrv_get_filename(s.top));
        return s.len;
    }
    base_len = blk_getlength(base_blk);
    if (base_len < 0) {
        error_setg_errno(errp, -base_len, "Could not get the size of '%s'",
                         bdrv_get_filename(base));
        return base_len;
    }
    if (base_len < s.len) {
        ret = blk_truncate(base_blk, s.len, false, PREALLOC_MODE_OFF, 0,
                           errp);
        if (ret < 0) {
            error_prepend(errp, "Top image %s is larger than base image %s, "
                          "and resize of base image failed: ",
                          bdrv_get_filename(s.top), bdrv_get_filename(base));
            return ret;
        }
        /*
         * A backing file of the base longer than its old end would show
         * through the grown area: it reads as zeroes, as the reference
         * makes it.
         */
        backing = bdrv_backing_node(base);
        if (backing && bdrv_getlength(backing) > base_len) {
            ret = blk_pwrite_zeroes(base_blk, base_len, s.len - base_len, 0);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Could not write to '%s'",
                                 bdrv_get_filename(base));
                return ret;
            }
        }
    }

    /* A window covers whole clusters of both images (invariant 2). */
    s.window = COMMIT_WINDOW;
    cs = bdrv_get_cluster_size(base);
    s.align = cs > 0 ? MAX(cs, COMMIT_MIN_ALIGN) : COMMIT_RAW_ALIGN;
    if (cs > s.window) {
        s.window = cs;
    }
    cs = bdrv_get_cluster_size(s.top);
    if (cs > s.window) {
        s.window = cs;
    }

    qemu_coroutine_enter(qemu_coroutine_create(commit_co_scan, &s));
    while (!s.scanned) {
        aio_poll(ctx, true);
    }
    if (s.ret < 0) {
        goto out;
    }
    if (progress) {
        progress(opaque, 0, s.total);
    }

    s.start_ns = get_clock_ns();
    s.running = COMMIT_WORKERS;
    for (i = 0; i < COMMIT_WORKERS; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(commit_co_worker, &s));
    }
    while (s.running > 0) {
        aio_poll(ctx, true);
    }
    if (s.ret < 0) {
        goto out;
    }

    /* Invariant 1: the base holds everything before the top may change. */
    ret = blk_flush(base_blk);
    if (ret < 0) {
        commit_fail(&s, ret, "Could not flush", bdrv_get_filename(base));
    }

out:
    free(s.windows);
    if (s.ret < 0) {
        error_propagate(errp, s.err);
        return s.ret;
    }
    return 0;
}
