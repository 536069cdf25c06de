/*
 * Unit tests: dirty bitmaps. The bit layer (ranges, counts, searches, the
 * persistent serialization, resizing), write tracking through the request
 * path, the name-based operations of 'qemu-img bitmap' with the
 * reference's errors on a format without bitmaps (raw) and on one with
 * them (testfmt, which stores them in memory as qcow2 stores them on
 * disk), and their persistence across opens.
 */
#include "config-host.h"

#include <check.h>

#include "lib/test-block.h"
#include "block/dirty-bitmap.h"

#define IMG_SIZE (1 * MiB)

static void setup(void)
{
    test_block_init();
    testfmt_forget_bitmaps(NULL);
}

static BlockDriverState *open_raw(BlockBackend **blk, int64_t size)
{
    mem_image_create("bm", size);
    *blk = test_open("bm", "raw", true);
    return blk_bs(*blk);
}

static void expect_err(Error **err, const char *msg)
{
    ck_assert_ptr_nonnull(*err);
    ck_assert_str_eq(error_get_pretty(*err), msg);
    error_free(*err);
    *err = NULL;
}

/* ---- bits ------------------------------------------------------------- */

START_TEST(test_bits)
{
    BlockBackend *blk;
    /* Not a multiple of the granularity: the last chunk is short. */
    BlockDriverState *bs = open_raw(&blk, 100 * 4096 + 512);
    Error *err = NULL;
    BdrvDirtyBitmap *bm = bdrv_create_dirty_bitmap(bs, 4096, "a", &err);
    int64_t off;
    int64_t len;

    ck_assert_ptr_nonnull(bm);
    ck_assert_int_eq(bdrv_dirty_bitmap_size(bm), 100 * 4096 + 512);
    ck_assert_int_eq(bdrv_get_dirty_count(bm), 0);
    ck_assert(bdrv_dirty_bitmap_enabled(bm));
    ck_assert(!bdrv_dirty_bitmap_get_persistence(bm));

    /* One byte dirties its whole chunk; a straddling range two. */
    bdrv_set_dirty_bitmap(bm, 5000, 1);
    ck_assert(bdrv_dirty_bitmap_get(bm, 4096));
    ck_assert(bdrv_dirty_bitmap_get(bm, 8191));
    ck_assert(!bdrv_dirty_bitmap_get(bm, 8192));
    ck_assert_int_eq(bdrv_get_dirty_count(bm), 4096);
    bdrv_set_dirty_bitmap(bm, 3 * 4096 - 1, 2);
    ck_assert_int_eq(bdrv_get_dirty_count(bm), 3 * 4096);
    /* Across a 64-chunk word boundary. */
    bdrv_set_dirty_bitmap(bm, 60 * 4096, 10 * 4096);
    ck_assert_int_eq(bdrv_get_dirty_count(bm), 13 * 4096);
    /* Setting again counts nothing twice. */
    bdrv_set_dirty_bitmap(bm, 0, 70 * 4096);
    ck_assert_int_eq(bdrv_get_dirty_count(bm), 70 * 4096);
    bdrv_reset_dirty_bitmap(bm, 10 * 4096, 4096);
    ck_assert_int_eq(bdrv_get_dirty_count(bm), 69 * 4096);

    ck_assert_int_eq(bdrv_dirty_bitmap_next_dirty(bm, 10 * 4096, -1),
                     11 * 4096);
    ck_assert_int_eq(bdrv_dirty_bitmap_next_zero(bm, 100, -1), 10 * 4096);
    ck_assert_int_eq(bdrv_dirty_bitmap_next_zero(bm, 11 * 4096, -1),
                     70 * 4096);
    ck_assert_int_eq(bdrv_dirty_bitmap_next_dirty(bm, 70 * 4096, -1), -1);
    /* Within a range: nothing dirty before its end. */
    ck_assert_int_eq(bdrv_dirty_bitmap_next_dirty(bm, 10 * 4096, 4096), -1);
    /* The offset itself when its chunk qualifies. */
    ck_assert_int_eq(bdrv_dirty_bitmap_next_dirty(bm, 4097, -1), 4097);

    off = 5 * 4096;
    ck_assert(bdrv_dirty_bitmap_next_dirty_area(bm, &off, 100 * 4096,
                                                INT64_MAX, &len));
    ck_assert_int_eq(off, 5 * 4096);
    ck_assert_int_eq(len, 5 * 4096);
    off += len;
    ck_assert(bdrv_dirty_bitmap_next_dirty_area(bm, &off, 100 * 4096,
                                                8192, &len));
    ck_assert_int_eq(off, 11 * 4096);
    ck_assert_int_eq(len, 8192);
    off = 70 * 4096;
    ck_assert(!bdrv_dirty_bitmap_next_dirty_area(bm, &off, 100 * 4096,
                                                 INT64_MAX, &len));

    /* The short last chunk counts only the bytes that exist. */
    bdrv_clear_dirty_bitmap(bm);
    ck_assert_int_eq(bdrv_get_dirty_count(bm), 0);
    bdrv_set_dirty_bitmap(bm, 100 * 4096, 1 * MiB);
    ck_assert_int_eq(bdrv_get_dirty_count(bm), 512);
    /* Out of range: ignored. */
    bdrv_set_dirty_bitmap(bm, 200 * 4096, 4096);
    bdrv_set_dirty_bitmap(bm, -1, 4096);
    ck_assert_int_eq(bdrv_get_dirty_count(bm), 512);
    ck_assert(!bdrv_dirty_bitmap_get(bm, 200 * 4096));
    blk_unref(blk);
}
END_TEST

