/*
 * Unit tests: the "file" protocol driver on real temporary files, once per
 * AIO backend (a backend this machine cannot set up is skipped), plus image
 * creation, preallocation, holes, and OFD locking.
 */
#include "config-host.h"

#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "lib/test-block.h"
#include "util/aio.h"
#include "util/bswap.h"
#include "util/cutils.h"
#include "util/strbuf.h"

static char tmpdir[] = "/tmp/test-block-file-XXXXXX";
static char path[PATH_MAX];

static void setup(void)
{
    test_block_init();
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(path, sizeof(path), "%s/img.raw", tmpdir);
}

static void teardown(void)
{
    unlink(path);
    rmdir(tmpdir);
}

static void create_raw(const char *options, uint64_t size)
{
    BdrvImgCreateParams p = {
        .filename = path, .fmt = "raw", .img_size = size, .options = options,
    };
    StrBuf sb = STRBUF_INIT;
    Error *err = NULL;

    ck_assert_msg(bdrv_img_create(&p, &sb, &err) == 0, "create: %s",
                  err ? error_get_pretty(err) : "");
    strbuf_release(&sb);
}

/* Opens path as raw with file.aio=aio and cache flags; NULL if aio can't. */
static BlockBackend *open_file(const char *aio, int flags, Error **errp)
{
    QDict *opts = qdict_new();

    qdict_put_str(opts, "driver", "raw");
    qdict_put_str(opts, "file.filename", path);
    if (aio) {
        qdict_put_str(opts, "file.aio", aio);
    }
    return blk_new_open(NULL, NULL, opts, flags, errp);
}

static bool backend_works(AioBackend b)
{
    Error *err = NULL;

    if (aio_file_backend_init(qemu_get_aio_context(), b, &err) < 0) {
        error_free(err);
        return false;
    }
    return true;
}

static void check_io(const char *aio, int flags)
{
    BlockBackend *blk;
    Error *err = NULL;
    int64_t size = 1 * MiB;
    uint8_t *buf = qemu_blockalign(size);
    uint8_t *rd = qemu_blockalign(size);
    int64_t i;

    create_raw(NULL, size);
    blk = open_file(aio, flags | BDRV_O_RDWR, &err);
    ck_assert_msg(blk, "open: %s", err ? error_get_pretty(err) : "");
    for (i = 0; i < size; i++) {
        buf[i] = (uint8_t)(i * 31 + 7);
    }
    /* Unaligned on purpose: O_DIRECT needs the core's padding. */
    ck_assert_int_ge(blk_pwrite(blk, 3, size - 10, buf + 3, 0), 0);
    ck_assert_int_ge(blk_pread(blk, 1, size - 2, rd + 1, 0), 0);
    ck_assert_int_eq(memcmp(rd + 3, buf + 3, size - 10), 0);
    ck_assert_int_eq(rd[1], 0);
    ck_assert_int_eq(blk_flush(blk), 0);
    blk_unref(blk);
    qemu_vfree(buf);
    qemu_vfree(rd);
}

START_TEST(test_io_threads)
{
    check_io("threads", 0);
    check_io("threads", BDRV_O_NOCACHE);
}
END_TEST

START_TEST(test_io_uring)
{
    if (!backend_works(AIO_BACKEND_IO_URING)) {
        return;
    }
    check_io("io_uring", 0);
    check_io("io_uring", BDRV_O_NOCACHE);
    check_io(NULL, 0);
}
END_TEST

/*
 * AIO_OP_WRITE_BLOCKING (what the file driver uses for buffered writes on
 * ext4) writes the same bytes as AIO_OP_WRITE on every backend, many at a
 * time.
 */
typedef struct BlockingWrite {
    AioBackend backend;
    int fd;
    int next;
    int ret;
} BlockingWrite;

static void coroutine_fn blocking_write_entry(void *opaque)
{
    BlockingWrite *w = opaque;
    int i = w->next++;
    uint8_t buf[4096];
    QEMUIOVector qiov;
    int64_t ret;

    memset(buf, i + 1, sizeof(buf));
    qemu_iovec_init_buf(&qiov, buf, sizeof(buf));
    ret = aio_co_file_io(qemu_get_aio_context(), w->backend, w->fd,
                         (int64_t)i * 4096, &qiov, AIO_OP_WRITE_BLOCKING);
    if (ret != 4096) {
        w->ret = ret < 0 ? (int)ret : -EIO;
    }
}

