/*
 * qemu-img bench: sends count requests of bufsize bytes, depth at a time,
 * at offset, offset + step, ... (wrapping at the image's end), and times
 * them.
 *
 * Each of the depth slots is a coroutine that issues its next request as soon
 * as its last one completes, so the event loop always has depth requests to
 * batch into one submission. With --flush-interval=N a flush follows every
 * N requests; by default the requests before it drain first and no new ones
 * start until it completes (--no-drain sends it alongside them).
 */
#include "config-host.h"

#include <getopt.h>
#include <string.h>

#include "qemu-img.h"
#include "util/coroutine.h"
#include "util/cutils.h"
#include "util/error.h"
#include "util/iov.h"

#define BENCH_DEFAULT_COUNT 75000
#define BENCH_DEFAULT_DEPTH 64
#define BENCH_DEFAULT_BUFSIZE 4096

typedef struct BenchState {
    BlockBackend *blk;
    int64_t image_size;
    bool write;
    int bufsize;
    int64_t step;
    int count;
    int flush_interval;
    bool drain;
    int pattern;

    int64_t offset;             /* of the next request */
    int issued;
    int in_flight;
    bool flush_pending;         /* draining for a flush: issue nothing */
    CoQueue flush_queue;
    int running;
    int ret;                    /* the first failure; stops the run */
} BenchState;

/* One of the depth request slots: its coroutine runs with this. */
typedef struct BenchSlot {
    BenchState *s;
    uint8_t *buf;
} BenchSlot;

/* Reports the first failed request and makes every slot stop. */
static void bench_fail(BenchState *s, const char *what, int ret)
{
    if (!s->ret) {
        error_report("%s: %s", what, strerror(-ret));
        s->ret = ret;
    }
    s->flush_pending = false;
    qemu_co_queue_restart_all(&s->flush_queue);
}

static void coroutine_fn bench_co_flush(BenchState *s)
{
    int ret = blk_co_flush(s->blk);

    if (ret < 0) {
        bench_fail(s, "Failed flush request", ret);
    }
}

static void coroutine_fn bench_co_worker(void *opaque)
{
    BenchSlot *slot = opaque;
    BenchState *s = slot->s;
    uint8_t *buf = slot->buf;
    QEMUIOVector qiov;

    if (s->write) {
        memset(buf, s->pattern, s->bufsize);
    }
    for (;;) {
        int64_t offset;
        bool flush_after;
        int ret;

        while (s->flush_pending && !s->ret) {
            qemu_co_queue_wait(&s->flush_queue, NULL);
        }
        if (s->issued >= s->count || s->ret) {
            break;
        }
        offset = s->offset;
        s->offset += s->step;
        if (s->image_size > 0) {
            s->offset %= s->image_size;
        }
        s->issued++;
        flush_after = s->flush_interval &&
                      s->issued % s->flush_interval == 0;
        if (flush_after && s->drain) {
            s->flush_pending = true;
        }

        s->in_flight++;
        qemu_iovec_init_buf(&qiov, buf, s->bufsize);
        if (s->write) {
            ret = blk_co_pwritev(s->blk, offset, s->bufsize, &qiov, 0);
        } else {
            ret = blk_co_preadv(s->blk, offset, s->bufsize, &qiov, 0);
        }
        s->in_flight--;
        if (ret < 0) {
            bench_fail(s, "Failed request", ret);
            break;
        }

        if (flush_after && !s->drain) {
            bench_co_flush(s);
        }
        if (s->flush_pending && s->in_flight == 0 && !s->ret) {
            /* The last request before the flush is done: flush, go on */
            bench_co_flush(s);
            s->flush_pending = false;
            qemu_co_queue_restart_all(&s->flush_queue);
        }
    }
    s->running--;
}

/* Parses a non-negative int as the reference does (any base), or -1. */
static int bench_parse_int(const char *arg)
{
    int val;

    if (qemu_strtoi(arg, NULL, 0, &val) < 0 || val < 0) {
        return -1;
    }
    return val;
}

