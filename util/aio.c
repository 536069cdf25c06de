/*
 * The event loop (AioContext) and the file I/O backends.
 *
 * One turn of aio_poll:
 *   1. run the bottom halves and scheduled coroutines queued before the turn
 *      began, and expired timers;
 *   2. submit all I/O queued since the last turn (one io_uring_submit for
 *      every SQE, one io_submit for every iocb), then wait, unless step 1
 *      did something or the caller does not block, until an I/O completes,
 *      an fd becomes ready or the first timer expires;
 *   3. reap completions (re-entering the waiting coroutines at once: we are
 *      outside coroutine context here), dispatch fd handlers, run timers.
 *
 * Waiting: once an io_uring ring exists it is the only thing we block in
 * (io_uring_submit_and_wait_timeout submits and waits in one system call).
 * The epoll fd that aggregates the fd handlers (the thread pool's and libaio's
 * eventfds among them) is watched by a one-shot poll SQE on the ring, re-armed
 * after each time it fires, which gives level-triggered behaviour. Without a
 * ring we block in epoll_pwait2.
 *
 * Invariants:
 * 1. A request control block (AioFileReq) lives on the stack of the
 *    coroutine that waits for it; that coroutine is re-entered exactly once,
 *    after 'complete' is set, and only from aio_poll.
 * 2. Short transfers continue where they stopped (except with libaio, where
 *    O_DIRECT alignment makes a short read mean end of file, and a short
 *    write mean no space); -EAGAIN and -EINTR resubmit the same chunk.
 * 3. Everything here runs on the loop thread, except aio_file_worker on a
 *    pool worker, which touches only its own request.
 */
#include "config-host.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <time.h>
#ifdef CONFIG_LIBURING
#include <liburing.h>
#endif
#ifdef CONFIG_LIBAIO
#include <libaio.h>
#endif

#include "util/aio.h"
#include "util/coroutine.h"
#include "util/error.h"
#include "util/iov.h"     /* QEMUIOVector only: no link dependency */
#include "util/thread-pool.h"
#include "coroutine-int.h"

/*
 * Ring and libaio context sizes: several times the deepest queue qemu-img
 * keeps (bench -d 64, convert -m 16), small enough to set up fast. More
 * requests than that wait in a list until there is room.
 */
#define AIO_URING_ENTRIES 256
#define AIO_LAIO_EVENTS 256
/* Most iovec elements one system call accepts (UIO_MAXIOV). */
#define AIO_MAX_IOV 1024
#define AIO_MAX_EPOLL_EVENTS 64

typedef struct AioBH {
    QEMUBHFunc *cb;
    void *opaque;
    SIMPLEQ_ENTRY(AioBH) next;
} AioBH;

struct QEMUTimer {
    AioContext *ctx;
    QEMUTimerCB *cb;
    void *opaque;
    int64_t expire_ns;
    bool active;
    TAILQ_ENTRY(QEMUTimer) next;
};

typedef struct AioHandler {
    int fd;
    IOHandler *io_read;
    IOHandler *io_write;
    void *opaque;
    bool deleted;
    LIST_ENTRY(AioHandler) next;
} AioHandler;

typedef struct AioFileReq {
    AioContext *ctx;
    Coroutine *co;
    AioFileOp op;
    int fd;
    int64_t offset;
    struct iovec *iov;          /* the caller's vector */
    int niov;
    size_t size;
    size_t done;                /* bytes transferred so far */
    /* The chunk in flight: from byte 'done', at most AIO_MAX_IOV elements. */
    struct iovec *cur_iov;
    int cur_niov;
    size_t cur_bytes;
    struct iovec *tmp_iov;      /* cur_iov when it is not a tail of iov */
    int tmp_alloc;
    int64_t ret;
    bool complete;
    bool punt;                  /* io_uring: straight to its workers */
#ifdef CONFIG_LIBAIO
    struct iocb iocb;
#endif
    TAILQ_ENTRY(AioFileReq) next;   /* waiting for a free SQE / io_submit */
} AioFileReq;

struct AioContext {
    SIMPLEQ_HEAD(, AioBH) bh_list;
    SIMPLEQ_HEAD(, Coroutine) scheduled;
    TAILQ_HEAD(QEMUTimerList, QEMUTimer) timers;   /* by expire_ns */

    int epfd;
    LIST_HEAD(, AioHandler) handlers;
    int n_handlers;                     /* not counting deleted ones */
    int walking_handlers;

