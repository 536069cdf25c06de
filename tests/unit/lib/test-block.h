/*
 * Test helpers for the block layer: "mem", an in-memory protocol driver
 * with fault injection, and "testfmt", a trivial format with a backing file.
 *
 * A mem image is a named, zero-filled buffer that outlives the nodes opened
 * on it, so a test can open it, write through the block layer, close it and
 * look at the bytes. Nodes open it as "mem:NAME" (or driver=mem,
 * filename=mem:NAME) with these node options:
 *   align=N          bl.request_alignment (power of two, default 1)
 *   max-transfer=N   bl.max_transfer (default 0: none)
 *   write-zeroes=on  the driver zeroes natively (default off: the core
 *                    falls back to writing buffers of zeroes)
 *   async=on         every request yields once to the loop before it
 *                    completes (default on), so requests interleave
 * The driver records the largest request it saw and whether any request
 * broke the alignment contract.
 *
 * Faults: a request that matches (by kind, by count and/or by range) fails
 * with the chosen -errno and changes nothing; a truncated write persists
 * only its first bytes and then fails, as a crash in the middle would.
 */
#ifndef TESTS_UNIT_LIB_TEST_BLOCK_H
#define TESTS_UNIT_LIB_TEST_BLOCK_H

#include "block/block_int.h"

typedef struct MemImage MemImage;

typedef enum MemOp {
    MEM_OP_READ    = 0x01,
    MEM_OP_WRITE   = 0x02,
    MEM_OP_ZERO    = 0x04,
    MEM_OP_DISCARD = 0x08,
    MEM_OP_FLUSH   = 0x10,
    MEM_OP_ALL     = 0x1f,
} MemOp;

typedef struct MemStats {
    int64_t reads;
    int64_t writes;
    int64_t zero_writes;
    int64_t discards;
    int64_t flushes;
    int64_t max_request;        /* largest bytes of one request */
    bool misaligned;            /* a request broke request_alignment */
    bool over_max_transfer;     /* a request exceeded max_transfer */
    int max_in_flight;          /* most requests pending at once */
} MemStats;

/* Registers mem and testfmt with the block layer (idempotent). */
void test_block_init(void);

/* Creates (or resets to zeroes) the image NAME of size bytes. */
MemImage *mem_image_create(const char *name, int64_t size);
MemImage *mem_image_find(const char *name);
void mem_image_delete(const char *name);
uint8_t *mem_image_data(MemImage *img);
int64_t mem_image_size(MemImage *img);
MemStats *mem_image_stats(MemImage *img);

/*
 * Makes the nth (1-based, counted from now) request of a kind in ops fail
 * with err (-EIO, -ENOSPC...); nth 0 fails every such request.
 */
void mem_image_inject(MemImage *img, unsigned int ops, int nth, int err);
/* Requests of a kind in ops touching [offset, offset+bytes) fail with err. */
void mem_image_inject_range(MemImage *img, unsigned int ops, int64_t offset,
                            int64_t bytes, int err);
/*
 * The nth write (1-based, from now) persists only its first keep bytes and
 * then fails with -EIO.
 */
void mem_image_truncate_write(MemImage *img, int nth, int64_t keep);
void mem_image_clear_faults(MemImage *img);

/*
 * testfmt: a format with 4 KiB clusters and a backing file, for chain tests.
 * Sector 0: "TESTFMT\0", be64 virtual size, 256-byte backing name, 16-byte
 * backing format. Bytes 512..4095: one byte per cluster, non-zero if the
 * cluster is allocated; cluster i lives at 4096 * (i + 1). Partial writes
 * to unallocated clusters copy the rest from the backing file.
 */
#define TESTFMT_CLUSTER 4096
#define TESTFMT_MAX_CLUSTERS (4096 - 512)

/* Writes an empty testfmt image into mem image NAME (created here). */
MemImage *testfmt_image_create(const char *name, int64_t size,
                               const char *backing, const char *backing_fmt);

/*
 * testfmt stores persistent dirty bitmaps in a registry in memory, keyed by
 * the file node's name ("mem:NAME" or a path): loaded at open (inconsistent
 * if found in use, read-only on read-only opens; a writable open marks
 * them in use), stored when the node closes. It accepts names of up to 32
 * characters and 8 bitmaps per image, refusing others as qcow2 words it.
 * testfmt also implements make_empty (clears the allocation map).
 */
typedef struct TestfmtBitmap {
    char file[PATH_MAX];
    char name[64];
    uint32_t granularity;
    bool enabled;
    bool in_use;
    int64_t size;               /* bytes covered */
    uint8_t *data;              /* serialized bits */
    uint64_t data_len;
    int stores;                 /* times stored */
    struct TestfmtBitmap *next;
} TestfmtBitmap;

TestfmtBitmap *testfmt_stored_bitmap(const char *file, const char *name);
/* Drops the stored bitmaps of file (NULL: of every image). */
void testfmt_forget_bitmaps(const char *file);

/* Opens "mem:NAME" read-write (or read-only) with format fmt; aborts on
 * failure (tests that expect failure call blk_new_open themselves). */
BlockBackend *test_open(const char *name, const char *fmt, bool rw);

/* Runs fn(opaque) in n coroutines at once and polls until all finish. */
void test_run_coroutines(int n, CoroutineEntry *fn, void *opaque);

#endif
