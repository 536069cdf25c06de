/*
 * qemu-img convert: copies one or more source images (concatenated) into a
 * new or existing target image.
 *
 * Design, for speed on the build-farm path (raw->raw, qcow2->raw):
 *  - The source is walked by block status: holes and zero ranges are never
 *    read, and never written to a target that reads as zeroes already.
 *  - Ranges that hold data are read in chunks of up to CONVERT_BUF_SIZE by
 *    -m worker coroutines at once; each chunk is scanned for zero blocks
 *    (-S) and only the non-zero blocks are written.
 *  - Reads run in parallel; writes are issued in order unless -W is given.
 *    All the pieces of a chunk (its data runs between zero blocks) are
 *    issued at once, and the next chunk may issue its own while they are
 *    in flight: waiting for each piece before the next left the kernel's
 *    writer idle whenever this thread was busy copying a read (measured:
 *    2x slower). Every request is asynchronous, so the event loop batches
 *    them into one io_uring submission per loop turn.
 *  - The cost is the kernel's copying: page cache to buffer (io_uring does
 *    cached reads inline, on this thread, next to the zero scan) and
 *    buffer to page cache (ext4 buffered writes go to io_uring's kernel
 *    workers, so they overlap with the reads). Moving the reads to the
 *    thread pool too was measured: no faster alone on a busy machine, and
 *    1.1-1.5x slower with four converts at once (the build-farm case).
 *
 * Where the target's bytes and holes must match the reference's output image,
 * the chunking (block status runs capped at 2 MiB) and the zero-run rules
 * (see convert_sparse_run) are the ones that produce the same image.
 */
#include "config-host.h"

#include <getopt.h>
#include <string.h>

#include "block/dirty-bitmap.h"
#include "qemu-img.h"
#include "util/coroutine.h"
#include "util/cutils.h"
#include "util/error.h"
#include "util/iov.h"
#include "util/option.h"
#include "util/progress.h"
#include "util/qobject.h"

/* Bytes read per chunk: block status runs are split at this size. */
#define CONVERT_BUF_SIZE (2 * MiB)
/* -m range and default. */
#define CONVERT_MAX_COROUTINES 16
#define CONVERT_DEFAULT_COROUTINES 8
/* -S: default and upper bound (bytes). */
#define CONVERT_DEFAULT_MIN_SPARSE (4 * KiB)
#define CONVERT_MAX_MIN_SPARSE (16 * MiB)

typedef enum ConvertStatus {
    CONVERT_DATA,        /* read the source and write what is non-zero */
    CONVERT_ZERO,        /* reads as zeroes: zero the target unless it is */
    CONVERT_BACKING,     /* comes from the target's backing file: skip */
} ConvertStatus;

typedef struct ConvertState {
    BlockBackend **src;
    const char **src_names;
    int64_t *src_len;           /* bytes, per source */
    int src_num;
    int64_t total;              /* sum of src_len */

    BlockBackend *target;
    bool target_has_backing;
    /*
     * Length of the target's backing file (-1: none): a zero range that
     * starts past it is left unallocated, since it reads as zeroes there.
     */
    int64_t target_backing_len;
    bool has_zero_init;         /* target reads as zeroes where untouched */
    bool compressed;
    bool wr_in_order;
    int64_t l2_coverage;        /* bytes one L2 table of the target maps */
    bool salvage;
    int64_t min_sparse;         /* bytes, 0: fully allocate the target */
    bool scan_zeroes;           /* look for zero blocks inside data */
    int64_t alignment;          /* bytes: zero runs are aligned to this */
    int64_t buf_size;           /* bytes per chunk */
    int64_t cluster_size;       /* target's, for compressed writes */
    int64_t rate_limit;         /* bytes per second, 0: unlimited */
    int num_coroutines;
    /*
     * -C: data chunks are copied by the block layer (copy_file_range)
     * instead of read and written here; cleared, for good, by the first
     * copy that fails, whose chunk and all later ones are then read and
     * written, silently, as the reference does.
     */
    bool copy_range;

    /* Hand-out of chunks (under lock: block status may yield). */
    CoMutex lock;
    int64_t next;               /* next byte to hand out (overall) */
    int src_cur;                /* source holding 'next' */
    int64_t src_cur_start;      /* overall offset of src[src_cur] */
    /* Cached block status run of the current source: [next, status_end) */
    int64_t status_end;
    ConvertStatus status;

    /* In-order writing. */
    int64_t wr_offs;
    CoQueue wr_queue;
    /*
     * The first chunk (in image order) whose writes failed, -1: none. Two
     * chunks' writes may be in flight at once and the later one may fail
     * first (full disk): the reference writes one at a time, so it names
     * the earlier one.
     */
    int64_t wr_err_offset;
    int wr_err;

    /* Progress: only counted chunks (read ones) advance it. */
    bool progress;
    int64_t counted_total;
    int64_t counted_done;

    /* Rate limiting. */
    int64_t start_ns;
    int64_t written;

    int running;
    int ret;                    /* -EINPROGRESS while copying */
} ConvertState;

/* ---- zero-run detection ------------------------------------------------- */

static bool sector_is_zero(const uint8_t *buf, int64_t len)
{
    return buffer_is_zero(buf, MIN(len, (int64_t)BDRV_SECTOR_SIZE));
}

/*
 * Length of the first run of buf[0, bytes) (at image offset 'offset') whose
 * 512-byte sectors are all zero or all non-zero, with the run's end moved to
 * a multiple of 'align' where it falls inside: a data run grows to the
 * boundary, a zero run shrinks to it (and one that would vanish counts as
 * data). *is_data tells which kind the run is.
 */
static int64_t convert_sector_run_exact(const uint8_t *buf, int64_t bytes,
                                        int64_t offset, int64_t align,
                                        bool *is_data)
{
    bool zero = sector_is_zero(buf, bytes);
    int64_t len = BDRV_SECTOR_SIZE;
    int64_t tail;

    while (len < bytes && sector_is_zero(buf + len, bytes - len) == zero) {
        len += BDRV_SECTOR_SIZE;
    }
    if (len >= bytes) {
        *is_data = !zero;
        return bytes;
    }
    tail = (offset + len) % align;
    if (tail) {
        if (zero && len <= tail) {
            zero = false;
        }
        if (!zero) {
            len = MIN(len + align - tail, bytes);
        } else {
            len -= tail;
        }
    }
    *is_data = !zero;
    return len;
}