static void check_blocking_writes(AioBackend backend)
{
    BlockingWrite w = { backend, -1, 0, 0 };
    uint8_t buf[4096];
    int i;

    w.fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(w.fd, 0);
    test_run_coroutines(64, blocking_write_entry, &w);
    ck_assert_int_eq(w.ret, 0);
    for (i = 0; i < 64; i++) {
        ck_assert_int_eq(pread(w.fd, buf, sizeof(buf), (off_t)i * 4096),
                         4096);
        ck_assert_int_eq(buf[0], i + 1);
        ck_assert_int_eq(buf[4095], i + 1);
    }
    close(w.fd);
}

START_TEST(test_write_blocking_op)
{
    check_blocking_writes(AIO_BACKEND_THREADS);
    if (backend_works(AIO_BACKEND_IO_URING)) {
        check_blocking_writes(AIO_BACKEND_IO_URING);
    }
}
END_TEST

START_TEST(test_io_native)
{
    BlockBackend *blk;
    Error *err = NULL;

    create_raw(NULL, 4096);
    blk = open_file("native", BDRV_O_RDWR, &err);
    ck_assert_ptr_null(blk);
    ck_assert_str_eq(error_get_pretty(err), "aio=native was specified, but "
                     "it requires cache.direct=on, which was not "
                     "specified.");
    error_free(err);
    if (!backend_works(AIO_BACKEND_NATIVE)) {
        return;
    }
    check_io("native", BDRV_O_NOCACHE);
}
END_TEST

