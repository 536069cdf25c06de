/*
 * qcow2 persistent dirty bitmaps: the bitmaps extension, the bitmap
 * directory, bitmap tables and bitmap data clusters (QEMU's
 * docs/interop/qcow2.txt, "Bitmaps extension" and after).
 *
 * The bitmaps live in the core's memory (include/block/dirty-bitmap.h)
 * while the image is open; this file moves them between the image and
 * there:
 *
 * - open: the directory is checked and every bitmap is loaded. On a
 *   writable image each one gets the in-use flag, written over the old
 *   directory in place (no allocation), before anything else can change
 *   the image: a bitmap found in use at the next open was not stored
 *   after the last change and is inconsistent.
 * - store (the core calls it at close and before the node goes read-only):
 *   every bitmap gets new data clusters (only for clusters of the
 *   bitmap with a dirty bit: clean ones have table entry 0) and a new
 *   table, bitmap after bitmap in directory order; then a new directory is
 *   written, the header switched to it, and the old directory and the old
 *   tables with their data are freed. The image is consistent at every
 *   step: until the header names the new directory, the old one (in use)
 *   is the valid one, and the new clusters are leaks at worst.
 * - remove drops one bitmap from the directory at once, the same way.
 *
 * The order of allocations and frees is the reference's, so that the same
 * operations give the same bytes: data clusters and table of each bitmap
 * in directory order, then the directory; freed data clusters are
 * discarded (they read as zeroes), freed tables and directories are not.
 *
 * Invariants:
 *  1. A directory entry with the in-use flag belongs to a bitmap that is
 *     either being tracked by a writable open image or inconsistent; an
 *     inconsistent bitmap is never stored again (only removed).
 *  2. The refcounts of new clusters are on disk before the header names
 *     the directory that uses them; old clusters are freed only after.
 *  3. Nothing read from the image is trusted: every directory field and
 *     table entry is checked before use, and a bad one fails the open
 *     with the reference's message.
 */
#include "config-host.h"

#include "block/dirty-bitmap.h"
#include "util/bswap.h"
#include "util/cutils.h"
#include "util/error.h"
#include "qcow2.h"

/* Directory entry fields and limits (the reference's). */
#define BME_MAX_TABLE_SIZE 0x8000000
#define BME_MAX_PHYS_SIZE 0x20000000
#define BME_MAX_GRANULARITY_BITS 31
#define BME_MIN_GRANULARITY_BITS 9
#define BME_MAX_NAME_SIZE 1023

#define BME_FLAG_IN_USE (1U << 0)
#define BME_FLAG_AUTO   (1U << 1)
#define BME_RESERVED_FLAGS (~(BME_FLAG_IN_USE | BME_FLAG_AUTO))

#define BME_TABLE_ENTRY_RESERVED_MASK 0xff000000000001feULL
#define BME_TABLE_ENTRY_OFFSET_MASK 0x00fffffffffffe00ULL
#define BME_TABLE_ENTRY_FLAG_ALL_ONES 1ULL

#define BT_DIRTY_TRACKING_BITMAP 1

#define BME_ENTRY_HEADER_SIZE 24

typedef struct Qcow2Bitmap {
    uint64_t table_offset;
    uint32_t table_size;        /* entries */
    uint32_t flags;
    uint8_t granularity_bits;
    char *name;
    /* While storing: the in-memory bitmap to write, or NULL to keep. */
    BdrvDirtyBitmap *dirty_bitmap;
} Qcow2Bitmap;

/* The directory, in its order. */
typedef struct Qcow2BitmapList {
    Qcow2Bitmap *bm;
    int n;
    int cap;
} Qcow2BitmapList;

/* A table whose clusters are freed once the new directory is in place. */
typedef struct Qcow2BitmapTable {
    uint64_t offset;
    uint32_t size;
} Qcow2BitmapTable;

static uint64_t dir_entry_size(size_t name_size, uint32_t extra)
{
    return ROUND_UP(BME_ENTRY_HEADER_SIZE + (uint64_t)name_size + extra, 8);
}

static void bitmap_list_free(Qcow2BitmapList *l)
{
    int i;

    for (i = 0; i < l->n; i++) {
        free(l->bm[i].name);
    }
    free(l->bm);
    l->bm = NULL;
    l->n = l->cap = 0;
}

static Qcow2Bitmap *bitmap_list_add(Qcow2BitmapList *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->bm = xrealloc(l->bm, l->cap * sizeof(*l->bm));
    }
    memset(&l->bm[l->n], 0, sizeof(l->bm[0]));
    return &l->bm[l->n++];
}

static Qcow2Bitmap *bitmap_list_find(Qcow2BitmapList *l, const char *name)
{
    int i;

    for (i = 0; i < l->n; i++) {
        if (!strcmp(l->bm[i].name, name)) {
            return &l->bm[i];
        }
    }
    return NULL;
}

static uint64_t bitmap_list_dir_size(const Qcow2BitmapList *l)
{
    uint64_t size = 0;
    int i;

    for (i = 0; i < l->n; i++) {
        size += dir_entry_size(strlen(l->bm[i].name), 0);
    }
    return size;
}

/* ---- the header extension ------------------------------------------------ */

