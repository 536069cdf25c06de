/*
 * QObject: refcounted dict / list / string / number / bool / null values.
 *
 * QDict keeps QEMU's iteration order because every JSON document the
 * reference prints exposes it: 512 hash buckets indexed by the TDB hash of
 * the key, visited in ascending order, each bucket a chain with the most
 * recently inserted key at its head. Replacing the value of an existing key
 * keeps the key where it is.
 */
#include "config-host.h"

#include "util/osdep.h"
#include "util/qobject.h"

#define QDICT_BUCKET_MAX 512

struct QNull {
    QObject base;
};

struct QString {
    QObject base;
    char *str;
    size_t len;
};

struct QBool {
    QObject base;
    bool value;
};

typedef enum QNumKind {
    QNUM_I64,
    QNUM_U64,
    QNUM_DOUBLE,
} QNumKind;

struct QNum {
    QObject base;
    QNumKind kind;
    union {
        int64_t i64;
        uint64_t u64;
        double dbl;
    } u;
};

struct QDictEntry {
    char *key;
    QObject *value;
    unsigned int bucket;
    struct QDictEntry *next;
};

struct QDict {
    QObject base;
    size_t size;
    QDictEntry *table[QDICT_BUCKET_MAX];
};

struct QList {
    QObject base;
    QObject **items;
    size_t len;
    size_t alloc;
};

/* ---- generic ------------------------------------------------------------ */

static void qobject_init(QObject *obj, QType type)
{
    obj->type = type;
    obj->refcnt = 1;
}

QObject *qobject_ref(QObject *obj)
{
    if (obj) {
        obj->refcnt++;
    }
    return obj;
}

static void qdict_destroy(QDict *qdict);
static void qlist_destroy(QList *qlist);

void qobject_unref(QObject *obj)
{
    if (!obj) {
        return;
    }
    assert(obj->refcnt > 0);
    if (--obj->refcnt > 0) {
        return;
    }
    switch (obj->type) {
    case QTYPE_QSTRING:
        free(((QString *)obj)->str);
        break;
    case QTYPE_QDICT:
        qdict_destroy((QDict *)obj);
        break;
    case QTYPE_QLIST:
        qlist_destroy((QList *)obj);
        break;
    case QTYPE_QNULL:
    case QTYPE_QNUM:
    case QTYPE_QBOOL:
        break;
    }
    free(obj);
}

QType qobject_type(const QObject *obj)
{
    return obj->type;
}

QDict *qobject_to_qdict(QObject *obj)
{
    return obj && obj->type == QTYPE_QDICT ? (QDict *)obj : NULL;
}

QList *qobject_to_qlist(QObject *obj)
{
    return obj && obj->type == QTYPE_QLIST ? (QList *)obj : NULL;
}

QString *qobject_to_qstring(QObject *obj)
{
    return obj && obj->type == QTYPE_QSTRING ? (QString *)obj : NULL;
}

QNum *qobject_to_qnum(QObject *obj)
{
    return obj && obj->type == QTYPE_QNUM ? (QNum *)obj : NULL;
}

QBool *qobject_to_qbool(QObject *obj)
{
    return obj && obj->type == QTYPE_QBOOL ? (QBool *)obj : NULL;
}

/* ---- scalars ------------------------------------------------------------ */

QNull *qnull(void)
{
    QNull *n = xzalloc(sizeof(*n));

    qobject_init(&n->base, QTYPE_QNULL);
    return n;
}

QString *qstring_from_str(const char *s)
{
    return qstring_from_substr(s, strlen(s));
}

QString *qstring_from_substr(const char *s, size_t len)
{
    QString *qs = xzalloc(sizeof(*qs));

    qobject_init(&qs->base, QTYPE_QSTRING);
    qs->str = xmalloc(len + 1);
    memcpy(qs->str, s, len);
    qs->str[len] = '\0';
    qs->len = len;
    return qs;
}

QString *qstring_take_str(char *s)
{
    QString *qs = xzalloc(sizeof(*qs));

    qobject_init(&qs->base, QTYPE_QSTRING);
    qs->str = s;
    qs->len = strlen(s);
    return qs;
}

