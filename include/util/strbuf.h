/*
 * A growable NUL-terminated string (git's strbuf shape). buf is never NULL
 * once initialised; len excludes the terminating NUL.
 */
#ifndef UTIL_STRBUF_H
#define UTIL_STRBUF_H

#include "util/osdep.h"

struct StrBuf {
    char *buf;
    size_t len;
    size_t alloc;
};

#define STRBUF_INIT { NULL, 0, 0 }

void strbuf_init(StrBuf *sb);
void strbuf_release(StrBuf *sb);
/* Hands the string to the caller (free() it) and resets sb. */
char *strbuf_detach(StrBuf *sb);
void strbuf_reset(StrBuf *sb);
void strbuf_add(StrBuf *sb, const void *data, size_t len);
void strbuf_addstr(StrBuf *sb, const char *s);
void strbuf_addch(StrBuf *sb, char c);
void strbuf_addf(StrBuf *sb, const char *fmt, ...) PRINTF_FMT(2, 3);
void strbuf_vaddf(StrBuf *sb, const char *fmt, va_list ap) PRINTF_FMT(2, 0);
/* Returns the current contents (valid until the next change). */
const char *strbuf_str(StrBuf *sb);

#endif
