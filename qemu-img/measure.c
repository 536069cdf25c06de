/*
 * qemu-img measure: how much space an image of the output format needs,
 * for a new image of --size bytes or for a copy of an existing image. The
 * numbers come from the output format's measure hook.
 */
#include "config-host.h"

#include <getopt.h>

#include "util/osdep.h"
#include "util/error.h"
#include "util/option.h"
#include "util/qobject.h"
#include "block/block.h"
#include "qemu-img.h"

static void dump_measure_info(const BlockMeasureInfo *info, OutputFormat ofmt)
{
    QDict *d;
    char *json;

    if (ofmt == OFORMAT_HUMAN) {
        printf("required size: %" PRIu64 "\n", info->required);
        printf("fully allocated size: %" PRIu64 "\n", info->fully_allocated);
        if (info->has_bitmaps) {
            printf("bitmaps size: %" PRIu64 "\n", info->bitmaps);
        }
        return;
    }
    d = qdict_new();
    qdict_put_uint(d, "required", info->required);
    qdict_put_uint(d, "fully-allocated", info->fully_allocated);
    if (info->has_bitmaps) {
        qdict_put_uint(d, "bitmaps", info->bitmaps);
    }
    json = qobject_to_json(QOBJECT(d), true);
    printf("%s\n", json);
    free(json);
    qobject_unref(QOBJECT(d));
}

int img_measure(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "output", required_argument, NULL, OPTION_OUTPUT },
        { "size", required_argument, NULL, OPTION_SIZE },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    OutputFormat ofmt = OFORMAT_HUMAN;
    ImgCommonOpts common = { 0 };
    const char *out_fmt = "raw", *filename = NULL;
    ImgSnapshotParam snap = { NULL, NULL, false };
    char *options = NULL;
    int64_t img_size = -1;
    BlockBackend *in_blk = NULL;
    BlockDriverState *in_bs = NULL;
    BlockDriver *drv, *proto_drv;
    QemuOptsList *create_opts = NULL;
    QemuOpts *opts = NULL;
    BlockMeasureInfo info;
    Error *err = NULL;
    int c, ret = 1;

    /*
     * Unlike the other commands, the reference lets getopt itself report
     * bad options here ("measure: invalid option -- 'x'"), then prints
     * the help and exits 0.
     */
    opterr = 1;
    while ((c = getopt_long(argc, argv, "hf:O:o:l:U", long_options,
                            NULL)) != -1) {
        switch (c) {
        case '?':
        case 'h':
            help();
            break;
        case 'O':
            out_fmt = optarg;
            break;
        case 'o':
            if (!accumulate_options(&options, optarg)) {
                goto out;
            }
            break;
        case 'l':
            if (!img_parse_snapshot_param(optarg, &snap)) {
                goto out;
            }
            break;
        case OPTION_OUTPUT:
            if (!parse_output_format(optarg, &ofmt)) {
                goto out;
            }
            break;
        case OPTION_SIZE:
            img_size = cvtnum("image size", optarg);
            if (img_size < 0) {
                goto out;
            }
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }

    if (argc - optind > 1) {
        error_report("At most one filename argument is allowed.");
        goto out;
    } else if (argc - optind == 1) {
        filename = argv[optind];
    }
    if (!filename && (common.image_opts || common.fmt || snap.given)) {
        error_report("--image-opts, -f, and -l require a filename argument.");
        goto out;
    }
    if (filename && img_size != -1) {
        error_report("--size N cannot be used together with a filename.");
        goto out;
    }
    if (!filename && img_size == -1) {
        error_report("Either --size N or one filename must be specified.");
        goto out;
    }

    if (filename) {
        in_blk = img_open(common.image_opts, filename, common.fmt, 0, false,
                          common.force_share);
        if (!in_blk) {
            goto out;
        }
        in_bs = blk_bs(in_blk);
        if (snap.given && !img_load_snapshot(in_blk, &snap)) {
            goto out;
        }
    }

    drv = bdrv_find_format(out_fmt);
    if (!drv) {
        error_report("Unknown file format '%s'", out_fmt);
        goto out;
    }
    if (!bdrv_create_opts(drv)) {
        error_report("Format driver '%s' does not support image creation",
                     out_fmt);
        goto out;
    }
    /* The output's protocol is a plain file: its options are allowed too. */
    create_opts = qemu_opts_append(NULL, bdrv_create_opts(drv));
    proto_drv = bdrv_find_format("file");
    if (proto_drv && bdrv_create_opts(proto_drv)) {
        create_opts = qemu_opts_append(create_opts,
                                       bdrv_create_opts(proto_drv));
    }
    opts = qemu_opts_create(create_opts);
    if (options && !qemu_opts_do_parse(opts, options, NULL, &err)) {
        error_report_err(err);
        error_report("Invalid options for file format '%s'", out_fmt);
        goto out;
    }
    if (img_size != -1) {
        qemu_opt_set_number(opts, "size", img_size, NULL);
    }

    memset(&info, 0, sizeof(info));
    if (bdrv_measure(drv, opts, in_bs, &info, &err) < 0) {
        error_report_err(err);
        goto out;
    }
    dump_measure_info(&info, ofmt);
    ret = 0;

out:
    if (opts) {
        qemu_opts_del(opts);
    }
    if (create_opts) {
        qemu_opts_free(create_opts);
    }
    if (in_blk) {
        blk_unref(in_blk);
    }
    img_snapshot_param_free(&snap);
    free(options);
    return ret;
}