/*
 * The same answer as convert_sector_run_exact, faster: from an aligned
 * offset, a run's end always lands on an alignment boundary (data runs
 * grow to one, zero runs shrink to one), so whole aligned blocks can be
 * classified instead of sectors: a block with any non-zero byte is data.
 * Only a run reaching a partial block at the end of the buffer (the image's
 * last, unaligned chunk) needs the sector walk.
 */
static int64_t convert_sector_run(const uint8_t *buf, int64_t bytes,
                                  int64_t offset, int64_t align,
                                  bool *is_data)
{
    bool zero;
    int64_t len;

    if (offset % align || bytes < align) {
        return convert_sector_run_exact(buf, bytes, offset, align, is_data);
    }
    zero = buffer_is_zero(buf, align);
    len = align;
    while (len + align <= bytes && buffer_is_zero(buf + len, align) == zero) {
        len += align;
    }
    if (len < bytes && len + align > bytes) {
        return convert_sector_run_exact(buf, bytes, offset, align, is_data);
    }
    *is_data = !zero;
    return len;
}

/*
 * Splits off the first piece of a data chunk for writing. A leading zero run
 * is returned as zero whatever its length; otherwise the piece is data and
 * swallows the zero runs shorter than min, ending before the first zero run
 * of at least min bytes (or at the last data run).
 */
static int64_t convert_sparse_run(const uint8_t *buf, int64_t bytes,
                                  int64_t offset, int64_t min, int64_t align,
                                  bool *is_data, int64_t *next_zero)
{
    int64_t used, checked, len;
    bool data;

    *next_zero = 0;
    if (bytes < min) {
        min = bytes;
    }
    len = convert_sector_run(buf, bytes, offset, align, &data);
    *is_data = data;
    if (!data) {
        return len;
    }
    used = checked = len;
    while (checked < bytes) {
        len = convert_sector_run(buf + checked, bytes - checked,
                                 offset + checked, align, &data);
        checked += len;
        if (data) {
            used = checked;
        } else if (len >= min) {
            /*
             * Runs alternate, so this zero run starts at 'used' and is the
             * next piece: hand it over rather than scan it again.
             */
            *next_zero = len;
            break;
        }
    }
    return used;
}

/* ---- chunk hand-out ------------------------------------------------------ */

/*
 * Block status of the current source at s->next, cached as a run; returns
 * 0 or -errno (with the error reported).
 */
static int coroutine_fn convert_co_refresh_status(ConvertState *s)
{
    BlockDriverState *bs = blk_bs(s->src[s->src_cur]);
    BlockDriverState *base = NULL;
    int64_t src_off = s->next - s->src_cur_start;
    int64_t src_len = s->src_len[s->src_cur];
    int64_t pnum = 0;
    int ret;

    if (s->target_has_backing) {
        /* Only what the top layer holds: the rest comes from the backing */
        base = bdrv_backing_node(bs);
    }
    ret = bdrv_co_block_status_above(bs, base, src_off, src_len - src_off,
                                     &pnum, NULL, NULL, NULL);
    if (ret < 0) {
        if (!s->salvage) {
            error_report("error while reading block status at offset %"
                         PRIu64 ": %s", (uint64_t)src_off, strerror(-ret));
            return ret;
        }
        /* Salvaging: copy what reads; a sector at a time is the worst case */
        ret = BDRV_BLOCK_DATA;
        pnum = MIN(src_len - src_off, s->buf_size);
    }
    if (pnum <= 0) {
        pnum = src_len - src_off;
    }
    if ((ret & BDRV_BLOCK_ZERO) && s->target_has_backing &&
        s->target_backing_len >= 0 && s->next >= s->target_backing_len) {
        s->status = CONVERT_BACKING;
    } else if (ret & BDRV_BLOCK_ZERO) {
        s->status = s->min_sparse ? CONVERT_ZERO : CONVERT_DATA;
    } else if (ret & BDRV_BLOCK_DATA) {
        s->status = CONVERT_DATA;
    } else if (s->target_has_backing) {
        s->status = CONVERT_BACKING;
    } else {
        /* Unallocated in the whole chain: read it (it reads as zeroes) */
        s->status = CONVERT_DATA;
    }
    s->status_end = s->next + MIN(pnum, src_len - src_off);
    return 0;
}

/*
 * Takes the next chunk: [*offset, *offset + returned length) in source
 * *src_idx at *src_off, with its status. 0 at the end, -errno on error.
 */
static int64_t coroutine_fn convert_co_next_chunk(ConvertState *s,
                                                  int64_t *offset,
                                                  int *src_idx,
                                                  int64_t *src_off,
                                                  ConvertStatus *status)
{
    int64_t n;
    int ret;

    while (s->src_cur < s->src_num &&
           s->next >= s->src_cur_start + s->src_len[s->src_cur]) {
        s->src_cur_start += s->src_len[s->src_cur];
        s->src_cur++;
        s->status_end = s->next;
    }
    if (s->src_cur >= s->src_num) {
        return 0;
    }
    if (s->next >= s->status_end) {
        ret = convert_co_refresh_status(s);
        if (ret < 0) {
            return ret;
        }
    }
    n = s->status_end - s->next;
    *status = s->status;
    if (*status == CONVERT_DATA) {
        n = MIN(n, s->buf_size);
    }
    if (s->compressed && s->cluster_size) {
        /*
         * Compressed clusters are written whole, as the reference writes
         * them: chunks start on a target cluster boundary (each one ends
         * on one, or at the end of the image). A run of one status that
         * covers whole clusters keeps its status, cut down to them; a
         * shorter one, or one that a source ends within, is copied as
         * part of a whole cluster of data, which may span the following
         * sources. Only the image's last cluster may be partial.
         */
        int64_t src_left = s->src_cur_start + s->src_len[s->src_cur] -
                           s->next;

        n = MIN(n, src_left);
        if (n < s->cluster_size) {
            n = MIN(s->cluster_size, s->total - s->next);
            *status = CONVERT_DATA;
        } else {
            n = ROUND_DOWN(n, s->cluster_size);
        }
    }
    *offset = s->next;
    *src_idx = s->src_cur;
    *src_off = s->next - s->src_cur_start;
    s->next += n;
    return n;
}

