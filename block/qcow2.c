/*
 * qcow2 image format driver: open, close, create, the I/O entry points and
 * the driver table. The format is QEMU's docs/interop/qcow2.txt.
 *
 * Invariants (every write path keeps them; check and repair rely on them):
 *
 * 1. Metadata write order. A cluster's refcount is on disk before any L1/L2
 *    entry, refcount table entry or header field that points to it: the L2
 *    cache depends on the refcount cache, which is written and flushed
 *    first. A new L2 table or refcount block is written in full before the
 *    entry naming it. Guest data of an allocating write reaches the disk
 *    before the L2 entry that maps it.
 * 2. Freeing runs the other way: the L2 entry that dropped a cluster is on
 *    disk before its refcount goes down (the refcount cache then depends on
 *    the L2 cache), so no entry ever points at a cluster counted free.
 * 3. Refcount staleness. Refcounts are exact at all times unless the image
 *    has lazy_refcounts=on: then the dirty bit is set before the first
 *    allocation, refcounts may lag behind the L2 tables, and the next open
 *    rebuilds them from the L1/L2 tables (as the reference does) before
 *    clearing the bit.
 * 4. Crash leftovers. A process killed at any point leaves at worst
 *    clusters with a refcount but no user (leaks), never an entry pointing
 *    at a free or foreign cluster. 'check -r leaks' reclaims them.
 * 5. COPIED flags (bit 63 of L1/L2 entries) are set exactly when the
 *    refcount is 1; a cluster without it is copied before it is written.
 * 6. Inconsistent metadata met on the I/O path fails the request with -EIO
 *    and sets the corrupt bit (the image then opens read-only only); it is
 *    never trusted and never asserted on.
 * 7. s->lock (a CoMutex) covers all metadata and the caches; guest data I/O
 *    runs without it. Overlapping allocating writes are ordered through the
 *    in-flight list s->cluster_allocs.
 */
#include "config-host.h"

#include "block/dirty-bitmap.h"
#include "util/bswap.h"
#include "util/cutils.h"
#include "util/strbuf.h"
#include "util/secret.h"
#include "qcow2.h"

static int coroutine_fn compress_drain(BlockDriverState *bs);
static bool is_zero_range(BlockDriverState *bs, int64_t offset, int64_t bytes);
extern const BlockDriver bdrv_qcow2;

typedef struct QCowHeader {
    uint32_t magic;
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size;
    uint32_t crypt_method;
    uint32_t l1_size;
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    /* v3 */
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t refcount_order;
    uint32_t header_length;
    uint8_t compression_type;
} QCowHeader;

#define QCOW2_HEADER_V2_LEN 72
#define QCOW2_HEADER_V3_LEN 112

typedef struct Qcow2Feature {
    uint8_t type;
    uint8_t bit;
    char name[46];
} Qcow2Feature;

enum {
    QCOW2_FEAT_TYPE_INCOMPATIBLE = 0,
    QCOW2_FEAT_TYPE_COMPATIBLE = 1,
    QCOW2_FEAT_TYPE_AUTOCLEAR = 2,
};

static const Qcow2Feature qcow2_features[] = {
    { QCOW2_FEAT_TYPE_INCOMPATIBLE, 0, "dirty bit" },
    { QCOW2_FEAT_TYPE_INCOMPATIBLE, 1, "corrupt bit" },
    { QCOW2_FEAT_TYPE_INCOMPATIBLE, 2, "external data file" },
    { QCOW2_FEAT_TYPE_INCOMPATIBLE, 3, "compression type" },
    { QCOW2_FEAT_TYPE_INCOMPATIBLE, 4, "extended L2 entries" },
    { QCOW2_FEAT_TYPE_COMPATIBLE, 0, "lazy refcounts" },
    { QCOW2_FEAT_TYPE_AUTOCLEAR, 0, "bitmaps" },
    { QCOW2_FEAT_TYPE_AUTOCLEAR, 1, "raw external data" },
};

/* ---- probe --------------------------------------------------------------- */

static int qcow2_probe(const uint8_t *buf, int buf_size, const char *filename)
{
    if (buf_size >= 8 && ldbe32(buf) == QCOW_MAGIC && ldbe32(buf + 4) >= 2) {
        return 100;
    }
    return 0;
}

/* ---- header ------------------------------------------------------------ */

static void header_decode(QCowHeader *h, const uint8_t *buf, size_t len)
{
    memset(h, 0, sizeof(*h));
    h->magic = ldbe32(buf);
    h->version = ldbe32(buf + 4);
    h->backing_file_offset = ldbe64(buf + 8);
    h->backing_file_size = ldbe32(buf + 16);
    h->cluster_bits = ldbe32(buf + 20);
    h->size = ldbe64(buf + 24);
    h->crypt_method = ldbe32(buf + 32);
    h->l1_size = ldbe32(buf + 36);
    h->l1_table_offset = ldbe64(buf + 40);
    h->refcount_table_offset = ldbe64(buf + 48);
    h->refcount_table_clusters = ldbe32(buf + 56);
    h->nb_snapshots = ldbe32(buf + 60);
    h->snapshots_offset = ldbe64(buf + 64);
    if (h->version >= 3 && len >= 104) {
        h->incompatible_features = ldbe64(buf + 72);
        h->compatible_features = ldbe64(buf + 80);
        h->autoclear_features = ldbe64(buf + 88);
        h->refcount_order = ldbe32(buf + 96);
        h->header_length = ldbe32(buf + 100);
    } else {
        h->refcount_order = 4;
        h->header_length = QCOW2_HEADER_V2_LEN;
    }
}

static void report_unsupported_feature(Error **errp, const Qcow2Feature *table,
                                       int n, uint64_t mask)
{
    StrBuf sb = STRBUF_INIT;
    int i;

    for (i = 0; i < n && mask; i++) {
        if (table[i].type == QCOW2_FEAT_TYPE_INCOMPATIBLE &&
            table[i].bit < 64 && (mask & (1ULL << table[i].bit))) {
            if (sb.len) {
                strbuf_addstr(&sb, ", ");
            }
            strbuf_addf(&sb, "%.46s", table[i].name);
            mask &= ~(1ULL << table[i].bit);
        }
    }
    if (mask) {
        strbuf_addf(&sb, "%sUnknown incompatible feature: %" PRIx64,
                    sb.len ? ", " : "", mask);
    }
    error_setg(errp, "Unsupported qcow2 feature(s): %s", sb.buf ? sb.buf : "");
    strbuf_release(&sb);
}

/*
 * Reads the header extensions between start_offset and end_offset (the
 * first cluster). feature_table, if non-NULL, receives the image's feature
 * name table (for error messages) before the features are checked.
 */
static int read_header_extensions(BlockDriverState *bs, const uint8_t *cluster,
                                  uint64_t start_offset, uint64_t end_offset,
                                  Qcow2Feature **feature_table,
                                  int *n_features, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t offset = start_offset;

    while (offset + 8 <= end_offset) {
        uint32_t magic = ldbe32(cluster + offset);
        uint32_t len = ldbe32(cluster + offset + 4);
        const uint8_t *data;

        offset += 8;
        if (magic == QCOW2_EXT_MAGIC_END) {
            break;
        }
        if (len > end_offset - offset) {
            error_setg(errp, "Header extension too large");
            return -EINVAL;
        }
        data = cluster + offset;

        switch (magic) {
        case QCOW2_EXT_MAGIC_BACKING_FORMAT:
            if (len >= sizeof(bs->backing_format)) {
                error_setg(errp, "ERROR: ext_backing_format: len=%" PRIu32
                           " too large (>=%zu)", len,
                           sizeof(bs->backing_format));
                return -EINVAL;
            }
            memcpy(bs->backing_format, data, len);
            bs->backing_format[len] = '\0';
            break;
        case QCOW2_EXT_MAGIC_FEATURE_TABLE:
            if (feature_table) {
                int n = len / 48, i;

                free(*feature_table);
                *feature_table = xnew(Qcow2Feature, n ? n : 1);
                for (i = 0; i < n; i++) {
                    (*feature_table)[i].type = data[48 * i];
                    (*feature_table)[i].bit = data[48 * i + 1];
                    memcpy((*feature_table)[i].name, data + 48 * i + 2, 46);
                }
                *n_features = n;
            }
            break;
        case QCOW2_EXT_MAGIC_CRYPTO_HEADER:
            if (len != 16) {
                error_setg(errp, "crypto header extension size %u, but "
                           "expected size %zu", len, (size_t)16);
                return -EINVAL;
            }
            s->crypto_header_offset = ldbe64(data);
            s->crypto_header_length = ldbe64(data + 8);
            break;
        case QCOW2_EXT_MAGIC_BITMAPS: {
            int ret = qcow2_read_bitmaps_ext(bs, data, len, errp);

            if (ret < 0) {
                return ret;
            }
            break;
        }
        case QCOW2_EXT_MAGIC_DATA_FILE:
            free(s->image_data_file);
            s->image_data_file = xstrndup((const char *)data, len);
            break;
        default: {
            Qcow2UnknownHeaderExtension *uext = xzalloc(sizeof(*uext));

            uext->magic = magic;
            uext->len = len;
            uext->data = xmalloc(len ? len : 1);
            memcpy(uext->data, data, len);
            LIST_INSERT_HEAD(&s->unknown_header_ext, uext, next);
            break;
        }
        }
        offset += ROUND_UP((uint64_t)len, 8);
    }
    return 0;
}

static void free_unknown_header_extensions(BDRVQcow2State *s)
{
    Qcow2UnknownHeaderExtension *uext;

    while ((uext = LIST_FIRST(&s->unknown_header_ext))) {
        LIST_REMOVE(uext, next);
        free(uext->data);
        free(uext);
    }
}

static size_t header_ext_add(uint8_t *buf, size_t buflen, uint32_t magic,
                             const void *data, size_t len)
{
    size_t ext_len = 8 + ROUND_UP(len, 8);

    if (ext_len > buflen) {
        return 0;
    }
    stbe32(buf, magic);
    stbe32(buf + 4, len);
    memset(buf + 8, 0, ROUND_UP(len, 8));
    if (len) {
        memcpy(buf + 8, data, len);
    }
    return ext_len;
}

/*
 * Writes the whole header cluster from the in-memory state: header fields,
 * extensions (backing format, crypto, data file, feature table, bitmaps,
 * unknown ones in their original order), end marker, backing file name.
 */
int coroutine_fn qcow2_update_header(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    size_t buflen = s->cluster_size, off, n;
    uint8_t *buf;
    Qcow2UnknownHeaderExtension *uext, *last;
    int ret;

    buf = qemu_blockalign0(buflen);

    stbe32(buf, QCOW_MAGIC);
    stbe32(buf + 4, s->qcow_version);
    stbe32(buf + 20, s->cluster_bits);
    stbe64(buf + 24, (uint64_t)bs->total_sectors * BDRV_SECTOR_SIZE);
    stbe32(buf + 32, s->crypt_method_header);
    stbe32(buf + 36, s->l1_size);
    stbe64(buf + 40, s->l1_table_offset);
    stbe64(buf + 48, s->refcount_table_offset);
    stbe32(buf + 56, s->refcount_table_size * sizeof(uint64_t) /
           s->cluster_size);
    stbe32(buf + 60, s->nb_snapshots);
    stbe64(buf + 64, s->snapshots_offset);

    if (s->qcow_version >= 3) {
        stbe64(buf + 72, s->incompatible_features);
        stbe64(buf + 80, s->compatible_features);
        stbe64(buf + 88, s->autoclear_features);
        stbe32(buf + 96, s->refcount_order);
        stbe32(buf + 100, QCOW2_HEADER_V3_LEN);
        buf[104] = s->compression_type;
        off = QCOW2_HEADER_V3_LEN;
    } else {
        off = QCOW2_HEADER_V2_LEN;
    }

    if (bs->backing_file[0] && bs->backing_format[0]) {
        n = header_ext_add(buf + off, buflen - off,
                           QCOW2_EXT_MAGIC_BACKING_FORMAT, bs->backing_format,
                           strlen(bs->backing_format));
        if (!n) {
            goto nospace;
        }
        off += n;
    }
    if (s->crypto_header_offset) {
        uint8_t ext[16];

        stbe64(ext, s->crypto_header_offset);
        stbe64(ext + 8, s->crypto_header_length);
        n = header_ext_add(buf + off, buflen - off,
                           QCOW2_EXT_MAGIC_CRYPTO_HEADER, ext, sizeof(ext));
        if (!n) {
            goto nospace;
        }
        off += n;
    }
    if (s->image_data_file) {
        n = header_ext_add(buf + off, buflen - off, QCOW2_EXT_MAGIC_DATA_FILE,
                           s->image_data_file, strlen(s->image_data_file));
        if (!n) {
            goto nospace;
        }
        off += n;
    }
    /* The reference leaves the table out of clusters of 4 KiB and less. */
    if (s->qcow_version >= 3 && s->cluster_size > 4096) {
        uint8_t table[ARRAY_SIZE(qcow2_features) * 48];
        size_t i;

        memset(table, 0, sizeof(table));
        for (i = 0; i < ARRAY_SIZE(qcow2_features); i++) {
            table[48 * i] = qcow2_features[i].type;
            table[48 * i + 1] = qcow2_features[i].bit;
            memcpy(table + 48 * i + 2, qcow2_features[i].name,
                   strlen(qcow2_features[i].name));
        }
        n = header_ext_add(buf + off, buflen - off,
                           QCOW2_EXT_MAGIC_FEATURE_TABLE, table,
                           sizeof(table));
        if (!n) {
            goto nospace;
        }
        off += n;
    }
    if (s->nb_bitmaps > 0) {
        uint8_t ext[24];

        stbe32(ext, s->nb_bitmaps);
        stbe32(ext + 4, 0);
        stbe64(ext + 8, s->bitmap_directory_size);
        stbe64(ext + 16, s->bitmap_directory_offset);
        n = header_ext_add(buf + off, buflen - off, QCOW2_EXT_MAGIC_BITMAPS,
                           ext, sizeof(ext));
        if (!n) {
            goto nospace;
        }
        off += n;
    }
    /* Unknown extensions were inserted at the head: write them reversed. */
    last = NULL;
    LIST_FOREACH(uext, &s->unknown_header_ext, next) {
        last = uext;
    }
    for (uext = last; uext; ) {
        Qcow2UnknownHeaderExtension *prev = NULL, *it;

        n = header_ext_add(buf + off, buflen - off, uext->magic, uext->data,
                           uext->len);
        if (!n) {
            goto nospace;
        }
        off += n;
        LIST_FOREACH(it, &s->unknown_header_ext, next) {
            if (LIST_NEXT(it, next) == uext) {
                prev = it;
                break;
            }
        }
        uext = prev;
    }
    if (off + 8 > buflen) {
        goto nospace;
    }
    off += 8;   /* end marker (zeroes) */

    if (bs->backing_file[0]) {
        size_t len = strlen(bs->backing_file);

        if (len > buflen - off) {
            goto nospace;
        }
        memcpy(buf + off, bs->backing_file, len);
        stbe64(buf + 8, off);
        stbe32(buf + 16, len);
    }

    ret = bdrv_co_pwrite(bs->file, 0, s->cluster_size, buf, 0);
    qemu_vfree(buf);
    return ret;

nospace:
    qemu_vfree(buf);
    return -ENOSPC;
}

static int coroutine_fn update_incompat(BlockDriverState *bs, uint64_t bits,
                                        bool set)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t val;
    int ret;

    if (s->qcow_version < 3) {
        return 0;
    }
    if (set ? (s->incompatible_features & bits) == bits
            : !(s->incompatible_features & bits)) {
        return 0;
    }
    val = set ? (s->incompatible_features | bits)
              : (s->incompatible_features & ~bits);
    if (set) {
        /* Everything before the bit must be on disk first. */
        ret = bdrv_co_flush(bs->file->bs);
        if (ret < 0) {
            return ret;
        }
    }
    val = cpu_to_be64(val);
    ret = bdrv_co_pwrite(bs->file, 72, sizeof(val), &val, 0);
    if (ret < 0) {
        return ret;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        return ret;
    }
    if (set) {
        s->incompatible_features |= bits;
    } else {
        s->incompatible_features &= ~bits;
    }
    return 0;
}

int coroutine_fn qcow2_mark_dirty(BlockDriverState *bs)
{
    return update_incompat(bs, QCOW2_INCOMPAT_DIRTY, true);
}

static int coroutine_fn qcow2_mark_clean(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        return 0;
    }
    ret = qcow2_flush_caches(bs);
    if (ret < 0) {
        return ret;
    }
    return update_incompat(bs, QCOW2_INCOMPAT_DIRTY, false);
}

int coroutine_fn qcow2_mark_corrupt(BlockDriverState *bs)
{
    return update_incompat(bs, QCOW2_INCOMPAT_CORRUPT, true);
}

