/*
 * The block layer's internal API: for drivers and the core (block/ only).
 *
 * Contract between the core and a driver:
 *  - Each driver is one 'static const BlockDriver' listed in block/drivers.c.
 *  - Driver state lives in bs->opaque (instance_size bytes, zeroed).
 *  - I/O hooks are byte-granular coroutine_fns. Requests arrive checked
 *    against the image length, aligned to bs->bl.request_alignment and split
 *    at bs->bl.max_transfer. Drivers issue their own I/O through their
 *    children with bdrv_co_preadv(child, ...) and friends.
 *  - A NULL hook means "not supported": the core emulates what it can (zero
 *    writes become writes of a zero buffer, flushes succeed) and answers
 *    -ENOTSUP for the rest.
 *  - Control hooks (open, create, check, amend) set errp on failure.
 */
#ifndef BLOCK_BLOCK_INT_H
#define BLOCK_BLOCK_INT_H

#include <limits.h>
#include <sys/queue.h>

#include "block/block.h"
#include "util/coroutine.h"
#include "util/error.h"
#include "util/iov.h"
#include "util/option.h"
#include "util/qobject.h"

#define BLOCK_PROBE_BUF_SIZE 512

/* Permissions a parent takes on a child (and, for files, OFD lock bytes). */
enum {
    BLK_PERM_CONSISTENT_READ = 0x01,
    BLK_PERM_WRITE           = 0x02,
    BLK_PERM_WRITE_UNCHANGED = 0x04,
    BLK_PERM_RESIZE          = 0x08,
    BLK_PERM_ALL             = 0x0f,
};

typedef enum BdrvChildRole {
    BDRV_CHILD_FILE,        /* the protocol node under a format node */
    BDRV_CHILD_BACKING,     /* the next image down the chain */
    BDRV_CHILD_DATA,        /* external data file, vmdk extents */
    BDRV_CHILD_METADATA,
    BDRV_CHILD_ROOT,        /* a BlockBackend's edge */
} BdrvChildRole;

typedef struct BlockLimits {
    uint32_t request_alignment;     /* power of two, >= 1 */
    int64_t max_transfer;           /* 0: no limit */
    int64_t opt_transfer;
    int64_t max_pwrite_zeroes;      /* 0: no limit */
    uint32_t pwrite_zeroes_alignment;
    int64_t max_pdiscard;
    uint32_t pdiscard_alignment;
    size_t min_mem_alignment;       /* buffers for O_DIRECT */
    size_t opt_mem_alignment;
    int max_iov;                    /* 0: IOV_MAX */
} BlockLimits;

struct BdrvChild {
    BlockDriverState *bs;           /* the child node */
    BlockDriverState *parent;       /* NULL for a BlockBackend's root */
    char *name;                     /* "file", "backing", "extents.0" */
    BdrvChildRole role;
    uint64_t perm;                  /* BLK_PERM_* taken */
    uint64_t shared_perm;           /* BLK_PERM_* others may take */
    LIST_ENTRY(BdrvChild) next;         /* in parent->children */
    LIST_ENTRY(BdrvChild) next_parent;  /* in bs->parents */
};

/* A request in flight, for serialising overlapping writes. */
typedef struct BdrvTrackedRequest {
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    bool is_write;
    bool serialising;
    int64_t overlap_offset;         /* range widened to the alignment */
    int64_t overlap_bytes;
    CoQueue wait_queue;
    /* The request this one waits for (to break wait cycles). */
    struct BdrvTrackedRequest *waiting_for;
    LIST_ENTRY(BdrvTrackedRequest) list;
} BdrvTrackedRequest;

typedef enum BdrvDetectZeroes {
    BDRV_DETECT_ZEROES_OFF,
    BDRV_DETECT_ZEROES_ON,
    BDRV_DETECT_ZEROES_UNMAP,
} BdrvDetectZeroes;

