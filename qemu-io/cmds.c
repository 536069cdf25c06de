/*
 * The command table and dispatcher, and the small commands that only ask
 * or control things: help, quit, sleep, sigraise, abort, length, info,
 * flush, truncate and the blkdebug breakpoint commands.
 *
 * The dispatcher checks, in the reference's order: that the command
 * exists, that an image is open (unless the command runs without one), the
 * number of words, and that a writing command has a writable image. Its
 * messages go to stderr; each command prints its own on stdout.
 */
#include "config-host.h"

#include <getopt.h>
#include <signal.h>

#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"
#include "util/error.h"
#include "util/qobject.h"
#include "util/qobject-human.h"
#include "util/strbuf.h"
#include "block/block.h"
#include "qemu-io.h"

bool qemuio_quit;

/* Sorted by name: 'help' lists them in this order. */
static const CmdInfo *const cmdtab[] = {
    &abort_cmd, &aio_flush_cmd, &aio_read_cmd, &aio_write_cmd, &alloc_cmd,
    &break_cmd, &close_cmd, &discard_cmd, &flush_cmd, &help_cmd, &info_cmd,
    &length_cmd, &map_cmd, &open_cmd, &quit_cmd, &read_cmd, &readv_cmd,
    &remove_break_cmd, &reopen_cmd, &resume_cmd, &sigraise_cmd, &sleep_cmd,
    &truncate_cmd, &wait_break_cmd, &write_cmd, &writev_cmd,
};

static const CmdInfo *find_command(const char *name)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cmdtab); i++) {
        if (!strcmp(cmdtab[i]->name, name)) {
            return cmdtab[i];
        }
    }
    return NULL;
}

void qemuio_command_usage(const CmdInfo *ci)
{
    /* Commands without arguments have args NULL; map's is "". */
    printf("%s%s%s -- %s\n", ci->name, ci->args ? " " : "",
           ci->args ? ci->args : "", ci->oneline);
}

int qemuio_getopt(int argc, char **argv, const char *optstring)
{
    /* Restart the scan: every command line is a new argument vector. */
    return getopt(argc, argv, optstring);
}

static bool check_argc(const CmdInfo *ci, int argc)
{
    int nargs = argc - 1;

    if (nargs >= ci->argmin && (ci->argmax == -1 || nargs <= ci->argmax)) {
        return true;
    }
    if (ci->argmax == -1) {
        fprintf(stderr, "bad argument count %d to %s, expected at least %d "
                "arguments\n", nargs, ci->name, ci->argmin);
    } else if (ci->argmin == ci->argmax) {
        fprintf(stderr, "bad argument count %d to %s, expected %d "
                "arguments\n", nargs, ci->name, ci->argmin);
    } else {
        fprintf(stderr, "bad argument count %d to %s, expected between %d "
                "and %d arguments\n", nargs, ci->name, ci->argmin,
                ci->argmax);
    }
    return false;
}

/* Splits line at spaces (only spaces: a tab is part of a word). */
static char **split_words(char *line, int *pargc)
{
    char **argv = xnew(char *, strlen(line) / 2 + 2);
    int argc = 0;
    char *p = line;

    for (;;) {
        while (*p == ' ') {
            p++;
        }
        if (!*p) {
            break;
        }
        argv[argc++] = p;
        while (*p && *p != ' ') {
            p++;
        }
        if (*p) {
            *p++ = '\0';
        }
    }
    argv[argc] = NULL;
    *pargc = argc;
    return argv;
}

