/*
 * The "mem" protocol driver and the "testfmt" format for unit tests (see
 * test-block.h).
 */
#include "config-host.h"

#include "test-block.h"
#include "block/dirty-bitmap.h"
#include "util/aio.h"
#include "util/bswap.h"
#include "util/cutils.h"

#define MAX_IMAGES 64

struct MemImage {
    char name[64];
    uint8_t *data;
    int64_t size;
    MemStats stats;
    int in_flight;
    /* Fault injection. */
    unsigned int fail_ops;
    int fail_nth;               /* counts down; fires at 1; 0: every */
    int fail_err;
    bool fail_armed;
    unsigned int range_ops;
    int64_t range_offset;
    int64_t range_bytes;
    int range_err;
    int trunc_nth;
    int64_t trunc_keep;
};

static MemImage *images[MAX_IMAGES];

MemImage *mem_image_find(const char *name)
{
    int i;

    for (i = 0; i < MAX_IMAGES; i++) {
        if (images[i] && !strcmp(images[i]->name, name)) {
            return images[i];
        }
    }
    return NULL;
}

MemImage *mem_image_create(const char *name, int64_t size)
{
    MemImage *img = mem_image_find(name);
    int i;

    if (!img) {
        for (i = 0; i < MAX_IMAGES && images[i]; i++) {
            continue;
        }
        assert(i < MAX_IMAGES);
        img = xzalloc(sizeof(*img));
        pstrcpy(img->name, sizeof(img->name), name);
        images[i] = img;
    }
    free(img->data);
    img->data = xzalloc(size ? size : 1);
    img->size = size;
    memset(&img->stats, 0, sizeof(img->stats));
    mem_image_clear_faults(img);
    return img;
}

void mem_image_delete(const char *name)
{
    int i;

    for (i = 0; i < MAX_IMAGES; i++) {
        if (images[i] && !strcmp(images[i]->name, name)) {
            free(images[i]->data);
            free(images[i]);
            images[i] = NULL;
        }
    }
}

uint8_t *mem_image_data(MemImage *img)
{
    return img->data;
}

int64_t mem_image_size(MemImage *img)
{
    return img->size;
}

MemStats *mem_image_stats(MemImage *img)
{
    return &img->stats;
}

void mem_image_inject(MemImage *img, unsigned int ops, int nth, int err)
{
    img->fail_ops = ops;
    img->fail_nth = nth;
    img->fail_err = err;
    img->fail_armed = true;
}

void mem_image_inject_range(MemImage *img, unsigned int ops, int64_t offset,
                            int64_t bytes, int err)
{
    img->range_ops = ops;
    img->range_offset = offset;
    img->range_bytes = bytes;
    img->range_err = err;
}

void mem_image_truncate_write(MemImage *img, int nth, int64_t keep)
{
    img->trunc_nth = nth;
    img->trunc_keep = keep;
}

void mem_image_clear_faults(MemImage *img)
{
    img->fail_armed = false;
    img->fail_ops = 0;
    img->range_ops = 0;
    img->trunc_nth = 0;
}

/* ---- the driver ---------------------------------------------------------- */

typedef struct BDRVMemState {
    MemImage *img;
    uint32_t align;
    int64_t max_transfer;
    bool async;
} BDRVMemState;

/* The injected error for this request, or 0. */
static int mem_fault(MemImage *img, MemOp op, int64_t offset, int64_t bytes)
{
    if (img->range_ops & op) {
        if (offset < img->range_offset + img->range_bytes &&
            img->range_offset < offset + MAX(bytes, 1)) {
            return img->range_err;
        }
    }
    if (img->fail_armed && (img->fail_ops & op)) {
        if (img->fail_nth == 0) {
            return img->fail_err;
        }
        if (--img->fail_nth == 0) {
            img->fail_armed = false;
            return img->fail_err;
        }
    }
    return 0;
}

/* Lets other coroutines run in the middle of this request. */
static void coroutine_fn mem_yield(BlockDriverState *bs)
{
    BDRVMemState *s = bs->opaque;

    if (s->async && qemu_in_coroutine()) {
        aio_co_schedule(qemu_get_aio_context(), qemu_coroutine_self());
        qemu_coroutine_yield();
    }
}

