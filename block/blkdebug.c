/*
 * blkdebug: a protocol node over one child ("image") that fails chosen
 * requests, so that tests can drive error paths from the command line with
 * the reference's syntax:
 *
 *   blkdebug:CONFIG_FILE:IMAGE
 *   json:{"driver": "blkdebug", "inject-error": [...], "set-state": [...],
 *         "image": {...}, "config": "...", "align": N, ...}
 *   --image-opts driver=blkdebug,inject-error.0.event=...,image.filename=...
 *
 * The config file holds [inject-error] and [set-state] sections of
 * 'key = "value"' lines (the reference's -readconfig syntax).
 *
 * Rules:
 *  - inject-error (event, state, iotype, errno, sector, once,
 *    immediately): when its event is raised (BlkdebugEvent in block_int.h)
 *    while the node is in state (0: any), the rule becomes active; every
 *    later request of this node of one of its iotypes (default: all but
 *    block-status) that covers byte sector * 512 (sector -1: any) fails
 *    with -errno (default EIO; errno <= 0 lets it succeed). once deletes
 *    the rule after its first failure.
 *  - set-state (event, state, new_state): moves the node to new_state.
 *
 * Invariants (all the reference's observable behaviour):
 *  1. An event that finds inject-error rules for itself (in the right
 *     state) replaces the set of active rules with them; an event without
 *     such rules leaves the active set alone.
 *  2. Every rule of an event sees the state the node had when the event
 *     was raised; the node is in its new state only once they all ran.
 *  3. Where several rules could decide (two active rules matching one
 *     request, two set-state rules of one event), the first one given
 *     wins: config file sections first, then option lists, in order.
 *  4. The node starts in state 1, and raises "none" on itself once open.
 */
#include "config-host.h"

#include <ctype.h>
#include <stdio.h>

#include "block/block_int.h"
#include "util/cutils.h"

typedef enum BlkdebugIOType {
    BLKDEBUG_IO_READ,
    BLKDEBUG_IO_WRITE,
    BLKDEBUG_IO_WRITE_ZEROES,
    BLKDEBUG_IO_DISCARD,
    BLKDEBUG_IO_FLUSH,
    BLKDEBUG_IO_BLOCK_STATUS,
    BLKDEBUG_IO__MAX,
} BlkdebugIOType;

static const char *const iotype_names[BLKDEBUG_IO__MAX] = {
    [BLKDEBUG_IO_READ] = "read",
    [BLKDEBUG_IO_WRITE] = "write",
    [BLKDEBUG_IO_WRITE_ZEROES] = "write-zeroes",
    [BLKDEBUG_IO_DISCARD] = "discard",
    [BLKDEBUG_IO_FLUSH] = "flush",
    [BLKDEBUG_IO_BLOCK_STATUS] = "block-status",
};

/* What a rule without iotype matches: everything but block status. */
#define BLKDEBUG_IO_DEFAULT ((1u << BLKDEBUG_IO__MAX) - 1 - \
                             (1u << BLKDEBUG_IO_BLOCK_STATUS))

typedef enum BlkdebugAction {
    ACTION_INJECT_ERROR,
    ACTION_SET_STATE,
    ACTION_SUSPEND,
} BlkdebugAction;

typedef struct BlkdebugRule {
    BlkdebugEvent event;
    BlkdebugAction action;
    int state;                  /* 0: any state */
    /* inject-error */
    int error;
    unsigned int iotypes;       /* 1 << BlkdebugIOType */
    int64_t offset;             /* byte the request must cover, -1: any */
    bool once;
    bool immediately;
    /* set-state */
    int new_state;
    /* suspend (a breakpoint) */
    char *tag;

    bool active;
    TAILQ_ENTRY(BlkdebugRule) next;         /* in rules[event] */
    TAILQ_ENTRY(BlkdebugRule) active_next;  /* in active */
} BlkdebugRule;

/* A request stopped at a breakpoint, until resumed. */
typedef struct BlkdebugSuspendedReq {
    Coroutine *co;
    char *tag;
    bool resumed;
    TAILQ_ENTRY(BlkdebugSuspendedReq) next;
} BlkdebugSuspendedReq;

typedef TAILQ_HEAD(BlkdebugRuleList, BlkdebugRule) BlkdebugRuleList;

typedef struct BDRVBlkdebugState {
    int state;
    BlkdebugRuleList rules[BLKDBG__MAX];
    BlkdebugRuleList active;

    uint64_t align;
    uint64_t max_transfer;
    uint64_t opt_write_zero;
    uint64_t max_write_zero;
    uint64_t opt_discard;
    uint64_t max_discard;
    uint64_t take_perms;
    uint64_t unshare_perms;
    char *config_file;
    TAILQ_HEAD(, BlkdebugSuspendedReq) suspended;   /* oldest first */
} BDRVBlkdebugState;

/* ---- event names ----------------------------------------------------------- */