START_TEST(test_bad_options)
{
    Error *err = NULL;
    BlockBackend *blk;
    QDict *opts;

    create_raw(NULL, 4096);
    blk = open_file("bogus", 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_str_eq(error_get_pretty(err), "invalid parameter value: bogus");
    error_free(err);
    err = NULL;

    opts = qdict_new();
    qdict_put_str(opts, "driver", "raw");
    qdict_put_str(opts, "file.filename", "/nonexistent/x");
    blk = blk_new_open(NULL, NULL, opts, 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_str_eq(error_get_pretty(err),
                     "Could not open '/nonexistent/x': No such file or "
                     "directory");
    error_free(err);
    err = NULL;

    blk = blk_new_open(path, "host_device", NULL, 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_ptr_nonnull(strstr(error_get_pretty(err), "to be either a "
                                 "character or block device"));
    error_free(err);
}
END_TEST

/* An empty name is no name, probed or not, with or without a prefix. */
START_TEST(test_empty_filename)
{
    static const char *const names[] = { "", "file:" };
    Error *err = NULL;
    BlockBackend *blk;
    QDict *opts;
    unsigned int i;

    for (i = 0; i < ARRAY_SIZE(names); i++) {
        blk = blk_new_open(names[i], NULL, NULL, 0, &err);
        ck_assert_ptr_null(blk);
        ck_assert_str_eq(error_get_pretty(err), "The 'file' block driver "
                         "requires a file name");
        error_free(err);
        err = NULL;
    }
    opts = qdict_new();
    qdict_put_str(opts, "driver", "raw");
    qdict_put_str(opts, "file.filename", "");
    blk = blk_new_open(NULL, NULL, opts, 0, &err);
    ck_assert_ptr_null(blk);
    ck_assert_str_eq(error_get_pretty(err), "The 'file' block driver "
                     "requires a file name");
    error_free(err);
    err = NULL;

    /* "file": "x" names a node, which a lone image cannot refer to. */
    opts = qdict_new();
    qdict_put_str(opts, "driver", "raw");
    qdict_put_str(opts, "file", path);
    blk = blk_new_open(NULL, NULL, opts, 0, &err);
    ck_assert_ptr_null(blk);
    {
        char *want = xasprintf("Cannot find device='%s' nor node-name='%s'",
                               path, path);

        ck_assert_str_eq(error_get_pretty(err), want);
        free(want);
    }
    error_free(err);
}
END_TEST

/* ---- creation, holes, preallocation -------------------------------------- */

static int64_t allocated(void)
{
    struct stat st;

    ck_assert_int_eq(stat(path, &st), 0);
    return (int64_t)st.st_blocks * 512;
}

START_TEST(test_create_prealloc)
{
    struct stat st;
    BdrvImgCreateParams p = {
        .filename = path, .fmt = "raw", .img_size = 1000,
    };
    StrBuf sb = STRBUF_INIT;
    Error *err = NULL;

    create_raw(NULL, 1000);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 1024);

    create_raw("preallocation=full", 1 * MiB);
    ck_assert_int_ge(allocated(), 1 * MiB);
    create_raw("preallocation=off", 1 * MiB);
    ck_assert_int_lt(allocated(), 1 * MiB);

    p.img_size = 1 * MiB;
    p.options = "preallocation=metadata";
    ck_assert_int_lt(bdrv_img_create(&p, &sb, &err), 0);
    ck_assert_str_eq(error_get_pretty(err),
                     "Unsupported preallocation mode: metadata");
    ck_assert_ptr_nonnull(strstr(strbuf_str(&sb), "preallocation=metadata"));
    error_free(err);
    err = NULL;
    strbuf_reset(&sb);

    p.options = "extent_size_hint=5G";
    ck_assert_int_lt(bdrv_img_create(&p, &sb, &err), 0);
    ck_assert_str_eq(error_get_pretty(err), "Extent size hint is too large");
    error_free(err);
    err = NULL;
    strbuf_release(&sb);
}
END_TEST

START_TEST(test_block_status_holes)
{
    BlockBackend *blk;
    Error *err = NULL;
    uint8_t *buf = qemu_blockalign0(64 * KiB);
    int64_t pnum;
    int64_t map;
    int ret;

    create_raw(NULL, 4 * MiB);
    blk = open_file(NULL, BDRV_O_RDWR | BDRV_O_UNMAP, &err);
    ck_assert_ptr_nonnull(blk);
    memset(buf, 1, 64 * KiB);
    ck_assert_int_ge(blk_pwrite(blk, 1 * MiB, 64 * KiB, buf, 0), 0);
    ck_assert_int_eq(blk_flush(blk), 0);

    /* Creation wrote the first 4 KiB (see test_create_first_block). */
    ret = bdrv_block_status_above(blk_bs(blk), NULL, 0, 4 * MiB, &pnum,
                                  &map, NULL, NULL);
    ck_assert(ret & BDRV_BLOCK_DATA);
    ck_assert_int_eq(pnum, 4 * KiB);
    ret = bdrv_block_status_above(blk_bs(blk), NULL, 4 * KiB, 4 * MiB, &pnum,
                                  &map, NULL, NULL);
    ck_assert(ret & BDRV_BLOCK_ZERO);
    ck_assert(ret & BDRV_BLOCK_OFFSET_VALID);
    ck_assert_int_eq(pnum, 1 * MiB - 4 * KiB);
    ret = bdrv_block_status_above(blk_bs(blk), NULL, 1 * MiB, 4 * MiB, &pnum,
                                  &map, NULL, NULL);
    ck_assert(ret & BDRV_BLOCK_DATA);
    ck_assert_int_ge(pnum, 64 * KiB);
    ck_assert_int_eq(map, 1 * MiB);

    /* Zero writes that may unmap punch the data away again. */
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 1 * MiB, 64 * KiB,
                                       BDRV_REQ_MAY_UNMAP), 0);
    ret = bdrv_block_status_above(blk_bs(blk), NULL, 1 * MiB, 64 * KiB,
                                  &pnum, NULL, NULL, NULL);
    ck_assert(ret & BDRV_BLOCK_ZERO);
    ck_assert_int_ge(blk_pread(blk, 1 * MiB, 64 * KiB, buf, 0), 0);
    ck_assert(buffer_is_zero(buf, 64 * KiB));
    ck_assert_int_lt(allocated(), 64 * KiB);

    /* Fail-fast zeroing works on files (fallocate). */
    ck_assert_int_eq(blk_pwrite_zeroes(blk, 0, 8192, BDRV_REQ_NO_FALLBACK),
                     0);
    blk_unref(blk);
    qemu_vfree(buf);
}
END_TEST

/* Bytes of path that SEEK_DATA finds before the first hole after 0. */
static int64_t data_at_start(void)
{
    int fd = open(path, O_RDONLY);
    off_t data;
    off_t hole;

    ck_assert_int_ge(fd, 0);
    data = lseek(fd, 0, SEEK_DATA);
    hole = lseek(fd, 0, SEEK_HOLE);
    close(fd);
    return data == 0 ? hole : 0;
}

