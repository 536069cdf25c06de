/*
 * Dirty bitmaps: in-memory bitmaps attached to nodes, the write-tracking
 * hook of the request path, and the name-based operations 'qemu-img
 * bitmap' uses. Formats with persistent bitmaps load and store them
 * through the hooks in block_int.h.
 *
 * Invariants:
 *  1. A bitmap's words cover exactly nb_chunks bits; bits past nb_chunks in
 *     the last word are always clear, so counts and searches need no mask.
 *  2. count is the number of set bits, kept up to date by every change.
 *  3. Names are unique per node; anonymous bitmaps have a NULL name.
 */
#include "config-host.h"

#include "block/block_int.h"
#include "block/dirty-bitmap.h"

#define BITS_PER_WORD 64

struct BdrvDirtyBitmap {
    BlockDriverState *bs;
    char *name;
    uint32_t granularity;
    int64_t size;               /* bytes of the node covered */
    uint64_t nb_chunks;
    uint64_t *words;
    uint64_t count;             /* set bits */
    bool disabled;
    bool persistent;
    bool inconsistent;
    bool readonly;
    TAILQ_ENTRY(BdrvDirtyBitmap) list;
};

/* ---- bit arrays ------------------------------------------------------- */

static uint64_t nb_words(uint64_t nb_bits)
{
    return DIV_ROUND_UP(nb_bits, BITS_PER_WORD);
}

/* Mask of bits [start, end) within one word (0 <= start < end <= 64). */
static uint64_t word_mask(unsigned int start, unsigned int end)
{
    uint64_t hi = end == BITS_PER_WORD ? ~0ULL : (1ULL << end) - 1;

    return hi & ~((1ULL << start) - 1);
}

/* Sets or clears bits [first, last] and keeps count right. */
static void bits_update(BdrvDirtyBitmap *bm, uint64_t first, uint64_t last,
                        bool set)
{
    uint64_t w = first / BITS_PER_WORD;
    uint64_t last_w = last / BITS_PER_WORD;

    for (; w <= last_w; w++) {
        unsigned int s = w == first / BITS_PER_WORD ?
                         first % BITS_PER_WORD : 0;
        unsigned int e = w == last_w ? last % BITS_PER_WORD + 1 :
                         BITS_PER_WORD;
        uint64_t mask = word_mask(s, e);
        uint64_t old = bm->words[w];

        if (set) {
            bm->words[w] |= mask;
            bm->count += __builtin_popcountll(mask & ~old);
        } else {
            bm->words[w] &= ~mask;
            bm->count -= __builtin_popcountll(mask & old);
        }
    }
}

static bool bit_get(const BdrvDirtyBitmap *bm, uint64_t bit)
{
    return bm->words[bit / BITS_PER_WORD] >> (bit % BITS_PER_WORD) & 1;
}

/*
 * The first bit in [first, last] that is set (want) or clear (!want), or
 * UINT64_MAX.
 */
static uint64_t bits_find(const BdrvDirtyBitmap *bm, uint64_t first,
                          uint64_t last, bool want)
{
    uint64_t w = first / BITS_PER_WORD;
    uint64_t last_w = last / BITS_PER_WORD;

    for (; w <= last_w; w++) {
        uint64_t word = want ? bm->words[w] : ~bm->words[w];

        if (w == first / BITS_PER_WORD) {
            word &= ~0ULL << (first % BITS_PER_WORD);
        }
        if (word) {
            uint64_t bit = w * BITS_PER_WORD + __builtin_ctzll(word);

            return bit <= last ? bit : UINT64_MAX;
        }
    }
    return UINT64_MAX;
}

/* The chunks [*first, *last] that [offset, offset+bytes) touches. */
static bool chunk_range(const BdrvDirtyBitmap *bm, int64_t offset,
                        int64_t bytes, uint64_t *first, uint64_t *last)
{
    if (offset < 0 || bytes <= 0 || offset >= bm->size ||
        !bm->nb_chunks) {
        return false;
    }
    bytes = MIN(bytes, bm->size - offset);
    *first = offset / bm->granularity;
    *last = (offset + bytes - 1) / bm->granularity;
    return true;
}

/* ---- lifecycle ---------------------------------------------------------- */

