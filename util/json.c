/*
 * JSON for QObjects: the writer behind every --output=json of qemu-img, and
 * the parser behind 'json:{...}' filenames.
 *
 * Both follow what the reference does at run time, which differs from plain
 * RFC 8259 in places:
 * - the writer escapes every non-ASCII character as \uXXXX (upper-case hex,
 *   surrogate pairs above the BMP), DEL and control characters too, and
 *   replaces invalid UTF-8 (overlong forms, surrogates, noncharacters,
 *   code points above U+10FFFF) by \uFFFD, one per bad sequence;
 * - the parser also takes single-quoted strings and \' escapes, keeps the
 *   overlong two-byte NUL (C0 80) as a way to write U+0000, and reports
 *   errors with the reference's wording. Its three stages mirror how those
 *   errors come out: a lexer cuts tokens (an impossible character ends the
 *   whole value with "stray"), a streamer collects the tokens of one
 *   top-level value (watching the nesting depth), and a recursive-descent
 *   parser builds the value.
 */
#include "config-host.h"

#include "util/osdep.h"
#include "util/error.h"
#include "util/qobject.h"
#include "util/strbuf.h"

/* Nesting deeper than this is refused, as the reference does. */
#define JSON_MAX_NESTING 1024

/* ---- UTF-8 ---------------------------------------------------------------- */

/*
 * Decodes one UTF-8 sequence at s (n bytes available, n >= 1). Returns the
 * code point, or -1 for an invalid sequence; *consumed is set either way
 * (an incomplete sequence consumes the bytes it has). The two-byte form of
 * U+0000 is accepted, as the reference does.
 */
