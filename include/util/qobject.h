/*
 * A small tree of values (dict, list, string, number, bool, null) used for
 * open options and for everything qemu-img prints as JSON or as nested human
 * output (info's format-specific section, check, measure).
 *
 * QDict iterates in QEMU's order, not insertion order: 512 buckets chosen by
 * the TDB hash of the key, buckets in ascending order, and within a bucket the
 * most recently inserted key first. That order is visible in every piece of
 * JSON the reference prints, so ours must iterate the same way.
 *
 * Objects are reference counted; the qdict_put / qlist_append functions take
 * over the caller's reference to the value.
 */
#ifndef UTIL_QOBJECT_H
#define UTIL_QOBJECT_H

#include "util/osdep.h"

typedef enum QType {
    QTYPE_QNULL,
    QTYPE_QNUM,
    QTYPE_QSTRING,
    QTYPE_QDICT,
    QTYPE_QLIST,
    QTYPE_QBOOL,
} QType;

struct QObject {
    QType type;
    int refcnt;
};

QObject *qobject_ref(QObject *obj);
void qobject_unref(QObject *obj);
QType qobject_type(const QObject *obj);
/* Casts; NULL if obj is NULL or of another type. */
QDict *qobject_to_qdict(QObject *obj);
QList *qobject_to_qlist(QObject *obj);
QString *qobject_to_qstring(QObject *obj);
QNum *qobject_to_qnum(QObject *obj);
QBool *qobject_to_qbool(QObject *obj);
#define QOBJECT(x) ((QObject *)(x))
/* Deep comparison; numbers compare by value whatever their kind. */
bool qobject_is_equal(const QObject *x, const QObject *y);

/* ---- scalars ------------------------------------------------------------ */

QNull *qnull(void);
QString *qstring_from_str(const char *s);
/* The first len bytes of s (which need not be NUL-terminated). */
QString *qstring_from_substr(const char *s, size_t len);
/* Takes ownership of the malloc'ed s. */
QString *qstring_take_str(char *s);
const char *qstring_get_str(const QString *qs);
QBool *qbool_from_bool(bool value);
bool qbool_get_bool(const QBool *qb);
QNum *qnum_from_int(int64_t value);
QNum *qnum_from_uint(uint64_t value);
QNum *qnum_from_double(double value);
/* False if the number does not fit (or is a double with a fraction). */
bool qnum_get_try_int(const QNum *qn, int64_t *val);
bool qnum_get_try_uint(const QNum *qn, uint64_t *val);
double qnum_get_double(const QNum *qn);
bool qnum_is_double(const QNum *qn);
/* Decimal text of the number ("%.17g" for doubles). Free the result. */
char *qnum_to_string(const QNum *qn);

/* ---- QDict ---------------------------------------------------------------- */

typedef struct QDictEntry QDictEntry;

QDict *qdict_new(void);
void qdict_unref(QDict *qdict);
size_t qdict_size(const QDict *qdict);
void qdict_put_obj(QDict *qdict, const char *key, QObject *value);
void qdict_put_str(QDict *qdict, const char *key, const char *value);
void qdict_put_int(QDict *qdict, const char *key, int64_t value);
void qdict_put_uint(QDict *qdict, const char *key, uint64_t value);
void qdict_put_bool(QDict *qdict, const char *key, bool value);
void qdict_put_null(QDict *qdict, const char *key);
#define qdict_put(qdict, key, obj) qdict_put_obj(qdict, key, QOBJECT(obj))
QObject *qdict_get(const QDict *qdict, const char *key);
bool qdict_haskey(const QDict *qdict, const char *key);
void qdict_del(QDict *qdict, const char *key);
/* Typed getters: NULL / def if the key is absent or of another type. */
const char *qdict_get_try_str(const QDict *qdict, const char *key);
const char *qdict_get_str(const QDict *qdict, const char *key);
int64_t qdict_get_try_int(const QDict *qdict, const char *key, int64_t def);
bool qdict_get_try_bool(const QDict *qdict, const char *key, bool def);
QDict *qdict_get_qdict(const QDict *qdict, const char *key);
QList *qdict_get_qlist(const QDict *qdict, const char *key);

/*
 * Iteration in QEMU's order (see above). Deleting the current entry is
 * allowed if the next one was fetched first.
 */
const QDictEntry *qdict_first(const QDict *qdict);
const QDictEntry *qdict_next(const QDict *qdict, const QDictEntry *entry);
const char *qdict_entry_key(const QDictEntry *entry);
QObject *qdict_entry_value(const QDictEntry *entry);

/* A new dict with the same keys and (referenced, not copied) values. */
QDict *qdict_clone_shallow(const QDict *src);
/*
 * Moves every "<prefix>key" entry of src into a new dict *dst as "key"
 * (e.g. "file.filename" -> "filename" with prefix "file.").
 */
void qdict_extract_subqdict(QDict *src, QDict **dst, const char *prefix);
/*
 * Moves entries of src into dst: all of them when overwrite is true,
 * otherwise only those whose keys dst lacks (the rest stay in src).
 */
void qdict_join(QDict *dst, QDict *src, bool overwrite);
/*
 * Turns nested dicts and lists into dotted keys in place, as the reference
 * does for json: options: {"file": {"filename": "x"}} becomes
 * {"file.filename": "x"}, {"a": [1, 2]} becomes {"a.0": 1, "a.1": 2}.
 * Empty dicts and lists are kept as values.
 */
void qdict_flatten(QDict *qdict);
/* The TDB hash behind the order (exposed for tests). */
unsigned int qdict_tdb_hash(const char *key);

/* ---- QList ------------------------------------------------------------ */

QList *qlist_new(void);
void qlist_unref(QList *qlist);
void qlist_append_obj(QList *qlist, QObject *value);
#define qlist_append(qlist, obj) qlist_append_obj(qlist, QOBJECT(obj))
void qlist_append_str(QList *qlist, const char *value);
void qlist_append_int(QList *qlist, int64_t value);
size_t qlist_size(const QList *qlist);
QObject *qlist_peek_nth(const QList *qlist, size_t n);

/* ---- JSON ------------------------------------------------------------- */

/*
 * Serialises obj as qemu-img does: compact ("{"a": 1}") or pretty (4-space
 * indent, "key": value, "[" and "{" closing on their own lines, an empty
 * list as "[\n]"). Strings are escaped the way QEMU escapes them. Returns a
 * newly allocated string.
 */
char *qobject_to_json(const QObject *obj, bool pretty);

/*
 * Parses JSON (used by qemu-img for 'json:{...}' filenames). Returns NULL
 * and sets errp on malformed input.
 */
QObject *qobject_from_json(const char *json, Error **errp);

#endif
