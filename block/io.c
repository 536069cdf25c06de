/*
 * The generic request path: every read, write, zero write, discard, flush,
 * truncate and block-status query of a node goes through here before it
 * reaches the driver.
 *
 * Invariants:
 *  1. Drivers see requests aligned to bl.request_alignment and no longer
 *     than bl.max_transfer; unaligned requests are padded here (reads into
 *     bounce buffers, writes by read-modify-write).
 *  2. A read-modify-write marks its tracked request serialising over the
 *     aligned range before it reads: overlapping requests wait for it, and
 *     it waits for every overlapping request already in flight, so two
 *     unaligned writes to one block never lose each other's bytes.
 *  3. bs->in_flight counts requests between entry and completion; drain
 *     polls until it is zero for the node and all its children.
 *  4. Reads past the end of a node return zeroes without asking the driver.
 */
#include "config-host.h"

#include "block/block_int.h"
#include "block/dirty-bitmap.h"

/* The bounce buffer for emulated zero writes is at most this big. */
#define ZERO_BUFFER_MAX (1 * MiB)
/*
 * Byte requests and image lengths may not go beyond this: the reference's
 * limit, INT64_MAX rounded down to 1 GiB.
 */
#define BDRV_MAX_LENGTH (INT64_MAX - (1 * GiB - 1))

/* ---- running coroutines from outside ------------------------------------ */

void bdrv_run_co(CoroutineEntry *entry, void *opaque, bool *done)
{
    if (qemu_in_coroutine()) {
        entry(opaque);
        return;
    }
    qemu_coroutine_enter(qemu_coroutine_create(entry, opaque));
    while (!*done) {
        aio_poll(qemu_get_aio_context(), true);
    }
}

/* ---- in-flight counting and drain ---------------------------------------- */

void bdrv_inc_in_flight(BlockDriverState *bs)
{
    bs->in_flight++;
}

void bdrv_dec_in_flight(BlockDriverState *bs)
{
    assert(bs->in_flight > 0);
    bs->in_flight--;
    if (!bs->in_flight && bs->drain_waiter) {
        Coroutine *co = bs->drain_waiter;

        bs->drain_waiter = NULL;
        aio_co_wake(co);
    }
}

static bool bdrv_has_in_flight(BlockDriverState *bs)
{
    BdrvChild *c;

    if (bs->in_flight) {
        return true;
    }
    LIST_FOREACH(c, &bs->children, next) {
        if (bdrv_has_in_flight(c->bs)) {
            return true;
        }
    }
    return false;
}

void bdrv_drain(BlockDriverState *bs)
{
    while (bdrv_has_in_flight(bs)) {
        if (qemu_in_coroutine()) {
            /* Rare (a coroutine closing a node): wait for completions. */
            qemu_co_sleep_ns(100000);
        } else {
            aio_poll(qemu_get_aio_context(), true);
        }
    }
}

/* ---- length -------------------------------------------------------------- */

typedef struct LengthCo {
    BlockDriverState *bs;
    int64_t ret;
    bool done;
} LengthCo;

static void coroutine_fn bdrv_getlength_co_entry(void *opaque)
{
    LengthCo *l = opaque;

    l->ret = l->bs->drv->bdrv_co_getlength(l->bs);
    l->done = true;
}

int bdrv_refresh_total_sectors(BlockDriverState *bs, int64_t hint)
{
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->drv->bdrv_co_getlength) {
        LengthCo l = { .bs = bs };

        bdrv_run_co(bdrv_getlength_co_entry, &l, &l.done);
        if (l.ret < 0) {
            return (int)l.ret;
        }
        bs->total_sectors = DIV_ROUND_UP(l.ret, BDRV_SECTOR_SIZE);
        return 0;
    }
    if (hint >= 0) {
        bs->total_sectors = hint;
    }
    return 0;
}

int64_t coroutine_fn bdrv_co_getlength(BlockDriverState *bs)
{
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->drv->has_variable_length && bs->drv->bdrv_co_getlength) {
        int64_t len = bs->drv->bdrv_co_getlength(bs);

        if (len < 0) {
            return len;
        }
        bs->total_sectors = DIV_ROUND_UP(len, BDRV_SECTOR_SIZE);
    }
    if (bs->total_sectors > INT64_MAX / (int64_t)BDRV_SECTOR_SIZE) {
        return -EFBIG;
    }
    return bs->total_sectors * BDRV_SECTOR_SIZE;
}

int64_t bdrv_nb_sectors(BlockDriverState *bs)
{
    int64_t len = bdrv_getlength(bs);

    return len < 0 ? len : len / (int64_t)BDRV_SECTOR_SIZE;
}

int64_t bdrv_getlength(BlockDriverState *bs)
{
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->drv->has_variable_length) {
        int ret = bdrv_refresh_total_sectors(bs, -1);

        if (ret < 0) {
            return ret;
        }
    }
    if (bs->total_sectors > INT64_MAX / (int64_t)BDRV_SECTOR_SIZE) {
        return -EFBIG;
    }
    return bs->total_sectors * BDRV_SECTOR_SIZE;
}

/* ---- tracked requests ---------------------------------------------------- */

/*
 * Every request is tracked, even when nothing serialises: a read-modify-
 * write that starts later must find the requests already in flight. This
 * runs for each request at each layer, so it only sets what is read later
 * and leaves the rest of the structure alone.
 */
static inline void tracked_request_begin(BdrvTrackedRequest *req,
                                         BlockDriverState *bs,
                                         int64_t offset, int64_t bytes,
                                         bool is_write)
{
    req->bs = bs;
    req->offset = offset;
    req->bytes = bytes;
    req->is_write = is_write;
    req->serialising = false;
    req->overlap_offset = offset;
    req->overlap_bytes = bytes;
    req->waiting_for = NULL;
    TAILQ_INIT(&req->wait_queue.entries);
    LIST_INSERT_HEAD(&bs->tracked_requests, req, list);
}

static inline void tracked_request_end(BdrvTrackedRequest *req)
{
    if (req->serialising) {
        req->bs->serialising_in_flight--;
    }
    LIST_REMOVE(req, list);
    if (!TAILQ_EMPTY(&req->wait_queue.entries)) {
        qemu_co_queue_restart_all(&req->wait_queue);
    }
}

static void tracked_request_set_serialising(BdrvTrackedRequest *req,
                                            uint64_t align)
{
    int64_t start = ROUND_DOWN(req->offset, (int64_t)align);
    int64_t end = ROUND_UP(req->offset + req->bytes, (int64_t)align);

    if (!req->serialising) {
        req->serialising = true;
        req->bs->serialising_in_flight++;
    }
    req->overlap_offset = MIN(req->overlap_offset, start);
    req->overlap_bytes = MAX(req->overlap_offset + req->overlap_bytes, end) -
                         req->overlap_offset;
}

static bool tracked_requests_overlap(BdrvTrackedRequest *a,
                                     BdrvTrackedRequest *b)
{
    return a->overlap_offset < b->overlap_offset + b->overlap_bytes &&
           b->overlap_offset < a->overlap_offset + a->overlap_bytes;
}

/*
 * Waits until no request that conflicts with req (one of the two
 * serialising, ranges overlapping) is in flight. A request that is itself
 * waiting is skipped: it will re-check and wait for us when it wakes, and
 * waiting for it could close a cycle.
 */
