/*
 * qcow2 cluster mapping: the L1 table, L2 slices, allocation for writes,
 * zero clusters and discard.
 *
 * Callers hold s->lock unless a function says otherwise.
 */
#include "config-host.h"

#include "util/bswap.h"
#include "qcow2.h"

/* Entries of the L1 table written together (one 512-byte sector). */
#define L1_ENTRIES_PER_SECTOR (512 / 8)

QCow2SubclusterType qcow2_get_subcluster_type(BlockDriverState *bs,
                                              uint64_t l2_entry,
                                              uint64_t l2_bitmap,
                                              unsigned int sc_index)
{
    BDRVQcow2State *s = bs->opaque;
    QCow2ClusterType type = qcow2_get_cluster_type(bs, l2_entry);

    if (has_subclusters(s)) {
        uint64_t alloc = 1ULL << sc_index;
        uint64_t zero = alloc << 32;

        switch (type) {
        case QCOW2_CLUSTER_COMPRESSED:
            return QCOW2_SUBCLUSTER_COMPRESSED;
        case QCOW2_CLUSTER_NORMAL:
            if ((l2_bitmap >> 32) & l2_bitmap) {
                return QCOW2_SUBCLUSTER_INVALID;
            } else if (l2_bitmap & zero) {
                return QCOW2_SUBCLUSTER_ZERO_ALLOC;
            } else if (l2_bitmap & alloc) {
                return QCOW2_SUBCLUSTER_NORMAL;
            }
            return QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC;
        case QCOW2_CLUSTER_UNALLOCATED:
            if (l2_bitmap & QCOW_L2_BITMAP_ALL_ALLOC) {
                return QCOW2_SUBCLUSTER_INVALID;
            } else if (l2_bitmap & zero) {
                return QCOW2_SUBCLUSTER_ZERO_PLAIN;
            }
            return QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN;
        default:
            return QCOW2_SUBCLUSTER_INVALID;
        }
    }

    switch (type) {
    case QCOW2_CLUSTER_COMPRESSED:
        return QCOW2_SUBCLUSTER_COMPRESSED;
    case QCOW2_CLUSTER_ZERO_PLAIN:
        return QCOW2_SUBCLUSTER_ZERO_PLAIN;
    case QCOW2_CLUSTER_ZERO_ALLOC:
        return QCOW2_SUBCLUSTER_ZERO_ALLOC;
    case QCOW2_CLUSTER_NORMAL:
        return QCOW2_SUBCLUSTER_NORMAL;
    default:
        return QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN;
    }
}

void qcow2_parse_compressed_l2_entry(BlockDriverState *bs, uint64_t l2_entry,
                                     uint64_t *coffset, int *csize)
{
    BDRVQcow2State *s = bs->opaque;
    int nb_csectors;

    *coffset = l2_entry & s->cluster_offset_mask;
    nb_csectors = ((l2_entry >> s->csize_shift) & s->csize_mask) + 1;
    *csize = nb_csectors * BDRV_SECTOR_SIZE -
             (*coffset & (BDRV_SECTOR_SIZE - 1));
}

/* ---- L1 table --------------------------------------------------------- */

int coroutine_fn qcow2_write_l1_entry(BlockDriverState *bs, int l1_index)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t buf[L1_ENTRIES_PER_SECTOR] = { 0 };
    int l1_start_index;
    int i, n;

    l1_start_index = ROUND_DOWN(l1_index, L1_ENTRIES_PER_SECTOR);
    n = MIN(L1_ENTRIES_PER_SECTOR, s->l1_size - l1_start_index);
    {
        /* A table outside the file is corrupt metadata: never extend it. */
        int64_t file_len = bdrv_co_getlength(bs->file->bs);

        if (file_len < 0 || s->l1_table_offset +
            8 * (uint64_t)(l1_start_index + n) > (uint64_t)file_len) {
            qcow2_signal_corruption(bs, true, -1, -1, "L1 table offset %#"
                                    PRIx64 " lies outside the image file",
                                    s->l1_table_offset);
            return -EIO;
        }
    }
    for (i = 0; i < n; i++) {
        buf[i] = cpu_to_be64(s->l1_table[l1_start_index + i]);
    }
    BLKDBG_EVENT(bs->file, BLKDBG_L1_UPDATE);
    return bdrv_co_pwrite(bs->file, s->l1_table_offset +
                          8 * (int64_t)l1_start_index, 8 * n, buf, 0);
}

/*
 * Makes the L1 table hold at least min_size entries. exact_size takes
 * exactly that many; otherwise the table grows by half again per step.
 * The new table goes at a newly allocated place; the old one is freed.
 */
int coroutine_fn qcow2_grow_l1_table(BlockDriverState *bs, uint64_t min_size,
                                     bool exact_size)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t new_l1_size, new_l1_size2;
    int64_t new_l1_table_offset;
    uint64_t *new_l1_table;
    uint8_t data[12];
    int64_t i;
    int ret;

    if (min_size <= (uint64_t)s->l1_size) {
        return 0;
    }
    if (exact_size) {
        new_l1_size = min_size;
    } else {
        new_l1_size = s->l1_size;
        if (new_l1_size == 0) {
            new_l1_size = 1;
        }
        while (min_size > (uint64_t)new_l1_size) {
            new_l1_size = DIV_ROUND_UP(new_l1_size * 3, 2);
        }
    }
    if (new_l1_size > QCOW_MAX_L1_SIZE / (int64_t)sizeof(uint64_t)) {
        return -EFBIG;
    }

    new_l1_size2 = sizeof(uint64_t) * new_l1_size;
    new_l1_table = qemu_try_blockalign(ROUND_UP(new_l1_size2, 512));
    if (!new_l1_table) {
        return -ENOMEM;
    }
    memset(new_l1_table, 0, ROUND_UP(new_l1_size2, 512));
    if (s->l1_size) {
        memcpy(new_l1_table, s->l1_table, s->l1_size * sizeof(uint64_t));
    }

    /* The new table's refcounts reach the disk before the header names it. */
    BLKDBG_EVENT(bs->file, BLKDBG_L1_GROW_ALLOC_TABLE);
    ret = qcow2_cache_flush(bs, s->l2_table_cache);
    if (ret < 0) {
        goto fail;
    }
    new_l1_table_offset = qcow2_alloc_clusters(bs, new_l1_size2);
    if (new_l1_table_offset < 0) {
        qemu_vfree(new_l1_table);
        return new_l1_table_offset;
    }
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret < 0) {
        goto fail_free;
    }

    for (i = 0; i < s->l1_size; i++) {
        new_l1_table[i] = cpu_to_be64(new_l1_table[i]);
    }
    BLKDBG_EVENT(bs->file, BLKDBG_L1_GROW_WRITE_TABLE);
    ret = bdrv_co_pwrite(bs->file, new_l1_table_offset, new_l1_size2,
                         new_l1_table, 0);
    if (ret < 0) {
        goto fail_free;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        goto fail_free;
    }
    for (i = 0; i < s->l1_size; i++) {
        new_l1_table[i] = be64_to_cpu(new_l1_table[i]);
    }

    stbe32(data, new_l1_size);
    stbe64(data + 4, new_l1_table_offset);
    BLKDBG_EVENT(bs->file, BLKDBG_L1_GROW_ACTIVATE_TABLE);
    ret = bdrv_co_pwrite(bs->file, 36, sizeof(data), data, 0);
    if (ret < 0) {
        goto fail_free;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        goto fail_free;
    }

    qemu_vfree(s->l1_table);
    if (s->l1_size) {
        qcow2_free_clusters(bs, s->l1_table_offset,
                            s->l1_size * sizeof(uint64_t),
                            QCOW2_DISCARD_OTHER);
    }
    s->l1_table_offset = new_l1_table_offset;
    s->l1_table = new_l1_table;
    s->l1_size = new_l1_size;
    return 0;

