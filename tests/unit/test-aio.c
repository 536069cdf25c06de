/*
 * Unit tests: the event loop (bottom halves, timers, fd handlers, coroutine
 * wake-up) and file I/O through each backend. A backend that cannot be set
 * up here (no io_uring in this kernel or sandbox, no Linux AIO) has its test
 * case left out with a note; the others still run.
 */
#include "config-host.h"

#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "util/aio.h"
#include "util/coroutine.h"
#include "util/error.h"
#include "util/iov.h"
#include "util/thread-pool.h"

#define SEC 1000000000LL

static void poll_until_count(int *n, int target)
{
    AioContext *ctx = qemu_get_aio_context();
    int64_t deadline = get_clock_ns() + 20 * SEC;

    while (*n < target) {
        aio_poll(ctx, true);
        ck_assert_msg(get_clock_ns() < deadline, "loop made no progress");
    }
}

/* A QEMUIOVector over iov without util/iov.c: only the fields we use. */
static void test_qiov_init(QEMUIOVector *qiov, struct iovec *iov, int niov)
{
    int i;

    memset(qiov, 0, sizeof(*qiov));
    qiov->iov = iov;
    qiov->niov = niov;
    qiov->nalloc = -1;
    for (i = 0; i < niov; i++) {
        qiov->size += iov[i].iov_len;
    }
}

/* ---- bottom halves ------------------------------------------------------- */

typedef struct {
    char log[32];
    int n;
} Log;

static void log_bh(void *opaque)
{
    Log *l = opaque;

    char c = (char)('a' + l->n);

    l->log[l->n++] = c;
}

static void resched_bh(void *opaque)
{
    Log *l = opaque;

    l->log[l->n++] = 'R';
    if (l->n < 3) {
        aio_bh_schedule_oneshot(qemu_get_aio_context(), resched_bh, l);
    }
}

START_TEST(test_bh_order)
{
    AioContext *ctx = qemu_get_aio_context();
    Log l = { { 0 } };

    ck_assert(!aio_poll(ctx, false));       /* nothing to do */
    aio_bh_schedule_oneshot(ctx, log_bh, &l);
    aio_bh_schedule_oneshot(ctx, log_bh, &l);
    aio_bh_schedule_oneshot(ctx, log_bh, &l);
    ck_assert_int_eq(l.n, 0);               /* not run at once */
    ck_assert(aio_poll(ctx, false));
    ck_assert_str_eq(l.log, "abc");
    ck_assert(!aio_poll(ctx, false));       /* one-shot */
}
END_TEST

START_TEST(test_bh_reschedule_next_turn)
{
    AioContext *ctx = qemu_get_aio_context();
    Log l = { { 0 } };

    aio_bh_schedule_oneshot(ctx, resched_bh, &l);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(l.n, 1);               /* its successor waits a turn */
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(l.n, 2);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(l.n, 3);
    ck_assert(!aio_poll(ctx, false));
}
END_TEST

/* ---- timers -------------------------------------------------------------- */

typedef struct {
    Log *log;
    char name;
    int64_t fired_at;
} TimerArg;

static void timer_cb(void *opaque)
{
    TimerArg *t = opaque;

    t->fired_at = get_clock_ns();
    t->log->log[t->log->n++] = t->name;
}

START_TEST(test_timers)
{
    AioContext *ctx = qemu_get_aio_context();
    Log l = { { 0 } };
    TimerArg a[4] = { { &l, 'a' }, { &l, 'b' }, { &l, 'c' }, { &l, 'd' } };
    QEMUTimer *t[4];
    int64_t start = get_clock_ns();
    int i;

    for (i = 0; i < 4; i++) {
        t[i] = aio_timer_new(ctx, timer_cb, &a[i]);
    }
    timer_mod(t[0], start + 40000000);
    timer_mod(t[1], start + 10000000);
    timer_mod(t[2], start + 20000000);
    timer_mod(t[3], start + 5000000);
    timer_mod(t[2], start + 30000000);      /* re-armed: later */
    timer_del(t[3]);                         /* never fires */
    timer_del(t[3]);                         /* idempotent */

    poll_until_count(&l.n, 3);
    ck_assert_str_eq(l.log, "bca");
    ck_assert_int_ge(a[1].fired_at - start, 10000000);
    ck_assert_int_ge(a[2].fired_at - start, 30000000);
    ck_assert_int_ge(a[0].fired_at - start, 40000000);
    /* A blocking poll waited in the kernel, it did not spin to 40 ms. */
    ck_assert_int_lt(a[0].fired_at - start, 1 * SEC);

    /* A timer already due fires on the next turn; one-shot. */
    timer_mod(t[3], 0);
    ck_assert(aio_poll(ctx, true));
    ck_assert_str_eq(l.log, "bcad");
    ck_assert(!aio_poll(ctx, false));
    for (i = 0; i < 4; i++) {
        timer_free(t[i]);
    }
}
END_TEST

