/*
 * Option lists ("-o k=v,..."), their schemas, and the two key=value string
 * parsers behind --image-opts (lenient) and --object (strict keyval).
 * Every message is the reference's wording; see option.h.
 */
#include "config-host.h"

#include <ctype.h>

#include "util/osdep.h"
#include "util/cutils.h"
#include "util/error.h"
#include "util/option.h"
#include "util/qobject.h"
#include "util/strbuf.h"

/* Longest keyval key fragment the reference accepts. */
#define KEYVAL_MAX_FRAGMENT 127

/* ---- helpers ------------------------------------------------------------- */

static bool opts_list_accepts_any(const QemuOptsList *list)
{
    return !list->desc || !list->desc[0].name;
}

static const QemuOptDesc *find_desc_by_name(const QemuOptsList *list,
                                            const char *name)
{
    const QemuOptDesc *d;

    if (!list->desc) {
        return NULL;
    }
    for (d = list->desc; d->name; d++) {
        if (strcmp(d->name, name) == 0) {
            return d;
        }
    }
    return NULL;
}

/*
 * Copies a value that ends at the first single ',' (or at the end) into sb,
 * turning ",," into ','. Returns the position of the terminating ',' or NUL.
 */
static const char *get_opt_value(const char *p, StrBuf *sb)
{
    for (;;) {
        size_t n = strcspn(p, ",");

        strbuf_add(sb, p, n);
        p += n;
        if (p[0] == ',' && p[1] == ',') {
            strbuf_addch(sb, ',');
            p += 2;
            continue;
        }
        return p;
    }
}

bool qapi_bool_parse(const char *name, const char *value, bool *obj,
                     Error **errp)
{
    if (strcmp(value, "on") == 0 || strcmp(value, "yes") == 0 ||
        strcmp(value, "true") == 0 || strcmp(value, "y") == 0) {
        *obj = true;
        return true;
    }
    if (strcmp(value, "off") == 0 || strcmp(value, "no") == 0 ||
        strcmp(value, "false") == 0 || strcmp(value, "n") == 0) {
        *obj = false;
        return true;
    }
    error_setg(errp, "Parameter '%s' expects 'on' or 'off'", name);
    return false;
}

static bool parse_option_number(const char *name, const char *value,
                                uint64_t *ret, Error **errp)
{
    int err = qemu_strtou64(value, NULL, 0, ret);

    if (err == -ERANGE) {
        error_setg(errp, "Value '%s' is too large for parameter '%s'",
                   value, name);
        return false;
    }
    if (err) {
        error_setg(errp, "Parameter '%s' expects a number", name);
        return false;
    }
    return true;
}

bool parse_option_size(const char *name, const char *value, uint64_t *ret,
                       Error **errp)
{
    int err = qemu_strtosz(value, NULL, ret);

    if (err == -ERANGE) {
        error_setg(errp, "Value '%s' is out of range for parameter '%s'",
                   value, name);
        return false;
    }
    if (err) {
        error_setg(errp, "Parameter '%s' expects a non-negative number "
                   "below 2^64", name);
        error_append_hint(errp, "Optional suffix k, M, G, T, P or E means "
                          "kilo-, mega-, giga-, tera-, peta-\n"
                          "and exabytes, respectively.\n");
        return false;
    }
    return true;
}

static bool qemu_opt_parse(QemuOpt *opt, Error **errp)
{
    if (!opt->desc) {
        return true;
    }
    switch (opt->desc->type) {
    case QEMU_OPT_STRING:
        return true;
    case QEMU_OPT_BOOL:
        return qapi_bool_parse(opt->name, opt->str, &opt->value.boolean,
                               errp);
    case QEMU_OPT_NUMBER:
        return parse_option_number(opt->name, opt->str, &opt->value.uint,
                                   errp);
    case QEMU_OPT_SIZE:
        return parse_option_size(opt->name, opt->str, &opt->value.uint,
                                 errp);
    }
    return false;
}

