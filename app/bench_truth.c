/* The ground truth of a bench: every query's true k-th distance. Computed once with the exact
 * searcher through the ordinary query pipeline (so it is `annforest exact`'s answer) into a
 * cache named by a digest of everything the answer depends on, and read back on later runs. */
#include "af_partition.h"
#include "bench.h"
#include "digests.h"
#include "file_util.h"
#include "manifest.h"
#include "query_pipeline.h"
#include "searchers.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

static int alloc_truth(const af_job *job, af_bench_truth *t, af_error *err) {
    int64_t Q = (int64_t)job->query.rows;
    t->q0 = af_block_start(Q, job->world.size, job->world.rank);
    t->qn = af_block_size(Q, job->world.size, job->world.rank);
    t->kth = calloc((size_t)(t->qn ? t->qn : 1), sizeof *t->kth);
    t->n_true = calloc((size_t)(t->qn ? t->qn : 1), sizeof *t->n_true);
    if (!t->kth || !t->n_true)
        return af_fail(err, AF_E_INTERNAL, "out of memory for the truth of %" PRId64 " rows",
                       t->qn);
    return 0;
}

void af_bench_truth_free(af_bench_truth *t) {
    free(t->kth);
    free(t->n_true);
    memset(t, 0, sizeof *t);
}

/* ---- the cache key ------------------------------------------------------------------------ */

static void put_matrix(char *text, size_t cap, const char *what, const af_matrix_desc *d,
                       const char *digest) {
    size_t used = strlen(text);
    snprintf(text + used, cap - used,
             "%s=%s rows=%" PRIu64 " cols=%" PRIu64 " row_offset=%" PRIu64 " col_offset=%" PRIu64
             " type=%d order=%d\n",
             what, digest, d->rows, d->cols, d->row_offset, d->col_offset, (int)d->type,
             (int)d->order);
}

/* Collective: XXH3 of the data's digests and views and the keys that decide the exact answer
 * (metric, k, na, self / exclude_self), as 16 hex digits. */
static int truth_key(const af_job *job, char key[17], af_error *err) {
    const af_config *c = &job->cfg;
    char ref_hex[17], query_hex[17], text[1024] = "annforest-bench-truth-v1\n";
    uint64_t size = 0;
    int64_t files = 0;
    if (af_digest_matrix(&job->ref, job->threads, &size, &files, ref_hex, err) != 0)
        return -1;
    put_matrix(text, sizeof text, "reference", &job->ref, ref_hex);
    if (!c->query.self) {
        if (af_digest_matrix(&job->query, job->threads, &size, &files, query_hex, err) != 0)
            return -1;
        put_matrix(text, sizeof text, "query", &job->query, query_hex);
    }
    size_t used = strlen(text);
    snprintf(text + used, sizeof text - used, "metric=%s k=%d na=%s self=%d exclude_self=%d\n",
             af_config_metric_name(c->index.metric), c->query.k, af_config_na_name(c->reference.na),
             (int)c->query.self, (int)(c->query.self && c->query.exclude_self));
    snprintf(key, 17, "%016llx", (unsigned long long)XXH3_64bits(text, strlen(text)));
    return 0;
}

/* ---- reading and computing the cached truth ----------------------------------------------- */

/* Rank 0: whether DIR/truth-KEY holds a whole answer of the right shape (both descriptors are
 * written last, when the outputs are complete, so their presence means a finished run). */
static int cache_usable(const af_job *job, const char *ids, const char *dist) {
    af_matrix_desc d;
    af_error ignored = {0};
    if (access(ids, R_OK) != 0 || access(dist, R_OK) != 0)
        return 0;
    if (af_matrix_describe(dist, &d, &ignored) != 0)
        return 0;
    return d.rows == job->query.rows && d.cols == (uint64_t)job->cfg.query.k &&
           d.type == AF_T_DOUBLE;
}

/* Collective: the exact answer into the cache (ids too: users may want them). */
static int compute_truth(const af_job *job, const char *ids, const char *dist, af_error *err) {
    af_job exact = *job;
    af_config *c = &exact.cfg;
    snprintf(c->output.index, sizeof c->output.index, "%s", ids);
    snprintf(c->output.distance, sizeof c->output.distance, "%s", dist);
    c->output.order = AF_CONFIG_ORDER_ROW;
    c->output.base = 0;
    c->output.existing = AF_CONFIG_EXISTING_OVERWRITE;
    af_searcher_ops ops;
    af_exact_searcher *s = af_exact_searcher_open(&exact, &ops, err);
    if (!s)
        return -1;
    int rc = af_run_queries(&exact, &ops, err);
    af_exact_searcher_close(s);
    return rc;
}

