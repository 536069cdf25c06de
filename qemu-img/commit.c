/*
 * qemu-img commit: writes the data of an image (and of the backing files
 * between it and the base) into the base, then empties the image unless
 * told otherwise (-d, or -b naming a base further down).
 *
 * Only ranges defined above the base are copied. A range that reads as
 * zeroes is written as zeroes (the base may then drop its clusters), so a
 * commit keeps sparse images sparse.
 */
#include "config-host.h"

#include <getopt.h>
#include <limits.h>

#include "util/osdep.h"
#include "util/cutils.h"
#include "util/error.h"
#include "util/progress.h"
#include "block/block.h"
#include "qemu-img.h"

/* Same file, even through different spellings of its path. */
static bool same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];

    if (!strcmp(a, b)) {
        return true;
    }
    if (!realpath(a, ra) || !realpath(b, rb)) {
        return false;
    }
    return !strcmp(ra, rb);
}

/*
 * The node of top's backing chain (top excluded) that base names. A
 * relative name is taken relative to the image that records it, as
 * backing file names are.
 */
static BlockDriverState *find_backing_image(BlockDriverState *top,
                                            const char *base)
{
    BlockDriverState *curr, *backing;

    for (curr = top; (backing = bdrv_backing_node(curr)); curr = backing) {
        const char *name = bdrv_get_filename(backing);
        bool match;

        if (path_has_protocol(base)) {
            match = !strcmp(base, name);
        } else {
            char *full = path_combine(bdrv_get_filename(curr), base);

            match = same_file(full, name);
            free(full);
        }
        if (match) {
            return backing;
        }
    }
    return NULL;
}

/* The progress bar follows the bytes copied, as the reference's job's. */
static void commit_progress(void *opaque, int64_t done, int64_t total)
{
    if (total > 0) {
        qemu_progress_print(100.f * (float)done / (float)total, 0);
    }
}

int img_commit(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { NULL, 0, NULL, 0 },
    };
    ImgCommonOpts common = { 0 };
    const char *filename, *cache = "writeback", *base = NULL;
    bool progress = false, drop = false;
    int64_t rate_limit = 0;
    BlockBackend *blk = NULL, *base_blk = NULL;
    BlockDriverState *bs, *base_bs;
    Error *err = NULL;
    int flags = BDRV_O_RDWR | BDRV_O_UNMAP, c, ret = 1;

    while ((c = getopt_long(argc, argv, ":f:ht:b:dpqr:", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 't':
            cache = optarg;
            break;
        case 'b':
            base = optarg;
            /* A base further down keeps the images above it intact. */
            drop = true;
            break;
        case 'd':
            drop = true;
            break;
        case 'p':
            progress = true;
            break;
        case 'r':
            rate_limit = cvtnum("rate limit", optarg);
            if (rate_limit < 0) {
                return 1;
            }
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }
    if (common.quiet) {
        progress = false;
    }
    filename = img_one_filename(argc, argv);

    if (!bdrv_parse_cache_mode(cache, &flags)) {
        error_report("Invalid cache option: %s", cache);
        return 1;
    }
    blk = img_open(common.image_opts, filename, common.fmt, flags,
                   flags & BDRV_O_WRITETHROUGH, false);
    if (!blk) {
        return 1;
    }
    bs = blk_bs(blk);

    qemu_progress_init(progress, 1.f);
    qemu_progress_print(0.f, 100);

    if (base) {
        base_bs = find_backing_image(bs, base);
        if (!base_bs) {
            error_report("Did not find '%s' in the backing chain of '%s'",
                         base, filename);
            goto out;
        }
    } else {
        base_bs = bdrv_backing_node(bs);
        if (!base_bs) {
            error_report("Image does not have a backing file");
            goto out;
        }
    }

    if (bdrv_reopen_set_read_only(base_bs, false, &err) < 0) {
        error_report_err(err);
        goto out;
    }
    base_blk = blk_new_with_bs(base_bs, true, &err);
    if (!base_blk) {
        error_report_err(err);
        goto out;
    }
    if (bdrv_commit_copy(blk, base_bs, base_blk, rate_limit, commit_progress,
                         NULL, &err) < 0) {
        error_report_err(err);
        goto out;
    }

    if (!drop) {
        int r = blk_make_empty(blk, &err);

        /* A format that cannot empty itself keeps its (now base) data. */
        if (r == -ENOTSUP) {
            error_free(err);
            err = NULL;
        } else if (r < 0) {
            error_report_err(err);
            goto out;
        }
    }

    qemu_progress_print(100.f, 0);
    ret = 0;

out:
    /* The progress line ends before the verdict is printed. */
    qemu_progress_end();
    if (ret == 0) {
        qprintf(common.quiet, "Image committed.\n");
    }
    if (base_blk) {
        blk_unref(base_blk);
    }
    blk_unref(blk);
    return ret;
}
