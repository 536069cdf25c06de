/*
 * Unit tests: operations on open graphs that 'commit', 'rebase' and
 * 'amend' need. Reopening a node read-write and back (file descriptors,
 * permissions and OFD lock bytes follow, errors leave the node as it was),
 * a BlockBackend on a node of a chain, emptying an image, amend schemas,
 * and the lock errors of an image that backs itself. On real files in a
 * temporary directory, with testfmt as the format that has backing files.
 */
#include "config-host.h"

#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "lib/test-block.h"
#include "util/bswap.h"
#include "util/cutils.h"

static char tmpdir[] = "/tmp/test-block-graph-XXXXXX";
static char base_path[PATH_MAX];
static char top_path[PATH_MAX];

static void setup(void)
{
    test_block_init();
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(base_path, sizeof(base_path), "%s/base.tf", tmpdir);
    snprintf(top_path, sizeof(top_path), "%s/top.tf", tmpdir);
}

static void teardown(void)
{
    unlink(base_path);
    unlink(top_path);
    rmdir(tmpdir);
}

/* Writes an empty testfmt image of size bytes at path. */
static void create_tf(const char *path, int64_t size, const char *backing)
{
    uint8_t hdr[TESTFMT_CLUSTER] = "TESTFMT";
    int fd;

    stbe64(hdr + 8, (uint64_t)size);
    if (backing) {
        pstrcpy((char *)hdr + 16, 256, backing);
        pstrcpy((char *)hdr + 272, 16, "testfmt");
    }
    fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, hdr, sizeof(hdr)), sizeof(hdr));
    close(fd);
}

/* The lock bytes anyone holds on path: bit i for 100+i, bit 4+i for 200+i. */
static uint64_t held_lock_bytes(const char *path)
{
    struct stat st;
    FILE *f = fopen("/proc/locks", "r");
    char line[256];
    uint64_t mask = 0;

    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        unsigned int maj;
        unsigned int min;
        unsigned long ino;
        long start;
        long end;
        char *p;

        if (!strstr(line, "OFDLCK")) {
            continue;
        }
        p = strchr(line, ':');
        p = p ? strchr(p + 1, ':') : NULL;
        while (p && p > line && p[-1] != ' ') {
            p--;
        }
        if (!p || sscanf(p, "%x:%x:%lu %ld %ld", &maj, &min, &ino, &start,
                         &end) != 5) {
            continue;
        }
        for (; ino == st.st_ino && start <= end; start++) {
            if (start >= 100 && start < 104) {
                mask |= 1ULL << (start - 100);
            } else if (start >= 200 && start < 204) {
                mask |= 1ULL << (start - 200 + 4);
            }
        }
    }
    fclose(f);
    return mask;
}

#define LB(byte) \
    ((byte) < 200 ? 1ULL << ((byte) - 100) : 1ULL << ((byte) - 200 + 4))
/* What a read-only and a writable testfmt node's file hold. */
#define LOCKS_RO (LB(100) | LB(201) | LB(203))
#define LOCKS_RW (LB(100) | LB(101) | LB(103) | LB(201) | LB(203))

/*
 * The access mode of the one descriptor this process has open on path
 * (from /proc/self/fdinfo), or -1 if none.
 */
static int open_mode(const char *path)
{
    char real[PATH_MAX];
    int mode = -1;
    int found = 0;
    int fd;

    /* By the directory: the file itself may have been deleted. */
    ck_assert_ptr_nonnull(realpath(tmpdir, real));
    ck_assert_uint_lt(strlen(real) + strlen(strrchr(path, '/')),
                      sizeof(real));
    strcat(real, strrchr(path, '/'));
    for (fd = 0; fd < 1024; fd++) {
        char link[64];
        char target[PATH_MAX];
        ssize_t n;
        FILE *f;
        char line[128];

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        if (n < 0) {
            continue;
        }
        target[n] = '\0';
        if (strcmp(target, real) &&
            (strncmp(target, real, strlen(real)) ||
             strcmp(target + strlen(real), " (deleted)"))) {
            continue;
        }
        snprintf(link, sizeof(link), "/proc/self/fdinfo/%d", fd);
        f = fopen(link, "r");
        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof(line), f)) {
            unsigned int flags;

            if (sscanf(line, "flags: %o", &flags) == 1) {
                mode = flags & O_ACCMODE;
            }
        }
        fclose(f);
        found++;
    }
    ck_assert_int_le(found, 1);
    return mode;
}

