/*
 * Unit tests: the block layer's request path and node graph, on the
 * in-memory "mem" protocol (with fault injection) and the "testfmt" format
 * (for backing chains).
 */
#include "config-host.h"

#include <check.h>

#include "lib/test-block.h"
#include "util/aio.h"
#include "util/strbuf.h"

#define IMG "img"

static uint8_t *pattern_buf(int64_t len, int seed)
{
    uint8_t *buf = xmalloc(len);
    int64_t i;

    for (i = 0; i < len; i++) {
        buf[i] = (uint8_t)(i * 7 + seed * 13 + 1);
    }
    return buf;
}

/* raw over mem with node options, e.g. "align=512,max-transfer=65536". */
static BlockBackend *open_raw(const char *name, const char *file_opts,
                              int flags)
{
    QDict *opts = qdict_new();
    Error *err = NULL;
    BlockBackend *blk;
    char *fn = xasprintf("mem:%s", name);

    test_block_init();
    qdict_put_str(opts, "driver", "raw");
    qdict_put_str(opts, "file.driver", "mem");
    qdict_put_str(opts, "file.filename", fn);
    if (file_opts) {
        char *copy = xstrdup(file_opts);
        char *save = NULL;
        char *tok;

        for (tok = strtok_r(copy, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(tok, '=');
            char *key;

            ck_assert_ptr_nonnull(eq);
            *eq = '\0';
            key = xasprintf("file.%s", tok);
            qdict_put_str(opts, key, eq + 1);
            free(key);
        }
        free(copy);
    }
    blk = blk_new_open(NULL, NULL, opts, flags, &err);
    ck_assert_msg(blk, "open: %s", err ? error_get_pretty(err) : "?");
    free(fn);
    return blk;
}

/* ---- alignment and padding ----------------------------------------------- */

static void check_unaligned_io(const char *align)
{
    int64_t size = 64 * KiB;
    MemImage *img = mem_image_create(IMG, size);
    char *o = xasprintf("align=%s", align);
    BlockBackend *blk = open_raw(IMG, o, BDRV_O_RDWR);
    uint8_t *model = xzalloc(size);
    uint8_t *buf = xmalloc(size);
    static const int64_t cases[][2] = {
        { 1, 1 }, { 511, 2 }, { 100, 5000 }, { 4095, 4097 }, { 0, 513 },
        { 8191, 1 }, { 12000, 20000 }, { 65535, 1 }, { 3, 65530 },
    };
    unsigned int i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        uint8_t *p = pattern_buf(cases[i][1], (int)i);

        ck_assert_int_eq(blk_pwrite(blk, cases[i][0], cases[i][1], p, 0),
                         cases[i][1]);
        memcpy(model + cases[i][0], p, cases[i][1]);
        memset(buf, 0xaa, size);
        ck_assert_int_ge(blk_pread(blk, cases[i][0], cases[i][1], buf, 0), 0);
        ck_assert_int_eq(memcmp(buf, p, cases[i][1]), 0);
        free(p);
    }
    ck_assert_int_ge(blk_pread(blk, 0, size, buf, 0), 0);
    ck_assert_int_eq(memcmp(buf, model, size), 0);
    ck_assert_int_eq(memcmp(mem_image_data(img), model, size), 0);
    ck_assert_msg(!mem_image_stats(img)->misaligned,
                  "the driver saw a request not aligned to %s", align);
    blk_unref(blk);
    free(model);
    free(buf);
    free(o);
}

START_TEST(test_align_512)
{
    check_unaligned_io("512");
}
END_TEST

START_TEST(test_align_4096)
{
    check_unaligned_io("4096");
}
END_TEST

START_TEST(test_read_past_eof_zero)
{
    /* A node whose length is not aligned: the tail reads as zeroes. */
    MemImage *img = mem_image_create(IMG, 1000);
    BlockBackend *blk = open_raw(IMG, "align=4096", 0);
    uint8_t buf[1024];

    memset(mem_image_data(img), 0x5a, 1000);
    ck_assert_int_eq(blk_getlength(blk), 1024);
    memset(buf, 0xff, sizeof(buf));
    ck_assert_int_ge(blk_pread(blk, 0, 1024, buf, 0), 0);
    ck_assert_int_eq(buf[999], 0x5a);
    ck_assert_int_eq(buf[1000], 0);
    ck_assert_int_eq(buf[1023], 0);
    ck_assert(!mem_image_stats(img)->misaligned);
    blk_unref(blk);
}
END_TEST

/* ---- read-modify-write under concurrency --------------------------------- */

typedef struct RmwCtx {
    BlockBackend *blk;
    int next;
    int chunk;
    int failures;
} RmwCtx;

static void coroutine_fn rmw_writer(void *opaque)
{
    RmwCtx *c = opaque;
    int i = c->next++;
    uint8_t *buf = xmalloc(c->chunk);

    /* Each writer owns [i*chunk, (i+1)*chunk): blocks are shared. */
    memset(buf, i + 1, c->chunk);
    {
        QEMUIOVector qiov;

        qemu_iovec_init_buf(&qiov, buf, c->chunk);
        if (blk_co_pwritev(c->blk, (int64_t)i * c->chunk, c->chunk, &qiov,
                           0) < 0) {
            c->failures++;
        }
    }
    free(buf);
}

