/*
 * Size and number parsing, size formatting and path helpers. The strtosz
 * vectors are what the reference made of "-o cluster_size=<input>" (the
 * value it printed back, or the kind of error it reported).
 */
#include "config-host.h"

#include <check.h>

#include "util/osdep.h"
#include "util/cutils.h"

#define EINVAL_ (-EINVAL)
#define ERANGE_ (-ERANGE)

static const struct {
    const char *in;
    int ret;
    uint64_t val;
} strtosz_vectors[] = {
    { "0", 0, 0 },
    { "8E", 0, 9223372036854775808ULL },
    { "16E", ERANGE_, 0 },
    { "9223372036854775807", 0, 9223372036854775807ULL },
    { "18446744073709551615", 0, UINT64_MAX },
    { "18446744073709551616", ERANGE_, 0 },
    { "99999999999999999999", ERANGE_, 0 },
    { "99999999999999999999999k", EINVAL_, 0 },
    { "18446744073709551616x", EINVAL_, 0 },
    { "18446744073709551616.0", EINVAL_, 0 },
    { "0x10000000000000000", ERANGE_, 0 },
    { "0x10000000000000000b", ERANGE_, 0 },
    { "0x10000000000000000k", EINVAL_, 0 },
    { "0x10k", 0, 16384 },
    { "0xfK", 0, 15360 },
    { "0x1p", 0, 1125899906842624ULL },
    { "0x1p3", EINVAL_, 0 },
    { "0X10", 0, 16 },
    { "0xFFFFFFFFFFFFFFFF", 0, UINT64_MAX },
    { "0x1.8k", EINVAL_, 0 },
    { "0x", EINVAL_, 0 },
    { "0xk", EINVAL_, 0 },
    { "1.5", EINVAL_, 0 },
    { "0.5", EINVAL_, 0 },
    { ".5k", EINVAL_, 0 },
    { "1.", 0, 1 },
    { "1.k", 0, 1024 },
    { " 1k", 0, 1024 },
    { "1 k", EINVAL_, 0 },
    { "1k ", EINVAL_, 0 },
    { "1kB", EINVAL_, 0 },
    { "1KiB", EINVAL_, 0 },
    { "1b", 0, 1 },
    { "1B", 0, 1 },
    { "1K", 0, 1024 },
    { "1m", 0, 1048576 },
    { "1g", 0, 1073741824 },
    { "1t", 0, 1099511627776ULL },
    { "1p", 0, 1125899906842624ULL },
    { "1e", 0, 1152921504606846976ULL },
    { "-0", EINVAL_, 0 },
    { "-1", EINVAL_, 0 },
    { "+1k", 0, 1024 },
    { "++1", EINVAL_, 0 },
    { "", EINVAL_, 0 },
    { "inf", EINVAL_, 0 },
    { "nan", EINVAL_, 0 },
    { "1e3", EINVAL_, 0 },
    { "1.5e0", EINVAL_, 0 },
    { "1.5e3k", EINVAL_, 0 },
    { "1.e", 0, 1152921504606846976ULL },
    { "1.ek", EINVAL_, 0 },
    { "00010", 0, 10 },
    { "010k", 0, 10240 },
    { "1.5k", 0, 1536 },
    { "1.1k", 0, 1126 },
    { "1.3k", 0, 1331 },
    { "1.0009k", 0, 1025 },
    { "1.0004k", 0, 1024 },
    { "1.00048828125k", 0, 1025 },
    { "1.00146484375k", 0, 1026 },
    { "0.5k", 0, 512 },
    { "0.0001k", 0, 0 },
    { "0.001k", 0, 1 },
    { "4.5e", 0, 5188146770730811392ULL },
    { "3.5P", 0, 3940649673949184ULL },
    { "2.25G", 0, 2415919104ULL },
    { "1.9999999999999999k", 0, 2048 },
    { "1.99999999999999999k", 0, 1024 },
    { "0.99999999999999999k", 0, 0 },
    { "1.999999999999999999999999k", 0, 1024 },
    { "1.49999999999999999999k", 0, 1536 },
    { "15.9999E", 0, 18446628781559090944ULL },
    { "15.999999999999999E", 0, 18446744073709550464ULL },
    { "15.9999999999999999E", 0, 18446744073709551488ULL },
    { "15.99999999999999999E", 0, 17293822569102704640ULL },
    { "16.0E", ERANGE_, 0 },
    { "7.9999999999999999E", 0, 9223372036854775680ULL },
    { "16383.999999999999999P", 0, UINT64_MAX },
    { "16383.9999999999999999P", ERANGE_, 0 },
    { "9007199254740993.5k", 0, 9223372036854777344ULL },
    { "1.0", 0, 1 },
    { "1.0b", 0, 1 },
    { "1.5b", EINVAL_, 0 },
    { "0.1b", EINVAL_, 0 },
    { "1.99999999999999999", 0, 1 },
    { "1.0000000000000000001", EINVAL_, 0 },
    { "1.00000000000000000001", 0, 1 },
    { "0.0000000000000000001", EINVAL_, 0 },
    { "0.00000000000000000001", 0, 0 },
    { "4.00000000000000000003", 0, 4 },
    { "18446744073709551615.0", 0, UINT64_MAX },
    { "18446744073709551615.5", EINVAL_, 0 },
    { "1.k5", EINVAL_, 0 },
    { "1.-5k", EINVAL_, 0 },
    { "1.5x", EINVAL_, 0 },
    { "1.5kk", EINVAL_, 0 },
};

