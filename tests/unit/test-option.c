/*
 * Option lists against the reference: "-o help" tables, the options part
 * of the "Formatting ..." line, and every parse error message, each taken
 * from qemu-img create / info runs.
 */
#include "config-host.h"

#include <check.h>

#include "util/osdep.h"
#include "util/error.h"
#include "util/option.h"
#include "util/qobject.h"
#include "util/strbuf.h"

/* qcow2's create options in the order its "Formatting" line uses. */
static const QemuOptDesc qcow2_desc[] = {
    { "encryption", QEMU_OPT_BOOL, "Encrypt the image with format 'aes'. "
      "(Deprecated in favor of encrypt.format=aes)", NULL },
    { "encrypt.format", QEMU_OPT_STRING,
      "Encrypt the image, format choices: 'aes', 'luks'", NULL },
    { "encrypt.key-secret", QEMU_OPT_STRING,
      "ID of secret providing qcow AES key or LUKS passphrase", NULL },
    { "encrypt.cipher-alg", QEMU_OPT_STRING,
      "Name of encryption cipher algorithm", NULL },
    { "encrypt.cipher-mode", QEMU_OPT_STRING,
      "Name of encryption cipher mode", NULL },
    { "encrypt.ivgen-alg", QEMU_OPT_STRING,
      "Name of IV generator algorithm", NULL },
    { "encrypt.ivgen-hash-alg", QEMU_OPT_STRING,
      "Name of IV generator hash algorithm", NULL },
    { "encrypt.hash-alg", QEMU_OPT_STRING,
      "Name of encryption hash algorithm", NULL },
    { "encrypt.iter-time", QEMU_OPT_NUMBER,
      "Time to spend in PBKDF in milliseconds", NULL },
    { "cluster_size", QEMU_OPT_SIZE, "qcow2 cluster size", "65536" },
    { "extended_l2", QEMU_OPT_BOOL, "Extended L2 tables", "off" },
    { "preallocation", QEMU_OPT_STRING, "Preallocation mode (allowed "
      "values: off, metadata, falloc, full)", NULL },
    { "compression_type", QEMU_OPT_STRING,
      "Compression method used for image cluster compression", "zlib" },
    { "size", QEMU_OPT_SIZE, "Virtual disk size", NULL },
    { "compat", QEMU_OPT_STRING,
      "Compatibility level (v2 [0.10] or v3 [1.1])", NULL },
    { "backing_file", QEMU_OPT_STRING, "File name of a base image", NULL },
    { "backing_fmt", QEMU_OPT_STRING, "Image format of the base image",
      NULL },
    { "data_file", QEMU_OPT_STRING, "File name of an external data file",
      NULL },
    { "data_file_raw", QEMU_OPT_BOOL,
      "The external data file must stay valid as a raw image", NULL },
    { "lazy_refcounts", QEMU_OPT_BOOL, "Postpone refcount updates", "off" },
    { "refcount_bits", QEMU_OPT_NUMBER,
      "Width of a reference count entry in bits", "16" },
    { NULL }
};

static QemuOptsList qcow2_opts = {
    .name = "qcow2-create-opts",
    .desc = qcow2_desc,
};

static const QemuOptDesc file_desc[] = {
    { "size", QEMU_OPT_SIZE, "Virtual disk size", NULL },
    { "nocow", QEMU_OPT_BOOL, "Turn off copy-on-write (valid only on btrfs)",
      NULL },
    { "preallocation", QEMU_OPT_STRING,
      "Preallocation mode (allowed values: off, falloc, full)", NULL },
    { "extent_size_hint", QEMU_OPT_SIZE,
      "Extent size hint for the image file, 0 to disable", NULL },
    { NULL }
};

static QemuOptsList file_opts = {
    .name = "file-create-opts",
    .desc = file_desc,
};

/* Runs fn with stdout going to a string. */
static char *capture_stdout(void (*fn)(void *), void *opaque)
{
    FILE *f = tmpfile();
    int saved = dup(STDOUT_FILENO);
    char *buf = xzalloc(65536);

    fflush(stdout);
    dup2(fileno(f), STDOUT_FILENO);
    fn(opaque);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    rewind(f);
    ck_assert_uint_lt(fread(buf, 1, 65535, f), 65535);
    fclose(f);
    return buf;
}

static void print_help_nocaption(void *opaque)
{
    qemu_opts_print_help(opaque, false);
}

