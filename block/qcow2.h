/*
 * qcow2 driver: private declarations shared by block/qcow2*.c.
 *
 * The format is QEMU's docs/interop/qcow2.txt. The invariants the driver
 * keeps (metadata write order, refcount staleness, crash leftovers) are
 * listed at the top of qcow2.c.
 */
#ifndef BLOCK_QCOW2_H
#define BLOCK_QCOW2_H

#include <sys/queue.h>

#include "block/block_int.h"
#include "util/bswap.h"
#include "util/coroutine.h"

#define QCOW_MAGIC 0x514649fbU          /* "QFI\xfb" */

#define QCOW_CRYPT_NONE 0
#define QCOW_CRYPT_AES  1
#define QCOW_CRYPT_LUKS 2

#define QCOW_MAX_CRYPT_CLUSTERS 32
#define QCOW_MAX_SNAPSHOTS 65536

/* Limits of this implementation, as the reference's. */
#define QCOW_MAX_REFTABLE_SIZE (8 * MiB)
#define QCOW_MAX_L1_SIZE (32 * MiB)
#define QCOW_MAX_SNAPSHOTS_SIZE (64 * MiB)
#define QCOW_MAX_BACKING_NAME 1023
#define QCOW_MAX_EXT_DATA (64 * KiB)

#define MIN_CLUSTER_BITS 9
#define MAX_CLUSTER_BITS 21

/* Defaults of the metadata caches. */
#define QCOW2_DEFAULT_L2_CACHE_MAX (32 * MiB)
#define QCOW2_MIN_L2_CACHE_TABLES 2
#define QCOW2_MIN_REFCOUNT_CACHE_TABLES 4

/* L1/L2 entry flags. */
#define QCOW_OFLAG_COPIED     (1ULL << 63)
#define QCOW_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW_OFLAG_ZERO       (1ULL << 0)

#define L1E_OFFSET_MASK 0x00fffffffffffe00ULL
#define L2E_OFFSET_MASK 0x00fffffffffffe00ULL
#define L1E_RESERVED_MASK 0x7f000000000001ffULL
#define L2E_STD_RESERVED_MASK 0x3f000000000001feULL
#define REFT_OFFSET_MASK 0xfffffffffffffe00ULL
#define REFT_RESERVED_MASK 0x1ffULL

/* Subclusters (extended L2 entries). */
#define QCOW_EXTL2_SUBCLUSTERS_PER_CLUSTER 32
#define QCOW_L2_BITMAP_ALL_ALLOC 0xffffffffULL
#define QCOW_L2_BITMAP_ALL_ZEROES (0xffffffffULL << 32)

/* Header feature bits. */
enum {
    QCOW2_INCOMPAT_DIRTY       = 1 << 0,
    QCOW2_INCOMPAT_CORRUPT     = 1 << 1,
    QCOW2_INCOMPAT_DATA_FILE   = 1 << 2,
    QCOW2_INCOMPAT_COMPRESSION = 1 << 3,
    QCOW2_INCOMPAT_EXTL2       = 1 << 4,
    QCOW2_INCOMPAT_MASK        = 0x1f,

    QCOW2_COMPAT_LAZY_REFCOUNTS = 1 << 0,

    QCOW2_AUTOCLEAR_BITMAPS       = 1 << 0,
    QCOW2_AUTOCLEAR_DATA_FILE_RAW = 1 << 1,
    QCOW2_AUTOCLEAR_MASK          = 0x3,
};

/* Header extension types. */
#define QCOW2_EXT_MAGIC_END 0
#define QCOW2_EXT_MAGIC_BACKING_FORMAT 0xe2792acaU
#define QCOW2_EXT_MAGIC_FEATURE_TABLE 0x6803f857U
#define QCOW2_EXT_MAGIC_CRYPTO_HEADER 0x0537be77U
#define QCOW2_EXT_MAGIC_BITMAPS 0x23852875U
#define QCOW2_EXT_MAGIC_DATA_FILE 0x44415441U

#define QCOW2_COMPRESSION_TYPE_ZLIB 0
#define QCOW2_COMPRESSION_TYPE_ZSTD 1