int coroutine_fn qcow2_mark_consistent(BlockDriverState *bs)
{
    return update_incompat(bs, QCOW2_INCOMPAT_CORRUPT, false);
}

void qcow2_signal_corruption(BlockDriverState *bs, bool fatal, int64_t offset,
                             int64_t size, const char *fmt, ...)
{
    BDRVQcow2State *s = bs->opaque;
    char *message;
    va_list ap;

    /* Without write access nothing can be marked: the event is non-fatal. */
    fatal = fatal && !bs->read_only;
    if (s->signaled_corruption &&
        (!fatal || (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT))) {
        return;
    }
    va_start(ap, fmt);
    message = xvasprintf(fmt, ap);
    va_end(ap);

    if (fatal) {
        fprintf(stderr, "qcow2: Marking image as corrupt: %s; further "
                "corruption events will be suppressed\n", message);
    } else {
        fprintf(stderr, "qcow2: Image is corrupt: %s; further non-fatal "
                "corruption events will be suppressed\n", message);
    }
    free(message);

    if (fatal) {
        qcow2_mark_corrupt(bs);
        s->ejected = true;
    }
    s->signaled_corruption = true;
}

/* ---- open ------------------------------------------------------------ */

static bool validate_table_offset(BDRVQcow2State *s, uint64_t offset,
                                  uint64_t entries, size_t entry_len,
                                  int64_t max_size_bytes)
{
    uint64_t size;

    if (entries > max_size_bytes / entry_len) {
        return false;
    }
    size = entries * entry_len;
    if (INT64_MAX - size < offset) {
        return false;
    }
    if (offset_into_cluster(s, offset)) {
        return false;
    }
    return true;
}

/* A size runtime option: *val and *given set when present; -EINVAL. */
static int size_option(QDict *options, const char *name, uint64_t *val,
                       bool *given, Error **errp)
{
    const char *v = qdict_get_try_str(options, name);
    uint64_t n;

    if (!v) {
        return 0;
    }
    if (!parse_option_size(name, v, &n, errp)) {
        return -EINVAL;
    }
    *val = n;
    if (given) {
        *given = true;
    }
    return 0;
}

static int cache_sizes(BlockDriverState *bs, QDict *options,
                       uint64_t *l2_cache_size, uint64_t *l2_cache_entry_size,
                       uint64_t *refcount_cache_size, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t combined = 0, max_l2;
    bool has_l2 = false, has_rc = false, has_combined = false;

    if (size_option(options, "cache-size", &combined, &has_combined,
                    errp) < 0 ||
        size_option(options, "l2-cache-size", l2_cache_size, &has_l2,
                    errp) < 0 ||
        size_option(options, "refcount-cache-size", refcount_cache_size,
                    &has_rc, errp) < 0) {
        return -EINVAL;
    }
    *l2_cache_entry_size = s->cluster_size;
    if (size_option(options, "l2-cache-entry-size", l2_cache_entry_size,
                    NULL, errp) < 0) {
        return -EINVAL;
    }

    /* Enough to cover the whole image, up to the default maximum. */
    max_l2 = DIV_ROUND_UP((uint64_t)bs->total_sectors * BDRV_SECTOR_SIZE,
                          s->cluster_size / l2_entry_size(s));
    max_l2 = MAX(max_l2, (uint64_t)QCOW2_MIN_L2_CACHE_TABLES *
                 s->cluster_size);

    if (has_combined) {
        if (has_l2 && has_rc) {
            error_setg(errp, "cache-size, l2-cache-size and "
                       "refcount-cache-size may not be set at the same time");
            return -EINVAL;
        } else if (has_l2 && *l2_cache_size > combined) {
            error_setg(errp, "l2-cache-size may not exceed cache-size");
            return -EINVAL;
        } else if (has_rc && *refcount_cache_size > combined) {
            error_setg(errp, "refcount-cache-size may not exceed cache-size");
            return -EINVAL;
        }
        if (has_l2) {
            *refcount_cache_size = combined - *l2_cache_size;
        } else if (has_rc) {
            *l2_cache_size = combined - *refcount_cache_size;
        } else {
            *l2_cache_size = MIN(max_l2, combined * 4 / 5);
            *refcount_cache_size = combined - *l2_cache_size;
        }
    } else {
        if (!has_l2) {
            *l2_cache_size = MIN(max_l2, (uint64_t)QCOW2_DEFAULT_L2_CACHE_MAX);
        }
        if (!has_rc) {
            *refcount_cache_size = (uint64_t)QCOW2_MIN_REFCOUNT_CACHE_TABLES *
                                   s->cluster_size;
        }
    }

    if (*l2_cache_entry_size < (1 << MIN_CLUSTER_BITS) ||
        *l2_cache_entry_size > (uint64_t)s->cluster_size ||
        !IS_POWER_OF_2(*l2_cache_entry_size)) {
        error_setg(errp, "L2 cache entry size must be a power of two between "
                   "%d and the cluster size (%d)", 1 << MIN_CLUSTER_BITS,
                   s->cluster_size);
        return -EINVAL;
    }
    return 0;
}

/* Options this driver takes (the core rejects the ones left over). */
static const char *const qcow2_runtime_opts[] = {
    "lazy-refcounts", "pass-discard-request", "pass-discard-snapshot",
    "pass-discard-other", "discard-no-unref", "overlap-check",
    "overlap-check.template", "cache-size", "l2-cache-size",
    "l2-cache-entry-size", "refcount-cache-size", "cache-clean-interval",
    NULL,
};

static bool opt_bool(QDict *options, const char *name, bool def, Error **errp,
                     bool *ok)
{
    const char *v = qdict_get_try_str(options, name);
    bool val = def;

    if (v && !qapi_bool_parse(name, v, &val, errp)) {
        *ok = false;
    }
    return val;
}

static int coroutine_fn qcow2_check_on_open(BlockDriverState *bs,
                                            Error **errp)
{
    BdrvCheckResult result;
    int ret;

    memset(&result, 0, sizeof(result));
    ret = qcow2_check_refcounts(bs, &result, BDRV_FIX_ERRORS |
                                BDRV_FIX_LEAKS);
    if (ret < 0 || result.check_errors) {
        if (ret == 0) {
            ret = -EIO;
        }
        error_setg_errno(errp, -ret, "Could not repair dirty image");
        return ret;
    }
    return 0;
}

typedef struct Qcow2OpenFinish {
    BlockDriverState *bs;
    int flags;
    Error **errp;
    int ret;
    bool done;
} Qcow2OpenFinish;

/* Clears unknown autoclear bits and repairs a dirty image (read-write). */
static void coroutine_fn qcow2_open_finish_entry(void *opaque)
{
    Qcow2OpenFinish *f = opaque;
    BlockDriverState *bs = f->bs;
    BDRVQcow2State *s = bs->opaque;
    int ret = 0;

    qemu_co_mutex_lock(&s->lock);
    if (!bs->read_only && !(f->flags & BDRV_O_NO_IO) &&
        (s->autoclear_features & ~QCOW2_AUTOCLEAR_MASK)) {
        s->autoclear_features &= QCOW2_AUTOCLEAR_MASK;
        ret = qcow2_update_header(bs);
        if (ret < 0) {
            error_setg_errno(f->errp, -ret, "Could not update qcow2 header");
            goto out;
        }
    }
    if (!bs->read_only && !(f->flags & BDRV_O_CHECK) &&
        (s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        ret = qcow2_check_on_open(bs, f->errp);
        if (ret < 0) {
            goto out;
        }
        ret = qcow2_mark_clean(bs);
        if (ret < 0) {
            error_setg_errno(f->errp, -ret, "Could not update qcow2 header");
            goto out;
        }
    }
    if (!bs->read_only && !(f->flags & BDRV_O_NO_IO) &&
        s->bitmaps_ext_ignored) {
        /* The stale extension goes (its clusters are leaks now). */
        ret = qcow2_update_header(bs);
        if (ret < 0) {
            error_setg_errno(f->errp, -ret, "Could not update qcow2 header");
            goto out;
        }
    }
    ret = qcow2_co_load_dirty_bitmaps(bs, f->errp);
out:
    qemu_co_mutex_unlock(&s->lock);
    f->ret = ret;
    f->done = true;
}

static int qcow2_do_open(BlockDriverState *bs, QDict *options, int flags,
                         Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    QCowHeader header;
    uint8_t *cluster = NULL;
    Qcow2Feature *feature_table = NULL;
    int n_features = 0;
    uint64_t ext_end, l1_vm_state_index;
    uint64_t l2_cache_size = 0, l2_cache_entry_size, refcount_cache_size = 0;
    uint8_t hbuf[QCOW2_HEADER_V3_LEN];
    int64_t file_len;
    bool ok = true;
    int ret;
    int i;

    LIST_INIT(&s->unknown_header_ext);
    LIST_INIT(&s->cluster_allocs);
    qemu_co_mutex_init(&s->lock);
    qemu_co_queue_init(&s->compress_turn_queue);
    qemu_co_queue_init(&s->compress_slot_queue);
    qemu_co_queue_init(&s->compress_drain_queue);

    memset(hbuf, 0, sizeof(hbuf));
    file_len = bdrv_getlength(bs->file->bs);
    if (file_len < 0) {
        error_setg_errno(errp, -file_len, "Could not read qcow2 header");
        return file_len;
    }
    ret = bdrv_pread(bs->file, 0, MIN(file_len, (int64_t)sizeof(hbuf)), hbuf,
                     0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read qcow2 header");
        return ret;
    }
    header_decode(&header, hbuf, sizeof(hbuf));

    if (header.magic != QCOW_MAGIC) {
        error_setg(errp, "Image is not in qcow2 format");
        return -EINVAL;
    }
    if (header.version < 2 || header.version > 3) {
        error_setg(errp, "Unsupported qcow2 version %" PRIu32,
                   header.version);
        return -ENOTSUP;
    }
    s->qcow_version = header.version;

    if (header.cluster_bits < MIN_CLUSTER_BITS ||
        header.cluster_bits > MAX_CLUSTER_BITS) {
        error_setg(errp, "Unsupported cluster size: 2^%" PRIu32,
                   header.cluster_bits);
        return -EINVAL;
    }
    s->cluster_bits = header.cluster_bits;
    s->cluster_size = 1 << s->cluster_bits;

    if (header.version == 2) {
        header.header_length = QCOW2_HEADER_V2_LEN;
    } else {
        if (header.header_length < 104) {
            error_setg(errp, "qcow2 header too short");
            return -EINVAL;
        }
    }
    if (header.header_length > (uint32_t)s->cluster_size) {
        error_setg(errp, "qcow2 header exceeds cluster size");
        return -EINVAL;
    }
    s->header_length = header.header_length;
    if (header.header_length > 104) {
        header.compression_type = hbuf[104];
    }

    if (header.backing_file_offset > (uint64_t)s->cluster_size) {
        error_setg(errp, "Invalid backing file offset");
        return -EINVAL;
    }

    /* The whole first cluster: extensions and backing name live there. */
    cluster = qemu_blockalign0(s->cluster_size);
    ret = bdrv_pread(bs->file, 0, MIN(file_len, (int64_t)s->cluster_size),
                     cluster, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read qcow2 header");
        goto fail;
    }

    if (header.backing_file_offset) {
        ext_end = header.backing_file_offset;
    } else {
        ext_end = s->cluster_size;
    }

    s->incompatible_features = header.incompatible_features;
    s->compatible_features = header.compatible_features;
    s->autoclear_features = header.autoclear_features;

    /* Feature names first, for the error message. */
    ret = read_header_extensions(bs, cluster, header.header_length, ext_end,
                                 &feature_table, &n_features, errp);
    if (ret < 0) {
        goto fail;
    }
    free_unknown_header_extensions(s);
    s->nb_bitmaps = 0;
    s->bitmap_directory_size = 0;
    s->bitmap_directory_offset = 0;
    free(s->image_data_file);
    s->image_data_file = NULL;
    bs->backing_format[0] = '\0';

    if (s->incompatible_features & ~QCOW2_INCOMPAT_MASK) {
        report_unsupported_feature(errp, feature_table, n_features,
                                   s->incompatible_features &
                                   ~QCOW2_INCOMPAT_MASK);
        ret = -ENOTSUP;
        goto fail;
    }

    if (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) {
        if (!bs->read_only && !(flags & BDRV_O_CHECK)) {
            error_setg(errp, "qcow2: Image is corrupt; cannot be opened "
                       "read/write");
            ret = -EACCES;
            goto fail;
        }
    }

    s->subclusters_per_cluster = has_subclusters(s) ?
                                 QCOW_EXTL2_SUBCLUSTERS_PER_CLUSTER : 1;
    s->subcluster_size = s->cluster_size / s->subclusters_per_cluster;
    s->subcluster_bits = __builtin_ctz(s->subcluster_size);
    if (s->subcluster_size < (1 << MIN_CLUSTER_BITS)) {
        error_setg(errp, "Unsupported subcluster size: %d",
                   s->subcluster_size);
        ret = -EINVAL;
        goto fail;
    }

    if (header.refcount_order > 6) {
        error_setg(errp, "Reference count entry width too large; may not "
                   "exceed 64 bits");
        ret = -EINVAL;
        goto fail;
    }
    s->refcount_order = header.refcount_order;
    s->refcount_bits = 1 << s->refcount_order;
    s->refcount_max = UINT64_C(1) << (s->refcount_bits - 1);
    s->refcount_max += s->refcount_max - 1;

    /* Compression type */
    if (s->incompatible_features & QCOW2_INCOMPAT_COMPRESSION) {
        if (header.compression_type == QCOW2_COMPRESSION_TYPE_ZLIB) {
            error_setg(errp, "qcow2 header: the image has compression type "
                       "zlib but the compression type bit is set");
            ret = -EINVAL;
            goto fail;
        }
        if (header.compression_type != QCOW2_COMPRESSION_TYPE_ZSTD) {
            error_setg(errp, "qcow2: unknown compression type: %u",
                       header.compression_type);
            ret = -ENOTSUP;
            goto fail;
        }
#ifndef CONFIG_ZSTD
        error_setg(errp, "qcow2: unknown compression type: %u",
                   header.compression_type);
        ret = -ENOTSUP;
        goto fail;
#endif
    } else if (header.compression_type != QCOW2_COMPRESSION_TYPE_ZLIB) {
        error_setg(errp, "qcow2 header: compression type %u requires the "
                   "compression type bit", header.compression_type);
        ret = -EINVAL;
        goto fail;
    }
    s->compression_type = header.compression_type;

    if (header.crypt_method > QCOW_CRYPT_LUKS) {
        error_setg(errp, "Unsupported encryption method %" PRIu32,
                   header.crypt_method);
        ret = -EINVAL;
        goto fail;
    }
    s->crypt_method_header = header.crypt_method;
    if (s->crypt_method_header) {
        bs->encrypted = true;
    }

    s->l2_bits = s->cluster_bits - 3;   /* L2 is always one cluster */
    if (has_subclusters(s)) {
        s->l2_bits--;
    }
    s->l2_size = 1 << s->l2_bits;
    s->refcount_block_bits = s->cluster_bits - (s->refcount_order - 3);
    s->refcount_block_size = 1 << s->refcount_block_bits;
    bs->total_sectors = header.size / BDRV_SECTOR_SIZE;
    s->csize_shift = (62 - (s->cluster_bits - 8));
    s->csize_mask = (1 << (s->cluster_bits - 8)) - 1;
    s->cluster_offset_mask = (1LL << s->csize_shift) - 1;

    s->refcount_table_offset = header.refcount_table_offset;
    s->refcount_table_size = header.refcount_table_clusters <<
                             (s->cluster_bits - 3);
    if (header.refcount_table_clusters == 0 && !(flags & BDRV_O_CHECK)) {
        error_setg(errp, "Image does not contain a reference count table");
        ret = -EINVAL;
        goto fail;
    }
    if (!validate_table_offset(s, s->refcount_table_offset,
                               header.refcount_table_clusters,
                               s->cluster_size, QCOW_MAX_REFTABLE_SIZE)) {
        if ((uint64_t)header.refcount_table_clusters * s->cluster_size >
            QCOW_MAX_REFTABLE_SIZE) {
            error_setg(errp, "Reference count table too large");
        } else {
            error_setg(errp, "Reference count table offset invalid");
        }
        ret = -EINVAL;
        goto fail;
    }

    if (!validate_table_offset(s, header.snapshots_offset, header.nb_snapshots,
                               40 /* minimal entry */,
                               QCOW_MAX_SNAPSHOTS_SIZE)) {
        if (header.nb_snapshots > QCOW_MAX_SNAPSHOTS_SIZE / 40) {
            error_setg(errp, "Snapshot table too large");
        } else {
            error_setg(errp, "Snapshot table offset invalid");
        }
        ret = -EINVAL;
        goto fail;
    }
    if (header.nb_snapshots > QCOW_MAX_SNAPSHOTS) {
        error_setg(errp, "Snapshot table too large");
        ret = -EINVAL;
        goto fail;
    }

    /* The L1 table. */
    if (header.l1_size > QCOW_MAX_L1_SIZE / sizeof(uint64_t)) {
        error_setg(errp, "Active L1 table too large");
        ret = -EFBIG;
        goto fail;
    }
    s->l1_size = header.l1_size;
    s->l1_table_offset = header.l1_table_offset;

    l1_vm_state_index = size_to_l1(s, header.size);
    if (l1_vm_state_index > INT_MAX) {
        error_setg(errp, "Image is too big");
        ret = -EFBIG;
        goto fail;
    }
    s->l1_vm_state_index = l1_vm_state_index;

    /* The L1 table must cover the whole disk. */
    if ((uint64_t)s->l1_size < l1_vm_state_index) {
        error_setg(errp, "L1 table is too small");
        ret = -EINVAL;
        goto fail;
    }
    if (!validate_table_offset(s, s->l1_table_offset, header.l1_size,
                               sizeof(uint64_t), QCOW_MAX_L1_SIZE)) {
        error_setg(errp, "Active L1 table offset invalid");
        ret = -EINVAL;
        goto fail;
    }

    if (s->l1_size > 0) {
        size_t l1_bytes = ROUND_UP((size_t)s->l1_size * sizeof(uint64_t),
                                   512);

        s->l1_table = qemu_try_blockalign(l1_bytes);
        if (!s->l1_table) {
            error_setg(errp, "Could not allocate L1 table");
            ret = -ENOMEM;
            goto fail;
        }
        memset(s->l1_table, 0, l1_bytes);
        ret = bdrv_pread(bs->file, s->l1_table_offset,
                         s->l1_size * sizeof(uint64_t), s->l1_table, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read L1 table");
            goto fail;
        }
        for (i = 0; i < s->l1_size; i++) {
            s->l1_table[i] = be64_to_cpu(s->l1_table[i]);
        }
    }

    /* Options. */
    ret = cache_sizes(bs, options, &l2_cache_size, &l2_cache_entry_size,
                      &refcount_cache_size, errp);
    if (ret < 0) {
        goto fail;
    }
    s->use_lazy_refcounts = opt_bool(options, "lazy-refcounts",
                                     !!(s->compatible_features &
                                        QCOW2_COMPAT_LAZY_REFCOUNTS),
                                     errp, &ok);
    s->discard_passthrough[QCOW2_DISCARD_NEVER] = false;
    s->discard_passthrough[QCOW2_DISCARD_ALWAYS] = true;
    s->discard_passthrough[QCOW2_DISCARD_REQUEST] =
        opt_bool(options, "pass-discard-request", !!(flags & BDRV_O_UNMAP),
                 errp, &ok);
    s->discard_passthrough[QCOW2_DISCARD_SNAPSHOT] =
        opt_bool(options, "pass-discard-snapshot", true, errp, &ok);
    s->discard_passthrough[QCOW2_DISCARD_OTHER] =
        opt_bool(options, "pass-discard-other", false, errp, &ok);
    s->discard_no_unref = opt_bool(options, "discard-no-unref", false, errp,
                                   &ok);
    if (!ok) {
        ret = -EINVAL;
        goto fail;
    }
    if (s->use_lazy_refcounts && s->qcow_version < 3) {
        error_setg(errp, "Lazy refcounts require a qcow2 image with at least "
                   "qemu 1.1 compatibility level");
        ret = -EINVAL;
        goto fail;
    }
    for (i = 0; qcow2_runtime_opts[i]; i++) {
        qdict_del(options, qcow2_runtime_opts[i]);
    }

    s->l2_slice_size = l2_cache_entry_size / l2_entry_size(s);
    {
        uint64_t l2_tables = MAX(l2_cache_size / l2_cache_entry_size,
                                 (uint64_t)QCOW2_MIN_L2_CACHE_TABLES *
                                 (s->cluster_size / l2_cache_entry_size));
        uint64_t rc_tables = MAX(refcount_cache_size / s->cluster_size,
                                 (uint64_t)QCOW2_MIN_REFCOUNT_CACHE_TABLES);

        l2_tables = MIN(l2_tables, (uint64_t)INT_MAX / 2);
        rc_tables = MIN(rc_tables, (uint64_t)65536);
        s->l2_table_cache = qcow2_cache_create(bs, l2_tables,
                                               l2_cache_entry_size);
        s->refcount_block_cache = qcow2_cache_create(bs, rc_tables,
                                                     s->cluster_size);
    }

    ret = qcow2_refcount_init(bs);
    if (ret != 0) {
        error_setg_errno(errp, -ret, "Could not initialize refcount handling");
        goto fail;
    }

    /* The backing file name. */
    if (header.backing_file_offset != 0) {
        uint32_t len = header.backing_file_size;

        if (len > QCOW_MAX_BACKING_NAME ||
            len >= sizeof(bs->backing_file) ||
            header.backing_file_offset + len > (uint64_t)s->cluster_size) {
            error_setg(errp, "Backing file name too long");
            ret = -EINVAL;
            goto fail;
        }
        memcpy(bs->backing_file, cluster + header.backing_file_offset, len);
        bs->backing_file[len] = '\0';
    } else {
        bs->backing_file[0] = '\0';
    }

    /* Now the extensions for real. */
    ret = read_header_extensions(bs, cluster, header.header_length, ext_end,
                                 NULL, NULL, errp);
    if (ret < 0) {
        goto fail;
    }

    /* External data file. */
    if (s->incompatible_features & QCOW2_INCOMPAT_DATA_FILE) {
        char *path = NULL;

        if (s->image_data_file) {
            path = path_combine(bs->filename, s->image_data_file);
        }
        s->data_file = bdrv_open_child(path, options, "data-file", bs,
                                       BDRV_CHILD_DATA, false, errp);
        free(path);
        if (!s->data_file) {
            ret = -EINVAL;
            goto fail;
        }
    } else {
        if (qdict_haskey(options, "data-file")) {
            error_setg(errp, "'data-file' can only be set for images with an "
                       "external data file");
            ret = -EINVAL;
            goto fail;
        }
        if (data_file_is_raw(bs)) {
            error_setg(errp, "data-file-raw requires a data file");
            ret = -EINVAL;
            goto fail;
        }
    }

    ret = qcow2_read_snapshots(bs, errp);
    if (ret < 0) {
        goto fail;
    }

    /* The steps that write run in a coroutine. */
    {
        Qcow2OpenFinish f = { bs, flags, errp, 0, false };

        bdrv_run_co(qcow2_open_finish_entry, &f, &f.done);
        ret = f.ret;
        if (ret < 0) {
            goto fail;
        }
    }

    free(feature_table);
    qemu_vfree(cluster);
    return 0;

fail:
    free(feature_table);
    qemu_vfree(cluster);
    return ret;
}

static void qcow2_free_state(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    qcow2_cache_destroy(s->l2_table_cache);
    qcow2_cache_destroy(s->refcount_block_cache);
    s->l2_table_cache = s->refcount_block_cache = NULL;
    qcow2_refcount_close(bs);
    qemu_vfree(s->l1_table);
    s->l1_table = NULL;
    qcow2_free_snapshots(bs);
    free_unknown_header_extensions(s);
    free(s->image_data_file);
    s->image_data_file = NULL;
    if (s->data_file) {
        bdrv_unref_child(bs, s->data_file);
        s->data_file = NULL;
    }
}

static int qcow2_open(BlockDriverState *bs, QDict *options, int flags,
                      Error **errp)
{
    int ret;

    ret = bdrv_open_file_child(NULL, options, bs, errp);
    if (ret < 0) {
        return ret;
    }
    ret = qcow2_do_open(bs, options, flags, errp);
    if (ret < 0) {
        qcow2_free_state(bs);
    }
    return ret;
}

/* Read-write again: the bitmaps are marked in use before they change. */
static void qcow2_reopen_commit_post(BlockDriverState *bs)
{
    Error *err = NULL;

    if (qcow2_reopen_bitmaps_rw(bs, &err) < 0) {
        error_reportf_err(err, "%s: Failed to make dirty bitmaps writable: ",
                          bs->node_name);
    }
}

static void qcow2_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;

    bs->bl.request_alignment = 1;
    bs->bl.pwrite_zeroes_alignment = s->subcluster_size;
    bs->bl.pdiscard_alignment = s->cluster_size;
    bs->supported_zero_flags = BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK;
}