int qemuio_command(const char *line)
{
    char *copy = xstrdup(line);
    const CmdInfo *ci;
    char **argv;
    int argc, ret = 0;

    argv = split_words(copy, &argc);
    if (!argc) {
        goto out;
    }
    ci = find_command(argv[0]);
    if (!ci) {
        fprintf(stderr, "command \"%s\" not found\n", argv[0]);
        ret = -EINVAL;
        goto out;
    }
    if (!ci->nofile_ok && !qemuio_blk) {
        fprintf(stderr, "no file open, try 'help open'\n");
        ret = -EINVAL;
        goto out;
    }
    if (!check_argc(ci, argc)) {
        ret = -EINVAL;
        goto out;
    }
    if (ci->needs_write && blk_is_read_only(qemuio_blk)) {
        error_report("Block node is read-only");
        ret = -EACCES;
        goto out;
    }
    optind = 0;
    ret = ci->cfunc(qemuio_blk, argc, argv);

out:
    free(argv);
    free(copy);
    return ret;
}

/* ---- help ---------------------------------------------------------------- */

static int help_f(BlockBackend *blk, int argc, char **argv)
{
    const CmdInfo *ci;
    size_t i;

    if (argc == 1) {
        for (i = 0; i < ARRAY_SIZE(cmdtab); i++) {
            qemuio_command_usage(cmdtab[i]);
        }
        printf("\nUse 'help commandname' for extended help.\n");
        return 0;
    }
    ci = find_command(argv[1]);
    if (!ci) {
        printf("command %s not found\n", argv[1]);
        return -EINVAL;
    }
    qemuio_command_usage(ci);
    if (ci->help) {
        ci->help();
    }
    return 0;
}

const CmdInfo help_cmd = {
    .name = "help",
    .cfunc = help_f,
    .argmin = 0,
    .argmax = 1,
    .nofile_ok = true,
    .args = "[command]",
    .oneline = "help for one or all commands",
};

/* ---- quit, sleep, sigraise, abort ---------------------------------------- */

static int quit_f(BlockBackend *blk, int argc, char **argv)
{
    qemuio_quit = true;
    return 0;
}

const CmdInfo quit_cmd = {
    .name = "quit",
    .cfunc = quit_f,
    .argmin = 0,
    .argmax = -1,
    .nofile_ok = true,
    .oneline = "exit the program",
};

static void sleep_cb(void *opaque)
{
    *(bool *)opaque = true;
}

/*
 * Sleeps by running the loop, so that AIO requests complete (and print)
 * meanwhile, as in the reference.
 */
static int sleep_f(BlockBackend *blk, int argc, char **argv)
{
    AioContext *ctx = qemu_get_aio_context();
    QEMUTimer *timer;
    bool expired = false;
    char *end;
    long ms;
    int64_t now, expire;

    errno = 0;
    ms = strtol(argv[1], &end, 0);
    if (ms < 0 || *end || end == argv[1]) {
        printf("%s is not a valid number\n", argv[1]);
        return -EINVAL;
    }
    /*
     * An overflowing count wraps into the past and returns at once, as the
     * reference's deadline arithmetic does.
     */
    now = get_clock_ns();
    expire = (int64_t)((uint64_t)now + (uint64_t)ms * 1000000u);
    if (expire <= now) {
        return 0;
    }
    timer = aio_timer_new(ctx, sleep_cb, &expired);
    timer_mod(timer, expire);
    while (!expired) {
        aio_poll(ctx, true);
    }
    timer_free(timer);
    return 0;
}

const CmdInfo sleep_cmd = {
    .name = "sleep",
    .cfunc = sleep_f,
    .argmin = 1,
    .argmax = 1,
    .nofile_ok = true,
    .oneline = "waits for the given value in milliseconds",
};

static void sigraise_help(void)
{
    printf("\n"
           " raises the signal whose number is given\n"
           "\n"
           " Example:\n"
           " 'sigraise 15' - raises SIGTERM, ending the program\n"
           "\n"
           " Calls raise(3) with the (mandatory) signal number; output\n"
           " written so far is flushed first.\n"
           "\n");
}

static int sigraise_f(BlockBackend *blk, int argc, char **argv)
{
    int64_t sig = cvtnum_arg(argv[1]);

    if (sig < 0) {
        return -EINVAL;
    }
    if (sig > NSIG) {
        printf("signal argument '%s' is too large to be a valid signal\n",
               argv[1]);
        return -EINVAL;
    }
    /* The signal may end the process: what was printed must not be lost. */
    fflush(stdout);
    fflush(stderr);
    raise((int)sig);
    return 0;
}