/*
 * As the reference does, a file grown from empty (creation, resize of an
 * empty file) gets its first block written unless fully preallocated, so
 * that it shows as data in map and takes 4 KiB of disk.
 */
START_TEST(test_create_first_block)
{
    BlockBackend *blk;
    Error *err = NULL;

    create_raw(NULL, 1 * MiB);
    ck_assert_int_eq(data_at_start(), 4 * KiB);
    ck_assert_int_eq(allocated(), 4 * KiB);
    create_raw("preallocation=falloc", 1 * MiB);
    ck_assert_int_ge(data_at_start(), 4 * KiB);
    ck_assert_int_ge(allocated(), 1 * MiB);
    create_raw(NULL, 512);
    ck_assert_int_gt(data_at_start(), 0);
    create_raw(NULL, 0);
    ck_assert_int_eq(allocated(), 0);

    /* Growing the empty file writes the block; growing it again not. */
    blk = open_file(NULL, BDRV_O_RDWR | BDRV_O_RESIZE, &err);
    ck_assert_ptr_nonnull(blk);
    ck_assert_int_eq(blk_truncate(blk, 64 * KiB, false, PREALLOC_MODE_OFF,
                                  0, &err), 0);
    ck_assert_int_eq(data_at_start(), 4 * KiB);
    /* A sparse 8 KiB file (nothing allocated) grown: still nothing. */
    ck_assert_int_eq(truncate(path, 0), 0);
    ck_assert_int_eq(truncate(path, 8192), 0);
    ck_assert_int_eq(blk_truncate(blk, 1 * MiB, false, PREALLOC_MODE_OFF, 0,
                                  &err), 0);
    ck_assert_int_eq(data_at_start(), 0);
    ck_assert_int_eq(allocated(), 0);
    blk_unref(blk);
    ck_assert_ptr_null(err);
}
END_TEST

START_TEST(test_truncate_file)
{
    BlockBackend *blk;
    Error *err = NULL;
    struct stat st;

    create_raw(NULL, 1 * MiB);
    blk = open_file(NULL, BDRV_O_RDWR | BDRV_O_RESIZE, &err);
    ck_assert_ptr_nonnull(blk);
    ck_assert_int_eq(blk_truncate(blk, 3 * MiB, false, PREALLOC_MODE_FALLOC,
                                  0, &err), 0);
    ck_assert_int_eq(blk_getlength(blk), 3 * MiB);
    ck_assert_int_ge(allocated(), 2 * MiB);
    ck_assert_int_lt(blk_truncate(blk, 1 * MiB, false, PREALLOC_MODE_FULL,
                                  0, &err), 0);
    ck_assert_str_eq(error_get_pretty(err),
                     "Cannot use preallocation for shrinking files");
    error_free(err);
    err = NULL;
    ck_assert_int_eq(blk_truncate(blk, 1000, false, PREALLOC_MODE_OFF, 0,
                                  &err), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 1000);
    ck_assert_int_eq(blk_getlength(blk), 1024);
    blk_unref(blk);
}
END_TEST

/* ---- locking ------------------------------------------------------------- */

/* The lock bytes held on path: bit i for byte 100+i, bit 4+i for 200+i. */
static uint64_t held_lock_bytes(void)
{
    struct stat st;
    FILE *f = fopen("/proc/locks", "r");
    char line[256];
    uint64_t mask = 0;

    ck_assert_int_eq(stat(path, &st), 0);
    if (!f) {
        return 0;
    }
    while (fgets(line, sizeof(line), f)) {
        unsigned int maj;
        unsigned int min;
        unsigned long ino;
        long start;
        long end;
        char *p = strstr(line, "OFDLCK");

        if (!p) {
            continue;
        }
        p = strchr(line, ':');
        p = p ? strchr(p + 1, ':') : NULL;
        while (p && p > line && p[-1] != ' ') {
            p--;
        }
        if (!p || sscanf(p, "%x:%x:%lu %ld %ld", &maj, &min, &ino, &start,
                         &end) != 5) {
            continue;
        }
        /* Adjacent bytes show as one range. */
        for (; ino == st.st_ino && start <= end; start++) {
            if (start >= 100 && start < 104) {
                mask |= 1ULL << (start - 100);
            } else if (start >= 200 && start < 204) {
                mask |= 1ULL << (start - 200 + 4);
            }
        }
    }
    fclose(f);
    return mask;
}

