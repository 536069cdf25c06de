/*
 * The reference's wording for the notes an open leaves (deprecation
 * warnings, the probed-raw warning): one place, so that qemu-img, qemu-io
 * and every call site in them print the same bytes.
 */
#include "config-host.h"

#include <string.h>

#include "util/osdep.h"
#include "util/strbuf.h"
#include "util/open-notes.h"

void open_notes_format(StrBuf *sb, const char *prog, const char *warnings,
                       const char *probed_raw)
{
    const char *p = warnings;

    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        strbuf_addf(sb, "%s: warning: ", prog);
        strbuf_add(sb, p, len);
        strbuf_addch(sb, '\n');
        p += len + (nl ? 1 : 0);
    }
    if (probed_raw) {
        strbuf_addf(sb,
                    "WARNING: Image format was not specified for '%s' and "
                    "probing guessed raw.\n"
                    "         Automatically detecting the format is "
                    "dangerous for raw images, write operations on block 0 "
                    "will be restricted.\n"
                    "         Specify the 'raw' format explicitly to remove "
                    "the restrictions.\n", probed_raw);
    }
}
