/*
 * qemu-img rebase: gives an image a new backing file. In safe mode every
 * range the image does not define itself is compared between the old and
 * the new backing file, and where they differ the old content is written
 * into the image first, so that what the image reads does not change.
 * Unsafe mode (-u) only rewrites the name in the header.
 */
#include "config-host.h"

#include <getopt.h>

#include "util/osdep.h"
#include "util/cutils.h"
#include "util/error.h"
#include "util/progress.h"
#include "util/qobject.h"
#include "block/block.h"
#include "qemu-img.h"

#define REBASE_BUF_SIZE (2 * MiB)

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
 * The node of bs's current backing chain that is the file path (resolved
 * as the new backing file name is), or NULL: when the new backing file is
 * already below, only what lies above it can differ.
 */
static BlockDriverState *find_in_chain(BlockDriverState *bs, const char *path)
{
    BlockDriverState *curr;

    if (path_has_protocol(path)) {
        return NULL;
    }
    for (curr = bdrv_backing_node(bs); curr; curr = bdrv_backing_node(curr)) {
        if (same_file(path, bdrv_get_filename(curr))) {
            return curr;
        }
    }
    return NULL;
}

/* The reference's step: 100 / (number of whole 2 MiB chunks). */
static void rebase_progress(void *opaque, int64_t done, int64_t total)
{
    qemu_progress_print(*(float *)opaque, 100);
}

/* Opens a backing file for reading, as a BlockBackend of its own. */
static BlockBackend *open_backing(const char *path, const char *fmt,
                                  int flags, bool force_share,
                                  const char *what, const char *name)
{
    QDict *options = qdict_new();
    BlockBackend *blk;
    Error *err = NULL;

    if (fmt && fmt[0]) {
        qdict_put_str(options, "driver", fmt);
    }
    if (force_share) {
        flags |= BDRV_O_FORCE_SHARE;
    }
    blk = blk_new_open(path, NULL, options, flags, &err);
    if (!blk) {
        error_reportf_err(err, "Could not open %s backing file '%s': ", what,
                          name);
    }
    return blk;
}

int img_rebase(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    ImgCommonOpts common = { 0 };
    const char *filename, *out_baseimg = NULL, *out_basefmt = NULL;
    const char *cache = "writeback", *src_cache = "writeback";
    bool progress = false, unsafe = false;
    BlockBackend *blk = NULL, *old_blk = NULL, *new_blk = NULL;
    BlockDriverState *bs, *prefix = NULL;
    Error *err = NULL;
    int64_t size;
    float step = 0;
    int flags, src_flags = 0, c, ret = 1;

    while ((c = getopt_long(argc, argv, ":hf:F:b:upt:T:qU", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'F':
            out_basefmt = optarg;
            break;
        case 'b':
            out_baseimg = optarg;
            break;
        case 'u':
            unsafe = true;
            break;
        case 'p':
            progress = true;
            break;
        case 't':
            cache = optarg;
            break;
        case 'T':
            src_cache = optarg;
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
    if (!unsafe && !out_baseimg) {
        error_exit("Must specify backing file (-b) or use unsafe mode (-u)");
    }

    qemu_progress_init(progress, 2.0);
    qemu_progress_print(0, 100);

    flags = BDRV_O_RDWR | (unsafe ? BDRV_O_NO_BACKING : 0) | BDRV_O_THREADS_AIO;
    if (!bdrv_parse_cache_mode(cache, &flags)) {
        error_report("Invalid cache option: %s", cache);
        goto out;
    }
    if (!bdrv_parse_cache_mode(src_cache, &src_flags)) {
        error_report("Invalid source cache option: %s", src_cache);
        goto out;
    }
    /* Backing files are only read, whatever cache mode they get. */
    src_flags &= ~BDRV_O_RDWR;
    src_flags |= BDRV_O_THREADS_AIO;

    /* -U is for the backing files read: this image is written. */
    blk = img_open(common.image_opts, filename, common.fmt, flags,
                   flags & BDRV_O_WRITETHROUGH, false);
    if (!blk) {
        goto out;
    }
    bs = blk_bs(blk);

    if (out_basefmt && !bdrv_find_format(out_basefmt)) {
        error_report("Invalid format name: '%s'", out_basefmt);
        goto out;
    }

    if (!unsafe) {
        BlockDriverState *old = bdrv_backing_node(bs);

        if (old) {
            char *old_name = bdrv_get_full_backing_filename(bs, NULL);
            const char *name = old_name ? old_name : bdrv_get_filename(old);

            old_blk = open_backing(name, bdrv_get_backing_format(bs),
                                   src_flags, common.force_share, "old",
                                   name);
            free(old_name);
            if (!old_blk) {
                goto out;
            }
        }
        if (out_baseimg[0]) {
            char *path = path_combine(bdrv_get_filename(bs), out_baseimg);

            /*
             * A new backing file already in the chain is read through its
             * node there, as the reference does (which also means that -F
             * is not checked against it).
             */
            prefix = find_in_chain(bs, path);
            if (prefix) {
                new_blk = blk_new_with_bs(prefix, false, &err);
                if (!new_blk) {
                    error_report_err(err);
                }
            } else {
                new_blk = open_backing(path, out_basefmt, src_flags,
                                       common.force_share, "new",
                                       out_baseimg);
            }
            free(path);
            if (!new_blk) {
                goto out;
            }
        }
        size = blk_getlength(blk);
        if (size > 0) {
            step = 100.f / (float)(size / MIN(size, REBASE_BUF_SIZE));
        }
        if (bdrv_rebase_copy(blk, old_blk, new_blk, prefix, rebase_progress,
                             &step, &err) < 0) {
            error_report_err(err);
            goto out;
        }
    }

    /*
     * Everything that differs is in the image now: switching the name
     * changes nothing it reads, even if we crash right after.
     */
    if (out_baseimg && out_baseimg[0]) {
        ret = bdrv_change_backing_file(bs, out_baseimg, out_basefmt, true);
    } else {
        ret = bdrv_change_backing_file(bs, NULL, NULL, false);
    }
    if (ret == -ENOSPC) {
        error_report("Could not change the backing file to '%s': No space "
                     "left in the file header", out_baseimg);
    } else if (ret == -EINVAL && out_baseimg && !out_basefmt) {
        error_report("Could not change the backing file to '%s': backing "
                     "format must be specified", out_baseimg);
    } else if (ret < 0) {
        /* Without -b the reference prints glibc's rendering of NULL. */
        error_report("Could not change the backing file to '%s': %s",
                     out_baseimg ? out_baseimg : "(null)", strerror(-ret));
    }
    ret = ret < 0 ? 1 : 0;
    qemu_progress_print(100, 0);

out:
    qemu_progress_end();
    if (new_blk) {
        blk_unref(new_blk);
    }
    if (old_blk) {
        blk_unref(old_blk);
    }
    if (blk) {
        blk_unref(blk);
    }
    return ret;
}
