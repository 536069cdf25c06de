/*
 * The image qemu-io works on: opening it (from the command line or the
 * 'open' command), closing it, reopening it with other options, and the
 * --object definitions that opening may need.
 *
 * -s (snapshot) is built here from block.h alone: a temporary qcow2
 * overlay backed by the image takes every write, and is deleted as soon as
 * it is open, so the image itself is never written.
 */
#include "config-host.h"

#include <getopt.h>

#include "util/osdep.h"
#include "util/error.h"
#include "util/option.h"
#include "util/qobject.h"
#include "util/secret.h"
#include "util/strbuf.h"
#include "util/open-notes.h"
#include "block/block.h"
#include "qemu-io.h"

BlockBackend *qemuio_blk;
bool qemuio_image_opts;
bool qemuio_misalign;

/* How the current image was opened, for 'reopen'. */
static struct {
    char *name;
    QDict *opts;
    int flags;
    bool writethrough;
    bool force_share;
    bool snapshot;
    bool image_opts;
    bool cor;
} cur;

static void forget_open_params(void)
{
    free(cur.name);
    if (cur.opts) {
        qobject_unref(QOBJECT(cur.opts));
    }
    memset(&cur, 0, sizeof(cur));
}

/*
 * Prints what an open noted to stderr (deprecations, then the probed-raw
 * warning), as the reference does before any open error, and releases
 * the notes.
 */
static void print_open_notes(BlockOpenNotes *notes)
{
    StrBuf sb = STRBUF_INIT;

    open_notes_format(&sb, error_get_progname(),
                      strbuf_str(&notes->warnings), notes->probed_raw);
    fputs(strbuf_str(&sb), stderr);
    strbuf_release(&sb);
    block_open_notes_release(notes);
}

/* True if opts say nothing that a plain file name would lose. */
static bool opts_name_only(QDict *opts)
{
    const QDictEntry *e;

    if (!opts) {
        return true;
    }
    for (e = qdict_first(opts); e; e = qdict_next(opts, e)) {
        if (strcmp(qdict_entry_key(e), "driver")) {
            return false;
        }
    }
    return true;
}

/*
 * Opens a temporary qcow2 overlay on top of the image described by name
 * and opts, as -s asks. Returns the overlay's backend or NULL with errp
 * set. Only the image's own open adds to *notes: the overlay opens it a
 * second time as its backing file, which the reference does not.
 */
static BlockBackend *open_snapshot(const char *name, QDict *opts, int flags,
                                   BlockOpenNotes *notes, Error **errp)
{
    BdrvImgCreateParams params = { 0 };
    BlockBackend *base, *blk = NULL;
    StrBuf formatting = STRBUF_INIT;
    const char *tmpdir = getenv("TMPDIR");
    char *tmp = NULL, *backing = NULL, *fmt = NULL;
    int64_t size;
    int fd;

    /* Learn the format and size of the image without writing to it. */
    base = blk_new_open_ext(name, NULL,
                            opts ? qdict_clone_shallow(opts) : NULL,
                            flags & ~BDRV_O_RDWR, notes, errp);
    if (!base) {
        return NULL;
    }
    fmt = xstrdup(bdrv_get_format_name(blk_bs(base)));
    size = blk_getlength(base);
    if (name && opts_name_only(opts)) {
        backing = realpath(name, NULL);
    }
    if (!backing) {
        /* Option-described images become a json: name. */
        QDict *desc = opts ? qdict_clone_shallow(opts) : qdict_new();
        char *json;

        if (name && !qdict_haskey(desc, "file.filename")) {
            qdict_put_str(desc, "file.filename", name);
        }
        json = qobject_to_json(QOBJECT(desc), false);
        backing = xasprintf("json:%s", json);
        free(json);
        qobject_unref(QOBJECT(desc));
    }
    blk_unref(base);
    if (size < 0) {
        error_setg_errno(errp, (int)-size, "Could not get image size");
        goto out;
    }

    tmp = xasprintf("%s/vl.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/var/tmp");
    fd = mkstemp(tmp);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not get temporary filename");
        goto out;
    }
    close(fd);

    params.filename = tmp;
    params.fmt = "qcow2";
    params.base_filename = backing;
    params.base_fmt = fmt;
    params.img_size = size;
    params.flags = flags & ~BDRV_O_RDWR;
    strbuf_init(&formatting);
    if (bdrv_img_create(&params, &formatting, errp) < 0) {
        unlink(tmp);
        goto out;
    }
    blk = blk_new_open(tmp, "qcow2", NULL, flags | BDRV_O_RDWR, errp);
    /* Open files stay usable; nothing is left behind at exit. */
    unlink(tmp);

