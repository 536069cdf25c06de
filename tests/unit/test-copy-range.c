/*
 * Unit tests: copy offloading (bdrv_co_copy_range, blk_co_copy_range) on
 * real files: the bytes arrive (file and raw nodes, raw's offset=, a source
 * that ends inside its last sector), bounds and permission errors, and
 * -ENOTSUP where a node on the way cannot offload (the in-memory test
 * protocol, a raw image probed as such), leaving the destination as it was.
 */
#include "config-host.h"

#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "lib/test-block.h"
#include "util/cutils.h"

static char tmpdir[] = "/tmp/test-copy-range-XXXXXX";
static char src_path[PATH_MAX];
static char dst_path[PATH_MAX];

static void setup(void)
{
    test_block_init();
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(src_path, sizeof(src_path), "%s/src.raw", tmpdir);
    snprintf(dst_path, sizeof(dst_path), "%s/dst.raw", tmpdir);
}

static void teardown(void)
{
    unlink(src_path);
    unlink(dst_path);
    rmdir(tmpdir);
}

/* Writes len bytes of a pattern depending on seed (0: zeroes) to path. */
static void write_file(const char *path, int64_t len, int seed)
{
    uint8_t *buf = xmalloc(len);
    int64_t i;
    int fd;

    for (i = 0; i < len; i++) {
        buf[i] = seed ? (uint8_t)(i * 7 + seed + i / 4096) : 0;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, buf, len), len);
    close(fd);
    free(buf);
}