/* What an L2 entry (or one subcluster of it) says about guest data. */
typedef enum QCow2SubclusterType {
    QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN, /* read from backing */
    QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC, /* host cluster set, reads backing */
    QCOW2_SUBCLUSTER_ZERO_PLAIN,        /* reads zeroes, no host cluster */
    QCOW2_SUBCLUSTER_ZERO_ALLOC,        /* reads zeroes, host preallocated */
    QCOW2_SUBCLUSTER_NORMAL,            /* data at the host offset */
    QCOW2_SUBCLUSTER_COMPRESSED,
    QCOW2_SUBCLUSTER_INVALID,
} QCow2SubclusterType;

typedef enum QCow2ClusterType {
    QCOW2_CLUSTER_UNALLOCATED,
    QCOW2_CLUSTER_ZERO_PLAIN,
    QCOW2_CLUSTER_ZERO_ALLOC,
    QCOW2_CLUSTER_NORMAL,
    QCOW2_CLUSTER_COMPRESSED,
} QCow2ClusterType;

/* An unknown header extension, kept to be written back unchanged. */
typedef struct Qcow2UnknownHeaderExtension {
    uint32_t magic;
    uint32_t len;
    uint8_t *data;
    LIST_ENTRY(Qcow2UnknownHeaderExtension) next;
} Qcow2UnknownHeaderExtension;

typedef struct QCowSnapshot {
    uint64_t l1_table_offset;
    uint32_t l1_size;
    char *id_str;
    char *name;
    uint64_t disk_size;
    uint64_t vm_state_size;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount;
    uint32_t extra_data_size;
    uint8_t *unknown_extra_data;   /* beyond the fields we know */
} QCowSnapshot;

typedef struct Qcow2Cache Qcow2Cache;

/* Why clusters are freed: decides whether the file is told (discard). */
typedef enum Qcow2DiscardType {
    QCOW2_DISCARD_NEVER = 0,
    QCOW2_DISCARD_ALWAYS,
    QCOW2_DISCARD_REQUEST,
    QCOW2_DISCARD_SNAPSHOT,
    QCOW2_DISCARD_OTHER,
    QCOW2_DISCARD_MAX
} Qcow2DiscardType;

/* A part of a new allocation to be copied from the old data (COW). */
typedef struct Qcow2COWRegion {
    uint64_t offset;    /* relative to the start of the first cluster */
    unsigned int nb_bytes;
} Qcow2COWRegion;

/*
 * A write that allocates: [offset, offset + nb_clusters clusters) of the
 * guest get host clusters from alloc_offset on, and the L2 entries are
 * updated once the data (with its COW parts) is on disk.
 */
/* A freed host range whose discard waits (qcow2-refcount.c). */
typedef struct Qcow2DiscardRange {
    uint64_t start;
    uint64_t end;
} Qcow2DiscardRange;

typedef struct QCowL2Meta {
    uint64_t offset;
    uint64_t alloc_offset;
    int nb_clusters;
    /* The host clusters were already this guest range's (subclusters). */
    bool keep_old_clusters;
    /* Zero the whole range instead of writing data (zero preallocated). */
    bool prealloc;
    Qcow2COWRegion cow_start;
    Qcow2COWRegion cow_end;
    /* The data write covers the COW regions already (merged write). */
    bool data_qiov_merged;
    CoQueue dependent_requests;
    LIST_ENTRY(QCowL2Meta) next_in_flight;
    struct QCowL2Meta *next;
} QCowL2Meta;