int qcow2_read_bitmaps_ext(BlockDriverState *bs, const uint8_t *ext,
                           uint32_t len, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint32_t nb;
    uint64_t dir_size, dir_offset;

    if (len != 24) {
        error_setg(errp, "bitmaps_ext: Invalid extension length");
        return -EINVAL;
    }
    if (!(s->autoclear_features & QCOW2_AUTOCLEAR_BITMAPS)) {
        /*
         * A program that does not know the bit cleared it while it wrote:
         * the bitmaps no longer match the data. Said once per open (the
         * extension is read twice, the second time without a table).
         */
        if (!s->bitmaps_ext_ignored) {
            if (s->qcow_version < 3) {
                warn_report("This qcow2 v2 image contains bitmaps, but they "
                            "may have been modified by a program without "
                            "persistent bitmap support; so now they must all "
                            "be considered inconsistent");
            } else {
                warn_report("a program lacking bitmap support modified this "
                            "file, so all bitmaps are now considered "
                            "inconsistent");
            }
            /* The reference ends this line without a newline. */
            fprintf(stderr, "Some clusters may be leaked, run 'qemu-img "
                    "check -r' on the image file to fix.");
            fflush(stderr);
        }
        s->bitmaps_ext_ignored = true;
        return 0;
    }

    nb = ldbe32(ext);
    dir_size = ldbe64(ext + 8);
    dir_offset = ldbe64(ext + 16);
    if (ldbe32(ext + 4) != 0) {
        error_setg(errp, "bitmaps_ext: Reserved field is not zero");
        return -EINVAL;
    }
    if (nb > QCOW2_MAX_BITMAPS) {
        error_setg(errp, "bitmaps_ext: Image has %" PRIu32 " bitmaps, "
                   "exceeding the QEMU supported maximum of %d", nb,
                   QCOW2_MAX_BITMAPS);
        return -EINVAL;
    }
    if (nb == 0) {
        error_setg(errp, "found bitmaps extension with zero bitmaps");
        return -EINVAL;
    }
    if (offset_into_cluster(s, dir_offset)) {
        error_setg(errp, "bitmaps_ext: invalid bitmap directory offset");
        return -EINVAL;
    }
    if (dir_size > QCOW2_MAX_BITMAP_DIRECTORY_SIZE) {
        error_setg(errp, "bitmaps_ext: bitmap directory size (%" PRIu64 ") "
                   "exceeds the maximum supported size (%d)", dir_size,
                   QCOW2_MAX_BITMAP_DIRECTORY_SIZE);
        return -EINVAL;
    }
    s->nb_bitmaps = nb;
    s->bitmap_directory_size = dir_size;
    s->bitmap_directory_offset = dir_offset;
    return 0;
}

/* ---- the directory -------------------------------------------------------- */

/*
 * Whether a directory entry can describe a bitmap of this image: the table
 * must cover the whole disk and be where tables can be, granularity and
 * name within the limits, no unknown flags or type.
 */
static bool dir_entry_valid(BlockDriverState *bs, uint64_t table_offset,
                            uint32_t table_size, uint32_t flags, uint8_t type,
                            uint8_t granularity_bits, uint16_t name_size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t phys_bytes = (uint64_t)table_size * s->cluster_size;
    uint64_t len = (uint64_t)bs->total_sectors * BDRV_SECTOR_SIZE;

    if (granularity_bits > BME_MAX_GRANULARITY_BITS ||
        granularity_bits < BME_MIN_GRANULARITY_BITS) {
        return false;
    }
    return phys_bytes <= BME_MAX_PHYS_SIZE &&
           table_offset != 0 && !offset_into_cluster(s, table_offset) &&
           table_size <= BME_MAX_TABLE_SIZE &&
           len <= (phys_bytes * 8) << granularity_bits &&
           !(flags & BME_RESERVED_FLAGS) &&
           name_size <= BME_MAX_NAME_SIZE &&
           type == BT_DIRTY_TRACKING_BITMAP;
}

/* Reads and checks the directory the header names into *l. */
static int coroutine_fn bitmap_list_load(BlockDriverState *bs,
                                         Qcow2BitmapList *l, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t size = s->bitmap_directory_size;
    uint8_t *dir;
    uint64_t pos = 0;
    uint32_t nb = 0;
    int ret;

    memset(l, 0, sizeof(*l));
    dir = malloc(MAX(size, 1));
    if (!dir) {
        error_setg(errp, "Could not allocate the bitmap directory");
        return -ENOMEM;
    }
    ret = bdrv_co_pread(bs->file, s->bitmap_directory_offset, size, dir, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to read bitmap directory");
        goto fail;
    }

    while (pos < size) {
        const uint8_t *e = dir + pos;
        uint64_t table_offset;
        uint32_t table_size, flags, extra;
        uint16_t name_size;
        Qcow2Bitmap *bm;

        if (size - pos < BME_ENTRY_HEADER_SIZE) {
            goto broken;
        }
        if (++nb > s->nb_bitmaps) {
            error_setg(errp, "More bitmaps found than specified in header "
                       "extension");
            ret = -EINVAL;
            goto fail;
        }
        table_offset = ldbe64(e);
        table_size = ldbe32(e + 8);
        flags = ldbe32(e + 12);
        name_size = ldbe16(e + 18);
        extra = ldbe32(e + 20);
        if (dir_entry_size(name_size, extra) > size - pos) {
            goto broken;
        }
        if (extra != 0) {
            error_setg(errp, "Bitmap extra data is not supported");
            ret = -ENOTSUP;
            goto fail;
        }
        if (!dir_entry_valid(bs, table_offset, table_size, flags, e[16],
                             e[17], name_size)) {
            error_setg(errp, "Bitmap '%.*s' doesn't satisfy the constraints",
                       (int)name_size, (const char *)e +
                       BME_ENTRY_HEADER_SIZE);
            ret = -EINVAL;
            goto fail;
        }
        bm = bitmap_list_add(l);
        bm->table_offset = table_offset;
        bm->table_size = table_size;
        bm->flags = flags;
        bm->granularity_bits = e[17];
        bm->name = xstrndup((const char *)e + BME_ENTRY_HEADER_SIZE,
                            name_size);
        pos += dir_entry_size(name_size, extra);
    }
    if (nb != s->nb_bitmaps) {
        error_setg(errp, "Less bitmaps found than specified in header "
                   "extension");
        ret = -EINVAL;
        goto fail;
    }
    free(dir);
    return 0;

broken:
    error_setg(errp, "Broken bitmap directory");
    ret = -EINVAL;
fail:
    free(dir);
    bitmap_list_free(l);
    return ret;
}