static void mem_account(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    BDRVMemState *s = bs->opaque;
    MemStats *st = &s->img->stats;

    st->max_request = MAX(st->max_request, bytes);
    if (!IS_ALIGNED(offset, (int64_t)s->align) ||
        !IS_ALIGNED(bytes, (int64_t)s->align)) {
        st->misaligned = true;
    }
    if (s->max_transfer && bytes > s->max_transfer) {
        st->over_max_transfer = true;
    }
}

static void mem_begin(BDRVMemState *s)
{
    s->img->in_flight++;
    s->img->stats.max_in_flight = MAX(s->img->stats.max_in_flight,
                                      s->img->in_flight);
}

static void mem_end(BDRVMemState *s)
{
    s->img->in_flight--;
}

/* Makes the image at least end bytes long (writes past the end grow it). */
static void mem_grow(MemImage *img, int64_t end)
{
    if (end > img->size) {
        img->data = xrealloc(img->data, end);
        memset(img->data + img->size, 0, end - img->size);
        img->size = end;
    }
}

static int mem_open(BlockDriverState *bs, QDict *options, int flags,
                    Error **errp)
{
    BDRVMemState *s = bs->opaque;
    const char *filename = qdict_get_try_str(options, "filename");
    const char *name;
    const char *v;
    uint64_t n;

    if (!filename) {
        error_setg(errp, "The 'mem' block driver requires a file name");
        return -EINVAL;
    }
    name = filename;
    strstart(filename, "mem:", &name);
    s->img = mem_image_find(name);
    if (!s->img) {
        error_setg(errp, "Could not open '%s': No such file or directory",
                   filename);
        return -ENOENT;
    }
    pstrcpy(bs->filename, sizeof(bs->filename), filename);
    qdict_del(options, "filename");

    s->align = 1;
    s->async = true;
    v = qdict_get_try_str(options, "align");
    if (v) {
        if (qemu_strtou64(v, NULL, 0, &n) < 0 || !IS_POWER_OF_2(n)) {
            error_setg(errp, "bad align '%s'", v);
            return -EINVAL;
        }
        s->align = n;
        qdict_del(options, "align");
    }
    v = qdict_get_try_str(options, "max-transfer");
    if (v) {
        if (qemu_strtou64(v, NULL, 0, &n) < 0) {
            error_setg(errp, "bad max-transfer '%s'", v);
            return -EINVAL;
        }
        s->max_transfer = n;
        qdict_del(options, "max-transfer");
    }
    v = qdict_get_try_str(options, "write-zeroes");
    if (v) {
        if (!strcmp(v, "on")) {
            bs->supported_zero_flags = BDRV_REQ_MAY_UNMAP |
                                       BDRV_REQ_NO_FALLBACK;
        }
        qdict_del(options, "write-zeroes");
    }
    v = qdict_get_try_str(options, "async");
    if (v) {
        s->async = strcmp(v, "off") != 0;
        qdict_del(options, "async");
    }
    return 0;
}

static void mem_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BDRVMemState *s = bs->opaque;

    bs->bl.request_alignment = s->align;
    bs->bl.max_transfer = s->max_transfer;
}

static int coroutine_fn mem_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    BDRVMemState *s = bs->opaque;
    MemImage *img = s->img;
    int64_t avail;
    int ret;

    mem_begin(s);
    mem_account(bs, offset, bytes);
    img->stats.reads++;
    mem_yield(bs);
    ret = mem_fault(img, MEM_OP_READ, offset, bytes);
    if (ret == 0) {
        avail = MAX(0, MIN(bytes, img->size - offset));
        qemu_iovec_from_buf(qiov, 0, img->data + offset, avail);
        qemu_iovec_memset(qiov, avail, 0, bytes - avail);
    }
    mem_end(s);
    return ret;
}