    int inflight;                       /* file requests, all backends */

#ifdef CONFIG_LIBURING
    bool uring_ready;
    bool uring_has_rw;                  /* IORING_OP_READ/WRITE exist */
    bool uring_epoll_armed;
    struct io_uring ring;
    TAILQ_HEAD(, AioFileReq) uring_overflow;    /* SQ was full */
    int uring_overflowed;               /* requests in uring_overflow */
    int uring_inflight;                 /* file requests the ring owns */
#endif
#ifdef CONFIG_LIBAIO
    bool laio_ready;
    io_context_t laio;
    int laio_efd;
    int laio_submitted;
    TAILQ_HEAD(, AioFileReq) laio_pending;      /* not yet io_submit'ed */
#endif
};

static AioContext *main_ctx;

/* ---- backend names ------------------------------------------------------- */

static const char *const backend_names[] = {
    [AIO_BACKEND_THREADS] = "threads",
    [AIO_BACKEND_NATIVE] = "native",
    [AIO_BACKEND_IO_URING] = "io_uring",
};

bool aio_backend_parse(const char *name, AioBackend *backend)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(backend_names); i++) {
        if (name && !strcmp(name, backend_names[i])) {
            *backend = (AioBackend)i;
            return true;
        }
    }
    return false;
}

const char *aio_backend_name(AioBackend backend)
{
    if ((unsigned int)backend < ARRAY_SIZE(backend_names)) {
        return backend_names[backend];
    }
    return "unknown";
}

/* ---- the context --------------------------------------------------------- */

static AioContext *aio_context_new(void)
{
    AioContext *ctx = xzalloc(sizeof(*ctx));

    SIMPLEQ_INIT(&ctx->bh_list);
    SIMPLEQ_INIT(&ctx->scheduled);
    TAILQ_INIT(&ctx->timers);
    LIST_INIT(&ctx->handlers);
    ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ctx->epfd < 0) {
        fprintf(stderr, "Failed to create the event loop: %s\n",
                strerror(errno));
        abort();
    }
#ifdef CONFIG_LIBURING
    TAILQ_INIT(&ctx->uring_overflow);
#endif
#ifdef CONFIG_LIBAIO
    ctx->laio_efd = -1;
    TAILQ_INIT(&ctx->laio_pending);
#endif
    return ctx;
}

AioContext *qemu_get_aio_context(void)
{
    if (!main_ctx) {
        main_ctx = aio_context_new();
    }
    return main_ctx;
}

int aio_inflight_requests(AioContext *ctx)
{
    return ctx->inflight;
}

/* ---- bottom halves and scheduled coroutines ------------------------------ */

void aio_bh_schedule_oneshot(AioContext *ctx, QEMUBHFunc *cb, void *opaque)
{
    AioBH *bh = xmalloc(sizeof(*bh));

    bh->cb = cb;
    bh->opaque = opaque;
    SIMPLEQ_INSERT_TAIL(&ctx->bh_list, bh, next);
}

void aio_co_schedule(AioContext *ctx, Coroutine *co)
{
    if (co->scheduled) {
        fprintf(stderr, "Co-routine was already scheduled\n");
        abort();
    }
    co->scheduled = true;
    SIMPLEQ_INSERT_TAIL(&ctx->scheduled, co, scheduled_next);
}

void aio_co_wake(Coroutine *co)
{
    if (qemu_in_coroutine()) {
        aio_co_schedule(qemu_get_aio_context(), co);
    } else {
        qemu_coroutine_enter(co);
    }
}

static bool aio_has_ready(AioContext *ctx)
{
    return !SIMPLEQ_EMPTY(&ctx->bh_list) || !SIMPLEQ_EMPTY(&ctx->scheduled);
}

/*
 * Runs what was queued before this call, in order: bottom halves, then
 * coroutines. What they queue in turn waits for the next turn, so a bottom
 * half that re-schedules itself cannot starve the rest of the loop.
 */
static bool aio_run_bhs(AioContext *ctx)
{
    AioBH *bh = SIMPLEQ_FIRST(&ctx->bh_list);
    Coroutine *co = SIMPLEQ_FIRST(&ctx->scheduled);
    bool progress = bh || co;

    SIMPLEQ_INIT(&ctx->bh_list);
    SIMPLEQ_INIT(&ctx->scheduled);
    while (bh) {
        AioBH *next = SIMPLEQ_NEXT(bh, next);
        QEMUBHFunc *cb = bh->cb;
        void *opaque = bh->opaque;

        free(bh);
        cb(opaque);
        bh = next;
    }
    while (co) {
        /* co may schedule itself again, which rewrites its link. */
        Coroutine *next = SIMPLEQ_NEXT(co, scheduled_next);

        co->scheduled = false;
        qemu_coroutine_enter(co);
        co = next;
    }
    return progress;
}

/* ---- timers -------------------------------------------------------------- */