static void check_rmw_concurrent(const char *align, int chunk, int n)
{
    MemImage *img = mem_image_create(IMG, 256 * KiB);
    char *o = xasprintf("align=%s", align);
    BlockBackend *blk = open_raw(IMG, o, BDRV_O_RDWR);
    RmwCtx c = { .blk = blk, .chunk = chunk };
    uint8_t *data;
    int i;
    int j;

    test_run_coroutines(n, rmw_writer, &c);
    ck_assert_int_eq(c.failures, 0);
    data = mem_image_data(img);
    for (i = 0; i < n; i++) {
        for (j = 0; j < chunk; j++) {
            ck_assert_msg(data[i * chunk + j] == i + 1,
                          "byte %d of writer %d lost", j, i);
        }
    }
    ck_assert_int_gt(mem_image_stats(img)->max_in_flight, 1);
    ck_assert(!mem_image_stats(img)->misaligned);
    blk_unref(blk);
    free(o);
}

START_TEST(test_rmw_concurrent_small)
{
    check_rmw_concurrent("4096", 100, 64);
}
END_TEST

START_TEST(test_rmw_concurrent_straddle)
{
    /* Chunks straddle block boundaries: heads and tails both padded. */
    check_rmw_concurrent("512", 700, 128);
}
END_TEST

/* ---- max_transfer splitting ---------------------------------------------- */

START_TEST(test_max_transfer)
{
    int64_t size = 1 * MiB;
    MemImage *img = mem_image_create(IMG, size);
    BlockBackend *blk = open_raw(IMG, "align=512,max-transfer=65536",
                                 BDRV_O_RDWR);
    uint8_t *p = pattern_buf(size - 1000, 3);
    uint8_t *buf = xmalloc(size);

    ck_assert_int_ge(blk_pwrite(blk, 500, size - 1000, p, 0), 0);
    ck_assert_int_ge(blk_pread(blk, 500, size - 1000, buf, 0), 0);
    ck_assert_int_eq(memcmp(buf, p, size - 1000), 0);
    ck_assert(!mem_image_stats(img)->over_max_transfer);
    ck_assert_int_eq(mem_image_stats(img)->max_request, 65536);
    ck_assert_int_ge(mem_image_stats(img)->writes, 16);
    blk_unref(blk);
    free(p);
    free(buf);
}
END_TEST

/* ---- zero writes --------------------------------------------------------- */

START_TEST(test_zero_fallback)
{
    int64_t size = 4 * MiB;
    MemImage *img = mem_image_create(IMG, size);
    BlockBackend *blk = open_raw(IMG, "align=512", BDRV_O_RDWR);
    uint8_t *data = mem_image_data(img);
    int64_t i;

    memset(data, 0x11, size);
    /* Unaligned and large: the driver cannot zero, buffers are written. */
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 100, size - 200, 0), 0);
    ck_assert_int_eq(data[99], 0x11);
    ck_assert_int_eq(data[size - 100], 0x11);
    for (i = 100; i < size - 100; i++) {
        if (data[i]) {
            ck_abort_msg("byte %" PRId64 " not zeroed", i);
        }
    }
    ck_assert_int_eq(mem_image_stats(img)->zero_writes, 0);
    /* Bounded bounce buffers: no single huge write. */
    ck_assert_int_le(mem_image_stats(img)->max_request, 1 * MiB);
    ck_assert(!mem_image_stats(img)->misaligned);
    /* Fail-fast zeroing is refused when only the fallback would work. */
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 0, 4096, BDRV_REQ_NO_FALLBACK),
                     -ENOTSUP);
    blk_unref(blk);
}
END_TEST

START_TEST(test_zero_native)
{
    int64_t size = 1 * MiB;
    MemImage *img = mem_image_create(IMG, size);
    BlockBackend *blk = open_raw(IMG, "align=512,write-zeroes=on",
                                 BDRV_O_RDWR);
    uint8_t *data = mem_image_data(img);

    memset(data, 0x22, size);
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 4096, 8192,
                                       BDRV_REQ_NO_FALLBACK), 0);
    ck_assert_int_eq(mem_image_stats(img)->zero_writes, 1);
    ck_assert_int_eq(mem_image_stats(img)->writes, 0);
    ck_assert_int_eq(data[4095], 0x22);
    ck_assert_int_eq(data[4096], 0);
    ck_assert_int_eq(data[4096 + 8191], 0);
    ck_assert_int_eq(data[4096 + 8192], 0x22);
    /* Unaligned: head and tail by read-modify-write, middle natively. */
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 100000, 3000, 0), 0);
    ck_assert_int_eq(data[99999], 0x22);
    ck_assert_int_eq(data[100000], 0);
    ck_assert_int_eq(data[102999], 0);
    ck_assert_int_eq(data[103000], 0x22);
    ck_assert(!mem_image_stats(img)->misaligned);
    blk_unref(blk);
}
END_TEST