static uint64_t *alloc_words(int64_t size, uint32_t granularity,
                             uint64_t *nb_chunks)
{
    uint64_t n = DIV_ROUND_UP((uint64_t)size, granularity);

    *nb_chunks = n;
    /* calloc(0) may return NULL: always have one word. */
    return calloc(MAX(nb_words(n), 1), sizeof(uint64_t));
}

BdrvDirtyBitmap *bdrv_create_dirty_bitmap(BlockDriverState *bs,
                                          uint32_t granularity,
                                          const char *name, Error **errp)
{
    BdrvDirtyBitmap *bm;
    int64_t size;

    /* Formats pass granularities read from images: check, never assert. */
    if (!granularity || !IS_POWER_OF_2(granularity)) {
        error_setg(errp, "Granularity must be power of 2");
        return NULL;
    }
    if (name && bdrv_find_dirty_bitmap(bs, name)) {
        error_setg(errp, "Bitmap already exists: %s", name);
        return NULL;
    }
    size = bdrv_getlength(bs);
    if (size < 0) {
        error_setg_errno(errp, (int)-size, "could not get length of device");
        return NULL;
    }
    bm = xzalloc(sizeof(*bm));
    bm->words = alloc_words(size, granularity, &bm->nb_chunks);
    if (!bm->words) {
        error_setg(errp, "Could not allocate the bitmap");
        free(bm);
        return NULL;
    }
    bm->bs = bs;
    bm->name = name ? xstrdup(name) : NULL;
    bm->granularity = granularity;
    bm->size = size;
    TAILQ_INSERT_TAIL(&bs->dirty_bitmaps, bm, list);
    return bm;
}

void bdrv_release_dirty_bitmap(BdrvDirtyBitmap *bm)
{
    if (!bm) {
        return;
    }
    TAILQ_REMOVE(&bm->bs->dirty_bitmaps, bm, list);
    free(bm->words);
    free(bm->name);
    free(bm);
}

void bdrv_release_all_dirty_bitmaps(BlockDriverState *bs)
{
    BdrvDirtyBitmap *bm;

    while ((bm = TAILQ_FIRST(&bs->dirty_bitmaps))) {
        bdrv_release_dirty_bitmap(bm);
    }
}

BdrvDirtyBitmap *bdrv_find_dirty_bitmap(BlockDriverState *bs,
                                        const char *name)
{
    BdrvDirtyBitmap *bm;

    TAILQ_FOREACH(bm, &bs->dirty_bitmaps, list) {
        if (bm->name && !strcmp(bm->name, name)) {
            return bm;
        }
    }
    return NULL;
}

BdrvDirtyBitmap *bdrv_dirty_bitmap_first(BlockDriverState *bs)
{
    return TAILQ_FIRST(&bs->dirty_bitmaps);
}

BdrvDirtyBitmap *bdrv_dirty_bitmap_next(BdrvDirtyBitmap *bm)
{
    return TAILQ_NEXT(bm, list);
}

uint32_t bdrv_get_default_bitmap_granularity(BlockDriverState *bs)
{
    int cluster = bdrv_get_cluster_size(bs);

    if (cluster <= 0) {
        return 64 * KiB;
    }
    return MIN(MAX((uint32_t)cluster, 4 * KiB), 64 * KiB);
}

/* ---- properties ---------------------------------------------------------- */

const char *bdrv_dirty_bitmap_name(const BdrvDirtyBitmap *bm)
{
    return bm->name;
}

uint32_t bdrv_dirty_bitmap_granularity(const BdrvDirtyBitmap *bm)
{
    return bm->granularity;
}

int64_t bdrv_dirty_bitmap_size(const BdrvDirtyBitmap *bm)
{
    return bm->size;
}

int64_t bdrv_get_dirty_count(const BdrvDirtyBitmap *bm)
{
    int64_t bytes = (int64_t)bm->count * bm->granularity;

    /* The last chunk may be cut short by the end of the node. */
    if (bm->nb_chunks && bit_get(bm, bm->nb_chunks - 1)) {
        bytes -= (int64_t)bm->nb_chunks * bm->granularity - bm->size;
    }
    return bytes;
}

bool bdrv_dirty_bitmap_enabled(const BdrvDirtyBitmap *bm)
{
    return !bm->disabled;
}