static void print_help_caption(void *opaque)
{
    qemu_opts_print_help(opaque, true);
}

START_TEST(test_help_qcow2)
{
    /* Between "Supported qcow2 options:" and the protocol note. */
    static const char expected[] =
"  backing_file=<str>     - File name of a base image\n"
"  backing_fmt=<str>      - Image format of the base image\n"
"  cluster_size=<size>    - qcow2 cluster size\n"
"  compat=<str>           - Compatibility level (v2 [0.10] or v3 [1.1])\n"
"  compression_type=<str> - Compression method used for image cluster "
"compression\n"
"  data_file=<str>        - File name of an external data file\n"
"  data_file_raw=<bool (on/off)> - The external data file must stay valid "
"as a raw image\n"
"  encrypt.cipher-alg=<str> - Name of encryption cipher algorithm\n"
"  encrypt.cipher-mode=<str> - Name of encryption cipher mode\n"
"  encrypt.format=<str>   - Encrypt the image, format choices: 'aes', "
"'luks'\n"
"  encrypt.hash-alg=<str> - Name of encryption hash algorithm\n"
"  encrypt.iter-time=<num> - Time to spend in PBKDF in milliseconds\n"
"  encrypt.ivgen-alg=<str> - Name of IV generator algorithm\n"
"  encrypt.ivgen-hash-alg=<str> - Name of IV generator hash algorithm\n"
"  encrypt.key-secret=<str> - ID of secret providing qcow AES key or LUKS "
"passphrase\n"
"  encryption=<bool (on/off)> - Encrypt the image with format 'aes'. "
"(Deprecated in favor of encrypt.format=aes)\n"
"  extended_l2=<bool (on/off)> - Extended L2 tables\n"
"  lazy_refcounts=<bool (on/off)> - Postpone refcount updates\n"
"  preallocation=<str>    - Preallocation mode (allowed values: off, "
"metadata, falloc, full)\n"
"  refcount_bits=<num>    - Width of a reference count entry in bits\n"
"  size=<size>            - Virtual disk size\n";
    char *out = capture_stdout(print_help_nocaption, &qcow2_opts);

    ck_assert_str_eq(out, expected);
    free(out);
}
END_TEST

START_TEST(test_help_merged)
{
    /* qemu-img create -f raw -o help x.raw: raw's size + file's options. */
    static const QemuOptDesc raw_desc[] = {
        { "size", QEMU_OPT_SIZE, "Virtual disk size", NULL },
        { NULL }
    };
    static QemuOptsList raw_opts = { .name = "raw", .desc = raw_desc };
    static const char expected[] =
"Supported options:\n"
"  extent_size_hint=<size> - Extent size hint for the image file, 0 to "
"disable\n"
"  nocow=<bool (on/off)>  - Turn off copy-on-write (valid only on btrfs)\n"
"  preallocation=<str>    - Preallocation mode (allowed values: off, "
"falloc, full)\n"
"  size=<size>            - Virtual disk size\n";
    QemuOptsList *merged = qemu_opts_append(NULL, &raw_opts);
    char *out;

    merged = qemu_opts_append(merged, &file_opts);
    out = capture_stdout(print_help_caption, merged);
    ck_assert_str_eq(out, expected);
    free(out);
    ck_assert_str_eq(merged->name, "raw");
    qemu_opts_free(merged);
}
END_TEST

static char *print_opts(QemuOpts *opts)
{
    StrBuf sb = STRBUF_INIT;

    strbuf_init(&sb);
    qemu_opts_print(opts, " ", &sb);
    return strbuf_detach(&sb);
}

/* "-o <options>" then size (and backing file) as qemu-img create sets them. */
static char *formatting_line(QemuOptsList *list, const char *options,
                             const char *backing)
{
    QemuOpts *opts = qemu_opts_create(list);
    Error *err = NULL;
    char *s;

    if (!qemu_opts_do_parse(opts, options, NULL, &err)) {
        s = xasprintf("ERR %s", error_get_pretty(err));
        error_free(err);
        qemu_opts_del(opts);
        return s;
    }
    qemu_opt_set_number(opts, "size", 1048576, &error_abort);
    if (backing) {
        qemu_opt_set(opts, "backing_file", backing, &error_abort);
        qemu_opt_set(opts, "backing_fmt", "qcow2", &error_abort);
    }
    s = print_opts(opts);
    qemu_opts_del(opts);
    return s;
}