/*
 * Debug events: points in the request path and in the drivers where an
 * error-injection node (blkdebug, block/blkdebug.c) below may arm its rules.
 * The names (bdrv_debug_event_name) are the reference's, so that one
 * blkdebug config drives both binaries. A driver raises an event on the
 * child it is about to access, BLKDBG_EVENT(bs->file, BLKDBG_L2_LOAD), just
 * before the access; only a node whose driver has bdrv_debug_event hears
 * it (the child itself, not nodes further down).
 *
 * Raised today:
 *  - read_aio, write_aio: raw, before a guest data read / write of its file;
 *    formats do the same for guest data (qcow2: also read_backing_aio,
 *    read_compressed, write_compressed, cow_read, cow_write);
 *  - pwritev, pwritev_zero, pwritev_done: the core (io.c), on the node
 *    being written, before a data / zero write reaches its driver and after
 *    it returned; pwritev_rmw_head, _after_head, _tail, _after_tail around
 *    the reads of a read-modify-write;
 *  - flush_to_os (every flush of a node), flush_to_disk (only if the node
 *    was written since its last flush, and not with cache.no-flush): the
 *    core, on the flushed node's file child;
 *  - none: blkdebug itself, once, when it opens.
 * The metadata events (l1_*, l2_*, reftable_*, refblock_*, cluster_*,
 * vmstate_*, empty_image_prepare, ...) are for the qcow2 driver to raise at
 * the same points as the reference (QEMU's BlkdebugEvent documentation).
 */
typedef enum BlkdebugEvent {
    BLKDBG_L1_UPDATE,
    BLKDBG_L1_GROW_ALLOC_TABLE,
    BLKDBG_L1_GROW_WRITE_TABLE,
    BLKDBG_L1_GROW_ACTIVATE_TABLE,
    BLKDBG_L2_LOAD,
    BLKDBG_L2_UPDATE,
    BLKDBG_L2_UPDATE_COMPRESSED,
    BLKDBG_L2_ALLOC_COW_READ,
    BLKDBG_L2_ALLOC_WRITE,
    BLKDBG_READ_AIO,
    BLKDBG_READ_BACKING_AIO,
    BLKDBG_READ_COMPRESSED,
    BLKDBG_WRITE_AIO,
    BLKDBG_WRITE_COMPRESSED,
    BLKDBG_VMSTATE_LOAD,
    BLKDBG_VMSTATE_SAVE,
    BLKDBG_COW_READ,
    BLKDBG_COW_WRITE,
    BLKDBG_REFTABLE_LOAD,
    BLKDBG_REFTABLE_GROW,
    BLKDBG_REFTABLE_UPDATE,
    BLKDBG_REFBLOCK_LOAD,
    BLKDBG_REFBLOCK_UPDATE,
    BLKDBG_REFBLOCK_UPDATE_PART,
    BLKDBG_REFBLOCK_ALLOC,
    BLKDBG_REFBLOCK_ALLOC_HOOKUP,
    BLKDBG_REFBLOCK_ALLOC_WRITE,
    BLKDBG_REFBLOCK_ALLOC_WRITE_BLOCKS,
    BLKDBG_REFBLOCK_ALLOC_WRITE_TABLE,
    BLKDBG_REFBLOCK_ALLOC_SWITCH_TABLE,
    BLKDBG_CLUSTER_ALLOC,
    BLKDBG_CLUSTER_ALLOC_BYTES,
    BLKDBG_CLUSTER_FREE,
    BLKDBG_FLUSH_TO_OS,
    BLKDBG_FLUSH_TO_DISK,
    BLKDBG_PWRITEV_RMW_HEAD,
    BLKDBG_PWRITEV_RMW_AFTER_HEAD,
    BLKDBG_PWRITEV_RMW_TAIL,
    BLKDBG_PWRITEV_RMW_AFTER_TAIL,
    BLKDBG_PWRITEV,
    BLKDBG_PWRITEV_ZERO,
    BLKDBG_PWRITEV_DONE,
    BLKDBG_EMPTY_IMAGE_PREPARE,
    BLKDBG_L1_SHRINK_WRITE_TABLE,
    BLKDBG_L1_SHRINK_FREE_L2_CLUSTERS,
    BLKDBG_COR_WRITE,
    BLKDBG_CLUSTER_ALLOC_SPACE,
    BLKDBG_NONE,
    BLKDBG__MAX,
} BlkdebugEvent;