static int json_utf8_decode(const unsigned char *s, size_t n,
                            size_t *consumed)
{
    static const uint32_t min_cp[7] = { 0, 0, 0x80, 0x800, 0x10000,
                                        0x200000, 0x4000000 };
    unsigned char c = s[0];
    size_t len, i;
    uint32_t cp;

    if (c < 0x80) {
        *consumed = 1;
        return c;
    }
    if (c < 0xC0 || c >= 0xFE) {
        *consumed = 1;
        return -1;
    }
    if (c < 0xE0) {
        len = 2;
        cp = c & 0x1F;
    } else if (c < 0xF0) {
        len = 3;
        cp = c & 0x0F;
    } else if (c < 0xF8) {
        len = 4;
        cp = c & 0x07;
    } else if (c < 0xFC) {
        len = 5;
        cp = c & 0x03;
    } else {
        len = 6;
        cp = c & 0x01;
    }
    for (i = 1; i < len; i++) {
        if (i >= n || (s[i] & 0xC0) != 0x80) {
            *consumed = i;
            return -1;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *consumed = len;
    if (cp < min_cp[len]) {
        return (len == 2 && cp == 0) ? 0 : -1;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ||
        (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) {
        return -1;
    }
    return (int)cp;
}

/* ---- writer ------------------------------------------------------------- */

static void json_put_string(StrBuf *sb, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str);

    strbuf_addch(sb, '"');
    while (n > 0) {
        size_t used;
        int cp = json_utf8_decode(s, n, &used);

        s += used;
        n -= used;
        switch (cp) {
        case '"':
            strbuf_addstr(sb, "\\\"");
            break;
        case '\\':
            strbuf_addstr(sb, "\\\\");
            break;
        case '\b':
            strbuf_addstr(sb, "\\b");
            break;
        case '\f':
            strbuf_addstr(sb, "\\f");
            break;
        case '\n':
            strbuf_addstr(sb, "\\n");
            break;
        case '\r':
            strbuf_addstr(sb, "\\r");
            break;
        case '\t':
            strbuf_addstr(sb, "\\t");
            break;
        default:
            if (cp < 0) {
                cp = 0xFFFD;
            }
            if (cp >= 0x20 && cp < 0x7F) {
                strbuf_addch(sb, (char)cp);
            } else if (cp < 0x10000) {
                strbuf_addf(sb, "\\u%04X", (unsigned int)cp);
            } else {
                cp -= 0x10000;
                strbuf_addf(sb, "\\u%04X\\u%04X",
                            (unsigned int)(0xD800 | (cp >> 10)),
                            (unsigned int)(0xDC00 | (cp & 0x3FF)));
            }
            break;
        }
    }
    strbuf_addch(sb, '"');
}

static void json_indent(StrBuf *sb, int level)
{
    int i;

    for (i = 0; i < level; i++) {
        strbuf_addstr(sb, "    ");
    }
}

/*
 * Pretty output puts each member on a line of its own, indented four spaces
 * per level, and closes on a line of its own even when empty ("[\n    ]").
 * Compact output separates members with ", " and keys with ": ".
 */
static void json_put_value(StrBuf *sb, const QObject *obj, bool pretty,
                           int level)
{
    switch (qobject_type(obj)) {
    case QTYPE_QNULL:
        strbuf_addstr(sb, "null");
        break;
    case QTYPE_QBOOL:
        strbuf_addstr(sb, qbool_get_bool((const QBool *)obj) ? "true"
                                                             : "false");
        break;
    case QTYPE_QNUM: {
        char *text = qnum_to_string((const QNum *)obj);

        strbuf_addstr(sb, text);
        free(text);
        break;
    }
    case QTYPE_QSTRING:
        json_put_string(sb, qstring_get_str((const QString *)obj));
        break;
    case QTYPE_QDICT: {
        const QDict *qdict = (const QDict *)obj;
        const QDictEntry *e;
        bool first = true;

        strbuf_addch(sb, '{');
        for (e = qdict_first(qdict); e; e = qdict_next(qdict, e)) {
            if (!first) {
                strbuf_addch(sb, ',');
            }
            if (pretty) {
                strbuf_addch(sb, '\n');
                json_indent(sb, level + 1);
            } else if (!first) {
                strbuf_addch(sb, ' ');
            }
            json_put_string(sb, qdict_entry_key(e));
            strbuf_addstr(sb, ": ");
            json_put_value(sb, qdict_entry_value(e), pretty, level + 1);
            first = false;
        }
        if (pretty) {
            strbuf_addch(sb, '\n');
            json_indent(sb, level);
        }
        strbuf_addch(sb, '}');
        break;
    }
    case QTYPE_QLIST: {
        const QList *qlist = (const QList *)obj;
        size_t i, n = qlist_size(qlist);

        strbuf_addch(sb, '[');
        for (i = 0; i < n; i++) {
            if (i > 0) {
                strbuf_addch(sb, ',');
            }
            if (pretty) {
                strbuf_addch(sb, '\n');
                json_indent(sb, level + 1);
            } else if (i > 0) {
                strbuf_addch(sb, ' ');
            }
            json_put_value(sb, qlist_peek_nth(qlist, i), pretty, level + 1);
        }
        if (pretty) {
            strbuf_addch(sb, '\n');
            json_indent(sb, level);
        }
        strbuf_addch(sb, ']');
        break;
    }
    }
}

char *qobject_to_json(const QObject *obj, bool pretty)
{
    StrBuf sb = STRBUF_INIT;

    strbuf_init(&sb);
    json_put_value(&sb, obj, pretty, 0);
    return strbuf_detach(&sb);
}

/* ---- lexer -------------------------------------------------------------- */

typedef enum JSONTokenType {
    JSON_LCURLY,
    JSON_RCURLY,
    JSON_LSQUARE,
    JSON_RSQUARE,
    JSON_COLON,
    JSON_COMMA,
    JSON_INTEGER,
    JSON_FLOAT,
    JSON_KEYWORD,
    JSON_STRING,
    JSON_ERROR,
    JSON_EOI,
} JSONTokenType;

typedef struct JSONToken {
    JSONTokenType type;
    const char *text;   /* points into the input */
    size_t len;
} JSONToken;

typedef struct JSONLexer {
    const char *p;
    const char *end;
} JSONLexer;

static bool json_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Bytes a string may hold as they are: no control characters, no 0xFE/FF. */
static bool json_string_byte_ok(unsigned char c)
{
    return c >= 0x20 && c <= 0xFD;
}

/*
 * Cuts the next token. An error token spans from the token's start up to and
 * including the character that cannot continue it (or to the end of input
 * inside an unfinished token), which is what "stray '...'" quotes.
 */
static JSONToken json_lex(JSONLexer *lx)
{
    JSONToken tok;
    const char *start;
    const char *p;
    unsigned char c;

    while (lx->p < lx->end &&
           (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' ||
            *lx->p == '\n')) {
        lx->p++;
    }
    start = p = lx->p;
    tok.text = start;
    if (p == lx->end) {
        tok.type = JSON_EOI;
        tok.len = 0;
        return tok;
    }
    c = (unsigned char)*p++;
    switch (c) {
    case '{':
        tok.type = JSON_LCURLY;
        goto done;
    case '}':
        tok.type = JSON_RCURLY;
        goto done;
    case '[':
        tok.type = JSON_LSQUARE;
        goto done;
    case ']':
        tok.type = JSON_RSQUARE;
        goto done;
    case ':':
        tok.type = JSON_COLON;
        goto done;
    case ',':
        tok.type = JSON_COMMA;
        goto done;
    case '"':
    case '\'': {
        unsigned char quote = c;

        while (p < lx->end) {
            c = (unsigned char)*p++;
            if (c == quote) {
                tok.type = JSON_STRING;
                goto done;
            }
            if (!json_string_byte_ok(c)) {
                goto error;
            }
            if (c == '\\') {
                if (p == lx->end) {
                    goto error;
                }
                c = (unsigned char)*p++;
                if (!json_string_byte_ok(c)) {
                    goto error;
                }
            }
        }
        goto error;
    }
    default:
        break;
    }

    if (c >= 'a' && c <= 'z') {
        while (p < lx->end && *p >= 'a' && *p <= 'z') {
            p++;
        }
        tok.type = JSON_KEYWORD;
        goto done;
    }

    if (c == '-' || json_is_digit(c)) {
        bool is_float = false;

        if (c == '-') {
            if (p == lx->end) {
                goto error;
            }
            c = (unsigned char)*p++;
            if (!json_is_digit(c)) {
                goto error;
            }
        }
        if (c == '0') {
            /* A leading zero cannot be followed by more digits. */
            if (p < lx->end && json_is_digit(*p)) {
                p++;
                goto error;
            }
        } else {
            while (p < lx->end && json_is_digit(*p)) {
                p++;
            }
        }
        if (p < lx->end && *p == '.') {
            p++;
            is_float = true;
            if (p == lx->end) {
                goto error;
            }
            if (!json_is_digit(*p)) {
                p++;
                goto error;
            }
            while (p < lx->end && json_is_digit(*p)) {
                p++;
            }
        }
        if (p < lx->end && (*p == 'e' || *p == 'E')) {
            p++;
            is_float = true;
            if (p == lx->end) {
                goto error;
            }
            if (*p == '+' || *p == '-') {
                p++;
                if (p == lx->end) {
                    goto error;
                }
            }
            if (!json_is_digit(*p)) {
                p++;
                goto error;
            }
            while (p < lx->end && json_is_digit(*p)) {
                p++;
            }
        }
        tok.type = is_float ? JSON_FLOAT : JSON_INTEGER;
        goto done;
    }

error:
    tok.type = JSON_ERROR;
done:
    tok.len = p - start;
    lx->p = p;
    return tok;
}

/* ---- parser ------------------------------------------------------------- */

typedef struct JSONParser {
    const JSONToken *tokens;
    size_t ntokens;
    size_t pos;
    Error *err;
} JSONParser;

static void PRINTF_FMT(2, 3) json_parse_error(JSONParser *ps,
                                              const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (ps->err) {
        return;
    }
    va_start(ap, fmt);
    msg = xvasprintf(fmt, ap);
    va_end(ap);
    error_setg(&ps->err, "JSON parse error, %s", msg);
    free(msg);
}

static const JSONToken *json_peek(JSONParser *ps)
{
    return ps->pos < ps->ntokens ? &ps->tokens[ps->pos] : NULL;
}

static const JSONToken *json_next(JSONParser *ps)
{
    return ps->pos < ps->ntokens ? &ps->tokens[ps->pos++] : NULL;
}

static int json_hex4(const char *p, const char *end)
{
    int v = 0, i;

    if (end - p < 4) {
        return -1;
    }
    for (i = 0; i < 4; i++) {
        char c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v |= c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            v |= c - 'A' + 10;
        } else {
            return -1;
        }
    }
    return v;
}

static void json_add_utf8(StrBuf *sb, uint32_t cp)
{
    char buf[4];

    if (cp == 0) {
        /* U+0000 cannot live in a C string: the reference's C0 80 form. */
        strbuf_add(sb, "\xC0\x80", 2);
    } else if (cp < 0x80) {
        strbuf_addch(sb, (char)cp);
    } else if (cp < 0x800) {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        strbuf_add(sb, buf, 2);
    } else if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        strbuf_add(sb, buf, 3);
    } else {
        buf[0] = (char)(0xF0 | (cp >> 18));
        buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[3] = (char)(0x80 | (cp & 0x3F));
        strbuf_add(sb, buf, 4);
    }
}