/* The directory bytes for l (*size of them, a multiple of 8). */
static uint8_t *bitmap_list_serialize(const Qcow2BitmapList *l,
                                      uint64_t *size)
{
    uint8_t *dir;
    uint64_t pos = 0;
    int i;

    *size = bitmap_list_dir_size(l);
    dir = xzalloc(MAX(*size, 1));
    for (i = 0; i < l->n; i++) {
        const Qcow2Bitmap *bm = &l->bm[i];
        size_t name_size = strlen(bm->name);
        uint8_t *e = dir + pos;

        stbe64(e, bm->table_offset);
        stbe32(e + 8, bm->table_size);
        stbe32(e + 12, bm->flags);
        e[16] = BT_DIRTY_TRACKING_BITMAP;
        e[17] = bm->granularity_bits;
        stbe16(e + 18, name_size);
        stbe32(e + 20, 0);
        memcpy(e + BME_ENTRY_HEADER_SIZE, bm->name, name_size);
        pos += dir_entry_size(name_size, 0);
    }
    return dir;
}

static int coroutine_fn update_header_flush(BlockDriverState *bs)
{
    int ret = qcow2_update_header(bs);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_flush(bs->file->bs);
}

/*
 * Rewrites the directory where it is (same size: only flags changed). The
 * autoclear bit is off while it is written, so that a torn directory is
 * never trusted.
 */
static int coroutine_fn update_dir_in_place(BlockDriverState *bs,
                                            const Qcow2BitmapList *l)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t *dir;
    uint64_t size;
    int ret;

    dir = bitmap_list_serialize(l, &size);
    if (size != s->bitmap_directory_size) {
        free(dir);
        return -EINVAL;
    }
    s->autoclear_features &= ~(uint64_t)QCOW2_AUTOCLEAR_BITMAPS;
    ret = update_header_flush(bs);
    if (ret == 0) {
        ret = bdrv_co_pwrite(bs->file, s->bitmap_directory_offset, size, dir,
                             0);
    }
    free(dir);
    if (ret < 0) {
        return ret;
    }
    s->autoclear_features |= QCOW2_AUTOCLEAR_BITMAPS;
    return update_header_flush(bs);
}

/*
 * Writes l as a new directory (none if l is empty), points the header at
 * it and frees the old one.
 */
static int coroutine_fn update_dir(BlockDriverState *bs,
                                   const Qcow2BitmapList *l)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_offset = s->bitmap_directory_offset;
    uint64_t old_size = s->bitmap_directory_size;
    uint32_t old_nb = s->nb_bitmaps;
    uint64_t old_autoclear = s->autoclear_features;
    uint64_t new_offset = 0, new_size = 0;
    int ret;

    if (l->n > 0) {
        uint8_t *dir = bitmap_list_serialize(l, &new_size);
        int64_t off;

        if (new_size > QCOW2_MAX_BITMAP_DIRECTORY_SIZE) {
            free(dir);
            return -EINVAL;
        }
        off = qcow2_alloc_clusters(bs, new_size);
        if (off < 0) {
            free(dir);
            return off;
        }
        new_offset = off;
        ret = bdrv_co_pwrite(bs->file, new_offset, new_size, dir, 0);
        free(dir);
        if (ret == 0) {
            /* Invariant 2: the refcounts first. */
            ret = qcow2_flush_caches(bs);
        }
        if (ret < 0) {
            qcow2_free_clusters(bs, new_offset, new_size,
                                QCOW2_DISCARD_OTHER);
            return ret;
        }
    }

    s->bitmap_directory_offset = new_offset;
    s->bitmap_directory_size = new_size;
    s->nb_bitmaps = l->n;
    if (l->n > 0) {
        s->autoclear_features |= QCOW2_AUTOCLEAR_BITMAPS;
    } else {
        s->autoclear_features &= ~(uint64_t)QCOW2_AUTOCLEAR_BITMAPS;
    }
    ret = update_header_flush(bs);
    if (ret < 0) {
        s->bitmap_directory_offset = old_offset;
        s->bitmap_directory_size = old_size;
        s->nb_bitmaps = old_nb;
        s->autoclear_features = old_autoclear;
        if (new_size) {
            qcow2_free_clusters(bs, new_offset, new_size,
                                QCOW2_DISCARD_OTHER);
        }
        return ret;
    }
    if (old_size > 0) {
        qcow2_free_clusters(bs, old_offset, old_size, QCOW2_DISCARD_OTHER);
    }
    return 0;
}

