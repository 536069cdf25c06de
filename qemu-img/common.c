/*
 * Helpers every qemu-img command uses: usage errors, quiet printing,
 * --output, --object, opening images and parsing sizes. Messages are the
 * reference's, word for word, since scripts and users match on them.
 */
#include "config-host.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "util/osdep.h"
#include "util/cutils.h"
#include "util/error.h"
#include "util/option.h"
#include "util/qobject.h"
#include "util/strbuf.h"
#include "block/block.h"
#include "qemu-img.h"

/* ---- usage errors -------------------------------------------------------- */

void error_exit(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vreport(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information\n",
            error_get_progname());
    exit(EXIT_FAILURE);
}

void missing_argument(const char *option)
{
    error_exit("missing argument for option '%s'", option);
}

void unrecognized_option(const char *option)
{
    error_exit("unrecognized option '%s'", option);
}

void qprintf(bool quiet, const char *fmt, ...)
{
    va_list ap;

    if (quiet) {
        return;
    }
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

bool parse_output_format(const char *arg, OutputFormat *ofmt)
{
    if (!strcmp(arg, "json")) {
        *ofmt = OFORMAT_JSON;
    } else if (!strcmp(arg, "human")) {
        *ofmt = OFORMAT_HUMAN;
    } else {
        error_report("--output must be used with human or json as argument.");
        return false;
    }
    return true;
}

/* ---- --object secret ----------------------------------------------------- */

/*
 * Secrets given with --object, looked up by id (encrypt.key-secret=...).
 * They live until exit: qemu-img runs one command.
 */
typedef struct ImgSecret {
    char *id;
    uint8_t *data;
    size_t len;
    struct ImgSecret *next;
} ImgSecret;

static ImgSecret *img_secrets;

bool img_secret_lookup(const char *id, const uint8_t **data, size_t *len)
{
    ImgSecret *s;

    for (s = img_secrets; s; s = s->next) {
        if (!strcmp(s->id, id)) {
            *data = s->data;
            *len = s->len;
            return true;
        }
    }
    return false;
}

/* QEMU's identifier rule: a letter, then letters, digits, '-', '.', '_'. */
static bool id_wellformed(const char *id)
{
    size_t i;

    if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z'))) {
        return false;
    }
    for (i = 1; id[i]; i++) {
        char ch = id[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
              ch == '_')) {
            return false;
        }
    }
    return true;
}

static int base64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    } else if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    } else if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    } else if (ch == '+') {
        return 62;
    } else if (ch == '/') {
        return 63;
    }
    return -1;
}

/* Lenient, as the reference is: characters outside the alphabet are skipped. */
static uint8_t *base64_decode(const char *in, size_t *out_len)
{
    uint8_t *out = xmalloc(strlen(in) * 3 / 4 + 3);
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;

    for (; *in && *in != '='; in++) {
        int v = base64_value(*in);

        if (v < 0) {
            continue;
        }
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (acc >> bits) & 0xff;
        }
    }
    *out_len = n;
    return out;
}

/* The typographic quotes of the reference's (GLib's) file errors. */
#define LQUOTE "\xe2\x80\x9c"
#define RQUOTE "\xe2\x80\x9d"

/* The whole of filename, or NULL with the reference's message in errp. */
static char *read_secret_file(const char *filename, size_t *len,
                              Error **errp)
{
    StrBuf sb = STRBUF_INIT;
    char buf[4096];
    ssize_t n;
    int fd;

    fd = open(filename, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error_setg(errp, "Unable to read %s: Failed to open file "
                   LQUOTE "%s" RQUOTE ": %s", filename, filename,
                   strerror(errno));
        return NULL;
    }
    strbuf_init(&sb);
    for (;;) {
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            error_setg(errp, "Unable to read %s: Error reading file "
                       LQUOTE "%s" RQUOTE ": %s", filename, filename,
                       strerror(errno));
            strbuf_release(&sb);
            close(fd);
            return NULL;
        }
        if (n == 0) {
            break;
        }
        strbuf_add(&sb, buf, n);
    }
    close(fd);
    *len = sb.len;
    return strbuf_detach(&sb);
}

