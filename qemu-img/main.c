/*
 * qemu-img: entry point. Parses the global options, then hands the rest of
 * the command line to one handler per command (qemu-img/<command>.c), found
 * in a table the way git finds its builtins.
 *
 * Global options stop at the first non-option argument (the command name),
 * so a command's own options never reach this parser. Usage errors use the
 * reference's words and exit code 1; -h and -V exit 0.
 */
#include "config-host.h"

#include <getopt.h>

#include "util/osdep.h"
#include "util/cutils.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/trace-opts.h"
#include "block/block.h"
#include "qemu-img.h"

typedef struct ImgCmd {
    const char *name;
    int (*handler)(int argc, char **argv);
    /* Syntax line printed by --help: interface, kept as the reference's. */
    const char *syntax;
} ImgCmd;

static const ImgCmd img_cmds[] = {
    { "amend", img_amend,
      "amend [--object objectdef] [--image-opts] [-p] [-q] [-f fmt] "
      "[-t cache] [--force] -o options filename" },
    { "bench", img_bench,
      "bench [-c count] [-d depth] [-f fmt] "
      "[--flush-interval=flush_interval] [-i aio] [-n] [--no-drain] "
      "[-o offset] [--pattern=pattern] [-q] [-s buffer_size] "
      "[-S step_size] [-t cache] [-w] [-U] filename" },
    { "bitmap", img_bitmap,
      "bitmap (--merge SOURCE | --add | --remove | --clear | --enable | "
      "--disable)... [-b source_file [-F source_fmt]] [-g granularity] "
      "[--object objectdef] [--image-opts | -f fmt] filename bitmap" },
    { "check", img_check,
      "check [--object objectdef] [--image-opts] [-q] [-f fmt] "
      "[--output=ofmt] [-r [leaks | all]] [-T src_cache] [-U] filename" },
    { "commit", img_commit,
      "commit [--object objectdef] [--image-opts] [-q] [-f fmt] "
      "[-t cache] [-b base] [-r rate_limit] [-d] [-p] filename" },
    { "compare", img_compare,
      "compare [--object objectdef] [--image-opts] [-f fmt] [-F fmt] "
      "[-T src_cache] [-p] [-q] [-s] [-U] filename1 filename2" },
    { "convert", img_convert,
      "convert [--object objectdef] [--image-opts] [--target-image-opts] "
      "[--target-is-zero] [--bitmaps] [-U] [-C] [-c] [-p] [-q] [-n] "
      "[-f fmt] [-t cache] [-T src_cache] [-O output_fmt] "
      "[-B backing_file [-F backing_fmt]] [-o options] "
      "[-l snapshot_param] [-S sparse_size] [-r rate_limit] "
      "[-m num_coroutines] [-W] [--salvage] "
      "filename [filename2 [...]] output_filename" },
    { "create", img_create,
      "create [--object objectdef] [-q] [-f fmt] "
      "[-b backing_file [-F backing_fmt]] [-u] [-o options] "
      "filename [size]" },
    { "dd", img_dd,
      "dd [--image-opts] [-U] [-f fmt] [-O output_fmt] [bs=block_size] "
      "[count=blocks] [skip=blocks] if=input of=output" },
    { "info", img_info,
      "info [--object objectdef] [--image-opts] [-f fmt] [--output=ofmt] "
      "[--backing-chain] [-U] filename" },
    { "map", img_map,
      "map [--object objectdef] [--image-opts] [-f fmt] "
      "[--start-offset=offset] [--max-length=len] [--output=ofmt] [-U] "
      "filename" },
    { "measure", img_measure,
      "measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | "
      "[--object objectdef] [--image-opts] [-f fmt] [-l snapshot_param] "
      "filename]" },
    { "snapshot", img_snapshot,
      "snapshot [--object objectdef] [--image-opts] [-U] [-q] "
      "[-l | -a snapshot | -c snapshot | -d snapshot] filename" },
    { "rebase", img_rebase,
      "rebase [--object objectdef] [--image-opts] [-U] [-q] [-f fmt] "
      "[-t cache] [-T src_cache] [-p] [-u] -b backing_file "
      "[-F backing_fmt] filename" },
    { "resize", img_resize,
      "resize [--object objectdef] [--image-opts] [-f fmt] "
      "[--preallocation=prealloc] [-q] [--shrink] filename [+ | -]size" },
};

static void print_version(void)
{
    printf("qemu-img version " QEMU_IMG_VERSION " (" QEMU_IMG_PROJECT ")\n"
           "Copyright (c) 2025-2026 The " QEMU_IMG_PROJECT " authors\n");
}

static void print_format(void *opaque, const char *name)
{
    printf(" %s", name);
}

