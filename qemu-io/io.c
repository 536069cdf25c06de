/*
 * The I/O commands: read, readv, write, writev, discard and their
 * asynchronous forms aio_read, aio_write and aio_flush.
 *
 * These are how tests reach every write path of the block layer at any
 * offset and length (unaligned writes, zero writes with and without unmap,
 * compressed writes, FUA), so each option maps onto one request flag and
 * nothing is rounded or split here: the request goes down as given.
 *
 * Argument checks come in the reference's order, since a test that gets
 * two things wrong sees only the first complaint.
 */
#include "config-host.h"

#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"
#include "util/iov.h"
#include "block/block.h"
#include "qemu-io.h"

/*
 * Read buffers are not filled: a request either fills all of them or
 * fails, and an untouched buffer costs nothing even when huge (a read far
 * past the end allocates its length before failing). Writes write 0xcd
 * without -P.
 */
#define READ_FILL (-1)
#define WRITE_FILL 0xcd

/* ---- running one request ------------------------------------------------- */

typedef enum IoOp {
    IO_READ,
    IO_WRITE,
    IO_ZEROES,
    IO_DISCARD,
} IoOp;

typedef struct IoRequest {
    IoOp op;
    BlockBackend *blk;
    int64_t offset;
    int64_t bytes;
    QEMUIOVector *qiov;
    BdrvRequestFlags flags;
    int ret;
    bool done;
} IoRequest;

static int coroutine_fn io_co_do(IoRequest *req)
{
    switch (req->op) {
    case IO_READ:
        return blk_co_preadv(req->blk, req->offset, req->bytes, req->qiov,
                             req->flags);
    case IO_WRITE:
        return blk_co_pwritev(req->blk, req->offset, req->bytes, req->qiov,
                              req->flags);
    case IO_ZEROES:
        return blk_co_pwrite_zeroes(req->blk, req->offset, req->bytes,
                                    req->flags);
    case IO_DISCARD:
        return blk_co_pdiscard(req->blk, req->offset, req->bytes);
    }
    return -EINVAL;
}

static void coroutine_fn io_co_entry(void *opaque)
{
    IoRequest *req = opaque;

    req->ret = io_co_do(req);
    req->done = true;
}

/* Runs one request to completion; returns 0 or -errno. */
static int do_io(IoOp op, BlockBackend *blk, int64_t offset, int64_t bytes,
                 QEMUIOVector *qiov, BdrvRequestFlags flags)
{
    IoRequest req = {
        .op = op, .blk = blk, .offset = offset, .bytes = bytes,
        .qiov = qiov, .flags = flags,
    };

    qemuio_run_co(io_co_entry, &req, &req.done);
    return req.ret < 0 ? req.ret : 0;
}

static int do_io_buf(IoOp op, BlockBackend *blk, void *buf, int64_t offset,
                     int64_t bytes, BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, buf, bytes);
    return do_io(op, blk, offset, bytes, &qiov, flags);
}

/*
 * -b: the VM state area. block.h has no access to it, so every format
 * answers as the reference's formats without one (raw) do.
 */
static int do_vmstate_io(BlockBackend *blk, void *buf, int64_t offset,
                         int64_t bytes, bool write)
{
    return -ENOTSUP;
}

static bool check_sector_aligned(int64_t value, const char *what)
{
    if (value & (BDRV_SECTOR_SIZE - 1)) {
        printf("%" PRId64 " is not a sector-aligned value for '%s'\n",
               value, what);
        return false;
    }
    return true;
}

/* First mismatch of buf[0, len) against pattern: true if all match. */
static bool pattern_matches(const uint8_t *buf, int pattern, int64_t len)
{
    int64_t i;

    for (i = 0; i < len; i++) {
        if (buf[i] != pattern) {
            return false;
        }
    }
    return true;
}

/* ---- read ---------------------------------------------------------------- */

static void read_help(void)
{
    printf("\n"
           " reads bytes at the given offset of the image\n"
           "\n"
           " Example:\n"
           " 'read -v 512 1k' - shows the kilobyte that starts 512 bytes in\n"
           "\n"
           " Reads a range of the open image and prints statistics about\n"
           " the request; -v also shows what was read, -P checks it.\n"
           " -b, -- read from the VM state area, not the disk\n"
           " -C, -- print statistics as one comma-separated line\n"
           " -l, -- length of the range -P checks (with -P only)\n"
           " -p, -- accepted and ignored (for old scripts)\n"
           " -P, -- check that every byte read equals this pattern\n"
           " -q, -- quiet: print no statistics\n"
           " -s, -- offset in the read data where -P checks start\n"
           " -v, -- show the data read as a hex dump\n"
           "\n");
}

