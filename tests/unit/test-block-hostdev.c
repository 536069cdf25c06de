/*
 * Unit tests: the "host_device" protocol driver on a loop block device
 * over a temporary file: probing, length, reads and writes (buffered and
 * O_DIRECT, aligned or not), zero writes, discards, the size rules of
 * truncate and create, and reopening read-write. Needs root and a free
 * loop device; without them the whole binary is skipped (exit 77) with
 * the reason.
 */
#include "config-host.h"

#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lib/test-block.h"
#include "util/strbuf.h"

#define DEV_SIZE (16 * MiB)

static char tmpdir[] = "/tmp/test-block-hostdev-XXXXXX";
static char backing[PATH_MAX];
static char dev[64];

/* Runs a shell command, returning its first output line in out. */
static int run(const char *cmd, char *out, size_t len)
{
    FILE *p = popen(cmd, "r");
    int status;

    if (!p) {
        return -1;
    }
    if (out && !fgets(out, len, p)) {
        out[0] = '\0';
    }
    status = pclose(p);
    if (out) {
        out[strcspn(out, "\n")] = '\0';
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Attaches the loop device, or says why not (NULL: attached). */
static const char *attach(void)
{
    char cmd[PATH_MAX + 64];
    int fd;

    if (geteuid() != 0) {
        return "host_device tests need root (loop devices)";
    }
    if (run("command -v losetup >/dev/null 2>&1", NULL, 0) != 0) {
        return "losetup not installed";
    }
    if (!mkdtemp(tmpdir)) {
        return "cannot create a temporary directory";
    }
    snprintf(backing, sizeof(backing), "%s/back.img", tmpdir);
    fd = open(backing, O_CREAT | O_RDWR, 0600);
    if (fd < 0 || ftruncate(fd, DEV_SIZE) < 0) {
        return "cannot create the backing file";
    }
    close(fd);
    snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null",
             backing);
    if (run(cmd, dev, sizeof(dev)) != 0 || strncmp(dev, "/dev/", 5)) {
        unlink(backing);
        rmdir(tmpdir);
        return "cannot attach a loop device here";
    }
    return NULL;
}

static void detach(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "losetup -d '%s'", dev);
    run(cmd, NULL, 0);
    unlink(backing);
    rmdir(tmpdir);
}

static BlockBackend *open_dev(int flags, Error **errp)
{
    return blk_new_open(dev, NULL, NULL, flags, errp);
}

/* The backing file's bytes at offset (the loop device writes through). */
static void read_backing(int64_t offset, void *buf, size_t len)
{
    int fd = open(backing, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, len, offset), (ssize_t)len);
    close(fd);
}

START_TEST(test_probe_and_length)
{
    Error *err = NULL;
    BlockBackend *blk = open_dev(0, &err);
    BlockDriverState *bs;
    int64_t pnum;

    ck_assert_msg(blk, "%s", err ? error_get_pretty(err) : "");
    bs = blk_bs(blk);
    /* Probed: raw over host_device, with no zero-init promise. */
    ck_assert_str_eq(bdrv_get_format_name(bs), "raw");
    ck_assert_str_eq(bdrv_get_format_name(bdrv_file_node(bs)),
                     "host_device");
    ck_assert_str_eq(bdrv_get_filename(bs), dev);
    ck_assert_int_eq(blk_getlength(blk), DEV_SIZE);
    ck_assert(!bdrv_has_zero_init(bs));
    /* Everything is data: a device has no holes to report. */
    ck_assert_int_eq(bdrv_block_status_above(bs, NULL, 0, DEV_SIZE, &pnum,
                                             NULL, NULL, NULL) &
                     (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO), BDRV_BLOCK_DATA);
    ck_assert_int_eq(pnum, DEV_SIZE);
    blk_unref(blk);

    /* A regular file is not a device. */
    blk = blk_new_open(backing, "host_device", NULL, 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_ptr_nonnull(strstr(error_get_pretty(err), "to be either a "
                                 "character or block device"));
    error_free(err);
}
END_TEST

static void check_rw(int flags)
{
    Error *err = NULL;
    BlockBackend *blk = open_dev(flags | BDRV_O_RDWR | BDRV_O_UNMAP, &err);
    size_t len = 256 * KiB;
    uint8_t *buf = qemu_blockalign(len);
    uint8_t *rd = qemu_blockalign(len);
    size_t i;

    ck_assert_msg(blk, "%s", err ? error_get_pretty(err) : "");
    for (i = 0; i < len; i++) {
        buf[i] = (uint8_t)(i * 13 + flags);
    }
    /* Unaligned on purpose: with O_DIRECT the core pads (RMW). */
    ck_assert_int_ge(blk_pwrite(blk, 1 * MiB + 7, len - 100, buf, 0), 0);
    ck_assert_int_ge(blk_pread(blk, 1 * MiB + 7, len - 100, rd, 0), 0);
    ck_assert_int_eq(memcmp(buf, rd, len - 100), 0);
    ck_assert_int_eq(blk_flush(blk), 0);
    read_backing(1 * MiB + 7, rd, len - 100);
    ck_assert_int_eq(memcmp(buf, rd, len - 100), 0);

    /* Zero writes (BLKZEROOUT or a punched hole) read back as zeroes. */
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 1 * MiB, 64 * KiB,
                                       BDRV_REQ_MAY_UNMAP), 0);
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 1 * MiB + 64 * KiB, 4096, 0), 0);
    ck_assert_int_ge(blk_pread(blk, 1 * MiB, 68 * KiB, rd, 0), 0);
    for (i = 0; i < 68 * KiB; i++) {
        ck_assert_int_eq(rd[i], 0);
    }
    ck_assert_int_ge(blk_pread(blk, 1 * MiB + 68 * KiB, 4096, rd, 0), 0);
    ck_assert_int_eq(memcmp(rd, buf + 68 * KiB - 7, 4096), 0);
    /* Discards are accepted (whether they zero is the device's choice). */
    ck_assert_int_eq(blk_pdiscard(blk, 4 * MiB, 1 * MiB), 0);
    ck_assert_int_eq(blk_pdiscard(blk, 4 * MiB + 1, 100), 0);
    /* Past the end: the reference's -EIO. */
    ck_assert_int_eq(blk_pwrite(blk, DEV_SIZE - 1, 2, buf, 0), -EIO);
    blk_unref(blk);
    qemu_vfree(buf);
    qemu_vfree(rd);
}