struct BlockDriverState {
    const BlockDriver *drv;
    void *opaque;

    char filename[PATH_MAX];        /* as opened (or "json:{...}") */
    char exact_filename[PATH_MAX];  /* the plain name, "" if none */
    /* Backing file as recorded in the image, and its recorded format. */
    char backing_file[PATH_MAX];
    char backing_format[16];
    /* backing_file resolved against this image's directory. */
    char full_backing_filename[PATH_MAX];
    char node_name[32];

    int open_flags;                 /* BDRV_O_* */
    bool read_only;
    bool encrypted;
    /* Probed as raw: writes to the first sector may not plant a header. */
    bool probed_raw;
    BdrvDetectZeroes detect_zeroes;

    int64_t total_sectors;          /* formats keep their length here */
    BlockLimits bl;
    /* BDRV_REQ_* the driver handles itself on writes / zero writes. */
    unsigned int supported_write_flags;
    unsigned int supported_zero_flags;

    BdrvChild *file;                /* the protocol child, or NULL */
    BdrvChild *backing;             /* the backing child, or NULL */
    LIST_HEAD(, BdrvChild) children;
    LIST_HEAD(, BdrvChild) parents;

    int refcnt;
    unsigned int in_flight;         /* requests in the request path */
    LIST_HEAD(, BdrvTrackedRequest) tracked_requests;
    unsigned int serialising_in_flight;
    /*
     * Bumped when a write, zero write, discard or truncate of the node
     * ends; a flush that finds flushed_gen equal skips flush_to_disk.
     */
    uint64_t write_gen;
    uint64_t flushed_gen;
    bool wakeup_on_idle;
    Coroutine *drain_waiter;

    QDict *options;                 /* what the node was opened with */
    QDict *explicit_options;

    /* Cumulated permissions of the parents (see bdrv_refresh_perms). */
    uint64_t cumulative_perm;
    uint64_t cumulative_shared_perm;
    /* A file node the core opened for probing, taken by the driver. */
    BlockDriverState *probe_file;
    /* The node's strong options (data-changing), for json: filenames. */
    QDict *full_open_options;
    /* Driver-independent open options. */
    bool force_share;
    int backing_depth;              /* 0 for the top of a chain */
    /* In-memory dirty bitmaps (block/dirty-bitmap.c), in creation order. */
    TAILQ_HEAD(, BdrvDirtyBitmap) dirty_bitmaps;
    /* In the list of all nodes (node-name lookups). */
    LIST_ENTRY(BlockDriverState) node_list;
};

struct BlockDriver {
    const char *format_name;
    int instance_size;
    bool is_format;                 /* false for protocol drivers */
    const char *protocol_name;      /* "file", "host_device": protocols */
    bool supports_backing;
    bool has_variable_length;       /* length read on every getlength */
    /*
     * Options that change what the node reads (raw's offset and size): a
     * node opened with any of them is named "json:{...}". NULL-terminated;
     * an entry ending in '.' names every option under that prefix.
     */
    const char *const *strong_runtime_opts;

    /*
     * Probe: a score 0-100 for how sure the driver is that buf (the first
     * bytes of the file, buf_size of them) is its format. Raw scores 1.
     */
    int (*bdrv_probe)(const uint8_t *buf, int buf_size, const char *filename);
    /* Protocols: a score for serving filename (host_device: block devs). */
    int (*bdrv_probe_device)(const char *filename);

