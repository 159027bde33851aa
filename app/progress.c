#include "progress.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct af_progress {
    char phase[64];
    char unit[16];
    uint64_t total, done;
    double started, last_print;
    int shown; /* this rank prints */
    int tty;
};

static int quiet_all;

void af_progress_set_quiet(int quiet) {
    quiet_all = quiet;
}

double af_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double log_interval(void) {
    const char *s = getenv("AF_PROGRESS_INTERVAL");
    double v = s ? atof(s) : 10.0;
    return v > 0 ? v : 10.0;
}

af_progress *af_progress_start(const char *phase, const char *unit, uint64_t total) {
    af_progress *p = calloc(1, sizeof *p);
    if (!p) {
        /* Progress is advisory: without memory for it, report nothing rather than fail. */
        static af_progress silent;
        return &silent;
    }
    snprintf(p->phase, sizeof p->phase, "%s", phase);
    snprintf(p->unit, sizeof p->unit, "%s", unit);
    p->total = total;
    p->started = p->last_print = af_now();
    p->shown = !quiet_all && af_is_root_rank();
    p->tty = isatty(STDERR_FILENO);
    return p;
}

static void print_line(af_progress *p, int final) {
    double now = af_now(), elapsed = now - p->started;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    double pct = p->total ? 100.0 * (double)p->done / (double)p->total : 100.0;
    if (final) {
        fprintf(stderr, "%s%s: %llu %s in %.1fs (%.0f %s/s)%s\n", p->tty ? "\r" : "", p->phase,
                (unsigned long long)p->done, p->unit, elapsed, rate, p->unit,
                p->tty ? "\033[K" : "");
    } else if (p->tty) {
        int width = 30, filled = (int)(pct / 100.0 * width);
        char bar[32];
        memset(bar, '#', (size_t)filled);
        memset(bar + filled, '.', (size_t)(width - filled));
        bar[width] = '\0';
        double left = rate > 0 ? (double)(p->total - p->done) / rate : 0;
        fprintf(stderr, "\r%s [%s] %5.1f%% %llu/%llu %s, %.0f/s, %.0fs left\033[K", p->phase, bar,
                pct, (unsigned long long)p->done, (unsigned long long)p->total, p->unit, rate,
                left);
    } else {
        double left = rate > 0 ? (double)(p->total - p->done) / rate : 0;
        fprintf(stderr, "%s: %llu/%llu %s (%.1f%%), %.0f %s/s, %.0fs left\n", p->phase,
                (unsigned long long)p->done, (unsigned long long)p->total, p->unit, pct, rate,
                p->unit, left);
    }
    fflush(stderr);
    p->last_print = now;
}

void af_progress_set_total(af_progress *p, uint64_t total) {
    p->total = total;
}

void af_progress_update(af_progress *p, uint64_t done) {
    p->done = done;
    if (!p->shown)
        return;
    double now = af_now();
    if (now - p->last_print >= (p->tty ? 0.2 : log_interval()))
        print_line(p, 0);
}

void af_progress_finish(af_progress *p) {
    if (p->shown)
        print_line(p, 1);
    if (p->phase[0] || p->total) /* not the static silent fallback */
        free(p);
}