static const char *const event_names[BLKDBG__MAX] = {
    [BLKDBG_L1_UPDATE] = "l1_update",
    [BLKDBG_L1_GROW_ALLOC_TABLE] = "l1_grow_alloc_table",
    [BLKDBG_L1_GROW_WRITE_TABLE] = "l1_grow_write_table",
    [BLKDBG_L1_GROW_ACTIVATE_TABLE] = "l1_grow_activate_table",
    [BLKDBG_L2_LOAD] = "l2_load",
    [BLKDBG_L2_UPDATE] = "l2_update",
    [BLKDBG_L2_UPDATE_COMPRESSED] = "l2_update_compressed",
    [BLKDBG_L2_ALLOC_COW_READ] = "l2_alloc_cow_read",
    [BLKDBG_L2_ALLOC_WRITE] = "l2_alloc_write",
    [BLKDBG_READ_AIO] = "read_aio",
    [BLKDBG_READ_BACKING_AIO] = "read_backing_aio",
    [BLKDBG_READ_COMPRESSED] = "read_compressed",
    [BLKDBG_WRITE_AIO] = "write_aio",
    [BLKDBG_WRITE_COMPRESSED] = "write_compressed",
    [BLKDBG_VMSTATE_LOAD] = "vmstate_load",
    [BLKDBG_VMSTATE_SAVE] = "vmstate_save",
    [BLKDBG_COW_READ] = "cow_read",
    [BLKDBG_COW_WRITE] = "cow_write",
    [BLKDBG_REFTABLE_LOAD] = "reftable_load",
    [BLKDBG_REFTABLE_GROW] = "reftable_grow",
    [BLKDBG_REFTABLE_UPDATE] = "reftable_update",
    [BLKDBG_REFBLOCK_LOAD] = "refblock_load",
    [BLKDBG_REFBLOCK_UPDATE] = "refblock_update",
    [BLKDBG_REFBLOCK_UPDATE_PART] = "refblock_update_part",
    [BLKDBG_REFBLOCK_ALLOC] = "refblock_alloc",
    [BLKDBG_REFBLOCK_ALLOC_HOOKUP] = "refblock_alloc_hookup",
    [BLKDBG_REFBLOCK_ALLOC_WRITE] = "refblock_alloc_write",
    [BLKDBG_REFBLOCK_ALLOC_WRITE_BLOCKS] = "refblock_alloc_write_blocks",
    [BLKDBG_REFBLOCK_ALLOC_WRITE_TABLE] = "refblock_alloc_write_table",
    [BLKDBG_REFBLOCK_ALLOC_SWITCH_TABLE] = "refblock_alloc_switch_table",
    [BLKDBG_CLUSTER_ALLOC] = "cluster_alloc",
    [BLKDBG_CLUSTER_ALLOC_BYTES] = "cluster_alloc_bytes",
    [BLKDBG_CLUSTER_FREE] = "cluster_free",
    [BLKDBG_FLUSH_TO_OS] = "flush_to_os",
    [BLKDBG_FLUSH_TO_DISK] = "flush_to_disk",
    [BLKDBG_PWRITEV_RMW_HEAD] = "pwritev_rmw_head",
    [BLKDBG_PWRITEV_RMW_AFTER_HEAD] = "pwritev_rmw_after_head",
    [BLKDBG_PWRITEV_RMW_TAIL] = "pwritev_rmw_tail",
    [BLKDBG_PWRITEV_RMW_AFTER_TAIL] = "pwritev_rmw_after_tail",
    [BLKDBG_PWRITEV] = "pwritev",
    [BLKDBG_PWRITEV_ZERO] = "pwritev_zero",
    [BLKDBG_PWRITEV_DONE] = "pwritev_done",
    [BLKDBG_EMPTY_IMAGE_PREPARE] = "empty_image_prepare",
    [BLKDBG_L1_SHRINK_WRITE_TABLE] = "l1_shrink_write_table",
    [BLKDBG_L1_SHRINK_FREE_L2_CLUSTERS] = "l1_shrink_free_l2_clusters",
    [BLKDBG_COR_WRITE] = "cor_write",
    [BLKDBG_CLUSTER_ALLOC_SPACE] = "cluster_alloc_space",
    [BLKDBG_NONE] = "none",
};

const char *bdrv_debug_event_name(BlkdebugEvent event)
{
    if ((int)event < 0 || event >= BLKDBG__MAX) {
        return NULL;
    }
    return event_names[event];
}

int bdrv_debug_event_parse(const char *name)
{
    int i;

    for (i = 0; i < BLKDBG__MAX; i++) {
        if (!strcmp(event_names[i], name)) {
            return i;
        }
    }
    return -1;
}

/* ---- rule sections ----------------------------------------------------- */

static const QemuOptDesc inject_error_desc[] = {
    { .name = "event", .type = QEMU_OPT_STRING },
    { .name = "state", .type = QEMU_OPT_NUMBER },
    { .name = "iotype", .type = QEMU_OPT_STRING },
    { .name = "errno", .type = QEMU_OPT_NUMBER },
    { .name = "sector", .type = QEMU_OPT_NUMBER },
    { .name = "once", .type = QEMU_OPT_BOOL },
    { .name = "immediately", .type = QEMU_OPT_BOOL },
    { NULL },
};

static QemuOptsList inject_error_opts = {
    .name = "inject-error",
    .desc = inject_error_desc,
};