    /*
     * Opens bs. Protocol drivers find "filename" in options; format drivers
     * open their file child first (bdrv_open_file_child). Consumes the
     * options it understands; the core rejects leftovers. May do I/O (runs
     * in a coroutine or polls).
     */
    int (*bdrv_open)(BlockDriverState *bs, QDict *options, int flags,
                     Error **errp);
    void (*bdrv_close)(BlockDriverState *bs);
    /* Fills in bs->bl after open (the core pre-sets defaults). */
    void (*bdrv_refresh_limits)(BlockDriverState *bs, Error **errp);

    /* Create: the schema and the creator. */
    QemuOptsList *create_opts;
    int coroutine_fn (*bdrv_co_create_opts)(const BlockDriver *drv,
                                            const char *filename,
                                            QemuOpts *opts, Error **errp);
    /* Protocols: removes what a failed create left (NULL: cannot). */
    int coroutine_fn (*bdrv_co_delete_file)(const BlockDriver *drv,
                                            const char *filename,
                                            Error **errp);
    /* Options 'amend' accepts (NULL: create_opts). */
    QemuOptsList *amend_opts;
    int (*bdrv_amend_options)(BlockDriverState *bs, QemuOpts *opts,
                              BlockDriverAmendStatusCB *status_cb,
                              void *cb_opaque, bool force, Error **errp);

    /* ---- data path ---- */
    int coroutine_fn (*bdrv_co_preadv)(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags);
    int coroutine_fn (*bdrv_co_pwritev)(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, QEMUIOVector *qiov,
                                        BdrvRequestFlags flags);
    /* Writes whole clusters compressed (convert -c). */
    int coroutine_fn (*bdrv_co_pwritev_compressed)(BlockDriverState *bs,
                                                   int64_t offset,
                                                   int64_t bytes,
                                                   QEMUIOVector *qiov);
    /* -ENOTSUP makes the core write a zero buffer instead. */
    int coroutine_fn (*bdrv_co_pwrite_zeroes)(BlockDriverState *bs,
                                              int64_t offset, int64_t bytes,
                                              BdrvRequestFlags flags);
    int coroutine_fn (*bdrv_co_pdiscard)(BlockDriverState *bs, int64_t offset,
                                         int64_t bytes);
    /* Formats write back their metadata caches here... */
    int coroutine_fn (*bdrv_co_flush_to_os)(BlockDriverState *bs);
    /* ...protocols make writes durable here. */
    int coroutine_fn (*bdrv_co_flush_to_disk)(BlockDriverState *bs);
    /*
     * Status of [offset, offset+bytes): BDRV_BLOCK_* for the first *pnum
     * bytes; with OFFSET_VALID, *map is the offset in *file. want_zero asks
     * for exact zero information (may cost more). Unallocated (no
     * ALLOCATED/DATA/ZERO) ranges are looked up in the backing file.
     */
    int coroutine_fn (*bdrv_co_block_status)(BlockDriverState *bs,
                                             bool want_zero, int64_t offset,
                                             int64_t bytes, int64_t *pnum,
                                             int64_t *map,
                                             BlockDriverState **file);
    int coroutine_fn (*bdrv_co_truncate)(BlockDriverState *bs, int64_t offset,
                                         bool exact, PreallocMode prealloc,
                                         BdrvRequestFlags flags,
                                         Error **errp);
    /* Protocols: current length in bytes. Formats use total_sectors. */
    int64_t coroutine_fn (*bdrv_co_getlength)(BlockDriverState *bs);
    int64_t (*bdrv_get_allocated_file_size)(BlockDriverState *bs);
    /*
     * Copy offloading (bdrv_co_copy_range): bs is the source node in
     * copy_range_from, the destination in copy_range_to. from maps the
     * source range onto its own child (formats) and calls
     * bdrv_co_copy_range_from on it, or, at a protocol node, hands over to
     * the destination's side with bdrv_co_copy_range_to; to does the
     * destination's allocation and finally the copy. Either returns
     * -ENOTSUP when it cannot copy this pair of nodes without a buffer
     * (the caller then reads and writes); NULL means the same. The core
     * has checked both ranges, and tracks to's range on bs as a write.
     */
    int coroutine_fn (*bdrv_co_copy_range_from)(BlockDriverState *bs,
                                                BdrvChild *src,
                                                int64_t src_offset,
                                                BdrvChild *dst,
                                                int64_t dst_offset,
                                                int64_t bytes,
                                                BdrvRequestFlags read_flags,
                                                BdrvRequestFlags write_flags);
    int coroutine_fn (*bdrv_co_copy_range_to)(BlockDriverState *bs,
                                              BdrvChild *src,
                                              int64_t src_offset,
                                              BdrvChild *dst,
                                              int64_t dst_offset,
                                              int64_t bytes,
                                              BdrvRequestFlags read_flags,
                                              BdrvRequestFlags write_flags);

