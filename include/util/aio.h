/*
 * The event loop (AioContext) and asynchronous file I/O.
 *
 * One loop runs on the main thread. It owns: bottom halves (callbacks run on
 * the next loop turn), timers, fd handlers, and the three I/O backends:
 *
 *   io_uring  (default) SQEs queued during one loop turn are submitted with
 *             one io_uring_submit; short reads/writes are resubmitted for the
 *             rest; -EAGAIN/-EINTR are retried.
 *   native    Linux AIO (libaio); needs an fd opened with O_DIRECT.
 *   threads   a worker pool running preadv/pwritev.
 *
 * A coroutine that submits I/O yields until its completion is reaped by
 * aio_poll, which re-enters it. Backends are set up lazily on first use; if
 * io_uring cannot be set up (-ENOSYS, -EPERM) aio_file_backend_init reports it
 * and the caller can fall back to threads.
 */
#ifndef UTIL_AIO_H
#define UTIL_AIO_H

#include <sys/uio.h>

#include "util/osdep.h"

typedef enum AioBackend {
    AIO_BACKEND_THREADS,
    AIO_BACKEND_NATIVE,
    AIO_BACKEND_IO_URING,
} AioBackend;

/* Parses "threads" / "native" / "io_uring"; false on anything else. */
bool aio_backend_parse(const char *name, AioBackend *backend);
const char *aio_backend_name(AioBackend backend);

/* The main thread's loop, created on first call. */
AioContext *qemu_get_aio_context(void);

/*
 * Runs one loop turn: submits queued I/O, runs ready bottom halves, expired
 * timers, fd handlers and I/O completions. If blocking, waits until at least
 * one event happened. Returns true if any progress was made.
 * Must not be called from inside a coroutine.
 */
bool aio_poll(AioContext *ctx, bool blocking);

/* ---- bottom halves and coroutine wake-up -------------------------------- */

typedef void QEMUBHFunc(void *opaque);

/* Runs cb(opaque) once, on the next loop turn. Safe from any callback. */
void aio_bh_schedule_oneshot(AioContext *ctx, QEMUBHFunc *cb, void *opaque);

/*
 * Re-enters co from the loop: at once if called outside any coroutine,
 * otherwise on the next loop turn (so a coroutine never enters another one
 * from an I/O callback). Use this to wake a coroutine that yielded waiting
 * for an event.
 */
void aio_co_wake(Coroutine *co);
/* Always schedules co for the next loop turn. */
void aio_co_schedule(AioContext *ctx, Coroutine *co);

/* ---- timers (monotonic clock, nanoseconds) ------------------------------ */

typedef void QEMUTimerCB(void *opaque);

QEMUTimer *aio_timer_new(AioContext *ctx, QEMUTimerCB *cb, void *opaque);
/* Arms (or re-arms) the timer to fire at expire_ns of get_clock_ns(). */
void timer_mod(QEMUTimer *timer, int64_t expire_ns);
void timer_del(QEMUTimer *timer);
void timer_free(QEMUTimer *timer);

/* ---- fd handlers --------------------------------------------------------- */

typedef void IOHandler(void *opaque);

/* Calls io_read/io_write when fd is readable/writable; NULL both to remove. */
void aio_set_fd_handler(AioContext *ctx, int fd, IOHandler *io_read,
                        IOHandler *io_write, void *opaque);

/* ---- file I/O ------------------------------------------------------------ */

typedef enum AioFileOp {
    AIO_OP_READ,
    AIO_OP_WRITE,
    AIO_OP_FDATASYNC,
    AIO_OP_FSYNC,
    /*
     * A write the kernel cannot start without blocking (buffered writes on
     * file systems without asynchronous buffered writes, such as ext4):
     * io_uring hands it to its workers at once instead of first trying it
     * inline and failing; the other backends treat it as AIO_OP_WRITE.
     * Workers run such writes side by side even when they write one file
     * (a write that failed inline is queued behind the file's others), so
     * file-posix asks this for small writes only.
     */
    AIO_OP_WRITE_BLOCKING,
} AioFileOp;

/*
 * Prepares backend for use (io_uring ring, libaio context). Idempotent.
 * Returns 0, or -errno with errp set if the backend cannot work here.
 */
int aio_file_backend_init(AioContext *ctx, AioBackend backend, Error **errp);

/*
 * Reads/writes qiov at offset of fd (or syncs fd; qiov NULL), yielding until
 * done. Returns the number of bytes transferred (a read returns less than
 * qiov->size only at end of file), 0 for syncs, or -errno.
 */
int64_t coroutine_fn aio_co_file_io(AioContext *ctx, AioBackend backend,
                                    int fd, int64_t offset, QEMUIOVector *qiov,
                                    AioFileOp op);

/* Number of I/O requests submitted but not yet completed (all backends). */
int aio_inflight_requests(AioContext *ctx);

#endif
