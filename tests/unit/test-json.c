/*
 * JSON writer and parser against the reference: documents qemu-img printed
 * (formatting, key order, escapes), and the parser's error messages for
 * json: filenames, each recorded from the reference's output.
 */
#include "config-host.h"

#include <check.h>

#include "util/osdep.h"
#include "util/error.h"
#include "util/qobject.h"

/* qemu-img info --output=json of a qcow2 overlay with one snapshot. */
static const char ref_info[] =
    "{\n"
    "    \"backing-filename-format\": \"qcow2\",\n"
    "    \"snapshots\": [\n"
    "        {\n"
    "            \"icount\": 0,\n"
    "            \"vm-clock-nsec\": 0,\n"
    "            \"name\": \"snap1\",\n"
    "            \"date-sec\": 1795317182,\n"
    "            \"date-nsec\": 253834000,\n"
    "            \"vm-clock-sec\": 0,\n"
    "            \"id\": \"1\",\n"
    "            \"vm-state-size\": 0\n"
    "        }\n"
    "    ],\n"
    "    \"virtual-size\": 67108864,\n"
    "    \"filename\": \"o'x.qcow2\",\n"
    "    \"cluster-size\": 65536,\n"
    "    \"format\": \"qcow2\",\n"
    "    \"actual-size\": 208896,\n"
    "    \"format-specific\": {\n"
    "        \"type\": \"qcow2\",\n"
    "        \"data\": {\n"
    "            \"compat\": \"1.1\",\n"
    "            \"compression-type\": \"zlib\",\n"
    "            \"lazy-refcounts\": false,\n"
    "            \"refcount-bits\": 16,\n"
    "            \"corrupt\": false,\n"
    "            \"extended-l2\": false\n"
    "        }\n"
    "    },\n"
    "    \"full-backing-filename\": \"b.qcow2\",\n"
    "    \"backing-filename\": \"b.qcow2\",\n"
    "    \"dirty-flag\": false\n"
    "}";

/* The format-specific part of a qcow2 with two bitmaps, one flagless. */
static const char ref_bitmaps[] =
    "{\n"
    "    \"type\": \"qcow2\",\n"
    "    \"data\": {\n"
    "        \"compat\": \"1.1\",\n"
    "        \"compression-type\": \"zlib\",\n"
    "        \"lazy-refcounts\": false,\n"
    "        \"bitmaps\": [\n"
    "            {\n"
    "                \"flags\": [\n"
    "                ],\n"
    "                \"name\": \"b0\",\n"
    "                \"granularity\": 65536\n"
    "            },\n"
    "            {\n"
    "                \"flags\": [\n"
    "                    \"auto\"\n"
    "                ],\n"
    "                \"name\": \"b1\",\n"
    "                \"granularity\": 65536\n"
    "            }\n"
    "        ],\n"
    "        \"refcount-bits\": 16,\n"
    "        \"corrupt\": false,\n"
    "        \"extended-l2\": false\n"
    "    }\n"
    "}";

/* The "filename" the reference made for a json: luks image (compact). */
static const char ref_compact[] =
    "{\"driver\": \"luks\", \"file\": {\"driver\": \"file\", "
    "\"filename\": \"x.luks\"}, \"key-secret\": \"s\"}";

static char *to_json_and_free(QObject *obj, bool pretty)
{
    char *s = qobject_to_json(obj, pretty);

    qobject_unref(obj);
    return s;
}

static QObject *parse_ok(const char *json)
{
    Error *err = NULL;
    QObject *obj = qobject_from_json(json, &err);

    if (!obj) {
        ck_abort_msg("parse of %s failed: %s", json, error_get_pretty(err));
    }
    return obj;
}

static void check_roundtrip(const char *json, bool pretty)
{
    char *out = to_json_and_free(parse_ok(json), pretty);

    ck_assert_str_eq(out, json);
    free(out);
}