/* ---- reading and writing ------------------------------------------------- */

static int coroutine_fn convert_co_read_one(ConvertState *s, int src_idx,
                                        int64_t src_off, int64_t offset,
                                        int64_t bytes, uint8_t *buf)
{
    BlockBackend *blk = s->src[src_idx];
    QEMUIOVector qiov;
    int64_t done;
    int ret;

    qemu_iovec_init_buf(&qiov, buf, bytes);
    ret = blk_co_preadv(blk, src_off, bytes, &qiov, 0);
    if (ret >= 0) {
        return 0;
    }
    if (!s->salvage) {
        error_report("error while reading at byte %lld: %s",
                     (long long)offset, strerror(-ret));
        return ret;
    }
    /* Salvage what can be read, a sector at a time; the rest reads zero */
    for (done = 0; done < bytes; done += BDRV_SECTOR_SIZE) {
        int64_t len = MIN((int64_t)BDRV_SECTOR_SIZE, bytes - done);

        qemu_iovec_init_buf(&qiov, buf + done, len);
        ret = blk_co_preadv(blk, src_off + done, len, &qiov, 0);
        if (ret < 0) {
            warn_report("error while reading offset %" PRIu64 ": %s",
                        (uint64_t)(src_off + done), strerror(-ret));
            memset(buf + done, 0, len);
        }
    }
    return 0;
}

/*
 * Reads [offset, offset+bytes) of the concatenated sources into buf, from
 * src_off in source src_idx on: a compressed cluster may span sources.
 */
static int coroutine_fn convert_co_read(ConvertState *s, int src_idx,
                                        int64_t src_off, int64_t offset,
                                        int64_t bytes, uint8_t *buf)
{
    int ret;

    while (bytes > 0) {
        int64_t len;

        if (src_idx >= s->src_num) {
            /* Never past the end: chunks stop at the total length */
            return -EIO;
        }
        len = MIN(bytes, s->src_len[src_idx] - src_off);
        if (len > 0) {
            ret = convert_co_read_one(s, src_idx, src_off, offset, len, buf);
            if (ret < 0) {
                return ret;
            }
            buf += len;
            offset += len;
            bytes -= len;
        }
        src_idx++;
        src_off = 0;
    }
    return 0;
}

/* Zeroes [offset, offset+bytes) of the target unless it reads as zero. */
static int coroutine_fn convert_co_zero(ConvertState *s, int64_t offset,
                                        int64_t bytes)
{
    BdrvRequestFlags flags = 0;

    if (s->has_zero_init) {
        return 0;
    }
    if (!s->target_has_backing) {
        /* A hole reads as zeroes here: let the driver punch one */
        flags |= BDRV_REQ_MAY_UNMAP;
    }
    return blk_co_pwrite_zeroes(s->target, offset, bytes, flags);
}

static void coroutine_fn convert_co_throttle(ConvertState *s, int64_t bytes)
{
    int64_t due;

    if (!s->rate_limit) {
        return;
    }
    /* Written bytes may not run ahead of rate_limit per second */
    due = s->start_ns + (int64_t)((double)s->written * 1e9 / s->rate_limit);
    s->written += bytes;
    if (due > get_clock_ns()) {
        qemu_co_sleep_ns(due - get_clock_ns());
    }
}

/*
 * The writes of one chunk in flight: its pieces (data runs and zero runs)
 * go out at once, each in a coroutine of its own, so that the kernel has
 * the next one queued while it copies the current one.
 */
typedef struct ConvertPieces {
    int pending;                /* pieces not done, +1 while submitting */
    int ret;                    /* the first failure */
    Coroutine *waiter;          /* the worker, once it waits */
} ConvertPieces;

typedef struct ConvertPiece {
    ConvertState *s;
    ConvertPieces *pieces;
    int64_t offset;
    int64_t bytes;
    uint8_t *buf;               /* NULL: a zero run or a copy */
    int src_idx;                /* a copy: from here in this source, */
    int64_t src_off;            /* -1 if not a copy */
} ConvertPiece;

static void convert_piece_done(ConvertPieces *p, int ret)
{
    if (ret < 0 && !p->ret) {
        p->ret = ret;
    }
    if (--p->pending == 0 && p->waiter) {
        aio_co_wake(p->waiter);
    }
}

static void coroutine_fn convert_co_piece(void *opaque)
{
    ConvertPiece *w = opaque;
    QEMUIOVector qiov;
    int ret;

    if (w->src_off >= 0) {
        ret = blk_co_copy_range(w->s->src[w->src_idx], w->src_off,
                                w->s->target, w->offset, w->bytes, 0, 0);
    } else if (w->buf) {
        qemu_iovec_init_buf(&qiov, w->buf, w->bytes);
        ret = blk_co_pwritev(w->s->target, w->offset, w->bytes, &qiov, 0);
    } else {
        ret = convert_co_zero(w->s, w->offset, w->bytes);
    }
    convert_piece_done(w->pieces, ret);
    free(w);
}

static void coroutine_fn convert_co_start_piece(ConvertState *s,
                                                ConvertPieces *p,
                                                int64_t offset,
                                                int64_t bytes, uint8_t *buf)
{
    ConvertPiece *w = xnew(ConvertPiece, 1);

    *w = (ConvertPiece) {
        .s = s, .pieces = p, .offset = offset, .bytes = bytes, .buf = buf,
        .src_off = -1,
    };
    p->pending++;
    qemu_coroutine_enter(qemu_coroutine_create(convert_co_piece, w));
}