/* ---- bitmap tables --------------------------------------------------------- */

static bool ranges_overlap(uint64_t a, uint64_t a_len, uint64_t b,
                           uint64_t b_len)
{
    return a_len && b_len && a < b + b_len && b < a + a_len;
}

/*
 * Whether [offset, offset + len) holds metadata that is not a bitmap's:
 * header, active L1 table, refcount table and blocks, snapshot table. A
 * hostile table pointing there would have it overwritten or freed.
 */
static bool overlaps_metadata(BlockDriverState *bs, uint64_t offset,
                              uint64_t len)
{
    BDRVQcow2State *s = bs->opaque;
    uint32_t i;

    if (ranges_overlap(offset, len, 0, s->cluster_size) ||
        ranges_overlap(offset, len, s->l1_table_offset,
                       (uint64_t)s->l1_size * sizeof(uint64_t)) ||
        ranges_overlap(offset, len, s->refcount_table_offset,
                       (uint64_t)s->refcount_table_size * sizeof(uint64_t)) ||
        ranges_overlap(offset, len, s->snapshots_offset,
                       s->snapshots_size)) {
        return true;
    }
    for (i = 0; i <= s->max_refcount_table_index &&
         i < s->refcount_table_size; i++) {
        uint64_t rb = s->refcount_table[i] & REFT_OFFSET_MASK;

        if (rb && ranges_overlap(offset, len, rb, s->cluster_size)) {
            return true;
        }
    }
    return false;
}

/* Reads and checks a bitmap table (entries in CPU order), or -errno. */
static int coroutine_fn bitmap_table_load(BlockDriverState *bs,
                                          uint64_t offset, uint32_t size,
                                          uint64_t **table)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *t;
    uint32_t i;
    int ret;

    if (overlaps_metadata(bs, offset, (uint64_t)size * sizeof(uint64_t))) {
        return -EINVAL;
    }
    t = malloc((size_t)MAX(size, 1) * sizeof(uint64_t));
    if (!t) {
        return -ENOMEM;
    }
    ret = bdrv_co_pread(bs->file, offset, (int64_t)size * sizeof(uint64_t),
                        t, 0);
    if (ret < 0) {
        free(t);
        return ret;
    }
    for (i = 0; i < size; i++) {
        uint64_t e = be64_to_cpu(t[i]);
        uint64_t data = e & BME_TABLE_ENTRY_OFFSET_MASK;

        if ((e & BME_TABLE_ENTRY_RESERVED_MASK) ||
            (data && (e & BME_TABLE_ENTRY_FLAG_ALL_ONES)) ||
            offset_into_cluster(s, data) ||
            (data && overlaps_metadata(bs, data, s->cluster_size))) {
            free(t);
            return -EINVAL;
        }
        t[i] = e;
    }
    *table = t;
    return 0;
}

/*
 * Frees a table and its data clusters (data discarded, as the reference
 * does; the table just freed). A table that cannot be read is leaked.
 */
static void coroutine_fn bitmap_table_free(BlockDriverState *bs,
                                           uint64_t offset, uint32_t size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *t;
    uint32_t i;

    if (!offset || bitmap_table_load(bs, offset, size, &t) < 0) {
        return;
    }
    for (i = 0; i < size; i++) {
        uint64_t data = t[i] & BME_TABLE_ENTRY_OFFSET_MASK;

        if (data) {
            qcow2_free_clusters(bs, data, s->cluster_size,
                                QCOW2_DISCARD_ALWAYS);
        }
    }
    free(t);
    qcow2_free_clusters(bs, offset, (int64_t)size * sizeof(uint64_t),
                        QCOW2_DISCARD_OTHER);
}

/* Disk bytes one data cluster of bm covers. */
static uint64_t cluster_coverage(BDRVQcow2State *s, const BdrvDirtyBitmap *bm)
{
    return (uint64_t)s->cluster_size *
           bdrv_dirty_bitmap_serialization_coverage(bm);
}

/* Table entries a bitmap of this granularity needs for the whole disk. */
static uint64_t bitmap_table_entries(BDRVQcow2State *s, const BdrvDirtyBitmap *bm)
{
    uint64_t bytes = bdrv_dirty_bitmap_serialization_size(
        bm, 0, bdrv_dirty_bitmap_size(bm));

    return DIV_ROUND_UP(bytes, (uint64_t)s->cluster_size);
}

/* Fills bm (all clean) from the table's clusters. */
static int coroutine_fn bitmap_load_data(BlockDriverState *bs,
                                         const uint64_t *table, uint32_t size,
                                         BdrvDirtyBitmap *bm)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t cover = cluster_coverage(s, bm);
    int64_t len = bdrv_dirty_bitmap_size(bm);
    uint8_t *buf;
    uint32_t i;
    int ret = 0;

    if (size != bitmap_table_entries(s, bm)) {
        return -EINVAL;
    }
    buf = qemu_try_blockalign(s->cluster_size);
    if (!buf) {
        return -ENOMEM;
    }
    for (i = 0; i < size; i++) {
        uint64_t data = table[i] & BME_TABLE_ENTRY_OFFSET_MASK;
        int64_t start = (int64_t)(i * cover);
        int64_t bytes = MIN((int64_t)cover, len - start);

        if (data) {
            ret = bdrv_co_pread(bs->file, data, s->cluster_size, buf, 0);
            if (ret < 0) {
                break;
            }
            bdrv_dirty_bitmap_deserialize_part(bm, buf, start, bytes);
        } else if (table[i] & BME_TABLE_ENTRY_FLAG_ALL_ONES) {
            bdrv_set_dirty_bitmap(bm, start, bytes);
        }
    }
    qemu_vfree(buf);
    return ret;
}

