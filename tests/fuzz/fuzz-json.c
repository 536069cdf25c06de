/*
 * The JSON parser reads "json:{...}" filenames, which come from the command
 * line and from backing file names recorded inside images: untrusted.
 * Parsing then serialising must never crash, leak or loop.
 */
#include "config-host.h"

#include "util/osdep.h"
#include "util/error.h"
#include "util/qobject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);
    Error *err = NULL;
    QObject *obj = qobject_from_json(text, &err);

    if (obj) {
        free(qobject_to_json(obj, true));
        free(qobject_to_json(obj, false));
        qobject_unref(obj);
    } else {
        error_free(err);
    }
    free(text);
    return 0;
}