static const QemuOptDesc set_state_desc[] = {
    { .name = "event", .type = QEMU_OPT_STRING },
    { .name = "state", .type = QEMU_OPT_NUMBER },
    { .name = "new_state", .type = QEMU_OPT_NUMBER },
    { NULL },
};

static QemuOptsList set_state_opts = {
    .name = "set-state",
    .desc = set_state_desc,
};

/* A section of either kind, from the config file or the options. */
typedef struct RuleSection {
    QemuOptsList *list;
    char *id;                   /* "[inject-error "id"]", or NULL */
    QemuOpts *opts;
} RuleSection;

typedef struct RuleSections {
    RuleSection *s;
    int n;
    int cap;
} RuleSections;

static RuleSection *sections_add(RuleSections *secs, QemuOptsList *list,
                                 const char *id)
{
    RuleSection *sec;

    if (secs->n == secs->cap) {
        secs->cap = secs->cap ? 2 * secs->cap : 8;
        secs->s = xrealloc(secs->s, secs->cap * sizeof(*secs->s));
    }
    sec = &secs->s[secs->n++];
    sec->list = list;
    sec->id = id ? xstrdup(id) : NULL;
    sec->opts = qemu_opts_create(list);
    return sec;
}

static void sections_free(RuleSections *secs)
{
    int i;

    for (i = 0; i < secs->n; i++) {
        free(secs->s[i].id);
        qemu_opts_del(secs->s[i].opts);
    }
    free(secs->s);
    memset(secs, 0, sizeof(*secs));
}

/* A section id: a letter, then letters, digits, '-', '.', '_'. */
static bool id_wellformed(const char *id)
{
    const char *p;

    if (!isalpha((unsigned char)id[0])) {
        return false;
    }
    for (p = id + 1; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

/* Starts a section named group ("inject-error") with an optional id. */
static RuleSection *section_start(RuleSections *secs, const char *group,
                                  const char *id, Error **errp)
{
    QemuOptsList *list;
    int i;

    if (!strcmp(group, "inject-error")) {
        list = &inject_error_opts;
    } else if (!strcmp(group, "set-state")) {
        list = &set_state_opts;
    } else {
        error_setg(errp, "There is no option group '%s'", group);
        return NULL;
    }
    if (id) {
        if (!id_wellformed(id)) {
            error_setg(errp, "Parameter 'id' expects an identifier");
            error_append_hint(errp, "Identifiers consist of letters, "
                              "digits, '-', '.', '_', starting with a "
                              "letter.\n");
            return NULL;
        }
        for (i = 0; i < secs->n; i++) {
            if (secs->s[i].list == list && secs->s[i].id &&
                !strcmp(secs->s[i].id, id)) {
                error_setg(errp, "Duplicate ID '%s' for %s", id, group);
                return NULL;
            }
        }
    }
    return sections_add(secs, list, id);
}

/*
 * Reads the config file, in the reference's line syntax: blank lines
 * ("\n" alone) and lines starting with '#' are skipped; "[group]" or
 * "[group "id"]" starts a section; otherwise the first word is a key and
 * its value the text between the quotes after "=", or "" if the line has
 * no such quotes. Anything else is a parse error.
 */
static int read_config(RuleSections *secs, const char *filename,
                       Error **errp)
{
    FILE *f = fopen(filename, "r");
    RuleSection *cur = NULL;
    char line[1024];
    char group[64];
    char id[64];
    char arg[64];
    char value[1024];
    int ret = 0;

    if (!f) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not read blkdebug config file");
        return ret;
    }
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '\n' || line[0] == '#') {
            continue;
        }
        if (sscanf(line, "[%63s \"%63[^\"]\"]", group, id) == 2) {
            cur = section_start(secs, group, id, errp);
        } else if (sscanf(line, "[%63[^]]]", group) == 1) {
            cur = section_start(secs, group, NULL, errp);
        } else if (sscanf(line, " %63s = \"%1023[^\"]\"", arg, value) == 2 ||
                   (value[0] = '\0',
                    sscanf(line, " %63s = \"\"", arg) == 1)) {
            if (!cur) {
                error_setg(errp, "no group defined");
                ret = -EINVAL;
                goto out;
            }
            if (!qemu_opt_set(cur->opts, arg, value, errp)) {
                ret = -EINVAL;
                goto out;
            }
            continue;
        } else {
            error_setg(errp, "parse error");
            ret = -EINVAL;
            goto out;
        }
        if (!cur) {
            ret = -EINVAL;
            goto out;
        }
    }
    if (ferror(f)) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Cannot read config file");
    }
out:
    fclose(f);
    return ret;
}

/*
 * Takes the "prefix.N.key" options (N = 0, 1, ... without gaps) out of
 * options into sections of list.
 */
