/*
 * Coroutines: cooperative threads on the main loop thread.
 *
 * A coroutine runs until it yields; it is re-entered by whoever holds a
 * pointer to it (usually an I/O completion, through aio_co_wake). Stacks come
 * from a pool and are switched without a system call. All coroutines, locks
 * and queues live on the loop thread; worker threads never touch them.
 *
 * Rules (see STYLE.md): functions that may yield are coroutine_fn and have
 * _co_ in their name; errno does not survive a yield; stacks are fixed-size
 * (COROUTINE_STACK_SIZE), so large buffers go on the heap.
 */
#ifndef UTIL_COROUTINE_H
#define UTIL_COROUTINE_H

#include <sys/queue.h>

#include "util/osdep.h"

#define COROUTINE_STACK_SIZE (1 << 20)

typedef void coroutine_fn CoroutineEntry(void *opaque);

/* Creates a coroutine that will run entry(opaque) when first entered. */
Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque);

/*
 * Runs co until it yields or terminates, then returns. May be called from
 * outside coroutine context or from another coroutine (which then becomes
 * co's caller). A terminated coroutine is freed (returned to the pool).
 * Entering a coroutine that is already running is a bug (asserts).
 */
void qemu_coroutine_enter(Coroutine *co);

/* Enters co unless it is currently running (i.e. in the chain of callers). */
void qemu_coroutine_enter_if_inactive(Coroutine *co);

/* Returns control to the caller of qemu_coroutine_enter. */
void coroutine_fn qemu_coroutine_yield(void);

/* The running coroutine, or NULL outside coroutine context. */
Coroutine *qemu_coroutine_self(void);
bool qemu_in_coroutine(void);

/* True while co is running or is one of the callers of the running one. */
bool qemu_coroutine_entered(Coroutine *co);

/* ---- CoQueue: coroutines waiting for a condition (FIFO) ---------------- */

struct CoQueue {
    TAILQ_HEAD(, CoWaitRecord) entries;
};

void qemu_co_queue_init(CoQueue *queue);
/*
 * Waits until woken by qemu_co_queue_next / restart_all. If lock is non-NULL
 * it is released while waiting and re-taken before returning.
 */
void coroutine_fn qemu_co_queue_wait(CoQueue *queue, CoMutex *lock);
/* Wakes the first waiter (scheduled, not entered at once). True if any. */
bool qemu_co_queue_next(CoQueue *queue);
void qemu_co_queue_restart_all(CoQueue *queue);
bool qemu_co_queue_empty(CoQueue *queue);

/* ---- CoMutex ---------------------------------------------------------- */

struct CoMutex {
    bool locked;
    Coroutine *holder;
    CoQueue waiters;
};

void qemu_co_mutex_init(CoMutex *mutex);
void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex);
void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex);
/* Asserts (debug aid) that the running coroutine holds mutex. */
void qemu_co_mutex_assert_locked(CoMutex *mutex);

/* ---- CoRwlock: many readers or one writer, writers not starved ---------- */

struct CoRwlock {
    int readers;
    bool writer;
    int pending_writers;
    CoQueue queue;
};

void qemu_co_rwlock_init(CoRwlock *lock);
void coroutine_fn qemu_co_rwlock_rdlock(CoRwlock *lock);
void coroutine_fn qemu_co_rwlock_wrlock(CoRwlock *lock);
/* Turns a held read lock into a write lock (waits for other readers). */
void coroutine_fn qemu_co_rwlock_upgrade(CoRwlock *lock);
void coroutine_fn qemu_co_rwlock_downgrade(CoRwlock *lock);
void coroutine_fn qemu_co_rwlock_unlock(CoRwlock *lock);

/* ---- sleeping ----------------------------------------------------------- */

/* Yields for at least ns nanoseconds of the monotonic clock. */
void coroutine_fn qemu_co_sleep_ns(int64_t ns);

#endif