out:
    strbuf_release(&formatting);
    free(tmp);
    free(backing);
    free(fmt);
    return blk;
}

/*
 * qemuio_open_image; print_notes is false for 'reopen', which the
 * reference does without warning again.
 */
static int open_image(const char *name, QDict *opts, int flags,
                      bool writethrough, bool force_share, bool snapshot,
                      bool image_opts, bool cor, bool print_notes)
{
    BlockOpenNotes notes = { STRBUF_INIT, NULL };
    Error *err = NULL;
    BlockBackend *blk;
    QDict *saved;

    if (qemuio_blk) {
        error_report("file open already, try 'help close'");
        if (opts) {
            qobject_unref(QOBJECT(opts));
        }
        return -EBUSY;
    }
    if (!opts) {
        opts = qdict_new();
    }
    if (force_share) {
        const char *fs = qdict_get_try_str(opts, "force-share");
        bool val = true;

        if (fs && (!qapi_bool_parse("force-share", fs, &val, NULL) ||
                   !val)) {
            error_report("-U conflicts with image options");
            qobject_unref(QOBJECT(opts));
            return -EINVAL;
        }
        qdict_put_str(opts, "force-share", "on");
        flags |= BDRV_O_FORCE_SHARE;
    }
    if (writethrough) {
        flags |= BDRV_O_WRITETHROUGH;
    } else {
        flags &= ~BDRV_O_WRITETHROUGH;
    }

    saved = qdict_clone_shallow(opts);
    if (snapshot) {
        blk = open_snapshot(name, opts, flags, &notes, &err);
        qobject_unref(QOBJECT(opts));
    } else {
        blk = blk_new_open_ext(name, NULL, opts, flags, &notes, &err);
    }
    /* The reference prints these as it opens: before any open error. */
    if (print_notes) {
        print_open_notes(&notes);
    } else {
        block_open_notes_release(&notes);
    }
    /*
     * There is no copy-on-read in the block layer: without a backing file
     * it would copy nothing, so only images with one must refuse it.
     */
    if (blk && cor && bdrv_backing_node(blk_bs(blk))) {
        error_setg(&err, "copy-on-read is not supported");
        blk_unref(blk);
        blk = NULL;
    }
    /*
     * qemu-io's user of the image asks for write access unless -r: a node
     * that options made read-only (read-only=on) cannot grant it.
     */
    if (blk && (flags & BDRV_O_RDWR) && blk_is_read_only(blk)) {
        error_setg(&err, "Block node is read-only");
        blk_unref(blk);
        blk = NULL;
    }
    if (!blk) {
        error_reportf_err(err, "can't open%s%s: ", name ? " device " : "",
                          name ? name : "");
        qobject_unref(QOBJECT(saved));
        return -EINVAL;
    }
    blk_set_enable_write_cache(blk, !writethrough);
    qemuio_blk = blk;

    forget_open_params();
    cur.name = name ? xstrdup(name) : NULL;
    cur.opts = saved;
    cur.flags = flags;
    cur.writethrough = writethrough;
    cur.force_share = force_share;
    cur.snapshot = snapshot;
    cur.image_opts = image_opts;
    cur.cor = cor;
    return 0;
}

int qemuio_open_image(const char *name, QDict *opts, int flags,
                      bool writethrough, bool force_share, bool snapshot,
                      bool image_opts, bool cor)
{
    return open_image(name, opts, flags, writethrough, force_share,
                      snapshot, image_opts, cor, true);
}

void qemuio_close_image(void)
{
    if (!qemuio_blk) {
        return;
    }
    qemuio_drain_aio();
    blk_unref(qemuio_blk);
    qemuio_blk = NULL;
    forget_open_params();
}

/* ---- open, close --------------------------------------------------------- */

bool qemuio_open_flag(int c, const char *arg, int *flags, bool *writethrough)
{
    switch (c) {
    case 'd':
        if (!strcmp(arg, "ignore") || !strcmp(arg, "off")) {
            *flags &= ~BDRV_O_UNMAP;
        } else if (!strcmp(arg, "unmap") || !strcmp(arg, "on")) {
            *flags |= BDRV_O_UNMAP;
        } else {
            error_report("Invalid discard option: %s", arg);
            return false;
        }
        break;
    case 'i':
        if (!bdrv_parse_aio(arg, flags)) {
            error_report("Invalid aio option: %s", arg);
            return false;
        }
        break;
    case 'k':
        *flags |= BDRV_O_NATIVE_AIO;
        break;
    case 'n':
        *flags |= BDRV_O_NOCACHE;
        *writethrough = false;
        break;
    case 't':
        if (!bdrv_parse_cache_mode(arg, flags)) {
            error_report("Invalid cache option: %s", arg);
            return false;
        }
        *writethrough = *flags & BDRV_O_WRITETHROUGH;
        break;
    default:
        abort();
    }
    return true;
}