/* The file's bytes [offset, offset+len) in a new buffer. */
static uint8_t *read_file(const char *path, int64_t offset, int64_t len)
{
    uint8_t *buf = xcalloc(1, len);
    int fd = open(path, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(pread(fd, buf, len, offset), 0);
    close(fd);
    return buf;
}

/* Opens path with driver (file or raw over file), extra options opts. */
static BlockBackend *open_node(const char *path, const char *driver,
                               const char *opt, const char *val, bool rw)
{
    QDict *opts = qdict_new();
    Error *err = NULL;
    BlockBackend *blk;

    qdict_put_str(opts, "driver", driver);
    qdict_put_str(opts, strcmp(driver, "file") ? "file.filename" : "filename",
                  path);
    if (opt) {
        qdict_put_str(opts, opt, val);
    }
    blk = blk_new_open(NULL, NULL, opts, rw ? BDRV_O_RDWR : 0, &err);
    ck_assert_msg(blk != NULL, "open %s: %s", path,
                  err ? error_get_pretty(err) : "");
    return blk;
}

/* The root edge of blk (its node's parent without a parent node). */
static BdrvChild *root_child(BlockBackend *blk)
{
    BdrvChild *c;

    LIST_FOREACH(c, &blk_bs(blk)->parents, next_parent) {
        if (!c->parent) {
            return c;
        }
    }
    ck_abort_msg("no root edge");
    return NULL;
}

typedef struct CopyCo {
    BlockBackend *in;
    BlockBackend *out;
    BdrvChild *src;             /* for the bdrv_ level: else from in/out */
    BdrvChild *dst;
    int64_t off_in;
    int64_t off_out;
    int64_t bytes;
    BdrvRequestFlags write_flags;
    bool to_side;               /* bdrv_co_copy_range_to */
    int ret;
} CopyCo;

static void coroutine_fn copy_co(void *opaque)
{
    CopyCo *c = opaque;

    if (c->to_side) {
        c->ret = bdrv_co_copy_range_to(c->src, c->off_in, c->dst, c->off_out,
                                       c->bytes, 0, c->write_flags);
    } else if (c->src || c->dst) {
        c->ret = bdrv_co_copy_range(c->src, c->off_in, c->dst, c->off_out,
                                    c->bytes, 0, c->write_flags);
    } else {
        c->ret = blk_co_copy_range(c->in, c->off_in, c->out, c->off_out,
                                   c->bytes, 0, c->write_flags);
    }
}

static int blk_copy(BlockBackend *in, int64_t off_in, BlockBackend *out,
                    int64_t off_out, int64_t bytes)
{
    CopyCo c = {
        .in = in, .out = out, .off_in = off_in, .off_out = off_out,
        .bytes = bytes,
    };

    test_run_coroutines(1, copy_co, &c);
    return c.ret;
}

static int bdrv_copy(BdrvChild *src, int64_t off_in, BdrvChild *dst,
                     int64_t off_out, int64_t bytes)
{
    CopyCo c = {
        .src = src, .dst = dst, .off_in = off_in, .off_out = off_out,
        .bytes = bytes,
    };

    test_run_coroutines(1, copy_co, &c);
    return c.ret;
}

/* ---- the bytes arrive ---------------------------------------------------- */

START_TEST(test_file_to_file)
{
    int64_t len = 3 * MiB;
    BlockBackend *in, *out;
    uint8_t *want, *got;

    write_file(src_path, len, 3);
    write_file(dst_path, len, 0);
    in = open_node(src_path, "file", NULL, NULL, false);
    out = open_node(dst_path, "file", NULL, NULL, true);
    /* An unaligned range at different offsets, then a large one. */
    ck_assert_int_eq(blk_copy(in, 1000, out, 70000, 123457), 0);
    ck_assert_int_eq(blk_copy(in, 2 * MiB, out, 1 * MiB + 4096, 1 * MiB),
                     0);
    blk_unref(in);
    blk_unref(out);

    want = read_file(src_path, 1000, 123457);
    got = read_file(dst_path, 70000, 123457);
    ck_assert_mem_eq(got, want, 123457);
    free(want);
    free(got);
    want = read_file(src_path, 2 * MiB, 1 * MiB);
    got = read_file(dst_path, 1 * MiB + 4096, 1 * MiB);
    ck_assert_mem_eq(got, want, 1 * MiB);
    free(want);
    free(got);
    /* Bytes around the two ranges are untouched (still zero). */
    got = read_file(dst_path, 0, 70000);
    ck_assert(buffer_is_zero(got, 70000));
    free(got);
    got = read_file(dst_path, 70000 + 123457, 1 * MiB + 4096 - 193457);
    ck_assert(buffer_is_zero(got, 1 * MiB + 4096 - 193457));
    free(got);
}
END_TEST

START_TEST(test_raw_window)
{
    BlockBackend *in, *out;
    uint8_t *want, *got;

    write_file(src_path, 1 * MiB, 5);
    write_file(dst_path, 1 * MiB, 0);
    in = open_node(src_path, "raw", "offset", "65536", false);
    out = open_node(dst_path, "raw", "offset", "131072", true);
    ck_assert_int_eq(blk_copy(in, 4096, out, 8192, 65536), 0);
    blk_unref(in);
    blk_unref(out);

    want = read_file(src_path, 65536 + 4096, 65536);
    got = read_file(dst_path, 131072 + 8192, 65536);
    ck_assert_mem_eq(got, want, 65536);
    free(want);
    free(got);
    got = read_file(dst_path, 0, 131072 + 8192);
    ck_assert(buffer_is_zero(got, 131072 + 8192));
    free(got);
}
END_TEST

/*
 * A source file of 1000 bytes is a node of 1024: the copy stops at the
 * end of the file, and the destination gets zeroes for the last 24.
 */
START_TEST(test_short_source)
{
    BlockBackend *in, *out;
    uint8_t *want, *got;

    write_file(src_path, 1000, 9);
    write_file(dst_path, 4096, 0x5a);
    in = open_node(src_path, "file", NULL, NULL, false);
    out = open_node(dst_path, "file", NULL, NULL, true);
    ck_assert_int_eq(blk_getlength(in), 1024);
    ck_assert_int_eq(blk_copy(in, 0, out, 512, 1024), 0);
    blk_unref(in);
    blk_unref(out);

    want = read_file(src_path, 0, 1000);
    got = read_file(dst_path, 512, 1024);
    ck_assert_mem_eq(got, want, 1000);
    ck_assert(buffer_is_zero(got + 1000, 24));
    free(want);
    free(got);
    /* Around it, the old bytes (the pattern of write_file). */
    got = read_file(dst_path, 511, 1);
    ck_assert_int_eq(got[0], (uint8_t)(511 * 7 + 0x5a));
    free(got);
    got = read_file(dst_path, 1536, 1);
    ck_assert_int_eq(got[0], (uint8_t)(1536 * 7 + 0x5a));
    free(got);
}
END_TEST

/* A zero "copy" (the source reads as zeroes there) needs no source. */
START_TEST(test_zero_write)
{
    BlockBackend *out;
    uint8_t *got;
    CopyCo c = {
        .off_out = 4096, .bytes = 8192, .write_flags = BDRV_REQ_ZERO_WRITE,
        .to_side = true,
    };

    write_file(dst_path, 65536, 7);
    out = open_node(dst_path, "raw", NULL, NULL, true);
    c.dst = root_child(out);
    test_run_coroutines(1, copy_co, &c);
    ck_assert_int_eq(c.ret, 0);
    blk_unref(out);
    got = read_file(dst_path, 0, 65536);
    ck_assert(buffer_is_zero(got + 4096, 8192));
    ck_assert(!buffer_is_zero(got, 4096));
    ck_assert(!buffer_is_zero(got + 12288, 4096));
    free(got);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(test_bounds)
{
    BlockBackend *in, *out;
    uint8_t *got;

    write_file(src_path, 65536, 3);
    write_file(dst_path, 65536, 0);
    in = open_node(src_path, "raw", NULL, NULL, false);
    out = open_node(dst_path, "raw", NULL, NULL, true);
    /* Past either end, negative offsets or lengths: -EIO. */
    ck_assert_int_eq(blk_copy(in, 0, out, 61440, 8192), -EIO);
    ck_assert_int_eq(blk_copy(in, 61440, out, 0, 8192), -EIO);
    ck_assert_int_eq(blk_copy(in, -512, out, 0, 512), -EIO);
    ck_assert_int_eq(blk_copy(in, 0, out, 0, -512), -EIO);
    /* The node level checks against the largest length there is. */
    ck_assert_int_eq(bdrv_copy(root_child(in), 0, root_child(out),
                               INT64_MAX - 511, 512), -EIO);
    ck_assert_int_eq(bdrv_copy(root_child(in), -1, root_child(out), 0, 512),
                     -EIO);
    /* Nothing to copy is fine. */
    ck_assert_int_eq(blk_copy(in, 0, out, 0, 0), 0);
    /* A read-only destination: -EPERM, at either level. */
    ck_assert_int_eq(blk_copy(out, 0, in, 0, 512), -EPERM);
    ck_assert_int_eq(bdrv_copy(root_child(out), 0, root_child(in), 0, 512),
                     -EPERM);
    blk_unref(in);
    blk_unref(out);
    got = read_file(dst_path, 0, 65536);
    ck_assert(buffer_is_zero(got, 65536));
    free(got);
}
END_TEST

/* ---- -ENOTSUP: the caller's fallback ------------------------------------ */

START_TEST(test_enotsup_other_protocol)
{
    BlockBackend *file, *mem;
    MemImage *img = mem_image_create("copy-mem", 65536);
    uint8_t *got;

    memset(mem_image_data(img), 0x33, 65536);
    write_file(dst_path, 65536, 0);
    file = open_node(dst_path, "raw", NULL, NULL, true);
    mem = test_open("copy-mem", "raw", true);
    /* Either way round, the mem driver cannot offload. */
    ck_assert_int_eq(blk_copy(mem, 0, file, 0, 4096), -ENOTSUP);
    ck_assert_int_eq(blk_copy(file, 0, mem, 0, 4096), -ENOTSUP);
    blk_unref(file);
    blk_unref(mem);
    got = read_file(dst_path, 0, 65536);
    ck_assert(buffer_is_zero(got, 65536));
    free(got);
    ck_assert_int_eq(mem_image_data(img)[0], 0x33);
    mem_image_delete("copy-mem");
}
END_TEST

/*
 * The first sector of a raw image opened by probing is checked before it
 * is written (no format header may appear), which needs its bytes: the
 * copy is refused there, and allowed further on.
 */
START_TEST(test_enotsup_probed_raw)
{
    BlockBackend *in, *out;
    Error *err = NULL;

    write_file(src_path, 65536, 3);
    write_file(dst_path, 65536, 0);
    in = open_node(src_path, "file", NULL, NULL, false);
    out = blk_new_open(dst_path, NULL, NULL, BDRV_O_RDWR, &err);
    ck_assert_ptr_nonnull(out);
    ck_assert(bdrv_is_probed_raw(blk_bs(out)));
    ck_assert_int_eq(blk_copy(in, 0, out, 0, 4096), -ENOTSUP);
    ck_assert_int_eq(blk_copy(in, 0, out, 4096, 4096), 0);
    blk_unref(in);
    blk_unref(out);
}
END_TEST

static Suite *copy_range_suite(void)
{
    Suite *s = suite_create("copy-range");
    TCase *tc;

    tc = tcase_create("copy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_file_to_file);
    tcase_add_test(tc, test_raw_window);
    tcase_add_test(tc, test_short_source);
    tcase_add_test(tc, test_zero_write);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bounds);
    suite_add_tcase(s, tc);

    tc = tcase_create("fallback");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_enotsup_other_protocol);
    tcase_add_test(tc, test_enotsup_probed_raw);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(copy_range_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