/*
 * Starts the offloaded copy of a data chunk: [offset, offset+bytes) of the
 * target from src_off on in source src_idx (chunks never span sources but
 * with -c, which -C excludes).
 */
static void coroutine_fn convert_co_start_copy(ConvertState *s,
                                               ConvertPieces *p,
                                               int64_t offset, int64_t bytes,
                                               int src_idx, int64_t src_off)
{
    ConvertPiece *w = xnew(ConvertPiece, 1);

    convert_co_throttle(s, bytes);
    *w = (ConvertPiece) {
        .s = s, .pieces = p, .offset = offset, .bytes = bytes,
        .src_idx = src_idx, .src_off = src_off,
    };
    p->pending++;
    qemu_coroutine_enter(qemu_coroutine_create(convert_co_piece, w));
}

/* Waits until every piece started on p is done; their first error. */
static int coroutine_fn convert_co_wait_pieces(ConvertPieces *p)
{
    if (--p->pending > 0) {
        p->waiter = qemu_coroutine_self();
        while (p->pending > 0) {
            qemu_coroutine_yield();
        }
        p->waiter = NULL;
    }
    return p->ret;
}

/*
 * Starts the writes of a chunk: [offset, offset+bytes) of the target from
 * buf, according to status. Returns 0 or -errno for what failed at once;
 * the rest is collected with convert_co_wait_pieces(p), which must follow
 * (p->pending starts at 1).
 */
static int coroutine_fn convert_co_write(ConvertState *s, int64_t offset,
                                         int64_t bytes, uint8_t *buf,
                                         ConvertStatus status,
                                         ConvertPieces *p)
{
    QEMUIOVector qiov;
    int64_t next_zero = 0;

    if (status == CONVERT_BACKING) {
        return 0;
    }
    if (status == CONVERT_ZERO) {
        if (!s->has_zero_init) {
            convert_co_start_piece(s, p, offset, bytes, NULL);
        }
        return 0;
    }
    convert_co_throttle(s, bytes);

    if (s->compressed) {
        /*
         * Whole clusters: skip the zero ones, compress the others; -S 0
         * compresses zero clusters too, as the reference does.
         */
        if (s->min_sparse && buffer_is_zero(buf, bytes)) {
            return convert_co_zero(s, offset, bytes);
        }
        qemu_iovec_init_buf(&qiov, buf, bytes);
        return blk_co_pwritev(s->target, offset, bytes, &qiov,
                              BDRV_REQ_WRITE_COMPRESSED);
    }

    while (bytes > 0) {
        int64_t len = bytes;
        bool is_data = true;

        if (next_zero) {
            len = next_zero;
            is_data = false;
            next_zero = 0;
        } else if (s->scan_zeroes) {
            len = convert_sparse_run(buf, bytes, offset, s->min_sparse,
                                     s->alignment, &is_data, &next_zero);
        }
        if (is_data || !s->has_zero_init) {
            convert_co_start_piece(s, p, offset, len, is_data ? buf : NULL);
        }
        buf += len;
        offset += len;
        bytes -= len;
    }
    return 0;
}

static void convert_fail(ConvertState *s, int ret)
{
    if (s->ret == -EINPROGRESS) {
        s->ret = ret;
    }
    qemu_co_queue_restart_all(&s->wr_queue);
}

static void coroutine_fn convert_co_worker(void *opaque)
{
    ConvertState *s = opaque;
    uint8_t *buf = qemu_blockalign(s->buf_size);

    while (s->ret == -EINPROGRESS) {
        ConvertStatus status;
        ConvertPieces pieces;
        int64_t offset, src_off, n;
        int src_idx, ret, ret2;
        bool copying;

        qemu_co_mutex_lock(&s->lock);
        if (s->ret != -EINPROGRESS) {
            qemu_co_mutex_unlock(&s->lock);
            break;
        }
        n = convert_co_next_chunk(s, &offset, &src_idx, &src_off, &status);
        qemu_co_mutex_unlock(&s->lock);
        if (n <= 0) {
            if (n < 0) {
                convert_fail(s, n);
            }
            break;
        }

        copying = status == CONVERT_DATA && s->copy_range;
        if (status == CONVERT_DATA && !copying) {
            ret = convert_co_read(s, src_idx, src_off, offset, n, buf);
            if (ret < 0) {
                convert_fail(s, ret);
                break;
            }
        }

        if (s->wr_in_order) {
            while (s->wr_offs != offset && s->ret == -EINPROGRESS) {
                qemu_co_queue_wait(&s->wr_queue, NULL);
            }
            if (s->ret != -EINPROGRESS) {
                break;
            }
        }

        pieces = (ConvertPieces) { .pending = 1 };
        if (copying) {
            convert_co_start_copy(s, &pieces, offset, n, src_idx, src_off);
            ret = 0;
        } else {
            ret = convert_co_write(s, offset, n, buf, status, &pieces);
        }

        /*
         * In order means issued in order: the next chunk may start its
         * writes while this one's are in flight, and the progress bar
         * advances in chunk order, as the reference's does. A chunk that
         * spans two L2 tables is allocated one table at a time, and one
         * issued behind it could take clusters in between: the next one
         * waits for its end, so that clusters land where the reference's.
         */
        if (s->wr_in_order && s->l2_coverage &&
            offset / s->l2_coverage != (offset + n - 1) / s->l2_coverage) {
            ret2 = convert_co_wait_pieces(&pieces);
            if (ret >= 0) {
                ret = ret2;
            }
            pieces = (ConvertPieces) { .pending = 1 };
        }
        if (s->wr_in_order) {
            s->wr_offs = offset + n;
            qemu_co_queue_restart_all(&s->wr_queue);
        }
        if (s->progress && status == CONVERT_DATA && s->counted_total) {
            s->counted_done += n;
            qemu_progress_print(100.0f * (float)s->counted_done /
                                (float)s->counted_total, 0);
        }

        /* The buffer is reused for the next chunk: wait for its writes */
        ret2 = convert_co_wait_pieces(&pieces);
        if (ret >= 0) {
            ret = ret2;
        }
        if (copying && ret < 0) {
            /*
             * Whatever made the copy fail (a format or file system that
             * cannot, or a real error that the read or the write will hit
             * again and report): from here on, read and write.
             */
            s->copy_range = false;
            s->scan_zeroes = s->min_sparse != 0;
            ret = convert_co_read(s, src_idx, src_off, offset, n, buf);
            if (ret >= 0) {
                pieces = (ConvertPieces) { .pending = 1 };
                ret = convert_co_write(s, offset, n, buf, status, &pieces);
                ret2 = convert_co_wait_pieces(&pieces);
                if (ret >= 0) {
                    ret = ret2;
                }
            } else {
                convert_fail(s, ret);
                break;
            }
        }
        if (ret < 0) {
            if (s->wr_err_offset < 0 ||
                (s->wr_in_order && offset < s->wr_err_offset)) {
                s->wr_err_offset = offset;
                s->wr_err = ret;
            }
            convert_fail(s, ret);
            break;
        }
    }
    qemu_vfree(buf);
    s->running--;
}