#define LOCK_BIT(byte) \
    ((byte) < 200 ? 1ULL << ((byte) - 100) : 1ULL << ((byte) - 200 + 4))

START_TEST(test_lock_bytes)
{
    BlockBackend *a;
    BlockBackend *b;
    Error *err = NULL;
    QDict *opts;

    create_raw(NULL, 1 * MiB);
    /* raw read-write: consistent read and write, everything shared. */
    a = blk_new_open(path, "raw", NULL, BDRV_O_RDWR, &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(held_lock_bytes(), LOCK_BIT(100) | LOCK_BIT(101));
    /* A second raw writer is fine: raw users share everything. */
    b = blk_new_open(path, "raw", NULL, BDRV_O_RDWR, &err);
    ck_assert_ptr_nonnull(b);
    blk_unref(b);
    blk_unref(a);
    ck_assert_uint_eq(held_lock_bytes(), 0);

    a = blk_new_open(path, "raw", NULL, 0, &err);
    ck_assert_uint_eq(held_lock_bytes(), LOCK_BIT(100));
    blk_unref(a);

    /* metadata-only users (info) take nothing on raw */
    a = blk_new_open(path, "raw", NULL, BDRV_O_NO_IO, &err);
    ck_assert_uint_eq(held_lock_bytes(), 0);
    blk_unref(a);

    /* locking=off takes no locks at all. */
    opts = qdict_new();
    qdict_put_str(opts, "driver", "raw");
    qdict_put_str(opts, "file.driver", "file");
    qdict_put_str(opts, "file.filename", path);
    qdict_put_str(opts, "file.locking", "off");
    a = blk_new_open(NULL, NULL, opts, BDRV_O_RDWR, &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(held_lock_bytes(), 0);
    blk_unref(a);
}
END_TEST

START_TEST(test_lock_conflict)
{
    BlockBackend *a;
    BlockBackend *b;
    Error *err = NULL;
    QDict *opts;

    /* testfmt over file behaves like qcow2: no shared write. */
    {
        int fd;
        uint8_t hdr[4096] = "TESTFMT";

        stbe64(hdr + 8, 64 * KiB);
        fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, hdr, sizeof(hdr)), sizeof(hdr));
        close(fd);
    }
    a = blk_new_open(path, "testfmt", NULL, BDRV_O_RDWR, &err);
    ck_assert_msg(a, "%s", err ? error_get_pretty(err) : "");
    ck_assert_uint_eq(held_lock_bytes(),
                      LOCK_BIT(100) | LOCK_BIT(101) | LOCK_BIT(103) |
                      LOCK_BIT(201) | LOCK_BIT(203));
    b = blk_new_open(path, "testfmt", NULL, BDRV_O_RDWR, &err);
    ck_assert_ptr_null(b);
    ck_assert_str_eq(error_get_pretty(err), "Failed to get \"write\" lock");
    ck_assert_ptr_nonnull(error_get_hint(err));
    ck_assert_ptr_nonnull(strstr(error_get_hint(err),
                                 "Is another process using the image ["));
    error_free(err);
    err = NULL;
    b = blk_new_open(path, "testfmt", NULL, 0, &err);
    ck_assert_ptr_null(b);
    ck_assert_str_eq(error_get_pretty(err),
                     "Failed to get shared \"write\" lock");
    error_free(err);
    err = NULL;
    /* force-share read-only users ignore the writer. */
    opts = qdict_new();
    qdict_put_str(opts, "force-share", "on");
    b = blk_new_open(path, "testfmt", opts, BDRV_O_FORCE_SHARE, &err);
    ck_assert_msg(b, "%s", err ? error_get_pretty(err) : "");
    blk_unref(b);
    blk_unref(a);

    /* force-share needs read-only */
    b = blk_new_open(path, "testfmt", NULL, BDRV_O_RDWR | BDRV_O_FORCE_SHARE,
                     &err);
    ck_assert_ptr_null(b);
    ck_assert_str_eq(error_get_pretty(err), "force-share=on can only be used "
                     "with read-only images");
    error_free(err);
}
END_TEST

/* ---- create-time locking ----------------------------------------------- */