typedef struct Qcow2CloseCo {
    BlockDriverState *bs;
    bool done;
} Qcow2CloseCo;

static void coroutine_fn qcow2_close_entry(void *opaque)
{
    Qcow2CloseCo *c = opaque;
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;

    compress_drain(bs);

    if (!bs->read_only && !s->ejected && s->l2_table_cache) {
        int ret, l2_ret, rb_ret, result;

        qemu_co_mutex_lock(&s->lock);
        /*
         * Errors here cost at most leaks (invariant 4). Nobody is left to
         * return them to, so they are reported here, one line per cache,
         * as the reference does: a cache fails if its write or the one
         * flush of the file after both writes fails.
         */
        l2_ret = qcow2_cache_write(bs, s->l2_table_cache);
        rb_ret = qcow2_cache_write(bs, s->refcount_block_cache);
        ret = bdrv_co_flush(bs->file->bs);
        if (l2_ret == 0) {
            l2_ret = ret;
        }
        if (rb_ret == 0) {
            rb_ret = ret;
        }
        if (l2_ret < 0) {
            error_report("Failed to flush the L2 table cache: %s",
                         strerror(-l2_ret));
        }
        if (rb_ret < 0) {
            error_report("Failed to flush the refcount block cache: %s",
                         strerror(-rb_ret));
        }
        result = l2_ret < 0 ? l2_ret : rb_ret;
        if (result == 0) {
            /* Both caches are clean: this only issues queued discards. */
            result = qcow2_flush_caches(bs);
        }
        /* Refcounts are exact again once both caches are on disk. */
        if (result == 0 && !s->signaled_corruption) {
            qcow2_mark_clean(bs);
        }
        qemu_co_mutex_unlock(&s->lock);
    }
    c->done = true;
}

static void qcow2_close(BlockDriverState *bs)
{
    Qcow2CloseCo c = { bs, false };

    bdrv_run_co(qcow2_close_entry, &c, &c.done);
    qcow2_free_state(bs);
}

/* ---- reads --------------------------------------------------------------- */

static int coroutine_fn read_backing(BlockDriverState *bs, uint64_t offset,
                                     uint64_t bytes, QEMUIOVector *qiov,
                                     size_t qiov_offset)
{
    int64_t backing_len;
    uint64_t n = 0;
    QEMUIOVector sub;
    int ret;

    if (!bs->backing) {
        qemu_iovec_memset(qiov, qiov_offset, 0, bytes);
        return 0;
    }
    backing_len = bdrv_co_getlength(bs->backing->bs);
    if (backing_len < 0) {
        return backing_len;
    }
    if ((int64_t)offset < backing_len) {
        n = MIN(bytes, (uint64_t)backing_len - offset);
        qemu_iovec_init_slice(&sub, qiov, qiov_offset, n);
        BLKDBG_EVENT(bs->file, BLKDBG_READ_BACKING_AIO);
        ret = bdrv_co_preadv(bs->backing, offset, n, &sub, 0);
        qemu_iovec_destroy(&sub);
        if (ret < 0) {
            return ret;
        }
    }
    if (n < bytes) {
        qemu_iovec_memset(qiov, qiov_offset + n, 0, bytes - n);
    }
    return 0;
}

static int coroutine_fn read_compressed(BlockDriverState *bs, uint64_t l2_entry,
                                        uint64_t offset, uint64_t bytes,
                                        QEMUIOVector *qiov,
                                        size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t coffset;
    int csize, ret;
    uint8_t *buf, *out_buf;
    int64_t file_len;

    qcow2_parse_compressed_l2_entry(bs, l2_entry, &coffset, &csize);
    buf = malloc(csize);
    out_buf = qemu_try_blockalign(s->cluster_size);
    if (!buf || !out_buf) {
        ret = -ENOMEM;
        goto out;
    }

    /* The last sector of the image file may be short. */
    file_len = bdrv_co_getlength(bs->file->bs);
    if (file_len < 0) {
        ret = file_len;
        goto out;
    }
    if ((int64_t)coffset >= file_len) {
        ret = -EIO;
        goto out;
    }
    if ((int64_t)(coffset + csize) > file_len) {
        memset(buf, 0, csize);
        csize = file_len - coffset;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_READ_COMPRESSED);
    ret = bdrv_co_pread(bs->file, coffset, csize, buf, 0);
    if (ret < 0) {
        goto out;
    }
    if (qcow2_co_decompress(bs, out_buf, s->cluster_size, buf, csize) < 0) {
        ret = -EIO;
        goto out;
    }
    qemu_iovec_from_buf(qiov, qiov_offset,
                        out_buf + offset_into_cluster(s, offset), bytes);
    ret = 0;
out:
    qemu_vfree(out_buf);
    free(buf);
    return ret;
}

static int coroutine_fn qcow2_co_preadv_part(BlockDriverState *bs,
                                             uint64_t offset, uint64_t bytes,
                                             QEMUIOVector *qiov,
                                             size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    QCow2SubclusterType type;
    uint64_t host_offset = 0;
    unsigned int cur_bytes;
    QEMUIOVector sub;
    int ret;

    while (bytes != 0) {
        cur_bytes = MIN(bytes, (uint64_t)INT_MAX & ~(s->cluster_size - 1));
        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_get_host_offset(bs, offset, &cur_bytes, &host_offset,
                                    &type);
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            return ret;
        }

        switch (type) {
        case QCOW2_SUBCLUSTER_ZERO_PLAIN:
        case QCOW2_SUBCLUSTER_ZERO_ALLOC:
            qemu_iovec_memset(qiov, qiov_offset, 0, cur_bytes);
            break;
        case QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN:
        case QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC:
            ret = read_backing(bs, offset, cur_bytes, qiov, qiov_offset);
            if (ret < 0) {
                return ret;
            }
            break;
        case QCOW2_SUBCLUSTER_COMPRESSED:
            ret = read_compressed(bs, host_offset, offset, cur_bytes, qiov,
                                  qiov_offset);
            if (ret < 0) {
                return ret;
            }
            break;
        case QCOW2_SUBCLUSTER_NORMAL:
            if (bs->encrypted) {
                return -ENOTSUP;
            }
            qemu_iovec_init_slice(&sub, qiov, qiov_offset, cur_bytes);
            BLKDBG_EVENT(bs->file, BLKDBG_READ_AIO);
            ret = bdrv_co_preadv(qcow2_data_child(bs), host_offset,
                                 cur_bytes, &sub, 0);
            qemu_iovec_destroy(&sub);
            if (ret < 0) {
                return ret;
            }
            break;
        default:
            return -EIO;
        }
        bytes -= cur_bytes;
        offset += cur_bytes;
        qiov_offset += cur_bytes;
    }
    return 0;
}

static int coroutine_fn qcow2_co_preadv(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, QEMUIOVector *qiov,
                                        BdrvRequestFlags flags)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->ejected) {
        return -ENOMEDIUM;
    }
    if (s->compress_inflight) {
        ret = compress_drain(bs);
        if (ret < 0) {
            return ret;
        }
    }
    return qcow2_co_preadv_part(bs, offset, bytes, qiov, 0);
}

/* ---- writes -------------------------------------------------------------- */

/*
 * Writes the guest data of an allocation together with its COW parts, read
 * from the guest view (backing file, old cluster, zeroes) that the L2 entry
 * still gives, in one request. COW parts that read as zeroes are not read:
 * as in the reference, which zeroes the cluster instead, the allocation
 * then raises cluster_alloc_space rather than cow_read and cow_write.
 */
