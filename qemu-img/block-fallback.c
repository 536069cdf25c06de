/*
 * Transitional defaults for block-layer entry points that qemu-img needs
 * and block.h declares, but that the block layer may not provide yet
 * (amend schemas, bitmaps, commit's node access). Each is a weak symbol:
 * once block/ defines the real one, the linker takes that and these are
 * dead code, to be deleted then.
 *
 * They answer as a block layer whose formats have none of these features
 * would (raw's answers), so the commands behave as the reference does on
 * raw images until the real ones land.
 */
#include "config-host.h"

#include "util/osdep.h"
#include "util/error.h"
#include "block/block.h"

#define WEAK __attribute__((weak))

WEAK QemuOptsList *bdrv_amend_opts(BlockDriver *drv)
{
    return NULL;
}

WEAK BlockBackend *blk_new_with_bs(BlockDriverState *bs, bool write,
                                   Error **errp)
{
    error_setg_errno(errp, ENOTSUP, "Could not access '%s'",
                     bdrv_get_filename(bs));
    return NULL;
}

WEAK int bdrv_reopen_set_read_only(BlockDriverState *bs, bool read_only,
                                   Error **errp)
{
    error_setg_errno(errp, ENOTSUP, "Could not reopen '%s'",
                     bdrv_get_filename(bs));
    return -ENOTSUP;
}

WEAK int blk_make_empty(BlockBackend *blk, Error **errp)
{
    error_setg_errno(errp, ENOTSUP, "Could not empty the image");
    return -ENOTSUP;
}

/*
 * The reference names the node, which has an automatic "#blockNNN" name;
 * its number depends on how many nodes were opened before.
 */
WEAK int bdrv_dirty_bitmap_add(BlockDriverState *bs, const char *name,
                               uint32_t granularity, Error **errp)
{
    error_setg_errno(errp, ENOTSUP, "Can't store persistent bitmaps to "
                     "#block000");
    return -ENOTSUP;
}

static int bitmap_not_found(const char *name, Error **errp)
{
    error_setg(errp, "Dirty bitmap '%s' not found", name);
    return -ENOENT;
}

WEAK int bdrv_dirty_bitmap_remove(BlockDriverState *bs, const char *name,
                                  Error **errp)
{
    return bitmap_not_found(name, errp);
}

WEAK int bdrv_dirty_bitmap_clear(BlockDriverState *bs, const char *name,
                                 Error **errp)
{
    return bitmap_not_found(name, errp);
}

WEAK int bdrv_dirty_bitmap_set_enabled(BlockDriverState *bs, const char *name,
                                       bool enabled, Error **errp)
{
    return bitmap_not_found(name, errp);
}

WEAK int bdrv_dirty_bitmap_merge(BlockDriverState *bs, const char *name,
                                 BlockDriverState *src_bs,
                                 const char *src_name, Error **errp)
{
    return bitmap_not_found(name, errp);
}

/* Finds the snapshot but cannot load it: answers as the reference would. */
WEAK int bdrv_snapshot_load_tmp(BlockDriverState *bs, const char *snapshot_id,
                                const char *name, Error **errp)
{
    QEMUSnapshotInfo *sn_tab = NULL;
    int nb, i;
    bool found = false;

    nb = bdrv_snapshot_list(bs, &sn_tab);
    for (i = 0; i < nb && !found; i++) {
        found = (!snapshot_id || !strcmp(sn_tab[i].id_str, snapshot_id)) &&
                (!name || !strcmp(sn_tab[i].name, name));
    }
    free(sn_tab);
    if (nb >= 0 && !found) {
        error_setg(errp, "Can't find snapshot");
        return -ENOENT;
    }
    error_setg(errp, "Block format '%s' used by device '' does not support "
               "temporarily loading internal snapshots",
               bdrv_get_format_name(bs));
    return -ENOTSUP;
}