static const struct {
    const char *options;
    const char *backing;
    const char *line;   /* after "Formatting 'x', fmt=qcow2" */
} formatting_vectors[] = {
    { "", NULL, " cluster_size=65536 extended_l2=off compression_type=zlib "
      "size=1048576 lazy_refcounts=off refcount_bits=16" },
    { "lazy_refcounts=on,cluster_size=4096", NULL, " cluster_size=4096 "
      "extended_l2=off compression_type=zlib size=1048576 lazy_refcounts=on "
      "refcount_bits=16" },
    { "preallocation=off,compat=0.10", NULL, " cluster_size=65536 "
      "extended_l2=off preallocation=off compression_type=zlib size=1048576 "
      "compat=0.10 lazy_refcounts=off refcount_bits=16" },
    { "", "a b.qcow2", " cluster_size=65536 extended_l2=off "
      "compression_type=zlib size=1048576 backing_file=a b.qcow2 "
      "backing_fmt=qcow2 lazy_refcounts=off refcount_bits=16" },
    { "backing_file=a,,b.qcow2,backing_fmt=qcow2", NULL,
      " cluster_size=65536 extended_l2=off compression_type=zlib "
      "size=1048576 backing_file=a,,b.qcow2 backing_fmt=qcow2 "
      "lazy_refcounts=off refcount_bits=16" },
    { "", "q\"x'y.qcow2", " cluster_size=65536 extended_l2=off "
      "compression_type=zlib size=1048576 backing_file=q\"x'y.qcow2 "
      "backing_fmt=qcow2 lazy_refcounts=off refcount_bits=16" },
    { "refcount_bits=0x10", NULL, " cluster_size=65536 extended_l2=off "
      "compression_type=zlib size=1048576 lazy_refcounts=off "
      "refcount_bits=16" },
    { "refcount_bits=016", NULL, " cluster_size=65536 extended_l2=off "
      "compression_type=zlib size=1048576 lazy_refcounts=off "
      "refcount_bits=14" },
    { "refcount_bits=-16", NULL, " cluster_size=65536 extended_l2=off "
      "compression_type=zlib size=1048576 lazy_refcounts=off "
      "refcount_bits=-16" },
    { "refcount_bits=18446744073709551615", NULL, " cluster_size=65536 "
      "extended_l2=off compression_type=zlib size=1048576 "
      "lazy_refcounts=off refcount_bits=-1" },
    { "lazy_refcounts=yes", NULL, " cluster_size=65536 extended_l2=off "
      "compression_type=zlib size=1048576 lazy_refcounts=yes "
      "refcount_bits=16" },
    { "lazy_refcounts", NULL, " cluster_size=65536 extended_l2=off "
      "compression_type=zlib size=1048576 lazy_refcounts=on "
      "refcount_bits=16" },
    { "nolazy_refcounts", NULL, " cluster_size=65536 extended_l2=off "
      "compression_type=zlib size=1048576 lazy_refcounts=off "
      "refcount_bits=16" },
    { "compat=", NULL, " cluster_size=65536 extended_l2=off "
      "compression_type=zlib size=1048576 compat= lazy_refcounts=off "
      "refcount_bits=16" },
    { "compat=1.1,,", NULL, " cluster_size=65536 extended_l2=off "
      "compression_type=zlib size=1048576 compat=1.1,, lazy_refcounts=off "
      "refcount_bits=16" },
    { "compat=1.1=2", NULL, " cluster_size=65536 extended_l2=off "
      "compression_type=zlib size=1048576 compat=1.1=2 lazy_refcounts=off "
      "refcount_bits=16" },
    { "cluster_size=64k", NULL, " cluster_size=65536 extended_l2=off "
      "compression_type=zlib size=1048576 lazy_refcounts=off "
      "refcount_bits=16" },
    { "cluster_size=8E", NULL, " cluster_size=-9223372036854775808 "
      "extended_l2=off compression_type=zlib size=1048576 "
      "lazy_refcounts=off refcount_bits=16" },
    { "cluster_size=4k,cluster_size=8k", NULL, " cluster_size=8192 "
      "extended_l2=off compression_type=zlib size=1048576 "
      "lazy_refcounts=off refcount_bits=16" },
    { "encrypt.format=luks,encrypt.key-secret=s,encryption=off", NULL,
      " encryption=off encrypt.format=luks encrypt.key-secret=s "
      "cluster_size=65536 extended_l2=off compression_type=zlib "
      "size=1048576 lazy_refcounts=off refcount_bits=16" },
    /* Errors, in the reference's words. */
    { "cluster_size=abc", NULL, "ERR Parameter 'cluster_size' expects a "
      "non-negative number below 2^64" },
    { "nosuch=1", NULL, "ERR Invalid parameter 'nosuch'" },
    { "nosuch", NULL, "ERR Invalid parameter 'such'" },
    { "4k", NULL, "ERR Invalid parameter '4k'" },
    { "=4k", NULL, "ERR Invalid parameter ''" },
    { "a,,b=1", NULL, "ERR Invalid parameter 'a'" },
    { "lazy_refcounts=maybe", NULL, "ERR Parameter 'lazy_refcounts' "
      "expects 'on' or 'off'" },
    { "lazy_refcounts=ON", NULL, "ERR Parameter 'lazy_refcounts' "
      "expects 'on' or 'off'" },
    { "lazy_refcounts=on=off", NULL, "ERR Parameter 'lazy_refcounts' "
      "expects 'on' or 'off'" },
    { "size=1x", NULL, "ERR Parameter 'size' expects a non-negative number "
      "below 2^64" },
    { "cluster_size=", NULL, "ERR Parameter 'cluster_size' expects a "
      "non-negative number below 2^64" },
    { "cluster_size", NULL, "ERR Parameter 'cluster_size' expects a "
      "non-negative number below 2^64" },
    { "cluster_size=4k,,x", NULL, "ERR Parameter 'cluster_size' expects a "
      "non-negative number below 2^64" },
    { "cluster_size=16E", NULL, "ERR Value '16E' is out of range for "
      "parameter 'cluster_size'" },
    { "cluster_size=99999999999999999999", NULL, "ERR Value "
      "'99999999999999999999' is out of range for parameter "
      "'cluster_size'" },
    { "refcount_bits=abc", NULL, "ERR Parameter 'refcount_bits' expects a "
      "number" },
    { "refcount_bits=", NULL, "ERR Parameter 'refcount_bits' expects a "
      "number" },
    { "refcount_bits=16 ", NULL, "ERR Parameter 'refcount_bits' expects a "
      "number" },
    { "refcount_bits=99999999999999999999", NULL, "ERR Value "
      "'99999999999999999999' is too large for parameter 'refcount_bits'" },
    { "nosuch=1,cluster_size=abc", NULL, "ERR Invalid parameter 'nosuch'" },
    { "cluster_size=abc,nosuch=1", NULL, "ERR Parameter 'cluster_size' "
      "expects a non-negative number below 2^64" },
};