/*
 * Writes bm's dirty clusters to new clusters and a new table for them;
 * sets b's table. On failure, what was allocated is freed again.
 */
static int coroutine_fn bitmap_store(BlockDriverState *bs, Qcow2Bitmap *b,
                                     Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    BdrvDirtyBitmap *bm = b->dirty_bitmap;
    uint64_t cover = cluster_coverage(s, bm);
    int64_t len = bdrv_dirty_bitmap_size(bm);
    uint64_t entries = bitmap_table_entries(s, bm);
    uint64_t *table = NULL;
    uint8_t *buf = NULL;
    int64_t offset = 0, table_offset;
    uint64_t i;
    int ret;

    if (entries > BME_MAX_TABLE_SIZE ||
        entries * s->cluster_size > BME_MAX_PHYS_SIZE) {
        error_setg(errp, "Bitmap '%s' is too big", b->name);
        return -EINVAL;
    }
    /*
     * An empty disk has no bitmap table (its entry could not be read
     * back): the reference fails the same way.
     */
    table = entries ? calloc(entries, sizeof(uint64_t)) : NULL;
    buf = qemu_try_blockalign(s->cluster_size);
    if (!table || !buf) {
        error_setg(errp, "No memory");
        ret = -ENOMEM;
        goto fail;
    }

    while ((offset = bdrv_dirty_bitmap_next_dirty(bm, offset, -1)) >= 0) {
        uint64_t cluster = offset / cover;
        int64_t start = cluster * cover;
        int64_t end = MIN(len, (int64_t)(start + cover));
        uint64_t n = bdrv_dirty_bitmap_serialization_size(bm, start,
                                                          end - start);
        int64_t data;

        bdrv_dirty_bitmap_serialize_part(bm, buf, start, end - start);
        memset(buf + n, 0, s->cluster_size - n);
        data = qcow2_alloc_clusters(bs, s->cluster_size);
        if (data < 0) {
            ret = data;
            error_setg_errno(errp, -ret, "Failed to allocate clusters for "
                             "bitmap '%s'", b->name);
            goto fail;
        }
        table[cluster] = data;
        ret = bdrv_co_pwrite(bs->file, data, s->cluster_size, buf, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to write bitmap '%s' to "
                             "file", b->name);
            goto fail;
        }
        offset = end;
    }

    table_offset = qcow2_alloc_clusters(bs, entries * sizeof(uint64_t));
    if (table_offset < 0) {
        ret = table_offset;
        error_setg_errno(errp, -ret, "Failed to allocate clusters for "
                         "bitmap '%s'", b->name);
        goto fail;
    }
    for (i = 0; i < entries; i++) {
        table[i] = cpu_to_be64(table[i]);
    }
    ret = bdrv_co_pwrite(bs->file, table_offset, entries * sizeof(uint64_t),
                         table, 0);
    if (ret < 0) {
        qcow2_free_clusters(bs, table_offset, entries * sizeof(uint64_t),
                            QCOW2_DISCARD_OTHER);
        for (i = 0; i < entries; i++) {
            table[i] = be64_to_cpu(table[i]);
        }
        error_setg_errno(errp, -ret, "Failed to write bitmap '%s' to file",
                         b->name);
        goto fail;
    }
    b->table_offset = table_offset;
    b->table_size = entries;
    free(table);
    qemu_vfree(buf);
    return 0;

fail:
    if (table) {
        for (i = 0; i < entries; i++) {
            if (table[i]) {
                qcow2_free_clusters(bs, table[i], s->cluster_size,
                                    QCOW2_DISCARD_ALWAYS);
            }
        }
    }
    free(table);
    qemu_vfree(buf);
    return ret;
}

/* ---- open and reopen ---------------------------------------------------- */

/* Marks every loaded bitmap in use on disk (the image became writable). */
static int coroutine_fn mark_loaded_in_use(BlockDriverState *bs,
                                           Qcow2BitmapList *l, Error **errp)
{
    bool changed = false;
    int i, ret;

    for (i = 0; i < l->n; i++) {
        Qcow2Bitmap *b = &l->bm[i];
        BdrvDirtyBitmap *bm = bdrv_find_dirty_bitmap(bs, b->name);

        if (!bm || bdrv_dirty_bitmap_inconsistent(bm) ||
            (b->flags & BME_FLAG_IN_USE)) {
            continue;
        }
        b->flags |= BME_FLAG_IN_USE;
        changed = true;
    }
    if (!changed) {
        return 0;
    }
    ret = update_dir_in_place(bs, l);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Can't update bitmap directory");
    }
    return ret;
}