    /* ---- control ---- */
    int coroutine_fn (*bdrv_co_check)(BlockDriverState *bs,
                                      BdrvCheckResult *result,
                                      BdrvCheckMode fix);
    int (*bdrv_get_info)(BlockDriverState *bs, BlockDriverInfo *bdi);
    QDict *(*bdrv_get_specific_info)(BlockDriverState *bs, Error **errp);
    int (*bdrv_measure)(QemuOpts *opts, BlockDriverState *in_bs,
                        BlockMeasureInfo *info, Error **errp);
    int (*bdrv_change_backing_file)(BlockDriverState *bs,
                                    const char *backing_file,
                                    const char *backing_fmt);
    int (*bdrv_make_empty)(BlockDriverState *bs);
    int (*bdrv_has_zero_init)(BlockDriverState *bs);
    /* Takes the permissions (protocols: OFD locks); errp says who holds. */
    int (*bdrv_set_perm)(BlockDriverState *bs, uint64_t perm,
                         uint64_t shared, Error **errp);
    /*
     * The permissions bs needs on its child c (role), given what bs's own
     * parents hold (parent_perm, parent_shared). NULL: the core's defaults
     * (bdrv_default_child_perm). Raw passes its parents' through.
     */
    void (*bdrv_child_perm)(BlockDriverState *bs, BdrvChildRole role,
                            uint64_t parent_perm, uint64_t parent_shared,
                            uint64_t *nperm, uint64_t *nshared);

    /*
     * ---- reopen: switching between read-only and read-write ----
     * prepare acquires what flags (the new BDRV_O_RDWR) need without
     * giving up what the node uses now (file-posix opens a second file
     * descriptor in the new mode and copies its lock bytes to it); then
     * exactly one of commit (switch over, cannot fail) and abort (drop
     * what prepare acquired) follows. The core drains the node first and,
     * when going read-only, flushes it. NULL: nothing to do (the driver
     * keeps no mode-dependent state).
     */
    int (*bdrv_reopen_prepare)(BlockDriverState *bs, int flags,
                               Error **errp);
    void (*bdrv_reopen_commit)(BlockDriverState *bs);
    void (*bdrv_reopen_abort)(BlockDriverState *bs);
    /*
     * After a reopen to read-write is complete (the node, its children and
     * its bitmaps writable): a format marks on disk what it may now change
     * (qcow2 marks its bitmaps in use). Cannot fail the reopen; the driver
     * reports a problem itself. NULL: nothing to do.
     */
    void (*bdrv_reopen_commit_post)(BlockDriverState *bs);