/* Holds a shared lock on byte of path from a descriptor of our own. */
static int hold_lock(const char *path, int byte)
{
    int fd = open(path, O_RDONLY);
    struct flock fl = {
        .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = byte,
        .l_len = 1,
    };

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);
    return fd;
}

static BlockBackend *open_top(int flags)
{
    Error *err = NULL;
    BlockBackend *blk = blk_new_open(top_path, "testfmt", NULL, flags, &err);

    ck_assert_msg(blk, "%s", err ? error_get_pretty(err) : "");
    return blk;
}

/* ---- reopen ------------------------------------------------------------ */

/* What 'commit' does: make the base writable, write into it, let go. */
START_TEST(test_reopen_rw_commit_flow)
{
    BlockBackend *blk;
    BlockBackend *base_blk;
    BlockDriverState *base;
    Error *err = NULL;
    uint8_t buf[512];
    uint8_t rd[512];

    create_tf(base_path, 64 * KiB, NULL);
    create_tf(top_path, 64 * KiB, "base.tf");
    blk = open_top(BDRV_O_RDWR);
    base = bdrv_backing_node(blk_bs(blk));
    ck_assert_ptr_nonnull(base);
    ck_assert(bdrv_is_read_only(base));
    ck_assert_int_eq(open_mode(base_path), O_RDONLY);
    ck_assert_uint_eq(held_lock_bytes(base_path), LOCKS_RO);

    /* A writer on a read-only node is refused. */
    ck_assert_ptr_null(blk_new_with_bs(base, true, &err));
    ck_assert_str_eq(error_get_pretty(err), "Block node is read-only");
    error_free(err);
    err = NULL;

    ck_assert_int_eq(bdrv_reopen_set_read_only(base, false, &err), 0);
    ck_assert(!bdrv_is_read_only(base));
    ck_assert(!bdrv_is_read_only(bdrv_file_node(base)));
    ck_assert_int_eq(open_mode(base_path), O_RDWR);
    ck_assert_uint_eq(held_lock_bytes(base_path), LOCKS_RW);
    /* Again: nothing to do. */
    ck_assert_int_eq(bdrv_reopen_set_read_only(base, false, &err), 0);

    base_blk = blk_new_with_bs(base, true, &err);
    ck_assert_msg(base_blk, "%s", err ? error_get_pretty(err) : "");
    memset(buf, 0x5a, sizeof(buf));
    ck_assert_int_ge(blk_pwrite(base_blk, 4096, sizeof(buf), buf, 0), 0);
    /* The overlay reads it through its backing file. */
    ck_assert_int_ge(blk_pread(blk, 4096, sizeof(rd), rd, 0), 0);
    ck_assert_int_eq(memcmp(buf, rd, sizeof(buf)), 0);

    /* Not back to read-only while someone writes. */
    ck_assert_int_eq(bdrv_reopen_set_read_only(base, true, &err), -EBUSY);
    ck_assert_ptr_nonnull(strstr(error_get_pretty(err), "read-only while"));
    error_free(err);
    err = NULL;
    ck_assert(!bdrv_is_read_only(base));
    blk_unref(base_blk);
    /* The node stays in the graph. */
    ck_assert_ptr_eq(bdrv_backing_node(blk_bs(blk)), base);

    ck_assert_int_eq(bdrv_reopen_set_read_only(base, true, &err), 0);
    ck_assert(bdrv_is_read_only(base));
    ck_assert_int_eq(open_mode(base_path), O_RDONLY);
    ck_assert_uint_eq(held_lock_bytes(base_path), LOCKS_RO);
    ck_assert_int_ge(blk_pread(blk, 4096, sizeof(rd), rd, 0), 0);
    ck_assert_int_eq(memcmp(buf, rd, sizeof(buf)), 0);
    blk_unref(blk);
    ck_assert_uint_eq(held_lock_bytes(base_path), 0);
    ck_assert_uint_eq(held_lock_bytes(top_path), 0);
}
END_TEST

