/*
 * Replays fuzz inputs without libFuzzer: each argument is a file or a
 * directory of files, fed one by one to LLVMFuzzerTestOneInput. `make check`
 * runs every target over its committed corpus (tests/fuzz/corpus/<target>/),
 * so crashes found by fuzzing stay fixed, with any compiler.
 */
#include "config-host.h"

#include <dirent.h>
#include <sys/stat.h>

#include "util/osdep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, alloc = 0, n;

    if (!f) {
        fprintf(stderr, "replay: cannot open '%s': %s\n", path,
                strerror(errno));
        return 1;
    }
    do {
        if (len == alloc) {
            alloc = alloc ? alloc * 2 : 4096;
            buf = xrealloc(buf, alloc);
        }
        n = fread(buf + len, 1, alloc - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int replay_path(const char *path, int *count)
{
    struct stat st;
    struct dirent **names;
    int n, i, ret = 0;

    if (stat(path, &st) < 0) {
        fprintf(stderr, "replay: '%s': %s\n", path, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return replay_file(path);
    }
    n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: '%s': %s\n", path, strerror(errno));
        return 1;
    }
    for (i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char *child = xasprintf("%s/%s", path, names[i]->d_name);

            ret |= replay_path(child, count);
            free(child);
        }
        free(names[i]);
    }
    free(names);
    return ret;
}

int main(int argc, char **argv)
{
    int i, ret = 0, count = 0;

    for (i = 1; i < argc; i++) {
        ret |= replay_path(argv[i], &count);
    }
    printf("replayed %d inputs\n", count);
    return ret;
}
