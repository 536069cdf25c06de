/* Number and size parsing and formatting with qemu-img's rules. */
#ifndef UTIL_CUTILS_H
#define UTIL_CUTILS_H

#include "util/osdep.h"

/*
 * Parses a size: a number (decimal, or hex with 0x where the reference
 * accepts it, fractions like "1.5G") with an optional suffix b/B, k/K, M, G,
 * T, P, E (powers of 1024). Without a suffix, default_suffix_mult is used
 * (1 for bytes; qemu-img create uses 1). Sets *end to the first unparsed
 * character when end is non-NULL, otherwise trailing garbage fails.
 * Returns 0, -EINVAL (not a number) or -ERANGE (too big).
 */
int qemu_strtosz(const char *nptr, const char **end, uint64_t *result);
int qemu_strtosz_MiB(const char *nptr, const char **end, uint64_t *result);

/* Integer parsing: 0 or -EINVAL/-ERANGE; end as above. */
int qemu_strtoi(const char *nptr, const char **end, int base, int *result);
int qemu_strtol(const char *nptr, const char **end, int base, long *result);
int qemu_strtoi64(const char *nptr, const char **end, int base,
                  int64_t *result);
int qemu_strtou64(const char *nptr, const char **end, int base,
                  uint64_t *result);

/*
 * Formats a byte count as the reference does for humans: "0 B", "512 B",
 * "1 KiB", "1.5 GiB", "196 KiB" (three significant digits). Free the result.
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