START_TEST(test_formatting_line)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(formatting_vectors); i++) {
        char *line = formatting_line(&qcow2_opts,
                                     formatting_vectors[i].options,
                                     formatting_vectors[i].backing);

        ck_assert_msg(strcmp(line, formatting_vectors[i].line) == 0,
                      "-o '%s':\n got  '%s'\n want '%s'",
                      formatting_vectors[i].options, line,
                      formatting_vectors[i].line);
        free(line);
    }
}
END_TEST

START_TEST(test_formatting_merged_protocol)
{
    QemuOptsList *merged = qemu_opts_append(NULL, &qcow2_opts);
    char *line;

    merged = qemu_opts_append(merged, &file_opts);
    line = formatting_line(merged, "preallocation=off,nocow=off,"
                           "extent_size_hint=1M,data_file_raw=off,"
                           "encryption=off,compat=1.1,refcount_bits=16",
                           NULL);
    ck_assert_str_eq(line, " encryption=off cluster_size=65536 "
                     "extended_l2=off preallocation=off "
                     "compression_type=zlib size=1048576 compat=1.1 "
                     "data_file_raw=off lazy_refcounts=off refcount_bits=16 "
                     "nocow=off extent_size_hint=1048576");
    free(line);
    /* The file protocol's "nocow" cannot be set in short form. */
    free(line = formatting_line(merged, "nocow", NULL));
    qemu_opts_free(merged);

    merged = qemu_opts_append(NULL, &file_opts);
    line = formatting_line(merged, "nocow", NULL);
    ck_assert_str_eq(line, "ERR Invalid parameter 'cow'");
    free(line);
    line = formatting_line(merged, "nonocow", NULL);
    ck_assert_str_eq(line, " size=1048576 nocow=off");
    free(line);
    qemu_opts_free(merged);
}
END_TEST

