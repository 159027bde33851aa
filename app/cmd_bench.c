/* `annforest bench`: for each shards x trees of [bench], build the index (timed), then for each
 * search_k search every query through the ordinary query pipeline (only the search calls are
 * timed, best of bench.repeat), and score the results against the cached exact truth. */
#include "bench.h"
#include "build_index.h"
#include "commands.h"
#include "file_util.h"
#include "manifest.h"
#include "progress.h"
#include "query_pipeline.h"
#include "report.h"
#include "searchers.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SWEEP 64 /* values per list key */

typedef struct sweep {
    int64_t shards[MAX_SWEEP], trees[MAX_SWEEP], search_k[MAX_SWEEP];
    int n_shards, n_trees, n_search_k;
    char work[AF_MATRIX_PATH_MAX]; /* indexes and results */
    char truth[AF_MATRIX_PATH_MAX];
    char peer_title[256];
} sweep;

/* ---- setup -------------------------------------------------------------------------------- */

/* A list key's values, or `fallback` alone when the list is empty. */
static int list_of(const af_config *c, af_config_key key, const char *text, int64_t fallback,
                   int64_t *out, af_error *err) {
    if (!text[0]) {
        out[0] = fallback;
        return 1;
    }
    int n = af_config_int_list(text, out, MAX_SWEEP + 1);
    if (n > MAX_SWEEP)
        return af_config_fail_key(c, key, err, "more than %d values", MAX_SWEEP);
    return n;
}

