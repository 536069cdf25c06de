/* The human dump of QObjects (info's "Format specific information:"). */
#include "config-host.h"

#include <check.h>

#include "util/osdep.h"
#include "util/qobject.h"
#include "util/qobject-human.h"
#include "util/strbuf.h"

static char *dump(QObject *obj, int indent)
{
    StrBuf sb = STRBUF_INIT;

    strbuf_init(&sb);
    qobject_human_dump(&sb, obj, indent);
    return strbuf_detach(&sb);
}

START_TEST(test_human_nested)
{
    QDict *d = qdict_new(), *inner = qdict_new(), *elem = qdict_new();
    QList *list = qlist_new();
    char *s;

    /* One key per dict keeps the expected text independent of the order. */
    qdict_put_bool(elem, "in-use", false);
    qlist_append_obj(list, QOBJECT(elem));
    qlist_append_int(list, -7);
    qlist_append_str(list, "x-y");
    qdict_put_obj(inner, "bitmaps", QOBJECT(list));
    qdict_put_obj(d, "lazy-refcounts", QOBJECT(inner));
    s = dump(QOBJECT(d), 1);
    ck_assert_str_eq(s,
                     "    lazy refcounts:\n"
                     "        bitmaps:\n"
                     "            [0]:\n"
                     "                in use: false\n"
                     "            [1]: -7\n"
                     "            [2]: x-y\n");
    free(s);
    qobject_unref(QOBJECT(d));
}
END_TEST

START_TEST(test_human_scalars)
{
    QDict *d = qdict_new();
    QList *empty = qlist_new();
    QObject *num;
    char *s;

    qdict_put_uint(d, "big", UINT64_MAX);
    s = dump(QOBJECT(d), 0);
    ck_assert_str_eq(s, "big: 18446744073709551615\n");
    free(s);
    qobject_unref(QOBJECT(d));

    d = qdict_new();
    qdict_put_null(d, "n");
    s = dump(QOBJECT(d), 2);
    ck_assert_str_eq(s, "        n: null\n");
    free(s);
    qobject_unref(QOBJECT(d));

    num = QOBJECT(qnum_from_double(1.5));
    s = dump(num, 1);
    ck_assert_str_eq(s, "    1.500000\n");
    free(s);
    qobject_unref(num);

    /* An empty list or dict prints nothing. */
    s = dump(QOBJECT(empty), 1);
    ck_assert_str_eq(s, "");
    free(s);
    qobject_unref(QOBJECT(empty));
}
END_TEST

START_TEST(test_human_format_specific)
{
    QDict *spec = qdict_new(), *data = qdict_new();
    StrBuf sb = STRBUF_INIT;

    qdict_put_str(data, "compat", "1.1");
    qdict_put_str(spec, "type", "qcow2");
    qdict_put_obj(spec, "data", QOBJECT(data));
    strbuf_init(&sb);
    qobject_human_format_specific(&sb, spec);
    ck_assert_str_eq(sb.buf, "Format specific information:\n"
                     "    compat: 1.1\n");
    /* Without data, the heading alone. */
    qdict_del(spec, "data");
    strbuf_reset(&sb);
    qobject_human_format_specific(&sb, spec);
    ck_assert_str_eq(sb.buf, "Format specific information:\n");
    strbuf_release(&sb);
    qobject_unref(QOBJECT(spec));
}
END_TEST

static Suite *qobject_human_suite(void)
{
    Suite *s = suite_create("qobject-human");
    TCase *tc = tcase_create("dump");

    tcase_add_test(tc, test_human_nested);
    tcase_add_test(tc, test_human_scalars);
    suite_add_tcase(s, tc);
    tc = tcase_create("format-specific");
    tcase_add_test(tc, test_human_format_specific);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(qobject_human_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
