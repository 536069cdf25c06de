/*
 * The node graph: opening nodes (probing, options, children, backing
 * chains), permissions, reference counting, node queries and the control
 * operations that the front ends reach through block.h.
 *
 * Invariants:
 *  1. A node is freed only when its refcount drops to zero, after its
 *     requests drained and its driver closed; children are released after
 *     the driver's close (the driver may flush through them).
 *  2. Permissions flow top-down: a node's cumulative permissions are the
 *     union of what its parents take (and the intersection of what they
 *     share); each driver derives from them what it takes on its children;
 *     file nodes turn the result into OFD locks.
 *  3. Open options are a flat QDict with dotted keys; every option must be
 *     consumed by the core or a driver, leftovers fail the open.
 */
#include "config-host.h"

#include <ctype.h>
#include <sys/stat.h>

#include "block/block_int.h"
#include "block/dirty-bitmap.h"
#include "util/cutils.h"
#include "util/strbuf.h"

#define BACKING_CHAIN_MAX 1024

static int node_counter;

/* Every node that exists, for node-name lookups (duplicates). */
static LIST_HEAD(, BlockDriverState) all_nodes =
    LIST_HEAD_INITIALIZER(all_nodes);

/* Where the current blk_new_open_ext call collects its notes, or NULL. */
static BlockOpenNotes *open_notes;

/* ---- small parsers ------------------------------------------------------- */

bool bdrv_parse_cache_mode(const char *mode, int *flags)
{
    *flags &= ~BDRV_O_CACHE_MASK;

    if (!strcmp(mode, "off") || !strcmp(mode, "none")) {
        *flags |= BDRV_O_NOCACHE;
    } else if (!strcmp(mode, "directsync")) {
        *flags |= BDRV_O_NOCACHE | BDRV_O_WRITETHROUGH;
    } else if (!strcmp(mode, "writeback")) {
        /* nothing: the default */
    } else if (!strcmp(mode, "unsafe")) {
        *flags |= BDRV_O_NO_FLUSH;
    } else if (!strcmp(mode, "writethrough")) {
        *flags |= BDRV_O_WRITETHROUGH;
    } else {
        return false;
    }
    return true;
}

bool bdrv_parse_aio(const char *mode, int *flags)
{
    *flags &= ~(BDRV_O_NATIVE_AIO | BDRV_O_IO_URING | BDRV_O_THREADS_AIO);
    if (!strcmp(mode, "threads")) {
        *flags |= BDRV_O_THREADS_AIO;
    } else if (!strcmp(mode, "native")) {
        *flags |= BDRV_O_NATIVE_AIO;
    } else if (!strcmp(mode, "io_uring")) {
        *flags |= BDRV_O_IO_URING;
    } else {
        return false;
    }
    return true;
}

static const char *const prealloc_names[PREALLOC_MODE__MAX] = {
    [PREALLOC_MODE_OFF] = "off",
    [PREALLOC_MODE_METADATA] = "metadata",
    [PREALLOC_MODE_FALLOC] = "falloc",
    [PREALLOC_MODE_FULL] = "full",
};

int prealloc_mode_parse(const char *s)
{
    int i;

    if (!s) {
        return -1;
    }
    for (i = 0; i < PREALLOC_MODE__MAX; i++) {
        if (!strcmp(s, prealloc_names[i])) {
            return i;
        }
    }
    return -1;
}

const char *prealloc_mode_name(PreallocMode mode)
{
    if ((int)mode < 0 || mode >= PREALLOC_MODE__MAX) {
        return "invalid";
    }
    return prealloc_names[mode];
}

/* ---- options helpers ----------------------------------------------------- */

static void qdict_flatten_into(QDict *src, const char *prefix, QDict *dst);

/* Puts the elements of a list under "prefix.0", "prefix.1", ... */
static void qlist_flatten_into(QList *src, const char *prefix, QDict *dst)
{
    size_t i;

    for (i = 0; i < qlist_size(src); i++) {
        QObject *v = qlist_peek_nth(src, i);
        char *key = xasprintf("%s.%zu", prefix, i);

        if (qobject_type(v) == QTYPE_QDICT) {
            qdict_flatten_into(qobject_to_qdict(v), key, dst);
        } else if (qobject_type(v) == QTYPE_QLIST) {
            qlist_flatten_into(qobject_to_qlist(v), key, dst);
        } else {
            qdict_put_obj(dst, key, qobject_ref(v));
        }
        free(key);
    }
}

/*
 * Turns nested dicts ({"file": {"filename": "x"}}) and lists
 * ({"inject-error": [{"event": "read_aio"}]}) into dotted keys
 * ("file.filename", "inject-error.0.event").
 */
static void qdict_flatten_into(QDict *src, const char *prefix, QDict *dst)
{
    const QDictEntry *e;

    for (e = qdict_first(src); e; e = qdict_next(src, e)) {
        QObject *v = qdict_entry_value(e);
        char *key = prefix ? xasprintf("%s.%s", prefix, qdict_entry_key(e))
                           : xstrdup(qdict_entry_key(e));

        if (qobject_type(v) == QTYPE_QDICT) {
            qdict_flatten_into(qobject_to_qdict(v), key, dst);
        } else if (qobject_type(v) == QTYPE_QLIST) {
            qlist_flatten_into(qobject_to_qlist(v), key, dst);
        } else {
            qdict_put_obj(dst, key, qobject_ref(v));
        }
        free(key);
    }
}

static QDict *qdict_flattened(QDict *src)
{
    QDict *dst = qdict_new();

    qdict_flatten_into(src, NULL, dst);
    return dst;
}

static bool qdict_has_nested(QDict *d)
{
    const QDictEntry *e;

    for (e = qdict_first(d); e; e = qdict_next(d, e)) {
        QType t = qobject_type(qdict_entry_value(e));

        if (t == QTYPE_QDICT || t == QTYPE_QLIST) {
            return true;
        }
    }
    return false;
}

/*
 * Reads option key as a string (numbers and booleans are rendered as the
 * reference renders them). Returns a new string or NULL if absent.
 */
static char *opt_get_str(QDict *options, const char *key)
{
    QObject *v = qdict_get(options, key);
    int64_t i;

    if (!v) {
        return NULL;
    }
    switch (qobject_type(v)) {
    case QTYPE_QSTRING:
        return xstrdup(qstring_get_str(qobject_to_qstring(v)));
    case QTYPE_QBOOL:
        return xstrdup(qbool_get_bool(qobject_to_qbool(v)) ? "on" : "off");
    case QTYPE_QNUM:
        if (qnum_get_try_int(qobject_to_qnum(v), &i)) {
            return xasprintf("%" PRId64, i);
        }
        return xasprintf("%g", qnum_get_double(qobject_to_qnum(v)));
    default:
        return xstrdup("");
    }
}

/* Takes a boolean option out of options. false with errp on a bad value. */
static bool opt_take_bool(QDict *options, const char *key, bool *value,
                          Error **errp)
{
    QObject *v = qdict_get(options, key);
    bool ok = true;

    if (!v) {
        return true;
    }
    if (qobject_type(v) == QTYPE_QBOOL) {
        *value = qbool_get_bool(qobject_to_qbool(v));
    } else if (qobject_type(v) == QTYPE_QSTRING) {
        const char *s = qstring_get_str(qobject_to_qstring(v));

        if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true")) {
            *value = true;
        } else if (!strcmp(s, "off") || !strcmp(s, "no") ||
                   !strcmp(s, "false")) {
            *value = false;
        } else {
            error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
            ok = false;
        }
    } else {
        error_setg(errp, "Invalid parameter type for '%s', expected: boolean",
                   key);
        ok = false;
    }
    if (ok) {
        qdict_del(options, key);
    }
    return ok;
}

/* True if options hold key itself or any "key.*" option. */
static bool qdict_has_prefixed(QDict *options, const char *key)
{
    const QDictEntry *e;
    size_t len = strlen(key);

    for (e = qdict_first(options); e; e = qdict_next(options, e)) {
        const char *k = qdict_entry_key(e);

        if (!strncmp(k, key, len) && (k[len] == '\0' || k[len] == '.')) {
            return true;
        }
    }
    return false;
}

