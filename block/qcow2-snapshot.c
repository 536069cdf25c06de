/*
 * qcow2 internal snapshots: the snapshot table.
 *
 * Reading keeps every entry (with extra data we do not know) so that the
 * table can be written back unchanged; check counts the snapshots' L1 and
 * L2 tables as users of their clusters.
 */
#include "config-host.h"

#include "block/dirty-bitmap.h"
#include "util/bswap.h"
#include "util/cutils.h"
#include "util/error.h"
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

/* ---- writing the table ------------------------------------------------ */

/* Extra data we write: VM state size, disk size, instruction count. */
#define SN_EXTRA_KNOWN 24

/*
 * Writes the snapshot table to newly allocated clusters and points the
 * header to it, then frees the old table. Called with s->lock held.
 */
static int coroutine_fn write_snapshots(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_offset = s->snapshots_offset;
    int old_size = s->snapshots_size;
    size_t size = 0, pos;
    uint8_t *buf = NULL;
    int64_t offset = 0;
    uint8_t hdr[12];
    int i, ret;

    for (i = 0; i < s->nb_snapshots; i++) {
        QCowSnapshot *sn = &s->snapshots[i];
        uint32_t extra = MAX(sn->extra_data_size, SN_EXTRA_KNOWN);

        size = ROUND_UP(size, 8);
        size += 40 + extra + strlen(sn->id_str) + strlen(sn->name);
    }
    /* Entries start 8-aligned; the last one is not padded. */
    if (size > QCOW_MAX_SNAPSHOTS_SIZE) {
        return -EFBIG;
    }

    if (size) {
        buf = xzalloc(size);
        for (i = 0, pos = 0; i < s->nb_snapshots; i++) {
            QCowSnapshot *sn = &s->snapshots[i];
            uint32_t extra = MAX(sn->extra_data_size, SN_EXTRA_KNOWN);
            size_t id_len = strlen(sn->id_str), name_len = strlen(sn->name);

            pos = ROUND_UP(pos, 8);
            stbe64(buf + pos, sn->l1_table_offset);
            stbe32(buf + pos + 8, sn->l1_size);
            stbe16(buf + pos + 12, id_len);
            stbe16(buf + pos + 14, name_len);
            stbe32(buf + pos + 16, sn->date_sec);
            stbe32(buf + pos + 20, sn->date_nsec);
            stbe64(buf + pos + 24, sn->vm_clock_nsec);
            stbe32(buf + pos + 32, MIN(sn->vm_state_size, UINT32_MAX));
            stbe32(buf + pos + 36, extra);
            pos += 40;
            if (sn->unknown_extra_data && sn->extra_data_size > 0) {
                memcpy(buf + pos, sn->unknown_extra_data,
                       sn->extra_data_size);
            }
            stbe64(buf + pos, sn->vm_state_size);
            stbe64(buf + pos + 8, sn->disk_size);
            stbe64(buf + pos + 16, sn->icount);
            pos += extra;
            memcpy(buf + pos, sn->id_str, id_len);
            pos += id_len;
            memcpy(buf + pos, sn->name, name_len);
            pos += name_len;
        }

        offset = qcow2_alloc_clusters(bs, size);
        if (offset < 0) {
            ret = offset;
            goto out;
        }
        /* The table's refcount is on disk before the header names it. */
        ret = qcow2_cache_flush(bs, s->refcount_block_cache);
        if (ret < 0) {
            goto fail;
        }
        ret = bdrv_co_pwrite(bs->file, offset, size, buf, 0);
        if (ret < 0) {
            goto fail;
        }
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        goto fail;
    }

    stbe32(hdr, s->nb_snapshots);
    stbe64(hdr + 4, offset);
    ret = bdrv_co_pwrite(bs->file, 60, sizeof(hdr), hdr, 0);
    if (ret < 0) {
        goto fail;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        goto fail;
    }

    s->snapshots_offset = offset;
    s->snapshots_size = size;
    if (old_size) {
        qcow2_free_clusters(bs, old_offset, old_size,
                            QCOW2_DISCARD_SNAPSHOT);
    }
    ret = 0;
    goto out;

fail:
    if (offset > 0) {
        qcow2_free_clusters(bs, offset, size, QCOW2_DISCARD_ALWAYS);
    }
out:
    free(buf);
    return ret;
}