/*
 * Splits off the next comma-separated element (",," is a literal comma)
 * into elem; *raw_end is where its raw text ends. Returns what follows.
 */
static const char *next_element(const char *p, StrBuf *elem,
                                const char **raw_end)
{
    strbuf_reset(elem);
    while (*p) {
        if (*p == ',') {
            if (p[1] != ',') {
                *raw_end = p;
                return p + 1;
            }
            p++;
        }
        strbuf_addch(elem, *p++);
    }
    *raw_end = p;
    return p;
}

static bool is_help_word(const char *s)
{
    return !strcmp(s, "help") || !strcmp(s, "?");
}

/*
 * Takes the bare "help" (or "?") parameters out of optarg, which keyval
 * syntax would reject, into *help. A leading bare word is the type and
 * stays. Returns the rest, to be parsed; free it.
 */
static char *object_strip_help(const char *optarg, bool *type_help,
                               bool *help)
{
    StrBuf elem = STRBUF_INIT, rest = STRBUF_INIT;
    const char *p = optarg, *start, *end;
    bool first = true;

    strbuf_init(&elem);
    strbuf_init(&rest);
    *help = false;
    *type_help = false;
    while (*p) {
        start = p;
        p = next_element(p, &elem, &end);
        if (first && is_help_word(elem.buf)) {
            *type_help = true;
        }
        if (!first && is_help_word(elem.buf)) {
            *help = true;
        } else {
            if (!first || rest.len) {
                strbuf_addch(&rest, ',');
            }
            /* The raw text, so that ",," escapes survive. */
            strbuf_add(&rest, start, end - start);
        }
        first = false;
    }
    strbuf_release(&elem);
    return strbuf_detach(&rest);
}

/*
 * "help" as the type lists the object types; a "help" parameter lists the
 * type's properties (or the types, for a missing or unknown type).
 */
static void object_print_help(const char *type, bool type_help)
{
    if (!type_help && type && !strcmp(type, "secret")) {
        printf("secret options:\n"
               "  data=<string>\n"
               "  file=<string>\n"
               "  format=<QCryptoSecretFormat>\n"
               "  iv=<string>\n"
               "  keyid=<string>\n");
        return;
    }
    printf("List of user creatable objects:\n"
           "  secret\n");
}

