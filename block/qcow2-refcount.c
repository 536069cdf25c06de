/*
 * qcow2 refcounts: the refcount table and blocks, cluster allocation.
 *
 * Allocation is first fit from s->free_cluster_index, which only moves back
 * when a cluster's refcount drops to zero. A refcount block is allocated
 * when first needed, at the first free cluster; when the refcount table is
 * full, a new table and the blocks that describe it are put in a fresh area
 * just past what the existing blocks could describe, the old table is freed,
 * and the allocation that needed it starts over (-EAGAIN inside). These
 * rules give the same host offsets as the reference for the same requests.
 *
 * Callers hold s->lock.
 */
#include "config-host.h"

#include "util/bswap.h"
#include "qcow2.h"

/* Host offsets of data and metadata must fit the L2 entry's 56 bits. */
#define QCOW_MAX_CLUSTER_OFFSET ((1ULL << 56) - 1)

/* ---- refcount entry accessors, one pair per width -------------------- */

static uint64_t get_refcount_ro0(const void *b, uint64_t i)
{
    return (((const uint8_t *)b)[i / 8] >> (i % 8)) & 0x1;
}

static void set_refcount_ro0(void *b, uint64_t i, uint64_t v)
{
    uint8_t *p = (uint8_t *)b + i / 8;
    *p = (*p & ~(0x1 << (i % 8))) | (v << (i % 8));
}

static uint64_t get_refcount_ro1(const void *b, uint64_t i)
{
    return (((const uint8_t *)b)[i / 4] >> (2 * (i % 4))) & 0x3;
}

static void set_refcount_ro1(void *b, uint64_t i, uint64_t v)
{
    uint8_t *p = (uint8_t *)b + i / 4;
    *p = (*p & ~(0x3 << (2 * (i % 4)))) | (v << (2 * (i % 4)));
}

static uint64_t get_refcount_ro2(const void *b, uint64_t i)
{
    return (((const uint8_t *)b)[i / 2] >> (4 * (i % 2))) & 0xf;
}

static void set_refcount_ro2(void *b, uint64_t i, uint64_t v)
{
    uint8_t *p = (uint8_t *)b + i / 2;
    *p = (*p & ~(0xf << (4 * (i % 2)))) | (v << (4 * (i % 2)));
}

static uint64_t get_refcount_ro3(const void *b, uint64_t i)
{
    return ((const uint8_t *)b)[i];
}

static void set_refcount_ro3(void *b, uint64_t i, uint64_t v)
{
    ((uint8_t *)b)[i] = v;
}

static uint64_t get_refcount_ro4(const void *b, uint64_t i)
{
    return ldbe16((const uint8_t *)b + 2 * i);
}

static void set_refcount_ro4(void *b, uint64_t i, uint64_t v)
{
    stbe16((uint8_t *)b + 2 * i, v);
}

static uint64_t get_refcount_ro5(const void *b, uint64_t i)
{
    return ldbe32((const uint8_t *)b + 4 * i);
}

static void set_refcount_ro5(void *b, uint64_t i, uint64_t v)
{
    stbe32((uint8_t *)b + 4 * i, v);
}

static uint64_t get_refcount_ro6(const void *b, uint64_t i)
{
    return ldbe64((const uint8_t *)b + 8 * i);
}

static void set_refcount_ro6(void *b, uint64_t i, uint64_t v)
{
    stbe64((uint8_t *)b + 8 * i, v);
}

static uint64_t (*const get_refcount_funcs[])(const void *, uint64_t) = {
    get_refcount_ro0, get_refcount_ro1, get_refcount_ro2, get_refcount_ro3,
    get_refcount_ro4, get_refcount_ro5, get_refcount_ro6,
};

static void (*const set_refcount_funcs[])(void *, uint64_t, uint64_t) = {
    set_refcount_ro0, set_refcount_ro1, set_refcount_ro2, set_refcount_ro3,
    set_refcount_ro4, set_refcount_ro5, set_refcount_ro6,
};

/* ---- init ---------------------------------------------------------------- */

int qcow2_refcount_init(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    size_t bytes;
    uint32_t i;
    int ret;

    assert(s->refcount_order >= 0 && s->refcount_order <= 6);
    s->get_refcount = get_refcount_funcs[s->refcount_order];
    s->set_refcount = set_refcount_funcs[s->refcount_order];

    bytes = (size_t)s->refcount_table_size * sizeof(uint64_t);
    s->refcount_table = qemu_try_blockalign(MAX(bytes, 1));
    if (!s->refcount_table) {
        return -ENOMEM;
    }
    if (bytes) {
        BLKDBG_EVENT(bs->file, BLKDBG_REFTABLE_LOAD);
        ret = bdrv_pread(bs->file, s->refcount_table_offset, bytes,
                         s->refcount_table, 0);
        if (ret < 0) {
            return ret;
        }
        for (i = 0; i < s->refcount_table_size; i++) {
            s->refcount_table[i] = be64_to_cpu(s->refcount_table[i]);
            if (s->refcount_table[i]) {
                s->max_refcount_table_index = i;
            }
        }
    }
    return 0;
}

void qcow2_refcount_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    qemu_vfree(s->refcount_table);
    s->refcount_table = NULL;
    qcow2_drop_queued_discards(bs);
}

/* ---- reading ----------------------------------------------------------- */

static int coroutine_fn load_refcount_block(BlockDriverState *bs,
                                            int64_t offset, void **block)
{
    BDRVQcow2State *s = bs->opaque;

    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_LOAD);
    return qcow2_cache_get(bs, s->refcount_block_cache, offset, block);
}

int coroutine_fn qcow2_get_refcount(BlockDriverState *bs,
                                    int64_t cluster_index, uint64_t *refcount)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t table_index, block_index, block_offset;
    void *block;
    int ret;

    table_index = cluster_index >> s->refcount_block_bits;
    if (table_index >= s->refcount_table_size) {
        *refcount = 0;
        return 0;
    }
    block_offset = s->refcount_table[table_index] & REFT_OFFSET_MASK;
    if (!block_offset) {
        *refcount = 0;
        return 0;
    }
    if (offset_into_cluster(s, block_offset)) {
        qcow2_signal_corruption(bs, true, -1, -1, "Refblock offset %#"
                                PRIx64 " unaligned (reftable index: %#"
                                PRIx64 ")", block_offset, table_index);
        return -EIO;
    }
    /* A lookup, not a load for an update: no refblock_load event. */
    ret = qcow2_cache_get(bs, s->refcount_block_cache, block_offset, &block);
    if (ret < 0) {
        return ret;
    }
    block_index = cluster_index & (s->refcount_block_size - 1);
    *refcount = s->get_refcount(block, block_index);
    qcow2_cache_put(s->refcount_block_cache, &block);
    return 0;
}

static bool in_same_refcount_block(BDRVQcow2State *s, uint64_t offset_a,
                                   uint64_t offset_b)
{
    uint64_t a = offset_a >> (s->cluster_bits + s->refcount_block_bits);
    uint64_t b = offset_b >> (s->cluster_bits + s->refcount_block_bits);

    return a == b;
}

/* ---- allocation of refcount blocks ------------------------------------- */

static int64_t coroutine_fn alloc_clusters_noref(BlockDriverState *bs,
                                                 uint64_t size, uint64_t max);
static int coroutine_fn update_refcount(BlockDriverState *bs, int64_t offset,
                                        int64_t length, uint64_t addend,
                                        bool decrease, Qcow2DiscardType type);

/*
 * Loads the refcount block for cluster_index, allocating it if needed.
 * After allocating a block it returns -EAGAIN: the allocation that needed
 * it starts over, since its range may have moved (the reference does so,
 * and its layout follows from it).
 */
static void unqueue_discard(BDRVQcow2State *s, uint64_t start, uint64_t end);
static int coroutine_fn alloc_refcount_block(BlockDriverState *bs,
                                             int64_t cluster_index,
                                             void **refcount_block)
{
    BDRVQcow2State *s = bs->opaque;
    unsigned int refcount_table_index;
    int64_t new_block;
    uint64_t block_offset;
    uint64_t data64;
    int ret;

    /* The reference raises this for every lookup, found or not. */
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC);
    refcount_table_index = cluster_index >> s->refcount_block_bits;
    if (refcount_table_index < s->refcount_table_size) {
        block_offset = s->refcount_table[refcount_table_index] &
                       REFT_OFFSET_MASK;
        if (block_offset) {
            if (offset_into_cluster(s, block_offset)) {
                qcow2_signal_corruption(bs, true, -1, -1, "Refblock offset %#"
                                        PRIx64 " unaligned (reftable index: "
                                        "%#x)", block_offset,
                                        refcount_table_index);
                return -EIO;
            }
            return load_refcount_block(bs, block_offset, refcount_block);
        }
    }

    /*
     * A new block. It must reach the disk before the table entry that points
     * to it, and its own refcount before either.
     */
    *refcount_block = NULL;
    ret = qcow2_cache_flush(bs, s->l2_table_cache);
    if (ret < 0) {
        return ret;
    }
    new_block = alloc_clusters_noref(bs, s->cluster_size,
                                     QCOW_MAX_CLUSTER_OFFSET);
    if (new_block < 0) {
        return new_block;
    }
    if (new_block == 0) {
        qcow2_signal_corruption(bs, true, new_block, s->cluster_size,
                                "Preventing invalid allocation of refcount "
                                "block at offset 0");
        return -EIO;
    }

    if (in_same_refcount_block(s, new_block,
                               (uint64_t)cluster_index << s->cluster_bits)) {
        /* The block describes itself. */
        ret = qcow2_cache_get_empty(bs, s->refcount_block_cache, new_block,
                                    refcount_block);
        if (ret < 0) {
            return ret;
        }
        memset(*refcount_block, 0, s->cluster_size);
        s->set_refcount(*refcount_block,
                        (new_block >> s->cluster_bits) &
                        (s->refcount_block_size - 1), 1);
    } else {
        /* Another block describes it: account for it there first. */
        ret = update_refcount(bs, new_block, s->cluster_size, 1, false,
                              QCOW2_DISCARD_NEVER);
        if (ret < 0) {
            return ret;
        }
        ret = qcow2_cache_flush(bs, s->refcount_block_cache);
        if (ret < 0) {
            return ret;
        }
        ret = qcow2_cache_get_empty(bs, s->refcount_block_cache, new_block,
                                    refcount_block);
        if (ret < 0) {
            return ret;
        }
        memset(*refcount_block, 0, s->cluster_size);
    }

    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_WRITE);
    qcow2_cache_entry_mark_dirty(s->refcount_block_cache, *refcount_block);
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret < 0) {
        goto fail;
    }

    if (refcount_table_index < s->refcount_table_size) {
        /* A table outside the file is corrupt metadata: never extend it. */
        int64_t file_len = bdrv_co_getlength(bs->file->bs);

        if (file_len < 0 || s->refcount_table_offset +
            (refcount_table_index + 1) * sizeof(uint64_t) >
            (uint64_t)file_len) {
            qcow2_signal_corruption(bs, true, -1, -1, "Refcount table offset "
                                    "%#" PRIx64 " lies outside the image "
                                    "file", s->refcount_table_offset);
            ret = -EIO;
            goto fail;
        }
        data64 = cpu_to_be64(new_block);
        BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_HOOKUP);
        ret = bdrv_co_pwrite(bs->file, s->refcount_table_offset +
                             refcount_table_index * sizeof(uint64_t),
                             sizeof(data64), &data64, 0);
        if (ret < 0) {
            goto fail;
        }
        ret = bdrv_co_flush(bs->file->bs);
        if (ret < 0) {
            goto fail;
        }
        s->refcount_table[refcount_table_index] = new_block;
        if (refcount_table_index > s->max_refcount_table_index) {
            s->max_refcount_table_index = refcount_table_index;
        }
        qcow2_cache_put(s->refcount_block_cache, refcount_block);
        return -EAGAIN;
    }

    /* The table is full: a new one in a fresh area. */
    qcow2_cache_put(s->refcount_block_cache, refcount_block);
    {
        uint64_t idx = MAX(refcount_table_index,
                           (uint64_t)new_block >>
                           (s->cluster_bits + s->refcount_block_bits));
        uint64_t area = (idx + 1) << (s->cluster_bits +
                                      s->refcount_block_bits);

        int64_t r = qcow2_refcount_area(bs, area, 0, false,
                                        refcount_table_index, new_block);

        if (r < 0) {
            return r;
        }
    }
    return -EAGAIN;