static void coroutine_fn wait_serialising_requests_slow(
    BdrvTrackedRequest *req)
{
    BlockDriverState *bs = req->bs;
    BdrvTrackedRequest *r;
    bool retry;

    do {
        retry = false;
        LIST_FOREACH(r, &bs->tracked_requests, list) {
            if (r == req || (!r->serialising && !req->serialising)) {
                continue;
            }
            if (!tracked_requests_overlap(req, r) || r->waiting_for) {
                continue;
            }
            req->waiting_for = r;
            qemu_co_queue_wait(&r->wait_queue, NULL);
            req->waiting_for = NULL;
            retry = true;
            break;
        }
    } while (retry);
}

/* Nothing to walk unless some request serialises (the common case). */
static inline void coroutine_fn
wait_serialising_requests(BdrvTrackedRequest *req)
{
    if (req->bs->serialising_in_flight) {
        wait_serialising_requests_slow(req);
    }
}

/* ---- request checks ------------------------------------------------------ */

static int bdrv_check_request(int64_t offset, int64_t bytes)
{
    if (offset < 0 || bytes < 0) {
        return -EIO;
    }
    if (offset > BDRV_MAX_LENGTH || bytes > BDRV_MAX_LENGTH - offset) {
        return -EIO;
    }
    return 0;
}

/* ---- padding ------------------------------------------------------------- */

typedef struct BdrvRequestPadding {
    uint8_t *buf;
    size_t buf_len;
    uint8_t *tail_buf;
    size_t head;
    size_t tail;
    QEMUIOVector local_qiov;
} BdrvRequestPadding;

/*
 * If [offset, offset+bytes) is not aligned, sets up bounce buffers for its
 * head and tail blocks and a vector [head pad][qiov part][tail pad] over the
 * aligned range. Returns false (nothing allocated) if aligned.
 */
static bool bdrv_pad_request_setup(BlockDriverState *bs, int64_t offset,
                                   int64_t bytes, QEMUIOVector *qiov,
                                   size_t qiov_offset,
                                   BdrvRequestPadding *pad)
{
    size_t align = bs->bl.request_alignment;
    int64_t aligned_start;
    int64_t aligned_end;

    memset(pad, 0, sizeof(*pad));
    pad->head = offset & (align - 1);
    pad->tail = (offset + bytes) & (align - 1);
    if (pad->tail) {
        pad->tail = align - pad->tail;
    }
    aligned_start = offset - pad->head;
    aligned_end = offset + bytes + pad->tail;
    pad->buf_len = (aligned_end - aligned_start > (int64_t)align &&
                    pad->head && pad->tail) ? 2 * align : align;
    pad->buf = qemu_blockalign(pad->buf_len);
    pad->tail_buf = pad->buf + pad->buf_len - align;

    qemu_iovec_init(&pad->local_qiov, (qiov ? qiov->niov : 1) + 2);
    if (pad->head) {
        qemu_iovec_add(&pad->local_qiov, pad->buf, pad->head);
    }
    if (qiov) {
        qemu_iovec_concat(&pad->local_qiov, qiov, qiov_offset, bytes);
    }
    if (pad->tail) {
        qemu_iovec_add(&pad->local_qiov, pad->tail_buf + align - pad->tail,
                       pad->tail);
    }
    return true;
}

static inline bool bdrv_pad_request(BlockDriverState *bs, int64_t offset,
                                    int64_t bytes, QEMUIOVector *qiov,
                                    size_t qiov_offset,
                                    BdrvRequestPadding *pad)
{
    size_t align = bs->bl.request_alignment;

    /* The common case first: nothing to pad, nothing to set up. */
    if (!((offset | bytes) & (align - 1))) {
        pad->buf = NULL;
        return false;
    }
    return bdrv_pad_request_setup(bs, offset, bytes, qiov, qiov_offset, pad);
}

static void bdrv_padding_destroy(BdrvRequestPadding *pad)
{
    if (pad->buf) {
        qemu_vfree(pad->buf);
        qemu_iovec_destroy(&pad->local_qiov);
    }
    memset(pad, 0, sizeof(*pad));
}

/* ---- driver calls -------------------------------------------------------- */

static inline int coroutine_fn bdrv_driver_preadv(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov,
                                           size_t qiov_offset, int flags)
{
    QEMUIOVector local;
    int ret;

    if (qiov_offset == 0 && qiov->size == (size_t)bytes) {
        return bs->drv->bdrv_co_preadv(bs, offset, bytes, qiov, flags);
    }
    qemu_iovec_init_slice(&local, qiov, qiov_offset, bytes);
    ret = bs->drv->bdrv_co_preadv(bs, offset, bytes, &local, flags);
    qemu_iovec_destroy(&local);
    return ret;
}

static inline int coroutine_fn bdrv_driver_pwritev(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            size_t qiov_offset, int flags)
{
    QEMUIOVector local;
    QEMUIOVector *q = qiov;
    bool emulate_fua = (flags & BDRV_REQ_FUA) &&
                       !(bs->supported_write_flags & BDRV_REQ_FUA);
    int ret;

    if (!bs->drv->bdrv_co_pwritev) {
        return -ENOTSUP;
    }
    if (qiov_offset != 0 || qiov->size != (size_t)bytes) {
        qemu_iovec_init_slice(&local, qiov, qiov_offset, bytes);
        q = &local;
    }
    ret = bs->drv->bdrv_co_pwritev(bs, offset, bytes, q,
                                   flags & bs->supported_write_flags);
    if (q == &local) {
        qemu_iovec_destroy(&local);
    }
    /*
     * The whole node, children included, as the reference: its flush runs
     * before the write counts in bs->write_gen, so its flush_to_disk event
     * comes one write late (error injection sees the same order).
     */
    if (ret >= 0 && emulate_fua) {
        ret = bdrv_co_flush(bs);
    }
    return ret;
}

/* ---- reads --------------------------------------------------------------- */

/*
 * Reads the aligned range [offset, offset+bytes) into qiov at qiov_offset:
 * the part inside the node from the driver in max_transfer pieces, the part
 * past its end as zeroes.
 */
static int coroutine_fn bdrv_aligned_preadv_split(BlockDriverState *bs,
                                                  int64_t offset,
                                                  int64_t bytes,
                                                  QEMUIOVector *qiov,
                                                  size_t qiov_offset,
                                                  int flags, int64_t total)
{
    int64_t align = bs->bl.request_alignment;
    int64_t max_bytes;
    int64_t max_transfer;
    int64_t done = 0;
    int ret = 0;

    max_bytes = ROUND_UP(MAX(0, total - offset), align);
    max_transfer = bs->bl.max_transfer ?
                   MAX(align, ROUND_DOWN(bs->bl.max_transfer, align)) :
                   INT64_MAX;

    while (done < bytes) {
        int64_t num = MIN(bytes - done, max_transfer);

        if (done < max_bytes) {
            num = MIN(num, max_bytes - done);
            ret = bdrv_driver_preadv(bs, offset + done, num, qiov,
                                     qiov_offset + done, flags);
            if (ret < 0) {
                return ret;
            }
        } else {
            num = bytes - done;
            qemu_iovec_memset(qiov, qiov_offset + done, 0, num);
        }
        done += num;
    }
    return 0;
}

