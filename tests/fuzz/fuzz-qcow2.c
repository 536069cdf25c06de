/*
 * A hostile qcow2 image: the input bytes are the image file (a memfd,
 * opened through /proc/self/fd with the file protocol). It is opened
 * read-only without its backing file, described, read at spread offsets,
 * walked with block status and checked. Nothing may crash, hang, or read
 * or allocate without bound; errors are fine.
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

    blk = blk_new_open(path, "qcow2", NULL,
                       BDRV_O_NO_BACKING | BDRV_O_FORCE_SHARE, &err);
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
    qemu_vfree(buf);

    memset(&res, 0, sizeof(res));
    bdrv_check(bs, &res, 0);

    blk_unref(blk);
    close(fd);
    return 0;
}