static void open_help(void)
{
    printf("\n"
           " opens an image for the other commands to work on\n"
           "\n"
           " Example:\n"
           " 'open -n -o driver=raw /tmp/data' - opens /tmp/data as a raw\n"
           " image, read-write, bypassing the host page cache\n"
           "\n"
           " Only one image is open at a time: 'close' the current one\n"
           " first.\n"
           " -r, -- open read-only\n"
           " -s, -- send writes to a temporary overlay (snapshot)\n"
           " -C, -- copy-on-read (refused: not supported)\n"
           " -n, -- bypass the host page cache (-t none)\n"
           " -U, -- share the image with other users (no locks)\n"
           " -k, -- use Linux native AIO (same as -i native)\n"
           " -i, -- AIO backend: threads, native or io_uring\n"
           " -t, -- cache mode (none, writeback, writethrough, ...)\n"
           " -d, -- discard mode (ignore/off or unmap/on)\n"
           " -o, -- options for the block driver (key=value,...)\n"
           "\n");
}

/* Merges the options of one -o into *opts (later keys win). */
static void add_open_options(QDict **opts, const char *arg)
{
    QDict *parsed = qemu_opts_parse_flat(arg, NULL, NULL);

    if (!*opts) {
        *opts = parsed;
        return;
    }
    qdict_join(*opts, parsed, true);
    qobject_unref(QOBJECT(parsed));
}

/* Flags an open starts from: read-write, discards honoured. */
#define OPEN_DEFAULT_FLAGS (BDRV_O_RDWR | BDRV_O_UNMAP)

static int open_f(BlockBackend *blk, int argc, char **argv)
{
    int flags = OPEN_DEFAULT_FLAGS;
    bool writethrough = true, force_share = false, snapshot = false;
    bool cor = false;
    QDict *opts = NULL;
    const char *name = NULL;
    int c, ret = -EINVAL;

    while ((c = qemuio_getopt(argc, argv, "snCro:kt:d:i:U")) != -1) {
        switch (c) {
        case 's':
            snapshot = true;
            break;
        case 'C':
            cor = true;
            break;
        case 'r':
            flags &= ~BDRV_O_RDWR;
            break;
        case 'd':
        case 'i':
        case 'k':
        case 'n':
        case 't':
            if (!qemuio_open_flag(c, optarg, &flags, &writethrough)) {
                goto out;
            }
            break;
        case 'o':
            if (qemuio_image_opts) {
                printf("--image-opts and 'open -o' are mutually "
                       "exclusive\n");
                goto out;
            }
            add_open_options(&opts, optarg);
            break;
        case 'U':
            force_share = true;
            break;
        default:
            qemuio_command_usage(&open_cmd);
            goto out;
        }
    }

    if (optind == argc - 1) {
        if (qemuio_image_opts) {
            opts = qemu_opts_parse_flat(argv[optind], NULL, NULL);
        } else {
            name = argv[optind];
        }
    } else if (optind != argc) {
        qemuio_command_usage(&open_cmd);
        goto out;
    }

    if (cor && !(flags & BDRV_O_RDWR)) {
        error_report("can't open%s%s: Can't use copy-on-read on read-only "
                     "device", name ? " device " : "", name ? name : "");
        goto out;
    }
    ret = qemuio_open_image(name, opts, flags, writethrough, force_share,
                            snapshot, qemuio_image_opts, cor);
    opts = NULL;

out:
    if (opts) {
        qobject_unref(QOBJECT(opts));
    }
    return ret;
}

const CmdInfo open_cmd = {
    .name = "open",
    .cfunc = open_f,
    .argmin = 1,
    .argmax = -1,
    .nofile_ok = true,
    .args = "[-rsCnkU] [-t cache] [-d discard] [-o options] [path]",
    .oneline = "open the file specified by path",
    .help = open_help,
};

static int close_f(BlockBackend *blk, int argc, char **argv)
{
    qemuio_close_image();
    return 0;
}

const CmdInfo close_cmd = {
    .name = "close",
    .cfunc = close_f,
    .argmin = 0,
    .argmax = 0,
    .oneline = "close the current open file",
};

/* ---- reopen -------------------------------------------------------------- */

static void reopen_help(void)
{
    printf("\n"
           " changes the options the open image was opened with\n"
           "\n"
           " Example:\n"
           " 'reopen -r' - makes the image read-only from now on\n"
           "\n"
           " -r, -- make the image read-only\n"
           " -w, -- make the image read-write\n"
           " -c, -- switch to this cache mode\n"
           " -o, -- change driver options (only read-only here)\n"
           "\n");
}

