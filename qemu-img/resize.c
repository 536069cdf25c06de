/*
 * qemu-img resize: sets an image's virtual size, absolutely or relative to
 * the current one (+SIZE, -SIZE). Shrinking loses data, so it needs
 * --shrink; preallocation only applies to the part an image grows by.
 */
#include "config-host.h"

#include <getopt.h>

#include "util/osdep.h"
#include "util/error.h"
#include "util/option.h"
#include "block/block.h"
#include "qemu-img.h"

/* The size argument goes through a size-typed option for its messages. */
static QemuOptsList resize_opts = {
    .name = "resize",
    .desc = (const QemuOptDesc[]) {
        { "size", QEMU_OPT_SIZE, "Virtual disk size", NULL },
        { NULL }
    },
};

int img_resize(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "preallocation", required_argument, NULL, OPTION_PREALLOCATION },
        { "shrink", no_argument, NULL, OPTION_SHRINK },
        { NULL, 0, NULL, 0 },
    };
    ImgCommonOpts common = { 0 };
    const char *filename, *size;
    bool shrink = false;
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    int64_t current_size, total_size;
    BlockBackend *blk = NULL;
    QemuOpts *param;
    Error *err = NULL;
    uint64_t n;
    int relative = 0, c, ret = 1;

    /*
     * The size is the last argument, taken off before option parsing so
     * that "-1G" is not mistaken for an option.
     */
    if (argc < 3) {
        error_exit("Not enough arguments");
    }
    size = argv[--argc];

    while ((c = getopt_long(argc, argv, ":f:hq", long_options,
                            NULL)) != -1) {
        switch (c) {
        case OPTION_PREALLOCATION: {
            int mode = prealloc_mode_parse(optarg);

            if (mode < 0) {
                error_report("Invalid preallocation mode '%s'", optarg);
                return 1;
            }
            prealloc = mode;
            break;
        }
        case OPTION_SHRINK:
            shrink = true;
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }
    if (optind != argc - 1) {
        error_exit("Expecting image file name and size");
    }
    filename = argv[optind];

    if (size[0] == '+') {
        relative = 1;
        size++;
    } else if (size[0] == '-') {
        relative = -1;
        size++;
    }
    param = qemu_opts_create(&resize_opts);
    if (!qemu_opt_set(param, "size", size, &err)) {
        error_report_err(err);
        qemu_opts_del(param);
        return 1;
    }
    n = qemu_opt_get_size(param, "size", 0);
    qemu_opts_del(param);

    blk = img_open(common.image_opts, filename, common.fmt,
                   BDRV_O_RDWR | BDRV_O_RESIZE, false, false);
    if (!blk) {
        return 1;
    }

    current_size = blk_getlength(blk);
    if (current_size < 0) {
        error_report("Failed to inquire current image length: %s",
                     strerror(-current_size));
        goto out;
    }
    /* Wrapping arithmetic: sizes of 8E and beyond come out non-positive. */
    if (relative) {
        total_size = (int64_t)((uint64_t)current_size +
                               (uint64_t)relative * n);
    } else {
        total_size = (int64_t)n;
    }
    if (total_size <= 0) {
        error_report("New image size must be positive");
        goto out;
    }
    if (total_size <= current_size && prealloc != PREALLOC_MODE_OFF) {
        error_report("Preallocation can only be used for growing images");
        goto out;
    }
    if (total_size < current_size && !shrink) {
        error_report("Use the --shrink option to perform a shrink "
                     "operation.");
        warn_report("Shrinking an image will delete all data beyond the "
                    "shrunken image's end. Before performing such an "
                    "operation, make sure there is no important data "
                    "there.");
        goto out;
    }

    /* exact: the user asked for this size, not "at least this size". */
    if (blk_truncate(blk, total_size, true, prealloc, 0, &err) < 0) {
        error_report_err(err);
        goto out;
    }
    qprintf(common.quiet, "Image resized.\n");
    ret = 0;

out:
    blk_unref(blk);
    return ret;
}