static int take_option_sections(RuleSections *secs, QDict *options,
                                QemuOptsList *list, Error **errp)
{
    char *prefix = xasprintf("%s.", list->name);
    QDict *all = NULL;
    int ret = 0;
    int i;

    qdict_extract_subqdict(options, &all, prefix);
    for (i = 0;; i++) {
        char *index = xasprintf("%d", i);
        char *sub_prefix = xasprintf("%d.", i);
        QDict *sub = NULL;
        RuleSection *sec;
        const QDictEntry *e;
        bool direct = qdict_haskey(all, index);

        qdict_extract_subqdict(all, &sub, sub_prefix);
        free(sub_prefix);
        free(index);
        if (direct) {
            error_setg(errp, "[%s] section (index %d) does not consist of "
                       "keys", list->name, i);
            ret = -EINVAL;
        } else if (sub && qdict_size(sub)) {
            sec = sections_add(secs, list, NULL);
            if (!qemu_opts_absorb_qdict(sec->opts, sub, errp)) {
                ret = -EINVAL;
            } else if ((e = qdict_first(sub))) {
                error_setg(errp, "[%s] section doesn't support the option "
                           "'%s'", list->name, qdict_entry_key(e));
                ret = -EINVAL;
            }
        } else {
            if (sub) {
                qdict_unref(sub);
            }
            break;
        }
        if (sub) {
            qdict_unref(sub);
        }
        if (ret < 0) {
            goto out;
        }
    }
    if (qdict_size(all)) {
        error_setg(errp, "Unused option '%s' for [%s]",
                   qdict_entry_key(qdict_first(all)), list->name);
        ret = -EINVAL;
    }
out:
    qdict_unref(all);
    free(prefix);
    return ret;
}

/* ---- rules ----------------------------------------------------------------- */

static int add_rule(BDRVBlkdebugState *s, RuleSection *sec, Error **errp)
{
    QemuOpts *opts = sec->opts;
    const char *name = qemu_opt_get(opts, "event");
    BlkdebugRule *rule;
    int event;

    if (!name) {
        error_setg(errp, "Missing event name for rule");
        return -EINVAL;
    }
    event = bdrv_debug_event_parse(name);
    if (event < 0) {
        error_setg(errp, "invalid parameter value: %s", name);
        return -EINVAL;
    }
    rule = xzalloc(sizeof(*rule));
    rule->event = event;
    rule->state = (int)qemu_opt_get_number(opts, "state", 0);
    if (sec->list == &inject_error_opts) {
        const char *iotype = qemu_opt_get(opts, "iotype");

        rule->action = ACTION_INJECT_ERROR;
        rule->iotypes = BLKDEBUG_IO_DEFAULT;
        if (iotype) {
            int i;

            for (i = 0; i < BLKDEBUG_IO__MAX; i++) {
                if (!strcmp(iotype, iotype_names[i])) {
                    break;
                }
            }
            if (i == BLKDEBUG_IO__MAX) {
                error_setg(errp, "invalid parameter value: %s", iotype);
                free(rule);
                return -EINVAL;
            }
            rule->iotypes = 1u << i;
        }
        rule->error = (int)qemu_opt_get_number(opts, "errno", EIO);
        rule->once = qemu_opt_get_bool(opts, "once", false);
        rule->immediately = qemu_opt_get_bool(opts, "immediately", false);
        /* -1 (or any negative sector) matches every request. */
        rule->offset = (int64_t)qemu_opt_get_number(opts, "sector",
                                                    (uint64_t)-1);
        if (rule->offset >= 0) {
            /* A sector beyond any image: matches nothing. */
            rule->offset = rule->offset > INT64_MAX / 512 ?
                           INT64_MAX : rule->offset * 512;
        }
    } else {
        rule->action = ACTION_SET_STATE;
        rule->new_state = (int)qemu_opt_get_number(opts, "new_state", 0);
    }
    TAILQ_INSERT_TAIL(&s->rules[event], rule, next);
    return 0;
}

static void remove_rule(BDRVBlkdebugState *s, BlkdebugRule *rule)
{
    if (rule->active) {
        TAILQ_REMOVE(&s->active, rule, active_next);
    }
    TAILQ_REMOVE(&s->rules[rule->event], rule, next);
    free(rule->tag);
    free(rule);
}

/*
 * Stops the calling request under every one of tags (n of them) at once,
 * until bdrv_debug_resume has named each; takes the tags.
 */
static void coroutine_fn suspend_request(BDRVBlkdebugState *s, char **tags,
                                         int n)
{
    BlkdebugSuspendedReq *r = xzalloc(n * sizeof(*r));
    bool all_resumed;
    int i;

    for (i = 0; i < n; i++) {
        r[i].co = qemu_coroutine_self();
        r[i].tag = tags[i];
        TAILQ_INSERT_TAIL(&s->suspended, &r[i], next);
        printf("blkdebug: Suspended request '%s'\n", tags[i]);
    }
    do {
        qemu_coroutine_yield();
        all_resumed = true;
        for (i = 0; i < n; i++) {
            all_resumed &= r[i].resumed;
        }
    } while (!all_resumed);
    for (i = 0; i < n; i++) {
        free(r[i].tag);
    }
    free(r);
}

