/*
 * Protocol drivers "file" (regular files) and "host_device" (block and
 * character devices) on POSIX: I/O through the AioContext's backends
 * (io_uring by default, libaio with O_DIRECT, or the thread pool), zero
 * writes and discards with fallocate or the block device ioctls, block
 * status with SEEK_DATA/SEEK_HOLE, and image locking with OFD locks.
 *
 * Locking (compatible with QEMU, so that both see each other's locks):
 * permission bit i held is a shared lock on byte 100 + i; permission bit i
 * NOT shared with others is a shared lock on byte 200 + i. Taking
 * permission i conflicts with anyone's lock on 200 + i; refusing to share
 * i conflicts with anyone's lock on 100 + i. Each node has its own open file
 * description, so two nodes on one file see each other's locks too.
 *
 * Invariants:
 *  1. Blocking system calls other than the I/O itself (fallocate, lseek,
 *     ftruncate, ioctl) run on the thread pool, never on the loop thread.
 *  2. Reads that reach past the end of the file return zeroes for the
 *     missing part (the length is rounded up to sectors above us).
 */
#include "config-host.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/uio.h>

#include "block/block_int.h"
#include "util/cutils.h"
#include "util/thread-pool.h"

#define RAW_LOCK_PERM_BASE 100
#define RAW_LOCK_SHARED_BASE 200
#define RAW_LOCK_BITS 4

static const char *const perm_names[RAW_LOCK_BITS] = {
    "consistent read", "write", "write unchanged", "resize",
};

typedef enum {
    LOCKING_AUTO,
    LOCKING_ON,
    LOCKING_OFF,
} LockingMode;

typedef struct BDRVRawState {
    int fd;
    int open_flags;             /* O_* the fd was opened with */
    AioContext *ctx;            /* the loop our requests go through */
    bool is_device;
    AioBackend aio;
    bool use_lock;
    /* The lock bytes currently held (perm bits, unshared bits). */
    uint64_t locked_perm;
    uint64_t locked_shared;
    bool has_discard;
    bool has_write_zeroes;
    bool has_fallocate;
    uint32_t dio_align;
    /* Small writes go as AIO_OP_WRITE_BLOCKING (see raw_update_write_op). */
    bool writes_block;
    /* Between reopen prepare and commit/abort: the new descriptor. */
    int reopen_fd;
    int reopen_flags;
    /* Bytes of large writes since write-behind last started write-back. */
    int64_t write_behind_bytes;
} BDRVRawState;

/*
 * Buffered writes on ext2/3/4 never start without blocking (no async
 * buffered writes there): io_uring tries each inline, fails and then
 * queues it for a worker, hashed by inode, so that one worker writes a
 * file's queued writes in turn. Asking for a worker at once skips the
 * failed try but also the hashing: several workers then write one file
 * together and spin on its inode lock, which on a loaded machine can
 * triple the system time. Other file systems, and O_DIRECT, try inline.
 *
 * Only writes up to 64 KiB (a default qcow2 cluster) go to the workers at
 * once. Leaving larger ones hashed took convert raw->raw of 2 GiB from
 * 1.20x to 1.46x the reference's speed, four such converts at once from
 * 1.06x to 1.21x. Hashing all writes made convert -c zstd, whose small
 * compressed writes and 64 KiB incompressible clusters come from jobs
 * that wait for each other, 10-19% slower (though bench -w and convert
 * to qcow2 of a backing chain were faster).
 */
#define EXT4_MAGIC 0xEF53
#define PUNTED_WRITE_MAX (64 * KiB)

static void raw_update_write_op(BDRVRawState *s)
{
    struct statfs sf;

    s->writes_block = !(s->open_flags & O_DIRECT) &&
                      fstatfs(s->fd, &sf) == 0 && sf.f_type == EXT4_MAGIC;
}

/* ---- blocking helpers run on the thread pool --------------------------- */

typedef struct RawPoolReq {
    int fd;
    int mode;
    int64_t offset;
    int64_t len;
    unsigned long ioctl_req;
    int whence;
    int64_t result;
} RawPoolReq;

static int raw_pool_fallocate(void *opaque)
{
    RawPoolReq *r = opaque;

    if (fallocate(r->fd, r->mode, r->offset, r->len) < 0) {
        return -errno;
    }
    return 0;
}

static int raw_pool_ioctl_range(void *opaque)
{
    RawPoolReq *r = opaque;
    uint64_t range[2] = { (uint64_t)r->offset, (uint64_t)r->len };

    if (ioctl(r->fd, r->ioctl_req, range) < 0) {
        return -errno;
    }
    return 0;
}

static int raw_pool_lseek(void *opaque)
{
    RawPoolReq *r = opaque;
    off_t res = lseek(r->fd, r->offset, r->whence);

    if (res < 0) {
        return -errno;
    }
    r->result = res;
    return 0;
}

static int raw_pool_start_writeback(void *opaque)
{
    RawPoolReq *r = opaque;

    /* Only a hint: a failure shows in the flush that follows. */
    sync_file_range(r->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    return 0;
}

static int raw_pool_ftruncate(void *opaque)
{
    RawPoolReq *r = opaque;

    if (ftruncate(r->fd, r->offset) < 0) {
        return -errno;
    }
    return 0;
}

/* copy_file_range between two descriptors (copy offloading). */
typedef struct RawCopyReq {
    int fd_in;
    int fd_out;
    int64_t off_in;
    int64_t off_out;
    int64_t len;
    int64_t copied;     /* out: bytes copied before EOF of fd_in or error */
} RawCopyReq;

static int raw_pool_copy_range(void *opaque)
{
    RawCopyReq *r = opaque;

    r->copied = 0;
    while (r->copied < r->len) {
        loff_t in = r->off_in + r->copied;
        loff_t out = r->off_out + r->copied;
        ssize_t n = copy_file_range(r->fd_in, &in, r->fd_out, &out,
                                    r->len - r->copied, 0);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            /* The source file ends here. */
            break;
        }
        r->copied += n;
    }
    return 0;
}

/* Writes zeroes to [offset, offset+len) with pwrite (full preallocation). */
static int raw_write_zero_range(int fd, int64_t offset, int64_t len)
{
    size_t buf_len = 1 * MiB;
    void *buf = qemu_try_blockalign(buf_len);
    int ret = 0;

    if (!buf) {
        return -ENOMEM;
    }
    memset(buf, 0, buf_len);
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, MIN((int64_t)buf_len, len), offset);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            ret = -errno;
            break;
        }
        if (n == 0) {
            ret = -ENOSPC;
            break;
        }
        offset += n;
        len -= n;
    }
    qemu_vfree(buf);
    return ret;
}

