/*
 * Option lists: "-o key=value,key2=value2" for create/amend, the per-driver
 * schemas behind them (and "-o help"), and "key=value,..." strings for
 * --image-opts and --object.
 *
 * A comma inside a value is written ",,". A schema (QemuOptsList) names each
 * option with its type, help text and default; parsing checks names against
 * it ("Invalid parameter 'x'") and values against the type, with qemu-img's
 * wording for every failure.
 */
#ifndef UTIL_OPTION_H
#define UTIL_OPTION_H

#include <sys/queue.h>

#include "util/osdep.h"

typedef enum QemuOptType {
    QEMU_OPT_STRING,
    QEMU_OPT_BOOL,      /* on/off (and yes/no/true/false as the reference) */
    QEMU_OPT_NUMBER,    /* unsigned decimal/hex */
    QEMU_OPT_SIZE,      /* size with k/M/G/T/P/E suffix */
} QemuOptType;

typedef struct QemuOptDesc {
    const char *name;
    QemuOptType type;
    const char *help;
    const char *def_value_str;  /* printed by qemu_opts_print when unset */
} QemuOptDesc;

/* A schema: a NULL-name-terminated array of descriptors. */
struct QemuOptsList {
    const char *name;
    /* Key assumed for a leading value without "key=" (NULL: none). */
    const char *implied_opt_name;
    const QemuOptDesc *desc;
};

struct QemuOpt {
    char *name;
    char *str;
    const QemuOptDesc *desc;
    TAILQ_ENTRY(QemuOpt) next;
};

struct QemuOpts {
    QemuOptsList *list;
    TAILQ_HEAD(, QemuOpt) head;
};

QemuOpts *qemu_opts_create(QemuOptsList *list);
void qemu_opts_del(QemuOpts *opts);

/*
 * Parses "k=v,k2=v2" into opts. With a schema that has descriptors, unknown
 * keys fail. Setting a key twice keeps the last value.
 */
bool qemu_opts_do_parse(QemuOpts *opts, const char *params,
                        const char *firstname, Error **errp);
bool qemu_opt_set(QemuOpts *opts, const char *name, const char *value,
                  Error **errp);
bool qemu_opt_set_number(QemuOpts *opts, const char *name, int64_t val,
                         Error **errp);
bool qemu_opt_set_bool(QemuOpts *opts, const char *name, bool val,
                       Error **errp);
/* Typed getters: defval when unset. The _del variants also remove it. */
const char *qemu_opt_get(QemuOpts *opts, const char *name);
char *qemu_opt_get_del(QemuOpts *opts, const char *name);
bool qemu_opt_get_bool(QemuOpts *opts, const char *name, bool defval);
bool qemu_opt_get_bool_del(QemuOpts *opts, const char *name, bool defval);
uint64_t qemu_opt_get_number(QemuOpts *opts, const char *name,
                             uint64_t defval);
uint64_t qemu_opt_get_number_del(QemuOpts *opts, const char *name,
                                 uint64_t defval);
uint64_t qemu_opt_get_size(QemuOpts *opts, const char *name, uint64_t defval);
uint64_t qemu_opt_get_size_del(QemuOpts *opts, const char *name,
                               uint64_t defval);
bool qemu_opt_find(QemuOpts *opts, const char *name);
void qemu_opt_unset(QemuOpts *opts, const char *name);

/* True if params contains "help" or "?" as a key (qemu-img's -o help). */
bool is_help_option(const char *s);
bool qemu_opt_has_help_opt(QemuOpts *opts);

/*
 * Prints the schema as qemu-img's "-o help" does:
 *   "  name=<type>  - help" lines, sorted as the reference sorts them.
 */
void qemu_opts_print_help(QemuOptsList *list, bool print_caption);

/*
 * Appends opts in the schema's order as qemu-img's "Formatting ..." line
 * does: " name=value" for each set option, defaults for unset ones that have
 * one, strings quoted as the reference quotes them.
 */
void qemu_opts_print(QemuOpts *opts, const char *separator, StrBuf *out);

/*
 * A new schema holding dst's descriptors followed by list's (names already
 * in dst are skipped). dst may be NULL. Free with qemu_opts_free.
 */
QemuOptsList *qemu_opts_append(QemuOptsList *dst, QemuOptsList *list);
void qemu_opts_free(QemuOptsList *list);

/* Options as a flat dict of strings, and back. */
QDict *qemu_opts_to_qdict(QemuOpts *opts, QDict *qdict);
/* Moves entries of qdict that the schema knows into opts. */
bool qemu_opts_absorb_qdict(QemuOpts *opts, QDict *qdict, Error **errp);

/*
 * Parses "k=v,k.sub=v2,..." (as --image-opts and --object take it) into a
 * flat dict of strings, keys kept with their dots. A leading bare value is
 * stored under implied_key (error if implied_key is NULL).
 */
QDict *keyval_parse_flat(const char *params, const char *implied_key,
                         Error **errp);

/* Parses "on"/"off" etc. into *value; false with errp set otherwise. */
bool qapi_bool_parse(const char *name, const char *value, bool *obj,
                     Error **errp);

#endif