START_TEST(test_detect_zeroes)
{
    MemImage *img = mem_image_create(IMG, 64 * KiB);
    QDict *opts = qdict_new();
    Error *err = NULL;
    BlockBackend *blk;
    uint8_t *zero = xzalloc(8192);

    test_block_init();
    qdict_put_str(opts, "driver", "raw");
    qdict_put_str(opts, "detect-zeroes", "on");
    qdict_put_str(opts, "file.filename", "mem:" IMG);
    qdict_put_str(opts, "file.write-zeroes", "on");
    blk = blk_new_open(NULL, NULL, opts, BDRV_O_RDWR, &err);
    ck_assert_ptr_nonnull(blk);
    ck_assert_int_ge(blk_pwrite(blk, 0, 8192, zero, 0), 0);
    ck_assert_int_eq(mem_image_stats(img)->zero_writes, 1);
    ck_assert_int_eq(mem_image_stats(img)->writes, 0);
    blk_unref(blk);
    free(zero);
}
END_TEST

/* ---- discard and flush --------------------------------------------------- */

START_TEST(test_discard_needs_unmap)
{
    MemImage *img = mem_image_create(IMG, 64 * KiB);
    BlockBackend *blk = open_raw(IMG, NULL, BDRV_O_RDWR);

    memset(mem_image_data(img), 1, 64 * KiB);
    ck_assert_int_eq(blk_pdiscard(blk, 0, 4096), 0);
    ck_assert_int_eq(mem_image_stats(img)->discards, 0);
    blk_unref(blk);

    blk = open_raw(IMG, NULL, BDRV_O_RDWR | BDRV_O_UNMAP);
    ck_assert_int_eq(blk_pdiscard(blk, 0, 4096), 0);
    ck_assert_int_eq(mem_image_stats(img)->discards, 1);
    ck_assert_int_eq(mem_image_data(img)[0], 0);
    ck_assert_int_eq(blk_pdiscard(blk, 60 * KiB, 8 * KiB), -EIO);
    blk_unref(blk);
}
END_TEST

START_TEST(test_flush_modes)
{
    MemImage *img = mem_image_create(IMG, 64 * KiB);
    BlockBackend *blk = open_raw(IMG, NULL, BDRV_O_RDWR);
    uint8_t buf[512] = { 1 };
    int64_t before;

    /* Nothing written yet: nothing to make durable. */
    ck_assert_int_eq(blk_flush(blk), 0);
    ck_assert_int_eq(mem_image_stats(img)->flushes, 0);
    ck_assert_int_ge(blk_pwrite(blk, 0, 512, buf, 0), 0);
    ck_assert_int_eq(blk_flush(blk), 0);
    ck_assert_int_eq(mem_image_stats(img)->flushes, 1);
    ck_assert_int_eq(blk_flush(blk), 0);
    ck_assert_int_eq(mem_image_stats(img)->flushes, 1);
    /* Zero writes and discards make the node dirty too. */
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 0, 512, 0), 0);
    ck_assert_int_eq(blk_flush(blk), 0);
    ck_assert_int_eq(mem_image_stats(img)->flushes, 2);
    blk_unref(blk);

    /* cache=unsafe: nothing reaches the disk. */
    before = mem_image_stats(img)->flushes;
    blk = open_raw(IMG, NULL, BDRV_O_RDWR | BDRV_O_NO_FLUSH);
    ck_assert_int_eq(blk_flush(blk), 0);
    ck_assert_int_ge(blk_pwrite(blk, 0, 512, buf, 0), 0);
    blk_unref(blk);
    ck_assert_int_eq(mem_image_stats(img)->flushes, before);

    /* writethrough: every write is followed by a flush. */
    blk = open_raw(IMG, NULL, BDRV_O_RDWR | BDRV_O_WRITETHROUGH);
    before = mem_image_stats(img)->flushes;
    ck_assert_int_ge(blk_pwrite(blk, 0, 512, buf, 0), 0);
    ck_assert_int_ge(blk_pwrite(blk, 512, 512, buf, 0), 0);
    ck_assert_int_ge(mem_image_stats(img)->flushes, before + 2);
    blk_unref(blk);
}
END_TEST

/* ---- bounds and permissions ---------------------------------------------- */

START_TEST(test_bounds)
{
    MemImage *img = mem_image_create(IMG, 64 * KiB);
    BlockBackend *blk = open_raw(IMG, NULL, BDRV_O_RDWR);
    uint8_t buf[1024];

    ck_assert_int_eq(blk_pread(blk, 64 * KiB, 512, buf, 0), -EIO);
    ck_assert_int_eq(blk_pread(blk, 64 * KiB - 512, 1024, buf, 0), -EIO);
    ck_assert_int_eq(blk_pwrite(blk, 64 * KiB, 1, buf, 0), -EIO);
    ck_assert_int_eq(blk_pread(blk, -1, 1, buf, 0), -EIO);
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 64 * KiB - 512, 1024, 0), -EIO);
    ck_assert_int_eq(blk_pread(blk, 0, 0, buf, 0), 0);
    ck_assert_int_eq(mem_image_stats(img)->reads, 0);
    blk_unref(blk);

    blk = open_raw(IMG, NULL, 0);
    ck_assert(blk_is_read_only(blk));
    ck_assert_int_eq(blk_pwrite(blk, 0, 512, buf, 0), -EPERM);
    ck_assert_int_eq(mem_image_stats(img)->writes, 0);
    blk_unref(blk);
}
END_TEST