START_TEST(test_serialize)
{
    BlockBackend *blk;
    BlockDriverState *bs = open_raw(&blk, 20 * 512);
    Error *err = NULL;
    BdrvDirtyBitmap *a = bdrv_create_dirty_bitmap(bs, 512, "a", &err);
    BdrvDirtyBitmap *b = bdrv_create_dirty_bitmap(bs, 512, "b", &err);
    uint8_t buf[8];

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(bdrv_create_dirty_bitmap(bs, 512, "a", &err));
    expect_err(&err, "Bitmap already exists: a");
    /* A granularity from a hostile image is an error, not a crash. */
    ck_assert_ptr_null(bdrv_create_dirty_bitmap(bs, 3000, "c", &err));
    expect_err(&err, "Granularity must be power of 2");
    ck_assert_ptr_null(bdrv_create_dirty_bitmap(bs, 0, "c", &err));
    expect_err(&err, "Granularity must be power of 2");

    /* Chunks 0, 3, 9 and 19 (the last): LSB first, as qcow2 stores them. */
    bdrv_set_dirty_bitmap(a, 0, 1);
    bdrv_set_dirty_bitmap(a, 3 * 512, 1);
    bdrv_set_dirty_bitmap(a, 9 * 512, 1);
    bdrv_set_dirty_bitmap(a, 19 * 512, 1);
    ck_assert_uint_eq(bdrv_dirty_bitmap_serialization_size(a, 0, 20 * 512),
                      3);
    ck_assert_uint_eq(bdrv_dirty_bitmap_serialization_coverage(a), 4096);
    memset(buf, 0xaa, sizeof(buf));
    bdrv_dirty_bitmap_serialize_part(a, buf, 0, 20 * 512);
    ck_assert_uint_eq(buf[0], 0x09);
    ck_assert_uint_eq(buf[1], 0x02);
    ck_assert_uint_eq(buf[2], 0x08);
    ck_assert_uint_eq(buf[3], 0xaa);
    /* A part from the second serialized byte on. */
    bdrv_dirty_bitmap_serialize_part(a, buf, 8 * 512, 1 * MiB);
    ck_assert_uint_eq(buf[0], 0x02);
    ck_assert_uint_eq(buf[1], 0x08);

    /* Deserializing replaces the range, and ignores bits past the end. */
    bdrv_set_dirty_bitmap(b, 0, 20 * 512);
    buf[0] = 0x81;
    buf[1] = 0x00;
    buf[2] = 0xff;
    bdrv_dirty_bitmap_deserialize_part(b, buf, 0, 20 * 512);
    ck_assert_int_eq(bdrv_get_dirty_count(b), 6 * 512);
    ck_assert(bdrv_dirty_bitmap_get(b, 7 * 512));
    ck_assert(!bdrv_dirty_bitmap_get(b, 8 * 512));
    ck_assert(bdrv_dirty_bitmap_get(b, 19 * 512));
    ck_assert(bdrv_dirty_bitmap_range_is_clean(b, 8 * 512, 8 * 512));
    ck_assert(!bdrv_dirty_bitmap_range_is_clean(b, 8 * 512, 9 * 512));
    bdrv_dirty_bitmap_serialize_part(b, buf, 0, 20 * 512);
    ck_assert_uint_eq(buf[2], 0x0f);
    blk_unref(blk);
}
END_TEST

