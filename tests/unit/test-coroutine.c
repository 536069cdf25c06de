/* Unit tests: coroutines, CoQueue, CoMutex, CoRwlock, qemu_co_sleep_ns. */
#include "config-host.h"

#include <check.h>
#include <signal.h>

#include "util/aio.h"
#include "util/coroutine.h"

/* Runs the loop until *n reaches target (bounded: a bug fails, not hangs). */
static void poll_until_count(int *n, int target)
{
    AioContext *ctx = qemu_get_aio_context();
    int64_t deadline = get_clock_ns() + 10 * 1000000000LL;

    while (*n < target) {
        aio_poll(ctx, true);
        ck_assert_msg(get_clock_ns() < deadline, "loop made no progress");
    }
}

/* Runs the loop until nothing is left to do right now. */
static void poll_idle(void)
{
    AioContext *ctx = qemu_get_aio_context();

    while (aio_poll(ctx, false)) {
        /* nothing */
    }
}

/* ---- basic: create, enter, yield, terminate ------------------------------ */

typedef struct {
    int step;
    Coroutine *self;
    bool in_co;
} BasicState;

static void coroutine_fn basic_entry(void *opaque)
{
    BasicState *s = opaque;

    s->self = qemu_coroutine_self();
    s->in_co = qemu_in_coroutine();
    s->step = 1;
    qemu_coroutine_yield();
    s->step = 2;
    qemu_coroutine_yield();
    s->step = 3;
}

START_TEST(test_basic)
{
    BasicState s = { 0 };
    Coroutine *co = qemu_coroutine_create(basic_entry, &s);

    ck_assert(!qemu_in_coroutine());
    ck_assert_ptr_null(qemu_coroutine_self());
    ck_assert(!qemu_coroutine_entered(co));
    ck_assert_int_eq(s.step, 0);           /* created, not yet run */

    qemu_coroutine_enter(co);
    ck_assert_int_eq(s.step, 1);
    ck_assert_ptr_eq(s.self, co);
    ck_assert(s.in_co);
    ck_assert(!qemu_in_coroutine());
    ck_assert(!qemu_coroutine_entered(co));

    qemu_coroutine_enter(co);
    ck_assert_int_eq(s.step, 2);
    qemu_coroutine_enter(co);
    ck_assert_int_eq(s.step, 3);            /* terminated */
}
END_TEST

/* Locals and callee-saved registers survive switches. */
static void coroutine_fn locals_entry(void *opaque)
{
    long *sum = opaque;
    volatile long a = 1, b = 2, c = 3;
    long i, acc = 0;

    for (i = 0; i < 1000; i++) {
        acc += a + b + c + i;
        qemu_coroutine_yield();
    }
    *sum = acc;
}

START_TEST(test_locals_survive)
{
    long sum1 = 0, sum2 = 0;
    Coroutine *co1 = qemu_coroutine_create(locals_entry, &sum1);
    Coroutine *co2 = qemu_coroutine_create(locals_entry, &sum2);
    int i;

    for (i = 0; i <= 1000; i++) {
        qemu_coroutine_enter(co1);
        qemu_coroutine_enter(co2);
    }
    ck_assert_int_eq(sum1, 6 * 1000 + 999 * 1000 / 2);
    ck_assert_int_eq(sum2, sum1);
}
END_TEST

/* ---- nesting ------------------------------------------------------------- */

typedef struct {
    Coroutine *outer;
    Coroutine *inner;
    char log[32];
    int n;
} NestState;

static void nest_log(NestState *s, char c)
{
    s->log[s->n++] = c;
}

static void coroutine_fn nest_inner(void *opaque)
{
    NestState *s = opaque;

    nest_log(s, 'b');
    ck_assert(qemu_coroutine_entered(s->outer));    /* our caller */
    ck_assert(qemu_coroutine_entered(s->inner));
    ck_assert_ptr_eq(qemu_coroutine_self(), s->inner);
    /* The outer coroutine is active (our caller): this must not enter it. */
    qemu_coroutine_enter_if_inactive(s->outer);
    qemu_coroutine_yield();                         /* back to outer */
    nest_log(s, 'd');
}