static bool object_add_secret(QDict *args, Error **errp)
{
    static const char *const known[] = {
        "qom-type", "id", "data", "file", "format", "keyid", "iv", "loaded",
    };
    const QDictEntry *e;
    const char *id, *data, *file, *format, *keyid;
    ImgSecret *s;
    uint8_t *bytes;
    size_t len, i;

    id = qdict_get_try_str(args, "id");
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    if (!id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        error_append_hint(errp, "Identifiers consist of letters, digits, "
                          "'-', '.', '_', starting with a letter.\n");
        return false;
    }
    for (e = qdict_first(args); e; e = qdict_next(args, e)) {
        const char *key = qdict_entry_key(e);
        size_t keylen = strcspn(key, ".");

        for (i = 0; i < ARRAY_SIZE(known); i++) {
            if (!key[keylen] && !strcmp(key, known[i])) {
                break;
            }
        }
        if (i == ARRAY_SIZE(known)) {
            error_setg(errp, "Parameter '%.*s' is unexpected", (int)keylen,
                       key);
            return false;
        }
    }
    format = qdict_get_try_str(args, "format");
    if (format && strcmp(format, "raw") && strcmp(format, "base64")) {
        error_setg(errp, "Parameter 'format' does not accept value '%s'",
                   format);
        return false;
    }
    if (qdict_haskey(args, "loaded")) {
        error_setg(errp, "Property 'secret.loaded' is not writable");
        return false;
    }
    for (s = img_secrets; s; s = s->next) {
        if (!strcmp(s->id, id)) {
            error_setg(errp, "attempt to add duplicate property '%s' to "
                       "object (type 'container')", id);
            return false;
        }
    }
    data = qdict_get_try_str(args, "data");
    file = qdict_get_try_str(args, "file");
    if (data && file) {
        error_setg(errp, "'file' and 'data' are mutually exclusive");
        return false;
    }
    if (!data && !file) {
        error_setg(errp, "Either 'file' or 'data' must be provided");
        return false;
    }
    keyid = qdict_get_try_str(args, "keyid");
    if (keyid) {
        const uint8_t *unused;
        size_t unused_len;

        if (!img_secret_lookup(keyid, &unused, &unused_len)) {
            error_setg(errp, "No secret with id '%s'", keyid);
        } else {
            error_setg(errp, "Secrets encrypted with 'keyid' are not "
                       "supported");
        }
        return false;
    }

    if (file) {
        bytes = (uint8_t *)read_secret_file(file, &len, errp);
        if (!bytes) {
            return false;
        }
    } else {
        bytes = (uint8_t *)xstrdup(data);
        len = strlen(data);
    }
    if (format && !strcmp(format, "base64")) {
        uint8_t *decoded;

        /* NUL-terminate for the decoder: file contents may lack it. */
        bytes = xrealloc(bytes, len + 1);
        bytes[len] = '\0';
        if (memchr(bytes, '\0', len)) {
            error_setg(errp, "Base64 data contains embedded NUL characters");
            free(bytes);
            return false;
        }
        decoded = base64_decode((char *)bytes, &len);
        free(bytes);
        bytes = decoded;
    }

    s = xzalloc(sizeof(*s));
    s->id = xstrdup(id);
    s->data = bytes;
    s->len = len;
    s->next = img_secrets;
    img_secrets = s;
    return true;
}

void img_object_add(const char *optarg)
{
    Error *err = NULL;
    QDict *args;
    const char *type;
    char *rest;
    bool type_help, prop_help;

    /* Parse errors come before help, as in the reference. */
    rest = object_strip_help(optarg, &type_help, &prop_help);
    args = keyval_parse_flat(rest, "qom-type", &err);
    free(rest);
    if (!args) {
        error_report_err(err);
        exit(EXIT_FAILURE);
    }
    type = qdict_get_try_str(args, "qom-type");
    if (type_help || prop_help) {
        object_print_help(type, type_help);
        qobject_unref(QOBJECT(args));
        exit(EXIT_SUCCESS);
    }
    if (!type) {
        error_setg(&err, "Parameter 'qom-type' is missing");
    } else if (strcmp(type, "secret")) {
        error_setg(&err, "Parameter 'qom-type' does not accept value '%s'",
                   type);
    } else {
        object_add_secret(args, &err);
    }
    qobject_unref(QOBJECT(args));
    if (err) {
        error_report_err(err);
        exit(EXIT_FAILURE);
    }
}

/* ---- opening images ------------------------------------------------------ */

/* The reference's warning for a probed raw image opened for writing. */
void img_warn_probed_raw(const char *filename)
{
    fprintf(stderr,
            "WARNING: Image format was not specified for '%s' and probing "
            "guessed raw.\n"
            "         Automatically detecting the format is dangerous for "
            "raw images, write operations on block 0 will be restricted.\n"
            "         Specify the 'raw' format explicitly to remove the "
            "restrictions.\n", filename);
}

/* "--image-opts" strings: any key; a leading bare value names the file. */
static QemuOptsList img_source_opts = {
    .name = "source",
    .implied_opt_name = "file",
    .desc = (const QemuOptDesc[]) {
        { NULL }
    },
};