/* ---- tracking writes --------------------------------------------------- */

START_TEST(test_track_writes)
{
    BlockBackend *blk;
    BlockDriverState *bs;
    Error *err = NULL;
    BdrvDirtyBitmap *on;
    BdrvDirtyBitmap *off;
    uint8_t buf[10] = { 1 };
    QDict *opts = qdict_new();

    mem_image_create("bm", IMG_SIZE);
    qdict_put_str(opts, "driver", "raw");
    qdict_put_str(opts, "file.filename", "mem:bm");
    blk = blk_new_open(NULL, NULL, opts, BDRV_O_RDWR | BDRV_O_UNMAP |
                       BDRV_O_RESIZE, &err);
    ck_assert_ptr_nonnull(blk);
    bs = blk_bs(blk);
    on = bdrv_create_dirty_bitmap(bs, 4096, NULL, &err);
    off = bdrv_create_dirty_bitmap(bs, 4096, "off", &err);
    bdrv_disable_dirty_bitmap(off);

    ck_assert_int_ge(blk_pwrite(blk, 5000, sizeof(buf), buf, 0), 0);
    ck_assert(bdrv_dirty_bitmap_get(on, 4096));
    ck_assert_int_eq(bdrv_get_dirty_count(on), 4096);
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 64 * KiB, 8192, 0), 0);
    ck_assert_int_eq(bdrv_get_dirty_count(on), 3 * 4096);
    ck_assert_int_eq(blk_pdiscard(blk, 128 * KiB, 4096), 0);
    ck_assert(bdrv_dirty_bitmap_get(on, 128 * KiB));
    ck_assert_int_eq(blk_pread(blk, 256 * KiB, sizeof(buf), buf, 0),
                     sizeof(buf));
    ck_assert(!bdrv_dirty_bitmap_get(on, 256 * KiB));
    /* A failed write is counted too: it may have changed some bytes. */
    mem_image_inject(mem_image_find("bm"), MEM_OP_WRITE, 1, -EIO);
    ck_assert_int_eq(blk_pwrite(blk, 512 * KiB, 1, buf, 0), -EIO);
    ck_assert(bdrv_dirty_bitmap_get(on, 512 * KiB));
    ck_assert_int_eq(bdrv_get_dirty_count(off), 0);

    /* Resizing resizes the bitmaps; the new area is clean. */
    ck_assert_int_eq(blk_truncate(blk, 2 * MiB, false, PREALLOC_MODE_OFF, 0,
                                  &err), 0);
    ck_assert_int_eq(bdrv_dirty_bitmap_size(on), 2 * MiB);
    ck_assert_int_eq(bdrv_get_dirty_count(on), 5 * 4096);
    ck_assert_int_ge(blk_pwrite(blk, 2 * MiB - 1, 1, buf, 0), 0);
    ck_assert(bdrv_dirty_bitmap_get(on, 2 * MiB - 1));
    ck_assert_int_eq(blk_truncate(blk, 100 * KiB, false, PREALLOC_MODE_OFF,
                                  0, &err), 0);
    ck_assert_int_eq(bdrv_dirty_bitmap_size(on), 100 * KiB);
    ck_assert_int_eq(bdrv_get_dirty_count(on), 3 * 4096);
    ck_assert_int_eq(blk_truncate(blk, 1 * MiB, false, PREALLOC_MODE_OFF,
                                  0, &err), 0);
    ck_assert_int_eq(bdrv_get_dirty_count(on), 3 * 4096);
    ck_assert(!bdrv_dirty_bitmap_get(on, 128 * KiB));
    blk_unref(blk);
}
END_TEST

/* ---- 'qemu-img bitmap' on a format without bitmaps ----------------------- */

