// annoy_bench: the peer, Spotify's Annoy (the annoylib.h RcppAnnoy ships), measured exactly as
// core_bench measures annforest's core, on the same files and with the same recall rule.
//
//   annoy_bench TRAIN N TEST NQ DIM TREES THREAD_LIST GT.i32 SWEEP_NQ SEARCH_K_LIST
//
// Builds TREES trees once per thread count (AnnoyIndexMultiThreadedBuildPolicy, n_threads as
// given), then searches the first SWEEP_NQ queries one at a time for each search_k.
#include <stdint.h>

#include <vector>

#include "annoylib.h"
#include "kissrandom.h"
#include "bench_common.h"

typedef AnnoyIndex<int32_t, float, Euclidean, Kiss64Random, AnnoyIndexMultiThreadedBuildPolicy>
    Index;

// The name in the RESULT lines: run-core.sh builds this twice, with Annoy's own default flags
// (-march=native) and portable (-O3 only), and names the second "annoy-portable".
#ifndef TOOL_NAME
#define TOOL_NAME "annoy"
#endif
static const char *const TOOL = TOOL_NAME;
static const int K = 10;
static const int MAX_LIST = 64;
static const int REPEATS = 3; // QPS: the best of this many passes, as ann-benchmarks reports

static Index *build(const float *train, int64_t n, int dim, int trees, int threads) {
    Index *index = new Index(dim);
    index->set_seed(42);
    double t0 = bench_now();
    for (int64_t i = 0; i < n; i++)
        index->add_item((int32_t)i, train + i * dim);
    double t1 = bench_now();
    char *error = NULL;
    if (!index->build(trees, threads, &error))
        bench_die(error ? error : "build failed", "annoy");
    double t2 = bench_now();
    printf("RESULT tool=%s phase=build threads=%d trees=%d add_seconds=%.4f tree_seconds=%.4f "
           "seconds=%.4f\n",
           TOOL, threads, trees, t1 - t0, t2 - t1, t2 - t0);
    fflush(stdout);
    return index;
}

static double sweep_one(const Index *index, const float *train, const float *test, int dim,
                        int64_t nq, const double *kth, int search_k, double *recall) {
    std::vector<std::vector<int32_t>> answers(nq);
    std::vector<float> dists;
    dists.reserve(K);
    double t0 = bench_now();
    for (int64_t q = 0; q < nq; q++) {
        answers[q].reserve(K);
        dists.clear();
        index->get_nns_by_vector(test + q * dim, K, search_k, &answers[q], &dists);
    }
    double secs = bench_now() - t0;
    double sum = 0;
    int64_t ids[K];
    for (int64_t q = 0; q < nq; q++) {
        for (int j = 0; j < K; j++)
            ids[j] = j < (int)answers[q].size() ? answers[q][j] : -1;
        sum += bench_recall_one(train, dim, test + q * dim, ids, K, kth[q]);
    }
    *recall = sum / (double)nq;
    return (double)nq / secs;
}

int main(int argc, char **argv) {
    if (argc != 11) {
        fprintf(stderr, "usage: annoy_bench TRAIN N TEST NQ DIM TREES THREAD_LIST GT.i32 "
                        "SWEEP_NQ SEARCH_K_LIST\n");
        return 2;
    }
    const char *train_path = argv[1], *test_path = argv[3], *gt_path = argv[8];
    int64_t n = atoll(argv[2]), nq = atoll(argv[4]), sweep_nq = atoll(argv[9]);
    int dim = atoi(argv[5]), trees = atoi(argv[6]);
    int64_t threads[MAX_LIST], search_ks[MAX_LIST];
    int n_threads = bench_parse_list(argv[7], threads, MAX_LIST);
    int n_sk = bench_parse_list(argv[10], search_ks, MAX_LIST);
    if (sweep_nq > nq)
        sweep_nq = nq;
    float *train = bench_read_f32(train_path, n, dim);
    float *test = bench_read_f32(test_path, nq, dim);
    int32_t *gt = (int32_t *)bench_read_file(gt_path, (size_t)nq * K * sizeof(int32_t));
    double *kth = bench_kth_true(train, test, dim, gt, K, sweep_nq, K);

    Index *index = NULL;
    for (int i = 0; i < n_threads; i++) {
        delete index;
        index = build(train, n, dim, trees, (int)threads[i]);
    }
    double warm_recall;
    sweep_one(index, train, test, dim, sweep_nq < 100 ? sweep_nq : 100, kth, (int)search_ks[0],
              &warm_recall);
    for (int i = 0; i < n_sk; i++) {
        double recall, qps = 0;
        for (int rep = 0; rep < REPEATS; rep++) {
            double r =
                sweep_one(index, train, test, dim, sweep_nq, kth, (int)search_ks[i], &recall);
            qps = r > qps ? r : qps;
        }
        printf("RESULT tool=%s phase=query search_k=%lld queries=%lld recall=%.4f qps=%.1f\n", TOOL,
               (long long)search_ks[i], (long long)sweep_nq, recall, qps);
        fflush(stdout);
    }
    delete index;
    free(kth);
    free(gt);
    free(train);
    free(test);
    return 0;
}