static int coroutine_fn mem_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    BDRVMemState *s = bs->opaque;
    MemImage *img = s->img;
    int ret;

    mem_begin(s);
    mem_account(bs, offset, bytes);
    img->stats.writes++;
    ret = mem_fault(img, MEM_OP_WRITE, offset, bytes);
    if (ret == 0) {
        int64_t keep = bytes;

        if (img->trunc_nth && --img->trunc_nth == 0) {
            keep = MIN(bytes, img->trunc_keep);
            ret = -EIO;
        }
        mem_grow(img, offset + keep);
        /* Half the bytes land before the yield, half after: a racy
         * caller would see torn data. */
        qemu_iovec_to_buf(qiov, 0, img->data + offset, keep / 2);
        mem_yield(bs);
        qemu_iovec_to_buf(qiov, keep / 2, img->data + offset + keep / 2,
                          keep - keep / 2);
    }
    mem_end(s);
    return ret;
}

static int coroutine_fn mem_co_pwrite_zeroes(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             BdrvRequestFlags flags)
{
    BDRVMemState *s = bs->opaque;
    MemImage *img = s->img;
    int ret;

    if (!(bs->supported_zero_flags & BDRV_REQ_MAY_UNMAP)) {
        return -ENOTSUP;
    }
    mem_begin(s);
    mem_account(bs, offset, bytes);
    img->stats.zero_writes++;
    mem_yield(bs);
    ret = mem_fault(img, MEM_OP_ZERO, offset, bytes);
    if (ret == 0) {
        mem_grow(img, offset + bytes);
        memset(img->data + offset, 0, bytes);
    }
    mem_end(s);
    return ret;
}

static int coroutine_fn mem_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes)
{
    BDRVMemState *s = bs->opaque;
    MemImage *img = s->img;
    int ret;

    mem_begin(s);
    mem_account(bs, offset, bytes);
    img->stats.discards++;
    mem_yield(bs);
    ret = mem_fault(img, MEM_OP_DISCARD, offset, bytes);
    if (ret == 0 && offset < img->size) {
        memset(img->data + offset, 0, MIN(bytes, img->size - offset));
    }
    mem_end(s);
    return ret;
}

static int coroutine_fn mem_co_flush(BlockDriverState *bs)
{
    BDRVMemState *s = bs->opaque;

    s->img->stats.flushes++;
    return mem_fault(s->img, MEM_OP_FLUSH, 0, 0);
}

static int coroutine_fn mem_co_truncate(BlockDriverState *bs, int64_t offset,
                                        bool exact, PreallocMode prealloc,
                                        BdrvRequestFlags flags, Error **errp)
{
    BDRVMemState *s = bs->opaque;

    if (prealloc != PREALLOC_MODE_OFF) {
        error_setg(errp, "Unsupported preallocation mode '%s'",
                   prealloc_mode_name(prealloc));
        return -ENOTSUP;
    }
    s->img->data = xrealloc(s->img->data, offset ? offset : 1);
    if (offset > s->img->size) {
        memset(s->img->data + s->img->size, 0, offset - s->img->size);
    }
    s->img->size = offset;
    return 0;
}

static int64_t coroutine_fn mem_co_getlength(BlockDriverState *bs)
{
    BDRVMemState *s = bs->opaque;

    return s->img->size;
}

static int mem_has_zero_init(BlockDriverState *bs)
{
    return 1;
}

static int coroutine_fn mem_co_create_opts(const BlockDriver *drv,
                                           const char *filename,
                                           QemuOpts *opts, Error **errp)
{
    const char *name = filename;

    strstart(filename, "mem:", &name);
    mem_image_create(name, ROUND_UP(qemu_opt_get_size_del(opts, "size", 0),
                                    BDRV_SECTOR_SIZE));
    return 0;
}

static QemuOptDesc mem_create_desc[] = {
    { .name = "size", .type = QEMU_OPT_SIZE, .help = "Virtual disk size" },
    { NULL },
};

static QemuOptsList mem_create_opts = {
    .name = "mem-create-opts",
    .desc = mem_create_desc,
};

