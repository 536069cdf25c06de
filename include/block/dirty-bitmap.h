/*
 * Dirty bitmaps: the core's in-memory bitmaps, for block/ (formats and the
 * core). The front ends use the name-based operations in block.h.
 *
 * A bitmap has one bit per granularity bytes of its node ("chunk"); bit i
 * covers [i * granularity, (i + 1) * granularity). While a bitmap is
 * enabled, every write, zero write and discard that reaches its node sets
 * the bits of the chunks it touches (whether or not it succeeded: a failed
 * write may have changed some of them). A resize of the node resizes its
 * bitmaps; chunks that appear are clean.
 *
 * Persistent bitmaps belong to the image: a format that stores them (see
 * the bitmap hooks in block_int.h) creates them here while it opens,
 * restores their bits with bdrv_dirty_bitmap_deserialize_part, and writes
 * them back from its store hook with bdrv_dirty_bitmap_serialize_part.
 * The serialized form is the one qcow2 uses: bit i of the bitmap is bit
 * (i % 8) of byte i / 8, least significant bit first.
 *
 * An inconsistent bitmap (qcow2's "in-use" flag found set at open: the
 * image was not closed cleanly) may only be removed; a read-only one (from
 * a read-only image) may be read but not changed.
 */
#ifndef BLOCK_DIRTY_BITMAP_H
#define BLOCK_DIRTY_BITMAP_H

#include "block/block.h"

typedef struct BdrvDirtyBitmap BdrvDirtyBitmap;

/* The smallest granularity 'qemu-img bitmap --add -g' accepts. */
#define BDRV_DIRTY_BITMAP_MIN_GRANULARITY 512

/*
 * Creates an enabled, non-persistent bitmap over bs's current length, all
 * clean. name may be NULL (an anonymous bitmap, which the name-based
 * operations never see). Fails with "Granularity must be power of 2",
 * "Bitmap already exists: NAME" or when memory for the bits runs out.
 */
BdrvDirtyBitmap *bdrv_create_dirty_bitmap(BlockDriverState *bs,
                                          uint32_t granularity,
                                          const char *name, Error **errp);
/* Detaches the bitmap from its node and frees it. */
void bdrv_release_dirty_bitmap(BdrvDirtyBitmap *bitmap);

/* The bitmap of bs called name, or NULL. */
BdrvDirtyBitmap *bdrv_find_dirty_bitmap(BlockDriverState *bs,
                                        const char *name);
/* Iteration in creation order: first(bs), then next(bitmap) until NULL. */
BdrvDirtyBitmap *bdrv_dirty_bitmap_first(BlockDriverState *bs);
BdrvDirtyBitmap *bdrv_dirty_bitmap_next(BdrvDirtyBitmap *bitmap);

/*
 * The granularity 'qemu-img bitmap --add' uses when none is given: the
 * image's cluster size, kept within [4 KiB, 64 KiB]; 64 KiB without
 * clusters.
 */
uint32_t bdrv_get_default_bitmap_granularity(BlockDriverState *bs);

/* ---- properties ------------------------------------------------------ */

const char *bdrv_dirty_bitmap_name(const BdrvDirtyBitmap *bitmap);
uint32_t bdrv_dirty_bitmap_granularity(const BdrvDirtyBitmap *bitmap);
/* The length in bytes of the node the bitmap covers. */
int64_t bdrv_dirty_bitmap_size(const BdrvDirtyBitmap *bitmap);
/* Bytes in dirty chunks (whole chunks, the last one cut at size). */
int64_t bdrv_get_dirty_count(const BdrvDirtyBitmap *bitmap);

bool bdrv_dirty_bitmap_enabled(const BdrvDirtyBitmap *bitmap);
void bdrv_enable_dirty_bitmap(BdrvDirtyBitmap *bitmap);
void bdrv_disable_dirty_bitmap(BdrvDirtyBitmap *bitmap);
bool bdrv_dirty_bitmap_get_persistence(const BdrvDirtyBitmap *bitmap);
void bdrv_dirty_bitmap_set_persistence(BdrvDirtyBitmap *bitmap,
                                       bool persistent);
