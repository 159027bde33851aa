/* `annforest bench` (docs/bench.md): a sweep of trees x search_k (x shards) over a job's
 * reference and queries, scored against exact ground truth with the ann-benchmarks recall rule.
 *
 *   bench_truth.c   the true k-th distance of every query: computed once by `exact` and cached
 *                   under a digest of the data and the result keys, or taken from the
 *                   `distances` of an ann-benchmarks HDF5 file (io/annbench.h)
 *   bench_recall.c  recall@k of one point's result distances against that truth
 *   bench_report.c  the CSV, the peer CSV's check, the gnuplot PNG
 *   cmd_bench.c     the command: the sweep itself (build, search, time, score) */
#ifndef AF_BENCH_H
#define AF_BENCH_H

#include "annbench.h"
#include "job.h"

#include <stdint.h>

/* ann-benchmarks' slack: a result counts when its distance is within the true k-th + this. */
#define AF_BENCH_EPSILON 1e-3

/* This rank's block of query rows [q0, q0 + qn) (af_block_start/size over the ranks), and per
 * row the true k-th distance and how many true neighbours there are (< k when fewer rows
 * exist; 0 for a query row holding NA, which is left out of the recall). */
typedef struct af_bench_truth {
    int64_t q0, qn;
    double *kth;
    int32_t *n_true;
    int from_cache; /* 1 when the cached truth was reused */
    char units[32]; /* "" = annforest's distances; else an ann-benchmarks metric whose units
                       kth is in (af_annbench_distance converts found distances to them) */
} af_bench_truth;

/* Collective. The truth for job's reference, queries, metric and k: reused from
 * DIR/truth-DIGEST.distance.afm when there, else computed with the exact searcher and cached
 * there (DIR is made when missing). With an ann-benchmarks file (annb, else NULL), its own
 * true distances instead. */
int af_bench_truth_load(const af_job *job, const char *dir, const af_annbench *annb,
                        af_bench_truth *t, af_error *err);
void af_bench_truth_free(af_bench_truth *t);

/* Collective. Mean over the query rows with truth of (results within the true k-th distance +
 * AF_BENCH_EPSILON, at most n_true) / n_true, reading the result distances (n_query x k, NaN
 * for a missing neighbour) at `distance_path`. */
int af_bench_recall(const af_job *job, const char *distance_path, const af_bench_truth *t,
                    double *recall, af_error *err);

/* One point of the sweep, as a CSV row. */
typedef struct af_bench_point {
    int shards, trees;
    int64_t search_k;
    double recall;
    double search_seconds; /* slowest rank's time in the search calls, best of bench.repeat */
    double qps, qps_per_thread;
    double build_seconds; /* the index's build, wall time */
    uint64_t index_bytes;
    double peak_rss_mib;     /* the largest of the ranks' */
    char rss_per_rank[1024]; /* "a;b;..." MiB, rank order */
} af_bench_point;

/* Rank 0: check that a peer CSV can be drawn (a header naming recall and qps_per_thread);
 * fills `title` with its label column's first value, else the file's name. */
int af_bench_peer_check(const char *path, char *title, size_t cap, af_error *err);

/* Rank 0: the CSV at job->cfg.bench.out (written whole, then renamed into place). */
int af_bench_write_csv(const af_job *job, const af_bench_point *points, int n, af_error *err);

/* Rank 0: the PNG at job->cfg.bench.plot through gnuplot, with the peer's curve when set. */
int af_bench_plot(const af_job *job, const af_bench_point *points, int n, const char *peer_title,
                  af_error *err);

/* Peak resident memory of this process since the last reset, in MiB (Linux VmHWM; getrusage's
 * lifetime maximum where the reset is not allowed), and the reset (clear_refs). */
double af_bench_peak_rss_mib(void);
void af_bench_reset_peak_rss(void);

#endif
