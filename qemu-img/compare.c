/*
 * qemu-img compare: are two images' guest-visible contents the same?
 *
 * Exit codes, as the reference: 0 identical, 1 different, 2 an image could
 * not be opened, 3 block status failed, 4 a read failed (usage errors: 1).
 *
 * Both images are walked by block status: ranges that are zero in both are
 * never read; the rest is read in chunks of up to COMPARE_BUF_SIZE and
 * compared a sector at a time, so a mismatch is reported at the first
 * differing 512-byte sector. Past the end of the shorter image the longer
 * one must read as zeroes.
 */
#include "config-host.h"

#include <getopt.h>
#include <string.h>

#include "qemu-img.h"
#include "util/error.h"
#include "util/iov.h"
#include "util/progress.h"

#define COMPARE_BUF_SIZE (2 * MiB)

enum {
    COMPARE_IDENTICAL = 0,
    COMPARE_DIFFERENT = 1,
    COMPARE_ERR_OPEN = 2,
    COMPARE_ERR_STATUS = 3,
    COMPARE_ERR_READ = 4,
};

/* The block status bits that strict mode holds to be equal. */
#define COMPARE_STATUS_MASK (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO | \
                             BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_OFFSET_VALID | \
                             BDRV_BLOCK_EOF)

/* Offset of the first 512-byte sector where a and b differ, or -1. */
static int64_t first_mismatch(const uint8_t *a, const uint8_t *b,
                              int64_t bytes)
{
    int64_t off;

    if (!memcmp(a, b, bytes)) {
        return -1;
    }
    for (off = 0; off < bytes; off += BDRV_SECTOR_SIZE) {
        int64_t len = MIN((int64_t)BDRV_SECTOR_SIZE, bytes - off);

        if (memcmp(a + off, b + off, len)) {
            return off;
        }
    }
    return -1;
}

/* Offset of the first sector of buf that is not all zero, or -1. */
static int64_t first_nonzero(const uint8_t *buf, int64_t bytes)
{
    int64_t off;

    if (buffer_is_zero(buf, bytes)) {
        return -1;
    }
    for (off = 0; off < bytes; off += BDRV_SECTOR_SIZE) {
        int64_t len = MIN((int64_t)BDRV_SECTOR_SIZE, bytes - off);

        if (!buffer_is_zero(buf + off, len)) {
            return off;
        }
    }
    return -1;
}

static int compare_read(BlockBackend *blk, const char *name, int64_t offset,
                        int64_t bytes, uint8_t *buf)
{
    int ret = blk_pread(blk, offset, bytes, buf, 0);

    if (ret < 0) {
        error_report("Error while reading offset %" PRId64 " of %s: %s",
                     offset, name, strerror(-ret));
        return COMPARE_ERR_READ;
    }
    return 0;
}

static int compare_status(BlockBackend *blk, const char *name,
                          int64_t offset, int64_t bytes, int64_t *pnum)
{
    int ret = bdrv_block_status_above(blk_bs(blk), NULL, offset, bytes,
                                      pnum, NULL, NULL, NULL);

    if (ret < 0) {
        error_report("Sector allocation test failed for %s", name);
        return -1;
    }
    if (*pnum <= 0 || *pnum > bytes) {
        *pnum = bytes;
    }
    return ret;
}

/*
 * The part of the longer image past the end of the shorter one must read as
 * zeroes. Returns an exit code (COMPARE_IDENTICAL if it does).
 */
static int compare_tail(BlockBackend *blk, const char *name, int64_t offset,
                        int64_t total, uint8_t *buf, bool quiet)
{
    while (offset < total) {
        int64_t pnum, chunk, bad;
        int status, ret;

        status = compare_status(blk, name, offset, total - offset, &pnum);
        if (status < 0) {
            return COMPARE_ERR_STATUS;
        }
        chunk = pnum;
        if (!(status & BDRV_BLOCK_ZERO) &&
            (status & (BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_DATA))) {
            chunk = MIN(chunk, COMPARE_BUF_SIZE);
            ret = compare_read(blk, name, offset, chunk, buf);
            if (ret) {
                return ret;
            }
            bad = first_nonzero(buf, chunk);
            if (bad >= 0) {
                qprintf(quiet, "Content mismatch at offset %" PRId64 "!\n",
                        offset + bad);
                return COMPARE_DIFFERENT;
            }
        }
        offset += chunk;
        qemu_progress_print((float)chunk / (float)total * 100.0f, 100);
    }
    return COMPARE_IDENTICAL;
}