const CmdInfo sigraise_cmd = {
    .name = "sigraise",
    .cfunc = sigraise_f,
    .argmin = 1,
    .argmax = 1,
    .nofile_ok = true,
    .args = "signal",
    .oneline = "raises a signal",
    .help = sigraise_help,
};

static int abort_f(BlockBackend *blk, int argc, char **argv)
{
    /* Like a crash: buffered output is lost, as with the reference. */
    abort();
}

const CmdInfo abort_cmd = {
    .name = "abort",
    .cfunc = abort_f,
    .argmin = 0,
    .argmax = 0,
    .nofile_ok = true,
    .oneline = "simulate a program crash using abort(3)",
};

/* ---- length, info, flush ------------------------------------------------- */

static int length_f(BlockBackend *blk, int argc, char **argv)
{
    int64_t size = blk_getlength(blk);
    char s[64];

    if (size < 0) {
        printf("getlength: %s\n", strerror((int)-size));
        return (int)size;
    }
    cvtstr((double)size, s, sizeof(s));
    printf("%s\n", s);
    return 0;
}

const CmdInfo length_cmd = {
    .name = "length",
    .cfunc = length_f,
    .argmin = 0,
    .argmax = 0,
    .oneline = "gets the length of the current file",
};

static int info_f(BlockBackend *blk, int argc, char **argv)
{
    BlockDriverState *bs = blk_bs(blk);
    BlockDriverInfo bdi;
    Error *err = NULL;
    QDict *spec;
    char s1[64], s2[64];
    int ret;

    printf("format name: %s\n", bdrv_get_format_name(bs));
    /*
     * The reference prints a driver's protocol name as a second "format
     * name" line; only protocol nodes (the ones without a file child)
     * have one.
     */
    if (!bdrv_file_node(bs)) {
        printf("format name: %s\n", bdrv_get_format_name(bs));
    }
    ret = bdrv_get_info(bs, &bdi);
    if (ret) {
        return ret;
    }
    cvtstr(bdi.cluster_size, s1, sizeof(s1));
    cvtstr(bdi.vm_state_offset, s2, sizeof(s2));
    printf("cluster size: %s\n", s1);
    printf("vm state offset: %s\n", s2);

    spec = bdrv_get_specific_info(bs, &err);
    if (err) {
        error_report_err(err);
        return -EIO;
    }
    if (spec) {
        StrBuf sb = STRBUF_INIT;

        strbuf_init(&sb);
        qobject_human_format_specific(&sb, spec);
        fputs(sb.buf, stdout);
        strbuf_release(&sb);
        qobject_unref(QOBJECT(spec));
    }
    return 0;
}

const CmdInfo info_cmd = {
    .name = "info",
    .cfunc = info_f,
    .argmin = 0,
    .argmax = 0,
    .oneline = "prints information about the current file",
};

static int flush_f(BlockBackend *blk, int argc, char **argv)
{
    return blk_flush(blk);
}

const CmdInfo flush_cmd = {
    .name = "flush",
    .cfunc = flush_f,
    .argmin = 0,
    .argmax = 0,
    .oneline = "flush all in-core file state to disk",
};

/* ---- truncate ------------------------------------------------------------ */

static int truncate_f(BlockBackend *blk, int argc, char **argv)
{
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    Error *err = NULL;
    int64_t offset;
    int c, ret;

    while ((c = qemuio_getopt(argc, argv, "m:")) != -1) {
        switch (c) {
        case 'm':
            ret = prealloc_mode_parse(optarg);
            if (ret < 0) {
                error_report("Invalid preallocation mode '%s'", optarg);
                return -EINVAL;
            }
            prealloc = ret;
            break;
        default:
            qemuio_command_usage(&truncate_cmd);
            return -EINVAL;
        }
    }
    /* The reference crashes here; a usage line serves better. */
    if (optind >= argc) {
        qemuio_command_usage(&truncate_cmd);
        return -EINVAL;
    }
    offset = cvtnum_arg(argv[optind]);
    if (offset < 0) {
        return (int)offset;
    }
    /* Not exact: a format may round the size up (raw to sectors). */
    ret = blk_truncate(blk, offset, false, prealloc, 0, &err);
    if (ret < 0) {
        error_report_err(err);
        return ret;
    }
    return 0;
}