BlockBackend *img_open(bool image_opts, const char *filename, const char *fmt,
                       int flags, const char *cache, bool writethrough,
                       bool quiet, bool force_share)
{
    Error *err = NULL;
    BlockBackend *blk;
    QDict *options;

    if (cache) {
        if (!bdrv_parse_cache_mode(cache, &flags)) {
            error_report("Invalid cache option: %s", cache);
            return NULL;
        }
        writethrough = flags & BDRV_O_WRITETHROUGH;
    }
    if (writethrough) {
        flags |= BDRV_O_WRITETHROUGH;
    }
    if (force_share) {
        flags |= BDRV_O_FORCE_SHARE;
    }

    if (image_opts) {
        QemuOpts *opts;

        if (fmt) {
            error_report("--image-opts and --format are mutually exclusive");
            return NULL;
        }
        opts = qemu_opts_create(&img_source_opts);
        if (!qemu_opts_do_parse(opts, filename, "file", &err)) {
            qemu_opts_del(opts);
            error_report_err(err);
            return NULL;
        }
        options = qemu_opts_to_qdict(opts, NULL);
        qemu_opts_del(opts);
        if (force_share) {
            const char *fs = qdict_get_try_str(options, "force-share");
            bool val = true;

            if (fs && qapi_bool_parse("force-share", fs, &val, NULL) &&
                !val) {
                error_report("--force-share/-U conflicts with image options");
                qobject_unref(QOBJECT(options));
                return NULL;
            }
        }
        blk = blk_new_open(NULL, NULL, options, flags, &err);
    } else {
        options = qdict_new();
        if (fmt) {
            qdict_put_str(options, "driver", fmt);
        }
        blk = blk_new_open(filename, NULL, options, flags, &err);
    }
    if (!blk) {
        error_reportf_err(err, "Could not open '%s': ", filename);
        return NULL;
    }
    if ((flags & BDRV_O_RDWR) && bdrv_is_probed_raw(blk_bs(blk))) {
        img_warn_probed_raw(filename);
    }
    blk_set_enable_write_cache(blk, !writethrough);
    return blk;
}

/* ---- numbers ------------------------------------------------------------- */

int64_t cvtnum_full(const char *name, const char *value, int64_t min,
                    int64_t max)
{
    uint64_t res;
    int err;

    err = qemu_strtosz(value, NULL, &res);
    if (err < 0 && err != -ERANGE) {
        error_report("Invalid %s specified. You may use "
                     "k, M, G, T, P or E suffixes for", name);
        error_report("kilobytes, megabytes, gigabytes, terabytes, "
                     "petabytes and exabytes.");
        return -1;
    }
    if (err == -ERANGE || res > (uint64_t)max || (int64_t)res < min) {
        error_report("Invalid %s specified. Must be between %" PRId64
                     " and %" PRId64 ".", name, min, max);
        return -1;
    }
    return res;
}

int64_t cvtnum(const char *name, const char *value)
{
    return cvtnum_full(name, value, 0, INT64_MAX);
}

/* ---- -o option lists ----------------------------------------------------- */

/*
 * An option list must not be empty or have an empty element (",," is an
 * escaped comma inside a value, not an empty element).
 */
static bool is_valid_option_list(const char *optarg)
{
    const char *p = optarg;

    if (!*p) {
        return false;
    }
    while (*p) {
        size_t len = 0;

        while (*p) {
            if (*p == ',') {
                if (p[1] != ',') {
                    break;
                }
                p++;
            }
            p++;
            len++;
        }
        if (!len) {
            return false;
        }
        if (*p == ',') {
            p++;
            if (!*p) {
                return false;
            }
        }
    }
    return true;
}

bool accumulate_options(char **options, const char *optarg)
{
    char *joined;

    if (!is_valid_option_list(optarg)) {
        error_report("Invalid option list: %s", optarg);
        return false;
    }
    if (!*options) {
        *options = xstrdup(optarg);
        return true;
    }
    joined = xasprintf("%s,%s", *options, optarg);
    free(*options);
    *options = joined;
    return true;
}