int img_compare(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    ImgCommonOpts common = { 0 };
    const char *fmt2 = NULL, *cache = "writeback";
    const char *name1, *name2;
    bool progress = false, quiet, strict = false;
    BlockBackend *blk1 = NULL, *blk2 = NULL;
    uint8_t *buf1 = NULL, *buf2 = NULL;
    int64_t size1, size2, min_size, total, offset;
    int flags = 0, c, ret = COMPARE_ERR_OPEN;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:F:T:pqsU", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'F':
            fmt2 = optarg;
            break;
        case 'T':
            cache = optarg;
            break;
        case 'p':
            progress = true;
            break;
        case 's':
            strict = true;
            break;
        case OPTION_OBJECT:
            /* Unlike the other commands', as the reference's. */
            img_object_add(optarg, COMPARE_ERR_OPEN);
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }

    /* Progress would only get in the way of the one-line verdict */
    quiet = common.quiet;
    if (quiet) {
        progress = false;
    }
    if (optind != argc - 2) {
        error_exit("Expecting two image file names");
    }
    name1 = argv[optind];
    name2 = argv[optind + 1];

    /* Before -T, as the reference: a bad -T still ends the bar's line. */
    qemu_progress_init(progress, 2.0f);
    if (!bdrv_parse_cache_mode(cache, &flags)) {
        error_report("Invalid source cache option: %s", cache);
        goto out;
    }

    blk1 = img_open(common.image_opts, name1, common.fmt, flags, false,
                    common.force_share);
    if (!blk1) {
        goto out;
    }
    blk2 = img_open(common.image_opts, name2, fmt2, flags, false,
                    common.force_share);
    if (!blk2) {
        goto out;
    }

    size1 = blk_getlength(blk1);
    if (size1 < 0) {
        error_report("Can't get size of %s: %s", name1, strerror(-size1));
        ret = COMPARE_ERR_OPEN;
        goto out;
    }
    size2 = blk_getlength(blk2);
    if (size2 < 0) {
        error_report("Can't get size of %s: %s", name2, strerror(-size2));
        ret = COMPARE_ERR_OPEN;
        goto out;
    }

    buf1 = qemu_blockalign(COMPARE_BUF_SIZE);
    buf2 = qemu_blockalign(COMPARE_BUF_SIZE);
    min_size = MIN(size1, size2);
    total = MAX(size1, size2);
    qemu_progress_print(0, 100);

    if (strict && size1 != size2) {
        qprintf(quiet, "Strict mode: Image size mismatch!\n");
        ret = COMPARE_DIFFERENT;
        goto out;
    }

    for (offset = 0; offset < min_size; ) {
        int64_t pnum1, pnum2, chunk, bad;
        int st1, st2;

        st1 = compare_status(blk1, name1, offset, min_size - offset, &pnum1);
        if (st1 < 0) {
            ret = COMPARE_ERR_STATUS;
            goto out;
        }
        st2 = compare_status(blk2, name2, offset, min_size - offset, &pnum2);
        if (st2 < 0) {
            ret = COMPARE_ERR_STATUS;
            goto out;
        }
        chunk = MIN(pnum1, pnum2);

        if (strict &&
            (st1 & COMPARE_STATUS_MASK) != (st2 & COMPARE_STATUS_MASK)) {
            qprintf(quiet, "Strict mode: Offset %" PRId64
                    " block status mismatch!\n", offset);
            ret = COMPARE_DIFFERENT;
            goto out;
        }

        if ((st1 & BDRV_BLOCK_ZERO) && (st2 & BDRV_BLOCK_ZERO)) {
            /* Both read as zeroes */
        } else if (!(st1 & (BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_DATA)) &&
                   !(st2 & (BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_DATA))) {
            /* Neither chain defines it: both read as zeroes */
        } else {
            chunk = MIN(chunk, COMPARE_BUF_SIZE);
            ret = compare_read(blk1, name1, offset, chunk, buf1);
            if (ret) {
                goto out;
            }
            ret = compare_read(blk2, name2, offset, chunk, buf2);
            if (ret) {
                goto out;
            }
            bad = first_mismatch(buf1, buf2, chunk);
            if (bad >= 0) {
                qprintf(quiet, "Content mismatch at offset %" PRId64 "!\n",
                        offset + bad);
                ret = COMPARE_DIFFERENT;
                goto out;
            }
        }
        offset += chunk;
        qemu_progress_print((float)chunk / (float)total * 100.0f, 100);
    }

    if (size1 != size2) {
        qprintf(quiet, "Warning: Image size mismatch!\n");
        if (size1 > size2) {
            ret = compare_tail(blk1, name1, min_size, total, buf1, quiet);
        } else {
            ret = compare_tail(blk2, name2, min_size, total, buf1, quiet);
        }
        if (ret != COMPARE_IDENTICAL) {
            goto out;
        }
    }

    qprintf(quiet, "Images are identical.\n");
    ret = COMPARE_IDENTICAL;

out:
    qemu_vfree(buf1);
    qemu_vfree(buf2);
    if (blk2) {
        blk_unref(blk2);
    }
    if (blk1) {
        blk_unref(blk1);
    }
    if (progress) {
        qemu_progress_end();
    }
    return ret;
}