START_TEST(test_ops_raw)
{
    BlockBackend *blk;
    BlockDriverState *bs = open_raw(&blk, IMG_SIZE);
    Error *err = NULL;
    char *msg;

    ck_assert(!bdrv_supports_persistent_dirty_bitmap(bs));
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "b", 0, &err), -ENOTSUP);
    msg = xasprintf("Can't store persistent bitmaps to %s: Operation not "
                    "supported", bs->node_name);
    expect_err(&err, msg);
    free(msg);
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "b", 65536, &err), -ENOTSUP);
    error_free(err);
    err = NULL;
    /* The name is checked first, then the granularity, then the format. */
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "", 100, &err), -EINVAL);
    expect_err(&err, "Bitmap name cannot be empty");
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "x", 100, &err), -EINVAL);
    expect_err(&err, "Granularity must be power of 2 and at least 512");
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "x", 3072, &err), -EINVAL);
    expect_err(&err, "Granularity must be power of 2 and at least 512");
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "x", 256, &err), -EINVAL);
    expect_err(&err, "Granularity must be power of 2 and at least 512");

    ck_assert_int_eq(bdrv_dirty_bitmap_remove(bs, "b", &err), -ENOENT);
    expect_err(&err, "Dirty bitmap 'b' not found");
    ck_assert_int_eq(bdrv_dirty_bitmap_clear(bs, "b", &err), -ENOENT);
    expect_err(&err, "Dirty bitmap 'b' not found");
    ck_assert_int_eq(bdrv_dirty_bitmap_set_enabled(bs, "b", true, &err),
                     -ENOENT);
    expect_err(&err, "Dirty bitmap 'b' not found");
    ck_assert_int_eq(bdrv_dirty_bitmap_set_enabled(bs, "b", false, &err),
                     -ENOENT);
    expect_err(&err, "Dirty bitmap 'b' not found");
    ck_assert_int_eq(bdrv_dirty_bitmap_merge(bs, "b", bs, "x", &err),
                     -ENOENT);
    expect_err(&err, "Dirty bitmap 'b' not found");
    blk_unref(blk);
}
END_TEST

/* ---- on a format with persistent bitmaps --------------------------------- */

static BlockBackend *open_tf(const char *name, bool rw)
{
    return test_open(name, "testfmt", rw);
}

START_TEST(test_ops_testfmt)
{
    BlockBackend *blk;
    BlockBackend *src;
    BlockDriverState *bs;
    Error *err = NULL;
    BlockDirtyBitmapInfo *infos;
    BdrvDirtyBitmap *a;
    BdrvDirtyBitmap *c;
    int n;

    testfmt_image_create("tf", IMG_SIZE, NULL, NULL);
    testfmt_image_create("tf2", 2 * IMG_SIZE, NULL, NULL);
    blk = open_tf("tf", true);
    bs = blk_bs(blk);
    ck_assert(bdrv_supports_persistent_dirty_bitmap(bs));

    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "a", 0, &err), 0);
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "a", 0, &err), -EEXIST);
    expect_err(&err, "Bitmap already exists: a");
    /* The granularity is checked before the name's existence. */
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "a", 100, &err), -EINVAL);
    expect_err(&err, "Granularity must be power of 2 and at least 512");
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "c", 512, &err), 0);
    /* The format's own limits, in its words. */
    ck_assert_int_lt(bdrv_dirty_bitmap_add(bs, "0123456789012345678901234567"
                                           "890123", 0, &err), 0);
    ck_assert_ptr_nonnull(strstr(error_get_pretty(err), "Name length "
                                 "exceeds maximum (32 characters)"));
    error_free(err);
    err = NULL;

    a = bdrv_find_dirty_bitmap(bs, "a");
    c = bdrv_find_dirty_bitmap(bs, "c");
    /* No cluster size: the default is 64 KiB. */
    ck_assert_uint_eq(bdrv_dirty_bitmap_granularity(a), 64 * KiB);
    ck_assert(bdrv_dirty_bitmap_get_persistence(a));
    ck_assert(bdrv_dirty_bitmap_enabled(a));

    ck_assert_int_eq(bdrv_dirty_bitmap_set_enabled(bs, "a", false, &err), 0);
    ck_assert(!bdrv_dirty_bitmap_enabled(a));
    ck_assert_int_eq(bdrv_dirty_bitmap_set_enabled(bs, "a", false, &err), 0);
    ck_assert_int_eq(bdrv_dirty_bitmap_set_enabled(bs, "a", true, &err), 0);
    ck_assert(bdrv_dirty_bitmap_enabled(a));

    /* Merges across granularities; into itself is a no-op. */
    bdrv_set_dirty_bitmap(c, 1000, 1);
    ck_assert_int_eq(bdrv_dirty_bitmap_merge(bs, "a", bs, "c", &err), 0);
    ck_assert(bdrv_dirty_bitmap_get(a, 64 * KiB - 1));
    ck_assert_int_eq(bdrv_get_dirty_count(a), 64 * KiB);
    ck_assert_int_eq(bdrv_dirty_bitmap_merge(bs, "c", bs, "a", &err), 0);
    ck_assert_int_eq(bdrv_get_dirty_count(c), 64 * KiB);
    ck_assert_int_eq(bdrv_dirty_bitmap_merge(bs, "a", bs, "a", &err), 0);
    ck_assert_int_eq(bdrv_dirty_bitmap_merge(bs, "zz", bs, "a", &err),
                     -ENOENT);
    expect_err(&err, "Dirty bitmap 'zz' not found");
    ck_assert_int_eq(bdrv_dirty_bitmap_merge(bs, "a", bs, "zz", &err),
                     -ENOENT);
    expect_err(&err, "Dirty bitmap 'zz' not found");

    /* From another image: sizes must match. */
    src = open_tf("tf2", true);
    ck_assert_int_eq(bdrv_dirty_bitmap_add(blk_bs(src), "s", 0, &err), 0);
    ck_assert_int_eq(bdrv_dirty_bitmap_merge(bs, "a", blk_bs(src), "s",
                                             &err), -EINVAL);
    expect_err(&err, "Bitmaps are of different sizes (destination size is "
               "1048576, source size is 2097152) and can't be merged");
    blk_unref(src);

    ck_assert_int_eq(bdrv_dirty_bitmap_clear(bs, "c", &err), 0);
    ck_assert_int_eq(bdrv_get_dirty_count(c), 0);

    n = bdrv_query_dirty_bitmaps(bs, &infos);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(infos[0].name, "a");
    ck_assert_uint_eq(infos[0].granularity, 64 * KiB);
    ck_assert_int_eq(infos[0].count, 64 * KiB);
    ck_assert(infos[0].persistent && infos[0].enabled);
    ck_assert_str_eq(infos[1].name, "c");
    ck_assert_int_eq(infos[1].count, 0);
    bdrv_dirty_bitmap_info_free(infos, n);

    ck_assert_int_eq(bdrv_dirty_bitmap_remove(bs, "c", &err), 0);
    ck_assert_int_eq(bdrv_dirty_bitmap_remove(bs, "c", &err), -ENOENT);
    expect_err(&err, "Dirty bitmap 'c' not found");
    blk_unref(blk);

    /* Stored at close: a with its bits, c gone. */
    {
        TestfmtBitmap *st = testfmt_stored_bitmap("mem:tf", "a");

        ck_assert_ptr_nonnull(st);
        ck_assert_ptr_null(testfmt_stored_bitmap("mem:tf", "c"));
        ck_assert(st->enabled && !st->in_use);
        ck_assert_int_eq(st->size, IMG_SIZE);
        ck_assert_uint_eq(st->data_len, IMG_SIZE / (64 * KiB) / 8);
        ck_assert_uint_eq(st->data[0], 0x01);
    }
}
END_TEST