/* Another process's lock: the reference's message; nothing changes. */
START_TEST(test_reopen_rw_lock_conflict)
{
    static const struct {
        int byte;
        const char *msg;
    } cases[] = {
        { 201, "Failed to get \"write\" lock" },
        { 203, "Failed to get \"resize\" lock" },
    };
    unsigned int i;

    create_tf(base_path, 64 * KiB, NULL);
    create_tf(top_path, 64 * KiB, "base.tf");
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        BlockBackend *blk = open_top(BDRV_O_RDWR);
        BlockDriverState *base = bdrv_backing_node(blk_bs(blk));
        Error *err = NULL;
        int fd = hold_lock(base_path, cases[i].byte);

        ck_assert_int_eq(bdrv_reopen_set_read_only(base, false, &err),
                         -EAGAIN);
        ck_assert_str_eq(error_get_pretty(err), cases[i].msg);
        ck_assert_ptr_nonnull(strstr(error_get_hint(err), "Is another "
                                     "process using the image ["));
        error_free(err);
        close(fd);
        ck_assert(bdrv_is_read_only(base));
        ck_assert_int_eq(open_mode(base_path), O_RDONLY);
        ck_assert_uint_eq(held_lock_bytes(base_path), LOCKS_RO);
        /* And it works once the other user is gone. */
        ck_assert_int_eq(bdrv_reopen_set_read_only(base, false, NULL), 0);
        blk_unref(blk);
    }
}
END_TEST

/* A file that cannot be opened again: its error; nothing changes. */
START_TEST(test_reopen_rw_open_fails)
{
    BlockBackend *blk;
    BlockDriverState *base;
    Error *err = NULL;
    char *want;
    char other[PATH_MAX];

    create_tf(base_path, 64 * KiB, NULL);
    create_tf(top_path, 64 * KiB, "base.tf");
    blk = open_top(BDRV_O_RDWR);
    base = bdrv_backing_node(blk_bs(blk));
    ck_assert_int_eq(unlink(base_path), 0);
    ck_assert_int_eq(bdrv_reopen_set_read_only(base, false, &err), -ENOENT);
    want = xasprintf("Could not open '%s': No such file or directory",
                     bdrv_get_filename(bdrv_file_node(base)));
    ck_assert_str_eq(error_get_pretty(err), want);
    free(want);
    error_free(err);
    err = NULL;
    ck_assert(bdrv_is_read_only(base));
    ck_assert_int_eq(open_mode(base_path), O_RDONLY);

    /* Another file under the name is not the image we have open. */
    snprintf(other, sizeof(other), "%s/other", tmpdir);
    create_tf(other, 64 * KiB, NULL);
    ck_assert_int_eq(rename(other, base_path), 0);
    ck_assert_int_eq(bdrv_reopen_set_read_only(base, false, &err), -ESTALE);
    ck_assert_ptr_nonnull(strstr(error_get_pretty(err), "was replaced"));
    error_free(err);
    ck_assert(bdrv_is_read_only(base));
    blk_unref(blk);
}
END_TEST

/* The top of a chain, read-only to read-write and back (rebase -u). */
START_TEST(test_reopen_top)
{
    BlockBackend *blk;
    BlockDriverState *bs;
    Error *err = NULL;

    create_tf(base_path, 64 * KiB, NULL);
    create_tf(top_path, 64 * KiB, "base.tf");
    blk = open_top(0);
    bs = blk_bs(blk);
    ck_assert_uint_eq(held_lock_bytes(top_path), LOCKS_RO);
    ck_assert_int_eq(bdrv_reopen_set_read_only(bs, false, &err), 0);
    ck_assert_int_eq(open_mode(top_path), O_RDWR);
    ck_assert_uint_eq(held_lock_bytes(top_path), LOCKS_RW);
    /* Only what follows the top's mode: its backing file stays. */
    ck_assert(bdrv_is_read_only(bdrv_backing_node(bs)));
    ck_assert_uint_eq(held_lock_bytes(base_path), LOCKS_RO);
    ck_assert_int_eq(bdrv_change_backing_file(bs, "", "", false), 0);
    ck_assert_int_eq(bdrv_reopen_set_read_only(bs, true, &err), 0);
    ck_assert_uint_eq(held_lock_bytes(top_path), LOCKS_RO);
    blk_unref(blk);
}
END_TEST