static int raw_pool_write_zeroes(void *opaque)
{
    RawPoolReq *r = opaque;

    return raw_write_zero_range(r->fd, r->offset, r->len);
}

/*
 * Writes zeroes over the first bytes (at most 4 KiB, never past r->len, the
 * file's new length) of a file that was just grown from empty, as the
 * reference does: the first block is then allocated, which shows in map
 * and the disk size. Best effort: a failure changes nothing that matters.
 */
static int raw_pool_allocate_first_block(void *opaque)
{
    RawPoolReq *r = opaque;
    size_t len = MIN(r->len, 4096);
    void *buf = qemu_try_blockalign(4096);

    if (buf) {
        memset(buf, 0, 4096);
        while (pwrite(r->fd, buf, len, 0) < 0 && errno == EINTR) {
            continue;
        }
        qemu_vfree(buf);
    }
    return 0;
}

/* ---- locking ------------------------------------------------------------- */

static int raw_lock_byte(int fd, int byte, bool lock)
{
    struct flock fl = {
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
        .l_type = lock ? F_RDLCK : F_UNLCK,
    };

    if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
        return -errno;
    }
    return 0;
}

/* 1 if someone else holds a lock on byte, 0 if not, -errno. */
static int raw_test_byte(int fd, int byte)
{
    struct flock fl = {
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
        .l_type = F_WRLCK,
    };

    if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
        return -errno;
    }
    return fl.l_type != F_UNLCK;
}

/*
 * Checks that others allow perm and hold nothing we refuse to share
 * (unshared = ~shared), with the reference's messages.
 */
static int raw_check_lock_bytes(int fd, uint64_t perm, uint64_t unshared,
                                const char *filename, Error **errp)
{
    int i;
    int ret;

    for (i = 0; i < RAW_LOCK_BITS; i++) {
        if (perm & (1ULL << i)) {
            ret = raw_test_byte(fd, RAW_LOCK_SHARED_BASE + i);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to get \"%s\" lock",
                                 perm_names[i]);
                return ret;
            }
            if (ret) {
                error_setg(errp, "Failed to get \"%s\" lock", perm_names[i]);
                error_append_hint(errp, "Is another process using the image "
                                  "[%s]?\n", filename);
                return -EAGAIN;
            }
        }
    }
    for (i = 0; i < RAW_LOCK_BITS; i++) {
        if (unshared & (1ULL << i)) {
            ret = raw_test_byte(fd, RAW_LOCK_PERM_BASE + i);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to get shared \"%s\" "
                                 "lock", perm_names[i]);
                return ret;
            }
            if (ret) {
                error_setg(errp, "Failed to get shared \"%s\" lock",
                           perm_names[i]);
                error_append_hint(errp, "Is another process using the image "
                                  "[%s]?\n", filename);
                return -EAGAIN;
            }
        }
    }
    return 0;
}

/* Makes the bytes held match perm/unshared exactly. */
static int raw_apply_lock_bytes(int fd, uint64_t old_perm,
                                uint64_t old_unshared, uint64_t perm,
                                uint64_t unshared, Error **errp)
{
    int i;
    int ret;

    for (i = 0; i < RAW_LOCK_BITS; i++) {
        uint64_t bit = 1ULL << i;

        if ((perm & bit) != (old_perm & bit)) {
            ret = raw_lock_byte(fd, RAW_LOCK_PERM_BASE + i, perm & bit);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to lock byte %d",
                                 RAW_LOCK_PERM_BASE + i);
                return ret;
            }
        }
        if ((unshared & bit) != (old_unshared & bit)) {
            ret = raw_lock_byte(fd, RAW_LOCK_SHARED_BASE + i,
                                unshared & bit);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to lock byte %d",
                                 RAW_LOCK_SHARED_BASE + i);
                return ret;
            }
        }
    }
    return 0;
}

static int raw_set_perm(BlockDriverState *bs, uint64_t perm, uint64_t shared,
                        Error **errp)
{
    BDRVRawState *s = bs->opaque;
    uint64_t unshared = BLK_PERM_ALL & ~shared;
    int ret;

    if (!s->use_lock) {
        return 0;
    }
    perm &= BLK_PERM_ALL;
    if (perm == s->locked_perm && unshared == s->locked_shared) {
        return 0;
    }
    ret = raw_check_lock_bytes(s->fd, perm, unshared, bs->filename, errp);
    if (ret < 0) {
        return ret;
    }
    ret = raw_apply_lock_bytes(s->fd, s->locked_perm, s->locked_shared, perm,
                               unshared, errp);
    if (ret < 0) {
        /* Back to what we held. */
        raw_apply_lock_bytes(s->fd, BLK_PERM_ALL, BLK_PERM_ALL,
                             s->locked_perm, s->locked_shared, NULL);
        raw_apply_lock_bytes(s->fd, 0, 0, s->locked_perm, s->locked_shared,
                             NULL);
        return ret;
    }
    s->locked_perm = perm;
    s->locked_shared = unshared;
    return 0;
}

/* Whether OFD locks work on fd (they do not on some network filesystems). */
static bool raw_ofd_locks_work(int fd)
{
    struct flock fl = {
        .l_whence = SEEK_SET,
        .l_start = 0,
        .l_len = 0,
        .l_type = F_WRLCK,
    };

    return fcntl(fd, F_OFD_GETLK, &fl) == 0;
}

/* ---- open/close ---------------------------------------------------------- */

static const char *raw_strip_prefix(const char *filename, const char *proto)
{
    const char *rest;

    if (filename && strstart(filename, proto, &rest) && rest[0] == ':') {
        return rest + 1;
    }
    return filename;
}

