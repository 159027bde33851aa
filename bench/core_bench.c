/* core_bench: annforest's core (libaf_core) on one data set, as ann-benchmarks measures it.
 *
 *   core_bench exact  TRAIN N TEST NQ DIM THREADS OUT.i32
 *       af_exact_knn (k = 10) of all NQ queries with THREADS threads; writes the ids (int32,
 *       NQ x 10, row-major) as ground truth.
 *   core_bench forest TRAIN N TEST NQ DIM TREES THREAD_LIST GT.i32 SWEEP_NQ SEARCH_K_LIST
 *       builds TREES trees once per thread count in THREAD_LIST (e.g. 1,2), checks the node
 *       bytes do not depend on it, then searches the first SWEEP_NQ queries one at a time on
 *       one thread for each search_k, scoring recall@10 against GT.i32.
 *
 * TRAIN and TEST are raw row-major float32 files. Results are printed as lines
 * "RESULT key=value ..." for bench/summarize.py. Environment AF_RERANK=R searches with
 * af_search_params.rerank = R (8-bit first pass, the R nearest get exact distances). */
#include <cblas.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "af_exact.h"
#include "af_forest.h"
#include "af_index.h"
#include "af_memory.h"
#include "bench_common.h"

#define K 10
#define MAX_LIST 64
#define REPEATS 3 /* QPS: the best of this many passes, as ann-benchmarks reports */

static void check(int rc, const af_error *err) {
    if (rc < 0) {
        fprintf(stderr, "core_bench: %s\n", err->msg);
        exit(1);
    }
}

static int run_exact(char **argv) {
    const char *train_path = argv[0], *test_path = argv[2], *out_path = argv[6];
    int64_t n = atoll(argv[1]), nq = atoll(argv[3]);
    int dim = atoi(argv[4]), threads = atoi(argv[5]);
    float *train = bench_read_f32(train_path, n, dim);
    float *test = bench_read_f32(test_path, nq, dim);
    af_neighbor *out = malloc((size_t)nq * K * sizeof *out);
    af_exact_params p = {AF_EUCLIDEAN, dim, K, threads};
    af_error err = {0};
    /* af_exact_knn's threads bound its OpenMP loops only; OpenBLAS (pthread build) has its own
     * pool, so hold it to the same count here (see RESULTS.md). */
    openblas_set_num_threads(threads);
    double t0 = bench_now();
    check(af_exact_knn(&p, train, n, 0, NULL, test, nq, NULL, out, &err), &err);
    double secs = bench_now() - t0;
    int32_t *ids = malloc((size_t)nq * K * sizeof *ids);
    for (int64_t i = 0; i < nq * K; i++)
        ids[i] = (int32_t)out[i].id;
    bench_write_file(out_path, ids, (size_t)nq * K * sizeof *ids);
    printf("RESULT tool=core phase=exact threads=%d queries=%lld seconds=%.4f qps=%.1f\n", threads,
           (long long)nq, secs, (double)nq / secs);
    free(ids);
    free(out);
    free(train);
    free(test);
    return 0;
}

/* One build: item nodes, then the trees, in global numbering (one shard holding every row). */
typedef struct built {
    unsigned char *items;
    af_shard_trees trees;
} built;