/* Timers with the same deadline fire in the order they were armed. */
START_TEST(test_timers_same_deadline)
{
    AioContext *ctx = qemu_get_aio_context();
    Log l = { { 0 } };
    TimerArg a[3] = { { &l, 'x' }, { &l, 'y' }, { &l, 'z' } };
    QEMUTimer *t[3];
    int64_t when = get_clock_ns() + 2000000;
    int i;

    for (i = 0; i < 3; i++) {
        t[i] = aio_timer_new(ctx, timer_cb, &a[i]);
        timer_mod(t[i], when);
    }
    poll_until_count(&l.n, 3);
    ck_assert_str_eq(l.log, "xyz");
    for (i = 0; i < 3; i++) {
        timer_free(t[i]);
    }
}
END_TEST

/* ---- fd handlers --------------------------------------------------------- */

typedef struct {
    int fd;
    int reads;
    int writes;
    char buf[16];
} PipeState;

static void pipe_read_cb(void *opaque)
{
    PipeState *p = opaque;
    ssize_t n = read(p->fd, p->buf, sizeof(p->buf));

    ck_assert_int_gt(n, 0);
    p->reads++;
}

static void pipe_write_cb(void *opaque)
{
    PipeState *p = opaque;

    p->writes++;
    /* Writable all the time: stop watching after the first call. */
    aio_set_fd_handler(qemu_get_aio_context(), p->fd, NULL, NULL, NULL);
}