static uint32_t raw_probe_dio_alignment(BDRVRawState *s)
{
    static const uint32_t aligns[] = { 1, 512, 1024, 2048, 4096, 8192,
                                       16384, 32768, 65536 };
    uint8_t *buf;
    uint32_t result = 4096;
    unsigned int i;
    unsigned int sector_size = 0;

#ifdef BLKSSZGET
    if (s->is_device && ioctl(s->fd, BLKSSZGET, &sector_size) == 0 &&
        sector_size > 0 && IS_POWER_OF_2(sector_size)) {
        return sector_size;
    }
#endif
#ifdef STATX_DIOALIGN
    {
        struct statx stx;

        if (statx(s->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
            (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align &&
            IS_POWER_OF_2(stx.stx_dio_offset_align)) {
            return stx.stx_dio_offset_align;
        }
    }
#endif
    /* Try reads of growing alignment; the first that works is the one. */
    buf = qemu_try_blockalign(2 * 65536);
    if (!buf) {
        return result;
    }
    for (i = 0; i < ARRAY_SIZE(aligns); i++) {
        ssize_t n = pread(s->fd, buf, aligns[i], 0);

        if (n >= 0) {
            result = aligns[i];
            break;
        }
    }
    qemu_vfree(buf);
    /* Probing an empty file tells nothing: assume the usual 512. */
    return result == 1 ? 512 : result;
}

static int raw_open_common(BlockDriverState *bs, QDict *options, int flags,
                           bool device, Error **errp)
{
    BDRVRawState *s = bs->opaque;
    const char *filename;
    char *aio = NULL;
    char *locking = NULL;
    LockingMode lmode = LOCKING_AUTO;
    struct stat st;
    Error *local_err = NULL;
    int oflags;
    int ret;

    s->fd = -1;
    s->reopen_fd = -1;
    filename = raw_strip_prefix(qdict_get_try_str(options, "filename"),
                                bs->drv->protocol_name);
    /* An empty name names nothing: the reference treats it as missing. */
    if (!filename || !filename[0]) {
        error_setg(errp, "The '%s' block driver requires a file name",
                   bs->drv->format_name);
        return -EINVAL;
    }
    pstrcpy(bs->filename, sizeof(bs->filename), filename);
    qdict_del(options, "filename");
    filename = bs->filename;

    /* aio=: the option wins over the flags; io_uring is the default. */
    if (qdict_haskey(options, "aio")) {
        aio = xstrdup(qdict_get_try_str(options, "aio") ?
                      qdict_get_try_str(options, "aio") : "");
        qdict_del(options, "aio");
        if (!aio_backend_parse(aio, &s->aio)) {
            error_setg(errp, "invalid parameter value: %s", aio);
            ret = -EINVAL;
            goto fail;
        }
    } else if (flags & BDRV_O_NATIVE_AIO) {
        s->aio = AIO_BACKEND_NATIVE;
    } else if (flags & BDRV_O_THREADS_AIO) {
        s->aio = AIO_BACKEND_THREADS;
    } else {
        s->aio = AIO_BACKEND_IO_URING;
    }
    if (qdict_haskey(options, "locking")) {
        locking = xstrdup(qdict_get_try_str(options, "locking") ?
                          qdict_get_try_str(options, "locking") : "");
        qdict_del(options, "locking");
        if (!strcmp(locking, "auto")) {
            lmode = LOCKING_AUTO;
        } else if (!strcmp(locking, "on")) {
            lmode = LOCKING_ON;
        } else if (!strcmp(locking, "off")) {
            lmode = LOCKING_OFF;
        } else {
            error_setg(errp, "invalid parameter value: %s", locking);
            ret = -EINVAL;
            goto fail;
        }
    }
    /* Accepted for compatibility; they tune nothing here. */
    qdict_del(options, "aio-max-batch");
    qdict_del(options, "drop-cache");
    qdict_del(options, "x-check-cache-dropped");
    /* There are no persistent reservation managers to name. */
    if (qdict_haskey(options, "pr-manager")) {
        error_setg(errp, "No persistent reservation manager with id '%s'",
                   qdict_get_try_str(options, "pr-manager") ?
                   qdict_get_try_str(options, "pr-manager") : "");
        ret = -EINVAL;
        goto fail;
    }

    if (s->aio == AIO_BACKEND_NATIVE && !(flags & BDRV_O_NOCACHE)) {
        error_setg(errp, "aio=native was specified, but it requires "
                   "cache.direct=on, which was not specified.");
        ret = -EINVAL;
        goto fail;
    }

    oflags = O_CLOEXEC | ((flags & BDRV_O_RDWR) ? O_RDWR : O_RDONLY);
    if (flags & BDRV_O_NOCACHE) {
        oflags |= O_DIRECT;
    }
    s->open_flags = oflags;
    s->fd = open(filename, oflags);
    if (s->fd < 0) {
        ret = -errno;
        error_setg_file_open(errp, -ret, filename);
        goto fail;
    }
    if (fstat(s->fd, &st) < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not stat file");
        goto fail;
    }
    s->is_device = S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode);
    /* Devices are host_device's; directories are nobody's. */
    if (!device && (s->is_device || S_ISDIR(st.st_mode))) {
        error_setg(errp, "'%s' driver requires '%s' to be a regular file",
                   bs->drv->format_name, filename);
        ret = -EINVAL;
        goto fail;
    }
    if (device && !s->is_device) {
        error_setg(errp, "'%s' driver requires '%s' to be either a character "
                   "or block device", bs->drv->format_name, filename);
        ret = -EINVAL;
        goto fail;
    }
    s->has_discard = true;
    s->has_write_zeroes = true;
    s->has_fallocate = S_ISREG(st.st_mode);

    s->ctx = qemu_get_aio_context();
    ret = aio_file_backend_init(s->ctx, s->aio, &local_err);
    if (ret < 0) {
        if (s->aio == AIO_BACKEND_IO_URING && !(flags & BDRV_O_IO_URING) &&
            !aio) {
            /* io_uring is only our default: fall back quietly. */
            error_free(local_err);
            local_err = NULL;
            s->aio = AIO_BACKEND_THREADS;
            ret = aio_file_backend_init(s->ctx, s->aio,
                                        &local_err);
        }
        if (ret < 0) {
            error_propagate(errp, local_err);
            goto fail;
        }
    }

    if (lmode != LOCKING_OFF) {
        s->use_lock = raw_ofd_locks_work(s->fd);
        if (!s->use_lock && lmode == LOCKING_ON) {
            error_setg(errp, "Failed to lock byte 100");
            ret = -ENOTSUP;
            goto fail;
        }
    }
    if (oflags & O_DIRECT) {
        s->dio_align = raw_probe_dio_alignment(s);
    }
    raw_update_write_op(s);
    bs->supported_zero_flags = BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK;
    ret = 0;
    goto out;

fail:
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
out:
    free(aio);
    free(locking);
    return ret;
}

static int raw_open(BlockDriverState *bs, QDict *options, int flags,
                    Error **errp)
{
    return raw_open_common(bs, options, flags, false, errp);
}

static int hdev_open(BlockDriverState *bs, QDict *options, int flags,
                     Error **errp)
{
    return raw_open_common(bs, options, flags, true, errp);
}

static int hdev_probe_device(const char *filename)
{
    struct stat st;

    filename = raw_strip_prefix(filename, "host_device");
    if (stat(filename, &st) == 0 &&
        (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))) {
        return 100;
    }
    return 0;
}