static void qemu_opt_free(QemuOpts *opts, QemuOpt *opt)
{
    TAILQ_REMOVE(&opts->head, opt, next);
    free(opt->name);
    free(opt->str);
    free(opt);
}

/* The effective setting is the last one made. */
static QemuOpt *qemu_opt_find_last(QemuOpts *opts, const char *name)
{
    QemuOpt *opt, *found = NULL;

    TAILQ_FOREACH(opt, &opts->head, next) {
        if (strcmp(opt->name, name) == 0) {
            found = opt;
        }
    }
    return found;
}

/* ---- QemuOpts ------------------------------------------------------------- */

QemuOpts *qemu_opts_create(QemuOptsList *list)
{
    QemuOpts *opts = xzalloc(sizeof(*opts));

    opts->list = list;
    TAILQ_INIT(&opts->head);
    return opts;
}

void qemu_opts_del(QemuOpts *opts)
{
    if (!opts) {
        return;
    }
    while (!TAILQ_EMPTY(&opts->head)) {
        qemu_opt_free(opts, TAILQ_FIRST(&opts->head));
    }
    free(opts);
}

/* Takes ownership of value. */
static bool opt_set(QemuOpts *opts, const char *name, char *value,
                    Error **errp)
{
    const QemuOptDesc *desc = find_desc_by_name(opts->list, name);
    QemuOpt *opt;

    if (!desc && !opts_list_accepts_any(opts->list)) {
        error_setg(errp, "Invalid parameter '%s'", name);
        free(value);
        return false;
    }
    opt = xzalloc(sizeof(*opt));
    opt->name = xstrdup(name);
    opt->str = value;
    opt->desc = desc;
    TAILQ_INSERT_TAIL(&opts->head, opt, next);
    if (!qemu_opt_parse(opt, errp)) {
        qemu_opt_free(opts, opt);
        return false;
    }
    return true;
}

bool qemu_opt_set(QemuOpts *opts, const char *name, const char *value,
                  Error **errp)
{
    return opt_set(opts, name, xstrdup(value), errp);
}

bool qemu_opt_set_number(QemuOpts *opts, const char *name, int64_t val,
                         Error **errp)
{
    return opt_set(opts, name, xasprintf("%" PRId64, val), errp);
}

bool qemu_opt_set_bool(QemuOpts *opts, const char *name, bool val,
                       Error **errp)
{
    return opt_set(opts, name, xstrdup(val ? "on" : "off"), errp);
}

bool qemu_opts_do_parse(QemuOpts *opts, const char *params,
                        const char *firstname, Error **errp)
{
    const char *p = params;
    bool first = true;
    StrBuf sb = STRBUF_INIT;
    bool ok = true;

    strbuf_init(&sb);
    while (*p) {
        size_t keylen = strcspn(p, "=,");
        char *name;

        strbuf_reset(&sb);
        if (first && firstname && p[keylen] != '=') {
            p = get_opt_value(p, &sb);
            name = xstrdup(firstname);
        } else if (p[keylen] != '=') {
            /* "key" means key=on, "nokey" key=off. */
            if (strncmp(p, "no", 2) == 0) {
                name = xstrndup(p + 2, keylen - 2);
                strbuf_addstr(&sb, "off");
            } else {
                name = xstrndup(p, keylen);
                strbuf_addstr(&sb, "on");
            }
            p += keylen;
        } else {
            name = xstrndup(p, keylen);
            p = get_opt_value(p + keylen + 1, &sb);
        }
        first = false;
        ok = opt_set(opts, name, strbuf_detach(&sb), errp);
        free(name);
        if (!ok) {
            break;
        }
        if (*p == ',') {
            p++;
        }
    }
    strbuf_release(&sb);
    return ok;
}

const char *qemu_opt_get(QemuOpts *opts, const char *name)
{
    QemuOpt *opt = qemu_opt_find_last(opts, name);
    const QemuOptDesc *desc;

    if (opt) {
        return opt->str;
    }
    desc = find_desc_by_name(opts->list, name);
    return desc ? desc->def_value_str : NULL;
}