    /*
     * ---- persistent dirty bitmaps (include/block/dirty-bitmap.h) ----
     * A format that stores bitmaps creates them in memory while it opens
     * (bdrv_create_dirty_bitmap, marked persistent) and writes every
     * persistent bitmap back from store_persistent_dirty_bitmaps, which
     * the core calls before bdrv_close on a writable node.
     * can_store_new_dirty_bitmap says (with the reason in errp) whether a
     * new persistent bitmap of that name and granularity fits the image;
     * NULL means the format has no persistent bitmaps at all.
     * remove_persistent_dirty_bitmap drops one from the image at once.
     */
    bool (*bdrv_can_store_new_dirty_bitmap)(BlockDriverState *bs,
                                            const char *name,
                                            uint32_t granularity,
                                            Error **errp);
    int (*bdrv_remove_persistent_dirty_bitmap)(BlockDriverState *bs,
                                               const char *name,
                                               Error **errp);
    int (*bdrv_store_persistent_dirty_bitmaps)(BlockDriverState *bs,
                                               Error **errp);

    /* ---- internal snapshots ---- */
    int (*bdrv_snapshot_create)(BlockDriverState *bs,
                                QEMUSnapshotInfo *sn_info);
    int (*bdrv_snapshot_goto)(BlockDriverState *bs, const char *snapshot_id,
                              Error **errp);
    int (*bdrv_snapshot_delete)(BlockDriverState *bs, const char *snapshot_id,
                                const char *name, Error **errp);
    int (*bdrv_snapshot_list)(BlockDriverState *bs,
                              QEMUSnapshotInfo **psn_info);
    /*
     * Makes the (read-only) node read the snapshot's state until it is
     * closed; "Can't find snapshot" (-ENOENT) if there is no such one.
     */
    int (*bdrv_snapshot_load_tmp)(BlockDriverState *bs,
                                  const char *snapshot_id, const char *name,
                                  Error **errp);

    /* ---- debugging ---- */
    /* Hears the debug events raised on the node (blkdebug). */
    void (*bdrv_debug_event)(BlockDriverState *bs, BlkdebugEvent event);
    /* Breakpoints (see bdrv_debug_breakpoint in block.h). */
    int (*bdrv_debug_breakpoint)(BlockDriverState *bs, const char *event,
                                 const char *tag);
    int (*bdrv_debug_remove_breakpoint)(BlockDriverState *bs,
                                        const char *tag);
    int (*bdrv_debug_resume)(BlockDriverState *bs, const char *tag);
    bool (*bdrv_debug_is_suspended)(BlockDriverState *bs, const char *tag);
    /*
     * Protocol nodes over children (blkdebug): sets bs->exact_filename to
     * the plain name that reopens the node, or leaves it "" for a json:
     * name. Called after the core put the children's options in
     * bs->full_open_options.
     */
    void (*bdrv_refresh_filename)(BlockDriverState *bs);
};

/* Tells bs's driver about event, if it listens (see BlkdebugEvent). */
static inline void bdrv_debug_event(BlockDriverState *bs,
                                    BlkdebugEvent event)
{
    if (bs && bs->drv && bs->drv->bdrv_debug_event) {
        bs->drv->bdrv_debug_event(bs, event);
    }
}

/* Raises event on the node of child (which may be NULL). */
#define BLKDBG_EVENT(child, event) \
    do { \
        if (child) { \
            bdrv_debug_event((child)->bs, (event)); \
        } \
    } while (0)

/* The reference's name of event ("read_aio"), or NULL if out of range. */
const char *bdrv_debug_event_name(BlkdebugEvent event);
/* The event named name, or -1. */
int bdrv_debug_event_parse(const char *name);

/*
 * The core's permission policy (the reference's lock bytes): a format takes
 * CONSISTENT_READ on its storage children (none when opened with
 * BDRV_O_NO_IO), plus WRITE and RESIZE when writable, and shares neither
 * WRITE nor RESIZE; a backing child is read. Either shares no more than
 * the node's own users do (parent_shared); force-share shares everything.
 */