fail:
    if (*refcount_block) {
        qcow2_cache_put(s->refcount_block_cache, refcount_block);
    }
    return ret;
}

/*
 * Refcount metadata (blocks and table) that covers 'clusters' clusters and
 * itself. With generous_increase the table gets room for half as many blocks
 * again, so that it need not grow at every step.
 */
int64_t qcow2_refcount_metadata_size(int64_t clusters, size_t cluster_size,
                                     int refcount_order, bool generous_increase,
                                     uint64_t *refblock_count)
{
    int64_t rb_entries = cluster_size * 8 / (1 << refcount_order);
    int64_t blocks = 0, table = 0, last;
    int64_t entries;

    do {
        last = blocks + table;
        blocks = DIV_ROUND_UP(clusters + table + blocks, rb_entries);
        entries = blocks;
        if (generous_increase) {
            entries = DIV_ROUND_UP(entries * 3, 2);
        }
        table = DIV_ROUND_UP(entries * (int64_t)sizeof(uint64_t),
                             (int64_t)cluster_size);
    } while (blocks + table != last);

    if (refblock_count) {
        *refblock_count = blocks;
    }
    return (blocks + table) * cluster_size;
}

/*
 * Puts a new refcount table, and the blocks needed to describe everything up
 * to start_offset + additional_clusters and themselves, in the area at
 * start_offset (which must be free). Blocks that exist already stay where
 * they are; new ones go first in the area, the table after them.
 * new_refblock_offset, if nonzero, goes in at new_refblock_index. The old
 * table is freed. Returns the end offset of the area, or -errno.
 */
int64_t coroutine_fn qcow2_refcount_area(BlockDriverState *bs,
                                         uint64_t start_offset,
                                         uint64_t additional_clusters,
                                         bool exact_size,
                                         int new_refblock_index,
                                         uint64_t new_refblock_offset)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t total_refblock_count;
    int64_t total_size;
    uint64_t area_index, table_clusters, table_size, new_blocks;
    uint64_t table_offset, start_cluster, meta_end_cluster;
    uint64_t old_table_offset, old_table_size;
    uint64_t *new_table = NULL;
    uint8_t *block = NULL;
    uint64_t i, c, pos;
    uint8_t hdr[12];
    int64_t ret;

    start_cluster = start_offset >> s->cluster_bits;
    total_size = qcow2_refcount_metadata_size(start_cluster +
                                              additional_clusters,
                                              s->cluster_size,
                                              s->refcount_order, !exact_size,
                                              &total_refblock_count);
    area_index = start_cluster >> s->refcount_block_bits;
    if (total_refblock_count <= area_index) {
        total_refblock_count = area_index + 1;
    }
    table_clusters = (uint64_t)total_size / s->cluster_size;
    table_clusters -= MIN(table_clusters, total_refblock_count);
    table_clusters = MAX(table_clusters,
                         DIV_ROUND_UP(total_refblock_count * sizeof(uint64_t),
                                      (uint64_t)s->cluster_size));
    table_size = table_clusters * s->cluster_size / sizeof(uint64_t);
    if (table_size * sizeof(uint64_t) > QCOW_MAX_REFTABLE_SIZE) {
        return -EFBIG;
    }

    new_table = qemu_try_blockalign(table_size * sizeof(uint64_t));
    block = qemu_try_blockalign(s->cluster_size);
    if (!new_table || !block) {
        ret = -ENOMEM;
        goto out;
    }
    memset(new_table, 0, table_size * sizeof(uint64_t));
    for (i = 0; i < MIN(s->refcount_table_size, table_size); i++) {
        new_table[i] = s->refcount_table[i];
    }
    if (new_refblock_offset) {
        assert((uint64_t)new_refblock_index < table_size);
        new_table[new_refblock_index] = new_refblock_offset;
    }

    /* New blocks for the indices of the area that have none yet. */
    new_blocks = 0;
    for (i = area_index; i < total_refblock_count; i++) {
        if (!(new_table[i] & REFT_OFFSET_MASK)) {
            new_table[i] = start_offset + new_blocks * s->cluster_size;
            new_blocks++;
        }
    }
    table_offset = start_offset + new_blocks * s->cluster_size;
    meta_end_cluster = start_cluster + new_blocks + table_clusters;
    unqueue_discard(s, start_offset, meta_end_cluster << s->cluster_bits);

    /* Refcount 1 for every cluster of the area, in whichever block. */
    for (i = area_index; i < total_refblock_count; i++) {
        uint64_t first = i << s->refcount_block_bits;
        uint64_t boff = new_table[i] & REFT_OFFSET_MASK;
        bool is_new = boff >= start_offset &&
                      boff < start_offset + new_blocks * s->cluster_size;
        void *cached = NULL;
        uint8_t *b;

        if (is_new) {
            memset(block, 0, s->cluster_size);
            b = block;
        } else {
            ret = load_refcount_block(bs, boff, &cached);
            if (ret < 0) {
                goto out;
            }
            b = cached;
        }
        for (c = MAX(first, start_cluster);
             c < MIN(first + s->refcount_block_size, meta_end_cluster); c++) {
            s->set_refcount(b, c - first, 1);
        }
        if (is_new) {
            BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_WRITE_BLOCKS);
            ret = bdrv_co_pwrite(bs->file, boff, s->cluster_size, block, 0);
        } else {
            qcow2_cache_entry_mark_dirty(s->refcount_block_cache, cached);
            qcow2_cache_put(s->refcount_block_cache, &cached);
            ret = qcow2_cache_flush(bs, s->refcount_block_cache);
        }
        if (ret < 0) {
            goto out;
        }
    }

    for (i = 0; i < table_size; i++) {
        new_table[i] = cpu_to_be64(new_table[i]);
    }
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_WRITE_TABLE);
    ret = bdrv_co_pwrite(bs->file, table_offset,
                         table_size * sizeof(uint64_t), new_table, 0);
    for (i = 0; i < table_size; i++) {
        new_table[i] = be64_to_cpu(new_table[i]);
    }
    if (ret < 0) {
        goto out;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        goto out;
    }

    /* Switch the header to the new table. */
    stbe64(hdr, table_offset);
    stbe32(hdr + 8, table_clusters);
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_SWITCH_TABLE);
    ret = bdrv_co_pwrite(bs->file, 48, sizeof(hdr), hdr, 0);
    if (ret < 0) {
        goto out;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        goto out;
    }

    old_table_offset = s->refcount_table_offset;
    old_table_size = s->refcount_table_size;
    qemu_vfree(s->refcount_table);
    s->refcount_table = new_table;
    new_table = NULL;
    s->refcount_table_size = table_size;
    s->refcount_table_offset = table_offset;
    for (pos = 0; pos < table_size; pos++) {
        if (s->refcount_table[pos]) {
            s->max_refcount_table_index = pos;
        }
    }

    qcow2_free_clusters(bs, old_table_offset,
                        old_table_size * sizeof(uint64_t),
                        QCOW2_DISCARD_OTHER);
    ret = meta_end_cluster << s->cluster_bits;

out:
    qemu_vfree(new_table);
    qemu_vfree(block);
    return ret;
}

/* ---- refcount updates ---------------------------------------------- */

/*
 * Freed clusters are discarded in the file (when the open options pass this
 * kind of discard through) only once the L2 entries and tables that stopped
 * pointing at them are written: a crash between a discard and that write
 * would leave on-disk entries pointing at holes, and the guest data they
 * still describe would read as zeroes. So frees queue their ranges here,
 * merged with their neighbours, and qcow2_write_caches issues them after
 * writing both caches. A queued cluster that is allocated again leaves the
 * queue before it can be written. Dropping a queued range is always safe:
 * the file just keeps the old bytes.
 */
#define QCOW2_MAX_QUEUED_DISCARDS 4096

