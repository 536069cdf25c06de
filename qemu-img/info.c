/*
 * qemu-img info: what an image is (format, sizes, backing file, snapshots,
 * format-specific fields), for humans or as JSON.
 *
 * The facts are gathered once into a QDict shaped like the reference's
 * ImageInfo; JSON is that dict printed through qobject_to_json, whose key
 * order is QEMU's, and the human form is printed from the same dict. The
 * format-specific part comes from the driver as a QDict, so every format
 * (raw has none, qcow2 a nested one) flows through the same code.
 */
#include "config-host.h"

#include <getopt.h>
#include <time.h>

#include "util/osdep.h"
#include "util/cutils.h"
#include "util/error.h"
#include "util/qobject.h"
#include "util/qobject-human.h"
#include "util/strbuf.h"
#include "block/block.h"
#include "qemu-img.h"

/* ---- gathering ----------------------------------------------------------- */

static QDict *snapshot_to_qdict(const QEMUSnapshotInfo *sn)
{
    QDict *d = qdict_new();

    qdict_put_str(d, "id", sn->id_str);
    qdict_put_str(d, "name", sn->name);
    qdict_put_int(d, "vm-state-size", sn->vm_state_size);
    qdict_put_int(d, "date-sec", sn->date_sec);
    qdict_put_int(d, "date-nsec", sn->date_nsec);
    qdict_put_int(d, "vm-clock-sec", sn->vm_clock_nsec / 1000000000);
    qdict_put_int(d, "vm-clock-nsec", sn->vm_clock_nsec % 1000000000);
    if (sn->icount != UINT64_MAX) {
        qdict_put_int(d, "icount", sn->icount);
    }
    return d;
}

QDict *img_collect_info(BlockDriverState *bs, Error **errp)
{
    QEMUSnapshotInfo *sn_tab = NULL;
    BlockDriverInfo bdi;
    QDict *info, *specific;
    Error *err = NULL;
    const char *backing;
    int64_t size, actual;
    int nb_sns, i;

    size = bdrv_getlength(bs);
    if (size < 0) {
        error_setg_errno(errp, -size, "Can't get image size '%s'",
                         bdrv_get_filename(bs));
        return NULL;
    }

    info = qdict_new();
    qdict_put_str(info, "filename", bdrv_get_filename(bs));
    qdict_put_str(info, "format", bdrv_get_format_name(bs));
    qdict_put_int(info, "virtual-size", size);
    actual = bdrv_get_allocated_file_size(bs);
    if (actual >= 0) {
        qdict_put_int(info, "actual-size", actual);
    }
    if (bdrv_is_encrypted(bs)) {
        qdict_put_bool(info, "encrypted", true);
    }

    memset(&bdi, 0, sizeof(bdi));
    if (bdrv_get_info(bs, &bdi) >= 0) {
        if (bdi.cluster_size) {
            qdict_put_int(info, "cluster-size", bdi.cluster_size);
        }
        qdict_put_bool(info, "dirty-flag", bdi.is_dirty);
    }

    specific = bdrv_get_specific_info(bs, &err);
    if (err) {
        error_propagate(errp, err);
        qobject_unref(QOBJECT(info));
        return NULL;
    }
    if (specific) {
        qdict_put(info, "format-specific", specific);
    }

    backing = bdrv_get_backing_filename(bs);
    if (backing && backing[0]) {
        char *full;
        const char *backing_fmt;

        qdict_put_str(info, "backing-filename", backing);
        full = bdrv_get_full_backing_filename(bs, NULL);
        if (full) {
            qdict_put_str(info, "full-backing-filename", full);
            free(full);
        }
        backing_fmt = bdrv_get_backing_format(bs);
        if (backing_fmt && backing_fmt[0]) {
            qdict_put_str(info, "backing-filename-format", backing_fmt);
        }
    }

    nb_sns = bdrv_snapshot_list(bs, &sn_tab);
    if (nb_sns < 0 && nb_sns != -ENOTSUP && nb_sns != -ENOMEDIUM) {
        error_setg_errno(errp, -nb_sns, "Can't get snapshot list of '%s'",
                         bdrv_get_filename(bs));
        qobject_unref(QOBJECT(info));
        return NULL;
    }
    if (nb_sns > 0) {
        QList *list = qlist_new();

        for (i = 0; i < nb_sns; i++) {
            qlist_append(list, snapshot_to_qdict(&sn_tab[i]));
        }
        qdict_put(info, "snapshots", list);
    }
    free(sn_tab);
    return info;
}

