/*
 * qemu-img bitmap: adds, removes, clears, enables, disables and merges
 * persistent dirty bitmaps. Actions run in command-line order on one
 * bitmap; the first failure stops the rest, as the reference does.
 */
#include "config-host.h"

#include <getopt.h>

#include "util/osdep.h"
#include "util/error.h"
#include "block/block.h"
#include "qemu-img.h"

typedef enum BitmapAction {
    BITMAP_ADD,
    BITMAP_REMOVE,
    BITMAP_CLEAR,
    BITMAP_ENABLE,
    BITMAP_DISABLE,
    BITMAP_MERGE,
} BitmapAction;

static const char *const action_names[] = {
    [BITMAP_ADD] = "add",
    [BITMAP_REMOVE] = "remove",
    [BITMAP_CLEAR] = "clear",
    [BITMAP_ENABLE] = "enable",
    [BITMAP_DISABLE] = "disable",
    [BITMAP_MERGE] = "merge",
};

typedef struct ImgBitmapAction {
    BitmapAction act;
    const char *src;    /* --merge's source bitmap */
} ImgBitmapAction;

int img_bitmap(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "add", no_argument, NULL, OPTION_ADD },
        { "remove", no_argument, NULL, OPTION_REMOVE },
        { "clear", no_argument, NULL, OPTION_CLEAR },
        { "enable", no_argument, NULL, OPTION_ENABLE },
        { "disable", no_argument, NULL, OPTION_DISABLE },
        { "merge", required_argument, NULL, OPTION_MERGE },
        { "granularity", required_argument, NULL, 'g' },
        { "source-file", required_argument, NULL, 'b' },
        { "source-format", required_argument, NULL, 'F' },
        { NULL, 0, NULL, 0 },
    };
    ImgCommonOpts common = { 0 };
    const char *src_filename = NULL, *src_fmt = NULL, *filename, *bitmap;
    bool add = false, merge = false;
    int64_t granularity = 0;
    ImgBitmapAction *actions = NULL;
    size_t nb_actions = 0, i;
    BlockBackend *blk = NULL, *src = NULL;
    BlockDriverState *bs, *src_bs;
    int c, ret = 1;

    while ((c = getopt_long(argc, argv, ":b:f:F:g:h", long_options,
                            NULL)) != -1) {
        ImgBitmapAction act = { .src = NULL };

        switch (c) {
        case 'b':
            src_filename = optarg;
            break;
        case 'F':
            src_fmt = optarg;
            break;
        case 'g':
            granularity = cvtnum("granularity", optarg);
            if (granularity < 0) {
                goto out;
            }
            break;
        case OPTION_ADD:
        case OPTION_REMOVE:
        case OPTION_CLEAR:
        case OPTION_ENABLE:
        case OPTION_DISABLE:
        case OPTION_MERGE:
            act.act = c == OPTION_ADD ? BITMAP_ADD :
                      c == OPTION_REMOVE ? BITMAP_REMOVE :
                      c == OPTION_CLEAR ? BITMAP_CLEAR :
                      c == OPTION_ENABLE ? BITMAP_ENABLE :
                      c == OPTION_DISABLE ? BITMAP_DISABLE : BITMAP_MERGE;
            if (c == OPTION_ADD) {
                add = true;
            } else if (c == OPTION_MERGE) {
                act.src = optarg;
                merge = true;
            }
            actions = xrealloc(actions, (nb_actions + 1) * sizeof(*actions));
            actions[nb_actions++] = act;
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }

    if (!nb_actions) {
        error_report("Need at least one of --add, --remove, --clear, "
                     "--enable, --disable, or --merge");
        goto out;
    }
    if (granularity && !add) {
        error_report("granularity only supported with --add");
        goto out;
    }
    if (src_fmt && !src_filename) {
        error_report("-F only supported with -b");
        goto out;
    }
    if (src_filename && !merge) {
        error_report("Merge bitmap source file only supported with --merge");
        goto out;
    }
    if (optind != argc - 2) {
        error_report("Expecting filename and bitmap name");
        goto out;
    }
    filename = argv[optind];
    bitmap = argv[optind + 1];

    /* Bitmaps live in the image itself: its backing file is not opened. */
    blk = img_open(common.image_opts, filename, common.fmt,
                   BDRV_O_RDWR | BDRV_O_NO_BACKING, false, false);
    if (!blk) {
        goto out;
    }
    bs = blk_bs(blk);
    if (src_filename) {
        src = img_open(false, src_filename, src_fmt, BDRV_O_NO_BACKING,
                       false, false);
        if (!src) {
            goto out;
        }
        src_bs = blk_bs(src);
    } else {
        src_bs = bs;
    }

    for (i = 0; i < nb_actions; i++) {
        Error *err = NULL;
        int r = 0;

        switch (actions[i].act) {
        case BITMAP_ADD:
            /* Checked before the format is asked, as the reference does. */
            if (!bitmap[0]) {
                error_setg(&err, "Bitmap name cannot be empty");
                r = -EINVAL;
                break;
            }
            if (granularity && (granularity < 512 || granularity > UINT32_MAX
                                || !IS_POWER_OF_2(granularity))) {
                error_setg(&err, "Granularity must be power of 2 and at "
                           "least 512");
                r = -EINVAL;
                break;
            }
            r = bdrv_dirty_bitmap_add(bs, bitmap, granularity, &err);
            break;
        case BITMAP_REMOVE:
            r = bdrv_dirty_bitmap_remove(bs, bitmap, &err);
            break;
        case BITMAP_CLEAR:
            r = bdrv_dirty_bitmap_clear(bs, bitmap, &err);
            break;
        case BITMAP_ENABLE:
            r = bdrv_dirty_bitmap_set_enabled(bs, bitmap, true, &err);
            break;
        case BITMAP_DISABLE:
            r = bdrv_dirty_bitmap_set_enabled(bs, bitmap, false, &err);
            break;
        case BITMAP_MERGE:
            r = bdrv_dirty_bitmap_merge(bs, bitmap, src_bs, actions[i].src,
                                        &err);
            break;
        }
        if (r < 0) {
            error_reportf_err(err, "Operation %s on bitmap %s failed: ",
                              action_names[actions[i].act], bitmap);
            goto out;
        }
    }
    ret = 0;

out:
    if (src) {
        blk_unref(src);
    }
    if (blk) {
        blk_unref(blk);
    }
    free(actions);
    return ret;
}
