/*
 * CoQueue, CoMutex, CoRwlock and qemu_co_sleep_ns.
 *
 * All of this lives on the loop thread, so no atomics: a lock is a few
 * fields and a FIFO of wait records that sit on the waiters' own stacks.
 *
 * Invariants:
 * 1. A woken waiter is taken off its queue by the waker and *scheduled*
 *    (entered on the next loop turn), never entered from inside the waker:
 *    the waker may be deep inside a request and must not be nested into.
 * 2. Locks are handed off: whoever releases a contended lock grants it to
 *    the waiter(s) at the head of the queue before scheduling them, so a
 *    newcomer cannot slip in between (no barging, hence no starvation).
 * 3. A wait record is on at most one queue and is removed before its
 *    coroutine runs again, so it can safely live on that coroutine's stack.
 */
#include "config-host.h"

#include "util/aio.h"
#include "util/coroutine.h"

typedef struct CoWaitRecord {
    Coroutine *co;
    bool writer;        /* CoRwlock only: waits for the write lock */
    TAILQ_ENTRY(CoWaitRecord) next;
} CoWaitRecord;

static Coroutine *co_self_or_abort(void)
{
    Coroutine *self = qemu_coroutine_self();

    if (!self) {
        fprintf(stderr, "coroutine lock used outside a coroutine\n");
        abort();
    }
    return self;
}

static void co_wake(Coroutine *co)
{
    aio_co_schedule(qemu_get_aio_context(), co);
}

/* ---- CoQueue ------------------------------------------------------------- */

void qemu_co_queue_init(CoQueue *queue)
{
    TAILQ_INIT(&queue->entries);
}

void coroutine_fn qemu_co_queue_wait(CoQueue *queue, CoMutex *lock)
{
    CoWaitRecord w = { .co = co_self_or_abort() };

    TAILQ_INSERT_TAIL(&queue->entries, &w, next);
    if (lock) {
        qemu_co_mutex_unlock(lock);
    }
    qemu_coroutine_yield();
    if (lock) {
        qemu_co_mutex_lock(lock);
    }
}

bool qemu_co_queue_next(CoQueue *queue)
{
    CoWaitRecord *w = TAILQ_FIRST(&queue->entries);

    if (!w) {
        return false;
    }
    TAILQ_REMOVE(&queue->entries, w, next);
    co_wake(w->co);
    return true;
}

void qemu_co_queue_restart_all(CoQueue *queue)
{
    while (qemu_co_queue_next(queue)) {
        /* nothing */
    }
}

bool qemu_co_queue_empty(CoQueue *queue)
{
    return TAILQ_EMPTY(&queue->entries);
}

/* ---- CoMutex ------------------------------------------------------------- */

void qemu_co_mutex_init(CoMutex *mutex)
{
    mutex->locked = false;
    mutex->holder = NULL;
    qemu_co_queue_init(&mutex->waiters);
}

void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex)
{
    Coroutine *self = co_self_or_abort();
    CoWaitRecord w = { .co = self };

    if (!mutex->locked) {
        mutex->locked = true;
        mutex->holder = self;
        return;
    }
    /* Taking a mutex we hold would wait forever. */
    assert(mutex->holder != self);
    TAILQ_INSERT_TAIL(&mutex->waiters.entries, &w, next);
    qemu_coroutine_yield();
    /* Handed off by qemu_co_mutex_unlock (invariant 2). */
    assert(mutex->locked && mutex->holder == self);
}

void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex)
{
    CoWaitRecord *w = TAILQ_FIRST(&mutex->waiters.entries);

    assert(mutex->locked);
    assert(mutex->holder == qemu_coroutine_self());
    if (w) {
        TAILQ_REMOVE(&mutex->waiters.entries, w, next);
        mutex->holder = w->co;
        co_wake(w->co);
    } else {
        mutex->locked = false;
        mutex->holder = NULL;
    }
}

void qemu_co_mutex_assert_locked(CoMutex *mutex)
{
    assert(mutex->locked);
    assert(mutex->holder == qemu_coroutine_self());
}

