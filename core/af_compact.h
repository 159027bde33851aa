/* af_compact: the search copy of a view that query.rerank searches.
 *
 * On this kind of machine a query's cost is the number of places in memory it touches, not the
 * arithmetic: each split opened and each candidate compared is a fetch from somewhere in a
 * file-sized array. The compact copy packs what the descent and the first pass read so that
 * one query touches few places:
 *
 *  - the trees, each in depth-first order, in one arena: a split is its plane in 8 bits (one
 *    scale per plane), its offset and the arena references of its two children; a leaf is the
 *    list of its items' slots. A path down a tree stays within a few pages, and a split costs
 *    a quarter of the bytes of its float plane;
 *  - the items' 8-bit codes (af_codes.h) by slot, where slots number the items in the order the
 *    first tree's leaves meet them: items close in space are close in memory, so a query's
 *    candidates share pages instead of taking one each.
 *
 * The margins are those of the 8-bit planes, so the descent may open sides in a slightly
 * different order than with the float planes of the file; the answers still carry exact
 * distances. Building the copy walks every tree once and checks it as the search would: a child
 * that is not mapped, or trees that loop, are reported here instead of by the query that meets
 * them. */
#ifndef AF_COMPACT_H
#define AF_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "af_codes.h"
#include "af_error.h"
#include "af_index.h"

/* An arena reference, 32 bits: the entry's byte offset / 8, times 2, plus 1 for a leaf (0 for a
 * split). 32 bits keep the search's queue entries to 8 bytes; the arena may hold 16 GiB. */
typedef uint32_t af_compact_ref;
#define AF_COMPACT_MAX_BYTES ((size_t)1 << 34)

static inline int af_compact_is_leaf(af_compact_ref r) {
    return (int)(r & 1);
}

typedef struct af_compact_split {
    af_compact_ref child[2];
    float offset; /* the margin is offset + scale * dot(plane, query) */
    float scale;
    int8_t plane[]; /* dim values */
} af_compact_split;

typedef struct af_compact_leaf {
    int32_t met;    /* what the leaf counts toward search_k: its children, as Annoy counts */
    int32_t n_slot; /* the slots that follow */
    uint32_t slot[];
} af_compact_leaf;

typedef struct af_compact {
    int dim;
    unsigned char *arena;
    size_t arena_size;
    int64_t n_roots;
    af_compact_ref *root_refs; /* one per root of the view, in its order */
    int64_t n_slots;           /* the view's items */
    int64_t *id_of;            /* item id by slot */
    int32_t *slot_of;          /* slot by item id - the view's first item */
    af_codes codes;            /* by slot */
} af_compact;

int af_compact_build(af_compact *cf, const af_index_view *v, af_error *err);
void af_compact_free(af_compact *cf);

static inline const void *af_compact_at(const af_compact *cf, af_compact_ref r) {
    return cf->arena + (size_t)(r >> 1) * 8;
}

#endif