void help(void)
{
    size_t i;

    print_version();
    printf("usage: qemu-img [standard options] command [command options]\n"
           "Creates, inspects, checks and converts disk images; a drop-in\n"
           "replacement for QEMU's qemu-img.\n"
           "\n"
           "Standard options:\n"
           "  -h, --help           print this text and exit\n"
           "  -V, --version        print the version and exit\n"
           "  -T, --trace OPTIONS  accepted for compatibility and ignored\n"
           "                       (this build has no trace events)\n"
           "\n"
           "Command syntax:\n");
    for (i = 0; i < ARRAY_SIZE(img_cmds); i++) {
        printf("  %s\n", img_cmds[i].syntax);
    }
    printf("\n"
           "Arguments:\n"
           "  filename        an image file (or, with --image-opts, an\n"
           "                  option string such as driver=raw,"
           "file.filename=x)\n"
           "  objectdef       an object definition, e.g. "
           "secret,id=sec0,data=pass\n"
           "                  or secret,id=sec0,file=passfile\n"
           "  fmt             an image format; probed from the contents "
           "when absent\n"
           "  cache           cache mode of the image written: none, "
           "writeback,\n"
           "                  writethrough, directsync or unsafe "
           "(writeback by\n"
           "                  default; unsafe for convert)\n"
           "  src_cache       cache mode of images only read (same "
           "choices)\n"
           "  size            bytes, or with a suffix k, K, M, G, T, P, E "
           "(powers of\n"
           "                  1024); a 'b' suffix means bytes\n"
           "  output_filename the image written by convert\n"
           "  output_fmt      the format of that image\n"
           "  options         name=value pairs separated by commas; "
           "'-o help' lists\n"
           "                  those of a format\n"
           "  snapshot_param  an internal snapshot: "
           "'snapshot.id=ID,snapshot.name=NAME'\n"
           "                  or just 'ID_OR_NAME'\n"
           "  ofmt            human (the default) or json\n"
           "\n"
           "Common flags:\n"
           "  -q  quiet: print errors only\n"
           "  -p  print progress (commands that copy data)\n"
           "  -U  open the image without taking locks "
           "(it may be in use)\n"
           "  -u  unsafe: create without opening the backing file; "
           "rebase without\n"
           "      comparing old and new backing files (e.g. after "
           "renaming one)\n"
           "  -c  compress the output (convert; formats that support it)\n"
           "  -n  convert into an existing image instead of creating it\n"
           "  -S  convert: size of zero runs written as holes "
           "(default 4k; 0 writes\n"
           "      every byte)\n"
           "\n"
           "check -r leaks repairs leaked clusters only; -r all also "
           "repairs other\n"
           "errors, which may guess wrong on a badly damaged image.\n"
           "convert -m sets the number of parallel requests (default 8), "
           "-W allows\n"
           "out-of-order writes, --bitmaps copies persistent bitmaps.\n"
           "snapshot -l lists, -c creates, -a applies, -d deletes "
           "internal snapshots.\n"
           "compare -f/-F give the two formats; -s is strict (sizes and "
           "allocation\n"
           "must match too).\n"
           "bitmap actions apply in order; -g sets the granularity for "
           "--add, -b/-F\n"
           "name the image --merge takes its source bitmap from.\n"
           "dd copies bs-sized blocks (default 512): count= of them, "
           "after skip= of\n"
           "them, from if= to of=.\n"
           "\n"
           "Supported formats:");
    bdrv_iterate_format(print_format, NULL);
    printf("\n");
    exit(EXIT_SUCCESS);
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
        { "trace", required_argument, NULL, 'T' },
        { NULL, 0, NULL, 0 },
    };
    ImgCommonOpts unused = { 0 };
    char *trace_file = NULL;
    const char *cmdname;
    size_t i;
    int c;

    error_set_progname("qemu-img");
    bdrv_init();

    if (argc < 2) {
        error_exit("Not enough arguments");
    }

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:hVT:", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'V':
            print_version();
            return EXIT_SUCCESS;
        case 'T':
            trace_opt(optarg, &trace_file);
            break;
        default:
            /* ':', '?' and -h, as in the commands */
            img_common_option(c, argv, &unused);
            break;
        }
    }

    if (optind >= argc) {
        /* Only global options: the reference does nothing, successfully. */
        free(trace_file);
        return EXIT_SUCCESS;
    }
    /* The last -T's file= is opened once a command is given. */
    trace_opt(NULL, &trace_file);
    free(trace_file);
    cmdname = argv[optind];
    argc -= optind;
    argv += optind;
    /* Each command parses its own options from scratch (full reset). */
    optind = 0;

    for (i = 0; i < ARRAY_SIZE(img_cmds); i++) {
        if (!strcmp(cmdname, img_cmds[i].name)) {
            return img_cmds[i].handler(argc, argv);
        }
    }
    error_exit("Command not found: %s", cmdname);
}
