/*
 * Worker threads for blocking system calls (the 'threads' AIO backend,
 * fallocate, lseek) and for CPU-heavy work (compression, encryption).
 *
 * func runs on a worker and must only compute or make system calls: it must
 * not touch coroutines, the block graph, or anything else of the loop thread.
 * The submitting coroutine yields and is re-entered by the loop with func's
 * return value once it finishes.
 */
#ifndef UTIL_THREAD_POOL_H
#define UTIL_THREAD_POOL_H

#include "util/osdep.h"

typedef int ThreadPoolFunc(void *opaque);

/* Runs func(opaque) on a worker; returns its result. */
int coroutine_fn thread_pool_co_run(ThreadPoolFunc *func, void *opaque);

/* Upper bound on workers (default: 64). Call before first use. */
void thread_pool_set_max_workers(int max_workers);

/*
 * How long an idle worker waits for a job before it exits (default: 10 s).
 * For tests and tuning; takes effect for workers that start waiting later.
 */
void thread_pool_set_idle_timeout_ms(int ms);

/* Number of worker threads currently alive (for tests and statistics). */
int thread_pool_num_workers(void);

/* Stops idle workers and waits for them; called at exit by the front ends. */
void thread_pool_shutdown(void);

#endif
