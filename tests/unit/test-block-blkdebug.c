/*
 * Unit tests: blkdebug (block/blkdebug.c) over the in-memory "mem" protocol:
 * rules from options and config files, which requests they fail, state
 * machines, the debug events the core raises (flushes, FUA emulation,
 * read-modify-write), node names, and the open errors.
 */
#include "config-host.h"

#include <check.h>
#include <stdio.h>
#include <unistd.h>

#include "lib/test-block.h"
#include "util/aio.h"
#include "util/coroutine.h"
#include "util/iov.h"

#define IMG "bd"
#define SIZE (64 * 1024)

/*
 * raw over blkdebug over mem:IMG. opts: "key=value" pairs separated by
 * ';' for the blkdebug node ("inject-error.0.event=read_aio;..."). NULL
 * and *errp set on failure.
 */
static BlockBackend *try_open(const char *opts, int flags, Error **errp)
{
    QDict *d = qdict_new();
    char *copy = xstrdup(opts ? opts : "");
    char *save = NULL;
    char *tok;

    test_block_init();
    qdict_put_str(d, "driver", "raw");
    qdict_put_str(d, "file.driver", "blkdebug");
    qdict_put_str(d, "file.image.driver", "mem");
    qdict_put_str(d, "file.image.filename", "mem:" IMG);
    for (tok = strtok_r(copy, ";", &save); tok;
         tok = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(tok, '=');
        char *key;

        ck_assert_ptr_nonnull(eq);
        *eq = '\0';
        key = xasprintf("file.%s", tok);
        qdict_put_str(d, key, eq + 1);
        free(key);
    }
    free(copy);
    return blk_new_open(NULL, NULL, d, flags, errp);
}

static BlockBackend *open_bd(const char *opts)
{
    Error *err = NULL;
    BlockBackend *blk = try_open(opts, BDRV_O_RDWR | BDRV_O_UNMAP, &err);

    ck_assert_msg(blk, "open: %s", err ? error_get_pretty(err) : "?");
    return blk;
}

/* The open error for opts, as the user would see it. */
static void assert_open_error(const char *opts, const char *msg)
{
    Error *err = NULL;
    BlockBackend *blk = try_open(opts, BDRV_O_RDWR, &err);

    ck_assert_ptr_null(blk);
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(error_get_pretty(err), msg);
    error_free(err);
}