static int coroutine_fn write_with_cow(BlockDriverState *bs, QCowL2Meta *m,
                                       QEMUIOVector *qiov, size_t qiov_offset,
                                       uint64_t bytes)
{
    uint64_t start = m->cow_start.nb_bytes;
    uint64_t end = m->cow_end.nb_bytes;
    uint64_t start_off = m->offset + m->cow_start.offset;
    uint64_t end_off = m->offset + m->cow_end.offset;
    uint8_t *start_buf = NULL, *end_buf = NULL;
    bool zero_cow = false;
    QEMUIOVector hd;
    QEMUIOVector tmp;
    int ret;

    qemu_iovec_init(&hd, qiov->niov + 2);
    if ((start || end) && is_zero_range(bs, start_off, start) &&
        is_zero_range(bs, end_off, end)) {
        zero_cow = true;
        BLKDBG_EVENT(bs->file, BLKDBG_CLUSTER_ALLOC_SPACE);
    }
    if (start) {
        start_buf = qemu_try_blockalign(start);
        if (!start_buf) {
            ret = -ENOMEM;
            goto out;
        }
        if (zero_cow) {
            memset(start_buf, 0, start);
        } else {
            qemu_iovec_init_buf(&tmp, start_buf, start);
            BLKDBG_EVENT(bs->file, BLKDBG_COW_READ);
            ret = qcow2_co_preadv_part(bs, start_off, start, &tmp, 0);
            if (ret < 0) {
                goto out;
            }
        }
        qemu_iovec_add(&hd, start_buf, start);
    }
    qemu_iovec_concat(&hd, qiov, qiov_offset, bytes);
    if (end) {
        end_buf = qemu_try_blockalign(end);
        if (!end_buf) {
            ret = -ENOMEM;
            goto out;
        }
        if (zero_cow) {
            memset(end_buf, 0, end);
        } else {
            qemu_iovec_init_buf(&tmp, end_buf, end);
            BLKDBG_EVENT(bs->file, BLKDBG_COW_READ);
            ret = qcow2_co_preadv_part(bs, end_off, end, &tmp, 0);
            if (ret < 0) {
                goto out;
            }
        }
        qemu_iovec_add(&hd, end_buf, end);
    }
    BLKDBG_EVENT(bs->file, BLKDBG_WRITE_AIO);
    if ((start || end) && !zero_cow) {
        BLKDBG_EVENT(bs->file, BLKDBG_COW_WRITE);
    }
    ret = bdrv_co_pwritev(qcow2_data_child(bs),
                          m->alloc_offset + m->cow_start.offset, hd.size, &hd,
                          0);
out:
    qemu_iovec_destroy(&hd);
    qemu_vfree(start_buf);
    qemu_vfree(end_buf);
    return ret;
}

static int coroutine_fn qcow2_co_pwritev_part(BlockDriverState *bs,
                                              uint64_t offset, uint64_t bytes,
                                              QEMUIOVector *qiov,
                                              size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t host_offset, hint = 0;
    unsigned int cur_bytes;
    QCowL2Meta *l2meta = NULL;
    QEMUIOVector sub;
    int ret = 0;

    if (bs->encrypted) {
        return -ENOTSUP;
    }
    while (bytes != 0) {
        cur_bytes = MIN(bytes, (uint64_t)INT_MAX & ~(s->cluster_size - 1));
        qemu_co_mutex_lock(&s->lock);
        if (s->use_lazy_refcounts) {
            ret = qcow2_mark_dirty(bs);
            if (ret < 0) {
                qemu_co_mutex_unlock(&s->lock);
                return ret;
            }
        }
        host_offset = hint;
        ret = qcow2_alloc_host_offset(bs, offset, &cur_bytes, &host_offset,
                                      &l2meta);
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            return ret;
        }

        if (l2meta) {
            ret = write_with_cow(bs, l2meta, qiov, qiov_offset, cur_bytes);
            qemu_co_mutex_lock(&s->lock);
            if (ret < 0) {
                qcow2_alloc_cluster_abort(bs, l2meta);
            } else {
                ret = qcow2_alloc_cluster_link_l2(bs, l2meta);
            }
            qemu_co_mutex_unlock(&s->lock);
            free(l2meta);
            l2meta = NULL;
            if (ret < 0) {
                return ret;
            }
        } else {
            qemu_iovec_init_slice(&sub, qiov, qiov_offset, cur_bytes);
            BLKDBG_EVENT(bs->file, BLKDBG_WRITE_AIO);
            ret = bdrv_co_pwritev(qcow2_data_child(bs), host_offset,
                                  cur_bytes, &sub, 0);
            qemu_iovec_destroy(&sub);
            if (ret < 0) {
                return ret;
            }
        }
        hint = ROUND_UP(host_offset + cur_bytes, s->cluster_size);
        bytes -= cur_bytes;
        offset += cur_bytes;
        qiov_offset += cur_bytes;
    }
    return 0;
}

static int coroutine_fn qcow2_co_pwritev(BlockDriverState *bs, int64_t offset,
                                         int64_t bytes, QEMUIOVector *qiov,
                                         BdrvRequestFlags flags)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->ejected) {
        return -ENOMEDIUM;
    }
    s->grown_zero_end = 0;
    if (s->compress_inflight || s->compress_error) {
        ret = compress_drain(bs);
        if (ret < 0) {
            return ret;
        }
    }
    return qcow2_co_pwritev_part(bs, offset, bytes, qiov, 0);
}

/*
 * Compressed writes go behind the request: the cluster is copied, a
 * coroutine compresses it on the thread pool, then waits for its turn
 * (submission order) to allocate and write. The request returns as soon
 * as the job is queued, so that a front end writing in order (as convert
 * -c does) still keeps every core compressing, and the image gets the
 * same layout as with one write at a time. Any other request, flush and
 * close wait until the jobs are done first; a failed job fails the next
 * request.
 */
typedef struct CompressJob {
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    uint8_t *buf;           /* one cluster */
    uint64_t seq;
} CompressJob;

/*
 * Jobs allocate in submission order, so a slow cluster holds back the ones
 * behind it: with a deep queue the workers keep compressing meanwhile. Up
 * to 16 per core, held to 32 MiB of cluster buffers (each job holds two).
 */
static int compress_max_jobs(BDRVQcow2State *s)
{
    static int per_cpu;
    int by_memory = (32 << 20) / (2 * s->cluster_size);

    if (!per_cpu) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        per_cpu = MAX(16, MIN(64, 16 * (n > 0 ? n : 1)));
    }
    return MAX(4, MIN(per_cpu, by_memory));
}

static void coroutine_fn compress_job_entry(void *opaque)
{
    CompressJob *job = opaque;
    BlockDriverState *bs = job->bs;
    BDRVQcow2State *s = bs->opaque;
    BDRVQcow2State *st = s;
    uint8_t *out_buf = malloc(s->cluster_size);
    ssize_t out_len = -ENOMEM;
    uint64_t host;
    int ret = 0;

    if (out_buf) {
        /* Compressed data must be smaller than a cluster to be worth it. */
        out_len = qcow2_co_compress(bs, out_buf, s->cluster_size - 1,
                                    job->buf, s->cluster_size);
    }

    while (st->compress_turn != job->seq) {
        qemu_co_queue_wait(&st->compress_turn_queue, NULL);
    }
    if (s->compress_error) {
        ret = s->compress_error;
    } else if (!out_buf) {
        ret = -ENOMEM;
    } else if (out_len == -ENOMEM) {
        /* It does not compress: write it as a normal cluster. */
        QEMUIOVector whole;

        qemu_iovec_init_buf(&whole, job->buf, job->bytes);
        ret = qcow2_co_pwritev_part(bs, job->offset, job->bytes, &whole, 0);
    } else if (out_len < 0) {
        ret = -EIO;
    } else {
        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_alloc_compressed_cluster_offset(bs, job->offset, out_len,
                                                    &host);
        qemu_co_mutex_unlock(&s->lock);
        if (ret == 0) {
            /* The next job may allocate while this one writes. */
            st->compress_turn++;
            qemu_co_queue_restart_all(&st->compress_turn_queue);
            BLKDBG_EVENT(bs->file, BLKDBG_WRITE_COMPRESSED);
            ret = bdrv_co_pwrite(bs->file, host, out_len, out_buf, 0);
            goto done;
        }
    }
    st->compress_turn++;
    qemu_co_queue_restart_all(&st->compress_turn_queue);
done:
    if (ret < 0 && !s->compress_error) {
        s->compress_error = ret;
    }
    free(out_buf);
    qemu_vfree(job->buf);
    free(job);
    s->compress_inflight--;
    qemu_co_queue_next(&s->compress_slot_queue);
    if (s->compress_inflight == 0) {
        qemu_co_queue_restart_all(&s->compress_drain_queue);
    }
    bdrv_dec_in_flight(bs);
}

/* Waits until no compressed write is pending; returns a failure of one. */
static int coroutine_fn compress_drain(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    while (s->compress_inflight > 0) {
        qemu_co_queue_wait(&s->compress_drain_queue, NULL);
    }
    ret = s->compress_error;
    s->compress_error = 0;
    return ret;
}

static int coroutine_fn compress_submit(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, uint8_t *buf)
{
    BDRVQcow2State *s = bs->opaque;
    CompressJob *job;

    while (s->compress_inflight >= compress_max_jobs(s)) {
        qemu_co_queue_wait(&s->compress_slot_queue, NULL);
    }
    if (s->compress_error) {
        qemu_vfree(buf);
        return compress_drain(bs);
    }
    job = xzalloc(sizeof(*job));
    job->bs = bs;
    job->offset = offset;
    job->bytes = bytes;
    job->buf = buf;
    job->seq = s->compress_next_seq++;
    s->compress_inflight++;
    /* The node stays busy (drain, close) until the job is done. */
    bdrv_inc_in_flight(bs);
    qemu_coroutine_enter(qemu_coroutine_create(compress_job_entry, job));
    return 0;
}

/*
 * Compressed writes: whole clusters, one compressed cluster each; only the
 * last cluster of the image may be partial (cut by the image's end), as
 * with the reference. A request of several clusters is split here. Any
 * other piece of a cluster fails with -EINVAL: the caller (convert -c)
 * sends whole clusters.
 */
static int coroutine_fn qcow2_co_pwritev_compressed(BlockDriverState *bs,
                                                    int64_t offset,
                                                    int64_t bytes,
                                                    QEMUIOVector *qiov)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t len = bs->total_sectors * BDRV_SECTOR_SIZE;
    size_t qiov_offset = 0;
    int ret = 0;

    if (s->ejected) {
        return -ENOMEDIUM;
    }
    s->grown_zero_end = 0;
    if (has_data_file(bs)) {
        return -ENOTSUP;
    }
    if (bytes == 0) {
        /*
         * The end of the stream: finish what is pending, then end the file
         * at a sector boundary (the last compressed cluster may stop
         * anywhere), as the reference does.
         */
        int64_t file_len;

        ret = compress_drain(bs);
        if (ret < 0) {
            return ret;
        }
        file_len = bdrv_co_getlength(bs->file->bs);
        if (file_len < 0) {
            return file_len;
        }
        /* (The length the core knows is rounded up to sectors already.) */
        return bdrv_co_truncate(bs->file, ROUND_UP(file_len, BDRV_SECTOR_SIZE),
                                false, PREALLOC_MODE_OFF, 0, NULL);
    }
    if (offset_into_cluster(s, offset) ||
        (offset_into_cluster(s, bytes) && offset + bytes != len)) {
        return -EINVAL;
    }
    if (s->compress_error) {
        return compress_drain(bs);
    }
    while (bytes > 0) {
        int64_t n = MIN(bytes, (int64_t)s->cluster_size);
        uint8_t *buf = qemu_try_blockalign(s->cluster_size);

        if (!buf) {
            return -ENOMEM;
        }
        qemu_iovec_to_buf(qiov, qiov_offset, buf, n);
        memset(buf + n, 0, s->cluster_size - n);
        ret = compress_submit(bs, offset, n, buf);
        if (ret < 0) {
            return ret;
        }
        offset += n;
        bytes -= n;
        qiov_offset += n;
    }
    return 0;
}


static int coroutine_fn qcow2_co_pwrite_zeroes(BlockDriverState *bs,
                                               int64_t offset, int64_t bytes,
                                               BdrvRequestFlags flags)
{
    BDRVQcow2State *s = bs->opaque;
    uint32_t head = offset_into_subcluster(s, offset);
    uint32_t tail = ROUND_UP(offset + bytes, s->subcluster_size) -
                    (offset + bytes);
    int ret;

    if (s->ejected) {
        return -ENOMEDIUM;
    }
    if ((uint64_t)offset >= s->grown_zero_start &&
        (uint64_t)(offset + bytes) <= s->grown_zero_end) {
        return 0;
    }
    s->grown_zero_end = 0;
    if (s->compress_inflight || s->compress_error) {
        ret = compress_drain(bs);
        if (ret < 0) {
            return ret;
        }
    }
    if (s->qcow_version < 3 || data_file_is_raw(bs)) {
        return -ENOTSUP;
    }
    if ((uint64_t)offset + bytes ==
        (uint64_t)bs->total_sectors * BDRV_SECTOR_SIZE) {
        tail = 0;
    }

    if (head || tail) {
        uint64_t off;
        unsigned int nr;
        QCow2SubclusterType type;

        /* Widen to whole subclusters when the rest already reads zero. */
        if (!is_zero_range(bs, offset - head, head) ||
            !is_zero_range(bs, offset + bytes, tail)) {
            return -ENOTSUP;
        }
        offset -= head;
        bytes = ROUND_UP(bytes + head, s->subcluster_size);
        if ((uint64_t)offset + bytes >
            (uint64_t)bs->total_sectors * BDRV_SECTOR_SIZE) {
            bytes = bs->total_sectors * BDRV_SECTOR_SIZE - offset;
        }
        qemu_co_mutex_lock(&s->lock);
        off = offset;
        nr = s->subcluster_size;
        ret = qcow2_get_host_offset(bs, off, &nr, &off, &type);
        if (ret < 0 || (type != QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN &&
                        type != QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC &&
                        type != QCOW2_SUBCLUSTER_ZERO_PLAIN &&
                        type != QCOW2_SUBCLUSTER_ZERO_ALLOC)) {
            qemu_co_mutex_unlock(&s->lock);
            return ret < 0 ? ret : -ENOTSUP;
        }
    } else {
        qemu_co_mutex_lock(&s->lock);
    }

    if (!has_subclusters(s) && (offset_into_cluster(s, offset) ||
        (offset_into_cluster(s, offset + bytes) &&
         (uint64_t)offset + bytes !=
         (uint64_t)bs->total_sectors * BDRV_SECTOR_SIZE))) {
        qemu_co_mutex_unlock(&s->lock);
        return -ENOTSUP;
    }
    ret = qcow2_subcluster_zeroize(bs, offset, bytes, flags);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

static int coroutine_fn qcow2_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                          int64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t end = offset + bytes;
    int64_t len = bs->total_sectors * BDRV_SECTOR_SIZE;
    int ret;

    if (s->ejected) {
        return -ENOMEDIUM;
    }
    s->grown_zero_end = 0;
    if (s->compress_inflight || s->compress_error) {
        ret = compress_drain(bs);
        if (ret < 0) {
            return ret;
        }
    }
    /* Only whole clusters; the end of the image counts as a boundary. */
    offset = ROUND_UP(offset, s->cluster_size);
    if (end != len) {
        end = ROUND_DOWN(end, s->cluster_size);
    }
    if (end <= offset) {
        return 0;
    }
    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_cluster_discard(bs, offset, end - offset,
                                QCOW2_DISCARD_REQUEST, false);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

static int coroutine_fn qcow2_co_flush_to_os(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    ret = compress_drain(bs);
    if (ret < 0) {
        return ret;
    }
    if (s->ejected) {
        /* Nothing more reaches the file (a detached driver flushes none). */
        return 0;
    }
    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_write_caches(bs);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

/* ---- block status -------------------------------------------------------- */

static int coroutine_fn qcow2_co_block_status(BlockDriverState *bs,
                                              bool want_zero, int64_t offset,
                                              int64_t count, int64_t *pnum,
                                              int64_t *map,
                                              BlockDriverState **file)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t host_offset;
    unsigned int bytes;
    QCow2SubclusterType type;
    int ret, status = 0;

    if (s->ejected) {
        return -ENOMEDIUM;
    }
    bytes = MIN(INT_MAX, count);
    qemu_co_mutex_lock(&s->lock);
    if (!s->metadata_preallocation_checked) {
        ret = qcow2_detect_metadata_preallocation(bs);
        s->metadata_preallocation = ret == 1;
        s->metadata_preallocation_checked = true;
    }
    ret = qcow2_get_host_offset(bs, offset, &bytes, &host_offset, &type);
    qemu_co_mutex_unlock(&s->lock);
    if (ret < 0) {
        return ret;
    }
    *pnum = bytes;

    if ((type == QCOW2_SUBCLUSTER_NORMAL ||
         type == QCOW2_SUBCLUSTER_ZERO_ALLOC ||
         type == QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC) && !bs->encrypted) {
        *map = host_offset;
        *file = qcow2_data_child(bs)->bs;
        status |= BDRV_BLOCK_OFFSET_VALID;
    }
    if (type == QCOW2_SUBCLUSTER_ZERO_PLAIN ||
        type == QCOW2_SUBCLUSTER_ZERO_ALLOC) {
        status |= BDRV_BLOCK_ZERO;
    } else if (type != QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN &&
               type != QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC) {
        status |= BDRV_BLOCK_DATA;
    }
    /* Mapped but never written: the file's holes say it reads zeroes. */
    if (s->metadata_preallocation && (status & BDRV_BLOCK_DATA) &&
        (status & BDRV_BLOCK_OFFSET_VALID) &&
        type == QCOW2_SUBCLUSTER_NORMAL) {
        status |= BDRV_BLOCK_RECURSE;
    }
    return status;
}

static bool is_zero_range(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    int64_t nr;
    int res;

    if (!bytes) {
        return true;
    }
    /* Clamp to the image size: past the end counts as zero. */
    if (offset >= bs->total_sectors * (int64_t)BDRV_SECTOR_SIZE) {
        return true;
    }
    res = bdrv_block_status_above(bs, NULL, offset, bytes, &nr, NULL, NULL,
                                  NULL);
    return res >= 0 && (res & BDRV_BLOCK_ZERO) && nr >= bytes;
}

/* ---- truncate ------------------------------------------------------------ */

static int coroutine_fn preallocate_co(BlockDriverState *bs, uint64_t offset,
                                       uint64_t new_length, PreallocMode mode,
                                       Error **errp);

/*
 * Grown over a backing file that reaches past the old end: the new area
 * must read as zeros, not as the backing file's data, so it is zeroed as
 * the reference does: the (sub)cluster the old end cuts is written (its
 * guest bytes kept, zeros after them: head), the rest gets zero flags
 * (tail; preallocated clusters keep their allocation). Called with
 * s->lock held, bs->total_sectors already the new size.
 */
static int coroutine_fn zero_grown_area(BlockDriverState *bs,
                                        uint64_t old_length,
                                        uint64_t new_length, bool head,
                                        bool tail, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t sc_start = old_length & ~((uint64_t)s->subcluster_size - 1);
    uint64_t sc_end = MIN(ROUND_UP(old_length, s->subcluster_size),
                          new_length);
    int64_t backing_len;
    int ret;

    backing_len = bdrv_co_getlength(bs->backing->bs);
    if (backing_len < 0) {
        error_setg_errno(errp, -backing_len, "Could not get the backing "
                         "file's length");
        return backing_len;
    }
    if ((uint64_t)backing_len <= old_length) {
        return 0;
    }
    if (s->qcow_version < 3) {
        error_setg_errno(errp, ENOTSUP, "Failed to zero out new clusters");
        return -ENOTSUP;
    }
    if (head && sc_start < old_length) {
        uint64_t len = sc_end - sc_start;
        uint8_t *buf = qemu_try_blockalign(len);
        QEMUIOVector qiov;

        if (!buf) {
            error_setg(errp, "Could not allocate a buffer");
            return -ENOMEM;
        }
        memset(buf, 0, len);
        /* The read and write paths take the lock themselves. */
        qemu_co_mutex_unlock(&s->lock);
        qemu_iovec_init_buf(&qiov, buf, old_length - sc_start);
        ret = qcow2_co_preadv_part(bs, sc_start, old_length - sc_start,
                                   &qiov, 0);
        if (ret == 0) {
            qemu_iovec_init_buf(&qiov, buf, len);
            ret = qcow2_co_pwritev_part(bs, sc_start, len, &qiov, 0);
        }
        qemu_co_mutex_lock(&s->lock);
        qemu_vfree(buf);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to zero out new clusters");
            return ret;
        }
    }
    if (tail && sc_end < new_length) {
        ret = qcow2_subcluster_zeroize(bs, sc_end, new_length - sc_end, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to zero out new clusters");
            return ret;
        }
    }
    return 0;
}