static bool opt_is_null(QDict *options, const char *key)
{
    QObject *v = qdict_get(options, key);

    if (!v) {
        return false;
    }
    if (qobject_type(v) == QTYPE_QNULL) {
        return true;
    }
    return qobject_type(v) == QTYPE_QSTRING &&
           !qstring_get_str(qobject_to_qstring(v))[0];
}

/* ---- registry access ----------------------------------------------------- */

BlockDriver *bdrv_find_format(const char *format_name)
{
    bdrv_init();
    return (BlockDriver *)bdrv_find_driver(format_name);
}

const char *bdrv_get_format_name(BlockDriverState *bs)
{
    return bs && bs->drv ? bs->drv->format_name : NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void bdrv_iterate_format(void (*it)(void *opaque, const char *name),
                         void *opaque)
{
    const char *names[64];
    int n = 0;
    int i;
    const BlockDriver *drv;

    for (i = 0; (drv = bdrv_driver_at(i)) && n < (int)ARRAY_SIZE(names);
         i++) {
        names[n++] = drv->format_name;
    }
    qsort(names, n, sizeof(names[0]), cmp_str);
    for (i = 0; i < n; i++) {
        it(opaque, names[i]);
    }
}

bool bdrv_is_whitelisted(BlockDriver *drv, bool read_only)
{
    return drv != NULL;
}

QemuOptsList *bdrv_create_opts(BlockDriver *drv)
{
    return drv ? drv->create_opts : NULL;
}

BlockDriver *bdrv_find_protocol(const char *filename, bool allow_prefix,
                                Error **errp)
{
    const BlockDriver *drv;
    const BlockDriver *best = NULL;
    int best_score = 0;
    const char *colon;
    char proto[64];
    size_t len;
    int i;

    bdrv_init();
    /* Devices are claimed by a protocol's probe_device (host_device). */
    for (i = 0; (drv = bdrv_driver_at(i)); i++) {
        if (!drv->is_format && drv->bdrv_probe_device) {
            int score = drv->bdrv_probe_device(filename);

            if (score > best_score) {
                best_score = score;
                best = drv;
            }
        }
    }
    if (best) {
        return (BlockDriver *)best;
    }

    colon = strchr(filename, ':');
    if (!path_has_protocol(filename) || !allow_prefix || !colon) {
        return (BlockDriver *)bdrv_find_protocol_by_name("file");
    }
    len = colon - filename;
    if (len >= sizeof(proto)) {
        len = sizeof(proto) - 1;
    }
    memcpy(proto, filename, len);
    proto[len] = '\0';
    drv = bdrv_find_protocol_by_name(proto);
    if (!drv) {
        error_setg(errp, "Unknown protocol '%s'", proto);
        return NULL;
    }
    return (BlockDriver *)drv;
}

/* ---- node lifecycle ------------------------------------------------------ */

static BlockDriverState *bdrv_new(void)
{
    BlockDriverState *bs = xzalloc(sizeof(*bs));

    bs->refcnt = 1;
    LIST_INIT(&bs->children);
    LIST_INIT(&bs->parents);
    LIST_INIT(&bs->tracked_requests);
    TAILQ_INIT(&bs->dirty_bitmaps);
    bs->cumulative_shared_perm = BLK_PERM_ALL;
    bs->bl.request_alignment = 1;
    /*
     * The reference's automatic names: a counter and two random digits
     * (names starting with '#' cannot be given by users).
     */
    snprintf(bs->node_name, sizeof(bs->node_name), "#block%d%02d",
             ++node_counter, rand() % 100);
    LIST_INSERT_HEAD(&all_nodes, bs, node_list);
    return bs;
}

void bdrv_ref(BlockDriverState *bs)
{
    bs->refcnt++;
}

static void bdrv_close(BlockDriverState *bs)
{
    BdrvChild *c;

    bdrv_drain(bs);
    /*
     * Nobody is left to hear about a failure to store bitmaps (the front
     * ends let go of images with nothing to report to); the format keeps
     * such bitmaps marked in use on disk, so the loss is visible later.
     */
    bdrv_store_dirty_bitmaps(bs, NULL);
    if (bs->drv && bs->drv->bdrv_close) {
        bs->drv->bdrv_close(bs);
    }
    bdrv_release_all_dirty_bitmaps(bs);
    bs->drv = NULL;
    while ((c = LIST_FIRST(&bs->children))) {
        bdrv_unref_child(bs, c);
    }
    if (bs->probe_file) {
        bdrv_unref(bs->probe_file);
        bs->probe_file = NULL;
    }
    free(bs->opaque);
    bs->opaque = NULL;
    if (bs->options) {
        qdict_unref(bs->options);
        bs->options = NULL;
    }
    if (bs->explicit_options) {
        qdict_unref(bs->explicit_options);
        bs->explicit_options = NULL;
    }
    if (bs->full_open_options) {
        qdict_unref(bs->full_open_options);
        bs->full_open_options = NULL;
    }
}

void bdrv_unref(BlockDriverState *bs)
{
    if (!bs) {
        return;
    }
    assert(bs->refcnt > 0);
    if (--bs->refcnt > 0) {
        return;
    }
    assert(LIST_EMPTY(&bs->parents));
    bdrv_close(bs);
    LIST_REMOVE(bs, node_list);
    free(bs);
}

/* ---- permissions --------------------------------------------------------- */

void bdrv_default_child_perm(BlockDriverState *bs, BdrvChildRole role,
                             uint64_t parent_perm, uint64_t parent_shared,
                             uint64_t *nperm, uint64_t *nshared)
{
    /*
     * What the node's users refuse to share, its children refuse too: a
     * user that wants a stable image (convert's sources) wants the whole
     * chain stable, as the reference does.
     */
    uint64_t shared = bs->force_share ? BLK_PERM_ALL
                                      : parent_shared & BLK_PERM_ALL;

    if (role == BDRV_CHILD_BACKING) {
        *nperm = BLK_PERM_CONSISTENT_READ;
        if (!bs->read_only && (bs->open_flags & BDRV_O_RDWR_BACKING)) {
            *nperm |= BLK_PERM_WRITE;
        }
        *nshared = shared;
        return;
    }
    /* 'info' reads no data (BDRV_O_NO_IO), only the format's metadata. */
    *nperm = (bs->open_flags & BDRV_O_NO_IO) ? 0 : BLK_PERM_CONSISTENT_READ;
    if (!bs->read_only) {
        *nperm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
    }
    if (bs->force_share) {
        *nshared = BLK_PERM_ALL;
    } else {
        *nshared = shared & ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
    }
}

static void bdrv_child_perm(BlockDriverState *bs, BdrvChild *c,
                            uint64_t *nperm, uint64_t *nshared)
{
    if (bs->drv && bs->drv->bdrv_child_perm) {
        bs->drv->bdrv_child_perm(bs, c->role, bs->cumulative_perm,
                                 bs->cumulative_shared_perm, nperm, nshared);
    } else {
        bdrv_default_child_perm(bs, c->role, bs->cumulative_perm,
                                bs->cumulative_shared_perm, nperm, nshared);
    }
}

/* Recomputes bs's cumulative permissions from its parents' edges. */
static void bdrv_update_cumulative(BlockDriverState *bs)
{
    BdrvChild *p;
    uint64_t perm = 0;
    uint64_t shared = BLK_PERM_ALL;

    LIST_FOREACH(p, &bs->parents, next_parent) {
        perm |= p->perm;
        shared &= p->shared_perm;
    }
    bs->cumulative_perm = perm;
    bs->cumulative_shared_perm = shared;
}

/*
 * Applies bs's cumulative permissions: to the driver (locks) and, through
 * the driver's policy, to each child. On failure the previous state is
 * restored as far as possible by the caller re-running this with the old
 * edge permissions.
 */
static int bdrv_apply_perms(BlockDriverState *bs, Error **errp)
{
    BdrvChild *c;
    int ret;

    bdrv_update_cumulative(bs);
    if (bs->read_only &&
        (bs->cumulative_perm & (BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED))) {
        error_setg(errp, "Block node is read-only");
        return -EPERM;
    }
    if (bs->drv && bs->drv->bdrv_set_perm) {
        ret = bs->drv->bdrv_set_perm(bs, bs->cumulative_perm,
                                     bs->cumulative_shared_perm, errp);
        if (ret < 0) {
            return ret;
        }
    }
    LIST_FOREACH(c, &bs->children, next) {
        uint64_t nperm;
        uint64_t nshared;

        bdrv_child_perm(bs, c, &nperm, &nshared);
        if (nperm != c->perm || nshared != c->shared_perm) {
            uint64_t old_perm = c->perm;
            uint64_t old_shared = c->shared_perm;

            c->perm = nperm;
            c->shared_perm = nshared;
            ret = bdrv_apply_perms(c->bs, errp);
            if (ret < 0) {
                c->perm = old_perm;
                c->shared_perm = old_shared;
                bdrv_apply_perms(c->bs, NULL);
                return ret;
            }
        }
    }
    return 0;
}

int bdrv_refresh_perms(BlockDriverState *bs, Error **errp)
{
    return bdrv_apply_perms(bs, errp);
}

/* ---- reopen (read-only <-> read-write) ----------------------------------- */

typedef struct ReopenNode {
    BlockDriverState *bs;
    int old_flags;
    int new_flags;
    bool prepared;
} ReopenNode;

typedef struct ReopenSet {
    ReopenNode *nodes;
    int n;
    int cap;
} ReopenSet;

/*
 * Adds bs and the nodes that follow its mode (storage children; the
 * backing chain only with BDRV_O_RDWR_BACKING), parents before children.
 */
static void reopen_collect(ReopenSet *set, BlockDriverState *bs,
                           bool read_only)
{
    BdrvChild *c;
    int i;

    for (i = 0; i < set->n; i++) {
        if (set->nodes[i].bs == bs) {
            return;
        }
    }
    if (set->n == set->cap) {
        set->cap = set->cap ? 2 * set->cap : 4;
        set->nodes = xrealloc(set->nodes, set->cap * sizeof(*set->nodes));
    }
    set->nodes[set->n++] = (ReopenNode) {
        .bs = bs,
        .old_flags = bs->open_flags,
        .new_flags = read_only ? bs->open_flags & ~BDRV_O_RDWR
                               : bs->open_flags | BDRV_O_RDWR,
    };
    LIST_FOREACH(c, &bs->children, next) {
        if (c->role == BDRV_CHILD_BACKING &&
            !(bs->open_flags & BDRV_O_RDWR_BACKING)) {
            continue;
        }
        reopen_collect(set, c->bs, read_only);
    }
}

/* Swaps the old and new modes (to go back after a failure). */
static void reopen_reverse(ReopenSet *set)
{
    int i;

    for (i = 0; i < set->n; i++) {
        int f = set->nodes[i].old_flags;

        set->nodes[i].old_flags = set->nodes[i].new_flags;
        set->nodes[i].new_flags = f;
    }
}

/* Asks each driver to get ready for its new mode; undoes all on failure. */
static int reopen_prepare_all(ReopenSet *set, Error **errp)
{
    int i;
    int ret;

    for (i = 0; i < set->n; i++) {
        BlockDriverState *bs = set->nodes[i].bs;

        if (!bs->drv || !bs->drv->bdrv_reopen_prepare) {
            continue;
        }
        ret = bs->drv->bdrv_reopen_prepare(bs, set->nodes[i].new_flags,
                                           errp);
        if (ret < 0) {
            while (--i >= 0) {
                BlockDriverState *p = set->nodes[i].bs;

                if (set->nodes[i].prepared && p->drv->bdrv_reopen_abort) {
                    p->drv->bdrv_reopen_abort(p);
                }
                set->nodes[i].prepared = false;
            }
            return ret;
        }
        set->nodes[i].prepared = true;
    }
    return 0;
}

/* Switches every prepared driver over. */
static void reopen_commit_all(ReopenSet *set)
{
    int i;

    for (i = 0; i < set->n; i++) {
        BlockDriverState *bs = set->nodes[i].bs;

        if (set->nodes[i].prepared && bs->drv->bdrv_reopen_commit) {
            bs->drv->bdrv_reopen_commit(bs);
        }
        set->nodes[i].prepared = false;
    }
}

/* Sets the nodes' mode; the permissions follow it on the next refresh. */
static void reopen_set_mode(ReopenSet *set)
{
    int i;

    for (i = 0; i < set->n; i++) {
        BlockDriverState *bs = set->nodes[i].bs;

        bs->open_flags = set->nodes[i].new_flags;
        bs->read_only = !(bs->open_flags & BDRV_O_RDWR);
    }
}

/*
 * The persistent bitmaps of a read-only node can be read, not changed (a
 * driver that marks them in use on disk does so in its reopen hooks).
 */
static void reopen_bitmaps_set_readonly(ReopenSet *set, bool readonly)
{
    int i;

    for (i = 0; i < set->n; i++) {
        BdrvDirtyBitmap *bm;

        for (bm = bdrv_dirty_bitmap_first(set->nodes[i].bs); bm;
             bm = bdrv_dirty_bitmap_next(bm)) {
            if (bdrv_dirty_bitmap_get_persistence(bm)) {
                bdrv_dirty_bitmap_set_readonly(bm, readonly);
            }
        }
    }
}

/*
 * Read-write: files are reopened first (so that a file we may not write
 * fails before any lock is taken), then the write permissions are taken;
 * if another process holds a conflicting lock, everything goes back.
 */
static int reopen_rw(ReopenSet *set, BlockDriverState *top, Error **errp)
{
    int i;
    int ret;

    for (i = 0; i < set->n; i++) {
        if (set->nodes[i].bs->force_share) {
            error_setg(errp, "force-share=on can only be used with "
                       "read-only images");
            return -EINVAL;
        }
    }
    ret = reopen_prepare_all(set, errp);
    if (ret < 0) {
        return ret;
    }
    reopen_commit_all(set);
    reopen_set_mode(set);
    ret = bdrv_refresh_perms(top, errp);
    if (ret >= 0) {
        reopen_bitmaps_set_readonly(set, false);
        for (i = 0; i < set->n; i++) {
            BlockDriverState *bs = set->nodes[i].bs;

            if (bs->drv && bs->drv->bdrv_reopen_commit_post) {
                bs->drv->bdrv_reopen_commit_post(bs);
            }
        }
    } else {
        reopen_reverse(set);
        reopen_set_mode(set);
        bdrv_refresh_perms(top, NULL);
        /* Back to the old descriptors' modes; a failure there is harmless. */
        if (reopen_prepare_all(set, NULL) == 0) {
            reopen_commit_all(set);
        }
    }
    return ret;
}

/*
 * Read-only: nobody may be writing; what the node cached reaches the disk
 * first, then the write permissions go, then the files are reopened.
 */
static int reopen_ro(ReopenSet *set, BlockDriverState *top, Error **errp)
{
    int ret;
    int i;

    if (top->cumulative_perm & (BLK_PERM_WRITE | BLK_PERM_RESIZE)) {
        error_setg(errp, "Cannot make node '%s' read-only while it is "
                   "being written to", top->node_name);
        return -EBUSY;
    }
    /* Persistent bitmaps cannot be stored once the node is read-only. */
    for (i = 0; i < set->n; i++) {
        ret = bdrv_store_dirty_bitmaps(set->nodes[i].bs, errp);
        if (ret < 0) {
            return ret;
        }
    }
    ret = bdrv_flush(top);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not flush '%s'", top->filename);
        return ret;
    }
    reopen_set_mode(set);
    reopen_bitmaps_set_readonly(set, true);
    bdrv_refresh_perms(top, NULL);
    /*
     * A file that cannot be opened read-only (write-only permissions)
     * keeps its descriptor: the node refuses writes all the same.
     */
    if (reopen_prepare_all(set, NULL) == 0) {
        reopen_commit_all(set);
    }
    return 0;
}