/* ---- human output -------------------------------------------------------- */

void img_dump_snapshot_header(void)
{
    printf("%-9s %-16s %8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE",
           "VM CLOCK", "ICOUNT");
}

/*
 * One row of the table. The columns are fixed-width, but a long tag pushes
 * the rest of its row right rather than being cut, as the reference does.
 */
void img_dump_snapshot(const QEMUSnapshotInfo *sn)
{
    char date[64], clock[64], icount[32];
    uint64_t secs = sn->vm_clock_nsec / 1000000000;
    time_t t = sn->date_sec;
    struct tm tm;
    char *vmsize;

    if (localtime_r(&t, &tm)) {
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    } else {
        snprintf(date, sizeof(date), "%" PRIu32, sn->date_sec);
    }
    snprintf(clock, sizeof(clock), "%02" PRIu64 ":%02d:%02d.%03d",
             secs / 3600, (int)(secs / 60 % 60), (int)(secs % 60),
             (int)(sn->vm_clock_nsec / 1000000 % 1000));
    if (sn->icount != UINT64_MAX) {
        snprintf(icount, sizeof(icount), "%" PRIu64, sn->icount);
    } else {
        icount[0] = '\0';
    }
    vmsize = size_to_str(sn->vm_state_size);
    printf("%-9s %-16s %8s%20s%13s%11s\n", sn->id_str, sn->name, vmsize,
           date, clock, icount);
    free(vmsize);
}

/* The reference's snapshot fields come back from the dict form. */
static void snapshot_from_qdict(QDict *d, QEMUSnapshotInfo *sn)
{
    memset(sn, 0, sizeof(*sn));
    pstrcpy(sn->id_str, sizeof(sn->id_str), qdict_get_try_str(d, "id"));
    pstrcpy(sn->name, sizeof(sn->name), qdict_get_try_str(d, "name"));
    sn->vm_state_size = qdict_get_try_int(d, "vm-state-size", 0);
    sn->date_sec = qdict_get_try_int(d, "date-sec", 0);
    sn->date_nsec = qdict_get_try_int(d, "date-nsec", 0);
    sn->vm_clock_nsec = qdict_get_try_int(d, "vm-clock-sec", 0) *
                        1000000000ULL +
                        qdict_get_try_int(d, "vm-clock-nsec", 0);
    sn->icount = qdict_haskey(d, "icount") ?
                 (uint64_t)qdict_get_try_int(d, "icount", 0) : UINT64_MAX;
}

static void dump_info_human(QDict *info)
{
    const char *backing, *full;
    QDict *specific;
    QList *snapshots;
    StrBuf sb = STRBUF_INIT;
    char *str;
    int64_t size = qdict_get_try_int(info, "virtual-size", 0);

    str = size_to_str(size);
    printf("image: %s\n"
           "file format: %s\n"
           "virtual size: %s (%" PRId64 " bytes)\n",
           qdict_get_try_str(info, "filename"),
           qdict_get_try_str(info, "format"), str, size);
    free(str);
    if (qdict_haskey(info, "actual-size")) {
        str = size_to_str(qdict_get_try_int(info, "actual-size", 0));
        printf("disk size: %s\n", str);
        free(str);
    } else {
        printf("disk size: unavailable\n");
    }
    if (qdict_get_try_bool(info, "encrypted", false)) {
        printf("encrypted: yes\n");
    }
    if (qdict_haskey(info, "cluster-size")) {
        printf("cluster_size: %" PRId64 "\n",
               qdict_get_try_int(info, "cluster-size", 0));
    }
    if (qdict_get_try_bool(info, "dirty-flag", false)) {
        printf("cleanly shut down: no\n");
    }
    backing = qdict_get_try_str(info, "backing-filename");
    if (backing) {
        full = qdict_get_try_str(info, "full-backing-filename");
        printf("backing file: %s", backing);
        if (!full) {
            printf(" (cannot determine actual path)");
        } else if (strcmp(backing, full)) {
            printf(" (actual path: %s)", full);
        }
        printf("\n");
    }
    if (qdict_haskey(info, "backing-filename-format")) {
        printf("backing file format: %s\n",
               qdict_get_try_str(info, "backing-filename-format"));
    }
    snapshots = qdict_get_qlist(info, "snapshots");
    if (snapshots) {
        size_t i;

        printf("Snapshot list:\n");
        img_dump_snapshot_header();
        for (i = 0; i < qlist_size(snapshots); i++) {
            QEMUSnapshotInfo sn;

            snapshot_from_qdict(qobject_to_qdict(qlist_peek_nth(snapshots, i)),
                                &sn);
            img_dump_snapshot(&sn);
        }
    }
    specific = qdict_get_qdict(info, "format-specific");
    if (specific) {
        strbuf_init(&sb);
        qobject_human_format_specific(&sb, specific);
        fputs(sb.buf, stdout);
        strbuf_release(&sb);
    }
}