static void raw_reopen_abort(BlockDriverState *bs);

static void raw_close(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    if (s->fd >= 0) {
        /* Closing the descriptor releases its OFD locks. */
        close(s->fd);
        s->fd = -1;
    }
    raw_reopen_abort(bs);
}

/*
 * Opens a second descriptor of the same file in the new mode and gives it
 * the lock bytes the node holds, so that switching over loses neither the
 * file (it is checked to be the one we have open) nor the locks. Shared
 * read locks of our two descriptors do not conflict with each other.
 */
static int raw_reopen_prepare(BlockDriverState *bs, int flags, Error **errp)
{
    BDRVRawState *s = bs->opaque;
    struct stat st_old;
    struct stat st_new;
    int oflags;
    int fd;
    int ret;

    assert(s->reopen_fd < 0);
    oflags = (s->open_flags & ~O_ACCMODE) |
             ((flags & BDRV_O_RDWR) ? O_RDWR : O_RDONLY);
    if (oflags == s->open_flags) {
        return 0;
    }
    fd = open(bs->filename, oflags);
    if (fd < 0) {
        ret = -errno;
        error_setg_file_open(errp, -ret, bs->filename);
        return ret;
    }
    if (fstat(s->fd, &st_old) < 0 || fstat(fd, &st_new) < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not stat '%s'", bs->filename);
        goto fail;
    }
    if (st_old.st_dev != st_new.st_dev || st_old.st_ino != st_new.st_ino) {
        error_setg(errp, "Could not reopen '%s': the file was replaced",
                   bs->filename);
        ret = -ESTALE;
        goto fail;
    }
    if (s->use_lock) {
        ret = raw_apply_lock_bytes(fd, 0, 0, s->locked_perm,
                                   s->locked_shared, errp);
        if (ret < 0) {
            goto fail;
        }
    }
    s->reopen_fd = fd;
    s->reopen_flags = oflags;
    return 0;

fail:
    close(fd);
    return ret;
}

static void raw_reopen_commit(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    if (s->reopen_fd < 0) {
        return;
    }
    /* Closing the old descriptor drops only its own copy of the locks. */
    close(s->fd);
    s->fd = s->reopen_fd;
    s->open_flags = s->reopen_flags;
    s->reopen_fd = -1;
    raw_update_write_op(s);
}

static void raw_reopen_abort(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    if (s->reopen_fd >= 0) {
        close(s->reopen_fd);
        s->reopen_fd = -1;
    }
}

static void raw_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BDRVRawState *s = bs->opaque;

    if (s->open_flags & O_DIRECT) {
        bs->bl.request_alignment = s->dio_align;
        bs->bl.min_mem_alignment = MAX(s->dio_align, 512);
        bs->bl.opt_mem_alignment = MAX(s->dio_align, 4096);
    } else {
        bs->bl.request_alignment = 1;
        bs->bl.min_mem_alignment = 1;
        bs->bl.opt_mem_alignment = 4096;
    }
    bs->bl.max_iov = IOV_MAX;
    /* Zero writes and discards need no bounce buffer: large pieces. */
    bs->bl.max_pwrite_zeroes = 1 * GiB;
    bs->bl.max_pdiscard = 1 * GiB;
    if (s->is_device) {
        bs->bl.pdiscard_alignment = 512;
    }
}

/* ---- I/O ----------------------------------------------------------------- */

/*
 * Write-behind: commit, rebase and convert -t writeback write hundreds of
 * MiB through the page cache and then flush them, which leaves the disk
 * idle while they copy and the copy idle while the flush writes it all.
 * Starting write-back every WRITE_BEHIND_BYTES of large writes lets the
 * two overlap (commit of 200 MiB: about a quarter faster). Small writes
 * (bench's 4 KiB ones, guest-like loads) are left to the kernel, and so are
 * nodes whose data is never flushed (cache=unsafe), O_DIRECT, and
 * writethrough, which flushes each write anyway.
 */
#define WRITE_BEHIND_MIN_REQUEST (64 * KiB)
#define WRITE_BEHIND_BYTES (16 * MiB)

static void coroutine_fn raw_co_write_behind(BlockDriverState *bs,
                                             int64_t bytes)
{
    BDRVRawState *s = bs->opaque;
    RawPoolReq r = { .fd = s->fd };

    if (bytes < WRITE_BEHIND_MIN_REQUEST ||
        (s->open_flags & O_DIRECT) ||
        (bs->open_flags & (BDRV_O_NO_FLUSH | BDRV_O_WRITETHROUGH))) {
        return;
    }
    s->write_behind_bytes += bytes;
    if (s->write_behind_bytes < WRITE_BEHIND_BYTES) {
        return;
    }
    s->write_behind_bytes = 0;
    thread_pool_co_run(raw_pool_start_writeback, &r);
}

/*
 * O_DIRECT wants buffers aligned as well as offsets: a vector that is not
 * goes through an aligned bounce buffer.
 */
static bool raw_qiov_needs_bounce(BDRVRawState *s, BlockDriverState *bs,
                                  QEMUIOVector *qiov)
{
    if (!(s->open_flags & O_DIRECT)) {
        return false;
    }
    return !qemu_iovec_is_aligned(qiov, bs->bl.min_mem_alignment);
}

