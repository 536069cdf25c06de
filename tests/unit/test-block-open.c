/*
 * Unit tests: how opening an image checks its name and options, with the
 * reference's messages (file name given twice, node names, backing options
 * of formats without backing files, what the file driver accepts), the
 * warnings an open hands to the front ends (BlockOpenNotes), and the
 * snapshot and truncate answers of nodes without those features.
 */
#include "config-host.h"

#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "lib/test-block.h"

static char tmpdir[] = "/tmp/test-block-open-XXXXXX";
static char path[PATH_MAX];

static void setup(void)
{
    int fd;

    test_block_init();
    strcpy(tmpdir, "/tmp/test-block-open-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(path, sizeof(path), "%s/img.raw", tmpdir);
    fd = open(path, O_RDWR | O_CREAT, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 1 * MiB), 0);
    close(fd);
}

static void teardown(void)
{
    unlink(path);
    rmdir(tmpdir);
}

/* Parses "k=v,k=v" into a new QDict (values without commas). */
static QDict *opts_of(const char *s)
{
    QDict *d = qdict_new();
    char *copy = xstrdup(s);
    char *save = NULL;
    char *kv;

    for (kv = strtok_r(copy, ",", &save); kv;
         kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');

        ck_assert_ptr_nonnull(eq);
        *eq = '\0';
        qdict_put_str(d, kv, eq + 1);
    }
    free(copy);
    return d;
}

/*
 * Opens filename (may be NULL) with the options "k=v,..." (may be NULL;
 * "@" in them stands for path) and returns the error message, or NULL if
 * the open succeeded. The result is valid until the next call.
 */
static const char *open_error(const char *filename, const char *options,
                              int flags)
{
    static char msg[1024];
    QDict *opts = NULL;
    Error *err = NULL;
    BlockBackend *blk;

    if (options) {
        StrBuf sb = STRBUF_INIT;
        const char *p;

        for (p = options; *p; p++) {
            if (*p == '@') {
                strbuf_addstr(&sb, path);
            } else {
                strbuf_addch(&sb, *p);
            }
        }
        opts = opts_of(strbuf_str(&sb));
        strbuf_release(&sb);
    }
    blk = blk_new_open(filename, NULL, opts, flags, &err);
    if (blk) {
        ck_assert_ptr_null(err);
        blk_unref(blk);
        return NULL;
    }
    ck_assert_ptr_nonnull(err);
    snprintf(msg, sizeof(msg), "%s", error_get_pretty(err));
    error_free(err);
    return msg;
}

/* ---- file names and the file child ------------------------------------- */

START_TEST(test_filename_twice)
{
    const char *twice = "Can't specify 'file' and 'filename' options at "
                        "the same time";

    /* A format: the name stands for file.filename. */
    ck_assert_str_eq(open_error(path, "file.filename=@", 0), twice);
    ck_assert_str_eq(open_error(path, "driver=raw,file.filename=@", 0),
                     twice);
    /* A protocol: the name stands for filename. */
    ck_assert_str_eq(open_error(path, "driver=file,filename=@", 0), twice);
    /* Either one alone is fine, and so are other file.* options. */
    ck_assert_ptr_null(open_error(path, "driver=raw", 0));
    ck_assert_ptr_null(open_error(NULL, "driver=raw,file.filename=@", 0));
    ck_assert_ptr_null(open_error(path, "driver=raw,file.driver=file", 0));
    /* A format's "filename" names nothing: it is an unknown option. */
    ck_assert_str_eq(open_error(path, "driver=raw,filename=@", 0),
                     "Block format 'raw' does not support the option "
                     "'filename'");
    ck_assert_str_eq(open_error(NULL, "driver=raw,filename=@", 0),
                     "A block device must be specified for \"file\"");
}
END_TEST

