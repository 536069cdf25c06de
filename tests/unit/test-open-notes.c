/* open_notes_format: the reference's wording and order of open notes. */
#include "config-host.h"

#include <check.h>

#include "util/osdep.h"
#include "util/strbuf.h"
#include "util/open-notes.h"

#define PROBED_RAW(name) \
    "WARNING: Image format was not specified for '" name "' and probing " \
    "guessed raw.\n" \
    "         Automatically detecting the format is dangerous for raw " \
    "images, write operations on block 0 will be restricted.\n" \
    "         Specify the 'raw' format explicitly to remove the " \
    "restrictions.\n"

START_TEST(test_open_notes_empty)
{
    StrBuf sb = STRBUF_INIT;

    open_notes_format(&sb, "qemu-img", NULL, NULL);
    ck_assert_str_eq(strbuf_str(&sb), "");
    open_notes_format(&sb, "qemu-img", "", NULL);
    ck_assert_str_eq(strbuf_str(&sb), "");
    strbuf_release(&sb);
}
END_TEST

START_TEST(test_open_notes_warnings)
{
    StrBuf sb = STRBUF_INIT;

    open_notes_format(&sb, "qemu-io", "one\ntwo\n", NULL);
    ck_assert_str_eq(strbuf_str(&sb),
                     "qemu-io: warning: one\nqemu-io: warning: two\n");
    strbuf_reset(&sb);
    /* A last line without its newline still ends one. */
    open_notes_format(&sb, "p", "a\nb", NULL);
    ck_assert_str_eq(strbuf_str(&sb), "p: warning: a\np: warning: b\n");
    strbuf_release(&sb);
}
END_TEST

START_TEST(test_open_notes_probed_raw)
{
    StrBuf sb = STRBUF_INIT;

    open_notes_format(&sb, "qemu-img", NULL, "r.raw");
    ck_assert_str_eq(strbuf_str(&sb), PROBED_RAW("r.raw"));
    strbuf_reset(&sb);
    /* Warnings come first, then the probed-raw block; appends to sb. */
    strbuf_addstr(&sb, "x\n");
    open_notes_format(&sb, "qemu-img", "dep\n", "a b");
    ck_assert_str_eq(strbuf_str(&sb),
                     "x\nqemu-img: warning: dep\n" PROBED_RAW("a b"));
    strbuf_release(&sb);
}
END_TEST

static Suite *open_notes_suite(void)
{
    Suite *s = suite_create("open-notes");
    TCase *tc = tcase_create("format");

    tcase_add_test(tc, test_open_notes_empty);
    tcase_add_test(tc, test_open_notes_warnings);
    tcase_add_test(tc, test_open_notes_probed_raw);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(open_notes_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