START_TEST(test_strtosz_reference)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(strtosz_vectors); i++) {
        uint64_t val = 0;
        int ret = qemu_strtosz(strtosz_vectors[i].in, NULL, &val);

        ck_assert_msg(ret == strtosz_vectors[i].ret,
                      "'%s': ret %d, want %d", strtosz_vectors[i].in, ret,
                      strtosz_vectors[i].ret);
        if (ret == 0) {
            ck_assert_msg(val == strtosz_vectors[i].val,
                          "'%s': %" PRIu64 ", want %" PRIu64,
                          strtosz_vectors[i].in, val,
                          strtosz_vectors[i].val);
        }
    }
}
END_TEST

START_TEST(test_strtosz_end)
{
    const char *end = NULL;
    uint64_t val = 0;

    ck_assert_int_eq(qemu_strtosz("12k,rest", &end, &val), 0);
    ck_assert_uint_eq(val, 12288);
    ck_assert_str_eq(end, ",rest");
    ck_assert_int_eq(qemu_strtosz("12 rest", &end, &val), 0);
    ck_assert_uint_eq(val, 12);
    ck_assert_str_eq(end, " rest");
    ck_assert_int_eq(qemu_strtosz("x", &end, &val), -EINVAL);
    ck_assert_str_eq(end, "x");
    ck_assert_int_eq(qemu_strtosz_MiB("2", NULL, &val), 0);
    ck_assert_uint_eq(val, 2 * MiB);
    ck_assert_int_eq(qemu_strtosz_MiB("2k", NULL, &val), 0);
    ck_assert_uint_eq(val, 2048);
    ck_assert_int_eq(qemu_strtosz_MiB("1.5", NULL, &val), 0);
    ck_assert_uint_eq(val, 3 * MiB / 2);
}
END_TEST

START_TEST(test_strtosz_hex_warning)
{
    char buf[256] = "";
    FILE *f = tmpfile();
    uint64_t val;

    /* The deprecation warning goes to stderr as the reference prints it. */
    fflush(stderr);
    dup2(fileno(f), STDERR_FILENO);
    ck_assert_int_eq(qemu_strtosz("0x10k", NULL, &val), 0);
    ck_assert_int_eq(qemu_strtosz("0x10", NULL, &val), 0);
    fflush(stderr);
    rewind(f);
    ck_assert_uint_gt(fread(buf, 1, sizeof(buf) - 1, f), 0);
    ck_assert_str_eq(buf, "qemu-img: warning: Using a multiplier suffix on "
                     "hex numbers is deprecated: 0x10k\n");
    fclose(f);
}
END_TEST