void bdrv_default_child_perm(BlockDriverState *bs, BdrvChildRole role,
                             uint64_t parent_perm, uint64_t parent_shared,
                             uint64_t *nperm, uint64_t *nshared);
/*
 * Recomputes the permissions bs takes on its children from its parents' and
 * applies them down the graph (file nodes take or drop their locks).
 */
int bdrv_refresh_perms(BlockDriverState *bs, Error **errp);

/* ---- registry (block/drivers.c) ------------------------------------------ */

/*
 * Adds drv to the registry. Rejects (returns false) a driver without a name,
 * bdrv_open, or the I/O hooks its kind needs. Tests register their own
 * drivers (e.g. the in-memory protocol) this way.
 */
bool bdrv_register(const BlockDriver *drv);
/* The built-in drivers, in probe-tie order. */
extern const BlockDriver *const builtin_block_drivers[];
const BlockDriver *bdrv_find_protocol_by_name(const char *name);
/* The i-th registered driver (registration order), NULL past the end. */
const BlockDriver *bdrv_driver_at(int i);
/* The registered driver named format_name (format or protocol), or NULL. */
const BlockDriver *bdrv_find_driver(const char *format_name);

/* ---- graph ------------------------------------------------------------- */

/*
 * Opens a node: filename and/or options (options taken over). drv forces the
 * driver; otherwise options' "driver" or probing decides. Formats get their
 * file child opened through bdrv_open_file_child.
 */
BlockDriverState *bdrv_open(const char *filename, QDict *options,
                            const BlockDriver *drv, int flags, Error **errp);
/*
 * Makes the opens that follow collect their warnings in notes (NULL: drop
 * them); returns the previous collector (blk_new_open_ext).
 */
BlockOpenNotes *bdrv_open_notes_swap(BlockOpenNotes *notes);
void bdrv_ref(BlockDriverState *bs);
void bdrv_unref(BlockDriverState *bs);

/*
 * Opens the child named child_name ("file", "extents.0") for parent from
 * the "<child_name>." options of parent_options (removed from it) or from
 * filename, and attaches it with role. Returns NULL on failure.
 */
BdrvChild *bdrv_open_child(const char *filename, QDict *parent_options,
                           const char *child_name, BlockDriverState *parent,
                           BdrvChildRole role, bool allow_none, Error **errp);
/* The common case for formats: opens bs->file. Returns 0 or -errno. */
int bdrv_open_file_child(const char *filename, QDict *options,
                         BlockDriverState *parent, Error **errp);
/* Opens bs's backing file if it records one (called by the core). */
int bdrv_open_backing_file(BlockDriverState *bs, QDict *parent_options,
                           Error **errp);
BdrvChild *bdrv_attach_child(BlockDriverState *parent,
                             BlockDriverState *child, const char *name,
                             BdrvChildRole role, Error **errp);
void bdrv_unref_child(BlockDriverState *parent, BdrvChild *child);
/* Replaces bs->backing (NULL to drop it). */
void bdrv_set_backing_hd(BlockDriverState *bs, BlockDriverState *backing_hd,
                         Error **errp);

/* Waits (polling) until bs and its children have no requests in flight. */
void bdrv_drain(BlockDriverState *bs);
void bdrv_inc_in_flight(BlockDriverState *bs);
void bdrv_dec_in_flight(BlockDriverState *bs);

/* Re-reads the length of a protocol node (after truncate). */
int bdrv_refresh_total_sectors(BlockDriverState *bs, int64_t hint);

/* ---- I/O on children (block/io.c) ---------------------------------------- */