static const BlockDriver bdrv_mem = {
    .format_name = "mem",
    .protocol_name = "mem",
    .instance_size = sizeof(BDRVMemState),
    .bdrv_open = mem_open,
    .bdrv_refresh_limits = mem_refresh_limits,
    .create_opts = &mem_create_opts,
    .bdrv_co_create_opts = mem_co_create_opts,
    .bdrv_co_preadv = mem_co_preadv,
    .bdrv_co_pwritev = mem_co_pwritev,
    .bdrv_co_pwrite_zeroes = mem_co_pwrite_zeroes,
    .bdrv_co_pdiscard = mem_co_pdiscard,
    .bdrv_co_flush_to_disk = mem_co_flush,
    .bdrv_co_truncate = mem_co_truncate,
    .bdrv_co_getlength = mem_co_getlength,
    .bdrv_has_zero_init = mem_has_zero_init,
};

/* ---- testfmt ------------------------------------------------------------- */

typedef struct BDRVTestFmtState {
    uint8_t *header;            /* 4096 bytes: sector 0 + allocation map */
    int64_t size;
    CoMutex lock;
} BDRVTestFmtState;

static int testfmt_probe(const uint8_t *buf, int buf_size,
                         const char *filename)
{
    return buf_size >= 8 && !memcmp(buf, "TESTFMT", 8) ? 100 : 0;
}

static int testfmt_load_bitmaps(BlockDriverState *bs, Error **errp);

static int testfmt_open(BlockDriverState *bs, QDict *options, int flags,
                        Error **errp)
{
    BDRVTestFmtState *s = bs->opaque;
    int ret;

    ret = bdrv_open_file_child(NULL, options, bs, errp);
    if (ret < 0) {
        return ret;
    }
    s->header = qemu_blockalign0(TESTFMT_CLUSTER);
    ret = bdrv_pread(bs->file, 0, TESTFMT_CLUSTER, s->header, 0);
    if (ret < 0 || memcmp(s->header, "TESTFMT", 8)) {
        error_setg(errp, "Image is not in testfmt format");
        ret = -EINVAL;
        goto fail;
    }
    s->size = (int64_t)ldbe64(s->header + 8);
    if (s->size < 0 ||
        s->size > (int64_t)TESTFMT_MAX_CLUSTERS * TESTFMT_CLUSTER) {
        error_setg(errp, "Invalid testfmt size");
        ret = -EINVAL;
        goto fail;
    }
    bs->total_sectors = DIV_ROUND_UP(s->size, BDRV_SECTOR_SIZE);
    memcpy(bs->backing_file, s->header + 16, 255);
    bs->backing_file[255] = '\0';
    memcpy(bs->backing_format, s->header + 272, 15);
    bs->backing_format[15] = '\0';
    qemu_co_mutex_init(&s->lock);
    ret = testfmt_load_bitmaps(bs, errp);
    if (ret < 0) {
        goto fail;
    }
    return 0;
fail:
    qemu_vfree(s->header);
    bdrv_unref_child(bs, bs->file);
    return ret;
}

static void testfmt_close(BlockDriverState *bs)
{
    BDRVTestFmtState *s = bs->opaque;

    qemu_vfree(s->header);
}

static int coroutine_fn testfmt_co_block_status(BlockDriverState *bs,
                                                bool want_zero,
                                                int64_t offset,
                                                int64_t bytes, int64_t *pnum,
                                                int64_t *map,
                                                BlockDriverState **file)
{
    BDRVTestFmtState *s = bs->opaque;
    int64_t c = offset / TESTFMT_CLUSTER;
    bool alloc = s->header[512 + c];
    int64_t n = 0;

    /* Extend over clusters with the same allocation state. */
    while (n < bytes) {
        int64_t ci = (offset + n) / TESTFMT_CLUSTER;
        int64_t end = (ci + 1) * TESTFMT_CLUSTER;

        if ((bool)s->header[512 + ci] != alloc) {
            break;
        }
        n = MIN(bytes, end - offset);
    }
    *pnum = n;
    if (!alloc) {
        return 0;
    }
    *map = TESTFMT_CLUSTER * (c + 1) + offset % TESTFMT_CLUSTER;
    *file = bs->file->bs;
    return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
}