void bdrv_enable_dirty_bitmap(BdrvDirtyBitmap *bm)
{
    bm->disabled = false;
}

void bdrv_disable_dirty_bitmap(BdrvDirtyBitmap *bm)
{
    bm->disabled = true;
}

bool bdrv_dirty_bitmap_get_persistence(const BdrvDirtyBitmap *bm)
{
    return bm->persistent;
}

void bdrv_dirty_bitmap_set_persistence(BdrvDirtyBitmap *bm, bool persistent)
{
    bm->persistent = persistent;
}

bool bdrv_dirty_bitmap_inconsistent(const BdrvDirtyBitmap *bm)
{
    return bm->inconsistent;
}

void bdrv_dirty_bitmap_set_inconsistent(BdrvDirtyBitmap *bm)
{
    bm->inconsistent = true;
    bm->disabled = true;
}

bool bdrv_dirty_bitmap_readonly(const BdrvDirtyBitmap *bm)
{
    return bm->readonly;
}

void bdrv_dirty_bitmap_set_readonly(BdrvDirtyBitmap *bm, bool readonly)
{
    bm->readonly = readonly;
}

/* ---- bits ---------------------------------------------------------------- */

void bdrv_set_dirty_bitmap(BdrvDirtyBitmap *bm, int64_t offset,
                           int64_t bytes)
{
    uint64_t first;
    uint64_t last;

    if (chunk_range(bm, offset, bytes, &first, &last)) {
        bits_update(bm, first, last, true);
    }
}

void bdrv_reset_dirty_bitmap(BdrvDirtyBitmap *bm, int64_t offset,
                             int64_t bytes)
{
    uint64_t first;
    uint64_t last;

    if (chunk_range(bm, offset, bytes, &first, &last)) {
        bits_update(bm, first, last, false);
    }
}

void bdrv_clear_dirty_bitmap(BdrvDirtyBitmap *bm)
{
    memset(bm->words, 0, nb_words(bm->nb_chunks) * sizeof(uint64_t));
    bm->count = 0;
}

bool bdrv_dirty_bitmap_get(const BdrvDirtyBitmap *bm, int64_t offset)
{
    if (offset < 0 || offset >= bm->size) {
        return false;
    }
    return bit_get(bm, offset / bm->granularity);
}

static int64_t next_bit(const BdrvDirtyBitmap *bm, int64_t offset,
                        int64_t bytes, bool want)
{
    uint64_t first;
    uint64_t last;
    uint64_t bit;

    if (bytes < 0) {
        bytes = bm->size - offset;
    }
    if (!chunk_range(bm, offset, bytes, &first, &last)) {
        return -1;
    }
    bit = bits_find(bm, first, last, want);
    if (bit == UINT64_MAX) {
        return -1;
    }
    return MAX(offset, (int64_t)(bit * bm->granularity));
}

int64_t bdrv_dirty_bitmap_next_dirty(const BdrvDirtyBitmap *bm,
                                     int64_t offset, int64_t bytes)
{
    return next_bit(bm, offset, bytes, true);
}

int64_t bdrv_dirty_bitmap_next_zero(const BdrvDirtyBitmap *bm,
                                    int64_t offset, int64_t bytes)
{
    return next_bit(bm, offset, bytes, false);
}

bool bdrv_dirty_bitmap_next_dirty_area(const BdrvDirtyBitmap *bm,
                                       int64_t *offset, int64_t end,
                                       int64_t max_bytes, int64_t *bytes)
{
    int64_t start;
    int64_t stop;

    end = MIN(end, bm->size);
    if (*offset >= end || max_bytes <= 0) {
        return false;
    }
    start = bdrv_dirty_bitmap_next_dirty(bm, *offset, end - *offset);
    if (start < 0) {
        return false;
    }
    max_bytes = MIN(max_bytes, end - start);
    stop = bdrv_dirty_bitmap_next_zero(bm, start, max_bytes);
    *offset = start;
    *bytes = stop < 0 ? max_bytes : stop - start;
    return true;
}

/* ---- serialization ------------------------------------------------------- */

uint64_t bdrv_dirty_bitmap_serialization_coverage(const BdrvDirtyBitmap *bm)
{
    return (uint64_t)bm->granularity * 8;
}