int coroutine_fn bdrv_co_preadv(BdrvChild *child, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pwritev(BdrvChild *child, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pread(BdrvChild *child, int64_t offset,
                               int64_t bytes, void *buf,
                               BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pwrite(BdrvChild *child, int64_t offset,
                                int64_t bytes, const void *buf,
                                BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pwrite_zeroes(BdrvChild *child, int64_t offset,
                                       int64_t bytes, BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pdiscard(BdrvChild *child, int64_t offset,
                                  int64_t bytes);
int coroutine_fn bdrv_co_flush(BlockDriverState *bs);
int coroutine_fn bdrv_co_truncate(BdrvChild *child, int64_t offset,
                                  bool exact, PreallocMode prealloc,
                                  BdrvRequestFlags flags, Error **errp);
int64_t coroutine_fn bdrv_co_getlength(BlockDriverState *bs);
/*
 * The two halves of bdrv_co_copy_range for drivers: _from enters the
 * source node src->bs (its driver's bdrv_co_copy_range_from, tracked as a
 * read there), _to the destination node dst->bs (its driver's
 * bdrv_co_copy_range_to, tracked as a write). With BDRV_REQ_ZERO_WRITE in
 * write_flags, _to zeroes the destination range instead (src may then be
 * NULL). Returns 0 or -errno; -ENOTSUP if some driver on the way cannot.
 */
int coroutine_fn bdrv_co_copy_range_from(BdrvChild *src, int64_t src_offset,
                                         BdrvChild *dst, int64_t dst_offset,
                                         int64_t bytes,
                                         BdrvRequestFlags read_flags,
                                         BdrvRequestFlags write_flags);
int coroutine_fn bdrv_co_copy_range_to(BdrvChild *src, int64_t src_offset,
                                       BdrvChild *dst, int64_t dst_offset,
                                       int64_t bytes,
                                       BdrvRequestFlags read_flags,
                                       BdrvRequestFlags write_flags);
/* Status in this node only (no backing walk). */
int coroutine_fn bdrv_co_block_status(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, int64_t *pnum,
                                      int64_t *map,
                                      BlockDriverState **file);

/* Synchronous versions for open/close paths; return 0 or -errno. */
int bdrv_pread(BdrvChild *child, int64_t offset, int64_t bytes, void *buf,
               BdrvRequestFlags flags);
int bdrv_pwrite(BdrvChild *child, int64_t offset, int64_t bytes,
                const void *buf, BdrvRequestFlags flags);
int bdrv_pwrite_sync(BdrvChild *child, int64_t offset, int64_t bytes,
                     const void *buf, BdrvRequestFlags flags);
int bdrv_pwrite_zeroes(BdrvChild *child, int64_t offset, int64_t bytes,
                       BdrvRequestFlags flags);
int bdrv_flush(BlockDriverState *bs);
int bdrv_truncate(BdrvChild *child, int64_t offset, bool exact,
                  PreallocMode prealloc, BdrvRequestFlags flags,
                  Error **errp);

/* ---- helpers for drivers ----------------------------------------------- */

/*
 * Runs entry(opaque) in a new coroutine and polls the loop until it is done.
 * From inside a coroutine it calls entry directly. The building block of
 * every synchronous wrapper.
 */
void bdrv_run_co(CoroutineEntry *entry, void *opaque, bool *done);

/*
 * Creates a file with the protocol driver for filename, as formats do. The
 * file driver takes the lock bytes of a writer that resizes (and does not
 * share resizing) before it changes anything, and fails as an open would
 * if another user holds conflicting ones ("Failed to get \"write\" lock"),
 * leaving an existing file untouched; it lets go of them when done.
 */
int bdrv_co_create_file(const char *filename, QemuOpts *opts, Error **errp);

/*
 * Deletes filename with its protocol driver: what a format does when its
 * create fails after the protocol file was made (the reference's qcow2
 * then removes the file, even one that existed before; raw leaves it).
 * Only regular files ("'%s' is not a regular file", -EPERM); -ENOTSUP if
 * the protocol cannot delete.
 */
int coroutine_fn bdrv_co_delete_file(const char *filename, Error **errp);

/* The cluster size from bdrv_get_info, or 0 if the format has none. */
int bdrv_get_cluster_size(BlockDriverState *bs);

#endif