static void coroutine_fn nest_outer(void *opaque)
{
    NestState *s = opaque;

    nest_log(s, 'a');
    s->inner = qemu_coroutine_create(nest_inner, s);
    qemu_coroutine_enter(s->inner);
    nest_log(s, 'c');
    ck_assert_ptr_eq(qemu_coroutine_self(), s->outer);
    qemu_coroutine_enter(s->inner);                 /* inner terminates */
    nest_log(s, 'e');
    qemu_coroutine_yield();                         /* back to main */
    nest_log(s, 'f');
}

START_TEST(test_nesting)
{
    NestState s = { 0 };

    s.outer = qemu_coroutine_create(nest_outer, &s);
    qemu_coroutine_enter(s.outer);
    ck_assert_str_eq(s.log, "abcde");
    ck_assert(!qemu_coroutine_entered(s.outer));
    qemu_coroutine_enter_if_inactive(s.outer);      /* inactive: enters */
    ck_assert_str_eq(s.log, "abcdef");
}
END_TEST

/* ---- misuse aborts ------------------------------------------------------- */

static void coroutine_fn reenter_self(void *opaque)
{
    qemu_coroutine_enter(qemu_coroutine_self());
}

START_TEST(test_reenter_running_aborts)
{
    qemu_coroutine_enter(qemu_coroutine_create(reenter_self, NULL));
}
END_TEST

static void coroutine_fn reenter_caller(void *opaque)
{
    qemu_coroutine_enter(opaque);
}

static void coroutine_fn enter_child(void *opaque)
{
    qemu_coroutine_enter(qemu_coroutine_create(reenter_caller,
                                               qemu_coroutine_self()));
}

START_TEST(test_reenter_caller_aborts)
{
    qemu_coroutine_enter(qemu_coroutine_create(enter_child, NULL));
}
END_TEST

START_TEST(test_yield_outside_aborts)
{
    qemu_coroutine_yield();
}
END_TEST

/* ---- pool and scale ------------------------------------------------------ */

static void coroutine_fn noop_entry(void *opaque)
{
    (*(int *)opaque)++;
}

START_TEST(test_pool_reuse)
{
    int runs = 0;
    Coroutine *co1 = qemu_coroutine_create(noop_entry, &runs);
    Coroutine *co2;

    qemu_coroutine_enter(co1);
    /* The stack and context of a terminated coroutine are reused. */
    co2 = qemu_coroutine_create(noop_entry, &runs);
    ck_assert_ptr_eq(co1, co2);
    qemu_coroutine_enter(co2);
    ck_assert_int_eq(runs, 2);
}
END_TEST

#define MANY 10000

static void coroutine_fn many_entry(void *opaque)
{
    int *counter = opaque;

    (*counter)++;
    qemu_coroutine_yield();
    (*counter)++;
}

START_TEST(test_many)
{
    Coroutine **cos = calloc(MANY, sizeof(*cos));
    int counter = 0;
    int i, j;

    /* All alive at once: 10000 distinct stacks. */
    for (i = 0; i < MANY; i++) {
        cos[i] = qemu_coroutine_create(many_entry, &counter);
        qemu_coroutine_enter(cos[i]);
    }
    ck_assert_int_eq(counter, MANY);
    for (i = 1; i < MANY; i += 997) {
        for (j = 0; j < i; j += 991) {
            ck_assert_ptr_ne(cos[i], cos[j]);
        }
    }
    for (i = 0; i < MANY; i++) {
        qemu_coroutine_enter(cos[i]);
    }
    ck_assert_int_eq(counter, 2 * MANY);
    /* Again, now mostly from the pool. */
    for (i = 0; i < MANY; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(many_entry, &counter));
    }
    ck_assert_int_eq(counter, 3 * MANY);
    free(cos);
}
END_TEST

/* Uses most of the stack: it is COROUTINE_STACK_SIZE, minus next to nothing. */
static void coroutine_fn big_stack_entry(void *opaque)
{
    size_t len = COROUTINE_STACK_SIZE - 64 * 1024;
    volatile char *buf = __builtin_alloca(len);
    size_t i;
    unsigned sum = 0;

    for (i = 0; i < len; i += 4096) {
        buf[i] = (char)i;
    }
    qemu_coroutine_yield();
    for (i = 0; i < len; i += 4096) {
        sum += (unsigned char)buf[i] == (unsigned char)(char)i;
    }
    *(unsigned *)opaque = sum;
}

