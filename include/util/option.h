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

/*
 * A schema: a NULL-name-terminated array of descriptors. An empty array (or
 * NULL desc) accepts any key as a string.
 *
 * The array's order is the order of qemu_opts_print (the "Formatting ..."
 * line), so drivers list their options in the order the reference prints
 * them; "-o help" sorts by name on its own.
 */
struct QemuOptsList {
    const char *name;
    /* Key assumed for a leading value without "key=" (NULL: none). */
    const char *implied_opt_name;
    const QemuOptDesc *desc;
    /* Set on lists made by qemu_opts_append (freed by qemu_opts_free). */
    bool allocated;
};

struct QemuOpt {
    char *name;
    char *str;
    const QemuOptDesc *desc;    /* NULL when the schema accepts anything */
    union {
        bool boolean;
        uint64_t uint;          /* QEMU_OPT_NUMBER and QEMU_OPT_SIZE */
    } value;
    TAILQ_ENTRY(QemuOpt) next;
};

struct QemuOpts {
    QemuOptsList *list;
    TAILQ_HEAD(, QemuOpt) head;
};

QemuOpts *qemu_opts_create(QemuOptsList *list);
void qemu_opts_del(QemuOpts *opts);

/*
 * Parses "k=v,k2=v2" into opts, left to right, stopping at the first bad
 * option with the reference's message:
 *   Invalid parameter 'x'
 *   Parameter 'x' expects 'on' or 'off'
 *   Parameter 'x' expects a number  /  Value 'v' is too large for parameter 'x'
 *   Parameter 'x' expects a non-negative number below 2^64 (+ a hint on the
 *   suffixes)  /  Value 'v' is out of range for parameter 'x'
 * A value runs to the next single ','; ",," stands for a comma. A key
 * without '=' means key=on, and "nokey" means key=off (so an option whose
 * own name starts with "no" cannot be given that way, as in the reference).
 * With firstname, a leading element without '=' is firstname's value.
 * Setting a key twice keeps the last value.
 */
bool qemu_opts_do_parse(QemuOpts *opts, const char *params,
                        const char *firstname, Error **errp);
bool qemu_opt_set(QemuOpts *opts, const char *name, const char *value,
                  Error **errp);
bool qemu_opt_set_number(QemuOpts *opts, const char *name, int64_t val,
                         Error **errp);
bool qemu_opt_set_bool(QemuOpts *opts, const char *name, bool val,
                       Error **errp);
/*
 * Getters. A set option gives its (last) value; an unset one gives its
 * schema default (def_value_str, parsed for the typed getters) and only
 * without a default the caller's defval (NULL for qemu_opt_get). The _del
 * variants also remove every setting of the option; free qemu_opt_get_del's
 * result.
 */
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

/*
 * Parses value as the size option name (suffixes k..E); false with the
 * reference's message (and its hint on the suffixes) in errp.
 */
bool parse_option_size(const char *name, const char *value, uint64_t *ret,
                       Error **errp);
void qemu_opt_unset(QemuOpts *opts, const char *name);

/*
 * True if the option string params has an element "help" or "?" without a
 * value (qemu-img's "-o help", also "-o size=1M,help"); "help=on" is not.
 */
bool is_help_option(const char *params);
bool qemu_opt_has_help_opt(QemuOpts *opts);

/*
 * Prints the schema to stdout as qemu-img's "-o help" does: options sorted
 * by name (strcmp), each as "  name=<type>" padded to 24 columns, then
 * " - help". Types read str, bool (on/off), num, size. With print_caption,
 * a "Supported options:" line comes first (qemu-img prints its other
 * captions, "Supported qcow2 options:" and the like, itself).
 */
void qemu_opts_print_help(QemuOptsList *list, bool print_caption);

/*
 * Appends opts in the schema's order as qemu-img's "Formatting ..." line
 * does: separator + "name=value" for each set option, and for each unset
 * one that has a default. Strings print unquoted with ',' doubled; numbers
 * and sizes print their parsed value as a signed 64-bit decimal (so 0x10
 * prints 16 and 16E-1 prints -1, as in the reference); booleans print as
 * written (on, yes, true...); defaults print as declared.
 */
void qemu_opts_print(QemuOpts *opts, const char *separator, StrBuf *out);

/*
 * A new schema holding dst's descriptors followed by list's (names already
 * in dst are skipped), named after dst (or list). dst may be NULL; a dst
 * made by an earlier qemu_opts_append is consumed, so chains read
 * "l = qemu_opts_append(l, drv->create_opts)". Free with qemu_opts_free
 * (which ignores static lists).
 */
QemuOptsList *qemu_opts_append(QemuOptsList *dst, QemuOptsList *list);
void qemu_opts_free(QemuOptsList *list);

/* Options as a flat dict of strings, and back. */
QDict *qemu_opts_to_qdict(QemuOpts *opts, QDict *qdict);
/* Moves entries of qdict that the schema knows into opts. */
bool qemu_opts_absorb_qdict(QemuOpts *opts, QDict *qdict, Error **errp);

/*
 * Parses "k=v,k.sub=v2,..." strictly, as --object takes it, into a flat
 * dict of strings, keys kept with their dots. Key fragments are names
 * (a letter, then letters, digits, '-' or '_') or list indexes (digits).
 * A leading element without '=' is stored under implied_key. Errors, with
 * the reference's wording: "Invalid parameter 'k'", "Expected '=' after
 * parameter 'k'", "Parameter 'k' is too long", "Parameters 'k.*' used
 * inconsistently".
 */
QDict *keyval_parse_flat(const char *params, const char *implied_key,
                         Error **errp);

/*
 * Parses an --image-opts string leniently, as the reference does: keys are
 * whatever precedes '=' (no checks), ",," escapes a comma in values, a
 * leading element without '=' is implied_key's value, and a later bare
 * "key" / "nokey" means key=on / key=off with the reference's deprecation
 * warning on stderr. The result is a flat dict of strings.
 */
QDict *qemu_opts_parse_flat(const char *params, const char *implied_key,
                            Error **errp);

/* Parses "on"/"off" etc. into *value; false with errp set otherwise. */
bool qapi_bool_parse(const char *name, const char *value, bool *obj,
                     Error **errp);

#endif
