/*
 * qemu-img dd: copies bs-sized blocks from if= (after skipping skip blocks,
 * at most count of them) into a newly created of= image.
 *
 * The output's size follows the reference: the input's size (or count * bs
 * if smaller) less the skipped bytes. A skip past that end is reported but,
 * as in the reference, leaves an empty output and exit code 0.
 */
#include "config-host.h"

#include <getopt.h>
#include <string.h>

#include "qemu-img.h"
#include "util/error.h"
#include "util/option.h"

#define DD_DEFAULT_BS 512

typedef struct DdOpts {
    int64_t bs;
    int64_t count;              /* -1: all */
    int64_t skip;
    const char *in;
    const char *out;
} DdOpts;

/* Applies one "key=value" operand; false (error printed) if it is bad. */
static bool dd_parse_operand(DdOpts *dd, const char *arg)
{
    const char *eq = strchr(arg, '=');
    size_t klen = eq ? (size_t)(eq - arg) : strlen(arg);
    const char *val = eq ? eq + 1 : NULL;

    if (val && klen == 2 && !strncmp(arg, "bs", 2)) {
        dd->bs = cvtnum_full("bs", val, 1, INT_MAX);
        return dd->bs > 0;
    }
    if (val && klen == 5 && !strncmp(arg, "count", 5)) {
        dd->count = cvtnum("count", val);
        return dd->count >= 0;
    }
    if (val && klen == 4 && !strncmp(arg, "skip", 4)) {
        dd->skip = cvtnum("skip", val);
        return dd->skip >= 0;
    }
    if (val && klen == 2 && !strncmp(arg, "if", 2)) {
        dd->in = val;
        return true;
    }
    if (val && klen == 2 && !strncmp(arg, "of", 2)) {
        dd->out = val;
        return true;
    }
    error_report("unrecognized operand %.*s", (int)klen, arg);
    return false;
}

static int dd_create_output(BlockDriver *drv, const char *filename,
                            int64_t size)
{
    QemuOptsList *create_opts;
    QemuOpts *opts;
    Error *err = NULL;
    int ret = -1;

    create_opts = bdrv_create_opts_merged(drv, filename, &err);
    if (!create_opts) {
        error_report_err(err);
        return -1;
    }
    opts = qemu_opts_create(create_opts);
    if (!qemu_opt_set_number(opts, "size", size, &err) ||
        bdrv_create(drv, filename, opts, &err) < 0) {
        error_reportf_err(err, "%s: error while creating output image: ",
                          filename);
        goto out;
    }
    ret = 0;
out:
    qemu_opts_del(opts);
    qemu_opts_free(create_opts);
    return ret;
}

int img_dd(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    DdOpts dd = { .bs = DD_DEFAULT_BS, .count = -1 };
    ImgCommonOpts common = { 0 };
    const char *out_fmt = "raw";
    BlockBackend *blk_in = NULL, *blk_out = NULL;
    BlockDriver *drv;
    uint8_t *buf = NULL;
    int64_t size, in_pos, out_pos;
    int c, ret = 1;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:O:U", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'O':
            out_fmt = optarg;
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }

    for (; optind < argc; optind++) {
        if (!dd_parse_operand(&dd, argv[optind])) {
            return 1;
        }
    }
    if (!dd.in || !dd.out) {
        error_report("Must specify both input and output files");
        return 1;
    }

    blk_in = img_open(common.image_opts, dd.in, common.fmt, 0, false,
                      common.force_share);
    if (!blk_in) {
        goto out;
    }
    drv = bdrv_find_format(out_fmt);
    if (!drv) {
        error_report("Unknown file format");
        goto out;
    }

    size = blk_getlength(blk_in);
    if (size < 0) {
        error_report("Failed to get size for '%s'", dd.in);
        goto out;
    }
    if (dd.count >= 0 && dd.count <= INT64_MAX / dd.bs &&
        dd.count * dd.bs < size) {
        size = dd.count * dd.bs;
    }
    /* A skip beyond INT64_MAX bytes is past any end */
    in_pos = dd.skip > INT64_MAX / dd.bs ? INT64_MAX : dd.skip * dd.bs;

    if (dd_create_output(drv, dd.out, MAX(size - in_pos, 0)) < 0) {
        goto out;
    }
    blk_out = img_open(false, dd.out, out_fmt, BDRV_O_RDWR, false, false);
    if (!blk_out) {
        goto out;
    }

    if (in_pos > size) {
        /* The reference reports this but still succeeds */
        error_report("%s: cannot skip to specified offset", dd.in);
        ret = 0;
        goto out;
    }

    buf = qemu_try_blockalign(dd.bs);
    if (!buf) {
        error_report("Could not allocate a block of %" PRId64 " bytes",
                     dd.bs);
        goto out;
    }
    for (out_pos = 0; in_pos < size; ) {
        int64_t bytes = MIN(dd.bs, size - in_pos);
        int r;

        r = blk_pread(blk_in, in_pos, bytes, buf, 0);
        if (r < 0) {
            error_report("error while reading from input image file: %s",
                         strerror(-r));
            goto out;
        }
        r = blk_pwrite(blk_out, out_pos, bytes, buf, 0);
        if (r < 0) {
            error_report("error while writing to output image file: %s",
                         strerror(-r));
            goto out;
        }
        in_pos += bytes;
        out_pos += bytes;
    }
    ret = 0;

out:
    qemu_vfree(buf);
    if (blk_out) {
        blk_unref(blk_out);
    }
    if (blk_in) {
        blk_unref(blk_in);
    }
    return ret;
}
