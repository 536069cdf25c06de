/*
 * The "raw" format: the image is the file's bytes, optionally a window of
 * them (offset= and size= options). It loses every probe tie (score 1).
 *
 * Invariants:
 *  1. Every request is shifted by offset and stays inside the window;
 *     writes past a fixed size fail with -ENOSPC.
 *  2. When the format was probed (not given), a write to the first sector
 *     that would make the image probe as another format is refused with
 *     -EPERM: otherwise a guest could turn its disk into, say, a qcow2
 *     image naming any host file as its backing file. Requests are aligned
 *     to 512 bytes then, so the whole first sector is known at once.
 */
#include "config-host.h"

#include "block/block_int.h"

typedef struct BDRVRawState {
    uint64_t offset;
    uint64_t size;
    bool has_size;
} BDRVRawState;

/* From block.c: the best-scoring format for a first sector. */
const BlockDriver *bdrv_probe_all(const uint8_t *buf, int len,
                                  const char *filename);

static QemuOptDesc raw_runtime_desc[] = {
    {
        .name = "offset",
        .type = QEMU_OPT_SIZE,
        .help = "offset in the disk where the image starts",
    },
    {
        .name = "size",
        .type = QEMU_OPT_SIZE,
        .help = "virtual disk size",
    },
    { NULL },
};

static QemuOptsList raw_runtime_opts = {
    .name = "raw",
    .desc = raw_runtime_desc,
};

static QemuOptDesc raw_create_desc[] = {
    {
        .name = "size",
        .type = QEMU_OPT_SIZE,
        .help = "Virtual disk size",
    },
    { NULL },
};

static QemuOptsList raw_create_opts = {
    .name = "raw-create-opts",
    .desc = raw_create_desc,
};

static int raw_probe(const uint8_t *buf, int buf_size, const char *filename)
{
    /* Anything is raw, but anything else is more likely. */
    return 1;
}

static int raw_read_options(BlockDriverState *bs, QDict *options,
                            Error **errp)
{
    BDRVRawState *s = bs->opaque;
    QemuOpts *opts = qemu_opts_create(&raw_runtime_opts);
    int64_t real_size;
    int ret = 0;

    if (!qemu_opts_absorb_qdict(opts, options, errp)) {
        ret = -EINVAL;
        goto out;
    }
    s->offset = qemu_opt_get_size(opts, "offset", 0);
    s->has_size = qemu_opt_find(opts, "size");
    s->size = qemu_opt_get_size(opts, "size", 0);

    real_size = bdrv_getlength(bs->file->bs);
    if (real_size < 0) {
        error_setg_errno(errp, (int)-real_size, "Could not get image size");
        ret = (int)real_size;
        goto out;
    }
    if (s->offset > (uint64_t)real_size) {
        error_setg(errp, "Offset (%" PRIu64 ") cannot be greater than size "
                   "of the containing file (%" PRId64 ")", s->offset,
                   real_size);
        ret = -EINVAL;
        goto out;
    }
    if (s->has_size && (real_size - s->offset < s->size)) {
        error_setg(errp, "The sum of offset (%" PRIu64 ") and size (%"
                   PRIu64 ") has to be smaller or equal to the  actual size "
                   "of the containing file (%" PRId64 ")", s->offset,
                   s->size, real_size);
        ret = -EINVAL;
        goto out;
    }
    /* The sector-granular core could not express anything else. */
    if (s->has_size && !IS_ALIGNED(s->size, BDRV_SECTOR_SIZE)) {
        error_setg(errp, "Specified size is not multiple of %llu",
                   BDRV_SECTOR_SIZE);
        ret = -EINVAL;
        goto out;
    }
out:
    qemu_opts_del(opts);
    return ret;
}

static int64_t raw_length(BlockDriverState *bs, int64_t file_len)
{
    BDRVRawState *s = bs->opaque;

    if (s->has_size) {
        return s->size;
    }
    return MAX(0, file_len - (int64_t)s->offset);
}

static int raw_open(BlockDriverState *bs, QDict *options, int flags,
                    Error **errp)
{
    BlockDriverState *file;
    int64_t len;
    int ret;

    ret = bdrv_open_file_child(NULL, options, bs, errp);
    if (ret < 0) {
        return ret;
    }
    file = bs->file->bs;
    ret = raw_read_options(bs, options, errp);
    if (ret < 0) {
        bdrv_unref_child(bs, bs->file);
        return ret;
    }
    len = bdrv_getlength(file);
    bs->total_sectors = DIV_ROUND_UP(raw_length(bs, len), BDRV_SECTOR_SIZE);
    bs->supported_write_flags = file->supported_write_flags &
                                BDRV_REQ_FUA;
    bs->supported_zero_flags = file->supported_zero_flags &
                               (BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK |
                                BDRV_REQ_FUA);
    return 0;
}

