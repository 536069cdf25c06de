/*
 * The driver registry: an explicit, ordered list of the built-in drivers
 * (no constructors, no plugins), and bdrv_register, which refuses a driver
 * that lacks what its kind needs so that the core never has to check for
 * mandatory hooks on the data path.
 *
 * Order matters only for probe ties; raw scores 1 and so always loses.
 * Adding a driver: define 'const BlockDriver bdrv_<name>' in its file,
 * declare it below and list it in builtin_block_drivers.
 */
#include "config-host.h"

#include "block/block_int.h"

extern const BlockDriver bdrv_blkdebug;
extern const BlockDriver bdrv_file;
extern const BlockDriver bdrv_host_device;
extern const BlockDriver bdrv_raw;
extern const BlockDriver bdrv_qcow2;

const BlockDriver *const builtin_block_drivers[] = {
    &bdrv_file,
    &bdrv_host_device,
    &bdrv_blkdebug,
    &bdrv_qcow2,
    &bdrv_raw,
    NULL,
};

#define MAX_DRIVERS 64

static const BlockDriver *registry[MAX_DRIVERS];
static int nb_registered;
static bool initialised;

const BlockDriver *bdrv_find_driver(const char *format_name)
{
    int i;

    if (!format_name) {
        return NULL;
    }
    for (i = 0; i < nb_registered; i++) {
        if (!strcmp(registry[i]->format_name, format_name)) {
            return registry[i];
        }
    }
    return NULL;
}

bool bdrv_register(const BlockDriver *drv)
{
    if (!drv || !drv->format_name || !drv->format_name[0] ||
        !drv->bdrv_open || drv->instance_size < 0) {
        return false;
    }
    if (drv->is_format) {
        /* A format must at least be readable. */
        if (!drv->bdrv_co_preadv) {
            return false;
        }
    } else {
        /* A protocol serves bytes and knows its length. */
        if (!drv->protocol_name || !drv->bdrv_co_preadv ||
            !drv->bdrv_co_getlength) {
            return false;
        }
    }
    if (drv->supports_backing && !drv->bdrv_co_block_status) {
        /* Without block status the core cannot tell what to read below. */
        return false;
    }
    if (bdrv_find_driver(drv->format_name) || nb_registered >= MAX_DRIVERS) {
        return false;
    }
    registry[nb_registered++] = drv;
    return true;
}

void bdrv_init(void)
{
    int i;

    if (initialised) {
        return;
    }
    initialised = true;
    for (i = 0; builtin_block_drivers[i]; i++) {
        bool ok = bdrv_register(builtin_block_drivers[i]);

        /* A built-in driver that fails the checks is a programming error. */
        assert(ok);
        (void)ok;
    }
}

const BlockDriver *bdrv_driver_at(int i)
{
    bdrv_init();
    if (i < 0 || i >= nb_registered) {
        return NULL;
    }
    return registry[i];
}

const BlockDriver *bdrv_find_protocol_by_name(const char *name)
{
    int i;

    bdrv_init();
    for (i = 0; i < nb_registered; i++) {
        if (!registry[i]->is_format && registry[i]->protocol_name &&
            !strcmp(registry[i]->protocol_name, name)) {
            return registry[i];
        }
    }
    return NULL;
}
