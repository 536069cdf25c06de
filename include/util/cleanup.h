/*
 * Scope-bound release of memory and file descriptors. Only for objects that
 * live exactly one scope and are initialised at their declaration; never for
 * locks, node references or releases whose order matters.
 */
#ifndef UTIL_CLEANUP_H
#define UTIL_CLEANUP_H

void cleanup_free(void *ptr);
void cleanup_close(int *fd);
void cleanup_vfree(void *ptr);

#define CLEANUP_FREE __attribute__((cleanup(cleanup_free)))
#define CLEANUP_CLOSE __attribute__((cleanup(cleanup_close)))
#define CLEANUP_VFREE __attribute__((cleanup(cleanup_vfree)))

#endif
