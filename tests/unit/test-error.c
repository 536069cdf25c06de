/* Error objects and the front ends' report format. */
#include "config-host.h"

#include <check.h>
#include <signal.h>

#include "util/osdep.h"
#include "util/error.h"

static char *capture_stderr(void (*fn)(void))
{
    FILE *f = tmpfile();
    int saved = dup(STDERR_FILENO);
    char *buf = xzalloc(4096);

    fflush(stderr);
    dup2(fileno(f), STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(f);
    ck_assert_uint_lt(fread(buf, 1, 4095, f), 4095);
    fclose(f);
    return buf;
}

START_TEST(test_error_set)
{
    Error *err = NULL;

    error_setg(&err, "first %d", 1);
    error_setg(&err, "second");     /* the first error wins */
    ck_assert_str_eq(error_get_pretty(err), "first 1");
    ck_assert_ptr_null(error_get_hint(err));
    error_prepend(&err, "%s: ", "x.qcow2");
    ck_assert_str_eq(error_get_pretty(err), "x.qcow2: first 1");
    error_append_hint(&err, "line %d\n", 1);
    error_append_hint(&err, "line 2\n");
    ck_assert_str_eq(error_get_hint(err), "line 1\nline 2\n");
    error_free_or_abort(&err);
    ck_assert_ptr_null(err);

    error_setg_errno(&err, ENOENT, "Could not open '%s'", "f");
    ck_assert_str_eq(error_get_pretty(err),
                     "Could not open 'f': No such file or directory");
    error_free(err);
    err = NULL;
    error_setg_file_open(&err, EACCES, "g");
    ck_assert_str_eq(error_get_pretty(err),
                     "Could not open 'g': Permission denied");
    error_free(err);

    /* NULL errp: nothing happens. */
    error_setg(NULL, "ignored");
    error_prepend(NULL, "x");
    error_append_hint(NULL, "x");
}
END_TEST

START_TEST(test_error_propagate_copy)
{
    Error *local = NULL, *dst = NULL, *copy;

    error_setg(&local, "inner");
    error_append_hint(&local, "hint\n");
    copy = error_copy(local);
    error_propagate(&dst, local);
    ck_assert_str_eq(error_get_pretty(dst), "inner");
    error_propagate(&dst, NULL);
    ck_assert_str_eq(error_get_pretty(copy), "inner");
    ck_assert_str_eq(error_get_hint(copy), "hint\n");
    error_propagate(&dst, copy);    /* dst is set: copy is freed */
    ck_assert_str_eq(error_get_pretty(dst), "inner");
    error_free(dst);
    error_free(NULL);
}
END_TEST

static void report_all(void)
{
    Error *err = NULL;

    error_set_progname("/usr/bin/qemu-img");
    error_report("plain %s", "message");
    warn_report("careful");
    error_setg(&err, "Parameter 'size' expects a size");
    error_append_hint(&err, "Optional suffix...\n");
    error_report_err(err);
    err = NULL;
    error_setg(&err, "inner");
    error_reportf_err(err, "outer '%s': ", "f");
    err = NULL;
    error_setg(&err, "soft");
    warn_report_err(err);
}

START_TEST(test_error_report)
{
    char *out = capture_stderr(report_all);

    ck_assert_str_eq(out,
                     "qemu-img: plain message\n"
                     "qemu-img: warning: careful\n"
                     "qemu-img: Parameter 'size' expects a size\n"
                     "Optional suffix...\n"
                     "qemu-img: outer 'f': inner\n"
                     "qemu-img: warning: soft\n");
    ck_assert_str_eq(error_get_progname(), "qemu-img");
    free(out);
}
END_TEST

START_TEST(test_error_abort)
{
    error_setg(&error_abort, "fatal");
}
END_TEST

static Suite *error_suite(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("error");

    tcase_add_test(tc, test_error_set);
    tcase_add_test(tc, test_error_propagate_copy);
    tcase_add_test(tc, test_error_report);
    tcase_add_test_raise_signal(tc, test_error_abort, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(error_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