START_TEST(test_driver_or_file)
{
    const char *neither = "Must specify either driver or file";

    ck_assert_str_eq(open_error(NULL, NULL, 0), neither);
    ck_assert_str_eq(open_error(NULL, "filename=@", 0), neither);
    ck_assert_str_eq(open_error(NULL, "read-only=on", 0), neither);
    ck_assert_str_eq(open_error("json:{}", NULL, 0), neither);
    /* Probing needs only the file. */
    ck_assert_ptr_null(open_error(NULL, "file.filename=@", 0));
    ck_assert_str_eq(open_error(NULL, "driver=raw", 0),
                     "A block device must be specified for \"file\"");
}
END_TEST

START_TEST(test_file_reference)
{
    ck_assert_str_eq(open_error(path, "file=foo", 0),
                     "Cannot reference an existing block device with "
                     "additional options or a new filename");
    ck_assert_str_eq(open_error(NULL, "driver=raw,file=foo,"
                                "file.filename=@", 0),
                     "Cannot reference an existing block device with "
                     "additional options or a new filename");
    ck_assert_str_eq(open_error(NULL, "driver=raw,file=foo", 0),
                     "Cannot find device='foo' nor node-name='foo'");
}
END_TEST

/* The file driver serves regular files (and FIFOs), nothing else. */
START_TEST(test_file_types)
{
    char *want = xasprintf("'file' driver requires '%s' to be a regular "
                           "file", tmpdir);

    ck_assert_str_eq(open_error(tmpdir, NULL, 0), want);
    ck_assert_str_eq(open_error(tmpdir, "driver=raw", 0), want);
    ck_assert_str_eq(open_error(tmpdir, "driver=file", 0), want);
    free(want);
    ck_assert_str_eq(open_error("/dev/null", "driver=file", 0),
                     "'file' driver requires '/dev/null' to be a regular "
                     "file");
    /* Probing gives character devices to host_device. */
    ck_assert_ptr_null(open_error("/dev/null", NULL, 0));
    ck_assert_ptr_null(open_error("/dev/null", "driver=raw", 0));
    ck_assert_ptr_null(open_error("/dev/null", "driver=host_device", 0));
}
END_TEST

/* ---- node names --------------------------------------------------------- */