/* Chunks of [offset, offset+bytes), from a byte boundary of the bits. */
static void serial_range(const BdrvDirtyBitmap *bm, int64_t offset,
                         int64_t bytes, uint64_t *first, uint64_t *n)
{
    uint64_t end;

    assert(offset >= 0 && bytes >= 0);
    assert(offset % bdrv_dirty_bitmap_serialization_coverage(bm) == 0);
    *first = MIN((uint64_t)offset / bm->granularity, bm->nb_chunks);
    end = MIN(DIV_ROUND_UP((uint64_t)offset + bytes, bm->granularity),
              bm->nb_chunks);
    *n = end > *first ? end - *first : 0;
}

uint64_t bdrv_dirty_bitmap_serialization_size(const BdrvDirtyBitmap *bm,
                                              int64_t offset, int64_t bytes)
{
    uint64_t first;
    uint64_t n;

    serial_range(bm, offset, bytes, &first, &n);
    return DIV_ROUND_UP(n, 8);
}

void bdrv_dirty_bitmap_serialize_part(const BdrvDirtyBitmap *bm,
                                      uint8_t *buf, int64_t offset,
                                      int64_t bytes)
{
    uint64_t first;
    uint64_t n;
    uint64_t i;

    serial_range(bm, offset, bytes, &first, &n);
    memset(buf, 0, DIV_ROUND_UP(n, 8));
    /* first is a multiple of 8: whole bytes, LSB first as on disk. */
    for (i = 0; i < n; i += 8) {
        uint64_t bit = first + i;
        uint64_t word = bm->words[bit / BITS_PER_WORD];
        uint8_t byte = (uint8_t)(word >> (bit % BITS_PER_WORD));

        if (n - i < 8) {
            byte &= (1u << (n - i)) - 1;
        }
        buf[i / 8] = byte;
    }
}

void bdrv_dirty_bitmap_deserialize_part(BdrvDirtyBitmap *bm,
                                        const uint8_t *buf, int64_t offset,
                                        int64_t bytes)
{
    uint64_t first;
    uint64_t n;
    uint64_t i;

    serial_range(bm, offset, bytes, &first, &n);
    for (i = 0; i < n; i += 8) {
        uint64_t bit = first + i;
        unsigned int len = MIN(8, n - i);
        uint64_t mask = word_mask(bit % BITS_PER_WORD,
                                  bit % BITS_PER_WORD + len);
        uint64_t *w = &bm->words[bit / BITS_PER_WORD];
        uint64_t val = (uint64_t)buf[i / 8] << (bit % BITS_PER_WORD);

        bm->count -= __builtin_popcountll(*w & mask);
        *w = (*w & ~mask) | (val & mask);
        bm->count += __builtin_popcountll(*w & mask);
    }
}

bool bdrv_dirty_bitmap_range_is_clean(const BdrvDirtyBitmap *bm,
                                      int64_t offset, int64_t bytes)
{
    return bdrv_dirty_bitmap_next_dirty(bm, offset, bytes) < 0;
}

/* ---- the core's hooks ---------------------------------------------------- */

void bdrv_set_dirty(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    BdrvDirtyBitmap *bm;

    TAILQ_FOREACH(bm, &bs->dirty_bitmaps, list) {
        if (!bm->disabled) {
            bdrv_set_dirty_bitmap(bm, offset, bytes);
        }
    }
}

void bdrv_dirty_bitmap_truncate(BlockDriverState *bs, int64_t bytes)
{
    BdrvDirtyBitmap *bm;

    TAILQ_FOREACH(bm, &bs->dirty_bitmaps, list) {
        uint64_t n;
        uint64_t *words = alloc_words(bytes, bm->granularity, &n);

        if (!words) {
            /*
             * Out of memory: keep the old bits and mark the bitmap
             * inconsistent rather than lose track of writes silently.
             */
            bdrv_dirty_bitmap_set_inconsistent(bm);
            continue;
        }
        memcpy(words, bm->words,
               MIN(nb_words(n), nb_words(bm->nb_chunks)) * sizeof(uint64_t));
        if (n < bm->nb_chunks && n % BITS_PER_WORD) {
            /* Invariant 1: nothing past the last chunk. */
            words[n / BITS_PER_WORD] &= word_mask(0, n % BITS_PER_WORD);
        }
        free(bm->words);
        bm->words = words;
        bm->nb_chunks = n;
        bm->size = bytes;
        bm->count = 0;
        for (n = 0; n < nb_words(bm->nb_chunks); n++) {
            bm->count += __builtin_popcountll(words[n]);
        }
    }
}

