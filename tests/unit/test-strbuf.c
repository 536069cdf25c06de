/* StrBuf: growth, formatting, detach/reset/release. */
#include "config-host.h"

#include <check.h>

#include "util/osdep.h"
#include "util/strbuf.h"

START_TEST(test_strbuf_basic)
{
    StrBuf sb = STRBUF_INIT;
    char *s;
    int i;

    strbuf_init(&sb);
    ck_assert_str_eq(strbuf_str(&sb), "");
    ck_assert_uint_eq(sb.len, 0);
    strbuf_addstr(&sb, "abc");
    strbuf_addch(&sb, '-');
    strbuf_add(&sb, "xyz", 2);
    strbuf_addf(&sb, "%d:%s", 42, "z");
    ck_assert_str_eq(strbuf_str(&sb), "abc-xy42:z");
    ck_assert_uint_eq(sb.len, 10);
    for (i = 0; i < 1000; i++) {
        strbuf_addf(&sb, "%04d", i);
    }
    ck_assert_uint_eq(sb.len, 4010);
    ck_assert(strncmp(sb.buf + 4006, "0999", 4) == 0);
    ck_assert_int_eq(sb.buf[sb.len], '\0');
    strbuf_reset(&sb);
    ck_assert_str_eq(strbuf_str(&sb), "");
    strbuf_addstr(&sb, "again");
    s = strbuf_detach(&sb);
    ck_assert_str_eq(s, "again");
    ck_assert_str_eq(strbuf_str(&sb), "");
    free(s);
    s = strbuf_detach(&sb);
    ck_assert_str_eq(s, "");
    free(s);
    strbuf_addch(&sb, 'q');
    strbuf_release(&sb);
    ck_assert_uint_eq(sb.len, 0);
    ck_assert_str_eq(strbuf_str(&sb), "");
    strbuf_release(&sb);
}
END_TEST

START_TEST(test_strbuf_embedded_nul)
{
    StrBuf sb = STRBUF_INIT;

    strbuf_init(&sb);
    strbuf_add(&sb, "a\0b", 3);
    ck_assert_uint_eq(sb.len, 3);
    ck_assert(memcmp(sb.buf, "a\0b", 4) == 0);
    strbuf_addf(&sb, "%s", "");
    ck_assert_uint_eq(sb.len, 3);
    strbuf_release(&sb);
}
END_TEST

static Suite *strbuf_suite(void)
{
    Suite *s = suite_create("strbuf");
    TCase *tc = tcase_create("strbuf");

    tcase_add_test(tc, test_strbuf_basic);
    tcase_add_test(tc, test_strbuf_embedded_nul);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(strbuf_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