/* Persistent bitmaps are stored when their node goes read-only. */
START_TEST(test_reopen_bitmaps)
{
    BlockBackend *blk;
    BlockDriverState *bs;
    Error *err = NULL;
    TestfmtBitmap *st;

    testfmt_forget_bitmaps(NULL);
    create_tf(top_path, 64 * KiB, NULL);
    blk = open_top(BDRV_O_RDWR);
    bs = blk_bs(blk);
    ck_assert_int_eq(bdrv_dirty_bitmap_add(bs, "b", 4096, &err), 0);
    /* Not while the BlockBackend may write: first a read-only user. */
    blk_unref(blk);
    blk = open_top(0);
    bs = blk_bs(blk);
    ck_assert_int_eq(bdrv_reopen_set_read_only(bs, false, &err), 0);
    ck_assert_int_eq(bdrv_dirty_bitmap_clear(bs, "b", &err), 0);
    st = testfmt_stored_bitmap(bdrv_get_filename(bdrv_file_node(bs)), "b");
    ck_assert_ptr_nonnull(st);
    st->stores = 0;
    ck_assert_int_eq(bdrv_reopen_set_read_only(bs, true, &err), 0);
    ck_assert_int_eq(st->stores, 1);
    ck_assert_int_eq(bdrv_dirty_bitmap_clear(bs, "b", &err), -EPERM);
    error_free(err);
    err = NULL;
    blk_unref(blk);
    /* Read-only at close: nothing more to store. */
    ck_assert_int_eq(st->stores, 1);
    testfmt_forget_bitmaps(NULL);
}
END_TEST

/* force-share (-U) nodes stay read-only. */
START_TEST(test_reopen_force_share)
{
    BlockBackend *blk;
    Error *err = NULL;
    QDict *opts = qdict_new();

    create_tf(top_path, 64 * KiB, NULL);
    qdict_put_str(opts, "force-share", "on");
    blk = blk_new_open(top_path, "testfmt", opts, BDRV_O_FORCE_SHARE, &err);
    ck_assert_ptr_nonnull(blk);
    ck_assert_int_eq(bdrv_reopen_set_read_only(blk_bs(blk), false, &err),
                     -EINVAL);
    ck_assert_str_eq(error_get_pretty(err), "force-share=on can only be "
                     "used with read-only images");
    error_free(err);
    ck_assert(bdrv_is_read_only(blk_bs(blk)));
    blk_unref(blk);
}
END_TEST

/* ---- emptying, amend schemas --------------------------------------------- */

START_TEST(test_make_empty)
{
    BlockBackend *blk;
    BlockBackend *ro;
    Error *err = NULL;
    uint8_t buf[512];
    int64_t pnum;

    create_tf(top_path, 64 * KiB, NULL);
    blk = open_top(BDRV_O_RDWR);
    memset(buf, 1, sizeof(buf));
    ck_assert_int_ge(blk_pwrite(blk, 8192, sizeof(buf), buf, 0), 0);
    ck_assert_int_eq(bdrv_is_allocated(blk_bs(blk), 8192, 512, &pnum), 1);
    ck_assert_int_eq(blk_make_empty(blk, &err), 0);
    ck_assert_int_eq(bdrv_is_allocated(blk_bs(blk), 0, 64 * KiB, &pnum), 0);
    ck_assert_int_eq(pnum, 64 * KiB);
    blk_unref(blk);

    /* Read-only users cannot. */
    ro = open_top(0);
    ck_assert_int_eq(blk_make_empty(ro, &err), -EACCES);
    error_free(err);
    err = NULL;
    blk_unref(ro);

    /* raw cannot at all: -ENOTSUP, which commit passes over. */
    {
        char *raw = xasprintf("%s/r.raw", tmpdir);
        int fd = open(raw, O_CREAT | O_RDWR, 0644);

        ck_assert_int_eq(ftruncate(fd, 4096), 0);
        close(fd);
        blk = blk_new_open(raw, "raw", NULL, BDRV_O_RDWR, &err);
        ck_assert_ptr_nonnull(blk);
        ck_assert_int_eq(blk_make_empty(blk, &err), -ENOTSUP);
        ck_assert_str_eq(error_get_pretty(err), "Emptying not supported for "
                         "format 'raw'");
        error_free(err);
        blk_unref(blk);
        unlink(raw);
        free(raw);
    }
}
END_TEST

static int fake_amend(BlockDriverState *bs, QemuOpts *opts,
                      BlockDriverAmendStatusCB *cb, void *opaque, bool force,
                      Error **errp)
{
    return 0;
}