/*
 * Bytes the copy will read, for the progress bar: the chunks whose status
 * is data. Walks block status the way the workers will.
 */
typedef struct ConvertCountCo {
    ConvertState *s;
    int ret;
    bool done;
} ConvertCountCo;

static void coroutine_fn convert_co_count(void *opaque)
{
    ConvertCountCo *c = opaque;
    ConvertState *s = c->s;
    int64_t offset, src_off, n;
    ConvertStatus status;
    int src_idx;

    for (;;) {
        n = convert_co_next_chunk(s, &offset, &src_idx, &src_off, &status);
        if (n <= 0) {
            c->ret = n;
            break;
        }
        if (status == CONVERT_DATA) {
            s->counted_total += n;
        }
    }
    /* Rewind the hand-out for the copy */
    s->next = 0;
    s->src_cur = 0;
    s->src_cur_start = 0;
    s->status_end = 0;
    c->done = true;
}

static int convert_do_copy(ConvertState *s)
{
    AioContext *ctx = qemu_get_aio_context();
    int i;

    qemu_co_mutex_init(&s->lock);
    qemu_co_queue_init(&s->wr_queue);
    s->ret = -EINPROGRESS;
    s->wr_err_offset = -1;

    if (s->progress) {
        ConvertCountCo c = { .s = s };

        qemu_coroutine_enter(qemu_coroutine_create(convert_co_count, &c));
        while (!c.done) {
            aio_poll(ctx, true);
        }
        if (c.ret < 0) {
            return c.ret;
        }
    }

    s->start_ns = get_clock_ns();
    s->running = s->num_coroutines;
    for (i = 0; i < s->num_coroutines; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(convert_co_worker, s));
    }
    while (s->running > 0) {
        aio_poll(ctx, true);
    }
    if (s->wr_err_offset >= 0) {
        error_report("error while writing at byte %lld: %s",
                     (long long)s->wr_err_offset, strerror(-s->wr_err));
        s->ret = s->wr_err;
    }
    if (s->ret == -EINPROGRESS) {
        s->ret = 0;
    }
    if (s->ret == 0 && s->compressed) {
        /* Lets formats that stream compressed data finish their footer */
        blk_pwrite_compressed(s->target, 0, 0, NULL);
    }
    if (s->ret == 0) {
        s->ret = blk_flush(s->target);
        if (s->ret < 0) {
            error_report("error while writing at byte %lld: %s",
                         (long long)s->total, strerror(-s->ret));
        }
    }
    return s->ret;
}

/* ---- bitmaps ------------------------------------------------------------- */

/*
 * The source's bitmaps in the order the reference walks them: the reverse
 * of the order they are stored in (our list keeps the stored order).
 */
static BdrvDirtyBitmap **convert_src_bitmaps(BlockDriverState *bs, int *n)
{
    BdrvDirtyBitmap *bm, **v = NULL;
    int i = 0;

    *n = 0;
    for (bm = bdrv_dirty_bitmap_first(bs); bm; bm = bdrv_dirty_bitmap_next(bm)) {
        (*n)++;
    }
    v = xnew(BdrvDirtyBitmap *, *n + 1);
    for (bm = bdrv_dirty_bitmap_first(bs); bm; bm = bdrv_dirty_bitmap_next(bm)) {
        v[*n - 1 - i++] = bm;
    }
    return v;
}

/* Before the target is made: an inconsistent bitmap stops the convert. */
static bool convert_check_bitmaps(BlockDriverState *src, bool skip_broken)
{
    BdrvDirtyBitmap **v;
    bool ok = true;
    int i, n;

    if (skip_broken) {
        return true;
    }
    v = convert_src_bitmaps(src, &n);
    for (i = 0; i < n; i++) {
        if (bdrv_dirty_bitmap_inconsistent(v[i])) {
            Error *err = NULL;

            error_setg(&err, "Cannot copy inconsistent bitmap '%s'",
                       bdrv_dirty_bitmap_name(v[i]));
            error_append_hint(&err, "Try --skip-broken-bitmaps, or use "
                              "'qemu-img bitmap --remove' to delete it\n");
            error_report_err(err);
            ok = false;
            break;
        }
    }
    free(v);
    return ok;
}

/*
 * After the data: each persistent bitmap of the source is made in the
 * target with its granularity, contents and enabled state. They are added
 * in stored order so that the target stores them in the source's order, as
 * the reference's target does; what fails is found in the reference's order
 * first, so that nothing is added when one of them cannot be.
 */