int bdrv_reopen_set_read_only(BlockDriverState *bs, bool read_only,
                              Error **errp)
{
    ReopenSet set = { NULL, 0, 0 };
    int ret;

    if (!bs->drv) {
        error_setg(errp, "No medium inserted");
        return -ENOMEDIUM;
    }
    if (bs->read_only == read_only) {
        return 0;
    }
    bdrv_drain(bs);
    reopen_collect(&set, bs, read_only);
    ret = read_only ? reopen_ro(&set, bs, errp) : reopen_rw(&set, bs, errp);
    free(set.nodes);
    return ret;
}

/* ---- children ------------------------------------------------------------ */

BdrvChild *bdrv_attach_child(BlockDriverState *parent,
                             BlockDriverState *child, const char *name,
                             BdrvChildRole role, Error **errp)
{
    BdrvChild *c = xzalloc(sizeof(*c));

    c->bs = child;
    c->parent = parent;
    c->name = xstrdup(name);
    c->role = role;
    c->perm = 0;
    c->shared_perm = BLK_PERM_ALL;
    if (parent) {
        bdrv_child_perm(parent, c, &c->perm, &c->shared_perm);
    }
    LIST_INSERT_HEAD(&child->parents, c, next_parent);
    if (bdrv_apply_perms(child, errp) < 0) {
        LIST_REMOVE(c, next_parent);
        bdrv_apply_perms(child, NULL);
        free(c->name);
        free(c);
        return NULL;
    }
    if (parent) {
        LIST_INSERT_HEAD(&parent->children, c, next);
        if (role == BDRV_CHILD_FILE && !parent->file) {
            parent->file = c;
        } else if (role == BDRV_CHILD_BACKING) {
            parent->backing = c;
        }
    }
    return c;
}