static void queue_discard(BDRVQcow2State *s, uint64_t start, uint64_t end)
{
    Qcow2DiscardRange *d;
    size_t i;

    for (i = 0; i < s->nb_discards; i++) {
        d = &s->discards[i];
        if (d->start <= end && start <= d->end) {
            d->start = MIN(d->start, start);
            d->end = MAX(d->end, end);
            return;
        }
    }
    if (s->nb_discards == s->discards_alloc) {
        size_t n = s->discards_alloc ? s->discards_alloc * 2 : 16;

        if (n > QCOW2_MAX_QUEUED_DISCARDS) {
            return;
        }
        d = realloc(s->discards, n * sizeof(*d));
        if (!d) {
            return;
        }
        s->discards = d;
        s->discards_alloc = n;
    }
    s->discards[s->nb_discards].start = start;
    s->discards[s->nb_discards].end = end;
    s->nb_discards++;
}

/* [start, end) is in use again: none of it may be discarded later. */
static void unqueue_discard(BDRVQcow2State *s, uint64_t start, uint64_t end)
{
    size_t i = 0;

    while (i < s->nb_discards) {
        Qcow2DiscardRange *d = &s->discards[i];

        if (d->end <= start || end <= d->start) {
            i++;
        } else if (start <= d->start && d->end <= end) {
            *d = s->discards[--s->nb_discards];
        } else if (d->start < start && end < d->end) {
            /* The tail is lost if the queue is full: safe, see above. */
            uint64_t tail = d->end;

            d->end = start;
            queue_discard(s, end, tail);
            i++;
        } else if (d->start < start) {
            d->end = start;
            i++;
        } else {
            d->start = end;
            i++;
        }
    }
}

void qcow2_drop_queued_discards(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    free(s->discards);
    s->discards = NULL;
    s->nb_discards = s->discards_alloc = 0;
}

static int cmp_discard_range(const void *a, const void *b)
{
    const Qcow2DiscardRange *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

/* Issues the queued discards in offset order, joining adjacent ranges. */
static void coroutine_fn process_discards(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2DiscardRange *q = s->discards;
    size_t n = s->nb_discards, i;

    if (!n) {
        return;
    }
    /* New frees during the discards queue up afresh. */
    s->discards = NULL;
    s->nb_discards = s->discards_alloc = 0;
    qsort(q, n, sizeof(*q), cmp_discard_range);
    for (i = 0; i < n; ) {
        uint64_t start = q[i].start, end = q[i].end;

        for (i++; i < n && q[i].start <= end; i++) {
            end = MAX(end, q[i].end);
        }
        /* Best effort: the clusters are free whether or not this works. */
        bdrv_co_pdiscard(bs->file, start, end - start);
    }
    free(q);
}

static void discard_freed(BlockDriverState *bs, Qcow2DiscardType type,
                          int64_t start, int64_t end)
{
    BDRVQcow2State *s = bs->opaque;

    if (end > start && s->discard_passthrough[type]) {
        queue_discard(s, start, end);
    }
}

static int coroutine_fn update_refcount(BlockDriverState *bs, int64_t offset,
                                        int64_t length, uint64_t addend,
                                        bool decrease, Qcow2DiscardType type)
{
    int64_t disc_start = 0, disc_end = 0;
    BDRVQcow2State *s = bs->opaque;
    int64_t start, last, cluster_offset;
    void *refcount_block = NULL;
    int64_t old_table_index = -1;
    int ret;

    if (length < 0) {
        return -EINVAL;
    } else if (length == 0) {
        return 0;
    }

    if (decrease) {
        /* L2 entries that dropped a reference reach the disk first. */
        ret = qcow2_cache_set_dependency(bs, s->refcount_block_cache,
                                         s->l2_table_cache);
        if (ret < 0) {
            return ret;
        }
    }

    start = start_of_cluster(s, offset);
    last = start_of_cluster(s, offset + length - 1);
    for (cluster_offset = start; cluster_offset <= last;
         cluster_offset += s->cluster_size) {
        int64_t cluster_index = cluster_offset >> s->cluster_bits;
        int64_t table_index = cluster_index >> s->refcount_block_bits;
        int64_t block_index;
        uint64_t refcount;

        if (table_index != old_table_index) {
            if (refcount_block) {
                qcow2_cache_put(s->refcount_block_cache, &refcount_block);
            }
            ret = alloc_refcount_block(bs, cluster_index, &refcount_block);
            if (ret == -EAGAIN) {
                /* The table moved: let the caller start over. */
                if (s->free_cluster_index > (uint64_t)(start >>
                                                        s->cluster_bits)) {
                    s->free_cluster_index = start >> s->cluster_bits;
                }
            }
            if (ret < 0) {
                goto fail;
            }
        }
        old_table_index = table_index;

        qcow2_cache_entry_mark_dirty(s->refcount_block_cache, refcount_block);
        block_index = cluster_index & (s->refcount_block_size - 1);
        refcount = s->get_refcount(refcount_block, block_index);
        if (decrease ? (refcount - addend > refcount)
                     : (refcount + addend < refcount ||
                        refcount + addend > s->refcount_max)) {
            ret = -EINVAL;
            goto fail;
        }
        refcount = decrease ? refcount - addend : refcount + addend;
        if (refcount == 0 && (uint64_t)cluster_index < s->free_cluster_index) {
            s->free_cluster_index = cluster_index;
        }
        s->set_refcount(refcount_block, block_index, refcount);
        if (!decrease && refcount == addend && s->nb_discards) {
            unqueue_discard(s, cluster_offset,
                            cluster_offset + s->cluster_size);
        }

        if (refcount == 0) {
            void *table;

            if (cluster_offset != disc_end) {
                discard_freed(bs, type, disc_start, disc_end);
                disc_start = cluster_offset;
            }
            disc_end = cluster_offset + s->cluster_size;

            /* A freed table must not be written back from a cache. */
            table = qcow2_cache_is_table_offset(s->refcount_block_cache,
                                                cluster_offset);
            if (table && table != refcount_block) {
                qcow2_cache_discard(s->refcount_block_cache, table);
            }
            table = qcow2_cache_is_table_offset(s->l2_table_cache,
                                                cluster_offset);
            if (table) {
                qcow2_cache_discard(s->l2_table_cache, table);
            }
        }
    }
    ret = 0;

fail:
    if (refcount_block) {
        qcow2_cache_put(s->refcount_block_cache, &refcount_block);
    }
    if (ret == 0) {
        discard_freed(bs, type, disc_start, disc_end);
    }
    if (ret < 0 && cluster_offset > start) {
        /* Undo what was done: the caller sees all or nothing. */
        int dummy = update_refcount(bs, offset, cluster_offset - start,
                                    addend, !decrease, QCOW2_DISCARD_NEVER);
        (void)dummy;
    }
    return ret;
}

int coroutine_fn qcow2_update_cluster_refcount(BlockDriverState *bs,
                                               int64_t cluster_index,
                                               uint64_t addend, bool decrease,
                                               Qcow2DiscardType type)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    do {
        ret = update_refcount(bs, cluster_index << s->cluster_bits, 1, addend,
                              decrease, type);
    } while (ret == -EAGAIN);
    return ret;
}

/* ---- cluster allocation ------------------------------------------------ */

static int64_t coroutine_fn alloc_clusters_noref(BlockDriverState *bs,
                                                 uint64_t size, uint64_t max)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t i, nb_clusters, refcount;
    int ret;

    /* Past the table's reach everything is free: scan quickly there. */
    nb_clusters = size_to_clusters(s, size);
retry:
    for (i = 0; i < nb_clusters; i++) {
        uint64_t next_cluster_index = s->free_cluster_index++;

        ret = qcow2_get_refcount(bs, next_cluster_index, &refcount);
        if (ret < 0) {
            return ret;
        } else if (refcount != 0) {
            goto retry;
        }
    }
    if (s->free_cluster_index > 0 &&
        s->free_cluster_index - 1 > (max >> s->cluster_bits)) {
        return -EFBIG;
    }
    /* Some callers write the clusters before counting them. */
    unqueue_discard(s, (s->free_cluster_index - nb_clusters) << s->cluster_bits,
                    s->free_cluster_index << s->cluster_bits);
    return (s->free_cluster_index - nb_clusters) << s->cluster_bits;
}

int64_t coroutine_fn qcow2_alloc_clusters(BlockDriverState *bs, uint64_t size)
{
    int64_t offset;
    int ret;

    BLKDBG_EVENT(bs->file, BLKDBG_CLUSTER_ALLOC);
    do {
        offset = alloc_clusters_noref(bs, size, QCOW_MAX_CLUSTER_OFFSET);
        if (offset < 0) {
            return offset;
        }
        ret = update_refcount(bs, offset, size, 1, false, QCOW2_DISCARD_NEVER);
    } while (ret == -EAGAIN);
    if (ret < 0) {
        return ret;
    }
    return offset;
}

int64_t coroutine_fn qcow2_alloc_clusters_at(BlockDriverState *bs,
                                             uint64_t offset,
                                             int64_t nb_clusters)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t cluster_index, refcount;
    int64_t i;
    int ret;

    assert(nb_clusters >= 0);
    if (nb_clusters == 0) {
        return 0;
    }
    do {
        cluster_index = offset >> s->cluster_bits;
        for (i = 0; i < nb_clusters; i++) {
            ret = qcow2_get_refcount(bs, cluster_index++, &refcount);
            if (ret < 0) {
                return ret;
            } else if (refcount != 0) {
                break;
            }
        }
        ret = update_refcount(bs, offset, i << s->cluster_bits, 1, false,
                              QCOW2_DISCARD_NEVER);
    } while (ret == -EAGAIN);
    if (ret < 0) {
        return ret;
    }
    return i;
}