fail_free:
    qcow2_free_clusters(bs, new_l1_table_offset, new_l1_size2,
                        QCOW2_DISCARD_OTHER);
fail:
    qemu_vfree(new_l1_table);
    return ret;
}

/* ---- L2 slices ----------------------------------------------------------- */

static int coroutine_fn l2_load(BlockDriverState *bs, uint64_t offset,
                                uint64_t l2_offset, uint64_t **l2_slice)
{
    BDRVQcow2State *s = bs->opaque;
    int start_of_slice = l2_entry_size(s) *
        (offset_to_l2_index(s, offset) - offset_to_l2_slice_index(s, offset));

    return qcow2_cache_get(bs, s->l2_table_cache, l2_offset + start_of_slice,
                           (void **)l2_slice);
}

/*
 * Gives L1 entry l1_index a new L2 table: zeroed, or a copy of the old one
 * (which is shared with a snapshot). The table reaches the disk before the
 * L1 entry points to it.
 */
static int coroutine_fn l2_allocate(BlockDriverState *bs, int l1_index)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_l2_offset;
    uint64_t *l2_slice = NULL;
    unsigned slice, slice_size2, n_slices;
    int64_t l2_offset;
    int ret;

    old_l2_offset = s->l1_table[l1_index];
    l2_offset = qcow2_alloc_clusters(bs, s->l2_size * l2_entry_size(s));
    if (l2_offset < 0) {
        return l2_offset;
    }
    if (l2_offset == 0) {
        qcow2_signal_corruption(bs, true, -1, -1, "Preventing invalid "
                                "allocation of L2 table at offset 0");
        return -EIO;
    }

    /* The refcount of the new table is written before the table is used. */
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret < 0) {
        goto fail;
    }

    slice_size2 = s->l2_slice_size * l2_entry_size(s);
    n_slices = s->cluster_size / slice_size2;
    for (slice = 0; slice < n_slices; slice++) {
        ret = qcow2_cache_get_empty(bs, s->l2_table_cache,
                                    l2_offset + slice * slice_size2,
                                    (void **)&l2_slice);
        if (ret < 0) {
            goto fail;
        }
        if ((old_l2_offset & L1E_OFFSET_MASK) == 0) {
            memset(l2_slice, 0, slice_size2);
        } else {
            uint64_t *old_slice;
            uint64_t old_l2_slice_offset =
                (old_l2_offset & L1E_OFFSET_MASK) + slice * slice_size2;

            BLKDBG_EVENT(bs->file, BLKDBG_L2_ALLOC_COW_READ);
            ret = qcow2_cache_get(bs, s->l2_table_cache, old_l2_slice_offset,
                                  (void **)&old_slice);
            if (ret < 0) {
                qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
                goto fail;
            }
            memcpy(l2_slice, old_slice, slice_size2);
            qcow2_cache_put(s->l2_table_cache, (void **)&old_slice);
        }
        qcow2_cache_entry_mark_dirty(s->l2_table_cache, l2_slice);
        qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
    }

    BLKDBG_EVENT(bs->file, BLKDBG_L2_ALLOC_WRITE);
    ret = qcow2_cache_flush(bs, s->l2_table_cache);
    if (ret < 0) {
        goto fail;
    }

    s->l1_table[l1_index] = l2_offset | QCOW_OFLAG_COPIED;
    ret = qcow2_write_l1_entry(bs, l1_index);
    if (ret < 0) {
        goto fail;
    }
    return 0;

fail:
    s->l1_table[l1_index] = old_l2_offset;
    if (l2_offset > 0) {
        qcow2_free_clusters(bs, l2_offset, s->l2_size * l2_entry_size(s),
                            QCOW2_DISCARD_OTHER);
    }
    return ret;
}

int coroutine_fn qcow2_get_l2_slice(BlockDriverState *bs, uint64_t offset,
                                    uint64_t **l2_slice, int *l2_index)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1_index = offset_to_l1_index(s, offset);
    uint64_t l2_offset;
    int ret;

    if (l1_index >= (uint64_t)s->l1_size) {
        *l2_slice = NULL;
        return 0;
    }
    l2_offset = s->l1_table[l1_index] & L1E_OFFSET_MASK;
    if (!l2_offset) {
        *l2_slice = NULL;
        return 0;
    }
    if (offset_into_cluster(s, l2_offset)) {
        qcow2_signal_corruption(bs, true, -1, -1, "L2 table offset %#" PRIx64
                                " unaligned (L1 index: %#" PRIx64 ")",
                                l2_offset, l1_index);
        return -EIO;
    }
    ret = l2_load(bs, offset, l2_offset, l2_slice);
    if (ret < 0) {
        return ret;
    }
    *l2_index = offset_to_l2_slice_index(s, offset);
    return 0;
}

/*
 * The L2 slice for writing guest offset: allocates the L2 table (or copies
 * a shared one) if needed.
 */
