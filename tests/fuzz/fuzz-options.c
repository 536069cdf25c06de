/*
 * Option strings reach us from -o, --image-opts, --object and sizes on the
 * command line of pipelines that build them from other data. The first byte
 * picks the parser; the rest is the string.
 */
#include "config-host.h"

#include "util/osdep.h"
#include "util/cutils.h"
#include "util/error.h"
#include "util/option.h"
#include "util/strbuf.h"
#include "util/qobject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const QemuOptDesc fuzz_desc[] = {
    { .name = "size", .type = QEMU_OPT_SIZE, .help = "size" },
    { .name = "cluster_size", .type = QEMU_OPT_SIZE, .help = "cluster" },
    { .name = "backing_file", .type = QEMU_OPT_STRING, .help = "backing" },
    { .name = "lazy_refcounts", .type = QEMU_OPT_BOOL, .help = "lazy" },
    { .name = "refcount_bits", .type = QEMU_OPT_NUMBER, .help = "bits" },
    { NULL }
};

static QemuOptsList fuzz_opts = {
    .name = "fuzz",
    .desc = fuzz_desc,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    Error *err = NULL;
    QDict *dict = NULL;
    QemuOpts *opts;
    uint64_t value;

    if (size < 1) {
        return 0;
    }
    text = xstrndup((const char *)data + 1, size - 1);
    switch (data[0] % 4) {
    case 0:
        dict = keyval_parse_flat(text, "qom-type", &err);
        break;
    case 1:
        dict = qemu_opts_parse_flat(text, "file", &err);
        break;
    case 2:
        opts = qemu_opts_create(&fuzz_opts);
        if (qemu_opts_do_parse(opts, text, NULL, &err)) {
            StrBuf sb = STRBUF_INIT;

            strbuf_init(&sb);
            qemu_opts_print(opts, " ", &sb);
            strbuf_release(&sb);
        }
        qemu_opts_del(opts);
        break;
    default:
        qemu_strtosz(text, NULL, &value);
        break;
    }
    qobject_unref(QOBJECT(dict));
    error_free(err);
    free(text);
    return 0;
}