static int coroutine_fn testfmt_co_preadv(BlockDriverState *bs,
                                          int64_t offset, int64_t bytes,
                                          QEMUIOVector *qiov,
                                          BdrvRequestFlags flags)
{
    BDRVTestFmtState *s = bs->opaque;
    int64_t done = 0;
    int ret = 0;

    while (done < bytes && ret >= 0) {
        int64_t off = offset + done;
        int64_t c = off / TESTFMT_CLUSTER;
        int64_t n = MIN(bytes - done, TESTFMT_CLUSTER - off % TESTFMT_CLUSTER);
        QEMUIOVector part;

        qemu_iovec_init_slice(&part, qiov, done, n);
        if (s->header[512 + c]) {
            ret = bdrv_co_preadv(bs->file, TESTFMT_CLUSTER * (c + 1) +
                                 off % TESTFMT_CLUSTER, n, &part, 0);
        } else if (bs->backing) {
            ret = bdrv_co_preadv(bs->backing, off, n, &part, 0);
        } else {
            qemu_iovec_memset(&part, 0, 0, n);
        }
        qemu_iovec_destroy(&part);
        done += n;
    }
    return ret;
}

static int coroutine_fn testfmt_co_pwritev(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov,
                                           BdrvRequestFlags flags)
{
    BDRVTestFmtState *s = bs->opaque;
    uint8_t *cbuf = qemu_blockalign(TESTFMT_CLUSTER);
    int64_t done = 0;
    int ret = 0;

    qemu_co_mutex_lock(&s->lock);
    while (done < bytes && ret >= 0) {
        int64_t off = offset + done;
        int64_t c = off / TESTFMT_CLUSTER;
        int64_t in = off % TESTFMT_CLUSTER;
        int64_t n = MIN(bytes - done, TESTFMT_CLUSTER - in);
        int64_t host = TESTFMT_CLUSTER * (c + 1);

        if (c >= TESTFMT_MAX_CLUSTERS) {
            ret = -ENOSPC;
            break;
        }
        if (s->header[512 + c]) {
            QEMUIOVector part;

            qemu_iovec_init_slice(&part, qiov, done, n);
            ret = bdrv_co_pwritev(bs->file, host + in, n, &part, 0);
            qemu_iovec_destroy(&part);
        } else {
            /* Copy-on-write of the whole cluster, then the map entry. */
            QEMUIOVector cq;

            qemu_iovec_init_buf(&cq, cbuf, TESTFMT_CLUSTER);
            if (bs->backing) {
                ret = bdrv_co_preadv(bs->backing, c * TESTFMT_CLUSTER,
                                     TESTFMT_CLUSTER, &cq, 0);
            } else {
                memset(cbuf, 0, TESTFMT_CLUSTER);
            }
            if (ret >= 0) {
                qemu_iovec_to_buf(qiov, done, cbuf + in, n);
                ret = bdrv_co_pwritev(bs->file, host, TESTFMT_CLUSTER, &cq,
                                      0);
            }
            if (ret >= 0) {
                s->header[512 + c] = 1;
                ret = bdrv_co_pwrite(bs->file, 512 + c, 1,
                                     s->header + 512 + c, 0);
            }
        }
        done += n;
    }
    qemu_co_mutex_unlock(&s->lock);
    qemu_vfree(cbuf);
    return ret;
}

static int testfmt_change_backing_file(BlockDriverState *bs,
                                       const char *backing_file,
                                       const char *backing_fmt)
{
    BDRVTestFmtState *s = bs->opaque;

    memset(s->header + 16, 0, 256 + 16);
    pstrcpy((char *)s->header + 16, 256, backing_file ? backing_file : "");
    pstrcpy((char *)s->header + 272, 16, backing_fmt ? backing_fmt : "");
    return bdrv_pwrite(bs->file, 0, 512, s->header, 0);
}

static int testfmt_make_empty(BlockDriverState *bs)
{
    BDRVTestFmtState *s = bs->opaque;

    memset(s->header + 512, 0, TESTFMT_CLUSTER - 512);
    return bdrv_pwrite(bs->file, 512, TESTFMT_CLUSTER - 512,
                       s->header + 512, 0);
}

/* ---- testfmt's persistent bitmaps (a registry in memory) ---------------- */

#define TESTFMT_MAX_BITMAPS 8
#define TESTFMT_MAX_BITMAP_NAME 32