/* ---- refcounts of a whole L1 tree ------------------------------------ */

/*
 * Adds addend (+1, -1, or 0 to just fix the flags) to the refcount of every
 * L2 table and data cluster reachable from the L1 table given as l1 (host
 * byte order, l1_size entries), and sets the COPIED flags of the entries
 * from the resulting refcounts. If l1_offset is nonzero the (changed) L1
 * table is written there.
 */
static int coroutine_fn update_tree_refcount(BlockDriverState *bs,
                                             uint64_t *l1, int l1_size,
                                             uint64_t l1_offset, int addend)
{
    BDRVQcow2State *s = bs->opaque;
    size_t slice_bytes = (size_t)s->l2_slice_size * l2_entry_size(s);
    int n_slices = s->cluster_size / slice_bytes;
    bool l1_changed = false;
    uint64_t refcount;
    int i, j, k, ret;

    for (i = 0; i < l1_size; i++) {
        uint64_t l2_offset = l1[i] & L1E_OFFSET_MASK;
        uint64_t old_l1 = l1[i];

        if (!l2_offset) {
            continue;
        }
        if (offset_into_cluster(s, l2_offset)) {
            qcow2_signal_corruption(bs, true, -1, -1, "L2 table offset %#"
                                    PRIx64 " unaligned (L1 index: %#x)",
                                    l2_offset, i);
            return -EIO;
        }
        for (k = 0; k < n_slices; k++) {
            uint64_t *slice;
            bool dirty = false;

            ret = qcow2_cache_get(bs, s->l2_table_cache,
                                  l2_offset + k * slice_bytes,
                                  (void **)&slice);
            if (ret < 0) {
                return ret;
            }
            for (j = 0; j < s->l2_slice_size; j++) {
                uint64_t entry = get_l2_entry(s, slice, j), new_entry;
                uint64_t host = entry & L2E_OFFSET_MASK;

                switch (qcow2_get_cluster_type(bs, entry)) {
                case QCOW2_CLUSTER_COMPRESSED:
                    if (addend) {
                        uint64_t coffset;
                        int csize, n;

                        qcow2_parse_compressed_l2_entry(bs, entry, &coffset,
                                                        &csize);
                        for (n = 0; n < DIV_ROUND_UP(
                                 offset_into_cluster(s, coffset) + csize,
                                 s->cluster_size); n++) {
                            ret = qcow2_update_cluster_refcount(
                                bs, (coffset >> s->cluster_bits) + n,
                                abs(addend), addend < 0,
                                QCOW2_DISCARD_SNAPSHOT);
                            if (ret < 0) {
                                goto put_fail;
                            }
                        }
                    }
                    continue;
                case QCOW2_CLUSTER_NORMAL:
                case QCOW2_CLUSTER_ZERO_ALLOC:
                    if (has_data_file(bs)) {
                        continue;
                    }
                    if (offset_into_cluster(s, host)) {
                        qcow2_signal_corruption(bs, true, -1, -1, "Cluster "
                                                "allocation offset %#" PRIx64
                                                " unaligned (L2 offset: %#"
                                                PRIx64 ", L2 index: %#x)",
                                                host, l2_offset, j);
                        ret = -EIO;
                        goto put_fail;
                    }
                    if (addend) {
                        ret = qcow2_update_cluster_refcount(
                            bs, host >> s->cluster_bits, abs(addend),
                            addend < 0, QCOW2_DISCARD_SNAPSHOT);
                        if (ret < 0) {
                            goto put_fail;
                        }
                    }
                    ret = qcow2_get_refcount(bs, host >> s->cluster_bits,
                                             &refcount);
                    if (ret < 0) {
                        goto put_fail;
                    }
                    break;
                default:
                    continue;
                }
                new_entry = refcount == 1 ? entry | QCOW_OFLAG_COPIED
                                          : entry & ~QCOW_OFLAG_COPIED;
                if (new_entry != entry) {
                    if (!s->use_lazy_refcounts) {
                        ret = qcow2_cache_set_dependency(
                            bs, s->l2_table_cache, s->refcount_block_cache);
                        if (ret < 0) {
                            goto put_fail;
                        }
                    }
                    set_l2_entry(s, slice, j, new_entry);
                    dirty = true;
                }
            }
            if (dirty) {
                qcow2_cache_entry_mark_dirty(s->l2_table_cache, slice);
            }
            qcow2_cache_put(s->l2_table_cache, (void **)&slice);
            continue;
put_fail:
            qcow2_cache_put(s->l2_table_cache, (void **)&slice);
            return ret;
        }

        if (addend) {
            ret = qcow2_update_cluster_refcount(bs, l2_offset >>
                                                s->cluster_bits, abs(addend),
                                                addend < 0,
                                                QCOW2_DISCARD_SNAPSHOT);
            if (ret < 0) {
                return ret;
            }
        }
        ret = qcow2_get_refcount(bs, l2_offset >> s->cluster_bits,
                                 &refcount);
        if (ret < 0) {
            return ret;
        }
        l1[i] = refcount == 1 ? l2_offset | QCOW_OFLAG_COPIED : l2_offset;
        if (l1[i] != old_l1) {
            l1_changed = true;
        }
    }

    ret = qcow2_flush_caches(bs);
    if (ret < 0) {
        return ret;
    }
    if (l1_offset && l1_changed) {
        uint64_t *be = xnew(uint64_t, MAX(l1_size, 1));

        for (i = 0; i < l1_size; i++) {
            be[i] = cpu_to_be64(l1[i]);
        }
        ret = bdrv_co_pwrite(bs->file, l1_offset, l1_size * sizeof(uint64_t),
                             be, 0);
        free(be);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

static int coroutine_fn read_l1(BlockDriverState *bs, uint64_t offset,
                                int size, uint64_t **l1)
{
    BDRVQcow2State *s = bs->opaque;
    int i, ret;

    if ((uint64_t)size > QCOW_MAX_L1_SIZE / sizeof(uint64_t) ||
        offset_into_cluster(s, offset)) {
        return -EFBIG;
    }
    *l1 = xnew(uint64_t, MAX(size, 1));
    ret = bdrv_co_pread(bs->file, offset, size * sizeof(uint64_t), *l1, 0);
    if (ret < 0) {
        free(*l1);
        *l1 = NULL;
        return ret;
    }
    for (i = 0; i < size; i++) {
        (*l1)[i] = be64_to_cpu((*l1)[i]);
    }
    return 0;
}

static int find_snapshot_by_id_and_name(BlockDriverState *bs, const char *id,
                                        const char *name)
{
    BDRVQcow2State *s = bs->opaque;
    int i;

    for (i = 0; i < s->nb_snapshots; i++) {
        if ((!id || !strcmp(s->snapshots[i].id_str, id)) &&
            (!name || !strcmp(s->snapshots[i].name, name))) {
            return i;
        }
    }
    return -1;
}

static int find_snapshot_by_id_or_name(BlockDriverState *bs, const char *str)
{
    int i = find_snapshot_by_id_and_name(bs, str, NULL);

    return i >= 0 ? i : find_snapshot_by_id_and_name(bs, NULL, str);
}

/* ---- the operations (each in a coroutine) ------------------------------ */

typedef struct SnapshotCo {
    BlockDriverState *bs;
    QEMUSnapshotInfo *sn_info;
    const char *id;
    const char *name;
    Error **errp;
    int ret;
    bool done;
} SnapshotCo;

static void coroutine_fn snapshot_create_entry(void *opaque)
{
    SnapshotCo *c = opaque;
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    QEMUSnapshotInfo *sn_info = c->sn_info;
    QCowSnapshot sn;
    uint64_t *l1_be = NULL;
    int64_t l1_offset = 0;
    int i, ret;

    qemu_co_mutex_lock(&s->lock);
    memset(&sn, 0, sizeof(sn));
    if (!sn_info->id_str[0]) {
        /* The lowest unused number above all numeric IDs. */
        unsigned long max = 0;

        for (i = 0; i < s->nb_snapshots; i++) {
            unsigned long id = strtoul(s->snapshots[i].id_str, NULL, 10);

            max = MAX(max, id);
        }
        snprintf(sn_info->id_str, sizeof(sn_info->id_str), "%lu", max + 1);
    }
    if (find_snapshot_by_id_and_name(bs, sn_info->id_str, NULL) >= 0) {
        ret = -EEXIST;
        goto out;
    }
    if (s->nb_snapshots >= QCOW_MAX_SNAPSHOTS) {
        ret = -EFBIG;
        goto out;
    }

    /* A copy of the active L1 table. */
    l1_offset = qcow2_alloc_clusters(bs, MAX(s->l1_size, 1) *
                                     (int64_t)sizeof(uint64_t));
    if (l1_offset < 0) {
        ret = l1_offset;
        goto out;
    }
    /*
     * The copy is the active table as it is now, COPIED flags included
     * (meaningless in a snapshot, but the reference's bytes).
     */
    l1_be = xnew(uint64_t, MAX(s->l1_size, 1));
    for (i = 0; i < s->l1_size; i++) {
        l1_be[i] = cpu_to_be64(s->l1_table[i]);
    }
    /* Everything the active table reaches gets one more user. */
    ret = update_tree_refcount(bs, s->l1_table, s->l1_size,
                               s->l1_table_offset, 1);
    if (ret < 0) {
        goto fail;
    }
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret == 0) {
        ret = bdrv_co_pwrite(bs->file, l1_offset,
                             s->l1_size * sizeof(uint64_t), l1_be, 0);
    }
    if (ret < 0) {
        update_tree_refcount(bs, s->l1_table, s->l1_size, s->l1_table_offset,
                             -1);
        goto fail;
    }

    sn.l1_table_offset = l1_offset;
    sn.l1_size = s->l1_size;
    sn.id_str = xstrdup(sn_info->id_str);
    sn.name = xstrdup(sn_info->name);
    sn.date_sec = sn_info->date_sec;
    sn.date_nsec = sn_info->date_nsec;
    sn.vm_clock_nsec = sn_info->vm_clock_nsec;
    sn.vm_state_size = sn_info->vm_state_size;
    sn.icount = sn_info->icount;
    sn.disk_size = bs->total_sectors * BDRV_SECTOR_SIZE;
    sn.extra_data_size = SN_EXTRA_KNOWN;

    s->snapshots = xrealloc(s->snapshots, (s->nb_snapshots + 1) *
                            sizeof(QCowSnapshot));
    s->snapshots[s->nb_snapshots++] = sn;
    ret = write_snapshots(bs);
    if (ret < 0) {
        s->nb_snapshots--;
        free(sn.id_str);
        free(sn.name);
        update_tree_refcount(bs, s->l1_table, s->l1_size, s->l1_table_offset,
                             -1);
        goto fail;
    }
    ret = 0;
    goto out;

fail:
    if (l1_offset > 0) {
        qcow2_free_clusters(bs, l1_offset, MAX(s->l1_size, 1) *
                            (int64_t)sizeof(uint64_t), QCOW2_DISCARD_ALWAYS);
    }
out:
    free(l1_be);
    qemu_co_mutex_unlock(&s->lock);
    c->ret = ret;
    c->done = true;
}

static void coroutine_fn snapshot_goto_entry(void *opaque)
{
    SnapshotCo *c = opaque;
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    uint64_t *sn_l1 = NULL, *old_l1 = NULL;
    QCowSnapshot *sn;
    int old_l1_size, i, ret;
    uint8_t size_be[8];

    qemu_co_mutex_lock(&s->lock);
    i = find_snapshot_by_id_or_name(bs, c->id);
    if (i < 0) {
        error_setg_errno(c->errp, ENOENT, "Failed to load snapshot");
        ret = -ENOENT;
        goto out;
    }
    sn = &s->snapshots[i];

    ret = read_l1(bs, sn->l1_table_offset, sn->l1_size, &sn_l1);
    if (ret < 0) {
        error_setg_errno(c->errp, -ret, "Failed to load snapshot");
        goto out;
    }
    if (sn->l1_size > (uint32_t)s->l1_size) {
        ret = qcow2_grow_l1_table(bs, sn->l1_size, true);
        if (ret < 0) {
            error_setg_errno(c->errp, -ret, "Failed to load snapshot");
            goto out;
        }
    }

    /* The snapshot's clusters become users of the active table too. */
    ret = update_tree_refcount(bs, sn_l1, sn->l1_size, 0, 1);
    if (ret < 0) {
        goto fail;
    }

    old_l1_size = s->l1_size;
    old_l1 = xnew(uint64_t, MAX(old_l1_size, 1));
    memcpy(old_l1, s->l1_table, old_l1_size * sizeof(uint64_t));
    memset(s->l1_table, 0, old_l1_size * sizeof(uint64_t));
    memcpy(s->l1_table, sn_l1, sn->l1_size * sizeof(uint64_t));
    for (i = 0; i < s->l1_size; i++) {
        s->l1_table[i] &= ~QCOW_OFLAG_COPIED;
    }
    {
        uint64_t *be = xnew(uint64_t, MAX(s->l1_size, 1));

        for (i = 0; i < s->l1_size; i++) {
            be[i] = cpu_to_be64(s->l1_table[i]);
        }
        ret = bdrv_co_pwrite(bs->file, s->l1_table_offset,
                             s->l1_size * sizeof(uint64_t), be, 0);
        free(be);
    }
    if (ret < 0) {
        goto fail;
    }

    /* The old active tree loses that user; then the flags are right. */
    ret = update_tree_refcount(bs, old_l1, old_l1_size, 0, -1);
    if (ret < 0) {
        goto fail;
    }
    qcow2_cache_empty(bs, s->l2_table_cache);
    ret = update_tree_refcount(bs, s->l1_table, s->l1_size,
                               s->l1_table_offset, 0);
    if (ret < 0) {
        goto fail;
    }

    if (sn->disk_size != (uint64_t)bs->total_sectors * BDRV_SECTOR_SIZE) {
        bs->total_sectors = sn->disk_size / BDRV_SECTOR_SIZE;
        stbe64(size_be, sn->disk_size);
        ret = bdrv_co_pwrite(bs->file, 24, sizeof(size_be), size_be, 0);
        if (ret < 0) {
            goto fail;
        }
    }
    ret = 0;
    goto out;

fail:
    error_setg_errno(c->errp, -ret, "Failed to load snapshot");
out:
    free(sn_l1);
    free(old_l1);
    qemu_co_mutex_unlock(&s->lock);
    c->ret = ret;
    c->done = true;
}

static void coroutine_fn snapshot_delete_entry(void *opaque)
{
    SnapshotCo *c = opaque;
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    QCowSnapshot sn;
    uint64_t *sn_l1 = NULL;
    int i, ret;

    qemu_co_mutex_lock(&s->lock);
    i = find_snapshot_by_id_and_name(bs, c->id, c->name);
    if (i < 0) {
        error_setg(c->errp, "Can't find the snapshot");
        ret = -ENOENT;
        goto out;
    }
    sn = s->snapshots[i];

    ret = read_l1(bs, sn.l1_table_offset, sn.l1_size, &sn_l1);
    if (ret < 0) {
        error_setg_errno(c->errp, -ret, "Failed to load snapshot");
        goto out;
    }

    /* Out of the table first: a crash then only leaks the tree. */
    memmove(s->snapshots + i, s->snapshots + i + 1,
            (s->nb_snapshots - i - 1) * sizeof(QCowSnapshot));
    s->nb_snapshots--;
    ret = write_snapshots(bs);
    if (ret < 0) {
        error_setg_errno(c->errp, -ret, "Failed to remove snapshot from "
                         "snapshot list");
        goto out;
    }

    ret = update_tree_refcount(bs, sn_l1, sn.l1_size, 0, -1);
    if (ret < 0) {
        error_setg_errno(c->errp, -ret, "Failed to free the cluster and L1 "
                         "table");
        goto out;
    }
    qcow2_free_clusters(bs, sn.l1_table_offset,
                        sn.l1_size * (int64_t)sizeof(uint64_t),
                        QCOW2_DISCARD_SNAPSHOT);

    /* Clusters only the active table uses now are its own again. */
    ret = update_tree_refcount(bs, s->l1_table, s->l1_size,
                               s->l1_table_offset, 0);
    if (ret < 0) {
        error_setg_errno(c->errp, -ret, "Failed to update snapshot status "
                         "in disk");
        goto out;
    }
    free(sn.id_str);
    free(sn.name);
    free(sn.unknown_extra_data);
    ret = 0;
out:
    free(sn_l1);
    qemu_co_mutex_unlock(&s->lock);
    c->ret = ret;
    c->done = true;
}

static void coroutine_fn snapshot_load_tmp_entry(void *opaque)
{
    SnapshotCo *c = opaque;
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    uint64_t *sn_l1 = NULL;
    QCowSnapshot *sn;
    size_t bytes;
    int i, ret;

    qemu_co_mutex_lock(&s->lock);
    i = find_snapshot_by_id_and_name(bs, c->id, c->name);
    if (i < 0) {
        error_setg(c->errp, "Can't find snapshot");
        ret = -ENOENT;
        goto out;
    }
    sn = &s->snapshots[i];
    ret = read_l1(bs, sn->l1_table_offset, sn->l1_size, &sn_l1);
    if (ret < 0) {
        error_setg_errno(c->errp, -ret, "Failed to load snapshot");
        goto out;
    }
    /* Read-only: just look through the snapshot's table from now on. */
    bytes = ROUND_UP((size_t)MAX(sn->l1_size, 1) * sizeof(uint64_t), 512);
    qemu_vfree(s->l1_table);
    s->l1_table = qemu_blockalign0(bytes);
    memcpy(s->l1_table, sn_l1, sn->l1_size * sizeof(uint64_t));
    s->l1_size = sn->l1_size;
    s->l1_table_offset = sn->l1_table_offset;
    bs->total_sectors = sn->disk_size / BDRV_SECTOR_SIZE;
    ret = 0;
out:
    free(sn_l1);
    qemu_co_mutex_unlock(&s->lock);
    c->ret = ret;
    c->done = true;
}

int qcow2_snapshot_create(BlockDriverState *bs, QEMUSnapshotInfo *sn_info)
{
    SnapshotCo c = { bs, sn_info, NULL, NULL, NULL, 0, false };

    if (has_data_file(bs)) {
        return -ENOTSUP;
    }
    bdrv_run_co(snapshot_create_entry, &c, &c.done);
    return c.ret;
}

int qcow2_snapshot_goto(BlockDriverState *bs, const char *snapshot_id,
                        Error **errp)
{
    SnapshotCo c = { bs, NULL, snapshot_id, NULL, errp, 0, false };

    /* The bitmaps would not match the data the snapshot brings back. */
    if (bdrv_dirty_bitmap_first(bs)) {
        error_setg(errp, "Device has active dirty bitmaps");
        return -EBUSY;
    }
    if (has_data_file(bs)) {
        error_setg(errp, "Can't use snapshots with an external data file");
        return -ENOTSUP;
    }
    bdrv_run_co(snapshot_goto_entry, &c, &c.done);
    return c.ret;
}

int qcow2_snapshot_delete(BlockDriverState *bs, const char *snapshot_id,
                          const char *name, Error **errp)
{
    SnapshotCo c = { bs, NULL, snapshot_id, name, errp, 0, false };

    bdrv_run_co(snapshot_delete_entry, &c, &c.done);
    return c.ret;
}

int qcow2_snapshot_load_tmp(BlockDriverState *bs, const char *snapshot_id,
                            const char *name, Error **errp)
{
    SnapshotCo c = { bs, NULL, snapshot_id, name, errp, 0, false };

    if (!bs->read_only) {
        error_setg(errp, "Only read-only images can load a snapshot "
                   "temporarily");
        return -EINVAL;
    }
    bdrv_run_co(snapshot_load_tmp_entry, &c, &c.done);
    return c.ret;
}
