/*
 * The reference's human dump of QAPI values (its "Format specific
 * information:" section), shared by qemu-img info and qemu-io info so that
 * both print every format's fields the same way.
 */
#include "config-host.h"

#include "util/osdep.h"
#include "util/qobject.h"
#include "util/qobject-human.h"
#include "util/strbuf.h"

static void add_scalar(StrBuf *sb, QObject *obj)
{
    QNum *num;
    int64_t i;
    uint64_t u;

    switch (qobject_type(obj)) {
    case QTYPE_QNUM:
        num = qobject_to_qnum(obj);
        if (qnum_get_try_int(num, &i)) {
            strbuf_addf(sb, "%" PRId64, i);
        } else if (qnum_get_try_uint(num, &u)) {
            strbuf_addf(sb, "%" PRIu64, u);
        } else {
            strbuf_addf(sb, "%f", qnum_get_double(num));
        }
        break;
    case QTYPE_QSTRING:
        strbuf_addstr(sb, qstring_get_str(qobject_to_qstring(obj)));
        break;
    case QTYPE_QBOOL:
        strbuf_addstr(sb, qbool_get_bool(qobject_to_qbool(obj)) ? "true"
                                                                : "false");
        break;
    case QTYPE_QNULL:
        strbuf_addstr(sb, "null");
        break;
    default:
        break;
    }
}

static bool is_compound(QObject *obj)
{
    return qobject_type(obj) == QTYPE_QDICT ||
           qobject_type(obj) == QTYPE_QLIST;
}

/* Ends the line of a "label:" whose value is value. */
static void add_value(StrBuf *sb, QObject *value, int indent)
{
    if (is_compound(value)) {
        strbuf_addch(sb, '\n');
        qobject_human_dump(sb, value, indent + 1);
    } else {
        strbuf_addch(sb, ' ');
        add_scalar(sb, value);
        strbuf_addch(sb, '\n');
    }
}

void qobject_human_dump(StrBuf *sb, QObject *obj, int indent)
{
    if (qobject_type(obj) == QTYPE_QDICT) {
        QDict *dict = qobject_to_qdict(obj);
        const QDictEntry *e;
        const char *p;

        for (e = qdict_first(dict); e; e = qdict_next(dict, e)) {
            strbuf_addf(sb, "%*s", indent * 4, "");
            for (p = qdict_entry_key(e); *p; p++) {
                strbuf_addch(sb, *p == '-' ? ' ' : *p);
            }
            strbuf_addch(sb, ':');
            add_value(sb, qdict_entry_value(e), indent);
        }
    } else if (qobject_type(obj) == QTYPE_QLIST) {
        QList *list = qobject_to_qlist(obj);
        size_t i, n = qlist_size(list);

        for (i = 0; i < n; i++) {
            strbuf_addf(sb, "%*s[%zu]:", indent * 4, "", i);
            add_value(sb, qlist_peek_nth(list, i), indent);
        }
    } else {
        strbuf_addf(sb, "%*s", indent * 4, "");
        add_scalar(sb, obj);
        strbuf_addch(sb, '\n');
    }
}

void qobject_human_format_specific(StrBuf *sb, QDict *spec)
{
    QObject *data = qdict_get(spec, "data");

    strbuf_addstr(sb, "Format specific information:\n");
    if (data) {
        qobject_human_dump(sb, data, 1);
    }
}