START_TEST(test_fd_handlers)
{
    AioContext *ctx = qemu_get_aio_context();
    PipeState rd = { 0 }, wr = { 0 };
    int fds[2];

    ck_assert_int_eq(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    rd.fd = fds[0];
    wr.fd = fds[1];
    aio_set_fd_handler(ctx, rd.fd, pipe_read_cb, NULL, &rd);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(rd.reads, 0);

    ck_assert_int_eq(write(fds[1], "hello", 5), 5);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(rd.reads, 1);
    ck_assert_mem_eq(rd.buf, "hello", 5);

    aio_set_fd_handler(ctx, wr.fd, NULL, pipe_write_cb, &wr);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(wr.writes, 1);
    ck_assert(!aio_poll(ctx, false));

    /* Removed: data waiting in the pipe no longer calls it. */
    aio_set_fd_handler(ctx, rd.fd, NULL, NULL, NULL);
    ck_assert_int_eq(write(fds[1], "x", 1), 1);
    ck_assert(!aio_poll(ctx, false));
    ck_assert_int_eq(rd.reads, 1);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

/* ---- waking coroutines --------------------------------------------------- */

static void coroutine_fn wake_target(void *opaque)
{
    int *n = opaque;

    (*n)++;
    qemu_coroutine_yield();
    (*n)++;
}

typedef struct {
    Coroutine *target;
    int *n;
    int seen;
} WakerArg;

static void coroutine_fn waker(void *opaque)
{
    WakerArg *w = opaque;

    /* Inside a coroutine: scheduled, not entered from here. */
    aio_co_wake(w->target);
    w->seen = *w->n;
}

START_TEST(test_co_wake)
{
    AioContext *ctx = qemu_get_aio_context();
    int n = 0;
    Coroutine *co = qemu_coroutine_create(wake_target, &n);
    WakerArg w;

    qemu_coroutine_enter(co);
    ck_assert_int_eq(n, 1);
    aio_co_wake(co);                     /* outside: entered at once */
    ck_assert_int_eq(n, 2);

    n = 0;
    co = qemu_coroutine_create(wake_target, &n);
    qemu_coroutine_enter(co);
    w = (WakerArg){ co, &n, -1 };
    qemu_coroutine_enter(qemu_coroutine_create(waker, &w));
    ck_assert_int_eq(w.seen, 1);
    ck_assert_int_eq(n, 1);
    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(n, 2);

    n = 0;
    co = qemu_coroutine_create(wake_target, &n);
    aio_co_schedule(ctx, co);            /* even a fresh one */
    ck_assert_int_eq(n, 0);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(n, 1);
    aio_co_schedule(ctx, co);
    ck_assert(aio_poll(ctx, true));
    ck_assert_int_eq(n, 2);
}
END_TEST

START_TEST(test_double_schedule_aborts)
{
    AioContext *ctx = qemu_get_aio_context();
    int n = 0;
    Coroutine *co = qemu_coroutine_create(wake_target, &n);

    aio_co_schedule(ctx, co);
    aio_co_schedule(ctx, co);
}
END_TEST

START_TEST(test_backend_names)
{
    AioBackend b;

    ck_assert(aio_backend_parse("threads", &b));
    ck_assert_int_eq(b, AIO_BACKEND_THREADS);
    ck_assert(aio_backend_parse("native", &b));
    ck_assert_int_eq(b, AIO_BACKEND_NATIVE);
    ck_assert(aio_backend_parse("io_uring", &b));
    ck_assert_int_eq(b, AIO_BACKEND_IO_URING);
    ck_assert(!aio_backend_parse("io-uring", &b));
    ck_assert(!aio_backend_parse("", &b));
    ck_assert_str_eq(aio_backend_name(AIO_BACKEND_IO_URING), "io_uring");
    ck_assert_str_eq(aio_backend_name(AIO_BACKEND_NATIVE), "native");
    ck_assert_str_eq(aio_backend_name(AIO_BACKEND_THREADS), "threads");
}
END_TEST

/* ---- file I/O, per backend ----------------------------------------------- */

/* The backend under test: set by each TCase's fixture. */
static AioBackend cur_backend;
static bool cur_direct;         /* native: files opened with O_DIRECT */
static char tmp_path[4096];

#define ALIGN 4096

static void *abuf(size_t len)
{
    void *p = NULL;

    ck_assert_int_eq(posix_memalign(&p, ALIGN, len ? len : 1), 0);
    return p;
}

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 7 + (off >> 12) + 1);
}

static void fill_pattern(uint8_t *buf, uint64_t off, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        buf[i] = pattern(off + i);
    }
}

/* A temp file of 'size' bytes holding pattern(), opened for the backend. */
static int make_file(size_t size)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    uint8_t *buf = abuf(size);
    int fd, flags = O_RDWR | O_CLOEXEC;

    snprintf(tmp_path, sizeof(tmp_path), "%s/test-aio-XXXXXX", dir);
    fd = mkstemp(tmp_path);
    ck_assert_int_ge(fd, 0);
    fill_pattern(buf, 0, size);
    ck_assert_int_eq(pwrite(fd, buf, size, 0), (ssize_t)size);
    free(buf);
    if (cur_direct) {
        int dfd = open(tmp_path, flags | O_DIRECT);

        /* tmpfs and some others refuse O_DIRECT: test buffered then. */
        if (dfd >= 0) {
            close(fd);
            fd = dfd;
        }
    }
    unlink(tmp_path);
    return fd;
}

typedef struct {
    int fd;
    int64_t offset;
    QEMUIOVector *qiov;
    AioFileOp op;
    int64_t ret;
    int *done;
} IoArg;

static void coroutine_fn io_entry(void *opaque)
{
    IoArg *a = opaque;

    a->ret = aio_co_file_io(qemu_get_aio_context(), cur_backend, a->fd,
                            a->offset, a->qiov, a->op);
    (*a->done)++;
}

