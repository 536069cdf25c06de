/*
 * Errors on control paths (open, create, options, check, amend).
 *
 * A function that can fail takes 'Error **errp' last. On failure it sets
 * *errp exactly once (through error_setg and friends) and returns its failure
 * value (false, NULL or -errno); on success it leaves *errp alone. errp may
 * be NULL (the caller does not care) or &error_abort (failure is a bug).
 * Messages follow qemu-img's wording: no trailing newline or full stop,
 * subjects in single quotes.
 *
 * Only the front ends (qemu-img/, qemu-io/) print errors: error_report and
 * friends live here so that they share one format ("<prog>: <msg>").
 */
#ifndef UTIL_ERROR_H
#define UTIL_ERROR_H

#include "util/osdep.h"

extern Error *error_abort;

void error_setg(Error **errp, const char *fmt, ...) PRINTF_FMT(2, 3);
void error_vsetg(Error **errp, const char *fmt, va_list ap) PRINTF_FMT(2, 0);
/* Appends ": <strerror(os_errno)>"; os_errno is positive. */
void error_setg_errno(Error **errp, int os_errno, const char *fmt, ...)
    PRINTF_FMT(3, 4);
/* "Could not open '<filename>': <strerror>" */
void error_setg_file_open(Error **errp, int os_errno, const char *filename);
/* Adds text in front of the message: "<prefix><old message>". */
void error_prepend(Error **errp, const char *fmt, ...) PRINTF_FMT(2, 3);
/* A hint printed on its own lines after the message by error_report_err. */
void error_append_hint(Error **errp, const char *fmt, ...) PRINTF_FMT(2, 3);
/* Moves local_err into *dst (or frees it when dst is NULL or already set). */
void error_propagate(Error **dst, Error *local_err);
const char *error_get_pretty(const Error *err);
const char *error_get_hint(const Error *err);
Error *error_copy(const Error *err);
void error_free(Error *err);
/* Frees *errp if set and clears it. */
void error_free_or_abort(Error **errp);

/* ---- reporting: front ends only ---------------------------------------- */

/* Program name printed before every message ("qemu-img"). */
void error_set_progname(const char *argv0);
const char *error_get_progname(void);
/* "<prog>: <msg>\n" on stderr. */
void error_report(const char *fmt, ...) PRINTF_FMT(1, 2);
void error_vreport(const char *fmt, va_list ap) PRINTF_FMT(1, 0);
/* "<prog>: warning: <msg>\n" on stderr. */
void warn_report(const char *fmt, ...) PRINTF_FMT(1, 2);
/* "<prog>: <msg>\n" followed by the hint, then frees err. */
void error_report_err(Error *err);
/* Like error_report_err with a prefix before the message. */
void error_reportf_err(Error *err, const char *fmt, ...) PRINTF_FMT(2, 3);
void warn_report_err(Error *err);

#endif
