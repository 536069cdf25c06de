/*
 * The secret store: --object parsing and its errors (the reference's
 * words), loading from data= and file=, base64, help requests and lookup.
 */
#include "config-host.h"

#include <check.h>

#include "util/osdep.h"
#include "util/error.h"
#include "util/secret.h"

/* Adds optarg, expecting failure with exactly msg; returns nothing. */
static void add_fails(const char *optarg, const char *msg)
{
    Error *err = NULL;
    const char *help = "unset";

    ck_assert_msg(!secret_object_add(optarg, &help, &err), "%s", optarg);
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(error_get_pretty(err), msg);
    ck_assert_ptr_null(help);
    error_free(err);
}

static void add_ok(const char *optarg)
{
    Error *err = NULL;
    const char *help = "unset";

    ck_assert_msg(secret_object_add(optarg, &help, &err), "%s: %s", optarg,
                  err ? error_get_pretty(err) : "");
    ck_assert_ptr_null(help);
}

static void assert_secret(const char *id, const void *bytes, size_t len)
{
    const uint8_t *data;
    size_t n;

    ck_assert(secret_lookup(id, &data, &n, NULL));
    ck_assert_uint_eq(n, len);
    ck_assert(memcmp(data, bytes, len) == 0);
}

/* A file in /tmp holding len bytes; free the returned name after unlink. */
static char *make_file(const void *bytes, size_t len)
{
    char *name = xstrdup("/tmp/test-secret-XXXXXX");
    int fd = mkstemp(name);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, bytes, len), (ssize_t)len);
    close(fd);
    return name;
}

START_TEST(test_secret_data)
{
    Error *err = NULL;
    const uint8_t *data;
    size_t len;

    add_ok("secret,id=sec0,data=pass,,word");
    add_ok("qom-type=secret,id=sec1,data=,format=raw,iv=x");
    assert_secret("sec0", "pass,word", 9);
    assert_secret("sec1", "", 0);
    ck_assert(!secret_lookup("nosuch", &data, &len, &err));
    ck_assert_str_eq(error_get_pretty(err), "No secret with id 'nosuch'");
    error_free(err);
    secret_store_clear();
    ck_assert(!secret_lookup("sec0", &data, &len, NULL));
    /* Cleared ids can be used again. */
    add_ok("secret,id=sec0,data=other");
    assert_secret("sec0", "other", 5);
}
END_TEST

START_TEST(test_secret_base64)
{
    add_ok("secret,id=a,data=c2VjcmV0,format=base64");
    assert_secret("a", "secret", 6);
    /* Lenient like the reference: no padding, newlines, stop at '='. */
    add_ok("secret,id=b,data=YWJjZA,format=base64");
    assert_secret("b", "abcd", 4);
    add_ok("secret,id=c,data=YQ==YQ==,format=base64");
    assert_secret("c", "a", 1);
    add_fails("secret,id=d,data=!!!,format=base64",
              "Base64 data contains invalid characters");
    add_fails("secret,id=d,data=Y Q==,format=base64",
              "Base64 data contains invalid characters");
    ck_assert(!secret_lookup("d", &(const uint8_t *){ NULL },
                             &(size_t){ 0 }, NULL));
}
END_TEST

START_TEST(test_secret_file)
{
    char *plain = make_file("pa\0ss", 5);
    char *b64 = make_file("YWJj\n", 5);
    char *nul = make_file("YW\0Jj", 5);
    char *arg;

    arg = xasprintf("secret,id=p,file=%s", plain);
    add_ok(arg);
    free(arg);
    /* The file's bytes, NULs and all. */
    assert_secret("p", "pa\0ss", 5);
    arg = xasprintf("secret,id=b,file=%s,format=base64", b64);
    add_ok(arg);
    free(arg);
    assert_secret("b", "abc", 3);
    arg = xasprintf("secret,id=n,file=%s,format=base64", nul);
    add_fails(arg, "Base64 data contains embedded NUL characters");
    free(arg);
    add_fails("secret,id=x,file=/nonexistent/f",
              "Unable to read /nonexistent/f: Failed to open file "
              "\xe2\x80\x9c/nonexistent/f\xe2\x80\x9d: "
              "No such file or directory");
    add_fails("secret,id=x,file=/",
              "Unable to read /: Error reading file "
              "\xe2\x80\x9c/\xe2\x80\x9d: Is a directory");
    unlink(plain);
    unlink(b64);
    unlink(nul);
    free(plain);
    free(b64);
    free(nul);
}
END_TEST

