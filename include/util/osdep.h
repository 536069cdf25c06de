/*
 * Common system headers and small macros every file may use.
 * Included (after config-host.h) by every .c file, first among project headers.
 */
#ifndef UTIL_OSDEP_H
#define UTIL_OSDEP_H

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "util/typedefs.h"

/* Marks a function that may yield: call it only from another coroutine_fn. */
#define coroutine_fn

#define PRINTF_FMT(a, b) __attribute__((format(printf, a, b)))
#define NORETURN __attribute__((noreturn))
#define WARN_UNUSED __attribute__((warn_unused_result))
#define PACKED __attribute__((packed))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))

/* Alignment helpers; 'a' need not be a power of two unless stated. */
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define ROUND_DOWN(n, a) ((n) / (a) * (a))
#define ROUND_UP(n, a) (DIV_ROUND_UP(n, a) * (a))
#define IS_ALIGNED(n, a) ((n) % (a) == 0)
#define IS_POWER_OF_2(x) ((x) != 0 && ((x) & ((x) - 1)) == 0)

#define KiB (INT64_C(1) << 10)
#define MiB (INT64_C(1) << 20)
#define GiB (INT64_C(1) << 30)
#define TiB (INT64_C(1) << 40)
#define PiB (INT64_C(1) << 50)
#define EiB (INT64_C(1) << 60)

/* Sector units as qemu-img reports them. */
#define BDRV_SECTOR_BITS 9
#define BDRV_SECTOR_SIZE (1ULL << BDRV_SECTOR_BITS)

/*
 * Allocation that cannot fail: out of memory aborts with a message, as
 * qemu-img does. Use these everywhere; never check for NULL after them.
 */
void *xmalloc(size_t size);
void *xzalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF_FMT(1, 2);
char *xvasprintf(const char *fmt, va_list ap) PRINTF_FMT(1, 0);
#define xnew(type, n) ((type *)xcalloc((n), sizeof(type)))

/*
 * Buffers for I/O that may go to O_DIRECT files: aligned to 4096 bytes.
 * qemu_try_blockalign returns NULL on failure (for guest-sized buffers),
 * qemu_blockalign aborts. Free with qemu_vfree.
 */
void *qemu_blockalign(size_t size);
void *qemu_try_blockalign(size_t size);
void *qemu_blockalign0(size_t size);
void qemu_vfree(void *ptr);

/* Monotonic clock in nanoseconds. */
int64_t get_clock_ns(void);

#endif