/* Fills path with size bytes of a pattern; returns nothing, asserts. */
static void write_pattern(const char *file, size_t size, uint8_t seed)
{
    uint8_t *buf = malloc(size);
    size_t i;
    int fd;

    ck_assert_ptr_nonnull(buf);
    for (i = 0; i < size; i++) {
        buf[i] = (uint8_t)(seed + i * 7 + (i >> 9));
    }
    fd = open(file, O_CREAT | O_RDWR | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, buf, size), (ssize_t)size);
    close(fd);
    free(buf);
}

/* True if file holds exactly the pattern write_pattern wrote. */
static bool has_pattern(const char *file, size_t size, uint8_t seed)
{
    uint8_t *buf = malloc(size + 1);
    bool ok = true;
    ssize_t n;
    size_t i;
    int fd;

    ck_assert_ptr_nonnull(buf);
    fd = open(file, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    n = read(fd, buf, size + 1);
    close(fd);
    if (n != (ssize_t)size) {
        ok = false;
    }
    for (i = 0; ok && i < size; i++) {
        ok = buf[i] == (uint8_t)(seed + i * 7 + (i >> 9));
    }
    free(buf);
    return ok;
}

static int64_t file_size(const char *file)
{
    struct stat st;

    ck_assert_int_eq(stat(file, &st), 0);
    return st.st_size;
}

/* bdrv_img_create of a raw image over path; the error in *errp. */
static int try_create_raw(uint64_t size, Error **errp)
{
    BdrvImgCreateParams p = {
        .filename = path, .fmt = "raw", .img_size = size,
    };
    StrBuf sb = STRBUF_INIT;
    int ret;

    ret = bdrv_img_create(&p, &sb, errp);
    strbuf_release(&sb);
    return ret;
}

static void assert_lock_error(Error *err, const char *msg)
{
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(error_get_pretty(err), msg);
    ck_assert_ptr_nonnull(error_get_hint(err));
    ck_assert_ptr_nonnull(strstr(error_get_hint(err),
                                 "Is another process using the image ["));
}

/*
 * The data-loss case 'convert s.raw s.raw': the source is open without
 * sharing writes, so creating the target over it must fail on the "write"
 * lock before anything is truncated.
 */
START_TEST(test_create_over_no_share_source)
{
    BlockBackend *src;
    Error *err = NULL;

    write_pattern(path, 1 * MiB, 1);
    src = blk_new_open(path, "raw", NULL, BDRV_O_NO_SHARE, &err);
    ck_assert_msg(src, "%s", err ? error_get_pretty(err) : "");
    ck_assert_uint_eq(held_lock_bytes(),
                      LOCK_BIT(100) | LOCK_BIT(201) | LOCK_BIT(203));

    ck_assert_int_lt(try_create_raw(4 * MiB, &err), 0);
    assert_lock_error(err, "Failed to get \"write\" lock");
    error_free(err);
    err = NULL;
    ck_assert(has_pattern(path, 1 * MiB, 1));
    /* The failed create let go of its lock bytes: the source's remain. */
    ck_assert_uint_eq(held_lock_bytes(),
                      LOCK_BIT(100) | LOCK_BIT(201) | LOCK_BIT(203));
    blk_unref(src);
    ck_assert_uint_eq(held_lock_bytes(), 0);

    /* Nobody holds it now: create goes ahead and empties it. */
    ck_assert_int_eq(try_create_raw(4 * MiB, &err), 0);
    ck_assert(!has_pattern(path, 1 * MiB, 1));
    ck_assert_int_eq(file_size(path), 4 * MiB);
}
END_TEST

/* A qcow2-like writer (testfmt: no shared write on its file) is safe too. */
START_TEST(test_create_over_format_writer)
{
    BlockBackend *a;
    Error *err = NULL;
    uint8_t hdr[4096] = "TESTFMT";
    int fd;

    stbe64(hdr + 8, 64 * KiB);
    fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, hdr, sizeof(hdr)), sizeof(hdr));
    close(fd);

    a = blk_new_open(path, "testfmt", NULL, 0, &err);
    ck_assert_msg(a, "%s", err ? error_get_pretty(err) : "");
    ck_assert_int_lt(try_create_raw(1 * MiB, &err), 0);
    assert_lock_error(err, "Failed to get \"write\" lock");
    error_free(err);
    err = NULL;
    ck_assert_int_eq(file_size(path), 4096);
    blk_unref(a);
}
END_TEST

