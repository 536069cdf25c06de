/*
 * A hostile qcow2 image: the input bytes are the image file (a memfd,
 * opened through /proc/self/fd with the file protocol). It is opened
 * without its backing file, described, read at spread offsets, walked with
 * block status and checked; when the last input byte is odd it is opened
 * read-write (a dirty image is repaired on open), written, and repaired
 * with check -r all. Nothing may crash, hang, or read or allocate without
 * bound; errors are fine.
 */
#include "config-host.h"

#include <sys/mman.h>

#include "block/block.h"
#include "block/block_int.h"
#include "util/error.h"
#include "util/qobject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_READS 32
#define READ_SIZE (64 * 1024)
#define MAX_STATUS_STEPS 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool initialised;
    BlockBackend *blk;
    BlockDriverState *bs;
    Error *err = NULL;
    char path[64];
    bool rw;
    int fd;
    QDict *info;
    BdrvCheckResult res;
    uint8_t *buf;
    int64_t len, offset, pnum;
    int i;

    if (!initialised) {
        bdrv_init();
        initialised = true;
    }
    if (size > 4 * 1024 * 1024) {
        return 0;
    }
    fd = memfd_create("fuzz-qcow2", 0);
    if (fd < 0) {
        return 0;
    }
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

    rw = size > 0 && (data[size - 1] & 1);
    blk = blk_new_open(path, "qcow2", NULL,
                       BDRV_O_NO_BACKING |
                       (rw ? BDRV_O_RDWR : BDRV_O_FORCE_SHARE), &err);
    if (!blk) {
        error_free(err);
        close(fd);
        return 0;
    }
    bs = blk_bs(blk);

    info = bdrv_get_specific_info(bs, &err);
    if (info) {
        char *json = qobject_to_json(QOBJECT(info), false);

        free(json);
        qobject_unref(QOBJECT(info));
    } else if (err) {
        error_free(err);
        err = NULL;
    }

    len = blk_getlength(blk);
    buf = qemu_blockalign(READ_SIZE);
    if (len > 0) {
        for (i = 0; i < MAX_READS; i++) {
            /* Spread over the disk, plus its first and last bytes. */
            offset = (len / MAX_READS) * i;
            if (i == MAX_READS - 1) {
                offset = len > READ_SIZE ? len - READ_SIZE : 0;
            }
            blk_pread(blk, offset, MIN(READ_SIZE, len - offset), buf, 0);
        }
        for (offset = 0, i = 0; offset < len && i < MAX_STATUS_STEPS; i++) {
            int ret = bdrv_block_status_above(bs, NULL, offset, len - offset,
                                              &pnum, NULL, NULL, NULL);

            if (ret < 0 || pnum <= 0) {
                break;
            }
            offset += pnum;
        }
    }

    memset(&res, 0, sizeof(res));
    bdrv_check(bs, &res, 0);
    if (rw && len > 0) {
        /* Writes into whatever the tables say, then a full repair. */
        memset(buf, 0x5a, READ_SIZE);
        blk_pwrite(blk, 0, MIN(READ_SIZE, len), buf, 0);
        blk_pwrite(blk, len / 2, MIN(4096, len - len / 2), buf, 0);
        blk_pwrite_zeroes(blk, 0, MIN(READ_SIZE, len), BDRV_REQ_MAY_UNMAP);
        /*
         * Hostile tables can send writes far out, making the file huge;
         * check then needs memory in proportion (two bytes a cluster), as
         * the reference does. Repair only files of a sane size here.
         */
        if (lseek(fd, 0, SEEK_END) <= 64 * 1024 * 1024) {
            memset(&res, 0, sizeof(res));
            bdrv_check(bs, &res, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS);
        }
    }
    qemu_vfree(buf);

    blk_unref(blk);
    close(fd);
    return 0;
}
