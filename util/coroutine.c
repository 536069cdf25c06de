/*
 * Coroutines: stacks, the pool, enter/yield/terminate and the switch.
 *
 * Invariants:
 * 1. Each coroutine owns one anonymous mapping: a PROT_NONE guard page at
 *    the low end (an overflow faults instead of scribbling on a neighbour),
 *    the stack, and the Coroutine struct itself at the top, so taking one
 *    from the pool costs no allocation at all.
 * 2. A context, once made, lives until the mapping is unmapped: the
 *    trampoline loops, running one entry function after another. A
 *    terminated coroutine goes to a per-thread pool as it is; reusing it is
 *    "set entry, switch in".
 * 3. 'caller' is non-NULL exactly while a coroutine is in the chain that
 *    qemu_coroutine_enter builds: entering such a coroutine again would
 *    resume it in the middle of its caller's frame, so it aborts.
 * 4. A terminated coroutine is returned to the pool by whoever entered it,
 *    after the switch back: nothing may free the stack it is running on.
 *
 * The thread's own stack is represented by a per-thread 'leader' struct
 * that has no mapping; qemu_coroutine_self() returns NULL while it runs.
 */
#include "config-host.h"

#include <sys/mman.h>

#include "util/coroutine.h"
#include "coroutine-int.h"

#ifdef COROUTINE_SWITCH_GENERIC
#include <ucontext.h>
#endif
#ifdef COROUTINE_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

/*
 * Per thread. Big enough for the deepest queue the block layer keeps
 * (convert -m 16 x a few requests, bench -d up to 256) without mapping and
 * unmapping stacks in the steady state; an idle pooled coroutine costs only
 * the stack pages it once touched.
 */
#define COROUTINE_POOL_MAX 256

static __thread Coroutine *current;     /* NULL: the thread's own stack */
static __thread Coroutine leader;
static __thread SLIST_HEAD(, Coroutine) pool;
static __thread unsigned int pool_size;

#ifdef COROUTINE_SWITCH_ASM
/*
 * util/coroutine-<arch>.S: saves the callee-saved registers on the current
 * stack, stores the stack pointer in *save_sp, loads new_sp, restores the
 * registers found there and returns arg (also leaving it in the first
 * argument register, which is how a new context receives its Coroutine).
 * The FPU control words are not switched: nothing here changes them.
 */
void *coroutine_switch_asm(void **save_sp, void *new_sp, void *arg);
#endif

/* ---- AddressSanitizer annotations ---------------------------------------- */

#ifdef COROUTINE_ASAN
/* The context that switched last: a resumed context came from there. */
static __thread Coroutine *asan_last_from;

static void asan_start_switch(Coroutine *from, Coroutine *to, bool from_dies)
{
    asan_last_from = from;
    /* A dying context passes NULL so that its fake stack is released. */
    __sanitizer_start_switch_fiber(from_dies ? NULL : &from->fake_stack,
                                   to->stack, to->stack_size);
}

static void asan_finish_switch(Coroutine *self)
{
    const void *bottom;
    size_t size;

    __sanitizer_finish_switch_fiber(self ? self->fake_stack : NULL,
                                    &bottom, &size);
    /*
     * The thread's own stack is only known by being switched away from:
     * record it for the switches back to it.
     */
    if (asan_last_from == &leader) {
        leader.stack = (void *)bottom;
        leader.stack_size = size;
    }
}
#else
static inline void asan_start_switch(Coroutine *from, Coroutine *to,
                                     bool from_dies)
{
}

static inline void asan_finish_switch(Coroutine *self)
{
}
#endif

/* ---- the switch ---------------------------------------------------------- */

/*
 * Leaves 'from' (the running context) for 'to'; returns when some context
 * switches back to 'from'.
 */
static void coroutine_switch(Coroutine *from, Coroutine *to, bool from_dies)
{
    current = to == &leader ? NULL : to;
    if (from_dies) {
        from->fake_stack = NULL;
    }
    asan_start_switch(from, to, from_dies);
#ifdef COROUTINE_SWITCH_ASM
    coroutine_switch_asm(&from->sp, to->sp, to);
#else
    if (!_setjmp(from->env)) {
        _longjmp(to->env, 1);
    }
#endif
    asan_finish_switch(from);
}

/*
 * Runs on the coroutine's own stack for its whole life. It never returns:
 * after each entry function it switches back to the caller as terminated,
 * and resumes here when the pool hands the coroutine out again.
 */
static void NORETURN coroutine_run(Coroutine *co)
{
    for (;;) {
        Coroutine *caller;

        co->entry(co->entry_arg);

        caller = co->caller;
        co->caller = NULL;
        co->terminated = true;
        coroutine_switch(co, caller, true);
    }
}

#ifdef COROUTINE_SWITCH_ASM
static void NORETURN coroutine_trampoline(Coroutine *co)
{
    asan_finish_switch(NULL);
    coroutine_run(co);
}