void qemu_opt_unset(QemuOpts *opts, const char *name)
{
    QemuOpt *opt, *next;

    for (opt = TAILQ_FIRST(&opts->head); opt; opt = next) {
        next = TAILQ_NEXT(opt, next);
        if (strcmp(opt->name, name) == 0) {
            qemu_opt_free(opts, opt);
        }
    }
}

char *qemu_opt_get_del(QemuOpts *opts, const char *name)
{
    char *ret = xstrdup(qemu_opt_get(opts, name));

    qemu_opt_unset(opts, name);
    return ret;
}

bool qemu_opt_find(QemuOpts *opts, const char *name)
{
    return qemu_opt_find_last(opts, name) != NULL;
}

/*
 * Typed getters: a set option gives its parsed value; an unset one its
 * declared default (parsed the same way), else defval.
 */
static bool opt_get_bool(QemuOpts *opts, const char *name, bool defval,
                         bool del)
{
    QemuOpt *opt = qemu_opt_find_last(opts, name);
    const QemuOptDesc *desc;
    bool ret = defval;

    if (opt) {
        if (opt->desc) {
            ret = opt->value.boolean;
        } else {
            qapi_bool_parse(name, opt->str, &ret, NULL);
        }
    } else {
        desc = find_desc_by_name(opts->list, name);
        if (desc && desc->def_value_str) {
            qapi_bool_parse(name, desc->def_value_str, &ret, NULL);
        }
    }
    if (del) {
        qemu_opt_unset(opts, name);
    }
    return ret;
}

static uint64_t opt_get_uint(QemuOpts *opts, const char *name,
                             uint64_t defval, bool size, bool del)
{
    QemuOpt *opt = qemu_opt_find_last(opts, name);
    const QemuOptDesc *desc;
    uint64_t ret = defval;
    const char *str = NULL;

    if (opt && opt->desc) {
        ret = opt->value.uint;
    } else if (opt) {
        str = opt->str;
    } else {
        desc = find_desc_by_name(opts->list, name);
        if (desc) {
            str = desc->def_value_str;
        }
    }
    if (str) {
        uint64_t v;

        if (size ? parse_option_size(name, str, &v, NULL)
                 : parse_option_number(name, str, &v, NULL)) {
            ret = v;
        }
    }
    if (del) {
        qemu_opt_unset(opts, name);
    }
    return ret;
}

bool qemu_opt_get_bool(QemuOpts *opts, const char *name, bool defval)
{
    return opt_get_bool(opts, name, defval, false);
}

bool qemu_opt_get_bool_del(QemuOpts *opts, const char *name, bool defval)
{
    return opt_get_bool(opts, name, defval, true);
}

uint64_t qemu_opt_get_number(QemuOpts *opts, const char *name,
                             uint64_t defval)
{
    return opt_get_uint(opts, name, defval, false, false);
}

uint64_t qemu_opt_get_number_del(QemuOpts *opts, const char *name,
                                 uint64_t defval)
{
    return opt_get_uint(opts, name, defval, false, true);
}

uint64_t qemu_opt_get_size(QemuOpts *opts, const char *name, uint64_t defval)
{
    return opt_get_uint(opts, name, defval, true, false);
}

uint64_t qemu_opt_get_size_del(QemuOpts *opts, const char *name,
                               uint64_t defval)
{
    return opt_get_uint(opts, name, defval, true, true);
}

/* ---- help ------------------------------------------------------------- */

bool is_help_option(const char *params)
{
    const char *p = params;

    while (*p) {
        size_t keylen = strcspn(p, "=,");

        if (p[keylen] != '=') {
            if ((keylen == 4 && strncmp(p, "help", 4) == 0) ||
                (keylen == 1 && p[0] == '?')) {
                return true;
            }
            p += keylen;
        } else {
            StrBuf sb = STRBUF_INIT;

            strbuf_init(&sb);
            p = get_opt_value(p + keylen + 1, &sb);
            strbuf_release(&sb);
        }
        if (*p == ',') {
            p++;
        }
    }
    return false;
}