static void blkdebug_debug_event(BlockDriverState *bs, BlkdebugEvent event)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugRule *rule;
    BlkdebugRule *nrule;
    bool injected = false;
    bool state_set = false;
    int new_state = s->state;
    char **tags = NULL;
    int n_tags = 0;
    int i;

    for (rule = TAILQ_FIRST(&s->rules[event]); rule; rule = nrule) {
        nrule = TAILQ_NEXT(rule, next);
        if (rule->state && rule->state != s->state) {
            continue;
        }
        if (rule->action == ACTION_INJECT_ERROR) {
            if (!injected) {
                /* Invariant 1: this event's rules replace the others. */
                while (!TAILQ_EMPTY(&s->active)) {
                    BlkdebugRule *r = TAILQ_FIRST(&s->active);

                    TAILQ_REMOVE(&s->active, r, active_next);
                    r->active = false;
                }
                injected = true;
            }
            TAILQ_INSERT_TAIL(&s->active, rule, active_next);
            rule->active = true;
        } else if (rule->action == ACTION_SUSPEND) {
            /* A breakpoint stops one request, then is gone. */
            tags = xrealloc(tags, (n_tags + 1) * sizeof(*tags));
            tags[n_tags++] = rule->tag;
            rule->tag = NULL;
            remove_rule(s, rule);
        } else if (!state_set) {
            new_state = rule->new_state;
            state_set = true;
        }
    }
    /* The new state holds while the request is stopped (the reference). */
    s->state = new_state;
    if (n_tags && qemu_in_coroutine()) {
        suspend_request(s, tags, n_tags);
    } else {
        for (i = 0; i < n_tags; i++) {
            free(tags[i]);
        }
    }
    free(tags);
}

/*
 * The error the active rules give a request of type iotype on
 * [offset, offset+bytes): 0 if none applies (or the rule's errno is not
 * positive), else -errno.
 */
static int coroutine_fn rule_check(BlockDriverState *bs, int64_t offset,
                                   int64_t bytes, BlkdebugIOType iotype)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugRule *rule;
    bool immediately;
    int error;

    TAILQ_FOREACH(rule, &s->active, active_next) {
        if (!(rule->iotypes & (1u << iotype))) {
            continue;
        }
        if (rule->offset == -1 ||
            (rule->offset >= offset && rule->offset - offset < bytes)) {
            break;
        }
    }
    if (!rule) {
        return 0;
    }
    error = rule->error;
    immediately = rule->immediately;
    if (rule->once) {
        remove_rule(s, rule);
    }
    if (!immediately) {
        /* The failure completes later, as a real request's would. */
        aio_co_schedule(qemu_get_aio_context(), qemu_coroutine_self());
        qemu_coroutine_yield();
    }
    return error > 0 ? -error : 0;
}

/* ---- breakpoints ------------------------------------------------------- */

static int blkdebug_debug_breakpoint(BlockDriverState *bs, const char *event,
                                     const char *tag)
{
    BDRVBlkdebugState *s = bs->opaque;
    int ev = bdrv_debug_event_parse(event);
    BlkdebugRule *rule;

    if (ev < 0) {
        return -ENOENT;
    }
    rule = xzalloc(sizeof(*rule));
    rule->event = ev;
    rule->action = ACTION_SUSPEND;
    rule->tag = xstrdup(tag);
    /* The newest breakpoint of an event stops (and prints) first. */
    TAILQ_INSERT_HEAD(&s->rules[ev], rule, next);
    return 0;
}

/* Re-enters r's request, which goes on from where it stopped. */
static void resume_request(BDRVBlkdebugState *s, BlkdebugSuspendedReq *r)
{
    TAILQ_REMOVE(&s->suspended, r, next);
    printf("blkdebug: Resuming request '%s'\n", r->tag);
    r->resumed = true;
    aio_co_wake(r->co);
}

static int blkdebug_debug_resume(BlockDriverState *bs, const char *tag)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugSuspendedReq *r;

    TAILQ_FOREACH(r, &s->suspended, next) {
        if (!strcmp(r->tag, tag)) {
            resume_request(s, r);
            return 0;
        }
    }
    return -ENOENT;
}

/*
 * Resumes every request stopped with tag and deletes the breakpoints not
 * reached yet; -ENOENT if there were none of the latter (even if requests
 * were resumed, as the reference answers).
 */
static int blkdebug_debug_remove_breakpoint(BlockDriverState *bs,
                                            const char *tag)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugSuspendedReq *r;
    BlkdebugSuspendedReq *rnext;
    BlkdebugRule *rule;
    BlkdebugRule *nrule;
    int ret = -ENOENT;
    int i;

    for (r = TAILQ_FIRST(&s->suspended); r; r = rnext) {
        rnext = TAILQ_NEXT(r, next);
        if (!strcmp(r->tag, tag)) {
            resume_request(s, r);
        }
    }
    for (i = 0; i < BLKDBG__MAX; i++) {
        for (rule = TAILQ_FIRST(&s->rules[i]); rule; rule = nrule) {
            nrule = TAILQ_NEXT(rule, next);
            if (rule->action == ACTION_SUSPEND && !strcmp(rule->tag, tag)) {
                remove_rule(s, rule);
                ret = 0;
            }
        }
    }
    return ret;
}

static bool blkdebug_debug_is_suspended(BlockDriverState *bs,
                                        const char *tag)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugSuspendedReq *r;

    TAILQ_FOREACH(r, &s->suspended, next) {
        if (!strcmp(r->tag, tag)) {
            return true;
        }
    }
    return false;
}

