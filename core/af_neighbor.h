/* af_neighbor: one (id, distance) result and the top-k ordering every layer shares.
 *
 * A top-k list is an array of k af_neighbor sorted best first: smaller distance first
 * (larger first for dot), equal distances by smaller id. Missing entries (fewer than k
 * neighbours) sit at the end with id AF_NO_NEIGHBOR and distance NaN. */
#ifndef AF_NEIGHBOR_H
#define AF_NEIGHBOR_H

#include <stdint.h>

#define AF_NO_NEIGHBOR (-1)

typedef struct af_neighbor {
    int64_t id;  /* global row id, or AF_NO_NEIGHBOR */
    double dist; /* reported distance (NaN when missing) */
} af_neighbor;

/* 1 when a comes strictly before b in a top-k list (missing entries come last). */
static inline int af_neighbor_before(const af_neighbor *a, const af_neighbor *b, int larger_first) {
    if (a->id < 0 || b->id < 0)
        return a->id >= 0 && b->id < 0;
    if (a->dist != b->dist)
        return larger_first ? a->dist > b->dist : a->dist < b->dist;
    return a->id < b->id;
}

/* Fill k entries with "missing". */
void af_topk_clear(af_neighbor *list, int k);

/* out = the best k of two sorted lists a and b (k entries each); an id present in both is
 * kept once. out must not overlap a or b. */
void af_topk_merge(const af_neighbor *a, const af_neighbor *b, int k, int larger_first,
                   af_neighbor *out);

/* inout[r] = merge(in[r], inout[r]) for `rows` consecutive lists of k entries: the body of an
 * MPI user-defined reduction over rows of k neighbours. Returns -1 only when k is so large
 * that its scratch cannot be allocated. */
int af_topk_merge_rows(const af_neighbor *in, af_neighbor *inout, int64_t rows, int k,
                       int larger_first);

#endif