static int coroutine_fn get_cluster_table(BlockDriverState *bs,
                                          uint64_t offset,
                                          uint64_t **new_l2_slice,
                                          int *new_l2_index)
{
    BDRVQcow2State *s = bs->opaque;
    unsigned int l1_index;
    uint64_t l2_offset;
    int ret;

    l1_index = offset_to_l1_index(s, offset);
    if (l1_index >= (unsigned int)s->l1_size) {
        ret = qcow2_grow_l1_table(bs, l1_index + 1, false);
        if (ret < 0) {
            return ret;
        }
    }
    assert(l1_index < (unsigned int)s->l1_size);
    l2_offset = s->l1_table[l1_index] & L1E_OFFSET_MASK;
    if (offset_into_cluster(s, l2_offset)) {
        qcow2_signal_corruption(bs, true, -1, -1, "L2 table offset %#" PRIx64
                                " unaligned (L1 index: %#x)", l2_offset,
                                l1_index);
        return -EIO;
    }

    if (!(s->l1_table[l1_index] & QCOW_OFLAG_COPIED)) {
        ret = l2_allocate(bs, l1_index);
        if (ret < 0) {
            return ret;
        }
        /* The old table is still used by a snapshot: drop our reference. */
        if (l2_offset) {
            qcow2_free_clusters(bs, l2_offset,
                                s->l2_size * l2_entry_size(s),
                                QCOW2_DISCARD_OTHER);
        }
        l2_offset = s->l1_table[l1_index] & L1E_OFFSET_MASK;
    }

    ret = l2_load(bs, offset, l2_offset, new_l2_slice);
    if (ret < 0) {
        return ret;
    }
    *new_l2_index = offset_to_l2_slice_index(s, offset);
    return 0;
}

/* ---- lookups ----------------------------------------------------------- */

/*
 * How many subclusters from sc_from on (in the slice from l2_index on, at
 * most nb_clusters clusters) have the type of the first, with contiguous
 * host offsets where they have one. Returns -EIO on an invalid entry.
 */
static int count_contiguous_subclusters(BlockDriverState *bs, int nb_clusters,
                                        unsigned sc_index, uint64_t *l2_slice,
                                        unsigned *l2_index)
{
    BDRVQcow2State *s = bs->opaque;
    int i, count = 0;
    bool check_offset = false;
    uint64_t expected_offset = 0;
    QCow2SubclusterType expected_type = QCOW2_SUBCLUSTER_NORMAL, type;

    assert(*l2_index + nb_clusters <= (unsigned)s->l2_slice_size);
    for (i = 0; i < nb_clusters; i++) {
        unsigned first_sc = (i == 0) ? sc_index : 0;
        uint64_t l2_entry = get_l2_entry(s, l2_slice, *l2_index + i);
        uint64_t l2_bitmap = get_l2_bitmap(s, l2_slice, *l2_index + i);
        unsigned j;

        if (i == 0) {
            if (l2_entry & QCOW_OFLAG_COMPRESSED) {
                /* Compressed clusters are one unit each. */
                return s->subclusters_per_cluster - sc_index;
            }
            type = qcow2_get_subcluster_type(bs, l2_entry, l2_bitmap,
                                             first_sc);
            if (type == QCOW2_SUBCLUSTER_INVALID) {
                return -EIO;
            }
            expected_type = type;
            expected_offset = l2_entry & L2E_OFFSET_MASK;
            check_offset = (type == QCOW2_SUBCLUSTER_NORMAL ||
                            type == QCOW2_SUBCLUSTER_ZERO_ALLOC ||
                            type == QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC);
        } else if (check_offset &&
                   (l2_entry & L2E_OFFSET_MASK) != expected_offset) {
            break;
        }
        for (j = first_sc; j < (unsigned)s->subclusters_per_cluster; j++) {
            type = qcow2_get_subcluster_type(bs, l2_entry, l2_bitmap, j);
            if (type == QCOW2_SUBCLUSTER_INVALID && i == 0) {
                return -EIO;
            }
            if (type != expected_type) {
                goto out;
            }
            count++;
        }
        if (check_offset) {
            expected_offset += s->cluster_size;
        }
    }
out:
    return count;
}