static void dump_json(QObject *obj)
{
    char *json = qobject_to_json(obj, true);

    printf("%s\n", json);
    free(json);
}

/* ---- the command --------------------------------------------------------- */

/*
 * Gathers the info of filename and, with chain, of every image below it.
 * Each image is opened on its own, without its backing file, so a broken
 * chain is reported at the link that breaks. NULL on error (reported).
 */
static QList *collect_image_info_list(bool image_opts, const char *filename,
                                      const char *fmt, bool chain,
                                      bool force_share)
{
    QList *list = qlist_new();
    char **seen = NULL;
    size_t nb_seen = 0, i;
    char *next_name = NULL, *next_fmt = NULL;
    const char *name = filename;

    for (;;) {
        BlockBackend *blk;
        BlockDriverState *bs;
        Error *err = NULL;
        QDict *info;
        const char *backing_fmt;

        for (i = 0; i < nb_seen; i++) {
            if (!strcmp(seen[i], name)) {
                error_report("Backing file '%s' creates an infinite loop.",
                             name);
                goto fail;
            }
        }
        seen = xrealloc(seen, (nb_seen + 1) * sizeof(*seen));
        seen[nb_seen++] = xstrdup(name);

        blk = img_open(image_opts, name, fmt,
                       BDRV_O_NO_BACKING | BDRV_O_NO_IO, false, force_share);
        if (!blk) {
            goto fail;
        }
        bs = blk_bs(blk);
        info = img_collect_info(bs, &err);
        if (!info) {
            error_report_err(err);
            blk_unref(blk);
            goto fail;
        }
        qlist_append(list, info);

        free(next_name);
        free(next_fmt);
        next_name = NULL;
        next_fmt = NULL;
        if (chain && qdict_haskey(info, "backing-filename")) {
            const char *full = qdict_get_try_str(info,
                                                 "full-backing-filename");

            if (!full) {
                error_report("Could not determine absolute backing filename"
                             " for '%s'", name);
                blk_unref(blk);
                goto fail;
            }
            next_name = xstrdup(full);
            backing_fmt = qdict_get_try_str(info, "backing-filename-format");
            next_fmt = backing_fmt ? xstrdup(backing_fmt) : NULL;
        }
        blk_unref(blk);
        if (!next_name) {
            break;
        }
        name = next_name;
        fmt = next_fmt;
        /* Backing files are named by path, whatever named the top. */
        image_opts = false;
    }

    for (i = 0; i < nb_seen; i++) {
        free(seen[i]);
    }
    free(seen);
    return list;

fail:
    for (i = 0; i < nb_seen; i++) {
        free(seen[i]);
    }
    free(seen);
    free(next_name);
    free(next_fmt);
    qobject_unref(QOBJECT(list));
    return NULL;
}

int img_info(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, OPTION_OUTPUT },
        { "backing-chain", no_argument, NULL, OPTION_BACKING_CHAIN },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    OutputFormat ofmt = OFORMAT_HUMAN;
    ImgCommonOpts common = { 0 };
    const char *filename;
    bool chain = false;
    QList *list;
    size_t i;
    int c;

    while ((c = getopt_long(argc, argv, ":f:hU", long_options,
                            NULL)) != -1) {
        switch (c) {
        case OPTION_BACKING_CHAIN:
            chain = true;
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }
    filename = img_one_filename(argc, argv);

    if (!parse_output_format(common.output, &ofmt)) {
        return 1;
    }

    list = collect_image_info_list(common.image_opts, filename, common.fmt,
                                   chain, common.force_share);
    if (!list) {
        return 1;
    }

    if (ofmt == OFORMAT_JSON) {
        dump_json(chain ? QOBJECT(list) : qlist_peek_nth(list, 0));
    } else {
        for (i = 0; i < qlist_size(list); i++) {
            if (i > 0) {
                printf("\n");
            }
            dump_info_human(qobject_to_qdict(qlist_peek_nth(list, i)));
        }
    }
    qobject_unref(QOBJECT(list));
    return 0;
}
