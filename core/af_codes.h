/* af_codes: 8-bit copies of a view's item vectors, for the search's first pass (rerank).
 *
 * Every element x becomes round((x - lo) * scale), clamped to 0..255, with one lo and scale
 * for all the items of the view (their smallest and largest element). The distance between two
 * codes is then, up to the rounding of each element, the true distance times a constant (its
 * square for euclidean), so the nearest codes point at the nearest vectors; data that is
 * already 8-bit (pixels: Fashion-MNIST) keeps its order exactly. A quarter of the bytes of the
 * float vectors: the first pass reads four times less memory than exact distances would. */
#ifndef AF_CODES_H
#define AF_CODES_H

#include <stdint.h>

#include "af_error.h"
#include "af_index.h"

typedef struct af_codes {
    int64_t count; /* slots: the view's items, in the order the caller gives */
    int dim;
    float lo, scale;
    uint8_t *codes;  /* count x dim, by slot */
    uint64_t *valid; /* one bit per slot: 1 for an item node (not a row left out, NA) */
} af_codes;

/* The codes of the view's items (float metrics only), the view's i-th item in slot slot_of[i]
 * (a permutation of 0 .. items - 1; NULL: slot i). */
int af_codes_build(af_codes *c, const af_index_view *v, const int32_t *slot_of, af_error *err);
/* The code of one vector of dim floats (a query), with the items' lo and scale. */
void af_codes_encode(const af_codes *c, const float *x, uint8_t *out);
void af_codes_free(af_codes *c);

static inline const uint8_t *af_codes_of(const af_codes *c, int64_t slot) {
    return c->codes + (size_t)slot * (size_t)c->dim;
}
static inline int af_codes_valid(const af_codes *c, int64_t slot) {
    return (int)((c->valid[(uint64_t)slot / 64] >> ((uint64_t)slot % 64)) & 1);
}

#endif
