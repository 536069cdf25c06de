/*
 * The block layer's public API: everything qemu-img and qemu-io may use.
 *
 * An open image is a graph of nodes (BlockDriverState). The front ends hold a
 * BlockBackend: the user of a root node, through which all their I/O goes
 * (it applies the permissions and the writethrough cache mode). They never
 * see a driver's internals; format-specific data reaches them as QDicts.
 *
 * Functions named *_co_* are coroutine_fn. Their synchronous counterparts
 * (blk_pread, bdrv_check, ...) may be called from anywhere: outside a
 * coroutine they run the coroutine version to completion in a new coroutine
 * while polling the loop; inside one they call it directly.
 */
#ifndef BLOCK_BLOCK_H
#define BLOCK_BLOCK_H

#include <sys/uio.h>

#include "util/osdep.h"
#include "util/aio.h"
#include "util/strbuf.h"

/* ---- open flags ------------------------------------------------------- */

#define BDRV_O_RDWR           0x0002
#define BDRV_O_RESIZE         0x0004  /* the user may resize the image */
#define BDRV_O_NOCACHE        0x0020  /* O_DIRECT */
#define BDRV_O_NATIVE_AIO     0x0080  /* aio=native (libaio) */
#define BDRV_O_NO_BACKING     0x0100  /* do not open the backing file */
#define BDRV_O_NO_FLUSH       0x0200  /* cache=unsafe: flushes do nothing */
#define BDRV_O_UNMAP          0x4000  /* discards reach the protocol */
#define BDRV_O_PROTOCOL       0x8000  /* filename names a protocol node */
#define BDRV_O_CHECK          0x1000  /* open for check/repair */
#define BDRV_O_ALLOW_RDWR     0x2000  /* may be reopened read-write */
#define BDRV_O_NO_IO          0x10000 /* metadata only (qemu-img info) */
#define BDRV_O_IO_URING       0x40000 /* aio=io_uring */
#define BDRV_O_THREADS_AIO    0x80000 /* aio=threads */
#define BDRV_O_FORCE_SHARE    0x100000 /* -U: take no locks, share all */
#define BDRV_O_WRITETHROUGH   0x200000 /* flush after every write */
#define BDRV_O_RDWR_BACKING   0x400000 /* open the backing chain rw too */
/*
 * Let other users only read the image (and its backing chain) while it is
 * open: nobody may write or resize it. 'convert' opens its sources so, as
 * the reference does, which is what stops 'convert s.raw s.raw' (the
 * target's create then fails on the "write" lock) and a convert from an
 * image another process writes to ("Failed to get shared "write" lock").
 * Ignored with BDRV_O_FORCE_SHARE.
 */
#define BDRV_O_NO_SHARE       0x800000

#define BDRV_O_CACHE_MASK (BDRV_O_NOCACHE | BDRV_O_NO_FLUSH | \
                           BDRV_O_WRITETHROUGH)

/*
 * Parses a cache mode (none, writeback, writethrough, directsync, unsafe)
 * into BDRV_O_* flags, cleared first. False on an unknown mode.
 */
bool bdrv_parse_cache_mode(const char *mode, int *flags);
/* Parses an AIO backend name ("threads", "native", "io_uring") into flags. */
bool bdrv_parse_aio(const char *mode, int *flags);

/* ---- request flags ------------------------------------------------------- */

typedef enum BdrvRequestFlags {
    BDRV_REQ_ZERO_WRITE       = 0x2,
    BDRV_REQ_MAY_UNMAP        = 0x4,  /* zeroes may be written as holes */
    BDRV_REQ_FUA              = 0x10,
    BDRV_REQ_WRITE_COMPRESSED = 0x20,
    BDRV_REQ_SERIALISING      = 0x80,
    BDRV_REQ_NO_FALLBACK      = 0x100, /* fail fast zero writes */
} BdrvRequestFlags;

typedef enum PreallocMode {
    PREALLOC_MODE_OFF,
    PREALLOC_MODE_METADATA,
    PREALLOC_MODE_FALLOC,
    PREALLOC_MODE_FULL,
    PREALLOC_MODE__MAX,
} PreallocMode;

/* "off", "metadata", "falloc", "full" <-> PreallocMode; -1 if unknown. */
int prealloc_mode_parse(const char *s);
const char *prealloc_mode_name(PreallocMode mode);

/* ---- block status -------------------------------------------------------- */