/* ---- CoRwlock ------------------------------------------------------------ */

/*
 * One FIFO for readers and writers. A reader only waits when someone is
 * queued or a writer holds the lock, so a steady stream of readers cannot
 * starve a queued writer.
 */

void qemu_co_rwlock_init(CoRwlock *lock)
{
    lock->readers = 0;
    lock->writer = false;
    lock->pending_writers = 0;
    qemu_co_queue_init(&lock->queue);
}

/* Grants the lock to whoever is at the head of the queue, if it can. */
static void co_rwlock_wake(CoRwlock *lock)
{
    CoWaitRecord *w;

    while ((w = TAILQ_FIRST(&lock->queue.entries)) != NULL) {
        if (w->writer) {
            if (lock->writer || lock->readers > 0) {
                return;
            }
            lock->writer = true;
            lock->pending_writers--;
        } else {
            if (lock->writer) {
                return;
            }
            lock->readers++;
        }
        TAILQ_REMOVE(&lock->queue.entries, w, next);
        co_wake(w->co);
        if (w->writer) {
            return;
        }
    }
}

static void coroutine_fn co_rwlock_wait(CoRwlock *lock, bool writer,
                                        bool at_head)
{
    CoWaitRecord w = { .co = co_self_or_abort(), .writer = writer };

    if (writer) {
        lock->pending_writers++;
    }
    if (at_head) {
        TAILQ_INSERT_HEAD(&lock->queue.entries, &w, next);
    } else {
        TAILQ_INSERT_TAIL(&lock->queue.entries, &w, next);
    }
    qemu_coroutine_yield();
    /* Granted by co_rwlock_wake before we were scheduled. */
}

void coroutine_fn qemu_co_rwlock_rdlock(CoRwlock *lock)
{
    if (!lock->writer && TAILQ_EMPTY(&lock->queue.entries)) {
        lock->readers++;
        return;
    }
    co_rwlock_wait(lock, false, false);
    assert(!lock->writer && lock->readers > 0);
}

void coroutine_fn qemu_co_rwlock_wrlock(CoRwlock *lock)
{
    if (!lock->writer && lock->readers == 0 &&
        TAILQ_EMPTY(&lock->queue.entries)) {
        lock->writer = true;
        return;
    }
    co_rwlock_wait(lock, true, false);
    assert(lock->writer && lock->readers == 0);
}

/*
 * Gives up our read lock and waits for the write lock at the head of the
 * queue: we get it as soon as the other readers are gone, before anyone who
 * queued earlier. Two readers upgrading at once do not deadlock: the second
 * finds itself the only reader and takes the write lock at once, and the
 * first gets it after the second unlocks.
 */
void coroutine_fn qemu_co_rwlock_upgrade(CoRwlock *lock)
{
    assert(!lock->writer && lock->readers > 0);
    lock->readers--;
    if (lock->readers == 0) {
        lock->writer = true;
        return;
    }
    co_rwlock_wait(lock, true, true);
    assert(lock->writer && lock->readers == 0);
}

void coroutine_fn qemu_co_rwlock_downgrade(CoRwlock *lock)
{
    assert(lock->writer && lock->readers == 0);
    lock->writer = false;
    lock->readers = 1;
    /* Readers queued at the head may now share the lock with us. */
    co_rwlock_wake(lock);
}

void coroutine_fn qemu_co_rwlock_unlock(CoRwlock *lock)
{
    if (lock->writer) {
        lock->writer = false;
    } else {
        assert(lock->readers > 0);
        lock->readers--;
    }
    co_rwlock_wake(lock);
}

/* ---- sleeping ------------------------------------------------------------ */

static void co_sleep_cb(void *opaque)
{
    aio_co_wake(opaque);
}

void coroutine_fn qemu_co_sleep_ns(int64_t ns)
{
    Coroutine *self = co_self_or_abort();
    QEMUTimer *timer = aio_timer_new(qemu_get_aio_context(), co_sleep_cb,
                                     self);

    timer_mod(timer, get_clock_ns() + MAX(ns, 0));
    qemu_coroutine_yield();
    timer_free(timer);
}