static int coroutine_fn qcow2_co_truncate(BlockDriverState *bs, int64_t offset,
                                          bool exact, PreallocMode prealloc,
                                          BdrvRequestFlags flags,
                                          Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_length;
    int64_t new_l1_size;
    uint8_t size_be[8];
    bool head_done;
    int ret;

    if (s->ejected) {
        return -ENOMEDIUM;
    }
    s->grown_zero_end = 0;
    if (prealloc != PREALLOC_MODE_OFF && prealloc != PREALLOC_MODE_METADATA &&
        prealloc != PREALLOC_MODE_FALLOC && prealloc != PREALLOC_MODE_FULL) {
        error_setg(errp, "Unsupported preallocation mode '%s'",
                   prealloc_mode_name(prealloc));
        return -ENOTSUP;
    }
    if (!IS_ALIGNED(offset, BDRV_SECTOR_SIZE)) {
        error_setg(errp, "The new size must be a multiple of %u",
                   (unsigned)BDRV_SECTOR_SIZE);
        return -EINVAL;
    }

    qemu_co_mutex_lock(&s->lock);

    /* The bitmaps are resized in memory and stored with the new size. */
    ret = qcow2_co_truncate_bitmaps_check(bs, errp);
    if (ret < 0) {
        goto fail;
    }

    if (s->nb_snapshots &&
        offset != bs->total_sectors * (int64_t)BDRV_SECTOR_SIZE) {
        error_setg(errp, "Can't resize an image which has snapshots");
        ret = -ENOTSUP;
        goto fail;
    }

    old_length = bs->total_sectors * BDRV_SECTOR_SIZE;
    new_l1_size = size_to_l1(s, offset);

    if ((uint64_t)offset < old_length) {
        int64_t last_cluster, old_file_size;

        if (prealloc != PREALLOC_MODE_OFF) {
            error_setg(errp, "Preallocation can't be used for shrinking an "
                       "image");
            ret = -EINVAL;
            goto fail;
        }
        ret = qcow2_cluster_discard(bs, ROUND_UP(offset, s->cluster_size),
                                    old_length - ROUND_UP(offset,
                                                          s->cluster_size),
                                    QCOW2_DISCARD_ALWAYS, true);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to discard cropped clusters");
            goto fail;
        }
        ret = qcow2_shrink_l1_table(bs, new_l1_size);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to reduce the number of L2 "
                             "tables");
            goto fail;
        }
        ret = qcow2_shrink_reftable(bs);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to discard unused refblocks");
            goto fail;
        }
        old_file_size = bdrv_co_getlength(bs->file->bs);
        if (old_file_size < 0) {
            error_setg_errno(errp, -old_file_size,
                             "Failed to inquire current file length");
            ret = old_file_size;
            goto fail;
        }
        last_cluster = qcow2_get_last_cluster(bs, old_file_size);
        if (last_cluster < 0) {
            error_setg_errno(errp, -last_cluster,
                             "Failed to find the last cluster");
            ret = last_cluster;
            goto fail;
        }
        if ((last_cluster + 1) * s->cluster_size < old_file_size) {
            Error *local_err = NULL;

            /* Not fatal: the file just stays longer. */
            bdrv_co_truncate(bs->file, (last_cluster + 1) * s->cluster_size,
                             false, PREALLOC_MODE_OFF, 0, &local_err);
            if (local_err) {
                error_free(local_err);
            }
        }
    } else {
        ret = qcow2_grow_l1_table(bs, new_l1_size, true);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to grow the L1 table");
            goto fail;
        }
    }

    if (prealloc == PREALLOC_MODE_OFF && data_file_is_raw(bs) &&
        (uint64_t)offset > old_length) {
        /* A raw data file keeps every guest cluster mapped. */
        prealloc = PREALLOC_MODE_METADATA;
    }
    head_done = false;
    if (prealloc == PREALLOC_MODE_METADATA && !has_subclusters(s) &&
        bs->backing && (uint64_t)offset > old_length) {
        /*
         * The cut cluster keeps its backing data below the old end: it is
         * written before the preallocation maps the rest.
         */
        bs->total_sectors = offset / BDRV_SECTOR_SIZE;
        ret = zero_grown_area(bs, old_length, offset, true, false, errp);
        head_done = true;
        bs->total_sectors = old_length / BDRV_SECTOR_SIZE;
        if (ret < 0) {
            goto fail;
        }
    }
    if (prealloc != PREALLOC_MODE_OFF && (uint64_t)offset > old_length) {
        ret = preallocate_co(bs, old_length, offset, prealloc, errp);
        if (ret < 0) {
            goto fail;
        }
    } else if (has_data_file(bs) && (uint64_t)offset != old_length) {
        /*
         * An external data file follows the virtual size, grown or cut, as
         * with the reference (guest offsets are its offsets).
         */
        ret = bdrv_co_truncate(s->data_file, offset, false,
                               PREALLOC_MODE_OFF, 0, errp);
        if (ret < 0) {
            goto fail;
        }
    }

    bs->total_sectors = offset / BDRV_SECTOR_SIZE;
    /*
     * (falloc/full clusters read as zeros by themselves, unless extended
     * L2 leaves their subclusters unallocated; metadata ones get the zero
     * flag.)
     */
    if ((prealloc == PREALLOC_MODE_OFF ||
         prealloc == PREALLOC_MODE_METADATA || has_subclusters(s)) &&
        bs->backing && (uint64_t)offset > old_length) {
        ret = zero_grown_area(bs, old_length, offset, !head_done, true,
                              errp);
        if (ret < 0) {
            bs->total_sectors = old_length / BDRV_SECTOR_SIZE;
            goto fail;
        }
    }
    stbe64(size_be, offset);
    ret = bdrv_co_pwrite(bs->file, 24, sizeof(size_be), size_be, 0);
    if (ret >= 0) {
        /* On disk at once, as the reference (its flushes are the same). */
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to update the image size");
        goto fail;
    }
    if ((uint64_t)offset > old_length) {
        s->grown_zero_start = old_length;
        s->grown_zero_end = offset;
    }
    s->l1_vm_state_index = new_l1_size;
    ret = 0;
fail:
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

/*
 * Allocates and maps clusters for guest range [offset, new_length):
 * metadata (L2 entries) always; falloc/full also reserve or write the data
 * area in the file. Called with s->lock held.
 */
static int coroutine_fn preallocate_co(BlockDriverState *bs, uint64_t offset,
                                       uint64_t new_length, PreallocMode mode,
                                       Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t bytes;
    uint64_t host_offset = 0, end;
    int64_t file_length;
    unsigned int cur_bytes;
    int ret;
    QCowL2Meta *meta = NULL, *next;

    assert(offset <= new_length);
    bytes = new_length - offset;

    if (mode == PREALLOC_MODE_FALLOC || mode == PREALLOC_MODE_FULL) {
        /*
         * Refcount structures for everything first (in an area at the end
         * of the file), then the data clusters in one run right after it,
         * then the L2 tables wherever they fit: the reference's order.
         */
        uint64_t data_start, head, nb_data, nb_l2;
        int64_t old_file_size, alloc_start, n;
        uint8_t *head_buf = NULL;

        if (has_data_file(bs)) {
            data_start = ROUND_UP(offset, s->cluster_size);
            if (data_start >= new_length) {
                return 0;
            }
        } else {
            /*
             * The cluster that the old end cuts is preallocated too, as
             * with the reference: its guest bytes before the old end move
             * into the new cluster (read now, written before the mapping
             * changes; the old cluster is freed when it is unmapped).
             */
            data_start = start_of_cluster(s, offset);
        }
        head = offset - data_start;
        if (head) {
            QEMUIOVector qiov;

            head_buf = qemu_try_blockalign(head);
            if (!head_buf) {
                error_setg(errp, "Could not allocate a buffer");
                return -ENOMEM;
            }
            qemu_iovec_init_buf(&qiov, head_buf, head);
            /* The read path takes the lock itself. */
            qemu_co_mutex_unlock(&s->lock);
            ret = qcow2_co_preadv_part(bs, data_start, head, &qiov, 0);
            qemu_co_mutex_lock(&s->lock);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Could not read the last "
                                 "cluster");
                goto prealloc_out;
            }
        }
        nb_data = DIV_ROUND_UP(new_length - data_start, s->cluster_size);
        nb_l2 = DIV_ROUND_UP(nb_data, s->l2_size);
        old_file_size = bdrv_co_getlength(bs->file->bs);
        if (old_file_size < 0) {
            error_setg_errno(errp, -old_file_size,
                             "Failed to inquire current file length");
            ret = old_file_size;
            goto prealloc_out;
        }
        old_file_size = ROUND_UP(old_file_size, s->cluster_size);
        if (has_data_file(bs)) {
            alloc_start = data_start;
        } else {
            alloc_start = qcow2_refcount_area(bs, old_file_size,
                                              nb_data + nb_l2, true, 0, 0);
            if (alloc_start < 0) {
                error_setg_errno(errp, -alloc_start,
                                 "Failed to resize refcount structures");
                ret = alloc_start;
                goto prealloc_out;
            }
            n = qcow2_alloc_clusters_at(bs, alloc_start, nb_data);
            if (n < 0 || (uint64_t)n != nb_data) {
                error_setg_errno(errp, n < 0 ? -n : ENOSPC,
                                 "Failed to allocate data clusters");
                ret = n < 0 ? n : -ENOSPC;
                goto prealloc_out;
            }
        }
        if (has_data_file(bs)) {
            /*
             * The L2 tables come first, then the data file grows (the
             * reference's order: a failure leaves the tables allocated).
             */
            ret = qcow2_map_preallocated(bs, data_start, alloc_start,
                                         nb_data);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to update L2 tables");
                goto prealloc_out;
            }
        }
        ret = bdrv_co_truncate(qcow2_data_child(bs), alloc_start +
                               (nb_data << s->cluster_bits), false, mode, 0,
                               errp);
        if (ret < 0) {
            /* The reference names the image file, not a data file. */
            if (!has_data_file(bs)) {
                error_prepend(errp, "Failed to resize underlying file: ");
            }
            goto prealloc_out;
        }
        if (!has_data_file(bs)) {
            if (head) {
                ret = bdrv_co_pwrite(bs->file, alloc_start, head, head_buf,
                                     0);
                if (ret < 0) {
                    error_setg_errno(errp, -ret, "Could not write the last "
                                     "cluster");
                    goto prealloc_out;
                }
            }
            ret = qcow2_map_preallocated(bs, data_start, alloc_start,
                                         nb_data);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to update L2 tables");
            }
        }
prealloc_out:
        qemu_vfree(head_buf);
        return ret;
    }

    while (bytes) {
        cur_bytes = MIN(bytes, (uint64_t)INT_MAX & ~(s->cluster_size - 1));
        host_offset = 0;
        ret = qcow2_alloc_host_offset(bs, offset, &cur_bytes, &host_offset,
                                      &meta);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Allocating clusters failed");
            goto out;
        }
        while (meta) {
            next = meta->next;
            /*
             * Nothing to copy: the clusters are new and read as zero. No
             * subcluster is marked allocated either (an empty range), as
             * the reference leaves them: they still read from the backing
             * file, which is why extended L2 allows preallocation there.
             */
            meta->cow_start.nb_bytes = 0;
            meta->cow_end.offset = meta->cow_start.offset;
            meta->cow_end.nb_bytes = 0;
            ret = qcow2_alloc_cluster_link_l2(bs, meta);
            free(meta);
            meta = next;
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Mapping clusters failed");
                goto out;
            }
        }
        bytes -= cur_bytes;
        offset += cur_bytes;
    }

    /* The file ends where the last allocated cluster ends. */
    file_length = bdrv_co_getlength(qcow2_data_child(bs)->bs);
    if (file_length < 0) {
        error_setg_errno(errp, -file_length, "Could not get file size");
        ret = file_length;
        goto out;
    }
    /*
     * Up to the end of the last (sub)cluster, partial or not, as the
     * reference.
     */
    end = ROUND_UP(host_offset + cur_bytes, s->subcluster_size);
    if (end > (uint64_t)file_length) {
        PreallocMode m = mode == PREALLOC_MODE_METADATA ? PREALLOC_MODE_OFF
                                                        : mode;

        ret = bdrv_co_truncate(qcow2_data_child(bs), end, false, m, 0, errp);
        if (ret < 0) {
            goto out;
        }
    }
    ret = 0;
out:
    while (meta) {
        next = meta->next;
        qcow2_alloc_cluster_abort(bs, meta);
        free(meta);
        meta = next;
    }
    return ret;
}

/* ---- info ------------------------------------------------------------ */

static int qcow2_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    BDRVQcow2State *s = bs->opaque;

    bdi->cluster_size = s->cluster_size;
    bdi->subcluster_size = s->subcluster_size;
    bdi->vm_state_offset = qcow2_vm_state_offset(s);
    bdi->is_dirty = !!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY);
    bdi->needs_compressed_writes = false;
    return 0;
}

/*
 * The persistent bitmaps as info lists them: name, granularity, flags.
 * NULL when there are none (or the extension is not consistent).
 */
