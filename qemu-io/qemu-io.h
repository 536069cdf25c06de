/*
 * Shared declarations of the qemu-io front end: the command table and its
 * dispatcher (cmds.c), the image it works on (open.c), the I/O commands
 * (io.c, map.c) and the helpers they share for numbers, reports and buffers
 * (util.c).
 *
 * Every message is the reference's, byte for byte, on the stream the
 * reference uses: results and most command errors on stdout (printf),
 * usage errors of the dispatcher and block-layer errors on stderr. stdout
 * is left fully buffered when it is not a terminal, as the reference leaves
 * it, so that the interleaving of the two streams matches too.
 */
#ifndef QEMU_IO_H
#define QEMU_IO_H

#include <time.h>

#include "util/osdep.h"
#include "block/block.h"

#define QEMU_IO_VERSION "7.2.0"
#define QEMU_IO_PROJECT "qemu-img-ng"

/* ---- commands ------------------------------------------------------------ */

/*
 * A command handler gets the words of its command line (argv[0] is the
 * command name) and returns 0 on success or a negative errno; any failure
 * makes qemu-io exit with 1.
 */
typedef int (*CmdFunc)(BlockBackend *blk, int argc, char **argv);
typedef void (*HelpFunc)(void);

typedef struct CmdInfo {
    const char *name;
    CmdFunc cfunc;
    int argmin;             /* words after the name, options included */
    int argmax;             /* -1: no limit */
    bool nofile_ok;         /* runs without an open image */
    bool needs_write;       /* refused on a read-only image */
    const char *args;       /* "[-Cq] off len"; NULL: takes none */
    const char *oneline;    /* the one-line description */
    HelpFunc help;          /* extended help, or NULL */
} CmdInfo;

/* The commands each file provides (the table lives in cmds.c). */
extern const CmdInfo abort_cmd, aio_flush_cmd, aio_read_cmd, aio_write_cmd,
    alloc_cmd, break_cmd, close_cmd, discard_cmd, flush_cmd, help_cmd,
    info_cmd, length_cmd, map_cmd, open_cmd, quit_cmd, read_cmd, readv_cmd,
    remove_break_cmd, reopen_cmd, resume_cmd, sigraise_cmd, sleep_cmd,
    truncate_cmd, wait_break_cmd, write_cmd, writev_cmd;

/* Set by 'quit': the command loop stops after the current command. */
extern bool qemuio_quit;

/*
 * Runs one command line (words separated by spaces). Returns the command's
 * result: negative if it failed (unknown command, bad arguments, I/O error).
 */
int qemuio_command(const char *line);

/* Prints "<name> <args> -- <oneline>" on stdout (the usage line). */
void qemuio_command_usage(const CmdInfo *ci);

/*
 * getopt(3) over a command's words, restarted for every command: glibc's
 * own messages ("read: invalid option -- 'x'") name the command.
 */
int qemuio_getopt(int argc, char **argv, const char *optstring);

/* ---- the open image (open.c) --------------------------------------------- */

/* The image the commands work on, or NULL. */
extern BlockBackend *qemuio_blk;

/* --image-opts: file names given to 'open' are option strings. */
extern bool qemuio_image_opts;

/* -m: misalign I/O buffers by 512 bytes to exercise bounce paths. */
extern bool qemuio_misalign;

/*
 * Opens name (a file name, or with image_opts an option string; NULL when
 * opts hold the whole description) as the current image. opts (may be
 * NULL) is taken over. Prints what the open noted (deprecations, probed
 * raw) and then the reference's error, and returns -errno on failure.
 * cor (-C) asks for copy-on-read, which only images without a backing
 * file can have here (where it changes nothing).
 */
int qemuio_open_image(const char *name, QDict *opts, int flags,
                      bool writethrough, bool force_share, bool snapshot,
                      bool image_opts, bool cor);

/*
 * The options the command line and 'open' share: -d discard, -i aio, -k,
 * -n and -t cache, applied to *flags and *writethrough. False with the
 * reference's error printed for a bad arg.
 */
bool qemuio_open_flag(int c, const char *arg, int *flags,
                      bool *writethrough);

/* Closes the current image after waiting for its AIO requests. */
void qemuio_close_image(void);

/* Handles "--object TYPE,id=...,..."; exits on error as the reference. */
void qemuio_object_add(const char *optarg);

/* ---- AIO requests (io.c) ------------------------------------------------- */

/* Waits until every aio_read/aio_write request has completed. */
void qemuio_drain_aio(void);

/* Number of aio_read/aio_write requests not completed yet (io.c). */
int qemuio_aio_in_flight(void);

/* ---- helpers (util.c) ---------------------------------------------------- */

/* The largest request the block layer takes: INT_MAX rounded to sectors. */
#define IO_MAX_BYTES ((int64_t)(INT_MAX & ~(BDRV_SECTOR_SIZE - 1)))

/*
 * Parses a size or offset as the reference's commands do: qemu_strtosz
 * rules, at most INT64_MAX. Returns the value, or -EINVAL / -ERANGE with
 * the reference's "Parsing error: ..." printed on stdout.
 */
int64_t cvtnum_arg(const char *arg);

/*
 * The "off len" words of an I/O command (argv[0], argv[1]) through
 * cvtnum_arg. With limit (a note such as " without -n", or ""), a length
 * above IO_MAX_BYTES is refused too: "length cannot exceed N<limit>, given
 * LEN". Returns 0 or a negative errno, the reason printed.
 */
int parse_off_len(char **argv, int64_t *offset, int64_t *count,
                  const char *limit);

/*
 * The "off len [len...]" words of a vectored command: the offset, then
 * nr_iov lengths (argv + 1), each an element of qiov over one buffer
 * filled with pattern (-1: left as allocated; -m honoured). Returns the
 * buffer (free with qemu_io_free, destroy qiov), or NULL with the reason
 * printed.
 */
void *parse_off_iovec(BlockBackend *blk, char **argv, int nr_iov,
                      int pattern, int64_t *offset, QEMUIOVector *qiov);

/*
 * Formats a byte count or rate for humans as the reference does ("4 KiB",
 * "1.500 MiB", "512 bytes", "0.907451 bytes").
 */
void cvtstr(double value, char *str, size_t size);

/* Elapsed seconds between two CLOCK_MONOTONIC times. */
double tdiff(const struct timespec *start, const struct timespec *end);

/*
 * Prints the statistics lines of an I/O command: op is "read", "wrote" or
 * "discard"; count the bytes asked for, total those done, cnt the requests.
 * machine: -C's one comma-separated line.
 */
void print_report(const char *op, const struct timespec *start,
                  const struct timespec *end, int64_t offset, int64_t count,
                  int64_t total, int cnt, bool machine);

/* -v: a hex and character dump of buf, addressed from offset. */
void dump_buffer(const void *buf, int64_t offset, int64_t len);

/* Parses a -P pattern byte (0-255, C base rules); -1 with the message. */
int parse_pattern(const char *arg);

/*
 * An I/O buffer of len bytes filled with pattern (-1: left as allocated).
 * Honours -m. Free with qemu_io_free.
 */
void *qemu_io_alloc(BlockBackend *blk, size_t len, int pattern);
void qemu_io_free(void *p);

/*
 * Runs entry(opaque) in a new coroutine and polls the loop until *done is
 * set (by the entry, when it is finished).
 */
void qemuio_run_co(void (*entry)(void *opaque), void *opaque, bool *done);

#endif