int coroutine_fn qcow2_get_host_offset(BlockDriverState *bs, uint64_t offset,
                                       unsigned int *bytes,
                                       uint64_t *host_offset,
                                       QCow2SubclusterType *subcluster_type)
{
    BDRVQcow2State *s = bs->opaque;
    unsigned int l2_index, sc_index;
    uint64_t l1_index, l2_offset, *l2_slice;
    uint64_t l2_entry, l2_bitmap;
    int sc;
    unsigned int offset_in_cluster;
    uint64_t bytes_available, bytes_needed, nb_clusters;
    QCow2SubclusterType type;
    int ret;

    offset_in_cluster = offset_into_cluster(s, offset);
    bytes_needed = (uint64_t)*bytes + offset_in_cluster;

    /* Never look past the end of the slice. */
    bytes_available = ((uint64_t)(s->l2_slice_size -
                                  offset_to_l2_slice_index(s, offset))) <<
                      s->cluster_bits;
    if (bytes_needed > bytes_available) {
        bytes_needed = bytes_available;
    }

    *host_offset = 0;

    l1_index = offset_to_l1_index(s, offset);
    if (l1_index >= (uint64_t)s->l1_size) {
        type = QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN;
        goto out;
    }
    l2_offset = s->l1_table[l1_index] & L1E_OFFSET_MASK;
    if (!l2_offset) {
        type = QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN;
        goto out;
    }
    if (offset_into_cluster(s, l2_offset)) {
        qcow2_signal_corruption(bs, true, -1, -1, "L2 table offset %#" PRIx64
                                " unaligned (L1 index: %#" PRIx64 ")",
                                l2_offset, l1_index);
        return -EIO;
    }

    ret = l2_load(bs, offset, l2_offset, &l2_slice);
    if (ret < 0) {
        return ret;
    }

    l2_index = offset_to_l2_slice_index(s, offset);
    sc_index = offset_to_sc_index(s, offset);
    l2_entry = get_l2_entry(s, l2_slice, l2_index);
    l2_bitmap = get_l2_bitmap(s, l2_slice, l2_index);

    nb_clusters = size_to_clusters(s, bytes_needed);
    type = qcow2_get_subcluster_type(bs, l2_entry, l2_bitmap, sc_index);
    if (s->qcow_version < 3 && (type == QCOW2_SUBCLUSTER_ZERO_PLAIN ||
                                type == QCOW2_SUBCLUSTER_ZERO_ALLOC)) {
        qcow2_signal_corruption(bs, true, -1, -1, "Zero cluster entry found"
                                " in pre-v3 image (L2 offset: %#" PRIx64
                                ", L2 index: %#x)", l2_offset, l2_index);
        ret = -EIO;
        goto fail;
    }
    switch (type) {
    case QCOW2_SUBCLUSTER_INVALID:
        qcow2_signal_corruption(bs, true, -1, -1, "Invalid cluster entry "
                                "found (L2 offset: %#" PRIx64 ", L2 index: "
                                "%#x)", l2_offset, l2_index);
        ret = -EIO;
        goto fail;
    case QCOW2_SUBCLUSTER_COMPRESSED:
        if (has_data_file(bs)) {
            qcow2_signal_corruption(bs, true, -1, -1, "Compressed cluster "
                                    "entry found in image with external data "
                                    "file (L2 offset: %#" PRIx64 ", L2 index: "
                                    "%#x)", l2_offset, l2_index);
            ret = -EIO;
            goto fail;
        }
        *host_offset = l2_entry;
        break;
    case QCOW2_SUBCLUSTER_ZERO_PLAIN:
    case QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN:
        break;
    case QCOW2_SUBCLUSTER_ZERO_ALLOC:
    case QCOW2_SUBCLUSTER_NORMAL:
    case QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC: {
        uint64_t host_cluster_offset = l2_entry & L2E_OFFSET_MASK;

        *host_offset = host_cluster_offset + offset_in_cluster;
        if (offset_into_cluster(s, host_cluster_offset)) {
            qcow2_signal_corruption(bs, true, -1, -1, "Cluster allocation "
                                    "offset %#" PRIx64 " unaligned (L2 "
                                    "offset: %#" PRIx64 ", L2 index: %#x)",
                                    host_cluster_offset, l2_offset, l2_index);
            ret = -EIO;
            goto fail;
        }
        if (has_data_file(bs) && *host_offset != offset) {
            qcow2_signal_corruption(bs, true, -1, -1, "External data file "
                                    "host cluster offset %#" PRIx64 " does "
                                    "not match guest cluster offset: %#"
                                    PRIx64 ", L2 index: %#x)",
                                    host_cluster_offset,
                                    offset - offset_in_cluster, l2_index);
            ret = -EIO;
            goto fail;
        }
        break;
    }
    default:
        abort();
    }

    sc = count_contiguous_subclusters(bs, nb_clusters, sc_index, l2_slice,
                                      &l2_index);
    if (sc < 0) {
        qcow2_signal_corruption(bs, true, -1, -1, "Invalid cluster entry "
                                " found (L2 offset: %#" PRIx64 ", L2 index: "
                                "%#x)", l2_offset, l2_index);
        ret = -EIO;
        goto fail;
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);

    bytes_available = ((int64_t)sc + sc_index) << s->subcluster_bits;

out:
    if (bytes_available > bytes_needed) {
        bytes_available = bytes_needed;
    }
    assert(bytes_available - offset_in_cluster <= UINT_MAX);
    *bytes = bytes_available - offset_in_cluster;
    *subcluster_type = type;
    return 0;

fail:
    qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
    return ret;
}

/* ---- allocation for writes --------------------------------------------- */

/*
 * Waits for allocating writes in flight that touch the clusters of
 * [guest_offset, +*cur_bytes), or shortens *cur_bytes to stop before them.
 * Returns -EAGAIN after waiting (the caller looks again).
 */
static int coroutine_fn handle_dependencies(BlockDriverState *bs,
                                            uint64_t guest_offset,
                                            uint64_t *cur_bytes)
{
    BDRVQcow2State *s = bs->opaque;
    QCowL2Meta *old_alloc;
    uint64_t bytes = *cur_bytes;

    LIST_FOREACH(old_alloc, &s->cluster_allocs, next_in_flight) {
        uint64_t start = guest_offset;
        uint64_t end = start + bytes;
        uint64_t old_start = start_of_cluster(s, l2meta_cow_start(old_alloc));
        uint64_t old_end = ROUND_UP(l2meta_cow_end(old_alloc),
                                    s->cluster_size);

        if (end <= old_start || start >= old_end) {
            continue;
        }
        if (start < old_start) {
            bytes = old_start - start;
        } else {
            bytes = 0;
        }
        if (bytes == 0) {
            qemu_co_queue_wait(&old_alloc->dependent_requests, &s->lock);
            return -EAGAIN;
        }
    }
    *cur_bytes = bytes;
    return 0;
}

/* Can the cluster with this entry be written in place (no L2 change)? */
static bool cluster_needs_new_alloc(BlockDriverState *bs, uint64_t l2_entry)
{
    switch (qcow2_get_cluster_type(bs, l2_entry)) {
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        return !(l2_entry & QCOW_OFLAG_COPIED);
    default:
        return true;
    }
}

/*
 * True if the write of [offset_in_cluster, +bytes) into this cluster needs
 * no metadata update: the cluster is ours (COPIED), and every subcluster the
 * write touches already holds data.
 */
static bool write_in_place(BlockDriverState *bs, uint64_t l2_entry,
                           uint64_t l2_bitmap, uint64_t off, uint64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    unsigned first, last, i;

    if (qcow2_get_cluster_type(bs, l2_entry) != QCOW2_CLUSTER_NORMAL ||
        !(l2_entry & QCOW_OFLAG_COPIED)) {
        return false;
    }
    if (!has_subclusters(s)) {
        return true;
    }
    first = off >> s->subcluster_bits;
    last = (off + bytes - 1) >> s->subcluster_bits;
    for (i = first; i <= last; i++) {
        if (qcow2_get_subcluster_type(bs, l2_entry, l2_bitmap, i) !=
            QCOW2_SUBCLUSTER_NORMAL) {
            return false;
        }
    }
    return true;
}

static void add_l2meta(BlockDriverState *bs, QCowL2Meta **m,
                       uint64_t guest_offset, uint64_t host_offset,
                       int nb_clusters, bool keep_old,
                       uint64_t cow_start_from, uint64_t data_start,
                       uint64_t data_end, uint64_t cow_end_to)
{
    BDRVQcow2State *s = bs->opaque;
    QCowL2Meta *meta = xzalloc(sizeof(*meta));

    (void)s;
    meta->offset = guest_offset;
    meta->alloc_offset = host_offset;
    meta->nb_clusters = nb_clusters;
    meta->keep_old_clusters = keep_old;
    meta->cow_start.offset = cow_start_from;
    meta->cow_start.nb_bytes = data_start - cow_start_from;
    meta->cow_end.offset = data_end;
    meta->cow_end.nb_bytes = cow_end_to - data_end;
    qemu_co_queue_init(&meta->dependent_requests);
    LIST_INSERT_HEAD(&s->cluster_allocs, meta, next_in_flight);
    meta->next = *m;
    *m = meta;
}

