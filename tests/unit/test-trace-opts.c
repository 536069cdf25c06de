/* trace_opt_check / trace_file_check: the reference's -T diagnostics. */
#include "config-host.h"

#include <check.h>
#include <stdio.h>
#include <unistd.h>

#include "util/osdep.h"
#include "util/strbuf.h"
#include "util/trace-opts.h"

START_TEST(test_trace_enable)
{
    StrBuf out = STRBUF_INIT;
    char *file = NULL;

    ck_assert_int_eq(trace_opt_check("foo", "p", &out, &file), 0);
    ck_assert_int_eq(trace_opt_check("enable=-bar", "p", &out, &file), 0);
    /* Globs and "help" name no single event: no warning. */
    ck_assert_int_eq(trace_opt_check("foo*", "p", &out, &file), 0);
    ck_assert_int_eq(trace_opt_check("b?r", "p", &out, &file), 0);
    ck_assert_int_eq(trace_opt_check("help", "p", &out, &file), 0);
    ck_assert_int_eq(trace_opt_check("", "p", &out, &file), 0);
    ck_assert_str_eq(strbuf_str(&out),
                     "p: warning: trace event 'foo' does not exist\n"
                     "p: warning: trace event 'bar' does not exist\n");
    ck_assert_ptr_null(file);
    strbuf_release(&out);
}
END_TEST

START_TEST(test_trace_errors)
{
    StrBuf out = STRBUF_INIT;
    char *file = NULL;

    ck_assert_int_eq(trace_opt_check("bogus=1", "p", &out, &file), -1);
    ck_assert_str_eq(strbuf_str(&out), "p: Invalid parameter 'bogus'\n");
    strbuf_reset(&out);
    ck_assert_int_eq(trace_opt_check("x,events=/nonexistent/ev", "p", &out,
                                     &file), -1);
    ck_assert_str_eq(strbuf_str(&out),
                     "p: warning: trace event 'x' does not exist\n"
                     "p:/nonexistent/ev: No such file or directory\n");
    strbuf_release(&out);
    free(file);
}
END_TEST

START_TEST(test_trace_events_file)
{
    StrBuf out = STRBUF_INIT;
    char path[] = "/tmp/test-trace-opts-XXXXXX";
    char *arg, *file = NULL;
    int fd = mkstemp(path);
    FILE *f;

    ck_assert_int_ge(fd, 0);
    f = fdopen(fd, "w");
    fputs("one\n\n# comment\ntwo*\n-three", f);
    fclose(f);
    arg = xasprintf("events=%s,enable=zero", path);
    ck_assert_int_eq(trace_opt_check(arg, "p", &out, &file), 0);
    free(arg);
    arg = xasprintf("p: warning: trace event 'zero' does not exist\n"
                    "p:%s:1: warning: trace event 'one' does not exist\n"
                    "p:%s:5: warning: trace event 'three' does not exist\n",
                    path, path);
    ck_assert_str_eq(strbuf_str(&out), arg);
    free(arg);
    unlink(path);
    strbuf_release(&out);
}
END_TEST

START_TEST(test_trace_log_file)
{
    StrBuf out = STRBUF_INIT;
    char path[] = "/tmp/test-trace-opts-XXXXXX";
    char *arg, *file = NULL;
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "old", 3), 3);
    close(fd);
    arg = xasprintf("file=%s", path);
    ck_assert_int_eq(trace_opt_check(arg, "p", &out, &file), 0);
    free(arg);
    ck_assert_str_eq(file, path);
    /* A later -T without file= takes the log file back. */
    ck_assert_int_eq(trace_opt_check("x*", "p", &out, &file), 0);
    ck_assert_ptr_null(file);
    ck_assert_int_eq(trace_file_check(NULL, "p", &out), 0);
    ck_assert_int_eq(trace_file_check(path, "p", &out), 0);
    ck_assert_str_eq(strbuf_str(&out), "");
    /* Opened as the reference opens it: truncated. */
    ck_assert_int_eq(access(path, F_OK), 0);
    {
        FILE *f = fopen(path, "r");

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fgetc(f), EOF);
        fclose(f);
    }
    unlink(path);
    ck_assert_int_eq(trace_file_check("/nonexistent/log", "p", &out), -1);
    ck_assert_str_eq(strbuf_str(&out), "p: Error opening logfile "
                     "/nonexistent/log: No such file or directory\n");
    strbuf_release(&out);
}
END_TEST

static Suite *trace_opts_suite(void)
{
    Suite *s = suite_create("trace-opts");
    TCase *tc = tcase_create("check");

    tcase_add_test(tc, test_trace_enable);
    tcase_add_test(tc, test_trace_errors);
    tcase_add_test(tc, test_trace_events_file);
    tcase_add_test(tc, test_trace_log_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(trace_opts_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