static char *write_config(const char *text)
{
    char *path = xstrdup("/tmp/test-blkdebug-XXXXXX");
    int fd = mkstemp(path);
    FILE *f;

    ck_assert_int_ge(fd, 0);
    f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* ---- rules ---------------------------------------------------------------- */

START_TEST(test_read_error_from_open)
{
    MemImage *img = mem_image_create(IMG, SIZE);
    BlockBackend *blk;
    uint8_t buf[4096];

    mem_image_data(img)[0] = 0x5a;
    blk = open_bd("inject-error.0.event=none;inject-error.0.iotype=read");
    ck_assert_int_eq(blk_pread(blk, 0, 512, buf, 0), -EIO);
    ck_assert_int_eq(blk_pread(blk, 8192, 4096, buf, 0), -EIO);
    /* Other kinds of request pass, and the image sees them. */
    memset(buf, 7, sizeof(buf));
    ck_assert_int_ge(blk_pwrite(blk, 4096, 4096, buf, 0), 0);
    ck_assert_int_eq(mem_image_data(img)[4096], 7);
    ck_assert_int_eq(mem_image_stats(img)->reads, 0);
    blk_unref(blk);
}
END_TEST

START_TEST(test_errno_once_sector)
{
    MemImage *img = mem_image_create(IMG, SIZE);
    BlockBackend *blk;
    uint8_t buf[4096];

    /* Sector 8 is byte 4096: only requests covering it fail, once. */
    blk = open_bd("inject-error.0.event=read_aio;inject-error.0.errno=28;"
                  "inject-error.0.sector=8;inject-error.0.once=on");
    ck_assert_int_ge(blk_pread(blk, 0, 4096, buf, 0), 0);
    ck_assert_int_ge(blk_pread(blk, 4097, 512, buf, 0), 0);
    ck_assert_int_eq(blk_pread(blk, 3584, 1024, buf, 0), -ENOSPC);
    ck_assert_int_ge(blk_pread(blk, 3584, 1024, buf, 0), 0);
    blk_unref(blk);

    /* errno 0: the rule matches, and the request succeeds. */
    blk = open_bd("inject-error.0.event=read_aio;inject-error.0.errno=0");
    ck_assert_int_ge(blk_pread(blk, 0, 512, buf, 0), 0);
    blk_unref(blk);
    (void)img;
}
END_TEST

START_TEST(test_iotypes)
{
    MemImage *img = mem_image_create(IMG, SIZE);
    BlockBackend *blk;
    uint8_t buf[512] = { 1 };

    blk = open_bd("inject-error.0.event=none;"
                  "inject-error.0.iotype=write-zeroes;"
                  "inject-error.1.event=none;"
                  "inject-error.1.iotype=discard");
    ck_assert_int_ge(blk_pwrite(blk, 0, 512, buf, 0), 0);
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 0, 512, 0), -EIO);
    ck_assert_int_eq(blk_pdiscard(blk, 0, 4096), -EIO);
    ck_assert_int_ge(blk_pread(blk, 0, 512, buf, 0), 0);
    ck_assert_int_eq(buf[0], 1);
    blk_unref(blk);
    (void)img;
}
END_TEST

START_TEST(test_state_machine)
{
    MemImage *img = mem_image_create(IMG, SIZE);
    BlockBackend *blk;
    uint8_t buf[512] = { 1 };

    /* Reads fail only in state 2, which the first write enters. */
    blk = open_bd("set-state.0.event=write_aio;set-state.0.state=1;"
                  "set-state.0.new_state=2;"
                  "inject-error.0.event=read_aio;inject-error.0.state=2");
    ck_assert_int_ge(blk_pread(blk, 0, 512, buf, 0), 0);
    ck_assert_int_ge(blk_pwrite(blk, 0, 512, buf, 0), 0);
    /* The read_aio of this read arms the rule, in state 2. */
    ck_assert_int_eq(blk_pread(blk, 0, 512, buf, 0), -EIO);
    ck_assert_int_eq(blk_pread(blk, 0, 512, buf, 0), -EIO);
    blk_unref(blk);
    (void)img;
}
END_TEST

START_TEST(test_later_event_without_rules_keeps_active)
{
    MemImage *img = mem_image_create(IMG, SIZE);
    BlockBackend *blk;
    uint8_t buf[512] = { 1 };

    /* write_aio has no rule: the armed read rule stays. */
    blk = open_bd("inject-error.0.event=read_aio;inject-error.0.iotype=read");
    ck_assert_int_eq(blk_pread(blk, 0, 512, buf, 0), -EIO);
    ck_assert_int_ge(blk_pwrite(blk, 0, 512, buf, 0), 0);
    ck_assert_int_eq(blk_pread(blk, 0, 512, buf, 0), -EIO);
    blk_unref(blk);
    (void)img;
}
END_TEST

/* ---- events from the core ------------------------------------------------ */

START_TEST(test_flush_to_disk_only_when_dirty)
{
    MemImage *img = mem_image_create(IMG, SIZE);
    BlockBackend *blk;
    uint8_t buf[512] = { 1 };

    blk = open_bd("inject-error.0.event=flush_to_disk;"
                  "inject-error.0.iotype=write");
    /* Nothing written: no flush_to_disk, writes still pass. */
    ck_assert_int_eq(blk_flush(blk), 0);
    ck_assert_int_ge(blk_pwrite(blk, 0, 512, buf, 0), 0);
    ck_assert_int_eq(blk_flush(blk), 0);
    ck_assert_int_eq(blk_pwrite(blk, 0, 512, buf, 0), -EIO);
    blk_unref(blk);
    (void)img;
}
END_TEST