int img_bench(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "flush-interval", required_argument, NULL, OPTION_FLUSH_INTERVAL },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "pattern", required_argument, NULL, OPTION_PATTERN },
        { "no-drain", no_argument, NULL, OPTION_NO_DRAIN },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    BenchState s = {
        .count = BENCH_DEFAULT_COUNT,
        .bufsize = BENCH_DEFAULT_BUFSIZE,
        .drain = true,
    };
    ImgCommonOpts common = { 0 };
    const char *filename;
    int depth = BENCH_DEFAULT_DEPTH, flags = 0, c, i, nslots = 0;
    BenchSlot *slots = NULL;
    int64_t offset = 0, step = 0, start;
    AioContext *ctx;
    int ret = 1;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":hc:d:f:ni:o:qs:S:t:wU",
                            long_options, NULL)) != -1) {
        switch (c) {
        case 'c':
            s.count = bench_parse_int(optarg);
            if (s.count < 0) {
                error_report("Invalid request count specified");
                return 1;
            }
            break;
        case 'd':
            depth = bench_parse_int(optarg);
            /*
             * The reference accepts 0 and then waits forever: refuse it
             * rather than hang.
             */
            if (depth <= 0) {
                error_report("Invalid queue depth specified");
                return 1;
            }
            break;
        case 'n':
            flags |= BDRV_O_NATIVE_AIO;
            break;
        case 'i':
            if (!bdrv_parse_aio(optarg, &flags)) {
                error_report("Invalid aio option: %s", optarg);
                return 1;
            }
            break;
        case 'o':
            offset = cvtnum("offset", optarg);
            if (offset < 0) {
                return 1;
            }
            break;
        case 's': {
            int64_t sval = cvtnum_full("buffer size", optarg, 0, INT_MAX);

            if (sval < 0) {
                return 1;
            }
            s.bufsize = sval;
            break;
        }
        case 'S': {
            int64_t sval = cvtnum_full("step_size", optarg, 0, INT_MAX);

            if (sval < 0) {
                return 1;
            }
            step = sval;
            break;
        }
        case 't':
            if (!bdrv_parse_cache_mode(optarg, &flags)) {
                error_report("Invalid cache mode");
                return 1;
            }
            break;
        case 'w':
            flags |= BDRV_O_RDWR;
            s.write = true;
            break;
        case OPTION_FLUSH_INTERVAL:
            s.flush_interval = bench_parse_int(optarg);
            if (s.flush_interval < 0) {
                error_report("Invalid flush interval specified");
                return 1;
            }
            break;
        case OPTION_NO_DRAIN:
            s.drain = false;
            break;
        case OPTION_PATTERN:
            s.pattern = bench_parse_int(optarg);
            if (s.pattern < 0 || s.pattern > 0xff) {
                error_report("Invalid pattern byte specified");
                return 1;
            }
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }
    filename = img_one_filename(argc, argv);

    if (!s.write && s.flush_interval) {
        error_report("--flush-interval is only available in write tests");
        return 1;
    }
    if (s.flush_interval && s.flush_interval < depth) {
        error_report("Flush interval can't be smaller than depth");
        return 1;
    }

    s.blk = img_open(common.image_opts, filename, common.fmt, flags,
                     flags & BDRV_O_WRITETHROUGH, common.force_share);
    if (!s.blk) {
        return 1;
    }
    s.image_size = blk_getlength(s.blk);
    if (s.image_size < 0) {
        error_report("Could not get size of '%s': %s", filename,
                     strerror(-s.image_size));
        goto out;
    }
    s.offset = offset;
    s.step = step ? step : s.bufsize;

    printf("Sending %d %s requests, %d bytes each, %d in parallel "
           "(starting at offset %" PRId64 ", step size %d)\n",
           s.count, s.write ? "write" : "read", s.bufsize, depth, offset,
           (int)s.step);
    if (s.flush_interval) {
        printf("Sending flush every %d requests\n", s.flush_interval);
    }

    /* More slots than requests would only sit idle */
    nslots = MIN(depth, s.count);
    slots = xnew(BenchSlot, nslots);
    for (i = 0; i < nslots; i++) {
        slots[i].s = &s;
        slots[i].buf = qemu_try_blockalign(MAX(s.bufsize, 1));
        if (!slots[i].buf) {
            error_report("Could not allocate %d request buffers of %d bytes",
                         nslots, s.bufsize);
            goto out;
        }
    }

    qemu_co_queue_init(&s.flush_queue);
    ctx = qemu_get_aio_context();
    start = get_clock_ns();
    s.running = nslots;
    for (i = 0; i < nslots; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(bench_co_worker,
                                                   &slots[i]));
    }
    while (s.running > 0) {
        aio_poll(ctx, true);
    }
    if (s.ret < 0) {
        goto out;
    }
    printf("Run completed in %3.3f seconds.\n",
           (double)(get_clock_ns() - start) / 1e9);
    ret = 0;

out:
    for (i = 0; i < nslots; i++) {
        qemu_vfree(slots[i].buf);
    }
    free(slots);
    blk_unref(s.blk);
    return ret;
}