START_TEST(test_writer_reference_documents)
{
    check_roundtrip(ref_info, true);
    check_roundtrip(ref_bitmaps, true);
    check_roundtrip(ref_compact, false);
}
END_TEST

START_TEST(test_writer_built_in_any_order)
{
    /* Built the way a front end would, in its own order. */
    QDict *info = qdict_new(), *snap = qdict_new(), *spec = qdict_new();
    QDict *data = qdict_new();
    QList *snaps = qlist_new();
    char *out;

    qdict_put_str(info, "filename", "o'x.qcow2");
    qdict_put_str(info, "format", "qcow2");
    qdict_put_bool(info, "dirty-flag", false);
    qdict_put_int(info, "actual-size", 208896);
    qdict_put_int(info, "virtual-size", 67108864);
    qdict_put_int(info, "cluster-size", 65536);
    qdict_put_str(info, "backing-filename", "b.qcow2");
    qdict_put_str(info, "full-backing-filename", "b.qcow2");
    qdict_put_str(info, "backing-filename-format", "qcow2");
    qdict_put_str(snap, "id", "1");
    qdict_put_str(snap, "name", "snap1");
    qdict_put_int(snap, "vm-state-size", 0);
    qdict_put_int(snap, "date-sec", 1795317182);
    qdict_put_int(snap, "date-nsec", 253834000);
    qdict_put_int(snap, "vm-clock-sec", 0);
    qdict_put_int(snap, "vm-clock-nsec", 0);
    qdict_put_int(snap, "icount", 0);
    qlist_append(snaps, snap);
    qdict_put(info, "snapshots", snaps);
    qdict_put_str(data, "compat", "1.1");
    qdict_put_str(data, "compression-type", "zlib");
    qdict_put_bool(data, "lazy-refcounts", false);
    qdict_put_int(data, "refcount-bits", 16);
    qdict_put_bool(data, "corrupt", false);
    qdict_put_bool(data, "extended-l2", false);
    qdict_put_str(spec, "type", "qcow2");
    qdict_put(spec, "data", data);
    qdict_put(info, "format-specific", spec);

    out = to_json_and_free(QOBJECT(info), true);
    ck_assert_str_eq(out, ref_info);
    free(out);
}
END_TEST

START_TEST(test_writer_empty_and_scalars)
{
    QDict *d = qdict_new();
    QList *l = qlist_new();
    char *out;

    qdict_put(d, "l", qlist_new());
    qdict_put(d, "d", qdict_new());
    out = qobject_to_json(QOBJECT(d), true);
    ck_assert_str_eq(out, "{\n    \"d\": {\n    },\n    \"l\": [\n    ]\n}");
    free(out);
    out = qobject_to_json(QOBJECT(d), false);
    ck_assert_str_eq(out, "{\"d\": {}, \"l\": []}");
    free(out);
    qdict_unref(d);

    qlist_append_int(l, -3);
    qlist_append(l, qnum_from_uint(UINT64_MAX));
    qlist_append(l, qnum_from_double(0.5));
    qlist_append(l, qbool_from_bool(true));
    qlist_append(l, qnull());
    qlist_append_str(l, "s");
    out = to_json_and_free(QOBJECT(l), false);
    ck_assert_str_eq(out, "[-3, 18446744073709551615, 0.5, true, null, "
                     "\"s\"]");
    free(out);

    out = to_json_and_free(QOBJECT(qdict_new()), false);
    ck_assert_str_eq(out, "{}");
    free(out);
    out = to_json_and_free(QOBJECT(qlist_new()), true);
    ck_assert_str_eq(out, "[\n]");
    free(out);
}
END_TEST

