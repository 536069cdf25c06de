/*
 * The worker thread pool.
 *
 * Jobs wait in one FIFO under 'lock'; a worker takes one, runs it without
 * the lock, and puts it on the completion list. The loop thread learns of
 * completions through an eventfd registered as an fd handler on the main
 * AioContext, and re-enters each job's coroutine from there.
 *
 * Invariants:
 * 1. A job (ThreadPoolJob) lives on its coroutine's stack; the coroutine
 *    does not run again until the loop thread has taken the job off the
 *    completion list and set 'done'.
 * 2. The eventfd is written only when a completion lands on an empty list:
 *    the loop drains the whole list after reading the eventfd, so every
 *    completion is either seen by that drain or followed by a new write.
 * 3. Workers are spawned while more jobs are queued than workers are idle
 *    (up to max_workers), so N independent CPU jobs run on N threads; an
 *    idle worker exits after idle_timeout_ms and is joined later by the loop
 *    thread (on the next spawn or at shutdown).
 */
#include "config-host.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <time.h>

#include "util/aio.h"
#include "util/coroutine.h"
#include "util/thread-pool.h"

#define THREAD_POOL_DEFAULT_MAX 64
#define THREAD_POOL_DEFAULT_IDLE_MS 10000

typedef struct ThreadPoolJob {
    ThreadPoolFunc *func;
    void *opaque;
    int ret;
    bool done;
    Coroutine *co;
    SIMPLEQ_ENTRY(ThreadPoolJob) next;
} ThreadPoolJob;

typedef struct ThreadPoolWorker {
    pthread_t thread;
    LIST_ENTRY(ThreadPoolWorker) next;
} ThreadPoolWorker;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work_cond;       /* a job was queued, or stopping */
    pthread_cond_t exit_cond;       /* a worker exited */
    SIMPLEQ_HEAD(, ThreadPoolJob) queue;
    int queued;
    SIMPLEQ_HEAD(, ThreadPoolJob) completed;
    LIST_HEAD(, ThreadPoolWorker) workers;  /* running */
    LIST_HEAD(, ThreadPoolWorker) exited;   /* to be joined */
    int n_workers;
    int n_idle;         /* waiting for a job, or starting up */
    int n_starting;     /* created, not yet waiting */
    int max_workers;
    int idle_timeout_ms;
    bool stopping;
    /* loop thread only: */
    bool initialized;
    int efd;
    SIMPLEQ_HEAD(, ThreadPoolJob) batch;    /* submitted in this turn */
    int batch_len;
    bool flush_scheduled;
} pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .exit_cond = PTHREAD_COND_INITIALIZER,
    .queue = SIMPLEQ_HEAD_INITIALIZER(pool.queue),
    .completed = SIMPLEQ_HEAD_INITIALIZER(pool.completed),
    .batch = SIMPLEQ_HEAD_INITIALIZER(pool.batch),
    .max_workers = THREAD_POOL_DEFAULT_MAX,
    .idle_timeout_ms = THREAD_POOL_DEFAULT_IDLE_MS,
    .efd = -1,
};

static void thread_pool_complete(ThreadPoolJob *job)
{
    bool was_empty;

    pthread_mutex_lock(&pool.lock);
    was_empty = SIMPLEQ_EMPTY(&pool.completed);
    SIMPLEQ_INSERT_TAIL(&pool.completed, job, next);
    pthread_mutex_unlock(&pool.lock);
    if (was_empty) {
        uint64_t one = 1;

        /* Can only fail if the counter overflows, which cannot happen. */
        if (write(pool.efd, &one, sizeof(one)) < 0) {
            abort();
        }
    }
}

static void *thread_pool_worker(void *opaque)
{
    ThreadPoolWorker *self = opaque;

    pthread_mutex_lock(&pool.lock);
    /* Counted idle by the spawner so that it does not over-spawn. */
    pool.n_starting--;
    pool.n_idle--;
    for (;;) {
        ThreadPoolJob *job;

        while (SIMPLEQ_EMPTY(&pool.queue) && !pool.stopping) {
            struct timespec deadline;
            int rc;

            clock_gettime(CLOCK_MONOTONIC, &deadline);
            deadline.tv_sec += pool.idle_timeout_ms / 1000;
            deadline.tv_nsec += (long)(pool.idle_timeout_ms % 1000) * 1000000;
            if (deadline.tv_nsec >= 1000000000) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000;
            }
            pool.n_idle++;
            rc = pthread_cond_timedwait(&pool.work_cond, &pool.lock,
                                        &deadline);
            pool.n_idle--;
            if (rc == ETIMEDOUT && SIMPLEQ_EMPTY(&pool.queue)) {
                goto out;
            }
        }
        job = SIMPLEQ_FIRST(&pool.queue);
        if (!job) {
            break;      /* stopping, and nothing left to do */
        }
        SIMPLEQ_REMOVE_HEAD(&pool.queue, next);
        pool.queued--;
        pthread_mutex_unlock(&pool.lock);

        job->ret = job->func(job->opaque);
        thread_pool_complete(job);

        pthread_mutex_lock(&pool.lock);
    }
out:
    pool.n_workers--;
    LIST_REMOVE(self, next);
    LIST_INSERT_HEAD(&pool.exited, self, next);
    pthread_cond_broadcast(&pool.exit_cond);
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/* Joins the workers that have exited. Loop thread, without the lock held. */
static void thread_pool_join_exited(void)
{
    for (;;) {
        ThreadPoolWorker *w;

        pthread_mutex_lock(&pool.lock);
        w = LIST_FIRST(&pool.exited);
        if (w) {
            LIST_REMOVE(w, next);
        }
        pthread_mutex_unlock(&pool.lock);
        if (!w) {
            return;
        }
        pthread_join(w->thread, NULL);
        free(w);
    }
}