const char *qstring_get_str(const QString *qs)
{
    return qs->str;
}

QBool *qbool_from_bool(bool value)
{
    QBool *qb = xzalloc(sizeof(*qb));

    qobject_init(&qb->base, QTYPE_QBOOL);
    qb->value = value;
    return qb;
}

bool qbool_get_bool(const QBool *qb)
{
    return qb->value;
}

static QNum *qnum_new(QNumKind kind)
{
    QNum *qn = xzalloc(sizeof(*qn));

    qobject_init(&qn->base, QTYPE_QNUM);
    qn->kind = kind;
    return qn;
}

QNum *qnum_from_int(int64_t value)
{
    QNum *qn = qnum_new(QNUM_I64);

    qn->u.i64 = value;
    return qn;
}

QNum *qnum_from_uint(uint64_t value)
{
    QNum *qn = qnum_new(QNUM_U64);

    qn->u.u64 = value;
    return qn;
}

QNum *qnum_from_double(double value)
{
    QNum *qn = qnum_new(QNUM_DOUBLE);

    qn->u.dbl = value;
    return qn;
}

bool qnum_is_double(const QNum *qn)
{
    return qn->kind == QNUM_DOUBLE;
}

bool qnum_get_try_int(const QNum *qn, int64_t *val)
{
    switch (qn->kind) {
    case QNUM_I64:
        *val = qn->u.i64;
        return true;
    case QNUM_U64:
        if (qn->u.u64 > INT64_MAX) {
            return false;
        }
        *val = (int64_t)qn->u.u64;
        return true;
    case QNUM_DOUBLE:
        /* -2^63 <= d < 2^63, integral: exactly representable as int64. */
        if (qn->u.dbl >= -9223372036854775808.0 &&
            qn->u.dbl < 9223372036854775808.0 &&
            qn->u.dbl == (double)(int64_t)qn->u.dbl) {
            *val = (int64_t)qn->u.dbl;
            return true;
        }
        return false;
    }
    return false;
}

bool qnum_get_try_uint(const QNum *qn, uint64_t *val)
{
    switch (qn->kind) {
    case QNUM_I64:
        if (qn->u.i64 < 0) {
            return false;
        }
        *val = (uint64_t)qn->u.i64;
        return true;
    case QNUM_U64:
        *val = qn->u.u64;
        return true;
    case QNUM_DOUBLE:
        if (qn->u.dbl >= 0 && qn->u.dbl < 18446744073709551616.0 &&
            qn->u.dbl == (double)(uint64_t)qn->u.dbl) {
            *val = (uint64_t)qn->u.dbl;
            return true;
        }
        return false;
    }
    return false;
}

double qnum_get_double(const QNum *qn)
{
    switch (qn->kind) {
    case QNUM_I64:
        return (double)qn->u.i64;
    case QNUM_U64:
        return (double)qn->u.u64;
    case QNUM_DOUBLE:
        return qn->u.dbl;
    }
    return 0;
}

char *qnum_to_string(const QNum *qn)
{
    switch (qn->kind) {
    case QNUM_I64:
        return xasprintf("%" PRId64, qn->u.i64);
    case QNUM_U64:
        return xasprintf("%" PRIu64, qn->u.u64);
    case QNUM_DOUBLE:
        /* 17 significant digits round-trip every double. */
        return xasprintf("%.17g", qn->u.dbl);
    }
    return NULL;
}

/* ---- QDict ---------------------------------------------------------------- */

/*
 * The TDB hash (a public algorithm from Samba's trivial database). Its
 * distribution is what fixes the reference's key order, so it must be
 * bit-exact: unsigned 32-bit arithmetic throughout.
 */
unsigned int qdict_tdb_hash(const char *key)
{
    uint32_t value = 0x238F13AFu * (uint32_t)strlen(key);
    uint32_t i;

    for (i = 0; key[i] != '\0'; i++) {
        value = value + ((uint32_t)(unsigned char)key[i] << (i * 5 % 24));
    }
    return (1103515243u * value + 12345u);
}

static unsigned int qdict_bucket(const char *key)
{
    return qdict_tdb_hash(key) % QDICT_BUCKET_MAX;
}