#define BDRV_BLOCK_DATA         0x01  /* reads come from a data area */
#define BDRV_BLOCK_ZERO         0x02  /* reads return zeroes */
#define BDRV_BLOCK_OFFSET_VALID 0x04  /* *map is the host offset in *file */
#define BDRV_BLOCK_RAW          0x08  /* (internal) ask the file child */
#define BDRV_BLOCK_ALLOCATED    0x10  /* this layer defines the content */
#define BDRV_BLOCK_EOF          0x20  /* the range reaches the end */
#define BDRV_BLOCK_RECURSE      0x40  /* (internal) refine via the file */

/* ---- driver registry ----------------------------------------------------- */

/* Registers the built-in drivers; idempotent. The front ends call it first. */
void bdrv_init(void);
BlockDriver *bdrv_find_format(const char *format_name);
const char *bdrv_get_format_name(BlockDriverState *bs);
/* Calls it(opaque, name) for each format, sorted by name (for --help). */
void bdrv_iterate_format(void (*it)(void *opaque, const char *name),
                         void *opaque);
/* True if drv can be probed/created/written (false for probe-only ones). */
bool bdrv_is_whitelisted(BlockDriver *drv, bool read_only);

/* The driver's option schema for create (and amend), or NULL. */
QemuOptsList *bdrv_create_opts(BlockDriver *drv);
/* The protocol driver that serves filename ("file" for plain paths). */
BlockDriver *bdrv_find_protocol(const char *filename, bool allow_prefix,
                                Error **errp);
/*
 * The create schema of an image of format drv at filename: drv's options,
 * then those of filename's protocol (once if it is drv itself). Checks in
 * the reference's order, with its errors: "Unknown protocol '...'",
 * "Format driver '...' does not support image creation", "Protocol driver
 * '...' does not support image creation". Free with qemu_opts_free.
 */
QemuOptsList *bdrv_create_opts_merged(BlockDriver *drv, const char *filename,
                                      Error **errp);
/* True if drv writes compressed data (convert -c). */
bool bdrv_supports_compressed_writes(BlockDriver *drv);

/* ---- creating images ----------------------------------------------------- */

/* Creates an image with drv; opts hold size and the driver's options. */
int bdrv_create(BlockDriver *drv, const char *filename, QemuOpts *opts,
                Error **errp);
/* Creates the protocol-level file (the first step of every format). */
int bdrv_create_file(const char *filename, QemuOpts *opts, Error **errp);

typedef struct BdrvImgCreateParams {
    const char *filename;
    const char *fmt;
    const char *base_filename;  /* -b, may be NULL */
    const char *base_fmt;       /* -F, may be NULL */
    const char *options;        /* -o string, may be NULL */
    uint64_t img_size;          /* (uint64_t)-1: not given */
    int flags;                  /* BDRV_O_* for opening the backing file */
    bool unsafe;                /* -u: do not open the backing file */
} BdrvImgCreateParams;

/*
 * Does the work of 'qemu-img create': merges the format's and protocol's
 * schemas, applies -o, -b/-F and size (taken from the backing file when not
 * given), validates, and creates. The "Formatting '...', fmt=... " line is
 * appended to *formatting (without newline) before creation is attempted,
 * even if creation then fails.
 */
int bdrv_img_create(const BdrvImgCreateParams *params, StrBuf *formatting,
                    Error **errp);

/* ---- BlockBackend: the front ends' handle on an open image ----------- */

/*
 * Opens filename (or, with options holding "driver" and "file.*", the
 * --image-opts form; filename may then be NULL). options may be NULL; the
 * call takes over the reference. Probes the format when options lack a
 * "driver", as the reference does.
 */
BlockBackend *blk_new_open(const char *filename, const char *fmt,
                           QDict *options, int flags, Error **errp);

/*
 * What an open has to tell the user besides its result: block/ prints
 * nothing, so the front end prints these, in this order and before the
 * error if the open failed (the reference prints them as it opens, so
 * they appear even when the open fails later, e.g. on a lock):
 *   1. each line of warnings as "PROG: warning: LINE";
 *   2. if probed_raw is set, the probed-raw warning naming probed_raw:
 *      "WARNING: Image format was not specified for '%s' and probing
 *      guessed raw." and its two indented lines.
 * A zeroed BlockOpenNotes is a valid empty one; release it with
 * block_open_notes_release.
 */
