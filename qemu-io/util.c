/*
 * Helpers the qemu-io commands share: parsing sizes and patterns, the
 * human and machine statistics lines, the hex dump, I/O buffers and running
 * block-layer coroutines to completion.
 *
 * The formats here are what tests match on (QEMU's test suite filters only
 * the numbers of the timing line), so each one follows the reference's
 * output exactly.
 */
#include "config-host.h"

#include <ctype.h>

#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"
#include "util/cutils.h"
#include "util/iov.h"
#include "block/block.h"
#include "qemu-io.h"

/* ---- numbers ------------------------------------------------------------- */

int64_t cvtnum_arg(const char *arg)
{
    uint64_t value;
    int err;

    err = qemu_strtosz(arg, NULL, &value);
    /* Offsets and lengths are signed in the block layer. */
    if (err == 0 && value > INT64_MAX) {
        err = -ERANGE;
    }
    switch (err) {
    case 0:
        return value;
    case -EINVAL:
        printf("Parsing error: non-numeric argument,"
               " or extraneous/unrecognized suffix -- %s\n", arg);
        break;
    case -ERANGE:
        printf("Parsing error: argument too large -- %s\n", arg);
        break;
    default:
        printf("Parsing error: %s\n", arg);
        break;
    }
    return err;
}

int parse_off_len(char **argv, int64_t *offset, int64_t *count,
                  const char *limit)
{
    *offset = cvtnum_arg(argv[0]);
    if (*offset < 0) {
        return (int)*offset;
    }
    *count = cvtnum_arg(argv[1]);
    if (*count < 0) {
        return (int)*count;
    }
    if (limit && *count > IO_MAX_BYTES) {
        printf("length cannot exceed %" PRId64 "%s, given %s\n",
               IO_MAX_BYTES, limit, argv[1]);
        return -EINVAL;
    }
    return 0;
}

int parse_pattern(const char *arg)
{
    char *end;
    long pattern;

    errno = 0;
    pattern = strtol(arg, &end, 0);
    if (errno || end == arg || *end || pattern < 0 || pattern > 0xff) {
        printf("%s is not a valid pattern byte\n", arg);
        return -1;
    }
    return (int)pattern;
}

/* ---- human-readable sizes and times -------------------------------------- */

void cvtstr(double value, char *str, size_t size)
{
    static const char *const units[] = {
        " KiB", " MiB", " GiB", " TiB", " PiB", " EiB",
    };
    const char *suffix = " bytes";
    double scale = 1;
    char *trim;
    int i;

    for (i = ARRAY_SIZE(units) - 1; i >= 0; i--) {
        double unit = (double)(INT64_C(1) << (10 * (i + 1)));

        if (value >= unit) {
            suffix = units[i];
            scale = unit;
            break;
        }
    }
    /*
     * Bytes keep printf's six decimals, larger units three; a fraction
     * that starts with ".000" is dropped altogether ("1 MiB" for 1048577
     * bytes, "0 bytes" for 0.0003), as the reference does.
     */
    if (i < 0) {
        snprintf(str, size, "%f", value);
    } else {
        snprintf(str, size, "%.3f", value / scale);
    }
    trim = strstr(str, ".000");
    if (trim) {
        *trim = '\0';
    }
    snprintf(str + strlen(str), size - strlen(str), "%s", suffix);
}

double tdiff(const struct timespec *start, const struct timespec *end)
{
    return (double)(end->tv_sec - start->tv_sec) +
           (double)(end->tv_nsec - start->tv_nsec) / 1e9;
}

/*
 * "00.12 sec" below one second, "0:00:02.86" from there on; -C always
 * uses the second form.
 */
static void timestr(double secs, char *str, size_t size, bool machine)
{
    uint64_t hundredths = (uint64_t)(secs * 100);
    uint64_t whole = hundredths / 100;

    if (!machine && whole == 0) {
        snprintf(str, size, "%02u.%02u sec", 0u,
                 (unsigned)(hundredths % 100));
        return;
    }
    snprintf(str, size, "%u:%02u:%02u.%02u", (unsigned)(whole / 3600),
             (unsigned)(whole / 60 % 60), (unsigned)(whole % 60),
             (unsigned)(hundredths % 100));
}