int coroutine_fn qcow2_co_load_dirty_bitmaps(BlockDriverState *bs,
                                             Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2BitmapList l;
    BdrvDirtyBitmap **created;
    int i, ret;

    if (s->nb_bitmaps == 0) {
        return 0;
    }
    ret = bitmap_list_load(bs, &l, errp);
    if (ret < 0) {
        return ret;
    }
    created = xzalloc(l.n * sizeof(*created));
    for (i = 0; i < l.n; i++) {
        Qcow2Bitmap *b = &l.bm[i];
        BdrvDirtyBitmap *bm;

        bm = bdrv_create_dirty_bitmap(bs, 1U << b->granularity_bits, b->name,
                                      errp);
        if (!bm) {
            ret = -EINVAL;
            goto fail;
        }
        created[i] = bm;
        bdrv_dirty_bitmap_set_persistence(bm, true);
        if (b->flags & BME_FLAG_IN_USE) {
            /* Not stored after its last change: its bits mean nothing. */
            bdrv_dirty_bitmap_set_inconsistent(bm);
        } else {
            uint64_t *table;

            ret = bitmap_table_load(bs, b->table_offset, b->table_size,
                                    &table);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Could not read bitmap_table "
                                 "table from image for bitmap '%s'",
                                 b->name);
                goto fail;
            }
            ret = bitmap_load_data(bs, table, b->table_size, bm);
            free(table);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Could not read bitmap '%s' "
                                 "from image", b->name);
                goto fail;
            }
            if (!(b->flags & BME_FLAG_AUTO)) {
                bdrv_disable_dirty_bitmap(bm);
            }
        }
        if (bs->read_only) {
            bdrv_dirty_bitmap_set_readonly(bm, true);
        }
    }
    if (!bs->read_only) {
        ret = mark_loaded_in_use(bs, &l, errp);
        if (ret < 0) {
            goto fail;
        }
    }
    free(created);
    bitmap_list_free(&l);
    return 0;

fail:
    for (i = 0; i < l.n; i++) {
        bdrv_release_dirty_bitmap(created[i]);
    }
    free(created);
    bitmap_list_free(&l);
    return ret;
}

typedef struct Qcow2BitmapCo {
    BlockDriverState *bs;
    const char *name;
    Error **errp;
    int ret;
    bool done;
} Qcow2BitmapCo;

static void coroutine_fn reopen_rw_entry(void *opaque)
{
    Qcow2BitmapCo *c = opaque;
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    Qcow2BitmapList l;

    qemu_co_mutex_lock(&s->lock);
    c->ret = 0;
    if (s->nb_bitmaps) {
        c->ret = bitmap_list_load(bs, &l, c->errp);
        if (c->ret == 0) {
            c->ret = mark_loaded_in_use(bs, &l, c->errp);
            bitmap_list_free(&l);
        }
    }
    qemu_co_mutex_unlock(&s->lock);
    c->done = true;
}

int qcow2_reopen_bitmaps_rw(BlockDriverState *bs, Error **errp)
{
    Qcow2BitmapCo c = { bs, NULL, errp, 0, false };
    BdrvDirtyBitmap *bm;

    bdrv_run_co(reopen_rw_entry, &c, &c.done);
    if (c.ret < 0) {
        /* Not marked: they must not change (nor be stored) then. */
        for (bm = bdrv_dirty_bitmap_first(bs); bm;
             bm = bdrv_dirty_bitmap_next(bm)) {
            if (bdrv_dirty_bitmap_get_persistence(bm)) {
                bdrv_dirty_bitmap_set_readonly(bm, true);
            }
        }
    }
    return c.ret;
}

/* ---- the driver hooks ---------------------------------------------------- */

/* The reference's limits on a bitmap of this image. */
static int check_constraints(BlockDriverState *bs, const char *name,
                             uint32_t granularity, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int granularity_bits = __builtin_ctz(granularity);
    uint64_t len = (uint64_t)bs->total_sectors * BDRV_SECTOR_SIZE;
    uint64_t bits, bytes;

    if (granularity_bits > BME_MAX_GRANULARITY_BITS) {
        error_setg(errp, "Granularity exceeds maximum (%llu bytes)",
                   1ULL << BME_MAX_GRANULARITY_BITS);
        return -EINVAL;
    }
    if (granularity_bits < BME_MIN_GRANULARITY_BITS) {
        error_setg(errp, "Granularity is under minimum (%llu bytes)",
                   1ULL << BME_MIN_GRANULARITY_BITS);
        return -EINVAL;
    }
    bits = DIV_ROUND_UP(len, granularity);
    bytes = DIV_ROUND_UP(bits, 8);
    if (bytes > BME_MAX_PHYS_SIZE ||
        DIV_ROUND_UP(bytes, (uint64_t)s->cluster_size) > BME_MAX_TABLE_SIZE) {
        error_setg(errp, "Too much space will be occupied by the bitmap. "
                   "Use larger granularity");
        return -EINVAL;
    }
    if (strlen(name) > BME_MAX_NAME_SIZE) {
        error_setg(errp, "Name length exceeds maximum (%u characters)",
                   BME_MAX_NAME_SIZE);
        return -EINVAL;
    }
    return 0;
}