static bool json_cp_valid(int cp)
{
    return !(cp >= 0xD800 && cp <= 0xDFFF) &&
           !(cp >= 0xFDD0 && cp <= 0xFDEF) && (cp & 0xFFFE) != 0xFFFE;
}

static QObject *json_parse_string(JSONParser *ps, const JSONToken *tok)
{
    const char *p = tok->text + 1;
    const char *end = tok->text + tok->len - 1;  /* the closing quote */
    const char *tok_end = tok->text + tok->len;
    StrBuf sb = STRBUF_INIT;

    strbuf_init(&sb);
    while (p < end) {
        if (*p == '\\') {
            const char *esc = p;
            int cp;

            p++;
            switch (*p) {
            case '"':
            case '\'':
            case '\\':
            case '/':
                strbuf_addch(&sb, *p);
                p++;
                break;
            case 'b':
                strbuf_addch(&sb, '\b');
                p++;
                break;
            case 'f':
                strbuf_addch(&sb, '\f');
                p++;
                break;
            case 'n':
                strbuf_addch(&sb, '\n');
                p++;
                break;
            case 'r':
                strbuf_addch(&sb, '\r');
                p++;
                break;
            case 't':
                strbuf_addch(&sb, '\t');
                p++;
                break;
            case 'u':
                cp = json_hex4(p + 1, end);
                p += 5;
                if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 6 &&
                    p[0] == '\\' && p[1] == 'u') {
                    int lo = json_hex4(p + 2, end);

                    if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        p += 6;
                    }
                }
                if (cp < 0 || !json_cp_valid(cp)) {
                    int n = (int)MIN(6, tok_end - esc);

                    json_parse_error(ps, "%.*s is not a valid Unicode "
                                     "character", n, esc);
                    goto fail;
                }
                json_add_utf8(&sb, (uint32_t)cp);
                break;
            default:
                json_parse_error(ps, "invalid escape sequence in string");
                goto fail;
            }
        } else {
            size_t used;
            int cp = json_utf8_decode((const unsigned char *)p, end - p,
                                      &used);

            if (cp < 0) {
                json_parse_error(ps, "invalid UTF-8 sequence in string");
                goto fail;
            }
            strbuf_add(&sb, p, used);
            p += used;
        }
    }
    return QOBJECT(qstring_take_str(strbuf_detach(&sb)));

