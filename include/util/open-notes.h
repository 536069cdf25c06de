/*
 * The text of what opening an image has to tell the user besides its
 * result (block.h's BlockOpenNotes), as the reference words it. Shared by
 * qemu-img and qemu-io so that both print the same lines; util/ knows
 * nothing of images, so it takes the notes' parts, not the struct.
 */
#ifndef UTIL_OPEN_NOTES_H
#define UTIL_OPEN_NOTES_H

#include "util/osdep.h"

/*
 * Appends to sb, in the reference's order: each line of warnings (lines
 * ending in '\n'; a last line without one is completed) as
 * "PROG: warning: LINE", then, if probed_raw is not NULL, the three-line
 * "WARNING: Image format was not specified for 'probed_raw' ..." block.
 * warnings may be NULL or empty.
 */
void open_notes_format(StrBuf *sb, const char *prog, const char *warnings,
                       const char *probed_raw);

#endif