QEMUTimer *aio_timer_new(AioContext *ctx, QEMUTimerCB *cb, void *opaque)
{
    QEMUTimer *timer = xzalloc(sizeof(*timer));

    timer->ctx = ctx;
    timer->cb = cb;
    timer->opaque = opaque;
    return timer;
}

void timer_del(QEMUTimer *timer)
{
    if (timer->active) {
        TAILQ_REMOVE(&timer->ctx->timers, timer, next);
        timer->active = false;
    }
}

void timer_mod(QEMUTimer *timer, int64_t expire_ns)
{
    QEMUTimer *t;

    timer_del(timer);
    timer->expire_ns = expire_ns;
    /* From the back: new timers tend to be the latest; equal ones are FIFO. */
    TAILQ_FOREACH_REVERSE(t, &timer->ctx->timers, QEMUTimerList, next) {
        if (t->expire_ns <= expire_ns) {
            break;
        }
    }
    if (t) {
        TAILQ_INSERT_AFTER(&timer->ctx->timers, t, timer, next);
    } else {
        TAILQ_INSERT_HEAD(&timer->ctx->timers, timer, next);
    }
    timer->active = true;
}

void timer_free(QEMUTimer *timer)
{
    if (timer) {
        timer_del(timer);
        free(timer);
    }
}

static bool aio_run_timers(AioContext *ctx)
{
    QEMUTimer *t;
    int64_t now;
    int budget = 0;
    bool progress = false;

    if (TAILQ_EMPTY(&ctx->timers)) {
        return false;
    }
    now = get_clock_ns();
    /* Only those due now: a callback that re-arms for 'now' waits a turn. */
    TAILQ_FOREACH(t, &ctx->timers, next) {
        if (t->expire_ns > now) {
            break;
        }
        budget++;
    }
    while (budget-- > 0 && (t = TAILQ_FIRST(&ctx->timers)) != NULL &&
           t->expire_ns <= now) {
        TAILQ_REMOVE(&ctx->timers, t, next);
        t->active = false;
        t->cb(t->opaque);       /* may free t */
        progress = true;
    }
    return progress;
}

/* Nanoseconds until the first timer (0 if due), -1 if there is none. */
static int64_t aio_timers_timeout(AioContext *ctx)
{
    QEMUTimer *t = TAILQ_FIRST(&ctx->timers);
    int64_t delta;

    if (!t) {
        return -1;
    }
    delta = t->expire_ns - get_clock_ns();
    return delta > 0 ? delta : 0;
}

/* ---- fd handlers --------------------------------------------------------- */

static AioHandler *aio_find_handler(AioContext *ctx, int fd)
{
    AioHandler *h;

    LIST_FOREACH(h, &ctx->handlers, next) {
        if (h->fd == fd && !h->deleted) {
            return h;
        }
    }
    return NULL;
}

static void aio_epoll_update(AioContext *ctx, AioHandler *h, int op)
{
    struct epoll_event ev = {
        .events = (h->io_read ? EPOLLIN : 0) | (h->io_write ? EPOLLOUT : 0),
        .data.ptr = h,
    };

    if (epoll_ctl(ctx->epfd, op, h->fd, &ev) < 0 && op != EPOLL_CTL_DEL) {
        /* Only pollable fds (eventfds, pipes, sockets) can have handlers. */
        fprintf(stderr, "Cannot watch fd %d: %s\n", h->fd, strerror(errno));
        abort();
    }
}

void aio_set_fd_handler(AioContext *ctx, int fd, IOHandler *io_read,
                        IOHandler *io_write, void *opaque)
{
    AioHandler *h = aio_find_handler(ctx, fd);

    if (!io_read && !io_write) {
        if (!h) {
            return;
        }
        aio_epoll_update(ctx, h, EPOLL_CTL_DEL);
        ctx->n_handlers--;
        if (ctx->walking_handlers) {
            /* An event for it may still be in the array being walked. */
            h->deleted = true;
        } else {
            LIST_REMOVE(h, next);
            free(h);
        }
        return;
    }
    if (h) {
        h->io_read = io_read;
        h->io_write = io_write;
        h->opaque = opaque;
        aio_epoll_update(ctx, h, EPOLL_CTL_MOD);
        return;
    }
    h = xzalloc(sizeof(*h));
    h->fd = fd;
    h->io_read = io_read;
    h->io_write = io_write;
    h->opaque = opaque;
    LIST_INSERT_HEAD(&ctx->handlers, h, next);
    ctx->n_handlers++;
    aio_epoll_update(ctx, h, EPOLL_CTL_ADD);
}

