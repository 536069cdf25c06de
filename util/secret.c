/*
 * The secret store behind --object secret,...: parsing the definition with
 * the reference's checks in the reference's order, loading the bytes (from
 * data= or file=, base64-decoded with format=base64) and looking them up by
 * id.
 *
 * The messages are the reference's, word for word, including GLib's
 * typographic quotes around file names, since scripts match on them.
 */
#include "config-host.h"

#include <fcntl.h>

#include "util/osdep.h"
#include "util/error.h"
#include "util/option.h"
#include "util/qobject.h"
#include "util/secret.h"
#include "util/strbuf.h"

typedef struct Secret {
    char *id;
    uint8_t *data;
    size_t len;
    struct Secret *next;
} Secret;

/* Newest first; a command line defines a handful at most. */
static Secret *secrets;

static Secret *secret_find(const char *id)
{
    Secret *s;

    for (s = secrets; s; s = s->next) {
        if (!strcmp(s->id, id)) {
            return s;
        }
    }
    return NULL;
}

bool secret_lookup(const char *id, const uint8_t **data, size_t *len,
                   Error **errp)
{
    Secret *s = secret_find(id);

    if (!s) {
        error_setg(errp, "No secret with id '%s'", id);
        return false;
    }
    *data = s->data;
    *len = s->len;
    return true;
}

void secret_store_clear(void)
{
    while (secrets) {
        Secret *s = secrets;

        secrets = s->next;
        /* Keys should not linger in freed memory. */
        memset(s->data, 0, s->len);
        free(s->data);
        free(s->id);
        free(s);
    }
}

/* ---- loading the bytes --------------------------------------------------- */

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

/*
 * Decodes NUL-terminated base64. The reference accepts only the alphabet,
 * '=' and newlines, then decodes leniently: newlines are skipped and the
 * first '=' ends the data, whatever the length.
 */
static uint8_t *base64_decode(const char *in, size_t *out_len, Error **errp)
{
    uint8_t *out;
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;

    if (in[strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789+/=\n")]) {
        error_setg(errp, "Base64 data contains invalid characters");
        return NULL;
    }
    out = xmalloc(strlen(in) * 3 / 4 + 3);
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
static uint8_t *read_secret_file(const char *filename, size_t *len,
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
    return (uint8_t *)strbuf_detach(&sb);
}

/*
 * Secrets encrypted with another secret (keyid=) need AES-256-CBC, which
 * is not implemented: the reference's checks on the key come first, so a
 * wrong key is still reported as the reference reports it.
 */
static bool check_keyid(const char *keyid, Error **errp)
{
    const uint8_t *key;
    size_t key_len;

    if (!secret_lookup(keyid, &key, &key_len, errp)) {
        return false;
    }
    if (key_len != 32) {
        error_setg(errp, "Key should be 32 bytes in length");
        return false;
    }
    error_setg(errp, "Secrets encrypted with 'keyid' are not supported");
    return false;
}

/* The parameters a secret takes ("loaded" is read-only, checked later). */
static bool check_params(QDict *args, Error **errp)
{
    static const char *const known[] = {
        "qom-type", "id", "data", "file", "format", "keyid", "iv", "loaded",
    };
    const QDictEntry *e;
    size_t i;

    for (e = qdict_first(args); e; e = qdict_next(args, e)) {
        const char *key = qdict_entry_key(e);
        size_t keylen = strcspn(key, ".");

        for (i = 0; i < ARRAY_SIZE(known); i++) {
            if (!key[keylen] && !strcmp(key, known[i])) {
                break;
            }
        }
        if (i == ARRAY_SIZE(known)) {
            /* "a.b=1" is an unknown 'a', as the reference names it. */
            error_setg(errp, "Parameter '%.*s' is unexpected", (int)keylen,
                       key);
            return false;
        }
    }
    return true;
}

static bool secret_add(QDict *args, Error **errp)
{
    const char *id, *data, *file, *format, *keyid;
    uint8_t *bytes;
    size_t len;
    Secret *s;

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
    if (!check_params(args, errp)) {
        return false;
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
    if (secret_find(id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to "
                   "object (type 'container')", id);
        return false;
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

    if (file) {
        bytes = read_secret_file(file, &len, errp);
        if (!bytes) {
            return false;
        }
    } else {
        bytes = (uint8_t *)xstrdup(data);
        len = strlen(data);
    }
    keyid = qdict_get_try_str(args, "keyid");
    if (keyid && !check_keyid(keyid, errp)) {
        free(bytes);
        return false;
    }
    if (format && !strcmp(format, "base64")) {
        uint8_t *decoded;

        if (memchr(bytes, '\0', len)) {
            error_setg(errp, "Base64 data contains embedded NUL characters");
            free(bytes);
            return false;
        }
        /* NUL-terminate for the decoder: file contents may lack it. */
        bytes = xrealloc(bytes, len + 1);
        bytes[len] = '\0';
        decoded = base64_decode((char *)bytes, &len, errp);
        free(bytes);
        if (!decoded) {
            return false;
        }
        bytes = decoded;
    }

    s = xzalloc(sizeof(*s));
    s->id = xstrdup(id);
    s->data = bytes;
    s->len = len;
    s->next = secrets;
    secrets = s;
    return true;
}

/* ---- --object ------------------------------------------------------------ */

static const char types_help[] =
    "List of user creatable objects:\n"
    "  secret\n";

static const char secret_help[] =
    "secret options:\n"
    "  data=<string>\n"
    "  file=<string>\n"
    "  format=<QCryptoSecretFormat>\n"
    "  iv=<string>\n"
    "  keyid=<string>\n";

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
static char *strip_help(const char *optarg, bool *type_help, bool *help)
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

bool secret_object_add(const char *optarg, const char **help, Error **errp)
{
    QDict *args;
    const char *type;
    char *rest;
    bool type_help, prop_help, ok = false;

    *help = NULL;
    /* Parse errors come before help, as in the reference. */
    rest = strip_help(optarg, &type_help, &prop_help);
    args = keyval_parse_flat(rest, "qom-type", errp);
    free(rest);
    if (!args) {
        return false;
    }
    type = qdict_get_try_str(args, "qom-type");
    if (type_help || prop_help) {
        /* A property list only for a type that exists. */
        *help = !type_help && type && !strcmp(type, "secret") ?
                secret_help : types_help;
        ok = true;
    } else if (!type) {
        error_setg(errp, "Parameter 'qom-type' is missing");
    } else if (strcmp(type, "secret")) {
        error_setg(errp, "Parameter 'qom-type' does not accept value '%s'",
                   type);
    } else {
        ok = secret_add(args, errp);
    }
    qobject_unref(QOBJECT(args));
    return ok;
}
