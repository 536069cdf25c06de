/*
 * qemu-img map: where each range of the guest view lives, walking the
 * backing chain: for humans, the allocated data ranges and the file holding
 * them; as JSON, every range with its flags and the depth of the layer
 * that defines it. Adjacent ranges with the same answer are merged.
 */
#include "config-host.h"

#include <getopt.h>

#include "util/osdep.h"
#include "util/error.h"
#include "block/block.h"
#include "qemu-img.h"

typedef struct MapEntry {
    int64_t start;
    int64_t length;
    int64_t offset;
    int depth;
    bool has_offset;
    bool data;
    bool zero;
    bool present;
    const char *filename;   /* NULL if the range has no host location */
} MapEntry;

/*
 * The status of [offset, offset + bytes) looked up layer by layer: the
 * first layer that defines the range (data or zeroes) answers; a range no
 * layer defines is reported from the bottom one, not present.
 */
static int get_block_status(BlockDriverState *bs, int64_t offset,
                            int64_t bytes, MapEntry *e)
{
    BlockDriverState *file = NULL;
    int64_t map = 0;
    int depth = 0;
    int ret;

    for (;;) {
        BlockDriverState *backing = bdrv_backing_node(bs);

        file = NULL;
        ret = bdrv_block_status_above(bs, backing, offset, bytes, &bytes,
                                      &map, &file, NULL);
        if (ret < 0) {
            return ret;
        }
        if (bytes <= 0) {
            return -EIO;
        }
        if (ret & (BDRV_BLOCK_ZERO | BDRV_BLOCK_DATA)) {
            break;
        }
        if (!backing) {
            ret = 0;
            break;
        }
        bs = backing;
        depth++;
    }

    *e = (MapEntry) {
        .start = offset,
        .length = bytes,
        .data = ret & BDRV_BLOCK_DATA,
        .zero = ret & BDRV_BLOCK_ZERO,
        .present = ret & BDRV_BLOCK_ALLOCATED,
        .has_offset = ret & BDRV_BLOCK_OFFSET_VALID,
        .offset = map,
        .depth = depth,
    };
    if (file && e->has_offset) {
        e->filename = bdrv_get_filename(file);
    }
    return 0;
}

static bool entry_mergeable(const MapEntry *curr, const MapEntry *next)
{
    if (curr->length == 0) {
        return false;
    }
    if (curr->zero != next->zero || curr->data != next->data ||
        curr->depth != next->depth || curr->present != next->present) {
        return false;
    }
    if (!curr->filename != !next->filename) {
        return false;
    }
    if (curr->filename && strcmp(curr->filename, next->filename)) {
        return false;
    }
    if (curr->has_offset != next->has_offset) {
        return false;
    }
    if (curr->has_offset && curr->offset + curr->length != next->offset) {
        return false;
    }
    return true;
}

static int dump_map_entry(OutputFormat ofmt, const MapEntry *e, bool last)
{
    switch (ofmt) {
    case OFORMAT_HUMAN:
        if (e->data && !e->has_offset) {
            error_report("File contains external, encrypted or compressed "
                         "clusters.");
            return -1;
        }
        /* Humans see data ranges only: holes and zeroes look the same. */
        if (e->data && !e->zero) {
            printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n",
                   e->start, e->length, e->has_offset ? e->offset : 0,
                   e->filename ? e->filename : "");
        }
        break;
    case OFORMAT_JSON:
        printf("{ \"start\": %" PRId64 ", \"length\": %" PRId64 ","
               " \"depth\": %d, \"present\": %s, \"zero\": %s,"
               " \"data\": %s", e->start, e->length, e->depth,
               e->present ? "true" : "false",
               e->zero ? "true" : "false",
               e->data ? "true" : "false");
        if (e->has_offset) {
            printf(", \"offset\": %" PRId64, e->offset);
        }
        putchar('}');
        if (!last) {
            printf(",\n");
        }
        break;
    }
    return 0;
}

int img_map(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, OPTION_OUTPUT },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { "start-offset", required_argument, NULL, OPTION_START_OFFSET },
        { "max-length", required_argument, NULL, OPTION_MAX_LENGTH },
        { NULL, 0, NULL, 0 },
    };
    OutputFormat ofmt = OFORMAT_HUMAN;
    ImgCommonOpts common = { 0 };
    const char *filename;
    int64_t start_offset = 0, max_length = -1, length;
    BlockBackend *blk;
    BlockDriverState *bs;
    MapEntry curr = { .length = 0 }, next;
    int c, ret = 0;

    /* -s and -l are the reference's undocumented short forms. */
    while ((c = getopt_long(argc, argv, ":f:s:l:hU", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 's':
        case OPTION_START_OFFSET:
            start_offset = cvtnum("start offset", optarg);
            if (start_offset < 0) {
                return 1;
            }
            break;
        case 'l':
        case OPTION_MAX_LENGTH:
            max_length = cvtnum("max length", optarg);
            if (max_length < 0) {
                return 1;
            }
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }
    filename = img_one_filename(argc, argv);

    if (!parse_output_format(common.output, &ofmt)) {
        return 1;
    }

    blk = img_open(common.image_opts, filename, common.fmt, 0, false,
                   common.force_share);
    if (!blk) {
        return 1;
    }
    bs = blk_bs(blk);

    if (ofmt == OFORMAT_HUMAN) {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to",
               "File");
    } else {
        printf("[");
    }

    length = blk_getlength(blk);
    if (length < 0) {
        error_report("Failed to get size for '%s'", filename);
        ret = 1;
        goto out;
    }
    if (max_length != -1 && max_length <= INT64_MAX - start_offset) {
        length = MIN(start_offset + max_length, length);
    }

    curr.start = start_offset;
    while (curr.start + curr.length < length) {
        int64_t offset = curr.start + curr.length;

        ret = get_block_status(bs, offset, length - offset, &next);
        if (ret < 0) {
            error_report("Could not read file metadata: %s", strerror(-ret));
            ret = 1;
            goto out;
        }
        if (entry_mergeable(&curr, &next)) {
            curr.length += next.length;
            continue;
        }
        if (curr.length > 0 && dump_map_entry(ofmt, &curr, false) < 0) {
            ret = 1;
            goto out;
        }
        curr = next;
    }

    if (dump_map_entry(ofmt, &curr, true) < 0) {
        ret = 1;
        goto out;
    }
    if (ofmt == OFORMAT_JSON) {
        printf("]\n");
    }
    ret = 0;

out:
    blk_unref(blk);
    return ret;
}
