/*
 * qcow2 compressed clusters: zlib (raw deflate, 4 KiB window) and zstd.
 *
 * The work runs on the thread pool (thread_pool_co_run): the coroutine
 * yields while a worker compresses, so that 'convert -c' keeps every core
 * busy. Workers only touch the buffers handed to them.
 *
 * zlib streams use the reference's parameters (default level, window bits
 * -12, memory level 9), so that the compressed sizes, and with them the
 * packing of compressed clusters in the file, come out the same.
 */
#include "config-host.h"

#include <zlib.h>
#ifdef CONFIG_ZSTD
#include <zstd.h>
#include <zstd_errors.h>
#endif

#include <pthread.h>

#include "util/thread-pool.h"
#include "qcow2.h"

#define ZLIB_WINDOW_BITS (-12)

/*
 * Each worker thread keeps its compression contexts: setting one up costs
 * more than compressing a small cluster. Reset between uses, they give the
 * same bytes as fresh ones. Freed when the thread exits.
 */
typedef struct CompressContexts {
    z_stream deflate;
    bool deflate_ready;
#ifdef CONFIG_ZSTD
    ZSTD_CCtx *zstd_c;
    ZSTD_DCtx *zstd_d;
#endif
} CompressContexts;

static pthread_key_t contexts_key;
static pthread_once_t contexts_once = PTHREAD_ONCE_INIT;

static void contexts_free(void *opaque)
{
    CompressContexts *c = opaque;

    if (c->deflate_ready) {
        deflateEnd(&c->deflate);
    }
#ifdef CONFIG_ZSTD
    ZSTD_freeCCtx(c->zstd_c);
    ZSTD_freeDCtx(c->zstd_d);
#endif
    free(c);
}

static void contexts_key_init(void)
{
    pthread_key_create(&contexts_key, contexts_free);
}

static CompressContexts *thread_contexts(void)
{
    CompressContexts *c;

    pthread_once(&contexts_once, contexts_key_init);
    c = pthread_getspecific(contexts_key);
    if (!c) {
        c = xzalloc(sizeof(*c));
        pthread_setspecific(contexts_key, c);
    }
    return c;
}

typedef struct Qcow2CompressData {
    void *dest;
    size_t dest_size;
    const void *src;
    size_t src_size;
    ssize_t ret;
    int type;
    bool compress;
} Qcow2CompressData;

static ssize_t zlib_compress(void *dest, size_t dest_size, const void *src,
                             size_t src_size)
{
    CompressContexts *c = thread_contexts();
    z_stream *strm = &c->deflate;
    ssize_t ret;

    if (!c->deflate_ready) {
        memset(strm, 0, sizeof(*strm));
        if (deflateInit2(strm, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                         ZLIB_WINDOW_BITS, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
            return -EIO;
        }
        c->deflate_ready = true;
    } else if (deflateReset(strm) != Z_OK) {
        return -EIO;
    }
    strm->avail_in = src_size;
    strm->next_in = (Bytef *)src;
    strm->avail_out = dest_size;
    strm->next_out = dest;

    ret = deflate(strm, Z_FINISH);
    if (ret == Z_STREAM_END) {
        ret = dest_size - strm->avail_out;
    } else {
        ret = (ret == Z_OK || ret == Z_BUF_ERROR) ? -ENOMEM : -EIO;
    }
    return ret;
}

static ssize_t zlib_decompress(void *dest, size_t dest_size, const void *src,
                               size_t src_size)
{
    z_stream strm;
    ssize_t ret;

    memset(&strm, 0, sizeof(strm));
    strm.avail_in = src_size;
    strm.next_in = (Bytef *)src;
    strm.avail_out = dest_size;
    strm.next_out = dest;
    if (inflateInit2(&strm, ZLIB_WINDOW_BITS) != Z_OK) {
        return -EIO;
    }
    ret = inflate(&strm, Z_FINISH);
    if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR) && strm.avail_out == 0) {
        /* Data past the cluster (tail of the last sector) is ignored. */
        ret = 0;
    } else {
        ret = -EIO;
    }
    inflateEnd(&strm);
    return ret;
}