START_TEST(test_persistence)
{
    BlockBackend *blk;
    BlockDriverState *bs;
    Error *err = NULL;
    TestfmtBitmap *st;
    BdrvDirtyBitmap *a;
    uint8_t buf[4] = { 7 };

    testfmt_image_create("tf", IMG_SIZE, NULL, NULL);
    blk = open_tf("tf", true);
    bs = blk_bs(blk);
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "a", 4096, &err), 0);
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "d", 4096, &err), 0);
    ck_assert_int_eq(bdrv_dirty_bitmap_set_enabled(bs, "d", false, &err), 0);
    ck_assert_int_ge(blk_pwrite(blk, 3 * 4096 + 1, sizeof(buf), buf, 0), 0);
    blk_unref(blk);
    st = testfmt_stored_bitmap("mem:tf", "d");
    ck_assert(!st->enabled);
    ck_assert_uint_eq(st->data[0], 0);

    /* Loaded again, and tracking writes of the next writable open. */
    blk = open_tf("tf", true);
    bs = blk_bs(blk);
    a = bdrv_find_dirty_bitmap(bs, "a");
    ck_assert_ptr_nonnull(a);
    ck_assert(bdrv_dirty_bitmap_get(a, 3 * 4096));
    ck_assert_int_eq(bdrv_get_dirty_count(a), 4096);
    ck_assert(!bdrv_dirty_bitmap_enabled(bdrv_find_dirty_bitmap(bs, "d")));
    ck_assert(testfmt_stored_bitmap("mem:tf", "a")->in_use);
    ck_assert_int_ge(blk_pwrite(blk, 0, sizeof(buf), buf, 0), 0);
    blk_unref(blk);
    st = testfmt_stored_bitmap("mem:tf", "a");
    ck_assert_uint_eq(st->data[0], 0x09);
    ck_assert(!st->in_use);

    /* Read-only opens: readable, not changeable, not stored. */
    blk = open_tf("tf", false);
    bs = blk_bs(blk);
    ck_assert_int_eq(bdrv_dirty_bitmap_clear(bs, "a", &err), -EPERM);
    expect_err(&err, "Bitmap 'a' is readonly and cannot be modified");
    ck_assert_int_eq(bdrv_dirty_bitmap_remove(bs, "a", &err), -EPERM);
    expect_err(&err, "Bitmap 'a' is readonly and cannot be modified");
    st = testfmt_stored_bitmap("mem:tf", "a");
    st->stores = 0;
    blk_unref(blk);
    ck_assert_int_eq(testfmt_stored_bitmap("mem:tf", "a")->stores, 0);
}
END_TEST