static int coroutine_fn raw_co_prw(BlockDriverState *bs, int64_t offset,
                                   int64_t bytes, QEMUIOVector *qiov,
                                   AioFileOp op)
{
    BDRVRawState *s = bs->opaque;
    QEMUIOVector bounce_qiov;
    QEMUIOVector *q = qiov;
    void *bounce = NULL;
    int64_t ret;

    if (raw_qiov_needs_bounce(s, bs, qiov)) {
        bounce = qemu_try_blockalign(bytes);
        if (!bounce) {
            return -ENOMEM;
        }
        if (op == AIO_OP_WRITE) {
            qemu_iovec_to_buf(qiov, 0, bounce, bytes);
        }
        qemu_iovec_init_buf(&bounce_qiov, bounce, bytes);
        q = &bounce_qiov;
    }
    ret = aio_co_file_io(s->ctx, s->aio, s->fd, offset, q,
                         op == AIO_OP_WRITE && s->writes_block &&
                         bytes <= PUNTED_WRITE_MAX ?
                         AIO_OP_WRITE_BLOCKING : op);
    if (ret >= 0) {
        if (op == AIO_OP_READ) {
            /* Past the end of the file: zeroes. */
            if (ret < bytes) {
                qemu_iovec_memset(q, ret, 0, bytes - ret);
            }
            if (bounce) {
                qemu_iovec_from_buf(qiov, 0, bounce, bytes);
            }
            ret = 0;
        } else if (ret < bytes) {
            ret = -ENOSPC;
        } else {
            ret = 0;
            raw_co_write_behind(bs, bytes);
        }
    }
    if (bounce) {
        qemu_vfree(bounce);
    }
    return (int)ret;
}

static int coroutine_fn raw_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    return raw_co_prw(bs, offset, bytes, qiov, AIO_OP_READ);
}

static int coroutine_fn raw_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    return raw_co_prw(bs, offset, bytes, qiov, AIO_OP_WRITE);
}

static int coroutine_fn raw_co_flush_to_disk(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    int64_t ret;

    ret = aio_co_file_io(s->ctx, s->aio, s->fd, 0, NULL,
                         AIO_OP_FDATASYNC);
    return ret < 0 ? (int)ret : 0;
}

static int coroutine_fn raw_co_fallocate(BDRVRawState *s, int mode,
                                         int64_t offset, int64_t bytes)
{
    RawPoolReq r = { .fd = s->fd, .mode = mode, .offset = offset,
                     .len = bytes };
    int ret = thread_pool_co_run(raw_pool_fallocate, &r);

    if (ret == -EOPNOTSUPP || ret == -EINVAL || ret == -ENOSYS) {
        ret = -ENOTSUP;
    }
    return ret;
}

static int coroutine_fn raw_co_getlength_fd(BDRVRawState *s, int64_t *len);

static int coroutine_fn raw_co_pwrite_zeroes(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             BdrvRequestFlags flags)
{
    BDRVRawState *s = bs->opaque;
    int ret = -ENOTSUP;

    if (s->is_device) {
        RawPoolReq r = { .fd = s->fd, .offset = offset, .len = bytes };

        if (flags & BDRV_REQ_MAY_UNMAP) {
            /* Punching a hole in a block device zeroes (or fails). */
            ret = raw_co_fallocate(s, FALLOC_FL_PUNCH_HOLE |
                                   FALLOC_FL_KEEP_SIZE, offset, bytes);
            if (ret != -ENOTSUP) {
                return ret;
            }
        }
        if (flags & BDRV_REQ_NO_FALLBACK) {
            /* BLKZEROOUT may write the zeroes itself: not fast. */
            return -ENOTSUP;
        }
        r.ioctl_req = BLKZEROOUT;
        ret = thread_pool_co_run(raw_pool_ioctl_range, &r);
        if (ret == -EOPNOTSUPP || ret == -EINVAL || ret == -ENOTTY) {
            ret = -ENOTSUP;
        }
        return ret;
    }
    if (!s->has_fallocate) {
        return -ENOTSUP;
    }

    if (flags & BDRV_REQ_MAY_UNMAP) {
        int64_t len;

        ret = raw_co_getlength_fd(s, &len);
        if (ret < 0) {
            return ret;
        }
        /* A hole inside the file; past its end, growing it reads zero. */
        if (offset + bytes <= len) {
            ret = raw_co_fallocate(s, FALLOC_FL_PUNCH_HOLE |
                                   FALLOC_FL_KEEP_SIZE, offset, bytes);
            if (ret != -ENOTSUP) {
                return ret;
            }
        }
    }
    ret = raw_co_fallocate(s, FALLOC_FL_ZERO_RANGE, offset, bytes);
    if (ret != -ENOTSUP) {
        return ret;
    }
    /*
     * No ZERO_RANGE (tmpfs): a hole, then the range allocated again, as
     * the reference does; zeroes written without MAY_UNMAP take space,
     * and fail with -ENOSPC on a full disk.
     */
    {
        int64_t len;

        ret = raw_co_getlength_fd(s, &len);
        if (ret < 0) {
            return ret;
        }
        if (offset < len) {
            ret = raw_co_fallocate(s, FALLOC_FL_PUNCH_HOLE |
                                   FALLOC_FL_KEEP_SIZE, offset,
                                   MIN(bytes, len - offset));
            if (ret < 0) {
                return ret;
            }
        }
        ret = raw_co_fallocate(s, 0, offset, bytes);
        if (ret == -ENOTSUP && offset + bytes > len) {
            RawPoolReq r = { .fd = s->fd, .offset = offset + bytes };

            ret = thread_pool_co_run(raw_pool_ftruncate, &r);
        } else if (ret == -ENOTSUP) {
            ret = 0;
        }
    }
    return ret;
}

/* ---- copy offloading ---------------------------------------------------- */

/*
 * The source side ends at the file: the rest of the way is the
 * destination's (which may be a format allocating clusters first).
 */
static int coroutine_fn raw_co_copy_range_from(BlockDriverState *bs,
                                               BdrvChild *src,
                                               int64_t src_offset,
                                               BdrvChild *dst,
                                               int64_t dst_offset,
                                               int64_t bytes,
                                               BdrvRequestFlags read_flags,
                                               BdrvRequestFlags write_flags)
{
    return bdrv_co_copy_range_to(src, src_offset, dst, dst_offset, bytes,
                                 read_flags, write_flags);
}

/*
 * copy_file_range on a worker (it blocks for as long as the copy takes,
 * unless the file system shares the extents): only between two nodes of
 * this driver, whose descriptors it can use. A kernel or file system that
 * cannot (EXDEV across file systems before Linux 5.3, EOPNOTSUPP, EINVAL
 * for overlapping ranges of one file, ENOSYS) answers -ENOTSUP, so that
 * the caller copies with reads and writes. Other errors (-ENOSPC, -EIO)
 * are the copy's own; part of the range may then have been copied.
 * Past the end of the source file, reads are zeroes: so is the copy.
 */
