/* af_codes: the view's items encoded to 8 bits, in parallel (each item on its own). */
#include "af_codes.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "af_memory.h"
#include "af_traits.h"

/* The view's i-th item node (in id order). */
static const unsigned char *item_node(const af_index_view *v, int64_t i) {
    return (const unsigned char *)v->items.base + (size_t)i * v->node_size;
}

int af_codes_build(af_codes *c, const af_index_view *v, const int32_t *slot_of, af_error *err) {
    memset(c, 0, sizeof *c);
    const af_traits *t = af_traits_get(v->metric, v->format);
    if (!t || t->elem_size != sizeof(float))
        return af_fail(err, AF_E_INTERNAL, "search: 8-bit codes need float vectors");
    int64_t n = v->items.count;
    int dim = v->dim;
    c->count = n;
    c->dim = dim;
    c->codes = af_alloc_large((size_t)(n ? n : 1) * (size_t)dim);
    c->valid = calloc((size_t)(n + 63) / 64 + 1, sizeof *c->valid);
    if (!c->codes || !c->valid) {
        af_codes_free(c);
        return af_fail(err, AF_E_INTERNAL, "search: out of memory for %lld 8-bit vectors",
                       (long long)n);
    }
    /* The items are read in id order (the index's order: sequential), each code written to its
     * slot. */
    for (int64_t i = 0; i < n; i++)
        if (af_node_ndesc(t, item_node(v, i)) == 1) {
            int64_t slot = slot_of ? slot_of[i] : i;
            c->valid[slot / 64] |= (uint64_t)1 << (slot % 64);
        }
    /* The range of every element of every item (min and max: the same whatever the order). */
    float lo = INFINITY, hi = -INFINITY;
#pragma omp parallel for reduction(min : lo) reduction(max : hi) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *node = item_node(v, i);
        if (af_node_ndesc(t, node) != 1)
            continue;
        const float *x = (const float *)(node + t->off_vector);
        for (int j = 0; j < dim; j++) {
            lo = x[j] < lo ? x[j] : lo;
            hi = x[j] > hi ? x[j] : hi;
        }
    }
    c->lo = isfinite(lo) ? lo : 0.0f;
    c->scale = isfinite(hi) && hi > lo ? 255.0f / (hi - lo) : 1.0f;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t slot = slot_of ? slot_of[i] : i;
        af_codes_encode(c, (const float *)(item_node(v, i) + t->off_vector),
                        c->codes + (size_t)slot * (size_t)dim);
    }
    return 0;
}

void af_codes_encode(const af_codes *c, const float *x, uint8_t *out) {
    for (int j = 0; j < c->dim; j++) {
        float code = (x[j] - c->lo) * c->scale;
        /* NaN (never in an item) and out-of-range queries clamp to the ends */
        code = code > 0.0f ? (code < 255.0f ? code : 255.0f) : 0.0f;
        out[j] = (uint8_t)lrintf(code);
    }
}

void af_codes_free(af_codes *c) {
    free(c->codes);
    free(c->valid);
    c->codes = NULL;
    c->valid = NULL;
}