typedef struct BDRVQcow2State {
    int cluster_bits;
    int cluster_size;
    int l2_slice_size;          /* entries per cached L2 slice */
    int l2_bits;
    int l2_size;                /* entries per L2 table */
    int l1_size;
    int l1_vm_state_index;
    int refcount_block_bits;
    int refcount_block_size;    /* entries per refcount block */
    int csize_shift;
    int csize_mask;
    uint64_t cluster_offset_mask;
    uint64_t l1_table_offset;
    uint64_t *l1_table;

    int subclusters_per_cluster;
    int subcluster_size;
    int subcluster_bits;

    Qcow2Cache *l2_table_cache;
    Qcow2Cache *refcount_block_cache;

    uint64_t *refcount_table;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_size;   /* entries */
    uint32_t max_refcount_table_index;
    uint64_t free_cluster_index;
    uint64_t free_byte_offset;      /* compressed packing */

    CoMutex lock;

    int refcount_order;
    int refcount_bits;
    uint64_t refcount_max;
    uint64_t (*get_refcount)(const void *block, uint64_t index);
    void (*set_refcount)(void *block, uint64_t index, uint64_t value);

    uint32_t crypt_method_header;
    uint64_t crypto_header_offset;
    uint64_t crypto_header_length;

    int nb_snapshots;
    uint64_t snapshots_offset;
    int snapshots_size;
    QCowSnapshot *snapshots;

    int qcow_version;
    int header_length;
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint8_t compression_type;
    bool use_lazy_refcounts;
    bool signaled_corruption;
    /*
     * A fatal corruption event on a writable image ends all I/O on it:
     * requests fail with -ENOMEDIUM and nothing more reaches the file (the
     * reference detaches the driver).
     */
    bool ejected;
    /*
     * The area a grow just made read as zeros [start, end): the block
     * layer's zero write over it that follows the truncate is a no-op
     * (it would turn preallocated clusters into zero clusters, which the
     * reference does not). Forgotten at the next write of any other kind.
     */
    uint64_t grown_zero_start;
    uint64_t grown_zero_end;
    /* Clusters are mapped but not written (preallocation=metadata). */
    bool metadata_preallocation_checked;
    bool metadata_preallocation;

    /*
     * Persistent bitmaps (qcow2-bitmap.c): the bitmaps extension, written
     * back whenever nb_bitmaps > 0. bitmaps_ext_ignored: the image had one
     * without the autoclear bit (a program without bitmap support wrote
     * it), so it was dropped.
     */
    uint32_t nb_bitmaps;
    uint64_t bitmap_directory_size;
    uint64_t bitmap_directory_offset;
    bool bitmaps_ext_ignored;
    /* Header extensions we keep as they are. */
    char *image_data_file;
    LIST_HEAD(, Qcow2UnknownHeaderExtension) unknown_header_ext;

    /* Allocating writes in flight, for dependencies between requests. */
    LIST_HEAD(, QCowL2Meta) cluster_allocs;

    /*
     * Compressed writes behind the request (see qcow2_co_pwritev_compressed):
     * clusters compress in parallel on the thread pool and are placed in
     * the order they were submitted.
     */
    uint64_t compress_next_seq;     /* given to the next submitted job */
    uint64_t compress_turn;         /* the job allowed to allocate */
    int compress_inflight;
    int compress_error;             /* first failure, reported later */
    CoQueue compress_turn_queue;
    CoQueue compress_slot_queue;    /* submitters waiting for a slot */
    CoQueue compress_drain_queue;

    /* External data file (or NULL: data lives in bs->file). */
    BdrvChild *data_file;

    /* Open options. */
    bool discard_passthrough[QCOW2_DISCARD_MAX];
    /*
     * Freed ranges to discard once the metadata that freed them is in the
     * file (qcow2_write_caches): discarding earlier would let a crash leave
     * L2 entries pointing at holes.
     */
    Qcow2DiscardRange *discards;
    size_t nb_discards;
    size_t discards_alloc;
    bool discard_no_unref;
    int overlap_check;
    uint64_t cache_clean_interval;
} BDRVQcow2State;

/* ---- inline helpers -------------------------------------------------- */

static inline bool has_data_file(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    return s->data_file != NULL;
}

static inline BdrvChild *qcow2_data_child(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    return s->data_file ? s->data_file : bs->file;
}

static inline bool data_file_is_raw(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    return !!(s->autoclear_features & QCOW2_AUTOCLEAR_DATA_FILE_RAW);
}

static inline bool has_subclusters(BDRVQcow2State *s)
{
    return !!(s->incompatible_features & QCOW2_INCOMPAT_EXTL2);
}

static inline int l2_entry_size(BDRVQcow2State *s)
{
    return has_subclusters(s) ? 16 : 8;
}

static inline uint64_t get_l2_entry(BDRVQcow2State *s, const uint64_t *slice,
                                    int idx)
{
    idx *= l2_entry_size(s) / 8;
    return be64_to_cpu(slice[idx]);
}