START_TEST(test_big_stack)
{
    unsigned ok = 0;
    Coroutine *co = qemu_coroutine_create(big_stack_entry, &ok);

    qemu_coroutine_enter(co);
    qemu_coroutine_enter(co);
    ck_assert_uint_eq(ok, (COROUTINE_STACK_SIZE - 64 * 1024) / 4096);
}
END_TEST

#if !defined(__SANITIZE_ADDRESS__) && !defined(CONFIG_SANITIZERS)
/* (Under ASan the fault becomes its own report and exit code: not tested.) */
static void coroutine_fn overflow_entry(void *opaque)
{
    /* Touch the page right below the stack: the guard page. */
    volatile char *buf = __builtin_alloca(COROUTINE_STACK_SIZE + 8192);

    buf[0] = 1;
    *(int *)opaque = buf[0];
}

START_TEST(test_guard_page)
{
    int x = 0;

    qemu_coroutine_enter(qemu_coroutine_create(overflow_entry, &x));
}
END_TEST
#endif

/* ---- CoQueue ------------------------------------------------------------- */

typedef struct {
    CoQueue queue;
    CoMutex mutex;
    int order[16];
    int n;
    bool done;
    int running;
} QueueState;

typedef struct {
    QueueState *s;
    int id;
} QueueArg;

static void coroutine_fn queue_waiter(void *opaque)
{
    QueueArg *a = opaque;

    qemu_co_queue_wait(&a->s->queue, NULL);
    a->s->order[a->s->n++] = a->id;
}

START_TEST(test_queue_order)
{
    QueueState s = { 0 };
    QueueArg args[5];
    int i;

    qemu_co_queue_init(&s.queue);
    ck_assert(qemu_co_queue_empty(&s.queue));
    ck_assert(!qemu_co_queue_next(&s.queue));
    for (i = 0; i < 5; i++) {
        args[i] = (QueueArg){ &s, i };
        qemu_coroutine_enter(qemu_coroutine_create(queue_waiter, &args[i]));
    }
    ck_assert(!qemu_co_queue_empty(&s.queue));

    ck_assert(qemu_co_queue_next(&s.queue));
    /* Scheduled, not entered from inside qemu_co_queue_next. */
    ck_assert_int_eq(s.n, 0);
    poll_idle();
    ck_assert_int_eq(s.n, 1);
    ck_assert_int_eq(s.order[0], 0);

    ck_assert(qemu_co_queue_next(&s.queue));
    ck_assert(qemu_co_queue_next(&s.queue));
    poll_idle();
    ck_assert_int_eq(s.n, 3);
    ck_assert_int_eq(s.order[1], 1);
    ck_assert_int_eq(s.order[2], 2);

    qemu_co_queue_restart_all(&s.queue);
    ck_assert(qemu_co_queue_empty(&s.queue));
    poll_idle();
    ck_assert_int_eq(s.n, 5);
    ck_assert_int_eq(s.order[3], 3);
    ck_assert_int_eq(s.order[4], 4);
}
END_TEST

/* A condition-variable pattern: wait releases the mutex and re-takes it. */
static void coroutine_fn queue_cond_waiter(void *opaque)
{
    QueueState *s = opaque;

    qemu_co_mutex_lock(&s->mutex);
    while (!s->done) {
        qemu_co_queue_wait(&s->queue, &s->mutex);
        qemu_co_mutex_assert_locked(&s->mutex);
    }
    s->order[s->n++] = 1;
    qemu_co_mutex_unlock(&s->mutex);
}

static void coroutine_fn queue_cond_signaller(void *opaque)
{
    QueueState *s = opaque;

    /* Would block forever if the waiter still held the mutex. */
    qemu_co_mutex_lock(&s->mutex);
    s->done = true;
    qemu_co_queue_restart_all(&s->queue);
    qemu_co_mutex_unlock(&s->mutex);
}