/*
 * Closes the image and opens it again as before but with flags and
 * writethrough; if that fails, opens it as it was. Returns 0 or -errno.
 */
static int reopen_image(int flags, bool writethrough)
{
    char *name = cur.name ? xstrdup(cur.name) : NULL;
    QDict *opts = cur.opts ? qdict_clone_shallow(cur.opts) : qdict_new();
    QDict *old_opts;
    int old_flags = cur.flags;
    bool old_wt = cur.writethrough, fs = cur.force_share;
    bool image_opts = cur.image_opts, cor = cur.cor;
    int ret;

    /* Taken from the flags again on the way in. */
    qdict_del(opts, "force-share");
    qdict_del(opts, "read-only");
    old_opts = qdict_clone_shallow(opts);

    qemuio_close_image();
    ret = open_image(name, opts, flags, writethrough, fs, false, image_opts,
                     cor, false);
    if (ret < 0) {
        open_image(name, old_opts, old_flags, old_wt, fs, false, image_opts,
                   cor, false);
    } else {
        qobject_unref(QOBJECT(old_opts));
    }
    free(name);
    return ret;
}

/*
 * The image is closed and opened again with the new flags: that needs
 * nothing from the block layer beyond opening, and qemu-io keeps no state
 * in the open image that a reopen would lose (AIO requests are drained).
 */
static int reopen_f(BlockBackend *blk, int argc, char **argv)
{
    int flags = cur.flags;
    bool writethrough = cur.writethrough;
    bool set_ro = false, set_rw = false;
    const char *ro_opt = NULL;
    QDict *opts = NULL;
    const QDictEntry *e;
    int c, ret = -EINVAL;

    while ((c = qemuio_getopt(argc, argv, "c:o:rw")) != -1) {
        switch (c) {
        case 'c':
            if (!bdrv_parse_cache_mode(optarg, &flags)) {
                error_report("Invalid cache option: %s", optarg);
                goto out;
            }
            writethrough = flags & BDRV_O_WRITETHROUGH;
            break;
        case 'o':
            add_open_options(&opts, optarg);
            break;
        case 'r':
            if (set_rw) {
                error_report("Only one -r/-w option may be given");
                goto out;
            }
            set_ro = true;
            break;
        case 'w':
            if (set_ro) {
                error_report("Only one -r/-w option may be given");
                goto out;
            }
            set_rw = true;
            break;
        default:
            qemuio_command_usage(&reopen_cmd);
            goto out;
        }
    }
    if (optind != argc) {
        qemuio_command_usage(&reopen_cmd);
        goto out;
    }

    if (opts) {
        for (e = qdict_first(opts); e; e = qdict_next(opts, e)) {
            if (strcmp(qdict_entry_key(e), "read-only")) {
                error_report("Cannot change the option '%s'",
                             qdict_entry_key(e));
                goto out;
            }
        }
        ro_opt = qdict_get_try_str(opts, "read-only");
    }
    if (ro_opt) {
        bool ro;

        if (set_ro || set_rw) {
            error_report("Cannot set both -r/-w and 'read-only'");
            goto out;
        }
        if (!qapi_bool_parse("read-only", ro_opt, &ro, NULL)) {
            error_report("Parameter 'read-only' expects 'on' or 'off'");
            goto out;
        }
        set_ro = ro;
        set_rw = !ro;
    }
    if (set_ro) {
        flags &= ~BDRV_O_RDWR;
    } else if (set_rw) {
        if (cur.force_share) {
            error_report("force-share=on can only be used with read-only "
                         "images");
            goto out;
        }
        flags |= BDRV_O_RDWR;
    }
    if (cur.snapshot) {
        /* The overlay would be lost with the old backend. */
        error_report("Cannot reopen an image opened with -s");
        goto out;
    }

    ret = reopen_image(flags, writethrough);

out:
    if (opts) {
        qobject_unref(QOBJECT(opts));
    }
    return ret;
}

const CmdInfo reopen_cmd = {
    .name = "reopen",
    .cfunc = reopen_f,
    .argmin = 0,
    .argmax = -1,
    .args = "[(-r|-w)] [-c cache] [-o options]",
    .oneline = "reopens an image with new options",
    .help = reopen_help,
};

/* ---- --object ------------------------------------------------------------ */

void qemuio_object_add(const char *optarg)
{
    Error *err = NULL;
    const char *help;

    if (!secret_object_add(optarg, &help, &err)) {
        error_report_err(err);
        exit(EXIT_FAILURE);
    }
    if (help) {
        fputs(help, stdout);
        exit(EXIT_SUCCESS);
    }
}