START_TEST(test_write_beyond_eof)
{
    MemImage *img = mem_image_create(IMG, 4096);
    BlockBackend *blk = open_raw(IMG, NULL, BDRV_O_RDWR);
    uint8_t buf[512];

    memset(buf, 9, sizeof(buf));
    blk_set_allow_write_beyond_eof(blk, true);
    ck_assert_int_ge(blk_pwrite(blk, 8192, 512, buf, 0), 0);
    ck_assert_int_eq(mem_image_size(img), 8192 + 512);
    ck_assert_int_eq(mem_image_data(img)[8192], 9);
    blk_unref(blk);
}
END_TEST

START_TEST(test_truncate)
{
    MemImage *img = mem_image_create(IMG, 4096);
    Error *err = NULL;
    BlockBackend *blk = open_raw(IMG, NULL, BDRV_O_RDWR | BDRV_O_RESIZE);

    ck_assert_int_eq(blk_truncate(blk, 1 * MiB, true, PREALLOC_MODE_OFF, 0,
                                  &err), 0);
    ck_assert_int_eq(blk_getlength(blk), 1 * MiB);
    ck_assert_int_eq(mem_image_size(img), 1 * MiB);
    ck_assert_int_lt(blk_truncate(blk, -1, true, PREALLOC_MODE_OFF, 0,
                                  &err), 0);
    ck_assert_str_eq(error_get_pretty(err), "Image size cannot be negative");
    error_free(err);
    blk_unref(blk);
}
END_TEST

/* ---- fault injection ----------------------------------------------------- */

START_TEST(test_fault_read)
{
    MemImage *img = mem_image_create(IMG, 64 * KiB);
    BlockBackend *blk = open_raw(IMG, NULL, BDRV_O_RDWR);
    uint8_t buf[4096];

    mem_image_inject(img, MEM_OP_READ, 2, -EIO);
    ck_assert_int_ge(blk_pread(blk, 0, 4096, buf, 0), 0);
    ck_assert_int_eq(blk_pread(blk, 0, 4096, buf, 0), -EIO);
    ck_assert_int_ge(blk_pread(blk, 0, 4096, buf, 0), 0);
    blk_unref(blk);
}
END_TEST

START_TEST(test_fault_write_nospc)
{
    MemImage *img = mem_image_create(IMG, 64 * KiB);
    BlockBackend *blk = open_raw(IMG, NULL, BDRV_O_RDWR);
    uint8_t *p = pattern_buf(8192, 1);

    mem_image_inject(img, MEM_OP_WRITE, 1, -ENOSPC);
    ck_assert_int_eq(blk_pwrite(blk, 4096, 8192, p, 0), -ENOSPC);
    ck_assert_int_eq(mem_image_data(img)[4096], 0);
    ck_assert_int_ge(blk_pwrite(blk, 4096, 8192, p, 0), 0);
    ck_assert_int_eq(memcmp(mem_image_data(img) + 4096, p, 8192), 0);
    blk_unref(blk);
    free(p);
}
END_TEST

START_TEST(test_fault_rmw_read)
{
    /* The read half of a read-modify-write fails: nothing is written. */
    MemImage *img = mem_image_create(IMG, 64 * KiB);
    BlockBackend *blk = open_raw(IMG, "align=4096", BDRV_O_RDWR);
    uint8_t buf[100];

    memset(mem_image_data(img), 0x33, 64 * KiB);
    memset(buf, 0x44, sizeof(buf));
    mem_image_inject(img, MEM_OP_READ, 0, -EIO);
    ck_assert_int_eq(blk_pwrite(blk, 10, 100, buf, 0), -EIO);
    ck_assert_int_eq(mem_image_stats(img)->writes, 0);
    ck_assert_int_eq(mem_image_data(img)[10], 0x33);
    mem_image_clear_faults(img);
    blk_unref(blk);
}
END_TEST

