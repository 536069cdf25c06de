#include "config-host.h"

#include "util/osdep.h"
#include "util/cleanup.h"

void cleanup_free(void *ptr)
{
    free(*(void **)ptr);
}

void cleanup_vfree(void *ptr)
{
    qemu_vfree(*(void **)ptr);
}

void cleanup_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
}
