/*
 * qcow2 metadata cache: L2 table slices and refcount blocks.
 *
 * A cache holds fixed-size tables keyed by their offset in the image file.
 * Entries are written back lazily (on flush or eviction); an entry in use
 * (ref > 0) is never evicted. All callers hold the driver's s->lock, so the
 * cache itself needs no locking even though its I/O yields.
 *
 * Write order: a cache may depend on another (the L2 cache on the refcount
 * cache); before any of its dirty entries is written, the other cache is
 * written and the file flushed. That is what puts a refcount on disk before
 * the L2 entry that relies on it.
 */
#include "config-host.h"

#include "qcow2.h"

typedef struct Qcow2CachedTable {
    int64_t offset;         /* -1: free */
    uint64_t lru_counter;
    int ref;
    bool dirty;
    /*
     * Read from past the end of the file (as zeroes): only corrupt
     * metadata points there, since every table we make is written before
     * it can be evicted and read back. Writing it back would grow the file
     * to wherever a hostile offset says (hundreds of GiB), so it never is.
     */
    bool outside_file;
    int hash_next;          /* next entry index in the bucket, or -1 */
} Qcow2CachedTable;

struct Qcow2Cache {
    Qcow2CachedTable *entries;
    /*
     * One arena for all tables: pages the OS commits on first touch, so an
     * unused large cache costs no memory, and a table's index is arithmetic.
     */
    uint8_t *arena;
    int size;
    unsigned table_size;
    int *buckets;           /* entry index or -1 */
    int nb_buckets;
    Qcow2Cache *depends;
    bool depends_on_flush;
    uint64_t lru_counter;
};

static unsigned int cache_hash(Qcow2Cache *c, uint64_t offset)
{
    uint64_t h = offset / c->table_size;

    h *= 0x9e3779b97f4a7c15ULL;
    return (unsigned int)(h >> 32) % c->nb_buckets;
}

static void hash_remove(Qcow2Cache *c, int i)
{
    unsigned int b = cache_hash(c, c->entries[i].offset);
    int *p = &c->buckets[b];

    while (*p != -1) {
        if (*p == i) {
            *p = c->entries[i].hash_next;
            c->entries[i].hash_next = -1;
            return;
        }
        p = &c->entries[*p].hash_next;
    }
}

static void hash_insert(Qcow2Cache *c, int i)
{
    unsigned int b = cache_hash(c, c->entries[i].offset);

    c->entries[i].hash_next = c->buckets[b];
    c->buckets[b] = i;
}

static int hash_lookup(Qcow2Cache *c, uint64_t offset)
{
    int i = c->buckets[cache_hash(c, offset)];

    while (i != -1 && c->entries[i].offset != (int64_t)offset) {
        i = c->entries[i].hash_next;
    }
    return i;
}

Qcow2Cache *qcow2_cache_create(BlockDriverState *bs, int num_tables,
                               unsigned table_size)
{
    Qcow2Cache *c = xzalloc(sizeof(*c));
    int i;

    c->size = num_tables;
    c->table_size = table_size;
    c->entries = xnew(Qcow2CachedTable, num_tables);
    c->arena = qemu_blockalign((size_t)num_tables * table_size);
    c->nb_buckets = num_tables * 2 + 1;
    c->buckets = xnew(int, c->nb_buckets);
    for (i = 0; i < c->nb_buckets; i++) {
        c->buckets[i] = -1;
    }
    for (i = 0; i < num_tables; i++) {
        c->entries[i].offset = -1;
        c->entries[i].hash_next = -1;
    }
    return c;
}

void qcow2_cache_destroy(Qcow2Cache *c)
{
    int i;

    if (!c) {
        return;
    }
    for (i = 0; i < c->size; i++) {
        assert(c->entries[i].ref == 0);
    }
    qemu_vfree(c->arena);
    free(c->entries);
    free(c->buckets);
    free(c);
}

static void *cache_table(Qcow2Cache *c, int i)
{
    return c->arena + (size_t)i * c->table_size;
}

static int table_index(Qcow2Cache *c, const void *table)
{
    ptrdiff_t d = (const uint8_t *)table - c->arena;

    assert(d >= 0 && d < (ptrdiff_t)c->size * c->table_size);
    return d / c->table_size;
}

static int coroutine_fn cache_flush_dependency(BlockDriverState *bs,
                                               Qcow2Cache *c)
{
    int ret;

    ret = qcow2_cache_flush(bs, c->depends);
    if (ret < 0) {
        return ret;
    }
    c->depends = NULL;
    c->depends_on_flush = false;
    return 0;
}

static int coroutine_fn cache_entry_flush(BlockDriverState *bs, Qcow2Cache *c,
                                          int i)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!c->entries[i].dirty || c->entries[i].offset < 0) {
        return 0;
    }
    if (c->depends) {
        ret = cache_flush_dependency(bs, c);
    } else if (c->depends_on_flush) {
        ret = bdrv_co_flush(bs->file->bs);
        if (ret >= 0) {
            c->depends_on_flush = false;
        }
    } else {
        ret = 0;
    }
    if (ret < 0) {
        return ret;
    }
    if (c->entries[i].outside_file) {
        qcow2_signal_corruption(bs, true, -1, -1, "Metadata table at offset "
                                "%#" PRIx64 " lies outside the image file",
                                c->entries[i].offset);
        return -EIO;
    }
    if (c == s->refcount_block_cache) {
        BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_UPDATE_PART);
    } else if (c == s->l2_table_cache) {
        BLKDBG_EVENT(bs->file, BLKDBG_L2_UPDATE);
    }
    ret = bdrv_co_pwrite(bs->file, c->entries[i].offset, c->table_size,
                         cache_table(c, i), 0);
    if (ret < 0) {
        return ret;
    }
    c->entries[i].dirty = false;
    return 0;
}

