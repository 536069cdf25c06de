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

/*
 * Length of the run of 512-byte sectors at the start of a and b that are
 * all equal (*differ false) or all different (*differ true).
 */
static int64_t compare_run(const uint8_t *a, const uint8_t *b, int64_t len,
                           bool *differ)
{
    int64_t pos = 0;

    *differ = memcmp(a, b, MIN(len, (int64_t)BDRV_SECTOR_SIZE)) != 0;
    while (pos < len) {
        int64_t chunk = MIN(len - pos, (int64_t)BDRV_SECTOR_SIZE);

        if ((memcmp(a + pos, b + pos, chunk) != 0) != *differ) {
            break;
        }
        pos += chunk;
    }
    return pos;
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

/* Reads [offset, offset + n) of blk into buf, zeroes past its end. */
static int read_backing(BlockBackend *blk, int64_t size, int64_t offset,
                        int64_t n, uint8_t *buf)
{
    int64_t avail = blk && offset < size ? MIN(n, size - offset) : 0;
    int ret;

    if (avail > 0) {
        ret = blk_pread(blk, offset, avail, buf, 0);
        if (ret < 0) {
            return ret;
        }
    }
    memset(buf + avail, 0, n - avail);
    return 0;
}

/*
 * Makes blk's own data cover everything where old and new backing files
 * differ. Returns 0, or 1 with the error reported.
 */
static int rebase_copy(BlockBackend *blk, BlockBackend *old_blk,
                       BlockBackend *new_blk)
{
    BlockDriverState *bs = blk_bs(blk);
    int64_t size, old_size = 0, new_size = 0, offset, n;
    uint8_t *buf_old = NULL, *buf_new = NULL;
    float step;
    int ret = 1, r;

    size = blk_getlength(blk);
    if (size < 0) {
        error_report("Could not get size of '%s': %s",
                     bdrv_get_filename(bs), strerror(-size));
        return 1;
    }
    if (old_blk) {
        old_size = blk_getlength(old_blk);
        if (old_size < 0) {
            error_report("Could not get size of '%s': %s",
                         bdrv_get_filename(blk_bs(old_blk)),
                         strerror(-old_size));
            return 1;
        }
    }
    if (new_blk) {
        new_size = blk_getlength(new_blk);
        if (new_size < 0) {
            error_report("Could not get size of '%s': %s",
                         bdrv_get_filename(blk_bs(new_blk)),
                         strerror(-new_size));
            return 1;
        }
    }

    buf_old = qemu_blockalign(REBASE_BUF_SIZE);
    buf_new = qemu_blockalign(REBASE_BUF_SIZE);
    step = size ? 100.f * MIN(size, REBASE_BUF_SIZE) / size : 100.f;

    for (offset = 0; offset < size; offset += n) {
        int64_t done;
        bool old_is_zero;

        n = MIN(REBASE_BUF_SIZE, size - offset);
        r = bdrv_is_allocated(bs, offset, n, &n);
        if (r < 0) {
            error_report("error while reading image metadata: %s",
                         strerror(-r));
            goto out;
        }
        if (r) {
            /* The image defines this range itself. */
            continue;
        }

        /* Past the old backing file's end the image read zeroes. */
        old_is_zero = !old_blk || offset >= old_size;
        if (read_backing(old_blk, old_size, offset, n, buf_old) < 0) {
            error_report("error while reading from old backing file");
            goto out;
        }
        if (read_backing(new_blk, new_size, offset, n, buf_new) < 0) {
            error_report("error while reading from new backing file");
            goto out;
        }

        for (done = 0; done < n; ) {
            bool differ;
            int64_t run = compare_run(buf_old + done, buf_new + done,
                                      n - done, &differ);

            if (differ) {
                if (old_is_zero) {
                    r = blk_pwrite_zeroes(blk, offset + done, run, 0);
                } else {
                    r = blk_pwrite(blk, offset + done, run, buf_old + done, 0);
                }
                if (r < 0) {
                    error_report("Error while writing to COW image: %s",
                                 strerror(-r));
                    goto out;
                }
            }
            done += run;
        }
        qemu_progress_print(step, 100);
    }
    ret = 0;

out:
    qemu_vfree(buf_old);
    qemu_vfree(buf_new);
    return ret;
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
    BlockDriverState *bs;
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

    flags = BDRV_O_RDWR | (unsafe ? BDRV_O_NO_BACKING : 0);
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

            new_blk = open_backing(path, out_basefmt, src_flags,
                                   common.force_share, "new", out_baseimg);
            free(path);
            if (!new_blk) {
                goto out;
            }
        }
        if (rebase_copy(blk, old_blk, new_blk)) {
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
