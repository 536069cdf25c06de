/*
 * Unit tests of the qcow2 driver on the in-memory protocol ("mem").
 *
 * Images are created through the driver's create and inspected byte by
 * byte; the expected layouts are the reference's (QEMU 7.2), learnt by
 * creating the same images with it.
 */
#include "config-host.h"

#include <check.h>

#include "block/block_int.h"
#include "util/bswap.h"
#include "util/cutils.h"
#include "util/option.h"
#include "util/thread-pool.h"
#include "lib/test-block.h"

#define MEM_NAME "qcow2-test"
#define MEM_PATH "mem:" MEM_NAME
#define L2E_OFFSET_MASK_TEST 0x00fffffffffffe00ULL

static const BlockDriver *qcow2_drv(void)
{
    BlockDriver *drv = bdrv_find_format("qcow2");

    ck_assert_ptr_nonnull(drv);
    return drv;
}

/* Creates mem image NAME as qcow2 of size bytes with -o style options. */
static void create_image(const char *name, int64_t size, const char *options)
{
    BlockDriver *drv = (BlockDriver *)qcow2_drv();
    QemuOptsList *list = qemu_opts_append(NULL, bdrv_create_opts(drv));
    QemuOpts *opts = qemu_opts_create(list);
    char path[64];
    Error *err = NULL;
    int ret;

    mem_image_create(name, 0);
    snprintf(path, sizeof(path), "mem:%s", name);
    if (options) {
        ck_assert_msg(qemu_opts_do_parse(opts, options, NULL, &err),
                      "options '%s'", options);
    }
    ck_assert(qemu_opt_set_number(opts, "size", size, &err));
    ret = bdrv_create(drv, path, opts, &err);
    ck_assert_msg(ret == 0, "create '%s': %s", options ? options : "",
                  err ? error_get_pretty(err) : "");
    qemu_opts_del(opts);
    qemu_opts_free(list);
}

static BlockBackend *open_image(const char *name, const char *extra_opts)
{
    QDict *options = NULL;
    char path[64];
    Error *err = NULL;
    BlockBackend *blk;

    snprintf(path, sizeof(path), "mem:%s", name);
    if (extra_opts) {
        options = keyval_parse_flat(extra_opts, NULL, &err);
        ck_assert_ptr_nonnull(options);
    }
    blk = blk_new_open(path, "qcow2", options, BDRV_O_RDWR | BDRV_O_UNMAP,
                       &err);
    ck_assert_msg(blk != NULL, "open: %s", err ? error_get_pretty(err) : "");
    return blk;
}

static uint8_t *image_bytes(const char *name)
{
    return mem_image_data(mem_image_find(name));
}