/*
 * Raw users share everything, so a create over a raw image another user
 * reads or writes goes ahead, as in the reference (qemu-io on a raw image
 * does not stop 'qemu-img create'). A user that may resize it stops the
 * create, which does not share resizing.
 */
START_TEST(test_create_over_raw_users)
{
    BlockBackend *a;
    Error *err = NULL;

    write_pattern(path, 1 * MiB, 2);
    a = blk_new_open(path, "raw", NULL, BDRV_O_RDWR, &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(try_create_raw(1 * MiB, &err), 0);
    ck_assert(!has_pattern(path, 1 * MiB, 2));
    blk_unref(a);

    write_pattern(path, 1 * MiB, 3);
    a = blk_new_open(path, "raw", NULL, BDRV_O_RDWR | BDRV_O_RESIZE, &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(held_lock_bytes(),
                      LOCK_BIT(100) | LOCK_BIT(101) | LOCK_BIT(103));
    ck_assert_int_lt(try_create_raw(2 * MiB, &err), 0);
    assert_lock_error(err, "Failed to get shared \"resize\" lock");
    error_free(err);
    ck_assert(has_pattern(path, 1 * MiB, 3));
    blk_unref(a);
}
END_TEST

/*
 * BDRV_O_NO_SHARE: a writer keeps the user out ("Failed to get shared
 * "write" lock", as the reference's convert from an image in use), and the
 * user keeps writers out; -U (force-share) lifts it.
 */
START_TEST(test_no_share_open)
{
    BlockBackend *a;
    BlockBackend *b;
    Error *err = NULL;

    write_pattern(path, 64 * KiB, 4);
    a = blk_new_open(path, "raw", NULL, BDRV_O_RDWR, &err);
    ck_assert_ptr_nonnull(a);
    b = blk_new_open(path, "raw", NULL, BDRV_O_NO_SHARE, &err);
    ck_assert_ptr_null(b);
    assert_lock_error(err, "Failed to get shared \"write\" lock");
    error_free(err);
    err = NULL;
    /* The failed open left the writer's bytes alone and took none. */
    ck_assert_uint_eq(held_lock_bytes(), LOCK_BIT(100) | LOCK_BIT(101));
    b = blk_new_open(path, "raw", NULL,
                     BDRV_O_NO_SHARE | BDRV_O_FORCE_SHARE, &err);
    ck_assert_msg(b, "%s", err ? error_get_pretty(err) : "");
    blk_unref(b);
    blk_unref(a);

    a = blk_new_open(path, "raw", NULL, BDRV_O_NO_SHARE, &err);
    ck_assert_ptr_nonnull(a);
    b = blk_new_open(path, "raw", NULL, BDRV_O_RDWR, &err);
    ck_assert_ptr_null(b);
    assert_lock_error(err, "Failed to get \"write\" lock");
    error_free(err);
    err = NULL;
    /* Readers are welcome. */
    b = blk_new_open(path, "raw", NULL, 0, &err);
    ck_assert_ptr_nonnull(b);
    blk_unref(b);
    blk_unref(a);
    ck_assert(has_pattern(path, 64 * KiB, 4));
}
END_TEST

/* The backing chain of a no-share user is kept stable too. */
START_TEST(test_no_share_backing_chain)
{
    char top[PATH_MAX];
    uint8_t hdr[4096] = "TESTFMT";
    BlockBackend *a;
    BlockBackend *b;
    Error *err = NULL;
    int fd;

    write_pattern(path, 64 * KiB, 5);
    snprintf(top, sizeof(top), "%s/top.tfmt", tmpdir);
    stbe64(hdr + 8, 64 * KiB);
    pstrcpy((char *)hdr + 16, 256, path);
    pstrcpy((char *)hdr + 272, 16, "raw");
    fd = open(top, O_CREAT | O_RDWR | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, hdr, sizeof(hdr)), sizeof(hdr));
    close(fd);

    /* An ordinary reader shares the backing file with writers... */
    a = blk_new_open(top, "testfmt", NULL, 0, &err);
    ck_assert_msg(a, "%s", err ? error_get_pretty(err) : "");
    ck_assert_uint_eq(held_lock_bytes(), LOCK_BIT(100));
    blk_unref(a);

    /* ...a no-share one does not. */
    a = blk_new_open(top, "testfmt", NULL, BDRV_O_NO_SHARE, &err);
    ck_assert_msg(a, "%s", err ? error_get_pretty(err) : "");
    ck_assert_uint_eq(held_lock_bytes(),
                      LOCK_BIT(100) | LOCK_BIT(201) | LOCK_BIT(203));
    b = blk_new_open(path, "raw", NULL, BDRV_O_RDWR, &err);
    ck_assert_ptr_null(b);
    assert_lock_error(err, "Failed to get \"write\" lock");
    error_free(err);
    err = NULL;
    ck_assert_int_lt(try_create_raw(64 * KiB, &err), 0);
    assert_lock_error(err, "Failed to get \"write\" lock");
    error_free(err);
    blk_unref(a);
    ck_assert(has_pattern(path, 64 * KiB, 5));
    unlink(top);
}
END_TEST

/* 'info' (BDRV_O_NO_IO) reads no data: no read lock on a format's file. */
START_TEST(test_no_io_format_locks)
{
    uint8_t hdr[4096] = "TESTFMT";
    BlockBackend *a;
    Error *err = NULL;
    int fd;

    stbe64(hdr + 8, 64 * KiB);
    fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, hdr, sizeof(hdr)), sizeof(hdr));
    close(fd);
    a = blk_new_open(path, "testfmt", NULL, BDRV_O_NO_IO, &err);
    ck_assert_msg(a, "%s", err ? error_get_pretty(err) : "");
    ck_assert_uint_eq(held_lock_bytes(), LOCK_BIT(201) | LOCK_BIT(203));
    blk_unref(a);
}
END_TEST