static void coroutine_init_context(Coroutine *co)
{
    uintptr_t *sp = (uintptr_t *)((char *)co->stack + co->stack_size);
    int i;

    /*
     * The frame coroutine_switch_asm pops the first time it switches in:
     * zeroed callee-saved registers (a zero frame pointer ends
     * backtraces), then its return address, the trampoline, which thus
     * starts as if called with co as its argument and a zero return
     * address. The stack top is 16-byte aligned.
     */
#if defined(__x86_64__)
    *--sp = 0;                                  /* trampoline's "caller" */
    *--sp = (uintptr_t)coroutine_trampoline;    /* popped by ret */
    for (i = 0; i < 6; i++) {                   /* rbp rbx r12-r15 */
        *--sp = 0;
    }
#elif defined(__aarch64__)
    /* x19-x28, x29 (fp), x30 (lr), d8-d15: 20 slots, lr at slot 11 */
    sp -= 20;
    for (i = 0; i < 20; i++) {
        sp[i] = 0;
    }
    sp[11] = (uintptr_t)coroutine_trampoline;
#endif
    co->sp = sp;
}
#else /* COROUTINE_SWITCH_GENERIC */
static void coroutine_trampoline(int lo, int hi)
{
    Coroutine *co = (Coroutine *)(((uintptr_t)(unsigned int)hi << 16 << 16) |
                                  (uintptr_t)(unsigned int)lo);
    Coroutine *creator = current ? current : &leader;

    asan_finish_switch(NULL);
    /*
     * Park here: save this context for the first enter, go back to the
     * creator (ucontext is only used once, to get onto the new stack).
     */
    if (!_setjmp(co->env)) {
        asan_start_switch(co, creator, false);
        _longjmp(*co->init_env, 1);
    }
    asan_finish_switch(co);
    coroutine_run(co);
}

static void coroutine_init_context(Coroutine *co)
{
    Coroutine *self = current ? current : &leader;
    ucontext_t uc, old_uc;
    jmp_buf init_env;
    uintptr_t p = (uintptr_t)co;

    if (getcontext(&uc) < 0) {
        abort();
    }
    uc.uc_link = NULL;
    uc.uc_stack.ss_sp = co->stack;
    uc.uc_stack.ss_size = co->stack_size;
    uc.uc_stack.ss_flags = 0;
    makecontext(&uc, (void (*)(void))coroutine_trampoline, 2,
                (int)(unsigned int)p, (int)(unsigned int)(p >> 16 >> 16));
    co->init_env = &init_env;
    if (!_setjmp(init_env)) {
        asan_start_switch(self, co, false);
        swapcontext(&old_uc, &uc);
    }
    asan_finish_switch(self);
    co->init_env = NULL;
}
#endif

/* ---- stacks and the pool ------------------------------------------------- */

static size_t page_size(void)
{
    static size_t size;

    if (!size) {
        size = (size_t)sysconf(_SC_PAGESIZE);
    }
    return size;
}

static Coroutine *coroutine_alloc(void)
{
    size_t page = page_size();
    size_t head = ROUND_UP(sizeof(Coroutine), 64);
    size_t map_size = ROUND_UP(COROUTINE_STACK_SIZE + head, page) + page;
    char *map;
    Coroutine *co;

    /*
     * MAP_NORESERVE: a stack is mostly untouched address space; only the
     * pages a coroutine really uses get memory.
     */
    map = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
               -1, 0);
    if (map == MAP_FAILED) {
        fprintf(stderr, "Failed to allocate a coroutine stack: %s\n",
                strerror(errno));
        abort();
    }
    if (mprotect(map, page, PROT_NONE) < 0) {
        fprintf(stderr, "Failed to protect a coroutine guard page: %s\n",
                strerror(errno));
        abort();
    }
    co = (Coroutine *)(map + map_size - head);
    memset(co, 0, sizeof(*co));
    co->map = map;
    co->map_size = map_size;
    co->stack = map + page;
    co->stack_size = map_size - page - head;
    coroutine_init_context(co);
    return co;
}

static void coroutine_free(Coroutine *co)
{
#ifdef COROUTINE_ASAN
    /*
     * The trampoline's frame never returned, so its redzones are still
     * poisoned; a later mapping at this address must not inherit that.
     */
    ASAN_UNPOISON_MEMORY_REGION(co->stack, co->stack_size);
#endif
    munmap(co->map, co->map_size);
}

static void coroutine_release(Coroutine *co)
{
    if (pool_size < COROUTINE_POOL_MAX) {
        SLIST_INSERT_HEAD(&pool, co, pool_next);
        pool_size++;
    } else {
        coroutine_free(co);
    }
}

/* ---- public API ---------------------------------------------------------- */

Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque)
{
    Coroutine *co = SLIST_FIRST(&pool);

    assert(entry);
    if (co) {
        SLIST_REMOVE_HEAD(&pool, pool_next);
        pool_size--;
    } else {
        co = coroutine_alloc();
    }
    co->entry = entry;
    co->entry_arg = opaque;
    co->caller = NULL;
    co->terminated = false;
    co->scheduled = false;
    return co;
}

void qemu_coroutine_enter(Coroutine *co)
{
    Coroutine *self = current ? current : &leader;

    assert(co);
    if (co->caller || co == self) {
        fprintf(stderr, "Co-routine re-entered recursively\n");
        abort();
    }
    if (co->scheduled) {
        fprintf(stderr, "Co-routine entered while it was scheduled\n");
        abort();
    }
    assert(!co->terminated);

    co->caller = self;
    coroutine_switch(self, co, false);

    /* co yielded or terminated back to us (and only co can: invariant 3) */
    if (co->terminated) {
        coroutine_release(co);
    }
}

void qemu_coroutine_enter_if_inactive(Coroutine *co)
{
    if (!qemu_coroutine_entered(co)) {
        qemu_coroutine_enter(co);
    }
}

void coroutine_fn qemu_coroutine_yield(void)
{
    Coroutine *self = current;
    Coroutine *to;

    if (!self) {
        fprintf(stderr, "Co-routine is yielding to no one\n");
        abort();
    }
    to = self->caller;
    self->caller = NULL;
    coroutine_switch(self, to, false);
}

Coroutine *qemu_coroutine_self(void)
{
    return current;
}

bool qemu_in_coroutine(void)
{
    return current != NULL;
}

bool qemu_coroutine_entered(Coroutine *co)
{
    return co->caller != NULL;
}