/*
 * The COW range in the first and last cluster of an allocation: with
 * subclusters only the touched subclusters of clusters that held no data,
 * else whole clusters.
 */
static void cow_bounds(BlockDriverState *bs, uint64_t first_entry,
                       uint64_t first_bitmap, uint64_t last_entry,
                       uint64_t last_bitmap, uint64_t data_start,
                       uint64_t data_end, uint64_t total,
                       uint64_t *cow_start, uint64_t *cow_end)
{
    BDRVQcow2State *s = bs->opaque;
    QCow2ClusterType t;

    *cow_start = 0;
    *cow_end = total;
    if (!has_subclusters(s)) {
        return;
    }
    t = qcow2_get_cluster_type(bs, first_entry);
    if (t != QCOW2_CLUSTER_NORMAL && t != QCOW2_CLUSTER_COMPRESSED) {
        *cow_start = ROUND_DOWN(data_start, s->subcluster_size);
    } else if (t == QCOW2_CLUSTER_NORMAL && (first_entry & QCOW_OFLAG_COPIED)) {
        *cow_start = ROUND_DOWN(data_start, s->subcluster_size);
    }
    t = qcow2_get_cluster_type(bs, last_entry);
    if (t != QCOW2_CLUSTER_NORMAL && t != QCOW2_CLUSTER_COMPRESSED) {
        *cow_end = ROUND_UP(data_end, s->subcluster_size);
    } else if (t == QCOW2_CLUSTER_NORMAL && (last_entry & QCOW_OFLAG_COPIED)) {
        *cow_end = ROUND_UP(data_end, s->subcluster_size);
    }
    (void)first_bitmap;
    (void)last_bitmap;
}

int coroutine_fn qcow2_alloc_host_offset(BlockDriverState *bs,
                                         uint64_t offset,
                                         unsigned int *bytes,
                                         uint64_t *host_offset,
                                         QCowL2Meta **m)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t cur_bytes, hint = *host_offset;
    uint64_t *l2_slice = NULL;
    uint64_t l2_entry, l2_bitmap, first_entry, first_bitmap;
    uint64_t off_in_cluster, nb_clusters, i, n, max_clusters;
    uint64_t alloc_offset, data_start, data_end, cow_start, cow_end;
    uint64_t last_entry, last_bitmap;
    int l2_index;
    bool keep_old;
    int ret;

    *m = NULL;
again:
    cur_bytes = *bytes;
    ret = handle_dependencies(bs, offset, &cur_bytes);
    if (ret == -EAGAIN) {
        goto again;
    }
    assert(cur_bytes > 0);

    ret = get_cluster_table(bs, offset, &l2_slice, &l2_index);
    if (ret < 0) {
        return ret;
    }

    off_in_cluster = offset_into_cluster(s, offset);
    max_clusters = MIN((uint64_t)(s->l2_slice_size - l2_index),
                       size_to_clusters(s, off_in_cluster + cur_bytes));
    first_entry = l2_entry = get_l2_entry(s, l2_slice, l2_index);
    first_bitmap = l2_bitmap = get_l2_bitmap(s, l2_slice, l2_index);

    /* A cluster of ours must start at a cluster boundary of the file. */
    if ((l2_entry & QCOW_OFLAG_COPIED) &&
        (qcow2_get_cluster_type(bs, l2_entry) == QCOW2_CLUSTER_NORMAL ||
         qcow2_get_cluster_type(bs, l2_entry) == QCOW2_CLUSTER_ZERO_ALLOC) &&
        offset_into_cluster(s, l2_entry & L2E_OFFSET_MASK)) {
        bool zero = qcow2_get_cluster_type(bs, l2_entry) ==
                    QCOW2_CLUSTER_ZERO_ALLOC;

        qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
        qcow2_signal_corruption(bs, true, -1, -1, "%s offset %#" PRIx64
                                " unaligned (guest offset: %#" PRIx64 ")",
                                zero ? "Preallocated zero cluster"
                                     : "Data cluster",
                                (uint64_t)(l2_entry & L2E_OFFSET_MASK),
                                (uint64_t)offset);
        return -EIO;
    }

    /* In place: as many clusters as are ours and contiguous on the host. */
    if (write_in_place(bs, l2_entry, l2_bitmap, off_in_cluster,
                       MIN(cur_bytes, s->cluster_size - off_in_cluster))) {
        uint64_t host = l2_entry & L2E_OFFSET_MASK;

        for (n = 1; n < max_clusters; n++) {
            uint64_t e = get_l2_entry(s, l2_slice, l2_index + n);
            uint64_t b = get_l2_bitmap(s, l2_slice, l2_index + n);
            uint64_t len = MIN((uint64_t)s->cluster_size,
                               off_in_cluster + cur_bytes -
                               (n << s->cluster_bits));

            if ((e & L2E_OFFSET_MASK) != host + (n << s->cluster_bits) ||
                !write_in_place(bs, e, b, 0, len)) {
                break;
            }
        }
        qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
        *host_offset = host + off_in_cluster;
        *bytes = MIN(cur_bytes, (n << s->cluster_bits) - off_in_cluster);
        if (has_data_file(bs) &&
            host != (uint64_t)start_of_cluster(s, offset)) {
            qcow2_signal_corruption(bs, true, -1, -1, "External data file "
                                    "host cluster offset %#" PRIx64 " does "
                                    "not match guest cluster offset: %#"
                                    PRIx64, host, start_of_cluster(s, offset));
            return -EIO;
        }
        return 0;
    }

    /*
     * New allocation. A cluster that is ours but lacks data in some
     * subclusters, or a preallocated zero cluster, keeps its host cluster.
     */
    keep_old = false;
    if ((qcow2_get_cluster_type(bs, l2_entry) == QCOW2_CLUSTER_NORMAL ||
         qcow2_get_cluster_type(bs, l2_entry) == QCOW2_CLUSTER_ZERO_ALLOC) &&
        (l2_entry & QCOW_OFLAG_COPIED)) {
        keep_old = true;
        nb_clusters = 1;
    } else if (has_data_file(bs)) {
        /* Guest and host offsets are the same in an external data file. */
        keep_old = true;
        nb_clusters = 1;
    } else {
        for (nb_clusters = 1; nb_clusters < max_clusters; nb_clusters++) {
            uint64_t e = get_l2_entry(s, l2_slice, l2_index + nb_clusters);

            if (!cluster_needs_new_alloc(bs, e)) {
                break;
            }
        }
    }
    last_entry = get_l2_entry(s, l2_slice, l2_index + nb_clusters - 1);
    last_bitmap = get_l2_bitmap(s, l2_slice, l2_index + nb_clusters - 1);
    qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);

    data_start = off_in_cluster;
    data_end = MIN(off_in_cluster + cur_bytes,
                   nb_clusters << s->cluster_bits);
    cow_bounds(bs, first_entry, first_bitmap, last_entry, last_bitmap,
               data_start, data_end, nb_clusters << s->cluster_bits,
               &cow_start, &cow_end);

    if (keep_old) {
        if (has_data_file(bs)) {
            alloc_offset = start_of_cluster(s, offset);
        } else {
            alloc_offset = l2_entry & L2E_OFFSET_MASK;
        }
    } else {
        int64_t r = -1;

        if (hint && !offset_into_cluster(s, hint)) {
            r = qcow2_alloc_clusters_at(bs, hint, nb_clusters);
            if (r < 0) {
                return r;
            }
            if (r == 0) {
                r = -1;
            } else {
                nb_clusters = r;
                r = hint;
            }
            if (data_end > (nb_clusters << s->cluster_bits)) {
                data_end = nb_clusters << s->cluster_bits;
                cow_end = data_end;
            }
        }
        if (r < 0) {
            r = qcow2_alloc_clusters(bs, nb_clusters << s->cluster_bits);
            if (r < 0) {
                return r;
            }
        }
        alloc_offset = r;
        if (alloc_offset == 0) {
            qcow2_signal_corruption(bs, true, -1, -1, "Preventing invalid "
                                    "allocation at offset 0");
            return -EIO;
        }
    }

    add_l2meta(bs, m, start_of_cluster(s, offset), alloc_offset, nb_clusters,
               keep_old, cow_start, data_start, data_end, cow_end);
    *host_offset = alloc_offset + off_in_cluster;
    *bytes = data_end - data_start;
    (void)i;
    return 0;
}