static int coroutine_fn raw_co_copy_range_to(BlockDriverState *bs,
                                             BdrvChild *src,
                                             int64_t src_offset,
                                             BdrvChild *dst,
                                             int64_t dst_offset,
                                             int64_t bytes,
                                             BdrvRequestFlags read_flags,
                                             BdrvRequestFlags write_flags)
{
    BDRVRawState *s = bs->opaque;
    BDRVRawState *src_s;
    RawCopyReq r;
    int ret;

    if (src->bs->drv->bdrv_co_copy_range_to != raw_co_copy_range_to) {
        return -ENOTSUP;
    }
    src_s = src->bs->opaque;
    r = (RawCopyReq) {
        .fd_in = src_s->fd, .fd_out = s->fd, .off_in = src_offset,
        .off_out = dst_offset, .len = bytes,
    };
    ret = thread_pool_co_run(raw_pool_copy_range, &r);
    if (ret == -EXDEV || ret == -EINVAL || ret == -ENOSYS ||
        ret == -EOPNOTSUPP || ret == -ENOTSUP || ret == -EBADF) {
        return -ENOTSUP;
    }
    if (ret < 0) {
        return ret;
    }
    if (r.copied < bytes) {
        ret = bdrv_co_pwrite_zeroes(dst, dst_offset + r.copied,
                                    bytes - r.copied, 0);
        if (ret < 0) {
            return ret;
        }
    }
    /* The copy dirtied the page cache as a write would (ext4). */
    raw_co_write_behind(bs, bytes);
    return 0;
}

static int coroutine_fn raw_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes)
{
    BDRVRawState *s = bs->opaque;
    int ret;

    if (!s->has_discard) {
        return -ENOTSUP;
    }
    if (s->is_device) {
        RawPoolReq r = { .fd = s->fd, .offset = offset, .len = bytes,
                         .ioctl_req = BLKDISCARD };

        ret = thread_pool_co_run(raw_pool_ioctl_range, &r);
        if (ret == -EOPNOTSUPP || ret == -EINVAL || ret == -ENOTTY) {
            ret = -ENOTSUP;
        }
    } else {
        ret = raw_co_fallocate(s, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                               offset, bytes);
    }
    if (ret == -ENOTSUP) {
        s->has_discard = false;
    }
    return ret;
}

static int coroutine_fn raw_co_getlength_fd(BDRVRawState *s, int64_t *len)
{
    struct stat st;

    if (s->is_device) {
        uint64_t size;

        if (ioctl(s->fd, BLKGETSIZE64, &size) == 0) {
            *len = (int64_t)size;
            return 0;
        }
        /* Character devices and the like: what lseek says. */
        {
            RawPoolReq r = { .fd = s->fd, .offset = 0, .whence = SEEK_END };
            int ret = thread_pool_co_run(raw_pool_lseek, &r);

            if (ret < 0) {
                return ret;
            }
            *len = r.result;
            return 0;
        }
    }
    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    *len = st.st_size;
    return 0;
}

static int64_t coroutine_fn raw_co_getlength(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    int64_t len;
    int ret = raw_co_getlength_fd(s, &len);

    return ret < 0 ? ret : len;
}

static int64_t raw_get_allocated_file_size(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    struct stat st;

    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    return (int64_t)st.st_blocks * 512;
}

/* Nothing to tell, but the reference answers (info shows "dirty-flag"). */
static int raw_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    return 0;
}

static int raw_has_zero_init(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    return !s->is_device;
}

/*
 * Data or hole at offset, from SEEK_DATA/SEEK_HOLE: *pnum bytes from offset
 * are all data (returns DATA) or all hole (returns ZERO).
 */
static int coroutine_fn raw_co_block_status(BlockDriverState *bs,
                                            bool want_zero, int64_t offset,
                                            int64_t bytes, int64_t *pnum,
                                            int64_t *map,
                                            BlockDriverState **file)
{
    BDRVRawState *s = bs->opaque;
    RawPoolReq r = { .fd = s->fd, .offset = offset };
    int ret;
    int status;

    *map = offset;
    *file = bs;
    if (!want_zero || s->is_device) {
        *pnum = bytes;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    r.whence = SEEK_DATA;
    ret = thread_pool_co_run(raw_pool_lseek, &r);
    if (ret == -ENXIO) {
        /* No data from offset to the end: a hole. */
        *pnum = bytes;
        return BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID;
    }
    if (ret < 0) {
        /* No SEEK_DATA here: everything is data. */
        *pnum = bytes;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    if (r.result > offset) {
        *pnum = MIN(bytes, r.result - offset);
        status = BDRV_BLOCK_ZERO;
    } else {
        r.offset = offset;
        r.whence = SEEK_HOLE;
        ret = thread_pool_co_run(raw_pool_lseek, &r);
        if (ret < 0 || r.result <= offset) {
            *pnum = bytes;
        } else {
            *pnum = MIN(bytes, r.result - offset);
        }
        status = BDRV_BLOCK_DATA;
    }
    /* Round to the request alignment as the core expects. */
    if (*pnum < bytes && bs->bl.request_alignment > 1) {
        int64_t aligned = ROUND_DOWN(*pnum, bs->bl.request_alignment);

        if (aligned == 0) {
            /* Less than a block of this kind: call it data. */
            *pnum = bs->bl.request_alignment;
            status = BDRV_BLOCK_DATA;
        } else {
            *pnum = aligned;
        }
    }
    return status | BDRV_BLOCK_OFFSET_VALID;
}

/* ---- truncate and create ------------------------------------------------- */

/* Grows or shrinks fd to offset with the preallocation mode. */
static int coroutine_fn raw_co_regular_truncate(int fd, int64_t offset,
                                                PreallocMode prealloc,
                                                Error **errp)
{
    struct stat st;
    int64_t current;
    RawPoolReq r = { .fd = fd };
    int ret;

    if (fstat(fd, &st) < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not stat file");
        return ret;
    }
    current = st.st_size;
    if (current > offset && prealloc != PREALLOC_MODE_OFF) {
        error_setg(errp, "Cannot use preallocation for shrinking files");
        return -ENOTSUP;
    }
    switch (prealloc) {
    case PREALLOC_MODE_OFF:
        r.offset = offset;
        ret = thread_pool_co_run(raw_pool_ftruncate, &r);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not resize file");
            return ret;
        }
        break;
    case PREALLOC_MODE_FALLOC:
        if (offset > current) {
            r.mode = 0;
            r.offset = current;
            r.len = offset - current;
            ret = thread_pool_co_run(raw_pool_fallocate, &r);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Could not preallocate new "
                                 "data");
                return ret;
            }
        }
        break;
    case PREALLOC_MODE_FULL:
        if (offset > current) {
            r.offset = offset;
            ret = thread_pool_co_run(raw_pool_ftruncate, &r);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Could not resize file");
                return ret;
            }
            r.offset = current;
            r.len = offset - current;
            ret = thread_pool_co_run(raw_pool_write_zeroes, &r);
            if (ret < 0) {
                /*
                 * Give back what was written (a full disk stays usable) and
                 * leave the file as long as it was, as the reference does.
                 */
                error_setg_errno(errp, -ret, "Could not write zeros for "
                                 "preallocation");
                r.offset = current;
                thread_pool_co_run(raw_pool_ftruncate, &r);
                return ret;
            }
        }
        return 0;
    default:
        error_setg(errp, "Unsupported preallocation mode: %s",
                   prealloc_mode_name(prealloc));
        return -ENOTSUP;
    }
    if (current == 0 && offset > 0) {
        r.len = offset;
        thread_pool_co_run(raw_pool_allocate_first_block, &r);
    }
    return 0;
}

