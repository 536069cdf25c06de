/* Byte order of on-disk fields: big-endian (qcow2, qed is LE) helpers. */
#ifndef UTIL_BSWAP_H
#define UTIL_BSWAP_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t be16_to_cpu(uint16_t v) { return be16toh(v); }
static inline uint32_t be32_to_cpu(uint32_t v) { return be32toh(v); }
static inline uint64_t be64_to_cpu(uint64_t v) { return be64toh(v); }
static inline uint16_t cpu_to_be16(uint16_t v) { return htobe16(v); }
static inline uint32_t cpu_to_be32(uint32_t v) { return htobe32(v); }
static inline uint64_t cpu_to_be64(uint64_t v) { return htobe64(v); }
static inline uint16_t le16_to_cpu(uint16_t v) { return le16toh(v); }
static inline uint32_t le32_to_cpu(uint32_t v) { return le32toh(v); }
static inline uint64_t le64_to_cpu(uint64_t v) { return le64toh(v); }
static inline uint16_t cpu_to_le16(uint16_t v) { return htole16(v); }
static inline uint32_t cpu_to_le32(uint32_t v) { return htole32(v); }
static inline uint64_t cpu_to_le64(uint64_t v) { return htole64(v); }

/* Unaligned loads and stores from byte buffers. */
static inline uint16_t ldbe16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return be16toh(v);
}

static inline uint32_t ldbe32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return be32toh(v);
}

static inline uint64_t ldbe64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return be64toh(v);
}

static inline void stbe16(void *p, uint16_t v)
{
    v = htobe16(v);
    memcpy(p, &v, sizeof(v));
}

static inline void stbe32(void *p, uint32_t v)
{
    v = htobe32(v);
    memcpy(p, &v, sizeof(v));
}

static inline void stbe64(void *p, uint64_t v)
{
    v = htobe64(v);
    memcpy(p, &v, sizeof(v));
}

static inline uint16_t ldle16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return le16toh(v);
}

static inline uint32_t ldle32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return le32toh(v);
}

static inline uint64_t ldle64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return le64toh(v);
}

static inline void stle16(void *p, uint16_t v)
{
    v = htole16(v);
    memcpy(p, &v, sizeof(v));
}

static inline void stle32(void *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, sizeof(v));
}

static inline void stle64(void *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, sizeof(v));
}

#endif
