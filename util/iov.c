/*
 * Scatter/gather vectors, and buffer_is_zero: the zero test convert runs on
 * every chunk it copies, so it is vectorised (AVX2 when the CPU has it,
 * SSE2 otherwise, plain words elsewhere) and looks at both ends of the
 * buffer first, where real data usually shows up at once.
 */
#include "config-host.h"

#include "util/osdep.h"
#include "util/iov.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IOV_HAVE_X86 1
#endif

/* ---- plain iovec arrays ------------------------------------------------- */

size_t iov_from_buf(const struct iovec *iov, unsigned int iov_cnt,
                    size_t offset, const void *buf, size_t bytes)
{
    size_t done = 0;
    unsigned int i;

    for (i = 0; i < iov_cnt && done < bytes; i++) {
        if (offset < iov[i].iov_len) {
            size_t len = MIN(iov[i].iov_len - offset, bytes - done);

            memcpy((char *)iov[i].iov_base + offset, (const char *)buf + done,
                   len);
            done += len;
            offset = 0;
        } else {
            offset -= iov[i].iov_len;
        }
    }
    return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, void *buf, size_t bytes)
{
    size_t done = 0;
    unsigned int i;

    for (i = 0; i < iov_cnt && done < bytes; i++) {
        if (offset < iov[i].iov_len) {
            size_t len = MIN(iov[i].iov_len - offset, bytes - done);

            memcpy((char *)buf + done, (const char *)iov[i].iov_base + offset,
                   len);
            done += len;
            offset = 0;
        } else {
            offset -= iov[i].iov_len;
        }
    }
    return done;
}

size_t iov_memset(const struct iovec *iov, unsigned int iov_cnt,
                  size_t offset, int fillc, size_t bytes)
{
    size_t done = 0;
    unsigned int i;

    for (i = 0; i < iov_cnt && done < bytes; i++) {
        if (offset < iov[i].iov_len) {
            size_t len = MIN(iov[i].iov_len - offset, bytes - done);

            memset((char *)iov[i].iov_base + offset, fillc, len);
            done += len;
            offset = 0;
        } else {
            offset -= iov[i].iov_len;
        }
    }
    return done;
}

size_t iov_size(const struct iovec *iov, unsigned int iov_cnt)
{
    size_t len = 0;
    unsigned int i;

    for (i = 0; i < iov_cnt; i++) {
        len += iov[i].iov_len;
    }
    return len;
}

/* ---- QEMUIOVector ----------------------------------------------------- */

void qemu_iovec_init(QEMUIOVector *qiov, int alloc_hint)
{
    if (alloc_hint < 1) {
        alloc_hint = 1;
    }
    qiov->iov = xnew(struct iovec, alloc_hint);
    qiov->niov = 0;
    qiov->nalloc = alloc_hint;
    qiov->size = 0;
}

void qemu_iovec_init_buf(QEMUIOVector *qiov, void *buf, size_t len)
{
    qiov->local_iov.iov_base = buf;
    qiov->local_iov.iov_len = len;
    qiov->iov = &qiov->local_iov;
    qiov->niov = 1;
    qiov->nalloc = -1;
    qiov->size = len;
}

void qemu_iovec_init_external(QEMUIOVector *qiov, struct iovec *iov,
                              int niov)
{
    qiov->iov = iov;
    qiov->niov = niov;
    qiov->nalloc = -1;
    qiov->size = iov_size(iov, niov);
}

void qemu_iovec_add(QEMUIOVector *qiov, void *base, size_t len)
{
    assert(qiov->nalloc != -1);

    if (qiov->niov == qiov->nalloc) {
        qiov->nalloc = 2 * qiov->nalloc + 1;
        qiov->iov = xrealloc(qiov->iov, qiov->nalloc * sizeof(*qiov->iov));
    }
    qiov->iov[qiov->niov].iov_base = base;
    qiov->iov[qiov->niov].iov_len = len;
    qiov->size += len;
    qiov->niov++;
}

/* Appends the elements of src_iov covering [soffset, soffset + sbytes). */
static void qemu_iovec_concat_iov(QEMUIOVector *dst, struct iovec *src_iov,
                                  unsigned int src_cnt, size_t soffset,
                                  size_t sbytes)
{
    unsigned int i;

    for (i = 0; i < src_cnt && sbytes > 0; i++) {
        if (soffset < src_iov[i].iov_len) {
            size_t len = MIN(src_iov[i].iov_len - soffset, sbytes);

            qemu_iovec_add(dst, (char *)src_iov[i].iov_base + soffset, len);
            sbytes -= len;
            soffset = 0;
        } else {
            soffset -= src_iov[i].iov_len;
        }
    }
    assert(sbytes == 0);
}

void qemu_iovec_concat(QEMUIOVector *dst, QEMUIOVector *src, size_t soffset,
                       size_t sbytes)
{
    qemu_iovec_concat_iov(dst, src->iov, src->niov, soffset, sbytes);
}

void qemu_iovec_init_slice(QEMUIOVector *qiov, QEMUIOVector *source,
                           size_t offset, size_t len)
{
    assert(offset + len <= source->size);
    qemu_iovec_init(qiov, source->niov);
    qemu_iovec_concat(qiov, source, offset, len);
}