static inline uint64_t get_l2_bitmap(BDRVQcow2State *s, const uint64_t *slice,
                                     int idx)
{
    if (has_subclusters(s)) {
        idx *= 2;
        return be64_to_cpu(slice[idx + 1]);
    }
    return 0;
}

static inline void set_l2_entry(BDRVQcow2State *s, uint64_t *slice, int idx,
                                uint64_t entry)
{
    idx *= l2_entry_size(s) / 8;
    slice[idx] = cpu_to_be64(entry);
}

static inline void set_l2_bitmap(BDRVQcow2State *s, uint64_t *slice, int idx,
                                 uint64_t bitmap)
{
    idx *= 2;
    slice[idx + 1] = cpu_to_be64(bitmap);
}

static inline int64_t start_of_cluster(BDRVQcow2State *s, int64_t offset)
{
    return offset & ~((int64_t)s->cluster_size - 1);
}

static inline int64_t offset_into_cluster(BDRVQcow2State *s, int64_t offset)
{
    return offset & (s->cluster_size - 1);
}

static inline unsigned size_to_subclusters_bytes(BDRVQcow2State *s,
                                                 uint64_t bytes)
{
    return DIV_ROUND_UP(bytes, s->subcluster_size);
}

static inline int64_t offset_into_subcluster(BDRVQcow2State *s,
                                             int64_t offset)
{
    return offset & (s->subcluster_size - 1);
}

static inline uint64_t size_to_clusters(BDRVQcow2State *s, uint64_t size)
{
    return (size + (s->cluster_size - 1)) >> s->cluster_bits;
}

static inline int64_t size_to_l1(BDRVQcow2State *s, int64_t size)
{
    int shift = s->cluster_bits + s->l2_bits;
    return (size + (1ULL << shift) - 1) >> shift;
}

static inline int offset_to_l1_index(BDRVQcow2State *s, uint64_t offset)
{
    return offset >> (s->l2_bits + s->cluster_bits);
}

static inline int offset_to_l2_index(BDRVQcow2State *s, int64_t offset)
{
    return (offset >> s->cluster_bits) & (s->l2_size - 1);
}

static inline int offset_to_l2_slice_index(BDRVQcow2State *s, int64_t offset)
{
    return (offset >> s->cluster_bits) & (s->l2_slice_size - 1);
}

static inline int offset_to_sc_index(BDRVQcow2State *s, int64_t offset)
{
    return (offset >> s->subcluster_bits) & (s->subclusters_per_cluster - 1);
}

static inline int64_t qcow2_vm_state_offset(BDRVQcow2State *s)
{
    return (int64_t)s->l1_vm_state_index << (s->cluster_bits + s->l2_bits);
}

static inline QCow2ClusterType qcow2_get_cluster_type(BlockDriverState *bs,
                                                      uint64_t l2_entry)
{
    BDRVQcow2State *s = bs->opaque;

    if (l2_entry & QCOW_OFLAG_COMPRESSED) {
        return QCOW2_CLUSTER_COMPRESSED;
    } else if ((l2_entry & QCOW_OFLAG_ZERO) && !has_subclusters(s)) {
        if (l2_entry & L2E_OFFSET_MASK) {
            return QCOW2_CLUSTER_ZERO_ALLOC;
        }
        return QCOW2_CLUSTER_ZERO_PLAIN;
    } else if (!(l2_entry & L2E_OFFSET_MASK)) {
        /* Offset 0 is a valid cluster only in an external data file. */
        if (has_data_file(bs) && (l2_entry & QCOW_OFLAG_COPIED)) {
            return QCOW2_CLUSTER_NORMAL;
        }
        return QCOW2_CLUSTER_UNALLOCATED;
    }
    return QCOW2_CLUSTER_NORMAL;
}

/* The type of subcluster sc_index of a cluster with these entries. */
QCow2SubclusterType qcow2_get_subcluster_type(BlockDriverState *bs,
                                              uint64_t l2_entry,
                                              uint64_t l2_bitmap,
                                              unsigned int sc_index);

static inline bool qcow2_need_accurate_refcounts(BDRVQcow2State *s)
{
    return !(s->incompatible_features & QCOW2_INCOMPAT_DIRTY);
}