/* A bitmap left in use (the image was not closed cleanly). */
START_TEST(test_inconsistent)
{
    BlockBackend *blk;
    BlockDriverState *bs;
    Error *err = NULL;
    static const char msg[] = "Bitmap 'a' is inconsistent and cannot be used";

    testfmt_image_create("tf", IMG_SIZE, NULL, NULL);
    blk = open_tf("tf", true);
    bs = blk_bs(blk);
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "a", 0, &err), 0);
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "b", 0, &err), 0);
    blk_unref(blk);
    testfmt_stored_bitmap("mem:tf", "a")->in_use = true;

    blk = open_tf("tf", true);
    bs = blk_bs(blk);
    ck_assert(bdrv_dirty_bitmap_inconsistent(bdrv_find_dirty_bitmap(bs,
                                                                    "a")));
    ck_assert_int_eq(bdrv_dirty_bitmap_clear(bs, "a", &err), -EINVAL);
    ck_assert_str_eq(error_get_hint(err), "Try block-dirty-bitmap-remove to "
                     "delete this bitmap from disk\n");
    expect_err(&err, msg);
    ck_assert_int_eq(bdrv_dirty_bitmap_set_enabled(bs, "a", true, &err),
                     -EINVAL);
    expect_err(&err, msg);
    ck_assert_int_eq(bdrv_dirty_bitmap_set_enabled(bs, "a", false, &err),
                     -EINVAL);
    expect_err(&err, msg);
    /* As target or source of a merge; a missing source is named first. */
    ck_assert_int_eq(bdrv_dirty_bitmap_merge(bs, "a", bs, "b", &err),
                     -EINVAL);
    expect_err(&err, msg);
    ck_assert_int_eq(bdrv_dirty_bitmap_merge(bs, "b", bs, "a", &err),
                     -EINVAL);
    expect_err(&err, msg);
    ck_assert_int_eq(bdrv_dirty_bitmap_merge(bs, "a", bs, "zz", &err),
                     -ENOENT);
    expect_err(&err, "Dirty bitmap 'zz' not found");
    /* Add refuses the name; remove is what works. */
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "a", 0, &err), -EEXIST);
    expect_err(&err, "Bitmap already exists: a");
    ck_assert_int_eq(bdrv_dirty_bitmap_remove(bs, "a", &err), 0);
    blk_unref(blk);
    ck_assert_ptr_null(testfmt_stored_bitmap("mem:tf", "a"));
    ck_assert_ptr_nonnull(testfmt_stored_bitmap("mem:tf", "b"));
}
END_TEST

START_TEST(test_default_granularity)
{
    BlockBackend *blk;
    BlockDriverState *bs = open_raw(&blk, IMG_SIZE);

    /* raw has no clusters. */
    ck_assert_uint_eq(bdrv_get_default_bitmap_granularity(bs), 64 * KiB);
    blk_unref(blk);
}
END_TEST

static Suite *block_bitmap_suite(void)
{
    Suite *s = suite_create("block-bitmap");
    TCase *tc;

    tc = tcase_create("bits");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_bits);
    tcase_add_test(tc, test_serialize);
    tcase_add_test(tc, test_default_granularity);
    suite_add_tcase(s, tc);

    tc = tcase_create("tracking");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_track_writes);
    suite_add_tcase(s, tc);

    tc = tcase_create("operations");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_ops_raw);
    tcase_add_test(tc, test_ops_testfmt);
    tcase_add_test(tc, test_persistence);
    tcase_add_test(tc, test_inconsistent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(block_bitmap_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