int64_t coroutine_fn qcow2_alloc_bytes(BlockDriverState *bs, int size)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t offset;
    size_t free_in_cluster;
    int ret;

    BLKDBG_EVENT(bs->file, BLKDBG_CLUSTER_ALLOC_BYTES);
    assert(size > 0 && size <= s->cluster_size);
    assert(!s->free_byte_offset || offset_into_cluster(s,
                                                       s->free_byte_offset));

    offset = s->free_byte_offset;
    if (offset) {
        uint64_t refcount;

        ret = qcow2_get_refcount(bs, offset >> s->cluster_bits, &refcount);
        if (ret < 0) {
            return ret;
        }
        if (refcount == s->refcount_max) {
            offset = 0;
        }
    }

    free_in_cluster = s->cluster_size - offset_into_cluster(s, offset);
    do {
        if (!offset || free_in_cluster < (size_t)size) {
            int64_t new_cluster;

            new_cluster = alloc_clusters_noref(bs, s->cluster_size,
                                               QCOW_MAX_CLUSTER_OFFSET);
            if (new_cluster < 0) {
                return new_cluster;
            }
            if (new_cluster == 0) {
                qcow2_signal_corruption(bs, true, new_cluster,
                                        s->cluster_size, "Preventing invalid "
                                        "allocation of compressed cluster at "
                                        "offset 0");
                return -EIO;
            }
            if (!offset || ROUND_UP(offset, s->cluster_size) != new_cluster) {
                offset = new_cluster;
                free_in_cluster = s->cluster_size;
            } else {
                free_in_cluster += s->cluster_size;
            }
        }
        assert(offset);
        ret = update_refcount(bs, offset, size, 1, false, QCOW2_DISCARD_NEVER);
        if (ret < 0) {
            offset = 0;
        }
    } while (ret == -EAGAIN);
    if (ret < 0) {
        return ret;
    }

    /* The refcount of the cluster holding the tail counts this user too. */
    s->free_byte_offset = offset + size;
    if (!offset_into_cluster(s, s->free_byte_offset)) {
        s->free_byte_offset = 0;
    }
    return offset;
}

void coroutine_fn qcow2_free_clusters(BlockDriverState *bs, int64_t offset,
                                      int64_t size, Qcow2DiscardType type)
{
    int ret;

    BLKDBG_EVENT(bs->file, BLKDBG_CLUSTER_FREE);
    ret = update_refcount(bs, offset, size, 1, true, type);
    if (ret < 0) {
        /*
         * A leak at worst: check -r leaks reclaims it. The callers go on,
         * so the reference's line is the only trace.
         */
        fprintf(stderr, "qcow2_free_clusters failed: %s\n", strerror(-ret));
    }
}

void coroutine_fn qcow2_free_any_cluster(BlockDriverState *bs,
                                         uint64_t l2_entry,
                                         Qcow2DiscardType type)
{
    BDRVQcow2State *s = bs->opaque;

    switch (qcow2_get_cluster_type(bs, l2_entry)) {
    case QCOW2_CLUSTER_COMPRESSED: {
        uint64_t coffset;
        int csize;

        qcow2_parse_compressed_l2_entry(bs, l2_entry, &coffset, &csize);
        qcow2_free_clusters(bs, coffset, csize, type);
        break;
    }
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        if (offset_into_cluster(s, l2_entry & L2E_OFFSET_MASK)) {
            qcow2_signal_corruption(bs, false, -1, -1, "Cannot free "
                                    "unaligned cluster %#llx",
                                    l2_entry & L2E_OFFSET_MASK);
        } else if (!has_data_file(bs)) {
            qcow2_free_clusters(bs, l2_entry & L2E_OFFSET_MASK,
                                s->cluster_size, type);
        }
        break;
    default:
        break;
    }
}

/* ---- caches -------------------------------------------------------------- */

int coroutine_fn qcow2_write_caches(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    ret = qcow2_cache_write(bs, s->l2_table_cache);
    if (ret < 0) {
        return ret;
    }
    ret = qcow2_cache_write(bs, s->refcount_block_cache);
    if (ret < 0) {
        return ret;
    }
    /* What freed the queued clusters is in the file now. */
    process_discards(bs);
    return 0;
}

int coroutine_fn qcow2_flush_caches(BlockDriverState *bs)
{
    int ret = qcow2_write_caches(bs);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_flush(bs->file->bs);
}

/* Offset just past the last cluster with a nonzero refcount. */
int64_t coroutine_fn qcow2_get_last_cluster(BlockDriverState *bs, int64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t i;
    uint64_t refcount;
    int ret;

    for (i = size_to_clusters(s, size) - 1; i >= 0; i--) {
        ret = qcow2_get_refcount(bs, i, &refcount);
        if (ret < 0) {
            return ret;
        }
        if (refcount > 0) {
            return i;
        }
    }
    return -1;
}

/* ---- changing the refcount width (amend refcount_bits) ------------------- */

/*
 * The new refcount structures are built beside the old ones, which stay in
 * charge (and take the new clusters' references) until the header switches
 * over; then the old blocks and table are freed through the new ones. The
 * new blocks and table are allocated by walking over every refcount until a
 * walk allocates nothing (allocating changes refcounts behind the walk);
 * one more walk fills and writes the blocks. This is the reference's
 * procedure, hence its layout.
 */
typedef struct RefcountChange {
    uint64_t *reftable;             /* the new table (CPU order) */
    uint64_t reftable_size;         /* its entries */
    uint8_t *refblock;              /* the new block being filled, or NULL */
    bool refblock_dirty;            /* refblock holds nonzero entries */
    int refcount_bits;
    uint64_t refblock_size;         /* entries per new block */
    void (*set_refcount)(void *block, uint64_t index, uint64_t value);
    bool allocated;                 /* this walk allocated a block */
} RefcountChange;

typedef int coroutine_fn RefblockOp(BlockDriverState *bs, RefcountChange *rc,
                                    uint64_t index, bool empty, Error **errp);

/* Gives new block index (not empty) a cluster, growing the new table. */
static int coroutine_fn alloc_new_refblock(BlockDriverState *bs,
                                           RefcountChange *rc, uint64_t index,
                                           bool empty, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t offset;

    if (empty) {
        return 0;
    }
    if (index >= rc->reftable_size) {
        uint64_t size = ROUND_UP(index + 1, s->cluster_size / sizeof(uint64_t));
        uint64_t *t;

        if (size > QCOW_MAX_REFTABLE_SIZE / sizeof(uint64_t)) {
            error_setg(errp, "This operation would make the refcount table "
                       "grow beyond the maximum size supported by QEMU, "
                       "aborting");
            return -ENOTSUP;
        }
        t = realloc(rc->reftable, size * sizeof(uint64_t));
        if (!t) {
            error_setg(errp, "Failed to increase reftable buffer size");
            return -ENOMEM;
        }
        memset(t + rc->reftable_size, 0,
               (size - rc->reftable_size) * sizeof(uint64_t));
        rc->reftable = t;
        rc->reftable_size = size;
    }
    if (!rc->reftable[index]) {
        offset = qcow2_alloc_clusters(bs, s->cluster_size);
        if (offset < 0) {
            error_setg_errno(errp, -offset, "Failed to allocate refblock");
            return offset;
        }
        rc->reftable[index] = offset;
        rc->allocated = true;
    }
    return 0;
}

/* Writes the filled new block index where the allocation walks put it. */
static int coroutine_fn write_new_refblock(BlockDriverState *bs,
                                           RefcountChange *rc, uint64_t index,
                                           bool empty, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (index < rc->reftable_size && rc->reftable[index]) {
        ret = bdrv_co_pwrite(bs->file, rc->reftable[index], s->cluster_size,
                             rc->refblock, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to write refblock");
            return ret;
        }
    } else if (!empty) {
        /* Refcounts rose after the last allocation walk: never expected. */
        error_setg(errp, "Refcounts changed while the refcount structures "
                   "were rebuilt");
        return -EIO;
    }
    return 0;
}

/*
 * One walk over every refcount the current table covers, in new blocks of
 * rc->refblock_size: op runs for each new block once it is complete (with
 * whether all its refcounts are 0). With rc->refblock set the blocks are
 * filled first. Progress: walk index of total.
 */
static int coroutine_fn walk_over_reftable(BlockDriverState *bs,
                                           RefcountChange *rc, RefblockOp *op,
                                           BlockDriverAmendStatusCB *status_cb,
                                           void *cb_opaque, int index,
                                           int total, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t rt_index, new_index = 0, pos = 0;
    bool empty = true;
    int ret;

    /* The table may grow during the walk (allocations): size re-read. */
    for (rt_index = 0; rt_index < s->refcount_table_size; rt_index++) {
        uint64_t rb_offset = s->refcount_table[rt_index] & REFT_OFFSET_MASK;
        uint64_t i = 0;
        void *block = NULL;

        if (status_cb) {
            status_cb(bs, (uint64_t)index * s->refcount_table_size + rt_index,
                      (uint64_t)total * s->refcount_table_size, cb_opaque);
        }
        if (rb_offset) {
            if (offset_into_cluster(s, rb_offset)) {
                qcow2_signal_corruption(bs, true, -1, -1, "Refblock offset "
                                        "%#" PRIx64 " unaligned (reftable "
                                        "index: %#" PRIx64 ")", rb_offset,
                                        rt_index);
                error_setg(errp, "Image is corrupt (unaligned refblock "
                           "offset)");
                return -EIO;
            }
            ret = qcow2_cache_get(bs, s->refcount_block_cache, rb_offset,
                                  &block);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to retrieve refblock");
                return ret;
            }
        }
        while (i < (uint64_t)s->refcount_block_size) {
            uint64_t n;

            if (pos == rc->refblock_size) {
                ret = op(bs, rc, new_index++, empty, errp);
                if (ret < 0) {
                    goto fail;
                }
                pos = 0;
                empty = true;
            }
            if (pos == 0 && rc->refblock_dirty) {
                memset(rc->refblock, 0, s->cluster_size);
                rc->refblock_dirty = false;
            }
            n = MIN(s->refcount_block_size - i, rc->refblock_size - pos);
            if (block) {
                uint64_t k;

                for (k = 0; k < n; k++) {
                    uint64_t refcount = s->get_refcount(block, i + k);

                    if (rc->refcount_bits < 64 &&
                        refcount >> rc->refcount_bits) {
                        uint64_t cluster = (rt_index <<
                                            s->refcount_block_bits) + i + k;

                        error_setg(errp, "Cannot decrease refcount entry "
                                   "width to %i bits: Cluster at offset %#"
                                   PRIx64 " has a refcount of %" PRIu64,
                                   rc->refcount_bits,
                                   cluster << s->cluster_bits, refcount);
                        ret = -EINVAL;
                        goto fail;
                    }
                    if (refcount) {
                        empty = false;
                        if (rc->refblock) {
                            rc->set_refcount(rc->refblock, pos + k, refcount);
                            rc->refblock_dirty = true;
                        }
                    }
                }
            }
            /* No block: every refcount in it is 0. */
            pos += n;
            i += n;
            if (!block && pos == rc->refblock_size &&
                (s->refcount_block_size - i) / rc->refblock_size >= 2) {
                /*
                 * Whole new blocks of zeroes ahead: op does nothing for
                 * them (an empty block allocates nothing) but write the
                 * ones allocated earlier, so all but the last are skipped.
                 */
                uint64_t k = (s->refcount_block_size - i) /
                             rc->refblock_size;
                uint64_t j;

                ret = op(bs, rc, new_index++, empty, errp);
                if (ret < 0) {
                    goto fail;
                }
                pos = 0;
                empty = true;
                for (j = new_index; j < new_index + k - 1; j++) {
                    if (j < rc->reftable_size && rc->reftable[j]) {
                        if (rc->refblock_dirty) {
                            memset(rc->refblock, 0, s->cluster_size);
                            rc->refblock_dirty = false;
                        }
                        ret = op(bs, rc, j, true, errp);
                        if (ret < 0) {
                            goto fail;
                        }
                    }
                }
                new_index += k - 1;
                i += (k - 1) * rc->refblock_size;
            }
        }
        if (block) {
            qcow2_cache_put(s->refcount_block_cache, &block);
        }
        continue;
fail:
        if (block) {
            qcow2_cache_put(s->refcount_block_cache, &block);
        }
        return ret;
    }
    if (pos > 0) {
        /* The last new block, partly filled (the rest is zeroes). */
        ret = op(bs, rc, new_index, empty, errp);
        if (ret < 0) {
            return ret;
        }
    }
    if (status_cb) {
        status_cb(bs, (uint64_t)(index + 1) * s->refcount_table_size,
                  (uint64_t)total * s->refcount_table_size, cb_opaque);
    }
    return 0;
}