START_TEST(test_queue_wait_with_lock)
{
    QueueState s = { 0 };

    qemu_co_queue_init(&s.queue);
    qemu_co_mutex_init(&s.mutex);
    qemu_coroutine_enter(qemu_coroutine_create(queue_cond_waiter, &s));
    ck_assert(!s.mutex.locked);
    qemu_coroutine_enter(qemu_coroutine_create(queue_cond_signaller, &s));
    poll_idle();
    ck_assert_int_eq(s.n, 1);
    ck_assert(!s.mutex.locked);
}
END_TEST

/* ---- CoMutex ------------------------------------------------------------- */

typedef struct {
    CoMutex mutex;
    int order[64];
    int n;
    int inside;
    int max_inside;
    int finished;
} MutexState;

typedef struct {
    MutexState *s;
    int id;
    int rounds;
} MutexArg;

static void coroutine_fn mutex_worker(void *opaque)
{
    MutexArg *a = opaque;
    int i;

    for (i = 0; i < a->rounds; i++) {
        qemu_co_mutex_lock(&a->s->mutex);
        qemu_co_mutex_assert_locked(&a->s->mutex);
        if (a->s->n < 64) {
            a->s->order[a->s->n++] = a->id;
        }
        a->s->inside++;
        a->s->max_inside = MAX(a->s->max_inside, a->s->inside);
        /* Hold it across a yield: others must queue. */
        qemu_co_sleep_ns(100000);
        a->s->inside--;
        qemu_co_mutex_unlock(&a->s->mutex);
    }
    a->s->finished++;
}

START_TEST(test_mutex_fifo)
{
    MutexState s = { 0 };
    MutexArg args[4];
    int i;

    qemu_co_mutex_init(&s.mutex);
    for (i = 0; i < 4; i++) {
        args[i] = (MutexArg){ &s, i, 3 };
        qemu_coroutine_enter(qemu_coroutine_create(mutex_worker, &args[i]));
    }
    poll_until_count(&s.finished, 4);
    ck_assert_int_eq(s.max_inside, 1);
    /*
     * FIFO hand-off: a coroutine that unlocks and immediately locks again
     * goes to the back of the queue, so the holders strictly rotate.
     */
    ck_assert_int_eq(s.n, 12);
    for (i = 0; i < 12; i++) {
        ck_assert_int_eq(s.order[i], i % 4);
    }
    ck_assert(!s.mutex.locked);
}
END_TEST

static void coroutine_fn mutex_barger(void *opaque)
{
    MutexArg *a = opaque;

    qemu_co_mutex_lock(&a->s->mutex);
    a->s->order[a->s->n++] = a->id;
    qemu_co_mutex_unlock(&a->s->mutex);
}

static void coroutine_fn mutex_holder(void *opaque)
{
    MutexArg *a = opaque;
    MutexArg *barger = a + 2;

    qemu_co_mutex_lock(&a->s->mutex);
    qemu_coroutine_yield();
    qemu_co_mutex_unlock(&a->s->mutex);
    /* The waiter owns the mutex now, though it has not run yet. */
    ck_assert(a->s->mutex.locked);
    qemu_coroutine_enter(qemu_coroutine_create(mutex_barger, barger));
    ck_assert_int_eq(a->s->n, 0);
}

START_TEST(test_mutex_no_barging)
{
    MutexState s = { 0 };
    MutexArg args[3] = { { &s, 0, 1 }, { &s, 1, 1 }, { &s, 2, 1 } };
    Coroutine *holder;

    qemu_co_mutex_init(&s.mutex);
    holder = qemu_coroutine_create(mutex_holder, &args[0]);
    qemu_coroutine_enter(holder);
    qemu_coroutine_enter(qemu_coroutine_create(mutex_barger, &args[1]));
    ck_assert_int_eq(s.n, 0);
    qemu_coroutine_enter(holder);
    poll_idle();
    ck_assert_int_eq(s.n, 2);
    ck_assert_int_eq(s.order[0], 1);    /* the one that queued first */
    ck_assert_int_eq(s.order[1], 2);
    ck_assert(!s.mutex.locked);
}
END_TEST

/* ---- CoRwlock ------------------------------------------------------------ */

typedef struct {
    CoRwlock lock;
    int readers_inside;
    int writers_inside;
    int max_readers;
    char log[64];
    int n;
} RwState;