START_TEST(test_writethrough_flush_order)
{
    MemImage *img = mem_image_create(IMG, SIZE);
    BlockBackend *blk;
    uint8_t buf[512] = { 1 };

    /*
     * Writethrough: the flush of a write comes before the write counts on
     * the top node, so the first write's flush raises no flush_to_disk
     * there; the second one's does, and then fails on blkdebug.
     */
    blk = open_bd("inject-error.0.event=flush_to_disk;"
                  "inject-error.0.iotype=flush");
    blk_set_enable_write_cache(blk, false);
    ck_assert_int_ge(blk_pwrite(blk, 0, 512, buf, 0), 0);
    ck_assert_int_eq(blk_pwrite(blk, 0, 512, buf, 0), -EIO);
    blk_unref(blk);

    /* flush_to_os comes with every flush. */
    blk = open_bd("inject-error.0.event=flush_to_os;"
                  "inject-error.0.iotype=flush");
    blk_set_enable_write_cache(blk, false);
    ck_assert_int_eq(blk_pwrite(blk, 0, 512, buf, 0), -EIO);
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 0, 512, 0), -EIO);
    blk_unref(blk);
    (void)img;
}
END_TEST

START_TEST(test_rmw_events)
{
    MemImage *img = mem_image_create(IMG, SIZE);
    BlockBackend *blk;
    uint8_t buf[4096] = { 1 };

    /* The padding of an unaligned write happens on blkdebug (align). */
    blk = open_bd("align=4096;inject-error.0.event=pwritev_rmw_tail;"
                  "inject-error.0.iotype=write");
    ck_assert_int_ge(blk_pwrite(blk, 0, 4096, buf, 0), 0);
    ck_assert_int_eq(blk_pwrite(blk, 0, 512, buf, 0), -EIO);
    blk_unref(blk);

    blk = open_bd("align=4096;inject-error.0.event=pwritev_zero;"
                  "inject-error.0.iotype=write");
    ck_assert_int_ge(blk_pwrite(blk, 0, 4096, buf, 0), 0);
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 0, 4096, 0), 0);
    ck_assert_int_eq(blk_pwrite(blk, 0, 4096, buf, 0), -EIO);
    ck_assert_int_eq(mem_image_stats(img)->misaligned, false);
    blk_unref(blk);
}
END_TEST

/* ---- breakpoints ---------------------------------------------------------- */

typedef struct BreakWrite {
    BlockBackend *blk;
    int64_t offset;
    uint8_t buf[512];
    int ret;
    bool done;
} BreakWrite;

static void coroutine_fn break_write_entry(void *opaque)
{
    BreakWrite *w = opaque;
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, w->buf, sizeof(w->buf));
    w->ret = blk_co_pwritev(w->blk, w->offset, sizeof(w->buf), &qiov, 0);
    w->done = true;
}

static void start_write(BreakWrite *w, BlockBackend *blk, int64_t offset,
                        uint8_t fill)
{
    w->blk = blk;
    w->offset = offset;
    memset(w->buf, fill, sizeof(w->buf));
    w->done = false;
    qemu_coroutine_enter(qemu_coroutine_create(break_write_entry, w));
}

/* Polls until cond holds (a few seconds at most). */
#define POLL_UNTIL(cond) \
    do { \
        int n_ = 0; \
        while (!(cond)) { \
            aio_poll(qemu_get_aio_context(), n_ > 100); \
            ck_assert_int_lt(++n_, 100000); \
        } \
    } while (0)

