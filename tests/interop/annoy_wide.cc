// Annoy itself, compiled with 64-bit node ids (AnnoyIndex<int64_t, float, ...>, the layout
// annforest's wide format follows), loads an annforest index and answers queries.
//   annoy_wide METRIC DIM INDEX QUERIES.f32 NQ K SEARCH_K ITEM
// QUERIES.f32: NQ x DIM float32, row-major. Prints "items N trees T", then the vector of item
// ITEM on one line, then one line per query: K ids (0-based, nearest first), then K distances.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdint.h>
#include <vector>

#include "annoylib.h"
#include "kissrandom.h"

#ifdef ANNOYLIB_MULTITHREADED_BUILD
typedef AnnoyIndexMultiThreadedBuildPolicy BuildPolicy;
#else
typedef AnnoyIndexSingleThreadedBuildPolicy BuildPolicy;
#endif

template <typename Distance>
static int answer(int dim, const char *index, const char *queries, int nq, int k, int search_k,
                  int64_t item) {
    AnnoyIndex<int64_t, float, Distance, Kiss64Random, BuildPolicy> annoy(dim);
    char *error = NULL;
    if (!annoy.load(index, false, &error)) {
        fprintf(stderr, "annoy_wide: cannot load %s: %s\n", index, error ? error : "?");
        return 1;
    }
    printf("items %lld trees %lld\n", (long long)annoy.get_n_items(),
           (long long)annoy.get_n_trees());
    std::vector<float> v(dim);
    annoy.get_item(item, v.data());
    for (int j = 0; j < dim; j++)
        printf("%.17g%c", (double)v[j], j + 1 < dim ? ' ' : '\n');
    FILE *f = fopen(queries, "rb");
    if (!f) {
        fprintf(stderr, "annoy_wide: cannot open %s\n", queries);
        return 1;
    }
    std::vector<float> q((size_t)nq * dim);
    if (fread(q.data(), sizeof(float), q.size(), f) != q.size()) {
        fprintf(stderr, "annoy_wide: %s is short\n", queries);
        fclose(f);
        return 1;
    }
    fclose(f);
    for (int i = 0; i < nq; i++) {
        std::vector<int64_t> ids;
        std::vector<float> dist;
        annoy.get_nns_by_vector(&q[(size_t)i * dim], k, search_k, &ids, &dist);
        for (size_t j = 0; j < ids.size(); j++)
            printf("%lld ", (long long)ids[j]);
        for (size_t j = 0; j < dist.size(); j++)
            printf("%.17g%c", (double)dist[j], j + 1 < dist.size() ? ' ' : '\n');
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 9) {
        fprintf(stderr, "usage: annoy_wide METRIC DIM INDEX QUERIES.f32 NQ K SEARCH_K ITEM\n");
        return 2;
    }
    const char *metric = argv[1];
    int dim = atoi(argv[2]), nq = atoi(argv[5]), k = atoi(argv[6]), search_k = atoi(argv[7]);
    int64_t item = atoll(argv[8]);
    if (!strcmp(metric, "euclidean"))
        return answer<Euclidean>(dim, argv[3], argv[4], nq, k, search_k, item);
    if (!strcmp(metric, "angular"))
        return answer<Angular>(dim, argv[3], argv[4], nq, k, search_k, item);
    if (!strcmp(metric, "manhattan"))
        return answer<Manhattan>(dim, argv[3], argv[4], nq, k, search_k, item);
    if (!strcmp(metric, "dot"))
        return answer<DotProduct>(dim, argv[3], argv[4], nq, k, search_k, item);
    fprintf(stderr, "annoy_wide: unknown metric %s\n", metric);
    return 2;
}