typedef struct {
    RwState *s;
    char name;
    Coroutine *co;
} RwArg;

static void rw_log(RwState *s, char c)
{
    s->log[s->n++] = c;
}

static void rw_check(RwState *s)
{
    ck_assert(s->writers_inside <= 1);
    ck_assert(s->writers_inside == 0 || s->readers_inside == 0);
    s->max_readers = MAX(s->max_readers, s->readers_inside);
}

/* Takes a read lock, yields (to be resumed by the test), unlocks. */
static void coroutine_fn rw_reader(void *opaque)
{
    RwArg *a = opaque;

    qemu_co_rwlock_rdlock(&a->s->lock);
    a->s->readers_inside++;
    rw_check(a->s);
    rw_log(a->s, a->name);
    qemu_coroutine_yield();
    a->s->readers_inside--;
    qemu_co_rwlock_unlock(&a->s->lock);
}

static void coroutine_fn rw_writer(void *opaque)
{
    RwArg *a = opaque;

    qemu_co_rwlock_wrlock(&a->s->lock);
    a->s->writers_inside++;
    rw_check(a->s);
    rw_log(a->s, a->name);
    qemu_coroutine_yield();
    a->s->writers_inside--;
    qemu_co_rwlock_unlock(&a->s->lock);
}

static void rw_start(RwArg *a, CoroutineEntry *entry)
{
    a->co = qemu_coroutine_create(entry, a);
    qemu_coroutine_enter(a->co);
}

START_TEST(test_rwlock_readers_writers)
{
    RwState s = { 0 };
    RwArg r1 = { &s, 'r' }, r2 = { &s, 's' }, w1 = { &s, 'W' };
    RwArg r3 = { &s, 't' };

    qemu_co_rwlock_init(&s.lock);
    rw_start(&r1, rw_reader);
    rw_start(&r2, rw_reader);
    ck_assert_int_eq(s.max_readers, 2);         /* readers share */
    rw_start(&w1, rw_writer);                   /* waits for both */
    rw_start(&r3, rw_reader);                   /* queues behind writer */
    ck_assert_str_eq(s.log, "rs");
    ck_assert_int_eq(s.lock.pending_writers, 1);

    qemu_coroutine_enter(r1.co);                /* r1 unlocks */
    poll_idle();
    ck_assert_str_eq(s.log, "rs");              /* r2 still holds it */
    qemu_coroutine_enter(r2.co);
    poll_idle();
    ck_assert_str_eq(s.log, "rsW");             /* writer before r3 */
    ck_assert_int_eq(s.lock.pending_writers, 0);
    qemu_coroutine_enter(w1.co);
    poll_idle();
    ck_assert_str_eq(s.log, "rsWt");
    qemu_coroutine_enter(r3.co);
    poll_idle();
    ck_assert_int_eq(s.lock.readers, 0);
    ck_assert(!s.lock.writer);
}
END_TEST

/* A stream of overlapping readers does not starve a waiting writer. */
START_TEST(test_rwlock_writer_not_starved)
{
    RwState s = { 0 };
    RwArg r[6], w = { &s, 'W' };
    int i;

    qemu_co_rwlock_init(&s.lock);
    for (i = 0; i < 6; i++) {
        r[i] = (RwArg){ &s, (char)('a' + i) };
    }
    rw_start(&r[0], rw_reader);
    rw_start(&w, rw_writer);
    for (i = 1; i < 6; i++) {
        /* a new reader arrives, then the previous one leaves */
        rw_start(&r[i], rw_reader);
        if (i == 1) {
            qemu_coroutine_enter(r[0].co);
            poll_idle();
        }
    }
    ck_assert_str_eq(s.log, "aW");
    qemu_coroutine_enter(w.co);
    poll_idle();
    ck_assert_str_eq(s.log, "aWbcdef");         /* queued readers share */
    ck_assert_int_eq(s.readers_inside, 5);
    for (i = 1; i < 6; i++) {
        qemu_coroutine_enter(r[i].co);
    }
    poll_idle();
    ck_assert_int_eq(s.lock.readers, 0);
}
END_TEST