QDict *qdict_new(void)
{
    QDict *qdict = xzalloc(sizeof(*qdict));

    qobject_init(&qdict->base, QTYPE_QDICT);
    return qdict;
}

static void qdict_destroy(QDict *qdict)
{
    unsigned int i;

    for (i = 0; i < QDICT_BUCKET_MAX; i++) {
        QDictEntry *e = qdict->table[i];

        while (e) {
            QDictEntry *next = e->next;

            free(e->key);
            qobject_unref(e->value);
            free(e);
            e = next;
        }
    }
}

void qdict_unref(QDict *qdict)
{
    qobject_unref(QOBJECT(qdict));
}

size_t qdict_size(const QDict *qdict)
{
    return qdict->size;
}

static QDictEntry *qdict_find(const QDict *qdict, const char *key,
                              unsigned int bucket)
{
    QDictEntry *e;

    for (e = qdict->table[bucket]; e; e = e->next) {
        if (strcmp(e->key, key) == 0) {
            return e;
        }
    }
    return NULL;
}

void qdict_put_obj(QDict *qdict, const char *key, QObject *value)
{
    unsigned int bucket = qdict_bucket(key);
    QDictEntry *e = qdict_find(qdict, key, bucket);

    if (e) {
        qobject_unref(e->value);
        e->value = value;
        return;
    }
    e = xzalloc(sizeof(*e));
    e->key = xstrdup(key);
    e->value = value;
    e->bucket = bucket;
    e->next = qdict->table[bucket];
    qdict->table[bucket] = e;
    qdict->size++;
}

void qdict_put_str(QDict *qdict, const char *key, const char *value)
{
    qdict_put(qdict, key, qstring_from_str(value));
}

void qdict_put_int(QDict *qdict, const char *key, int64_t value)
{
    qdict_put(qdict, key, qnum_from_int(value));
}

void qdict_put_uint(QDict *qdict, const char *key, uint64_t value)
{
    qdict_put(qdict, key, qnum_from_uint(value));
}

void qdict_put_bool(QDict *qdict, const char *key, bool value)
{
    qdict_put(qdict, key, qbool_from_bool(value));
}

void qdict_put_null(QDict *qdict, const char *key)
{
    qdict_put(qdict, key, qnull());
}

QObject *qdict_get(const QDict *qdict, const char *key)
{
    QDictEntry *e = qdict_find(qdict, key, qdict_bucket(key));

    return e ? e->value : NULL;
}

bool qdict_haskey(const QDict *qdict, const char *key)
{
    return qdict_get(qdict, key) != NULL;
}

void qdict_del(QDict *qdict, const char *key)
{
    unsigned int bucket = qdict_bucket(key);
    QDictEntry **pe;

    for (pe = &qdict->table[bucket]; *pe; pe = &(*pe)->next) {
        QDictEntry *e = *pe;

        if (strcmp(e->key, key) == 0) {
            *pe = e->next;
            free(e->key);
            qobject_unref(e->value);
            free(e);
            qdict->size--;
            return;
        }
    }
}

const char *qdict_get_try_str(const QDict *qdict, const char *key)
{
    QString *qs = qobject_to_qstring(qdict_get(qdict, key));

    return qs ? qs->str : NULL;
}

const char *qdict_get_str(const QDict *qdict, const char *key)
{
    return qdict_get_try_str(qdict, key);
}

int64_t qdict_get_try_int(const QDict *qdict, const char *key, int64_t def)
{
    QNum *qn = qobject_to_qnum(qdict_get(qdict, key));
    int64_t val;

    if (!qn || !qnum_get_try_int(qn, &val)) {
        return def;
    }
    return val;
}

bool qdict_get_try_bool(const QDict *qdict, const char *key, bool def)
{
    QBool *qb = qobject_to_qbool(qdict_get(qdict, key));

    return qb ? qb->value : def;
}

QDict *qdict_get_qdict(const QDict *qdict, const char *key)
{
    return qobject_to_qdict(qdict_get(qdict, key));
}

QList *qdict_get_qlist(const QDict *qdict, const char *key)
{
    return qobject_to_qlist(qdict_get(qdict, key));
}