static built build_forest(const float *train, int64_t n, int dim, int n_trees, int threads) {
    built b;
    af_error err = {0};
    size_t node = af_node_size(AF_EUCLIDEAN, AF_NODES_NARROW, dim);
    double t0 = bench_now();
    b.items = malloc((size_t)n * node);
    if (!b.items)
        bench_die("out of memory", "item nodes");
    omp_set_num_threads(threads); /* the item nodes are filled by OpenMP's threads too */
    af_item_nodes_fill(AF_EUCLIDEAN, AF_NODES_NARROW, dim, train, n, NULL, b.items, 0.0);
    double t1 = bench_now();
    /* AF_TREE_BATCH: trees per pass (0 = annforest's default, 1 = depth first, Annoy's order);
     * AF_DEPTH_FIRST_BYTES: af_build_params.depth_first_bytes (0 = the default, 1 = never). */
    const char *batch = getenv("AF_TREE_BATCH"), *dfb = getenv("AF_DEPTH_FIRST_BYTES");
    af_build_params p = {.metric = AF_EUCLIDEAN,
                         .dim = dim,
                         .n_trees = n_trees,
                         .seed = 42,
                         .n_items_total = n,
                         .threads = threads,
                         .tree_batch = batch ? atoi(batch) : 0,
                         .depth_first_bytes = dfb ? (size_t)atoll(dfb) : 0};
    check(af_shard_build(&p, train, n, NULL, &b.trees, &err), &err);
    check(af_shard_relocate(&b.trees, 0, n, &err), &err);
    double t2 = bench_now();
    /* FNV-1a of the tree bytes, eight at a time: a change of the builder must not move a byte */
    uint64_t digest = 14695981039346656037ull;
    const uint64_t *words = (const uint64_t *)b.trees.nodes;
    for (size_t i = 0; i < b.trees.n_nodes * b.trees.node_size / 8; i++)
        digest = (digest ^ words[i]) * 1099511628211ull;
    printf("RESULT tool=core phase=build threads=%d trees=%d add_seconds=%.4f tree_seconds=%.4f "
           "seconds=%.4f nodes=%lld digest=%016llx\n",
           threads, n_trees, t1 - t0, t2 - t1, t2 - t0, (long long)b.trees.n_nodes,
           (unsigned long long)digest);
    fflush(stdout);
    return b;
}

static void free_built(built *b) {
    free(b->items);
    af_shard_trees_free(&b->trees);
}

static void make_view(const built *b, int64_t n, int dim, af_index_view *v) {
    af_error err = {0};
    check(af_index_view_init(v, AF_EUCLIDEAN, AF_NODES_NARROW, dim, n, &err), &err);
    check(af_index_view_set_items(v, 0, n, b->items, &err), &err);
    check(af_index_view_add_trees(v, n, b->trees.n_nodes, b->trees.nodes, &err), &err);
    check(af_index_view_set_roots(v, b->trees.roots, b->trees.n_trees, &err), &err);
}

/* Search the queries one at a time (one thread); returns QPS and sets *recall. */
static int64_t rerank_from_env(void) {
    const char *r = getenv("AF_RERANK");
    return r ? atoll(r) : 0;
}

static double sweep_one(af_searcher *s, const float *train, const float *test, int dim, int64_t nq,
                        const double *kth, int64_t search_k, double *recall) {
    af_search_params sp = {K, search_k, rerank_from_env()};
    af_neighbor *out = malloc((size_t)nq * K * sizeof *out);
    af_error err = {0};
    double t0 = bench_now();
    for (int64_t q = 0; q < nq; q++)
        check(af_searcher_run(s, test + q * dim, 1, &sp, NULL, out + q * K, &err), &err);
    double secs = bench_now() - t0;
    double sum = 0;
    int64_t ids[K];
    for (int64_t q = 0; q < nq; q++) {
        for (int j = 0; j < K; j++)
            ids[j] = out[q * K + j].id;
        sum += bench_recall_one(train, dim, test + q * dim, ids, K, kth[q]);
    }
    free(out);
    *recall = sum / (double)nq;
    return (double)nq / secs;
}

/* The same queries in one call (still one thread): how much the per-call cost weighs. */
static double batch_qps(af_searcher *s, const float *test, int64_t nq, int64_t search_k) {
    af_search_params sp = {K, search_k, rerank_from_env()};
    af_neighbor *out = malloc((size_t)nq * K * sizeof *out);
    af_error err = {0};
    double t0 = bench_now();
    check(af_searcher_run(s, test, nq, &sp, NULL, out, &err), &err);
    double secs = bench_now() - t0;
    free(out);
    return (double)nq / secs;
}