static void coroutine_fn rw_upgrader(void *opaque)
{
    RwArg *a = opaque;

    qemu_co_rwlock_rdlock(&a->s->lock);
    a->s->readers_inside++;
    rw_log(a->s, a->name);
    qemu_coroutine_yield();
    a->s->readers_inside--;
    qemu_co_rwlock_upgrade(&a->s->lock);
    a->s->writers_inside++;
    rw_check(a->s);
    rw_log(a->s, (char)(a->name - 'a' + 'A'));
    qemu_coroutine_yield();
    qemu_co_rwlock_downgrade(&a->s->lock);
    a->s->writers_inside--;
    a->s->readers_inside++;
    rw_check(a->s);
    rw_log(a->s, 'v');
    qemu_coroutine_yield();
    a->s->readers_inside--;
    qemu_co_rwlock_unlock(&a->s->lock);
}

START_TEST(test_rwlock_upgrade_downgrade)
{
    RwState s = { 0 };
    RwArg u = { &s, 'u' }, r = { &s, 'r' }, w = { &s, 'W' };
    RwArg r2 = { &s, 's' };

    qemu_co_rwlock_init(&s.lock);
    rw_start(&u, rw_upgrader);
    rw_start(&r, rw_reader);
    rw_start(&w, rw_writer);            /* queued */
    qemu_coroutine_enter(u.co);         /* upgrade: waits for r */
    ck_assert_str_eq(s.log, "ur");
    qemu_coroutine_enter(r.co);         /* r leaves: upgrader first */
    poll_idle();
    ck_assert_str_eq(s.log, "urU");
    ck_assert(s.lock.writer);
    rw_start(&r2, rw_reader);           /* queued behind W */
    qemu_coroutine_enter(u.co);         /* downgrade */
    poll_idle();
    /* W is at the head of the queue, so r2 behind it stays queued too. */
    ck_assert_str_eq(s.log, "urUv");
    ck_assert_int_eq(s.lock.readers, 1);
    qemu_coroutine_enter(u.co);         /* unlock: W, then r2 */
    poll_idle();
    ck_assert_str_eq(s.log, "urUvW");
    qemu_coroutine_enter(w.co);
    poll_idle();
    ck_assert_str_eq(s.log, "urUvWs");
    qemu_coroutine_enter(r2.co);
    poll_idle();
    ck_assert(!s.lock.writer);
    ck_assert_int_eq(s.lock.readers, 0);
}
END_TEST

static void coroutine_fn rw_downgrader(void *opaque)
{
    RwArg *a = opaque;

    qemu_co_rwlock_wrlock(&a->s->lock);
    a->s->writers_inside++;
    rw_check(a->s);
    rw_log(a->s, a->name);
    qemu_coroutine_yield();
    qemu_co_rwlock_downgrade(&a->s->lock);
    a->s->writers_inside--;
    a->s->readers_inside++;
    rw_log(a->s, 'v');
    qemu_coroutine_yield();
    a->s->readers_inside--;
    qemu_co_rwlock_unlock(&a->s->lock);
}

/* Downgrade lets the readers queued at the head in at once. */
START_TEST(test_rwlock_downgrade_wakes_readers)
{
    RwState s = { 0 };
    RwArg w = { &s, 'W' }, r1 = { &s, 'r' }, r2 = { &s, 's' };

    qemu_co_rwlock_init(&s.lock);
    rw_start(&w, rw_downgrader);
    rw_start(&r1, rw_reader);
    rw_start(&r2, rw_reader);
    ck_assert_str_eq(s.log, "W");
    qemu_coroutine_enter(w.co);         /* downgrade */
    poll_idle();
    ck_assert_str_eq(s.log, "Wvrs");
    ck_assert_int_eq(s.max_readers, 3);
    ck_assert_int_eq(s.lock.readers, 3);
    qemu_coroutine_enter(w.co);
    qemu_coroutine_enter(r1.co);
    qemu_coroutine_enter(r2.co);
    ck_assert_int_eq(s.lock.readers, 0);
    ck_assert(!s.lock.writer);
}
END_TEST