fail:
    strbuf_release(&sb);
    return NULL;
}

static QObject *json_parse_number(const JSONToken *tok)
{
    char *text = xstrndup(tok->text, tok->len);
    QObject *ret;

    if (tok->type == JSON_INTEGER) {
        char *endp;

        errno = 0;
        if (text[0] == '-') {
            long long v = strtoll(text, &endp, 10);

            if (errno == 0) {
                ret = QOBJECT(qnum_from_int(v));
                goto out;
            }
        } else {
            unsigned long long v = strtoull(text, &endp, 10);

            if (errno == 0) {
                ret = v <= INT64_MAX ? QOBJECT(qnum_from_int((int64_t)v))
                                     : QOBJECT(qnum_from_uint(v));
                goto out;
            }
        }
        /* Too big for 64 bits: fall back to a double, as the reference. */
    }
    ret = QOBJECT(qnum_from_double(strtod(text, NULL)));
out:
    free(text);
    return ret;
}

static QObject *json_parse_value(JSONParser *ps, int depth);

static QObject *json_parse_dict(JSONParser *ps, int depth)
{
    QDict *dict = qdict_new();
    const JSONToken *tok;

    tok = json_peek(ps);
    if (!tok) {
        json_parse_error(ps, "premature EOI");
        goto fail;
    }
    if (tok->type == JSON_RCURLY) {
        json_next(ps);
        return QOBJECT(dict);
    }
    for (;;) {
        QObject *key, *value;

        key = json_parse_value(ps, depth);
        if (!key) {
            goto fail;
        }
        if (qobject_type(key) != QTYPE_QSTRING) {
            qobject_unref(key);
            json_parse_error(ps, "key is not a string in object");
            goto fail;
        }
        tok = json_next(ps);
        if (!tok) {
            qobject_unref(key);
            json_parse_error(ps, "premature EOI");
            goto fail;
        }
        if (tok->type != JSON_COLON) {
            qobject_unref(key);
            json_parse_error(ps, "missing : in object pair");
            goto fail;
        }
        value = json_parse_value(ps, depth);
        if (!value) {
            qobject_unref(key);
            goto fail;
        }
        if (qdict_haskey(dict, qstring_get_str((QString *)key))) {
            qobject_unref(key);
            qobject_unref(value);
            json_parse_error(ps, "duplicate key");
            goto fail;
        }
        qdict_put_obj(dict, qstring_get_str((QString *)key), value);
        qobject_unref(key);

        tok = json_next(ps);
        if (!tok) {
            json_parse_error(ps, "premature EOI");
            goto fail;
        }
        if (tok->type == JSON_RCURLY) {
            return QOBJECT(dict);
        }
        if (tok->type != JSON_COMMA) {
            json_parse_error(ps, "expected separator in dict");
            goto fail;
        }
    }

fail:
    qdict_unref(dict);
    return NULL;
}