typedef struct BlockOpenNotes {
    /* Deprecation warnings, one per line, each ending in '\n'. */
    StrBuf warnings;
    /*
     * Set when probing guessed raw for an image opened read-write (the
     * reference's condition for its warning): the file name the warning
     * quotes, which is the protocol node's ("r.raw" for "file:r.raw" or
     * --image-opts file.filename=r.raw).
     */
    char *probed_raw;
} BlockOpenNotes;

void block_open_notes_release(BlockOpenNotes *notes);

/*
 * blk_new_open that also fills *notes (which must be zeroed or released),
 * whether or not the open succeeds. Front ends use it to print the
 * reference's warnings; blk_new_open leaves them to bdrv_is_probed_raw.
 */
BlockBackend *blk_new_open_ext(const char *filename, const char *fmt,
                               QDict *options, int flags,
                               BlockOpenNotes *notes, Error **errp);
void blk_unref(BlockBackend *blk);
BlockDriverState *blk_bs(BlockBackend *blk);

/* Length in bytes (a multiple of 512), or -errno. */
int64_t blk_getlength(BlockBackend *blk);
bool blk_is_read_only(BlockBackend *blk);
void blk_set_enable_write_cache(BlockBackend *blk, bool wce);
/* Lets requests extend past the end of the image (used by 'dd' style). */
void blk_set_allow_write_beyond_eof(BlockBackend *blk, bool allow);

int coroutine_fn blk_co_preadv(BlockBackend *blk, int64_t offset,
                               int64_t bytes, QEMUIOVector *qiov,
                               BdrvRequestFlags flags);
int coroutine_fn blk_co_pwritev(BlockBackend *blk, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags);
int coroutine_fn blk_co_pwrite_zeroes(BlockBackend *blk, int64_t offset,
                                      int64_t bytes, BdrvRequestFlags flags);
int coroutine_fn blk_co_pdiscard(BlockBackend *blk, int64_t offset,
                                 int64_t bytes);
int coroutine_fn blk_co_flush(BlockBackend *blk);
int coroutine_fn blk_co_truncate(BlockBackend *blk, int64_t offset,
                                 bool exact, PreallocMode prealloc,
                                 BdrvRequestFlags flags, Error **errp);

/*
 * Copy offloading ('convert -C'): copies [off_in, off_in+bytes) of blk_in's
 * image to off_out in blk_out's without passing the data through a buffer
 * here (file nodes: copy_file_range, a reflink where the file system can).
 * Both ranges must lie inside their images. Returns 0 or -errno: -ENOTSUP
 * if some node on the way cannot offload (other formats, other protocols,
 * encryption, compressed clusters, unaligned O_DIRECT ranges, a kernel or
 * file system without copy_file_range between the two files): the caller
 * then copies with reads and writes.
 */
/*
 * The same between two edges of the graph (blk_co_copy_range goes through
 * its backends' root edges): src->bs is read, dst->bs written; read_flags
 * and write_flags are what a read and a write of the ranges would get.
 * The destination range is serialised, counted in flight and marked dirty
 * as a write of it would be; dst needs the write permission (-EPERM).
 * Bounds: -EIO for a range outside [0, BDRV_MAX_LENGTH).
 */
int coroutine_fn bdrv_co_copy_range(BdrvChild *src, int64_t src_offset,
                                    BdrvChild *dst, int64_t dst_offset,
                                    int64_t bytes, BdrvRequestFlags read_flags,
                                    BdrvRequestFlags write_flags);
int coroutine_fn blk_co_copy_range(BlockBackend *blk_in, int64_t off_in,
                                   BlockBackend *blk_out, int64_t off_out,
                                   int64_t bytes, BdrvRequestFlags read_flags,
                                   BdrvRequestFlags write_flags);

/* Synchronous versions: return 0 (or bytes for pread/pwrite) or -errno. */
int blk_pread(BlockBackend *blk, int64_t offset, int64_t bytes, void *buf,
              BdrvRequestFlags flags);
int blk_pwrite(BlockBackend *blk, int64_t offset, int64_t bytes,
               const void *buf, BdrvRequestFlags flags);
int blk_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes,
                      BdrvRequestFlags flags);
int blk_pwrite_compressed(BlockBackend *blk, int64_t offset, int64_t bytes,
                          const void *buf);
int blk_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes);
int blk_flush(BlockBackend *blk);
int blk_truncate(BlockBackend *blk, int64_t offset, bool exact,
                 PreallocMode prealloc, BdrvRequestFlags flags, Error **errp);