int coroutine_fn qcow2_change_refcount_order(BlockDriverState *bs,
                                             int refcount_order,
                                             BlockDriverAmendStatusCB *cb,
                                             void *cb_opaque, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    RefcountChange rc;
    int64_t new_reftable_offset = 0;
    uint64_t allocated_size = 0, i;
    uint64_t *old_table = NULL, *be_table = NULL;
    uint64_t old_table_offset = 0;
    uint32_t old_table_size = 0;
    int old_order;
    int walk_index = 0;
    int ret;

    memset(&rc, 0, sizeof(rc));
    rc.refcount_bits = 1 << refcount_order;
    rc.refblock_size = (uint64_t)1 << (s->cluster_bits -
                                       (refcount_order - 3));
    rc.set_refcount = set_refcount_funcs[refcount_order];

    /* Allocate until a walk finds every new block and the table in place. */
    do {
        int total = MAX(walk_index + 2, 3);

        rc.allocated = false;
        ret = walk_over_reftable(bs, &rc, alloc_new_refblock, cb, cb_opaque,
                                 walk_index++, total, errp);
        if (ret < 0) {
            goto done;
        }
        if (rc.allocated) {
            if (new_reftable_offset) {
                qcow2_free_clusters(bs, new_reftable_offset,
                                    allocated_size * sizeof(uint64_t),
                                    QCOW2_DISCARD_NEVER);
            }
            new_reftable_offset = qcow2_alloc_clusters(bs, rc.reftable_size *
                                                       sizeof(uint64_t));
            if (new_reftable_offset < 0) {
                ret = new_reftable_offset;
                new_reftable_offset = 0;
                error_setg_errno(errp, -ret, "Failed to allocate the new "
                                 "reftable");
                goto done;
            }
            allocated_size = rc.reftable_size;
        }
    } while (rc.allocated);

    /* Fill and write the new blocks, then the new table. */
    rc.refblock = qemu_try_blockalign(s->cluster_size);
    if (!rc.refblock) {
        error_setg(errp, "Failed to allocate refblock buffer");
        ret = -ENOMEM;
        goto done;
    }
    memset(rc.refblock, 0, s->cluster_size);
    ret = walk_over_reftable(bs, &rc, write_new_refblock, cb, cb_opaque,
                             walk_index, walk_index + 1, errp);
    if (ret < 0) {
        goto done;
    }
    be_table = qemu_try_blockalign(MAX(rc.reftable_size, 1) *
                                   sizeof(uint64_t));
    if (!be_table) {
        error_setg(errp, "Failed to allocate the new reftable");
        ret = -ENOMEM;
        goto done;
    }
    for (i = 0; i < rc.reftable_size; i++) {
        be_table[i] = cpu_to_be64(rc.reftable[i]);
    }
    ret = bdrv_co_pwrite(bs->file, new_reftable_offset,
                         rc.reftable_size * sizeof(uint64_t), be_table, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to write the new reftable");
        goto done;
    }
    /* Everything the old structures know reaches the disk; then forget. */
    ret = qcow2_cache_empty(bs, s->refcount_block_cache);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to flush the refblock cache");
        goto done;
    }

    /* The switch: the header names the new table. */
    old_order = s->refcount_order;
    old_table_size = s->refcount_table_size;
    old_table_offset = s->refcount_table_offset;
    s->refcount_order = refcount_order;
    s->refcount_table_size = rc.reftable_size;
    s->refcount_table_offset = new_reftable_offset;
    ret = qcow2_update_header(bs);
    if (ret < 0) {
        s->refcount_order = old_order;
        s->refcount_table_size = old_table_size;
        s->refcount_table_offset = old_table_offset;
        error_setg_errno(errp, -ret, "Failed to update the qcow2 header");
        goto done;
    }

    /* be_table becomes the in-memory table (aligned, as at open). */
    for (i = 0; i < rc.reftable_size; i++) {
        be_table[i] = rc.reftable[i];
    }
    old_table = s->refcount_table;
    s->refcount_table = be_table;
    be_table = NULL;
    s->max_refcount_table_index = 0;
    for (i = 0; i < rc.reftable_size; i++) {
        if (s->refcount_table[i]) {
            s->max_refcount_table_index = i;
        }
    }
    s->refcount_bits = 1 << refcount_order;
    s->refcount_max = UINT64_C(1) << (s->refcount_bits - 1);
    s->refcount_max += s->refcount_max - 1;
    s->refcount_block_bits = s->cluster_bits - (refcount_order - 3);
    s->refcount_block_size = 1 << s->refcount_block_bits;
    s->get_refcount = get_refcount_funcs[refcount_order];
    s->set_refcount = set_refcount_funcs[refcount_order];

    /* The old structures are free clusters now (counted by the new). */
    for (i = 0; i < old_table_size; i++) {
        uint64_t offset = old_table[i] & REFT_OFFSET_MASK;

        if (offset) {
            qcow2_free_clusters(bs, offset, s->cluster_size,
                                QCOW2_DISCARD_OTHER);
        }
    }
    qcow2_free_clusters(bs, old_table_offset,
                        (uint64_t)old_table_size * sizeof(uint64_t),
                        QCOW2_DISCARD_OTHER);
    qemu_vfree(old_table);
    new_reftable_offset = 0;
    memset(rc.reftable, 0, rc.reftable_size * sizeof(uint64_t));
    ret = 0;

done:
    /* On failure the new blocks and table go back (the old ones rule). */
    for (i = 0; i < rc.reftable_size; i++) {
        if (rc.reftable[i]) {
            qcow2_free_clusters(bs, rc.reftable[i], s->cluster_size,
                                QCOW2_DISCARD_OTHER);
        }
    }
    if (new_reftable_offset > 0) {
        qcow2_free_clusters(bs, new_reftable_offset,
                            allocated_size * sizeof(uint64_t),
                            QCOW2_DISCARD_OTHER);
    }
    free(rc.reftable);
    qemu_vfree(rc.refblock);
    qemu_vfree(be_table);
    return ret;
}

/* ---- check and repair ---------------------------------------------------- */

/*
 * Check builds the refcounts the image's metadata implies (one counter per
 * host cluster of the file) and compares them with the refcount blocks.
 * Messages and counts follow the reference's, line for line: the front end
 * prints the summary, the driver the per-cluster lines (on stderr, as the
 * reference does).
 */

enum {
    CHECK_FRAG_INFO = 0x2,  /* gather allocation statistics */
    CHECK_OFLAG_COPIED = 0x1,
};

typedef struct CheckState {
    uint16_t *refcounts;        /* computed references per cluster */
    int64_t nb_clusters;
} CheckState;

/* Counts one more reference to every cluster of [offset, offset + size). */
static int inc_refcounts(BlockDriverState *bs, BdrvCheckResult *res,
                         CheckState *cs, int64_t offset, int64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t start, last, cluster_offset, k;

    if (size <= 0) {
        return 0;
    }
    start = start_of_cluster(s, offset);
    last = start_of_cluster(s, offset + size - 1);
    for (cluster_offset = start; cluster_offset <= last;
         cluster_offset += s->cluster_size) {
        k = cluster_offset >> s->cluster_bits;
        if (k < 0 || k >= cs->nb_clusters) {
            fprintf(stderr, "ERROR: counting reference for region exceeding "
                    "the end of the file by one cluster or more: offset %#"
                    PRIx64 " size %#" PRIx64 "\n", offset, size);
            res->corruptions++;
            return 0;
        }
        if (cs->refcounts[k] == UINT16_MAX) {
            fprintf(stderr, "ERROR: overflow cluster offset=%#" PRIx64 "\n",
                    cluster_offset);
            res->corruptions++;
            continue;
        }
        cs->refcounts[k]++;
    }
    return 0;
}