static inline uint64_t l2meta_cow_start(QCowL2Meta *m)
{
    return m->offset + m->cow_start.offset;
}

static inline uint64_t l2meta_cow_end(QCowL2Meta *m)
{
    return m->offset + m->cow_end.offset + m->cow_end.nb_bytes;
}

static inline uint64_t refcount_diff(uint64_t r1, uint64_t r2)
{
    return r1 > r2 ? r1 - r2 : r2 - r1;
}

/* ---- qcow2.c ---------------------------------------------------------- */

int qcow2_mark_dirty(BlockDriverState *bs);
int qcow2_mark_corrupt(BlockDriverState *bs);
int qcow2_mark_consistent(BlockDriverState *bs);
int qcow2_update_header(BlockDriverState *bs);
/*
 * Reports metadata found inconsistent on the I/O path: marks the image
 * corrupt (once) unless it is read-only, as the reference does.
 */
void qcow2_signal_corruption(BlockDriverState *bs, bool fatal, int64_t offset,
                             int64_t size, const char *fmt, ...)
    PRINTF_FMT(5, 6);

/* ---- qcow2-refcount.c ------------------------------------------------ */

int qcow2_refcount_init(BlockDriverState *bs);
void qcow2_refcount_close(BlockDriverState *bs);
int qcow2_get_refcount(BlockDriverState *bs, int64_t cluster_index,
                       uint64_t *refcount);
int qcow2_update_cluster_refcount(BlockDriverState *bs, int64_t cluster_index,
                                  uint64_t addend, bool decrease,
                                  Qcow2DiscardType type);
/* Allocates size bytes of clusters (refcount 1); host offset or -errno. */
int64_t qcow2_alloc_clusters(BlockDriverState *bs, uint64_t size);
/*
 * Allocates up to nb_clusters starting exactly at offset; returns how many
 * were free and are now taken (0 if the first is taken), or -errno.
 */
int64_t qcow2_alloc_clusters_at(BlockDriverState *bs, uint64_t offset,
                                int64_t nb_clusters);
/* Allocates size bytes for compressed data, packing them; offset. */
int64_t qcow2_alloc_bytes(BlockDriverState *bs, int size);
void qcow2_free_clusters(BlockDriverState *bs, int64_t offset, int64_t size,
                         Qcow2DiscardType type);
void qcow2_free_any_cluster(BlockDriverState *bs, uint64_t l2_entry,
                            Qcow2DiscardType type);
int qcow2_update_snapshot_refcount(BlockDriverState *bs,
                                   int64_t l1_table_offset, int l1_size,
                                   int addend);
int qcow2_flush_caches(BlockDriverState *bs);
/* Writes both caches, then issues the discards queued until then. */
int qcow2_write_caches(BlockDriverState *bs);
/* Forgets the queued discards (their ranges are rewritten or cut off). */
void qcow2_drop_queued_discards(BlockDriverState *bs);
int qcow2_check_refcounts(BlockDriverState *bs, BdrvCheckResult *res,
                          BdrvCheckMode fix);
/* Ensures refcount structures can describe clusters up to offset. */
int64_t qcow2_refcount_area(BlockDriverState *bs, uint64_t offset,
                            uint64_t additional_clusters, bool exact_size,
                            int new_refblock_index,
                            uint64_t new_refblock_offset);
/* Offset just past the last cluster with a nonzero refcount, or -errno. */
int64_t qcow2_get_last_cluster(BlockDriverState *bs, int64_t size);
/* Refcount metadata for 'size' host bytes: clusters needed (measure). */
int64_t qcow2_refcount_metadata_size(int64_t clusters, size_t cluster_size,
                                     int refcount_order, bool generous_increase,
                                     uint64_t *refblock_count);
int qcow2_shrink_reftable(BlockDriverState *bs);
/*
 * Rebuilds the refcount structures with entries of 2^refcount_order bits
 * (amend refcount_bits), as the reference does. Called with s->lock held.
 */
int coroutine_fn qcow2_change_refcount_order(BlockDriverState *bs,
                                             int refcount_order,
                                             BlockDriverAmendStatusCB *cb,
                                             void *cb_opaque, Error **errp);
int qcow2_detect_metadata_preallocation(BlockDriverState *bs);

