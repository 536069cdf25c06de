/*
 * qemu-img create: makes a new image through bdrv_img_create, which does
 * the work (schemas, backing file, size from the backing file); this file
 * parses the command line and prints the "Formatting ..." line it returns.
 */
#include "config-host.h"

#include <getopt.h>

#include "util/osdep.h"
#include "util/error.h"
#include "util/option.h"
#include "util/strbuf.h"
#include "block/block.h"
#include "qemu-img.h"

int img_create(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { NULL, 0, NULL, 0 },
    };
    BdrvImgCreateParams params = {
        .fmt = "raw",
        .img_size = UINT64_MAX,
    };
    StrBuf formatting = STRBUF_INIT;
    Error *err = NULL;
    char *options = NULL;
    ImgCommonOpts common = { .fmt = "raw" };
    int c, ret;

    while ((c = getopt_long(argc, argv, ":F:b:f:ho:qu", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'F':
            params.base_fmt = optarg;
            break;
        case 'b':
            params.base_filename = optarg;
            break;
        case 'o':
            if (!accumulate_options(&options, optarg)) {
                ret = 1;
                goto out;
            }
            break;
        case 'u':
            params.unsafe = true;
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }

    params.fmt = common.fmt;
    /* "-o help" needs no size, nor even a file name. */
    if (options && is_help_option(options)) {
        ret = print_block_option_help(optind < argc ? argv[optind] : NULL,
                                      params.fmt);
        goto out;
    }

    if (optind >= argc) {
        error_exit("Expecting image file name");
    }
    params.filename = argv[optind++];

    if (optind < argc) {
        int64_t sval = cvtnum("image size", argv[optind++]);

        if (sval < 0) {
            ret = 1;
            goto out;
        }
        params.img_size = sval;
    }
    if (optind != argc) {
        error_exit("Unexpected argument: %s", argv[optind]);
    }

    params.options = options;
    strbuf_init(&formatting);
    ret = bdrv_img_create(&params, &formatting, &err);
    if (formatting.len && !common.quiet) {
        printf("%s\n", formatting.buf);
        /* The line comes before any error, as the reference shows it. */
        fflush(stdout);
    }
    strbuf_release(&formatting);
    if (ret < 0) {
        error_reportf_err(err, "%s: ", params.filename);
        ret = 1;
        goto out;
    }
    ret = 0;

out:
    free(options);
    return ret;
}
