/* Number and size parsing and formatting with qemu-img's rules. */
#ifndef UTIL_CUTILS_H
#define UTIL_CUTILS_H

#include "util/osdep.h"

/*
 * Parses a size as the reference does: optional leading white space and '+',
 * a decimal integer (leading zeros are not octal) or 0x hex, an optional
 * fraction (first 19 digits count; needs a suffix other than b; rounded to
 * the nearest byte; not with hex), and an optional suffix b/B k/K m/M g/G
 * t/T p/P e/E (powers of 1024). Without a suffix, qemu_strtosz takes bytes
 * and qemu_strtosz_MiB MiB. Hex with a suffix works but prints the
 * reference's deprecation warning. No sign, exponent or trailing text
 * (unless end is non-NULL: then *end is set to the first unparsed char).
 * Returns 0, -EINVAL (not a size) or -ERANGE (2^64 or more; an integer
 * part that large followed by more text is -EINVAL, as in the reference).
 */
int qemu_strtosz(const char *nptr, const char **end, uint64_t *result);
int qemu_strtosz_MiB(const char *nptr, const char **end, uint64_t *result);

/*
 * Integer parsing: 0 or -EINVAL/-ERANGE; end as above. qemu_strtou64
 * accepts a leading '-' and wraps as strtoull does (the reference's number
 * options take "-16" and print it back as -16).
 */
int qemu_strtoi(const char *nptr, const char **end, int base, int *result);
int qemu_strtol(const char *nptr, const char **end, int base, long *result);
int qemu_strtoi64(const char *nptr, const char **end, int base,
                  int64_t *result);
int qemu_strtou64(const char *nptr, const char **end, int base,
                  uint64_t *result);

/*
 * Formats a byte count as the reference does for humans: the unit steps up
 * once the value reaches 1000 of the current one, printed with "%0.3g":
 * "0 B", "512 B", "0.977 KiB" (1000), "1.5 GiB", "196 KiB", and even
 * "1e+03 KiB" (999.5 KiB). Free the result.
 */
char *size_to_str(uint64_t val);

/* Formats bytes/second and similar with the same units. */
char *freq_to_str(uint64_t freq_hz);

/* Copies at most buf_size-1 chars and always NUL-terminates. */
void pstrcpy(char *buf, int buf_size, const char *str);
bool strstart(const char *str, const char *val, const char **ptr);

/* Path helpers for backing files: dirname of base joined with filename
 * unless filename is absolute or a protocol URL. Free the result. */
char *path_combine(const char *base_path, const char *filename);
bool path_is_absolute(const char *path);
bool path_has_protocol(const char *path);

#endif