START_TEST(test_fault_range_and_truncated_write)
{
    MemImage *img = mem_image_create(IMG, 64 * KiB);
    BlockBackend *blk = open_raw(IMG, "max-transfer=4096", BDRV_O_RDWR);
    uint8_t *p = pattern_buf(16384, 2);
    uint8_t buf[4096];

    /* A split request fails when one of its pieces does. */
    mem_image_inject_range(img, MEM_OP_WRITE, 10000, 1, -EIO);
    ck_assert_int_eq(blk_pwrite(blk, 0, 16384, p, 0), -EIO);
    mem_image_clear_faults(img);
    ck_assert_int_ge(blk_pread(blk, 20000, 100, buf, 0), 0);
    mem_image_inject_range(img, MEM_OP_READ, 30000, 1, -EIO);
    ck_assert_int_eq(blk_pread(blk, 28000, 4096, buf, 0), -EIO);
    ck_assert_int_ge(blk_pread(blk, 0, 4096, buf, 0), 0);
    mem_image_clear_faults(img);

    /* A torn write: the first bytes land, the request fails. */
    mem_image_truncate_write(img, 1, 1000);
    ck_assert_int_eq(blk_pwrite(blk, 32768, 4096, p, 0), -EIO);
    ck_assert_int_eq(memcmp(mem_image_data(img) + 32768, p, 1000), 0);
    ck_assert_int_eq(mem_image_data(img)[32768 + 1000], 0);
    blk_unref(blk);
    free(p);
}
END_TEST

START_TEST(test_fault_flush)
{
    MemImage *img = mem_image_create(IMG, 64 * KiB);
    BlockBackend *blk = open_raw(IMG, NULL, BDRV_O_RDWR |
                                 BDRV_O_WRITETHROUGH);
    uint8_t buf[512] = { 0 };

    mem_image_inject(img, MEM_OP_FLUSH, 0, -EIO);
    ck_assert_int_eq(blk_flush(blk), 0);
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 0, 512, 0), -EIO);
    /* A failed flush leaves the node dirty: the next one tries again. */
    ck_assert_int_eq(blk_flush(blk), -EIO);
    ck_assert_int_eq(blk_flush(blk), -EIO);
    /* writethrough reports the failed flush of a write */
    ck_assert_int_eq(blk_pwrite(blk, 0, 512, buf, 0), -EIO);
    mem_image_clear_faults(img);
    blk_unref(blk);
}
END_TEST

/* ---- block status -------------------------------------------------------- */

START_TEST(test_status_raw_offset)
{
    QDict *opts = qdict_new();
    Error *err = NULL;
    BlockBackend *blk;
    BlockDriverState *file = NULL;
    int64_t pnum = 0;
    int64_t map = 0;
    int depth = -1;
    int ret;

    mem_image_create(IMG, 64 * KiB);
    test_block_init();
    qdict_put_str(opts, "driver", "raw");
    qdict_put_str(opts, "offset", "4096");
    qdict_put_str(opts, "size", "8192");
    qdict_put_str(opts, "file.filename", "mem:" IMG);
    blk = blk_new_open(NULL, NULL, opts, 0, &err);
    ck_assert_msg(blk, "%s", err ? error_get_pretty(err) : "");
    ck_assert_int_eq(blk_getlength(blk), 8192);
    ret = bdrv_block_status_above(blk_bs(blk), NULL, 512, 1 * MiB, &pnum,
                                  &map, &file, &depth);
    ck_assert_int_ge(ret, 0);
    ck_assert(ret & BDRV_BLOCK_DATA);
    ck_assert(ret & BDRV_BLOCK_OFFSET_VALID);
    ck_assert(ret & BDRV_BLOCK_EOF);
    ck_assert_int_eq(pnum, 8192 - 512);
    ck_assert_int_eq(map, 4096 + 512);
    ck_assert_ptr_eq(file, bdrv_file_node(blk_bs(blk)));
    ck_assert_int_eq(depth, 0);
    ck_assert(!strncmp(bdrv_get_filename(blk_bs(blk)), "json:{", 6));
    blk_unref(blk);
}
END_TEST

static void write_through(const char *name, const char *fmt, int64_t off,
                          int64_t len, int seed)
{
    BlockBackend *blk = test_open(name, fmt, true);
    uint8_t *p = pattern_buf(len, seed);

    ck_assert_int_ge(blk_pwrite(blk, off, len, p, 0), 0);
    blk_unref(blk);
    free(p);
}