START_TEST(test_strto_integers)
{
    const char *end;
    uint64_t u;
    int64_t i64;
    long l;
    int i;

    /* Number options: base 0, leading '-' wraps (the reference prints -16). */
    ck_assert_int_eq(qemu_strtou64("0x10", NULL, 0, &u), 0);
    ck_assert_uint_eq(u, 16);
    ck_assert_int_eq(qemu_strtou64("016", NULL, 0, &u), 0);
    ck_assert_uint_eq(u, 14);
    ck_assert_int_eq(qemu_strtou64("-16", NULL, 0, &u), 0);
    ck_assert_uint_eq(u, (uint64_t)-16);
    ck_assert_int_eq(qemu_strtou64(" 16", NULL, 0, &u), 0);
    ck_assert_int_eq(qemu_strtou64("16 ", NULL, 0, &u), -EINVAL);
    ck_assert_int_eq(qemu_strtou64("0x", NULL, 0, &u), -EINVAL);
    ck_assert_int_eq(qemu_strtou64("08", NULL, 0, &u), -EINVAL);
    ck_assert_int_eq(qemu_strtou64("", NULL, 0, &u), -EINVAL);
    ck_assert_int_eq(qemu_strtou64("18446744073709551616", NULL, 0, &u),
                     -ERANGE);
    ck_assert_int_eq(qemu_strtou64("-18446744073709551615", NULL, 0, &u), 0);
    ck_assert_uint_eq(u, 1);
    ck_assert_int_eq(qemu_strtou64("12abc", &end, 10, &u), 0);
    ck_assert_str_eq(end, "abc");

    ck_assert_int_eq(qemu_strtoi64("-9223372036854775808", NULL, 10, &i64),
                     0);
    ck_assert_int_eq(i64, INT64_MIN);
    ck_assert_int_eq(qemu_strtoi64("9223372036854775808", NULL, 10, &i64),
                     -ERANGE);
    ck_assert_int_eq(qemu_strtol("-12", NULL, 10, &l), 0);
    ck_assert_int_eq(l, -12);
    ck_assert_int_eq(qemu_strtol("z", &end, 10, &l), -EINVAL);
    ck_assert_str_eq(end, "z");
    ck_assert_int_eq(qemu_strtoi("2147483647", NULL, 10, &i), 0);
    ck_assert_int_eq(i, INT_MAX);
    ck_assert_int_eq(qemu_strtoi("2147483648", NULL, 10, &i), -ERANGE);
    ck_assert_int_eq(qemu_strtoi("-2147483649", NULL, 10, &i), -ERANGE);
    ck_assert_int_eq(qemu_strtoi(NULL, NULL, 10, &i), -EINVAL);
}
END_TEST

/* Sizes as "qemu-img info" printed them for images of these sizes. */
static const struct {
    uint64_t in;
    const char *out;
} size_vectors[] = {
    { 0, "0 B" },
    { 512, "512 B" },
    { 999, "999 B" },
    { 1000, "0.977 KiB" },
    { 1024, "1 KiB" },
    { 1536, "1.5 KiB" },
    { 2048, "2 KiB" },
    { 10240, "10 KiB" },
    { 10752, "10.5 KiB" },
    { 102400, "100 KiB" },
    { 102912, "100 KiB" },
    { 200704, "196 KiB" },
    { 1022976, "999 KiB" },
    { 1023488, "1e+03 KiB" },
    { 1024000, "0.977 MiB" },
    { 1047552, "0.999 MiB" },
    { 1048064, "1 MiB" },
    { 1048576, "1 MiB" },
    { 1572864, "1.5 MiB" },
    { 10480128, "9.99 MiB" },
    { 10485760, "10 MiB" },
    { 100000000000ULL, "93.1 GiB" },
    { 1073741824, "1 GiB" },
    { 5368709120ULL, "5 GiB" },
    { 1099511627776ULL, "1 TiB" },
    { 1125899906842624ULL, "1 PiB" },
    { 1152921504606846976ULL, "1 EiB" },
    { UINT64_MAX, "16 EiB" },
};