static int convert_copy_bitmaps(BlockDriverState *src, BlockDriverState *dst)
{
    BdrvDirtyBitmap **v;
    int i, n, ret = 0;

    v = convert_src_bitmaps(src, &n);
    for (i = 0; i < n; i++) {
        const char *name = bdrv_dirty_bitmap_name(v[i]);

        if (!bdrv_dirty_bitmap_get_persistence(v[i])) {
            v[i] = NULL;
        } else if (bdrv_dirty_bitmap_inconsistent(v[i])) {
            /* Only reached with --skip-broken-bitmaps */
            warn_report("Skipping inconsistent bitmap '%s'", name);
            v[i] = NULL;
        } else if (bdrv_find_dirty_bitmap(dst, name)) {
            error_report("Failed to create bitmap %s: Bitmap already "
                         "exists: %s", name, name);
            ret = -EEXIST;
            goto out;
        }
    }
    for (i = n - 1; i >= 0; i--) {
        const char *name;
        Error *err = NULL;

        if (!v[i]) {
            continue;
        }
        name = bdrv_dirty_bitmap_name(v[i]);
        ret = bdrv_dirty_bitmap_add(dst, name,
                                    bdrv_dirty_bitmap_granularity(v[i]), &err);
        if (ret < 0) {
            error_reportf_err(err, "Failed to create bitmap %s: ", name);
            goto out;
        }
        ret = bdrv_dirty_bitmap_merge(dst, name, src, name, &err);
        if (ret == 0 && !bdrv_dirty_bitmap_enabled(v[i])) {
            ret = bdrv_dirty_bitmap_set_enabled(dst, name, false, &err);
        }
        if (ret < 0) {
            error_reportf_err(err, "Failed to populate bitmap %s: ", name);
            goto out;
        }
    }
out:
    free(v);
    return ret;
}

/* ---- option helpers ------------------------------------------------------ */

static bool opts_list_has(QemuOptsList *list, const char *name)
{
    const QemuOptDesc *d;

    for (d = list ? list->desc : NULL; d && d->name; d++) {
        if (!strcmp(d->name, name)) {
            return true;
        }
    }
    return false;
}

/*
 * Creates the target: the output format's options (and its protocol's) with
 * -o applied, the size of the sources, and -B/-F. Reports errors itself.
 */
static int convert_create_target(BlockDriver *drv, const char *out_fmt,
                                 const char *out_filename,
                                 const char *options, int64_t size,
                                 const char *backing, const char *backing_fmt,
                                 bool compress, bool bitmaps,
                                 BlockDriverState *src_bs, bool *has_backing)
{
    QemuOptsList *create_opts;
    QemuOpts *opts = NULL;
    Error *err = NULL;
    int ret = -1;

    create_opts = bdrv_create_opts_merged(drv, out_filename, &err);
    if (!create_opts) {
        error_report_err(err);
        return -1;
    }

    opts = qemu_opts_create(create_opts);
    if (options && !qemu_opts_do_parse(opts, options, NULL, &err)) {
        error_report_err(err);
        goto out;
    }
    if (!qemu_opt_set_number(opts, "size", size, &err)) {
        error_report_err(err);
        goto out;
    }
    if (backing) {
        if (!opts_list_has(create_opts, "backing_file")) {
            error_report("Backing file not supported for file format '%s'",
                         out_fmt);
            goto out;
        }
        qemu_opt_set(opts, "backing_file", backing, NULL);
    }
    if (backing_fmt) {
        if (!opts_list_has(create_opts, "backing_fmt")) {
            error_report("Backing file format not supported for file "
                         "format '%s'", out_fmt);
            goto out;
        }
        qemu_opt_set(opts, "backing_fmt", backing_fmt, NULL);
    }
    /* -B and -F, or the same given with -o */
    *has_backing = qemu_opt_get(opts, "backing_file") != NULL;
    if (*has_backing && !qemu_opt_get(opts, "backing_fmt")) {
        error_report("Use of backing file requires explicit backing format");
        goto out;
    }
    if (compress && !bdrv_supports_compressed_writes(drv)) {
        error_report("Compression not supported for this file format");
        goto out;
    }
    if (compress) {
        /*
         * Compressed clusters cannot be encrypted or preallocated: refuse
         * before creating, as the reference does (any encrypt.format,
         * even empty; any preallocation but "off", even a bad one).
         */
        const char *prealloc = qemu_opt_get(opts, "preallocation");

        if (qemu_opt_get(opts, "encrypt.format") ||
            qemu_opt_get_bool(opts, "encryption", false)) {
            error_report("Compression and encryption not supported at the "
                         "same time");
            goto out;
        }
        if (prealloc && strcmp(prealloc, "off")) {
            error_report("Compression and preallocation not supported at "
                         "the same time");
            goto out;
        }
    }
    /* The target's support is checked once it is open, as the reference. */
    if (bitmaps && !bdrv_supports_persistent_dirty_bitmap(src_bs)) {
        error_report("Source lacks bitmap support");
        goto out;
    }

    if (bdrv_create(drv, out_filename, opts, &err) < 0) {
        error_reportf_err(err, "%s: error while converting %s: ",
                          out_filename, out_fmt);
        goto out;
    }
    ret = 0;
out:
    qemu_opts_del(opts);
    qemu_opts_free(create_opts);
    return ret;
}

/* ---- the command --------------------------------------------------------- */

