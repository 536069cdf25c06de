/*
 * BlockBackend: the front ends' handle on an open image. It is the user of
 * the root node: it takes the permissions the open flags ask for, checks
 * every request against the image length (unless told to allow writes
 * beyond it), and implements writethrough caching by flushing after writes.
 */
#include "config-host.h"

#include "block/block_int.h"

struct BlockBackend {
    BdrvChild *root;
    bool enable_write_cache;
    bool allow_write_beyond_eof;
    int open_flags;
};

/* What the root edge takes and shares for open flags. */
static void blk_perm_for_flags(int flags, uint64_t *perm, uint64_t *shared)
{
    *perm = 0;
    if (!(flags & BDRV_O_NO_IO)) {
        *perm |= BLK_PERM_CONSISTENT_READ;
    }
    if (flags & BDRV_O_RDWR) {
        *perm |= BLK_PERM_WRITE;
    }
    if (flags & BDRV_O_RESIZE) {
        *perm |= BLK_PERM_RESIZE;
    }
    /*
     * qemu-img and qemu-io share everything with other users, except
     * where the command asks for a stable image (BDRV_O_NO_SHARE: others
     * may read it and rewrite what it holds, not change it).
     */
    if ((flags & BDRV_O_NO_SHARE) && !(flags & BDRV_O_FORCE_SHARE)) {
        *shared = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED;
    } else {
        *shared = BLK_PERM_ALL;
    }
}

/*
 * Makes a BlockBackend the user of bs with perm/shared, taking over the
 * caller's reference to bs (dropped on failure).
 */
static BlockBackend *blk_attach(BlockDriverState *bs, uint64_t perm,
                                uint64_t shared, Error **errp)
{
    BlockBackend *blk = xzalloc(sizeof(*blk));
    BdrvChild *root = xzalloc(sizeof(*root));

    root->bs = bs;
    root->name = xstrdup("root");
    root->role = BDRV_CHILD_ROOT;
    root->perm = perm;
    root->shared_perm = shared;
    LIST_INSERT_HEAD(&bs->parents, root, next_parent);
    if (bdrv_refresh_perms(bs, errp) < 0) {
        LIST_REMOVE(root, next_parent);
        bdrv_refresh_perms(bs, NULL);
        free(root->name);
        free(root);
        free(blk);
        bdrv_unref(bs);
        return NULL;
    }
    blk->root = root;
    blk->open_flags = bs->open_flags;
    blk->enable_write_cache = true;
    return blk;
}

BlockBackend *blk_new_with_bs(BlockDriverState *bs, bool write, Error **errp)
{
    uint64_t perm = BLK_PERM_CONSISTENT_READ;

    if (!bs->drv) {
        error_setg(errp, "No medium inserted");
        return NULL;
    }
    if (write) {
        if (bs->read_only) {
            error_setg(errp, "Block node is read-only");
            return NULL;
        }
        /* Writers of a node in a graph (commit) may also grow it. */
        perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
    }
    bdrv_ref(bs);
    return blk_attach(bs, perm, BLK_PERM_ALL, errp);
}

BlockBackend *blk_new_open_ext(const char *filename, const char *fmt,
                               QDict *options, int flags,
                               BlockOpenNotes *notes, Error **errp)
{
    BlockOpenNotes *old = bdrv_open_notes_swap(notes);
    BlockBackend *blk = blk_new_open(filename, fmt, options, flags, errp);

    bdrv_open_notes_swap(old);
    return blk;
}