void qemu_iovec_reset(QEMUIOVector *qiov)
{
    assert(qiov->nalloc != -1);
    qiov->niov = 0;
    qiov->size = 0;
}

void qemu_iovec_destroy(QEMUIOVector *qiov)
{
    if (qiov->nalloc != -1) {
        free(qiov->iov);
    }
    memset(qiov, 0, sizeof(*qiov));
}

size_t qemu_iovec_to_buf(QEMUIOVector *qiov, size_t offset, void *buf,
                         size_t bytes)
{
    return iov_to_buf(qiov->iov, qiov->niov, offset, buf, bytes);
}

size_t qemu_iovec_from_buf(QEMUIOVector *qiov, size_t offset, const void *buf,
                           size_t bytes)
{
    return iov_from_buf(qiov->iov, qiov->niov, offset, buf, bytes);
}

size_t qemu_iovec_memset(QEMUIOVector *qiov, size_t offset, int fillc,
                         size_t bytes)
{
    return iov_memset(qiov->iov, qiov->niov, offset, fillc, bytes);
}

bool qemu_iovec_is_zero(QEMUIOVector *qiov, size_t offset, size_t bytes)
{
    int i;

    for (i = 0; i < qiov->niov && bytes > 0; i++) {
        if (offset < qiov->iov[i].iov_len) {
            size_t len = MIN(qiov->iov[i].iov_len - offset, bytes);

            if (!buffer_is_zero((char *)qiov->iov[i].iov_base + offset,
                                len)) {
                return false;
            }
            bytes -= len;
            offset = 0;
        } else {
            offset -= qiov->iov[i].iov_len;
        }
    }
    return true;
}

bool qemu_iovec_is_aligned(QEMUIOVector *qiov, size_t align)
{
    int i;

    for (i = 0; i < qiov->niov; i++) {
        if ((uintptr_t)qiov->iov[i].iov_base % align ||
            qiov->iov[i].iov_len % align) {
            return false;
        }
    }
    return true;
}

/* ---- buffer_is_zero --------------------------------------------------- */

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

/* Any length; used for short buffers and by the vector versions' edges. */
static bool buffer_is_zero_words(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    uint64_t acc = 0;

    if (len < 8) {
        for (; p < end; p++) {
            acc |= *p;
        }
        return acc == 0;
    }
    /* Overlapping loads at both ends cover the tail without a byte loop. */
    acc = load64(p) | load64(end - 8);
    if (acc) {
        return false;
    }
    for (p += 8; p + 32 <= end; p += 32) {
        acc = load64(p) | load64(p + 8) | load64(p + 16) | load64(p + 24);
        if (acc) {
            return false;
        }
    }
    for (; p + 8 <= end; p += 8) {
        acc |= load64(p);
    }
    return acc == 0;
}

#ifdef IOV_HAVE_X86
static bool buffer_is_zero_sse2(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    const __m128i zero = _mm_setzero_si128();
    __m128i acc;

    /* Both ends first; the middle in 64-byte steps; the last 64 overlap. */
    acc = _mm_or_si128(_mm_loadu_si128((const __m128i *)p),
                       _mm_loadu_si128((const __m128i *)(end - 16)));
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(acc, zero)) != 0xFFFF) {
        return false;
    }
    for (p += 16; p + 64 <= end; p += 64) {
        acc = _mm_or_si128(
            _mm_or_si128(_mm_loadu_si128((const __m128i *)p),
                         _mm_loadu_si128((const __m128i *)(p + 16))),
            _mm_or_si128(_mm_loadu_si128((const __m128i *)(p + 32)),
                         _mm_loadu_si128((const __m128i *)(p + 48))));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(acc, zero)) != 0xFFFF) {
            return false;
        }
    }
    return buffer_is_zero_words(p, end - p);
}

__attribute__((target("avx2")))
static bool buffer_is_zero_avx2(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    __m256i acc;

    acc = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)p),
                          _mm256_loadu_si256((const __m256i *)(end - 32)));
    if (!_mm256_testz_si256(acc, acc)) {
        return false;
    }
    for (p += 32; p + 128 <= end; p += 128) {
        acc = _mm256_or_si256(
            _mm256_or_si256(_mm256_loadu_si256((const __m256i *)p),
                            _mm256_loadu_si256((const __m256i *)(p + 32))),
            _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(p + 64)),
                            _mm256_loadu_si256((const __m256i *)(p + 96))));
        if (!_mm256_testz_si256(acc, acc)) {
            return false;
        }
    }
    return buffer_is_zero_words(p, end - p);
}

typedef bool (*BufferIsZeroFn)(const unsigned char *p, size_t len);

/* Chosen once before main(), so threads never race on it. */
static BufferIsZeroFn buffer_is_zero_large = buffer_is_zero_sse2;

__attribute__((constructor))
static void buffer_is_zero_select(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        buffer_is_zero_large = buffer_is_zero_avx2;
    }
}
#endif

bool buffer_is_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;

    if (len < 64) {
        return buffer_is_zero_words(p, len);
    }
#ifdef IOV_HAVE_X86
    if (len >= 256) {
        return buffer_is_zero_large(p, len);
    }
    return buffer_is_zero_sse2(p, len);
#else
    return buffer_is_zero_words(p, len);
#endif
}