int bdrv_store_dirty_bitmaps(BlockDriverState *bs, Error **errp)
{
    BdrvDirtyBitmap *bm;
    bool any = false;

    if (!bs->drv || bs->read_only ||
        !bs->drv->bdrv_store_persistent_dirty_bitmaps) {
        return 0;
    }
    TAILQ_FOREACH(bm, &bs->dirty_bitmaps, list) {
        any |= bm->persistent;
    }
    if (!any) {
        return 0;
    }
    return bs->drv->bdrv_store_persistent_dirty_bitmaps(bs, errp);
}

/* ---- name-based operations (block.h) ------------------------------------- */

static BdrvDirtyBitmap *lookup(BlockDriverState *bs, const char *name,
                               Error **errp)
{
    BdrvDirtyBitmap *bm = bdrv_find_dirty_bitmap(bs, name);

    if (!bm) {
        error_setg(errp, "Dirty bitmap '%s' not found", name);
    }
    return bm;
}

/* The checks before a bitmap may change (or, for a source, be read). */
static int check_usable(BdrvDirtyBitmap *bm, bool modify, Error **errp)
{
    if (bm->inconsistent) {
        error_setg(errp, "Bitmap '%s' is inconsistent and cannot be used",
                   bm->name);
        error_append_hint(errp, "Try block-dirty-bitmap-remove to delete "
                          "this bitmap from disk\n");
        return -EINVAL;
    }
    if (modify && bm->readonly) {
        error_setg(errp, "Bitmap '%s' is readonly and cannot be modified",
                   bm->name);
        return -EPERM;
    }
    return 0;
}

bool bdrv_supports_persistent_dirty_bitmap(BlockDriverState *bs)
{
    return bs->drv && bs->drv->bdrv_can_store_new_dirty_bitmap;
}

int bdrv_dirty_bitmap_add(BlockDriverState *bs, const char *name,
                          uint32_t granularity, Error **errp)
{
    BdrvDirtyBitmap *bm;

    if (!name || !name[0]) {
        error_setg(errp, "Bitmap name cannot be empty");
        return -EINVAL;
    }
    if (granularity == 0) {
        granularity = bdrv_get_default_bitmap_granularity(bs);
    } else if (granularity < BDRV_DIRTY_BITMAP_MIN_GRANULARITY ||
               !IS_POWER_OF_2(granularity)) {
        error_setg(errp, "Granularity must be power of 2 and at least 512");
        return -EINVAL;
    }
    if (bdrv_find_dirty_bitmap(bs, name)) {
        error_setg(errp, "Bitmap already exists: %s", name);
        return -EEXIST;
    }
    if (!bdrv_supports_persistent_dirty_bitmap(bs)) {
        error_setg_errno(errp, ENOTSUP, "Can't store persistent bitmaps to "
                         "%s", bs->node_name);
        return -ENOTSUP;
    }
    if (!bs->drv->bdrv_can_store_new_dirty_bitmap(bs, name, granularity,
                                                  errp)) {
        return -EINVAL;
    }
    if (bs->read_only) {
        error_setg(errp, "Cannot store a bitmap in the read-only node %s",
                   bs->node_name);
        return -EPERM;
    }
    bm = bdrv_create_dirty_bitmap(bs, granularity, name, errp);
    if (!bm) {
        return -ENOMEM;
    }
    bm->persistent = true;
    return 0;
}

