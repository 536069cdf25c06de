/*
 * Number and size parsing and formatting, and path helpers, with the
 * reference's rules (learnt from its run-time behaviour):
 *
 * Sizes ("qemu_strtosz"): optional leading white space, an optional '+',
 * then either a decimal integer (leading zeros do not mean octal) or a hex
 * integer with 0x, an optional fraction of decimal digits after '.', and an
 * optional suffix b/B k/K m/M g/G t/T p/P e/E (powers of 1024). A fraction
 * needs a suffix other than b (it is rounded to the nearest byte); hex takes
 * no fraction, and hex with a suffix works but draws a deprecation warning.
 * No sign, no exponent, no trailing characters. Anything of 2^64 or more is
 * -ERANGE.
 */
#include "config-host.h"

#include <ctype.h>
#include <math.h>

#include "util/osdep.h"
#include "util/cutils.h"
#include "util/error.h"

/* ---- integers ------------------------------------------------------------ */

/*
 * Shared tail of the integer parsers: an empty number is -EINVAL; without
 * 'end', characters after the number are -EINVAL too.
 */
static int check_strtox_error(const char *nptr, char *ep, const char **end,
                              bool no_conversion, int libc_errno)
{
    if (no_conversion) {
        if (end) {
            *end = nptr;
        }
        return -EINVAL;
    }
    if (end) {
        *end = ep;
    } else if (*ep != '\0') {
        return -EINVAL;
    }
    return libc_errno == ERANGE ? -ERANGE : 0;
}

int qemu_strtol(const char *nptr, const char **end, int base, long *result)
{
    char *ep;
    int ret;

    if (!nptr) {
        *result = 0;
        if (end) {
            *end = NULL;
        }
        return -EINVAL;
    }
    errno = 0;
    *result = strtol(nptr, &ep, base);
    ret = check_strtox_error(nptr, ep, end, ep == nptr, errno);
    if (ret == -EINVAL) {
        *result = 0;
    }
    return ret;
}

int qemu_strtoi(const char *nptr, const char **end, int base, int *result)
{
    long long v;
    char *ep;
    int ret;

    if (!nptr) {
        *result = 0;
        if (end) {
            *end = NULL;
        }
        return -EINVAL;
    }
    errno = 0;
    v = strtoll(nptr, &ep, base);
    ret = check_strtox_error(nptr, ep, end, ep == nptr, errno);
    if (ret == -EINVAL) {
        *result = 0;
        return ret;
    }
    if (v > INT_MAX) {
        *result = INT_MAX;
        return -ERANGE;
    }
    if (v < INT_MIN) {
        *result = INT_MIN;
        return -ERANGE;
    }
    *result = (int)v;
    return ret;
}

int qemu_strtoi64(const char *nptr, const char **end, int base,
                  int64_t *result)
{
    char *ep;
    int ret;

    if (!nptr) {
        *result = 0;
        if (end) {
            *end = NULL;
        }
        return -EINVAL;
    }
    errno = 0;
    *result = strtoll(nptr, &ep, base);
    ret = check_strtox_error(nptr, ep, end, ep == nptr, errno);
    if (ret == -EINVAL) {
        *result = 0;
    }
    return ret;
}

/*
 * Like strtoull, a leading '-' negates modulo 2^64 ("-1" is UINT64_MAX),
 * which is what the reference's number options accept. Only a magnitude of
 * 2^64 or more is -ERANGE.
 */
int qemu_strtou64(const char *nptr, const char **end, int base,
                  uint64_t *result)
{
    char *ep;
    int ret;

    if (!nptr) {
        *result = 0;
        if (end) {
            *end = NULL;
        }
        return -EINVAL;
    }
    errno = 0;
    *result = strtoull(nptr, &ep, base);
    ret = check_strtox_error(nptr, ep, end, ep == nptr, errno);
    if (ret == -EINVAL) {
        *result = 0;
    } else if (ret == -ERANGE) {
        *result = UINT64_MAX;
    }
    return ret;
}

/* ---- sizes ------------------------------------------------------------- */

static uint64_t suffix_mul(char suffix, uint64_t unit)
{
    switch (suffix) {
    case 'b':
    case 'B':
        return 1;
    case 'k':
    case 'K':
        return unit;
    case 'm':
    case 'M':
        return unit * unit;
    case 'g':
    case 'G':
        return unit * unit * unit;
    case 't':
    case 'T':
        return unit * unit * unit * unit;
    case 'p':
    case 'P':
        return unit * unit * unit * unit * unit;
    case 'e':
    case 'E':
        return unit * unit * unit * unit * unit * unit;
    }
    return 0;
}