static void raw_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BlockLimits *fl = &bs->file->bs->bl;

    bs->bl = *fl;
    /*
     * Unaligned requests pass through: the file pads them, so that its
     * read-modify-write (and the debug events around it) happen there, as
     * in the reference.
     */
    bs->bl.request_alignment = 1;
    if (bs->probed_raw) {
        /* See invariant 2: the first sector is written whole. */
        bs->bl.request_alignment = BLOCK_PROBE_BUF_SIZE;
    }
}

static void raw_child_perm(BlockDriverState *bs, BdrvChildRole role,
                           uint64_t parent_perm, uint64_t parent_shared,
                           uint64_t *nperm, uint64_t *nshared)
{
    /* raw adds nothing: its users' permissions are the file's. */
    *nperm = parent_perm;
    *nshared = parent_shared;
}

/* Shifts a request into the window; -ENOSPC/-EIO if it leaves it. */
static int raw_adjust_offset(BlockDriverState *bs, int64_t *offset,
                             int64_t bytes, bool is_write)
{
    BDRVRawState *s = bs->opaque;

    if (s->has_size && (*offset > (int64_t)s->size ||
                        bytes > (int64_t)s->size - *offset)) {
        return is_write ? -ENOSPC : -EIO;
    }
    *offset += s->offset;
    return 0;
}

static int coroutine_fn raw_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    int ret = raw_adjust_offset(bs, &offset, bytes, false);

    if (ret < 0) {
        return ret;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_READ_AIO);
    return bdrv_co_preadv(bs->file, offset, bytes, qiov, flags);
}

/* -EPERM if the new first sector would probe as another format. */
static int raw_check_first_sector(BlockDriverState *bs, int64_t offset,
                                  int64_t bytes, QEMUIOVector *qiov)
{
    uint8_t *buf;
    const BlockDriver *drv;
    int ret = 0;

    if (!bs->probed_raw || offset >= BLOCK_PROBE_BUF_SIZE || !bytes) {
        return 0;
    }
    /* The alignment set in refresh_limits guarantees a whole sector. */
    if (offset != 0 || bytes < BLOCK_PROBE_BUF_SIZE) {
        return -EINVAL;
    }
    buf = qemu_try_blockalign(BLOCK_PROBE_BUF_SIZE);
    if (!buf) {
        return -ENOMEM;
    }
    qemu_iovec_to_buf(qiov, 0, buf, BLOCK_PROBE_BUF_SIZE);
    drv = bdrv_probe_all(buf, BLOCK_PROBE_BUF_SIZE, NULL);
    if (drv && drv != bs->drv) {
        ret = -EPERM;
    }
    qemu_vfree(buf);
    return ret;
}

static int coroutine_fn raw_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    int ret = raw_check_first_sector(bs, offset, bytes, qiov);

    if (ret < 0) {
        return ret;
    }
    ret = raw_adjust_offset(bs, &offset, bytes, true);
    if (ret < 0) {
        return ret;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_WRITE_AIO);
    return bdrv_co_pwritev(bs->file, offset, bytes, qiov, flags);
}

static int coroutine_fn raw_co_pwrite_zeroes(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             BdrvRequestFlags flags)
{
    int ret = raw_adjust_offset(bs, &offset, bytes, true);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pwrite_zeroes(bs->file, offset, bytes, flags);
}

static int coroutine_fn raw_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes)
{
    int ret = raw_adjust_offset(bs, &offset, bytes, true);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pdiscard(bs->file, offset, bytes);
}

static int coroutine_fn raw_co_block_status(BlockDriverState *bs,
                                            bool want_zero, int64_t offset,
                                            int64_t bytes, int64_t *pnum,
                                            int64_t *map,
                                            BlockDriverState **file)
{
    BDRVRawState *s = bs->opaque;

    /* Whatever the file says about the same bytes. */
    *pnum = bytes;
    *file = bs->file->bs;
    *map = offset + s->offset;
    return BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID;
}

static int64_t coroutine_fn raw_co_getlength(BlockDriverState *bs)
{
    int64_t len = bdrv_co_getlength(bs->file->bs);

    if (len < 0) {
        return len;
    }
    return raw_length(bs, len);
}