static const QDictEntry *qdict_first_from(const QDict *qdict,
                                          unsigned int bucket)
{
    for (; bucket < QDICT_BUCKET_MAX; bucket++) {
        if (qdict->table[bucket]) {
            return qdict->table[bucket];
        }
    }
    return NULL;
}

const QDictEntry *qdict_first(const QDict *qdict)
{
    return qdict_first_from(qdict, 0);
}

const QDictEntry *qdict_next(const QDict *qdict, const QDictEntry *entry)
{
    if (entry->next) {
        return entry->next;
    }
    return qdict_first_from(qdict, entry->bucket + 1);
}

const char *qdict_entry_key(const QDictEntry *entry)
{
    return entry->key;
}

QObject *qdict_entry_value(const QDictEntry *entry)
{
    return entry->value;
}

/*
 * Copies keep the source's order exactly: buckets are rebuilt by inserting
 * each chain from its tail, so the head stays the head.
 */
QDict *qdict_clone_shallow(const QDict *src)
{
    QDict *dst = qdict_new();
    unsigned int i;

    for (i = 0; i < QDICT_BUCKET_MAX; i++) {
        const QDictEntry *e;
        QDictEntry **tail = &dst->table[i];

        for (e = src->table[i]; e; e = e->next) {
            QDictEntry *c = xzalloc(sizeof(*c));

            c->key = xstrdup(e->key);
            c->value = qobject_ref(e->value);
            c->bucket = i;
            *tail = c;
            tail = &c->next;
            dst->size++;
        }
    }
    return dst;
}

void qdict_extract_subqdict(QDict *src, QDict **dst, const char *prefix)
{
    size_t plen = strlen(prefix);
    const QDictEntry *e, *next;

    *dst = qdict_new();
    for (e = qdict_first(src); e; e = next) {
        next = qdict_next(src, e);
        if (strncmp(e->key, prefix, plen) == 0) {
            qdict_put_obj(*dst, e->key + plen, qobject_ref(e->value));
            qdict_del(src, e->key);
        }
    }
}

void qdict_join(QDict *dst, QDict *src, bool overwrite)
{
    const QDictEntry *e, *next;

    for (e = qdict_first(src); e; e = next) {
        next = qdict_next(src, e);
        if (overwrite || !qdict_haskey(dst, e->key)) {
            qdict_put_obj(dst, e->key, qobject_ref(e->value));
            qdict_del(src, e->key);
        }
    }
}

static void qdict_flatten_qlist(QList *qlist, QDict *target,
                                const char *prefix);

/*
 * Moves the entries of qdict (a sub-dict of target, or target itself when
 * prefix is NULL) into target as "prefix.key". Nested dicts and lists are
 * flattened depth first, in iteration order, so the insertion sequence is
 * that of the reference and so, therefore, is the final key order.
 */
static void qdict_flatten_qdict(QDict *qdict, QDict *target,
                                const char *prefix)
{
    const QDictEntry *e, *next;

    for (e = qdict_first(qdict); e; e = next) {
        QObject *value = e->value;
        char *new_key = NULL;
        bool moved = false;

        next = qdict_next(qdict, e);
        if (prefix) {
            new_key = xasprintf("%s.%s", prefix, e->key);
        }
        if (value->type == QTYPE_QDICT) {
            QDict *sub = (QDict *)value;

            if (qdict_size(sub) > 0) {
                qdict_flatten_qdict(sub, target,
                                    new_key ? new_key : e->key);
                moved = true;
            }
        } else if (value->type == QTYPE_QLIST) {
            QList *sub = (QList *)value;

            if (qlist_size(sub) > 0) {
                qdict_flatten_qlist(sub, target,
                                    new_key ? new_key : e->key);
                moved = true;
            }
        }
        if (moved) {
            /* The emptied container itself disappears. */
            if (target == qdict) {
                qdict_del(qdict, e->key);
            }
        } else if (new_key) {
            qdict_put_obj(target, new_key, qobject_ref(value));
            if (target == qdict) {
                qdict_del(qdict, e->key);
            }
        }
        free(new_key);
    }
}