BlockBackend *blk_new_open(const char *filename, const char *fmt,
                           QDict *options, int flags, Error **errp)
{
    BlockBackend *blk;
    BlockDriverState *bs;
    const BlockDriver *drv = NULL;
    uint64_t perm;
    uint64_t shared;

    bdrv_init();
    if (fmt) {
        drv = bdrv_find_format(fmt);
        if (!drv) {
            error_setg(errp, "Unknown driver '%s'", fmt);
            if (options) {
                qdict_unref(options);
            }
            return NULL;
        }
    }
    bs = bdrv_open(filename, options, drv, flags, errp);
    if (!bs) {
        return NULL;
    }
    /*
     * The user asks for what the flags say, and for what options added
     * (read-only=off makes a read-only open writable); a node that options
     * made read-only (read-only=on) cannot grant writes ("Block node is
     * read-only"), as in the reference.
     */
    blk_perm_for_flags(bs->open_flags |
                       (flags & (BDRV_O_NO_IO | BDRV_O_RDWR | BDRV_O_RESIZE |
                                 BDRV_O_NO_SHARE)),
                       &perm, &shared);
    blk = blk_attach(bs, perm, shared, errp);
    if (blk) {
        blk->enable_write_cache = !(flags & BDRV_O_WRITETHROUGH);
    }
    return blk;
}

void blk_unref(BlockBackend *blk)
{
    BlockDriverState *bs;

    if (!blk) {
        return;
    }
    bs = blk->root->bs;
    bdrv_drain(bs);
    /* Make what was written durable before letting go, as QEMU does. */
    if (!bs->read_only) {
        bdrv_flush(bs);
    }
    LIST_REMOVE(blk->root, next_parent);
    bdrv_refresh_perms(bs, NULL);
    free(blk->root->name);
    free(blk->root);
    bdrv_unref(bs);
    free(blk);
}

BlockDriverState *blk_bs(BlockBackend *blk)
{
    return blk->root->bs;
}

int64_t blk_getlength(BlockBackend *blk)
{
    return bdrv_getlength(blk_bs(blk));
}

bool blk_is_read_only(BlockBackend *blk)
{
    return bdrv_is_read_only(blk_bs(blk));
}

void blk_set_enable_write_cache(BlockBackend *blk, bool wce)
{
    blk->enable_write_cache = wce;
}

void blk_set_allow_write_beyond_eof(BlockBackend *blk, bool allow)
{
    blk->allow_write_beyond_eof = allow;
}

/* Bounds as the reference checks them: -EIO outside the image. */
static inline int blk_check_byte_request(BlockBackend *blk, int64_t offset,
                                         int64_t bytes)
{
    BlockDriverState *bs = blk->root->bs;
    int64_t len;

    if (offset < 0 || bytes < 0) {
        return -EIO;
    }
    if (blk->allow_write_beyond_eof) {
        return 0;
    }
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    /*
     * The length as last refreshed (open, truncate, blk_getlength): this
     * runs for every request, and devices would answer with an ioctl.
     */
    if (bs->total_sectors > INT64_MAX / (int64_t)BDRV_SECTOR_SIZE) {
        return -EFBIG;
    }
    len = bs->total_sectors * BDRV_SECTOR_SIZE;
    if (offset > len || len - offset < bytes) {
        return -EIO;
    }
    return 0;
}

int coroutine_fn blk_co_preadv(BlockBackend *blk, int64_t offset,
                               int64_t bytes, QEMUIOVector *qiov,
                               BdrvRequestFlags flags)
{
    int ret = blk_check_byte_request(blk, offset, bytes);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_preadv(blk->root, offset, bytes, qiov, flags);
}

/*
 * Writethrough asks the node for FUA writes: a node that cannot do them
 * flushes itself and its children before the write counts as done, which
 * is when the reference raises its flush events.
 */
static inline BdrvRequestFlags blk_write_flags(BlockBackend *blk,
                                               BdrvRequestFlags flags)
{
    return blk->enable_write_cache ? flags : flags | BDRV_REQ_FUA;
}

