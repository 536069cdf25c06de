/*
 * QObjects as the reference shows them to humans: the nested "Format
 * specific information:" section of qemu-img info and of qemu-io's info
 * command.
 */
#ifndef UTIL_QOBJECT_HUMAN_H
#define UTIL_QOBJECT_HUMAN_H

#include "util/osdep.h"

/*
 * Appends obj to sb, one line per value, each indented by 4 * indent
 * spaces: a dict entry is "key: value" with every '-' of the key shown as
 * ' ' ("lazy refcounts: false"), a list element "[i]: value"; a dict or
 * list value ends its line at the ':' and follows one level deeper. A
 * scalar obj is one line of its own. Numbers print as integers where they
 * are whole, booleans as true/false.
 */
void qobject_human_dump(StrBuf *sb, QObject *obj, int indent);

/*
 * The "Format specific information:" section of an image's info, as
 * qemu-img info and qemu-io info print it: the heading, then the "data" of
 * spec (the {"type", "data"} dict bdrv_get_specific_info returns) one
 * level in.
 */
void qobject_human_format_specific(StrBuf *sb, QDict *spec);

#endif