/* Detaches c and drops its reference to the child node. */
static void bdrv_detach_child(BdrvChild *c)
{
    BlockDriverState *child = c->bs;

    LIST_REMOVE(c, next_parent);
    bdrv_apply_perms(child, NULL);
    free(c->name);
    free(c);
    bdrv_unref(child);
}

void bdrv_unref_child(BlockDriverState *parent, BdrvChild *child)
{
    if (!child) {
        return;
    }
    if (parent) {
        LIST_REMOVE(child, next);
        if (parent->file == child) {
            parent->file = NULL;
        }
        if (parent->backing == child) {
            parent->backing = NULL;
        }
    }
    bdrv_detach_child(child);
}

void bdrv_set_backing_hd(BlockDriverState *bs, BlockDriverState *backing_hd,
                         Error **errp)
{
    if (bs->backing) {
        bdrv_unref_child(bs, bs->backing);
    }
    if (!backing_hd) {
        return;
    }
    bdrv_ref(backing_hd);
    if (!bdrv_attach_child(bs, backing_hd, "backing", BDRV_CHILD_BACKING,
                           errp)) {
        bdrv_unref(backing_hd);
    }
}

/* ---- filenames ----------------------------------------------------------- */

static bool bdrv_is_strong_opt(const BlockDriver *drv, const char *key)
{
    int i;

    if (!drv->strong_runtime_opts) {
        return false;
    }
    for (i = 0; drv->strong_runtime_opts[i]; i++) {
        const char *opt = drv->strong_runtime_opts[i];
        size_t len = strlen(opt);

        if (len && opt[len - 1] == '.' ? !strncmp(opt, key, len)
                                       : !strcmp(opt, key)) {
            return true;
        }
    }
    return false;
}

/*
 * Names the node as the reference does: a format node takes its file's
 * name unless options that change the data were given, in which case the
 * name is "json:" and the options that reproduce the node.
 */
static void bdrv_refresh_filename(BlockDriverState *bs)
{
    QDict *full = qdict_new();
    bool strong = false;
    const QDictEntry *e;

    qdict_put_str(full, "driver", bs->drv->format_name);
    if (bs->explicit_options) {
        for (e = qdict_first(bs->explicit_options); e;
             e = qdict_next(bs->explicit_options, e)) {
            if (bdrv_is_strong_opt(bs->drv, qdict_entry_key(e))) {
                qdict_put_obj(full, qdict_entry_key(e),
                              qobject_ref(qdict_entry_value(e)));
                strong = true;
            }
        }
    }
    if (!bs->drv->is_format && LIST_EMPTY(&bs->children)) {
        qdict_put_str(full, "filename", bs->filename);
        pstrcpy(bs->exact_filename, sizeof(bs->exact_filename),
                bs->filename);
    } else if (!bs->drv->is_format) {
        /* A protocol over other nodes (blkdebug): their options nest. */
        BdrvChild *c;

        LIST_FOREACH(c, &bs->children, next) {
            if (c->role != BDRV_CHILD_BACKING && c->bs->full_open_options) {
                qdict_put_obj(full, c->name,
                              qobject_ref(QOBJECT(c->bs->full_open_options)));
            }
        }
        if (bs->full_open_options) {
            qdict_unref(bs->full_open_options);
        }
        bs->full_open_options = full;
        bs->exact_filename[0] = '\0';
        if (bs->drv->bdrv_refresh_filename) {
            bs->drv->bdrv_refresh_filename(bs);
        }
        if (bs->exact_filename[0]) {
            pstrcpy(bs->filename, sizeof(bs->filename), bs->exact_filename);
        } else {
            char *json = qobject_to_json(QOBJECT(full), false);

            snprintf(bs->filename, sizeof(bs->filename), "json:%s", json);
            free(json);
        }
        return;
    } else if (bs->file) {
        BlockDriverState *f = bs->file->bs;

        if (f->full_open_options) {
            qdict_put_obj(full, "file",
                          qobject_ref(QOBJECT(f->full_open_options)));
        }
        if (!strong && f->exact_filename[0]) {
            pstrcpy(bs->filename, sizeof(bs->filename), f->filename);
            pstrcpy(bs->exact_filename, sizeof(bs->exact_filename),
                    f->exact_filename);
        } else {
            char *json = qobject_to_json(QOBJECT(full), false);

            snprintf(bs->filename, sizeof(bs->filename), "json:%s", json);
            bs->exact_filename[0] = '\0';
            free(json);
        }
    }
    if (bs->full_open_options) {
        qdict_unref(bs->full_open_options);
    }
    bs->full_open_options = full;
}

/* ---- probing ------------------------------------------------------------- */

static const BlockDriver *bdrv_probe_format(const uint8_t *buf, int len,
                                            const char *filename)
{
    const BlockDriver *drv;
    const BlockDriver *best = NULL;
    int best_score = 0;
    int i;

    for (i = 0; (drv = bdrv_driver_at(i)); i++) {
        if (drv->is_format && drv->bdrv_probe) {
            int score = drv->bdrv_probe(buf, len, filename);

            if (score > best_score) {
                best_score = score;
                best = drv;
            }
        }
    }
    return best;
}

/* The format whose probe beats raw's on buf (for probed raw writes). */
const BlockDriver *bdrv_probe_all(const uint8_t *buf, int len,
                                  const char *filename);
const BlockDriver *bdrv_probe_all(const uint8_t *buf, int len,
                                  const char *filename)
{
    return bdrv_probe_format(buf, len, filename);
}

static const BlockDriver *bdrv_probe_file(BlockDriverState *file,
                                          const char *filename,
                                          Error **errp)
{
    uint8_t *buf;
    int64_t len;
    int ret;
    const BlockDriver *drv = NULL;
    BdrvChild tmp;

    len = bdrv_getlength(file);
    if (len < 0) {
        error_setg_errno(errp, -len, "Could not read image for determining "
                         "its format");
        return NULL;
    }
    len = MIN(len, BLOCK_PROBE_BUF_SIZE);
    buf = qemu_blockalign0(BLOCK_PROBE_BUF_SIZE);
    /* A temporary edge that takes no permissions, for the read. */
    memset(&tmp, 0, sizeof(tmp));
    tmp.bs = file;
    tmp.name = (char *)"file";
    tmp.role = BDRV_CHILD_FILE;
    ret = len > 0 ? bdrv_pread(&tmp, 0, len, buf, 0) : 0;
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read image for determining "
                         "its format");
        goto out;
    }
    drv = bdrv_probe_format(buf, (int)len, filename);
    if (!drv) {
        error_setg(errp, "Could not determine image format: No compatible "
                   "driver found");
    }
out:
    qemu_vfree(buf);
    return drv;
}

/* ---- opening ------------------------------------------------------------- */

/* Paths of the images whose backing files are being opened (loop check). */
static char *backing_stack[BACKING_CHAIN_MAX];
static int backing_stack_len;

static BlockDriverState *bdrv_open_inherit(const char *filename,
                                           QDict *options,
                                           const BlockDriver *drv,
                                           int flags, int depth,
                                           Error **errp);