/* ---- open and close -------------------------------------------------------- */

static QemuOptDesc blkdebug_runtime_desc[] = {
    { .name = "config", .type = QEMU_OPT_STRING },
    { .name = "x-image", .type = QEMU_OPT_STRING },
    { .name = "align", .type = QEMU_OPT_SIZE },
    { .name = "max-transfer", .type = QEMU_OPT_SIZE },
    { .name = "opt-write-zero", .type = QEMU_OPT_SIZE },
    { .name = "max-write-zero", .type = QEMU_OPT_SIZE },
    { .name = "opt-discard", .type = QEMU_OPT_SIZE },
    { .name = "max-discard", .type = QEMU_OPT_SIZE },
    { NULL },
};

static QemuOptsList blkdebug_runtime_opts = {
    .name = "blkdebug",
    .desc = blkdebug_runtime_desc,
};

/* "blkdebug:CONFIG:IMAGE" into the config and x-image options. */
static int parse_filename(const char *filename, QDict *options, Error **errp)
{
    const char *p;
    const char *c;

    if (!strstart(filename, "blkdebug:", &p)) {
        error_setg(errp, "File name string must start with 'blkdebug:'");
        return -EINVAL;
    }
    c = strchr(p, ':');
    if (!c) {
        error_setg(errp, "blkdebug requires both config file and image "
                   "path");
        return -EINVAL;
    }
    if (c != p) {
        char *config = xstrndup(p, c - p);

        qdict_put_str(options, "config", config);
        free(config);
    }
    qdict_put_str(options, "x-image", c + 1);
    return 0;
}

/* Permission names of take-child-perms / unshare-child-perms. */
static int take_perm_list(QDict *options, const char *name, uint64_t *perms,
                          Error **errp)
{
    char *prefix = xasprintf("%s.", name);
    QDict *sub = NULL;
    const QDictEntry *e;
    int ret = 0;

    *perms = 0;
    qdict_extract_subqdict(options, &sub, prefix);
    free(prefix);
    for (e = qdict_first(sub); e; e = qdict_next(sub, e)) {
        const char *v = qdict_get_try_str(sub, qdict_entry_key(e));

        if (v && !strcmp(v, "consistent-read")) {
            *perms |= BLK_PERM_CONSISTENT_READ;
        } else if (v && !strcmp(v, "write")) {
            *perms |= BLK_PERM_WRITE;
        } else if (v && !strcmp(v, "write-unchanged")) {
            *perms |= BLK_PERM_WRITE_UNCHANGED;
        } else if (v && !strcmp(v, "resize")) {
            *perms |= BLK_PERM_RESIZE;
        } else if (!v || strcmp(v, "graph-mod")) {
            /* The reference's words, odd as they are. */
            error_setg(errp, "Parameter 'null' does not accept value '%s'",
                       v ? v : "");
            ret = -EINVAL;
            break;
        }
    }
    qdict_unref(sub);
    return ret;
}

/*
 * A limit must be 0 (the default) or a multiple of mult (and fit in an
 * int, as the reference's do).
 */
static bool limit_ok(uint64_t value, uint64_t mult)
{
    return !value || (value <= INT32_MAX && !(value % mult));
}

static int check_limits(BlockDriverState *bs, Error **errp)
{
    BDRVBlkdebugState *s = bs->opaque;
    uint64_t align = MAX(s->align, bs->file->bs->bl.request_alignment);
    const char *what = NULL;
    uint64_t value = 0;

    if (s->align && (!IS_POWER_OF_2(s->align) || s->align > INT32_MAX)) {
        what = "align";
        value = s->align;
    } else if (!limit_ok(s->max_transfer, align)) {
        what = "max-transfer";
        value = s->max_transfer;
    } else if (!limit_ok(s->opt_write_zero, align)) {
        what = "opt-write-zero";
        value = s->opt_write_zero;
    } else if (!limit_ok(s->max_write_zero,
                         MAX(s->opt_write_zero, align))) {
        what = "max-write-zero";
        value = s->max_write_zero;
    } else if (!limit_ok(s->opt_discard, align)) {
        what = "opt-discard";
        value = s->opt_discard;
    } else if (!limit_ok(s->max_discard, MAX(s->opt_discard, align))) {
        what = "max-discard";
        value = s->max_discard;
    }
    if (what) {
        error_setg(errp, "Cannot meet constraints with %s %" PRIu64, what,
                   value);
        return -EINVAL;
    }
    return 0;
}

static void free_rules(BDRVBlkdebugState *s)
{
    int i;

    for (i = 0; i < BLKDBG__MAX; i++) {
        while (!TAILQ_EMPTY(&s->rules[i])) {
            remove_rule(s, TAILQ_FIRST(&s->rules[i]));
        }
    }
}

