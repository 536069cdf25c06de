/*
 * qemu-io: a block-layer exerciser, compatible with QEMU 7.2's.
 *
 *   qemu-io [-h] [-V] [-rsnCmkU] [-f fmt] [-t cache] [-i aio] [-d discard]
 *           [-T trace] [--object ...] [--image-opts] [-c cmd]... [file]
 *
 * The image given on the command line is opened first (failure ends the
 * program), then each -c command runs in order, or, without -c, the
 * commands come from stdin after a "qemu-io> " prompt. The exit code is 1
 * if any command failed, else 0, as in the reference: asynchronous requests
 * that fail later do not count.
 */
#include "config-host.h"

#include <getopt.h>
#include <signal.h>

#include "util/osdep.h"
#include "util/error.h"
#include "util/qobject.h"
#include "util/option.h"
#include "util/strbuf.h"
#include "util/trace-opts.h"
#include "block/block.h"
#include "qemu-io.h"

enum {
    OPTION_OBJECT = 256,
    OPTION_IMAGE_OPTS,
};

static void usage(const char *name)
{
    printf("Usage: %s [OPTIONS]... [-c STRING]... [file]\n"
           "Exercises the block layer on an image: reads, writes, zero\n"
           "writes, discards and queries, given as commands.\n"
           "\n"
           "  --object OBJECTDEF   define an object, such as a 'secret'\n"
           "                       holding an encryption key\n"
           "  --image-opts         file is an option string\n"
           "                       (driver=...,file.filename=...)\n"
           "  -c, --cmd STRING     run this command (repeatable, in order);\n"
           "                       without -c, commands are read from stdin\n"
           "  -f, --format FMT     the image format (default: probe)\n"
           "  -r, --read-only      open the image read-only\n"
           "  -s, --snapshot       write to a temporary overlay instead\n"
           "  -n, --nocache        bypass the host page cache (-t none)\n"
           "  -C, --copy-on-read   copy-on-read (images without a backing\n"
           "                       file only, where it changes nothing)\n"
           "  -m, --misalign       use buffers that are only 512-aligned\n"
           "  -k, --native-aio     use Linux native AIO (-i native)\n"
           "  -i, --aio=MODE       AIO backend: threads, native or io_uring\n"
           "  -t, --cache=MODE     cache mode: none, writeback,\n"
           "                       writethrough, directsync or unsafe\n"
           "  -d, --discard=MODE   discard mode: ignore/off or unmap/on\n"
           "  -T, --trace OPTS     accepted and ignored (no trace events)\n"
           "  -U, --force-share    share the image with other users\n"
           "  -h, --help           print this help and exit\n"
           "  -V, --version        print the version and exit\n"
           "\n"
           "'%s -c help' lists the commands.\n", name, name);
}

static void print_version(void)
{
    printf("qemu-io version " QEMU_IO_VERSION " (" QEMU_IO_PROJECT ")\n"
           "Copyright (c) 2025-2026 The " QEMU_IO_PROJECT " authors\n");
}

/*
 * The reference's main loop keeps these signals blocked (and SIGPIPE
 * ignored): 'sigraise' of one of them leaves the process running.
 */
static void setup_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGALRM);
    sigaddset(&set, SIGIO);
    sigaddset(&set, SIGBUS);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Runs commands from stdin until EOF or 'quit'; false if any failed. */
static bool command_loop_stdin(void)
{
    char *line = NULL;
    size_t size = 0;
    ssize_t len;
    bool ok = true;

    while (!qemuio_quit) {
        /* The prompt is flushed; command output stays buffered. */
        printf("qemu-io> ");
        fflush(stdout);
        len = getline(&line, &size, stdin);
        if (len < 0) {
            break;
        }
        if (len > 0 && line[len - 1] == '\n') {
            line[len - 1] = '\0';
        }
        if (qemuio_command(line) < 0) {
            ok = false;
        }
    }
    free(line);
    return ok;
}

/* -T/--trace: prints what the check says; exits 1 where it says to. */
static void trace_opt(const char *arg, char **trace_file)
{
    StrBuf out = STRBUF_INIT;
    int ret = arg ? trace_opt_check(arg, error_get_progname(), &out,
                                    trace_file)
                  : trace_file_check(*trace_file, error_get_progname(),
                                     &out);

    fputs(strbuf_str(&out), stderr);
    strbuf_release(&out);
    if (ret < 0) {
        exit(EXIT_FAILURE);
    }
}