static int aio_epoll_wait(AioContext *ctx, struct epoll_event *events,
                          int maxevents, int64_t timeout_ns)
{
    static bool no_pwait2;
    struct timespec ts;
    int n;

    if (timeout_ns > 0 && !no_pwait2) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        n = epoll_pwait2(ctx->epfd, events, maxevents, &ts, NULL);
        if (n >= 0 || errno != ENOSYS) {
            return n;
        }
        no_pwait2 = true;
    }
    /* Milliseconds, rounded up so that the timer is due when we wake. */
    return epoll_wait(ctx->epfd, events, maxevents,
                      timeout_ns < 0 ? -1 :
                      (int)MIN(DIV_ROUND_UP(timeout_ns, 1000000), INT_MAX));
}

static bool aio_dispatch_fds(AioContext *ctx, int64_t timeout_ns)
{
    struct epoll_event events[AIO_MAX_EPOLL_EVENTS];
    AioHandler *h, *tmp;
    int i, n;

    if (ctx->n_handlers == 0 && timeout_ns == 0) {
        return false;
    }
    n = aio_epoll_wait(ctx, events, AIO_MAX_EPOLL_EVENTS, timeout_ns);
    if (n <= 0) {
        return false;
    }
    ctx->walking_handlers++;
    for (i = 0; i < n; i++) {
        uint32_t ev = events[i].events;

        h = events[i].data.ptr;
        if (!h->deleted && h->io_read &&
            (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
            h->io_read(h->opaque);
        }
        if (!h->deleted && h->io_write &&
            (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
            h->io_write(h->opaque);
        }
    }
    ctx->walking_handlers--;
    if (!ctx->walking_handlers) {
        for (h = LIST_FIRST(&ctx->handlers); h; h = tmp) {
            tmp = LIST_NEXT(h, next);
            if (h->deleted) {
                LIST_REMOVE(h, next);
                free(h);
            }
        }
    }
    return true;
}

/* ---- file requests: the part common to all backends ---------------------- */

static size_t aio_iov_bytes(const struct iovec *iov, int niov)
{
    size_t bytes = 0;
    int i;

    for (i = 0; i < niov; i++) {
        bytes += iov[i].iov_len;
    }
    return bytes;
}

/* Points cur_iov at the next chunk, starting 'done' bytes into the vector. */
static void aio_req_prepare(AioFileReq *req)
{
    size_t skip = req->done;
    int i = 0, n;

    /* The common case: the whole vector, from its start, in one go. */
    if (likely(skip == 0 && req->niov <= AIO_MAX_IOV)) {
        req->cur_iov = req->iov;
        req->cur_niov = req->niov;
        req->cur_bytes = req->size;
        return;
    }

    while (i < req->niov && skip >= req->iov[i].iov_len) {
        skip -= req->iov[i].iov_len;
        i++;
    }
    assert(i < req->niov);
    n = MIN(req->niov - i, AIO_MAX_IOV);
    if (skip == 0) {
        req->cur_iov = &req->iov[i];
    } else {
        if (req->tmp_alloc < n) {
            req->tmp_iov = xrealloc(req->tmp_iov, n * sizeof(struct iovec));
            req->tmp_alloc = n;
        }
        memcpy(req->tmp_iov, &req->iov[i], n * sizeof(struct iovec));
        req->tmp_iov[0].iov_base = (char *)req->tmp_iov[0].iov_base + skip;
        req->tmp_iov[0].iov_len -= skip;
        req->cur_iov = req->tmp_iov;
    }
    req->cur_niov = n;
    req->cur_bytes = aio_iov_bytes(req->cur_iov, n);
}

/*
 * Accounts for one completion of the chunk in flight. Returns true when the
 * request is finished (req->ret set), false when the next chunk (or the
 * same one, after -EAGAIN/-EINTR) must be submitted.
 */
static bool aio_req_advance(AioFileReq *req, int64_t res, bool short_is_final)
{
    if (res == -EAGAIN || res == -EINTR) {
        return false;
    }
    if (res < 0) {
        req->ret = res;
        return true;
    }
    if (req->op != AIO_OP_READ && req->op != AIO_OP_WRITE) {
        req->ret = 0;
        return true;
    }
    req->done += res;
    if (likely(req->done == req->size)) {
        req->ret = req->done;
        return true;
    }
    if ((uint64_t)res < req->cur_bytes && (res == 0 || short_is_final)) {
        /* Reads stop at end of file; a write that stops means no space. */
        req->ret = req->op == AIO_OP_READ ? (int64_t)req->done : -ENOSPC;
        return true;
    }
    if (req->done == req->size) {
        req->ret = req->done;
        return true;
    }
    aio_req_prepare(req);
    return false;
}

/* Re-enters the waiting coroutine; called from aio_poll only. */
static void aio_req_finish(AioContext *ctx, AioFileReq *req)
{
    ctx->inflight--;
    req->complete = true;
    aio_co_wake(req->co);
}

static void coroutine_fn aio_req_wait(AioFileReq *req)
{
    do {
        qemu_coroutine_yield();
    } while (!req->complete);
}

/* ---- threads backend ----------------------------------------------------- */

/* Runs on a pool worker: blocking system calls until the request is done. */
static int aio_file_worker(void *opaque)
{
    AioFileReq *req = opaque;
    int64_t res;

    do {
        off_t off = req->offset + (off_t)req->done;

        switch (req->op) {
        case AIO_OP_READ:
            res = preadv(req->fd, req->cur_iov, req->cur_niov, off);
            break;
        case AIO_OP_WRITE:
            res = pwritev(req->fd, req->cur_iov, req->cur_niov, off);
            break;
        case AIO_OP_FDATASYNC:
            res = fdatasync(req->fd);
            break;
        case AIO_OP_FSYNC:
        default:
            res = fsync(req->fd);
            break;
        }
        if (res < 0) {
            res = -errno;
        }
    } while (!aio_req_advance(req, res, false));
    return 0;
}

static void coroutine_fn aio_threads_co_submit(AioContext *ctx,
                                               AioFileReq *req)
{
    ctx->inflight++;
    thread_pool_co_run(aio_file_worker, req);
    ctx->inflight--;
}

/* ---- io_uring backend ---------------------------------------------------- */

#ifdef CONFIG_LIBURING
/* user_data of the poll SQE that watches the epoll fd */
static char uring_epoll_tag;

static void luring_prep(AioContext *ctx, struct io_uring_sqe *sqe,
                        AioFileReq *req)
{
    uint64_t off = req->offset + req->done;
    bool single = req->cur_niov == 1 && ctx->uring_has_rw &&
                  req->cur_iov[0].iov_len <= INT_MAX;

    switch (req->op) {
    case AIO_OP_READ:
        if (single) {
            io_uring_prep_read(sqe, req->fd, req->cur_iov[0].iov_base,
                               req->cur_iov[0].iov_len, off);
        } else {
            io_uring_prep_readv(sqe, req->fd, req->cur_iov, req->cur_niov,
                                off);
        }
        break;
    case AIO_OP_WRITE:
    case AIO_OP_WRITE_BLOCKING:     /* not seen here: aio_co_file_io */
        if (single) {
            io_uring_prep_write(sqe, req->fd, req->cur_iov[0].iov_base,
                                req->cur_iov[0].iov_len, off);
        } else {
            io_uring_prep_writev(sqe, req->fd, req->cur_iov, req->cur_niov,
                                 off);
        }
        break;
    case AIO_OP_FDATASYNC:
        io_uring_prep_fsync(sqe, req->fd, IORING_FSYNC_DATASYNC);
        break;
    case AIO_OP_FSYNC:
        io_uring_prep_fsync(sqe, req->fd, 0);
        break;
    }
    io_uring_sqe_set_data(sqe, req);
    if (req->punt) {
        sqe->flags |= IOSQE_ASYNC;
    }
}

/* An SQE, submitting what is queued if the SQ is full; NULL if still full. */
static struct io_uring_sqe *luring_get_sqe(AioContext *ctx)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ctx->ring);

    if (!sqe) {
        io_uring_submit(&ctx->ring);
        sqe = io_uring_get_sqe(&ctx->ring);
    }
    return sqe;
}