static void qdict_flatten_qlist(QList *qlist, QDict *target,
                                const char *prefix)
{
    size_t i;

    for (i = 0; i < qlist->len; i++) {
        QObject *value = qlist->items[i];
        char *new_key = xasprintf("%s.%zu", prefix, i);

        if (value->type == QTYPE_QDICT && qdict_size((QDict *)value) > 0) {
            qdict_flatten_qdict((QDict *)value, target, new_key);
        } else if (value->type == QTYPE_QLIST &&
                   qlist_size((QList *)value) > 0) {
            qdict_flatten_qlist((QList *)value, target, new_key);
        } else {
            qdict_put_obj(target, new_key, qobject_ref(value));
        }
        free(new_key);
    }
}

void qdict_flatten(QDict *qdict)
{
    qdict_flatten_qdict(qdict, qdict, NULL);
}

/* ---- QList ------------------------------------------------------------ */

QList *qlist_new(void)
{
    QList *qlist = xzalloc(sizeof(*qlist));

    qobject_init(&qlist->base, QTYPE_QLIST);
    return qlist;
}

static void qlist_destroy(QList *qlist)
{
    size_t i;

    for (i = 0; i < qlist->len; i++) {
        qobject_unref(qlist->items[i]);
    }
    free(qlist->items);
}

void qlist_unref(QList *qlist)
{
    qobject_unref(QOBJECT(qlist));
}

void qlist_append_obj(QList *qlist, QObject *value)
{
    if (qlist->len == qlist->alloc) {
        qlist->alloc = qlist->alloc ? qlist->alloc * 2 : 8;
        qlist->items = xrealloc(qlist->items,
                                qlist->alloc * sizeof(*qlist->items));
    }
    qlist->items[qlist->len++] = value;
}

void qlist_append_str(QList *qlist, const char *value)
{
    qlist_append(qlist, qstring_from_str(value));
}

void qlist_append_int(QList *qlist, int64_t value)
{
    qlist_append(qlist, qnum_from_int(value));
}

size_t qlist_size(const QList *qlist)
{
    return qlist->len;
}

QObject *qlist_peek_nth(const QList *qlist, size_t n)
{
    return n < qlist->len ? qlist->items[n] : NULL;
}

/* ---- comparison ------------------------------------------------------- */

bool qobject_is_equal(const QObject *x, const QObject *y)
{
    if (x == y) {
        return true;
    }
    if (!x || !y || x->type != y->type) {
        return false;
    }
    switch (x->type) {
    case QTYPE_QNULL:
        return true;
    case QTYPE_QBOOL:
        return ((const QBool *)x)->value == ((const QBool *)y)->value;
    case QTYPE_QSTRING:
        return strcmp(((const QString *)x)->str,
                      ((const QString *)y)->str) == 0;
    case QTYPE_QNUM: {
        const QNum *a = (const QNum *)x, *b = (const QNum *)y;
        int64_t ia, ib;
        uint64_t ua, ub;

        if (a->kind != QNUM_DOUBLE && b->kind != QNUM_DOUBLE) {
            if (qnum_get_try_int(a, &ia) && qnum_get_try_int(b, &ib)) {
                return ia == ib;
            }
            if (qnum_get_try_uint(a, &ua) && qnum_get_try_uint(b, &ub)) {
                return ua == ub;
            }
            return false;
        }
        return qnum_get_double(a) == qnum_get_double(b);
    }
    case QTYPE_QLIST: {
        const QList *a = (const QList *)x, *b = (const QList *)y;
        size_t i;

        if (a->len != b->len) {
            return false;
        }
        for (i = 0; i < a->len; i++) {
            if (!qobject_is_equal(a->items[i], b->items[i])) {
                return false;
            }
        }
        return true;
    }
    case QTYPE_QDICT: {
        const QDict *a = (const QDict *)x, *b = (const QDict *)y;
        const QDictEntry *e;

        if (a->size != b->size) {
            return false;
        }
        for (e = qdict_first(a); e; e = qdict_next(a, e)) {
            if (!qobject_is_equal(e->value, qdict_get(b, e->key))) {
                return false;
            }
        }
        return true;
    }
    }
    return false;
}
