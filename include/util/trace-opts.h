/*
 * The -T/--trace option of qemu-img and qemu-io, checked as the reference
 * checks it. This build has no trace events, so nothing is ever traced:
 * what is left is the reference's diagnostics, which scripts may see.
 */
#ifndef UTIL_TRACE_OPTS_H
#define UTIL_TRACE_OPTS_H

#include "util/osdep.h"

/*
 * Checks one -T argument, "[[enable=]PATTERN][,events=FILE][,file=FILE]",
 * at the point the reference does (as the option is parsed). Appends to
 * out, as whole lines for stderr:
 *   - "PROG: warning: trace event 'NAME' does not exist" for an enable
 *     pattern that is a plain name (no '*' or '?'; a leading '-' is
 *     dropped; "help" lists the events, of which there are none);
 *   - the same, prefixed "PROG:FILE:LINE:", for each such line of the
 *     events file (empty lines and '#' comments skipped);
 *   - then, on failure, the error: a bad key ("PROG: Invalid parameter
 *     'KEY'") or an events file that cannot be read
 *     ("PROG:FILE: No such file or directory").
 * *file becomes the file= value (or NULL), replacing the previous one:
 * the last -T decides the log file. Returns 0, or -1 when the caller must
 * print out and exit with status 1.
 */
int trace_opt_check(const char *arg, const char *prog, StrBuf *out,
                    char **file);

/*
 * Opens (creating or truncating) the log file the -T options named, as
 * the reference does once all options are parsed; file may be NULL. On
 * failure appends "PROG: Error opening logfile FILE: REASON" to out and
 * returns -1.
 */
int trace_file_check(const char *file, const char *prog, StrBuf *out);

#endif
