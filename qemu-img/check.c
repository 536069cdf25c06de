/*
 * qemu-img check: runs the format's consistency check (and, with -r, its
 * repair) and reports the result. Exit codes are the reference's: 0 clean,
 * 1 check failed, 2 corruptions, 3 leaks only, 63 format has no check.
 *
 * The driver fills a BdrvCheckResult; the result is turned into a QDict
 * shaped like the reference's ImageCheck (a field is present only when it
 * is non-zero, except check-errors), which serves both output forms.
 */
#include "config-host.h"

#include <getopt.h>

#include "util/osdep.h"
#include "util/error.h"
#include "util/qobject.h"
#include "block/block.h"
#include "qemu-img.h"

static void put_nonzero(QDict *d, const char *key, int64_t value)
{
    if (value) {
        qdict_put_int(d, key, value);
    }
}

/*
 * Runs one check pass and prints the driver's findings (stderr, as the
 * reference does). Returns the ImageCheck dict, or NULL with *ret < 0.
 */
static QDict *collect_image_check(BlockDriverState *bs, const char *filename,
                                  BdrvCheckMode fix, int *ret)
{
    BdrvCheckResult res;
    QDict *check;

    *ret = bdrv_check(bs, &res, fix);
    if (res.log.len) {
        fputs(res.log.buf, stderr);
    }
    strbuf_release(&res.log);
    if (*ret < 0) {
        return NULL;
    }

    check = qdict_new();
    qdict_put_str(check, "filename", filename);
    qdict_put_str(check, "format", bdrv_get_format_name(bs));
    qdict_put_int(check, "check-errors", res.check_errors);
    put_nonzero(check, "corruptions", res.corruptions);
    put_nonzero(check, "leaks", res.leaks);
    put_nonzero(check, "corruptions-fixed", res.corruptions_fixed);
    put_nonzero(check, "leaks-fixed", res.leaks_fixed);
    put_nonzero(check, "image-end-offset", res.image_end_offset);
    put_nonzero(check, "total-clusters", res.bfi.total_clusters);
    put_nonzero(check, "allocated-clusters", res.bfi.allocated_clusters);
    put_nonzero(check, "fragmented-clusters", res.bfi.fragmented_clusters);
    put_nonzero(check, "compressed-clusters", res.bfi.compressed_clusters);
    return check;
}

static void dump_human_image_check(QDict *check, bool quiet)
{
    int64_t corruptions = qdict_get_try_int(check, "corruptions", 0);
    int64_t leaks = qdict_get_try_int(check, "leaks", 0);
    int64_t check_errors = qdict_get_try_int(check, "check-errors", 0);
    int64_t total = qdict_get_try_int(check, "total-clusters", 0);
    int64_t allocated = qdict_get_try_int(check, "allocated-clusters", 0);
    int64_t end = qdict_get_try_int(check, "image-end-offset", 0);

    if (!corruptions && !leaks && !check_errors) {
        qprintf(quiet, "No errors were found on the image.\n");
    } else {
        if (corruptions) {
            qprintf(quiet, "\n%" PRId64 " errors were found on the image.\n"
                    "Data may be corrupted, or further writes to the image "
                    "may corrupt it.\n", corruptions);
        }
        if (leaks) {
            qprintf(quiet, "\n%" PRId64 " leaked clusters were found on the "
                    "image.\n"
                    "This means waste of disk space, but no harm to data.\n",
                    leaks);
        }
        if (check_errors) {
            qprintf(quiet, "\n%" PRId64 " internal errors have occurred "
                    "during the check.\n", check_errors);
        }
    }

    if (total && allocated) {
        int64_t fragmented = qdict_get_try_int(check, "fragmented-clusters",
                                               0);
        int64_t compressed = qdict_get_try_int(check, "compressed-clusters",
                                               0);

        qprintf(quiet, "%" PRId64 "/%" PRId64 " = %0.2f%% allocated, "
                "%0.2f%% fragmented, %0.2f%% compressed clusters\n",
                allocated, total, allocated * 100.0 / total,
                fragmented * 100.0 / allocated,
                compressed * 100.0 / allocated);
    }
    if (end) {
        qprintf(quiet, "Image end offset: %" PRId64 "\n", end);
    }
}