/* What the reference printed for file names in info --output=json. */
static const struct {
    const char *in;
    const char *out;
} escape_vectors[] = {
    { "q\"x", "\"q\\\"x\"" },
    { "b\\s", "\"b\\\\s\"" },
    { "tab\tx", "\"tab\\tx\"" },
    { "c\001x", "\"c\\u0001x\"" },
    { "d\177x", "\"d\\u007Fx\"" },
    { "uni-\303\251", "\"uni-\\u00E9\"" },
    { "e\360\237\230\200", "\"e\\uD83D\\uDE00\"" },
    { "bad\377x", "\"bad\\uFFFDx\"" },
    { "bad\300\200x", "\"bad\\u0000x\"" },
    { "nl\nx", "\"nl\\nx\"" },
    { "cr\rx", "\"cr\\rx\"" },
    { "bs\bx", "\"bs\\bx\"" },
    { "ff\fx", "\"ff\\fx\"" },
    { "sur\355\240\200x", "\"sur\\uFFFDx\"" },
    { "u\357\277\277x", "\"u\\uFFFDx\"" },
    { "lt<x>&/'", "\"lt<x>&/'\"" },
    { "ud\302\200x", "\"ud\\u0080x\"" },
    { "a\343\201x", "\"a\\uFFFDx\"" },
    { "b\200\200x", "\"b\\uFFFD\\uFFFDx\"" },
    { "c\343\201", "\"c\\uFFFD\"" },
    { "d\360\237\230x", "\"d\\uFFFDx\"" },
    { "e\370\210\200\200\200x", "\"e\\uFFFDx\"" },
    { "f\364\220\200\200x", "\"f\\uFFFDx\"" },
    { "g\340\200\200x", "\"g\\uFFFDx\"" },
    { "h\301\277x", "\"h\\uFFFDx\"" },
    { "i\357\267\220x", "\"i\\uFFFDx\"" },
    { "j\360\237\277\276x", "\"j\\uFFFDx\"" },
    { "k\355\240\200\355\260\200x", "\"k\\uFFFD\\uFFFDx\"" },
    { "l\376x", "\"l\\uFFFDx\"" },
    { "m\300x", "\"m\\uFFFDx\"" },
    { "n\300\200\200x", "\"n\\u0000\\uFFFDx\"" },
    { "o\374\204\200\200\200\200x", "\"o\\uFFFDx\"" },
};

START_TEST(test_writer_escapes)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(escape_vectors); i++) {
        char *out = to_json_and_free(
            QOBJECT(qstring_from_str(escape_vectors[i].in)), true);

        ck_assert_msg(strcmp(out, escape_vectors[i].out) == 0,
                      "vector %zu: got %s, want %s", i, out,
                      escape_vectors[i].out);
        free(out);
    }
}
END_TEST

START_TEST(test_parser_values)
{
    QObject *obj = parse_ok(" {'a': [1, -2, 18446744073709551615, "
                            "99999999999999999999999, 1.5e3, -0, true, "
                            "false, null, \"\\u0041\\u00e9\\ud83d\\ude00\","
                            " 'it\\'s \"x\"', \"\\/\\b\\f\\n\\r\\t\"], "
                            "\"b\": {}}\n");
    QDict *d = qobject_to_qdict(obj);
    QList *l = qdict_get_qlist(d, "a");
    uint64_t u;
    int64_t i;

    ck_assert_ptr_nonnull(l);
    ck_assert_uint_eq(qlist_size(l), 12);
    ck_assert(qnum_get_try_int(qobject_to_qnum(qlist_peek_nth(l, 1)), &i));
    ck_assert_int_eq(i, -2);
    ck_assert(qnum_get_try_uint(qobject_to_qnum(qlist_peek_nth(l, 2)), &u));
    ck_assert_uint_eq(u, UINT64_MAX);
    ck_assert(qnum_is_double(qobject_to_qnum(qlist_peek_nth(l, 3))));
    ck_assert(qnum_get_double(qobject_to_qnum(qlist_peek_nth(l, 4))) ==
              1500.0);
    ck_assert(qbool_get_bool(qobject_to_qbool(qlist_peek_nth(l, 6))));
    ck_assert_int_eq(qobject_type(qlist_peek_nth(l, 8)), QTYPE_QNULL);
    ck_assert_str_eq(qstring_get_str(qobject_to_qstring(
        qlist_peek_nth(l, 9))), "A\303\251\360\237\230\200");
    ck_assert_str_eq(qstring_get_str(qobject_to_qstring(
        qlist_peek_nth(l, 10))), "it's \"x\"");
    ck_assert_str_eq(qstring_get_str(qobject_to_qstring(
        qlist_peek_nth(l, 11))), "/\b\f\n\r\t");
    ck_assert_uint_eq(qdict_size(qdict_get_qdict(d, "b")), 0);
    qobject_unref(obj);

    /* U+0000 survives as the overlong pair and prints back as \u0000. */
    obj = parse_ok("\"a\\u0000b\"");
    ck_assert_str_eq(qstring_get_str(qobject_to_qstring(obj)),
                     "a\300\200b");
    {
        char *out = to_json_and_free(obj, false);

        ck_assert_str_eq(out, "\"a\\u0000b\"");
        free(out);
    }
}
END_TEST