static int coroutine_fn raw_co_truncate(BlockDriverState *bs, int64_t offset,
                                        bool exact, PreallocMode prealloc,
                                        BdrvRequestFlags flags, Error **errp)
{
    BDRVRawState *s = bs->opaque;

    if (s->has_size) {
        error_setg(errp, "Cannot resize fixed-size raw disks");
        return -ENOTSUP;
    }
    if (INT64_MAX - offset < (int64_t)s->offset) {
        error_setg(errp, "Disk size too large for the chosen offset");
        return -EINVAL;
    }
    return bdrv_co_truncate(bs->file, offset + s->offset, exact, prealloc,
                            flags, errp);
}

static int coroutine_fn raw_co_create_opts(const BlockDriver *drv,
                                           const char *filename,
                                           QemuOpts *opts, Error **errp)
{
    return bdrv_co_create_file(filename, opts, errp);
}

static int raw_has_zero_init(BlockDriverState *bs)
{
    return bdrv_has_zero_init(bs->file->bs);
}

static int raw_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    return 0;
}

static int raw_measure(QemuOpts *opts, BlockDriverState *in_bs,
                       BlockMeasureInfo *info, Error **errp)
{
    int64_t required;

    if (in_bs) {
        required = bdrv_getlength(in_bs);
        if (required < 0) {
            error_setg_errno(errp, (int)-required, "Unable to get image size");
            return (int)required;
        }
    } else {
        required = ROUND_UP(qemu_opt_get_size(opts, "size", 0),
                            BDRV_SECTOR_SIZE);
    }
    info->required = required;
    /* A raw image is always fully allocated, from the guest's view. */
    info->fully_allocated = required;
    return 0;
}

static const char *const raw_strong_runtime_opts[] = {
    "offset",
    "size",
    NULL,
};

static int coroutine_fn raw_co_copy_range_from(BlockDriverState *bs,
                                               BdrvChild *src,
                                               int64_t src_offset,
                                               BdrvChild *dst,
                                               int64_t dst_offset,
                                               int64_t bytes,
                                               BdrvRequestFlags read_flags,
                                               BdrvRequestFlags write_flags)
{
    int ret = raw_adjust_offset(bs, &src_offset, bytes, false);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_copy_range_from(bs->file, src_offset, dst, dst_offset,
                                   bytes, read_flags, write_flags);
}

static int coroutine_fn raw_co_copy_range_to(BlockDriverState *bs,
                                             BdrvChild *src,
                                             int64_t src_offset,
                                             BdrvChild *dst,
                                             int64_t dst_offset,
                                             int64_t bytes,
                                             BdrvRequestFlags read_flags,
                                             BdrvRequestFlags write_flags)
{
    int ret;

    /*
     * The first sector of a probed image must be checked before it is
     * written (invariant 2), which needs its bytes: copy it by hand.
     */
    if (bs->probed_raw && dst_offset < BLOCK_PROBE_BUF_SIZE) {
        return -ENOTSUP;
    }
    ret = raw_adjust_offset(bs, &dst_offset, bytes, true);
    if (ret < 0) {
        return ret;
    }
    return bdrv_co_copy_range_to(src, src_offset, bs->file, dst_offset,
                                 bytes, read_flags, write_flags);
}

const BlockDriver bdrv_raw = {
    .format_name = "raw",
    .instance_size = sizeof(BDRVRawState),
    .is_format = true,
    .strong_runtime_opts = raw_strong_runtime_opts,

    .bdrv_probe = raw_probe,
    .bdrv_open = raw_open,
    .bdrv_refresh_limits = raw_refresh_limits,
    .bdrv_child_perm = raw_child_perm,
    .create_opts = &raw_create_opts,
    .bdrv_co_create_opts = raw_co_create_opts,

    .bdrv_co_preadv = raw_co_preadv,
    .bdrv_co_pwritev = raw_co_pwritev,
    .bdrv_co_pwrite_zeroes = raw_co_pwrite_zeroes,
    .bdrv_co_pdiscard = raw_co_pdiscard,
    .bdrv_co_copy_range_from = raw_co_copy_range_from,
    .bdrv_co_copy_range_to = raw_co_copy_range_to,
    .bdrv_co_block_status = raw_co_block_status,
    .bdrv_co_truncate = raw_co_truncate,
    .bdrv_co_getlength = raw_co_getlength,
    .bdrv_has_zero_init = raw_has_zero_init,
    .bdrv_get_info = raw_get_info,
    .bdrv_measure = raw_measure,
};