/* DIR of PATH ("." when it has none). */
static void dir_of(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

/* Whether an executable NAME is in a directory of $PATH. */
static int on_path(const char *name) {
    const char *path = getenv("PATH");
    char dir[AF_MATRIX_PATH_MAX], file[AF_MATRIX_PATH_MAX + 64];
    for (const char *p = path ? path : ""; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(dir, sizeof dir, "%.*s", (int)(n < sizeof dir ? n : sizeof dir - 1), p);
        snprintf(file, sizeof file, "%s/%s", n ? dir : ".", name);
        if (access(file, X_OK) == 0)
            return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

/* Rank 0 alone (the config is the same everywhere): lists, directories, the peer's CSV. */
static int plan_sweep(const af_job *job, sweep *s, af_error *err) {
    const af_config *c = &job->cfg;
    memset(s, 0, sizeof *s);
    if ((s->n_shards = list_of(c, AF_CFG_BENCH_SHARDS, c->bench.shards, c->index.shards, s->shards,
                               err)) < 0 ||
        (s->n_trees =
             list_of(c, AF_CFG_BENCH_TREES, c->bench.trees, c->index.trees, s->trees, err)) < 0 ||
        (s->n_search_k = list_of(c, AF_CFG_BENCH_SEARCH_K, c->bench.search_k, c->query.search_k,
                                 s->search_k, err)) < 0)
        return -1;
    if (c->bench.work[0])
        snprintf(s->work, sizeof s->work, "%s", c->bench.work);
    else if (snprintf(s->work, sizeof s->work, "%s.work", c->bench.out) >= (int)sizeof s->work)
        return af_config_fail_key(c, AF_CFG_BENCH_OUT, err, "too long");
    if (c->bench.truth[0])
        snprintf(s->truth, sizeof s->truth, "%s", c->bench.truth);
    else
        dir_of(c->bench.out, s->truth, sizeof s->truth);
    if (c->bench.peer[0] &&
        af_bench_peer_check(c->bench.peer, s->peer_title, sizeof s->peer_title, err) != 0)
        return -1;
    /* What would fail at the end fails now, before any work. */
    if (af_make_parent_dirs(c->bench.out, err) != 0) {
        af_error_prefix(err, "[bench] out");
        return -1;
    }
    if (c->bench.plot[0] && af_make_parent_dirs(c->bench.plot, err) != 0) {
        af_error_prefix(err, "[bench] plot");
        return -1;
    }
    if (c->bench.plot[0] && !on_path("gnuplot"))
        return af_config_fail_key(c, AF_CFG_BENCH_PLOT, err,
                                  "drawing the plot needs gnuplot, which is not on PATH (Debian: "
                                  "apt-get install gnuplot-nox), or leave plot empty");
    return 0;
}

/* Rank 0: an ann-benchmarks file described (io/annbench.h), and index.metric agreed with its
 * `distance`: taken from the file when the config left the metric at its default. */
static int describe_dataset(af_config *c, af_annbench *annb, af_error *err) {
    if (af_annbench_describe(c->bench.dataset, annb, err) != 0) {
        af_error_prefix(err, "[bench] dataset");
        return -1;
    }
    if (!annb->af_metric[0])
        return af_config_fail_key(c, AF_CFG_BENCH_DATASET, err,
                                  "its distance '%s' is none of annforest's metrics", annb->metric);
    const char *mine = af_config_metric_name(c->index.metric);
    if (c->origin[AF_CFG_INDEX_METRIC].from == AF_FROM_DEFAULT) {
        for (int m = AF_CONFIG_METRIC_EUCLIDEAN; m <= AF_CONFIG_METRIC_HAMMING; m++)
            if (strcmp(af_config_metric_name((af_config_metric)m), annb->af_metric) == 0)
                c->index.metric = (af_config_metric)m;
    } else if (strcmp(mine, annb->af_metric) != 0) {
        return af_config_fail_key(c, AF_CFG_INDEX_METRIC, err,
                                  "%s holds %s distances: set index.metric = %s (or leave it out)",
                                  c->bench.dataset, annb->metric, annb->af_metric);
    }
    return 0;
}

/* Collective: the reference and the queries; with bench.dataset, its /train and /test (their
 * paths recorded in the config, so that messages and the index's metadata name them). */
static int describe_inputs(af_job *job, af_annbench *annb, int *have_annb, af_error *err) {
    af_config *c = &job->cfg;
    *have_annb = c->bench.dataset[0] != 0;
    if (*have_annb) {
        int failed = job->world.rank == 0 && describe_dataset(c, annb, err) != 0;
        if (af_mpi_agree(failed, err) != 0)
            return -1;
        af_bcast_bytes(annb, sizeof *annb);
        af_bcast_bytes(&c->index.metric, sizeof c->index.metric);
        snprintf(c->reference.path, sizeof c->reference.path, "%s", annb->train.path);
        snprintf(c->query.path, sizeof c->query.path, "%s", annb->test.path);
        c->query.self = false;
        job->ref = annb->train;
        job->query = annb->test;
    } else {
        if (af_job_describe(c->reference.path, "[reference] path", &job->ref, err) != 0)
            return -1;
        if (c->query.self)
            job->query = job->ref;
        else if (af_job_describe(c->query.path, "[query] path", &job->query, err) != 0)
            return -1;
    }
    job->have_ref = job->have_query = 1;
    return 0;
}

/* ---- one point ---------------------------------------------------------------------------- */

/* The searcher's batch search, timed: only the time inside the search calls counts, not
 * reading query rows, merging over ranks or writing results. */
typedef struct timed_search {
    af_searcher_ops inner;
    double seconds;
} timed_search;

static int timed(void *ctx, const void *queries, int64_t nq, int64_t first_row,
                 const int64_t *exclude, af_neighbor *out, af_error *err) {
    timed_search *t = ctx;
    double t0 = af_now();
    int rc = t->inner.search(t->inner.ctx, queries, nq, first_row, exclude, out, err);
    t->seconds += af_now() - t0;
    return rc;
}

/* The slowest rank's value. */
static double max_over_ranks(double v) {
    MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return v;
}

/* Collective: every query searched bench.repeat times; the best pass's search time. */
static int search_point(const af_job *job, const char *ids, const char *dist, double *seconds,
                        af_error *err) {
    af_job q = *job;
    q.quiet = 1;
    snprintf(q.cfg.output.index, sizeof q.cfg.output.index, "%s", ids);
    snprintf(q.cfg.output.distance, sizeof q.cfg.output.distance, "%s", dist);
    q.cfg.output.order = AF_CONFIG_ORDER_ROW;
    q.cfg.output.base = 0;
    q.cfg.output.existing = AF_CONFIG_EXISTING_OVERWRITE;
    timed_search t = {0};
    af_ann_searcher *s = af_ann_searcher_open(&q, &t.inner, err);
    if (!s)
        return -1;
    af_searcher_ops ops = t.inner;
    ops.search = timed;
    ops.ctx = &t;
    *seconds = INFINITY;
    af_progress_set_quiet(1); /* one line per point instead (run_index) */
    int rc = 0;
    for (int r = 0; r < job->cfg.bench.repeat && rc == 0; r++) {
        t.seconds = 0;
        rc = af_run_queries(&q, &ops, err);
        double took = max_over_ranks(t.seconds);
        if (took < *seconds)
            *seconds = took;
    }
    af_progress_set_quiet(job->quiet);
    af_ann_searcher_close(s);
    return rc;
}

/* Collective: this point's peak memory, the largest rank's and each rank's. */
static void gather_rss(const af_job *job, af_bench_point *p) {
    double mine = af_bench_peak_rss_mib();
    double *all = job->world.rank == 0 ? calloc((size_t)job->world.size, sizeof *all) : NULL;
    MPI_Gather(&mine, 1, MPI_DOUBLE, all, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    p->peak_rss_mib = mine;
    size_t used = 0;
    for (int r = 0; all && r < job->world.size; r++) {
        if (all[r] > p->peak_rss_mib)
            p->peak_rss_mib = all[r];
        int n = snprintf(p->rss_per_rank + used, sizeof p->rss_per_rank - used, "%s%.1f",
                         r ? ";" : "", all[r]);
        if (n < 0 || (size_t)n >= sizeof p->rss_per_rank - used)
            break;
        used += (size_t)n;
    }
    free(all);
}

/* Collective: build the index of (shards, trees) under the work directory, timed. */
static int build_point(const af_job *job, const sweep *s, int shards, int trees, af_job *bj,
                       af_bench_point *base, af_error *err) {
    *bj = *job;
    af_config *c = &bj->cfg;
    c->index.shards = shards;
    c->index.trees = trees;
    if (snprintf(c->index.path, sizeof c->index.path, "%s/index-s%d-t%d.ann", s->work, shards,
                 trees) >= (int)sizeof c->index.path)
        return af_config_fail_key(c, AF_CFG_BENCH_WORK, err, "too long");
    memset(base, 0, sizeof *base);
    base->shards = shards ? shards : job->world.size;
    base->trees = trees;
    if (!job->quiet && job->world.rank == 0)
        fprintf(stderr, "bench: building %d trees x %d shards into %s\n", trees, base->shards,
                c->index.path);
    af_bench_reset_peak_rss();
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = af_now();
    if (af_build_index(bj, 1, err) != 0)
        return -1;
    base->build_seconds = max_over_ranks(af_now() - t0);
    struct stat st;
    uint64_t bytes =
        job->world.rank == 0 && stat(c->index.path, &st) == 0 ? (uint64_t)st.st_size : 0;
    MPI_Bcast(&bytes, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    base->index_bytes = bytes;
    return 0;
}

/* Collective: one index, every search_k. */
static int run_index(const af_job *job, const sweep *s, const af_bench_truth *truth, int shards,
                     int trees, af_bench_point *points, int *n, af_error *err) {
    af_job bj;
    af_bench_point base;
    if (build_point(job, s, shards, trees, &bj, &base, err) != 0)
        return -1;
    char ids[AF_CONFIG_PATH_MAX], dist[AF_CONFIG_PATH_MAX];
    if (snprintf(ids, sizeof ids, "%s/result.index.afm", s->work) >= (int)sizeof ids ||
        snprintf(dist, sizeof dist, "%s/result.distance.afm", s->work) >= (int)sizeof dist)
        return af_config_fail_key(&job->cfg, AF_CFG_BENCH_WORK, err, "too long");
    for (int i = 0; i < s->n_search_k; i++) {
        af_bench_point *p = &points[(*n)++];
        *p = base;
        p->search_k = s->search_k[i];
        bj.cfg.query.search_k = p->search_k;
        if (search_point(&bj, ids, dist, &p->search_seconds, err) != 0 ||
            af_bench_recall(&bj, dist, truth, &p->recall, err) != 0)
            return -1;
        double Q = (double)job->query.rows;
        p->qps = p->search_seconds > 0 ? Q / p->search_seconds : 0;
        p->qps_per_thread = p->qps / ((double)job->world.size * job->threads);
        gather_rss(job, p);
        if (!job->quiet && job->world.rank == 0)
            fprintf(stderr,
                    "bench: trees %d, shards %d, search_k %" PRId64 ": recall %.4f, %.1f queries "
                    "per second per thread\n",
                    p->trees, p->shards, p->search_k, p->recall, p->qps_per_thread);
    }
    return 0;
}

/* ---- the command -------------------------------------------------------------------------- */

/* Collective: the CSV rewritten with the points so far after each index, so that a sweep
 * stopped part way (a time limit, a failure) keeps what it measured. */
static int save_points(const af_job *job, const af_bench_point *points, int n, af_error *err) {
    int failed = job->world.rank == 0 && af_bench_write_csv(job, points, n, err) != 0;
    return af_mpi_agree(failed, err);
}

static int run_sweep(af_job *job, af_error *err) {
    sweep s;
    int failed = job->world.rank == 0 && plan_sweep(job, &s, err) != 0;
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    af_bcast_bytes(&s, sizeof s);
    af_annbench annb;
    int have_annb = 0;
    if (describe_inputs(job, &annb, &have_annb, err) != 0)
        return -1;
    af_bench_truth truth;
    af_phase_begin("truth");
    if (af_bench_truth_load(job, s.truth, have_annb ? &annb : NULL, &truth, err) != 0)
        return -1;
    af_phase_end("truth", job->query.rows);
    int cap = s.n_shards * s.n_trees * s.n_search_k, n = 0;
    af_bench_point *points = calloc((size_t)cap, sizeof *points);
    int rc = points ? 0 : af_fail(err, AF_E_INTERNAL, "out of memory");
    af_phase_begin("sweep");
    for (int a = 0; rc == 0 && a < s.n_shards; a++)
        for (int b = 0; rc == 0 && b < s.n_trees; b++) {
            rc = run_index(job, &s, &truth, (int)s.shards[a], (int)s.trees[b], points, &n, err);
            if (rc == 0)
                rc = save_points(job, points, n, err);
        }
    af_phase_end("sweep", (uint64_t)n * job->query.rows);
    af_bench_truth_free(&truth);
    failed = rc != 0;
    if (!failed && job->world.rank == 0) {
        failed = job->cfg.bench.plot[0] && af_bench_plot(job, points, n, s.peer_title, err) != 0;
        if (!failed && !job->quiet)
            fprintf(stderr, "bench: wrote %s%s%s (%d points)\n", job->cfg.bench.out,
                    job->cfg.bench.plot[0] ? " and " : "", job->cfg.bench.plot, n);
    }
    free(points);
    if (rc != 0 || af_mpi_agree(failed, err) != 0)
        return -1;
    af_manifest_add_file(job->cfg.bench.out);
    if (job->cfg.bench.plot[0])
        af_manifest_add_file(job->cfg.bench.plot);
    return af_manifest_write(job, job->cfg.bench.out, err);
}

static int run_bench(int argc, char **argv) {
    af_job job;
    af_error err = {0};
    if (af_job_setup(&job, "bench", argc, argv, AF_NEED_BENCH, 0, &err) != 0 ||
        run_sweep(&job, &err) != 0)
        return af_report_error(&err);
    return AF_OK;
}

const af_command af_cmd_bench = {
    "bench",
    "recall / speed / build sweeps over trees x search_k (x shards) against exact truth",
    "Usage: annforest bench --config JOB.ini [--set section.key=value ...] [--quiet]\n"
    "\n"
    "For every bench.shards x bench.trees, builds an index of reference.path (timed) into\n"
    "bench.work, then for every bench.search_k searches all rows of query.path through it\n"
    "(the search calls are timed, best of bench.repeat passes) and scores the answers against\n"
    "the exact k nearest neighbours (`exact`, computed once and cached in bench.truth under a\n"
    "digest of the data, metric and k). With bench.dataset = FILE.hdf5 (an ann-benchmarks\n"
    "file) the reference is /train, the queries /test, the truth its /distances and the\n"
    "metric its `distance` attribute.\n"
    "\n"
    "recall@k counts a returned neighbour when its distance is within the true k-th distance\n"
    "+ 1e-3 (ann-benchmarks' rule). qps_per_thread = queries / (slowest rank's search time x\n"
    "ranks x threads). Writes bench.out (CSV, one row per point) and, when set, bench.plot (a\n"
    "PNG of recall against qps_per_thread, with bench.peer's curve; needs gnuplot). See\n"
    "docs/bench.md.\n"
    "\n"
    "  --config FILE      the job config (INI, see docs/config.md, section [bench])\n"
    "  --set S.K=V        override one config key (repeatable), e.g. --set bench.trees=10,50\n"
    "  --quiet            no progress reports\n",
    run_bench,
};