typedef struct DeleteCo {
    const char *filename;
    Error *err;
    int ret;
    bool done;
} DeleteCo;

static void coroutine_fn delete_co_entry(void *opaque)
{
    DeleteCo *d = opaque;

    d->ret = bdrv_co_delete_file(d->filename, &d->err);
    d->done = true;
}

static int delete_file(const char *filename, Error **errp)
{
    DeleteCo d = { .filename = filename };

    bdrv_run_co(delete_co_entry, &d, &d.done);
    error_propagate(errp, d.err);
    return d.ret;
}

/* What a format whose create failed uses to remove the file it made. */
START_TEST(test_delete_file)
{
    char sub[PATH_MAX];
    char prefixed[PATH_MAX + 8];
    Error *err = NULL;

    create_raw(NULL, 64 * KiB);
    ck_assert_int_eq(delete_file(path, &err), 0);
    ck_assert_int_ne(access(path, F_OK), 0);

    create_raw(NULL, 64 * KiB);
    snprintf(prefixed, sizeof(prefixed), "file:%s", path);
    ck_assert_int_eq(delete_file(prefixed, &err), 0);
    ck_assert_int_ne(access(path, F_OK), 0);

    ck_assert_int_eq(delete_file(path, &err), -ENOENT);
    error_free(err);
    err = NULL;

    /* Never a directory (or a device). */
    snprintf(sub, sizeof(sub), "%s/dir", tmpdir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    ck_assert_int_eq(delete_file(sub, &err), -EPERM);
    ck_assert_ptr_nonnull(strstr(error_get_pretty(err),
                                 "is not a regular file"));
    error_free(err);
    ck_assert_int_eq(access(sub, F_OK), 0);
    rmdir(sub);
}
END_TEST

static Suite *block_file_suite(void)
{
    Suite *s = suite_create("block-file");
    TCase *tc;

    tc = tcase_create("backends");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_io_threads);
    tcase_add_test(tc, test_io_uring);
    tcase_add_test(tc, test_io_native);
    tcase_add_test(tc, test_write_blocking_op);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_empty_filename);
    suite_add_tcase(s, tc);

    tc = tcase_create("create-holes-truncate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_create_prealloc);
    tcase_add_test(tc, test_block_status_holes);
    tcase_add_test(tc, test_create_first_block);
    tcase_add_test(tc, test_truncate_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("locking");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_lock_bytes);
    tcase_add_test(tc, test_lock_conflict);
    suite_add_tcase(s, tc);

    tc = tcase_create("create-locking");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_create_over_no_share_source);
    tcase_add_test(tc, test_create_over_format_writer);
    tcase_add_test(tc, test_create_over_raw_users);
    tcase_add_test(tc, test_no_share_open);
    tcase_add_test(tc, test_no_share_backing_chain);
    tcase_add_test(tc, test_no_io_format_locks);
    tcase_add_test(tc, test_delete_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(block_file_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