/* Two readers upgrading at once do not deadlock. */
START_TEST(test_rwlock_double_upgrade)
{
    RwState s = { 0 };
    RwArg a = { &s, 'a' }, b = { &s, 'b' };

    qemu_co_rwlock_init(&s.lock);
    rw_start(&a, rw_upgrader);
    rw_start(&b, rw_upgrader);
    qemu_coroutine_enter(a.co);         /* a waits for b */
    qemu_coroutine_enter(b.co);         /* b is alone: upgrades at once */
    ck_assert_str_eq(s.log, "abB");
    qemu_coroutine_enter(b.co);         /* downgrade */
    qemu_coroutine_enter(b.co);         /* unlock: a gets it */
    poll_idle();
    ck_assert_str_eq(s.log, "abBvA");
    qemu_coroutine_enter(a.co);
    qemu_coroutine_enter(a.co);
    ck_assert_str_eq(s.log, "abBvAv");
    ck_assert_int_eq(s.lock.readers, 0);
    ck_assert(!s.lock.writer);
}
END_TEST

/* ---- sleeping ------------------------------------------------------------ */

typedef struct {
    int64_t ns;
    int64_t woke_after;
    int *order;
    int *n;
    int id;
} SleepArg;

static void coroutine_fn sleeper(void *opaque)
{
    SleepArg *a = opaque;
    int64_t start = get_clock_ns();

    qemu_co_sleep_ns(a->ns);
    a->woke_after = get_clock_ns() - start;
    a->order[(*a->n)++] = a->id;
}

START_TEST(test_sleep_order)
{
    static const int64_t ms[] = { 30, 10, 20, 0, 15 };
    SleepArg args[5];
    int order[5], n = 0, i;
    int64_t start = get_clock_ns();

    for (i = 0; i < 5; i++) {
        args[i] = (SleepArg){ ms[i] * 1000000, 0, order, &n, i };
        qemu_coroutine_enter(qemu_coroutine_create(sleeper, &args[i]));
    }
    ck_assert_int_eq(n, 0);
    poll_until_count(&n, 5);
    ck_assert_int_lt(get_clock_ns() - start, 1000000000LL);
    ck_assert_int_eq(order[0], 3);
    ck_assert_int_eq(order[1], 1);
    ck_assert_int_eq(order[2], 4);
    ck_assert_int_eq(order[3], 2);
    ck_assert_int_eq(order[4], 0);
    for (i = 0; i < 5; i++) {
        ck_assert_int_ge(args[i].woke_after, args[i].ns);
    }
}
END_TEST

static Suite *coroutine_suite(void)
{
    Suite *s = suite_create("coroutine");
    TCase *tc;

    tc = tcase_create("basic");
    tcase_add_test(tc, test_basic);
    tcase_add_test(tc, test_locals_survive);
    tcase_add_test(tc, test_nesting);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_add_test_raise_signal(tc, test_reenter_running_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_reenter_caller_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_yield_outside_aborts, SIGABRT);
    suite_add_tcase(s, tc);

    tc = tcase_create("pool");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_pool_reuse);
    tcase_add_test(tc, test_many);
    tcase_add_test(tc, test_big_stack);
#if !defined(__SANITIZE_ADDRESS__) && !defined(CONFIG_SANITIZERS)
    tcase_add_test_raise_signal(tc, test_guard_page, SIGSEGV);
#endif
    suite_add_tcase(s, tc);

    tc = tcase_create("queue");
    tcase_add_test(tc, test_queue_order);
    tcase_add_test(tc, test_queue_wait_with_lock);
    suite_add_tcase(s, tc);

    tc = tcase_create("mutex");
    tcase_add_test(tc, test_mutex_fifo);
    tcase_add_test(tc, test_mutex_no_barging);
    suite_add_tcase(s, tc);

    tc = tcase_create("rwlock");
    tcase_add_test(tc, test_rwlock_readers_writers);
    tcase_add_test(tc, test_rwlock_writer_not_starved);
    tcase_add_test(tc, test_rwlock_upgrade_downgrade);
    tcase_add_test(tc, test_rwlock_downgrade_wakes_readers);
    tcase_add_test(tc, test_rwlock_double_upgrade);
    suite_add_tcase(s, tc);

    tc = tcase_create("sleep");
    tcase_add_test(tc, test_sleep_order);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(coroutine_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