static void coroutine_fn can_store_entry(void *opaque)
{
    Qcow2BitmapCo *c = opaque;
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    Qcow2BitmapList l;

    qemu_co_mutex_lock(&s->lock);
    c->ret = bitmap_list_load(bs, &l, c->errp);
    if (c->ret == 0) {
        if (bitmap_list_find(&l, c->name)) {
            error_setg(c->errp, "Bitmap with the same name is already "
                       "stored");
            c->ret = -EEXIST;
        }
        bitmap_list_free(&l);
    }
    qemu_co_mutex_unlock(&s->lock);
    c->done = true;
}

bool qcow2_can_store_new_dirty_bitmap(BlockDriverState *bs, const char *name,
                                      uint32_t granularity, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    Error *err = NULL;

    if (s->qcow_version < 3) {
        error_setg(&err, "Cannot store dirty bitmaps in qcow2 v2 files");
        goto fail;
    }
    if (check_constraints(bs, name, granularity, &err) < 0) {
        goto fail;
    }
    if (s->nb_bitmaps == 0) {
        return true;
    }
    if (s->nb_bitmaps >= QCOW2_MAX_BITMAPS) {
        error_setg(&err, "Maximum number of persistent bitmaps is already "
                   "reached");
        goto fail;
    }
    if (s->bitmap_directory_size + dir_entry_size(strlen(name), 0) >
        QCOW2_MAX_BITMAP_DIRECTORY_SIZE) {
        error_setg(&err, "Not enough space in the bitmap directory");
        goto fail;
    }
    {
        Qcow2BitmapCo c = { bs, name, &err, 0, false };

        bdrv_run_co(can_store_entry, &c, &c.done);
        if (c.ret == 0) {
            return true;
        }
    }
fail:
    error_setg(errp, "Can't make bitmap '%s' persistent in '%s': %s", name,
               bs->node_name, error_get_pretty(err));
    error_free(err);
    return false;
}

static void coroutine_fn remove_entry(void *opaque)
{
    Qcow2BitmapCo *c = opaque;
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    Qcow2BitmapList l;
    Qcow2Bitmap *b;
    uint64_t table_offset;
    uint32_t table_size;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = bitmap_list_load(bs, &l, c->errp);
    if (ret < 0) {
        goto out;
    }
    b = bitmap_list_find(&l, c->name);
    if (!b) {
        /* Not stored yet (added in this session): nothing on disk. */
        bitmap_list_free(&l);
        goto out;
    }
    table_offset = b->table_offset;
    table_size = b->table_size;
    free(b->name);
    memmove(b, b + 1, (l.bm + l.n - (b + 1)) * sizeof(*b));
    l.n--;
    ret = update_dir(bs, &l);
    bitmap_list_free(&l);
    if (ret < 0) {
        error_setg_errno(c->errp, -ret, "Failed to update bitmap extension");
        goto out;
    }
    bitmap_table_free(bs, table_offset, table_size);
out:
    qemu_co_mutex_unlock(&s->lock);
    c->ret = ret;
    c->done = true;
}

int qcow2_remove_persistent_dirty_bitmap(BlockDriverState *bs,
                                         const char *name, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2BitmapCo c = { bs, name, errp, 0, false };

    if (s->nb_bitmaps == 0) {
        return 0;
    }
    bdrv_run_co(remove_entry, &c, &c.done);
    return c.ret;
}

/* Whether bm is one that store writes (invariant 1). */
static bool bitmap_to_store(BdrvDirtyBitmap *bm)
{
    return bdrv_dirty_bitmap_get_persistence(bm) &&
           !bdrv_dirty_bitmap_inconsistent(bm) &&
           !bdrv_dirty_bitmap_readonly(bm) &&
           bdrv_dirty_bitmap_name(bm) != NULL;
}

static void coroutine_fn store_entry(void *opaque)
{
    Qcow2BitmapCo *c = opaque;
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    Error **errp = c->errp;
    Qcow2BitmapList l = { NULL, 0, 0 };
    Qcow2BitmapTable *drop = NULL;
    BdrvDirtyBitmap *bm;
    uint64_t dir_size;
    int n_drop = 0, i, ret = 0;

    qemu_co_mutex_lock(&s->lock);
    if (s->nb_bitmaps) {
        ret = bitmap_list_load(bs, &l, errp);
        if (ret < 0) {
            goto out;
        }
    }
    dir_size = bitmap_list_dir_size(&l);
    drop = xzalloc((l.n + 1) * sizeof(*drop));

    for (bm = bdrv_dirty_bitmap_first(bs); bm;
         bm = bdrv_dirty_bitmap_next(bm)) {
        const char *name = bdrv_dirty_bitmap_name(bm);
        uint32_t granularity = bdrv_dirty_bitmap_granularity(bm);
        Qcow2Bitmap *b;
        Error *err = NULL;

        if (!bitmap_to_store(bm)) {
            continue;
        }
        if (check_constraints(bs, name, granularity, &err) < 0) {
            error_setg(errp, "Bitmap '%s' doesn't satisfy the constraints: "
                       "%s", name, error_get_pretty(err));
            error_free(err);
            ret = -EINVAL;
            goto out;
        }
        b = bitmap_list_find(&l, name);
        if (!b) {
            if (l.n + 1 > QCOW2_MAX_BITMAPS) {
                error_setg(errp, "Too many persistent bitmaps");
                ret = -EINVAL;
                goto out;
            }
            dir_size += dir_entry_size(strlen(name), 0);
            if (dir_size > QCOW2_MAX_BITMAP_DIRECTORY_SIZE) {
                error_setg(errp, "Bitmap directory is too large");
                ret = -EINVAL;
                goto out;
            }
            b = bitmap_list_add(&l);
            b->name = xstrdup(name);
        } else {
            if (!(b->flags & BME_FLAG_IN_USE)) {
                /* Someone else's bitmap of the same name: not ours. */
                error_setg(errp, "Bitmap '%s' already exists in the image",
                           name);
                ret = -EINVAL;
                goto out;
            }
            drop = xrealloc(drop, (n_drop + 1) * sizeof(*drop));
            drop[n_drop].offset = b->table_offset;
            drop[n_drop].size = b->table_size;
            n_drop++;
            b->table_offset = 0;
            b->table_size = 0;
        }
        b->flags = bdrv_dirty_bitmap_enabled(bm) ? BME_FLAG_AUTO : 0;
        b->granularity_bits = __builtin_ctz(granularity);
        b->dirty_bitmap = bm;
    }

    for (i = 0; i < l.n; i++) {
        if (l.bm[i].dirty_bitmap) {
            ret = bitmap_store(bs, &l.bm[i], errp);
            if (ret < 0) {
                goto undo;
            }
        }
    }
    ret = update_dir(bs, &l);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to update bitmap extension");
        goto undo;
    }
    /* The new directory is in place: the old tables go. */
    for (i = 0; i < n_drop; i++) {
        bitmap_table_free(bs, drop[i].offset, drop[i].size);
    }
    goto out;