static inline int coroutine_fn bdrv_aligned_preadv(BlockDriverState *bs,
                                                   int64_t offset,
                                                   int64_t bytes,
                                                   QEMUIOVector *qiov,
                                                   size_t qiov_offset,
                                                   int flags)
{
    int64_t total;

    /*
     * The length the node had at its last refresh (open, truncate, writes
     * past the end): asking the driver on every request (an ioctl for
     * devices) would cost more than the request.
     */
    if (bs->total_sectors > INT64_MAX / (int64_t)BDRV_SECTOR_SIZE) {
        return -EFBIG;
    }
    total = bs->total_sectors * BDRV_SECTOR_SIZE;
    if (offset + bytes <= total &&
        (!bs->bl.max_transfer || bytes <= bs->bl.max_transfer)) {
        return bdrv_driver_preadv(bs, offset, bytes, qiov, qiov_offset,
                                  flags);
    }
    return bdrv_aligned_preadv_split(bs, offset, bytes, qiov, qiov_offset,
                                     flags, total);
}

static int coroutine_fn bdrv_co_preadv_part(BdrvChild *child, int64_t offset,
                                            int64_t bytes, QEMUIOVector *qiov,
                                            size_t qiov_offset,
                                            BdrvRequestFlags flags)
{
    BlockDriverState *bs = child->bs;
    BdrvTrackedRequest req;
    BdrvRequestPadding pad;
    int ret;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    ret = bdrv_check_request(offset, bytes);
    if (ret < 0) {
        return ret;
    }
    if (bytes == 0) {
        return 0;
    }
    bdrv_inc_in_flight(bs);
    tracked_request_begin(&req, bs, offset, bytes, false);
    if (bdrv_pad_request(bs, offset, bytes, qiov, qiov_offset, &pad)) {
        req.overlap_offset = offset - pad.head;
        req.overlap_bytes = bytes + pad.head + pad.tail;
        wait_serialising_requests(&req);
        ret = bdrv_aligned_preadv(bs, offset - pad.head,
                                  bytes + pad.head + pad.tail,
                                  &pad.local_qiov, 0, flags);
        bdrv_padding_destroy(&pad);
    } else {
        wait_serialising_requests(&req);
        ret = bdrv_aligned_preadv(bs, offset, bytes, qiov, qiov_offset,
                                  flags);
    }
    tracked_request_end(&req);
    bdrv_dec_in_flight(bs);
    return ret;
}

int coroutine_fn bdrv_co_preadv(BdrvChild *child, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags)
{
    if (qiov && qiov->size < (size_t)MAX(bytes, 0)) {
        return -EINVAL;
    }
    return bdrv_co_preadv_part(child, offset, bytes, qiov, 0, flags);
}

int coroutine_fn bdrv_co_pread(BdrvChild *child, int64_t offset,
                               int64_t bytes, void *buf,
                               BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    if (bytes < 0) {
        return -EIO;
    }
    qemu_iovec_init_buf(&qiov, buf, bytes);
    return bdrv_co_preadv(child, offset, bytes, &qiov, flags);
}

/* ---- writes -------------------------------------------------------------- */

static int coroutine_fn bdrv_co_do_pwrite_zeroes(BlockDriverState *bs,
                                                 int64_t offset,
                                                 int64_t bytes,
                                                 BdrvRequestFlags flags)
{
    int64_t align = MAX(bs->bl.pwrite_zeroes_alignment,
                        bs->bl.request_alignment);
    int64_t max_zeroes = bs->bl.max_pwrite_zeroes ?
                         MAX(ROUND_DOWN(bs->bl.max_pwrite_zeroes, align),
                             align) :
                         INT64_MAX;
    int64_t max_transfer = bs->bl.max_transfer ?
                           MAX(bs->bl.request_alignment,
                               ROUND_DOWN(bs->bl.max_transfer,
                                          bs->bl.request_alignment)) :
                           INT64_MAX;
    uint8_t *buf = NULL;
    size_t buf_len = 0;
    int ret = 0;

    if (!(bs->open_flags & BDRV_O_UNMAP)) {
        flags &= ~BDRV_REQ_MAY_UNMAP;
    }
    if ((flags & BDRV_REQ_NO_FALLBACK) &&
        !(bs->supported_zero_flags & BDRV_REQ_NO_FALLBACK)) {
        /* The driver cannot promise a fast path. */
        return -ENOTSUP;
    }

    while (bytes > 0 && ret >= 0) {
        int64_t num = bytes;
        int64_t head = offset % align;

        /* Keep the driver's calls on its zeroing granularity. */
        if (head) {
            num = MIN(bytes, align - head);
        } else if (num > align && (offset + num) % align) {
            num -= (offset + num) % align;
        }
        num = MIN(num, max_zeroes);

        ret = -ENOTSUP;
        if (bs->drv->bdrv_co_pwrite_zeroes) {
            int zflags = flags & bs->supported_zero_flags &
                         (BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK |
                          BDRV_REQ_FUA);

            ret = bs->drv->bdrv_co_pwrite_zeroes(bs, offset, num, zflags);
            if (ret >= 0 && (flags & BDRV_REQ_FUA) &&
                !(bs->supported_zero_flags & BDRV_REQ_FUA)) {
                ret = bdrv_co_flush(bs);
            }
        }
        if (ret == -ENOTSUP && !(flags & BDRV_REQ_NO_FALLBACK)) {
            int64_t done = 0;
            int wflags = flags & BDRV_REQ_FUA;

            /* Fall back to writing a buffer of zeroes, chunk by chunk. */
            ret = 0;
            while (done < num && ret >= 0) {
                int64_t n = MIN(num - done,
                                MIN(max_transfer, ZERO_BUFFER_MAX));
                QEMUIOVector qiov;

                if (!buf) {
                    buf_len = MIN(num, MIN(max_transfer, ZERO_BUFFER_MAX));
                    buf = qemu_try_blockalign(buf_len);
                    if (!buf) {
                        ret = -ENOMEM;
                        break;
                    }
                    memset(buf, 0, buf_len);
                }
                n = MIN(n, (int64_t)buf_len);
                qemu_iovec_init_buf(&qiov, buf, n);
                ret = bdrv_driver_pwritev(bs, offset + done, n, &qiov, 0,
                                          wflags);
                done += n;
            }
        }
        offset += num;
        bytes -= num;
    }
    if (buf) {
        qemu_vfree(buf);
    }
    return ret < 0 ? ret : 0;
}

/* A write past the end grows the node (file nodes do). */
static inline void bdrv_write_extends(BlockDriverState *bs, int64_t end)
{
    if (!bs->drv->has_variable_length) {
        int64_t end_sectors = DIV_ROUND_UP(end, BDRV_SECTOR_SIZE);

        if (end_sectors > bs->total_sectors) {
            bs->total_sectors = end_sectors;
        }
    }
}