START_TEST(test_breakpoint_suspends_and_resumes)
{
    MemImage *img = mem_image_create(IMG, SIZE);
    BlockBackend *blk = open_bd(NULL);
    BlockDriverState *bs = blk_bs(blk);
    BreakWrite w1;
    BreakWrite w2;

    ck_assert_int_eq(bdrv_debug_breakpoint(bs, "write_aio", "A"), 0);
    ck_assert(!bdrv_debug_is_suspended(bs, "A"));
    start_write(&w1, blk, 0, 0x11);
    POLL_UNTIL(bdrv_debug_is_suspended(bs, "A"));
    /* Stopped before it reached the image. */
    ck_assert(!w1.done);
    ck_assert_int_eq(mem_image_stats(img)->writes, 0);

    /* The breakpoint is gone: a second write goes through. */
    start_write(&w2, blk, 512, 0x22);
    POLL_UNTIL(w2.done);
    ck_assert_int_ge(w2.ret, 0);
    ck_assert(!w1.done);

    ck_assert_int_eq(bdrv_debug_resume(bs, "B"), -ENOENT);
    ck_assert_int_eq(bdrv_debug_resume(bs, "A"), 0);
    POLL_UNTIL(w1.done);
    ck_assert_int_ge(w1.ret, 0);
    ck_assert(!bdrv_debug_is_suspended(bs, "A"));
    ck_assert_int_eq(mem_image_data(img)[0], 0x11);
    ck_assert_int_eq(mem_image_data(img)[512], 0x22);
    ck_assert_int_eq(bdrv_debug_resume(bs, "A"), -ENOENT);
    blk_unref(blk);
}
END_TEST

START_TEST(test_breakpoint_remove)
{
    MemImage *img = mem_image_create(IMG, SIZE);
    BlockBackend *blk = open_bd(NULL);
    BlockDriverState *bs = blk_bs(blk);
    uint8_t buf[512] = { 3 };
    BreakWrite w;

    ck_assert_int_eq(bdrv_debug_breakpoint(blk_bs(blk), "bogus", "A"),
                     -ENOENT);
    ck_assert_int_eq(bdrv_debug_remove_breakpoint(bs, "A"), -ENOENT);
    /* Removed before it was reached: writes pass. */
    ck_assert_int_eq(bdrv_debug_breakpoint(bs, "write_aio", "A"), 0);
    ck_assert_int_eq(bdrv_debug_remove_breakpoint(bs, "A"), 0);
    ck_assert_int_ge(blk_pwrite(blk, 0, 512, buf, 0), 0);

    /*
     * Removing the tag of a stopped request resumes it; the breakpoint
     * itself was used up, so the answer is still -ENOENT.
     */
    ck_assert_int_eq(bdrv_debug_breakpoint(bs, "write_aio", "A"), 0);
    start_write(&w, blk, 512, 0x44);
    POLL_UNTIL(bdrv_debug_is_suspended(bs, "A"));
    ck_assert_int_eq(bdrv_debug_remove_breakpoint(bs, "A"), -ENOENT);
    POLL_UNTIL(w.done);
    ck_assert_int_ge(w.ret, 0);
    ck_assert_int_eq(mem_image_data(img)[512], 0x44);
    blk_unref(blk);

    /* No blkdebug node below: not supported. */
    blk = test_open(IMG, "raw", true);
    ck_assert_int_eq(bdrv_debug_breakpoint(blk_bs(blk), "write_aio", "A"),
                     -ENOTSUP);
    ck_assert_int_eq(bdrv_debug_resume(blk_bs(blk), "A"), -ENOTSUP);
    ck_assert(!bdrv_debug_is_suspended(blk_bs(blk), "A"));
    blk_unref(blk);
}
END_TEST

/* ---- config files, names, errors ----------------------------------------- */

