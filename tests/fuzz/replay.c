/*
 * Replays fuzz inputs without libFuzzer: each argument is a file or a
 * directory of files, fed one by one to LLVMFuzzerTestOneInput. `make check`
 * runs every target over its committed corpus (tests/fuzz/corpus/<target>/),
 * so crashes found by fuzzing stay fixed, with any compiler.
 *
 * Each input runs in a child of its own, with a time limit and its stderr
 * (hostile images make drivers talk a lot) kept in a file that is shown
 * only when the input crashes, hangs or fails a sanitizer.
 */
#include "config-host.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "util/osdep.h"

/* Seconds one input may take (sanitizer builds are slow, but not this). */
#define REPLAY_TIME_LIMIT 60

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_input(const char *path)
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

static void show_log(int fd)
{
    char chunk[4096];
    ssize_t n;

    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        if (write(STDERR_FILENO, chunk, n) != n) {
            break;
        }
    }
}

static int replay_file(const char *path)
{
    char log_name[] = "/tmp/replay-log-XXXXXX";
    int log_fd, status;
    pid_t pid;

    log_fd = mkstemp(log_name);
    if (log_fd < 0) {
        fprintf(stderr, "replay: cannot make a log file: %s\n",
                strerror(errno));
        return 1;
    }
    unlink(log_name);
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "replay: fork: %s\n", strerror(errno));
        close(log_fd);
        return 1;
    }
    if (pid == 0) {
        dup2(log_fd, STDERR_FILENO);
        alarm(REPLAY_TIME_LIMIT);
        _exit(run_input(path));
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        ;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        close(log_fd);
        return 0;
    }
    show_log(log_fd);
    close(log_fd);
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "replay: '%s': killed by signal %d%s\n", path,
                WTERMSIG(status), WTERMSIG(status) == SIGALRM ?
                " (over the time limit)" : "");
    } else {
        fprintf(stderr, "replay: '%s': exit status %d\n", path,
                WEXITSTATUS(status));
    }
    return 1;
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