int coroutine_fn qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c)
{
    int result = 0;
    int ret;
    int i;

    for (i = 0; i < c->size; i++) {
        ret = cache_entry_flush(bs, c, i);
        if (ret < 0 && result != -ENOSPC) {
            result = ret;
        }
    }
    return result;
}

int coroutine_fn qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c)
{
    int result = qcow2_cache_write(bs, c);
    int ret;

    if (result == 0) {
        ret = bdrv_co_flush(bs->file->bs);
        if (ret < 0) {
            result = ret;
        }
    }
    return result;
}

int coroutine_fn qcow2_cache_set_dependency(BlockDriverState *bs,
                                            Qcow2Cache *c,
                                            Qcow2Cache *dependency)
{
    int ret;

    /* A chain of dependencies would need flushing in turn: cut it here. */
    if (dependency->depends) {
        ret = cache_flush_dependency(bs, dependency);
        if (ret < 0) {
            return ret;
        }
    }
    if (c->depends && c->depends != dependency) {
        ret = cache_flush_dependency(bs, c);
        if (ret < 0) {
            return ret;
        }
    }
    c->depends = dependency;
    return 0;
}

void qcow2_cache_depends_on_flush(Qcow2Cache *c)
{
    c->depends_on_flush = true;
}

int coroutine_fn qcow2_cache_empty(BlockDriverState *bs, Qcow2Cache *c)
{
    int ret, i;

    ret = qcow2_cache_flush(bs, c);
    if (ret < 0) {
        return ret;
    }
    for (i = 0; i < c->size; i++) {
        assert(c->entries[i].ref == 0);
        if (c->entries[i].offset >= 0) {
            hash_remove(c, i);
        }
        c->entries[i].offset = -1;
        c->entries[i].lru_counter = 0;
    }
    c->lru_counter = 0;
    return 0;
}

static int coroutine_fn cache_do_get(BlockDriverState *bs, Qcow2Cache *c,
                                     uint64_t offset, void **table,
                                     bool read_from_disk)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t min_lru = UINT64_MAX;
    int i, victim = -1;
    int ret;

    if (!IS_ALIGNED(offset, c->table_size) || offset == 0) {
        qcow2_signal_corruption(bs, true, -1, -1, "Cannot get entry from %s "
                                "cache: offset %#" PRIx64 " is unaligned",
                                c == s->l2_table_cache ? "L2" : "refcount",
                                offset);
        return -EIO;
    }

    i = hash_lookup(c, offset);
    if (i >= 0) {
        goto found;
    }

    /* Evict the least recently used entry that nobody holds. */
    for (i = 0; i < c->size; i++) {
        if (c->entries[i].ref) {
            continue;
        }
        if (c->entries[i].offset < 0) {
            victim = i;
            break;
        }
        if (c->entries[i].lru_counter < min_lru) {
            min_lru = c->entries[i].lru_counter;
            victim = i;
        }
    }
    if (victim < 0) {
        /* Every table in use: the cache is too small for the request. */
        return -ENOSPC;
    }
    i = victim;
    ret = cache_entry_flush(bs, c, i);
    if (ret < 0) {
        return ret;
    }
    if (c->entries[i].offset >= 0) {
        hash_remove(c, i);
    }
    c->entries[i].offset = -1;
    c->entries[i].outside_file = false;
    if (read_from_disk) {
        int64_t file_len;

        /* Hold the entry so that a concurrent get cannot evict it. */
        c->entries[i].ref++;
        if (c == s->l2_table_cache) {
            BLKDBG_EVENT(bs->file, BLKDBG_L2_LOAD);
        }
        ret = bdrv_co_pread(bs->file, offset, c->table_size,
                            cache_table(c, i), 0);
        file_len = bdrv_co_getlength(bs->file->bs);
        c->entries[i].ref--;
        if (ret < 0) {
            return ret;
        }
        c->entries[i].outside_file = file_len >= 0 &&
                                     offset >= (uint64_t)file_len;
    }
    c->entries[i].offset = offset;
    hash_insert(c, i);

found:
    if (!read_from_disk) {
        /* A table made here now: it is ours, wherever the file ends. */
        c->entries[i].outside_file = false;
    }
    c->entries[i].ref++;
    *table = cache_table(c, i);
    return 0;
}

int coroutine_fn qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c,
                                 uint64_t offset, void **table)
{
    return cache_do_get(bs, c, offset, table, true);
}

int coroutine_fn qcow2_cache_get_empty(BlockDriverState *bs, Qcow2Cache *c,
                                       uint64_t offset, void **table)
{
    return cache_do_get(bs, c, offset, table, false);
}

void qcow2_cache_put(Qcow2Cache *c, void **table)
{
    int i = table_index(c, *table);

    c->entries[i].ref--;
    *table = NULL;
    if (c->entries[i].ref == 0) {
        c->entries[i].lru_counter = ++c->lru_counter;
    }
    assert(c->entries[i].ref >= 0);
}

void qcow2_cache_entry_mark_dirty(Qcow2Cache *c, void *table)
{
    int i = table_index(c, table);

    assert(c->entries[i].offset >= 0);
    c->entries[i].dirty = true;
}

void *qcow2_cache_is_table_offset(Qcow2Cache *c, uint64_t offset)
{
    int i = hash_lookup(c, offset);

    return i >= 0 ? cache_table(c, i) : NULL;
}

void qcow2_cache_discard(Qcow2Cache *c, void *table)
{
    int i = table_index(c, table);

    assert(c->entries[i].ref == 0);
    hash_remove(c, i);
    c->entries[i].offset = -1;
    c->entries[i].lru_counter = 0;
    c->entries[i].dirty = false;
}
