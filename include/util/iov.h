/* Scatter/gather vectors for the request path. */
#ifndef UTIL_IOV_H
#define UTIL_IOV_H

#include <sys/uio.h>

#include "util/osdep.h"

/* Bytes copied between an iovec array (starting at offset) and a buffer. */
size_t iov_from_buf(const struct iovec *iov, unsigned int iov_cnt,
                    size_t offset, const void *buf, size_t bytes);
size_t iov_to_buf(const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, void *buf, size_t bytes);
size_t iov_memset(const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, int fillc, size_t bytes);
size_t iov_size(const struct iovec *iov, unsigned int iov_cnt);

struct QEMUIOVector {
    struct iovec *iov;
    int niov;
    int nalloc;     /* -1: iov is borrowed (external or local_iov) */
    size_t size;
    struct iovec local_iov;
};

/* An empty vector with room for alloc_hint entries. */
void qemu_iovec_init(QEMUIOVector *qiov, int alloc_hint);
/* A one-element vector over buf; needs no destroy. */
void qemu_iovec_init_buf(QEMUIOVector *qiov, void *buf, size_t len);
/* Borrows iov (not copied; needs no destroy). */
void qemu_iovec_init_external(QEMUIOVector *qiov, struct iovec *iov,
                              int niov);
/* A new vector over bytes [offset, offset+len) of source (destroy it). */
void qemu_iovec_init_slice(QEMUIOVector *qiov, QEMUIOVector *source,
                           size_t offset, size_t len);
void qemu_iovec_add(QEMUIOVector *qiov, void *base, size_t len);
/* Appends bytes [soffset, soffset+sbytes) of src's elements to dst. */
void qemu_iovec_concat(QEMUIOVector *dst, QEMUIOVector *src, size_t soffset,
                       size_t sbytes);
void qemu_iovec_reset(QEMUIOVector *qiov);
void qemu_iovec_destroy(QEMUIOVector *qiov);
size_t qemu_iovec_to_buf(QEMUIOVector *qiov, size_t offset, void *buf,
                         size_t bytes);
size_t qemu_iovec_from_buf(QEMUIOVector *qiov, size_t offset, const void *buf,
                           size_t bytes);
size_t qemu_iovec_memset(QEMUIOVector *qiov, size_t offset, int fillc,
                         size_t bytes);
/* True if bytes [offset, offset+bytes) are all zero. */
bool qemu_iovec_is_zero(QEMUIOVector *qiov, size_t offset, size_t bytes);
/* True if every element's base and length are multiples of align. */
bool qemu_iovec_is_aligned(QEMUIOVector *qiov, size_t align);

/* Fast check that a buffer is all zero bytes. */
bool buffer_is_zero(const void *buf, size_t len);

#endif