/* Collective: this rank's rows of the cached distances -> k-th distance and count per row. */
static int read_truth(const af_job *job, const char *dist, af_bench_truth *t, af_error *err) {
    int k = job->cfg.query.k;
    af_matrix_desc d;
    if (af_job_describe(dist, "[bench] truth", &d, err) != 0)
        return -1;
    af_matrix *mx = NULL;
    double *rows = malloc(sizeof *rows * (size_t)(t->qn ? t->qn : 1) * (size_t)k);
    int failed = !rows ? af_fail(err, AF_E_INTERNAL, "out of memory reading %s", dist) != 0
                       : af_matrix_open(&d, &mx, err) != 0;
    if (!failed && t->qn > 0)
        failed = af_matrix_read_f64(mx, (uint64_t)t->q0, (uint64_t)(t->q0 + t->qn), rows, NULL,
                                    err) != 0;
    for (int64_t i = 0; !failed && i < t->qn; i++) {
        int n = 0;
        while (n < k && !isnan(rows[i * k + n]))
            n++;
        t->n_true[i] = n;
        t->kth[i] = n > 0 ? rows[i * k + n - 1] : NAN;
    }
    if (mx)
        af_matrix_close(mx);
    free(rows);
    return af_mpi_agree(failed, err);
}

static int cached_truth(const af_job *job, const char *dir, af_bench_truth *t, af_error *err) {
    char key[17], ids[AF_MATRIX_PATH_MAX], dist[AF_MATRIX_PATH_MAX];
    if (truth_key(job, key, err) != 0)
        return -1;
    int n1 = snprintf(ids, sizeof ids, "%s/truth-%s.index.afm", dir, key);
    int n2 = snprintf(dist, sizeof dist, "%s/truth-%s.distance.afm", dir, key);
    int failed = 0, usable = 0;
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof ids || (size_t)n2 >= sizeof dist)
        failed = af_fail(err, AF_E_CONFIG, "[bench] truth: directory name %s too long", dir) != 0;
    if (!failed && job->world.rank == 0) {
        failed = af_make_parent_dirs(ids, err) != 0;
        usable = !failed && cache_usable(job, ids, dist);
        if (!failed && !job->quiet)
            fprintf(stderr,
                    usable ? "truth: reusing the cached %s\n"
                           : "truth: computing the exact neighbours into %s\n",
                    dist);
    }
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    MPI_Bcast(&usable, 1, MPI_INT, 0, MPI_COMM_WORLD);
    t->from_cache = usable;
    if (!usable) {
        if (compute_truth(job, ids, dist, err) != 0)
            return -1;
        af_manifest_add_matrix(ids); /* files this run wrote: checksummed in its manifest */
        af_manifest_add_matrix(dist);
    }
    return read_truth(job, dist, t, err);
}

/* ---- an ann-benchmarks file: the truth is its /distances ---------------------------------- */

/* Collective: this rank's rows of the file's true distances (io/annbench.h), in the file's own
 * units (recall converts the found distances to them). */
static int dataset_truth(const af_job *job, const af_annbench *annb, af_bench_truth *t,
                         af_error *err) {
    uint64_t k = (uint64_t)job->cfg.query.k;
    int64_t *ids = malloc(sizeof *ids * (size_t)(t->qn ? t->qn : 1) * k);
    double *dist = malloc(sizeof *dist * (size_t)(t->qn ? t->qn : 1) * k);
    int failed = !ids || !dist ? af_fail(err, AF_E_INTERNAL, "out of memory") != 0 : 0;
    if (!failed && k > annb->truth_k)
        failed = af_config_fail_key(&job->cfg, AF_CFG_QUERY_K, err,
                                    "%s lists only %" PRIu64 " true neighbours per query",
                                    job->cfg.bench.dataset, annb->truth_k) != 0;
    if (!failed && t->qn > 0)
        failed = af_annbench_read_truth(annb, (uint64_t)t->q0, (uint64_t)(t->q0 + t->qn), k, ids,
                                        dist, err) != 0;
    for (int64_t i = 0; !failed && i < t->qn; i++) {
        t->kth[i] = dist[(uint64_t)i * k + k - 1];
        t->n_true[i] = (int32_t)k;
    }
    snprintf(t->units, sizeof t->units, "%s", annb->metric);
    free(ids);
    free(dist);
    if (job->world.rank == 0 && !failed && !job->quiet)
        fprintf(stderr, "truth: the true distances of %s:/distances (%s)\n", job->cfg.bench.dataset,
                annb->metric);
    return af_mpi_agree(failed, err);
}

int af_bench_truth_load(const af_job *job, const char *dir, const af_annbench *annb,
                        af_bench_truth *t, af_error *err) {
    memset(t, 0, sizeof *t);
    int failed = alloc_truth(job, t, err) != 0;
    if (af_mpi_agree(failed, err) != 0) {
        af_bench_truth_free(t);
        return -1;
    }
    int rc = annb ? dataset_truth(job, annb, t, err) : cached_truth(job, dir, t, err);
    if (rc != 0)
        af_bench_truth_free(t);
    return rc;
}