/* Runs one request in a coroutine and the loop until it is done. */
static int64_t run_io(int fd, int64_t offset, QEMUIOVector *qiov,
                      AioFileOp op)
{
    int done = 0;
    IoArg a = { fd, offset, qiov, op, INT64_MIN, &done };

    qemu_coroutine_enter(qemu_coroutine_create(io_entry, &a));
    poll_until_count(&done, 1);
    ck_assert_int_eq(aio_inflight_requests(qemu_get_aio_context()), 0);
    return a.ret;
}

static int64_t run_io_buf(int fd, int64_t offset, void *buf, size_t len,
                          AioFileOp op)
{
    struct iovec iov = { buf, len };
    QEMUIOVector qiov;

    test_qiov_init(&qiov, &iov, 1);
    return run_io(fd, offset, &qiov, op);
}

static void check_pattern(const uint8_t *buf, uint64_t off, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (buf[i] != pattern(off + i)) {
            ck_abort_msg("byte %zu of a read at %" PRIu64 " is wrong",
                         i, off);
        }
    }
}

static void backend_setup(void)
{
    Error *err = NULL;

    ck_assert_int_eq(aio_file_backend_init(qemu_get_aio_context(),
                                           cur_backend, &err), 0);
    /* Idempotent. */
    ck_assert_int_eq(aio_file_backend_init(qemu_get_aio_context(),
                                           cur_backend, &err), 0);
}

static void setup_io_uring(void)
{
    cur_backend = AIO_BACKEND_IO_URING;
    cur_direct = false;
    backend_setup();
}

static void setup_native(void)
{
    cur_backend = AIO_BACKEND_NATIVE;
    cur_direct = true;
    backend_setup();
}

static void setup_threads(void)
{
    cur_backend = AIO_BACKEND_THREADS;
    cur_direct = false;
    backend_setup();
}

START_TEST(test_io_read_offsets)
{
    /* O_DIRECT needs sector multiples; the others get odd ones too. */
    static const struct { int64_t off; size_t len; } direct_cases[] = {
        { 0, 4096 }, { 4096, 8192 }, { 65536, 4096 }, { 12288, 131072 },
        { 1 << 20, 512 * 1024 },
    };
    static const struct { int64_t off; size_t len; } any_cases[] = {
        { 1, 1 }, { 511, 513 }, { 4095, 3 }, { 100000, 77777 },
        { (1 << 20) + 3, 300000 },
    };
    size_t file_size = 2 << 20;
    int fd = make_file(file_size);
    size_t i;

    for (i = 0; i < ARRAY_SIZE(direct_cases); i++) {
        uint8_t *buf = abuf(direct_cases[i].len);

        ck_assert_int_eq(run_io_buf(fd, direct_cases[i].off, buf,
                                    direct_cases[i].len, AIO_OP_READ),
                         (int64_t)direct_cases[i].len);
        check_pattern(buf, direct_cases[i].off, direct_cases[i].len);
        free(buf);
    }
    for (i = 0; !cur_direct && i < ARRAY_SIZE(any_cases); i++) {
        uint8_t *buf = abuf(any_cases[i].len);

        ck_assert_int_eq(run_io_buf(fd, any_cases[i].off, buf,
                                    any_cases[i].len, AIO_OP_READ),
                         (int64_t)any_cases[i].len);
        check_pattern(buf, any_cases[i].off, any_cases[i].len);
        free(buf);
    }
    close(fd);
}
END_TEST

START_TEST(test_io_write_read_back)
{
    static const struct { int64_t off; size_t len; } cases[] = {
        { 0, 4096 }, { 8192, 65536 }, { 3 << 20, 4096 },    /* extends */
        { 5 << 20, 1 << 20 },
    };
    int fd = make_file(1 << 20);
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        uint8_t *buf = abuf(cases[i].len);
        uint8_t *check = malloc(cases[i].len);

        fill_pattern(buf, cases[i].off ^ 0x5555, cases[i].len);
        ck_assert_int_eq(run_io_buf(fd, cases[i].off, buf, cases[i].len,
                                    AIO_OP_WRITE), (int64_t)cases[i].len);
        memset(buf, 0, cases[i].len);
        ck_assert_int_eq(run_io_buf(fd, cases[i].off, buf, cases[i].len,
                                    AIO_OP_READ), (int64_t)cases[i].len);
        fill_pattern(check, cases[i].off ^ 0x5555, cases[i].len);
        ck_assert_mem_eq(buf, check, cases[i].len);
        free(buf);
        free(check);
    }
    ck_assert_int_eq(run_io(fd, 0, NULL, AIO_OP_FDATASYNC), 0);
    ck_assert_int_eq(run_io(fd, 0, NULL, AIO_OP_FSYNC), 0);
    close(fd);
}
END_TEST