static QObject *json_parse_list(JSONParser *ps, int depth)
{
    QList *list = qlist_new();
    const JSONToken *tok;

    tok = json_peek(ps);
    if (!tok) {
        json_parse_error(ps, "premature EOI");
        goto fail;
    }
    if (tok->type == JSON_RSQUARE) {
        json_next(ps);
        return QOBJECT(list);
    }
    for (;;) {
        QObject *value = json_parse_value(ps, depth);

        if (!value) {
            goto fail;
        }
        qlist_append_obj(list, value);
        tok = json_next(ps);
        if (!tok) {
            json_parse_error(ps, "premature EOI");
            goto fail;
        }
        if (tok->type == JSON_RSQUARE) {
            return QOBJECT(list);
        }
        if (tok->type != JSON_COMMA) {
            json_parse_error(ps, "expected separator in list");
            goto fail;
        }
    }

fail:
    qlist_unref(list);
    return NULL;
}

static QObject *json_parse_value(JSONParser *ps, int depth)
{
    const JSONToken *tok = json_next(ps);

    if (!tok) {
        json_parse_error(ps, "premature EOI");
        return NULL;
    }
    switch (tok->type) {
    case JSON_LCURLY:
        return json_parse_dict(ps, depth + 1);
    case JSON_LSQUARE:
        return json_parse_list(ps, depth + 1);
    case JSON_STRING:
        return json_parse_string(ps, tok);
    case JSON_INTEGER:
    case JSON_FLOAT:
        return json_parse_number(tok);
    case JSON_KEYWORD:
        if (tok->len == 4 && memcmp(tok->text, "true", 4) == 0) {
            return QOBJECT(qbool_from_bool(true));
        }
        if (tok->len == 5 && memcmp(tok->text, "false", 5) == 0) {
            return QOBJECT(qbool_from_bool(false));
        }
        if (tok->len == 4 && memcmp(tok->text, "null", 4) == 0) {
            return QOBJECT(qnull());
        }
        json_parse_error(ps, "invalid keyword '%.*s'", (int)tok->len,
                         tok->text);
        return NULL;
    default:
        json_parse_error(ps, "expecting value");
        return NULL;
    }
}