/* bdrv_aligned_pwritev for zero writes, compression, detect-zeroes, splits. */
static int coroutine_fn bdrv_aligned_pwritev_slow(BlockDriverState *bs,
                                                  int64_t offset,
                                                  int64_t bytes,
                                                  QEMUIOVector *qiov,
                                                  size_t qiov_offset,
                                                  BdrvRequestFlags flags)
{
    int64_t align = bs->bl.request_alignment;
    int64_t max_transfer = bs->bl.max_transfer ?
                           MAX(align, ROUND_DOWN(bs->bl.max_transfer, align)) :
                           INT64_MAX;
    int64_t done = 0;
    int ret = 0;

    if (!(flags & BDRV_REQ_ZERO_WRITE) && qiov &&
        bs->detect_zeroes != BDRV_DETECT_ZEROES_OFF &&
        qemu_iovec_is_zero(qiov, qiov_offset, bytes)) {
        flags |= BDRV_REQ_ZERO_WRITE;
        if (bs->detect_zeroes == BDRV_DETECT_ZEROES_UNMAP &&
            (bs->open_flags & BDRV_O_UNMAP)) {
            flags |= BDRV_REQ_MAY_UNMAP;
        }
    }

    if (flags & BDRV_REQ_ZERO_WRITE) {
        bdrv_debug_event(bs, BLKDBG_PWRITEV_ZERO);
        ret = bdrv_co_do_pwrite_zeroes(bs, offset, bytes, flags);
    } else if (flags & BDRV_REQ_WRITE_COMPRESSED) {
        QEMUIOVector local;

        if (!bs->drv->bdrv_co_pwritev_compressed) {
            return -ENOTSUP;
        }
        qemu_iovec_init_slice(&local, qiov, qiov_offset, bytes);
        ret = bs->drv->bdrv_co_pwritev_compressed(bs, offset, bytes, &local);
        qemu_iovec_destroy(&local);
        if (ret >= 0 && (flags & BDRV_REQ_FUA)) {
            ret = bdrv_co_flush(bs);
        }
    } else {
        bdrv_debug_event(bs, BLKDBG_PWRITEV);
        while (done < bytes && ret >= 0) {
            int64_t num = MIN(bytes - done, max_transfer);
            int f = flags;

            /* An emulated FUA needs its flush after the last piece only. */
            if (done + num < bytes &&
                !(bs->supported_write_flags & BDRV_REQ_FUA)) {
                f &= ~BDRV_REQ_FUA;
            }
            ret = bdrv_driver_pwritev(bs, offset + done, num, qiov,
                                      qiov_offset + done, f);
            done += num;
        }
    }
    bdrv_debug_event(bs, BLKDBG_PWRITEV_DONE);
    if (ret >= 0) {
        bdrv_write_extends(bs, offset + bytes);
    }
    return ret < 0 ? ret : 0;
}

/* Writes the aligned range; the request is tracked by the caller. */
static inline int coroutine_fn bdrv_aligned_pwritev(BlockDriverState *bs,
                                                    int64_t offset,
                                                    int64_t bytes,
                                                    QEMUIOVector *qiov,
                                                    size_t qiov_offset,
                                                    BdrvRequestFlags flags)
{
    int ret;

    /* The common case: plain data in one piece. */
    if (!(flags & (BDRV_REQ_ZERO_WRITE | BDRV_REQ_WRITE_COMPRESSED)) &&
        bs->detect_zeroes == BDRV_DETECT_ZEROES_OFF &&
        (!bs->bl.max_transfer || bytes <= bs->bl.max_transfer)) {
        bdrv_debug_event(bs, BLKDBG_PWRITEV);
        ret = bdrv_driver_pwritev(bs, offset, bytes, qiov, qiov_offset,
                                  flags);
        bdrv_debug_event(bs, BLKDBG_PWRITEV_DONE);
        if (ret < 0) {
            return ret;
        }
        bdrv_write_extends(bs, offset + bytes);
        return 0;
    }
    return bdrv_aligned_pwritev_slow(bs, offset, bytes, qiov, qiov_offset,
                                     flags);
}

/*
 * Unaligned zero write: the partial head and tail blocks are written as
 * data (read, zeroed, written), the aligned middle as a zero write.
 */
static int coroutine_fn bdrv_co_do_zero_pwritev(BlockDriverState *bs,
                                                int64_t offset,
                                                int64_t bytes,
                                                BdrvRequestFlags flags,
                                                BdrvRequestPadding *pad)
{
    int64_t align = bs->bl.request_alignment;
    int64_t aligned_start = offset - pad->head;
    int64_t aligned_end = offset + bytes + pad->tail;
    QEMUIOVector q;
    int ret;
    int wflags = flags & ~(BDRV_REQ_ZERO_WRITE | BDRV_REQ_MAY_UNMAP |
                           BDRV_REQ_NO_FALLBACK);

    if (flags & BDRV_REQ_NO_FALLBACK) {
        return -ENOTSUP;
    }
    if (pad->head || aligned_end - aligned_start == align) {
        /* The first block (maybe the only one). */
        qemu_iovec_init_buf(&q, pad->buf, align);
        bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_HEAD);
        ret = bdrv_aligned_preadv(bs, aligned_start, align, &q, 0, 0);
        bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_AFTER_HEAD);
        if (ret < 0) {
            return ret;
        }
        memset(pad->buf + pad->head, 0,
               MIN(bytes, align - (int64_t)pad->head));
        ret = bdrv_aligned_pwritev(bs, aligned_start, align, &q, 0, wflags);
        if (ret < 0) {
            return ret;
        }
        aligned_start += align;
        if (aligned_start >= aligned_end) {
            return 0;
        }
    }
    if (pad->tail) {
        int64_t tail_start = aligned_end - align;

        qemu_iovec_init_buf(&q, pad->tail_buf, align);
        bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_TAIL);
        ret = bdrv_aligned_preadv(bs, tail_start, align, &q, 0, 0);
        bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_AFTER_TAIL);
        if (ret < 0) {
            return ret;
        }
        memset(pad->tail_buf, 0, align - pad->tail);
        ret = bdrv_aligned_pwritev(bs, tail_start, align, &q, 0, wflags);
        if (ret < 0) {
            return ret;
        }
        aligned_end -= align;
    }
    if (aligned_end > aligned_start) {
        ret = bdrv_aligned_pwritev(bs, aligned_start,
                                   aligned_end - aligned_start, NULL, 0,
                                   flags);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

static int coroutine_fn bdrv_co_pwritev_part(BdrvChild *child,
                                             int64_t offset, int64_t bytes,
                                             QEMUIOVector *qiov,
                                             size_t qiov_offset,
                                             BdrvRequestFlags flags)
{
    BlockDriverState *bs = child->bs;
    BdrvTrackedRequest req;
    BdrvRequestPadding pad;
    int64_t align = bs->bl.request_alignment;
    int ret;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    ret = bdrv_check_request(offset, bytes);
    if (ret < 0) {
        return ret;
    }
    if (bytes == 0) {
        /*
         * An empty compressed write ends a compressed stream (convert -c):
         * the format finishes it (qcow2 aligns the end of its file).
         */
        if ((flags & BDRV_REQ_WRITE_COMPRESSED) &&
            bs->drv->bdrv_co_pwritev_compressed) {
            bdrv_inc_in_flight(bs);
            ret = bs->drv->bdrv_co_pwritev_compressed(bs, offset, 0, qiov);
            bdrv_dec_in_flight(bs);
            return ret;
        }
        return 0;
    }
    if ((flags & BDRV_REQ_WRITE_COMPRESSED) &&
        (!IS_ALIGNED(offset, align) || !IS_ALIGNED(bytes, align))) {
        return -EINVAL;
    }

    bdrv_inc_in_flight(bs);
    tracked_request_begin(&req, bs, offset, bytes, true);
    if (flags & BDRV_REQ_SERIALISING) {
        tracked_request_set_serialising(&req, align);
    }
    if (bdrv_pad_request(bs, offset, bytes,
                         (flags & BDRV_REQ_ZERO_WRITE) ? NULL : qiov,
                         qiov_offset, &pad)) {
        /* Read-modify-write: nobody may touch these blocks meanwhile. */
        tracked_request_set_serialising(&req, align);
        wait_serialising_requests(&req);
        if (flags & BDRV_REQ_ZERO_WRITE) {
            ret = bdrv_co_do_zero_pwritev(bs, offset, bytes, flags, &pad);
        } else {
            int64_t start = offset - pad.head;
            int64_t end = offset + bytes + pad.tail;
            QEMUIOVector q;

            ret = 0;
            if (pad.head) {
                qemu_iovec_init_buf(&q, pad.buf, align);
                bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_HEAD);
                ret = bdrv_aligned_preadv(bs, start, align, &q, 0, 0);
                bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_AFTER_HEAD);
            }
            if (ret >= 0 && pad.tail &&
                (!pad.head || pad.buf_len == 2 * (size_t)align ||
                 end - start > align)) {
                qemu_iovec_init_buf(&q, pad.tail_buf, align);
                bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_TAIL);
                ret = bdrv_aligned_preadv(bs, end - align, align, &q, 0, 0);
                bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_AFTER_TAIL);
            }
            if (ret >= 0) {
                ret = bdrv_aligned_pwritev(bs, start, end - start,
                                           &pad.local_qiov, 0, flags);
            }
        }
        bdrv_padding_destroy(&pad);
    } else {
        wait_serialising_requests(&req);
        ret = bdrv_aligned_pwritev(bs, offset, bytes,
                                   (flags & BDRV_REQ_ZERO_WRITE) ? NULL
                                                                 : qiov,
                                   qiov_offset, flags);
    }
    /* Even a failed write may have changed some of the range. */
    if (!TAILQ_EMPTY(&bs->dirty_bitmaps)) {
        bdrv_set_dirty(bs, offset, bytes);
    }
    bs->write_gen++;
    tracked_request_end(&req);
    bdrv_dec_in_flight(bs);
    return ret;
}