START_TEST(test_size_hint)
{
    QemuOpts *opts = qemu_opts_create(&qcow2_opts);
    Error *err = NULL;

    ck_assert(!qemu_opts_do_parse(opts, "cluster_size=x", NULL, &err));
    ck_assert_str_eq(error_get_hint(err), "Optional suffix k, M, G, T, P or "
                     "E means kilo-, mega-, giga-, tera-, peta-\n"
                     "and exabytes, respectively.\n");
    error_free(err);
    qemu_opts_del(opts);
}
END_TEST

START_TEST(test_getters)
{
    QemuOpts *opts = qemu_opts_create(&qcow2_opts);
    char *s;

    ck_assert(qemu_opts_do_parse(opts, "cluster_size=4k,lazy_refcounts=yes,"
                                 "backing_file=b", NULL, &error_abort));
    ck_assert_uint_eq(qemu_opt_get_size(opts, "cluster_size", 1), 4096);
    ck_assert_uint_eq(qemu_opt_get_size(opts, "size", 77), 77);
    ck_assert(qemu_opt_get_bool(opts, "lazy_refcounts", false));
    ck_assert(!qemu_opt_get_bool(opts, "extended_l2", true));
    ck_assert(qemu_opt_get_bool(opts, "data_file_raw", true));
    ck_assert_uint_eq(qemu_opt_get_number(opts, "refcount_bits", 0), 16);
    ck_assert_str_eq(qemu_opt_get(opts, "compression_type"), "zlib");
    ck_assert_ptr_null(qemu_opt_get(opts, "data_file"));
    ck_assert(qemu_opt_find(opts, "backing_file"));
    ck_assert(!qemu_opt_find(opts, "compression_type"));

    s = qemu_opt_get_del(opts, "backing_file");
    ck_assert_str_eq(s, "b");
    free(s);
    ck_assert(!qemu_opt_find(opts, "backing_file"));
    ck_assert_uint_eq(qemu_opt_get_size_del(opts, "cluster_size", 1), 4096);
    ck_assert_uint_eq(qemu_opt_get_size(opts, "cluster_size", 1), 65536);
    ck_assert(qemu_opt_get_bool_del(opts, "lazy_refcounts", false));
    ck_assert(!qemu_opt_get_bool(opts, "lazy_refcounts", true));

    ck_assert(qemu_opt_set_number(opts, "refcount_bits", 64, &error_abort));
    ck_assert_uint_eq(qemu_opt_get_number_del(opts, "refcount_bits", 0), 64);
    ck_assert(qemu_opt_set_bool(opts, "extended_l2", true, &error_abort));
    ck_assert_str_eq(qemu_opt_get(opts, "extended_l2"), "on");
    qemu_opt_unset(opts, "extended_l2");
    ck_assert(!qemu_opt_find(opts, "extended_l2"));
    ck_assert(!qemu_opt_set(opts, "bogus", "1", NULL));
    qemu_opts_del(opts);
}
END_TEST

START_TEST(test_help_detection)
{
    ck_assert(is_help_option("help"));
    ck_assert(is_help_option("?"));
    ck_assert(is_help_option("size=1M,help"));
    ck_assert(is_help_option("nosuch=1,help"));
    ck_assert(is_help_option("help,size=1M"));
    ck_assert(is_help_option("help,,x"));
    ck_assert(!is_help_option("help=on"));
    ck_assert(!is_help_option("?=1"));
    ck_assert(!is_help_option("nohelp"));
    ck_assert(!is_help_option("backing_file=help"));
    ck_assert(!is_help_option("backing_file=a,,help"));
    ck_assert(!is_help_option(""));
}
END_TEST