static int blkdebug_open(BlockDriverState *bs, QDict *options, int flags,
                         Error **errp)
{
    BDRVBlkdebugState *s = bs->opaque;
    RuleSections secs = { NULL, 0, 0 };
    QemuOpts *opts = qemu_opts_create(&blkdebug_runtime_opts);
    const char *filename = qdict_get_try_str(options, "filename");
    const char *image;
    int ret;
    int i;

    s->state = 1;
    for (i = 0; i < BLKDBG__MAX; i++) {
        TAILQ_INIT(&s->rules[i]);
    }
    TAILQ_INIT(&s->active);
    TAILQ_INIT(&s->suspended);

    if (filename) {
        ret = parse_filename(filename, options, errp);
        if (ret < 0) {
            goto out;
        }
        qdict_del(options, "filename");
    }
    if (!qemu_opts_absorb_qdict(opts, options, errp)) {
        ret = -EINVAL;
        goto out;
    }

    /* The config file's rules come first, then the options' (inv. 3). */
    if (qemu_opt_get(opts, "config")) {
        s->config_file = xstrdup(qemu_opt_get(opts, "config"));
        ret = read_config(&secs, s->config_file, errp);
        if (ret < 0) {
            goto out;
        }
    }
    ret = take_option_sections(&secs, options, &inject_error_opts, errp);
    if (ret < 0) {
        goto out;
    }
    ret = take_option_sections(&secs, options, &set_state_opts, errp);
    if (ret < 0) {
        goto out;
    }
    /* All inject-error rules first, then set-state, as the reference. */
    for (i = 0; i < secs.n && ret >= 0; i++) {
        if (secs.s[i].list == &inject_error_opts) {
            ret = add_rule(s, &secs.s[i], errp);
        }
    }
    for (i = 0; i < secs.n && ret >= 0; i++) {
        if (secs.s[i].list == &set_state_opts) {
            ret = add_rule(s, &secs.s[i], errp);
        }
    }
    if (ret < 0) {
        goto out;
    }

    image = qemu_opt_get(opts, "x-image");
    if (!bdrv_open_child(image, options, "image", bs, BDRV_CHILD_FILE, false,
                         errp)) {
        ret = -EINVAL;
        goto out;
    }

    ret = take_perm_list(options, "take-child-perms", &s->take_perms, errp);
    if (ret >= 0) {
        ret = take_perm_list(options, "unshare-child-perms",
                             &s->unshare_perms, errp);
    }
    if (ret < 0) {
        goto fail_child;
    }
    s->align = qemu_opt_get_size(opts, "align", 0);
    s->max_transfer = qemu_opt_get_size(opts, "max-transfer", 0);
    s->opt_write_zero = qemu_opt_get_size(opts, "opt-write-zero", 0);
    s->max_write_zero = qemu_opt_get_size(opts, "max-write-zero", 0);
    s->opt_discard = qemu_opt_get_size(opts, "opt-discard", 0);
    s->max_discard = qemu_opt_get_size(opts, "max-discard", 0);
    ret = check_limits(bs, errp);
    if (ret < 0) {
        goto fail_child;
    }
    bs->supported_write_flags = bs->file->bs->supported_write_flags &
                                BDRV_REQ_FUA;
    bs->supported_zero_flags = bs->file->bs->supported_zero_flags &
                               (BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK |
                                BDRV_REQ_FUA);
    blkdebug_debug_event(bs, BLKDBG_NONE);
    ret = 0;
    goto out;

fail_child:
    bdrv_unref_child(bs, bs->file);
out:
    if (ret < 0) {
        free_rules(s);
        free(s->config_file);
        s->config_file = NULL;
    }
    sections_free(&secs);
    qemu_opts_del(opts);
    return ret;
}

static void blkdebug_close(BlockDriverState *bs)
{
    BDRVBlkdebugState *s = bs->opaque;

    free_rules(s);
    free(s->config_file);
    s->config_file = NULL;
}

static void blkdebug_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BDRVBlkdebugState *s = bs->opaque;

    bs->bl = bs->file->bs->bl;
    if (s->align) {
        bs->bl.request_alignment = MAX(bs->bl.request_alignment,
                                       (uint32_t)s->align);
    }
    if (s->max_transfer) {
        bs->bl.max_transfer = s->max_transfer;
    }
    if (s->opt_write_zero) {
        bs->bl.pwrite_zeroes_alignment = s->opt_write_zero;
    }
    if (s->max_write_zero) {
        bs->bl.max_pwrite_zeroes = s->max_write_zero;
    }
    if (s->opt_discard) {
        bs->bl.pdiscard_alignment = s->opt_discard;
    }
    if (s->max_discard) {
        bs->bl.max_pdiscard = s->max_discard;
    }
}

static void blkdebug_child_perm(BlockDriverState *bs, BdrvChildRole role,
                                uint64_t parent_perm, uint64_t parent_shared,
                                uint64_t *nperm, uint64_t *nshared)
{
    BDRVBlkdebugState *s = bs->opaque;

    /* A filter: its users' permissions, plus what the options ask. */
    *nperm = parent_perm | s->take_perms;
    *nshared = parent_shared & ~s->unshare_perms;
}

/*
 * "blkdebug:CONFIG:IMAGE" names the node when nothing but a config file
 * and a plainly named image were given; anything else needs json:.
 */