/* ---- qcow2-cluster.c ---------------------------------------------- */

int qcow2_grow_l1_table(BlockDriverState *bs, uint64_t min_size,
                        bool exact_size);
int qcow2_shrink_l1_table(BlockDriverState *bs, uint64_t max_size);
int qcow2_write_l1_entry(BlockDriverState *bs, int l1_index);
/*
 * Looks up guest offset: *bytes is shortened to the part that has the same
 * subcluster type and contiguous host offsets; *host_offset gets the host
 * offset (for compressed clusters, the raw L2 entry's descriptor).
 */
int qcow2_get_host_offset(BlockDriverState *bs, uint64_t offset,
                          unsigned int *bytes, uint64_t *host_offset,
                          QCow2SubclusterType *subcluster_type);
/*
 * Finds or allocates host space for writing [offset, offset + *bytes):
 * shortens *bytes to what one host range covers. *m gets the allocations
 * whose L2 entries must be updated after the data write. Called with
 * s->lock held; may drop it while waiting for overlapping allocations.
 */
int qcow2_alloc_host_offset(BlockDriverState *bs, uint64_t offset,
                            unsigned int *bytes, uint64_t *host_offset,
                            QCowL2Meta **m);
int qcow2_alloc_cluster_link_l2(BlockDriverState *bs, QCowL2Meta *m);
int qcow2_map_preallocated(BlockDriverState *bs, uint64_t guest_offset,
                           uint64_t host_offset, uint64_t nb_clusters);
void qcow2_alloc_cluster_abort(BlockDriverState *bs, QCowL2Meta *m);
int qcow2_alloc_compressed_cluster_offset(BlockDriverState *bs,
                                          uint64_t offset,
                                          int compressed_size,
                                          uint64_t *host_offset);
void qcow2_parse_compressed_l2_entry(BlockDriverState *bs, uint64_t l2_entry,
                                     uint64_t *coffset, int *csize);
int qcow2_cluster_discard(BlockDriverState *bs, uint64_t offset,
                          uint64_t bytes, int type, bool full_discard);
int qcow2_subcluster_zeroize(BlockDriverState *bs, uint64_t offset,
                             uint64_t bytes, int flags);
int qcow2_expand_zero_clusters(BlockDriverState *bs,
                               BlockDriverAmendStatusCB *status_cb,
                               void *cb_opaque);
/* Reads the L2 table slice holding guest offset (for check, measure). */
int qcow2_get_l2_slice(BlockDriverState *bs, uint64_t offset,
                       uint64_t **l2_slice, int *l2_index);

/* ---- qcow2-snapshot.c ------------------------------------------------- */

int qcow2_read_snapshots(BlockDriverState *bs, Error **errp);
void qcow2_free_snapshots(BlockDriverState *bs);
int qcow2_snapshot_create(BlockDriverState *bs, QEMUSnapshotInfo *sn_info);
int qcow2_snapshot_goto(BlockDriverState *bs, const char *snapshot_id,
                        Error **errp);
int qcow2_snapshot_delete(BlockDriverState *bs, const char *snapshot_id,
                          const char *name, Error **errp);
int qcow2_snapshot_list(BlockDriverState *bs, QEMUSnapshotInfo **psn_tab);
int qcow2_snapshot_load_tmp(BlockDriverState *bs, const char *snapshot_id,
                            const char *name, Error **errp);

/* ---- qcow2-bitmap.c ---------------------------------------------------- */

/* Limits of the bitmaps extension, as the reference's. */
#define QCOW2_MAX_BITMAPS 65535
#define QCOW2_MAX_BITMAP_DIRECTORY_SIZE (1024 * QCOW2_MAX_BITMAPS)

/*
 * Checks the bitmaps extension's fields (ext: its 24 bytes) and records
 * them in s. Without the autoclear bit the extension is dropped with the
 * reference's warning. 0 or -errno with errp.
 */
int qcow2_read_bitmaps_ext(BlockDriverState *bs, const uint8_t *ext,
                           uint32_t len, Error **errp);
/*
 * Loads the persistent bitmaps into the core's bitmaps (read-only ones
 * when the image is); on a writable image marks them in use on disk.
 * Called with s->lock held. 0 or -errno with errp.
 */