/*
 * Queues req's chunk; it goes to the kernel with the next submit (normally
 * in aio_poll, batched with everything else queued in this turn).
 */
static void luring_queue(AioContext *ctx, AioFileReq *req)
{
    struct io_uring_sqe *sqe = NULL;

    if (TAILQ_EMPTY(&ctx->uring_overflow)) {
        sqe = luring_get_sqe(ctx);
    }
    if (!sqe) {
        TAILQ_INSERT_TAIL(&ctx->uring_overflow, req, next);
        ctx->uring_overflowed++;
        return;
    }
    luring_prep(ctx, sqe, req);
}

static void luring_flush_overflow(AioContext *ctx)
{
    AioFileReq *req;

    while ((req = TAILQ_FIRST(&ctx->uring_overflow)) != NULL) {
        struct io_uring_sqe *sqe = luring_get_sqe(ctx);

        if (!sqe) {
            return;
        }
        TAILQ_REMOVE(&ctx->uring_overflow, req, next);
        ctx->uring_overflowed--;
        luring_prep(ctx, sqe, req);
    }
}

static void luring_arm_epoll(AioContext *ctx)
{
    struct io_uring_sqe *sqe = luring_get_sqe(ctx);

    if (sqe) {
        io_uring_prep_poll_add(sqe, ctx->epfd, POLLIN);
        io_uring_sqe_set_data(sqe, &uring_epoll_tag);
        ctx->uring_epoll_armed = true;
    }
}