int img_convert(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { "target-image-opts", no_argument, NULL, OPTION_TARGET_IMAGE_OPTS },
        { "salvage", no_argument, NULL, OPTION_SALVAGE },
        { "target-is-zero", no_argument, NULL, OPTION_TARGET_IS_ZERO },
        { "bitmaps", no_argument, NULL, OPTION_BITMAPS },
        { "skip-broken-bitmaps", no_argument, NULL,
          OPTION_SKIP_BROKEN_BITMAPS },
        { NULL, 0, NULL, 0 }
    };
    ConvertState s = { 0 };
    ImgCommonOpts common = { 0 };
    const char *out_fmt = NULL, *cache = "unsafe";
    const char *src_cache = "writeback", *out_baseimg = NULL;
    const char *out_basefmt = NULL, *out_filename;
    ImgSnapshotParam snapshot = { 0 };
    char *options = NULL;
    bool tgt_image_opts = false, compress = false;
    bool skip_create = false, progress = false, progress_started = false;
    bool explicit_min_sparse = false, copy_range = false;
    bool target_is_zero = false, bitmaps = false, salvage = false;
    bool skip_broken = false;
    bool wr_in_order = true;
    int64_t min_sparse = CONVERT_DEFAULT_MIN_SPARSE, rate_limit = 0;
    int num_coroutines = CONVERT_DEFAULT_COROUTINES;
    int flags, src_flags, c, i, ret = 1;
    BlockDriver *drv = NULL;
    int64_t total = 0;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:O:B:F:Cco:l:S:pt:T:qnm:WUr:",
                            long_options, NULL)) != -1) {
        switch (c) {
        case 'O':
            out_fmt = optarg;
            break;
        case 'B':
            out_baseimg = optarg;
            break;
        case 'F':
            out_basefmt = optarg;
            break;
        case 'C':
            copy_range = true;
            break;
        case 'c':
            compress = true;
            break;
        case 'o':
            if (!accumulate_options(&options, optarg)) {
                goto out;
            }
            break;
        case 'l':
            if (!img_parse_snapshot_param(optarg, &snapshot)) {
                goto out;
            }
            break;
        case 'S': {
            int64_t sval = cvtnum("buffer size for sparse output", optarg);

            if (sval < 0) {
                goto out;
            }
            if (!IS_ALIGNED(sval, BDRV_SECTOR_SIZE) ||
                sval > CONVERT_MAX_MIN_SPARSE) {
                error_report("Invalid buffer size for sparse output "
                             "specified. Valid sizes are multiples of %llu "
                             "up to %llu. Select 0 to disable sparse "
                             "detection (fully allocates output).",
                             BDRV_SECTOR_SIZE,
                             (unsigned long long)CONVERT_MAX_MIN_SPARSE);
                goto out;
            }
            min_sparse = sval;
            explicit_min_sparse = true;
            break;
        }
        case 'p':
            progress = true;
            break;
        case 't':
            cache = optarg;
            break;
        case 'T':
            src_cache = optarg;
            break;
        case 'n':
            skip_create = true;
            break;
        case 'm': {
            int m;

            if (qemu_strtoi(optarg, NULL, 0, &m) < 0 || m < 1 ||
                m > CONVERT_MAX_COROUTINES) {
                error_report("Invalid number of coroutines. Allowed number "
                             "of coroutines is between 1 and %d",
                             CONVERT_MAX_COROUTINES);
                goto out;
            }
            num_coroutines = m;
            break;
        }
        case 'W':
            wr_in_order = false;
            break;
        case 'r':
            rate_limit = cvtnum("rate limit", optarg);
            if (rate_limit < 0) {
                goto out;
            }
            break;
        case OPTION_SALVAGE:
            salvage = true;
            break;
        case OPTION_TARGET_IMAGE_OPTS:
            tgt_image_opts = true;
            break;
        case OPTION_TARGET_IS_ZERO:
            target_is_zero = true;
            break;
        case OPTION_BITMAPS:
            bitmaps = true;
            break;
        case OPTION_SKIP_BROKEN_BITMAPS:
            skip_broken = true;
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }

    if (skip_broken && !bitmaps) {
        error_report("Use of --skip-broken-bitmaps requires --bitmaps");
        goto out;
    }
    if (!out_fmt && !tgt_image_opts) {
        out_fmt = "raw";
    }
    if (copy_range) {
        if (compress) {
            error_report("Cannot enable copy offloading when -c is used");
            goto out;
        }
        if (explicit_min_sparse) {
            error_report("Cannot enable copy offloading when -S is used");
            goto out;
        }
        if (salvage) {
            error_report("Cannot use copy offloading in salvaging mode");
            goto out;
        }
    }
    if (tgt_image_opts && !skip_create) {
        error_report("--target-image-opts requires use of -n flag");
        goto out;
    }
    if (target_is_zero && !skip_create) {
        error_report("--target-is-zero requires use of -n flag");
        goto out;
    }
    if (skip_create && options) {
        error_report("-o has no effect when skipping image creation");
        goto out;
    }
    if (options && is_help_option(options)) {
        const char *target = argc - optind >= 2 ? argv[argc - 1] : NULL;

        ret = print_block_option_help(target, out_fmt ? out_fmt : "raw");
        goto out;
    }
    if (argc - optind < 2) {
        /* The reference prints no usage hint here */
        error_report("Must specify image file name");
        goto out;
    }
    src_flags = 0;
    if (!bdrv_parse_cache_mode(src_cache, &src_flags)) {
        error_report("Invalid source cache option: %s", src_cache);
        goto out;
    }
    /* Nobody may write a source while we copy it (as the reference) */
    src_flags |= BDRV_O_NO_SHARE;

    /*
     * The progress bar starts here, as the reference's does: every later
     * failure leaves its "(0.00/100%)" line behind (ended at out:).
     */
    s.progress = progress && !common.quiet;
    qemu_progress_init(s.progress, 1.0f);
    qemu_progress_print(0, 100);
    progress_started = true;

    if (common.image_opts && common.fmt) {
        error_report("--image-opts and --format are mutually exclusive");
        goto out;
    }
    s.src_num = argc - optind - 1;
    out_filename = argv[argc - 1];
    s.src = xnew(BlockBackend *, s.src_num);
    s.src_len = xnew(int64_t, s.src_num);
    for (i = 0; i < s.src_num; i++) {
        const char *name = argv[optind + i];

        s.src[i] = img_open(common.image_opts, name, common.fmt, src_flags,
                            false, common.force_share);
        if (!s.src[i]) {
            goto out;
        }
        s.src_len[i] = blk_getlength(s.src[i]);
        if (s.src_len[i] < 0) {
            error_report("Could not get size of %s: %s", name,
                         strerror(-s.src_len[i]));
            goto out;
        }
        total += s.src_len[i];
    }
    s.total = total;

    if (snapshot.given) {
        if (s.src_num > 1) {
            error_report("No support for concatenating multiple snapshot");
            goto out;
        }
        if (!img_load_snapshot(s.src[0], &snapshot)) {
            goto out;
        }
    }

    if (bitmaps && s.src_num > 1) {
        error_report("Copying bitmaps only possible with single source");
        goto out;
    }
    if (!skip_create) {
        /* With -n, an unknown -O fails when the target opens. */
        drv = bdrv_find_format(out_fmt);
        if (!drv) {
            error_report("Unknown file format '%s'", out_fmt);
            goto out;
        }
        if (bitmaps && !convert_check_bitmaps(blk_bs(s.src[0]), skip_broken)) {
            goto out;
        }
        if (convert_create_target(drv, out_fmt, out_filename, options, total,
                                  out_baseimg, out_basefmt, compress,
                                  bitmaps, blk_bs(s.src[0]),
                                  &s.target_has_backing) < 0) {
            goto out;
        }
    } else if (bitmaps &&
               !convert_check_bitmaps(blk_bs(s.src[0]), skip_broken)) {
        goto out;
    } else if (bitmaps &&
               !bdrv_supports_persistent_dirty_bitmap(blk_bs(s.src[0]))) {
        error_report("Source lacks bitmap support");
        goto out;
    }

    /*
     * -t is checked only now, once the target exists, as the reference
     * does (a bad cache mode leaves the new target behind).
     */
    flags = BDRV_O_RDWR;
    if (!bdrv_parse_cache_mode(cache, &flags)) {
        error_report("Invalid cache option: %s", cache);
        goto out;
    }
    /* Zero writes to the target may punch holes, as the reference's do */
    flags |= BDRV_O_RDWR | BDRV_O_UNMAP;
    if (tgt_image_opts && out_fmt) {
        error_report("--image-opts and --format are mutually exclusive");
        goto out;
    }

    /*
     * The target opens with its backing chain, as the reference's does: a
     * missing backing file fails here.
     */
    s.target = img_open(tgt_image_opts, out_filename,
                        tgt_image_opts ? NULL : out_fmt, flags,
                        flags & BDRV_O_WRITETHROUGH, false);
    if (!s.target) {
        goto out;
    }
    /* Asked of the open target, even one just created, as the reference. */
    if (bitmaps &&
        !bdrv_supports_persistent_dirty_bitmap(blk_bs(s.target))) {
        error_report("Format driver '%s' does not support bitmaps",
                     bdrv_get_format_name(blk_bs(s.target)));
        goto out;
    }

    if (skip_create) {
        const char *tfmt = bdrv_get_format_name(blk_bs(s.target));
        int64_t tlen;

        if (compress &&
            !bdrv_supports_compressed_writes(bdrv_find_format(tfmt))) {
            error_report("Compression not supported for this file format");
            goto out;
        }
        tlen = blk_getlength(s.target);
        if (tlen < 0) {
            error_report("Could not get size of %s: %s", out_filename,
                         strerror(-tlen));
            goto out;
        }
        if (tlen < total) {
            error_report("output file is smaller than input file");
            goto out;
        }
        s.target_has_backing =
            bdrv_get_backing_filename(blk_bs(s.target))[0] != '\0';
        if (target_is_zero && s.target_has_backing) {
            error_report("Cannot use --target-is-zero when the destination "
                         "image has a backing file");
            goto out;
        }
        s.has_zero_init = target_is_zero;
    } else {
        s.has_zero_init = min_sparse && !s.target_has_backing &&
                          bdrv_has_zero_init(blk_bs(s.target));
    }
    s.target_backing_len = -1;
    if (s.target_has_backing && bdrv_backing_node(blk_bs(s.target))) {
        s.target_backing_len =
            bdrv_getlength(bdrv_backing_node(blk_bs(s.target)));
    }

    if (compress) {
        BlockDriverInfo bdi = { 0 };

        if (bdrv_get_info(blk_bs(s.target), &bdi) < 0 ||
            bdi.cluster_size <= 0) {
            error_report("could not get block driver info");
            goto out;
        }
        s.cluster_size = bdi.cluster_size;
        /*
         * Compression writes whole clusters, one per request; -W still
         * lets them land out of order, as in the reference.
         */
        s.buf_size = s.cluster_size;
    } else {
        s.buf_size = CONVERT_BUF_SIZE;
    }

    s.compressed = compress;
    s.wr_in_order = wr_in_order;
    if (wr_in_order && !compress) {
        BlockDriverInfo bdi = { 0 };

        /*
         * A table maps cluster_size / 8 clusters, or / 16 with extended L2
         * entries: the smaller bound splits at every table's boundary.
         */
        if (bdrv_get_info(blk_bs(s.target), &bdi) == 0 &&
            bdi.cluster_size > 0) {
            s.l2_coverage = (int64_t)bdi.cluster_size * bdi.cluster_size / 16;
        }
    }
    s.salvage = salvage;
    s.min_sparse = min_sparse;
    /* Offloaded copies move data as it is, zero blocks included */
    s.scan_zeroes = min_sparse && !copy_range;
    /* Zero runs are only worth a hole when aligned to the sparse size */
    s.alignment = BDRV_SECTOR_SIZE;
    while (s.alignment * 2 <= min_sparse) {
        s.alignment *= 2;
    }
    if (flags & BDRV_O_NOCACHE) {
        /* O_DIRECT requests are aligned to the device's 4k anyway */
        s.alignment = MAX(s.alignment, 4096);
    }
    s.num_coroutines = num_coroutines;
    s.rate_limit = rate_limit;
    s.copy_range = copy_range;

    ret = convert_do_copy(&s) < 0 ? 1 : 0;
    if (ret == 0 && bitmaps &&
        convert_copy_bitmaps(blk_bs(s.src[0]), blk_bs(s.target)) < 0) {
        ret = 1;
    }
    if (ret == 0) {
        qemu_progress_print(100, 0);
    }

out:
    if (progress_started) {
        qemu_progress_end();
    }
    if (s.target) {
        blk_unref(s.target);
    }
    for (i = 0; s.src && i < s.src_num; i++) {
        if (s.src[i]) {
            blk_unref(s.src[i]);
        }
    }
    free(s.src);
    free(s.src_len);
    free(options);
    img_snapshot_param_free(&snapshot);
    return ret;
}
