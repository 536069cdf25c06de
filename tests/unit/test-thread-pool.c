/* Unit tests: the worker thread pool. */
#include "config-host.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>

#include "util/aio.h"
#include "util/coroutine.h"
#include "util/error.h"
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

static pthread_t loop_thread;
static atomic_int running;
static atomic_int max_running;

static void track_start(void)
{
    int now = atomic_fetch_add(&running, 1) + 1;
    int max = atomic_load(&max_running);

    while (now > max &&
           !atomic_compare_exchange_weak(&max_running, &max, now)) {
        /* retry */
    }
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = { ns / SEC, ns % SEC };

    nanosleep(&ts, NULL);
}

typedef struct {
    int input;
    int64_t sleep_ns;
    bool on_loop_thread;
} Job;

static int job_func(void *opaque)
{
    Job *job = opaque;

    track_start();
    job->on_loop_thread = pthread_equal(pthread_self(), loop_thread);
    if (job->sleep_ns) {
        sleep_ns(job->sleep_ns);
    }
    atomic_fetch_sub(&running, 1);
    return job->input * 3 + 1;
}

typedef struct {
    Job job;
    int result;
    int *done;
} JobArg;

static void coroutine_fn job_entry(void *opaque)
{
    JobArg *a = opaque;

    a->result = thread_pool_co_run(job_func, &a->job);
    (*a->done)++;
}

static void setup(void)
{
    loop_thread = pthread_self();
    /* Defaults again, should the tests share one process (CK_FORK=no). */
    thread_pool_set_max_workers(64);
    thread_pool_set_idle_timeout_ms(10000);
    atomic_store(&running, 0);
    atomic_store(&max_running, 0);
}

static void run_jobs(JobArg *args, int n, int64_t sleep_ns_each)
{
    int done = 0, i;

    for (i = 0; i < n; i++) {
        args[i] = (JobArg){ { i, sleep_ns_each, true }, INT_MIN, &done };
        qemu_coroutine_enter(qemu_coroutine_create(job_entry, &args[i]));
    }
    ck_assert_int_eq(done, 0);          /* all yielded, waiting */
    poll_until_count(&done, n);
    for (i = 0; i < n; i++) {
        ck_assert_int_eq(args[i].result, i * 3 + 1);
        ck_assert(!args[i].job.on_loop_thread);
    }
}

START_TEST(test_result)
{
    JobArg arg;

    run_jobs(&arg, 1, 0);
    ck_assert_int_ge(thread_pool_num_workers(), 1);
    thread_pool_shutdown();
    ck_assert_int_eq(thread_pool_num_workers(), 0);
}
END_TEST

START_TEST(test_many_parallel)
{
    enum { N = 500 };
    JobArg *args = calloc(N, sizeof(*args));

    run_jobs(args, N, 200000);
    /* Work was spread over threads, within the limit. */
    ck_assert_int_gt(atomic_load(&max_running), 1);
    ck_assert_int_le(atomic_load(&max_running), 64);
    ck_assert_int_le(thread_pool_num_workers(), 64);
    free(args);
    thread_pool_shutdown();
    ck_assert_int_eq(thread_pool_num_workers(), 0);
}
END_TEST

START_TEST(test_max_workers)
{
    enum { N = 40 };
    JobArg args[N];

    thread_pool_set_max_workers(3);
    run_jobs(args, N, 1000000);
    ck_assert_int_le(atomic_load(&max_running), 3);
    ck_assert_int_eq(atomic_load(&max_running), 3);
    ck_assert_int_le(thread_pool_num_workers(), 3);
    thread_pool_shutdown();
}
END_TEST

/*
 * N jobs that only finish once all N run at the same time: passes only if
 * the pool starts a thread for each queued job instead of queueing behind
 * busy ones (what makes compression use every core).
 */
enum { RENDEZVOUS = 16 };
static atomic_int arrived;

static int rendezvous_func(void *opaque)
{
    int64_t deadline = get_clock_ns() + 10 * SEC;

    atomic_fetch_add(&arrived, 1);
    while (atomic_load(&arrived) < RENDEZVOUS) {
        if (get_clock_ns() > deadline) {
            return -ETIMEDOUT;
        }
        sleep_ns(100000);
    }
    return 0;
}