START_TEST(test_io_unaligned_write)
{
    int fd = make_file(1 << 16);
    uint8_t buf[1000], out[3000];

    memset(buf, 0xab, sizeof(buf));
    ck_assert_int_eq(run_io_buf(fd, 1001, buf, sizeof(buf), AIO_OP_WRITE),
                     1000);
    ck_assert_int_eq(pread(fd, out, sizeof(out), 0), (ssize_t)sizeof(out));
    check_pattern(out, 0, 1001);
    ck_assert_mem_eq(out + 1001, buf, 1000);
    check_pattern(out + 2001, 2001, 999);
    close(fd);
}
END_TEST

START_TEST(test_io_short_read_eof)
{
    /* 2.5 sectors past 8 KiB: not a multiple of anything large. */
    size_t file_size = 8192 + 2048 + 512;
    int fd = make_file(file_size);
    uint8_t *buf = abuf(16384);

    ck_assert_int_eq(run_io_buf(fd, 8192, buf, 8192, AIO_OP_READ), 2560);
    check_pattern(buf, 8192, 2560);
    /* Entirely past the end. */
    ck_assert_int_eq(run_io_buf(fd, 16384, buf, 4096, AIO_OP_READ), 0);
    /* Across the end with several iovecs. */
    {
        struct iovec iov[3] = {
            { buf, 4096 }, { buf + 4096, 4096 }, { buf + 8192, 4096 },
        };
        QEMUIOVector qiov;

        memset(buf, 0, 16384);
        test_qiov_init(&qiov, iov, 3);
        ck_assert_int_eq(run_io(fd, 4096, &qiov, AIO_OP_READ),
                         (int64_t)file_size - 4096);
        check_pattern(buf, 4096, file_size - 4096);
    }
    free(buf);
    close(fd);
}
END_TEST

START_TEST(test_io_iovecs)
{
    size_t file_size = 8 << 20;
    int fd = make_file(file_size);
    /* Element sizes: sector multiples (for O_DIRECT) of different lengths */
    static const size_t lens[] = { 4096, 512, 8192, 1024, 65536, 3584 };
    struct iovec iov[ARRAY_SIZE(lens)];
    QEMUIOVector qiov;
    size_t total = 0, i;
    uint8_t *bufs[ARRAY_SIZE(lens)];
    int64_t off = 3 << 20;

    for (i = 0; i < ARRAY_SIZE(lens); i++) {
        bufs[i] = abuf(lens[i]);
        iov[i] = (struct iovec){ bufs[i], lens[i] };
        total += lens[i];
    }
    test_qiov_init(&qiov, iov, ARRAY_SIZE(lens));
    ck_assert_int_eq(run_io(fd, off, &qiov, AIO_OP_READ), (int64_t)total);
    for (i = 0; i < ARRAY_SIZE(lens); i++) {
        check_pattern(bufs[i], off, lens[i]);
        off += lens[i];
    }

    /* Write through the vector, read back flat. */
    for (i = 0; i < ARRAY_SIZE(lens); i++) {
        memset(bufs[i], (int)(0x10 + i), lens[i]);
    }
    ck_assert_int_eq(run_io(fd, 1 << 20, &qiov, AIO_OP_WRITE),
                     (int64_t)total);
    {
        uint8_t *flat = abuf(total);
        size_t pos = 0;

        ck_assert_int_eq(pread(fd, flat, total, 1 << 20), (ssize_t)total);
        for (i = 0; i < ARRAY_SIZE(lens); i++) {
            ck_assert_mem_eq(flat + pos, bufs[i], lens[i]);
            pos += lens[i];
        }
        free(flat);
    }
    for (i = 0; i < ARRAY_SIZE(lens); i++) {
        free(bufs[i]);
    }
    close(fd);
}
END_TEST