int coroutine_fn bdrv_co_pwritev(BdrvChild *child, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags)
{
    if (!(flags & BDRV_REQ_ZERO_WRITE) &&
        (!qiov || qiov->size < (size_t)MAX(bytes, 0))) {
        return -EINVAL;
    }
    return bdrv_co_pwritev_part(child, offset, bytes, qiov, 0, flags);
}

int coroutine_fn bdrv_co_pwrite(BdrvChild *child, int64_t offset,
                                int64_t bytes, const void *buf,
                                BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    if (bytes < 0) {
        return -EIO;
    }
    qemu_iovec_init_buf(&qiov, (void *)buf, bytes);
    return bdrv_co_pwritev(child, offset, bytes, &qiov, flags);
}

int coroutine_fn bdrv_co_pwrite_zeroes(BdrvChild *child, int64_t offset,
                                       int64_t bytes, BdrvRequestFlags flags)
{
    return bdrv_co_pwritev_part(child, offset, bytes, NULL, 0,
                                flags | BDRV_REQ_ZERO_WRITE);
}

/* ---- discard ------------------------------------------------------------- */

int coroutine_fn bdrv_co_pdiscard(BdrvChild *child, int64_t offset,
                                  int64_t bytes)
{
    BlockDriverState *bs = child->bs;
    BdrvTrackedRequest req;
    int64_t align;
    int64_t max_pdiscard;
    int64_t end;
    int ret;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    ret = bdrv_check_request(offset, bytes);
    if (ret < 0) {
        return ret;
    }
    /* Discards are a hint: ignored unless discard=unmap. */
    if (!(bs->open_flags & BDRV_O_UNMAP) || !bs->drv->bdrv_co_pdiscard ||
        bytes == 0) {
        return 0;
    }
    align = MAX(bs->bl.pdiscard_alignment, bs->bl.request_alignment);
    max_pdiscard = bs->bl.max_pdiscard ?
                   MAX(ROUND_DOWN(bs->bl.max_pdiscard, align), align) :
                   INT64_MAX;
    /* Only whole aligned blocks are discarded; the rest stays as it is. */
    end = ROUND_DOWN(offset + bytes, align);
    offset = ROUND_UP(offset, align);
    if (end <= offset) {
        return 0;
    }

    bdrv_inc_in_flight(bs);
    tracked_request_begin(&req, bs, offset, end - offset, true);
    wait_serialising_requests(&req);
    if (!TAILQ_EMPTY(&bs->dirty_bitmaps)) {
        bdrv_set_dirty(bs, offset, end - offset);
    }
    ret = 0;
    while (offset < end) {
        int64_t num = MIN(end - offset, max_pdiscard);

        ret = bs->drv->bdrv_co_pdiscard(bs, offset, num);
        if (ret == -ENOTSUP) {
            ret = 0;
            break;
        }
        if (ret < 0) {
            break;
        }
        offset += num;
    }
    bs->write_gen++;
    tracked_request_end(&req);
    bdrv_dec_in_flight(bs);
    return ret;
}

/* ---- copy offloading ---------------------------------------------------- */

/*
 * Which end of a copy a node is being entered from: the source side walks
 * down the source's graph to a protocol node, which hands over to the
 * destination side; that walks down the destination's graph, allocating as
 * a write would, to the protocol node that makes the copy.
 */
typedef enum BdrvCopySide {
    BDRV_COPY_FROM,
    BDRV_COPY_TO,
} BdrvCopySide;

/* Bounds and medium of one end; the writable check for the destination. */
static int bdrv_copy_range_check(BdrvChild *c, int64_t offset, int64_t bytes,
                                 bool write)
{
    if (!c || !c->bs || !c->bs->drv) {
        return -ENOMEDIUM;
    }
    if (write && (c->bs->read_only || !(c->perm & BLK_PERM_WRITE))) {
        return -EPERM;
    }
    return bdrv_check_request(offset, bytes);
}

/*
 * A copy can only be offloaded in whole blocks of both nodes: padding would
 * need a buffer, which is the caller's fallback anyway.
 */
static bool bdrv_copy_range_aligned(BdrvChild *c, int64_t offset,
                                    int64_t bytes)
{
    int64_t align = c->bs->bl.request_alignment;

    return IS_ALIGNED(offset, align) && IS_ALIGNED(bytes, align);
}