int bdrv_dirty_bitmap_remove(BlockDriverState *bs, const char *name,
                             Error **errp)
{
    BdrvDirtyBitmap *bm = lookup(bs, name, errp);
    int ret;

    if (!bm) {
        return -ENOENT;
    }
    /* An inconsistent bitmap can (only) be removed. */
    if (bm->readonly) {
        error_setg(errp, "Bitmap '%s' is readonly and cannot be modified",
                   bm->name);
        return -EPERM;
    }
    if (bm->persistent && bs->drv &&
        bs->drv->bdrv_remove_persistent_dirty_bitmap) {
        ret = bs->drv->bdrv_remove_persistent_dirty_bitmap(bs, name, errp);
        if (ret < 0) {
            return ret;
        }
    }
    bdrv_release_dirty_bitmap(bm);
    return 0;
}

int bdrv_dirty_bitmap_clear(BlockDriverState *bs, const char *name,
                            Error **errp)
{
    BdrvDirtyBitmap *bm = lookup(bs, name, errp);
    int ret;

    if (!bm) {
        return -ENOENT;
    }
    ret = check_usable(bm, true, errp);
    if (ret < 0) {
        return ret;
    }
    bdrv_clear_dirty_bitmap(bm);
    return 0;
}

int bdrv_dirty_bitmap_set_enabled(BlockDriverState *bs, const char *name,
                                  bool enabled, Error **errp)
{
    BdrvDirtyBitmap *bm = lookup(bs, name, errp);
    int ret;

    if (!bm) {
        return -ENOENT;
    }
    ret = check_usable(bm, true, errp);
    if (ret < 0) {
        return ret;
    }
    bm->disabled = !enabled;
    return 0;
}

/* dst |= src over their (equal) sizes, whatever their granularities. */
static void merge_bits(BdrvDirtyBitmap *dst, const BdrvDirtyBitmap *src)
{
    int64_t offset = 0;
    int64_t bytes;

    if (dst->granularity == src->granularity) {
        uint64_t i;

        for (i = 0; i < nb_words(dst->nb_chunks); i++) {
            uint64_t add = src->words[i] & ~dst->words[i];

            dst->words[i] |= add;
            dst->count += __builtin_popcountll(add);
        }
        return;
    }
    while (bdrv_dirty_bitmap_next_dirty_area(src, &offset, src->size,
                                             INT64_MAX, &bytes)) {
        bdrv_set_dirty_bitmap(dst, offset, bytes);
        offset += bytes;
    }
}

int bdrv_dirty_bitmap_merge(BlockDriverState *bs, const char *name,
                            BlockDriverState *src_bs, const char *src_name,
                            Error **errp)
{
    BdrvDirtyBitmap *dst = lookup(bs, name, errp);
    BdrvDirtyBitmap *src;
    int ret;

    if (!dst) {
        return -ENOENT;
    }
    src = lookup(src_bs, src_name, errp);
    if (!src) {
        return -ENOENT;
    }
    ret = check_usable(dst, true, errp);
    if (ret < 0) {
        return ret;
    }
    ret = check_usable(src, false, errp);
    if (ret < 0) {
        return ret;
    }
    if (dst->size != src->size) {
        error_setg(errp, "Bitmaps are of different sizes (destination size "
                   "is %" PRId64 ", source size is %" PRId64 ") and can't "
                   "be merged", dst->size, src->size);
        return -EINVAL;
    }
    if (dst != src) {
        merge_bits(dst, src);
    }
    return 0;
}

int bdrv_query_dirty_bitmaps(BlockDriverState *bs,
                             BlockDirtyBitmapInfo **infos)
{
    BdrvDirtyBitmap *bm;
    int n = 0;

    *infos = NULL;
    TAILQ_FOREACH(bm, &bs->dirty_bitmaps, list) {
        if (bm->name) {
            n++;
        }
    }
    if (!n) {
        return 0;
    }
    *infos = xzalloc(n * sizeof(**infos));
    n = 0;
    TAILQ_FOREACH(bm, &bs->dirty_bitmaps, list) {
        BlockDirtyBitmapInfo *info = &(*infos)[n];

        if (!bm->name) {
            continue;
        }
        info->name = xstrdup(bm->name);
        info->granularity = bm->granularity;
        info->count = bdrv_get_dirty_count(bm);
        info->enabled = !bm->disabled;
        info->persistent = bm->persistent;
        info->inconsistent = bm->inconsistent;
        n++;
    }
    return n;
}

void bdrv_dirty_bitmap_info_free(BlockDirtyBitmapInfo *infos, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        free(infos[i].name);
    }
    free(infos);
}