/* Flags a child inherits from its parent. */
static int bdrv_child_flags(int parent_flags, BdrvChildRole role)
{
    int flags = parent_flags;

    flags &= ~(BDRV_O_PROTOCOL | BDRV_O_CHECK);
    if (role == BDRV_CHILD_BACKING) {
        if (!(parent_flags & BDRV_O_RDWR_BACKING)) {
            flags &= ~BDRV_O_RDWR;
        }
        flags &= ~BDRV_O_RESIZE;
        /* The backing file is never written through, so never flushed. */
        flags &= ~BDRV_O_WRITETHROUGH;
    } else {
        /*
         * As the reference: storage children always take discards; the
         * format above decides which to pass (qcow2's pass-discard-*).
         */
        flags |= BDRV_O_PROTOCOL | BDRV_O_NO_BACKING | BDRV_O_UNMAP;
    }
    return flags;
}

/*
 * Opens the node for child child_name of a parent with parent_flags, from
 * the "<child_name>." options (removed from parent_options) or filename.
 * *none is set when there is nothing to open.
 */
static BlockDriverState *bdrv_open_child_bs(const char *filename,
                                            QDict *parent_options,
                                            const char *child_name,
                                            int parent_flags, int depth,
                                            BdrvChildRole role,
                                            bool allow_none, Error **errp)
{
    QDict *sub = NULL;
    char *prefix = xasprintf("%s.", child_name);
    BlockDriverState *bs = NULL;
    int flags = bdrv_child_flags(parent_flags, role);
    const char *ref;

    qdict_extract_subqdict(parent_options, &sub, prefix);
    if (!sub) {
        sub = qdict_new();
    }
    ref = qdict_get_try_str(parent_options, child_name);
    if (ref && (filename || qdict_size(sub))) {
        error_setg(errp, "Cannot reference an existing block device with "
                   "additional options or a new filename");
        goto out;
    }
    if (ref) {
        /*
         * "file": "name" refers to an existing node (or device) by name;
         * a front end opening one image has none to refer to. The name is
         * looked up as both, as the reference's message says.
         */
        error_setg(errp, "Cannot find device='%s' nor node-name='%s'", ref,
                   ref);
        goto out;
    }
    qdict_del(parent_options, child_name);
    if (!filename && !qdict_size(sub)) {
        if (!allow_none) {
            error_setg(errp, "A block device must be specified for \"%s\"",
                       child_name);
        }
        goto out;
    }
    /* A child naming a format driver is opened as a format. */
    if (qdict_get_try_str(sub, "driver")) {
        const BlockDriver *d =
            bdrv_find_driver(qdict_get_try_str(sub, "driver"));

        if (d && d->is_format) {
            flags &= ~BDRV_O_PROTOCOL;
        }
    }
    bs = bdrv_open_inherit(filename, sub, NULL, flags, depth, errp);
    sub = NULL;
out:
    if (sub) {
        qdict_unref(sub);
    }
    free(prefix);
    return bs;
}

BdrvChild *bdrv_open_child(const char *filename, QDict *parent_options,
                           const char *child_name, BlockDriverState *parent,
                           BdrvChildRole role, bool allow_none, Error **errp)
{
    BlockDriverState *bs;
    BdrvChild *c;
    Error *local_err = NULL;

    if (role == BDRV_CHILD_FILE && parent->probe_file &&
        !strcmp(child_name, "file")) {
        bs = parent->probe_file;
        parent->probe_file = NULL;
    } else {
        bs = bdrv_open_child_bs(filename, parent_options, child_name,
                                parent->open_flags, parent->backing_depth,
                                role, allow_none, &local_err);
        if (!bs) {
            error_propagate(errp, local_err);
            return NULL;
        }
    }
    c = bdrv_attach_child(parent, bs, child_name, role, errp);
    if (!c) {
        bdrv_unref(bs);
    }
    return c;
}

int bdrv_open_file_child(const char *filename, QDict *options,
                         BlockDriverState *parent, Error **errp)
{
    Error *local_err = NULL;

    if (!bdrv_open_child(filename, options, "file", parent, BDRV_CHILD_FILE,
                         false, &local_err)) {
        error_propagate(errp, local_err);
        return -EINVAL;
    }
    return 0;
}

/* Set while the error of a looping or too deep chain goes up the stack. */
static bool backing_chain_broken;

static bool backing_stack_push(const char *path, Error **errp)
{
    char *real = realpath(path, NULL);
    int count = 0;
    int i;

    if (!real) {
        real = xstrdup(path);
    }
    for (i = 0; i < backing_stack_len; i++) {
        if (!strcmp(backing_stack[i], real)) {
            count++;
        }
    }
    /*
     * The first repeat is let through: opening it takes the file's locks,
     * which is what makes the reference fail read-write loops. A second
     * one is a loop for sure (read-only opens would otherwise recurse
     * forever).
     */
    if (count >= 2 || backing_stack_len >= BACKING_CHAIN_MAX) {
        backing_chain_broken = true;
        if (count >= 2) {
            error_setg(errp, "Backing file '%s' creates an infinite loop",
                       path);
        } else {
            error_setg(errp, "Backing chain is too deep");
        }
        free(real);
        return false;
    }
    backing_stack[backing_stack_len++] = real;
    return true;
}

static void backing_stack_pop(void)
{
    free(backing_stack[--backing_stack_len]);
}

int bdrv_open_backing_file(BlockDriverState *bs, QDict *parent_options,
                           Error **errp)
{
    QDict *sub = NULL;
    char *backing_filename = NULL;
    const BlockDriver *drv = NULL;
    BlockDriverState *backing_bs = NULL;
    const char *fmt;
    Error *local_err = NULL;
    int ret = 0;
    int flags;
    bool pushed = false;

    if (bs->backing) {
        return 0;
    }
    if (parent_options && opt_is_null(parent_options, "backing")) {
        qdict_del(parent_options, "backing");
        return 0;
    }
    if (parent_options) {
        qdict_extract_subqdict(parent_options, &sub, "backing.");
    }
    if (!sub) {
        sub = qdict_new();
    }
    if (!qdict_size(sub) && !bs->backing_file[0]) {
        goto out;
    }
    if (!qdict_size(sub) ||
        (!qdict_haskey(sub, "file.filename") &&
         !qdict_haskey(sub, "filename") && !qdict_haskey(sub, "file.driver"))) {
        backing_filename = bdrv_get_full_backing_filename(bs, &local_err);
        if (!backing_filename) {
            ret = -EINVAL;
            goto fail;
        }
        pstrcpy(bs->full_backing_filename, sizeof(bs->full_backing_filename),
                backing_filename);
    }
    fmt = qdict_get_try_str(sub, "driver");
    if (!fmt && bs->backing_format[0]) {
        fmt = bs->backing_format;
        drv = bdrv_find_format(fmt);
        if (!drv) {
            error_setg(&local_err, "Unknown driver '%s'", fmt);
            ret = -EINVAL;
            goto fail;
        }
    }
    if (backing_filename) {
        if (!backing_stack_push(backing_filename, &local_err)) {
            ret = -ELOOP;
            goto fail;
        }
        pushed = true;
    }
    flags = bdrv_child_flags(bs->open_flags, BDRV_CHILD_BACKING);
    backing_bs = bdrv_open_inherit(backing_filename, sub, drv, flags,
                                   bs->backing_depth + 1, &local_err);
    sub = NULL;
    if (!backing_bs) {
        ret = -EINVAL;
        goto fail;
    }
    if (!bdrv_attach_child(bs, backing_bs, "backing", BDRV_CHILD_BACKING,
                           &local_err)) {
        bdrv_unref(backing_bs);
        ret = -EINVAL;
        goto fail;
    }
    goto out;

fail:
    /* A loop or a too deep chain is said once, not once per level. */
    if (!backing_chain_broken || backing_stack_len <= (pushed ? 1 : 0)) {
        error_prepend(&local_err, "Could not open backing file: ");
        backing_chain_broken = false;
    }
    error_propagate(errp, local_err);
out:
    if (pushed) {
        backing_stack_pop();
    }
    if (sub) {
        qdict_unref(sub);
    }
    free(backing_filename);
    return ret;
}

/*
 * A user's node name: a letter, then letters, digits, '-', '.' and '_'
 * (automatic names start with '#'), unique among the nodes that exist.
 */