static int do_strtosz(const char *nptr, const char **end,
                      uint64_t default_mul, uint64_t *result)
{
    const char *p = nptr;
    const char *digits;
    uint64_t val = 0, mul, frac_bytes = 0;
    double fraction = 0;
    bool hex = false;
    int ret = 0;

    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (*p == '+') {
        p++;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        hex = true;
        p += 2;
        digits = p;
        while (isxdigit((unsigned char)*p)) {
            if (val > (UINT64_MAX >> 4)) {
                ret = -ERANGE;
            }
            val = (val << 4) |
                  (uint64_t)(isdigit((unsigned char)*p)
                             ? *p - '0'
                             : (tolower((unsigned char)*p) - 'a' + 10));
            p++;
        }
    } else {
        digits = p;
        while (isdigit((unsigned char)*p)) {
            uint64_t d = (uint64_t)(*p - '0');

            if (val > (UINT64_MAX - d) / 10) {
                ret = -ERANGE;
            }
            val = val * 10 + d;
            p++;
        }
    }
    if (p == digits) {
        p = nptr;
        ret = -EINVAL;
        goto out;
    }
    if (ret == -ERANGE) {
        /*
         * An integer part of 2^64 or more is "out of range" only when
         * nothing follows it; with a suffix or a fraction the reference
         * calls the whole thing invalid.
         */
        if (*p != '\0') {
            p = nptr;
            ret = -EINVAL;
        }
        goto out;
    }

    if (*p == '.') {
        const char *fstart;
        char *buf;

        if (hex) {
            p = nptr;
            ret = -EINVAL;
            goto out;
        }
        fstart = ++p;
        while (isdigit((unsigned char)*p)) {
            p++;
        }
        /*
         * The reference reads only the first 19 digits of a fraction (a
         * 1 in the 20th place is ignored, in the 19th it is not), rounded
         * correctly as the C library reads decimals.
         */
        buf = xasprintf("0.%.*s0", (int)MIN(p - fstart, 19), fstart);
        fraction = strtod(buf, NULL);
        free(buf);
        if (fraction >= 1.0) {
            /*
             * So many 9s that the fraction rounds up to 1: the reference
             * then ignores the fraction altogether.
             */
            fraction = 0;
        }
    }

    mul = suffix_mul(*p, 1024);
    if (mul) {
        if (hex) {
            warn_report("Using a multiplier suffix on hex numbers is "
                        "deprecated: %s", nptr);
        }
        p++;
    } else {
        mul = default_mul;
    }
    if (fraction != 0 && mul == 1) {
        /* Fractional bytes mean nothing. */
        p = nptr;
        ret = -EINVAL;
        goto out;
    }
    if (!end && *p != '\0') {
        ret = -EINVAL;
        goto out;
    }
    if (val > UINT64_MAX / mul) {
        ret = -ERANGE;
        goto out;
    }
    if (fraction != 0) {
        double fb = round(fraction * (double)mul);

        frac_bytes = (uint64_t)fb;
    }
    if (val * mul > UINT64_MAX - frac_bytes) {
        ret = -ERANGE;
        goto out;
    }
    *result = val * mul + frac_bytes;
    ret = 0;

out:
    if (end) {
        *end = p;
    }
    return ret;
}

int qemu_strtosz(const char *nptr, const char **end, uint64_t *result)
{
    return do_strtosz(nptr, end, 1, result);
}

int qemu_strtosz_MiB(const char *nptr, const char **end, uint64_t *result)
{
    return do_strtosz(nptr, end, MiB, result);
}

/*
 * Units step at 1000 of the smaller one (1000 KiB is "0.977 MiB") and the
 * value prints with three significant digits, so 999.5 KiB becomes
 * "1e+03 KiB" exactly as the reference prints it.
 */
char *size_to_str(uint64_t val)
{
    static const char *const suffixes[] = {
        "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
    };
    double v = (double)val;
    size_t i = 0;

    while (v >= 1000 && i + 1 < ARRAY_SIZE(suffixes)) {
        v /= 1024;
        i++;
    }
    return xasprintf("%0.3g %s", v, suffixes[i]);
}

char *freq_to_str(uint64_t freq_hz)
{
    static const char *const suffixes[] = {
        "", "K", "M", "G", "T", "P", "E"
    };
    double v = (double)freq_hz;
    size_t i = 0;

    while (v >= 1000 && i + 1 < ARRAY_SIZE(suffixes)) {
        v /= 1000;
        i++;
    }
    return xasprintf("%0.3g %sHz", v, suffixes[i]);
}

/* ---- strings and paths ----------------------------------------------------- */

void pstrcpy(char *buf, int buf_size, const char *str)
{
    char *q = buf;

    if (buf_size <= 0) {
        return;
    }
    while (q < buf + buf_size - 1 && *str) {
        *q++ = *str++;
    }
    *q = '\0';
}

bool strstart(const char *str, const char *val, const char **ptr)
{
    size_t n = strlen(val);

    if (strncmp(str, val, n) != 0) {
        return false;
    }
    if (ptr) {
        *ptr = str + n;
    }
    return true;
}

/* "proto:rest" where proto contains no '/'. */
bool path_has_protocol(const char *path)
{
    const char *p = path + strcspn(path, ":/");

    return *p == ':';
}

bool path_is_absolute(const char *path)
{
    if (path_has_protocol(path)) {
        path = strchr(path, ':') + 1;
    }
    return path[0] == '/';
}

char *path_combine(const char *base_path, const char *filename)
{
    const char *start = base_path;
    const char *slash;
    size_t prefix_len;

    if (path_is_absolute(filename) || path_has_protocol(filename)) {
        return xstrdup(filename);
    }
    if (path_has_protocol(base_path)) {
        start = strchr(base_path, ':') + 1;
    }
    slash = strrchr(start, '/');
    prefix_len = slash ? (size_t)(slash + 1 - base_path)
                       : (size_t)(start - base_path);
    return xasprintf("%.*s%s", (int)prefix_len, base_path, filename);
}
