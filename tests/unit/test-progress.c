/*
 * The progress indicator, byte for byte as the reference's convert -p
 * printed it, and its SIGUSR1 report without -p.
 */
#include "config-host.h"

#include <check.h>
#include <signal.h>

#include "util/osdep.h"
#include "util/progress.h"

typedef struct Capture {
    FILE *f;
    int fd;
    int saved;
} Capture;

static void capture_start(Capture *c, int fd)
{
    c->f = tmpfile();
    c->fd = fd;
    fflush(fd == STDOUT_FILENO ? stdout : stderr);
    c->saved = dup(fd);
    dup2(fileno(c->f), fd);
}

static char *capture_end(Capture *c)
{
    char *buf = xzalloc(1 << 16);

    fflush(c->fd == STDOUT_FILENO ? stdout : stderr);
    dup2(c->saved, c->fd);
    close(c->saved);
    rewind(c->f);
    ck_assert_uint_lt(fread(buf, 1, (1 << 16) - 1, c->f), (1 << 16) - 1);
    fclose(c->f);
    return buf;
}

START_TEST(test_progress_steps)
{
    /*
     * convert -p of 200 data/hole extents (each step 0.5%) printed 0.00,
     * then 1.50, 3.00, ... (strictly more than 1% past the last redraw),
     * 100.00 when the last chunk landed, 100.00 again for the final call,
     * then the newline.
     */
    Capture c;
    char *out, *p;
    int i;

    capture_start(&c, STDOUT_FILENO);
    qemu_progress_init(true, 1.0);
    qemu_progress_print(0, 100);
    for (i = 0; i < 200; i++) {
        qemu_progress_print(0.5, 100);
    }
    qemu_progress_print(100, 0);
    qemu_progress_end();
    out = capture_end(&c);

    ck_assert(strncmp(out, "    (0.00/100%)\r    (1.50/100%)\r"
                      "    (3.00/100%)\r    (4.50/100%)\r", 64) == 0);
    p = out + strlen(out) - strlen("    (99.00/100%)\r    (100.00/100%)\r"
                                   "    (100.00/100%)\r\n");
    ck_assert_str_eq(p, "    (99.00/100%)\r    (100.00/100%)\r"
                     "    (100.00/100%)\r\n");
    free(out);
}
END_TEST

START_TEST(test_progress_big_steps_and_rounding)
{
    /* 64 MiB in 2 MiB chunks: every 3.125% step redraws, %.2f rounding. */
    Capture c;
    char *out;
    int i;

    capture_start(&c, STDOUT_FILENO);
    qemu_progress_init(true, 1.0);
    qemu_progress_print(0, 100);
    for (i = 0; i < 5; i++) {
        qemu_progress_print(3.125, 100);
    }
    out = capture_end(&c);
    ck_assert_str_eq(out, "    (0.00/100%)\r    (3.12/100%)\r"
                     "    (6.25/100%)\r    (9.38/100%)\r"
                     "    (12.50/100%)\r    (15.62/100%)\r");
    free(out);
}
END_TEST

START_TEST(test_progress_error_end)
{
    /* A failed convert: the last redraw stays, end adds only "\n". */
    Capture c;
    char *out;

    capture_start(&c, STDOUT_FILENO);
    qemu_progress_init(true, 1.0);
    qemu_progress_print(0, 100);
    qemu_progress_print(56.25, 100);
    qemu_progress_end();
    out = capture_end(&c);
    ck_assert_str_eq(out, "    (0.00/100%)\r    (56.25/100%)\r\n");
    free(out);
}
END_TEST

START_TEST(test_progress_disabled_silent)
{
    Capture c, e;
    char *out, *err;
    int i;

    capture_start(&c, STDOUT_FILENO);
    capture_start(&e, STDERR_FILENO);
    qemu_progress_init(false, 1.0);
    qemu_progress_print(0, 100);
    for (i = 0; i < 100; i++) {
        qemu_progress_print(1, 100);
    }
    qemu_progress_end();
    err = capture_end(&e);
    out = capture_end(&c);
    ck_assert_str_eq(out, "");
    ck_assert_str_eq(err, "");
    free(out);
    free(err);
}
END_TEST

START_TEST(test_progress_sigusr1)
{
    /*
     * Without -p the reference answered SIGUSR1 at the next redraw point,
     * on stderr with a newline; two signals before it give one report.
     */
    Capture c, e;
    char *out, *err;
    int i;

    capture_start(&c, STDOUT_FILENO);
    capture_start(&e, STDERR_FILENO);
    qemu_progress_init(false, 1.0);
    qemu_progress_print(0, 100);
    for (i = 0; i < 10; i++) {
        qemu_progress_print(0.25, 100);
    }
    raise(SIGUSR1);
    raise(SIGUSR1);
    for (i = 0; i < 40; i++) {
        qemu_progress_print(0.25, 100);
    }
    raise(SIGUSR1);
    qemu_progress_print(0.25, 100);
    qemu_progress_end();
    err = capture_end(&e);
    out = capture_end(&c);
    ck_assert_str_eq(out, "");
    ck_assert_str_eq(err, "    (3.75/100%)\n");
    free(out);
    free(err);
}
END_TEST

START_TEST(test_progress_sigusr1_with_p)
{
    /* With -p the signal adds nothing. */
    Capture c, e;
    char *out, *err;

    capture_start(&c, STDOUT_FILENO);
    capture_start(&e, STDERR_FILENO);
    qemu_progress_init(true, 1.0);
    qemu_progress_print(0, 100);
    raise(SIGUSR1);
    qemu_progress_print(0.5, 100);
    qemu_progress_print(0.75, 100);
    err = capture_end(&e);
    out = capture_end(&c);
    ck_assert_str_eq(out, "    (0.00/100%)\r    (1.25/100%)\r");
    ck_assert_str_eq(err, "");
    free(out);
    free(err);
}
END_TEST

START_TEST(test_progress_phases)
{
    /* Two phases of weight 50: 100% of the first is 50 overall. */
    Capture c;
    char *out;

    capture_start(&c, STDOUT_FILENO);
    qemu_progress_init(true, 2.0);
    qemu_progress_print(0, 50);
    qemu_progress_print(100, 50);
    qemu_progress_print(10, 50);
    qemu_progress_print(200, 50);
    out = capture_end(&c);
    ck_assert_str_eq(out, "    (0.00/100%)\r    (50.00/100%)\r"
                     "    (55.00/100%)\r    (100.00/100%)\r");
    free(out);
}
END_TEST

static Suite *progress_suite(void)
{
    Suite *s = suite_create("progress");
    TCase *tc;

    tc = tcase_create("enabled");
    tcase_add_test(tc, test_progress_steps);
    tcase_add_test(tc, test_progress_big_steps_and_rounding);
    tcase_add_test(tc, test_progress_error_end);
    tcase_add_test(tc, test_progress_phases);
    suite_add_tcase(s, tc);

    tc = tcase_create("signal");
    tcase_add_test(tc, test_progress_disabled_silent);
    tcase_add_test(tc, test_progress_sigusr1);
    tcase_add_test(tc, test_progress_sigusr1_with_p);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(progress_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