static bool bdrv_set_node_name(BlockDriverState *bs, const char *name,
                               Error **errp)
{
    BlockDriverState *other;
    const char *p;

    if (!isalpha((unsigned char)name[0])) {
        goto invalid;
    }
    for (p = name + 1; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr("-._", *p)) {
            goto invalid;
        }
    }
    if (strlen(name) >= sizeof(bs->node_name)) {
        error_setg(errp, "Node name too long");
        return false;
    }
    LIST_FOREACH(other, &all_nodes, node_list) {
        if (other != bs && !strcmp(other->node_name, name)) {
            error_setg(errp, "Duplicate nodes with node-name='%s'", name);
            return false;
        }
    }
    pstrcpy(bs->node_name, sizeof(bs->node_name), name);
    return true;

invalid:
    error_setg(errp, "Invalid node-name: '%s'", name);
    return false;
}

/* Takes the driver-independent options out of options into bs and flags. */
static bool bdrv_take_common_options(BlockDriverState *bs, QDict *options,
                                     int *flags, Error **errp)
{
    bool b;
    char *s;

    /* read-only=off makes the node writable even on a read-only open. */
    b = !(*flags & BDRV_O_RDWR);
    if (!opt_take_bool(options, "read-only", &b, errp)) {
        return false;
    }
    *flags = b ? (*flags & ~BDRV_O_RDWR) : (*flags | BDRV_O_RDWR);
    qdict_del(options, "auto-read-only");
    b = *flags & BDRV_O_NOCACHE;
    if (!opt_take_bool(options, "cache.direct", &b, errp)) {
        return false;
    }
    *flags = b ? (*flags | BDRV_O_NOCACHE) : (*flags & ~BDRV_O_NOCACHE);
    b = *flags & BDRV_O_NO_FLUSH;
    if (!opt_take_bool(options, "cache.no-flush", &b, errp)) {
        return false;
    }
    *flags = b ? (*flags | BDRV_O_NO_FLUSH) : (*flags & ~BDRV_O_NO_FLUSH);
    b = *flags & BDRV_O_FORCE_SHARE;
    if (!opt_take_bool(options, "force-share", &b, errp)) {
        return false;
    }
    *flags = b ? (*flags | BDRV_O_FORCE_SHARE)
               : (*flags & ~BDRV_O_FORCE_SHARE);
    if ((*flags & BDRV_O_FORCE_SHARE) && (*flags & BDRV_O_RDWR)) {
        error_setg(errp, "force-share=on can only be used with read-only "
                   "images");
        return false;
    }
    bs->force_share = *flags & BDRV_O_FORCE_SHARE;

    s = opt_get_str(options, "discard");
    if (s) {
        if (!strcmp(s, "ignore") || !strcmp(s, "off")) {
            *flags &= ~BDRV_O_UNMAP;
        } else if (!strcmp(s, "unmap") || !strcmp(s, "on")) {
            *flags |= BDRV_O_UNMAP;
        } else {
            error_setg(errp, "Invalid discard option");
            free(s);
            return false;
        }
        free(s);
        qdict_del(options, "discard");
    }
    s = opt_get_str(options, "detect-zeroes");
    if (s) {
        if (!strcmp(s, "off")) {
            bs->detect_zeroes = BDRV_DETECT_ZEROES_OFF;
        } else if (!strcmp(s, "on")) {
            bs->detect_zeroes = BDRV_DETECT_ZEROES_ON;
        } else if (!strcmp(s, "unmap")) {
            bs->detect_zeroes = BDRV_DETECT_ZEROES_UNMAP;
        } else {
            error_setg(errp, "invalid parameter value: %s", s);
            free(s);
            return false;
        }
        free(s);
        qdict_del(options, "detect-zeroes");
        if (bs->detect_zeroes == BDRV_DETECT_ZEROES_UNMAP &&
            !(*flags & BDRV_O_UNMAP)) {
            error_setg(errp, "setting detect-zeroes to unmap is not allowed "
                       "without setting discard operation to unmap");
            return false;
        }
    }
    s = opt_get_str(options, "node-name");
    if (s) {
        bool ok = bdrv_set_node_name(bs, s, errp);

        free(s);
        if (!ok) {
            return false;
        }
        qdict_del(options, "node-name");
    }
    return true;
}

/* Default limits before the driver refines them. */
static void bdrv_refresh_limits(BlockDriverState *bs, Error **errp)
{
    memset(&bs->bl, 0, sizeof(bs->bl));
    bs->bl.request_alignment = 1;
    bs->bl.min_mem_alignment = 1;
    bs->bl.opt_mem_alignment = 4096;
    if (bs->file) {
        BlockLimits *fl = &bs->file->bs->bl;

        bs->bl.min_mem_alignment = fl->min_mem_alignment;
        bs->bl.opt_mem_alignment = fl->opt_mem_alignment;
        bs->bl.max_iov = fl->max_iov;
    }
    if (bs->drv && bs->drv->bdrv_refresh_limits) {
        bs->drv->bdrv_refresh_limits(bs, errp);
    }
    if (!bs->bl.request_alignment) {
        bs->bl.request_alignment = 1;
    }
    assert(IS_POWER_OF_2(bs->bl.request_alignment));
}

