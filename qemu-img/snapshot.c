/*
 * qemu-img snapshot: lists, creates, applies and deletes internal
 * snapshots through the block layer's snapshot operations. Formats
 * without snapshots (raw) have an empty list and refuse the rest.
 */
#include "config-host.h"

#include <getopt.h>
#include <sys/time.h>

#include "util/osdep.h"
#include "util/cutils.h"
#include "util/error.h"
#include "block/block.h"
#include "qemu-img.h"

enum {
    SNAPSHOT_LIST = 1,
    SNAPSHOT_CREATE,
    SNAPSHOT_APPLY,
    SNAPSHOT_DELETE,
};

static void dump_snapshots(BlockDriverState *bs)
{
    QEMUSnapshotInfo *sn_tab = NULL;
    int nb_sns, i;

    nb_sns = bdrv_snapshot_list(bs, &sn_tab);
    if (nb_sns <= 0) {
        free(sn_tab);
        return;
    }
    printf("Snapshot list:\n");
    img_dump_snapshot_header();
    for (i = 0; i < nb_sns; i++) {
        img_dump_snapshot(&sn_tab[i]);
    }
    free(sn_tab);
}

/* -d names a snapshot by its tag only, as the reference does. */
static bool find_snapshot_by_name(BlockDriverState *bs, const char *name,
                                  QEMUSnapshotInfo *found)
{
    QEMUSnapshotInfo *sn_tab = NULL;
    int nb_sns, i;
    bool ok = false;

    nb_sns = bdrv_snapshot_list(bs, &sn_tab);
    for (i = 0; i < nb_sns; i++) {
        if (!strcmp(sn_tab[i].name, name)) {
            *found = sn_tab[i];
            ok = true;
            break;
        }
    }
    free(sn_tab);
    return ok;
}

int img_snapshot(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *filename, *snapshot_name = NULL;
    ImgCommonOpts common = { 0 };
    int action = 0, flags = BDRV_O_RDWR, c, ret;
    BlockBackend *blk;
    BlockDriverState *bs;
    QEMUSnapshotInfo sn;
    Error *err = NULL;

    while ((c = getopt_long(argc, argv, ":la:c:d:hqU", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'l':
        case 'a':
        case 'c':
        case 'd':
            if (action) {
                error_exit("Cannot mix '-l', '-a', '-c', '-d'");
            }
            action = c == 'l' ? SNAPSHOT_LIST :
                     c == 'a' ? SNAPSHOT_APPLY :
                     c == 'c' ? SNAPSHOT_CREATE : SNAPSHOT_DELETE;
            if (c == 'l') {
                flags &= ~BDRV_O_RDWR;
            } else {
                snapshot_name = optarg;
            }
            break;
        default:
            img_common_option(c, argv, &common);
            break;
        }
    }
    filename = img_one_filename(argc, argv);

    blk = img_open(common.image_opts, filename, NULL, flags, false,
                   common.force_share);
    if (!blk) {
        return 1;
    }
    bs = blk_bs(blk);

    /*
     * No action: the reference opens the image read-write (so a lock or
     * -U still fails) and then does nothing at all.
     */
    ret = 0;
    switch (action) {
    case 0:
        break;

    case SNAPSHOT_LIST:
        dump_snapshots(bs);
        break;

    case SNAPSHOT_CREATE: {
        struct timeval tv;

        memset(&sn, 0, sizeof(sn));
        pstrcpy(sn.name, sizeof(sn.name), snapshot_name);
        gettimeofday(&tv, NULL);
        sn.date_sec = tv.tv_sec;
        sn.date_nsec = tv.tv_usec * 1000;
        /* No guest ran: no VM state, clock or instruction count. */
        sn.icount = 0;
        ret = bdrv_snapshot_create(bs, &sn);
        if (ret < 0) {
            error_report("Could not create snapshot '%s': %d (%s)",
                         snapshot_name, ret, strerror(-ret));
            ret = 1;
        }
        break;
    }

    case SNAPSHOT_APPLY:
        ret = bdrv_snapshot_goto(bs, snapshot_name, &err);
        if (ret < 0) {
            /*
             * The reference reopens an image whose format has no
             * snapshots while trying its file instead, and so warns
             * about a probed raw image a second time.
             */
            if (ret == -ENOTSUP && bdrv_is_probed_raw(bs)) {
                img_warn_probed_raw(filename);
            }
            error_reportf_err(err, "Could not apply snapshot '%s': ",
                              snapshot_name);
            ret = 1;
        }
        break;

    case SNAPSHOT_DELETE:
        if (!find_snapshot_by_name(bs, snapshot_name, &sn)) {
            error_report("Could not delete snapshot '%s': snapshot not found",
                         snapshot_name);
            ret = 1;
            break;
        }
        ret = bdrv_snapshot_delete(bs, sn.id_str, sn.name, &err);
        if (ret < 0) {
            error_reportf_err(err, "Could not delete snapshot '%s': ",
                              snapshot_name);
            ret = 1;
        }
        break;
    }

    blk_unref(blk);
    return ret;
}