undo:
    for (i = 0; i < l.n; i++) {
        if (l.bm[i].dirty_bitmap && l.bm[i].table_offset) {
            bitmap_table_free(bs, l.bm[i].table_offset, l.bm[i].table_size);
        }
    }
out:
    free(drop);
    bitmap_list_free(&l);
    qemu_co_mutex_unlock(&s->lock);
    c->ret = ret;
    c->done = true;
}

int qcow2_store_persistent_dirty_bitmaps(BlockDriverState *bs, Error **errp)
{
    Error *err = NULL;
    Qcow2BitmapCo c = { bs, NULL, &err, 0, false };
    BdrvDirtyBitmap *bm;
    bool any = false;

    for (bm = bdrv_dirty_bitmap_first(bs); bm;
         bm = bdrv_dirty_bitmap_next(bm)) {
        any |= bitmap_to_store(bm);
    }
    if (!any) {
        /* Nothing changed on disk since the open (in use ones stay so). */
        return 0;
    }
    bdrv_run_co(store_entry, &c, &c.done);
    if (c.ret < 0 && !errp) {
        /*
         * At close nobody else can say it (the core passes no errp); the
         * bitmaps stay in use on disk. The reference's words.
         */
        error_report("Lost persistent bitmaps during inactivation of node "
                     "'%s': %s", bs->node_name, error_get_pretty(err));
    }
    error_propagate(errp, err);
    return c.ret;
}

int coroutine_fn qcow2_co_truncate_bitmaps_check(BlockDriverState *bs,
                                                 Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2BitmapList l;
    int i, ret;

    if (s->nb_bitmaps == 0) {
        return 0;
    }
    ret = bitmap_list_load(bs, &l, errp);
    if (ret < 0) {
        return ret;
    }
    for (i = 0; i < l.n && ret == 0; i++) {
        BdrvDirtyBitmap *bm = bdrv_find_dirty_bitmap(bs, l.bm[i].name);

        if (!bm) {
            error_setg(errp, "Cannot resize qcow2 with persistent bitmaps "
                       "that were not loaded into memory");
            ret = -ENOTSUP;
        } else if (bdrv_dirty_bitmap_readonly(bm)) {
            error_setg(errp, "Bitmap '%s' is readonly and cannot be "
                       "modified", l.bm[i].name);
            ret = -EPERM;
        } else if (bdrv_dirty_bitmap_inconsistent(bm)) {
            error_setg(errp, "Bitmap '%s' is inconsistent and cannot be "
                       "used", l.bm[i].name);
            error_append_hint(errp, "Try block-dirty-bitmap-remove to delete "
                              "this bitmap from disk\n");
            ret = -EINVAL;
        }
    }
    bitmap_list_free(&l);
    return ret;
}

uint64_t qcow2_measure_bitmaps(BlockDriverState *in_bs, uint64_t cluster_size)
{
    BdrvDirtyBitmap *bm;
    uint64_t size = 0, dir_size = 0;

    for (bm = bdrv_dirty_bitmap_first(in_bs); bm;
         bm = bdrv_dirty_bitmap_next(bm)) {
        uint64_t bits, clusters;

        if (!bdrv_dirty_bitmap_get_persistence(bm) ||
            !bdrv_dirty_bitmap_name(bm)) {
            continue;
        }
        bits = DIV_ROUND_UP((uint64_t)bdrv_dirty_bitmap_size(bm),
                            bdrv_dirty_bitmap_granularity(bm));
        clusters = DIV_ROUND_UP(DIV_ROUND_UP(bits, 8), cluster_size);
        /* Every data cluster allocated, the table, the directory entry. */
        size += clusters * cluster_size;
        size += ROUND_UP(clusters * sizeof(uint64_t), cluster_size);
        dir_size += dir_entry_size(strlen(bdrv_dirty_bitmap_name(bm)), 0);
    }
    return size + ROUND_UP(dir_size, cluster_size);
}