/* Drops m from the in-flight list and wakes those who waited for it. */
static void l2meta_done(BlockDriverState *bs, QCowL2Meta *m)
{
    LIST_REMOVE(m, next_in_flight);
    qemu_co_queue_restart_all(&m->dependent_requests);
}

int coroutine_fn qcow2_alloc_cluster_link_l2(BlockDriverState *bs,
                                             QCowL2Meta *m)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *old_cluster = NULL;
    uint64_t *l2_slice;
    int l2_index, i, j = 0;
    uint64_t start = m->cow_start.offset;
    uint64_t end = m->cow_end.offset + m->cow_end.nb_bytes;
    int ret;

    if (!s->use_lazy_refcounts) {
        /* The new clusters' refcounts reach the disk before the entries. */
        ret = qcow2_cache_set_dependency(bs, s->l2_table_cache,
                                         s->refcount_block_cache);
        if (ret < 0) {
            goto out;
        }
    }

    ret = get_cluster_table(bs, m->offset, &l2_slice, &l2_index);
    if (ret < 0) {
        goto out;
    }
    qcow2_cache_entry_mark_dirty(s->l2_table_cache, l2_slice);
    assert(l2_index + m->nb_clusters <= s->l2_slice_size);

    old_cluster = xnew(uint64_t, m->nb_clusters);
    for (i = 0; i < m->nb_clusters; i++) {
        uint64_t old = get_l2_entry(s, l2_slice, l2_index + i);
        uint64_t offset = m->alloc_offset + ((uint64_t)i << s->cluster_bits);

        if (!m->keep_old_clusters &&
            qcow2_get_cluster_type(bs, old) != QCOW2_CLUSTER_UNALLOCATED &&
            qcow2_get_cluster_type(bs, old) != QCOW2_CLUSTER_ZERO_PLAIN) {
            old_cluster[j++] = old;
        }
        set_l2_entry(s, l2_slice, l2_index + i, offset | QCOW_OFLAG_COPIED);

        if (has_subclusters(s)) {
            uint64_t bitmap = get_l2_bitmap(s, l2_slice, l2_index + i);
            uint64_t c_start = (uint64_t)i << s->cluster_bits;
            uint64_t c_end = c_start + s->cluster_size;
            unsigned first_sc, last_sc;
            uint64_t mask;
            QCow2ClusterType t = qcow2_get_cluster_type(bs, old);

            if (!m->keep_old_clusters &&
                (t == QCOW2_CLUSTER_NORMAL || t == QCOW2_CLUSTER_COMPRESSED)) {
                /* A copy of a whole cluster that held data. */
                if (t == QCOW2_CLUSTER_COMPRESSED) {
                    bitmap = QCOW_L2_BITMAP_ALL_ALLOC;
                }
            }
            if (MAX(start, c_start) < MIN(end, c_end)) {
                first_sc = (MAX(start, c_start) - c_start) >>
                           s->subcluster_bits;
                last_sc = (MIN(end, c_end) - c_start - 1) >>
                          s->subcluster_bits;
                mask = ((2ULL << last_sc) - 1) & ~((1ULL << first_sc) - 1);
                bitmap |= mask;
                bitmap &= ~(mask << 32);
            }
            set_l2_bitmap(s, l2_slice, l2_index + i, bitmap);
        } else if (qcow2_get_cluster_type(bs, old) ==
                   QCOW2_CLUSTER_ZERO_ALLOC && m->keep_old_clusters) {
            /* The zero flag goes: the cluster was filled by the write. */
        }
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);

    /*
     * The old clusters are freed only now that no L2 entry points to them;
     * the refcount cache depends on the L2 cache for that order.
     */
    for (i = 0; i < j; i++) {
        qcow2_free_any_cluster(bs, old_cluster[i], QCOW2_DISCARD_NEVER);
    }
    ret = 0;
out:
    free(old_cluster);
    l2meta_done(bs, m);
    return ret;
}