START_TEST(test_backing_chain)
{
    BlockBackend *blk;
    BlockDriverState *bs;
    uint8_t *buf = xmalloc(3 * TESTFMT_CLUSTER);
    uint8_t *p0 = pattern_buf(TESTFMT_CLUSTER, 10);
    uint8_t *p1 = pattern_buf(TESTFMT_CLUSTER, 11);
    int64_t pnum;
    int depth;
    int ret;

    test_block_init();
    testfmt_image_create("base", 64 * KiB, NULL, NULL);
    testfmt_image_create("top", 64 * KiB, "mem:base", "testfmt");
    write_through("base", "testfmt", 0, TESTFMT_CLUSTER, 10);
    write_through("top", "testfmt", TESTFMT_CLUSTER, TESTFMT_CLUSTER, 11);

    blk = test_open("top", NULL, false);
    bs = blk_bs(blk);
    ck_assert_str_eq(bdrv_get_format_name(bs), "testfmt");
    ck_assert_ptr_nonnull(bdrv_backing_node(bs));
    ck_assert_str_eq(bdrv_get_backing_filename(bs), "mem:base");
    ck_assert_int_ge(blk_pread(blk, 0, 3 * TESTFMT_CLUSTER, buf, 0), 0);
    ck_assert_int_eq(memcmp(buf, p0, TESTFMT_CLUSTER), 0);
    ck_assert_int_eq(memcmp(buf + TESTFMT_CLUSTER, p1, TESTFMT_CLUSTER), 0);
    ck_assert_int_eq(buf[2 * TESTFMT_CLUSTER], 0);

    ret = bdrv_block_status_above(bs, NULL, 0, 64 * KiB, &pnum, NULL, NULL,
                                  &depth);
    ck_assert(ret & BDRV_BLOCK_ALLOCATED);
    ck_assert(ret & BDRV_BLOCK_DATA);
    ck_assert_int_eq(depth, 1);
    ck_assert_int_eq(pnum, TESTFMT_CLUSTER);
    ret = bdrv_block_status_above(bs, NULL, TESTFMT_CLUSTER, 64 * KiB, &pnum,
                                  NULL, NULL, &depth);
    ck_assert(ret & BDRV_BLOCK_DATA);
    ck_assert_int_eq(depth, 0);
    ret = bdrv_block_status_above(bs, NULL, 2 * TESTFMT_CLUSTER, 64 * KiB,
                                  &pnum, NULL, NULL, &depth);
    ck_assert(ret & BDRV_BLOCK_ZERO);
    ck_assert(!(ret & BDRV_BLOCK_DATA));
    ck_assert_int_eq(depth, 1);
    ck_assert_int_eq(pnum, 64 * KiB - 2 * TESTFMT_CLUSTER);
    ck_assert_int_eq(bdrv_is_allocated(bs, 0, TESTFMT_CLUSTER, &pnum), 0);
    ck_assert_int_eq(bdrv_is_allocated(bs, TESTFMT_CLUSTER, 1, &pnum), 1);
    ck_assert_int_eq(bdrv_is_allocated_above(bs, NULL, false, 0,
                                             TESTFMT_CLUSTER, &pnum), 1);
    blk_unref(blk);

    /* A partial write to an unallocated cluster copies from the base. */
    blk = test_open("top", "testfmt", true);
    ck_assert_int_ge(blk_pwrite(blk, 100, 10, p1, 0), 0);
    ck_assert_int_ge(blk_pread(blk, 0, TESTFMT_CLUSTER, buf, 0), 0);
    ck_assert_int_eq(memcmp(buf, p0, 100), 0);
    ck_assert_int_eq(memcmp(buf + 100, p1, 10), 0);
    ck_assert_int_eq(memcmp(buf + 110, p0 + 110, TESTFMT_CLUSTER - 110), 0);
    blk_unref(blk);
    free(buf);
    free(p0);
    free(p1);
}
END_TEST

