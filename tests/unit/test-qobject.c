/*
 * QObject tree and above all QDict's iteration order, checked against key
 * orders the reference printed (qemu-img info/check/measure --output=json
 * and the flattened options of a json: filename).
 */
#include "config-host.h"

#include <check.h>

#include "util/osdep.h"
#include "util/qobject.h"

/* Returns the keys of qdict in iteration order, joined by spaces. */
static char *dict_keys(const QDict *qdict)
{
    size_t len = 1;
    const QDictEntry *e;
    char *s;

    for (e = qdict_first(qdict); e; e = qdict_next(qdict, e)) {
        len += strlen(qdict_entry_key(e)) + 1;
    }
    s = xzalloc(len);
    for (e = qdict_first(qdict); e; e = qdict_next(qdict, e)) {
        if (*s) {
            strcat(s, " ");
        }
        strcat(s, qdict_entry_key(e));
    }
    return s;
}

/* Inserts the space-separated keys in the given order, values 0, 1, ... */
static QDict *dict_from_keys(const char *keys)
{
    QDict *qdict = qdict_new();
    char *copy = xstrdup(keys), *save = NULL, *k;
    int i = 0;

    for (k = strtok_r(copy, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
        qdict_put_int(qdict, k, i++);
    }
    free(copy);
    return qdict;
}

static void check_order(const char *insert_order, const char *expected)
{
    QDict *qdict = dict_from_keys(insert_order);
    char *keys = dict_keys(qdict);

    ck_assert_str_eq(keys, expected);
    free(keys);
    qdict_unref(qdict);
}

START_TEST(test_tdb_hash)
{
    /* Buckets (hash % 512) of keys whose order the reference shows. */
    ck_assert_uint_eq(qdict_tdb_hash("backing-filename-format") % 512, 206);
    ck_assert_uint_eq(qdict_tdb_hash("virtual-size") % 512, 309);
    ck_assert_uint_eq(qdict_tdb_hash("filename") % 512, 313);
    ck_assert_uint_eq(qdict_tdb_hash("dirty-flag") % 512, 501);
    ck_assert_uint_eq(qdict_tdb_hash("format-specific") % 512, 354);
    ck_assert_uint_eq(qdict_tdb_hash("data-file-raw") % 512, 354);
    ck_assert_uint_eq(qdict_tdb_hash("") % 512, 12345 % 512);
}
END_TEST

START_TEST(test_order_info)
{
    /* qemu-img info --output=json of a qcow2 overlay with a snapshot. */
    check_order("filename format dirty-flag actual-size virtual-size "
                "cluster-size backing-filename full-backing-filename "
                "backing-filename-format snapshots format-specific",
                "backing-filename-format snapshots virtual-size filename "
                "cluster-size format actual-size format-specific "
                "full-backing-filename backing-filename dirty-flag");
    /* Its snapshot entries. */
    check_order("id name vm-state-size date-sec date-nsec vm-clock-sec "
                "vm-clock-nsec icount",
                "icount vm-clock-nsec name date-sec date-nsec vm-clock-sec "
                "id vm-state-size");
    /* qcow2 format-specific data, with bitmaps. */
    check_order("compat compression-type lazy-refcounts bitmaps "
                "refcount-bits corrupt extended-l2",
                "compat compression-type lazy-refcounts bitmaps "
                "refcount-bits corrupt extended-l2");
    check_order("name granularity flags", "flags name granularity");
    /* luks format-specific data and key slots. */
    check_order("cipher-alg cipher-mode hash-alg ivgen-alg uuid slots "
                "payload-offset master-key-iters",
                "ivgen-alg hash-alg cipher-alg uuid cipher-mode slots "
                "payload-offset master-key-iters");
    check_order("active key-offset iters stripes",
                "active iters key-offset stripes");
    /* vmdk format-specific data and extents. */
    check_order("create-type cid parent-cid extents",
                "cid parent-cid create-type extents");
    /* check and measure. */
    check_order("filename format check-errors image-end-offset "
                "total-clusters allocated-clusters leaks",
                "image-end-offset total-clusters check-errors leaks "
                "allocated-clusters filename format");
    check_order("required fully-allocated bitmaps",
                "bitmaps required fully-allocated");
}
END_TEST

START_TEST(test_order_same_bucket)
{
    /*
     * "inject-error.N.state" for N = 0..9 share bucket 20; the reference's
     * flattened blkdebug options list them 9 down to 0: the most recently
     * inserted key of a bucket comes first.
     */
    check_order("inject-error.0.state inject-error.1.state "
                "inject-error.2.state inject-error.3.state "
                "inject-error.4.state inject-error.5.state "
                "inject-error.6.state inject-error.7.state "
                "inject-error.8.state inject-error.9.state",
                "inject-error.9.state inject-error.8.state "
                "inject-error.7.state inject-error.6.state "
                "inject-error.5.state inject-error.4.state "
                "inject-error.3.state inject-error.2.state "
                "inject-error.1.state inject-error.0.state");
    ck_assert_uint_eq(qdict_tdb_hash("inject-error.3.state") % 512, 20);
}
END_TEST

START_TEST(test_replace_keeps_position)
{
    QDict *qdict = dict_from_keys("inject-error.0.state inject-error.1.state");
    char *keys;

    qdict_put_str(qdict, "inject-error.0.state", "new");
    keys = dict_keys(qdict);
    ck_assert_str_eq(keys, "inject-error.1.state inject-error.0.state");
    ck_assert_str_eq(qdict_get_try_str(qdict, "inject-error.0.state"), "new");
    ck_assert_uint_eq(qdict_size(qdict), 2);
    free(keys);
    qdict_unref(qdict);
}
END_TEST

START_TEST(test_flatten_reference)
{
    /*
     * The reference printed this key order for the flattened options of
     * json:{"driver":"blkdebug","inject-error":[12 entries]} (nested
     * "image" kept aside): lists flatten in index order, each entry's
     * members in the entry's own iteration order.
     */
    static const char *const fields[] = {
        "event", "errno", "once", "immediately", "sector", "iotype", "state"
    };
    static const char expected[] =
        "inject-error.9.state inject-error.8.state inject-error.7.state "
        "inject-error.6.state inject-error.5.state inject-error.4.state "
        "inject-error.3.state inject-error.2.state inject-error.1.state "
        "inject-error.0.state inject-error.9.immediately "
        "inject-error.8.immediately inject-error.7.immediately "
        "inject-error.6.immediately inject-error.5.immediately "
        "inject-error.4.immediately inject-error.3.immediately "
        "inject-error.2.immediately inject-error.1.immediately "
        "inject-error.0.immediately inject-error.11.event "
        "inject-error.10.event inject-error.11.once inject-error.10.once "
        "inject-error.9.once inject-error.8.once inject-error.7.once "
        "inject-error.6.once inject-error.5.once inject-error.4.once "
        "inject-error.3.once inject-error.2.once inject-error.1.once "
        "inject-error.0.once inject-error.11.errno inject-error.10.errno "
        "inject-error.11.immediately inject-error.10.immediately driver "
        "inject-error.11.sector inject-error.10.sector "
        "inject-error.9.iotype inject-error.8.iotype inject-error.7.iotype "
        "inject-error.6.iotype inject-error.5.iotype inject-error.4.iotype "
        "inject-error.3.iotype inject-error.2.iotype inject-error.1.iotype "
        "inject-error.0.iotype inject-error.9.errno inject-error.9.event "
        "inject-error.8.errno inject-error.8.event inject-error.7.errno "
        "inject-error.7.event inject-error.6.errno inject-error.6.event "
        "inject-error.5.errno inject-error.5.event inject-error.4.errno "
        "inject-error.4.event inject-error.3.errno inject-error.3.event "
        "inject-error.2.errno inject-error.2.event inject-error.1.errno "
        "inject-error.1.event inject-error.0.errno inject-error.0.event "
        "inject-error.9.sector inject-error.8.sector inject-error.7.sector "
        "inject-error.6.sector inject-error.5.sector inject-error.4.sector "
        "inject-error.3.sector inject-error.2.sector inject-error.1.sector "
        "inject-error.0.sector inject-error.11.iotype "
        "inject-error.10.iotype inject-error.11.state inject-error.10.state";
    QDict *top = qdict_new();
    QList *errs = qlist_new();
    char *keys;
    int i;
    size_t f;

    for (i = 0; i < 12; i++) {
        QDict *e = qdict_new();

        for (f = 0; f < ARRAY_SIZE(fields); f++) {
            qdict_put_int(e, fields[f], i);
        }
        qlist_append(errs, e);
    }
    qdict_put_str(top, "driver", "blkdebug");
    qdict_put(top, "inject-error", errs);
    qdict_flatten(top);
    keys = dict_keys(top);
    ck_assert_str_eq(keys, expected);
    ck_assert_int_eq(qdict_get_try_int(top, "inject-error.7.sector", -1), 7);
    ck_assert_ptr_null(qdict_get(top, "inject-error"));
    free(keys);
    qdict_unref(top);
}
END_TEST

START_TEST(test_flatten_nested)
{
    QDict *top = qdict_new(), *file = qdict_new(), *cache = qdict_new();

    qdict_put_bool(cache, "direct", true);
    qdict_put(file, "cache", cache);
    qdict_put_str(file, "filename", "/x");
    qdict_put(file, "empty", qdict_new());
    qdict_put(top, "file", file);
    qdict_put(top, "list", qlist_new());
    qdict_flatten(top);
    ck_assert_uint_eq(qdict_size(top), 4);
    ck_assert_str_eq(qdict_get_try_str(top, "file.filename"), "/x");
    ck_assert(qdict_get_try_bool(top, "file.cache.direct", false));
    ck_assert_ptr_nonnull(qdict_get_qdict(top, "file.empty"));
    ck_assert_ptr_nonnull(qdict_get_qlist(top, "list"));
    qdict_unref(top);
}
END_TEST

START_TEST(test_dict_basics)
{
    QDict *qdict = qdict_new();
    QString *s = qstring_from_str("shared");

    qdict_put_str(qdict, "s", "v");
    qdict_put_int(qdict, "i", -5);
    qdict_put_uint(qdict, "u", UINT64_MAX);
    qdict_put_bool(qdict, "b", true);
    qdict_put_null(qdict, "n");
    qobject_ref(QOBJECT(s));
    qdict_put(qdict, "q", s);
    ck_assert_uint_eq(qdict_size(qdict), 6);
    ck_assert_str_eq(qdict_get_try_str(qdict, "s"), "v");
    ck_assert_ptr_null(qdict_get_try_str(qdict, "i"));
    ck_assert_int_eq(qdict_get_try_int(qdict, "i", 0), -5);
    ck_assert_int_eq(qdict_get_try_int(qdict, "u", 7), 7);
    ck_assert_int_eq(qdict_get_try_int(qdict, "missing", 9), 9);
    ck_assert(qdict_get_try_bool(qdict, "b", false));
    ck_assert(qdict_get_try_bool(qdict, "s", true));
    ck_assert_int_eq(qobject_type(qdict_get(qdict, "n")), QTYPE_QNULL);
    ck_assert(qdict_haskey(qdict, "q"));
    qdict_del(qdict, "q");
    qdict_del(qdict, "nothing");
    ck_assert(!qdict_haskey(qdict, "q"));
    ck_assert_uint_eq(qdict_size(qdict), 5);
    /* Our extra reference keeps the string alive. */
    ck_assert_str_eq(qstring_get_str(s), "shared");
    qobject_unref(QOBJECT(s));
    qdict_unref(qdict);
}
END_TEST

START_TEST(test_dict_delete_while_iterating)
{
    QDict *qdict = dict_from_keys("a b c d e f g h");
    const QDictEntry *e, *next;
    char *keys;

    for (e = qdict_first(qdict); e; e = next) {
        next = qdict_next(qdict, e);
        if (qdict_entry_key(e)[0] != 'c') {
            qdict_del(qdict, qdict_entry_key(e));
        }
    }
    keys = dict_keys(qdict);
    ck_assert_str_eq(keys, "c");
    free(keys);
    qdict_unref(qdict);
}
END_TEST

START_TEST(test_dict_clone_extract_join)
{
    QDict *src = dict_from_keys("inject-error.0.state inject-error.1.state "
                                "file.filename file.driver driver");
    QDict *clone = qdict_clone_shallow(src), *sub = NULL, *dst;
    char *a = dict_keys(src), *b = dict_keys(clone);

    ck_assert_str_eq(a, b);
    free(a);
    free(b);

    qdict_extract_subqdict(clone, &sub, "file.");
    ck_assert_uint_eq(qdict_size(sub), 2);
    ck_assert(qdict_haskey(sub, "filename"));
    ck_assert(!qdict_haskey(clone, "file.driver"));
    ck_assert_uint_eq(qdict_size(clone), 3);

    dst = qdict_new();
    qdict_put_int(dst, "driver", 100);
    qdict_join(dst, clone, false);
    ck_assert_int_eq(qdict_get_try_int(dst, "driver", 0), 100);
    ck_assert(qdict_haskey(clone, "driver"));
    ck_assert_uint_eq(qdict_size(clone), 1);
    qdict_join(dst, clone, true);
    ck_assert_int_eq(qdict_get_try_int(dst, "driver", 0), 4);
    ck_assert_uint_eq(qdict_size(clone), 0);

    qdict_unref(dst);
    qdict_unref(sub);
    qdict_unref(clone);
    qdict_unref(src);
}
END_TEST

START_TEST(test_list)
{
    QList *l = qlist_new();
    int i;

    for (i = 0; i < 100; i++) {
        qlist_append_int(l, i);
    }
    qlist_append_str(l, "end");
    ck_assert_uint_eq(qlist_size(l), 101);
    ck_assert_str_eq(qstring_get_str(qobject_to_qstring(
        qlist_peek_nth(l, 100))), "end");
    ck_assert_ptr_null(qlist_peek_nth(l, 101));
    ck_assert_ptr_null(qobject_to_qdict(qlist_peek_nth(l, 3)));
    qlist_unref(l);
}
END_TEST

START_TEST(test_numbers)
{
    int64_t i;
    uint64_t u;
    QNum *n;
    char *s;

    n = qnum_from_uint(UINT64_MAX);
    ck_assert(!qnum_get_try_int(n, &i));
    ck_assert(qnum_get_try_uint(n, &u));
    ck_assert_uint_eq(u, UINT64_MAX);
    s = qnum_to_string(n);
    ck_assert_str_eq(s, "18446744073709551615");
    free(s);
    qobject_unref(QOBJECT(n));

    n = qnum_from_int(-1);
    ck_assert(!qnum_get_try_uint(n, &u));
    ck_assert(qnum_get_try_int(n, &i));
    ck_assert_int_eq(i, -1);
    ck_assert(qnum_get_double(n) == -1.0);
    qobject_unref(QOBJECT(n));

    n = qnum_from_double(512.0);
    ck_assert(qnum_get_try_int(n, &i));
    ck_assert_int_eq(i, 512);
    ck_assert(qnum_is_double(n));
    qobject_unref(QOBJECT(n));

    n = qnum_from_double(0.5);
    ck_assert(!qnum_get_try_int(n, &i));
    ck_assert(!qnum_get_try_uint(n, &u));
    s = qnum_to_string(n);
    ck_assert_str_eq(s, "0.5");
    free(s);
    qobject_unref(QOBJECT(n));

    n = qnum_from_double(1e300);
    ck_assert(!qnum_get_try_int(n, &i));
    ck_assert(!qnum_get_try_uint(n, &u));
    qobject_unref(QOBJECT(n));
}
END_TEST

START_TEST(test_equal)
{
    QDict *a = dict_from_keys("x y z"), *b = dict_from_keys("z y x");
    QObject *n1 = QOBJECT(qnum_from_int(5)), *n2 = QOBJECT(qnum_from_uint(5));
    QObject *d = QOBJECT(qnum_from_double(5.0));

    /* Same keys and values whatever the insertion order? Values differ. */
    ck_assert(!qobject_is_equal(QOBJECT(a), QOBJECT(b)));
    qdict_put_int(b, "x", 0);
    qdict_put_int(b, "z", 2);
    ck_assert(qobject_is_equal(QOBJECT(a), QOBJECT(b)));
    ck_assert(qobject_is_equal(n1, n2));
    ck_assert(qobject_is_equal(n1, d));
    ck_assert(!qobject_is_equal(n1, QOBJECT(a)));
    ck_assert(!qobject_is_equal(n1, NULL));
    qobject_unref(n1);
    qobject_unref(n2);
    qobject_unref(d);
    qdict_unref(a);
    qdict_unref(b);
}
END_TEST

START_TEST(test_casts)
{
    QObject *s = QOBJECT(qstring_from_substr("abcdef", 3));
    QObject *b = QOBJECT(qbool_from_bool(false));

    ck_assert_str_eq(qstring_get_str(qobject_to_qstring(s)), "abc");
    ck_assert_ptr_null(qobject_to_qnum(s));
    ck_assert_ptr_null(qobject_to_qlist(s));
    ck_assert_ptr_null(qobject_to_qbool(s));
    ck_assert_ptr_null(qobject_to_qdict(NULL));
    ck_assert(!qbool_get_bool(qobject_to_qbool(b)));
    ck_assert_ptr_eq(qobject_ref(b), b);
    qobject_unref(b);
    qobject_unref(b);
    qobject_unref(s);
    qobject_unref(NULL);
}
END_TEST

static Suite *qobject_suite(void)
{
    Suite *s = suite_create("qobject");
    TCase *tc;

    tc = tcase_create("order");
    tcase_add_test(tc, test_tdb_hash);
    tcase_add_test(tc, test_order_info);
    tcase_add_test(tc, test_order_same_bucket);
    tcase_add_test(tc, test_replace_keeps_position);
    suite_add_tcase(s, tc);

    tc = tcase_create("flatten");
    tcase_add_test(tc, test_flatten_reference);
    tcase_add_test(tc, test_flatten_nested);
    suite_add_tcase(s, tc);

    tc = tcase_create("dict");
    tcase_add_test(tc, test_dict_basics);
    tcase_add_test(tc, test_dict_delete_while_iterating);
    tcase_add_test(tc, test_dict_clone_extract_join);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_test(tc, test_list);
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_equal);
    tcase_add_test(tc, test_casts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(qobject_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
