/*
 * Helpers every qemu-img command uses: usage errors, quiet printing, the
 * options all commands share, --output, --object, opening images and
 * parsing sizes. Messages are the reference's, word for word, since
 * scripts and users match on them.
 */
#include "config-host.h"

#include <getopt.h>

#include "util/osdep.h"
#include "util/cutils.h"
#include "util/error.h"
#include "util/option.h"
#include "util/qobject.h"
#include "util/secret.h"
#include "util/strbuf.h"
#include "util/open-notes.h"
#include "block/block.h"
#include "qemu-img.h"

/* ---- usage errors -------------------------------------------------------- */

void error_exit(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vreport(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information\n",
            error_get_progname());
    exit(EXIT_FAILURE);
}

void missing_argument(const char *option)
{
    error_exit("missing argument for option '%s'", option);
}

void unrecognized_option(const char *option)
{
    error_exit("unrecognized option '%s'", option);
}

void qprintf(bool quiet, const char *fmt, ...)
{
    va_list ap;

    if (quiet) {
        return;
    }
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

bool parse_output_format(const char *arg, OutputFormat *ofmt)
{
    if (!arg) {
        *ofmt = OFORMAT_HUMAN;
    } else if (!strcmp(arg, "json")) {
        *ofmt = OFORMAT_JSON;
    } else if (!strcmp(arg, "human")) {
        *ofmt = OFORMAT_HUMAN;
    } else {
        error_report("--output must be used with human or json as argument.");
        return false;
    }
    return true;
}

/* ---- --object ----------------------------------------------------------- */

void img_object_add(const char *optarg, int fail_code)
{
    Error *err = NULL;
    const char *help;

    if (!secret_object_add(optarg, &help, &err)) {
        error_report_err(err);
        exit(fail_code);
    }
    if (help) {
        fputs(help, stdout);
        exit(EXIT_SUCCESS);
    }
}

/* ---- options every command shares --------------------------------------- */

void img_common_option(int c, char **argv, ImgCommonOpts *opts)
{
    switch (c) {
    case ':':
        missing_argument(argv[optind - 1]);
        break;
    case '?':
        unrecognized_option(argv[optind - 1]);
        break;
    case 'h':
        help();
        break;
    case 'f':
        opts->fmt = optarg;
        break;
    case 'q':
        opts->quiet = true;
        break;
    case 'U':
        opts->force_share = true;
        break;
    case OPTION_OBJECT:
        img_object_add(optarg, EXIT_FAILURE);
        break;
    case OPTION_IMAGE_OPTS:
        opts->image_opts = true;
        break;
    case OPTION_OUTPUT:
        opts->output = optarg;
        break;
    default:
        /* An option in the getopt strings that no case handles. */
        abort();
    }
}

const char *img_one_filename(int argc, char **argv)
{
    if (optind != argc - 1) {
        error_exit("Expecting one image file name");
    }
    return argv[optind];
}

/* ---- opening images ------------------------------------------------------ */

void img_print_open_notes(BlockOpenNotes *notes)
{
    StrBuf sb = STRBUF_INIT;

    open_notes_format(&sb, error_get_progname(),
                      strbuf_str(&notes->warnings), notes->probed_raw);
    fputs(strbuf_str(&sb), stderr);
    strbuf_release(&sb);
    block_open_notes_release(notes);
}

void img_warn_probed_raw(const char *filename)
{
    StrBuf sb = STRBUF_INIT;

    open_notes_format(&sb, error_get_progname(), NULL, filename);
    fputs(strbuf_str(&sb), stderr);
    strbuf_release(&sb);
}

BlockBackend *img_open(bool image_opts, const char *filename, const char *fmt,
                       int flags, bool writethrough, bool force_share)
{
    BlockOpenNotes notes = { STRBUF_INIT, NULL };
    Error *err = NULL;
    BlockBackend *blk;
    QDict *options;

    if (writethrough) {
        flags |= BDRV_O_WRITETHROUGH;
    }
    if (force_share) {
        flags |= BDRV_O_FORCE_SHARE;
    }

    if (image_opts) {
        if (fmt) {
            error_report("--image-opts and --format are mutually exclusive");
            return NULL;
        }
        /* Leniently, warning of bare "key" flags, as the reference. */
        options = qemu_opts_parse_flat(filename, "file", &err);
        if (!options) {
            error_report_err(err);
            return NULL;
        }
        if (force_share) {
            const char *fs = qdict_get_try_str(options, "force-share");
            bool val = true;

            if (fs && qapi_bool_parse("force-share", fs, &val, NULL) &&
                !val) {
                error_report("--force-share/-U conflicts with image options");
                qobject_unref(QOBJECT(options));
                return NULL;
            }
        }
        blk = blk_new_open_ext(NULL, NULL, options, flags, &notes, &err);
    } else {
        options = qdict_new();
        if (fmt) {
            qdict_put_str(options, "driver", fmt);
        }
        blk = blk_new_open_ext(filename, NULL, options, flags, &notes,
                               &err);
    }
    /* The reference prints these as it opens: before any open error. */
    img_print_open_notes(&notes);
    if (!blk) {
        error_reportf_err(err, "Could not open '%s': ", filename);
        return NULL;
    }
    blk_set_enable_write_cache(blk, !writethrough);
    return blk;
}

/* ---- numbers ------------------------------------------------------------- */

int64_t cvtnum_full(const char *name, const char *value, int64_t min,
                    int64_t max)
{
    uint64_t res;
    int err;

    err = qemu_strtosz(value, NULL, &res);
    if (err < 0 && err != -ERANGE) {
        error_report("Invalid %s specified. You may use "
                     "k, M, G, T, P or E suffixes for", name);
        error_report("kilobytes, megabytes, gigabytes, terabytes, "
                     "petabytes and exabytes.");
        return -1;
    }
    if (err == -ERANGE || res > (uint64_t)max || (int64_t)res < min) {
        error_report("Invalid %s specified. Must be between %" PRId64
                     " and %" PRId64 ".", name, min, max);
        return -1;
    }
    return res;
}

int64_t cvtnum(const char *name, const char *value)
{
    return cvtnum_full(name, value, 0, INT64_MAX);
}

/* ---- -o option lists ----------------------------------------------------- */

/*
 * An option list must not be empty or have an empty element (",," is an
 * escaped comma inside a value, not an empty element).
 */
static bool is_valid_option_list(const char *optarg)
{
    const char *p = optarg;

    if (!*p) {
        return false;
    }
    while (*p) {
        size_t len = 0;

        while (*p) {
            if (*p == ',') {
                if (p[1] != ',') {
                    break;
                }
                p++;
            }
            p++;
            len++;
        }
        if (!len) {
            return false;
        }
        if (*p == ',') {
            p++;
            if (!*p) {
                return false;
            }
        }
    }
    return true;
}

bool accumulate_options(char **options, const char *optarg)
{
    char *joined;

    if (!is_valid_option_list(optarg)) {
        error_report("Invalid option list: %s", optarg);
        return false;
    }
    if (!*options) {
        *options = xstrdup(optarg);
        return true;
    }
    joined = xasprintf("%s,%s", *options, optarg);
    free(*options);
    *options = joined;
    return true;
}

int print_block_option_help(const char *filename, const char *fmt)
{
    BlockDriver *drv;
    QemuOptsList *create_opts;
    Error *err = NULL;

    drv = bdrv_find_format(fmt);
    if (!drv) {
        error_report("Unknown file format '%s'", fmt);
        return 1;
    }
    /* Checked before the protocol here, unlike when creating. */
    if (!bdrv_create_opts(drv)) {
        error_report("Format driver '%s' does not support image creation",
                     fmt);
        return 1;
    }
    if (filename) {
        create_opts = bdrv_create_opts_merged(drv, filename, &err);
        if (!create_opts) {
            error_report_err(err);
            return 1;
        }
    } else {
        create_opts = qemu_opts_append(NULL, bdrv_create_opts(drv));
    }

    if (filename) {
        printf("Supported options:\n");
    } else {
        printf("Supported %s options:\n", fmt);
    }
    qemu_opts_print_help(create_opts, false);
    qemu_opts_free(create_opts);
    if (!filename) {
        printf("\n"
               "The protocol level may support further options.\n"
               "Specify the target filename to include those options.\n");
    }
    return 0;
}

/* ---- internal snapshot parameters (-l) ----------------------------------- */

static QemuOptsList internal_snapshot_opts = {
    .name = "snapshot",
    .desc = (const QemuOptDesc[]) {
        { "snapshot.id", QEMU_OPT_STRING, "snapshot id", NULL },
        { "snapshot.name", QEMU_OPT_STRING, "snapshot name", NULL },
        { NULL }
    },
};

bool img_parse_snapshot_param(const char *param, ImgSnapshotParam *snap)
{
    img_snapshot_param_free(snap);
    snap->given = true;
    if (strstart(param, "snapshot.", NULL)) {
        QemuOpts *opts = qemu_opts_create(&internal_snapshot_opts);
        QDict *flags = qemu_opts_parse_flat(param, NULL, NULL);
        Error *err = NULL;
        const char *v;

        /*
         * Parsed flat only for its warnings on bare "key" flags, which
         * the reference prints before any error.
         */
        if (flags) {
            qobject_unref(QOBJECT(flags));
        }

        if (!qemu_opts_do_parse(opts, param, NULL, &err)) {
            qemu_opts_del(opts);
            error_report_err(err);
            error_report("Failed in parsing snapshot param '%s'", param);
            return false;
        }
        v = qemu_opt_get(opts, "snapshot.id");
        snap->id = v ? xstrdup(v) : NULL;
        v = qemu_opt_get(opts, "snapshot.name");
        snap->name = v ? xstrdup(v) : NULL;
        snap->by_id_or_name = false;
        qemu_opts_del(opts);
    } else {
        snap->id = xstrdup(param);
        snap->by_id_or_name = true;
    }
    return true;
}

void img_snapshot_param_free(ImgSnapshotParam *snap)
{
    free(snap->id);
    free(snap->name);
    snap->id = NULL;
    snap->name = NULL;
    snap->given = false;
    snap->by_id_or_name = false;
}

bool img_load_snapshot(BlockBackend *blk, const ImgSnapshotParam *snap)
{
    BlockDriverState *bs = blk_bs(blk);
    Error *err = NULL;
    int ret;

    if (snap->by_id_or_name) {
        /* An ID first, then a name, as the reference tries them. */
        ret = bdrv_snapshot_load_tmp(bs, snap->id, NULL, &err);
        if (ret == -ENOENT) {
            error_free(err);
            err = NULL;
            ret = bdrv_snapshot_load_tmp(bs, NULL, snap->id, &err);
        }
    } else {
        ret = bdrv_snapshot_load_tmp(bs, snap->id, snap->name, &err);
    }
    if (ret < 0) {
        error_reportf_err(err, "Failed to load snapshot: ");
        return false;
    }
    return true;
}