/* The rows where annforest's build holds them (app/vectors.c): af_alloc_large's memory. */
static float *large_copy(float *rows, size_t n) {
    float *large = af_alloc_large(n * sizeof *large);
    if (!large)
        bench_die("out of memory", "rows");
    memcpy(large, rows, n * sizeof *large);
    free(rows);
    return large;
}

static int run_forest(char **argv) {
    const char *train_path = argv[0], *test_path = argv[2], *gt_path = argv[7];
    int64_t n = atoll(argv[1]), nq = atoll(argv[3]), sweep_nq = atoll(argv[8]);
    int dim = atoi(argv[4]), n_trees = atoi(argv[5]);
    int64_t threads[MAX_LIST], search_ks[MAX_LIST];
    int n_threads = bench_parse_list(argv[6], threads, MAX_LIST);
    int n_sk = bench_parse_list(argv[9], search_ks, MAX_LIST);
    if (sweep_nq > nq)
        sweep_nq = nq;
    float *train = large_copy(bench_read_f32(train_path, n, dim), (size_t)n * dim);
    float *test = bench_read_f32(test_path, nq, dim);
    int32_t *gt = bench_read_file(gt_path, (size_t)nq * K * sizeof *gt);
    double *kth = bench_kth_true(train, test, dim, gt, K, sweep_nq, K);

    built b = {0};
    for (int i = 0; i < n_threads; i++) {
        built next = build_forest(train, n, dim, n_trees, (int)threads[i]);
        if (i > 0) {
            size_t bytes = next.trees.n_nodes * next.trees.node_size;
            int same = next.trees.n_nodes == b.trees.n_nodes &&
                       memcmp(next.trees.nodes, b.trees.nodes, bytes) == 0;
            printf("RESULT tool=core phase=determinism threads=%lld same_bytes=%d\n",
                   (long long)threads[i], same);
            free_built(&b);
        }
        b = next;
    }

    af_index_view v;
    make_view(&b, n, dim, &v);
    af_error err = {0};
    af_searcher *s = af_searcher_create(&v, 1, &err);
    if (!s)
        check(-1, &err);
    double warm_recall, t_warm = bench_now();
    /* the first call also builds what the searcher prepares once (rerank's compact copy) */
    sweep_one(s, train, test, dim, sweep_nq < 100 ? sweep_nq : 100, kth, search_ks[0],
              &warm_recall);
    printf("RESULT tool=core phase=prepare rerank=%lld seconds=%.4f\n",
           (long long)rerank_from_env(), bench_now() - t_warm);
    for (int i = 0; i < n_sk; i++) {
        double recall, qps = 0;
        for (int rep = 0; rep < REPEATS; rep++) {
            double r = sweep_one(s, train, test, dim, sweep_nq, kth, search_ks[i], &recall);
            qps = r > qps ? r : qps;
        }
        printf("RESULT tool=core phase=query search_k=%lld queries=%lld recall=%.4f qps=%.1f\n",
               (long long)search_ks[i], (long long)sweep_nq, recall, qps);
        fflush(stdout);
    }
    int64_t default_k = (int64_t)n_trees * K;
    printf("RESULT tool=core phase=batch search_k=%lld queries=%lld qps=%.1f\n",
           (long long)default_k, (long long)sweep_nq, batch_qps(s, test, sweep_nq, default_k));
    af_searcher_free(s);
    af_index_view_free(&v);
    free_built(&b);
    free(kth);
    free(gt);
    free(train);
    free(test);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 9 && strcmp(argv[1], "exact") == 0)
        return run_exact(argv + 2);
    if (argc == 12 && strcmp(argv[1], "forest") == 0)
        return run_forest(argv + 2);
    fprintf(stderr, "usage: core_bench exact TRAIN N TEST NQ DIM THREADS OUT.i32\n"
                    "       core_bench forest TRAIN N TEST NQ DIM TREES THREAD_LIST GT.i32 "
                    "SWEEP_NQ SEARCH_K_LIST\n");
    return 2;
}
