/*
 * qemu-img amend: changes format options of an existing image (qcow2's
 * compat level, lazy refcounts, ...) through the driver's amend hook.
 * Formats without the hook (raw) say so; "-o help" lists what can change.
 */
#include "config-host.h"

#include <getopt.h>

#include "util/osdep.h"
#include "util/error.h"
#include "util/option.h"
#include "util/progress.h"
#include "block/block.h"
#include "qemu-img.h"

static int print_amend_option_help(const char *format)
{
    BlockDriver *drv = bdrv_find_format(format);
    QemuOptsList *amend_opts;

    if (!drv) {
        error_report("Unknown file format '%s'", format);
        return 1;
    }
    amend_opts = bdrv_amend_opts(drv);
    if (!amend_opts) {
        error_report("Format driver '%s' does not support option amendment",
                     format);
        return 1;
    }
    printf("Amend options for '%s':\n", format);
    qemu_opts_print_help(amend_opts, false);
    return 0;
}

static void amend_status_cb(BlockDriverState *bs, int64_t offset,
                            int64_t total_work_size, void *opaque)
{
    if (total_work_size > 0) {
        qemu_progress_print(100.f * offset / total_work_size, 0);
    }
}

int img_amend(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "force", no_argument, NULL, OPTION_FORCE },
        { NULL, 0, NULL, 0 },
    };
    ImgCommonOpts common = { 0 };
    const char *fmt, *filename, *cache = "writeback";
    bool progress = false, force = false;
    char *options = NULL;
    BlockBackend *blk = NULL;
    BlockDriverState *bs;
    BlockDriver *drv;
    QemuOptsList *amend_opts = NULL;
    QemuOpts *opts = NULL;
    Error *err = NULL;
    int flags = BDRV_O_RDWR, c, ret = 1;

    while ((c = getopt_long(argc, argv, ":ho:f:t:pq", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'o':
            if (!accumulate_options(&options, optarg)) {
                goto out_noprogress;
            }
            break;
        case 't':
            cache = optarg;
            break;
        case 'p':
            progress = true;
            break;
        case OPTION_FORCE:
            force = true;
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }

    if (!options) {
        error_exit("Must specify options (-o)");
    }
    qemu_progress_init(progress && !common.quiet, 1.0);
    fmt = common.fmt;

    filename = optind == argc - 1 ? argv[argc - 1] : NULL;
    /* With -f, "-o help" needs no image. */
    if (fmt && is_help_option(options)) {
        ret = print_amend_option_help(fmt);
        goto out;
    }
    if (!filename) {
        error_report("Expecting one image file name");
        goto out;
    }

    if (!bdrv_parse_cache_mode(cache, &flags)) {
        error_report("Invalid cache option: %s", cache);
        goto out;
    }
    blk = img_open(common.image_opts, filename, fmt, flags,
                   flags & BDRV_O_WRITETHROUGH, false);
    if (!blk) {
        goto out;
    }
    bs = blk_bs(blk);
    fmt = bdrv_get_format_name(bs);

    if (is_help_option(options)) {
        ret = print_amend_option_help(fmt);
        goto out;
    }

    drv = bdrv_find_format(fmt);
    if (!drv || !bdrv_amend_opts(drv)) {
        error_report("Format driver '%s' does not support option amendment",
                     fmt);
        goto out;
    }

    amend_opts = qemu_opts_append(NULL, bdrv_amend_opts(drv));
    opts = qemu_opts_create(amend_opts);
    if (!qemu_opts_do_parse(opts, options, NULL, &err)) {
        /* An option create takes but amend does not deserves a hint. */
        QemuOptsList *all_opts = qemu_opts_append(NULL, amend_opts);
        QemuOpts *all;

        if (bdrv_create_opts(drv)) {
            all_opts = qemu_opts_append(all_opts, bdrv_create_opts(drv));
        }
        all = qemu_opts_create(all_opts);
        if (qemu_opts_do_parse(all, options, NULL, NULL)) {
            error_append_hint(&err, "This option is only supported for "
                              "image creation\n");
        }
        qemu_opts_del(all);
        qemu_opts_free(all_opts);
        error_report_err(err);
        goto out;
    }

    /* Drivers that do not report progress still get a start and an end. */
    qemu_progress_print(0.f, 0);
    ret = bdrv_amend_options(bs, opts, amend_status_cb, NULL, force, &err);
    qemu_progress_print(100.f, 0);
    if (ret < 0) {
        error_report_err(err);
        ret = 1;
        goto out;
    }
    ret = 0;

out:
    qemu_progress_end();
out_noprogress:
    if (opts) {
        qemu_opts_del(opts);
    }
    if (amend_opts) {
        qemu_opts_free(amend_opts);
    }
    if (blk) {
        blk_unref(blk);
    }
    free(options);
    return ret;
}