/* Makes the whole image read as zeroes, cheaply if the driver can. */
int blk_make_zero(BlockBackend *blk, BdrvRequestFlags flags);

/* ---- node queries ------------------------------------------------------- */

int64_t bdrv_getlength(BlockDriverState *bs);
int64_t bdrv_nb_sectors(BlockDriverState *bs);
/* Bytes the image occupies on the host (st_blocks * 512), or -errno. */
int64_t bdrv_get_allocated_file_size(BlockDriverState *bs);
const char *bdrv_get_filename(BlockDriverState *bs);
bool bdrv_is_read_only(BlockDriverState *bs);
bool bdrv_is_encrypted(BlockDriverState *bs);
/* True if a freshly created image of this node reads as zeroes. */
bool bdrv_has_zero_init(BlockDriverState *bs);
BlockDriverState *bdrv_file_node(BlockDriverState *bs);   /* 'file' child */
BlockDriverState *bdrv_backing_node(BlockDriverState *bs); /* or NULL */
/* The backing file name as recorded in the image ("" if none). */
const char *bdrv_get_backing_filename(BlockDriverState *bs);
const char *bdrv_get_backing_format(BlockDriverState *bs);
/* The recorded name resolved against the image's directory; free it. */
char *bdrv_get_full_backing_filename(BlockDriverState *bs, Error **errp);

typedef struct BlockDriverInfo {
    int cluster_size;          /* 0 if the format has none */
    int subcluster_size;
    int64_t vm_state_offset;
    bool is_dirty;
    bool needs_compressed_writes;
} BlockDriverInfo;

int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi);
/* {"type": "<fmt>", "data": {...}} or NULL if the format has none. */
QDict *bdrv_get_specific_info(BlockDriverState *bs, Error **errp);

/*
 * True if the format was probed (not given) and probing chose raw: the
 * front end then prints the reference's warning, and writes to the first
 * sector may not plant another format's header.
 */
bool bdrv_is_probed_raw(BlockDriverState *bs);

/* ---- block status -------------------------------------------------------- */

/*
 * Status of bytes [offset, offset+bytes) of bs, looking through the backing
 * chain down to (but not into) base (NULL: the whole chain). Returns
 * BDRV_BLOCK_* flags for the first *pnum bytes, which share them; *map and
 * *file give the host location when BDRV_BLOCK_OFFSET_VALID; *depth counts
 * the layers descended (0 = bs itself). Any out-pointer may be NULL.
 */
int coroutine_fn bdrv_co_block_status_above(BlockDriverState *bs,
                                            BlockDriverState *base,
                                            int64_t offset, int64_t bytes,
                                            int64_t *pnum, int64_t *map,
                                            BlockDriverState **file,
                                            int *depth);
int bdrv_block_status_above(BlockDriverState *bs, BlockDriverState *base,
                            int64_t offset, int64_t bytes, int64_t *pnum,
                            int64_t *map, BlockDriverState **file,
                            int *depth);
/* 1 if allocated in bs itself (not inherited), 0 if not, -errno. */
int bdrv_is_allocated(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      int64_t *pnum);
/* 1 if allocated anywhere above base (exclusive) in the chain. */
int bdrv_is_allocated_above(BlockDriverState *top, BlockDriverState *base,
                            bool include_base, int64_t offset, int64_t bytes,
                            int64_t *pnum);

/* ---- check -------------------------------------------------------------- */

typedef enum BdrvCheckMode {
    BDRV_FIX_LEAKS  = 1,
    BDRV_FIX_ERRORS = 2,
} BdrvCheckMode;

typedef struct BdrvCheckResult {
    int corruptions;
    int leaks;
    int check_errors;
    int corruptions_fixed;
    int leaks_fixed;
    int64_t image_end_offset;
    struct {
        uint64_t total_clusters;
        uint64_t allocated_clusters;
        uint64_t fragmented_clusters;
        uint64_t compressed_clusters;
    } bfi;
    /*
     * What the driver found and repaired, one line each ending in '\n'
     * ("Leaked cluster 3 refcount=1 reference=0", "Repairing ..."), in the
     * order found: the reference prints these on stderr as it goes, and
     * nothing in block/ prints, so qemu-img prints them after the call.
     * Drivers append with strbuf_addf (a zeroed StrBuf is a valid empty
     * one); the caller releases it with strbuf_release.
     */
    StrBuf log;
} BdrvCheckResult;

