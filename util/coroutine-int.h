/*
 * Private to util/coroutine*.c and util/aio.c: the Coroutine struct and the
 * choice of context switch.
 */
#ifndef UTIL_COROUTINE_INT_H
#define UTIL_COROUTINE_INT_H

#include <setjmp.h>
#include <sys/queue.h>

#include "util/coroutine.h"

/*
 * The switch: hand-written assembly where we have it (no system call, six
 * or so instructions each way); elsewhere ucontext only to create a context
 * and _setjmp/_longjmp to switch. -DCOROUTINE_FORCE_GENERIC picks the
 * fallback on any host, so that it can be tested.
 */
#if defined(__x86_64__) && !defined(COROUTINE_FORCE_GENERIC)
#define COROUTINE_SWITCH_ASM 1
#elif defined(__aarch64__) && !defined(COROUTINE_FORCE_GENERIC)
#define COROUTINE_SWITCH_ASM 1
#else
#define COROUTINE_SWITCH_GENERIC 1
#endif

#if defined(CONFIG_SANITIZERS) || defined(__SANITIZE_ADDRESS__)
#define COROUTINE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COROUTINE_ASAN 1
#endif
#endif

struct Coroutine {
    /* Saved stack pointer while switched out (assembly switch). */
    void *sp;
    CoroutineEntry *entry;
    void *entry_arg;
    /*
     * Who entered us and gets control back when we yield or terminate;
     * non-NULL exactly while we run or are in the chain of callers of the
     * running coroutine.
     */
    Coroutine *caller;
    bool terminated;
    /* On an AioContext's list of coroutines to enter (owned by aio.c). */
    bool scheduled;
    SIMPLEQ_ENTRY(Coroutine) scheduled_next;
    SLIST_ENTRY(Coroutine) pool_next;

    /* The mapping: guard page, stack, then this struct at its top. */
    void *map;
    size_t map_size;
    void *stack;
    size_t stack_size;

    /* ASan's fake stack of this context while it is switched out. */
    void *fake_stack;

#ifdef COROUTINE_SWITCH_GENERIC
    jmp_buf env;
    /* Creator's context, used once while the new context is set up. */
    jmp_buf *init_env;
#endif
};

#endif