START_TEST(test_firstname_and_dicts)
{
    QemuOptsList any = { .name = "any" };
    QemuOpts *opts = qemu_opts_create(&any);
    QDict *d;

    ck_assert(qemu_opts_do_parse(opts, "a,,b.qcow2,x=1,flag,x=2", "file",
                                 &error_abort));
    d = qemu_opts_to_qdict(opts, NULL);
    ck_assert_str_eq(qdict_get_try_str(d, "file"), "a,b.qcow2");
    ck_assert_str_eq(qdict_get_try_str(d, "x"), "2");
    ck_assert_str_eq(qdict_get_try_str(d, "flag"), "on");
    ck_assert(qemu_opt_has_help_opt(opts) == false);
    qdict_unref(d);
    qemu_opts_del(opts);

    opts = qemu_opts_create(&qcow2_opts);
    d = qdict_new();
    qdict_put_int(d, "cluster_size", 4096);
    qdict_put_bool(d, "lazy_refcounts", true);
    qdict_put_str(d, "other", "stays");
    ck_assert(qemu_opts_absorb_qdict(opts, d, &error_abort));
    ck_assert_uint_eq(qdict_size(d), 1);
    ck_assert_uint_eq(qemu_opt_get_size(opts, "cluster_size", 0), 4096);
    ck_assert(qemu_opt_get_bool(opts, "lazy_refcounts", false));
    qdict_put_str(d, "refcount_bits", "x");
    ck_assert(!qemu_opts_absorb_qdict(opts, d, NULL));
    qdict_unref(d);
    qemu_opts_del(opts);
}
END_TEST

START_TEST(test_image_opts)
{
    QDict *d;
    char buf[512] = "";
    FILE *f = tmpfile();

    d = qemu_opts_parse_flat("driver=qcow2,file.driver=file,"
                             "file.filename=/tmp/x.qcow2", "file", NULL);
    ck_assert_uint_eq(qdict_size(d), 3);
    ck_assert_str_eq(qdict_get_try_str(d, "file.filename"), "/tmp/x.qcow2");
    qdict_unref(d);

    d = qemu_opts_parse_flat("a,,b.qcow2", "file", NULL);
    ck_assert_str_eq(qdict_get_try_str(d, "file"), "a,b.qcow2");
    qdict_unref(d);

    d = qemu_opts_parse_flat("driver=qcow2,,file.filename=x,a b=1,=x,"
                             "k=1,k=2,", "file", NULL);
    ck_assert_str_eq(qdict_get_try_str(d, "driver"),
                     "qcow2,file.filename=x");
    ck_assert_str_eq(qdict_get_try_str(d, "a b"), "1");
    ck_assert_str_eq(qdict_get_try_str(d, ""), "x");
    ck_assert_str_eq(qdict_get_try_str(d, "k"), "2");
    qdict_unref(d);

    /* Short-form booleans work but warn, as the reference does. */
    fflush(stderr);
    dup2(fileno(f), STDERR_FILENO);
    d = qemu_opts_parse_flat("driver=qcow2,lazy-refcounts,nosuch", "file",
                             NULL);
    fflush(stderr);
    rewind(f);
    ck_assert_uint_gt(fread(buf, 1, sizeof(buf) - 1, f), 0);
    ck_assert_str_eq(buf,
        "qemu-img: warning: short-form boolean option 'lazy-refcounts' "
        "deprecated\nPlease use lazy-refcounts=on instead\n"
        "qemu-img: warning: short-form boolean option 'nosuch' deprecated\n"
        "Please use such=off instead\n");
    ck_assert_str_eq(qdict_get_try_str(d, "lazy-refcounts"), "on");
    ck_assert_str_eq(qdict_get_try_str(d, "such"), "off");
    qdict_unref(d);
    fclose(f);
}
END_TEST

static const struct {
    const char *in;
    const char *err;    /* NULL: parses */
} keyval_vectors[] = {
    /* Messages of "qemu-img info --object <in> ...". */
    { "secret,id=s,data=x,data=y", NULL },
    { "secret,id=s,data=x,", NULL },
    { "secret,id=s,,data=x", NULL },
    { "secret,,x,id=s", "Invalid parameter ''" },
    { ",id=s", "Invalid parameter ''" },
    { "", NULL },
    { "secret,id=s,data", "Expected '=' after parameter 'data'" },
    { "id=s,secret", "Expected '=' after parameter 'secret'" },
    { "secret,id=s,a..b=1", "Invalid parameter 'a..b'" },
    { "secret,id=s,a.=1", "Invalid parameter 'a.'" },
    { "secret,id=s,.a=1", "Invalid parameter '.a'" },
    { "secret,id=s,a b=1", "Invalid parameter 'a b'" },
    { "secret,id=s,=1", "Invalid parameter ''" },
    { "secret,id=s,1a=1", "Invalid parameter '1a'" },
    { "secret,id=s,a.-=1", "Invalid parameter 'a.-'" },
    { "secret,id=s,a.1b=1", "Invalid parameter 'a.1b'" },
    { "secret,id=s,a.b=1,a=2", "Parameters 'a.*' used inconsistently" },
    { "secret,id=s,a=1,a.b=2", "Parameters 'a.*' used inconsistently" },
    { "secret,id=s,a.b.c=1,a.b=2", "Parameters 'a.b.*' used "
      "inconsistently" },
    { "secret,id=s,a.0=1,a.x=2", "Parameters 'a.*' used inconsistently" },
    { "secret,id=s,a.0=1", NULL },
    { "secret,id=s,A=1,a_b=1,a-b=1", NULL },
    { "sec ret,id=s", NULL },
    { "  secret,id=s", NULL },
};