START_TEST(test_config_file)
{
    MemImage *img = mem_image_create(IMG, SIZE);
    char *cfg = write_config("# comment\n"
                             "\n"
                             "[inject-error]\n"
                             "event = \"read_aio\"\n"
                             "errno = \"28\"\n"
                             "sector = \"8\"\n");
    char *opts = xasprintf("config=%s", cfg);
    BlockBackend *blk = open_bd(opts);
    char *name = xasprintf("blkdebug:%s:mem:" IMG, cfg);
    uint8_t buf[512];

    ck_assert_int_ge(blk_pread(blk, 0, 512, buf, 0), 0);
    ck_assert_int_eq(blk_pread(blk, 4096, 512, buf, 0), -ENOSPC);
    /* Only a config file and a plain image: the short name. */
    ck_assert_str_eq(bdrv_get_filename(blk_bs(blk)), name);
    blk_unref(blk);
    free(name);
    free(opts);
    unlink(cfg);
    free(cfg);
    (void)img;
}
END_TEST

START_TEST(test_config_errors)
{
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        { "[inject-error]\nevent = \"bogus\"\n",
          "invalid parameter value: bogus" },
        { "[foo]\nevent = \"read_aio\"\n",
          "There is no option group 'foo'" },
        { "event = \"read_aio\"\n", "no group defined" },
        { "[inject-error]\nevent read_aio\n", "invalid parameter value: " },
        { "[inject-error]\nfoo = \"1\"\n", "Invalid parameter 'foo'" },
        { "[inject-error]\nerrno = \"5\"\n",
          "Missing event name for rule" },
        { "[inject-error]\nevent = \"none\"\niotype = \"x\"\n",
          "invalid parameter value: x" },
    };
    unsigned int i;

    mem_image_create(IMG, SIZE);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        char *cfg = write_config(cases[i].text);
        char *opts = xasprintf("config=%s", cfg);

        assert_open_error(opts, cases[i].msg);
        unlink(cfg);
        free(opts);
        free(cfg);
    }
    assert_open_error("config=/nonexistent/blkdebug.cfg",
                      "Could not read blkdebug config file: No such file "
                      "or directory");
    assert_open_error("align=3000", "Cannot meet constraints with align "
                      "3000");
    assert_open_error("inject-error.1.event=none",
                      "Unused option '1.event' for [inject-error]");
    assert_open_error("inject-error.0.foo=1",
                      "[inject-error] section doesn't support the option "
                      "'foo'");
}
END_TEST

START_TEST(test_json_name)
{
    BlockBackend *blk;

    mem_image_create(IMG, SIZE);
    blk = open_bd("inject-error.0.event=read_aio");
    /* Rules are not in a blkdebug: name: the node is named json:. */
    ck_assert_str_eq(bdrv_get_filename(blk_bs(blk)),
                     "json:{\"driver\": \"raw\", \"file\": {\"image\": "
                     "{\"driver\": \"mem\", \"filename\": \"mem:" IMG "\"}, "
                     "\"driver\": \"blkdebug\", "
                     "\"inject-error.0.event\": \"read_aio\"}}");
    blk_unref(blk);
}
END_TEST

static Suite *blkdebug_suite(void)
{
    Suite *s = suite_create("block-blkdebug");
    TCase *tc;

    tc = tcase_create("rules");
    tcase_add_test(tc, test_read_error_from_open);
    tcase_add_test(tc, test_errno_once_sector);
    tcase_add_test(tc, test_iotypes);
    tcase_add_test(tc, test_state_machine);
    tcase_add_test(tc, test_later_event_without_rules_keeps_active);
    suite_add_tcase(s, tc);

    tc = tcase_create("core-events");
    tcase_add_test(tc, test_flush_to_disk_only_when_dirty);
    tcase_add_test(tc, test_writethrough_flush_order);
    tcase_add_test(tc, test_rmw_events);
    suite_add_tcase(s, tc);

    tc = tcase_create("breakpoints");
    tcase_add_test(tc, test_breakpoint_suspends_and_resumes);
    tcase_add_test(tc, test_breakpoint_remove);
    suite_add_tcase(s, tc);

    tc = tcase_create("open");
    tcase_add_test(tc, test_config_file);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_json_name);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(blkdebug_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
