#include "config-host.h"

#include "util/osdep.h"
#include "util/error.h"
#include "util/strbuf.h"

struct Error {
    char *msg;
    char *hint;     /* NULL or text ending in '\n' */
};

/* A distinct address: failing with &error_abort aborts. */
static Error error_abort_sentinel;
Error *error_abort = &error_abort_sentinel;

static void error_handle(Error **errp, Error *err)
{
    if (errp == &error_abort) {
        fprintf(stderr, "Unexpected error: %s\n", err->msg);
        abort();
    }
    if (!errp || *errp) {
        /* Nobody wants it, or the first error wins. */
        error_free(err);
        return;
    }
    *errp = err;
}

void error_vsetg(Error **errp, const char *fmt, va_list ap)
{
    Error *err = xzalloc(sizeof(*err));

    err->msg = xvasprintf(fmt, ap);
    error_handle(errp, err);
}

void error_setg(Error **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vsetg(errp, fmt, ap);
    va_end(ap);
}

void error_setg_errno(Error **errp, int os_errno, const char *fmt, ...)
{
    Error *err = xzalloc(sizeof(*err));
    char *msg;
    va_list ap;

    va_start(ap, fmt);
    msg = xvasprintf(fmt, ap);
    va_end(ap);
    if (os_errno != 0) {
        err->msg = xasprintf("%s: %s", msg, strerror(os_errno));
        free(msg);
    } else {
        err->msg = msg;
    }
    error_handle(errp, err);
}

void error_setg_file_open(Error **errp, int os_errno, const char *filename)
{
    error_setg_errno(errp, os_errno, "Could not open '%s'", filename);
}

void error_prepend(Error **errp, const char *fmt, ...)
{
    char *prefix, *msg;
    va_list ap;

    if (!errp || !*errp || errp == &error_abort) {
        return;
    }
    va_start(ap, fmt);
    prefix = xvasprintf(fmt, ap);
    va_end(ap);
    msg = xasprintf("%s%s", prefix, (*errp)->msg);
    free(prefix);
    free((*errp)->msg);
    (*errp)->msg = msg;
}

void error_append_hint(Error **errp, const char *fmt, ...)
{
    StrBuf sb = STRBUF_INIT;
    va_list ap;

    if (!errp || !*errp || errp == &error_abort) {
        return;
    }
    strbuf_init(&sb);
    if ((*errp)->hint) {
        strbuf_addstr(&sb, (*errp)->hint);
        free((*errp)->hint);
    }
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    (*errp)->hint = strbuf_detach(&sb);
}

void error_propagate(Error **dst, Error *local_err)
{
    if (!local_err) {
        return;
    }
    error_handle(dst, local_err);
}

const char *error_get_pretty(const Error *err)
{
    return err->msg;
}

const char *error_get_hint(const Error *err)
{
    return err->hint;
}

Error *error_copy(const Error *err)
{
    Error *copy = xzalloc(sizeof(*copy));

    copy->msg = xstrdup(err->msg);
    copy->hint = xstrdup(err->hint);
    return copy;
}

void error_free(Error *err)
{
    if (err) {
        free(err->msg);
        free(err->hint);
        free(err);
    }
}

void error_free_or_abort(Error **errp)
{
    assert(errp && *errp);
    error_free(*errp);
    *errp = NULL;
}

/* ---- reporting ---------------------------------------------------------- */

static const char *progname = "qemu-img";

void error_set_progname(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');

    progname = slash ? slash + 1 : argv0;
}

const char *error_get_progname(void)
{
    return progname;
}

void error_vreport(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", progname);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vreport(fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: warning: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void error_report_err(Error *err)
{
    error_report("%s", err->msg);
    if (err->hint) {
        fputs(err->hint, stderr);
    }
    error_free(err);
}

void error_reportf_err(Error *err, const char *fmt, ...)
{
    char *prefix, *msg;
    va_list ap;

    va_start(ap, fmt);
    prefix = xvasprintf(fmt, ap);
    va_end(ap);
    msg = xasprintf("%s%s", prefix, err->msg);
    free(prefix);
    free(err->msg);
    err->msg = msg;
    error_report_err(err);
}

void warn_report_err(Error *err)
{
    warn_report("%s", err->msg);
    if (err->hint) {
        fputs(err->hint, stderr);
    }
    error_free(err);
}