static BlockDriverState *bdrv_open_inherit(const char *filename,
                                           QDict *options,
                                           const BlockDriver *drv,
                                           int flags, int depth,
                                           Error **errp)
{
    BlockDriverState *bs = NULL;
    BlockDriverState *file = NULL;
    Error *local_err = NULL;
    const char *drvname;
    const QDictEntry *e;
    bool probed = false;
    bool opened = false;
    bool protocol;
    bool open_backing;
    int ret;

    bdrv_init();
    if (!options) {
        options = qdict_new();
    }
    if (filename && strstart(filename, "json:", NULL)) {
        QObject *obj = qobject_from_json(filename + 5, &local_err);
        QDict *json;

        if (!obj) {
            error_prepend(&local_err, "Could not parse the JSON options: ");
            goto fail;
        }
        json = qobject_to_qdict(obj);
        if (!json) {
            qobject_unref(obj);
            error_setg(&local_err, "Invalid JSON object given");
            goto fail;
        }
        {
            QDict *flat = qdict_flattened(json);

            qdict_join(options, flat, false);
            qdict_unref(flat);
        }
        qobject_unref(obj);
        filename = NULL;
    }
    if (qdict_has_nested(options)) {
        QDict *flat = qdict_flattened(options);

        qdict_unref(options);
        options = flat;
    }

    drvname = qdict_get_try_str(options, "driver");
    if (drvname) {
        const BlockDriver *d = bdrv_find_driver(drvname);

        if (!d) {
            error_setg(&local_err, "Unknown driver '%s'", drvname);
            goto fail;
        }
        if (!drv) {
            drv = d;
        }
        qdict_del(options, "driver");
    }
    if (qdict_get_try_str(options, "backing") &&
        !qdict_get_try_str(options, "backing")[0] && open_notes) {
        strbuf_addstr(&open_notes->warnings, "Use of \"backing\": \"\" is "
                      "deprecated; use \"backing\": null instead\n");
    }

    /*
     * A protocol node's file name is its "filename" option; a format
     * node's is its file child's ("file.filename"). The name given apart
     * from the options stands for that option and may not repeat it.
     */
    protocol = drv ? !drv->is_format : (flags & BDRV_O_PROTOCOL);
    if (filename) {
        if (qdict_haskey(options, protocol ? "filename" : "file.filename")) {
            error_setg(&local_err, "Can't specify 'file' and 'filename' "
                       "options at the same time");
            goto fail;
        }
    } else if (protocol) {
        filename = qdict_get_try_str(options, "filename");
    } else if (!drv && !qdict_has_prefixed(options, "file")) {
        error_setg(&local_err, "Must specify either driver or file");
        goto fail;
    }

    bs = bdrv_new();
    bs->backing_depth = depth;
    bs->explicit_options = qdict_clone_shallow(options);
    if (!bdrv_take_common_options(bs, options, &flags, &local_err)) {
        goto fail;
    }

    if (drv && !drv->is_format) {
        flags |= BDRV_O_PROTOCOL;
    } else if (drv) {
        flags &= ~BDRV_O_PROTOCOL;
    }

    if (flags & BDRV_O_PROTOCOL) {
        if (!drv) {
            if (!filename) {
                error_setg(&local_err, "The 'file' block driver requires a "
                           "file name");
                goto fail;
            }
            drv = bdrv_find_protocol(filename, true, &local_err);
            if (!drv) {
                goto fail;
            }
        }
        if (filename && !qdict_haskey(options, "filename")) {
            qdict_put_str(options, "filename", filename);
        }
    } else {
        /*
         * The core opens a format's file child itself, before the driver,
         * so that it can probe; the driver takes it over through
         * bdrv_open_file_child.
         */
        file = bdrv_open_child_bs(filename, options, "file", flags, depth,
                                  BDRV_CHILD_FILE, true, &local_err);
        if (local_err) {
            goto fail;
        }
        if (!drv) {
            if (!file) {
                error_setg(&local_err, "A block device must be specified "
                           "for \"file\"");
                goto fail;
            }
            drv = bdrv_probe_file(file, filename, &local_err);
            if (!drv) {
                goto fail;
            }
            probed = true;
            /* The reference warns at once, however the open ends. */
            if (!strcmp(drv->format_name, "raw") && (flags & BDRV_O_RDWR) &&
                open_notes && !open_notes->probed_raw) {
                open_notes->probed_raw = xstrdup(file->filename);
            }
        }
        bs->probe_file = file;
        file = NULL;
    }

    bs->drv = drv;
    bs->open_flags = flags;
    bs->read_only = !(flags & BDRV_O_RDWR);
    bs->probed_raw = probed && !strcmp(drv->format_name, "raw");
    if (filename) {
        pstrcpy(bs->filename, sizeof(bs->filename), filename);
    }
    bs->opaque = drv->instance_size ? xzalloc(drv->instance_size) : NULL;
    bs->options = qdict_clone_shallow(options);

    ret = drv->bdrv_open(bs, options, flags, &local_err);
    if (ret < 0) {
        if (!local_err) {
            error_setg_errno(&local_err, -ret, "Could not open '%s'",
                             filename ? filename : "");
        }
        goto fail;
    }
    opened = true;
    if (bs->probe_file) {
        /* The driver did not want a file child. */
        bdrv_unref(bs->probe_file);
        bs->probe_file = NULL;
    }
    bdrv_refresh_limits(bs, &local_err);
    if (local_err) {
        goto fail;
    }
    if (!drv->is_format) {
        ret = bdrv_refresh_total_sectors(bs, -1);
        if (ret < 0) {
            error_setg_errno(&local_err, -ret, "Could not refresh total "
                             "sector count");
            goto fail;
        }
    }

    /*
     * Backing options: the backing open below takes them; a driver that
     * has no backing files refuses them unless no backing file is wanted
     * anyway (BDRV_O_NO_BACKING: then they are unknown options below).
     * "backing": null asks for none, which every driver can do.
     */
    open_backing = drv->supports_backing && !(flags & BDRV_O_NO_BACKING);
    if (!open_backing && opt_is_null(options, "backing")) {
        qdict_del(options, "backing");
    }
    if (!drv->supports_backing && !(flags & BDRV_O_NO_BACKING) &&
        qdict_has_prefixed(options, "backing")) {
        error_setg(&local_err, "Driver doesn't support backing files");
        goto fail;
    }

    /* Every option must have been understood by now. */
    for (e = qdict_first(options); e; e = qdict_next(options, e)) {
        const char *key = qdict_entry_key(e);

        if (open_backing &&
            (!strcmp(key, "backing") || strstart(key, "backing.", NULL))) {
            continue;
        }
        if (drv->is_format) {
            error_setg(&local_err, "Block format '%s' does not support the "
                       "option '%s'", drv->format_name, key);
        } else {
            error_setg(&local_err, "Block protocol '%s' doesn't support the "
                       "option '%s'", drv->format_name, key);
        }
        goto fail;
    }

    bdrv_refresh_filename(bs);

    if (open_backing) {
        if (bdrv_open_backing_file(bs, options, &local_err) < 0) {
            goto fail;
        }
    }
    for (e = qdict_first(options); e; e = qdict_next(options, e)) {
        const char *key = qdict_entry_key(e);

        if (strstart(key, "backing.", NULL)) {
            error_setg(&local_err, "Block format '%s' does not support the "
                       "option '%s'", drv->format_name, key);
            goto fail;
        }
    }
    qdict_unref(options);
    return bs;

fail:
    if (file) {
        bdrv_unref(file);
    }
    if (bs) {
        /*
         * A driver whose open failed has cleaned up after itself: drop it
         * so that bdrv_close does not call its close. One that opened is
         * closed normally.
         */
        if (!opened) {
            bs->drv = NULL;
        }
        bdrv_unref(bs);
    }
    qdict_unref(options);
    error_propagate(errp, local_err);
    return NULL;
}

BlockOpenNotes *bdrv_open_notes_swap(BlockOpenNotes *notes)
{
    BlockOpenNotes *old = open_notes;

    open_notes = notes;
    return old;
}

void block_open_notes_release(BlockOpenNotes *notes)
{
    strbuf_release(&notes->warnings);
    free(notes->probed_raw);
    notes->probed_raw = NULL;
}

BlockDriverState *bdrv_open(const char *filename, QDict *options,
                            const BlockDriver *drv, int flags, Error **errp)
{
    return bdrv_open_inherit(filename, options, drv, flags, 0, errp);
}

/* ---- blkdebug breakpoints ------------------------------------------------ */

/*
 * The first node from bs down its file (or backing) children whose driver
 * has breakpoints, or NULL.
 */
static BlockDriverState *bdrv_debug_node(BlockDriverState *bs)
{
    while (bs && bs->drv && !bs->drv->bdrv_debug_breakpoint) {
        BdrvChild *c = bs->file ? bs->file : bs->backing;

        bs = c ? c->bs : NULL;
    }
    return bs && bs->drv ? bs : NULL;
}

int bdrv_debug_breakpoint(BlockDriverState *bs, const char *event,
                          const char *tag)
{
    bs = bdrv_debug_node(bs);
    return bs ? bs->drv->bdrv_debug_breakpoint(bs, event, tag) : -ENOTSUP;
}

int bdrv_debug_remove_breakpoint(BlockDriverState *bs, const char *tag)
{
    bs = bdrv_debug_node(bs);
    return bs ? bs->drv->bdrv_debug_remove_breakpoint(bs, tag) : -ENOTSUP;
}

int bdrv_debug_resume(BlockDriverState *bs, const char *tag)
{
    bs = bdrv_debug_node(bs);
    return bs ? bs->drv->bdrv_debug_resume(bs, tag) : -ENOTSUP;
}

bool bdrv_debug_is_suspended(BlockDriverState *bs, const char *tag)
{
    bs = bdrv_debug_node(bs);
    return bs && bs->drv->bdrv_debug_is_suspended(bs, tag);
}

/* ---- node queries -------------------------------------------------------- */

const char *bdrv_get_filename(BlockDriverState *bs)
{
    return bs->filename;
}

bool bdrv_is_read_only(BlockDriverState *bs)
{
    return bs->read_only;
}

bool bdrv_is_encrypted(BlockDriverState *bs)
{
    return bs->encrypted;
}

bool bdrv_is_probed_raw(BlockDriverState *bs)
{
    return bs->probed_raw;
}

bool bdrv_has_zero_init(BlockDriverState *bs)
{
    if (!bs->drv) {
        return false;
    }
    if (bs->backing) {
        /* A fresh overlay reads its backing file, not zeroes. */
        return false;
    }
    if (bs->drv->bdrv_has_zero_init) {
        return bs->drv->bdrv_has_zero_init(bs) > 0;
    }
    return false;
}

BlockDriverState *bdrv_file_node(BlockDriverState *bs)
{
    return bs->file ? bs->file->bs : NULL;
}

BlockDriverState *bdrv_backing_node(BlockDriverState *bs)
{
    return bs->backing ? bs->backing->bs : NULL;
}

const char *bdrv_get_backing_filename(BlockDriverState *bs)
{
    return bs->backing_file;
}

const char *bdrv_get_backing_format(BlockDriverState *bs)
{
    return bs->backing_format;
}

char *bdrv_get_full_backing_filename(BlockDriverState *bs, Error **errp)
{
    const char *base;

    if (!bs->backing_file[0]) {
        return xstrdup("");
    }
    if (path_is_absolute(bs->backing_file) ||
        path_has_protocol(bs->backing_file)) {
        return xstrdup(bs->backing_file);
    }
    base = bs->exact_filename[0] ? bs->exact_filename : NULL;
    if (!base && bs->file && bs->file->bs->exact_filename[0]) {
        base = bs->file->bs->exact_filename;
    }
    if (!base) {
        error_setg(errp, "Cannot use relative backing file names for '%s'",
                   bs->filename);
        return NULL;
    }
    return path_combine(base, bs->backing_file);
}