/* ---- streamer ----------------------------------------------------------- */

typedef struct JSONResult {
    QObject *value;
    Error *err;
    bool any;
} JSONResult;

/*
 * One top-level item (a value or an error) is complete. The first one
 * decides the result, except that a second item after a good value turns
 * the result into "at most one" error.
 */
static void json_emit(JSONResult *res, QObject *value, Error *err)
{
    if (!res->any) {
        res->any = true;
        res->value = value;
        res->err = err;
        return;
    }
    if (!res->err) {
        qobject_unref(res->value);
        res->value = NULL;
        error_setg(&res->err, "Expecting at most one JSON value");
    }
    qobject_unref(value);
    error_free(err);
}

static void json_run_parser(JSONResult *res, const JSONToken *tokens,
                            size_t n)
{
    JSONParser ps = { tokens, n, 0, NULL };
    QObject *value = json_parse_value(&ps, 0);

    if (!value && !ps.err) {
        error_setg(&ps.err, "JSON parse error, premature EOI");
    }
    json_emit(res, value, ps.err);
}

QObject *qobject_from_json(const char *json, Error **errp)
{
    JSONLexer lx = { json, json + strlen(json) };
    JSONResult res = { NULL, NULL, false };
    JSONToken *tokens = NULL;
    size_t ntokens = 0, alloc = 0;
    int braces = 0, brackets = 0;

    for (;;) {
        JSONToken tok = json_lex(&lx);

        if (tok.type == JSON_EOI) {
            break;
        }
        if (tok.type == JSON_ERROR) {
            Error *err = NULL;

            error_setg(&err, "JSON parse error, stray '%.*s'",
                       (int)tok.len, tok.text);
            json_emit(&res, NULL, err);
            ntokens = 0;
            braces = brackets = 0;
            continue;
        }
        switch (tok.type) {
        case JSON_LCURLY:
            braces++;
            break;
        case JSON_RCURLY:
            braces--;
            break;
        case JSON_LSQUARE:
            brackets++;
            break;
        case JSON_RSQUARE:
            brackets--;
            break;
        default:
            break;
        }
        if (ntokens == alloc) {
            alloc = alloc ? alloc * 2 : 64;
            tokens = xrealloc(tokens, alloc * sizeof(*tokens));
        }
        tokens[ntokens++] = tok;

        if (braces + brackets > JSON_MAX_NESTING) {
            Error *err = NULL;

            error_setg(&err, "JSON nesting depth limit exceeded");
            json_emit(&res, NULL, err);
            ntokens = 0;
            braces = brackets = 0;
            continue;
        }
        if (braces < 0 || brackets < 0 || (braces == 0 && brackets == 0)) {
            json_run_parser(&res, tokens, ntokens);
            ntokens = 0;
            braces = brackets = 0;
        }
    }
    if (ntokens > 0) {
        /* Unbalanced at the end: the parser says what is wrong first. */
        json_run_parser(&res, tokens, ntokens);
    }
    free(tokens);

    if (!res.any) {
        error_setg(errp, "Expecting a JSON value");
        return NULL;
    }
    if (res.err) {
        error_propagate(errp, res.err);
        return NULL;
    }
    return res.value;
}