int main(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "cmd", required_argument, NULL, 'c' },
        { "format", required_argument, NULL, 'f' },
        { "read-only", no_argument, NULL, 'r' },
        { "snapshot", no_argument, NULL, 's' },
        { "nocache", no_argument, NULL, 'n' },
        { "copy-on-read", no_argument, NULL, 'C' },
        { "misalign", no_argument, NULL, 'm' },
        { "native-aio", no_argument, NULL, 'k' },
        { "aio", required_argument, NULL, 'i' },
        { "discard", required_argument, NULL, 'd' },
        { "cache", required_argument, NULL, 't' },
        { "trace", required_argument, NULL, 'T' },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *sopt = "hVc:d:f:rsnCmkt:T:Ui:";
    int flags = BDRV_O_UNMAP;
    bool writethrough = true, readonly = false, snapshot = false;
    bool cor = false, force_share = false, ok = true;
    const char *format = NULL;
    char *trace_file = NULL;
    char **cmds = xnew(char *, argc + 1);
    int ncmds = 0, c, i;

    setup_signals();
    error_set_progname(argv[0]);
    bdrv_init();

    while ((c = getopt_long(argc, argv, sopt, long_options, NULL)) != -1) {
        switch (c) {
        case 'c':
            cmds[ncmds++] = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'r':
            readonly = true;
            break;
        case 's':
            snapshot = true;
            break;
        case 'C':
            cor = true;
            break;
        case 'm':
            qemuio_misalign = true;
            break;
        case 'd':
        case 'i':
        case 'k':
        case 'n':
        case 't':
            if (!qemuio_open_flag(c, optarg, &flags, &writethrough)) {
                exit(EXIT_FAILURE);
            }
            break;
        case 'T':
            trace_opt(optarg, &trace_file);
            break;
        case 'V':
            print_version();
            exit(EXIT_SUCCESS);
        case 'h':
            usage(argv[0]);
            exit(EXIT_SUCCESS);
        case 'U':
            force_share = true;
            break;
        case OPTION_OBJECT:
            qemuio_object_add(optarg);
            break;
        case OPTION_IMAGE_OPTS:
            qemuio_image_opts = true;
            break;
        default:
            usage(argv[0]);
            exit(EXIT_FAILURE);
        }
    }

    if (argc - optind > 1) {
        usage(argv[0]);
        exit(EXIT_FAILURE);
    }
    if (format && qemuio_image_opts) {
        error_report("--image-opts and -f are mutually exclusive");
        exit(EXIT_FAILURE);
    }
    /* The last -T's file= is opened once the options are checked. */
    trace_opt(NULL, &trace_file);
    free(trace_file);
    if (!readonly) {
        flags |= BDRV_O_RDWR;
    }

    if (argc - optind == 1) {
        const char *arg = argv[optind];
        QDict *opts = NULL;
        int ret;

        if (qemuio_image_opts) {
            opts = qemu_opts_parse_flat(arg, NULL, NULL);
        } else if (format) {
            opts = qdict_new();
            qdict_put_str(opts, "driver", format);
        }
        if (cor && readonly) {
            error_report("can't open%s%s: Can't use copy-on-read on "
                         "read-only device",
                         qemuio_image_opts ? "" : " device ",
                         qemuio_image_opts ? "" : arg);
            if (opts) {
                qobject_unref(QOBJECT(opts));
            }
            exit(EXIT_FAILURE);
        }
        ret = qemuio_open_image(qemuio_image_opts ? NULL : arg, opts, flags,
                                writethrough, force_share, snapshot,
                                qemuio_image_opts, cor);
        if (ret < 0) {
            exit(EXIT_FAILURE);
        }
    }

    if (ncmds) {
        for (i = 0; i < ncmds && !qemuio_quit; i++) {
            if (qemuio_command(cmds[i]) < 0) {
                ok = false;
            }
        }
    } else {
        ok = command_loop_stdin();
    }

    qemuio_close_image();
    free(cmds);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