static int coroutine_fn raw_co_truncate(BlockDriverState *bs, int64_t offset,
                                        bool exact, PreallocMode prealloc,
                                        BdrvRequestFlags flags, Error **errp)
{
    BDRVRawState *s = bs->opaque;
    int64_t len;
    int ret;

    if (!s->is_device) {
        return raw_co_regular_truncate(s->fd, offset, prealloc, errp);
    }
    if (prealloc != PREALLOC_MODE_OFF) {
        error_setg(errp, "Preallocation mode '%s' unsupported for this "
                   "non-regular file", prealloc_mode_name(prealloc));
        return -ENOTSUP;
    }
    ret = raw_co_getlength_fd(s, &len);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to get device size");
        return ret;
    }
    /* An exact size is checked first, as the reference does. */
    if (exact && offset != len) {
        error_setg(errp, "Cannot resize device files");
        return -ENOTSUP;
    }
    if (offset > len) {
        error_setg(errp, "Cannot grow device files");
        return -EINVAL;
    }
    return 0;
}

static QemuOptDesc file_create_opts_desc[] = {
    {
        .name = "size",
        .type = QEMU_OPT_SIZE,
        .help = "Virtual disk size",
    },
    {
        .name = "preallocation",
        .type = QEMU_OPT_STRING,
        .help = "Preallocation mode (allowed values: off, falloc, full)",
    },
    {
        .name = "nocow",
        .type = QEMU_OPT_BOOL,
        .help = "Turn off copy-on-write (valid only on btrfs)",
    },
    {
        .name = "extent_size_hint",
        .type = QEMU_OPT_SIZE,
        .help = "Extent size hint for the image file, 0 to disable",
    },
    { NULL },
};

static QemuOptsList file_create_opts = {
    .name = "file-create-opts",
    .desc = file_create_opts_desc,
};

#ifndef FS_NOCOW_FL
#define FS_NOCOW_FL 0x00800000
#endif

static int coroutine_fn raw_co_create_opts(const BlockDriver *drv,
                                           const char *filename,
                                           QemuOpts *opts, Error **errp)
{
    int64_t size;
    char *buf;
    int prealloc;
    bool nocow;
    uint64_t hint;
    int fd = -1;
    int ret;
    Error *local_err = NULL;

    filename = raw_strip_prefix(filename, "file");
    size = ROUND_UP(qemu_opt_get_size_del(opts, "size", 0),
                    BDRV_SECTOR_SIZE);
    nocow = qemu_opt_get_bool_del(opts, "nocow", false);
    hint = qemu_opt_get_size_del(opts, "extent_size_hint", 1 * MiB);
    buf = qemu_opt_get_del(opts, "preallocation");
    prealloc = buf ? prealloc_mode_parse(buf) : PREALLOC_MODE_OFF;
    if (prealloc < 0) {
        error_setg(errp, "invalid parameter value: %s", buf);
        free(buf);
        return -EINVAL;
    }
    free(buf);
    /*
     * "metadata" is refused by the truncate below, after the file was
     * created (and emptied), as the reference does.
     */
    if (hint > UINT32_MAX) {
        error_setg(errp, "Extent size hint is too large");
        return -EINVAL;
    }

    fd = open(filename, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not create '%s'", filename);
        return ret;
    }
    /*
     * Nothing may change an existing file before we know that nobody who
     * refuses to share writes or resizes has it open: take the lock bytes
     * the reference's create takes (write and resize, with resize not
     * shared), then look for conflicting ones, and only then truncate.
     * The bytes stay ours until the descriptor closes, after the
     * preallocation, so nobody can open the file to resize it meanwhile.
     */
    if (raw_ofd_locks_work(fd)) {
        uint64_t perm = BLK_PERM_WRITE | BLK_PERM_RESIZE;
        uint64_t unshared = BLK_PERM_RESIZE;

        ret = raw_apply_lock_bytes(fd, 0, 0, perm, unshared, &local_err);
        if (ret == 0) {
            ret = raw_check_lock_bytes(fd, perm, unshared, filename,
                                       &local_err);
        }
        if (ret < 0) {
            error_propagate(errp, local_err);
            goto out;
        }
    }
    if (nocow) {
        int attr;

        /* Only btrfs knows this; elsewhere it is silently nothing. */
        if (ioctl(fd, FS_IOC_GETFLAGS, &attr) == 0) {
            attr |= FS_NOCOW_FL;
            (void)ioctl(fd, FS_IOC_SETFLAGS, &attr);
        }
    }
#ifdef FS_IOC_FSSETXATTR
    if (hint) {
        struct fsxattr attr;

        /* Only XFS honours the hint; failure is not an error. */
        if (ioctl(fd, FS_IOC_FSGETXATTR, &attr) == 0) {
            attr.fsx_xflags |= FS_XFLAG_EXTSIZE;
            attr.fsx_extsize = (uint32_t)hint;
            (void)ioctl(fd, FS_IOC_FSSETXATTR, &attr);
        }
    }
#endif
    /* Start from empty so that preallocation covers everything. */
    if (ftruncate(fd, 0) < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not resize file");
        goto out;
    }
    ret = raw_co_regular_truncate(fd, size, prealloc, errp);

out:
    if (fd >= 0 && close(fd) < 0 && ret == 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not close the new file");
    }
    return ret;
}

static int raw_pool_unlink(void *opaque)
{
    const char *filename = opaque;

    if (unlink(filename) < 0) {
        return -errno;
    }
    return 0;
}