static QList *bitmaps_info(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    QList *list = NULL;
    uint8_t *dir;
    uint64_t pos = 0;
    uint32_t n;

    if (!s->nb_bitmaps ||
        !(s->autoclear_features & QCOW2_AUTOCLEAR_BITMAPS) ||
        s->bitmap_directory_size > QCOW2_MAX_BITMAP_DIRECTORY_SIZE) {
        return NULL;
    }
    dir = xmalloc(s->bitmap_directory_size);
    if (bdrv_pread(bs->file, s->bitmap_directory_offset,
                   s->bitmap_directory_size, dir, 0) < 0) {
        free(dir);
        return NULL;
    }
    list = qlist_new();
    for (n = 0; n < s->nb_bitmaps && pos + 24 <= s->bitmap_directory_size;
         n++) {
        uint32_t flags = ldbe32(dir + pos + 12);
        uint8_t granularity_bits = dir[pos + 17];
        uint16_t name_size = ldbe16(dir + pos + 18);
        uint32_t extra = ldbe32(dir + pos + 20);
        QDict *bm = qdict_new();
        QList *fl = qlist_new();
        char *name;

        if (pos + 24 + extra + name_size > s->bitmap_directory_size ||
            granularity_bits > 63) {
            qobject_unref(QOBJECT(bm));
            qobject_unref(QOBJECT(fl));
            break;
        }
        if (flags & 1) {
            qlist_append_str(fl, "in-use");
        }
        if (flags & 2) {
            qlist_append_str(fl, "auto");
        }
        name = xstrndup((const char *)dir + pos + 24 + extra, name_size);
        qdict_put(bm, "flags", fl);
        qdict_put_str(bm, "name", name);
        qdict_put_uint(bm, "granularity", 1ULL << granularity_bits);
        free(name);
        qlist_append(list, bm);
        pos += ROUND_UP(24 + (uint64_t)name_size + extra, 8);
    }
    free(dir);
    return list;
}

static QDict *qcow2_get_specific_info(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    QDict *spec = qdict_new();
    QDict *data = qdict_new();

    qdict_put_str(spec, "type", "qcow2");
    if (s->qcow_version == 2) {
        qdict_put_str(data, "compat", "0.10");
        qdict_put_int(data, "refcount-bits", s->refcount_bits);
        qdict_put_str(data, "compression-type", s->compression_type ==
                      QCOW2_COMPRESSION_TYPE_ZSTD ? "zstd" : "zlib");
    } else {
        qdict_put_str(data, "compat", "1.1");
        QList *bitmaps = bitmaps_info(bs);

        qdict_put_bool(data, "lazy-refcounts",
                       !!(s->compatible_features &
                          QCOW2_COMPAT_LAZY_REFCOUNTS));
        if (bitmaps) {
            qdict_put(data, "bitmaps", bitmaps);
        }
        qdict_put_bool(data, "corrupt",
                       !!(s->incompatible_features & QCOW2_INCOMPAT_CORRUPT));
        qdict_put_int(data, "refcount-bits", s->refcount_bits);
        qdict_put_str(data, "compression-type", s->compression_type ==
                      QCOW2_COMPRESSION_TYPE_ZSTD ? "zstd" : "zlib");
        qdict_put_bool(data, "extended-l2", has_subclusters(s));
        if (s->image_data_file) {
            qdict_put_str(data, "data-file", s->image_data_file);
        }
        if (has_data_file(bs) || s->image_data_file) {
            qdict_put_bool(data, "data-file-raw", data_file_is_raw(bs));
        }
    }
    qdict_put(spec, "data", data);
    return spec;
}

typedef struct Qcow2MakeEmptyCo {
    BlockDriverState *bs;
    int ret;
    bool done;
} Qcow2MakeEmptyCo;

/*
 * Whether the image can be rewritten as a fresh empty one: nothing but the
 * header, one refcount table and block and the L1 table may survive, and
 * the interruption must be detectable by the dirty bit (version 3). The
 * L1 table goes right after the refcount block, all of it described by
 * that one block. Otherwise the clusters are freed one by one.
 */
static bool can_rewrite_empty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1_clusters = size_to_clusters(s, (uint64_t)s->l1_size *
                                               sizeof(uint64_t));

    return s->qcow_version >= 3 && s->nb_snapshots == 0 &&
           s->nb_bitmaps == 0 && !s->crypt_method_header &&
           !s->crypto_header_offset && !has_data_file(bs) &&
           3 + l1_clusters <= (uint64_t)s->refcount_block_size;
}

/*
 * Rewrites the image as a fresh empty one of the same size and options:
 * header, refcount table (cluster 1), refcount block (cluster 2), zeroed
 * L1 table (cluster 3 on), the file cut after it. The dirty bit is set
 * first, so a crash halfway leaves an image whose refcounts are rebuilt
 * at the next open; every step in between leaves its L1 table zeroed or
 * pointing at the old L2 tables, so the image reads either as before or
 * as empty (the backing file).
 */
static int coroutine_fn rewrite_empty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    uint64_t l1_bytes = (uint64_t)s->l1_size * sizeof(uint64_t);
    uint64_t l1_clusters = size_to_clusters(s, l1_bytes);
    uint64_t *reftable = NULL;
    uint8_t *block = NULL;
    uint8_t hdr[20];
    uint64_t entry, i;
    bool broken = false;
    int ret;

    reftable = qemu_try_blockalign(cs);
    block = qemu_try_blockalign(cs);
    if (!reftable || !block) {
        ret = -ENOMEM;
        goto out;
    }

    ret = qcow2_flush_caches(bs);
    if (ret < 0) {
        goto out;
    }
    ret = qcow2_mark_dirty(bs);
    if (ret < 0) {
        goto out;
    }
    /* Nothing cached may be written over the new layout. */
    ret = qcow2_cache_empty(bs, s->l2_table_cache);
    if (ret < 0) {
        goto out;
    }
    ret = qcow2_cache_empty(bs, s->refcount_block_cache);
    if (ret < 0) {
        goto out;
    }
    qcow2_drop_queued_discards(bs);

    /*
     * From here on a failure leaves the in-memory tables out of step with
     * the file: the node is given up (no more I/O, not even the caches'
     * at close), as the reference does; the dirty bit makes the next open
     * rebuild the refcounts.
     */
    broken = true;

    /* The old L1 table first: the image reads as its backing file now. */
    if (l1_bytes) {
        BLKDBG_EVENT(bs->file, BLKDBG_L1_UPDATE);
        ret = bdrv_co_pwrite_zeroes(bs->file, s->l1_table_offset,
                                    ROUND_UP(l1_bytes, cs), 0);
        if (ret < 0) {
            goto out;
        }
    }
    BLKDBG_EVENT(bs->file, BLKDBG_EMPTY_IMAGE_PREPARE);
    ret = bdrv_co_pwrite_zeroes(bs->file, cs, (2 + l1_clusters) * cs, 0);
    if (ret < 0) {
        goto out;
    }

    stbe64(hdr, 3 * cs);
    stbe64(hdr + 8, cs);
    stbe32(hdr + 16, 1);
    ret = bdrv_co_pwrite(bs->file, 40, sizeof(hdr), hdr, 0);
    if (ret < 0) {
        goto out;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        goto out;
    }

    entry = cpu_to_be64(2 * cs);
    BLKDBG_EVENT(bs->file, BLKDBG_REFTABLE_UPDATE);
    ret = bdrv_co_pwrite(bs->file, cs, sizeof(entry), &entry, 0);
    if (ret < 0) {
        goto out;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        goto out;
    }

    memset(block, 0, cs);
    for (i = 0; i < 3 + l1_clusters; i++) {
        s->set_refcount(block, i, 1);
    }
    /*
     * The reference allocates these clusters the ordinary way, with the
     * events of an allocation.
     */
    BLKDBG_EVENT(bs->file, BLKDBG_CLUSTER_ALLOC);
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC);
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_LOAD);
    ret = bdrv_co_pwrite(bs->file, 2 * cs, cs, block, 0);
    if (ret < 0) {
        goto out;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        goto out;
    }

    /* The in-memory state of the new layout. */
    memset(reftable, 0, cs);
    reftable[0] = 2 * cs;
    qemu_vfree(s->refcount_table);
    s->refcount_table = reftable;
    reftable = NULL;
    s->refcount_table_offset = cs;
    s->refcount_table_size = cs / sizeof(uint64_t);
    s->max_refcount_table_index = 0;
    s->free_cluster_index = 0;
    s->free_byte_offset = 0;
    s->l1_table_offset = 3 * cs;
    memset(s->l1_table, 0, l1_bytes);

    /* The whole header, clean: the image is consistent again. */
    s->incompatible_features &= ~(uint64_t)QCOW2_INCOMPAT_DIRTY;
    ret = qcow2_update_header(bs);
    if (ret < 0) {
        goto out;
    }
    ret = bdrv_co_truncate(bs->file, (3 + l1_clusters) * cs, false,
                           PREALLOC_MODE_OFF, 0, NULL);
    if (ret < 0) {
        goto out;
    }
    ret = bdrv_co_flush(bs->file->bs);

out:
    if (ret < 0 && broken) {
        s->ejected = true;
    }
    qemu_vfree(reftable);
    qemu_vfree(block);
    return ret;
}

static void coroutine_fn make_empty_entry(void *opaque)
{
    Qcow2MakeEmptyCo *m = opaque;
    BlockDriverState *bs = m->bs;
    BDRVQcow2State *s = bs->opaque;
    uint64_t len = ROUND_UP((uint64_t)bs->total_sectors * BDRV_SECTOR_SIZE,
                            s->cluster_size);
    int ret;

    ret = compress_drain(bs);
    if (ret == 0) {
        qemu_co_mutex_lock(&s->lock);
        if (can_rewrite_empty(bs)) {
            ret = rewrite_empty(bs);
        } else {
            /* Unallocated, not zero: the backing file shows through. */
            ret = qcow2_cluster_discard(bs, 0, len, QCOW2_DISCARD_SNAPSHOT,
                                        true);
            if (ret == 0) {
                ret = qcow2_flush_caches(bs);
            }
        }
        qemu_co_mutex_unlock(&s->lock);
    }
    m->ret = ret;
    m->done = true;
}

/* Empties the image after a commit: every cluster unallocated. */
static int qcow2_make_empty(BlockDriverState *bs)
{
    Qcow2MakeEmptyCo m = { bs, 0, false };

    bdrv_run_co(make_empty_entry, &m, &m.done);
    return m.ret;
}

static int qcow2_has_zero_init(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    if (s->data_file && !data_file_is_raw(bs)) {
        return 1;
    }
    if (s->data_file) {
        return bdrv_has_zero_init(s->data_file->bs);
    }
    return 1;
}

typedef struct Qcow2HeaderCo {
    BlockDriverState *bs;
    int ret;
    bool done;
} Qcow2HeaderCo;

static void coroutine_fn update_header_entry(void *opaque)
{
    Qcow2HeaderCo *h = opaque;
    BDRVQcow2State *s = h->bs->opaque;

    qemu_co_mutex_lock(&s->lock);
    h->ret = qcow2_update_header(h->bs);
    qemu_co_mutex_unlock(&s->lock);
    h->done = true;
}

/* qcow2_update_header for callers outside coroutine context. */
static int update_header_sync(BlockDriverState *bs)
{
    Qcow2HeaderCo h = { bs, 0, false };

    bdrv_run_co(update_header_entry, &h, &h.done);
    return h.ret;
}

static int qcow2_change_backing_file(BlockDriverState *bs,
                                     const char *backing_file,
                                     const char *backing_fmt)
{
    BDRVQcow2State *s = bs->opaque;
    char old_file[sizeof(bs->backing_file)];
    char old_fmt[sizeof(bs->backing_format)];
    int ret;

    /* Adding a backing file means that the external data file alone isn't
     * enough to make sense of the content */
    if (backing_file && data_file_is_raw(bs)) {
        return -EINVAL;
    }
    if (backing_file && strlen(backing_file) > QCOW_MAX_BACKING_NAME) {
        return -EINVAL;
    }
    pstrcpy(old_file, sizeof(old_file), bs->backing_file);
    pstrcpy(old_fmt, sizeof(old_fmt), bs->backing_format);
    pstrcpy(bs->backing_file, sizeof(bs->backing_file),
            backing_file ? backing_file : "");
    pstrcpy(bs->backing_format, sizeof(bs->backing_format),
            backing_fmt ? backing_fmt : "");
    (void)s;
    ret = update_header_sync(bs);
    if (ret < 0) {
        pstrcpy(bs->backing_file, sizeof(bs->backing_file), old_file);
        pstrcpy(bs->backing_format, sizeof(bs->backing_format), old_fmt);
    }
    return ret;
}

static int coroutine_fn qcow2_co_check(BlockDriverState *bs,
                                       BdrvCheckResult *result,
                                       BdrvCheckMode fix)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    /* Its caches may hold what made it unusable: never write them. */
    if (s->ejected) {
        return -ENOMEDIUM;
    }
    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_check_refcounts(bs, result, fix);
    if (ret == 0 && result->corruptions == 0 && result->check_errors == 0 &&
        (fix & BDRV_FIX_ERRORS) && !bs->read_only) {
        /* A successful repair makes a corrupt image consistent again. */
        ret = qcow2_mark_consistent(bs);
        if (ret == 0 && (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) &&
            !s->use_lazy_refcounts) {
            ret = qcow2_mark_clean(bs);
        }
    }
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

/* ---- create ------------------------------------------------------------- */

/* In the reference's order: the "Formatting ..." line prints it so. */
static QemuOptDesc qcow2_create_opts_desc[] = {
    { "encryption", QEMU_OPT_BOOL,
      "Encrypt the image with format 'aes'. (Deprecated in favor of "
      "encrypt.format=aes)", NULL },
    { "encrypt.format", QEMU_OPT_STRING,
      "Encrypt the image, format choices: 'aes', 'luks'", NULL },
    { "encrypt.key-secret", QEMU_OPT_STRING,
      "ID of secret providing qcow AES key or LUKS passphrase", NULL },
    { "encrypt.cipher-alg", QEMU_OPT_STRING,
      "Name of encryption cipher algorithm", NULL },
    { "encrypt.cipher-mode", QEMU_OPT_STRING,
      "Name of encryption cipher mode", NULL },
    { "encrypt.ivgen-alg", QEMU_OPT_STRING, "Name of IV generator algorithm",
      NULL },
    { "encrypt.ivgen-hash-alg", QEMU_OPT_STRING,
      "Name of IV generator hash algorithm", NULL },
    { "encrypt.hash-alg", QEMU_OPT_STRING,
      "Name of encryption hash algorithm", NULL },
    { "encrypt.iter-time", QEMU_OPT_NUMBER,
      "Time to spend in PBKDF in milliseconds", NULL },
    { "cluster_size", QEMU_OPT_SIZE, "qcow2 cluster size", "65536" },
    { "extended_l2", QEMU_OPT_BOOL, "Extended L2 tables", "off" },
    { "preallocation", QEMU_OPT_STRING,
      "Preallocation mode (allowed values: off, metadata, falloc, full)",
      NULL },
    { "compression_type", QEMU_OPT_STRING,
      "Compression method used for image cluster compression", "zlib" },
    { "size", QEMU_OPT_SIZE, "Virtual disk size", NULL },
    { "compat", QEMU_OPT_STRING,
      "Compatibility level (v2 [0.10] or v3 [1.1])", NULL },
    { "backing_file", QEMU_OPT_STRING, "File name of a base image", NULL },
    { "backing_fmt", QEMU_OPT_STRING, "Image format of the base image",
      NULL },
    { "data_file", QEMU_OPT_STRING, "File name of an external data file",
      NULL },
    { "data_file_raw", QEMU_OPT_BOOL,
      "The external data file must stay valid as a raw image", NULL },
    { "lazy_refcounts", QEMU_OPT_BOOL, "Postpone refcount updates", "off" },
    { "refcount_bits", QEMU_OPT_NUMBER,
      "Width of a reference count entry in bits", "16" },
    { NULL, 0, NULL, NULL },
};

static QemuOptsList qcow2_create_opts = {
    .name = "qcow2-create-opts",
    .implied_opt_name = NULL,
    .desc = qcow2_create_opts_desc,
};

typedef struct Qcow2CreateParams {
    uint64_t size;
    int version;
    char *backing_file;
    char *backing_fmt;
    char *data_file;
    bool data_file_raw;
    uint64_t cluster_size;
    bool extended_l2;
    PreallocMode prealloc;
    bool lazy_refcounts;
    int refcount_order;
    int compression_type;
} Qcow2CreateParams;

static int validate_cluster_size(uint64_t cluster_size, bool extended_l2,
                                 Error **errp)
{
    int cluster_bits = __builtin_ctzll(cluster_size);

    if (cluster_bits < MIN_CLUSTER_BITS || cluster_bits > MAX_CLUSTER_BITS ||
        (1ULL << cluster_bits) != cluster_size) {
        error_setg(errp, "Cluster size must be a power of two between %d and "
                   "%dk", 1 << MIN_CLUSTER_BITS, 1 << (MAX_CLUSTER_BITS - 10));
        return -EINVAL;
    }
    if (extended_l2) {
        unsigned min_cluster_bits = MIN_CLUSTER_BITS + 5;

        if (cluster_bits < (int)min_cluster_bits) {
            error_setg(errp, "Extended L2 entries are only supported with "
                       "cluster sizes of at least %u bytes",
                       1U << min_cluster_bits);
            return -EINVAL;
        }
    }
    return cluster_bits;
}