static TestfmtBitmap *stored_bitmaps;

static const char *testfmt_key(BlockDriverState *bs)
{
    return bs->file->bs->filename;
}

TestfmtBitmap *testfmt_stored_bitmap(const char *file, const char *name)
{
    TestfmtBitmap *b;

    for (b = stored_bitmaps; b; b = b->next) {
        if (!strcmp(b->file, file) && !strcmp(b->name, name)) {
            return b;
        }
    }
    return NULL;
}

static void testfmt_drop_stored(TestfmtBitmap *victim)
{
    TestfmtBitmap **p;

    for (p = &stored_bitmaps; *p; p = &(*p)->next) {
        if (*p == victim) {
            *p = victim->next;
            free(victim->data);
            free(victim);
            return;
        }
    }
}

void testfmt_forget_bitmaps(const char *file)
{
    TestfmtBitmap *b = stored_bitmaps;

    while (b) {
        TestfmtBitmap *next = b->next;

        if (!file || !strcmp(b->file, file)) {
            testfmt_drop_stored(b);
        }
        b = next;
    }
}

/*
 * As qcow2 does: bitmaps are loaded at open; a writable open marks them in
 * use until they are stored again, so one found in use was not stored
 * after its last writable open and is inconsistent.
 */
static int testfmt_load_bitmaps(BlockDriverState *bs, Error **errp)
{
    TestfmtBitmap *b;

    for (b = stored_bitmaps; b; b = b->next) {
        BdrvDirtyBitmap *bm;

        if (strcmp(b->file, testfmt_key(bs))) {
            continue;
        }
        bm = bdrv_create_dirty_bitmap(bs, b->granularity, b->name, errp);
        if (!bm) {
            return -EINVAL;
        }
        bdrv_dirty_bitmap_set_persistence(bm, true);
        if (b->in_use) {
            bdrv_dirty_bitmap_set_inconsistent(bm);
            continue;
        }
        if (b->data) {
            bdrv_dirty_bitmap_deserialize_part(bm, b->data, 0, b->size);
        }
        if (!b->enabled) {
            bdrv_disable_dirty_bitmap(bm);
        }
        if (bs->read_only) {
            bdrv_dirty_bitmap_set_readonly(bm, true);
        } else {
            b->in_use = true;
        }
    }
    return 0;
}

static bool testfmt_can_store_new_dirty_bitmap(BlockDriverState *bs,
                                               const char *name,
                                               uint32_t granularity,
                                               Error **errp)
{
    TestfmtBitmap *b;
    int n = 0;

    for (b = stored_bitmaps; b; b = b->next) {
        n += !strcmp(b->file, testfmt_key(bs));
    }
    if (strlen(name) > TESTFMT_MAX_BITMAP_NAME) {
        error_setg(errp, "Can't make bitmap '%s' persistent in '%s': Name "
                   "length exceeds maximum (%d characters)", name,
                   bs->node_name, TESTFMT_MAX_BITMAP_NAME);
        return false;
    }
    if (n >= TESTFMT_MAX_BITMAPS) {
        error_setg(errp, "Can't make bitmap '%s' persistent in '%s': Too "
                   "many bitmaps", name, bs->node_name);
        return false;
    }
    return true;
}

static int testfmt_remove_persistent_dirty_bitmap(BlockDriverState *bs,
                                                  const char *name,
                                                  Error **errp)
{
    TestfmtBitmap *b = testfmt_stored_bitmap(testfmt_key(bs), name);

    if (b) {
        testfmt_drop_stored(b);
    }
    return 0;
}