typedef struct {
    int ret;
    int *done;
} RvArg;

static void coroutine_fn rendezvous_entry(void *opaque)
{
    RvArg *a = opaque;

    a->ret = thread_pool_co_run(rendezvous_func, NULL);
    (*a->done)++;
}

START_TEST(test_scales_to_queued_jobs)
{
    RvArg args[RENDEZVOUS];
    int done = 0, i;

    atomic_store(&arrived, 0);
    for (i = 0; i < RENDEZVOUS; i++) {
        args[i] = (RvArg){ -1, &done };
        qemu_coroutine_enter(qemu_coroutine_create(rendezvous_entry,
                                                   &args[i]));
    }
    poll_until_count(&done, RENDEZVOUS);
    for (i = 0; i < RENDEZVOUS; i++) {
        ck_assert_int_eq(args[i].ret, 0);
    }
    ck_assert_int_ge(thread_pool_num_workers(), RENDEZVOUS);
    thread_pool_shutdown();
}
END_TEST

START_TEST(test_idle_workers_exit)
{
    JobArg args[8];
    int64_t deadline;

    thread_pool_set_idle_timeout_ms(50);
    run_jobs(args, 8, 5000000);
    ck_assert_int_ge(thread_pool_num_workers(), 1);
    deadline = get_clock_ns() + 5 * SEC;
    while (thread_pool_num_workers() > 0) {
        ck_assert(get_clock_ns() < deadline);
        sleep_ns(10000000);
    }
    /* The pool is still usable: new workers are made on demand. */
    run_jobs(args, 8, 0);
    thread_pool_shutdown();
    ck_assert_int_eq(thread_pool_num_workers(), 0);
    /* And after shutdown too. */
    run_jobs(args, 2, 0);
    thread_pool_shutdown();
}
END_TEST

/*
 * With an io_uring ring the loop blocks in the ring; a pool completion (an
 * eventfd write on another thread) must still wake it.
 */
START_TEST(test_wakes_uring_loop)
{
    Error *err = NULL;
    JobArg args[4];

    if (aio_file_backend_init(qemu_get_aio_context(), AIO_BACKEND_IO_URING,
                              &err) < 0) {
        /* No ring here: this then repeats the epoll-only loop. */
        error_free(err);
    }
    run_jobs(args, 4, 20000000);
    run_jobs(args, 1, 0);
    thread_pool_shutdown();
}
END_TEST

/* Mixed with timers: a sleeping coroutine and pool jobs in one loop. */
typedef struct {
    int *done;
} SleepArg;

static void coroutine_fn sleep_entry(void *opaque)
{
    SleepArg *a = opaque;

    qemu_co_sleep_ns(30000000);
    (*a->done)++;
}

START_TEST(test_with_timers)
{
    JobArg args[4];
    int done = 0, i;
    SleepArg s = { &done };
    int64_t start = get_clock_ns();

    qemu_coroutine_enter(qemu_coroutine_create(sleep_entry, &s));
    for (i = 0; i < 4; i++) {
        args[i] = (JobArg){ { i, 60000000, true }, INT_MIN, &done };
        qemu_coroutine_enter(qemu_coroutine_create(job_entry, &args[i]));
    }
    poll_until_count(&done, 5);
    ck_assert_int_ge(get_clock_ns() - start, 60000000);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(args[i].result, i * 3 + 1);
    }
    thread_pool_shutdown();
}
END_TEST

static Suite *thread_pool_suite(void)
{
    Suite *s = suite_create("thread-pool");
    TCase *tc;

    tc = tcase_create("jobs");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_result);
    tcase_add_test(tc, test_many_parallel);
    tcase_add_test(tc, test_max_workers);
    tcase_add_test(tc, test_scales_to_queued_jobs);
    suite_add_tcase(s, tc);

    tc = tcase_create("lifecycle");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_idle_workers_exit);
    suite_add_tcase(s, tc);

    tc = tcase_create("loop");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_wakes_uring_loop);
    tcase_add_test(tc, test_with_timers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(thread_pool_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