/* Called with the lock held. False if no thread could be created. */
static bool thread_pool_spawn(void)
{
    ThreadPoolWorker *w = xzalloc(sizeof(*w));
    sigset_t all, old;
    int rc;

    /* Signals are for the loop thread; workers inherit this mask. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&w->thread, NULL, thread_pool_worker, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(w);
        return false;
    }
    LIST_INSERT_HEAD(&pool.workers, w, next);
    pool.n_workers++;
    return true;
}

/* The loop thread's side: re-enter the coroutines whose jobs are done. */
static void thread_pool_completion_cb(void *opaque)
{
    ThreadPoolJob *job;
    uint64_t count;

    if (read(pool.efd, &count, sizeof(count)) < 0) {
        /* EAGAIN: a stale wakeup; the list is drained regardless. */
    }
    pthread_mutex_lock(&pool.lock);
    job = SIMPLEQ_FIRST(&pool.completed);
    SIMPLEQ_INIT(&pool.completed);
    pthread_mutex_unlock(&pool.lock);
    while (job) {
        /* The job is on the coroutine's stack: read next before entering. */
        ThreadPoolJob *next = SIMPLEQ_NEXT(job, next);

        job->done = true;
        aio_co_wake(job->co);
        job = next;
    }
}

static void thread_pool_init(void)
{
    pthread_condattr_t attr;

    if (pool.initialized) {
        return;
    }
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool.work_cond, &attr);
    pthread_condattr_destroy(&attr);
    pool.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pool.efd < 0) {
        fprintf(stderr, "Failed to create the thread pool: %s\n",
                strerror(errno));
        abort();
    }
    aio_set_fd_handler(qemu_get_aio_context(), pool.efd,
                       thread_pool_completion_cb, NULL, NULL);
    pool.initialized = true;
}

/*
 * Hands the jobs submitted since the last loop turn to the workers: one
 * lock round trip and at most one wake-up per job for the whole batch,
 * instead of workers waking (and fighting for the lock) while the loop is
 * still queueing.
 */
static void thread_pool_flush(void *opaque)
{
    ThreadPoolJob *job = SIMPLEQ_FIRST(&pool.batch);
    int n = pool.batch_len, wake;

    pool.flush_scheduled = false;
    if (!job) {
        return;
    }
    SIMPLEQ_INIT(&pool.batch);
    pool.batch_len = 0;
    thread_pool_join_exited();

    pthread_mutex_lock(&pool.lock);
    pool.stopping = false;
    while (pool.queued + n > pool.n_idle &&
           pool.n_workers < pool.max_workers && thread_pool_spawn()) {
        pool.n_idle++;          /* it will be, as soon as it runs */
        pool.n_starting++;
    }
    if (pool.n_workers == 0) {
        pthread_mutex_unlock(&pool.lock);
        /* No thread at all (out of resources): run them here, blocking. */
        while (job) {
            ThreadPoolJob *next = SIMPLEQ_NEXT(job, next);

            job->ret = job->func(job->opaque);
            thread_pool_complete(job);
            job = next;
        }
        return;
    }
    while (job) {
        ThreadPoolJob *next = SIMPLEQ_NEXT(job, next);

        SIMPLEQ_INSERT_TAIL(&pool.queue, job, next);
        job = next;
    }
    pool.queued += n;
    wake = MIN(n, pool.n_idle - pool.n_starting);
    if (wake >= pool.n_idle - pool.n_starting) {
        pthread_cond_broadcast(&pool.work_cond);
    } else {
        while (wake-- > 0) {
            pthread_cond_signal(&pool.work_cond);
        }
    }
    pthread_mutex_unlock(&pool.lock);
}

int coroutine_fn thread_pool_co_run(ThreadPoolFunc *func, void *opaque)
{
    ThreadPoolJob job = {
        .func = func,
        .opaque = opaque,
        .co = qemu_coroutine_self(),
    };

    assert(job.co);
    thread_pool_init();
    SIMPLEQ_INSERT_TAIL(&pool.batch, &job, next);
    pool.batch_len++;
    if (!pool.flush_scheduled) {
        pool.flush_scheduled = true;
        aio_bh_schedule_oneshot(qemu_get_aio_context(), thread_pool_flush,
                                NULL);
    }
    do {
        qemu_coroutine_yield();
    } while (!job.done);
    return job.ret;
}

void thread_pool_set_max_workers(int max_workers)
{
    pthread_mutex_lock(&pool.lock);
    pool.max_workers = MAX(max_workers, 1);
    pthread_mutex_unlock(&pool.lock);
}

void thread_pool_set_idle_timeout_ms(int ms)
{
    pthread_mutex_lock(&pool.lock);
    pool.idle_timeout_ms = MAX(ms, 1);
    pthread_mutex_unlock(&pool.lock);
}

int thread_pool_num_workers(void)
{
    int n;

    pthread_mutex_lock(&pool.lock);
    n = pool.n_workers;
    pthread_mutex_unlock(&pool.lock);
    return n;
}

void thread_pool_shutdown(void)
{
    if (!pool.initialized) {
        return;
    }
    pthread_mutex_lock(&pool.lock);
    pool.stopping = true;
    pthread_cond_broadcast(&pool.work_cond);
    while (pool.n_workers > 0) {
        pthread_cond_wait(&pool.exit_cond, &pool.lock);
    }
    pthread_mutex_unlock(&pool.lock);
    thread_pool_join_exited();
}