START_TEST(test_parser_depth)
{
    char buf[2 * 1030 + 16];
    Error *err = NULL;
    QObject *obj;
    int n;

    for (n = 1023; n <= 1024; n++) {
        int i, p = 0;

        buf[p++] = '{';
        memcpy(buf + p, "\"a\":", 4);
        p += 4;
        for (i = 0; i < n; i++) {
            buf[p++] = '[';
        }
        for (i = 0; i < n; i++) {
            buf[p++] = ']';
        }
        buf[p++] = '}';
        buf[p] = '\0';
        obj = qobject_from_json(buf, &err);
        if (n == 1023) {
            ck_assert_ptr_nonnull(obj);
            qobject_unref(obj);
        } else {
            ck_assert_ptr_null(obj);
            ck_assert_str_eq(error_get_pretty(err),
                             "JSON nesting depth limit exceeded");
            error_free(err);
            err = NULL;
        }
    }
}
END_TEST

/* Input -> the message after "Could not parse the JSON options: ". */
static const struct {
    const char *in;
    const char *msg;
} error_vectors[] = {
    { "", "Expecting a JSON value" },
    { " ", "Expecting a JSON value" },
    { "{", "JSON parse error, premature EOI" },
    { "{\"a\":}", "JSON parse error, expecting value" },
    { "{\"a\" 1}", "JSON parse error, missing : in object pair" },
    { "{\"a\" }", "JSON parse error, missing : in object pair" },
    { "{1:2}", "JSON parse error, key is not a string in object" },
    { "{\"a\":1 \"b\":2}", "JSON parse error, expected separator in dict" },
    { "{\"a\":[1,]}", "JSON parse error, expecting value" },
    { "{\"a\":[1 2]}", "JSON parse error, expected separator in list" },
    { "{\"a\":tru}", "JSON parse error, invalid keyword 'tru'" },
    { "{\"a\":x}", "JSON parse error, invalid keyword 'x'" },
    { "{\"a\":\"\\x\"}", "JSON parse error, invalid escape sequence in "
      "string" },
    { "{\"a\":\"\\u12\"}", "JSON parse error, \\u12\" is not a valid "
      "Unicode character" },
    { "{\"a\":\"abc", "JSON parse error, stray '\"abc'" },
    { "{\"a\":\"abc}", "JSON parse error, stray '\"abc}'" },
    { "{\"a\":01}", "JSON parse error, stray '01'" },
    { "{\"a\":1.}", "JSON parse error, stray '1.}'" },
    { "{\"a\":-}", "JSON parse error, stray '-}'" },
    { "{\"a\":1e}", "JSON parse error, stray '1e}'" },
    { "}", "JSON parse error, expecting value" },
    { "]", "JSON parse error, expecting value" },
    { ":", "JSON parse error, expecting value" },
    { "{\"a\":%d}", "JSON parse error, stray '%'" },
    { "{\"a\":@}", "JSON parse error, stray '@'" },
    { "{\"a\":\"\\ud800\"}", "JSON parse error, \\ud800 is not a valid "
      "Unicode character" },
    { "{\"a\":inf}", "JSON parse error, invalid keyword 'inf'" },
    { "{\"a\":true false}", "JSON parse error, expected separator in dict" },
    { "{\"a\"::1}", "JSON parse error, expecting value" },
    { "{,}", "JSON parse error, expecting value" },
    { "{\"a\":1,,\"b\":2}", "JSON parse error, expecting value" },
    { "nul", "JSON parse error, invalid keyword 'nul'" },
    { "{\"a\":1.x, \"b\":2}", "JSON parse error, stray '1.x'" },
    { "{\"a\":1.5.5}", "JSON parse error, stray '.'" },
    { "{\"a\":--1}", "JSON parse error, stray '--'" },
    { "{\"a\":0x10}", "JSON parse error, expected separator in dict" },
    { "{\"a\":\"ab\\", "JSON parse error, stray '\"ab\\'" },
    { "{\"a\":\"x\001y\"}", "JSON parse error, stray '\"x\001'" },
    { "{\"a\":\"x\tz\"}", "JSON parse error, stray '\"x\t'" },
    { "{\"a\":\"\377\"}", "JSON parse error, stray '\"\377'" },
    { "{\"a\":\"\376\"}", "JSON parse error, stray '\"\376'" },
    { "{\"a\":\"\\\001\"}", "JSON parse error, stray '\"\\\001'" },
    { "{\"a\":\"\355\240\200\"}", "JSON parse error, invalid UTF-8 "
      "sequence in string" },
    { "{\"a\":\"\364\220\200\200\"}", "JSON parse error, invalid UTF-8 "
      "sequence in string" },
    { "{\"a\":\"\200\"}", "JSON parse error, invalid UTF-8 sequence in "
      "string" },
    { "{\"a\":\"\343\201x\"}", "JSON parse error, invalid UTF-8 sequence "
      "in string" },
    { "{\"a\":\"\357\277\276\"}", "JSON parse error, invalid UTF-8 "
      "sequence in string" },
    { "{\"a\":\"\\ude00\"}", "JSON parse error, \\ude00 is not a valid "
      "Unicode character" },
    { "{\"a\":\"\\ud83dx\"}", "JSON parse error, \\ud83d is not a valid "
      "Unicode character" },
    { "{\"a\":\"\\uDFFFx\"}", "JSON parse error, \\uDFFF is not a valid "
      "Unicode character" },
    { "{\"a\":\"\\uFFFF\"}", "JSON parse error, \\uFFFF is not a valid "
      "Unicode character" },
    { "{\"a\":\"\\uFDD0\"}", "JSON parse error, \\uFDD0 is not a valid "
      "Unicode character" },
    { "{\"a\":\"\\u00g0\"}", "JSON parse error, \\u00g0 is not a valid "
      "Unicode character" },
    { "{\"a\":\"\\ud800\\u0041\"}", "JSON parse error, \\ud800 is not a "
      "valid Unicode character" },
    { "{\"a\":\"\\ud800\\\"}", "JSON parse error, stray '\"\\ud800\\\"}'" },
    { "{\"driver\":\"a\"}x", "Expecting at most one JSON value" },
    { "{}{}", "Expecting at most one JSON value" },
    { "{} }", "Expecting at most one JSON value" },
    { "{} @", "Expecting at most one JSON value" },
    { "1 @", "Expecting at most one JSON value" },
    { "1 2", "Expecting at most one JSON value" },
    { "[1,2] [", "Expecting at most one JSON value" },
    { "{1:2} x", "JSON parse error, key is not a string in object" },
    { "{1:2} @", "JSON parse error, key is not a string in object" },
    { "{1:2, @}", "JSON parse error, stray '@'" },
    { "{\"a\":\"\\x\", @}", "JSON parse error, stray '@'" },
    { "@ {}", "JSON parse error, stray '@'" },
    { "@ @", "JSON parse error, stray '@'" },
    { "{1:2", "JSON parse error, key is not a string in object" },
    { "}{", "JSON parse error, expecting value" },
    { "{]", "JSON parse error, expecting value" },
    { "{\"a\":[}]}", "JSON parse error, expecting value" },
    { "{\"a\":1.", "JSON parse error, stray '1.'" },
    { "{\"a\":-", "JSON parse error, stray '-'" },
    { "{\"a\":1e+", "JSON parse error, stray '1e+'" },
    { "{\"a\":1e+}", "JSON parse error, stray '1e+}'" },
    { "{\"a\":tr", "JSON parse error, invalid keyword 'tr'" },
    { "{\"a\":1,", "JSON parse error, premature EOI" },
    { "{\"a\":[1,2", "JSON parse error, premature EOI" },
    { "{\"a\":\"b\"", "JSON parse error, premature EOI" },
    { "{\"a\":12a}", "JSON parse error, expected separator in dict" },
    { "{\"a\":abc1}", "JSON parse error, invalid keyword 'abc'" },
    { "{\"a\":TRUE}", "JSON parse error, stray 'T'" },
    { "{\"a\":truefalse}", "JSON parse error, invalid keyword 'truefalse'" },
    { "{'a\":1}", "JSON parse error, stray ''a\":1}'" },
    { "{\"a\":1,\"a\":2}", "JSON parse error, duplicate key" },
};