static int coroutine_fn qcow2_co_create(const char *filename,
                                        Qcow2CreateParams *p, Error **errp)
{
    BlockBackend *blk = NULL;
    QDict *options;
    uint8_t *buf = NULL;
    size_t cs = p->cluster_size;
    int cluster_bits = __builtin_ctzll(cs);
    uint64_t rb_entries;
    uint64_t incompat = 0;
    int ret;

    /* The smallest image: header, refcount table, one refcount block. */
    blk = blk_new_open(filename, NULL, NULL,
                       BDRV_O_RDWR | BDRV_O_RESIZE | BDRV_O_PROTOCOL, errp);
    if (!blk) {
        return -EIO;
    }
    blk_set_allow_write_beyond_eof(blk, true);
    ret = blk_truncate(blk, 0, false, PREALLOC_MODE_OFF, 0, errp);
    if (ret < 0) {
        goto out;
    }

    buf = qemu_blockalign0(3 * cs);
    stbe32(buf, QCOW_MAGIC);
    stbe32(buf + 4, p->version);
    stbe32(buf + 20, cluster_bits);
    stbe64(buf + 24, 0);
    stbe64(buf + 40, 0);                /* no L1 table until one is needed */
    stbe64(buf + 48, cs);               /* refcount table */
    stbe32(buf + 56, 1);
    if (p->version >= 3) {
        if (p->compression_type != QCOW2_COMPRESSION_TYPE_ZLIB) {
            incompat |= QCOW2_INCOMPAT_COMPRESSION;
        }
        if (p->extended_l2) {
            incompat |= QCOW2_INCOMPAT_EXTL2;
        }
        if (p->data_file) {
            incompat |= QCOW2_INCOMPAT_DATA_FILE;
        }
        stbe64(buf + 72, incompat | QCOW2_INCOMPAT_DIRTY * 0);
        stbe64(buf + 80, p->lazy_refcounts ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0);
        stbe64(buf + 88, p->data_file_raw ? QCOW2_AUTOCLEAR_DATA_FILE_RAW : 0);
        stbe32(buf + 96, p->refcount_order);
        stbe32(buf + 100, QCOW2_HEADER_V3_LEN);
        buf[104] = p->compression_type;
    }
    stbe64(buf + cs, 2 * cs);           /* refcount table entry 0 */
    rb_entries = 0;
    {
        /* Refcount 1 for clusters 0, 1 and 2, at the image's width. */
        int bits = 1 << p->refcount_order;
        int i;

        for (i = 0; i < 3; i++) {
            uint64_t bit = (uint64_t)i * bits;

            if (bits >= 8) {
                buf[2 * cs + (bit + bits) / 8 - 1] = 1;
            } else {
                buf[2 * cs + bit / 8] |= 1 << (bit % 8);
            }
        }
    }
    (void)rb_entries;
    ret = blk_pwrite(blk, 0, 3 * cs, buf, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not write qcow2 header");
        goto out;
    }
    blk_unref(blk);
    blk = NULL;

    /* Now open it as qcow2 and let the driver do the rest. */
    options = qdict_new();
    if (p->data_file) {
        char *path = path_combine(filename, p->data_file);

        qdict_put_str(options, "data-file.filename", path);
        free(path);
    }
    blk = blk_new_open(filename, "qcow2", options,
                       BDRV_O_RDWR | BDRV_O_RESIZE | BDRV_O_NO_BACKING |
                       BDRV_O_NO_FLUSH, errp);
    if (!blk) {
        ret = -EIO;
        goto out;
    }
    {
        BlockDriverState *bs = blk_bs(blk);
        BDRVQcow2State *s = bs->opaque;

        if (p->data_file) {
            s->image_data_file = xstrdup(p->data_file);
        }
        if (p->backing_file) {
            pstrcpy(bs->backing_file, sizeof(bs->backing_file),
                    p->backing_file);
            pstrcpy(bs->backing_format, sizeof(bs->backing_format),
                    p->backing_fmt ? p->backing_fmt : "");
        }
        bs->total_sectors = 0;
        ret = qcow2_update_header(bs);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not write qcow2 header");
            goto out;
        }
    }

    ret = blk_truncate(blk, p->size, false, p->prealloc, 0, errp);
    if (ret < 0) {
        error_prepend(errp, "Could not resize image: ");
        goto out;
    }
    ret = blk_flush(blk);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not flush the image");
        goto out;
    }
    ret = 0;
out:
    qemu_vfree(buf);
    blk_unref(blk);
    return ret;
}

/*
 * The encryption options are checked as the reference checks them, so that
 * a mistake gets its message; a valid request is refused: encryption is
 * not implemented yet.
 */
static int check_encrypt_opts(QemuOpts *opts, Error **errp)
{
    const char *format = qemu_opt_get(opts, "encrypt.format");
    const char *secret = qemu_opt_get(opts, "encrypt.key-secret");
    const uint8_t *data;
    size_t len;
    QemuOpt *opt;
    bool any = false;

    if (format && qemu_opt_get_bool(opts, "encryption", false)) {
        error_setg(errp, "'encrypt.format' and its alias 'encryption' "
                   "can't be used at the same time");
        return -EINVAL;
    }
    if (!format && qemu_opt_get_bool(opts, "encryption", false)) {
        format = "aes";
    }
    if (format && strcmp(format, "luks") && strcmp(format, "aes")) {
        error_setg(errp, "Parameter 'format' does not accept value '%s'",
                   format);
        return -EINVAL;
    }
    TAILQ_FOREACH(opt, &opts->head, next) {
        any |= !strncmp(opt->name, "encrypt.", 8);
    }
    if (!format) {
        if (any) {
            error_setg(errp, "Parameter 'encrypt.format' is missing");
            return -EINVAL;
        }
        return 0;
    }
    if (!secret) {
        error_setg(errp, "Parameter 'encrypt.key-secret' is required for "
                   "cipher");
        return -EINVAL;
    }
    if (!secret_lookup(secret, &data, &len, errp)) {
        return -EINVAL;
    }
    error_setg(errp, "Encryption is not supported yet");
    return -ENOTSUP;
}

/* The options of opts that are not qcow2's (they go to the protocol). */
static QemuOpts *protocol_opts(QemuOpts *opts)
{
    QemuOpts *out = qemu_opts_create(opts->list);
    QemuOpt *opt;

    TAILQ_FOREACH(opt, &opts->head, next) {
        const QemuOptDesc *d;
        bool ours = false;

        for (d = qcow2_create_opts_desc; d->name; d++) {
            if (!strcmp(d->name, opt->name)) {
                ours = true;
                break;
            }
        }
        if (!ours) {
            qemu_opt_set(out, opt->name, opt->str, NULL);
        }
    }
    /*
     * The files start empty, as the reference makes them: the image grows
     * as its structures are written, preallocation comes last.
     */
    qemu_opt_set(out, "size", "0", NULL);
    return out;
}

static int coroutine_fn qcow2_co_create_opts(const BlockDriver *drv,
                                             const char *filename,
                                             QemuOpts *opts, Error **errp)
{
    Qcow2CreateParams p;
    QemuOpts *file_opts;
    char *data_path = NULL;
    const char *v;
    uint64_t refcount_bits;
    int ret;

    memset(&p, 0, sizeof(p));
    p.size = ROUND_UP(qemu_opt_get_size(opts, "size", 0), BDRV_SECTOR_SIZE);

    v = qemu_opt_get(opts, "compat");
    if (!v || !strcmp(v, "1.1") || !strcmp(v, "v3")) {
        p.version = 3;
    } else if (!strcmp(v, "0.10") || !strcmp(v, "v2")) {
        p.version = 2;
    } else {
        error_setg(errp, "Parameter 'version' does not accept value '%s'", v);
        return -EINVAL;
    }

    ret = check_encrypt_opts(opts, errp);
    if (ret < 0) {
        return ret;
    }

    p.cluster_size = qemu_opt_get_size(opts, "cluster_size", 65536);
    p.extended_l2 = qemu_opt_get_bool(opts, "extended_l2", false);
    ret = validate_cluster_size(p.cluster_size, p.extended_l2, errp);
    if (ret < 0) {
        return ret;
    }

    v = qemu_opt_get(opts, "preallocation");
    if (!v) {
        p.prealloc = PREALLOC_MODE_OFF;
    } else {
        ret = prealloc_mode_parse(v);
        if (ret < 0) {
            error_setg(errp, "Parameter 'preallocation' does not accept value "
                       "'%s'", v);
            return -EINVAL;
        }
        p.prealloc = ret;
    }

    p.lazy_refcounts = qemu_opt_get_bool(opts, "lazy_refcounts", false);
    refcount_bits = qemu_opt_get_number(opts, "refcount_bits", 16);
    if (refcount_bits > 64 || !IS_POWER_OF_2(refcount_bits)) {
        error_setg(errp, "Refcount width must be a power of two and may not "
                   "exceed 64 bits");
        return -EINVAL;
    }
    p.refcount_order = __builtin_ctzll(refcount_bits);

    v = qemu_opt_get(opts, "compression_type");
    if (!v || !strcmp(v, "zlib")) {
        p.compression_type = QCOW2_COMPRESSION_TYPE_ZLIB;
    } else if (!strcmp(v, "zstd")) {
#ifdef CONFIG_ZSTD
        p.compression_type = QCOW2_COMPRESSION_TYPE_ZSTD;
#else
        error_setg(errp, "Parameter 'compression-type' does not accept value "
                   "'zstd'");
        return -EINVAL;
#endif
    } else {
        error_setg(errp, "Parameter 'compression-type' does not accept value "
                   "'%s'", v);
        return -EINVAL;
    }

    p.backing_file = (char *)qemu_opt_get(opts, "backing_file");
    p.backing_fmt = (char *)qemu_opt_get(opts, "backing_fmt");
    p.data_file = (char *)qemu_opt_get(opts, "data_file");
    p.data_file_raw = qemu_opt_get_bool(opts, "data_file_raw", false);

    if (p.version < 3) {
        if (p.lazy_refcounts) {
            error_setg(errp, "Lazy refcounts only supported with "
                       "compatibility level 1.1 and above (use version=v3 or "
                       "greater)");
            return -EINVAL;
        }
        if (p.refcount_order != 4) {
            error_setg(errp, "Different refcount widths than 16 bits require "
                       "compatibility level 1.1 or above (use version=v3 or "
                       "greater)");
            return -EINVAL;
        }
        if (p.data_file) {
            error_setg(errp, "External data files are only supported with "
                       "compatibility level 1.1 and above (use version=v3 or "
                       "greater)");
            return -EINVAL;
        }
        if (p.extended_l2) {
            error_setg(errp, "Extended L2 entries are only supported with "
                       "compatibility level 1.1 and above (use version=v3 or "
                       "greater)");
            return -EINVAL;
        }
        if (p.compression_type != QCOW2_COMPRESSION_TYPE_ZLIB) {
            error_setg(errp, "Non-zlib compression type is only supported "
                       "with compatibility level 1.1 and above (use "
                       "version=v3 or greater)");
            return -EINVAL;
        }
    }
    if (p.backing_file && p.prealloc != PREALLOC_MODE_OFF) {
        error_setg(errp, "Backing file and preallocation can only be used at "
                   "the same time if extended_l2 is on");
        if (!p.extended_l2) {
            return -EINVAL;
        }
        error_free_or_abort(errp);
    }
    if (p.data_file_raw && !p.data_file) {
        error_setg(errp, "data-file-raw requires data-file");
        return -EINVAL;
    }
    if (p.data_file_raw && p.backing_file) {
        error_setg(errp, "Backing file and data-file-raw cannot be used at "
                   "the same time");
        return -EINVAL;
    }
    if (p.backing_file && !p.backing_fmt) {
        /* The front end insists on -F; a direct caller may leave it out. */
    }

    {
        uint64_t cs = p.cluster_size;
        uint64_t l2_entries = cs / (p.extended_l2 ? 16 : 8);

        if (DIV_ROUND_UP(p.size / cs, l2_entries) >
            QCOW_MAX_L1_SIZE / sizeof(uint64_t)) {
            error_setg(errp, "The image size is too large for file format "
                       "'qcow2' (try using a larger cluster size)");
            return -EINVAL;
        }
    }

    /* Create the image file (and the data file) with the protocol's opts. */
    file_opts = protocol_opts(opts);
    ret = bdrv_co_create_file(filename, file_opts, errp);
    if (ret < 0) {
        qemu_opts_del(file_opts);
        return ret;
    }
    if (p.data_file) {
        data_path = path_combine(filename, p.data_file);
        ret = bdrv_co_create_file(data_path, file_opts, errp);
        if (ret < 0) {
            free(data_path);
            data_path = NULL;
            goto out;
        }
        if (p.data_file_raw && p.prealloc == PREALLOC_MODE_OFF) {
            /* The raw data file must map every guest cluster. */
            p.prealloc = PREALLOC_MODE_METADATA;
        }
    }

    ret = qcow2_co_create(filename, &p, errp);

out:
    /* A half-made image is worse than none: remove what was created. */
    if (ret < 0) {
        bdrv_co_delete_file(filename, NULL);
        if (data_path) {
            bdrv_co_delete_file(data_path, NULL);
        }
    }
    free(data_path);
    qemu_opts_del(file_opts);
    return ret;
}

/* ---- amend -------------------------------------------------------------- */

static QemuOptDesc qcow2_amend_opts_desc[] = {
    { "size", QEMU_OPT_SIZE, "Virtual disk size", NULL },
    { "compat", QEMU_OPT_STRING,
      "Compatibility level (v2 [0.10] or v3 [1.1])", NULL },
    { "backing_file", QEMU_OPT_STRING, "File name of a base image", NULL },
    { "backing_fmt", QEMU_OPT_STRING, "Image format of the base image",
      NULL },
    { "data_file", QEMU_OPT_STRING, "File name of an external data file",
      NULL },
    { "data_file_raw", QEMU_OPT_BOOL,
      "The external data file must stay valid as a raw image", NULL },
    { "encrypt.keyslot", QEMU_OPT_NUMBER,
      "Select a single keyslot to modify explicitly", NULL },
    { "encrypt.state", QEMU_OPT_STRING,
      "Select new state of affected keyslots (active/inactive)", NULL },
    { "encrypt.old-secret", QEMU_OPT_STRING,
      "Select all keyslots that match this password", NULL },
    { "encrypt.new-secret", QEMU_OPT_STRING,
      "New secret to set in the matching keyslots. Empty string to erase",
      NULL },
    { "encrypt.iter-time", QEMU_OPT_NUMBER,
      "Time to spend in PBKDF in milliseconds", NULL },
    { "lazy_refcounts", QEMU_OPT_BOOL, "Postpone refcount updates", NULL },
    { "refcount_bits", QEMU_OPT_NUMBER,
      "Width of a reference count entry in bits", NULL },
    { NULL, 0, NULL, NULL },
};

static QemuOptsList qcow2_amend_opts = {
    .name = "qcow2-amend-opts",
    .implied_opt_name = NULL,
    .desc = qcow2_amend_opts_desc,
};

typedef struct Qcow2AmendCo {
    BlockDriverState *bs;
    QemuOpts *opts;
    BlockDriverAmendStatusCB *status_cb;
    void *cb_opaque;
    Error **errp;
    int ret;
    bool done;
} Qcow2AmendCo;

/*
 * Makes every zero cluster of the active L1 table a normal cluster full of
 * zeroes (a v2 image has no zero flag). Called with s->lock held.
 */
static int coroutine_fn expand_zero_clusters(BlockDriverState *bs,
                                             BlockDriverAmendStatusCB *cb,
                                             void *cb_opaque)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t *zeroes = qemu_blockalign0(s->cluster_size);
    int64_t i, j;
    int ret = 0;

    for (i = 0; i < s->l1_size; i++) {
        uint64_t l2_offset = s->l1_table[i] & L1E_OFFSET_MASK;
        uint64_t *l2_slice;
        int l2_index;

        if (!l2_offset) {
            continue;
        }
        for (j = 0; j < s->l2_size; j++) {
            uint64_t guest = ((uint64_t)i << (s->l2_bits + s->cluster_bits)) +
                             ((uint64_t)j << s->cluster_bits);
            uint64_t entry, host;
            QCow2ClusterType type;

            ret = qcow2_get_l2_slice(bs, guest, &l2_slice, &l2_index);
            if (ret < 0) {
                goto out;
            }
            entry = get_l2_entry(s, l2_slice, l2_index);
            type = qcow2_get_cluster_type(bs, entry);
            qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
            if (type != QCOW2_CLUSTER_ZERO_PLAIN &&
                type != QCOW2_CLUSTER_ZERO_ALLOC) {
                continue;
            }
            if (type == QCOW2_CLUSTER_ZERO_PLAIN && !bs->backing &&
                !bs->backing_file[0]) {
                /* Nothing shows through: unallocated reads zeroes too. */
                ret = qcow2_get_l2_slice(bs, guest, &l2_slice, &l2_index);
                if (ret < 0) {
                    goto out;
                }
                qcow2_cache_entry_mark_dirty(s->l2_table_cache, l2_slice);
                set_l2_entry(s, l2_slice, l2_index, 0);
                qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
                continue;
            }
            if (type == QCOW2_CLUSTER_ZERO_ALLOC) {
                host = entry & L2E_OFFSET_MASK;
            } else {
                int64_t r = qcow2_alloc_clusters(bs, s->cluster_size);

                if (r < 0) {
                    ret = r;
                    goto out;
                }
                host = r;
            }
            ret = bdrv_co_pwrite(bs->file, host, s->cluster_size, zeroes, 0);
            if (ret < 0) {
                goto out;
            }
            ret = qcow2_get_l2_slice(bs, guest, &l2_slice, &l2_index);
            if (ret < 0) {
                goto out;
            }
            qcow2_cache_entry_mark_dirty(s->l2_table_cache, l2_slice);
            set_l2_entry(s, l2_slice, l2_index, host | QCOW_OFLAG_COPIED);
            qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
        }
        if (cb) {
            cb(bs, i + 1, s->l1_size, cb_opaque);
        }
    }
    ret = qcow2_flush_caches(bs);