#ifdef CONFIG_ZSTD
static ssize_t zstd_compress(void *dest, size_t dest_size, const void *src,
                             size_t src_size)
{
    CompressContexts *c = thread_contexts();
    ZSTD_inBuffer input = { src, src_size, 0 };
    ZSTD_outBuffer output = { dest, dest_size, 0 };
    ZSTD_CCtx *cctx;
    size_t zret;
    ssize_t ret;

    if (!c->zstd_c) {
        c->zstd_c = ZSTD_createCCtx();
        if (!c->zstd_c) {
            return -EIO;
        }
    } else {
        ZSTD_CCtx_reset(c->zstd_c, ZSTD_reset_session_only);
    }
    cctx = c->zstd_c;
    /*
     * One frame with the content size left out, as the reference writes
     * it; compressStream2 with ZSTD_e_end finishes in one call when the
     * output fits, and says how much is left when it does not.
     */
    zret = ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_end);
    if (ZSTD_isError(zret)) {
        ret = ZSTD_getErrorCode(zret) == ZSTD_error_dstSize_tooSmall ?
              -ENOMEM : -EIO;
    } else if (zret != 0) {
        ret = -ENOMEM;
    } else {
        ret = output.pos;
    }
    if (ret < 0) {
        /* Whatever state the failure left: start clean next time. */
        ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
    }
    return ret;
}

static ssize_t zstd_decompress(void *dest, size_t dest_size, const void *src,
                               size_t src_size)
{
    CompressContexts *c = thread_contexts();
    ZSTD_inBuffer input = { src, src_size, 0 };
    ZSTD_outBuffer output = { dest, dest_size, 0 };
    ZSTD_DCtx *dctx;
    ssize_t ret = 0;
    size_t zret;

    if (!c->zstd_d) {
        c->zstd_d = ZSTD_createDCtx();
        if (!c->zstd_d) {
            return -EIO;
        }
    } else {
        ZSTD_DCtx_reset(c->zstd_d, ZSTD_reset_session_only);
    }
    dctx = c->zstd_d;
    /*
     * The compressed data may be followed by garbage up to the sector end;
     * stop as soon as the cluster is complete.
     */
    while (output.pos < output.size) {
        size_t last_in_pos = input.pos;
        size_t last_out_pos = output.pos;

        zret = ZSTD_decompressStream(dctx, &output, &input);
        if (ZSTD_isError(zret)) {
            ret = -EIO;
            break;
        }
        if (last_in_pos == input.pos && last_out_pos == output.pos) {
            /* No progress: the input ran out before the cluster did. */
            ret = -EIO;
            break;
        }
    }
    return ret;
}
#endif

static int compress_worker(void *opaque)
{
    Qcow2CompressData *d = opaque;

    switch (d->type) {
    case QCOW2_COMPRESSION_TYPE_ZLIB:
        d->ret = d->compress ?
                 zlib_compress(d->dest, d->dest_size, d->src, d->src_size) :
                 zlib_decompress(d->dest, d->dest_size, d->src, d->src_size);
        break;
#ifdef CONFIG_ZSTD
    case QCOW2_COMPRESSION_TYPE_ZSTD:
        d->ret = d->compress ?
                 zstd_compress(d->dest, d->dest_size, d->src, d->src_size) :
                 zstd_decompress(d->dest, d->dest_size, d->src, d->src_size);
        break;
#endif
    default:
        d->ret = -ENOTSUP;
        break;
    }
    return 0;
}

static ssize_t coroutine_fn do_co_compress(BlockDriverState *bs, void *dest,
                                           size_t dest_size, const void *src,
                                           size_t src_size, bool compress)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2CompressData d = {
        .dest = dest,
        .dest_size = dest_size,
        .src = src,
        .src_size = src_size,
        .type = s->compression_type,
        .compress = compress,
    };

    thread_pool_co_run(compress_worker, &d);
    return d.ret;
}

ssize_t coroutine_fn qcow2_co_compress(BlockDriverState *bs, void *dest,
                                       size_t dest_size, const void *src,
                                       size_t src_size)
{
    return do_co_compress(bs, dest, dest_size, src, src_size, true);
}

ssize_t coroutine_fn qcow2_co_decompress(BlockDriverState *bs, void *dest,
                                         size_t dest_size, const void *src,
                                         size_t src_size)
{
    return do_co_compress(bs, dest, dest_size, src, src_size, false);
}