static int coroutine_fn bdrv_co_copy_range_internal(BdrvChild *src,
                                                    int64_t src_offset,
                                                    BdrvChild *dst,
                                                    int64_t dst_offset,
                                                    int64_t bytes,
                                                    BdrvRequestFlags rflags,
                                                    BdrvRequestFlags wflags,
                                                    BdrvCopySide side)
{
    BlockDriverState *bs;
    BdrvTrackedRequest req;
    int ret;

    ret = bdrv_copy_range_check(dst, dst_offset, bytes, true);
    if (ret < 0) {
        return ret;
    }
    if (wflags & BDRV_REQ_ZERO_WRITE) {
        /* The source reads as zeroes here: nothing to copy from it. */
        return bdrv_co_pwrite_zeroes(dst, dst_offset, bytes, wflags);
    }
    ret = bdrv_copy_range_check(src, src_offset, bytes, false);
    if (ret < 0) {
        return ret;
    }
    if (bytes == 0) {
        return 0;
    }
    if (!src->bs->drv->bdrv_co_copy_range_from ||
        !dst->bs->drv->bdrv_co_copy_range_to ||
        src->bs->encrypted || dst->bs->encrypted ||
        (wflags & BDRV_REQ_WRITE_COMPRESSED) ||
        !bdrv_copy_range_aligned(src, src_offset, bytes) ||
        !bdrv_copy_range_aligned(dst, dst_offset, bytes)) {
        return -ENOTSUP;
    }

    if (side == BDRV_COPY_FROM) {
        /* A read of the source range: it waits for a serialising write. */
        bs = src->bs;
        bdrv_inc_in_flight(bs);
        tracked_request_begin(&req, bs, src_offset, bytes, false);
        wait_serialising_requests(&req);
        ret = bs->drv->bdrv_co_copy_range_from(bs, src, src_offset, dst,
                                               dst_offset, bytes, rflags,
                                               wflags);
        tracked_request_end(&req);
        bdrv_dec_in_flight(bs);
        return ret;
    }

    /* A write of the destination range, in every way the core sees. */
    bs = dst->bs;
    bdrv_inc_in_flight(bs);
    tracked_request_begin(&req, bs, dst_offset, bytes, true);
    if (wflags & BDRV_REQ_SERIALISING) {
        tracked_request_set_serialising(&req, bs->bl.request_alignment);
    }
    wait_serialising_requests(&req);
    bdrv_debug_event(bs, BLKDBG_PWRITEV);
    ret = bs->drv->bdrv_co_copy_range_to(bs, src, src_offset, dst,
                                         dst_offset, bytes, rflags,
                                         wflags & ~BDRV_REQ_FUA);
    bdrv_debug_event(bs, BLKDBG_PWRITEV_DONE);
    if (ret >= 0) {
        bdrv_write_extends(bs, dst_offset + bytes);
    }
    /* Even a failed copy may have changed some of the range. */
    if (!TAILQ_EMPTY(&bs->dirty_bitmaps)) {
        bdrv_set_dirty(bs, dst_offset, bytes);
    }
    bs->write_gen++;
    tracked_request_end(&req);
    if (ret >= 0 && (wflags & BDRV_REQ_FUA)) {
        /* No driver copies with FUA: the flush makes it durable. */
        ret = bdrv_co_flush(bs);
    }
    bdrv_dec_in_flight(bs);
    return ret;
}

int coroutine_fn bdrv_co_copy_range_from(BdrvChild *src, int64_t src_offset,
                                         BdrvChild *dst, int64_t dst_offset,
                                         int64_t bytes,
                                         BdrvRequestFlags read_flags,
                                         BdrvRequestFlags write_flags)
{
    return bdrv_co_copy_range_internal(src, src_offset, dst, dst_offset,
                                       bytes, read_flags, write_flags,
                                       BDRV_COPY_FROM);
}

int coroutine_fn bdrv_co_copy_range_to(BdrvChild *src, int64_t src_offset,
                                       BdrvChild *dst, int64_t dst_offset,
                                       int64_t bytes,
                                       BdrvRequestFlags read_flags,
                                       BdrvRequestFlags write_flags)
{
    return bdrv_co_copy_range_internal(src, src_offset, dst, dst_offset,
                                       bytes, read_flags, write_flags,
                                       BDRV_COPY_TO);
}

int coroutine_fn bdrv_co_copy_range(BdrvChild *src, int64_t src_offset,
                                    BdrvChild *dst, int64_t dst_offset,
                                    int64_t bytes, BdrvRequestFlags read_flags,
                                    BdrvRequestFlags write_flags)
{
    return bdrv_co_copy_range_from(src, src_offset, dst, dst_offset, bytes,
                                   read_flags, write_flags);
}

/* ---- flush --------------------------------------------------------------- */

int coroutine_fn bdrv_co_flush(BlockDriverState *bs)
{
    BdrvChild *c;
    uint64_t gen;
    int ret = 0;

    /* A read-only node has nothing of its own to write back. */
    if (!bs || !bs->drv || bs->read_only) {
        return 0;
    }
    bdrv_inc_in_flight(bs);
    gen = bs->write_gen;
    BLKDBG_EVENT(bs->file, BLKDBG_FLUSH_TO_OS);
    if (bs->drv->bdrv_co_flush_to_os) {
        ret = bs->drv->bdrv_co_flush_to_os(bs);
    }
    /*
     * Nothing reached the node since its last flush: the disk already has
     * it all (the reference skips the same flushes, so error injection on
     * flushes sees the same requests).
     */
    if (ret >= 0 && !(bs->open_flags & BDRV_O_NO_FLUSH) &&
        bs->flushed_gen != gen) {
        BLKDBG_EVENT(bs->file, BLKDBG_FLUSH_TO_DISK);
        if (bs->drv->bdrv_co_flush_to_disk) {
            ret = bs->drv->bdrv_co_flush_to_disk(bs);
        }
        if (ret >= 0) {
            bs->flushed_gen = gen;
        }
    }
    /* Then what the node wrote into its children. */
    LIST_FOREACH(c, &bs->children, next) {
        if (ret < 0) {
            break;
        }
        if (c->perm & (BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED)) {
            ret = bdrv_co_flush(c->bs);
        }
    }
    bdrv_dec_in_flight(bs);
    return ret;
}

/* ---- truncate ------------------------------------------------------------ */

int coroutine_fn bdrv_co_truncate(BdrvChild *child, int64_t offset,
                                  bool exact, PreallocMode prealloc,
                                  BdrvRequestFlags flags, Error **errp)
{
    BlockDriverState *bs = child->bs;
    BdrvTrackedRequest req;
    int64_t old_size;
    int64_t start;
    int ret;

    if (!bs->drv) {
        error_setg(errp, "No medium inserted");
        return -ENOMEDIUM;
    }
    if (offset < 0) {
        error_setg(errp, "Image size cannot be negative");
        return -EINVAL;
    }
    if (offset > BDRV_MAX_LENGTH) {
        error_setg(errp, "offset(%" PRId64 ") exceeds maximum(%" PRId64 ")",
                   offset, (int64_t)BDRV_MAX_LENGTH);
        return -EINVAL;
    }
    if (bs->read_only) {
        error_setg(errp, "Image is read-only");
        return -EACCES;
    }
    if (!bs->drv->bdrv_co_truncate) {
        error_setg(errp, "Image format driver does not support resize");
        return -ENOTSUP;
    }
    old_size = bdrv_co_getlength(bs);
    if (old_size < 0) {
        error_setg_errno(errp, (int)-old_size, "Failed to get old image "
                         "size");
        return (int)old_size;
    }

    bdrv_inc_in_flight(bs);
    start = MIN(old_size, offset);
    tracked_request_begin(&req, bs, start, BDRV_MAX_LENGTH - start, true);
    tracked_request_set_serialising(&req, 1);
    wait_serialising_requests(&req);

    ret = bs->drv->bdrv_co_truncate(bs, offset, exact, prealloc, flags, errp);
    if (ret >= 0) {
        ret = bdrv_refresh_total_sectors(bs, DIV_ROUND_UP(offset,
                                                          BDRV_SECTOR_SIZE));
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not refresh total sector "
                             "count");
        }
    }
    if (ret >= 0 && !TAILQ_EMPTY(&bs->dirty_bitmaps)) {
        int64_t len = bdrv_co_getlength(bs);

        bdrv_dirty_bitmap_truncate(bs, len >= 0 ? len : offset);
    }
    bs->write_gen++;
    tracked_request_end(&req);

    /*
     * Grown over a backing file longer than the old size: the new area
     * would show the backing file's data, so it is zeroed, as the
     * reference does (a partial cluster at the old end by copy-on-write).
     */
    if (ret >= 0 && offset > old_size && bs->backing) {
        int64_t backing_len = bdrv_co_getlength(bs->backing->bs);

        if (backing_len > old_size) {
            ret = bdrv_co_pwrite_zeroes(child, old_size, offset - old_size,
                                        0);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to zero the new area");
            }
        }
    }
    bdrv_dec_in_flight(bs);
    return ret;
}