/* More elements than one system call takes (1024): split and continued. */
START_TEST(test_io_many_iovecs)
{
    enum { N = 2500, ELEM = 4096 };
    size_t file_size = (size_t)N * ELEM + 8192;
    int fd = make_file(file_size);
    uint8_t *buf = abuf((size_t)N * ELEM);
    struct iovec *iov = calloc(N, sizeof(*iov));
    QEMUIOVector qiov;
    int i;

    /* Elements in reverse order in memory: each must land where it should */
    for (i = 0; i < N; i++) {
        iov[i] = (struct iovec){ buf + (size_t)(N - 1 - i) * ELEM, ELEM };
    }
    test_qiov_init(&qiov, iov, N);
    ck_assert_int_eq(run_io(fd, 8192, &qiov, AIO_OP_READ),
                     (int64_t)N * ELEM);
    for (i = 0; i < N; i++) {
        check_pattern(iov[i].iov_base, 8192 + (uint64_t)i * ELEM, ELEM);
    }
    free(iov);
    free(buf);
    close(fd);
}
END_TEST

START_TEST(test_io_errors)
{
    int fd = make_file(65536);
    uint8_t *buf = abuf(4096);
    int ro, wo;
    char path[64];

    /* The file was unlinked; use /proc to get a read-only and write-only fd */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ro = open(path, O_RDONLY | (cur_direct ? O_DIRECT : 0));
    wo = open(path, O_WRONLY | (cur_direct ? O_DIRECT : 0));
    ck_assert_int_ge(ro, 0);
    ck_assert_int_ge(wo, 0);
    ck_assert_int_eq(run_io_buf(wo, 0, buf, 4096, AIO_OP_READ), -EBADF);
    ck_assert_int_eq(run_io_buf(ro, 0, buf, 4096, AIO_OP_WRITE), -EBADF);
    ck_assert_int_eq(run_io_buf(fd, -4096, buf, 4096, AIO_OP_READ), -EINVAL);
    /* Empty requests complete without I/O. */
    ck_assert_int_eq(run_io_buf(fd, 0, buf, 0, AIO_OP_READ), 0);
    close(ro);
    close(wo);
    free(buf);
    close(fd);
}
END_TEST

/* 64 requests in flight at once, each on its own block. */
#define DEPTH 64

typedef struct {
    int fd;
    int index;
    uint8_t *buf;
    int64_t ret;
    int *done;
    bool write;
} ConcArg;

static void coroutine_fn conc_entry(void *opaque)
{
    ConcArg *a = opaque;
    struct iovec iov = { a->buf, 4096 };
    QEMUIOVector qiov;

    test_qiov_init(&qiov, &iov, 1);
    /* Scatter the blocks: request i goes to block (i * 37) % 256. */
    a->ret = aio_co_file_io(qemu_get_aio_context(), cur_backend, a->fd,
                            (int64_t)((a->index * 37) % 256) * 4096, &qiov,
                            a->write ? AIO_OP_WRITE : AIO_OP_READ);
    (*a->done)++;
}

static void run_concurrent(int fd, ConcArg *args, bool write)
{
    AioContext *ctx = qemu_get_aio_context();
    int done = 0, i;

    for (i = 0; i < DEPTH; i++) {
        args[i].fd = fd;
        args[i].index = i;
        args[i].done = &done;
        args[i].write = write;
        args[i].ret = INT64_MIN;
        qemu_coroutine_enter(qemu_coroutine_create(conc_entry, &args[i]));
    }
    /* All queued before the loop runs (one submission for io_uring). */
    ck_assert_int_eq(aio_inflight_requests(ctx), DEPTH);
    ck_assert_int_eq(done, 0);
    poll_until_count(&done, DEPTH);
    ck_assert_int_eq(aio_inflight_requests(ctx), 0);
    for (i = 0; i < DEPTH; i++) {
        ck_assert_int_eq(args[i].ret, 4096);
    }
}