static int read_f(BlockBackend *blk, int argc, char **argv)
{
    bool Cflag = false, qflag = false, vflag = false;
    bool Pflag = false, sflag = false, lflag = false, bflag = false;
    int64_t offset, count;
    int64_t pattern_offset = 0, pattern_count = 0;
    int pattern = 0;
    struct timespec t1, t2;
    uint8_t *buf;
    int c, ret;

    while ((c = qemuio_getopt(argc, argv, "bCl:pP:qs:v")) != -1) {
        switch (c) {
        case 'b':
            bflag = true;
            break;
        case 'C':
            Cflag = true;
            break;
        case 'l':
            lflag = true;
            pattern_count = cvtnum_arg(optarg);
            if (pattern_count < 0) {
                return (int)pattern_count;
            }
            break;
        case 'p':
            /* Ignored, as in the reference. */
            break;
        case 'P':
            Pflag = true;
            pattern = parse_pattern(optarg);
            if (pattern < 0) {
                return -EINVAL;
            }
            break;
        case 'q':
            qflag = true;
            break;
        case 's':
            sflag = true;
            pattern_offset = cvtnum_arg(optarg);
            if (pattern_offset < 0) {
                return (int)pattern_offset;
            }
            break;
        case 'v':
            vflag = true;
            break;
        default:
            qemuio_command_usage(&read_cmd);
            return -EINVAL;
        }
    }
    if (optind != argc - 2) {
        qemuio_command_usage(&read_cmd);
        return -EINVAL;
    }

    ret = parse_off_len(&argv[optind], &offset, &count, "");
    if (ret < 0) {
        return ret;
    }

    if (!Pflag && (lflag || sflag)) {
        qemuio_command_usage(&read_cmd);
        return -EINVAL;
    }
    if (!lflag) {
        pattern_count = count - pattern_offset;
    }
    if (pattern_count < 0 || pattern_offset > count ||
        pattern_count > count - pattern_offset) {
        printf("pattern verification range exceeds end of read data\n");
        return -EINVAL;
    }
    if (bflag && (!check_sector_aligned(offset, "offset") ||
                  !check_sector_aligned(count, "count"))) {
        return -EINVAL;
    }

    buf = qemu_io_alloc(blk, count, READ_FILL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (bflag) {
        ret = do_vmstate_io(blk, buf, offset, count, false);
    } else {
        ret = do_io_buf(IO_READ, blk, buf, offset, count, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t2);
    if (ret < 0) {
        printf("read failed: %s\n", strerror(-ret));
        goto out;
    }

    if (Pflag && !pattern_matches(buf + pattern_offset, pattern,
                                  pattern_count)) {
        printf("Pattern verification failed at offset %" PRId64 ", %"
               PRId64 " bytes\n", offset + pattern_offset, pattern_count);
        ret = -EINVAL;
    }
    if (qflag) {
        goto out;
    }
    if (vflag) {
        dump_buffer(buf, offset, count);
    }
    print_report("read", &t1, &t2, offset, count, count, 1, Cflag);

out:
    qemu_io_free(buf);
    return ret;
}

const CmdInfo read_cmd = {
    .name = "read",
    .cfunc = read_f,
    .argmin = 2,
    .argmax = -1,
    .args = "[-abCqv] [-P pattern [-s off] [-l len]] off len",
    .oneline = "reads a number of bytes at a specified offset",
    .help = read_help,
};

/* ---- readv --------------------------------------------------------------- */

static void readv_help(void)
{
    printf("\n"
           " reads bytes at the given offset into several buffers\n"
           "\n"
           " Example:\n"
           " 'readv -v 512 1k 1k ' - shows 2 kilobytes read into two\n"
           " buffers, starting 512 bytes into the image\n"
           "\n"
           " Reads a range of the open image with one request that has a\n"
           " buffer for each length given.\n"
           " -C, -- print statistics as one comma-separated line\n"
           " -P, -- check that every byte read equals this pattern\n"
           " -v, -- show the data read as a hex dump\n"
           " -q, -- quiet: print no statistics\n"
           "\n");
}

static int readv_f(BlockBackend *blk, int argc, char **argv)
{
    bool Cflag = false, qflag = false, vflag = false, Pflag = false;
    int pattern = 0;
    int64_t offset;
    QEMUIOVector qiov;
    struct timespec t1, t2;
    uint8_t *buf;
    int c, ret;

    while ((c = qemuio_getopt(argc, argv, "CP:qv")) != -1) {
        switch (c) {
        case 'C':
            Cflag = true;
            break;
        case 'P':
            Pflag = true;
            pattern = parse_pattern(optarg);
            if (pattern < 0) {
                return -EINVAL;
            }
            break;
        case 'q':
            qflag = true;
            break;
        case 'v':
            vflag = true;
            break;
        default:
            qemuio_command_usage(&readv_cmd);
            return -EINVAL;
        }
    }
    if (optind > argc - 2) {
        qemuio_command_usage(&readv_cmd);
        return -EINVAL;
    }

    buf = parse_off_iovec(blk, &argv[optind], argc - optind - 1, READ_FILL,
                          &offset, &qiov);
    if (!buf) {
        return -EINVAL;
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);
    ret = do_io(IO_READ, blk, offset, qiov.size, &qiov, 0);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    if (ret < 0) {
        printf("readv failed: %s\n", strerror(-ret));
        goto out;
    }

    /* The elements are consecutive parts of buf. */
    if (Pflag && !pattern_matches(buf, pattern, qiov.size)) {
        printf("Pattern verification failed at offset %" PRId64 ", %zu "
               "bytes\n", offset, qiov.size);
        ret = -EINVAL;
    }
    if (qflag) {
        goto out;
    }
    if (vflag) {
        dump_buffer(buf, offset, qiov.size);
    }
    print_report("read", &t1, &t2, offset, qiov.size, qiov.size, 1, Cflag);

out:
    qemu_iovec_destroy(&qiov);
    qemu_io_free(buf);
    return ret;
}

const CmdInfo readv_cmd = {
    .name = "readv",
    .cfunc = readv_f,
    .argmin = 2,
    .argmax = -1,
    .args = "[-Cqv] [-P pattern] off len [len..]",
    .oneline = "reads a number of bytes at a specified offset",
    .help = readv_help,
};

/* ---- write --------------------------------------------------------------- */

static void write_help(void)
{
    printf("\n"
           " writes bytes at the given offset of the image\n"
           "\n"
           " Example:\n"
           " 'write 512 1k' - writes a kilobyte starting 512 bytes in\n"
           "\n"
           " Writes a range of the open image from a buffer that holds the\n"
           " byte 0xcd unless -P, -s or -z say otherwise.\n"
           " -b, -- write to the VM state area, not the disk\n"
           " -c, -- write compressed clusters (whole, aligned ones)\n"
           " -f, -- ask for Force Unit Access (durable on completion)\n"
           " -n, -- with -z, fail rather than write zeroes slowly\n"
           " -p, -- accepted and ignored (for old scripts)\n"
           " -P, -- fill the buffer with this byte\n"
           " -s, -- fill the buffer with this file's bytes, repeated\n"
           " -C, -- print statistics as one comma-separated line\n"
           " -q, -- quiet: print no statistics\n"
           " -u, -- with -z, let the zeroed range become a hole\n"
           " -z, -- write zeroes (a zero write request, no buffer)\n"
           "\n");
}

/*
 * Fills buf[0, len) with the bytes of file, repeated as often as needed.
 * Prints the reason (on stderr, as perror does) and returns false on error.
 */
static bool fill_from_file(uint8_t *buf, int64_t len, const char *file)
{
    FILE *f = fopen(file, "r");
    size_t n;
    int64_t done;

    if (!f) {
        perror(file);
        return false;
    }
    n = fread(buf, 1, len, f);
    if (ferror(f)) {
        perror(file);
        fclose(f);
        return false;
    }
    fclose(f);
    if (n == 0) {
        fprintf(stderr, "%s: file is empty\n", file);
        return false;
    }
    /* Doubling copies: buf[0, done) always holds whole repetitions. */
    for (done = n; done < len; done += MIN(done, len - done)) {
        memcpy(buf + done, buf, MIN(done, len - done));
    }
    return true;
}

static int write_f(BlockBackend *blk, int argc, char **argv)
{
    bool Cflag = false, qflag = false, bflag = false;
    bool Pflag = false, zflag = false, cflag = false, sflag = false;
    BdrvRequestFlags flags = 0;
    int pattern = WRITE_FILL;
    const char *file = NULL;
    int64_t offset, count;
    struct timespec t1, t2;
    uint8_t *buf = NULL;
    int c, ret;

    while ((c = qemuio_getopt(argc, argv, "bcCfnpP:qs:uz")) != -1) {
        switch (c) {
        case 'b':
            bflag = true;
            break;
        case 'c':
            cflag = true;
            break;
        case 'C':
            Cflag = true;
            break;
        case 'f':
            flags |= BDRV_REQ_FUA;
            break;
        case 'n':
            flags |= BDRV_REQ_NO_FALLBACK;
            break;
        case 'p':
            /* Ignored, as in the reference. */
            break;
        case 'P':
            Pflag = true;
            pattern = parse_pattern(optarg);
            if (pattern < 0) {
                return -EINVAL;
            }
            break;
        case 'q':
            qflag = true;
            break;
        case 's':
            sflag = true;
            file = optarg;
            break;
        case 'u':
            flags |= BDRV_REQ_MAY_UNMAP;
            break;
        case 'z':
            zflag = true;
            break;
        default:
            qemuio_command_usage(&write_cmd);
            return -EINVAL;
        }
    }
    if (optind != argc - 2) {
        qemuio_command_usage(&write_cmd);
        return -EINVAL;
    }
    if (bflag && zflag) {
        printf("-b and -z cannot be specified at the same time\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_FUA) && (bflag || cflag)) {
        printf("-f and -b or -c cannot be specified at the same time\n");
        return -EINVAL;
    }
    if ((int)zflag + (int)Pflag + (int)sflag > 1) {
        printf("Only one of -z, -P, and -s can be specified at the same "
               "time\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_NO_FALLBACK) && !zflag) {
        printf("-n requires -z to be specified\n");
        return -EINVAL;
    }
    if ((flags & BDRV_REQ_MAY_UNMAP) && !zflag) {
        printf("-u requires -z to be specified\n");
        return -EINVAL;
    }

    /* Only a fast zero write may be larger than one request can carry. */
    ret = parse_off_len(&argv[optind], &offset, &count,
                        flags & BDRV_REQ_NO_FALLBACK ? NULL : " without -n");
    if (ret < 0) {
        return ret;
    }
    if ((bflag || cflag) && (!check_sector_aligned(offset, "offset") ||
                             !check_sector_aligned(count, "count"))) {
        return -EINVAL;
    }

    if (!zflag) {
        buf = qemu_io_alloc(blk, count, pattern);
        if (sflag && !fill_from_file(buf, count, file)) {
            ret = -EINVAL;
            goto out;
        }
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (bflag) {
        ret = do_vmstate_io(blk, buf, offset, count, true);
    } else if (zflag) {
        /* -c only asked for the alignment check: zeroes win. */
        ret = do_io(IO_ZEROES, blk, offset, count, NULL, flags);
    } else if (cflag) {
        ret = do_io_buf(IO_WRITE, blk, buf, offset, count,
                        BDRV_REQ_WRITE_COMPRESSED);
    } else {
        ret = do_io_buf(IO_WRITE, blk, buf, offset, count, flags);
    }
    clock_gettime(CLOCK_MONOTONIC, &t2);
    if (ret < 0) {
        printf("write failed: %s\n", strerror(-ret));
        goto out;
    }
    if (qflag) {
        goto out;
    }
    print_report("wrote", &t1, &t2, offset, count, count, 1, Cflag);

out:
    qemu_io_free(buf);
    return ret;
}

const CmdInfo write_cmd = {
    .name = "write",
    .cfunc = write_f,
    .argmin = 2,
    .argmax = -1,
    .needs_write = true,
    .args = "[-bcCfnquz] [-P pattern | -s source_file] off len",
    .oneline = "writes a number of bytes at a specified offset",
    .help = write_help,
};

/* ---- writev -------------------------------------------------------------- */

static void writev_help(void)
{
    printf("\n"
           " writes bytes at the given offset from several buffers\n"
           "\n"
           " Example:\n"
           " 'writev 512 1k 1k' - writes 2 kilobytes from two buffers,\n"
           " starting 512 bytes into the image\n"
           "\n"
           " Writes a range of the open image with one request that has a\n"
           " buffer for each length given, holding 0xcd unless -P is given.\n"
           " -P, -- fill the buffers with this byte\n"
           " -C, -- print statistics as one comma-separated line\n"
           " -f, -- ask for Force Unit Access (durable on completion)\n"
           " -q, -- quiet: print no statistics\n"
           "\n");
}

static int writev_f(BlockBackend *blk, int argc, char **argv)
{
    bool Cflag = false, qflag = false;
    BdrvRequestFlags flags = 0;
    int pattern = WRITE_FILL;
    int64_t offset;
    QEMUIOVector qiov;
    struct timespec t1, t2;
    uint8_t *buf;
    int c, ret;

    while ((c = qemuio_getopt(argc, argv, "CfqP:")) != -1) {
        switch (c) {
        case 'C':
            Cflag = true;
            break;
        case 'f':
            flags |= BDRV_REQ_FUA;
            break;
        case 'q':
            qflag = true;
            break;
        case 'P':
            pattern = parse_pattern(optarg);
            if (pattern < 0) {
                return -EINVAL;
            }
            break;
        default:
            qemuio_command_usage(&writev_cmd);
            return -EINVAL;
        }
    }
    if (optind > argc - 2) {
        qemuio_command_usage(&writev_cmd);
        return -EINVAL;
    }

    buf = parse_off_iovec(blk, &argv[optind], argc - optind - 1, pattern,
                          &offset, &qiov);
    if (!buf) {
        return -EINVAL;
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);
    ret = do_io(IO_WRITE, blk, offset, qiov.size, &qiov, flags);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    if (ret < 0) {
        printf("writev failed: %s\n", strerror(-ret));
        goto out;
    }
    if (qflag) {
        goto out;
    }
    print_report("wrote", &t1, &t2, offset, qiov.size, qiov.size, 1, Cflag);

out:
    qemu_iovec_destroy(&qiov);
    qemu_io_free(buf);
    return ret;
}

const CmdInfo writev_cmd = {
    .name = "writev",
    .cfunc = writev_f,
    .argmin = 2,
    .argmax = -1,
    .needs_write = true,
    .args = "[-Cfq] [-P pattern] off len [len..]",
    .oneline = "writes a number of bytes at a specified offset",
    .help = writev_help,
};

/* ---- discard ------------------------------------------------------------- */

static void discard_help(void)
{
    printf("\n"
           " discards bytes at the given offset of the image\n"
           "\n"
           " Example:\n"
           " 'discard 512 1k' - discards a kilobyte starting 512 bytes in\n"
           "\n"
           " Tells the image that a range is no longer needed (it takes\n"
           " effect only where the image was opened with discard=unmap).\n"
           " -C, -- print statistics as one comma-separated line\n"
           " -q, -- quiet: print no statistics\n"
           "\n");
}

static int discard_f(BlockBackend *blk, int argc, char **argv)
{
    bool Cflag = false, qflag = false;
    int64_t offset, count;
    struct timespec t1, t2;
    int c, ret;

    while ((c = qemuio_getopt(argc, argv, "Cq")) != -1) {
        switch (c) {
        case 'C':
            Cflag = true;
            break;
        case 'q':
            qflag = true;
            break;
        default:
            qemuio_command_usage(&discard_cmd);
            return -EINVAL;
        }
    }
    if (optind != argc - 2) {
        qemuio_command_usage(&discard_cmd);
        return -EINVAL;
    }

    ret = parse_off_len(&argv[optind], &offset, &count, "");
    if (ret < 0) {
        return ret;
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);
    ret = do_io(IO_DISCARD, blk, offset, count, NULL, 0);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    if (ret < 0) {
        printf("discard failed: %s\n", strerror(-ret));
        return ret;
    }
    if (!qflag) {
        print_report("discard", &t1, &t2, offset, count, count, 1, Cflag);
    }
    return 0;
}

const CmdInfo discard_cmd = {
    .name = "discard",
    .cfunc = discard_f,
    .argmin = 2,
    .argmax = -1,
    .needs_write = true,
    .args = "[-Cq] off len",
    .oneline = "discards a number of bytes at a specified offset",
    .help = discard_help,
};

/* ---- aio_read, aio_write, aio_flush -------------------------------------- */

/*
 * One asynchronous request: its coroutine runs the request and then prints
 * what the synchronous command would have, whenever that happens (during
 * a later command's I/O, a sleep, aio_flush or the final close). Its
 * errors are reported but do not fail the command that submitted it.
 */
typedef struct AioRequest {
    IoRequest req;
    void *buf;
    QEMUIOVector qiov;
    bool has_qiov;
    bool Cflag, qflag, vflag, Pflag;
    int pattern;
    struct timespec t1;
} AioRequest;

static int aio_in_flight;

static void coroutine_fn aio_co_entry(void *opaque)
{
    AioRequest *aio = opaque;
    IoRequest *req = &aio->req;
    bool is_read = req->op == IO_READ;
    struct timespec t2;
    int ret;

    ret = io_co_do(req);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    if (ret < 0) {
        printf("%s failed: %s\n", is_read ? "readv" : "aio_write",
               strerror(-ret));
        goto out;
    }
    if (is_read && aio->Pflag &&
        !pattern_matches(aio->buf, aio->pattern, req->bytes)) {
        printf("Pattern verification failed at offset %" PRId64 ", %"
               PRId64 " bytes\n", req->offset, req->bytes);
    }
    if (aio->qflag) {
        goto out;
    }
    if (is_read && aio->vflag) {
        dump_buffer(aio->buf, req->offset, req->bytes);
    }
    print_report(is_read ? "read" : "wrote", &aio->t1, &t2, req->offset,
                 req->bytes, req->bytes, 1, aio->Cflag);

out:
    if (aio->has_qiov) {
        qemu_iovec_destroy(&aio->qiov);
    }
    qemu_io_free(aio->buf);
    free(aio);
    aio_in_flight--;
}

static void aio_submit(AioRequest *aio)
{
    aio_in_flight++;
    clock_gettime(CLOCK_MONOTONIC, &aio->t1);
    qemu_coroutine_enter(qemu_coroutine_create(aio_co_entry, aio));
}

int qemuio_aio_in_flight(void)
{
    return aio_in_flight;
}

void qemuio_drain_aio(void)
{
    AioContext *ctx = qemu_get_aio_context();

    while (aio_in_flight > 0) {
        aio_poll(ctx, true);
    }
}

static void aio_read_help(void)
{
    printf("\n"
           " reads bytes at the given offset without waiting for them\n"
           "\n"
           " Example:\n"
           " 'aio_read -v 512 1k 1k ' - shows 2 kilobytes read into two\n"
           " buffers, starting 512 bytes into the image\n"
           "\n"
           " Like readv, but returns once the request is submitted; its\n"
           " results are printed when it completes, at the latest in\n"
           " aio_flush. The command succeeds whatever the request's fate.\n"
           " -C, -- print statistics as one comma-separated line\n"
           " -P, -- check that every byte read equals this pattern\n"
           " -i, -- submit nothing; count an invalid request instead\n"
           " -v, -- show the data read as a hex dump\n"
           " -q, -- quiet: print no statistics\n"
           "\n");
}

static int aio_read_f(BlockBackend *blk, int argc, char **argv)
{
    AioRequest *aio = xzalloc(sizeof(*aio));
    bool iflag = false;
    int64_t offset;
    int c;

    while ((c = qemuio_getopt(argc, argv, "CiP:qv")) != -1) {
        switch (c) {
        case 'C':
            aio->Cflag = true;
            break;
        case 'i':
            iflag = true;
            break;
        case 'P':
            aio->Pflag = true;
            aio->pattern = parse_pattern(optarg);
            if (aio->pattern < 0) {
                goto fail;
            }
            break;
        case 'q':
            aio->qflag = true;
            break;
        case 'v':
            aio->vflag = true;
            break;
        default:
            qemuio_command_usage(&aio_read_cmd);
            goto fail;
        }
    }
    if (iflag) {
        /* Only statistics would notice; the reference submits nothing. */
        printf("injecting invalid read request\n");
        free(aio);
        return 0;
    }
    if (optind > argc - 2) {
        qemuio_command_usage(&aio_read_cmd);
        goto fail;
    }

    aio->buf = parse_off_iovec(blk, &argv[optind], argc - optind - 1,
                               READ_FILL, &offset, &aio->qiov);
    if (!aio->buf) {
        goto fail;
    }
    aio->has_qiov = true;
    aio->req = (IoRequest) {
        .op = IO_READ, .blk = blk, .offset = offset,
        .bytes = aio->qiov.size, .qiov = &aio->qiov,
    };
    aio_submit(aio);
    return 0;

fail:
    free(aio);
    return -EINVAL;
}

const CmdInfo aio_read_cmd = {
    .name = "aio_read",
    .cfunc = aio_read_f,
    .argmin = 2,
    .argmax = -1,
    .args = "[-Ciqv] [-P pattern] off len [len..]",
    .oneline = "asynchronously reads a number of bytes",
    .help = aio_read_help,
};

static void aio_write_help(void)
{
    printf("\n"
           " writes bytes at the given offset without waiting\n"
           "\n"
           " Example:\n"
           " 'aio_write 512 1k 1k' - writes 2 kilobytes from two buffers,\n"
           " starting 512 bytes into the image\n"
           "\n"
           " Like writev, but returns once the request is submitted; its\n"
           " results are printed when it completes, at the latest in\n"
           " aio_flush. The command succeeds whatever the request's fate.\n"
           " -P, -- fill the buffers with this byte (default 0xcd)\n"
           " -C, -- print statistics as one comma-separated line\n"
           " -f, -- ask for Force Unit Access (durable on completion)\n"
           " -i, -- submit nothing; count an invalid request instead\n"
           " -q, -- quiet: print no statistics\n"
           " -u, -- with -z, let the zeroed range become a hole\n"
           " -z, -- write zeroes (a zero write request, no buffer)\n"
           "\n");
}

static int aio_write_f(BlockBackend *blk, int argc, char **argv)
{
    AioRequest *aio = xzalloc(sizeof(*aio));
    BdrvRequestFlags flags = 0;
    bool iflag = false, zflag = false;
    int pattern = WRITE_FILL;
    int64_t offset, count;
    int c;

    while ((c = qemuio_getopt(argc, argv, "CfiP:quz")) != -1) {
        switch (c) {
        case 'C':
            aio->Cflag = true;
            break;
        case 'f':
            flags |= BDRV_REQ_FUA;
            break;
        case 'i':
            iflag = true;
            break;
        case 'P':
            pattern = parse_pattern(optarg);
            if (pattern < 0) {
                goto fail;
            }
            break;
        case 'q':
            aio->qflag = true;
            break;
        case 'u':
            flags |= BDRV_REQ_MAY_UNMAP;
            break;
        case 'z':
            zflag = true;
            break;
        default:
            qemuio_command_usage(&aio_write_cmd);
            goto fail;
        }
    }
    if (iflag) {
        printf("injecting invalid write request\n");
        free(aio);
        return 0;
    }
    if (optind > argc - 2) {
        qemuio_command_usage(&aio_write_cmd);
        goto fail;
    }
    if ((flags & BDRV_REQ_MAY_UNMAP) && !zflag) {
        printf("-u requires -z to be specified\n");
        goto fail;
    }
    if (zflag && optind != argc - 2) {
        printf("-z supports only a single length parameter\n");
        goto fail;
    }

    if (zflag) {
        /* No length limit here: the block layer judges the request. */
        if (parse_off_len(&argv[optind], &offset, &count, NULL) < 0) {
            goto fail;
        }
        aio->req = (IoRequest) {
            .op = IO_ZEROES, .blk = blk, .offset = offset, .bytes = count,
            .flags = flags,
        };
    } else {
        aio->buf = parse_off_iovec(blk, &argv[optind], argc - optind - 1,
                                   pattern, &offset, &aio->qiov);
        if (!aio->buf) {
            goto fail;
        }
        aio->has_qiov = true;
        aio->req = (IoRequest) {
            .op = IO_WRITE, .blk = blk, .offset = offset,
            .bytes = aio->qiov.size, .qiov = &aio->qiov, .flags = flags,
        };
    }
    aio_submit(aio);
    return 0;

fail:
    free(aio);
    return -EINVAL;
}

const CmdInfo aio_write_cmd = {
    .name = "aio_write",
    .cfunc = aio_write_f,
    .argmin = 2,
    .argmax = -1,
    .needs_write = true,
    .args = "[-Cfiquz] [-P pattern] off len [len..]",
    .oneline = "asynchronously writes a number of bytes",
    .help = aio_write_help,
};

static int aio_flush_f(BlockBackend *blk, int argc, char **argv)
{
    qemuio_drain_aio();
    return 0;
}

const CmdInfo aio_flush_cmd = {
    .name = "aio_flush",
    .cfunc = aio_flush_f,
    .argmin = 0,
    .argmax = 0,
    .oneline = "completes all outstanding aio requests",
};