/* Reaps every CQE; sets *epoll_ready if the epoll fd became readable. */
static bool luring_process_completions(AioContext *ctx, bool *epoll_ready)
{
    struct io_uring_cqe *cqe;
    bool progress = false;

    while (io_uring_peek_cqe(&ctx->ring, &cqe) == 0 && cqe) {
        void *data = io_uring_cqe_get_data(cqe);
        int res = cqe->res;

        /* Seen before the callbacks run: they may submit more. */
        io_uring_cqe_seen(&ctx->ring, cqe);
        progress = true;
        if (data == &uring_epoll_tag) {
            ctx->uring_epoll_armed = false;
            *epoll_ready = true;
            continue;
        }
        if (aio_req_advance(data, res, false)) {
            ctx->uring_inflight--;
            aio_req_finish(ctx, data);
        } else {
            luring_queue(ctx, data);
        }
    }
    return progress;
}

static bool luring_wait(AioContext *ctx, int64_t timeout_ns)
{
    struct io_uring_cqe *cqe;
    bool epoll_ready = false;
    bool progress;

    luring_flush_overflow(ctx);
    if (ctx->n_handlers > 0 && !ctx->uring_epoll_armed) {
        luring_arm_epoll(ctx);
    }
    if (timeout_ns == 0) {
        /*
         * Enters the kernel only if there are SQEs, or completions waiting
         * for us to run their task work (IORING_SQ_TASKRUN).
         */
        io_uring_submit(&ctx->ring);
    } else {
        struct __kernel_timespec ts = {
            .tv_sec = timeout_ns / 1000000000,
            .tv_nsec = timeout_ns % 1000000000,
        };
        /*
         * With many requests in flight, sleep until a quarter of them are
         * done rather than the first: one wake-up (and one pass over the
         * CQ) per batch instead of per request, while the rest keep the
         * device busy. Every one of them completes, so the wait ends.
         */
        unsigned wait_nr = MAX(1, (ctx->uring_inflight -
                                   ctx->uring_overflowed) / 4);

        /*
         * -ETIME (timer due), -EINTR (signal) and -EBUSY (CQ overflowed:
         * reaping below makes room) all just end the wait; SQEs the kernel
         * did not take stay queued for the next turn.
         */
        io_uring_submit_and_wait_timeout(&ctx->ring, &cqe, wait_nr,
                                         timeout_ns > 0 ? &ts : NULL, NULL);
    }
    progress = luring_process_completions(ctx, &epoll_ready);
    if (epoll_ready) {
        progress |= aio_dispatch_fds(ctx, 0);
    }
    return progress;
}

static int luring_init(AioContext *ctx, Error **errp)
{
    struct io_uring_params params;
    struct io_uring_probe *probe;
    int ret;

    /*
     * COOP_TASKRUN: completions are posted when we next enter the kernel
     * (we always wait in io_uring_enter) instead of interrupting us.
     * TASKRUN_FLAG tells us when some are pending, so that a non-blocking
     * aio_poll (which only peeks at the CQ) enters the kernel to get them.
     * Not DEFER_TASKRUN: buffered writes complete on io-wq workers, and
     * with it each of their completions still wakes the waiter (to run
     * the task work that posts the CQE); it measured slower than this.
     */
    memset(&params, 0, sizeof(params));
    params.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    ret = io_uring_queue_init_params(AIO_URING_ENTRIES, &ctx->ring, &params);
    if (ret == -EINVAL) {
        memset(&params, 0, sizeof(params));
        ret = io_uring_queue_init_params(AIO_URING_ENTRIES, &ctx->ring,
                                         &params);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "failed to init linux io_uring ring");
        return ret;
    }
    probe = io_uring_get_probe_ring(&ctx->ring);
    if (probe) {
        ctx->uring_has_rw = io_uring_opcode_supported(probe, IORING_OP_READ) &&
                            io_uring_opcode_supported(probe, IORING_OP_WRITE);
        io_uring_free_probe(probe);
    }
    ctx->uring_ready = true;
    return 0;
}

static void coroutine_fn luring_co_submit(AioContext *ctx, AioFileReq *req)
{
    ctx->inflight++;
    ctx->uring_inflight++;
    luring_queue(ctx, req);
    aio_req_wait(req);
}
#endif /* CONFIG_LIBURING */

/* ---- native (libaio) backend --------------------------------------------- */