bool bdrv_dirty_bitmap_inconsistent(const BdrvDirtyBitmap *bitmap);
/* Marks the bitmap inconsistent (it also becomes disabled). */
void bdrv_dirty_bitmap_set_inconsistent(BdrvDirtyBitmap *bitmap);
bool bdrv_dirty_bitmap_readonly(const BdrvDirtyBitmap *bitmap);
void bdrv_dirty_bitmap_set_readonly(BdrvDirtyBitmap *bitmap, bool readonly);

/* ---- bits ------------------------------------------------------------ */

/* Sets / clears the chunks that [offset, offset+bytes) touches. */
void bdrv_set_dirty_bitmap(BdrvDirtyBitmap *bitmap, int64_t offset,
                           int64_t bytes);
void bdrv_reset_dirty_bitmap(BdrvDirtyBitmap *bitmap, int64_t offset,
                             int64_t bytes);
void bdrv_clear_dirty_bitmap(BdrvDirtyBitmap *bitmap);
/* Whether the chunk holding offset is dirty. */
bool bdrv_dirty_bitmap_get(const BdrvDirtyBitmap *bitmap, int64_t offset);
/*
 * The start (a chunk boundary, or offset itself) of the first dirty /
 * clean chunk in [offset, offset+bytes), or -1 if there is none. bytes < 0
 * means up to the end.
 */
int64_t bdrv_dirty_bitmap_next_dirty(const BdrvDirtyBitmap *bitmap,
                                     int64_t offset, int64_t bytes);
int64_t bdrv_dirty_bitmap_next_zero(const BdrvDirtyBitmap *bitmap,
                                    int64_t offset, int64_t bytes);
/*
 * The first dirty area within [*offset, end): true with *offset and *bytes
 * set to it (at most max_bytes long, ends cut to the range), false if the
 * range is clean.
 */
bool bdrv_dirty_bitmap_next_dirty_area(const BdrvDirtyBitmap *bitmap,
                                       int64_t *offset, int64_t end,
                                       int64_t max_bytes, int64_t *bytes);

/* ---- serialization (the persistent form) -------------------------------- */

/*
 * Bytes of serialized bits for the chunks of [offset, offset+bytes);
 * offset must be a multiple of 8 * granularity (a whole serialized byte).
 */
uint64_t bdrv_dirty_bitmap_serialization_size(const BdrvDirtyBitmap *bitmap,
                                              int64_t offset, int64_t bytes);
/* Disk bytes that one serialized byte covers (8 chunks). */
uint64_t bdrv_dirty_bitmap_serialization_coverage(const BdrvDirtyBitmap *b);
void bdrv_dirty_bitmap_serialize_part(const BdrvDirtyBitmap *bitmap,
                                      uint8_t *buf, int64_t offset,
                                      int64_t bytes);
/* Replaces the chunks of the range with buf's bits (same rules). */
void bdrv_dirty_bitmap_deserialize_part(BdrvDirtyBitmap *bitmap,
                                        const uint8_t *buf, int64_t offset,
                                        int64_t bytes);
/* True if no chunk of [offset, offset+bytes) is dirty. */
bool bdrv_dirty_bitmap_range_is_clean(const BdrvDirtyBitmap *bitmap,
                                      int64_t offset, int64_t bytes);

/* ---- the core's side ----------------------------------------------------- */

/* Marks [offset, offset+bytes) dirty in bs's enabled bitmaps (io.c). */
void bdrv_set_dirty(BlockDriverState *bs, int64_t offset, int64_t bytes);
/* Resizes bs's bitmaps to bytes (after a truncate). */
void bdrv_dirty_bitmap_truncate(BlockDriverState *bs, int64_t bytes);
/*
 * Lets the driver store bs's persistent bitmaps if bs is writable and has
 * any (the core calls it when closing bs). Returns 0 or -errno with errp.
 */
int bdrv_store_dirty_bitmaps(BlockDriverState *bs, Error **errp);
/* Frees every bitmap of bs (after the driver closed). */
void bdrv_release_all_dirty_bitmaps(BlockDriverState *bs);

#endif