static int check_refcounts_l2(BlockDriverState *bs, BdrvCheckResult *res,
                              CheckState *cs, int64_t *highest_host,
                              uint64_t l2_offset, int flags, BdrvCheckMode fix,
                              uint64_t *next_contiguous)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *l2_table;
    size_t l2_bytes = (size_t)s->l2_size * l2_entry_size(s);
    int i, ret;

    l2_table = qemu_try_blockalign(l2_bytes);
    if (!l2_table) {
        return -ENOMEM;
    }
    ret = bdrv_co_pread(bs->file, l2_offset, l2_bytes, l2_table, 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR: I/O error in check_refcounts_l2\n");
        res->check_errors++;
        goto out;
    }

    for (i = 0; i < s->l2_size; i++) {
        uint64_t l2_entry = get_l2_entry(s, l2_table, i);
        uint64_t l2_bitmap = get_l2_bitmap(s, l2_table, i);
        QCow2ClusterType type = qcow2_get_cluster_type(bs, l2_entry);

        if (type != QCOW2_CLUSTER_COMPRESSED &&
            (l2_entry & L2E_STD_RESERVED_MASK)) {
            fprintf(stderr, "ERROR found l2 entry with reserved bits set: %"
                    PRIx64 "\n", l2_entry);
            res->corruptions++;
        }

        switch (type) {
        case QCOW2_CLUSTER_COMPRESSED: {
            uint64_t coffset;
            int csize;

            if (has_data_file(bs)) {
                fprintf(stderr, "ERROR compressed cluster %d with data file, "
                        "entry=0x%" PRIx64 "\n", i, l2_entry);
                res->corruptions++;
                break;
            }
            if (l2_bitmap) {
                fprintf(stderr, "ERROR compressed cluster %d with non-zero "
                        "subcluster allocation bitmap, entry=0x%" PRIx64 "\n",
                        i, l2_entry);
                res->corruptions++;
                break;
            }
            /* Compressed clusters don't have QCOW_OFLAG_COPIED */
            if (l2_entry & QCOW_OFLAG_COPIED) {
                fprintf(stderr, "ERROR: coffset=0x%" PRIx64 ": copied flag "
                        "must never be set for compressed clusters\n",
                        l2_entry & s->cluster_offset_mask);
                l2_entry &= ~QCOW_OFLAG_COPIED;
                res->corruptions++;
            }
            if (flags & CHECK_FRAG_INFO) {
                res->bfi.allocated_clusters++;
                res->bfi.compressed_clusters++;
                /* Compressed clusters are fragmented by nature. */
                res->bfi.fragmented_clusters++;
            }
            qcow2_parse_compressed_l2_entry(bs, l2_entry, &coffset, &csize);
            inc_refcounts(bs, res, cs, coffset, csize);
            break;
        }
        case QCOW2_CLUSTER_ZERO_ALLOC:
        case QCOW2_CLUSTER_NORMAL: {
            uint64_t offset = l2_entry & L2E_OFFSET_MASK;

            if ((l2_bitmap >> 32) & l2_bitmap) {
                res->corruptions++;
                fprintf(stderr, "ERROR offset=%" PRIx64 ": Allocated cluster "
                        "has corrupted subcluster allocation bitmap\n",
                        offset);
            }
            if (offset_into_cluster(s, offset)) {
                fprintf(stderr, "ERROR offset=%" PRIx64 ": Data cluster is "
                        "not properly aligned; L2 entry corrupted.\n",
                        offset);
                res->corruptions++;
            }
            if (flags & CHECK_FRAG_INFO) {
                res->bfi.allocated_clusters++;
                if (*next_contiguous && offset != *next_contiguous) {
                    res->bfi.fragmented_clusters++;
                }
                *next_contiguous = offset + s->cluster_size;
            }
            if (!has_data_file(bs)) {
                inc_refcounts(bs, res, cs, offset, s->cluster_size);
            }
            break;
        }
        case QCOW2_CLUSTER_ZERO_PLAIN:
        case QCOW2_CLUSTER_UNALLOCATED:
            if (l2_bitmap & QCOW_L2_BITMAP_ALL_ALLOC) {
                res->corruptions++;
                fprintf(stderr, "ERROR: Unallocated cluster has non-zero "
                        "subcluster allocation bitmap\n");
            }
            break;
        }
    }
    ret = 0;
out:
    qemu_vfree(l2_table);
    (void)highest_host;
    (void)fix;
    return ret;
}

static int check_refcounts_l1(BlockDriverState *bs, BdrvCheckResult *res,
                              CheckState *cs, int64_t l1_table_offset,
                              int l1_size, int flags, BdrvCheckMode fix)
{
    BDRVQcow2State *s = bs->opaque;
    size_t l1_size2 = (size_t)l1_size * sizeof(uint64_t);
    uint64_t *l1_table = NULL;
    uint64_t next_contiguous = 0;
    int i, ret;

    if (!l1_size) {
        return 0;
    }
    inc_refcounts(bs, res, cs, l1_table_offset, l1_size2);

    l1_table = malloc(l1_size2);
    if (!l1_table) {
        res->check_errors++;
        return -ENOMEM;
    }
    ret = bdrv_co_pread(bs->file, l1_table_offset, l1_size2, l1_table, 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR: I/O error in check_refcounts_l1\n");
        res->check_errors++;
        goto out;
    }

    for (i = 0; i < l1_size; i++) {
        uint64_t l1_entry = be64_to_cpu(l1_table[i]);
        uint64_t l2_offset = l1_entry & L1E_OFFSET_MASK;

        if (l1_entry & L1E_RESERVED_MASK) {
            fprintf(stderr, "ERROR found L1 entry with reserved bits set: %"
                    PRIx64 "\n", l1_entry);
            res->corruptions++;
        }
        if (!l2_offset) {
            continue;
        }
        inc_refcounts(bs, res, cs, l2_offset, s->cluster_size);
        if (offset_into_cluster(s, l2_offset)) {
            fprintf(stderr, "ERROR l2_offset=%" PRIx64 ": Table is not "
                    "cluster aligned; L1 entry corrupted\n", l2_offset);
            res->corruptions++;
        }
        /* Contiguity is judged within one L2 table, as the reference. */
        next_contiguous = 0;
        ret = check_refcounts_l2(bs, res, cs, NULL, l2_offset, flags, fix,
                                 &next_contiguous);
        if (ret < 0) {
            goto out;
        }
    }
    ret = 0;
out:
    free(l1_table);
    return ret;
}

/*
 * Checks (and with FIX_ERRORS repairs) the COPIED flags of the active L1
 * and L2 tables against the refcounts on disk.
 */
static int check_oflag_copied(BlockDriverState *bs, BdrvCheckResult *res,
                              BdrvCheckMode fix)
{
    BDRVQcow2State *s = bs->opaque;
    size_t l2_bytes = (size_t)s->l2_size * l2_entry_size(s);
    uint64_t *l2_table = qemu_blockalign(l2_bytes);
    uint64_t refcount;
    int i, j;
    int ret;

    for (i = 0; i < s->l1_size; i++) {
        uint64_t l1_entry = s->l1_table[i];
        uint64_t l2_offset = l1_entry & L1E_OFFSET_MASK;
        bool l2_dirty = false;
        int fixed_here = 0;

        if (!l2_offset) {
            continue;
        }
        ret = qcow2_get_refcount(bs, l2_offset >> s->cluster_bits, &refcount);
        if (ret < 0) {
            /* Reported as a refcount error elsewhere. */
            continue;
        }
        if ((refcount == 1) != ((l1_entry & QCOW_OFLAG_COPIED) != 0)) {
            /*
             * Setting a missing flag is safe with any repair; clearing one
             * (the cluster is shared or free) needs -r all.
             */
            bool repair = refcount == 1 ? fix != 0 : !!(fix & BDRV_FIX_ERRORS);

            res->corruptions++;
            fprintf(stderr, "%s OFLAG_COPIED L2 cluster: l1_index=%d "
                    "l1_entry=%" PRIx64 " refcount=%" PRIu64 "\n",
                    repair ? "Repairing" : "ERROR", i,
                    l1_entry, refcount);
            if (repair) {
                s->l1_table[i] = refcount == 1 ?
                                 l1_entry | QCOW_OFLAG_COPIED :
                                 l1_entry & ~QCOW_OFLAG_COPIED;
                ret = qcow2_write_l1_entry(bs, i);
                if (ret < 0) {
                    res->check_errors++;
                    goto fail;
                }
                res->corruptions--;
                res->corruptions_fixed++;
            }
        }

        if (offset_into_cluster(s, l2_offset)) {
            continue;
        }
        ret = bdrv_co_pread(bs->file, l2_offset, l2_bytes, l2_table, 0);
        if (ret < 0) {
            fprintf(stderr, "ERROR: Could not read L2 table: %s\n",
                    strerror(-ret));
            res->check_errors++;
            goto fail;
        }

        for (j = 0; j < s->l2_size; j++) {
            uint64_t l2_entry = get_l2_entry(s, l2_table, j);
            uint64_t data_offset = l2_entry & L2E_OFFSET_MASK;
            QCow2ClusterType type = qcow2_get_cluster_type(bs, l2_entry);

            if ((type == QCOW2_CLUSTER_NORMAL ||
                 type == QCOW2_CLUSTER_ZERO_ALLOC) &&
                !offset_into_cluster(s, data_offset)) {
                if (has_data_file(bs)) {
                    refcount = 1;
                } else {
                    ret = qcow2_get_refcount(bs,
                                             data_offset >> s->cluster_bits,
                                             &refcount);
                    if (ret < 0) {
                        continue;
                    }
                }
                if ((refcount == 1) !=
                    ((l2_entry & QCOW_OFLAG_COPIED) != 0)) {
                    bool repair = refcount == 1 ? fix != 0
                                                : !!(fix & BDRV_FIX_ERRORS);

                    res->corruptions++;
                    fprintf(stderr, "%s OFLAG_COPIED data cluster: "
                            "l2_entry=%" PRIx64 " refcount=%" PRIu64 "\n",
                            repair ? "Repairing" : "ERROR",
                            l2_entry, refcount);
                    if (repair) {
                        set_l2_entry(s, l2_table, j,
                                     refcount == 1 ?
                                     l2_entry | QCOW_OFLAG_COPIED :
                                     l2_entry & ~QCOW_OFLAG_COPIED);
                        l2_dirty = true;
                        fixed_here++;
                    }
                }
            }
        }

        if (l2_dirty) {
            /* The table may be cached: drop the cache, then write it. */
            ret = qcow2_cache_empty(bs, s->l2_table_cache);
            if (ret < 0) {
                res->check_errors++;
                goto fail;
            }
            ret = bdrv_co_pwrite(bs->file, l2_offset, l2_bytes, l2_table, 0);
            if (ret < 0) {
                fprintf(stderr, "ERROR: Could not write L2 table: %s\n",
                        strerror(-ret));
                res->check_errors++;
                goto fail;
            }
            res->corruptions -= fixed_here;
            res->corruptions_fixed += fixed_here;
        }
    }
    ret = 0;
fail:
    qemu_vfree(l2_table);
    return ret;
}