START_TEST(test_size_to_str)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(size_vectors); i++) {
        char *s = size_to_str(size_vectors[i].in);

        ck_assert_msg(strcmp(s, size_vectors[i].out) == 0,
                      "%" PRIu64 ": '%s', want '%s'", size_vectors[i].in, s,
                      size_vectors[i].out);
        free(s);
    }
}
END_TEST

START_TEST(test_freq_to_str)
{
    char *s = freq_to_str(1500);

    ck_assert_str_eq(s, "1.5 KHz");
    free(s);
    s = freq_to_str(999);
    ck_assert_str_eq(s, "999 Hz");
    free(s);
}
END_TEST

START_TEST(test_paths)
{
    static const struct {
        const char *base, *file, *out;
    } v[] = {
        /* What "qemu-img info" showed as the backing file's actual path. */
        { "d1/d2/ov.qcow2", "../base.qcow2", "d1/d2/../base.qcow2" },
        { "/tmp/ud/d1/d2/ov.qcow2", "../base.qcow2",
          "/tmp/ud/d1/d2/../base.qcow2" },
        { "./d2/ov.qcow2", "../base.qcow2", "./d2/../base.qcow2" },
        { "d2//ov.qcow2", "../base.qcow2", "d2//../base.qcow2" },
        { "ov.qcow2", "base.qcow2", "base.qcow2" },
        { "/a/b", "/abs/c", "/abs/c" },
        { "/a/b", "nbd://host/x", "nbd://host/x" },
        { "nbd:host:x", "y", "nbd:y" },
        { "http://h/dir/f", "g", "http://h/dir/g" },
        { "/", "x", "/x" },
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(v); i++) {
        char *s = path_combine(v[i].base, v[i].file);

        ck_assert_msg(strcmp(s, v[i].out) == 0, "%s + %s = %s", v[i].base,
                      v[i].file, s);
        free(s);
    }
    ck_assert(path_has_protocol("nbd://x"));
    ck_assert(path_has_protocol("json:{}"));
    ck_assert(!path_has_protocol("./a:b"));
    ck_assert(!path_has_protocol("a/b:c"));
    ck_assert(!path_has_protocol("plain"));
    ck_assert(path_is_absolute("/x"));
    ck_assert(path_is_absolute("file:/x"));
    ck_assert(!path_is_absolute("x/y"));
    ck_assert(!path_is_absolute("file:x"));
}
END_TEST

START_TEST(test_strings)
{
    char buf[4];
    const char *rest;

    pstrcpy(buf, sizeof(buf), "abcdef");
    ck_assert_str_eq(buf, "abc");
    pstrcpy(buf, sizeof(buf), "");
    ck_assert_str_eq(buf, "");
    ck_assert(strstart("json:{}", "json:", &rest));
    ck_assert_str_eq(rest, "{}");
    ck_assert(!strstart("jso", "json:", &rest));
    ck_assert(strstart("x", "", NULL));
}
END_TEST

static Suite *cutils_suite(void)
{
    Suite *s = suite_create("cutils");
    TCase *tc;

    tc = tcase_create("strtosz");
    tcase_add_test(tc, test_strtosz_reference);
    tcase_add_test(tc, test_strtosz_end);
    tcase_add_test(tc, test_strtosz_hex_warning);
    suite_add_tcase(s, tc);

    tc = tcase_create("integers");
    tcase_add_test(tc, test_strto_integers);
    suite_add_tcase(s, tc);

    tc = tcase_create("format");
    tcase_add_test(tc, test_size_to_str);
    tcase_add_test(tc, test_freq_to_str);
    suite_add_tcase(s, tc);

    tc = tcase_create("strings");
    tcase_add_test(tc, test_paths);
    tcase_add_test(tc, test_strings);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cutils_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