int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    memset(bdi, 0, sizeof(*bdi));
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (!bs->drv->bdrv_get_info) {
        return -ENOTSUP;
    }
    return bs->drv->bdrv_get_info(bs, bdi);
}

int bdrv_get_cluster_size(BlockDriverState *bs)
{
    BlockDriverInfo bdi;

    if (bdrv_get_info(bs, &bdi) < 0 || bdi.cluster_size <= 0) {
        return 0;
    }
    return bdi.cluster_size;
}

QDict *bdrv_get_specific_info(BlockDriverState *bs, Error **errp)
{
    if (bs->drv && bs->drv->bdrv_get_specific_info) {
        return bs->drv->bdrv_get_specific_info(bs, errp);
    }
    return NULL;
}

int64_t bdrv_get_allocated_file_size(BlockDriverState *bs)
{
    int64_t total = 0;
    BdrvChild *c;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->drv->bdrv_get_allocated_file_size) {
        return bs->drv->bdrv_get_allocated_file_size(bs);
    }
    if (!bs->drv->is_format) {
        return -ENOTSUP;
    }
    /*
     * A format occupies what its file occupies. An external data file is
     * not counted, as the reference does not; formats whose data lives in
     * several files (vmdk extents) implement the callback.
     */
    LIST_FOREACH(c, &bs->children, next) {
        int64_t n;

        if (c->role != BDRV_CHILD_FILE && c->role != BDRV_CHILD_METADATA) {
            continue;
        }
        n = bdrv_get_allocated_file_size(c->bs);
        if (n < 0) {
            return n;
        }
        total += n;
    }
    return total;
}

/* ---- control operations -------------------------------------------------- */

typedef struct CheckCo {
    BlockDriverState *bs;
    BdrvCheckResult *res;
    BdrvCheckMode fix;
    int ret;
    bool done;
} CheckCo;

static void coroutine_fn bdrv_check_co_entry(void *opaque)
{
    CheckCo *c = opaque;

    c->ret = c->bs->drv->bdrv_co_check(c->bs, c->res, c->fix);
    c->done = true;
}

int bdrv_check(BlockDriverState *bs, BdrvCheckResult *res, BdrvCheckMode fix)
{
    CheckCo c = { .bs = bs, .res = res, .fix = fix };

    memset(res, 0, sizeof(*res));
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (!bs->drv->bdrv_co_check) {
        return -ENOTSUP;
    }
    bdrv_run_co(bdrv_check_co_entry, &c, &c.done);
    return c.ret;
}

int bdrv_change_backing_file(BlockDriverState *bs, const char *backing_file,
                             const char *backing_fmt, bool require)
{
    int ret;

    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (require && backing_file && backing_file[0] &&
        (!backing_fmt || !backing_fmt[0])) {
        return -EINVAL;
    }
    if (!bs->drv->bdrv_change_backing_file) {
        return -ENOTSUP;
    }
    ret = bs->drv->bdrv_change_backing_file(bs, backing_file, backing_fmt);
    if (ret == 0) {
        pstrcpy(bs->backing_file, sizeof(bs->backing_file),
                backing_file ? backing_file : "");
        pstrcpy(bs->backing_format, sizeof(bs->backing_format),
                backing_fmt ? backing_fmt : "");
    }
    return ret;
}

int bdrv_make_empty(BdrvChild *c, Error **errp)
{
    BlockDriverState *bs = c->bs;
    int ret;

    if (!bs->drv || !bs->drv->bdrv_make_empty) {
        error_setg(errp, "Emptying not supported for format '%s'",
                   bs->drv ? bs->drv->format_name : "");
        return -ENOTSUP;
    }
    bdrv_drain(bs);
    ret = bs->drv->bdrv_make_empty(bs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to empty %s", bs->filename);
    }
    return ret;
}

QemuOptsList *bdrv_amend_opts(BlockDriver *drv)
{
    if (!drv || !drv->bdrv_amend_options) {
        return NULL;
    }
    return drv->amend_opts ? drv->amend_opts : drv->create_opts;
}

int bdrv_amend_options(BlockDriverState *bs, QemuOpts *opts,
                       BlockDriverAmendStatusCB *status_cb, void *cb_opaque,
                       bool force, Error **errp)
{
    if (!bs->drv) {
        error_setg(errp, "Node is ejected");
        return -ENOMEDIUM;
    }
    if (!bs->drv->bdrv_amend_options) {
        error_setg(errp, "Block driver '%s' does not support option "
                   "amendment", bs->drv->format_name);
        return -ENOTSUP;
    }
    return bs->drv->bdrv_amend_options(bs, opts, status_cb, cb_opaque,
                                       force, errp);
}

int bdrv_measure(BlockDriver *drv, QemuOpts *opts, BlockDriverState *in_bs,
                 BlockMeasureInfo *info, Error **errp)
{
    memset(info, 0, sizeof(*info));
    if (!drv->bdrv_measure) {
        error_setg(errp, "Block driver '%s' does not support size "
                   "measurement", drv->format_name);
        return -ENOTSUP;
    }
    return drv->bdrv_measure(opts, in_bs, info, errp);
}

int bdrv_snapshot_list(BlockDriverState *bs, QEMUSnapshotInfo **psn_info)
{
    *psn_info = NULL;
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->drv->bdrv_snapshot_list) {
        return bs->drv->bdrv_snapshot_list(bs, psn_info);
    }
    if (bs->file) {
        return bdrv_snapshot_list(bs->file->bs, psn_info);
    }
    return -ENOTSUP;
}

int bdrv_snapshot_create(BlockDriverState *bs, QEMUSnapshotInfo *sn_info)
{
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->drv->bdrv_snapshot_create) {
        return bs->drv->bdrv_snapshot_create(bs, sn_info);
    }
    return -ENOTSUP;
}

int bdrv_snapshot_goto(BlockDriverState *bs, const char *snapshot_id,
                       Error **errp)
{
    if (!bs->drv) {
        error_setg(errp, "Block driver is closed");
        return -ENOMEDIUM;
    }
    if (bs->drv->bdrv_snapshot_goto) {
        return bs->drv->bdrv_snapshot_goto(bs, snapshot_id, errp);
    }
    /* As for listing: a format without snapshots passes to its file. */
    if (bs->file) {
        return bdrv_snapshot_goto(bs->file->bs, snapshot_id, errp);
    }
    error_setg(errp, "Block driver does not support snapshots");
    return -ENOTSUP;
}

int bdrv_snapshot_delete(BlockDriverState *bs, const char *snapshot_id,
                         const char *name, Error **errp)
{
    if (!bs->drv) {
        error_setg(errp, "Block driver is closed");
        return -ENOMEDIUM;
    }
    if (bs->drv->bdrv_snapshot_delete) {
        return bs->drv->bdrv_snapshot_delete(bs, snapshot_id, name, errp);
    }
    error_setg(errp, "Block format '%s' used by device '' does not support "
               "internal snapshots", bs->drv->format_name);
    return -ENOTSUP;
}

int bdrv_snapshot_load_tmp(BlockDriverState *bs, const char *snapshot_id,
                           const char *name, Error **errp)
{
    if (!bs->drv) {
        error_setg(errp, "No medium inserted");
        return -ENOMEDIUM;
    }
    if (!snapshot_id && !name) {
        error_setg(errp, "snapshot_id and name are both NULL");
        return -EINVAL;
    }
    /* The node's data changes under its users: nobody may write it. */
    if (!bs->read_only) {
        error_setg(errp, "Device is not readonly");
        return -EINVAL;
    }
    if (bs->drv->bdrv_snapshot_load_tmp) {
        return bs->drv->bdrv_snapshot_load_tmp(bs, snapshot_id, name, errp);
    }
    error_setg(errp, "Block format '%s' used by device '' does not support "
               "temporarily loading internal snapshots",
               bs->drv->format_name);
    return -ENOTSUP;
}

bool bdrv_supports_compressed_writes(BlockDriver *drv)
{
    return drv && drv->bdrv_co_pwritev_compressed;
}
