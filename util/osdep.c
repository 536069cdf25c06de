#include "config-host.h"

#include <time.h>

#include "util/osdep.h"

static void NORETURN out_of_memory(size_t size)
{
    fprintf(stderr, "Failed to allocate %zu bytes: out of memory\n", size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p) {
        out_of_memory(size);
    }
    return p;
}

void *xzalloc(size_t size)
{
    return xcalloc(1, size);
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (!p) {
        out_of_memory(nmemb * size);
    }
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p) {
        out_of_memory(size);
    }
    return p;
}

char *xstrdup(const char *s)
{
    return s ? xstrndup(s, strlen(s)) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);

    if (!p) {
        out_of_memory(n);
    }
    return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
    char *p;

    if (vasprintf(&p, fmt, ap) < 0) {
        out_of_memory(strlen(fmt));
    }
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

/* 4096 covers every logical block size O_DIRECT asks for. */
#define BLOCK_BUFFER_ALIGN 4096

void *qemu_try_blockalign(size_t size)
{
    void *p;

    if (posix_memalign(&p, BLOCK_BUFFER_ALIGN, size ? size : 1) != 0) {
        return NULL;
    }
    return p;
}

void *qemu_blockalign(size_t size)
{
    void *p = qemu_try_blockalign(size);

    if (!p) {
        out_of_memory(size);
    }
    return p;
}

void *qemu_blockalign0(size_t size)
{
    return memset(qemu_blockalign(size), 0, size);
}

void qemu_vfree(void *ptr)
{
    free(ptr);
}

int64_t get_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}