START_TEST(test_rw_buffered)
{
    check_rw(0);
}
END_TEST

START_TEST(test_rw_direct)
{
    check_rw(BDRV_O_NOCACHE);
}
END_TEST

START_TEST(test_truncate_create)
{
    Error *err = NULL;
    BlockBackend *blk = open_dev(BDRV_O_RDWR | BDRV_O_RESIZE, &err);
    BdrvImgCreateParams p = { .filename = dev, .fmt = "raw" };
    StrBuf sb = STRBUF_INIT;

    ck_assert_ptr_nonnull(blk);
    ck_assert_int_eq(blk_truncate(blk, DEV_SIZE, true, PREALLOC_MODE_OFF, 0,
                                  &err), 0);
    /* An exact new size is refused before growth is. */
    ck_assert_int_eq(blk_truncate(blk, 2 * DEV_SIZE, true,
                                  PREALLOC_MODE_OFF, 0, &err), -ENOTSUP);
    ck_assert_str_eq(error_get_pretty(err), "Cannot resize device files");
    error_free(err);
    err = NULL;
    ck_assert_int_eq(blk_truncate(blk, 2 * DEV_SIZE, false,
                                  PREALLOC_MODE_OFF, 0, &err), -EINVAL);
    ck_assert_str_eq(error_get_pretty(err), "Cannot grow device files");
    error_free(err);
    err = NULL;
    ck_assert_int_eq(blk_truncate(blk, DEV_SIZE / 2, false,
                                  PREALLOC_MODE_OFF, 0, &err), 0);
    ck_assert_int_lt(blk_truncate(blk, 2 * DEV_SIZE, false,
                                  PREALLOC_MODE_FALLOC, 0, &err), 0);
    ck_assert_str_eq(error_get_pretty(err), "Preallocation mode 'falloc' "
                     "unsupported for this non-regular file");
    error_free(err);
    err = NULL;
    blk_unref(blk);

    /* "Creating" on a device checks that it is big enough. */
    p.img_size = DEV_SIZE;
    ck_assert_int_eq(bdrv_img_create(&p, &sb, &err), 0);
    strbuf_release(&sb);
    p.img_size = DEV_SIZE + 512;
    ck_assert_int_lt(bdrv_img_create(&p, &sb, &err), 0);
    ck_assert_str_eq(error_get_pretty(err), "Cannot grow device files");
    error_free(err);
    err = NULL;
    strbuf_release(&sb);
    p.img_size = 4096;
    p.options = "preallocation=full";
    ck_assert_int_lt(bdrv_img_create(&p, &sb, &err), 0);
    ck_assert_str_eq(error_get_pretty(err), "Unsupported preallocation mode "
                     "'full'");
    error_free(err);
    strbuf_release(&sb);
}
END_TEST

START_TEST(test_reopen)
{
    Error *err = NULL;
    BlockBackend *blk = open_dev(0, &err);
    BlockBackend *w;
    uint8_t b = 0x42;
    uint8_t r = 0;

    ck_assert_ptr_nonnull(blk);
    ck_assert_int_eq(bdrv_reopen_set_read_only(blk_bs(blk), false, &err), 0);
    w = blk_new_with_bs(blk_bs(blk), true, &err);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_ge(blk_pwrite(w, 512, 1, &b, 0), 0);
    blk_unref(w);
    ck_assert_int_eq(bdrv_reopen_set_read_only(blk_bs(blk), true, &err), 0);
    ck_assert_int_ge(blk_pread(blk, 512, 1, &r, 0), 0);
    ck_assert_int_eq(r, 0x42);
    blk_unref(blk);
}
END_TEST

static Suite *block_hostdev_suite(void)
{
    Suite *s = suite_create("block-hostdev");
    TCase *tc = tcase_create("loop-device");

    tcase_add_test(tc, test_probe_and_length);
    tcase_add_test(tc, test_rw_buffered);
    tcase_add_test(tc, test_rw_direct);
    tcase_add_test(tc, test_truncate_create);
    tcase_add_test(tc, test_reopen);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *why;
    SRunner *sr;
    int failed;

    test_block_init();
    why = attach();
    if (why) {
        printf("skipped: %s\n", why);
        return 77;
    }
    sr = srunner_create(block_hostdev_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    detach();
    return failed ? 1 : 0;
}