/* Runs the driver's check; -ENOTSUP if the format has none. */
int bdrv_check(BlockDriverState *bs, BdrvCheckResult *res, BdrvCheckMode fix);

/* ---- changing images ----------------------------------------------------- */

/* Rewrites the backing file name/format in the header (rebase -u). */
int bdrv_change_backing_file(BlockDriverState *bs, const char *backing_file,
                             const char *backing_fmt, bool require);
/* Empties the image (after commit); -ENOTSUP if the format cannot. */
int bdrv_make_empty(BdrvChild *c, Error **errp);

typedef void BlockDriverAmendStatusCB(BlockDriverState *bs, int64_t offset,
                                      int64_t total_work_size, void *opaque);
int bdrv_amend_options(BlockDriverState *bs, QemuOpts *opts,
                       BlockDriverAmendStatusCB *status_cb, void *cb_opaque,
                       bool force, Error **errp);

/* The options 'amend' accepts, or NULL if the driver cannot amend images. */
QemuOptsList *bdrv_amend_opts(BlockDriver *drv);

/* ---- front-end jobs: commit ---------------------------------------------- */

/*
 * A new BlockBackend on a node of an already open graph (e.g. a backing
 * file of the image a command opened), for I/O on that node alone. With
 * write it also takes the write permission, which fails on a read-only
 * node. Release with blk_unref; the node stays in its graph.
 */
BlockBackend *blk_new_with_bs(BlockDriverState *bs, bool write,
                              Error **errp);

/*
 * Switches an open node between read-only and read-write ('commit' makes
 * its base writable) without closing it: its storage children (and, if it
 * was opened with BDRV_O_RDWR_BACKING, its backing chain) switch with it,
 * protocol files are reopened in the new mode, and the permissions and
 * image locks follow. Errors: opening the file that way ("Could not open
 * 'base.qcow2': Permission denied"), a lock another process holds
 * ("Failed to get \"write\" lock"); the node is left as it was. Going
 * read-only flushes first and fails while a user holds write permission.
 */
int bdrv_reopen_set_read_only(BlockDriverState *bs, bool read_only,
                              Error **errp);

/* Makes every range of blk's image unallocated; -ENOTSUP if it cannot. */
int blk_make_empty(BlockBackend *blk, Error **errp);

/* ---- front-end jobs: backing chains (block/commit.c, block/rebase.c) --- */

/* Progress of a job: done units of total (called on the loop thread). */
typedef void BlockJobProgressCB(void *opaque, int64_t done, int64_t total);

/*
 * commit's copy: writes everything that top_blk's chain defines above base
 * (a node of that chain, written through base_blk) into base, growing base
 * first if it is smaller, with several requests in flight; rate_limit in
 * bytes per second (0: none). Progress counts bytes, out of those defined
 * above base. The base is flushed before this returns, so the caller may
 * then empty the top. Returns 0 or -errno with errp set.
 */
int bdrv_commit_copy(BlockBackend *top_blk, BlockDriverState *base,
                     BlockBackend *base_blk, int64_t rate_limit,
                     BlockJobProgressCB *progress, void *opaque,
                     Error **errp);

/*
 * Safe rebase's copy: makes blk's image define, with the old content,
 * every range it leaves to its backing file where old_blk and new_blk
 * differ (NULL: no backing file, reads zeroes), in whole clusters or
 * subclusters; with prefix (the new backing file as a node of blk's
 * current chain) only ranges defined above prefix are compared. Progress
 * counts the reference's 2 MiB steps. blk is flushed before this returns,
 * so the caller may then change the backing file name. 0 or -errno with
 * errp set (the reference's words).
 */
int bdrv_rebase_copy(BlockBackend *blk, BlockBackend *old_blk,
                     BlockBackend *new_blk, BlockDriverState *prefix,
                     BlockJobProgressCB *progress, void *opaque,
                     Error **errp);

/* ---- persistent dirty bitmaps ('qemu-img bitmap') ------------------------ */

/*
 * Operations on the persistent bitmaps of bs, which the format loads at
 * open and stores when bs is closed. Errors use the reference's words and
 * come in its order:
 *   add:    "Bitmap name cannot be empty", "Granularity must be power of 2
 *           and at least 512", "Bitmap already exists: NAME", then for
 *           formats without bitmaps "Can't store persistent bitmaps to
 *           NODE" (-ENOTSUP) or the format's own refusal.
 *   others: "Dirty bitmap 'NAME' not found" (-ENOENT; for merge the
 *           target first, then the source), "Bitmap 'NAME' is inconsistent
 *           and cannot be used" with a hint (-EINVAL; remove is allowed on
 *           such a bitmap), "Bitmaps are of different sizes (destination
 *           size is N, source size is M) and can't be merged".
 * granularity 0 means the format's default (its cluster size within
 * [4 KiB, 64 KiB]). A new bitmap is enabled and clean.
 */