START_TEST(test_io_concurrent)
{
    int fd = make_file(256 * 4096);
    ConcArg args[DEPTH];
    int i;

    for (i = 0; i < DEPTH; i++) {
        args[i].buf = abuf(4096);
    }
    run_concurrent(fd, args, false);
    for (i = 0; i < DEPTH; i++) {
        check_pattern(args[i].buf, (uint64_t)((i * 37) % 256) * 4096, 4096);
        memset(args[i].buf, i + 1, 4096);
    }
    run_concurrent(fd, args, true);
    for (i = 0; i < DEPTH; i++) {
        uint8_t *check = abuf(4096);

        ck_assert_int_eq(pread(fd, check, 4096, ((i * 37) % 256) * 4096),
                         4096);
        ck_assert_mem_eq(check, args[i].buf, 4096);
        free(check);
        free(args[i].buf);
    }
    close(fd);
}
END_TEST

/* More requests than the ring/context has room for at once. */
START_TEST(test_io_overflow)
{
    enum { N = 1000 };
    int fd = make_file(256 * 4096);
    ConcArg *args = calloc(N, sizeof(*args));
    int done = 0, i;

    for (i = 0; i < N; i++) {
        args[i] = (ConcArg){ fd, i % 256, abuf(4096), INT64_MIN, &done };
        qemu_coroutine_enter(qemu_coroutine_create(conc_entry, &args[i]));
    }
    poll_until_count(&done, N);
    for (i = 0; i < N; i++) {
        ck_assert_int_eq(args[i].ret, 4096);
        check_pattern(args[i].buf, (uint64_t)((args[i].index * 37) % 256) *
                      4096, 4096);
        free(args[i].buf);
    }
    free(args);
    close(fd);
}
END_TEST

/*
 * Once a backend is set up (for io_uring: the loop now blocks in the ring),
 * timers, fd handlers and thread-pool completions still wake the loop.
 */
typedef struct {
    int *done;
    int64_t slept;
} LoopArg;

static void coroutine_fn loop_sleeper(void *opaque)
{
    LoopArg *a = opaque;
    int64_t start = get_clock_ns();

    qemu_co_sleep_ns(20000000);
    a->slept = get_clock_ns() - start;
    (*a->done)++;
}

static void loop_pipe_cb(void *opaque)
{
    LoopArg *a = opaque;
    int *fds = (int *)(a + 1);
    char c;

    ck_assert_int_eq(read(fds[0], &c, 1), 1);
    aio_set_fd_handler(qemu_get_aio_context(), fds[0], NULL, NULL, NULL);
    (*a->done)++;
}

static int loop_write_job(void *opaque)
{
    int *fds = opaque;
    struct timespec ts = { 0, 5000000 };

    nanosleep(&ts, NULL);
    return (int)write(fds[1], "!", 1);
}

static void coroutine_fn loop_writer(void *opaque)
{
    LoopArg *a = opaque;
    int *fds = (int *)(a + 1);

    /* Written from a pool worker while the loop waits. */
    ck_assert_int_eq(thread_pool_co_run(loop_write_job, fds), 1);
    (*a->done)++;
}

START_TEST(test_loop_events)
{
    AioContext *ctx = qemu_get_aio_context();
    int done = 0;
    struct {
        LoopArg a;
        int fds[2];
    } st = { { &done, 0 } };
    int64_t start = get_clock_ns();

    ck_assert_int_eq(pipe2(st.fds, O_NONBLOCK | O_CLOEXEC), 0);
    aio_set_fd_handler(ctx, st.fds[0], loop_pipe_cb, NULL, &st.a);
    qemu_coroutine_enter(qemu_coroutine_create(loop_sleeper, &st.a));
    qemu_coroutine_enter(qemu_coroutine_create(loop_writer, &st.a));
    poll_until_count(&done, 3);
    ck_assert_int_ge(st.a.slept, 20000000);
    ck_assert_int_lt(get_clock_ns() - start, 1 * SEC);
    close(st.fds[0]);
    close(st.fds[1]);
}
END_TEST

/*
 * Completions that arrive while nobody waits (O_DIRECT reads finish from an
 * interrupt) are found by non-blocking polls alone: a caller that spins on
 * aio_poll(ctx, false) must not spin forever.
 */
