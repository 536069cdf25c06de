/*
 * Allocation queries: 'alloc' sums what the top image itself defines in a
 * range, 'map' lists the whole image as runs of allocated and unallocated
 * bytes. Both look at the top node only (bdrv_is_allocated), not at what a
 * backing file provides, as the reference does: tests use them to see
 * where a write landed (COW, zero clusters, discards).
 */
#include "config-host.h"

#include "util/osdep.h"
#include "util/error.h"
#include "block/block.h"
#include "qemu-io.h"

static int alloc_f(BlockBackend *blk, int argc, char **argv)
{
    BlockDriverState *bs = blk_bs(blk);
    int64_t offset, start, count, remaining, length, sum_alloc = 0;
    char s[64];
    int ret;

    start = offset = cvtnum_arg(argv[1]);
    if (offset < 0) {
        return (int)offset;
    }
    if (argc == 3) {
        count = cvtnum_arg(argv[2]);
        if (count < 0) {
            return (int)count;
        }
    } else {
        count = BDRV_SECTOR_SIZE;
    }

    length = blk_getlength(blk);
    if (length < 0) {
        printf("getlength: %s\n", strerror((int)-length));
        return (int)length;
    }
    /* Nothing past the end is allocated, nor counted. */
    count = MIN(count, MAX(length - offset, 0));

    remaining = count;
    while (remaining > 0) {
        int64_t num;

        ret = bdrv_is_allocated(bs, offset, remaining, &num);
        if (ret < 0) {
            printf("is_allocated failed: %s\n", strerror(-ret));
            return ret;
        }
        if (num <= 0) {
            break;
        }
        if (ret) {
            sum_alloc += num;
        }
        offset += num;
        remaining -= num;
    }

    cvtstr(start, s, sizeof(s));
    printf("%" PRId64 "/%" PRId64 " bytes allocated at offset %s\n",
           sum_alloc, count, s);
    return 0;
}

const CmdInfo alloc_cmd = {
    .name = "alloc",
    .cfunc = alloc_f,
    .argmin = 1,
    .argmax = 2,
    .args = "offset [count]",
    .oneline = "checks if offset is allocated in the file",
};

/*
 * Allocation status of [offset, offset+bytes) merged over as many calls as
 * return the same status: *pnum gets the length of that run.
 */
static int map_is_allocated(BlockDriverState *bs, int64_t offset,
                            int64_t bytes, int64_t *pnum)
{
    int64_t num, run;
    int first, ret;

    first = bdrv_is_allocated(bs, offset, bytes, &run);
    if (first < 0) {
        return first;
    }
    while (run < bytes) {
        ret = bdrv_is_allocated(bs, offset + run, bytes - run, &num);
        if (ret < 0) {
            return ret;
        }
        if (!!ret != !!first || num <= 0) {
            break;
        }
        run += num;
    }
    *pnum = run;
    return first;
}

static int map_f(BlockBackend *blk, int argc, char **argv)
{
    BlockDriverState *bs = blk_bs(blk);
    int64_t offset = 0, length, num;
    char s1[64], s2[64];
    int ret;

    length = blk_getlength(blk);
    if (length < 0) {
        error_report("Failed to query image length: %s",
                     strerror((int)-length));
        return (int)length;
    }

    while (offset < length) {
        ret = map_is_allocated(bs, offset, length - offset, &num);
        if (ret < 0) {
            error_report("Failed to get allocation status: %s",
                         strerror(-ret));
            return ret;
        }
        if (num <= 0) {
            error_report("Unexpected end of image");
            return -EIO;
        }
        cvtstr(num, s1, sizeof(s1));
        cvtstr(offset, s2, sizeof(s2));
        printf("%s (0x%" PRIx64 ") bytes %s at offset %s (0x%" PRIx64 ")\n",
               s1, (uint64_t)num, ret ? "    allocated" : "not allocated",
               s2, (uint64_t)offset);
        offset += num;
    }
    return 0;
}

const CmdInfo map_cmd = {
    .name = "map",
    .cfunc = map_f,
    .argmin = 0,
    .argmax = 0,
    .args = "",
    .oneline = "prints the allocated areas of a file",
};