const CmdInfo truncate_cmd = {
    .name = "truncate",
    .cfunc = truncate_f,
    .argmin = 1,
    .argmax = 3,
    .needs_write = true,
    .args = "[-m prealloc_mode] off",
    .oneline = "truncates the current file at the given offset",
};

/* ---- blkdebug breakpoints ------------------------------------------------ */

/*
 * These reach the first blkdebug node at or below the image (the block
 * layer's bdrv_debug_* calls); an image without one answers -ENOTSUP, an
 * unknown event or tag -ENOENT, with the reference's messages.
 */
static int break_f(BlockBackend *blk, int argc, char **argv)
{
    int ret;

    ret = bdrv_debug_breakpoint(blk_bs(blk), argv[1], argv[2]);
    if (ret < 0) {
        printf("Could not set breakpoint: %s\n", strerror(-ret));
    }
    return ret;
}

static int remove_break_f(BlockBackend *blk, int argc, char **argv)
{
    int ret;

    ret = bdrv_debug_remove_breakpoint(blk_bs(blk), argv[1]);
    if (ret < 0) {
        printf("Could not remove breakpoint %s: %s\n", argv[1],
               strerror(-ret));
    }
    return ret;
}

static int resume_f(BlockBackend *blk, int argc, char **argv)
{
    int ret;

    ret = bdrv_debug_resume(blk_bs(blk), argv[1]);
    if (ret < 0) {
        printf("Could not resume request: %s\n", strerror(-ret));
    }
    return ret;
}

/*
 * Runs the event loop until a request is stopped with tag. The reference
 * waits forever when no request is in flight (or the image has no
 * blkdebug node) and none can ever stop; we fail at once instead, with
 * the error resume would give (-ENOTSUP or -ENOENT), as that is kinder to
 * scripts.
 */
static int wait_break_f(BlockBackend *blk, int argc, char **argv)
{
    AioContext *ctx = qemu_get_aio_context();
    BlockDriverState *bs = blk_bs(blk);
    int ret;

    while (!bdrv_debug_is_suspended(bs, argv[1])) {
        if (qemuio_aio_in_flight() == 0) {
            /* Nothing is stopped with tag, so this resumes nothing. */
            ret = bdrv_debug_resume(bs, argv[1]);
            if (ret >= 0) {
                ret = -ENOENT;
            }
            printf("Could not wait for request: %s\n", strerror(-ret));
            return ret;
        }
        aio_poll(ctx, true);
    }
    return 0;
}

const CmdInfo break_cmd = {
    .name = "break",
    .cfunc = break_f,
    .argmin = 2,
    .argmax = 2,
    .args = "event tag",
    .oneline = "sets a breakpoint on event and tags the stopped "
               "request as tag",
};

const CmdInfo remove_break_cmd = {
    .name = "remove_break",
    .cfunc = remove_break_f,
    .argmin = 1,
    .argmax = 1,
    .args = "tag",
    .oneline = "remove a breakpoint by tag",
};

const CmdInfo resume_cmd = {
    .name = "resume",
    .cfunc = resume_f,
    .argmin = 1,
    .argmax = 1,
    .args = "tag",
    .oneline = "resumes the request tagged as tag",
};

const CmdInfo wait_break_cmd = {
    .name = "wait_break",
    .cfunc = wait_break_f,
    .argmin = 1,
    .argmax = 1,
    .args = "tag",
    .oneline = "waits for the suspension of a request",
};