int bdrv_dirty_bitmap_add(BlockDriverState *bs, const char *name,
                          uint32_t granularity, Error **errp);
int bdrv_dirty_bitmap_remove(BlockDriverState *bs, const char *name,
                             Error **errp);
int bdrv_dirty_bitmap_clear(BlockDriverState *bs, const char *name,
                            Error **errp);
int bdrv_dirty_bitmap_set_enabled(BlockDriverState *bs, const char *name,
                                  bool enabled, Error **errp);
/* ORs src_bs's bitmap src_name into bs's bitmap name. */
int bdrv_dirty_bitmap_merge(BlockDriverState *bs, const char *name,
                            BlockDriverState *src_bs, const char *src_name,
                            Error **errp);

/*
 * blkdebug breakpoints (qemu-io's break, remove_break, resume, wait_break):
 * on the first node at or below bs whose driver has them (else -ENOTSUP).
 * A breakpoint suspends the next request that raises event (a BlkdebugEvent
 * name) and is then gone; resume re-enters the oldest request suspended
 * with tag. -ENOENT: no such event, or nothing with that tag.
 */
int bdrv_debug_breakpoint(BlockDriverState *bs, const char *event,
                          const char *tag);
int bdrv_debug_remove_breakpoint(BlockDriverState *bs, const char *tag);
int bdrv_debug_resume(BlockDriverState *bs, const char *tag);
bool bdrv_debug_is_suspended(BlockDriverState *bs, const char *tag);

/* True if bs's format can store persistent bitmaps (convert --bitmaps). */
bool bdrv_supports_persistent_dirty_bitmap(BlockDriverState *bs);

typedef struct BlockDirtyBitmapInfo {
    char *name;
    uint32_t granularity;
    int64_t count;              /* dirty bytes */
    bool enabled;
    bool persistent;
    bool inconsistent;
} BlockDirtyBitmapInfo;

/*
 * The named bitmaps of bs in creation order, in a new array *infos (NULL
 * if none); returns how many. Free with bdrv_dirty_bitmap_info_free.
 */
int bdrv_query_dirty_bitmaps(BlockDriverState *bs,
                             BlockDirtyBitmapInfo **infos);
void bdrv_dirty_bitmap_info_free(BlockDirtyBitmapInfo *infos, int n);

/* ---- measure ------------------------------------------------------------ */

typedef struct BlockMeasureInfo {
    uint64_t required;
    uint64_t fully_allocated;
    bool has_bitmaps;
    uint64_t bitmaps;
} BlockMeasureInfo;

/* in_bs may be NULL (size given in opts). */
int bdrv_measure(BlockDriver *drv, QemuOpts *opts, BlockDriverState *in_bs,
                 BlockMeasureInfo *info, Error **errp);

/* ---- snapshots (internal) ------------------------------------------------ */

typedef struct QEMUSnapshotInfo {
    char id_str[128];
    char name[256];
    uint64_t vm_state_size;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount;        /* (uint64_t)-1 if unknown */
} QEMUSnapshotInfo;

int bdrv_snapshot_list(BlockDriverState *bs, QEMUSnapshotInfo **psn_info);
int bdrv_snapshot_create(BlockDriverState *bs, QEMUSnapshotInfo *sn_info);
int bdrv_snapshot_goto(BlockDriverState *bs, const char *snapshot_id,
                       Error **errp);
int bdrv_snapshot_delete(BlockDriverState *bs, const char *snapshot_id,
                         const char *name, Error **errp);
/*
 * Makes bs (opened read-only) read the state of the internal snapshot
 * that has this id and/or name (either may be NULL, not both) until it is
 * closed: 'convert -l', 'measure -l'. Errors: "Can't find snapshot"
 * (-ENOENT); for formats without internal snapshots "Block format 'FMT'
 * used by device '' does not support temporarily loading internal
 * snapshots" (-ENOTSUP).
 */
int bdrv_snapshot_load_tmp(BlockDriverState *bs, const char *snapshot_id,
                           const char *name, Error **errp);

#endif