int coroutine_fn qcow2_co_load_dirty_bitmaps(BlockDriverState *bs,
                                             Error **errp);
/* Marks the loaded bitmaps in use once the image became writable. */
int qcow2_reopen_bitmaps_rw(BlockDriverState *bs, Error **errp);
/* The driver hooks (block_int.h). */
bool qcow2_can_store_new_dirty_bitmap(BlockDriverState *bs, const char *name,
                                      uint32_t granularity, Error **errp);
int qcow2_remove_persistent_dirty_bitmap(BlockDriverState *bs,
                                         const char *name, Error **errp);
int qcow2_store_persistent_dirty_bitmaps(BlockDriverState *bs, Error **errp);
/*
 * Before a resize: every bitmap of the image must be loaded and usable
 * (its new size is stored at close). Called with s->lock held.
 */
int coroutine_fn qcow2_co_truncate_bitmaps_check(BlockDriverState *bs,
                                                 Error **errp);
/* Bytes a copy of in_bs's persistent bitmaps takes (measure). */
uint64_t qcow2_measure_bitmaps(BlockDriverState *in_bs, uint64_t cluster_size);

/* ---- qcow2-cache.c ---------------------------------------------------- */

Qcow2Cache *qcow2_cache_create(BlockDriverState *bs, int num_tables,
                               unsigned table_size);
void qcow2_cache_destroy(Qcow2Cache *c);
/* Makes writes of c's dirty entries wait for dependency to be flushed. */
int qcow2_cache_set_dependency(BlockDriverState *bs, Qcow2Cache *c,
                               Qcow2Cache *dependency);
/* The next write of c's entries first flushes the file. */
void qcow2_cache_depends_on_flush(Qcow2Cache *c);
/* Writes dirty entries (respecting dependencies); no final flush. */
int qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c);
/* Writes dirty entries, then flushes the file. */
int qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c);
/* Drops every entry (none may be in use); writes dirty ones first. */
int qcow2_cache_empty(BlockDriverState *bs, Qcow2Cache *c);
int qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c, uint64_t offset,
                    void **table);
/* Like get, without reading: the table's old contents do not matter. */
int qcow2_cache_get_empty(BlockDriverState *bs, Qcow2Cache *c,
                          uint64_t offset, void **table);
void qcow2_cache_put(Qcow2Cache *c, void **table);
void qcow2_cache_entry_mark_dirty(Qcow2Cache *c, void *table);
/* The table at offset if cached, else NULL (no reference taken). */
void *qcow2_cache_is_table_offset(Qcow2Cache *c, uint64_t offset);
/* Forgets the cached table at offset (its cluster was freed). */
void qcow2_cache_discard(Qcow2Cache *c, void *table);

/* ---- qcow2-copy-range.c ---------------------------------------------- */

/* The copy offloading hooks (BlockDriver.bdrv_co_copy_range_from/_to). */
int coroutine_fn qcow2_co_copy_range_from(BlockDriverState *bs,
                                          BdrvChild *src, int64_t src_offset,
                                          BdrvChild *dst, int64_t dst_offset,
                                          int64_t bytes,
                                          BdrvRequestFlags read_flags,
                                          BdrvRequestFlags write_flags);
int coroutine_fn qcow2_co_copy_range_to(BlockDriverState *bs,
                                        BdrvChild *src, int64_t src_offset,
                                        BdrvChild *dst, int64_t dst_offset,
                                        int64_t bytes,
                                        BdrvRequestFlags read_flags,
                                        BdrvRequestFlags write_flags);

/* ---- qcow2-compress.c ------------------------------------------------ */

/*
 * Compresses src (src_size bytes) into dest on a worker thread. Returns
 * the compressed size, -ENOMEM if it does not fit in dest_size, or -EIO.
 */
ssize_t coroutine_fn qcow2_co_compress(BlockDriverState *bs, void *dest,
                                       size_t dest_size, const void *src,
                                       size_t src_size);
/* Decompresses exactly dest_size bytes; 0 or -EIO. */
ssize_t coroutine_fn qcow2_co_decompress(BlockDriverState *bs, void *dest,
                                         size_t dest_size, const void *src,
                                         size_t src_size);

#endif
