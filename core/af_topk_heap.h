/* af_topk_heap (internal): the best k (key, id) pairs seen so far, smaller key better, equal
 * keys by smaller id. A max-heap on "worse", so the worst kept pair is at the root. Keys are
 * distances, negated for larger-first metrics. */
#ifndef AF_TOPK_HEAP_H
#define AF_TOPK_HEAP_H

#include <math.h>
#include <stdint.h>

#include "af_neighbor.h"

typedef struct af_keyed {
    double key;
    int64_t id;
} af_keyed;

typedef struct af_topk_heap {
    af_keyed *e;
    int size, cap;
} af_topk_heap;

static inline int af_keyed_worse(const af_keyed *a, const af_keyed *b) {
    return a->key > b->key || (a->key == b->key && a->id > b->id);
}

static inline void af_topk_heap_reset(af_topk_heap *h, af_keyed *storage, int cap) {
    h->e = storage;
    h->size = 0;
    h->cap = cap;
}

/* Would (key, id) enter the heap? */
static inline int af_topk_heap_accepts(const af_topk_heap *h, double key, int64_t id) {
    if (h->size < h->cap)
        return 1;
    af_keyed c = {key, id};
    return af_keyed_worse(&h->e[0], &c);
}

static inline void af_topk_heap_sift_down(af_topk_heap *h, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < h->size && af_keyed_worse(&h->e[l], &h->e[w]))
            w = l;
        if (r < h->size && af_keyed_worse(&h->e[r], &h->e[w]))
            w = r;
        if (w == i)
            return;
        af_keyed t = h->e[i];
        h->e[i] = h->e[w];
        h->e[w] = t;
        i = w;
    }
}

static inline void af_topk_heap_push(af_topk_heap *h, double key, int64_t id) {
    af_keyed c = {key, id};
    if (h->size < h->cap) {
        int i = h->size++;
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (!af_keyed_worse(&c, &h->e[parent]))
                break;
            h->e[i] = h->e[parent];
            i = parent;
        }
        h->e[i] = c;
    } else if (af_keyed_worse(&h->e[0], &c)) {
        h->e[0] = c;
        af_topk_heap_sift_down(h, 0);
    }
}

/* Empty the heap into out[0..cap) best first; the rest marked missing. key -> distance by
 * `sign` (-1 for larger-first metrics). */
static inline void af_topk_heap_drain(af_topk_heap *h, af_neighbor *out, int k, double sign) {
    int n = h->size;
    for (int i = n; i < k; i++) {
        out[i].id = AF_NO_NEIGHBOR;
        out[i].dist = NAN;
    }
    while (h->size > 0) {
        af_keyed top = h->e[0];
        h->e[0] = h->e[--h->size];
        af_topk_heap_sift_down(h, 0);
        if (h->size < k) {
            out[h->size].id = top.id;
            out[h->size].dist = sign * top.key;
        }
    }
}

#endif
