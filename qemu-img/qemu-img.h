/*
 * Shared declarations of the qemu-img front end: one handler per command
 * (qemu-img/<command>.c) and the helpers every command uses (common.c).
 *
 * A handler gets the arguments after the command name (argv[0] is the
 * command) and returns the process exit code. It reports its own errors with
 * error_report (prefix "qemu-img: "), in the reference's words.
 */
#ifndef QEMU_IMG_H
#define QEMU_IMG_H

#include "util/osdep.h"
#include "block/block.h"

int img_amend(int argc, char **argv);
int img_bench(int argc, char **argv);
int img_bitmap(int argc, char **argv);
int img_check(int argc, char **argv);
int img_commit(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_create(int argc, char **argv);
int img_dd(int argc, char **argv);
int img_info(int argc, char **argv);
int img_map(int argc, char **argv);
int img_measure(int argc, char **argv);
int img_rebase(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_snapshot(int argc, char **argv);

/* Long options every command shares; values above any short option. */
enum {
    OPTION_OUTPUT = 256,
    OPTION_BACKING_CHAIN,
    OPTION_OBJECT,
    OPTION_IMAGE_OPTS,
    OPTION_PATTERN,
    OPTION_FLUSH_INTERVAL,
    OPTION_NO_DRAIN,
    OPTION_TARGET_IMAGE_OPTS,
    OPTION_SIZE,
    OPTION_PREALLOCATION,
    OPTION_SHRINK,
    OPTION_SALVAGE,
    OPTION_TARGET_IS_ZERO,
    OPTION_ADD,
    OPTION_REMOVE,
    OPTION_CLEAR,
    OPTION_ENABLE,
    OPTION_DISABLE,
    OPTION_MERGE,
    OPTION_BITMAPS,
    OPTION_FORCE,
    OPTION_SKIP_BROKEN,
    OPTION_START_OFFSET,
    OPTION_MAX_LENGTH,
};

typedef enum OutputFormat {
    OFORMAT_HUMAN,
    OFORMAT_JSON,
} OutputFormat;

/* Prints the reference's usage error ("qemu-img: <msg>" + hint) and exits 1. */
void NORETURN error_exit(const char *fmt, ...) PRINTF_FMT(1, 2);
/* "Expecting one image file name" and friends. */
void NORETURN missing_argument(const char *option);
void NORETURN unrecognized_option(const char *option);

/* printf to stdout unless quiet. */
void qprintf(bool quiet, const char *fmt, ...) PRINTF_FMT(2, 3);

/* Parses "--output=human|json"; prints the reference's error on failure. */
bool parse_output_format(const char *arg, OutputFormat *ofmt);

/* Handles "--object secret,id=...,data=...|file=..."; exits on error. */
void img_object_add(const char *optarg);

/*
 * Opens an image for a command, as the reference does: filename with fmt
 * (NULL: probe) or, with image_opts, filename is a "driver=...,file...="
 * string. flags are BDRV_O_*; cache is the -t/-T mode (NULL: default).
 * Reports errors ("Could not open '...': ...") itself; NULL on failure.
 */
BlockBackend *img_open(bool image_opts, const char *filename, const char *fmt,
                       int flags, const char *cache, bool writethrough,
                       bool quiet, bool force_share);

/* Parses a size argument as qemu-img does; -1 with the error printed. */
int64_t cvtnum(const char *name, const char *value);
int64_t cvtnum_full(const char *name, const char *value, int64_t min,
                    int64_t max);

#endif