int print_block_option_help(const char *filename, const char *fmt)
{
    BlockDriver *drv, *proto_drv;
    QemuOptsList *create_opts, *proto_opts;
    Error *err = NULL;

    drv = bdrv_find_format(fmt);
    if (!drv) {
        error_report("Unknown file format '%s'", fmt);
        return 1;
    }
    if (!bdrv_create_opts(drv)) {
        error_report("Format driver '%s' does not support image creation",
                     fmt);
        return 1;
    }
    create_opts = qemu_opts_append(NULL, bdrv_create_opts(drv));
    if (filename) {
        proto_drv = bdrv_find_protocol(filename, true, &err);
        if (!proto_drv) {
            error_report_err(err);
            qemu_opts_free(create_opts);
            return 1;
        }
        proto_opts = bdrv_create_opts(proto_drv);
        if (!proto_opts) {
            int len = path_has_protocol(filename) ?
                      (int)strcspn(filename, ":") : 4;

            error_report("Protocol driver '%.*s' does not support image "
                         "creation", len,
                         path_has_protocol(filename) ? filename : "file");
            qemu_opts_free(create_opts);
            return 1;
        }
        create_opts = qemu_opts_append(create_opts, proto_opts);
    }

    if (filename) {
        printf("Supported options:\n");
    } else {
        printf("Supported %s options:\n", fmt);
    }
    qemu_opts_print_help(create_opts, false);
    qemu_opts_free(create_opts);
    if (!filename) {
        printf("\n"
               "The protocol level may support further options.\n"
               "Specify the target filename to include those options.\n");
    }
    return 0;
}

/* ---- internal snapshot parameters (-l) ----------------------------------- */

static QemuOptsList internal_snapshot_opts = {
    .name = "snapshot",
    .desc = (const QemuOptDesc[]) {
        { "snapshot.id", QEMU_OPT_STRING, "snapshot id", NULL },
        { "snapshot.name", QEMU_OPT_STRING, "snapshot name", NULL },
        { NULL }
    },
};

bool img_parse_snapshot_param(const char *param, ImgSnapshotParam *snap)
{
    img_snapshot_param_free(snap);
    snap->given = true;
    if (strstart(param, "snapshot.", NULL)) {
        QemuOpts *opts = qemu_opts_create(&internal_snapshot_opts);
        Error *err = NULL;
        const char *v;

        if (!qemu_opts_do_parse(opts, param, NULL, &err)) {
            qemu_opts_del(opts);
            error_report_err(err);
            error_report("Failed in parsing snapshot param '%s'", param);
            return false;
        }
        v = qemu_opt_get(opts, "snapshot.id");
        snap->id = v ? xstrdup(v) : NULL;
        v = qemu_opt_get(opts, "snapshot.name");
        snap->name = v ? xstrdup(v) : NULL;
        snap->by_id_or_name = false;
        qemu_opts_del(opts);
    } else {
        snap->id = xstrdup(param);
        snap->by_id_or_name = true;
    }
    return true;
}

void img_snapshot_param_free(ImgSnapshotParam *snap)
{
    free(snap->id);
    free(snap->name);
    snap->id = NULL;
    snap->name = NULL;
    snap->given = false;
    snap->by_id_or_name = false;
}

bool img_load_snapshot(BlockBackend *blk, const ImgSnapshotParam *snap)
{
    BlockDriverState *bs = blk_bs(blk);
    Error *err = NULL;
    int ret;

    if (snap->by_id_or_name) {
        /* An ID first, then a name, as the reference tries them. */
        ret = bdrv_snapshot_load_tmp(bs, snap->id, NULL, &err);
        if (ret == -ENOENT) {
            error_free(err);
            err = NULL;
            ret = bdrv_snapshot_load_tmp(bs, NULL, snap->id, &err);
        }
    } else {
        ret = bdrv_snapshot_load_tmp(bs, snap->id, snap->name, &err);
    }
    if (ret < 0) {
        error_reportf_err(err, "Failed to load snapshot: ");
        return false;
    }
    return true;
}