static void dump_json_image_check(QDict *check, bool quiet)
{
    char *json;

    if (quiet) {
        return;
    }
    json = qobject_to_json(QOBJECT(check), true);
    printf("%s\n", json);
    free(json);
}

int img_check(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "repair", required_argument, NULL, 'r' },
        { "output", required_argument, NULL, OPTION_OUTPUT },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    OutputFormat ofmt = OFORMAT_HUMAN;
    ImgCommonOpts common = { 0 };
    const char *filename, *cache = "writeback";
    BdrvCheckMode fix = 0;
    int flags = BDRV_O_CHECK, c, ret;
    BlockBackend *blk;
    BlockDriverState *bs;
    QDict *check;

    while ((c = getopt_long(argc, argv, ":hf:r:T:qU", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'r':
            flags |= BDRV_O_RDWR;
            if (!strcmp(optarg, "leaks")) {
                fix = BDRV_FIX_LEAKS;
            } else if (!strcmp(optarg, "all")) {
                fix = BDRV_FIX_LEAKS | BDRV_FIX_ERRORS;
            } else {
                error_exit("Unknown option value for -r "
                           "(expecting 'leaks' or 'all'): %s", optarg);
            }
            break;
        case 'T':
            cache = optarg;
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }
    filename = img_one_filename(argc, argv);

    if (!parse_output_format(common.output, &ofmt)) {
        return 1;
    }
    if (!bdrv_parse_cache_mode(cache, &flags)) {
        error_report("Invalid source cache option: %s", cache);
        return 1;
    }

    blk = img_open(common.image_opts, filename, common.fmt, flags,
                   flags & BDRV_O_WRITETHROUGH, common.force_share);
    if (!blk) {
        return 1;
    }
    bs = blk_bs(blk);

    check = collect_image_check(bs, filename, fix, &ret);
    if (ret == -ENOTSUP) {
        error_report("This image format does not support checks");
        ret = 63;
        goto out;
    }

    if (check && (qdict_haskey(check, "corruptions-fixed") ||
                  qdict_haskey(check, "leaks-fixed"))) {
        int64_t leaks_fixed = qdict_get_try_int(check, "leaks-fixed", 0);
        int64_t corruptions_fixed =
            qdict_get_try_int(check, "corruptions-fixed", 0);

        if (ofmt == OFORMAT_HUMAN) {
            qprintf(common.quiet,
                    "The following inconsistencies were found and "
                    "repaired:\n\n"
                    "    %" PRId64 " leaked clusters\n"
                    "    %" PRId64 " corruptions\n\n"
                    "Double checking the fixed image now...\n",
                    leaks_fixed, corruptions_fixed);
        }
        /* The second pass only looks; it reports what the repair did. */
        qobject_unref(QOBJECT(check));
        check = collect_image_check(bs, filename, 0, &ret);
        if (check) {
            put_nonzero(check, "leaks-fixed", leaks_fixed);
            put_nonzero(check, "corruptions-fixed", corruptions_fixed);
        }
    }

    if (check) {
        if (ofmt == OFORMAT_HUMAN) {
            dump_human_image_check(check, common.quiet);
        } else {
            dump_json_image_check(check, common.quiet);
        }
    }

    if (ret < 0 || qdict_get_try_int(check, "check-errors", 0)) {
        if (ret < 0) {
            error_report("Check failed: %s", strerror(-ret));
        } else {
            error_report("Check failed");
        }
        ret = 1;
    } else if (qdict_get_try_int(check, "corruptions", 0)) {
        ret = 2;
    } else if (qdict_get_try_int(check, "leaks", 0)) {
        ret = 3;
    } else {
        ret = 0;
    }

out:
    if (check) {
        qobject_unref(QOBJECT(check));
    }
    blk_unref(blk);
    return ret;
}
