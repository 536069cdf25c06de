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

/* What -V prints: the QEMU version we follow, and our name. */
#define QEMU_IMG_VERSION "7.2.0"
#define QEMU_IMG_PROJECT "qemu-img-ng"

/* Prints the usage text (ending with the supported formats), exits 0. */
void NORETURN help(void);

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
    OPTION_SKIP_BROKEN_BITMAPS,
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

/*
 * Parses "--output=human|json" (NULL: human); prints the reference's error
 * on failure.
 */
bool parse_output_format(const char *arg, OutputFormat *ofmt);

/*
 * Adds one -o argument to *options (joined with ','), rejecting an empty
 * list or element with the reference's "Invalid option list: ..." error.
 */
bool accumulate_options(char **options, const char *optarg);

/*
 * "-o help" for create and convert: the options of format fmt, and with a
 * filename those of its protocol too. Returns the exit code (0 or 1).
 */
int print_block_option_help(const char *filename, const char *fmt);

/*
 * Handles "--object secret,id=...,data=...|file=..." (util/secret.h):
 * prints the help asked for and exits 0, or reports an error and exits
 * fail_code (1; compare's is 2, as the reference's).
 */
void img_object_add(const char *optarg, int fail_code);

/*
 * The options that mean the same in every command that takes them. A
 * command lists those it takes in its getopt strings (':' first, so that
 * a missing argument is told apart) and hands every option its own switch
 * does not handle to img_common_option, which handles getopt's ':' and '?'
 * (usage error, exit 1), -h (help, exit 0), -f, -q, -U, --object,
 * --image-opts and --output (kept for parse_output_format, called where
 * the reference checks it).
 */
typedef struct ImgCommonOpts {
    const char *fmt;            /* -f: NULL probes */
    const char *output;         /* --output: NULL if not given */
    bool quiet;                 /* -q */
    bool force_share;           /* -U */
    bool image_opts;            /* --image-opts */
} ImgCommonOpts;

void img_common_option(int c, char **argv, ImgCommonOpts *opts);

/* The one file name left after the options, or the usage error (exit 1). */
const char *img_one_filename(int argc, char **argv);

/*
 * Opens an image for a command, as the reference does: filename with fmt
 * (NULL: probe) or, with image_opts, filename is a "driver=...,file...="
 * string. flags are BDRV_O_*; writethrough turns the write cache off.
 * Reports errors ("Could not open '...': ...") itself; NULL on failure.
 */
BlockBackend *img_open(bool image_opts, const char *filename, const char *fmt,
                       int flags, bool writethrough, bool force_share);

/*
 * Prints what an open noted (block.h's BlockOpenNotes: deprecation
 * warnings, then the probed-raw warning) to stderr, as the reference does
 * before any open error, and releases the notes. img_open calls it
 * whether or not the open succeeded; so must any other opener.
 */
void img_print_open_notes(BlockOpenNotes *notes);

/*
 * The reference's probed-raw warning alone, for the places where it warns
 * a second time (snapshot -a on a raw image).
 */
void img_warn_probed_raw(const char *filename);

/*
 * Parses a size argument as qemu-img does ("Invalid <name> specified. ...");
 * -1 with the error printed. cvtnum's range is 0..INT64_MAX.
 */
int64_t cvtnum(const char *name, const char *value);
int64_t cvtnum_full(const char *name, const char *value, int64_t min,
                    int64_t max);

/*
 * -l snapshot_param of convert and measure: "snapshot.id=ID,
 * snapshot.name=NAME" or a bare ID_OR_NAME. Parsing reports the
 * reference's errors and returns false; loading makes blk read the
 * snapshot's state ("Failed to load snapshot: ..." on failure).
 */
typedef struct ImgSnapshotParam {
    char *id;           /* the bare ID_OR_NAME when by_id_or_name */
    char *name;
    bool given;
    bool by_id_or_name;
} ImgSnapshotParam;

bool img_parse_snapshot_param(const char *param, ImgSnapshotParam *snap);
void img_snapshot_param_free(ImgSnapshotParam *snap);
bool img_load_snapshot(BlockBackend *blk, const ImgSnapshotParam *snap);

/*
 * info.c, shared with snapshot -l: the reference's ImageInfo of bs as a
 * QDict ("virtual-size", "filename", "format", "actual-size", ...), and the
 * human printers of its parts. NULL with errp set on failure.
 */
QDict *img_collect_info(BlockDriverState *bs, Error **errp);
void img_dump_snapshot_header(void);
void img_dump_snapshot(const QEMUSnapshotInfo *sn);

#endif