/* Devices and directories are never removed, only what a create made. */
static int coroutine_fn raw_co_delete_file(const BlockDriver *drv,
                                           const char *filename,
                                           Error **errp)
{
    struct stat st;
    int ret;

    filename = raw_strip_prefix(filename, "file");
    if (lstat(filename, &st) < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not stat '%s'", filename);
        return ret;
    }
    if (!S_ISREG(st.st_mode)) {
        error_setg(errp, "'%s' is not a regular file", filename);
        return -EPERM;
    }
    ret = thread_pool_co_run(raw_pool_unlink, (void *)filename);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not delete '%s'", filename);
    }
    return ret;
}

/* A device has a size already: only "off" preallocation makes sense. */
static QemuOptDesc hdev_create_opts_desc[] = {
    {
        .name = "size",
        .type = QEMU_OPT_SIZE,
        .help = "Virtual disk size",
    },
    {
        .name = "preallocation",
        .type = QEMU_OPT_STRING,
        .help = "Preallocation mode (allowed values: off)",
    },
    { NULL },
};

static QemuOptsList hdev_create_opts = {
    .name = "host-device-create-opts",
    .desc = hdev_create_opts_desc,
};

/*
 * host_device cannot create, only check that the device is big enough, as
 * the reference does for protocols without a creator.
 */
static int coroutine_fn hdev_co_create_opts(const BlockDriver *drv,
                                            const char *filename,
                                            QemuOpts *opts, Error **errp)
{
    int64_t size = ROUND_UP(qemu_opt_get_size_del(opts, "size", 0),
                            BDRV_SECTOR_SIZE);
    char *prealloc = qemu_opt_get_del(opts, "preallocation");
    struct stat st;
    int64_t len;
    int fd;
    int ret = 0;

    filename = raw_strip_prefix(filename, "host_device");
    if (prealloc && prealloc_mode_parse(prealloc) < 0) {
        error_setg(errp, "invalid parameter value: %s", prealloc);
        free(prealloc);
        return -EINVAL;
    }
    if (prealloc && strcmp(prealloc, "off")) {
        error_setg(errp, "Unsupported preallocation mode '%s'", prealloc);
        free(prealloc);
        return -ENOTSUP;
    }
    free(prealloc);
    fd = open(filename, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Protocol driver 'host_device' does "
                         "not support image creation, and opening the image "
                         "failed: Could not open '%s'", filename);
        return ret;
    }
    if (fstat(fd, &st) < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not stat '%s'", filename);
        goto out;
    }
    if (!S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode)) {
        error_setg(errp, "Protocol driver 'host_device' does not support "
                   "image creation, and opening the image failed: "
                   "'host_device' driver requires '%s' to be either a "
                   "character or block device", filename);
        ret = -EINVAL;
        goto out;
    }
    len = lseek(fd, 0, SEEK_END);
    if (S_ISBLK(st.st_mode)) {
        uint64_t dsize;

        if (ioctl(fd, BLKGETSIZE64, &dsize) == 0) {
            len = (int64_t)dsize;
        }
    }
    if (len < 0 || size > len) {
        error_setg(errp, "Cannot grow device files");
        ret = -EINVAL;
        goto out;
    }
out:
    close(fd);
    return ret;
}

static const char *const raw_strong_opts[] = { NULL };

const BlockDriver bdrv_file = {
    .format_name = "file",
    .protocol_name = "file",
    .instance_size = sizeof(BDRVRawState),
    .is_format = false,
    .strong_runtime_opts = raw_strong_opts,

    .bdrv_open = raw_open,
    .bdrv_close = raw_close,
    .bdrv_refresh_limits = raw_refresh_limits,
    .create_opts = &file_create_opts,
    .bdrv_co_create_opts = raw_co_create_opts,
    .bdrv_co_delete_file = raw_co_delete_file,

    .bdrv_co_preadv = raw_co_preadv,
    .bdrv_co_pwritev = raw_co_pwritev,
    .bdrv_co_pwrite_zeroes = raw_co_pwrite_zeroes,
    .bdrv_co_pdiscard = raw_co_pdiscard,
    .bdrv_co_copy_range_from = raw_co_copy_range_from,
    .bdrv_co_copy_range_to = raw_co_copy_range_to,
    .bdrv_co_flush_to_disk = raw_co_flush_to_disk,
    .bdrv_co_block_status = raw_co_block_status,
    .bdrv_co_truncate = raw_co_truncate,
    .bdrv_co_getlength = raw_co_getlength,
    .bdrv_get_allocated_file_size = raw_get_allocated_file_size,
    .bdrv_has_zero_init = raw_has_zero_init,
    .bdrv_get_info = raw_get_info,
    .bdrv_set_perm = raw_set_perm,
    .bdrv_reopen_prepare = raw_reopen_prepare,
    .bdrv_reopen_commit = raw_reopen_commit,
    .bdrv_reopen_abort = raw_reopen_abort,
};

const BlockDriver bdrv_host_device = {
    .format_name = "host_device",
    .protocol_name = "host_device",
    .instance_size = sizeof(BDRVRawState),
    .is_format = false,
    .has_variable_length = true,

    .bdrv_probe_device = hdev_probe_device,
    .bdrv_open = hdev_open,
    .bdrv_close = raw_close,
    .bdrv_refresh_limits = raw_refresh_limits,
    .create_opts = &hdev_create_opts,
    .bdrv_co_create_opts = hdev_co_create_opts,

    .bdrv_co_preadv = raw_co_preadv,
    .bdrv_co_pwritev = raw_co_pwritev,
    .bdrv_co_pwrite_zeroes = raw_co_pwrite_zeroes,
    .bdrv_co_pdiscard = raw_co_pdiscard,
    .bdrv_co_copy_range_from = raw_co_copy_range_from,
    .bdrv_co_copy_range_to = raw_co_copy_range_to,
    .bdrv_co_flush_to_disk = raw_co_flush_to_disk,
    .bdrv_co_block_status = raw_co_block_status,
    .bdrv_co_truncate = raw_co_truncate,
    .bdrv_co_getlength = raw_co_getlength,
    .bdrv_get_allocated_file_size = raw_get_allocated_file_size,
    .bdrv_has_zero_init = raw_has_zero_init,
    .bdrv_get_info = raw_get_info,
    .bdrv_set_perm = raw_set_perm,
    .bdrv_reopen_prepare = raw_reopen_prepare,
    .bdrv_reopen_commit = raw_reopen_commit,
    .bdrv_reopen_abort = raw_reopen_abort,
};