void coroutine_fn qcow2_alloc_cluster_abort(BlockDriverState *bs,
                                            QCowL2Meta *m)
{
    BDRVQcow2State *s = bs->opaque;

    if (!m->keep_old_clusters && !has_data_file(bs)) {
        qcow2_free_clusters(bs, m->alloc_offset,
                            (uint64_t)m->nb_clusters << s->cluster_bits,
                            QCOW2_DISCARD_NEVER);
    }
    l2meta_done(bs, m);
}

/* ---- compressed clusters ------------------------------------------------- */

int coroutine_fn qcow2_alloc_compressed_cluster_offset(BlockDriverState *bs,
                                                       uint64_t offset,
                                                       int compressed_size,
                                                       uint64_t *host_offset)
{
    BDRVQcow2State *s = bs->opaque;
    int l2_index, ret;
    uint64_t *l2_slice;
    int64_t cluster_offset;
    int nb_csectors;

    if (has_data_file(bs)) {
        return 0;
    }
    ret = get_cluster_table(bs, offset, &l2_slice, &l2_index);
    if (ret < 0) {
        return ret;
    }
    /* Compression can't overwrite anything. Fail if the cluster was used. */
    if (get_l2_entry(s, l2_slice, l2_index) & L2E_OFFSET_MASK) {
        qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
        return -EIO;
    }
    cluster_offset = qcow2_alloc_bytes(bs, compressed_size);
    if (cluster_offset < 0) {
        qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
        return cluster_offset;
    }
    nb_csectors = (cluster_offset + compressed_size - 1) / 512 -
                  (cluster_offset / 512);
    cluster_offset |= QCOW_OFLAG_COMPRESSED |
                      ((uint64_t)nb_csectors << s->csize_shift);

    if (!s->use_lazy_refcounts) {
        ret = qcow2_cache_set_dependency(bs, s->l2_table_cache,
                                         s->refcount_block_cache);
        if (ret < 0) {
            qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
            return ret;
        }
    }
    BLKDBG_EVENT(bs->file, BLKDBG_L2_UPDATE_COMPRESSED);
    qcow2_cache_entry_mark_dirty(s->l2_table_cache, l2_slice);
    set_l2_entry(s, l2_slice, l2_index, cluster_offset);
    if (has_subclusters(s)) {
        set_l2_bitmap(s, l2_slice, l2_index, 0);
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
    *host_offset = cluster_offset & s->cluster_offset_mask;
    return 0;
}

/* ---- discard and zero ------------------------------------------------- */

static int coroutine_fn discard_in_l2_slice(BlockDriverState *bs,
                                            uint64_t offset,
                                            uint64_t nb_clusters,
                                            Qcow2DiscardType type,
                                            bool full_discard)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *l2_slice;
    int l2_index;
    uint64_t i;
    int ret;

    ret = get_cluster_table(bs, offset, &l2_slice, &l2_index);
    if (ret < 0) {
        return ret;
    }
    nb_clusters = MIN(nb_clusters, (uint64_t)(s->l2_slice_size - l2_index));
    assert(nb_clusters <= INT_MAX);

    for (i = 0; i < nb_clusters; i++) {
        uint64_t old = get_l2_entry(s, l2_slice, l2_index + i);
        uint64_t old_bitmap = get_l2_bitmap(s, l2_slice, l2_index + i);
        uint64_t new_entry = old, new_bitmap = old_bitmap;
        QCow2ClusterType ctype = qcow2_get_cluster_type(bs, old);
        bool allocated = ctype == QCOW2_CLUSTER_NORMAL ||
                         ctype == QCOW2_CLUSTER_ZERO_ALLOC ||
                         ctype == QCOW2_CLUSTER_COMPRESSED;

        if (full_discard) {
            new_entry = new_bitmap = 0;
        } else if (bs->backing || allocated ||
                   (has_subclusters(s) && old_bitmap)) {
            if (s->qcow_version >= 3) {
                if (has_subclusters(s)) {
                    new_entry = 0;
                    new_bitmap = QCOW_L2_BITMAP_ALL_ZEROES;
                } else {
                    new_entry = QCOW_OFLAG_ZERO;
                }
            } else if (!bs->backing) {
                new_entry = 0;
            } else {
                /* v2 with a backing file cannot hide it: leave as is. */
                continue;
            }
        }
        if (old == new_entry && old_bitmap == new_bitmap) {
            continue;
        }
        qcow2_cache_entry_mark_dirty(s->l2_table_cache, l2_slice);
        set_l2_entry(s, l2_slice, l2_index + i, new_entry);
        if (has_subclusters(s)) {
            set_l2_bitmap(s, l2_slice, l2_index + i, new_bitmap);
        }
        qcow2_free_any_cluster(bs, old, type);
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
    return nb_clusters;
}

int coroutine_fn qcow2_cluster_discard(BlockDriverState *bs, uint64_t offset,
                                       uint64_t bytes, int type,
                                       bool full_discard)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t end_offset = offset + bytes;
    uint64_t nb_clusters;
    int64_t cleared;
    int ret;

    assert(IS_ALIGNED(offset, s->cluster_size));
    assert(IS_ALIGNED(end_offset, s->cluster_size) ||
           end_offset == (uint64_t)bs->total_sectors << BDRV_SECTOR_BITS);

    nb_clusters = size_to_clusters(s, bytes);
    while (nb_clusters > 0) {
        if (offset_to_l1_index(s, offset) >= s->l1_size) {
            break;
        }
        cleared = discard_in_l2_slice(bs, offset, nb_clusters, type,
                                      full_discard);
        if (cleared < 0) {
            ret = cleared;
            return ret;
        }
        nb_clusters -= cleared;
        offset += (cleared * s->cluster_size);
    }
    return 0;
}

/*
 * Makes subclusters [offset, +bytes) (aligned to subclusters, or cluster
 * granular without extended L2 entries) read as zeroes. With
 * BDRV_REQ_MAY_UNMAP whole clusters lose their host clusters.
 */
