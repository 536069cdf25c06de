/*
 * -T/--trace without trace events: the option's syntax, its events file
 * and its log file are checked as the reference checks them, and every
 * plain event name is unknown.
 */
#include "config-host.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/osdep.h"
#include "util/error.h"
#include "util/option.h"
#include "util/qobject.h"
#include "util/strbuf.h"
#include "util/trace-opts.h"

static QemuOptsList trace_opts = {
    .name = "trace",
    .implied_opt_name = "enable",
    .desc = (const QemuOptDesc[]) {
        { "enable", QEMU_OPT_STRING, NULL, NULL },
        { "events", QEMU_OPT_STRING, NULL, NULL },
        { "file", QEMU_OPT_STRING, NULL, NULL },
        { NULL }
    },
};

/* Appends the warning for pattern, if it names an event (none exist). */
static void check_pattern(StrBuf *out, const char *prog, const char *where,
                          const char *pattern)
{
    if (pattern[0] == '-') {
        pattern++;
    }
    /* A glob may match nothing; "help" lists the (no) events. */
    if (strpbrk(pattern, "*?") || !strcmp(pattern, "help")) {
        return;
    }
    strbuf_addf(out, "%s%s: warning: trace event '%s' does not exist\n",
                prog, where, pattern);
}

static int check_events_file(StrBuf *out, const char *prog,
                             const char *path)
{
    char *line = NULL, *where;
    size_t alloc = 0;
    ssize_t len;
    struct stat st;
    int lineno = 0;
    FILE *f;

    f = fopen(path, "r");
    if (!f) {
        strbuf_addf(out, "%s:%s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        /* The reference reads no events from a directory, silently. */
        fclose(f);
        return 0;
    }
    while ((len = getline(&line, &alloc, f)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n') {
            line[--len] = '\0';
        }
        if (!len || line[0] == '#') {
            continue;
        }
        where = xasprintf(":%s:%d", path, lineno);
        check_pattern(out, prog, where, line);
        free(where);
    }
    free(line);
    fclose(f);
    return 0;
}

int trace_opt_check(const char *arg, const char *prog, StrBuf *out,
                    char **file)
{
    QemuOpts *opts = qemu_opts_create(&trace_opts);
    QDict *flags = qemu_opts_parse_flat(arg, "enable", NULL);
    Error *err = NULL;
    const char *v;
    int ret = -1;

    /*
     * Parsed flat only for its warnings on bare "key" flags, which the
     * reference prints before any error.
     */
    if (flags) {
        qobject_unref(QOBJECT(flags));
    }
    if (!qemu_opts_do_parse(opts, arg, "enable", &err)) {
        strbuf_addf(out, "%s: %s\n", prog, error_get_pretty(err));
        error_free(err);
        goto out;
    }
    v = qemu_opt_get(opts, "enable");
    if (v) {
        check_pattern(out, prog, "", v);
    }
    v = qemu_opt_get(opts, "events");
    if (v && check_events_file(out, prog, v) < 0) {
        goto out;
    }
    free(*file);
    v = qemu_opt_get(opts, "file");
    *file = v ? xstrdup(v) : NULL;
    ret = 0;
out:
    qemu_opts_del(opts);
    return ret;
}

int trace_file_check(const char *file, const char *prog, StrBuf *out)
{
    FILE *f;

    if (!file) {
        return 0;
    }
    f = fopen(file, "w");
    if (!f) {
        strbuf_addf(out, "%s: Error opening logfile %s: %s\n", prog, file,
                    strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}
