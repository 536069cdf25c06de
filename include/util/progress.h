/*
 * qemu-img's progress bar: "    (12.34/100%)" redrawn in place on stdout
 * when enabled (-p). SIGUSR1 prints the current progress once even when
 * disabled, as the reference does.
 */
#ifndef UTIL_PROGRESS_H
#define UTIL_PROGRESS_H

#include "util/osdep.h"

/* min_skip: redraw only after progress advanced by this many percent. */
void qemu_progress_init(bool enabled, float min_skip);
/* Adds delta percent of the current phase whose weight is max percent. */
void qemu_progress_print(float delta, int max);
void qemu_progress_end(void);

#endif
