/*
 * qemu-img's progress indicator, byte for byte as the reference prints it:
 *
 * - with -p, "    (12.34/100%)\r" on stdout (flushed) each time progress
 *   moved more than min_skip percent since the last redraw, and always at
 *   0 and 100 (so a finished job shows 100.00 twice: once when the last
 *   chunk lands, once for the final call); qemu_progress_end adds the "\n";
 * - without -p, SIGUSR1 asks for one report: it comes at the next redraw
 *   point, as "    (12.34/100%)\n" on stderr;
 * - with -p, SIGUSR1 changes nothing.
 */
#include "config-host.h"

#include <signal.h>

#include "util/osdep.h"
#include "util/progress.h"

static struct {
    bool enabled;
    bool printed;       /* anything reported since init */
    float min_skip;
    float current;
    float last_print;
} progress;

static volatile sig_atomic_t progress_requested;

static void progress_sigusr1(int sig)
{
    progress_requested = 1;
}

void qemu_progress_init(bool enabled, float min_skip)
{
    struct sigaction sa;

    progress.enabled = enabled;
    progress.printed = false;
    progress.min_skip = min_skip;
    progress.current = 0;
    progress.last_print = 0;
    progress_requested = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = progress_sigusr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
}

static void progress_report(void)
{
    if (progress.enabled) {
        printf("    (%3.2f/100%%)\r", progress.current);
        fflush(stdout);
    } else if (progress_requested) {
        progress_requested = 0;
        fprintf(stderr, "    (%3.2f/100%%)\n", progress.current);
        fflush(stderr);
    }
}

void qemu_progress_print(float delta, int max)
{
    float current;

    if (max == 0) {
        current = delta;
    } else {
        current = progress.current + delta / 100 * max;
    }
    if (current > 100) {
        current = 100;
    }
    progress.current = current;

    if (!progress.printed || current == 0 || current == 100 ||
        current > progress.last_print + progress.min_skip ||
        current < progress.last_print - progress.min_skip) {
        progress.printed = true;
        progress.last_print = current;
        progress_report();
    }
}

void qemu_progress_end(void)
{
    if (progress.enabled) {
        printf("\n");
        fflush(stdout);
    }
}