START_TEST(test_keyval)
{
    size_t i;
    QDict *d;
    char *longkey;

    for (i = 0; i < ARRAY_SIZE(keyval_vectors); i++) {
        Error *err = NULL;

        d = keyval_parse_flat(keyval_vectors[i].in, "qom-type", &err);
        if (keyval_vectors[i].err) {
            ck_assert_msg(d == NULL, "'%s' parsed", keyval_vectors[i].in);
            ck_assert_msg(strcmp(error_get_pretty(err),
                                 keyval_vectors[i].err) == 0,
                          "'%s': '%s'", keyval_vectors[i].in,
                          error_get_pretty(err));
            error_free(err);
        } else {
            ck_assert_msg(d != NULL, "'%s': %s", keyval_vectors[i].in,
                          error_get_pretty(err));
            qdict_unref(d);
        }
    }

    d = keyval_parse_flat("secret,id=s,,data=x,data=a=b", "qom-type",
                          &error_abort);
    ck_assert_str_eq(qdict_get_try_str(d, "qom-type"), "secret");
    ck_assert_str_eq(qdict_get_try_str(d, "id"), "s,data=x");
    ck_assert_str_eq(qdict_get_try_str(d, "data"), "a=b");
    qdict_unref(d);

    longkey = xasprintf("x=1,%0127d=1", 0);
    memset(longkey + 4, 'a', 127);
    d = keyval_parse_flat(longkey, NULL, &error_abort);
    qdict_unref(d);
    free(longkey);
    longkey = xasprintf("x=1,%0128d=1", 0);
    memset(longkey + 4, 'a', 128);
    {
        Error *err = NULL;

        ck_assert_ptr_null(keyval_parse_flat(longkey, NULL, &err));
        ck_assert(strstr(error_get_pretty(err), "' is too long") != NULL);
        error_free(err);
    }
    free(longkey);
}
END_TEST

START_TEST(test_bool_parse)
{
    static const char *const on[] = { "on", "yes", "true", "y" };
    static const char *const off[] = { "off", "no", "false", "n" };
    static const char *const bad[] = { "ON", "Off", "1", "0", "", " on",
                                       "on " };
    Error *err = NULL;
    size_t i;
    bool v;

    for (i = 0; i < ARRAY_SIZE(on); i++) {
        ck_assert(qapi_bool_parse("p", on[i], &v, &error_abort) && v);
    }
    for (i = 0; i < ARRAY_SIZE(off); i++) {
        ck_assert(qapi_bool_parse("p", off[i], &v, &error_abort) && !v);
    }
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        ck_assert(!qapi_bool_parse("p", bad[i], &v, &err));
        ck_assert_str_eq(error_get_pretty(err),
                         "Parameter 'p' expects 'on' or 'off'");
        error_free(err);
        err = NULL;
    }
}
END_TEST

static Suite *option_suite(void)
{
    Suite *s = suite_create("option");
    TCase *tc;

    tc = tcase_create("help");
    tcase_add_test(tc, test_help_qcow2);
    tcase_add_test(tc, test_help_merged);
    tcase_add_test(tc, test_help_detection);
    suite_add_tcase(s, tc);

    tc = tcase_create("parse-print");
    tcase_add_test(tc, test_formatting_line);
    tcase_add_test(tc, test_formatting_merged_protocol);
    tcase_add_test(tc, test_size_hint);
    tcase_add_test(tc, test_bool_parse);
    suite_add_tcase(s, tc);

    tc = tcase_create("access");
    tcase_add_test(tc, test_getters);
    tcase_add_test(tc, test_firstname_and_dicts);
    suite_add_tcase(s, tc);

    tc = tcase_create("keyval");
    tcase_add_test(tc, test_image_opts);
    tcase_add_test(tc, test_keyval);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(option_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