static int testfmt_store_persistent_dirty_bitmaps(BlockDriverState *bs,
                                                  Error **errp)
{
    BdrvDirtyBitmap *bm;

    for (bm = bdrv_dirty_bitmap_first(bs); bm;
         bm = bdrv_dirty_bitmap_next(bm)) {
        const char *name = bdrv_dirty_bitmap_name(bm);
        TestfmtBitmap *b;
        int64_t size = bdrv_dirty_bitmap_size(bm);

        if (!name || !bdrv_dirty_bitmap_get_persistence(bm) ||
            bdrv_dirty_bitmap_inconsistent(bm)) {
            continue;
        }
        b = testfmt_stored_bitmap(testfmt_key(bs), name);
        if (!b) {
            b = xzalloc(sizeof(*b));
            pstrcpy(b->file, sizeof(b->file), testfmt_key(bs));
            pstrcpy(b->name, sizeof(b->name), name);
            b->next = stored_bitmaps;
            stored_bitmaps = b;
        }
        free(b->data);
        b->granularity = bdrv_dirty_bitmap_granularity(bm);
        b->enabled = bdrv_dirty_bitmap_enabled(bm);
        b->size = size;
        b->data_len = bdrv_dirty_bitmap_serialization_size(bm, 0, size);
        b->data = xzalloc(b->data_len + 1);
        bdrv_dirty_bitmap_serialize_part(bm, b->data, 0, size);
        b->in_use = false;
        b->stores++;
    }
    return 0;
}

static const BlockDriver bdrv_testfmt = {
    .format_name = "testfmt",
    .instance_size = sizeof(BDRVTestFmtState),
    .is_format = true,
    .supports_backing = true,
    .bdrv_probe = testfmt_probe,
    .bdrv_open = testfmt_open,
    .bdrv_close = testfmt_close,
    .bdrv_co_preadv = testfmt_co_preadv,
    .bdrv_co_pwritev = testfmt_co_pwritev,
    .bdrv_co_block_status = testfmt_co_block_status,
    .bdrv_change_backing_file = testfmt_change_backing_file,
    .bdrv_make_empty = testfmt_make_empty,
    .bdrv_can_store_new_dirty_bitmap = testfmt_can_store_new_dirty_bitmap,
    .bdrv_remove_persistent_dirty_bitmap =
        testfmt_remove_persistent_dirty_bitmap,
    .bdrv_store_persistent_dirty_bitmaps =
        testfmt_store_persistent_dirty_bitmaps,
};

MemImage *testfmt_image_create(const char *name, int64_t size,
                               const char *backing, const char *backing_fmt)
{
    MemImage *img = mem_image_create(name, TESTFMT_CLUSTER);
    uint8_t *h = mem_image_data(img);

    memcpy(h, "TESTFMT", 8);
    stbe64(h + 8, (uint64_t)size);
    if (backing) {
        pstrcpy((char *)h + 16, 256, backing);
    }
    if (backing_fmt) {
        pstrcpy((char *)h + 272, 16, backing_fmt);
    }
    return img;
}

/* ---- helpers ------------------------------------------------------------- */

void test_block_init(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    bdrv_init();
    if (!bdrv_register(&bdrv_mem) || !bdrv_register(&bdrv_testfmt)) {
        abort();
    }
}

BlockBackend *test_open(const char *name, const char *fmt, bool rw)
{
    char *filename = xasprintf("mem:%s", name);
    Error *err = NULL;
    BlockBackend *blk;

    test_block_init();
    blk = blk_new_open(filename, fmt, NULL, rw ? BDRV_O_RDWR : 0, &err);
    if (!blk) {
        fprintf(stderr, "test_open %s: %s\n", filename,
                error_get_pretty(err));
        abort();
    }
    free(filename);
    return blk;
}

typedef struct CoGroup {
    CoroutineEntry *fn;
    void *opaque;
    int running;
} CoGroup;

typedef struct CoSlot {
    CoGroup *group;
    int index;
} CoSlot;

static void coroutine_fn test_co_trampoline(void *opaque)
{
    CoSlot *slot = opaque;

    slot->group->fn(slot->group->opaque);
    slot->group->running--;
}

void test_run_coroutines(int n, CoroutineEntry *fn, void *opaque)
{
    CoGroup group = { .fn = fn, .opaque = opaque, .running = n };
    CoSlot *slots = xcalloc(n, sizeof(*slots));
    int i;

    for (i = 0; i < n; i++) {
        slots[i].group = &group;
        slots[i].index = i;
        qemu_coroutine_enter(qemu_coroutine_create(test_co_trampoline,
                                                   &slots[i]));
    }
    while (group.running > 0) {
        aio_poll(qemu_get_aio_context(), true);
    }
    free(slots);
}