int coroutine_fn blk_co_pwritev(BlockBackend *blk, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags)
{
    int ret;

    if (blk_bs(blk)->read_only) {
        return -EPERM;
    }
    ret = blk_check_byte_request(blk, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pwritev(blk->root, offset, bytes, qiov,
                           blk_write_flags(blk, flags));
}

int coroutine_fn blk_co_pwrite_zeroes(BlockBackend *blk, int64_t offset,
                                      int64_t bytes, BdrvRequestFlags flags)
{
    int ret;

    if (blk_bs(blk)->read_only) {
        return -EPERM;
    }
    ret = blk_check_byte_request(blk, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pwrite_zeroes(blk->root, offset, bytes,
                                 blk_write_flags(blk, flags));
}

int coroutine_fn blk_co_pdiscard(BlockBackend *blk, int64_t offset,
                                 int64_t bytes)
{
    int ret;

    if (blk_bs(blk)->read_only) {
        return -EPERM;
    }
    ret = blk_check_byte_request(blk, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pdiscard(blk->root, offset, bytes);
}

int coroutine_fn blk_co_copy_range(BlockBackend *blk_in, int64_t off_in,
                                   BlockBackend *blk_out, int64_t off_out,
                                   int64_t bytes, BdrvRequestFlags read_flags,
                                   BdrvRequestFlags write_flags)
{
    int ret;

    if (blk_bs(blk_out)->read_only) {
        return -EPERM;
    }
    ret = blk_check_byte_request(blk_in, off_in, bytes);
    if (ret < 0) {
        return ret;
    }
    ret = blk_check_byte_request(blk_out, off_out, bytes);
    if (ret < 0) {
        return ret;
    }
    return bdrv_co_copy_range(blk_in->root, off_in, blk_out->root, off_out,
                              bytes, read_flags,
                              blk_write_flags(blk_out, write_flags));
}

int coroutine_fn blk_co_flush(BlockBackend *blk)
{
    return bdrv_co_flush(blk_bs(blk));
}

int coroutine_fn blk_co_truncate(BlockBackend *blk, int64_t offset,
                                 bool exact, PreallocMode prealloc,
                                 BdrvRequestFlags flags, Error **errp)
{
    if (blk_bs(blk)->read_only) {
        error_setg(errp, "Image is read-only");
        return -EACCES;
    }
    return bdrv_co_truncate(blk->root, offset, exact, prealloc, flags, errp);
}

/* ---- synchronous wrappers ------------------------------------------------ */

typedef enum {
    BLK_READ,
    BLK_WRITE,
    BLK_ZEROES,
    BLK_DISCARD,
    BLK_FLUSH,
    BLK_TRUNCATE,
} BlkOp;

typedef struct BlkCo {
    BlkOp op;
    BlockBackend *blk;
    int64_t offset;
    int64_t bytes;
    QEMUIOVector *qiov;
    BdrvRequestFlags flags;
    bool exact;
    PreallocMode prealloc;
    Error **errp;
    int ret;
    bool done;
} BlkCo;

static void coroutine_fn blk_co_entry(void *opaque)
{
    BlkCo *c = opaque;

    switch (c->op) {
    case BLK_READ:
        c->ret = blk_co_preadv(c->blk, c->offset, c->bytes, c->qiov,
                               c->flags);
        break;
    case BLK_WRITE:
        c->ret = blk_co_pwritev(c->blk, c->offset, c->bytes, c->qiov,
                                c->flags);
        break;
    case BLK_ZEROES:
        c->ret = blk_co_pwrite_zeroes(c->blk, c->offset, c->bytes,
                                      c->flags);
        break;
    case BLK_DISCARD:
        c->ret = blk_co_pdiscard(c->blk, c->offset, c->bytes);
        break;
    case BLK_FLUSH:
        c->ret = blk_co_flush(c->blk);
        break;
    case BLK_TRUNCATE:
        c->ret = blk_co_truncate(c->blk, c->offset, c->exact, c->prealloc,
                                 c->flags, c->errp);
        break;
    }
    c->done = true;
}

static int blk_run(BlkCo *c)
{
    bdrv_run_co(blk_co_entry, c, &c->done);
    return c->ret;
}

int blk_pread(BlockBackend *blk, int64_t offset, int64_t bytes, void *buf,
              BdrvRequestFlags flags)
{
    QEMUIOVector qiov;
    BlkCo c = {
        .op = BLK_READ, .blk = blk, .offset = offset, .bytes = bytes,
        .qiov = &qiov, .flags = flags,
    };
    int ret;

    if (bytes < 0) {
        return -EIO;
    }
    qemu_iovec_init_buf(&qiov, buf, bytes);
    ret = blk_run(&c);
    return ret < 0 ? ret : (int)MIN(bytes, INT_MAX);
}

int blk_pwrite(BlockBackend *blk, int64_t offset, int64_t bytes,
               const void *buf, BdrvRequestFlags flags)
{
    QEMUIOVector qiov;
    BlkCo c = {
        .op = BLK_WRITE, .blk = blk, .offset = offset, .bytes = bytes,
        .qiov = &qiov, .flags = flags,
    };
    int ret;

    if (bytes < 0) {
        return -EIO;
    }
    qemu_iovec_init_buf(&qiov, (void *)buf, bytes);
    ret = blk_run(&c);
    return ret < 0 ? ret : (int)MIN(bytes, INT_MAX);
}

int blk_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes,
                      BdrvRequestFlags flags)
{
    BlkCo c = {
        .op = BLK_ZEROES, .blk = blk, .offset = offset, .bytes = bytes,
        .flags = flags,
    };

    return blk_run(&c);
}

int blk_pwrite_compressed(BlockBackend *blk, int64_t offset, int64_t bytes,
                          const void *buf)
{
    return blk_pwrite(blk, offset, bytes, buf, BDRV_REQ_WRITE_COMPRESSED);
}

int blk_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes)
{
    BlkCo c = {
        .op = BLK_DISCARD, .blk = blk, .offset = offset, .bytes = bytes,
    };

    return blk_run(&c);
}

int blk_flush(BlockBackend *blk)
{
    BlkCo c = { .op = BLK_FLUSH, .blk = blk };

    return blk_run(&c);
}

int blk_truncate(BlockBackend *blk, int64_t offset, bool exact,
                 PreallocMode prealloc, BdrvRequestFlags flags, Error **errp)
{
    BlkCo c = {
        .op = BLK_TRUNCATE, .blk = blk, .offset = offset, .exact = exact,
        .prealloc = prealloc, .flags = flags, .errp = errp,
    };

    return blk_run(&c);
}

int blk_make_empty(BlockBackend *blk, Error **errp)
{
    BlockDriverState *bs = blk_bs(blk);

    if (!bs->drv) {
        error_setg(errp, "No medium inserted");
        return -ENOMEDIUM;
    }
    if (bs->read_only || !(blk->root->perm & BLK_PERM_WRITE)) {
        error_setg(errp, "Image is read-only");
        return -EACCES;
    }
    return bdrv_make_empty(blk->root, errp);
}

int blk_make_zero(BlockBackend *blk, BdrvRequestFlags flags)
{
    BlockDriverState *bs = blk_bs(blk);
    int64_t len = bdrv_getlength(bs);
    int64_t offset = 0;
    int ret;

    if (len < 0) {
        return (int)len;
    }
    /* Skip what already reads as zeroes; zero the rest in large pieces. */
    while (offset < len) {
        int64_t n = MIN(len - offset, 1 * GiB);
        int64_t pnum = 0;

        ret = bdrv_block_status_above(bs, NULL, offset, n, &pnum, NULL, NULL,
                                      NULL);
        if (ret < 0) {
            return ret;
        }
        if (pnum <= 0) {
            pnum = n;
        }
        if (!(ret & BDRV_BLOCK_ZERO)) {
            ret = blk_pwrite_zeroes(blk, offset, pnum, flags);
            if (ret < 0) {
                return ret;
            }
        }
        offset += pnum;
    }
    return 0;
}