out:
    qemu_vfree(zeroes);
    return ret;
}

static void coroutine_fn qcow2_amend_entry(void *opaque)
{
    Qcow2AmendCo *a = opaque;
    BlockDriverState *bs = a->bs;
    BDRVQcow2State *s = bs->opaque;
    QemuOpts *opts = a->opts;
    Error **errp = a->errp;
    int old_version = s->qcow_version, new_version = old_version;
    bool lazy = s->use_lazy_refcounts;
    uint64_t refcount_bits = s->refcount_bits;
    bool header_changed = false;
    const char *v;
    int ret = 0;

    qemu_co_mutex_lock(&s->lock);
    v = qemu_opt_get(opts, "compat");
    if (v) {
        if (!strcmp(v, "0.10") || !strcmp(v, "v2")) {
            new_version = 2;
        } else if (!strcmp(v, "1.1") || !strcmp(v, "v3")) {
            new_version = 3;
        } else {
            error_setg(errp, "Unknown compatibility level %s", v);
            ret = -EINVAL;
            goto out;
        }
    }
    if (qemu_opt_find(opts, "lazy_refcounts")) {
        lazy = qemu_opt_get_bool(opts, "lazy_refcounts", false);
    } else if (new_version < 3) {
        lazy = false;
    }
    if (qemu_opt_find(opts, "refcount_bits")) {
        refcount_bits = qemu_opt_get_number(opts, "refcount_bits", 16);
        if (refcount_bits == 0 || refcount_bits > 64 ||
            !IS_POWER_OF_2(refcount_bits)) {
            error_setg(errp, "Refcount width must be a power of two and may "
                       "not exceed 64 bits");
            ret = -EINVAL;
            goto out;
        }
    }
    if (qemu_opt_find(opts, "encrypt.keyslot") ||
        qemu_opt_find(opts, "encrypt.state") ||
        qemu_opt_find(opts, "encrypt.old-secret") ||
        qemu_opt_find(opts, "encrypt.new-secret") ||
        qemu_opt_find(opts, "encrypt.iter-time")) {
        error_setg(errp, "Changing the encryption parameters is not "
                   "supported");
        ret = -ENOTSUP;
        goto out;
    }
    /*
     * The reference's order: an upgrade first, then the refcount width,
     * then the rest, a downgrade last.
     */
    if (refcount_bits != (uint64_t)s->refcount_bits) {
        if (new_version < 3 && refcount_bits != 16) {
            error_setg(errp, "Refcount widths other than 16 bits require "
                       "compatibility level 1.1 or above (use compat=1.1 or "
                       "greater)");
            ret = -EINVAL;
            goto out;
        }
        if (new_version > old_version) {
            s->qcow_version = new_version;
            header_changed = true;
        }
        ret = qcow2_change_refcount_order(bs, __builtin_ctzll(refcount_bits),
                                          a->status_cb, a->cb_opaque, errp);
        if (ret < 0) {
            goto out;
        }
    }
    if (lazy && new_version < 3) {
        error_setg(errp, "Lazy refcounts only supported with compatibility "
                   "level 1.1 and above (use compat=1.1 or greater)");
        ret = -EINVAL;
        goto out;
    }
    if (qemu_opt_find(opts, "data_file") && !has_data_file(bs)) {
        error_setg(errp, "data-file can only be set for images that use an "
                   "external data file");
        ret = -EINVAL;
        goto out;
    }
    if (qemu_opt_find(opts, "data_file_raw") && !has_data_file(bs)) {
        error_setg(errp, "data-file-raw can only be set for images that use "
                   "an external data file");
        ret = -EINVAL;
        goto out;
    }

    /* Downgrade: only if nothing v3-only is in use. */
    if (new_version < old_version) {
        uint64_t incompat = s->incompatible_features &
                            ~(uint64_t)QCOW2_INCOMPAT_DIRTY;

        if (incompat) {
            error_setg(errp, "Cannot downgrade an image with incompatible "
                       "features 0x%" PRIx64 " set", incompat);
            ret = -ENOTSUP;
            goto out;
        }
        if (s->refcount_order != 4) {
            error_setg(errp, "compat=0.10 requires refcount_bits=16");
            ret = -ENOTSUP;
            goto out;
        }
        /* Refcounts exact, then zero clusters become real zeroes. */
        ret = qcow2_flush_caches(bs);
        if (ret == 0 && (s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
            ret = qcow2_mark_clean(bs);
        }
        if (ret == 0) {
            ret = expand_zero_clusters(bs, a->status_cb, a->cb_opaque);
        }
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to turn zero into data "
                             "clusters");
            goto out;
        }
        s->compatible_features = 0;
        s->autoclear_features = 0;
        s->use_lazy_refcounts = false;
        s->qcow_version = new_version;
        header_changed = true;
    } else if (new_version > old_version) {
        s->qcow_version = new_version;
        header_changed = true;
    }

    if (lazy != s->use_lazy_refcounts || (new_version >= 3 && lazy !=
        !!(s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS))) {
        if (!lazy) {
            /* Refcounts exact on disk before the bit goes. */
            ret = qcow2_mark_clean(bs);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to make the refcounts "
                                 "consistent");
                goto out;
            }
            s->compatible_features &= ~QCOW2_COMPAT_LAZY_REFCOUNTS;
        } else {
            s->compatible_features |= QCOW2_COMPAT_LAZY_REFCOUNTS;
        }
        s->use_lazy_refcounts = lazy;
        header_changed = true;
    }

    v = qemu_opt_get(opts, "data_file");
    if (v) {
        free(s->image_data_file);
        s->image_data_file = *v ? xstrdup(v) : NULL;
        header_changed = true;
    }
    if (qemu_opt_find(opts, "data_file_raw")) {
        if (qemu_opt_get_bool(opts, "data_file_raw", false)) {
            s->autoclear_features |= QCOW2_AUTOCLEAR_DATA_FILE_RAW;
        } else {
            s->autoclear_features &= ~QCOW2_AUTOCLEAR_DATA_FILE_RAW;
        }
        header_changed = true;
    }
    if (qemu_opt_find(opts, "backing_file") ||
        qemu_opt_find(opts, "backing_fmt")) {
        error_setg(errp, "Cannot amend the backing file");
        error_append_hint(errp, "You can use 'qemu-img rebase' instead.\n");
        ret = -EINVAL;
        goto out;
    }

    if (header_changed) {
        ret = qcow2_update_header(bs);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to update the image header");
            goto out;
        }
    }
    qemu_co_mutex_unlock(&s->lock);

    if (qemu_opt_find(opts, "size")) {
        uint64_t new_size = qemu_opt_get_size(opts, "size", 0);

        if (new_size != (uint64_t)bs->total_sectors * BDRV_SECTOR_SIZE) {
            ret = qcow2_co_truncate(bs, new_size, false, PREALLOC_MODE_OFF, 0,
                                    errp);
            if (ret < 0) {
                goto done;
            }
        }
    }
    goto done;

out:
    qemu_co_mutex_unlock(&s->lock);
done:
    a->ret = ret;
    a->done = true;
}

static int qcow2_amend_options(BlockDriverState *bs, QemuOpts *opts,
                               BlockDriverAmendStatusCB *status_cb,
                               void *cb_opaque, bool force, Error **errp)
{
    Qcow2AmendCo a = { bs, opts, status_cb, cb_opaque, errp, 0, false };

    bdrv_run_co(qcow2_amend_entry, &a, &a.done);
    return a.ret;
}

/* ---- measure ------------------------------------------------------------ */

/*
 * Metadata of an image of total_size bytes with every cluster allocated:
 * header, L2 tables, L1 table, and the refcount structures for all that.
 */
static int64_t qcow2_calc_prealloc_size(int64_t total_size,
                                        size_t cluster_size,
                                        int refcount_order, bool extended_l2)
{
    int64_t meta_size = 0;
    uint64_t nb_l2_tables, nb_l1_entries;
    uint64_t aligned_total_size = ROUND_UP(total_size, cluster_size);
    uint64_t l2_entries = cluster_size / (extended_l2 ? 16 : 8);

    meta_size += cluster_size;          /* header */
    nb_l2_tables = DIV_ROUND_UP(aligned_total_size / cluster_size,
                                l2_entries);
    meta_size += nb_l2_tables * cluster_size;
    nb_l1_entries = nb_l2_tables;
    meta_size += ROUND_UP(nb_l1_entries * sizeof(uint64_t), cluster_size);
    meta_size += qcow2_refcount_metadata_size(
        (meta_size + aligned_total_size) / cluster_size, cluster_size,
        refcount_order, false, NULL);
    return meta_size;
}

static int qcow2_measure(QemuOpts *opts, BlockDriverState *in_bs,
                         BlockMeasureInfo *info, Error **errp)
{
    uint64_t cluster_size, refcount_bits, required = 0, virtual_size;
    bool extended_l2;
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    const char *v;
    int64_t meta_size;
    int version = 3;

    v = qemu_opt_get(opts, "compat");
    if (v && (!strcmp(v, "0.10") || !strcmp(v, "v2"))) {
        version = 2;
    } else if (v && strcmp(v, "1.1") && strcmp(v, "v3")) {
        error_setg(errp, "Invalid compatibility level: '%s'", v);
        return -EINVAL;
    }
    /* Only a LUKS header changes the sizes (the reference's rules). */
    v = qemu_opt_get(opts, "encrypt.format");
    if (v && !strcmp(v, "luks")) {
        if (!qemu_opt_get(opts, "encrypt.key-secret")) {
            error_setg(errp, "Parameter 'encrypt.key-secret' is required "
                       "for cipher");
            return -EINVAL;
        }
        error_setg(errp, "Encryption is not supported yet");
        return -ENOTSUP;
    }
    cluster_size = qemu_opt_get_size(opts, "cluster_size", 65536);
    extended_l2 = qemu_opt_get_bool(opts, "extended_l2", false);
    if (validate_cluster_size(cluster_size, extended_l2, errp) < 0) {
        return -EINVAL;
    }
    refcount_bits = qemu_opt_get_number(opts, "refcount_bits", 16);
    if (refcount_bits > 64 || !IS_POWER_OF_2(refcount_bits)) {
        error_setg(errp, "Refcount width must be a power of two and may not "
                   "exceed 64 bits");
        return -EINVAL;
    }
    if (version < 3 && refcount_bits != 16) {
        error_setg(errp, "Different refcount widths than 16 bits require "
                   "compatibility level 1.1 or above (use compat=1.1 or "
                   "greater)");
        return -EINVAL;
    }
    v = qemu_opt_get(opts, "preallocation");
    if (v) {
        int m = prealloc_mode_parse(v);

        if (m < 0) {
            error_setg(errp, "invalid parameter value: %s", v);
            return -EINVAL;
        }
        prealloc = m;
    }

    if (in_bs) {
        int64_t ssize = bdrv_getlength(in_bs);
        int64_t offset, pnum = 0;

        if (ssize < 0) {
            error_setg_errno(errp, -ssize, "Unable to get image virtual_size");
            return ssize;
        }
        virtual_size = ROUND_UP(ssize, cluster_size);
        if (prealloc == PREALLOC_MODE_OFF ||
            prealloc == PREALLOC_MODE_METADATA) {
            /* Count the clusters that would hold data. */
            for (offset = 0; offset < ssize; offset += pnum) {
                int ret = bdrv_block_status_above(in_bs, NULL, offset,
                                                  ssize - offset, &pnum,
                                                  NULL, NULL, NULL);

                if (ret < 0) {
                    error_setg_errno(errp, -ret, "Unable to get block "
                                     "status");
                    return ret;
                }
                if (ret & BDRV_BLOCK_ZERO) {
                    /* Reads as zeroes: no data cluster needed. */
                } else if ((ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED)) ==
                           (BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED)) {
                    /* The rest of the last cluster comes with it. */
                    pnum = ROUND_UP(offset + pnum, cluster_size) - offset;
                    required += offset % cluster_size + pnum;
                }
            }
        }
    } else {
        virtual_size = ROUND_UP(qemu_opt_get_size(opts, "size", 0),
                                cluster_size);
    }

    {
        uint64_t l2_entries = cluster_size / (extended_l2 ? 16 : 8);
        uint64_t l1_entries = DIV_ROUND_UP(virtual_size / cluster_size,
                                           l2_entries);

        if (l1_entries > QCOW_MAX_L1_SIZE / sizeof(uint64_t)) {
            error_setg(errp, "The image size is too large (try using a "
                       "larger cluster size)");
            return -EFBIG;
        }
    }
    meta_size = qcow2_calc_prealloc_size(virtual_size, cluster_size,
                                         __builtin_ctzll(refcount_bits),
                                         extended_l2);
    info->fully_allocated = virtual_size + meta_size;
    if (prealloc == PREALLOC_MODE_FULL || prealloc == PREALLOC_MODE_FALLOC) {
        info->required = info->fully_allocated;
    } else {
        info->required = required + meta_size;
    }
    /* A source's persistent bitmaps are copied along (convert --bitmaps). */
    if (version >= 3 && in_bs && bdrv_supports_persistent_dirty_bitmap(in_bs)) {
        info->has_bitmaps = true;
        info->bitmaps = qcow2_measure_bitmaps(in_bs, cluster_size);
    }
    return 0;
}

/* ---- driver table ---------------------------------------------------- */

const BlockDriver bdrv_qcow2 = {
    .format_name = "qcow2",
    .instance_size = sizeof(BDRVQcow2State),
    .is_format = true,
    .supports_backing = true,

    .bdrv_probe = qcow2_probe,
    .bdrv_open = qcow2_open,
    .bdrv_close = qcow2_close,
    .bdrv_refresh_limits = qcow2_refresh_limits,
    .bdrv_reopen_commit_post = qcow2_reopen_commit_post,

    .create_opts = &qcow2_create_opts,
    .bdrv_co_create_opts = qcow2_co_create_opts,
    .amend_opts = &qcow2_amend_opts,
    .bdrv_amend_options = qcow2_amend_options,

    .bdrv_co_preadv = qcow2_co_preadv,
    .bdrv_co_pwritev = qcow2_co_pwritev,
    .bdrv_co_pwritev_compressed = qcow2_co_pwritev_compressed,
    .bdrv_co_pwrite_zeroes = qcow2_co_pwrite_zeroes,
    .bdrv_co_pdiscard = qcow2_co_pdiscard,
    .bdrv_co_copy_range_from = qcow2_co_copy_range_from,
    .bdrv_co_copy_range_to = qcow2_co_copy_range_to,
    .bdrv_co_flush_to_os = qcow2_co_flush_to_os,
    .bdrv_co_block_status = qcow2_co_block_status,
    .bdrv_co_truncate = qcow2_co_truncate,

    .bdrv_co_check = qcow2_co_check,
    .bdrv_get_info = qcow2_get_info,
    .bdrv_get_specific_info = qcow2_get_specific_info,
    .bdrv_measure = qcow2_measure,
    .bdrv_change_backing_file = qcow2_change_backing_file,
    .bdrv_has_zero_init = qcow2_has_zero_init,
    .bdrv_make_empty = qcow2_make_empty,

    .bdrv_can_store_new_dirty_bitmap = qcow2_can_store_new_dirty_bitmap,
    .bdrv_remove_persistent_dirty_bitmap =
        qcow2_remove_persistent_dirty_bitmap,
    .bdrv_store_persistent_dirty_bitmaps =
        qcow2_store_persistent_dirty_bitmaps,

    .bdrv_snapshot_create = qcow2_snapshot_create,
    .bdrv_snapshot_goto = qcow2_snapshot_goto,
    .bdrv_snapshot_delete = qcow2_snapshot_delete,
    .bdrv_snapshot_list = qcow2_snapshot_list,
    .bdrv_snapshot_load_tmp = qcow2_snapshot_load_tmp,
};
