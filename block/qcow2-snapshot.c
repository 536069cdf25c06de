/*
 * qcow2 internal snapshots: the snapshot table.
 *
 * Reading keeps every entry (with extra data we do not know) so that the
 * table can be written back unchanged; check counts the snapshots' L1 and
 * L2 tables as users of their clusters.
 */
#include "config-host.h"

#include "util/bswap.h"
#include "util/cutils.h"
#include "qcow2.h"

void qcow2_free_snapshots(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int i;

    for (i = 0; i < s->nb_snapshots; i++) {
        free(s->snapshots[i].name);
        free(s->snapshots[i].id_str);
        free(s->snapshots[i].unknown_extra_data);
    }
    free(s->snapshots);
    s->snapshots = NULL;
    s->nb_snapshots = 0;
}

int qcow2_read_snapshots(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t h[40];
    uint64_t offset;
    uint32_t nb, i;
    uint64_t header_nb;
    int ret;

    /* nb_snapshots and snapshots_offset straight from the header. */
    ret = bdrv_pread(bs->file, 60, 12, h, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to read snapshot table");
        return ret;
    }
    header_nb = ldbe32(h);
    s->snapshots_offset = ldbe64(h + 4);
    nb = header_nb;
    s->nb_snapshots = 0;
    s->snapshots_size = 0;
    if (!nb) {
        s->snapshots = NULL;
        return 0;
    }

    s->snapshots = xnew(QCowSnapshot, nb);
    offset = s->snapshots_offset;
    for (i = 0; i < nb; i++) {
        QCowSnapshot *sn = &s->snapshots[i];
        uint16_t id_len, name_len;
        uint32_t extra;
        uint8_t *extra_buf = NULL;

        offset = ROUND_UP(offset, 8);
        ret = bdrv_pread(bs->file, offset, sizeof(h), h, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to read snapshot table");
            goto fail;
        }
        offset += sizeof(h);
        sn->l1_table_offset = ldbe64(h);
        sn->l1_size = ldbe32(h + 8);
        id_len = ldbe16(h + 12);
        name_len = ldbe16(h + 14);
        sn->date_sec = ldbe32(h + 16);
        sn->date_nsec = ldbe32(h + 20);
        sn->vm_clock_nsec = ldbe64(h + 24);
        sn->vm_state_size = ldbe32(h + 32);
        extra = ldbe32(h + 36);
        sn->extra_data_size = extra;
        sn->icount = (uint64_t)-1;

        if (extra > 1024) {
            error_setg(errp, "Too much extra metadata in snapshot table entry "
                       "%" PRIu32, i);
            error_append_hint(errp, "You can force-remove this extra metadata "
                              "with qemu-img check -r all\n");
            ret = -EFBIG;
            goto fail;
        }
        if (extra) {
            extra_buf = xmalloc(extra);
            ret = bdrv_pread(bs->file, offset, extra, extra_buf, 0);
            if (ret < 0) {
                free(extra_buf);
                error_setg_errno(errp, -ret, "Failed to read snapshot table");
                goto fail;
            }
            offset += extra;
            if (extra >= 8) {
                sn->vm_state_size = ldbe64(extra_buf);
            }
            if (extra >= 16) {
                sn->disk_size = ldbe64(extra_buf + 8);
            } else {
                sn->disk_size = bs->total_sectors * BDRV_SECTOR_SIZE;
            }
            if (extra >= 24) {
                sn->icount = ldbe64(extra_buf + 16);
            }
            sn->unknown_extra_data = extra_buf;
        } else {
            sn->disk_size = bs->total_sectors * BDRV_SECTOR_SIZE;
        }

        sn->id_str = xmalloc(id_len + 1);
        ret = bdrv_pread(bs->file, offset, id_len, sn->id_str, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to read snapshot table");
            goto fail_entry;
        }
        sn->id_str[id_len] = '\0';
        offset += id_len;

        sn->name = xmalloc(name_len + 1);
        ret = bdrv_pread(bs->file, offset, name_len, sn->name, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to read snapshot table");
            goto fail_entry;
        }
        sn->name[name_len] = '\0';
        offset += name_len;

        s->nb_snapshots = i + 1;
        if (offset - s->snapshots_offset > QCOW_MAX_SNAPSHOTS_SIZE) {
            error_setg(errp, "Snapshot table is too big");
            ret = -EFBIG;
            goto fail;
        }
        continue;

fail_entry:
        s->nb_snapshots = i + 1;
        goto fail;
    }
    s->snapshots_size = offset - s->snapshots_offset;
    return 0;

fail:
    qcow2_free_snapshots(bs);
    return ret;
}

int qcow2_snapshot_list(BlockDriverState *bs, QEMUSnapshotInfo **psn_tab)
{
    BDRVQcow2State *s = bs->opaque;
    QEMUSnapshotInfo *sn_tab;
    int i;

    if (!s->nb_snapshots) {
        *psn_tab = NULL;
        return 0;
    }
    sn_tab = xnew(QEMUSnapshotInfo, s->nb_snapshots);
    for (i = 0; i < s->nb_snapshots; i++) {
        QCowSnapshot *sn = &s->snapshots[i];

        pstrcpy(sn_tab[i].id_str, sizeof(sn_tab[i].id_str), sn->id_str);
        pstrcpy(sn_tab[i].name, sizeof(sn_tab[i].name), sn->name);
        sn_tab[i].vm_state_size = sn->vm_state_size;
        sn_tab[i].date_sec = sn->date_sec;
        sn_tab[i].date_nsec = sn->date_nsec;
        sn_tab[i].vm_clock_nsec = sn->vm_clock_nsec;
        sn_tab[i].icount = sn->icount;
    }
    *psn_tab = sn_tab;
    return s->nb_snapshots;
}

int qcow2_snapshot_create(BlockDriverState *bs, QEMUSnapshotInfo *sn_info)
{
    return -ENOTSUP;
}

int qcow2_snapshot_goto(BlockDriverState *bs, const char *snapshot_id,
                        Error **errp)
{
    error_setg(errp, "Internal snapshots are not supported yet");
    return -ENOTSUP;
}

int qcow2_snapshot_delete(BlockDriverState *bs, const char *snapshot_id,
                          const char *name, Error **errp)
{
    error_setg(errp, "Internal snapshots are not supported yet");
    return -ENOTSUP;
}
