/*
 * Image creation: bdrv_create (one driver), bdrv_create_file (the protocol
 * step every format starts with) and bdrv_img_create, which does what
 * 'qemu-img create' does between parsing its arguments and printing:
 * schema merge, -o, backing file checks, size from the backing file, the
 * "Formatting ..." line, then creation. It knows no format: each driver
 * brings its create_opts and bdrv_co_create_opts.
 */
#include "config-host.h"

#include "block/block_int.h"
#include "util/cutils.h"
#include "util/strbuf.h"

typedef struct CreateCo {
    const BlockDriver *drv;
    const char *filename;
    QemuOpts *opts;
    Error **errp;
    int ret;
    bool done;
} CreateCo;

static void coroutine_fn bdrv_create_co_entry(void *opaque)
{
    CreateCo *c = opaque;

    c->ret = c->drv->bdrv_co_create_opts(c->drv, c->filename, c->opts,
                                         c->errp);
    c->done = true;
}

int bdrv_create(BlockDriver *drv, const char *filename, QemuOpts *opts,
                Error **errp)
{
    CreateCo c = { .drv = drv, .filename = filename, .opts = opts };
    Error *local_err = NULL;

    if (!drv->bdrv_co_create_opts) {
        error_setg(errp, "Driver '%s' does not support image creation",
                   drv->format_name);
        return -ENOTSUP;
    }
    c.errp = &local_err;
    bdrv_run_co(bdrv_create_co_entry, &c, &c.done);
    if (c.ret < 0) {
        if (!local_err) {
            error_setg_errno(&local_err, -c.ret, "Could not create image");
        }
        error_propagate(errp, local_err);
    } else if (local_err) {
        error_free(local_err);
    }
    return c.ret;
}

int bdrv_co_create_file(const char *filename, QemuOpts *opts, Error **errp)
{
    const BlockDriver *drv;
    QemuOpts *proto_opts = NULL;
    QDict *qdict = NULL;
    Error *local_err = NULL;
    int ret;

    drv = bdrv_find_protocol(filename, true, errp);
    if (!drv) {
        return -ENOENT;
    }
    if (!drv->bdrv_co_create_opts) {
        error_setg(errp, "Driver '%s' does not support image creation",
                   drv->format_name);
        return -ENOTSUP;
    }
    /*
     * The protocol gets the options of its own schema; those of the format
     * were validated against the merged schema already.
     */
    proto_opts = qemu_opts_create(drv->create_opts);
    if (opts) {
        qdict = qemu_opts_to_qdict(opts, NULL);
        if (!qemu_opts_absorb_qdict(proto_opts, qdict, &local_err)) {
            error_propagate(errp, local_err);
            ret = -EINVAL;
            goto out;
        }
    }
    ret = drv->bdrv_co_create_opts(drv, filename, proto_opts, &local_err);
    if (ret < 0) {
        if (!local_err) {
            error_setg_errno(&local_err, -ret, "Could not create '%s'",
                             filename);
        }
        error_propagate(errp, local_err);
    } else if (local_err) {
        error_free(local_err);
    }
out:
    if (qdict) {
        qdict_unref(qdict);
    }
    qemu_opts_del(proto_opts);
    return ret;
}

int coroutine_fn bdrv_co_delete_file(const char *filename, Error **errp)
{
    const BlockDriver *drv;

    drv = bdrv_find_protocol(filename, true, errp);
    if (!drv) {
        return -ENOENT;
    }
    if (!drv->bdrv_co_delete_file) {
        error_setg(errp, "Driver '%s' does not support image deletion",
                   drv->format_name);
        return -ENOTSUP;
    }
    return drv->bdrv_co_delete_file(drv, filename, errp);
}

typedef struct CreateFileCo {
    const char *filename;
    QemuOpts *opts;
    Error **errp;
    int ret;
    bool done;
} CreateFileCo;

static void coroutine_fn bdrv_create_file_co_entry(void *opaque)
{
    CreateFileCo *c = opaque;

    c->ret = bdrv_co_create_file(c->filename, c->opts, c->errp);
    c->done = true;
}

int bdrv_create_file(const char *filename, QemuOpts *opts, Error **errp)
{
    CreateFileCo c = { .filename = filename, .opts = opts, .errp = errp };

    bdrv_run_co(bdrv_create_file_co_entry, &c, &c.done);
    return c.ret;
}

/*
 * Opens the backing file for its size and format (force-share, read-only),
 * as the reference does before creating an overlay.
 */
static int img_create_probe_backing(const char *filename,
                                    const char *backing_file,
                                    const char *backing_fmt, int flags,
                                    int64_t *size, char **detected_fmt,
                                    Error **errp)
{
    BlockDriverState *bs;
    QDict *options = qdict_new();
    char *full;
    Error *local_err = NULL;
    int ret = 0;

    if (path_is_absolute(backing_file) || path_has_protocol(backing_file) ||
        strstart(backing_file, "json:", NULL)) {
        full = xstrdup(backing_file);
    } else {
        full = path_combine(filename, backing_file);
    }
    if (backing_fmt) {
        qdict_put_str(options, "driver", backing_fmt);
    }
    qdict_put_bool(options, "force-share", true);
    flags &= ~(BDRV_O_RDWR | BDRV_O_NO_BACKING | BDRV_O_PROTOCOL);
    bs = bdrv_open(full, options, NULL, flags, &local_err);
    if (!bs) {
        error_append_hint(&local_err, "Could not open backing image.\n");
        error_propagate(errp, local_err);
        ret = -EINVAL;
        goto out;
    }
    *size = bdrv_getlength(bs);
    if (*size < 0) {
        error_setg_errno(errp, (int)-*size, "Could not get size of '%s'",
                         backing_file);
        ret = (int)*size;
    }
    *detected_fmt = xstrdup(bs->drv->format_name);
    bdrv_unref(bs);
out:
    free(full);
    return ret;
}