bool qemu_opt_has_help_opt(QemuOpts *opts)
{
    QemuOpt *opt;

    TAILQ_FOREACH(opt, &opts->head, next) {
        if (strcmp(opt->name, "help") == 0 || strcmp(opt->name, "?") == 0) {
            return true;
        }
    }
    return false;
}

static const char *opt_type_name(QemuOptType type)
{
    switch (type) {
    case QEMU_OPT_STRING:
        return "str";
    case QEMU_OPT_BOOL:
        return "bool (on/off)";
    case QEMU_OPT_NUMBER:
        return "num";
    case QEMU_OPT_SIZE:
        return "size";
    }
    return "?";
}

static int desc_cmp(const void *a, const void *b)
{
    const QemuOptDesc *const *x = a, *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}

void qemu_opts_print_help(QemuOptsList *list, bool print_caption)
{
    const QemuOptDesc **sorted;
    size_t n = 0, i;

    if (print_caption) {
        printf("Supported options:\n");
    }
    if (list->desc) {
        while (list->desc[n].name) {
            n++;
        }
    }
    sorted = xnew(const QemuOptDesc *, n);
    for (i = 0; i < n; i++) {
        sorted[i] = &list->desc[i];
    }
    qsort(sorted, n, sizeof(*sorted), desc_cmp);
    for (i = 0; i < n; i++) {
        char *head = xasprintf("%s=<%s>", sorted[i]->name,
                               opt_type_name(sorted[i]->type));

        if (sorted[i]->help) {
            printf("  %-22s - %s\n", head, sorted[i]->help);
        } else {
            printf("  %s\n", head);
        }
        free(head);
    }
    free(sorted);
}

/* ---- printing ---------------------------------------------------------- */

static void print_escaped(StrBuf *out, const char *s)
{
    for (; *s; s++) {
        strbuf_addch(out, *s);
        if (*s == ',') {
            strbuf_addch(out, ',');
        }
    }
}

static void print_opt(StrBuf *out, const char *separator, QemuOpt *opt)
{
    strbuf_addf(out, "%s%s=", separator, opt->name);
    if (!opt->desc) {
        print_escaped(out, opt->str);
        return;
    }
    switch (opt->desc->type) {
    case QEMU_OPT_STRING:
        print_escaped(out, opt->str);
        break;
    case QEMU_OPT_BOOL:
        strbuf_addstr(out, opt->str);
        break;
    case QEMU_OPT_NUMBER:
    case QEMU_OPT_SIZE:
        strbuf_addf(out, "%" PRId64, (int64_t)opt->value.uint);
        break;
    }
}

void qemu_opts_print(QemuOpts *opts, const char *separator, StrBuf *out)
{
    const QemuOptDesc *desc;
    QemuOpt *opt;

    if (opts_list_accepts_any(opts->list)) {
        TAILQ_FOREACH(opt, &opts->head, next) {
            print_opt(out, separator, opt);
        }
        return;
    }
    for (desc = opts->list->desc; desc->name; desc++) {
        opt = qemu_opt_find_last(opts, desc->name);
        if (opt) {
            print_opt(out, separator, opt);
        } else if (desc->def_value_str) {
            strbuf_addf(out, "%s%s=%s", separator, desc->name,
                        desc->def_value_str);
        }
    }
}

/* ---- schemas -------------------------------------------------------------- */

static size_t count_desc(const QemuOptsList *list)
{
    size_t n = 0;

    if (list && list->desc) {
        while (list->desc[n].name) {
            n++;
        }
    }
    return n;
}