START_TEST(test_secret_errors)
{
    add_fails("", "Parameter 'qom-type' is missing");
    add_fails("id=x", "Parameter 'qom-type' is missing");
    add_fails("bogus,id=x", "Parameter 'qom-type' does not accept value "
              "'bogus'");
    add_fails("=x", "Invalid parameter ''");
    add_fails("secret", "Parameter 'id' is missing");
    add_fails("secret,id=0bad", "Parameter 'id' expects an identifier");
    add_fails("secret,id=s,data=x,bogus=1", "Parameter 'bogus' is "
              "unexpected");
    add_fails("secret,id=s,data=x,a.b=1", "Parameter 'a' is unexpected");
    add_fails("secret,id=s,data=x,format=hex", "Parameter 'format' does not "
              "accept value 'hex'");
    add_fails("secret,id=s,data=x,loaded=on", "Property 'secret.loaded' is "
              "not writable");
    add_fails("secret,id=s,data=x,file=y", "'file' and 'data' are mutually "
              "exclusive");
    add_fails("secret,id=s", "Either 'file' or 'data' must be provided");
    add_fails("secret,id=s,data=x,keyid=k", "No secret with id 'k'");
    add_ok("secret,id=k,data=short");
    add_fails("secret,id=s,data=x,keyid=k", "Key should be 32 bytes in "
              "length");
    add_ok("secret,id=k32,data=0123456789abcdef0123456789abcdef");
    add_fails("secret,id=s,data=x,keyid=k32", "Secrets encrypted with "
              "'keyid' are not supported");
    add_fails("secret,id=k,data=again", "attempt to add duplicate property "
              "'k' to object (type 'container')");
    /* A failed add leaves nothing behind. */
    ck_assert(!secret_lookup("s", &(const uint8_t *){ NULL },
                             &(size_t){ 0 }, NULL));
    assert_secret("k", "short", 5);
}
END_TEST

START_TEST(test_secret_help)
{
    static const char *const types[] = {
        "help", "?", "foo,help", "secret,id=x,data=y,help,format=raw",
    };
    Error *err = NULL;
    const char *help;
    size_t i;

    ck_assert(secret_object_add("secret,help", &help, &err));
    ck_assert_ptr_nonnull(help);
    ck_assert(strstr(help, "secret options:\n  data=<string>\n"));
    ck_assert(secret_object_add("secret,?", &help, &err));
    ck_assert(strstr(help, "keyid=<string>"));
    for (i = 0; i < ARRAY_SIZE(types); i++) {
        help = NULL;
        ck_assert(secret_object_add(types[i], &help, &err));
        ck_assert_ptr_nonnull(help);
    }
    ck_assert_str_eq(help, "secret options:\n"
                     "  data=<string>\n"
                     "  file=<string>\n"
                     "  format=<QCryptoSecretFormat>\n"
                     "  iv=<string>\n"
                     "  keyid=<string>\n");
    ck_assert(secret_object_add("foo,help", &help, &err));
    ck_assert_str_eq(help, "List of user creatable objects:\n  secret\n");
    /* Help adds nothing; syntax errors still come first. */
    ck_assert(!secret_lookup("x", &(const uint8_t *){ NULL },
                             &(size_t){ 0 }, NULL));
    add_fails("help,foo", "Expected '=' after parameter 'foo'");
    add_fails("secret,id=s,data=x,help=foo", "Parameter 'help' is "
              "unexpected");
    ck_assert_ptr_null(err);
}
END_TEST

static Suite *secret_suite(void)
{
    Suite *s = suite_create("secret");
    TCase *tc;

    tc = tcase_create("store");
    tcase_add_test(tc, test_secret_data);
    suite_add_tcase(s, tc);
    tc = tcase_create("base64");
    tcase_add_test(tc, test_secret_base64);
    suite_add_tcase(s, tc);
    tc = tcase_create("file");
    tcase_add_test(tc, test_secret_file);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, test_secret_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("help");
    tcase_add_test(tc, test_secret_help);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(secret_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
