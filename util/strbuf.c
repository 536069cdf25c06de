#include "config-host.h"

#include "util/osdep.h"
#include "util/strbuf.h"

/* Every initialised StrBuf points at a string, even when empty. */
static char strbuf_empty[1];

void strbuf_init(StrBuf *sb)
{
    sb->buf = strbuf_empty;
    sb->len = 0;
    sb->alloc = 0;
}

void strbuf_release(StrBuf *sb)
{
    if (sb->alloc) {
        free(sb->buf);
    }
    strbuf_init(sb);
}

static void strbuf_grow(StrBuf *sb, size_t extra)
{
    size_t want = sb->len + extra + 1;

    if (!sb->alloc) {
        sb->buf = NULL;
    }
    if (want > sb->alloc) {
        sb->alloc = MAX(want, sb->alloc * 2);
        sb->alloc = MAX(sb->alloc, 64);
        sb->buf = xrealloc(sb->buf, sb->alloc);
        if (sb->len == 0) {
            sb->buf[0] = '\0';
        }
    }
}

char *strbuf_detach(StrBuf *sb)
{
    char *s = sb->alloc ? sb->buf : xstrdup("");

    strbuf_init(sb);
    return s;
}

void strbuf_reset(StrBuf *sb)
{
    sb->len = 0;
    if (sb->alloc) {
        sb->buf[0] = '\0';
    }
}

void strbuf_add(StrBuf *sb, const void *data, size_t len)
{
    strbuf_grow(sb, len);
    memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
}

void strbuf_addstr(StrBuf *sb, const char *s)
{
    strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(StrBuf *sb, char c)
{
    strbuf_add(sb, &c, 1);
}

void strbuf_vaddf(StrBuf *sb, const char *fmt, va_list ap)
{
    va_list copy;
    int n;

    va_copy(copy, ap);
    n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0) {
        return;
    }
    strbuf_grow(sb, n);
    vsnprintf(sb->buf + sb->len, n + 1, fmt, ap);
    sb->len += n;
}

void strbuf_addf(StrBuf *sb, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

const char *strbuf_str(StrBuf *sb)
{
    return sb->buf ? sb->buf : strbuf_empty;
}