START_TEST(test_io_nonblocking_poll)
{
    AioContext *ctx = qemu_get_aio_context();
    int fd = make_file(1 << 20);
    int dfd, done = 0, i;
    char path[64];
    int64_t deadline = get_clock_ns() + 10 * SEC;
    ConcArg args[8];

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    dfd = open(path, O_RDWR | O_DIRECT);
    if (dfd < 0) {
        dfd = dup(fd);      /* no O_DIRECT on this file system */
    }
    for (i = 0; i < 8; i++) {
        args[i] = (ConcArg){ dfd, i, abuf(4096), INT64_MIN, &done };
        qemu_coroutine_enter(qemu_coroutine_create(conc_entry, &args[i]));
    }
    while (done < 8) {
        aio_poll(ctx, false);
        ck_assert_msg(get_clock_ns() < deadline, "completions not seen");
    }
    for (i = 0; i < 8; i++) {
        ck_assert_int_eq(args[i].ret, 4096);
        check_pattern(args[i].buf, (uint64_t)((i * 37) % 256) * 4096, 4096);
        free(args[i].buf);
    }
    close(dfd);
    close(fd);
}
END_TEST

/*
 * Creates a test case for a backend if it can be set up here; probes in a
 * child so that no ring or context is inherited by the tests' children.
 */
static bool backend_available(AioBackend backend, char *why, size_t len)
{
    int pipefd[2], status;
    pid_t pid;
    ssize_t n;

    if (pipe(pipefd) < 0) {
        snprintf(why, len, "pipe: %s", strerror(errno));
        return false;
    }
    pid = fork();
    if (pid == 0) {
        Error *err = NULL;

        close(pipefd[0]);
        if (aio_file_backend_init(qemu_get_aio_context(), backend,
                                  &err) < 0) {
            const char *msg = error_get_pretty(err);

            if (write(pipefd[1], msg, strlen(msg)) < 0) {
                _exit(2);
            }
            _exit(1);
        }
        _exit(0);
    }
    close(pipefd[1]);
    n = read(pipefd[0], why, len - 1);
    why[n > 0 ? n : 0] = '\0';
    close(pipefd[0]);
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void add_backend_tcase(Suite *s, AioBackend backend,
                              void (*setup)(void))
{
    char why[256];
    TCase *tc;

    if (!backend_available(backend, why, sizeof(why))) {
        printf("SKIP %s: %s\n", aio_backend_name(backend), why);
        return;
    }
    tc = tcase_create(aio_backend_name(backend));
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_io_read_offsets);
    tcase_add_test(tc, test_io_write_read_back);
    if (backend != AIO_BACKEND_NATIVE) {
        /* With O_DIRECT the caller aligns, by contract. */
        tcase_add_test(tc, test_io_unaligned_write);
    }
    tcase_add_test(tc, test_io_short_read_eof);
    tcase_add_test(tc, test_io_iovecs);
    tcase_add_test(tc, test_io_many_iovecs);
    tcase_add_test(tc, test_io_errors);
    tcase_add_test(tc, test_io_concurrent);
    tcase_add_test(tc, test_io_overflow);
    tcase_add_test(tc, test_io_nonblocking_poll);
    tcase_add_test(tc, test_loop_events);
    suite_add_tcase(s, tc);
}

static Suite *aio_suite(void)
{
    Suite *s = suite_create("aio");
    TCase *tc;

    tc = tcase_create("bh");
    tcase_add_test(tc, test_bh_order);
    tcase_add_test(tc, test_bh_reschedule_next_turn);
    suite_add_tcase(s, tc);

    tc = tcase_create("timers");
    tcase_add_test(tc, test_timers);
    tcase_add_test(tc, test_timers_same_deadline);
    suite_add_tcase(s, tc);

    tc = tcase_create("fd-handlers");
    tcase_add_test(tc, test_fd_handlers);
    suite_add_tcase(s, tc);

    tc = tcase_create("co-wake");
    tcase_add_test(tc, test_co_wake);
    tcase_add_test_raise_signal(tc, test_double_schedule_aborts, SIGABRT);
    tcase_add_test(tc, test_backend_names);
    suite_add_tcase(s, tc);

    add_backend_tcase(s, AIO_BACKEND_IO_URING, setup_io_uring);
    add_backend_tcase(s, AIO_BACKEND_NATIVE, setup_native);
    add_backend_tcase(s, AIO_BACKEND_THREADS, setup_threads);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(aio_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