/* ---- block status -------------------------------------------------------- */

int coroutine_fn bdrv_co_block_status(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, int64_t *pnum,
                                      int64_t *map,
                                      BlockDriverState **file)
{
    int64_t total;
    int64_t n;
    int64_t align;
    int64_t aligned_offset;
    int64_t aligned_bytes;
    int64_t local_pnum = 0;
    int64_t local_map = 0;
    BlockDriverState *local_file = NULL;
    int ret;

    if (pnum) {
        *pnum = 0;
    }
    if (map) {
        *map = 0;
    }
    if (file) {
        *file = NULL;
    }
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    total = bdrv_co_getlength(bs);
    if (total < 0) {
        return (int)total;
    }
    if (offset < 0 || bytes < 0) {
        return -EIO;
    }
    if (offset >= total) {
        return BDRV_BLOCK_EOF;
    }
    n = total - offset;
    if (n < bytes) {
        bytes = n;
    }
    if (bytes == 0) {
        return 0;
    }

    bdrv_inc_in_flight(bs);
    if (!bs->drv->bdrv_co_block_status) {
        local_pnum = bytes;
        ret = BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED;
        if (!bs->drv->is_format) {
            ret |= BDRV_BLOCK_OFFSET_VALID;
            local_map = offset;
            local_file = bs;
        }
        goto early_out;
    }

    /* The driver answers about aligned ranges. */
    align = bs->bl.request_alignment;
    aligned_offset = ROUND_DOWN(offset, align);
    aligned_bytes = ROUND_UP(offset + bytes, align) - aligned_offset;
    ret = bs->drv->bdrv_co_block_status(bs, true, aligned_offset,
                                        aligned_bytes, &local_pnum,
                                        &local_map, &local_file);
    if (ret < 0) {
        local_pnum = 0;
        goto out;
    }
    /* Trim the answer back to the caller's range. */
    if (local_pnum > aligned_bytes) {
        local_pnum = aligned_bytes;
    }
    if (local_pnum <= offset - aligned_offset) {
        /* A driver answering about less than one block: take the block. */
        local_pnum = MIN(aligned_bytes, ROUND_UP(offset - aligned_offset + 1,
                                                 align));
    }
    local_pnum -= offset - aligned_offset;
    local_map += offset - aligned_offset;
    if (local_pnum > bytes) {
        local_pnum = bytes;
    }

    if (ret & BDRV_BLOCK_RAW) {
        /* The driver defers to the file at *map (raw does). */
        int64_t file_pnum;

        assert((ret & BDRV_BLOCK_OFFSET_VALID) && local_file);
        ret = bdrv_co_block_status(local_file, local_map, local_pnum,
                                   &file_pnum, &local_map, &local_file);
        if (ret >= 0) {
            /* The layer below ends before us: the rest reads zeroes. */
            if (file_pnum == 0 && (ret & BDRV_BLOCK_EOF)) {
                ret = BDRV_BLOCK_ZERO;
            } else {
                local_pnum = file_pnum;
            }
            ret &= ~BDRV_BLOCK_EOF;
        }
        goto out;
    }

    if (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) {
        ret |= BDRV_BLOCK_ALLOCATED;
    } else if (bs->drv->supports_backing) {
        BlockDriverState *cow = bs->backing ? bs->backing->bs : NULL;

        if (!cow) {
            ret |= BDRV_BLOCK_ZERO;
        } else {
            int64_t size2 = bdrv_co_getlength(cow);

            if (size2 >= 0 && offset >= size2) {
                ret |= BDRV_BLOCK_ZERO;
            }
        }
    }

    if ((ret & BDRV_BLOCK_RECURSE) && local_file && local_file != bs &&
        (ret & BDRV_BLOCK_DATA) && (ret & BDRV_BLOCK_OFFSET_VALID)) {
        int64_t file_pnum;
        int ret2;

        /* The file may know that this data range reads as zeroes. */
        ret2 = bdrv_co_block_status(local_file, local_map, local_pnum,
                                    &file_pnum, NULL, NULL);
        if (ret2 >= 0) {
            if ((ret2 & BDRV_BLOCK_EOF) &&
                (!file_pnum || (ret2 & BDRV_BLOCK_ZERO))) {
                ret |= BDRV_BLOCK_ZERO;
            } else if (file_pnum > 0) {
                local_pnum = file_pnum;
                ret |= (ret2 & BDRV_BLOCK_ZERO);
            }
        }
    }
    ret &= ~(BDRV_BLOCK_RECURSE | BDRV_BLOCK_RAW);

early_out:
out:
    bdrv_dec_in_flight(bs);
    if (ret >= 0 && offset + local_pnum == total) {
        ret |= BDRV_BLOCK_EOF;
    }
    if (pnum) {
        *pnum = local_pnum;
    }
    if (map) {
        *map = local_map;
    }
    if (file) {
        *file = local_file;
    }
    return ret;
}

int coroutine_fn bdrv_co_block_status_above(BlockDriverState *bs,
                                            BlockDriverState *base,
                                            int64_t offset, int64_t bytes,
                                            int64_t *pnum, int64_t *map,
                                            BlockDriverState **file,
                                            int *depth)
{
    BlockDriverState *p;
    int64_t local_pnum = 0;
    int ret;
    int d = 0;

    if (depth) {
        *depth = 0;
    }
    ret = bdrv_co_block_status(bs, offset, bytes, &local_pnum, map, file);
    if (ret < 0 || local_pnum == 0 || (ret & BDRV_BLOCK_ALLOCATED) ||
        bs == base) {
        goto out;
    }
    bytes = local_pnum;
    for (p = bdrv_backing_node(bs); p && p != base; p = bdrv_backing_node(p)) {
        int64_t n = 0;

        d++;
        ret = bdrv_co_block_status(p, offset, bytes, &n, map, file);
        if (ret < 0) {
            goto out;
        }
        if (n == 0) {
            /*
             * The layer above deferred to this one, which is shorter: what
             * lies past its end reads as zeroes, defined at this layer.
             */
            ret = BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED;
            local_pnum = bytes;
            if (map) {
                *map = 0;
            }
            if (file) {
                *file = NULL;
            }
            goto out;
        }
        local_pnum = n;
        bytes = n;
        if (ret & BDRV_BLOCK_ALLOCATED) {
            goto out;
        }
    }
out:
    if (ret >= 0 && bs != base) {
        /* EOF is about the top node's end. */
        int64_t total = bdrv_co_getlength(bs);

        ret &= ~BDRV_BLOCK_EOF;
        if (total >= 0 && offset + local_pnum >= total) {
            ret |= BDRV_BLOCK_EOF;
        }
    }
    if (pnum) {
        *pnum = local_pnum;
    }
    if (depth) {
        *depth = d;
    }
    return ret;
}