/*
 * The bitmaps extension: the directory, each bitmap's table and the
 * clusters the tables point to are users of their clusters.
 */
static int check_bitmaps_refcounts(BlockDriverState *bs, BdrvCheckResult *res,
                                   CheckState *cs)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t *dir = NULL;
    uint64_t *table = NULL;
    uint64_t pos;
    uint32_t n;
    int ret = 0;

    if (!s->nb_bitmaps || !(s->autoclear_features &
                            QCOW2_AUTOCLEAR_BITMAPS)) {
        return 0;
    }
    if (s->bitmap_directory_size > QCOW2_MAX_BITMAP_DIRECTORY_SIZE ||
        !s->bitmap_directory_size) {
        return 0;
    }
    inc_refcounts(bs, res, cs, s->bitmap_directory_offset,
                  s->bitmap_directory_size);
    dir = xmalloc(s->bitmap_directory_size);
    ret = bdrv_co_pread(bs->file, s->bitmap_directory_offset,
                        s->bitmap_directory_size, dir, 0);
    if (ret < 0) {
        res->check_errors++;
        goto out;
    }
    for (pos = 0, n = 0; n < s->nb_bitmaps &&
         pos + 24 <= s->bitmap_directory_size; n++) {
        uint64_t table_offset = ldbe64(dir + pos);
        uint32_t table_size = ldbe32(dir + pos + 8);
        uint16_t name_size = ldbe16(dir + pos + 18);
        uint32_t extra = ldbe32(dir + pos + 20);
        uint32_t i;

        if (table_size > QCOW_MAX_L1_SIZE / sizeof(uint64_t)) {
            res->corruptions++;
            break;
        }
        inc_refcounts(bs, res, cs, table_offset,
                      (int64_t)table_size * sizeof(uint64_t));
        table = xrealloc(table, MAX(table_size, 1) * sizeof(uint64_t));
        ret = bdrv_co_pread(bs->file, table_offset,
                            (int64_t)table_size * sizeof(uint64_t), table, 0);
        if (ret < 0) {
            res->check_errors++;
            goto out;
        }
        for (i = 0; i < table_size; i++) {
            uint64_t off = be64_to_cpu(table[i]) & L1E_OFFSET_MASK;

            if (off) {
                inc_refcounts(bs, res, cs, off, s->cluster_size);
            }
        }
        pos += ROUND_UP(24 + (uint64_t)name_size + extra, 8);
    }
    ret = 0;
out:
    free(dir);
    free(table);
    return ret;
}

static int calculate_refcounts(BlockDriverState *bs, BdrvCheckResult *res,
                               BdrvCheckMode fix, bool *rebuild,
                               CheckState *cs)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t i;
    int ret;

    memset(cs->refcounts, 0, cs->nb_clusters * sizeof(uint16_t));

    /* header */
    inc_refcounts(bs, res, cs, 0, s->cluster_size);

    /* current L1 table */
    ret = check_refcounts_l1(bs, res, cs, s->l1_table_offset, s->l1_size,
                             CHECK_FRAG_INFO, fix);
    if (ret < 0) {
        return ret;
    }

    /* snapshots */
    for (i = 0; i < s->nb_snapshots; i++) {
        QCowSnapshot *sn = s->snapshots + i;

        if (offset_into_cluster(s, sn->l1_table_offset)) {
            fprintf(stderr, "ERROR snapshot %s (%s) l1_offset=%#" PRIx64 ": "
                    "L1 table is not cluster aligned; snapshot table entry "
                    "corrupted\n", sn->id_str, sn->name, sn->l1_table_offset);
            res->corruptions++;
            continue;
        }
        if (sn->l1_size > QCOW_MAX_L1_SIZE / sizeof(uint64_t)) {
            fprintf(stderr, "ERROR snapshot %s (%s) l1_size=%#" PRIx32 ": "
                    "L1 table is too large; snapshot table entry corrupted\n",
                    sn->id_str, sn->name, sn->l1_size);
            res->corruptions++;
            continue;
        }
        ret = check_refcounts_l1(bs, res, cs, sn->l1_table_offset,
                                 sn->l1_size, 0, fix);
        if (ret < 0) {
            return ret;
        }
    }
    inc_refcounts(bs, res, cs, s->snapshots_offset, s->snapshots_size);

    /* refcount table */
    inc_refcounts(bs, res, cs, s->refcount_table_offset,
                  (int64_t)s->refcount_table_size * sizeof(uint64_t));

    /* encryption */
    if (s->crypto_header_offset) {
        inc_refcounts(bs, res, cs, s->crypto_header_offset,
                      s->crypto_header_length);
    }

    /* bitmaps */
    ret = check_bitmaps_refcounts(bs, res, cs);
    if (ret < 0) {
        return ret;
    }

    /* refcount blocks */
    for (i = 0; i < s->refcount_table_size; i++) {
        uint64_t offset = s->refcount_table[i] & REFT_OFFSET_MASK;
        int64_t cluster = offset >> s->cluster_bits;

        if (s->refcount_table[i] & REFT_RESERVED_MASK) {
            fprintf(stderr, "ERROR refcount table entry %" PRId64 " has "
                    "reserved bits set\n", i);
            res->corruptions++;
            *rebuild = true;
            continue;
        }
        if (offset_into_cluster(s, offset)) {
            fprintf(stderr, "ERROR refcount block %" PRId64 " is not "
                    "cluster aligned; refcount table entry corrupted\n", i);
            res->corruptions++;
            *rebuild = true;
            continue;
        }
        if (!offset) {
            continue;
        }
        if (cluster >= cs->nb_clusters) {
            int64_t nb;

            /*
             * Growing the file to reach the block is only sane when it is
             * close by; a wild offset is just corruption (rebuilt).
             */
            if (!(fix & BDRV_FIX_ERRORS) ||
                cluster - cs->nb_clusters > s->refcount_block_size) {
                fprintf(stderr, "ERROR refcount block %" PRId64 " is outside "
                        "image\n", i);
                res->corruptions++;
                if (fix & BDRV_FIX_ERRORS) {
                    *rebuild = true;
                }
                continue;
            }
            /* Make the file cover the block, then count it as usual. */
            fprintf(stderr, "Repairing refcount block %" PRId64 " is outside "
                    "image\n", i);
            nb = cluster + 1;
            if (bdrv_co_truncate(bs->file, nb << s->cluster_bits, false,
                                 PREALLOC_MODE_OFF, 0, NULL) < 0) {
                res->check_errors++;
                continue;
            }
            cs->refcounts = xrealloc(cs->refcounts, nb * sizeof(uint16_t));
            memset(cs->refcounts + cs->nb_clusters, 0,
                   (nb - cs->nb_clusters) * sizeof(uint16_t));
            cs->nb_clusters = nb;
            res->corruptions_fixed++;
        }
        inc_refcounts(bs, res, cs, offset, s->cluster_size);
        if (cs->refcounts[cluster] != 1) {
            fprintf(stderr, "ERROR refcount block %" PRId64 " refcount=%d\n",
                    i, cs->refcounts[cluster]);
            res->corruptions++;
            *rebuild = true;
        }
    }
    return 0;
}

static void compare_refcounts(BlockDriverState *bs, BdrvCheckResult *res,
                              BdrvCheckMode fix, bool *rebuild,
                              int64_t *highest_cluster, CheckState *cs)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t i;
    uint64_t refcount1, refcount2;
    int ret;

    for (i = 0, *highest_cluster = 0; i < cs->nb_clusters; i++) {
        ret = qcow2_get_refcount(bs, i, &refcount1);
        if (ret < 0) {
            fprintf(stderr, "Can't get refcount for cluster %" PRId64 ": %s\n",
                    i, strerror(-ret));
            res->check_errors++;
            continue;
        }
        refcount2 = cs->refcounts[i];

        if (refcount1 > 0 || refcount2 > 0) {
            *highest_cluster = i;
        }
        if (refcount1 != refcount2) {
            int *num_fixed = NULL;

            if (refcount1 == 0) {
                *rebuild = true;
            } else if (refcount1 > refcount2 && (fix & BDRV_FIX_LEAKS)) {
                num_fixed = &res->leaks_fixed;
            } else if (refcount1 < refcount2 && (fix & BDRV_FIX_ERRORS)) {
                num_fixed = &res->corruptions_fixed;
            }

            fprintf(stderr, "%s cluster %" PRId64 " refcount=%" PRIu64
                    " reference=%" PRIu64 "\n",
                    num_fixed != NULL ? "Repairing" :
                    refcount1 < refcount2 ? "ERROR" : "Leaked",
                    i, refcount1, refcount2);

            if (num_fixed) {
                do {
                    ret = update_refcount(bs, i << s->cluster_bits, 1,
                                          refcount_diff(refcount1,
                                                        refcount2),
                                          refcount1 > refcount2,
                                          QCOW2_DISCARD_ALWAYS);
                } while (ret == -EAGAIN);
                if (ret >= 0) {
                    (*num_fixed)++;
                    continue;
                }
            }

            /* And if we couldn't, print an error */
            if (refcount1 < refcount2) {
                res->corruptions++;
            } else {
                res->leaks++;
            }
        }
    }
}

/*
 * First fit in the computed refcounts (clusters past their end are free):
 * n contiguous unused clusters, marked used. Returns the first cluster.
 */
static int64_t imrt_alloc(CheckState *cs, int64_t *first_free, int64_t n)
{
    int64_t start = *first_free, k;

    for (;;) {
        for (k = 0; k < n; k++) {
            if (start + k < cs->nb_clusters && cs->refcounts[start + k]) {
                break;
            }
        }
        if (k == n) {
            break;
        }
        start += k + 1;
    }
    if (start + n > cs->nb_clusters) {
        int64_t nb = start + n;

        cs->refcounts = xrealloc(cs->refcounts, nb * sizeof(uint16_t));
        memset(cs->refcounts + cs->nb_clusters, 0,
               (nb - cs->nb_clusters) * sizeof(uint16_t));
        cs->nb_clusters = nb;
    }
    for (k = 0; k < n; k++) {
        cs->refcounts[start + k] = 1;
    }
    while (*first_free < cs->nb_clusters && cs->refcounts[*first_free]) {
        (*first_free)++;
    }
    return start;
}