#ifdef CONFIG_LIBAIO
static void laio_prep(AioContext *ctx, AioFileReq *req)
{
    long long off = req->offset + (long long)req->done;

    if (req->op == AIO_OP_READ) {
        io_prep_preadv(&req->iocb, req->fd, req->cur_iov, req->cur_niov, off);
    } else {
        io_prep_pwritev(&req->iocb, req->fd, req->cur_iov, req->cur_niov,
                        off);
    }
    io_set_eventfd(&req->iocb, ctx->laio_efd);
    req->iocb.data = req;
}

/* Hands every pending iocb to the kernel, as far as the context has room. */
static bool laio_flush(AioContext *ctx)
{
    struct iocb *iocbs[AIO_LAIO_EVENTS];
    bool progress = false;

    while (!TAILQ_EMPTY(&ctx->laio_pending) &&
           ctx->laio_submitted < AIO_LAIO_EVENTS) {
        AioFileReq *req;
        int n = 0, ret, i;

        TAILQ_FOREACH(req, &ctx->laio_pending, next) {
            if (n == AIO_LAIO_EVENTS - ctx->laio_submitted) {
                break;
            }
            iocbs[n++] = &req->iocb;
        }
        ret = io_submit(ctx->laio, n, iocbs);
        if (ret == -EAGAIN || ret == 0) {
            break;      /* retried once completions made room */
        }
        if (ret < 0) {
            /* The first iocb is bad: fail it, go on with the others. */
            req = TAILQ_FIRST(&ctx->laio_pending);
            TAILQ_REMOVE(&ctx->laio_pending, req, next);
            req->ret = ret;
            aio_req_finish(ctx, req);
            progress = true;
            continue;
        }
        for (i = 0; i < ret; i++) {
            req = TAILQ_FIRST(&ctx->laio_pending);
            TAILQ_REMOVE(&ctx->laio_pending, req, next);
        }
        ctx->laio_submitted += ret;
    }
    return progress;
}

static void laio_completion_cb(void *opaque)
{
    AioContext *ctx = opaque;
    struct io_event events[AIO_LAIO_EVENTS];
    struct timespec zero = { 0, 0 };
    uint64_t count;
    int i, n;

    if (read(ctx->laio_efd, &count, sizeof(count)) < 0) {
        /* EAGAIN: nothing new; the events are reaped below regardless. */
    }
    do {
        n = io_getevents(ctx->laio, 0, AIO_LAIO_EVENTS, events, &zero);
        for (i = 0; i < n; i++) {
            AioFileReq *req = events[i].data;
            long res = (long)events[i].res;

            ctx->laio_submitted--;
            if (aio_req_advance(req, res, true)) {
                aio_req_finish(ctx, req);
            } else {
                laio_prep(ctx, req);
                TAILQ_INSERT_TAIL(&ctx->laio_pending, req, next);
            }
        }
    } while (n == AIO_LAIO_EVENTS || n == -EINTR);
}

static int laio_init(AioContext *ctx, Error **errp)
{
    int ret;

    ctx->laio = 0;
    ret = io_setup(AIO_LAIO_EVENTS, &ctx->laio);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "failed to create linux AIO context");
        return ret;
    }
    ctx->laio_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ctx->laio_efd < 0) {
        ret = -errno;
        io_destroy(ctx->laio);
        error_setg_errno(errp, -ret, "failed to create linux AIO context");
        return ret;
    }
    aio_set_fd_handler(ctx, ctx->laio_efd, laio_completion_cb, NULL, ctx);
    ctx->laio_ready = true;
    return 0;
}

static void coroutine_fn laio_co_submit(AioContext *ctx, AioFileReq *req)
{
    if (req->op != AIO_OP_READ && req->op != AIO_OP_WRITE) {
        /* Linux AIO has no dependable fsync. */
        aio_threads_co_submit(ctx, req);
        return;
    }
    ctx->inflight++;
    laio_prep(ctx, req);
    TAILQ_INSERT_TAIL(&ctx->laio_pending, req, next);
    aio_req_wait(req);
}
#endif /* CONFIG_LIBAIO */

/* ---- backends: set-up and dispatch --------------------------------------- */

int aio_file_backend_init(AioContext *ctx, AioBackend backend, Error **errp)
{
    switch (backend) {
    case AIO_BACKEND_THREADS:
        return 0;
    case AIO_BACKEND_NATIVE:
#ifdef CONFIG_LIBAIO
        return ctx->laio_ready ? 0 : laio_init(ctx, errp);
#else
        error_setg(errp, "Linux AIO support was not compiled in");
        return -ENOSYS;
#endif
    case AIO_BACKEND_IO_URING:
#ifdef CONFIG_LIBURING
        return ctx->uring_ready ? 0 : luring_init(ctx, errp);
#else
        error_setg(errp, "io_uring support was not compiled in");
        return -ENOSYS;
#endif
    }
    error_setg(errp, "unknown AIO backend %d", (int)backend);
    return -EINVAL;
}