/* A deterministic byte for guest offset off under seed. */
static uint8_t pattern_byte(uint64_t off, unsigned seed)
{
    /* splitmix64: incompressible, position dependent */
    uint64_t x = off * 0x9e3779b97f4a7c15ULL + seed * 0x632be59bd9b4e019ULL;

    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void write_pattern(BlockBackend *blk, int64_t off, int64_t len,
                          unsigned seed)
{
    uint8_t *buf = qemu_blockalign(len);
    int64_t i;

    for (i = 0; i < len; i++) {
        buf[i] = pattern_byte(off + i, seed);
    }
    ck_assert_int_ge(blk_pwrite(blk, off, len, buf, 0), 0);
    qemu_vfree(buf);
}

/* Reads [off, off+len) and compares with model (the guest's whole disk). */
static void verify_model(BlockBackend *blk, const uint8_t *model, int64_t off,
                         int64_t len)
{
    uint8_t *buf = qemu_blockalign(len);

    ck_assert_int_ge(blk_pread(blk, off, len, buf, 0), 0);
    ck_assert_msg(memcmp(buf, model + off, len) == 0,
                  "data mismatch in [%" PRId64 ", +%" PRId64 ")", off, len);
    qemu_vfree(buf);
}

static void model_write(BlockBackend *blk, uint8_t *model, int64_t off,
                        int64_t len, unsigned seed)
{
    int64_t i;

    write_pattern(blk, off, len, seed);
    for (i = 0; i < len; i++) {
        model[off + i] = pattern_byte(off + i, seed);
    }
}

static void assert_clean(BlockBackend *blk)
{
    BdrvCheckResult res;

    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(bdrv_check(blk_bs(blk), &res, 0), 0);
    ck_assert_int_eq(res.corruptions, 0);
    ck_assert_int_eq(res.leaks, 0);
    ck_assert_int_eq(res.check_errors, 0);
}

static uint64_t refcount_at(const uint8_t *img, int cluster_bits,
                            int refcount_order, uint64_t cluster)
{
    uint64_t rt = ldbe64(img + 48);
    uint64_t bits = 1 << refcount_order;
    uint64_t per_block = ((uint64_t)8 << cluster_bits) / bits;
    uint64_t block = ldbe64(img + rt + 8 * (cluster / per_block)) &
                     ~511ULL;
    uint64_t idx = cluster % per_block;

    if (!block) {
        return 0;
    }
    if (bits >= 8) {
        uint64_t v = 0;
        unsigned i;

        for (i = 0; i < bits / 8; i++) {
            v = (v << 8) | img[block + idx * bits / 8 + i];
        }
        return v;
    }
    return (img[block + idx * bits / 8] >> ((idx * bits) % 8)) &
           ((1 << bits) - 1);
}

static void setup(void)
{
    test_block_init();
}

/* ---- create ------------------------------------------------------------ */

START_TEST(test_create_layout)
{
    static const int cluster_bits[] = { 9, 12, 16, 21 };
    static const int orders[] = { 0, 1, 2, 3, 4, 5, 6 };
    size_t i, j;

    for (i = 0; i < ARRAY_SIZE(cluster_bits); i++) {
        for (j = 0; j < ARRAY_SIZE(orders); j++) {
            char opts[128];
            int cb = cluster_bits[i];
            uint64_t cs = 1ULL << cb;
            const uint8_t *img;
            uint64_t l1_entries;

            snprintf(opts, sizeof(opts), "cluster_size=%" PRIu64
                     ",refcount_bits=%d", cs, 1 << orders[j]);
            create_image(MEM_NAME, 64 * MiB, opts);
            img = image_bytes(MEM_NAME);
            ck_assert_uint_eq(ldbe32(img), 0x514649fb);
            ck_assert_uint_eq(ldbe32(img + 4), 3);
            ck_assert_uint_eq(ldbe32(img + 20), cb);
            ck_assert_uint_eq(ldbe64(img + 24), 64 * MiB);
            /* Header, refcount table, block, then the L1 table. */
            ck_assert_uint_eq(ldbe64(img + 48), cs);
            ck_assert_uint_eq(ldbe64(img + cs), 2 * cs);
            ck_assert_uint_eq(ldbe64(img + 40), 3 * cs);
            l1_entries = DIV_ROUND_UP(64 * MiB, cs * (cs / 8));
            ck_assert_uint_eq(ldbe32(img + 36), l1_entries);
            ck_assert_uint_eq(ldbe32(img + 96), orders[j]);
            ck_assert_uint_eq(refcount_at(img, cb, orders[j], 0), 1);
            ck_assert_uint_eq(refcount_at(img, cb, orders[j], 3), 1);
            /* The feature table only for clusters above 4 KiB. */
            ck_assert_uint_eq(ldbe32(img + 112) == 0x6803f857, cs > 4096);
        }
    }
}
END_TEST

START_TEST(test_create_v2_and_options)
{
    const uint8_t *img;

    create_image(MEM_NAME, 1 * GiB, "compat=0.10");
    img = image_bytes(MEM_NAME);
    ck_assert_uint_eq(ldbe32(img + 4), 2);
    /* No extensions in a v2 header without a backing file. */
    ck_assert_uint_eq(ldbe32(img + 72), 0);

    create_image(MEM_NAME, 1 * GiB,
                 "lazy_refcounts=on,extended_l2=on,compression_type=zstd");
    img = image_bytes(MEM_NAME);
    ck_assert_uint_eq(ldbe64(img + 72), 0x18);     /* compression, ext L2 */
    ck_assert_uint_eq(ldbe64(img + 80), 1);        /* lazy refcounts */
    ck_assert_uint_eq(img[104], 1);                /* zstd */
    /* Extended L2 entries halve the entries of an L2 table. */
    ck_assert_uint_eq(ldbe32(img + 36), 4);
}
END_TEST

START_TEST(test_create_preallocation)
{
    const uint8_t *img;
    uint64_t l1, l2;
    int i;

    create_image(MEM_NAME, 200 * MiB, "preallocation=metadata");
    img = image_bytes(MEM_NAME);
    l1 = ldbe64(img + 40);
    l2 = ldbe64(img + l1) & L2E_OFFSET_MASK_TEST;
    ck_assert_uint_eq(l2, 0x40000);
    /* The data clusters follow the L2 table in one run. */
    for (i = 0; i < 3200; i++) {
        ck_assert_uint_eq(ldbe64(img + l2 + 8 * i),
                          0x8000000000000000ULL | (0x50000 + i * 0x10000ULL));
    }

    /* 512-byte clusters: the refcount table grows and moves four times. */
    create_image(MEM_NAME, 20 * MiB, "preallocation=metadata,"
                 "cluster_size=512,refcount_bits=64");
    img = image_bytes(MEM_NAME);
    ck_assert_uint_eq(ldbe64(img + 48), 28744 * 512);
    ck_assert_uint_eq(ldbe32(img + 56), 11);
}
END_TEST

START_TEST(test_create_bad_options)
{
    BlockDriver *drv = (BlockDriver *)qcow2_drv();
    static const char *const bad[] = {
        "cluster_size=1000", "cluster_size=4M", "refcount_bits=3",
        "refcount_bits=128", "compat=0.10,lazy_refcounts=on",
        "compat=0.10,refcount_bits=8", "extended_l2=on,cluster_size=8k",
        "compression_type=lzo", "compat=2.0", "preallocation=sparse",
        "data_file_raw=on",
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        QemuOptsList *list = qemu_opts_append(NULL, bdrv_create_opts(drv));
        QemuOpts *opts = qemu_opts_create(list);
        Error *err = NULL;

        mem_image_create(MEM_NAME, 0);
        ck_assert(qemu_opts_do_parse(opts, bad[i], NULL, &err));
        ck_assert(qemu_opt_set_number(opts, "size", MiB, &err));
        ck_assert_msg(bdrv_create(drv, MEM_PATH, opts, &err) < 0,
                      "'%s' accepted", bad[i]);
        ck_assert_ptr_nonnull(err);
        error_free(err);
        qemu_opts_del(opts);
        qemu_opts_free(list);
    }
}
END_TEST

/* ---- reads and writes ------------------------------------------------ */

static void rw_workload(const char *opts, int64_t size)
{
    static const int64_t offs[][2] = {
        { 0, 4096 }, { 1000, 70000 }, { 65536 * 3 + 17, 1 },
        { 1 * MiB - 300, 600 }, { 5 * MiB, 3 * 65536 }, { 123457, 54321 },
        { 0, 512 }, { 7 * MiB + 5, 200000 },
    };
    uint8_t *model = xzalloc(size);
    BlockBackend *blk;
    size_t i;

    create_image(MEM_NAME, size, opts);
    blk = open_image(MEM_NAME, NULL);
    for (i = 0; i < ARRAY_SIZE(offs); i++) {
        model_write(blk, model, offs[i][0], offs[i][1], i + 1);
        verify_model(blk, model, offs[i][0], offs[i][1]);
    }
    verify_model(blk, model, 0, size);
    assert_clean(blk);
    blk_unref(blk);

    /* And again after reopening: everything reached the "disk". */
    blk = open_image(MEM_NAME, NULL);
    verify_model(blk, model, 0, size);
    assert_clean(blk);
    blk_unref(blk);
    free(model);
}

START_TEST(test_rw_cluster_sizes)
{
    static const char *const opts[] = {
        "cluster_size=512", "cluster_size=4k", "cluster_size=64k",
        "cluster_size=2M", "compat=0.10", "refcount_bits=1",
        "refcount_bits=64", "lazy_refcounts=on", "extended_l2=on",
        "extended_l2=on,cluster_size=16k", "extended_l2=on,cluster_size=2M",
    };

    rw_workload(opts[_i], 8 * MiB);
}
END_TEST

/* A small L2 cache forces evictions (and write-back) all the time. */
START_TEST(test_cache_eviction)
{
    int64_t size = 64 * MiB;
    uint8_t *model = xzalloc(size);
    BlockBackend *blk;
    int64_t off;
    unsigned seed = 1;

    create_image(MEM_NAME, size, "cluster_size=4k");
    blk = open_image(MEM_NAME, "l2-cache-size=8k,refcount-cache-size=16k");
    /* 4 KiB clusters: one L2 table maps 2 MiB; touch 32 of them. */
    for (off = 0; off < size; off += 2 * MiB + 12288) {
        model_write(blk, model, off, 5000, seed++);
    }
    for (off = size - 4096; off > 0; off -= 3 * MiB) {
        model_write(blk, model, off, 4096, seed++);
    }
    verify_model(blk, model, 0, size);
    assert_clean(blk);
    blk_unref(blk);
    blk = open_image(MEM_NAME, NULL);
    verify_model(blk, model, 0, size);
    assert_clean(blk);
    blk_unref(blk);
    free(model);
}
END_TEST

/* Several coroutines write overlapping ranges at once. */
typedef struct ConcurrentCtx {
    BlockBackend *blk;
    int next;
} ConcurrentCtx;

static void coroutine_fn concurrent_writer(void *opaque)
{
    ConcurrentCtx *c = opaque;
    int me = c->next++;
    uint8_t *buf = qemu_blockalign(65536);
    QEMUIOVector qiov;
    int i;

    /* Each writer owns a stripe of bytes inside shared clusters. */
    for (i = 0; i < 16; i++) {
        int64_t off = (int64_t)i * 65536 + me * 8192 + 100;

        memset(buf, 'a' + me, 8192);
        qemu_iovec_init_buf(&qiov, buf, 8000);
        ck_assert_int_ge(blk_co_pwritev(c->blk, off, 8000, &qiov, 0), 0);
    }
    qemu_vfree(buf);
}

START_TEST(test_concurrent_writes)
{
    ConcurrentCtx c;
    uint8_t *buf = qemu_blockalign(16 * 65536);
    int i, w;

    create_image(MEM_NAME, 16 * MiB, NULL);
    c.blk = open_image(MEM_NAME, NULL);
    c.next = 0;
    test_run_coroutines(8, concurrent_writer, &c);
    ck_assert_int_ge(blk_pread(c.blk, 0, 16 * 65536, buf, 0), 0);
    for (i = 0; i < 16; i++) {
        for (w = 0; w < 8; w++) {
            int64_t off = (int64_t)i * 65536 + w * 8192 + 100;
            int k;

            for (k = 0; k < 8000; k++) {
                ck_assert_int_eq(buf[off + k], 'a' + w);
            }
        }
    }
    assert_clean(c.blk);
    blk_unref(c.blk);
    qemu_vfree(buf);
}
END_TEST

/* ---- zero clusters and discard ----------------------------------------- */

START_TEST(test_zero_and_discard)
{
    int64_t size = 8 * MiB;
    uint8_t *model = xzalloc(size);
    const uint8_t *img;
    BlockBackend *blk;
    uint64_t l2;

    create_image(MEM_NAME, size, NULL);
    blk = open_image(MEM_NAME, NULL);
    model_write(blk, model, 0, 4 * 65536, 3);
    /* Zeroes as metadata: the cluster keeps its host offset, flag 1. */
    ck_assert_int_ge(blk_pwrite_zeroes(blk, 65536, 65536, 0), 0);
    memset(model + 65536, 0, 65536);
    /* With unmap the cluster is freed. */
    ck_assert_int_ge(blk_pwrite_zeroes(blk, 2 * 65536, 65536,
                                       BDRV_REQ_MAY_UNMAP), 0);
    memset(model + 2 * 65536, 0, 65536);
    /* Discard of a whole cluster reads zero (v3, no backing). */
    ck_assert_int_ge(blk_pdiscard(blk, 3 * 65536, 65536), 0);
    memset(model + 3 * 65536, 0, 65536);
    /* A partial discard does nothing. */
    ck_assert_int_ge(blk_pdiscard(blk, 100, 1000), 0);
    verify_model(blk, model, 0, size);
    assert_clean(blk);
    blk_flush(blk);

    img = image_bytes(MEM_NAME);
    l2 = ldbe64(img + ldbe64(img + 40)) & L2E_OFFSET_MASK_TEST;
    ck_assert_uint_eq(ldbe64(img + l2 + 8), 0x8000000000060001ULL);
    ck_assert_uint_eq(ldbe64(img + l2 + 16), 1);
    ck_assert_uint_eq(ldbe64(img + l2 + 24), 1);
    /* The freed clusters are reused first. */
    model_write(blk, model, 6 * MiB, 65536, 9);
    blk_flush(blk);
    ck_assert_uint_eq(ldbe64(img + l2 + 8 * 96), 0x8000000000070000ULL);
    verify_model(blk, model, 0, size);
    assert_clean(blk);
    blk_unref(blk);
    free(model);
}
END_TEST

START_TEST(test_subclusters)
{
    int64_t size = 4 * MiB;
    uint8_t *model = xzalloc(size);
    const uint8_t *img;
    BlockBackend *blk;
    uint64_t l2, bitmap;
    int64_t pnum;
    int ret;

    create_image(MEM_NAME, size, "extended_l2=on");
    blk = open_image(MEM_NAME, NULL);
    /* 64 KiB clusters: 2 KiB subclusters. Write subclusters 1 and 2. */
    model_write(blk, model, 2048 + 100, 3000, 5);
    blk_flush(blk);
    img = image_bytes(MEM_NAME);
    l2 = ldbe64(img + ldbe64(img + 40)) & L2E_OFFSET_MASK_TEST;
    bitmap = ldbe64(img + l2 + 8);
    ck_assert_uint_eq(bitmap, 0x6);
    /* Block status is exact to the subcluster. */
    ret = bdrv_block_status_above(blk_bs(blk), NULL, 0, 65536, &pnum, NULL,
                                  NULL, NULL);
    ck_assert_int_ge(ret, 0);
    ck_assert(!(ret & BDRV_BLOCK_DATA));
    ck_assert_int_eq(pnum, 2048);
    ret = bdrv_block_status_above(blk_bs(blk), NULL, 2048, 65536, &pnum,
                                  NULL, NULL, NULL);
    ck_assert(ret & BDRV_BLOCK_DATA);
    ck_assert_int_eq(pnum, 4096);
    /* Zeroing one subcluster sets its zero bit and clears its alloc bit. */
    ck_assert_int_ge(blk_pwrite_zeroes(blk, 4096, 2048, 0), 0);
    memset(model + 4096, 0, 2048);
    blk_flush(blk);
    bitmap = ldbe64(img + l2 + 8);
    ck_assert_uint_eq(bitmap, 0x2 | (0x4ULL << 32));
    verify_model(blk, model, 0, size);
    assert_clean(blk);
    blk_unref(blk);
    free(model);
}
END_TEST

/* ---- compressed clusters -------------------------------------------------*/

START_TEST(test_compressed)
{
    static const char *const opts[] = {
        "compression_type=zlib", "compression_type=zstd",
        "compression_type=zlib,cluster_size=4k",
        "compression_type=zstd,cluster_size=2M",
    };
    int64_t cs = _i == 2 ? 4096 : _i == 3 ? 2 * MiB : 65536;
    int64_t size = 8 * cs;
    uint8_t *model = xzalloc(size);
    uint8_t *buf = qemu_blockalign(cs);
    BlockDriverState *bs;
    BlockBackend *blk;
    BdrvCheckResult res;
    int i, k;

    create_image(MEM_NAME, size, opts[_i]);
    blk = open_image(MEM_NAME, NULL);
    for (i = 0; i < 6; i++) {
        /* Compressible, except cluster 3: random bytes go uncompressed. */
        for (k = 0; k < cs; k++) {
            buf[k] = i == 3 ? pattern_byte(k, i) : (k / 100) % 7 + i;
        }
        memcpy(model + i * cs, buf, cs);
        ck_assert_int_ge(blk_pwrite_compressed(blk, i * cs, cs, buf), 0);
    }
    verify_model(blk, model, 0, size);
    /* A partial overwrite of a compressed cluster makes it normal. */
    model_write(blk, model, cs + 10, 100, 77);
    verify_model(blk, model, 0, size);

    memset(&res, 0, sizeof(res));
    bs = blk_bs(blk);
    ck_assert_int_eq(bdrv_check(bs, &res, 0), 0);
    ck_assert_int_eq(res.corruptions + res.leaks, 0);
    ck_assert_uint_eq(res.bfi.allocated_clusters, 6);
    ck_assert_uint_eq(res.bfi.compressed_clusters, 4);
    blk_unref(blk);
    blk = open_image(MEM_NAME, NULL);
    verify_model(blk, model, 0, size);
    blk_unref(blk);
    qemu_vfree(buf);
    free(model);
}
END_TEST

/* ---- backing files -------------------------------------------------------*/

START_TEST(test_backing_cow)
{
    int64_t size = 4 * MiB;
    uint8_t *model = xzalloc(size);
    BlockBackend *blk;
    const BlockDriver *drv = qcow2_drv();
    QemuOptsList *list = qemu_opts_append(NULL, bdrv_create_opts(
                                              (BlockDriver *)drv));
    QemuOpts *opts = qemu_opts_create(list);
    Error *err = NULL;

    /* Base: a qcow2 image full of a pattern. */
    create_image("qcow2-base", size, NULL);
    blk = open_image("qcow2-base", NULL);
    model_write(blk, model, 0, size, 1);
    blk_unref(blk);

    mem_image_create(MEM_NAME, 0);
    ck_assert(qemu_opts_do_parse(opts, "backing_file=mem:qcow2-base,"
                                 "backing_fmt=qcow2", NULL, &err));
    ck_assert(qemu_opt_set_number(opts, "size", size, &err));
    ck_assert_int_eq(bdrv_create((BlockDriver *)drv, MEM_PATH, opts, &err),
                     0);
    qemu_opts_del(opts);
    qemu_opts_free(list);

    blk = open_image(MEM_NAME, NULL);
    ck_assert_ptr_nonnull(blk_bs(blk)->backing);
    verify_model(blk, model, 0, size);
    /* Partial writes copy the rest of the cluster from the backing file. */
    model_write(blk, model, 1000, 10, 2);
    model_write(blk, model, 3 * 65536 - 5, 10, 3);
    verify_model(blk, model, 0, size);
    /* Discard in an overlay hides the backing data with zeroes (v3). */
    ck_assert_int_ge(blk_pdiscard(blk, 5 * 65536, 65536), 0);
    memset(model + 5 * 65536, 0, 65536);
    verify_model(blk, model, 0, size);
    assert_clean(blk);
    blk_unref(blk);
    free(model);
}
END_TEST

/* ---- crash safety ------------------------------------------------------- */

/* The crash workload: scattered writes that allocate L2 tables. */
static int crash_workload(BlockBackend *blk)
{
    uint8_t buf[6000];
    int i;

    for (i = 0; i < 24; i++) {
        memset(buf, i + 1, sizeof(buf));
        if (blk_pwrite(blk, (int64_t)i * 1234567 % (30 * MiB), sizeof(buf),
                       buf, 0) < 0) {
            return -EIO;
        }
    }
    return blk_flush(blk);
}

/*
 * A process killed at any write of a workload: that write persists only
 * its first bytes, none after it happens. The image must have no
 * corruption (leaks are allowed), and repair must make it clean.
 */
START_TEST(test_crash_consistency)
{
    MemImage *img;
    BlockBackend *blk;
    int64_t total, nth;

    /* A dry run counts the writes. */
    create_image(MEM_NAME, 32 * MiB, "cluster_size=4k");
    img = mem_image_find(MEM_NAME);
    blk = open_image(MEM_NAME, "l2-cache-size=8k");
    total = mem_image_stats(img)->writes;
    ck_assert_int_eq(crash_workload(blk), 0);
    total = mem_image_stats(img)->writes - total;
    blk_unref(blk);
    ck_assert_int_gt(total, 24);

    for (nth = 1; nth <= total; nth++) {
        BdrvCheckResult res;

        create_image(MEM_NAME, 32 * MiB, "cluster_size=4k");
        img = mem_image_find(MEM_NAME);
        blk = open_image(MEM_NAME, "l2-cache-size=8k");
        mem_image_truncate_write(img, nth, 7);
        crash_workload(blk);
        /* Dead: nothing more reaches the disk, not even at close. */
        mem_image_clear_faults(img);
        mem_image_inject(img, MEM_OP_WRITE | MEM_OP_ZERO | MEM_OP_DISCARD |
                         MEM_OP_FLUSH, 0, -EIO);
        blk_unref(blk);
        mem_image_clear_faults(img);

        blk = open_image(MEM_NAME, NULL);
        memset(&res, 0, sizeof(res));
        ck_assert_int_eq(bdrv_check(blk_bs(blk), &res, 0), 0);
        ck_assert_msg(res.corruptions == 0, "crash at write %" PRId64 ": %d "
                      "corruptions", nth, res.corruptions);
        memset(&res, 0, sizeof(res));
        ck_assert_int_eq(bdrv_check(blk_bs(blk), &res, BDRV_FIX_LEAKS), 0);
        assert_clean(blk);
        blk_unref(blk);
    }
}
END_TEST

/* ---- check, repair, corruption -------------------------------------------*/

START_TEST(test_check_repair)
{
    BlockBackend *blk;
    BdrvCheckResult res;
    uint8_t *img;
    uint64_t rb;

    create_image(MEM_NAME, 64 * MiB, NULL);
    blk = open_image(MEM_NAME, NULL);
    write_pattern(blk, 0, 128 * KiB, 1);
    write_pattern(blk, MiB, 64 * KiB, 2);
    write_pattern(blk, 2 * MiB, 64 * KiB, 3);
    ck_assert_int_ge(blk_pdiscard(blk, 2 * MiB, 64 * KiB), 0);
    blk_unref(blk);

    /* A leak: cluster 8 counted but unused (the file covers it). */
    img = image_bytes(MEM_NAME);
    rb = ldbe64(img + ldbe64(img + 48));
    ck_assert_uint_eq(ldbe16(img + rb + 2 * 8), 0);
    stbe16(img + rb + 2 * 8, 1);
    blk = open_image(MEM_NAME, NULL);
    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(bdrv_check(blk_bs(blk), &res, 0), 0);
    ck_assert_int_eq(res.leaks, 1);
    ck_assert_int_eq(res.corruptions, 0);
    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(bdrv_check(blk_bs(blk), &res, BDRV_FIX_LEAKS), 0);
    ck_assert_int_eq(res.leaks_fixed, 1);
    assert_clean(blk);
    blk_unref(blk);

    /* A refcount too low: a corruption that -r all fixes by rebuilding. */
    img = image_bytes(MEM_NAME);
    rb = ldbe64(img + ldbe64(img + 48));
    stbe16(img + rb + 2 * 5, 0);
    blk = open_image(MEM_NAME, NULL);
    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(bdrv_check(blk_bs(blk), &res, 0), 0);
    ck_assert_int_eq(res.corruptions, 2);
    memset(&res, 0, sizeof(res));
    ck_assert_int_lt(bdrv_check(blk_bs(blk), &res, BDRV_FIX_LEAKS), 0);
    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(bdrv_check(blk_bs(blk), &res,
                                BDRV_FIX_LEAKS | BDRV_FIX_ERRORS), 0);
    /* As the reference: the rebuild counts as one. */
    ck_assert_int_eq(res.corruptions_fixed, 1);
    assert_clean(blk);
    blk_unref(blk);

    /* A missing COPIED flag. */
    img = image_bytes(MEM_NAME);
    stbe64(img + 0x40000, 0x50000);
    blk = open_image(MEM_NAME, NULL);
    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(bdrv_check(blk_bs(blk), &res, BDRV_FIX_ERRORS), 0);
    ck_assert_int_eq(res.corruptions_fixed, 1);
    assert_clean(blk);
    blk_unref(blk);
}
END_TEST

START_TEST(test_corruption_on_io)
{
    BlockBackend *blk;
    Error *err = NULL;
    uint8_t buf[512];
    uint8_t *img;

    create_image(MEM_NAME, 64 * MiB, NULL);
    blk = open_image(MEM_NAME, NULL);
    write_pattern(blk, 0, 4096, 1);
    blk_unref(blk);

    /* An unaligned data cluster offset: reads fail, the image is marked. */
    img = image_bytes(MEM_NAME);
    stbe64(img + 0x40000, 0x8000000000050200ULL);
    blk = open_image(MEM_NAME, NULL);
    ck_assert_int_eq(blk_pread(blk, 0, sizeof(buf), buf, 0), -EIO);
    blk_unref(blk);
    img = image_bytes(MEM_NAME);
    ck_assert_uint_eq(ldbe64(img + 72) & 2, 2);

    /* A corrupt image opens read-only only. */
    ck_assert_ptr_null(blk_new_open(MEM_PATH, "qcow2", NULL, BDRV_O_RDWR,
                                    &err));
    ck_assert_str_eq(error_get_pretty(err), "qcow2: Image is corrupt; "
                     "cannot be opened read/write");
    error_free(err);
    err = NULL;
    blk = blk_new_open(MEM_PATH, "qcow2", NULL, 0, &err);
    ck_assert_ptr_nonnull(blk);
    blk_unref(blk);
}
END_TEST

START_TEST(test_hostile_headers)
{
    static const struct {
        int off;
        int width;
        uint64_t val;
        const char *msg;
    } cases[] = {
        { 4, 4, 4, "Unsupported qcow2 version 4" },
        { 20, 4, 8, "Unsupported cluster size: 2^8" },
        { 20, 4, 22, "Unsupported cluster size: 2^22" },
        { 72, 8, 0x20, "Unsupported qcow2 feature(s): Unknown incompatible "
          "feature: 20" },
        { 96, 4, 7, "Reference count entry width too large; may not exceed "
          "64 bits" },
        { 100, 4, 100, "qcow2 header too short" },
        { 36, 4, 0x10000000, "Active L1 table too large" },
        { 40, 8, 0x30001, "Active L1 table offset invalid" },
        { 48, 8, 0x10001, "Reference count table offset invalid" },
        { 56, 4, 0x1000000, "Reference count table too large" },
        { 32, 4, 3, "Unsupported encryption method 3" },
        { 24, 8, 0x8000000000000000ULL, "Image is too big" },
        { 60, 4, 70000, "Snapshot table too large" },
        { 64, 8, 3, "Snapshot table offset invalid" },
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        Error *err = NULL;
        uint8_t *img;

        create_image(MEM_NAME, 64 * MiB, NULL);
        img = image_bytes(MEM_NAME);
        if (cases[i].width == 8) {
            stbe64(img + cases[i].off, cases[i].val);
        } else {
            stbe32(img + cases[i].off, cases[i].val);
        }
        ck_assert_ptr_null(blk_new_open(MEM_PATH, "qcow2", NULL, 0, &err));
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(error_get_pretty(err), cases[i].msg);
        error_free(err);
    }
}
END_TEST

START_TEST(test_resize)
{
    int64_t size = 4 * MiB;
    uint8_t *model = xzalloc(64 * MiB);
    BlockBackend *blk;
    Error *err = NULL;
    const uint8_t *img;

    create_image(MEM_NAME, size, "cluster_size=4k");
    blk = open_image(MEM_NAME, NULL);
    model_write(blk, model, 0, size, 1);
    /* Grow past the L1 table's reach: it moves, old data stays. */
    ck_assert_int_eq(blk_truncate(blk, 64 * MiB, false, PREALLOC_MODE_OFF, 0,
                                  &err), 0);
    ck_assert_int_eq(blk_getlength(blk), 64 * MiB);
    model_write(blk, model, 60 * MiB, 4096, 2);
    verify_model(blk, model, 0, 64 * MiB);
    assert_clean(blk);
    /* Shrink drops what lies beyond. */
    ck_assert_int_eq(blk_truncate(blk, 2 * MiB, false, PREALLOC_MODE_OFF, 0,
                                  &err), 0);
    verify_model(blk, model, 0, 2 * MiB);
    assert_clean(blk);
    blk_unref(blk);
    img = image_bytes(MEM_NAME);
    ck_assert_uint_eq(ldbe64(img + 24), 2 * MiB);
    free(model);
}
END_TEST

/* ---- internal snapshots ------------------------------------------------ */

START_TEST(test_snapshots)
{
    int64_t size = 4 * MiB;
    uint8_t *model_a = xzalloc(size), *model_b;
    QEMUSnapshotInfo sn, *list = NULL;
    BlockBackend *blk;
    Error *err = NULL;
    BlockDriverState *bs;

    create_image(MEM_NAME, size, "cluster_size=4k");
    blk = open_image(MEM_NAME, NULL);
    bs = blk_bs(blk);
    model_write(blk, model_a, 0, 300000, 1);
    model_write(blk, model_a, 2 * MiB, 5000, 2);

    memset(&sn, 0, sizeof(sn));
    pstrcpy(sn.name, sizeof(sn.name), "first");
    ck_assert_int_eq(bdrv_snapshot_create(bs, &sn), 0);
    ck_assert_str_eq(sn.id_str, "1");
    assert_clean(blk);

    /* Writes after the snapshot copy the shared clusters. */
    model_b = xmalloc(size);
    memcpy(model_b, model_a, size);
    model_write(blk, model_b, 1000, 10000, 3);
    model_write(blk, model_b, 3 * MiB, 4096, 4);
    verify_model(blk, model_b, 0, size);
    assert_clean(blk);

    ck_assert_int_eq(bdrv_snapshot_list(bs, &list), 1);
    ck_assert_str_eq(list[0].name, "first");
    free(list);

    /* Back to the snapshot, then delete it: the data stays. */
    ck_assert_int_eq(bdrv_snapshot_goto(bs, "first", &err), 0);
    verify_model(blk, model_a, 0, size);
    assert_clean(blk);
    ck_assert_int_lt(bdrv_snapshot_goto(bs, "nosuch", &err), 0);
    ck_assert_str_eq(error_get_pretty(err), "Failed to load snapshot: No such "
                     "file or directory");
    error_free(err);
    err = NULL;
    ck_assert_int_eq(bdrv_snapshot_delete(bs, "1", "first", &err), 0);
    ck_assert_int_eq(bdrv_snapshot_list(bs, &list), 0);
    verify_model(blk, model_a, 0, size);
    assert_clean(blk);
    /* Everything is the active image's again: writes go in place. */
    model_write(blk, model_a, 0, 4096, 5);
    verify_model(blk, model_a, 0, size);
    assert_clean(blk);
    blk_unref(blk);
    free(model_a);
    free(model_b);
}
END_TEST

static Suite *qcow2_suite(void)
{
    Suite *s = suite_create("qcow2");
    TCase *tc;

    tc = tcase_create("create");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_create_layout);
    tcase_add_test(tc, test_create_v2_and_options);
    tcase_add_test(tc, test_create_preallocation);
    tcase_add_test(tc, test_create_bad_options);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("rw");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, test_rw_cluster_sizes, 0, 11);
    tcase_add_test(tc, test_cache_eviction);
    tcase_add_test(tc, test_concurrent_writes);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("zero");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_zero_and_discard);
    tcase_add_test(tc, test_subclusters);
    suite_add_tcase(s, tc);

    tc = tcase_create("compressed");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, test_compressed, 0, 4);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("backing");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_backing_cow);
    suite_add_tcase(s, tc);

    tc = tcase_create("crash");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_crash_consistency);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);

    tc = tcase_create("check");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_check_repair);
    tcase_add_test(tc, test_corruption_on_io);
    tcase_add_test(tc, test_hostile_headers);
    suite_add_tcase(s, tc);

    tc = tcase_create("snapshot");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_snapshots);
    suite_add_tcase(s, tc);

    tc = tcase_create("resize");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_resize);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(qcow2_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    thread_pool_shutdown();
    return failed ? 1 : 0;
}