void print_report(const char *op, const struct timespec *start,
                  const struct timespec *end, int64_t offset, int64_t count,
                  int64_t total, int cnt, bool machine)
{
    char s1[64], s2[64], ts[64];
    double secs = tdiff(start, end);

    /* A clock that did not move still gives finite rates. */
    if (secs <= 0) {
        secs = 1e-9;
    }
    timestr(secs, ts, sizeof(ts), machine);
    if (machine) {
        printf("%" PRId64 ",%d,%s,%.3f,%.3f\n", total, cnt, ts,
               total / secs, cnt / secs);
        return;
    }
    printf("%s %" PRId64 "/%" PRId64 " bytes at offset %" PRId64 "\n", op,
           total, count, offset);
    cvtstr((double)total, s1, sizeof(s1));
    cvtstr(total / secs, s2, sizeof(s2));
    printf("%s, %d ops; %s (%s/sec and %.4f ops/sec)\n", s1, cnt, ts, s2,
           cnt / secs);
}

void dump_buffer(const void *buf, int64_t offset, int64_t len)
{
    const uint8_t *p = buf;
    int64_t i, j;

    for (i = 0; i < len; i += 16) {
        int64_t n = MIN(16, len - i);

        printf("%08" PRIx64 ":  ", (uint64_t)(offset + i));
        for (j = 0; j < n; j++) {
            printf("%02x ", p[i + j]);
        }
        printf(" ");
        for (j = 0; j < n; j++) {
            putchar(isalnum(p[i + j]) ? p[i + j] : '.');
        }
        printf("\n");
    }
}

/* ---- buffers ------------------------------------------------------------- */

/* -m shifts buffers by one sector so that they are only 512-aligned. */
#define MISALIGN_OFFSET 512

void *qemu_io_alloc(BlockBackend *blk, size_t len, int pattern)
{
    uint8_t *buf;

    if (qemuio_misalign) {
        len += MISALIGN_OFFSET;
    }
    buf = qemu_blockalign(len ? len : 1);
    if (pattern >= 0) {
        memset(buf, pattern, len);
    }
    if (qemuio_misalign) {
        buf += MISALIGN_OFFSET;
    }
    return buf;
}

void qemu_io_free(void *p)
{
    if (!p) {
        return;
    }
    if (qemuio_misalign) {
        p = (uint8_t *)p - MISALIGN_OFFSET;
    }
    qemu_vfree(p);
}

/*
 * Builds qiov from length words: one buffer element per length, filled
 * with pattern. Returns the buffer or NULL after printing the reason.
 */
static void *create_iovec(BlockBackend *blk, QEMUIOVector *qiov, char **argv,
                   int nr_iov, int pattern)
{
    int64_t *sizes = xnew(int64_t, nr_iov ? nr_iov : 1);
    int64_t count = 0;
    uint8_t *buf = NULL, *p;
    int i;

    for (i = 0; i < nr_iov; i++) {
        int64_t len = cvtnum_arg(argv[i]);

        if (len < 0) {
            goto out;
        }
        if (len > IO_MAX_BYTES) {
            printf("Argument '%s' exceeds maximum size %" PRId64 "\n",
                   argv[i], IO_MAX_BYTES);
            goto out;
        }
        if (count > IO_MAX_BYTES - len) {
            printf("The total number of bytes exceed the maximum size %"
                   PRId64 "\n", IO_MAX_BYTES);
            goto out;
        }
        sizes[i] = len;
        count += len;
    }

    qemu_iovec_init(qiov, nr_iov);
    buf = p = qemu_io_alloc(blk, count, pattern);
    for (i = 0; i < nr_iov; i++) {
        qemu_iovec_add(qiov, p, sizes[i]);
        p += sizes[i];
    }

out:
    free(sizes);
    return buf;
}

void *parse_off_iovec(BlockBackend *blk, char **argv, int nr_iov,
                      int pattern, int64_t *offset, QEMUIOVector *qiov)
{
    *offset = cvtnum_arg(argv[0]);
    if (*offset < 0) {
        return NULL;
    }
    return create_iovec(blk, qiov, argv + 1, nr_iov, pattern);
}

/* ---- coroutines ---------------------------------------------------------- */

void qemuio_run_co(void (*entry)(void *opaque), void *opaque, bool *done)
{
    AioContext *ctx = qemu_get_aio_context();
    Coroutine *co = qemu_coroutine_create(entry, opaque);

    qemu_coroutine_enter(co);
    while (!*done) {
        aio_poll(ctx, true);
    }
}