START_TEST(test_parser_errors)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(error_vectors); i++) {
        Error *err = NULL;
        QObject *obj = qobject_from_json(error_vectors[i].in, &err);

        ck_assert_msg(obj == NULL, "vector %zu (%s) parsed", i,
                      error_vectors[i].in);
        ck_assert_msg(strcmp(error_get_pretty(err),
                             error_vectors[i].msg) == 0,
                      "vector %zu (%s): got '%s', want '%s'", i,
                      error_vectors[i].in, error_get_pretty(err),
                      error_vectors[i].msg);
        error_free(err);
    }
}
END_TEST

START_TEST(test_parser_accepts)
{
    static const char *const ok[] = {
        "{\"a\":99999999999999999999999}", "{\"a\":[[[[]]]]}",
        "{\"a\":\"%s\"}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\177\"}",
        "{\"a\":\"\300\200\"}", "{\"a\":\"\302\200\"}",
        "{\"a\":\"\360\237\230\200\"}", "{\"a\":\"\355\237\277\"}",
        "{\"a\":\"\356\200\200\"}", "{'a':'b\"c'}", "{'a':'b\\'c'}",
        " {\"a\":1.5e400}", "{\"a\":-0}", "\t{\"a\":1}\n", "null", "true",
        "12", "\"x\"", "[]", "{\"a\" : 1 , \"b\" : [ ] }", "{\"a\":1E5}",
        "{\"a\":1.5e+3}", "{\"a\":-0.0}",
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(ok); i++) {
        Error *err = NULL;
        QObject *obj = qobject_from_json(ok[i], &err);

        ck_assert_msg(obj != NULL, "'%s' failed: %s", ok[i],
                      err ? error_get_pretty(err) : "");
        qobject_unref(obj);
    }
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc;

    tc = tcase_create("writer");
    tcase_add_test(tc, test_writer_reference_documents);
    tcase_add_test(tc, test_writer_built_in_any_order);
    tcase_add_test(tc, test_writer_empty_and_scalars);
    tcase_add_test(tc, test_writer_escapes);
    suite_add_tcase(s, tc);

    tc = tcase_create("parser");
    tcase_add_test(tc, test_parser_values);
    tcase_add_test(tc, test_parser_depth);
    tcase_add_test(tc, test_parser_errors);
    tcase_add_test(tc, test_parser_accepts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(json_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