int bdrv_img_create(const BdrvImgCreateParams *params, StrBuf *formatting,
                    Error **errp)
{
    BlockDriver *drv;
    QemuOptsList *create_opts = NULL;
    QemuOpts *opts = NULL;
    const char *filename = params->filename;
    const char *backing_file;
    const char *backing_fmt;
    char *detected_fmt = NULL;
    int64_t size;
    Error *local_err = NULL;
    int ret = -EINVAL;

    bdrv_init();
    drv = bdrv_find_format(params->fmt);
    if (!drv) {
        error_setg(errp, "Unknown file format '%s'", params->fmt);
        return -EINVAL;
    }
    create_opts = bdrv_create_opts_merged(drv, filename, errp);
    if (!create_opts) {
        return -EINVAL;
    }
    opts = qemu_opts_create(create_opts);

    if (params->options &&
        !qemu_opts_do_parse(opts, params->options, NULL, errp)) {
        goto out;
    }
    if (params->img_size != (uint64_t)-1) {
        if (qemu_opt_find(opts, "size")) {
            error_setg(errp, "The image size must be specified only once");
            goto out;
        }
        if (!qemu_opt_set_number(opts, "size", (int64_t)params->img_size,
                                 errp)) {
            goto out;
        }
    }
    if (params->base_filename) {
        if (!qemu_opt_set(opts, "backing_file", params->base_filename,
                          NULL)) {
            error_setg(errp, "Backing file not supported for file format "
                       "'%s'", params->fmt);
            goto out;
        }
    }
    if (params->base_fmt) {
        if (!qemu_opt_set(opts, "backing_fmt", params->base_fmt, NULL)) {
            error_setg(errp, "Backing file format not supported for file "
                       "format '%s'", params->fmt);
            goto out;
        }
    }

    backing_file = qemu_opt_get(opts, "backing_file");
    if (backing_file) {
        if (!strcmp(filename, backing_file)) {
            error_setg(errp, "Error: Trying to create an image with the same "
                       "filename as the backing file");
            goto out;
        }
        if (backing_file[0] == '\0') {
            error_setg(errp, "Expected backing file name, got empty string");
            goto out;
        }
    }
    backing_fmt = qemu_opt_get(opts, "backing_fmt");

    size = qemu_opt_find(opts, "size") ?
           (int64_t)qemu_opt_get_size(opts, "size", 0) : -1;

    if (backing_file && !params->unsafe) {
        int64_t backing_size = -1;

        if (img_create_probe_backing(filename, backing_file, backing_fmt,
                                     params->flags, &backing_size,
                                     &detected_fmt, errp) < 0) {
            goto out;
        }
        if (!backing_fmt) {
            error_setg(&local_err, "Backing file specified without backing "
                       "format");
            error_append_hint(&local_err, "Detected format of %s.",
                              detected_fmt);
            error_propagate(errp, local_err);
            goto out;
        }
        if (size == -1) {
            size = backing_size;
            if (!qemu_opt_set_number(opts, "size", size, errp)) {
                goto out;
            }
        }
    } else if (backing_file && !backing_fmt) {
        error_setg(errp, "Backing file specified without backing format");
        goto out;
    }
    if (size == -1) {
        error_setg(errp, "Image creation needs a size parameter");
        goto out;
    }

    strbuf_addf(formatting, "Formatting '%s', fmt=%s", filename,
                params->fmt);
    qemu_opts_print(opts, " ", formatting);

    /* The reference's format refuses it before it leaves a file behind. */
    if (backing_fmt && !backing_file && drv->supports_backing) {
        error_setg(errp, "Backing format cannot be used without backing "
                   "file");
        ret = -EINVAL;
        goto out;
    }

    ret = bdrv_create(drv, filename, opts, &local_err);
    if (ret == -EFBIG) {
        const char *hint = "";

        if (qemu_opt_get_size(opts, "cluster_size", 0)) {
            hint = " (try using a larger cluster size)";
        }
        error_free(local_err);
        local_err = NULL;
        error_setg(errp, "The image size is too large for file format '%s'%s",
                   params->fmt, hint);
    } else if (ret < 0) {
        error_propagate(errp, local_err);
    }

out:
    free(detected_fmt);
    if (opts) {
        qemu_opts_del(opts);
    }
    qemu_opts_free(create_opts);
    return ret < 0 ? ret : 0;
}

QemuOptsList *bdrv_create_opts_merged(BlockDriver *drv, const char *filename,
                                      Error **errp)
{
    BlockDriver *proto_drv;
    QemuOptsList *opts;

    proto_drv = bdrv_find_protocol(filename, true, errp);
    if (!proto_drv) {
        return NULL;
    }
    if (!drv->create_opts) {
        error_setg(errp, "Format driver '%s' does not support image creation",
                   drv->format_name);
        return NULL;
    }
    if (!proto_drv->create_opts) {
        error_setg(errp, "Protocol driver '%s' does not support image "
                   "creation", proto_drv->format_name);
        return NULL;
    }
    opts = qemu_opts_append(NULL, drv->create_opts);
    if (proto_drv != drv) {
        /* Consumes the first list (see option.h). */
        opts = qemu_opts_append(opts, proto_drv->create_opts);
    }
    return opts;
}