QemuOptsList *qemu_opts_append(QemuOptsList *dst, QemuOptsList *list)
{
    size_t ndst = count_desc(dst), nlist = count_desc(list), n = 0, i;
    QemuOptsList *res = xzalloc(sizeof(*res));
    QemuOptDesc *desc = xnew(QemuOptDesc, ndst + nlist + 1);

    for (i = 0; i < ndst; i++) {
        desc[n++] = dst->desc[i];
    }
    for (i = 0; i < nlist; i++) {
        size_t j;
        bool dup = false;

        for (j = 0; j < n; j++) {
            if (strcmp(desc[j].name, list->desc[i].name) == 0) {
                dup = true;
                break;
            }
        }
        if (!dup) {
            desc[n++] = list->desc[i];
        }
    }
    res->name = dst ? dst->name : (list ? list->name : NULL);
    res->implied_opt_name = dst ? dst->implied_opt_name
                                : (list ? list->implied_opt_name : NULL);
    res->desc = desc;
    res->allocated = true;
    qemu_opts_free(dst);
    return res;
}

void qemu_opts_free(QemuOptsList *list)
{
    if (list && list->allocated) {
        free((void *)list->desc);
        free(list);
    }
}

/* ---- dicts ------------------------------------------------------------ */

QDict *qemu_opts_to_qdict(QemuOpts *opts, QDict *qdict)
{
    QemuOpt *opt;

    if (!qdict) {
        qdict = qdict_new();
    }
    TAILQ_FOREACH(opt, &opts->head, next) {
        qdict_put_str(qdict, opt->name, opt->str);
    }
    return qdict;
}

bool qemu_opts_absorb_qdict(QemuOpts *opts, QDict *qdict, Error **errp)
{
    const QDictEntry *e, *next;

    for (e = qdict_first(qdict); e; e = next) {
        const char *key = qdict_entry_key(e);
        QObject *value = qdict_entry_value(e);
        char *str;

        next = qdict_next(qdict, e);
        if (!find_desc_by_name(opts->list, key) &&
            !opts_list_accepts_any(opts->list)) {
            continue;
        }
        switch (qobject_type(value)) {
        case QTYPE_QSTRING:
            str = xstrdup(qstring_get_str(qobject_to_qstring(value)));
            break;
        case QTYPE_QNUM:
            str = qnum_to_string(qobject_to_qnum(value));
            break;
        case QTYPE_QBOOL:
            str = xstrdup(qbool_get_bool(qobject_to_qbool(value)) ? "on"
                                                                   : "off");
            break;
        default:
            continue;
        }
        if (!opt_set(opts, key, str, errp)) {
            return false;
        }
        qdict_del(qdict, key);
    }
    return true;
}

/* ---- key=value strings ---------------------------------------------------- */

QDict *qemu_opts_parse_flat(const char *params, const char *implied_key,
                            Error **errp)
{
    QDict *qdict = qdict_new();
    const char *p = params;
    bool first = true;
    StrBuf sb = STRBUF_INIT;

    strbuf_init(&sb);
    while (*p) {
        size_t keylen = strcspn(p, "=,");
        char *name;

        strbuf_reset(&sb);
        if (first && implied_key && p[keylen] != '=') {
            p = get_opt_value(p, &sb);
            name = xstrdup(implied_key);
        } else if (p[keylen] != '=') {
            char *key = xstrndup(p, keylen);
            bool off = strncmp(key, "no", 2) == 0;

            name = xstrdup(off ? key + 2 : key);
            strbuf_addstr(&sb, off ? "off" : "on");
            warn_report("short-form boolean option '%s' deprecated", key);
            fprintf(stderr, "Please use %s=%s instead\n", name,
                    off ? "off" : "on");
            free(key);
            p += keylen;
        } else {
            name = xstrndup(p, keylen);
            p = get_opt_value(p + keylen + 1, &sb);
        }
        first = false;
        qdict_put_str(qdict, name, strbuf_str(&sb));
        free(name);
        if (*p == ',') {
            p++;
        }
    }
    strbuf_release(&sb);
    return qdict;
}

/*
 * Checks one keyval key: dot-separated fragments, each a name (a letter,
 * then letters, digits, '-', '_') or a list index (digits only, not first).
 * Returns 0, or -EINVAL (invalid), or -ENAMETOOLONG.
 */