static int coroutine_fn zero_in_l2_slice(BlockDriverState *bs,
                                         uint64_t offset,
                                         uint64_t nb_clusters, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *l2_slice;
    int l2_index;
    uint64_t i;
    int ret;

    ret = get_cluster_table(bs, offset, &l2_slice, &l2_index);
    if (ret < 0) {
        return ret;
    }
    nb_clusters = MIN(nb_clusters, (uint64_t)(s->l2_slice_size - l2_index));

    for (i = 0; i < nb_clusters; i++) {
        uint64_t old = get_l2_entry(s, l2_slice, l2_index + i);
        uint64_t old_bitmap = get_l2_bitmap(s, l2_slice, l2_index + i);
        QCow2ClusterType type = qcow2_get_cluster_type(bs, old);
        bool unmap = (type == QCOW2_CLUSTER_COMPRESSED) ||
                     ((flags & BDRV_REQ_MAY_UNMAP) &&
                      (type == QCOW2_CLUSTER_NORMAL ||
                       type == QCOW2_CLUSTER_ZERO_ALLOC) &&
                      !has_data_file(bs));
        uint64_t new_entry = unmap ? 0 : old;
        uint64_t new_bitmap = old_bitmap;

        if (has_subclusters(s)) {
            new_bitmap = QCOW_L2_BITMAP_ALL_ZEROES;
        } else {
            new_entry |= QCOW_OFLAG_ZERO;
        }
        if (old == new_entry && old_bitmap == new_bitmap) {
            continue;
        }
        qcow2_cache_entry_mark_dirty(s->l2_table_cache, l2_slice);
        set_l2_entry(s, l2_slice, l2_index + i, new_entry);
        if (has_subclusters(s)) {
            set_l2_bitmap(s, l2_slice, l2_index + i, new_bitmap);
        }
        if (unmap) {
            qcow2_free_any_cluster(bs, old, QCOW2_DISCARD_REQUEST);
        }
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
    return nb_clusters;
}

static int coroutine_fn zero_l2_subclusters(BlockDriverState *bs,
                                            uint64_t offset,
                                            unsigned nb_subclusters)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *l2_slice;
    uint64_t old_entry, l2_bitmap;
    unsigned sc = offset_to_sc_index(s, offset);
    uint64_t mask;
    int l2_index;
    int ret;

    assert(nb_subclusters > 0 && sc + nb_subclusters <= 32);
    mask = ((1ULL << nb_subclusters) - 1) << sc;
    ret = get_cluster_table(bs, offset, &l2_slice, &l2_index);
    if (ret < 0) {
        return ret;
    }
    old_entry = get_l2_entry(s, l2_slice, l2_index);
    l2_bitmap = get_l2_bitmap(s, l2_slice, l2_index);
    if (qcow2_get_cluster_type(bs, old_entry) == QCOW2_CLUSTER_COMPRESSED) {
        /* A compressed cluster cannot be partly zero: caller falls back. */
        ret = -ENOTSUP;
        goto out;
    }
    l2_bitmap |= mask << 32;
    l2_bitmap &= ~mask;
    qcow2_cache_entry_mark_dirty(s->l2_table_cache, l2_slice);
    set_l2_bitmap(s, l2_slice, l2_index, l2_bitmap);
    ret = 0;
out:
    qcow2_cache_put(s->l2_table_cache, (void **)&l2_slice);
    return ret;
}

int coroutine_fn qcow2_subcluster_zeroize(BlockDriverState *bs,
                                          uint64_t offset, uint64_t bytes,
                                          int flags)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t end_offset = offset + bytes;
    uint64_t nb_clusters;
    unsigned head, tail;
    int64_t cleared;
    int ret;

    if (s->qcow_version < 3) {
        return -ENOTSUP;
    }
    /* Round the end up when it is the image's end. */
    if (end_offset == (uint64_t)bs->total_sectors << BDRV_SECTOR_BITS) {
        end_offset = ROUND_UP(end_offset, s->cluster_size);
    }
    head = MIN(end_offset, ROUND_UP(offset, s->cluster_size)) - offset;
    offset += head;
    tail = (end_offset >= (uint64_t)offset) ?
           end_offset - MAX((uint64_t)offset,
                            (uint64_t)start_of_cluster(s, end_offset)) : 0;
    end_offset -= tail;

    if (head) {
        ret = zero_l2_subclusters(bs, offset - head,
                                  size_to_subclusters_bytes(s, head));
        if (ret < 0) {
            return ret;
        }
    }

    nb_clusters = size_to_clusters(s, end_offset - offset);
    while (nb_clusters > 0) {
        cleared = zero_in_l2_slice(bs, offset, nb_clusters, flags);
        if (cleared < 0) {
            return cleared;
        }
        nb_clusters -= cleared;
        offset += (cleared * s->cluster_size);
    }

    if (tail) {
        ret = zero_l2_subclusters(bs, end_offset,
                                  size_to_subclusters_bytes(s, tail));
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/*
 * Drops the L2 tables of L1 entries from max_size on (after a shrink the
 * guest clusters they mapped are gone). The L1 table keeps its size.
 */
int coroutine_fn qcow2_shrink_l1_table(BlockDriverState *bs,
                                       uint64_t max_size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t i;
    int ret;

    if (max_size >= (uint64_t)s->l1_size) {
        return 0;
    }
    for (i = max_size; i < (uint64_t)s->l1_size; i++) {
        uint64_t l2_offset = s->l1_table[i] & L1E_OFFSET_MASK;

        if (!l2_offset) {
            continue;
        }
        s->l1_table[i] = 0;
        BLKDBG_EVENT(bs->file, BLKDBG_L1_SHRINK_WRITE_TABLE);
        ret = qcow2_write_l1_entry(bs, i);
        if (ret < 0) {
            return ret;
        }
        BLKDBG_EVENT(bs->file, BLKDBG_L1_SHRINK_FREE_L2_CLUSTERS);
        qcow2_free_clusters(bs, l2_offset, s->cluster_size,
                            QCOW2_DISCARD_ALWAYS);
    }
    return 0;
}

/*
 * Maps nb_clusters guest clusters from guest_offset on to the host clusters
 * from host_offset on (already allocated, contents irrelevant): falloc and
 * full preallocation.
 */
int coroutine_fn qcow2_map_preallocated(BlockDriverState *bs,
                                        uint64_t guest_offset,
                                        uint64_t host_offset,
                                        uint64_t nb_clusters)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    while (nb_clusters) {
        QCowL2Meta *m = NULL;
        uint64_t n = MIN(nb_clusters,
                         (uint64_t)(s->l2_slice_size -
                                    offset_to_l2_slice_index(s,
                                                             guest_offset)));

        add_l2meta(bs, &m, guest_offset, host_offset, n, false, 0, 0, 0, 0);
        ret = qcow2_alloc_cluster_link_l2(bs, m);
        free(m);
        if (ret < 0) {
            return ret;
        }
        guest_offset += n << s->cluster_bits;
        host_offset += n << s->cluster_bits;
        nb_clusters -= n;
    }
    return 0;
}