static void blkdebug_refresh_filename(BlockDriverState *bs)
{
    BDRVBlkdebugState *s = bs->opaque;
    const QDictEntry *e;
    char *name;

    if (!bs->file || !bs->file->bs->exact_filename[0]) {
        return;
    }
    for (e = qdict_first(bs->full_open_options); e;
         e = qdict_next(bs->full_open_options, e)) {
        const char *key = qdict_entry_key(e);

        if (strcmp(key, "driver") && strcmp(key, "config") &&
            strcmp(key, "image")) {
            return;
        }
    }
    name = xasprintf("blkdebug:%s:%s", s->config_file ? s->config_file : "",
                     bs->file->bs->exact_filename);
    /* Too long a name cannot reopen the node: json: then. */
    if (strlen(name) < sizeof(bs->exact_filename)) {
        pstrcpy(bs->exact_filename, sizeof(bs->exact_filename), name);
    }
    free(name);
}

/* ---- I/O --------------------------------------------------------------- */

static int coroutine_fn blkdebug_co_preadv(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov,
                                           BdrvRequestFlags flags)
{
    int ret = rule_check(bs, offset, bytes, BLKDEBUG_IO_READ);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_preadv(bs->file, offset, bytes, qiov, flags);
}

static int coroutine_fn blkdebug_co_pwritev(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            BdrvRequestFlags flags)
{
    int ret = rule_check(bs, offset, bytes, BLKDEBUG_IO_WRITE);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pwritev(bs->file, offset, bytes, qiov, flags);
}

static int coroutine_fn blkdebug_co_pwrite_zeroes(BlockDriverState *bs,
                                                  int64_t offset,
                                                  int64_t bytes,
                                                  BdrvRequestFlags flags)
{
    int ret = rule_check(bs, offset, bytes, BLKDEBUG_IO_WRITE_ZEROES);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pwrite_zeroes(bs->file, offset, bytes, flags);
}

static int coroutine_fn blkdebug_co_pdiscard(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes)
{
    int ret = rule_check(bs, offset, bytes, BLKDEBUG_IO_DISCARD);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pdiscard(bs->file, offset, bytes);
}

/* The core flushes the image after this; only the rules are ours. */
static int coroutine_fn blkdebug_co_flush_to_disk(BlockDriverState *bs)
{
    return rule_check(bs, 0, 0, BLKDEBUG_IO_FLUSH);
}

static int coroutine_fn blkdebug_co_block_status(BlockDriverState *bs,
                                                 bool want_zero,
                                                 int64_t offset,
                                                 int64_t bytes,
                                                 int64_t *pnum,
                                                 int64_t *map,
                                                 BlockDriverState **file)
{
    int ret = rule_check(bs, offset, bytes, BLKDEBUG_IO_BLOCK_STATUS);

    if (ret < 0) {
        return ret;
    }
    /* Whatever the image says about the same bytes. */
    *pnum = bytes;
    *map = offset;
    *file = bs->file->bs;
    return BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID;
}

static int64_t coroutine_fn blkdebug_co_getlength(BlockDriverState *bs)
{
    return bdrv_co_getlength(bs->file->bs);
}

static int coroutine_fn blkdebug_co_truncate(BlockDriverState *bs,
                                             int64_t offset, bool exact,
                                             PreallocMode prealloc,
                                             BdrvRequestFlags flags,
                                             Error **errp)
{
    return bdrv_co_truncate(bs->file, offset, exact, prealloc, flags, errp);
}

static const char *const blkdebug_strong_runtime_opts[] = {
    "config",
    "inject-error.",
    "set-state.",
    "align",
    "max-transfer",
    "opt-write-zero",
    "max-write-zero",
    "opt-discard",
    "max-discard",
    NULL,
};

const BlockDriver bdrv_blkdebug = {
    .format_name = "blkdebug",
    .protocol_name = "blkdebug",
    .instance_size = sizeof(BDRVBlkdebugState),
    .strong_runtime_opts = blkdebug_strong_runtime_opts,

    .bdrv_open = blkdebug_open,
    .bdrv_close = blkdebug_close,
    .bdrv_refresh_limits = blkdebug_refresh_limits,
    .bdrv_child_perm = blkdebug_child_perm,
    .bdrv_refresh_filename = blkdebug_refresh_filename,

    .bdrv_co_preadv = blkdebug_co_preadv,
    .bdrv_co_pwritev = blkdebug_co_pwritev,
    .bdrv_co_pwrite_zeroes = blkdebug_co_pwrite_zeroes,
    .bdrv_co_pdiscard = blkdebug_co_pdiscard,
    .bdrv_co_flush_to_disk = blkdebug_co_flush_to_disk,
    .bdrv_co_block_status = blkdebug_co_block_status,
    .bdrv_co_getlength = blkdebug_co_getlength,
    .bdrv_co_truncate = blkdebug_co_truncate,

    .bdrv_debug_event = blkdebug_debug_event,
    .bdrv_debug_breakpoint = blkdebug_debug_breakpoint,
    .bdrv_debug_remove_breakpoint = blkdebug_debug_remove_breakpoint,
    .bdrv_debug_resume = blkdebug_debug_resume,
    .bdrv_debug_is_suspended = blkdebug_debug_is_suspended,
};