static int keyval_check_key(const char *key, size_t len)
{
    size_t i = 0;
    bool first = true;

    for (;;) {
        size_t start = i;

        if (i < len && isalpha((unsigned char)key[i])) {
            while (i < len && (isalnum((unsigned char)key[i]) ||
                               key[i] == '-' || key[i] == '_')) {
                i++;
            }
        } else if (!first && i < len && isdigit((unsigned char)key[i])) {
            while (i < len && isdigit((unsigned char)key[i])) {
                i++;
            }
        } else {
            return -EINVAL;
        }
        if (i - start > KEYVAL_MAX_FRAGMENT) {
            return -ENAMETOOLONG;
        }
        if (i == len) {
            return 0;
        }
        if (key[i] != '.') {
            return -EINVAL;
        }
        i++;
        first = false;
    }
}

/*
 * A key may not be both a value and a prefix ("a=1,a.b=2"), and the
 * members under one prefix are either all list indexes or all names.
 */
static bool keyval_check_structure(QDict *qdict, Error **errp)
{
    const QDictEntry *e, *f;

    for (e = qdict_first(qdict); e; e = qdict_next(qdict, e)) {
        const char *key = qdict_entry_key(e);
        size_t klen = strlen(key);
        const char *dot;

        for (f = qdict_first(qdict); f; f = qdict_next(qdict, f)) {
            const char *other = qdict_entry_key(f);

            if (strncmp(other, key, klen) == 0 && other[klen] == '.') {
                error_setg(errp, "Parameters '%s.*' used inconsistently",
                           key);
                return false;
            }
        }
        /* Compare this key's last fragment with its siblings'. */
        dot = strrchr(key, '.');
        if (dot) {
            size_t plen = dot - key + 1;
            bool index = isdigit((unsigned char)dot[1]);

            for (f = qdict_first(qdict); f; f = qdict_next(qdict, f)) {
                const char *other = qdict_entry_key(f);

                if (strncmp(other, key, plen) == 0 &&
                    !!isdigit((unsigned char)other[plen]) != index) {
                    error_setg(errp, "Parameters '%.*s.*' used "
                               "inconsistently", (int)(plen - 1), key);
                    return false;
                }
            }
        }
    }
    return true;
}

QDict *keyval_parse_flat(const char *params, const char *implied_key,
                         Error **errp)
{
    QDict *qdict = qdict_new();
    const char *p = params;
    bool first = true;
    StrBuf sb = STRBUF_INIT;

    strbuf_init(&sb);
    while (*p) {
        size_t keylen = strcspn(p, "=,");
        char *key;
        int ret;

        strbuf_reset(&sb);
        if (first && implied_key && keylen > 0 && p[keylen] != '=') {
            /* The implied value ends at the first comma, unescaped. */
            qdict_put(qdict, implied_key, qstring_from_substr(p, keylen));
            p += keylen;
            first = false;
            if (*p == ',') {
                p++;
            }
            continue;
        }
        first = false;
        key = xstrndup(p, keylen);
        ret = keyval_check_key(p, keylen);
        if (ret == -ENAMETOOLONG) {
            error_setg(errp, "Parameter '%s' is too long", key);
            free(key);
            goto fail;
        }
        if (ret < 0) {
            error_setg(errp, "Invalid parameter '%s'", key);
            free(key);
            goto fail;
        }
        if (p[keylen] != '=') {
            error_setg(errp, "Expected '=' after parameter '%s'", key);
            free(key);
            goto fail;
        }
        p = get_opt_value(p + keylen + 1, &sb);
        qdict_put_str(qdict, key, strbuf_str(&sb));
        free(key);
        if (*p == ',') {
            p++;
        }
    }
    strbuf_release(&sb);
    if (!keyval_check_structure(qdict, errp)) {
        qdict_unref(qdict);
        return NULL;
    }
    return qdict;

fail:
    strbuf_release(&sb);
    qdict_unref(qdict);
    return NULL;
}