/* Whether backend is set up in ctx already (the per-request check). */
static inline bool aio_backend_ready(AioContext *ctx, AioBackend backend)
{
    switch (backend) {
    case AIO_BACKEND_THREADS:
        return true;
    case AIO_BACKEND_NATIVE:
#ifdef CONFIG_LIBAIO
        return ctx->laio_ready;
#else
        return false;
#endif
    case AIO_BACKEND_IO_URING:
#ifdef CONFIG_LIBURING
        return ctx->uring_ready;
#else
        return false;
#endif
    }
    return false;
}

/*
 * The hot path of every file request: the request lives on the
 * coroutine's stack and only the fields the backends read are set (the
 * libaio iocb and the queue links are filled when used), the size is the
 * vector's own, and the backend is set up only the first time.
 */
int64_t coroutine_fn aio_co_file_io(AioContext *ctx, AioBackend backend,
                                    int fd, int64_t offset, QEMUIOVector *qiov,
                                    AioFileOp op)
{
    AioFileReq req;
    int ret;

    req.ctx = ctx;
    req.co = qemu_coroutine_self();
    req.op = op;
    req.fd = fd;
    req.offset = offset;
    req.iov = NULL;
    req.niov = 0;
    req.size = 0;
    req.done = 0;
    req.cur_iov = NULL;
    req.cur_niov = 0;
    req.cur_bytes = 0;
    req.tmp_iov = NULL;
    req.tmp_alloc = 0;
    req.ret = 0;
    req.complete = false;
    req.punt = false;
    if (op == AIO_OP_WRITE_BLOCKING) {
        req.op = op = AIO_OP_WRITE;
#ifdef CONFIG_LIBURING
        /* IOSQE_ASYNC came with IORING_OP_WRITE (5.6). */
        req.punt = backend == AIO_BACKEND_IO_URING && ctx->uring_has_rw;
#endif
    }

    assert(req.co);
    if (op == AIO_OP_READ || op == AIO_OP_WRITE) {
        assert(qiov);
        if (offset < 0) {
            return -EINVAL;
        }
        req.iov = qiov->iov;
        req.niov = qiov->niov;
        req.size = qiov->size;
        if (req.size == 0) {
            return 0;
        }
        if (likely(req.niov <= AIO_MAX_IOV)) {
            /* aio_req_prepare's common case, without the call. */
            req.cur_iov = req.iov;
            req.cur_niov = req.niov;
            req.cur_bytes = req.size;
        } else {
            aio_req_prepare(&req);
        }
    }
    if (unlikely(!aio_backend_ready(ctx, backend))) {
        ret = aio_file_backend_init(ctx, backend, NULL);
        if (ret < 0) {
            return ret;
        }
    }
    switch (backend) {
    case AIO_BACKEND_IO_URING:
#ifdef CONFIG_LIBURING
        luring_co_submit(ctx, &req);
#endif
        break;
    case AIO_BACKEND_NATIVE:
#ifdef CONFIG_LIBAIO
        laio_co_submit(ctx, &req);
#endif
        break;
    case AIO_BACKEND_THREADS:
        aio_threads_co_submit(ctx, &req);
        break;
    }
    if (unlikely(req.tmp_iov)) {
        free(req.tmp_iov);
    }
    return req.ret;
}

/* ---- the loop ------------------------------------------------------------ */

/* Steps 2 and 3 of a turn: submit, wait up to timeout_ns (-1: forever). */
static bool aio_wait_events(AioContext *ctx, int64_t timeout_ns)
{
    bool progress = false;

#ifdef CONFIG_LIBAIO
    if (ctx->laio_ready) {
        progress |= laio_flush(ctx);
        if (progress) {
            timeout_ns = 0;
        }
    }
#endif
#ifdef CONFIG_LIBURING
    if (ctx->uring_ready) {
        return luring_wait(ctx, timeout_ns) || progress;
    }
#endif
    return aio_dispatch_fds(ctx, timeout_ns) || progress;
}

bool aio_poll(AioContext *ctx, bool blocking)
{
    bool progress;
    int64_t timeout;

    assert(!qemu_in_coroutine());

    progress = aio_run_bhs(ctx);
    progress |= aio_run_timers(ctx);

    if (!blocking || progress || aio_has_ready(ctx)) {
        timeout = 0;
    } else {
        timeout = aio_timers_timeout(ctx);
    }
    progress |= aio_wait_events(ctx, timeout);
    progress |= aio_run_timers(ctx);
    return progress;
}
