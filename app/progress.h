/* Progress of long phases (reading, building, querying, writing), shown by rank 0 only:
 * a live bar when stderr is a terminal, plain periodic lines otherwise (Slurm output files),
 * nothing with --quiet. Other ranks may call these freely; they do nothing there. */
#ifndef AF_PROGRESS_H
#define AF_PROGRESS_H

#include <stdint.h>

typedef struct af_progress af_progress;

/* Silence every progress report of this process (--quiet). */
void af_progress_set_quiet(int quiet);

/* Start a phase of `total` units named by `unit` ("rows", "trees", ...). Never NULL. */
af_progress *af_progress_start(const char *phase, const char *unit, uint64_t total);

/* The phase's total, when it is known only once the phase has started. */
void af_progress_set_total(af_progress *p, uint64_t total);

/* Record that `done` units (cumulative) are finished; prints at most a few times a second on a
 * terminal and every AF_PROGRESS_INTERVAL seconds (default 10) in a log. */
void af_progress_update(af_progress *p, uint64_t done);

/* Print the final line (total, rate, elapsed) and free p. */
void af_progress_finish(af_progress *p);

/* Seconds since an arbitrary fixed point (monotonic). */
double af_now(void);

#endif