START_TEST(test_backing_errors)
{
    Error *err = NULL;
    BlockBackend *blk;

    test_block_init();
    testfmt_image_create("top", 64 * KiB, "mem:nonexist", "testfmt");
    blk = blk_new_open("mem:top", NULL, NULL, 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_str_eq(error_get_pretty(err), "Could not open backing file: "
                     "Could not open 'mem:nonexist': No such file or "
                     "directory");
    error_free(err);
    err = NULL;

    testfmt_image_create("top", 64 * KiB, "mem:base", "nosuchfmt");
    testfmt_image_create("base", 64 * KiB, NULL, NULL);
    blk = blk_new_open("mem:top", NULL, NULL, 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_str_eq(error_get_pretty(err), "Could not open backing file: "
                     "Unknown driver 'nosuchfmt'");
    error_free(err);
    err = NULL;

    /* No backing: the chain is not opened at all. */
    blk = blk_new_open("mem:top", NULL, NULL, BDRV_O_NO_BACKING, &err);
    ck_assert_ptr_nonnull(blk);
    ck_assert_ptr_null(bdrv_backing_node(blk_bs(blk)));
    blk_unref(blk);
}
END_TEST

START_TEST(test_backing_loops)
{
    Error *err = NULL;
    BlockBackend *blk;

    test_block_init();
    testfmt_image_create("self", 64 * KiB, "mem:self", "testfmt");
    blk = blk_new_open("mem:self", NULL, NULL, 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_ptr_nonnull(strstr(error_get_pretty(err),
                                 "creates an infinite loop"));
    error_free(err);
    err = NULL;

    testfmt_image_create("x", 64 * KiB, "mem:y", "testfmt");
    testfmt_image_create("y", 64 * KiB, "mem:x", "testfmt");
    blk = blk_new_open("mem:x", NULL, NULL, 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_ptr_nonnull(strstr(error_get_pretty(err),
                                 "creates an infinite loop"));
    error_free(err);
}
END_TEST

/* ---- probing, options, registry ------------------------------------------ */

START_TEST(test_probe)
{
    BlockBackend *blk;
    uint8_t sector[512];
    MemImage *img;

    test_block_init();
    testfmt_image_create("t", 64 * KiB, NULL, NULL);
    blk = test_open("t", NULL, false);
    ck_assert_str_eq(bdrv_get_format_name(blk_bs(blk)), "testfmt");
    ck_assert(!bdrv_is_probed_raw(blk_bs(blk)));
    blk_unref(blk);

    img = mem_image_create("r", 64 * KiB);
    blk = test_open("r", NULL, true);
    ck_assert_str_eq(bdrv_get_format_name(blk_bs(blk)), "raw");
    ck_assert(bdrv_is_probed_raw(blk_bs(blk)));
    /* A probed raw image may not turn itself into another format... */
    memset(sector, 0, sizeof(sector));
    memcpy(sector, "TESTFMT", 8);
    ck_assert_int_eq(blk_pwrite(blk, 0, 512, sector, 0), -EPERM);
    ck_assert_int_eq(mem_image_data(img)[0], 0);
    /* ...not even a piece at a time: the merged sector is checked. */
    sector[0] = 'X';
    ck_assert_int_ge(blk_pwrite(blk, 0, 512, sector, 0), 0);
    ck_assert_int_eq(blk_pwrite(blk, 0, 4, "TEST", 0), -EPERM);
    ck_assert_int_eq(mem_image_data(img)[0], 'X');
    /* ...but other data, and other sectors, are fine. */
    ck_assert_int_ge(blk_pwrite(blk, 512, 512, sector, 0), 0);
    sector[0] = 'X';
    ck_assert_int_ge(blk_pwrite(blk, 0, 512, sector, 0), 0);
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 0, 512, 0), 0);
    blk_unref(blk);

    /* Raw given explicitly: no restriction. */
    blk = test_open("r", "raw", true);
    sector[0] = 'T';
    ck_assert_int_ge(blk_pwrite(blk, 0, 512, sector, 0), 0);
    ck_assert(!bdrv_is_probed_raw(blk_bs(blk)));
    blk_unref(blk);
}
END_TEST

START_TEST(test_leftover_options)
{
    QDict *opts;
    Error *err = NULL;
    BlockBackend *blk;

    mem_image_create(IMG, 4096);
    test_block_init();
    opts = qdict_new();
    qdict_put_str(opts, "driver", "raw");
    qdict_put_str(opts, "file.filename", "mem:" IMG);
    qdict_put_str(opts, "foo", "bar");
    blk = blk_new_open(NULL, NULL, opts, 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_str_eq(error_get_pretty(err),
                     "Block format 'raw' does not support the option 'foo'");
    error_free(err);
    err = NULL;

    opts = qdict_new();
    qdict_put_str(opts, "driver", "raw");
    qdict_put_str(opts, "file.filename", "mem:" IMG);
    qdict_put_str(opts, "file.foo", "bar");
    blk = blk_new_open(NULL, NULL, opts, 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_str_eq(error_get_pretty(err),
                     "Block protocol 'mem' doesn't support the option 'foo'");
    error_free(err);
    err = NULL;

    opts = qdict_new();
    qdict_put_str(opts, "driver", "nosuch");
    blk = blk_new_open(NULL, NULL, opts, 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_str_eq(error_get_pretty(err), "Unknown driver 'nosuch'");
    error_free(err);
    err = NULL;

    opts = qdict_new();
    qdict_put_str(opts, "driver", "raw");
    blk = blk_new_open(NULL, NULL, opts, 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_str_eq(error_get_pretty(err),
                     "A block device must be specified for \"file\"");
    error_free(err);
    err = NULL;

    opts = qdict_new();
    qdict_put_str(opts, "driver", "raw");
    qdict_put_str(opts, "file.filename", "mem:" IMG);
    qdict_put_str(opts, "detect-zeroes", "unmap");
    blk = blk_new_open(NULL, NULL, opts, BDRV_O_RDWR, &err);
    ck_assert_ptr_null(blk);
    ck_assert_str_eq(error_get_pretty(err), "setting detect-zeroes to unmap "
                     "is not allowed without setting discard operation to "
                     "unmap");
    error_free(err);
    err = NULL;

    blk = blk_new_open("json:{\"driver\": \"raw\", \"file\": {\"driver\": "
                       "\"mem\", \"filename\": \"mem:" IMG "\"}}", NULL,
                       NULL, 0, &err);
    ck_assert_msg(blk, "%s", err ? error_get_pretty(err) : "");
    ck_assert_str_eq(bdrv_get_filename(blk_bs(blk)), "mem:" IMG);
    blk_unref(blk);
}
END_TEST

static int fake_open(BlockDriverState *bs, QDict *o, int f, Error **errp)
{
    return 0;
}

static int coroutine_fn fake_preadv(BlockDriverState *bs, int64_t off,
                                    int64_t bytes, QEMUIOVector *qiov,
                                    BdrvRequestFlags flags)
{
    return 0;
}

START_TEST(test_register_checks)
{
    static const BlockDriver no_open = {
        .format_name = "t1", .is_format = true, .bdrv_co_preadv = fake_preadv,
    };
    static const BlockDriver no_read = {
        .format_name = "t2", .is_format = true, .bdrv_open = fake_open,
    };
    static const BlockDriver proto_no_len = {
        .format_name = "t3", .protocol_name = "t3", .bdrv_open = fake_open,
        .bdrv_co_preadv = fake_preadv,
    };
    static const BlockDriver backing_no_status = {
        .format_name = "t4", .is_format = true, .supports_backing = true,
        .bdrv_open = fake_open, .bdrv_co_preadv = fake_preadv,
    };
    static const BlockDriver dup = {
        .format_name = "raw", .is_format = true, .bdrv_open = fake_open,
        .bdrv_co_preadv = fake_preadv,
    };
    static const BlockDriver ok = {
        .format_name = "t5", .is_format = true, .bdrv_open = fake_open,
        .bdrv_co_preadv = fake_preadv,
    };

    bdrv_init();
    ck_assert(!bdrv_register(&no_open));
    ck_assert(!bdrv_register(&no_read));
    ck_assert(!bdrv_register(&proto_no_len));
    ck_assert(!bdrv_register(&backing_no_status));
    ck_assert(!bdrv_register(&dup));
    ck_assert(bdrv_register(&ok));
    ck_assert_ptr_eq(bdrv_find_format("t5"), &ok);
    ck_assert_ptr_null(bdrv_find_format("t1"));
    ck_assert_ptr_nonnull(bdrv_find_format("raw"));
    ck_assert_ptr_nonnull(bdrv_find_format("file"));
}
END_TEST

START_TEST(test_img_create_mem)
{
    BdrvImgCreateParams p = {
        .filename = "mem:created", .fmt = "raw", .img_size = 1000,
    };
    StrBuf sb = STRBUF_INIT;
    Error *err = NULL;

    test_block_init();
    ck_assert_int_eq(bdrv_img_create(&p, &sb, &err), 0);
    ck_assert_str_eq(strbuf_str(&sb),
                     "Formatting 'mem:created', fmt=raw size=1000");
    ck_assert_int_eq(mem_image_size(mem_image_find("created")), 1024);
    strbuf_release(&sb);

    p.img_size = (uint64_t)-1;
    strbuf_init(&sb);
    ck_assert_int_lt(bdrv_img_create(&p, &sb, &err), 0);
    ck_assert_str_eq(error_get_pretty(err),
                     "Image creation needs a size parameter");
    error_free(err);
    err = NULL;

    p.fmt = "nosuchfmt";
    ck_assert_int_lt(bdrv_img_create(&p, &sb, &err), 0);
    ck_assert_str_eq(error_get_pretty(err),
                     "Unknown file format 'nosuchfmt'");
    error_free(err);
    err = NULL;

    p.fmt = "raw";
    p.img_size = 4096;
    p.base_filename = "mem:x";
    p.base_fmt = "raw";
    ck_assert_int_lt(bdrv_img_create(&p, &sb, &err), 0);
    ck_assert_str_eq(error_get_pretty(err),
                     "Backing file not supported for file format 'raw'");
    error_free(err);
    strbuf_release(&sb);
}
END_TEST

static Suite *block_io_suite(void)
{
    Suite *s = suite_create("block-io");
    TCase *tc;

    tc = tcase_create("alignment");
    tcase_add_test(tc, test_align_512);
    tcase_add_test(tc, test_align_4096);
    tcase_add_test(tc, test_read_past_eof_zero);
    suite_add_tcase(s, tc);

    tc = tcase_create("rmw-concurrency");
    tcase_add_test(tc, test_rmw_concurrent_small);
    tcase_add_test(tc, test_rmw_concurrent_straddle);
    suite_add_tcase(s, tc);

    tc = tcase_create("max-transfer");
    tcase_add_test(tc, test_max_transfer);
    suite_add_tcase(s, tc);

    tc = tcase_create("zero-writes");
    tcase_add_test(tc, test_zero_fallback);
    tcase_add_test(tc, test_zero_native);
    tcase_add_test(tc, test_detect_zeroes);
    suite_add_tcase(s, tc);

    tc = tcase_create("discard-flush");
    tcase_add_test(tc, test_discard_needs_unmap);
    tcase_add_test(tc, test_flush_modes);
    suite_add_tcase(s, tc);

    tc = tcase_create("bounds");
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_write_beyond_eof);
    tcase_add_test(tc, test_truncate);
    suite_add_tcase(s, tc);

    tc = tcase_create("faults");
    tcase_add_test(tc, test_fault_read);
    tcase_add_test(tc, test_fault_write_nospc);
    tcase_add_test(tc, test_fault_rmw_read);
    tcase_add_test(tc, test_fault_range_and_truncated_write);
    tcase_add_test(tc, test_fault_flush);
    suite_add_tcase(s, tc);

    tc = tcase_create("block-status");
    tcase_add_test(tc, test_status_raw_offset);
    suite_add_tcase(s, tc);

    tc = tcase_create("backing");
    tcase_add_test(tc, test_backing_chain);
    tcase_add_test(tc, test_backing_errors);
    tcase_add_test(tc, test_backing_loops);
    suite_add_tcase(s, tc);

    tc = tcase_create("open");
    tcase_add_test(tc, test_probe);
    tcase_add_test(tc, test_leftover_options);
    tcase_add_test(tc, test_register_checks);
    tcase_add_test(tc, test_img_create_mem);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(block_io_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