/*
 * Writes a fresh refcount structure describing cs->refcounts into free
 * clusters (first fit from the start): a block for every range with a
 * used cluster, then the table, and points the header to it. The old
 * structure becomes unreferenced (a leak the caller reclaims).
 */
static int rebuild_refcount_structure(BlockDriverState *bs,
                                      BdrvCheckResult *res, CheckState *cs,
                                      int64_t highest_cluster)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t first_free = 0, nb_idx = 0, i, k;
    int64_t table_offset = -1, table_clusters = 0;
    uint64_t *blocks = NULL;
    uint64_t *new_table = NULL;
    uint8_t *block = NULL;
    uint64_t table_size;
    uint8_t hdr[12];
    bool changed;
    int ret;

    fprintf(stderr, "Rebuilding refcount structure\n");
    (void)highest_cluster;

    do {
        changed = false;
        for (i = 0; i * s->refcount_block_size < cs->nb_clusters; i++) {
            int64_t first = i * s->refcount_block_size;
            int64_t end = MIN(first + s->refcount_block_size,
                              cs->nb_clusters);

            if (i >= nb_idx) {
                blocks = xrealloc(blocks, (i + 1) * sizeof(uint64_t));
                memset(blocks + nb_idx, 0, (i + 1 - nb_idx) *
                       sizeof(uint64_t));
                nb_idx = i + 1;
            }
            if (blocks[i]) {
                continue;
            }
            for (k = first; k < end && !cs->refcounts[k]; k++) {
                ;
            }
            if (k < end) {
                blocks[i] = imrt_alloc(cs, &first_free, 1);
                changed = true;
            }
        }
        if (DIV_ROUND_UP(nb_idx * (int64_t)sizeof(uint64_t),
                         (int64_t)s->cluster_size) > table_clusters) {
            /* (Re)place the table: it may need blocks of its own. */
            if (table_offset >= 0) {
                for (k = 0; k < table_clusters; k++) {
                    cs->refcounts[table_offset + k] = 0;
                }
                first_free = MIN(first_free, table_offset);
            }
            table_clusters = DIV_ROUND_UP(nb_idx * (int64_t)sizeof(uint64_t),
                                          (int64_t)s->cluster_size);
            table_offset = imrt_alloc(cs, &first_free, table_clusters);
            changed = true;
        }
    } while (changed);

    table_size = table_clusters * s->cluster_size / sizeof(uint64_t);
    if (table_size * sizeof(uint64_t) > QCOW_MAX_REFTABLE_SIZE) {
        res->check_errors++;
        ret = -EFBIG;
        goto fail;
    }

    new_table = qemu_blockalign0(table_clusters * s->cluster_size);
    block = qemu_blockalign(s->cluster_size);
    for (i = 0; i < nb_idx; i++) {
        int64_t first = i * s->refcount_block_size;

        if (!blocks[i]) {
            continue;
        }
        memset(block, 0, s->cluster_size);
        for (k = first; k < MIN(first + s->refcount_block_size,
                                cs->nb_clusters); k++) {
            s->set_refcount(block, k - first, MIN((uint64_t)cs->refcounts[k],
                                                  s->refcount_max));
        }
        ret = bdrv_co_pwrite(bs->file, blocks[i] << s->cluster_bits,
                             s->cluster_size, block, 0);
        if (ret < 0) {
            fprintf(stderr, "ERROR writing refblock: %s\n", strerror(-ret));
            goto fail;
        }
        new_table[i] = cpu_to_be64(blocks[i] << s->cluster_bits);
    }
    table_offset <<= s->cluster_bits;
    ret = bdrv_co_pwrite(bs->file, table_offset,
                         table_clusters * s->cluster_size, new_table, 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR writing reftable: %s\n", strerror(-ret));
        goto fail;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        goto fail;
    }

    stbe64(hdr, table_offset);
    stbe32(hdr + 8, table_clusters);
    ret = bdrv_co_pwrite(bs->file, 48, sizeof(hdr), hdr, 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR setting reftable: %s\n", strerror(-ret));
        goto fail;
    }

    /* Switch the in-memory state over. */
    qcow2_cache_empty(bs, s->refcount_block_cache);
    qemu_vfree(s->refcount_table);
    s->refcount_table = qemu_blockalign(table_size * sizeof(uint64_t));
    for (i = 0; i < (int64_t)table_size; i++) {
        s->refcount_table[i] = be64_to_cpu(new_table[i]);
        if (s->refcount_table[i]) {
            s->max_refcount_table_index = i;
        }
    }
    s->refcount_table_offset = table_offset;
    s->refcount_table_size = table_size;
    s->free_cluster_index = 0;
    ret = 0;
fail:
    free(blocks);
    qemu_vfree(new_table);
    qemu_vfree(block);
    return ret;
}

int coroutine_fn qcow2_check_refcounts(BlockDriverState *bs,
                                       BdrvCheckResult *res, BdrvCheckMode fix)
{
    BDRVQcow2State *s = bs->opaque;
    BdrvCheckResult pre_compare_res;
    CheckState cs = { NULL, 0 };
    int64_t size, highest_cluster;
    bool rebuild = false;
    int ret;

    size = bdrv_co_getlength(bs->file->bs);
    if (size < 0) {
        res->check_errors++;
        return size;
    }
    cs.nb_clusters = size_to_clusters(s, size);
    if (cs.nb_clusters > INT_MAX) {
        res->check_errors++;
        return -EFBIG;
    }
    res->bfi.total_clusters = size_to_clusters(s, (uint64_t)bs->total_sectors *
                                               BDRV_SECTOR_SIZE);

    /* Everything cached is in the file before we read it directly. */
    if (!bs->read_only) {
        ret = qcow2_write_caches(bs);
        if (ret < 0) {
            res->check_errors++;
            return ret;
        }
    }

    /* One counter per cluster of the file: fail cleanly if too many. */
    cs.refcounts = calloc(MAX(cs.nb_clusters, 1), sizeof(uint16_t));
    if (!cs.refcounts) {
        res->check_errors++;
        return -ENOMEM;
    }
    ret = calculate_refcounts(bs, res, fix, &rebuild, &cs);
    if (ret < 0) {
        goto fail;
    }

    /* In case we need to repair, compare once more with fixing on. */
    pre_compare_res = *res;
    compare_refcounts(bs, res, 0, &rebuild, &highest_cluster, &cs);

    if (rebuild && (fix & BDRV_FIX_ERRORS)) {
        BdrvCheckResult old_res = *res;
        int fresh_leaks = 0;

        res->corruptions = 0;
        res->leaks = 0;
        ret = rebuild_refcount_structure(bs, res, &cs, highest_cluster);
        if (ret < 0) {
            res->check_errors++;
            goto fail;
        }
        res->corruptions_fixed += old_res.corruptions;

        /* The old structure is now unreferenced: reclaim it quietly. */
        size = bdrv_co_getlength(bs->file->bs);
        if (size < 0 || size_to_clusters(s, size) > INT_MAX) {
            res->check_errors++;
            ret = size < 0 ? size : -EFBIG;
            goto fail;
        }
        free(cs.refcounts);
        cs.nb_clusters = size_to_clusters(s, size);
        cs.refcounts = calloc(MAX(cs.nb_clusters, 1), sizeof(uint16_t));
        if (!cs.refcounts) {
            res->check_errors++;
            ret = -ENOMEM;
            goto fail;
        }
        {
            BdrvCheckResult tmp = *res;

            memset(&tmp.bfi, 0, sizeof(tmp.bfi));
            ret = calculate_refcounts(bs, &tmp, fix, &rebuild, &cs);
            if (ret < 0) {
                goto fail;
            }
            tmp.leaks_fixed = 0;
            compare_refcounts(bs, &tmp, BDRV_FIX_LEAKS, &rebuild,
                              &highest_cluster, &cs);
            fresh_leaks = tmp.leaks;
            res->leaks += fresh_leaks;
        }
        if (old_res.leaks) {
            res->leaks_fixed += old_res.leaks;
        }
    } else if (fix) {
        if (rebuild) {
            fprintf(stderr, "ERROR need to rebuild refcount structures\n");
            res->check_errors++;
            ret = -EIO;
            goto fail;
        }
        if (res->leaks || res->corruptions) {
            *res = pre_compare_res;
            compare_refcounts(bs, res, fix, &rebuild, &highest_cluster, &cs);
        }
    }

    /* check OFLAG_COPIED */
    ret = check_oflag_copied(bs, res, fix);
    if (ret < 0) {
        goto fail;
    }

    res->image_end_offset = (highest_cluster + 1) * s->cluster_size;
    if (fix && !bs->read_only) {
        ret = qcow2_flush_caches(bs);
        if (ret < 0) {
            res->check_errors++;
        }
    }
    ret = 0;
fail:
    free(cs.refcounts);
    return ret;
}

int coroutine_fn qcow2_shrink_reftable(BlockDriverState *bs)
{
    /* Unused refcount blocks stay; the image is consistent with them. */
    return 0;
}

/*
 * Guesses whether the image was preallocated with metadata only: many more
 * clusters have a refcount than the file really stores. Then the file's
 * holes tell which mapped clusters still read as zeroes. 1 yes, 0 no.
 */
int coroutine_fn qcow2_detect_metadata_preallocation(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t i, end_cluster, real_allocation, real_clusters, threshold;
    int64_t allocated = 0;
    uint64_t refcount;
    int ret;

    real_allocation = bdrv_get_allocated_file_size(bs->file->bs);
    if (real_allocation < 0) {
        return real_allocation;
    }
    real_clusters = real_allocation / s->cluster_size;
    threshold = MAX(real_clusters * 10 / 9, real_clusters + 2);

    end_cluster = (int64_t)s->refcount_table_size * s->refcount_block_size;
    for (i = 0; i < end_cluster; i++) {
        if (!(i & (s->refcount_block_size - 1)) &&
            !(s->refcount_table[i >> s->refcount_block_bits] &
              REFT_OFFSET_MASK)) {
            /* A missing block: all its clusters are free. */
            i += s->refcount_block_size - 1;
            continue;
        }
        ret = qcow2_get_refcount(bs, i, &refcount);
        if (ret < 0) {
            return ret;
        }
        if (refcount > 0 && ++allocated > threshold) {
            return 1;
        }
    }
    return 0;
}