typedef struct StatusCo {
    BlockDriverState *bs;
    BlockDriverState *base;
    int64_t offset;
    int64_t bytes;
    int64_t *pnum;
    int64_t *map;
    BlockDriverState **file;
    int *depth;
    int ret;
    bool done;
} StatusCo;

static void coroutine_fn bdrv_block_status_above_co_entry(void *opaque)
{
    StatusCo *s = opaque;

    s->ret = bdrv_co_block_status_above(s->bs, s->base, s->offset, s->bytes,
                                        s->pnum, s->map, s->file, s->depth);
    s->done = true;
}

int bdrv_block_status_above(BlockDriverState *bs, BlockDriverState *base,
                            int64_t offset, int64_t bytes, int64_t *pnum,
                            int64_t *map, BlockDriverState **file,
                            int *depth)
{
    StatusCo s = {
        .bs = bs, .base = base, .offset = offset, .bytes = bytes,
        .pnum = pnum, .map = map, .file = file, .depth = depth,
    };

    bdrv_run_co(bdrv_block_status_above_co_entry, &s, &s.done);
    return s.ret;
}

int bdrv_is_allocated(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      int64_t *pnum)
{
    int64_t dummy;
    int ret;

    ret = bdrv_block_status_above(bs, bs, offset, bytes,
                                  pnum ? pnum : &dummy, NULL, NULL, NULL);
    if (ret < 0) {
        return ret;
    }
    return !!(ret & BDRV_BLOCK_ALLOCATED);
}

int bdrv_is_allocated_above(BlockDriverState *top, BlockDriverState *base,
                            bool include_base, int64_t offset, int64_t bytes,
                            int64_t *pnum)
{
    BlockDriverState *p;
    BlockDriverState *stop = include_base ? bdrv_backing_node(base) : base;
    int64_t n = bytes;

    if (include_base && !base) {
        stop = NULL;
    }
    for (p = top; p && p != stop; p = bdrv_backing_node(p)) {
        int64_t pnum_inter = 0;
        int64_t size_inter;
        int ret;

        ret = bdrv_is_allocated(p, offset, bytes, &pnum_inter);
        if (ret < 0) {
            return ret;
        }
        if (ret) {
            if (pnum) {
                *pnum = pnum_inter;
            }
            return 1;
        }
        size_inter = bdrv_getlength(p);
        if (size_inter < 0) {
            return (int)size_inter;
        }
        /* Past the end of a shorter layer nothing is allocated there. */
        if (n > pnum_inter &&
            (p == top || offset + pnum_inter < size_inter)) {
            n = pnum_inter;
        }
        if (p == base) {
            break;
        }
    }
    if (pnum) {
        *pnum = n;
    }
    return 0;
}

/* ---- synchronous wrappers ------------------------------------------------ */

typedef enum {
    RW_READ,
    RW_WRITE,
    RW_FLUSH,
    RW_TRUNCATE,
} RwOp;

typedef struct RwCo {
    RwOp op;
    BdrvChild *child;
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    QEMUIOVector *qiov;
    BdrvRequestFlags flags;
    bool exact;
    PreallocMode prealloc;
    Error **errp;
    int ret;
    bool done;
} RwCo;

static void coroutine_fn bdrv_rw_co_entry(void *opaque)
{
    RwCo *rw = opaque;

    switch (rw->op) {
    case RW_READ:
        rw->ret = bdrv_co_preadv(rw->child, rw->offset, rw->bytes, rw->qiov,
                                 rw->flags);
        break;
    case RW_WRITE:
        rw->ret = bdrv_co_pwritev_part(rw->child, rw->offset, rw->bytes,
                                       rw->qiov, 0, rw->flags);
        break;
    case RW_FLUSH:
        rw->ret = bdrv_co_flush(rw->bs);
        break;
    case RW_TRUNCATE:
        rw->ret = bdrv_co_truncate(rw->child, rw->offset, rw->exact,
                                   rw->prealloc, rw->flags, rw->errp);
        break;
    }
    rw->done = true;
}

int bdrv_pread(BdrvChild *child, int64_t offset, int64_t bytes, void *buf,
               BdrvRequestFlags flags)
{
    QEMUIOVector qiov;
    RwCo rw = {
        .op = RW_READ, .child = child, .offset = offset, .bytes = bytes,
        .qiov = &qiov, .flags = flags,
    };

    if (bytes < 0) {
        return -EIO;
    }
    qemu_iovec_init_buf(&qiov, buf, bytes);
    bdrv_run_co(bdrv_rw_co_entry, &rw, &rw.done);
    return rw.ret < 0 ? rw.ret : 0;
}

int bdrv_pwrite(BdrvChild *child, int64_t offset, int64_t bytes,
                const void *buf, BdrvRequestFlags flags)
{
    QEMUIOVector qiov;
    RwCo rw = {
        .op = RW_WRITE, .child = child, .offset = offset, .bytes = bytes,
        .qiov = &qiov, .flags = flags,
    };

    if (bytes < 0) {
        return -EIO;
    }
    qemu_iovec_init_buf(&qiov, (void *)buf, bytes);
    bdrv_run_co(bdrv_rw_co_entry, &rw, &rw.done);
    return rw.ret < 0 ? rw.ret : 0;
}

int bdrv_pwrite_sync(BdrvChild *child, int64_t offset, int64_t bytes,
                     const void *buf, BdrvRequestFlags flags)
{
    int ret = bdrv_pwrite(child, offset, bytes, buf, flags);

    if (ret < 0) {
        return ret;
    }
    return bdrv_flush(child->bs);
}

int bdrv_pwrite_zeroes(BdrvChild *child, int64_t offset, int64_t bytes,
                       BdrvRequestFlags flags)
{
    RwCo rw = {
        .op = RW_WRITE, .child = child, .offset = offset, .bytes = bytes,
        .flags = flags | BDRV_REQ_ZERO_WRITE,
    };

    bdrv_run_co(bdrv_rw_co_entry, &rw, &rw.done);
    return rw.ret;
}

int bdrv_flush(BlockDriverState *bs)
{
    RwCo rw = { .op = RW_FLUSH, .bs = bs };

    bdrv_run_co(bdrv_rw_co_entry, &rw, &rw.done);
    return rw.ret;
}

int bdrv_truncate(BdrvChild *child, int64_t offset, bool exact,
                  PreallocMode prealloc, BdrvRequestFlags flags,
                  Error **errp)
{
    RwCo rw = {
        .op = RW_TRUNCATE, .child = child, .offset = offset, .exact = exact,
        .prealloc = prealloc, .flags = flags, .errp = errp,
    };

    bdrv_run_co(bdrv_rw_co_entry, &rw, &rw.done);
    return rw.ret;
}