START_TEST(test_node_names)
{
    static const char *const bad[] = { "1a", "_a", "#a", "", "a b", "a,b" };
    char opts[128];
    unsigned int i;

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        QDict *d = opts_of("driver=raw");
        Error *err = NULL;
        char *want = xasprintf("Invalid node-name: '%s'", bad[i]);

        qdict_put_str(d, "file.filename", path);
        qdict_put_str(d, "node-name", bad[i]);
        ck_assert_ptr_null(blk_new_open(NULL, NULL, d, 0, &err));
        ck_assert_str_eq(error_get_pretty(err), want);
        error_free(err);
        free(want);
    }
    ck_assert_ptr_null(open_error(NULL, "driver=raw,file.filename=@,"
                                  "node-name=a-b_c.D9", 0));
    /* 31 characters fit, 32 do not. */
    snprintf(opts, sizeof(opts), "driver=raw,file.filename=@,node-name=%s",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    ck_assert_ptr_null(open_error(NULL, opts, 0));
    snprintf(opts, sizeof(opts), "driver=raw,file.filename=@,node-name=%s",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    ck_assert_str_eq(open_error(NULL, opts, 0), "Node name too long");
    ck_assert_str_eq(open_error(NULL, "driver=raw,file.filename=@,"
                                "file.node-name=9", 0),
                     "Invalid node-name: '9'");
    /* Names are unique among the nodes that exist. */
    ck_assert_str_eq(open_error(NULL, "driver=raw,file.filename=@,"
                                "node-name=x,file.node-name=x", 0),
                     "Duplicate nodes with node-name='x'");
    ck_assert_ptr_null(open_error(NULL, "driver=raw,file.filename=@,"
                                  "node-name=x,file.node-name=y", 0));
}
END_TEST

START_TEST(test_auto_node_names)
{
    BlockBackend *blk = blk_new_open(path, "raw", NULL, 0, NULL);
    const char *name;

    ck_assert_ptr_nonnull(blk);
    name = blk_bs(blk)->node_name;
    /* "#block", a counter, two more digits. */
    ck_assert_int_eq(strncmp(name, "#block", 6), 0);
    ck_assert_int_ge(strlen(name), 9);
    ck_assert_int_eq(strspn(name + 6, "0123456789"), strlen(name + 6));
    blk_unref(blk);
}
END_TEST

/* ---- backing options ----------------------------------------------------- */

START_TEST(test_backing_options)
{
    const char *nobacking = "Driver doesn't support backing files";

    ck_assert_str_eq(open_error(NULL, "driver=raw,file.filename=@,"
                                "backing=x", 0), nobacking);
    ck_assert_str_eq(open_error(NULL, "driver=raw,file.filename=@,"
                                "backing.driver=raw", 0), nobacking);
    /* The backing check comes after the driver's own, before leftovers. */
    ck_assert_str_eq(open_error(NULL, "driver=raw,file.filename=@,"
                                "size=513,backing=x", 0),
                     "Specified size is not multiple of 512");
    ck_assert_str_eq(open_error(NULL, "driver=raw,file.filename=@,"
                                "bogus=1,backing=x", 0), nobacking);
    /* "" is no backing file, which any driver can do. */
    ck_assert_ptr_null(open_error(NULL, "driver=raw,file.filename=@,"
                                  "backing=", 0));
    /* Without backing files wanted, they are just unknown options. */
    ck_assert_str_eq(open_error(NULL, "driver=raw,file.filename=@,"
                                "backing=x", BDRV_O_NO_BACKING),
                     "Block format 'raw' does not support the option "
                     "'backing'");
    ck_assert_ptr_null(open_error(NULL, "driver=raw,file.filename=@,"
                                  "backing=", BDRV_O_NO_BACKING));
}
END_TEST

/* ---- notes for the front ends -------------------------------------------- */

START_TEST(test_notes_probed_raw)
{
    BlockOpenNotes notes = { 0 };
    Error *err = NULL;
    BlockBackend *blk;
    QDict *d;

    /* Read-only: no warning. */
    blk = blk_new_open_ext(path, NULL, NULL, 0, &notes, &err);
    ck_assert_ptr_nonnull(blk);
    ck_assert_ptr_null(notes.probed_raw);
    ck_assert_int_eq(notes.warnings.len, 0);
    blk_unref(blk);

    blk = blk_new_open_ext(path, NULL, NULL, BDRV_O_RDWR, &notes, &err);
    ck_assert_ptr_nonnull(blk);
    ck_assert_str_eq(notes.probed_raw, path);
    blk_unref(blk);
    block_open_notes_release(&notes);

    /* A given format: no warning. */
    blk = blk_new_open_ext(path, "raw", NULL, BDRV_O_RDWR, &notes, &err);
    ck_assert_ptr_nonnull(blk);
    ck_assert_ptr_null(notes.probed_raw);
    blk_unref(blk);

    /* The open fails after probing: the warning is there all the same. */
    d = opts_of("size=513");
    qdict_put_str(d, "file.filename", path);
    blk = blk_new_open_ext(NULL, NULL, d, BDRV_O_RDWR, &notes, &err);
    ck_assert_ptr_null(blk);
    ck_assert_str_eq(error_get_pretty(err),
                     "Specified size is not multiple of 512");
    error_free(err);
    err = NULL;
    ck_assert_str_eq(notes.probed_raw, path);
    block_open_notes_release(&notes);

    /* ...but not if it fails before (the file could not be opened). */
    d = opts_of("file.locking=x");
    qdict_put_str(d, "file.filename", path);
    blk = blk_new_open_ext(NULL, NULL, d, BDRV_O_RDWR, &notes, &err);
    ck_assert_ptr_null(blk);
    error_free(err);
    ck_assert_ptr_null(notes.probed_raw);

    /* Plain blk_new_open collects nothing anywhere. */
    blk = blk_new_open(path, NULL, NULL, BDRV_O_RDWR, NULL);
    ck_assert_ptr_nonnull(blk);
    ck_assert(bdrv_is_probed_raw(blk_bs(blk)));
    ck_assert_ptr_null(notes.probed_raw);
    blk_unref(blk);
}
END_TEST

START_TEST(test_notes_deprecated_backing)
{
    BlockOpenNotes notes = { 0 };
    BlockBackend *blk;
    QDict *d = opts_of("driver=raw,backing=");

    qdict_put_str(d, "file.filename", path);
    blk = blk_new_open_ext(NULL, NULL, d, 0, &notes, NULL);
    ck_assert_ptr_nonnull(blk);
    ck_assert_str_eq(strbuf_str(&notes.warnings),
                     "Use of \"backing\": \"\" is deprecated; use "
                     "\"backing\": null instead\n");
    blk_unref(blk);
    block_open_notes_release(&notes);
}
END_TEST

/* ---- what nodes without a feature answer --------------------------------- */

START_TEST(test_snapshot_goto_unsupported)
{
    BlockBackend *blk = blk_new_open(path, "raw", NULL, BDRV_O_RDWR, NULL);
    Error *err = NULL;

    ck_assert_ptr_nonnull(blk);
    /* raw passes to its file, which has no snapshots either. */
    ck_assert_int_eq(bdrv_snapshot_goto(blk_bs(blk), "x", &err), -ENOTSUP);
    ck_assert_str_eq(error_get_pretty(err),
                     "Block driver does not support snapshots");
    error_free(err);
    blk_unref(blk);
}
END_TEST

START_TEST(test_file_get_info)
{
    BlockBackend *blk = blk_new_open(path, "file", NULL, 0, NULL);
    BlockDriverInfo bdi;

    ck_assert_ptr_nonnull(blk);
    ck_assert_int_eq(bdrv_get_info(blk_bs(blk), &bdi), 0);
    ck_assert(!bdi.is_dirty);
    ck_assert_int_eq(bdi.cluster_size, 0);
    blk_unref(blk);
}
END_TEST

START_TEST(test_truncate_limit)
{
    BlockBackend *blk = blk_new_open(path, "raw", NULL,
                                     BDRV_O_RDWR | BDRV_O_RESIZE, NULL);
    Error *err = NULL;
    char *want;

    ck_assert_ptr_nonnull(blk);
    /* The limit is INT64_MAX rounded down to 1 GiB. */
    ck_assert_int_eq(blk_truncate(blk, INT64_MAX, false, PREALLOC_MODE_OFF,
                                  0, &err), -EINVAL);
    want = xasprintf("offset(%" PRId64 ") exceeds maximum(%" PRId64 ")",
                     INT64_MAX, INT64_MAX - (1 * GiB - 1));
    ck_assert_str_eq(error_get_pretty(err), want);
    free(want);
    error_free(err);
    err = NULL;
    /* At the limit itself the file system has its say. */
    ck_assert_int_lt(blk_truncate(blk, INT64_MAX - (1 * GiB - 1), false,
                                  PREALLOC_MODE_OFF, 0, &err), 0);
    ck_assert_ptr_nonnull(strstr(error_get_pretty(err),
                                 "Could not resize file"));
    error_free(err);
    blk_unref(blk);
}
END_TEST

static Suite *block_open_suite(void)
{
    Suite *s = suite_create("block-open");
    TCase *tc;

    tc = tcase_create("file-names");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_filename_twice);
    tcase_add_test(tc, test_driver_or_file);
    tcase_add_test(tc, test_file_reference);
    tcase_add_test(tc, test_file_types);
    suite_add_tcase(s, tc);

    tc = tcase_create("node-names");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_node_names);
    tcase_add_test(tc, test_auto_node_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("backing-options");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_backing_options);
    suite_add_tcase(s, tc);

    tc = tcase_create("notes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_notes_probed_raw);
    tcase_add_test(tc, test_notes_deprecated_backing);
    suite_add_tcase(s, tc);

    tc = tcase_create("unsupported");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_snapshot_goto_unsupported);
    tcase_add_test(tc, test_file_get_info);
    tcase_add_test(tc, test_truncate_limit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(block_open_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