START_TEST(test_amend_opts)
{
    static QemuOptDesc create_desc[] = {
        { .name = "size", .type = QEMU_OPT_SIZE },
        { NULL },
    };
    static QemuOptsList create_list = {
        .name = "c", .desc = create_desc,
    };
    static QemuOptsList amend_list = {
        .name = "a", .desc = create_desc,
    };
    BlockDriver drv = { .format_name = "x", .create_opts = &create_list };

    ck_assert_ptr_null(bdrv_amend_opts(bdrv_find_format("raw")));
    ck_assert_ptr_null(bdrv_amend_opts(NULL));
    /* Without the hook the schema does not matter. */
    ck_assert_ptr_null(bdrv_amend_opts(&drv));
    drv.bdrv_amend_options = fake_amend;
    ck_assert_ptr_eq(bdrv_amend_opts(&drv), &create_list);
    drv.amend_opts = &amend_list;
    ck_assert_ptr_eq(bdrv_amend_opts(&drv), &amend_list);
}
END_TEST

/* 'convert -l' / 'measure -l' on a format without internal snapshots. */
START_TEST(test_snapshot_load_tmp)
{
    BlockBackend *blk;
    Error *err = NULL;
    char *raw = xasprintf("%s/r.raw", tmpdir);
    int fd = open(raw, O_CREAT | O_RDWR, 0644);

    ck_assert_int_eq(ftruncate(fd, 4096), 0);
    close(fd);
    blk = blk_new_open(raw, "raw", NULL, 0, &err);
    ck_assert_ptr_nonnull(blk);
    ck_assert_int_eq(bdrv_snapshot_load_tmp(blk_bs(blk), "1", NULL, &err),
                     -ENOTSUP);
    ck_assert_str_eq(error_get_pretty(err), "Block format 'raw' used by "
                     "device '' does not support temporarily loading "
                     "internal snapshots");
    error_free(err);
    err = NULL;
    blk_unref(blk);
    /* Its data would change under a writer. */
    blk = blk_new_open(raw, "raw", NULL, BDRV_O_RDWR, &err);
    ck_assert_ptr_nonnull(blk);
    ck_assert_int_eq(bdrv_snapshot_load_tmp(blk_bs(blk), NULL, "s", &err),
                     -EINVAL);
    ck_assert_str_eq(error_get_pretty(err), "Device is not readonly");
    error_free(err);
    blk_unref(blk);
    unlink(raw);
    free(raw);
}
END_TEST

/* ---- an image that backs itself ------------------------------------------ */

START_TEST(test_self_backing_locks)
{
    Error *err = NULL;
    BlockBackend *blk;

    /*
     * Read-write, the overlay's write lock keeps the backing file from
     * opening: the reference's error, at the first level.
     */
    create_tf(top_path, 64 * KiB, "top.tf");
    blk = blk_new_open(top_path, "testfmt", NULL, BDRV_O_RDWR, &err);
    ck_assert_ptr_null(blk);
    ck_assert_str_eq(error_get_pretty(err), "Could not open backing file: "
                     "Failed to get shared \"write\" lock");
    error_free(err);
    err = NULL;
    ck_assert_uint_eq(held_lock_bytes(top_path), 0);

    /* Read-only, the loop is cut short instead of recursing forever. */
    blk = blk_new_open(top_path, "testfmt", NULL, 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_ptr_nonnull(strstr(error_get_pretty(err),
                                 "creates an infinite loop"));
    error_free(err);
    err = NULL;

    /* Without its backing file it opens (rebase -u can repair it). */
    blk = blk_new_open(top_path, "testfmt", NULL,
                       BDRV_O_RDWR | BDRV_O_NO_BACKING, &err);
    ck_assert_ptr_nonnull(blk);
    ck_assert_int_eq(bdrv_change_backing_file(blk_bs(blk), "", "", false),
                     0);
    blk_unref(blk);
    blk = open_top(BDRV_O_RDWR);
    ck_assert_ptr_null(bdrv_backing_node(blk_bs(blk)));
    blk_unref(blk);
}
END_TEST

static Suite *block_graph_suite(void)
{
    Suite *s = suite_create("block-graph");
    TCase *tc;

    tc = tcase_create("reopen");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_reopen_rw_commit_flow);
    tcase_add_test(tc, test_reopen_rw_lock_conflict);
    tcase_add_test(tc, test_reopen_rw_open_fails);
    tcase_add_test(tc, test_reopen_top);
    tcase_add_test(tc, test_reopen_force_share);
    tcase_add_test(tc, test_reopen_bitmaps);
    suite_add_tcase(s, tc);

    tc = tcase_create("empty-amend");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_make_empty);
    tcase_add_test(tc, test_amend_opts);
    tcase_add_test(tc, test_snapshot_load_tmp);
    suite_add_tcase(s, tc);

    tc = tcase_create("self-backing");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_self_backing_locks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(block_graph_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
