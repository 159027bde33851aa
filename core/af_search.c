/* af_search: Annoy's best-first descent over all roots at once, then exact distances.
 *
 * Per query: a max-priority queue of nodes (priority = the smallest margin met on the way, so
 * the nearest sides are opened first), collecting leaf items until search_k have been met
 * (repeats counted, as Annoy does); repeats are dropped with a bit per mapped item that is
 * cleared again through the candidate list, so nothing is sorted; the candidates' distances
 * go through a bounded heap. With rerank R the search runs on the compact copy of the forest
 * (af_compact.h: 8-bit planes, trees depth first, items numbered by slot in leaf order), and a
 * first pass over 8-bit codes keeps the R nearest candidates (another bounded heap, on (code
 * distance, id), the candidates at its limit settled by id); only those get exact distances.
 * Queries are searched in blocks that take their distances in the order of the rows' (or
 * codes') addresses (search_block, rerank_block below): a block of one query, or of many, gives
 * the same answers. Per-thread scratch lives in the searcher and is reused. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "af_compact.h"
#include "af_index.h"
#include "af_topk_heap.h"
#include "af_traits.h"

typedef struct pq_entry {
    float pri;
    int64_t id;
} pq_entry;

typedef struct scratch {
    pq_entry *pq;
    int64_t pq_size, pq_cap;
    uint64_t *pq64; /* the compact search's queue (pq_size counts it then) */
    int64_t pq64_cap;
    int64_t *cand;
    int64_t n_cand, cand_cap;
    uint64_t *seen;           /* one bit per mapped item */
    float *plane;             /* rerank: a split's 8-bit plane back in floats */
    int64_t bad_from, bad_id; /* a node id that is not mapped, and who pointed to it */
    /* a block of queries ranked together (search_block): its (row, query) pairs as collected
     * and as sorted by tile of rows, the sort's counters, and the queries' heaps */
    uint64_t *pairs, *sorted;
    int64_t pairs_cap, sorted_cap;
    uint32_t *tile_at;
    int64_t tile_cap;
    af_keyed *heaps; /* k entries per query of the block */
    int64_t heaps_cap;
    /* per query of the block: its heap, dot(q, q) for angular, and with rerank the candidates
     * it met (block_cap queries) */
    af_topk_heap *block_heap;
    float *block_sq;
    int64_t *block_raw;
    int64_t block_cap;
    /* with rerank: per query its code and its first-pass heap; per sorted pair, its code
     * distance; the candidates at a query's limit */
    uint8_t *qcodes;
    int64_t qcodes_cap;
    af_keyed *near_all;
    int64_t near_all_cap;
    double *pdist;
    int64_t pdist_cap;
    struct tie_entry *ties;
    int64_t ties_cap;
} scratch;

struct af_searcher {
    const af_index_view *v;
    const af_traits *t;
    const af_kernels *k;
    int threads;
    scratch *sc;
    af_compact cf; /* built by the first run with rerank */
    int has_compact;
};

void af_searcher_free(af_searcher *s) {
    if (!s)
        return;
    for (int i = 0; i < s->threads; i++) {
        free(s->sc[i].pq);
        free(s->sc[i].pq64);
        free(s->sc[i].cand);
        free(s->sc[i].seen);
        free(s->sc[i].plane);
        free(s->sc[i].pairs);
        free(s->sc[i].sorted);
        free(s->sc[i].tile_at);
        free(s->sc[i].heaps);
        free(s->sc[i].block_heap);
        free(s->sc[i].block_sq);
        free(s->sc[i].block_raw);
        free(s->sc[i].qcodes);
        free(s->sc[i].near_all);
        free(s->sc[i].pdist);
        free(s->sc[i].ties);
    }
    free(s->sc);
    if (s->has_compact)
        af_compact_free(&s->cf);
    free(s);
}

af_searcher *af_searcher_create(const af_index_view *v, int threads, af_error *err) {
    af_searcher *s = calloc(1, sizeof *s);
    if (!s) {
        af_fail(err, AF_E_INTERNAL, "search: out of memory");
        return NULL;
    }
    s->v = v;
    s->t = af_traits_get(v->metric, v->format);
    s->k = af_kernels_best();
    s->threads = threads > 0 ? threads : omp_get_max_threads();
    s->sc = calloc((size_t)s->threads, sizeof *s->sc);
    size_t words = (size_t)(v->items.count + 63) / 64;
    for (int i = 0; s->sc && i < s->threads; i++) {
        s->sc[i].seen = calloc(words ? words : 1, sizeof(uint64_t));
        if (!s->sc[i].seen)
            break;
    }
    if (!s->sc || !s->sc[s->threads - 1].seen) {
        af_searcher_free(s);
        af_fail(err, AF_E_INTERNAL, "search: out of memory for %d threads' scratch", threads);
        return NULL;
    }
    return s;
}

static int grow(void **p, int64_t *cap, int64_t need, size_t elem) {
    if (need <= *cap)
        return 0;
    int64_t c = *cap * 2 > need ? *cap * 2 : need + 64;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* Max-heap on (priority, id): the larger id first on equal priority, as Annoy's queue. */
static inline int pq_above(const pq_entry *a, const pq_entry *b) {
    return a->pri > b->pri || (a->pri == b->pri && a->id > b->id);
}

static int pq_push(scratch *sc, float pri, int64_t id) {
    if (grow((void **)&sc->pq, &sc->pq_cap, sc->pq_size + 1, sizeof *sc->pq) < 0)
        return -1;
    pq_entry e = {pri, id};
    int64_t i = sc->pq_size++;
    while (i > 0) {
        int64_t parent = (i - 1) / 2;
        if (!pq_above(&e, &sc->pq[parent]))
            break;
        sc->pq[i] = sc->pq[parent];
        i = parent;
    }
    sc->pq[i] = e;
    return 0;
}

static pq_entry pq_pop(scratch *sc) {
    pq_entry top = sc->pq[0], last = sc->pq[--sc->pq_size];
    int64_t i = 0, n = sc->pq_size;
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, w = l;
        if (l >= n)
            break;
        if (r < n && pq_above(&sc->pq[r], &sc->pq[l]))
            w = r;
        if (!pq_above(&sc->pq[w], &last))
            break;
        sc->pq[i] = sc->pq[w];
        i = w;
    }
    if (n > 0)
        sc->pq[i] = last;
    return top;
}

/* Append `value` to the candidates unless bit `slot` of the seen set is up; raise it. */
static inline void note_once(scratch *sc, uint64_t slot, int64_t value) {
    uint64_t bit = 1ULL << (slot % 64);
    if (sc->seen[slot / 64] & bit)
        return;
    sc->seen[slot / 64] |= bit;
    sc->cand[sc->n_cand++] = value;
}

/* Note an item met in a leaf; returns -1 when it is not mapped. */
static inline int add_candidate(const af_index_view *v, scratch *sc, int64_t id, int64_t from) {
    uint64_t slot = af_node_offset(id, v->items.first);
    if (slot >= (uint64_t)v->items.count) {
        sc->bad_from = from;
        sc->bad_id = id;
        return -1;
    }
    note_once(sc, slot, id);
    return 0;
}

/* Collect candidates from the trees; returns -1 on a damaged view. */
static int collect(const af_searcher *s, scratch *sc, const void *query, int64_t search_k) {
    const af_index_view *v = s->v;
    const int K = v->leaf_capacity;
    const af_traits *t = s->t;
    int64_t met = 0;
    sc->pq_size = 0;
    sc->n_cand = 0;
    /* In a sound forest every node is opened at most once per root that reaches it; a damaged
     * file whose children lead back up a tree would otherwise loop (and grow the queue) forever. */
    int64_t opens_left = v->n_roots + v->items.count;
    for (int r = 0; r < v->n_tree_ranges; r++)
        opens_left += v->trees[r].count;
    for (int64_t r = 0; r < v->n_roots; r++)
        if (pq_push(sc, s->t->pq_initial, v->roots[r]) < 0)
            return -2;
    while (met < search_k && sc->pq_size > 0) {
        pq_entry top = pq_pop(sc);
        if (opens_left-- <= 0) {
            sc->bad_from = top.id;
            return -3;
        }
        const unsigned char *node = af_index_node(v, top.id);
        if (!node) {
            sc->bad_from = -1;
            sc->bad_id = top.id;
            return -1;
        }
        int64_t nd = af_node_ndesc(t, node);
        if (nd == 1 && top.id < v->n_items) {
            if (grow((void **)&sc->cand, &sc->cand_cap, sc->n_cand + 1, sizeof *sc->cand) < 0)
                return -2;
            met++;
            if (add_candidate(v, sc, top.id, top.id) < 0)
                return -1;
        } else if (nd <= K) {
            if (nd > 0 &&
                grow((void **)&sc->cand, &sc->cand_cap, sc->n_cand + nd, sizeof *sc->cand) < 0)
                return -2;
            for (int64_t c = 0; c < nd; c++)
                if (add_candidate(v, sc, af_child_id(t, node, c), top.id) < 0)
                    return -1;
            met += nd > 0 ? nd : 0;
        } else {
            int64_t left = af_child_id(t, node, 0), right = af_child_id(t, node, 1);
            /* the children are read soon (the nearer one usually next): start fetching them */
            const unsigned char *cn[2] = {af_index_node(v, left), af_index_node(v, right)};
            for (int c = 0; c < 2; c++)
                if (cn[c])
                    for (size_t line = 0; line < v->node_size && line < 512; line += 64)
                        __builtin_prefetch(cn[c] + line);
            float margin = t->margin(t, node, query, v->dim, s->k);
            if (pq_push(sc, t->pq_distance(top.pri, margin, 1), right) < 0 ||
                pq_push(sc, t->pq_distance(top.pri, margin, 0), left) < 0)
                return -2;
        }
    }
    return 0;
}

/* The compact search's queue: one 64-bit key per entry, the priority's bits (mapped so that
 * integers order as the floats do) above the arena reference, so one comparison orders two
 * entries, and on equal priority the larger reference comes first. */
static inline uint64_t pq_key(float pri, af_compact_ref ref) {
    uint32_t bits;
    memcpy(&bits, &pri, sizeof bits);
    bits = bits & 0x80000000u ? ~bits : bits | 0x80000000u;
    return (uint64_t)bits << 32 | ref;
}

static inline float pq_key_pri(uint64_t key) {
    uint32_t bits = (uint32_t)(key >> 32);
    bits = bits & 0x80000000u ? bits & 0x7fffffffu : ~bits;
    float pri;
    memcpy(&pri, &bits, sizeof pri);
    return pri;
}

static int pq64_push(scratch *sc, uint64_t key) {
    if (grow((void **)&sc->pq64, &sc->pq64_cap, sc->pq_size + 1, sizeof *sc->pq64) < 0)
        return -1;
    uint64_t *h = sc->pq64;
    int64_t i = sc->pq_size++;
    while (i > 0 && h[(i - 1) / 2] < key) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = key;
    return 0;
}

static uint64_t pq64_pop(scratch *sc) {
    uint64_t *h = sc->pq64;
    uint64_t top = h[0], last = h[--sc->pq_size];
    int64_t i = 0, n = sc->pq_size;
    for (;;) {
        int64_t w = 2 * i + 1;
        if (w >= n)
            break;
        w += w + 1 < n && h[w + 1] > h[w];
        if (h[w] <= last)
            break;
        h[i] = h[w];
        i = w;
    }
    if (n > 0)
        h[i] = last;
    return top;
}

/* collect() over the compact copy (af_compact.h): the same best-first order on 8-bit planes,
 * candidates as slots. The copy was checked when built, so nothing here can be out of range. */
static int collect_compact(const af_searcher *s, scratch *sc, const float *query,
                           int64_t search_k) {
    const af_compact *cf = &s->cf;
    const af_traits *t = s->t;
    const int dim = cf->dim;
    const size_t split_bytes = sizeof(af_compact_split) + (size_t)dim;
    int64_t met = 0;
    sc->pq_size = 0;
    sc->n_cand = 0;
    for (int64_t r = 0; r < cf->n_roots; r++)
        if (pq64_push(sc, pq_key(t->pq_initial, cf->root_refs[r])) < 0)
            return -2;
    while (met < search_k && sc->pq_size > 0) {
        uint64_t top = pq64_pop(sc);
        af_compact_ref ref = (af_compact_ref)top;
        if (af_compact_is_leaf(ref)) {
            const af_compact_leaf *leaf = af_compact_at(cf, ref);
            if (grow((void **)&sc->cand, &sc->cand_cap, sc->n_cand + leaf->n_slot,
                     sizeof *sc->cand) < 0)
                return -2;
            for (int32_t c = 0; c < leaf->n_slot; c++)
                note_once(sc, leaf->slot[c], leaf->slot[c]);
            met += leaf->met;
            continue;
        }
        const af_compact_split *split = af_compact_at(cf, ref);
        /* the children are read soon (the nearer one usually next): start fetching them */
        for (int c = 0; c < 2; c++) {
            const unsigned char *child = af_compact_at(cf, split->child[c]);
            size_t bytes = af_compact_is_leaf(split->child[c])
                               ? sizeof(af_compact_leaf) + 64 * sizeof(uint32_t)
                               : split_bytes;
            for (size_t line = 0; line < bytes; line += 64)
                __builtin_prefetch(child + line);
        }
        for (int j = 0; j < dim; j++)
            sc->plane[j] = (float)split->plane[j];
        float margin = split->offset + split->scale * s->k->dot(sc->plane, query, dim);
        float pri = pq_key_pri(top);
        if (pq64_push(sc, pq_key(t->pq_distance(pri, margin, 1), split->child[1])) < 0 ||
            pq64_push(sc, pq_key(t->pq_distance(pri, margin, 0), split->child[0])) < 0)
            return -2;
    }
    return 0;
}

/* Clear the seen bits of the candidates (ids from `first` on, or slots from 0). */
static void forget_candidates(int64_t first, scratch *sc) {
    for (int64_t i = 0; i < sc->n_cand; i++) {
        uint64_t slot = (uint64_t)(sc->cand[i] - first);
        sc->seen[slot / 64] = 0;
    }
}

/* ---- ranking a block of queries together ----
 *
 * One query's candidates are rows scattered over the shard, and reading them one query at a
 * time is what the search waits on (a Fashion-MNIST row is 49 cache lines). So a run of many
 * queries goes in blocks, each small enough to stay in L2:
 *  - the run's queries are first ordered by the path they take down the first tree, so that a
 *    block holds queries from one region of the space, whose candidates are largely the same
 *    rows;
 *  - a block's queries are searched, and its (row, query) pairs sorted by tile of rows;
 *  - the distances are taken tile after tile, so the rows are read in address order, each once
 *    per block however many of its queries met it.
 * Each distance goes into its query's heap. A heap's content does not depend on the order of its
 * pushes (distinct ids, ordered by (distance, id)) and the pair kernels match the others to the
 * bit, so the answers are the same whatever the blocks. A call of fewer than BLOCK_MIN_QUERIES
 * makes each query a block of its own: its rows are still read in address order. */

enum {
    BLOCK_QUERY_BYTES = 1 << 20, /* a block's query vectors: L2-sized */
    BLOCK_MAX_QUERIES = 1 << 12,
    BLOCK_MIN_QUERIES = 32,     /* below it, a block per query */
    BLOCK_PAIRS = 1 << 17,      /* a block ends when it holds this many pairs */
    BLOCK_HEAP_BYTES = 1 << 20, /* the block's heaps (k entries each) */
    TILE_BYTES = 1 << 18,       /* rows read together */
    MAX_TILES = 1 << 16,        /* the counting sort's counters: 256 KiB */
};
#define PAIR_QUERY_BITS 12 /* a pair: row slot << PAIR_QUERY_BITS | query's place in its block */

typedef struct block_run {
    const unsigned char *queries;
    size_t row; /* bytes per query */
    const int64_t *exclude;
    int64_t search_k;
    int k;
    af_neighbor *out;
} block_run;

typedef struct path_key {
    uint64_t path; /* the sides taken down the first tree, first one highest */
    int64_t query;
} path_key;

/* Queries per block: their vectors fit BLOCK_QUERY_BYTES, their heaps (k, or rerank's `keep`
 * entries) BLOCK_HEAP_BYTES. */
static int64_t block_queries(const af_searcher *s, int k, int64_t keep) {
    size_t row = (size_t)s->v->dim * s->t->elem_size;
    int64_t g = (int64_t)(BLOCK_QUERY_BYTES / (row ? row : 1));
    int64_t entries = keep > k ? keep : k;
    int64_t by_heap = (int64_t)(BLOCK_HEAP_BYTES / ((size_t)entries * sizeof(af_keyed)));
    if (g > by_heap)
        g = by_heap;
    if (g > BLOCK_MAX_QUERIES)
        g = BLOCK_MAX_QUERIES;
    return g < 1 ? 1 : g;
}

/* The sides a query takes down the first tree (a damaged node ends the path: collect() will
 * report it). */
static uint64_t first_tree_path(const af_searcher *s, const void *query) {
    const af_index_view *v = s->v;
    uint64_t path = 0;
    int64_t id = v->n_roots > 0 ? v->roots[0] : -1;
    for (int depth = 0; depth < 64; depth++) {
        const unsigned char *node = id >= 0 ? af_index_node(v, id) : NULL;
        if (!node || af_node_ndesc(s->t, node) <= v->leaf_capacity)
            break;
        int side = s->t->margin(s->t, node, query, v->dim, s->k) > 0;
        path |= (uint64_t)side << (63 - depth);
        id = af_child_id(s->t, node, side);
    }
    return path;
}

static int by_path(const void *a, const void *b) {
    const path_key *x = a, *y = b;
    if (x->path != y->path)
        return x->path < y->path ? -1 : 1;
    return (x->query > y->query) - (x->query < y->query);
}

/* log2 of the rows per tile: TILE_BYTES of them, fewer than MAX_TILES tiles */
static int tile_shift(int64_t rows, size_t row_bytes) {
    int shift = 0;
    while (((size_t)2 << shift) * row_bytes <= TILE_BYTES)
        shift++;
    while ((rows >> shift) >= MAX_TILES)
        shift++;
    return shift;
}

/* Search the block's queries member[0..count) into pairs, until BLOCK_PAIRS; returns how many
 * were taken, or -1 - q on a failure at query q (rc: collect()'s code). */
static int64_t gather_pairs(const af_searcher *s, scratch *sc, const block_run *run,
                            const int64_t *member, int64_t count, int64_t *n_pairs, int *rc) {
    const int64_t first = s->v->items.first;
    int64_t n = 0, m = 0;
    for (; m < count && n < BLOCK_PAIRS; m++) {
        int64_t q = member[m];
        *rc = collect(s, sc, run->queries + (size_t)q * run->row, run->search_k);
        if (*rc == 0 &&
            grow((void **)&sc->pairs, &sc->pairs_cap, n + sc->n_cand, sizeof *sc->pairs) < 0)
            *rc = -2;
        if (*rc != 0) {
            forget_candidates(first, sc);
            return -1 - q;
        }
        int64_t ex = run->exclude ? run->exclude[q] : AF_NO_NEIGHBOR;
        for (int64_t i = 0; i < sc->n_cand; i++)
            if (sc->cand[i] != ex)
                sc->pairs[n++] =
                    af_node_offset(sc->cand[i], first) << PAIR_QUERY_BITS | (uint64_t)m;
        forget_candidates(first, sc);
    }
    *n_pairs = n;
    return m;
}

/* The n pairs by tile of their rows (a counting sort), rows of row_bytes from 0 to rows. */
static int sort_pairs(scratch *sc, int64_t n, int64_t rows, size_t row_bytes) {
    int shift = tile_shift(rows, row_bytes);
    int64_t tiles = rows > 0 ? ((rows - 1) >> shift) + 1 : 0;
    shift += PAIR_QUERY_BITS;
    if (grow((void **)&sc->tile_at, &sc->tile_cap, tiles + 1, sizeof *sc->tile_at) < 0 ||
        grow((void **)&sc->sorted, &sc->sorted_cap, n, sizeof *sc->sorted) < 0)
        return -2;
    memset(sc->tile_at, 0, (size_t)(tiles + 1) * sizeof *sc->tile_at);
    for (int64_t i = 0; i < n; i++)
        sc->tile_at[(sc->pairs[i] >> shift) + 1]++;
    for (int64_t t = 0; t < tiles; t++)
        sc->tile_at[t + 1] += sc->tile_at[t];
    for (int64_t i = 0; i < n; i++)
        sc->sorted[sc->tile_at[sc->pairs[i] >> shift]++] = sc->pairs[i];
    return 0;
}

/* The distances of the sorted pairs, four per kernel call, each into its query's heap. */
static void rank_pairs(const af_searcher *s, const scratch *sc, const block_run *run,
                       const int64_t *member, int64_t n, const float *q_sq, af_topk_heap *heaps) {
    const af_index_view *v = s->v;
    const size_t sz = v->node_size, off_v = s->t->off_vector;
    const int angular = v->metric == AF_ANGULAR;
    const double sign = s->t->larger_first ? -1.0 : 1.0;
    const unsigned char *items = v->items.base;
    const uint64_t place_mask = ((uint64_t)1 << PAIR_QUERY_BITS) - 1;
    const void *qv[4], *vec[4];
    float qs[4], item_sq[4];
    int64_t place[4], ids[4];
    int m = 0;
    enum { AHEAD = 8 };
    for (int64_t i = 0; i <= n; i++) {
        if (i + AHEAD < n) { /* the first lines of the row AHEAD pairs on */
            const unsigned char *next = items + (sc->sorted[i + AHEAD] >> PAIR_QUERY_BITS) * sz;
            for (size_t line = 0; line < sz && line < 256; line += 64)
                __builtin_prefetch(next + line);
        }
        if (i < n) {
            uint64_t slot = sc->sorted[i] >> PAIR_QUERY_BITS;
            const unsigned char *node = items + slot * sz;
            if (af_node_ndesc(s->t, node) == 1) { /* not a row left out of the index */
                place[m] = (int64_t)(sc->sorted[i] & place_mask);
                qv[m] = run->queries + (size_t)member[place[m]] * run->row;
                qs[m] = q_sq[place[m]];
                vec[m] = node + off_v;
                item_sq[m] = angular ? af_get_f32(node, s->t->off_scalar) : 0.0f;
                ids[m++] = v->items.first + (int64_t)slot;
            }
        }
        if (m == 4 || (i == n && m > 0)) {
            for (int j = m; j < 4; j++) { /* a short last group repeats its first */
                qv[j] = qv[0], qs[j] = qs[0];
                vec[j] = vec[0], item_sq[j] = item_sq[0];
            }
            double d[4];
            s->t->distance4(qv, qs, vec, item_sq, v->dim, s->k, d);
            for (int j = 0; j < m; j++)
                af_topk_heap_push(&heaps[place[j]], sign * d[j], ids[j]);
            m = 0;
        }
    }
}

/* The per-query arrays for a block of `count` queries; -1 when out of memory. */
static int block_arrays(scratch *sc, int64_t count) {
    if (count <= sc->block_cap)
        return 0;
    af_topk_heap *heap = realloc(sc->block_heap, (size_t)count * sizeof *heap);
    if (heap)
        sc->block_heap = heap;
    float *sq = realloc(sc->block_sq, (size_t)count * sizeof *sq);
    if (sq)
        sc->block_sq = sq;
    int64_t *raw = realloc(sc->block_raw, (size_t)count * sizeof *raw);
    if (raw)
        sc->block_raw = raw;
    if (!heap || !sq || !raw)
        return -1;
    sc->block_cap = count;
    return 0;
}

/* The exact distances of the n pairs (item slot, place) in sc->pairs into the top k of the
 * taken queries member[0..taken); -1 when out of memory. */
static int rank_exact(const af_searcher *s, scratch *sc, const block_run *run,
                      const int64_t *member, int64_t taken, int64_t n) {
    const af_index_view *v = s->v;
    const int k = run->k;
    if (grow((void **)&sc->heaps, &sc->heaps_cap, taken * k, sizeof *sc->heaps) < 0 ||
        sort_pairs(sc, n, v->items.count, v->node_size) < 0)
        return -1;
    af_topk_heap *heaps = sc->block_heap;
    for (int64_t m = 0; m < taken; m++) {
        const void *query = run->queries + (size_t)member[m] * run->row;
        sc->block_sq[m] = v->metric == AF_ANGULAR ? s->k->dot(query, query, v->dim) : 0.0f;
        af_topk_heap_reset(&heaps[m], sc->heaps + m * k, k);
    }
    rank_pairs(s, sc, run, member, n, sc->block_sq, heaps);
    for (int64_t m = 0; m < taken; m++)
        af_topk_heap_drain(&heaps[m], run->out + member[m] * k, k, s->t->larger_first ? -1.0 : 1.0);
    return 0;
}

/* The queries member[0..count) (at most BLOCK_MAX_QUERIES) ranked together, in as many blocks
 * as BLOCK_PAIRS needs; returns 0, or -1 - q on a failure at query q (rc: its code). */
static int64_t search_block(const af_searcher *s, scratch *sc, const block_run *run,
                            const int64_t *member, int64_t count, int *rc) {
    if (block_arrays(sc, count) < 0) {
        *rc = -2;
        return -1 - member[0];
    }
    while (count > 0) {
        int64_t n = 0;
        int64_t taken = gather_pairs(s, sc, run, member, count, &n, rc);
        if (taken < 0)
            return taken;
        if (rank_exact(s, sc, run, member, taken, n) < 0) {
            *rc = -2;
            return -1 - member[0];
        }
        member += taken;
        count -= taken;
    }
    return 0;
}

/* ---- rerank, grouped ----
 *
 * Two passes, for a block of queries at a time: the block's candidates sorted by code slot
 * (codes sit by slot, in the first tree's leaf order) for the 8-bit pass, then the kept ones by
 * row for the exact distances (rank_exact). Per query, the first pass keeps every usable
 * candidate when the query met at most `keep` (the exact pass would rank them all anyway), else
 * the `keep` smallest (code distance, slot), the ones at the limit distance settled by id. None
 * of it depends on the order of the pairs. */

typedef struct tie_entry {
    int64_t place, id;
} tie_entry;

static int by_place_id(const void *a, const void *b) {
    const tie_entry *x = a, *y = b;
    if (x->place != y->place)
        return x->place < y->place ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* The block's queries through collect_compact into (slot, place) pairs of usable candidates,
 * raw[m] = all the candidates query m met (usable or not); as gather_pairs. */
static int64_t gather_slot_pairs(const af_searcher *s, scratch *sc, const block_run *run,
                                 const int64_t *member, int64_t count, int64_t *raw,
                                 int64_t *n_pairs, int *rc) {
    const af_compact *cf = &s->cf;
    int64_t n = 0, m = 0;
    for (; m < count && n < BLOCK_PAIRS; m++) {
        int64_t q = member[m];
        *rc = collect_compact(s, sc, (const float *)(run->queries + (size_t)q * run->row),
                              run->search_k);
        if (*rc == 0 &&
            grow((void **)&sc->pairs, &sc->pairs_cap, n + sc->n_cand, sizeof *sc->pairs) < 0)
            *rc = -2;
        if (*rc != 0) {
            forget_candidates(0, sc);
            return -1 - q;
        }
        int64_t exclude = run->exclude ? run->exclude[q] : AF_NO_NEIGHBOR;
        uint64_t ex_at = af_node_offset(exclude, s->v->items.first);
        int64_t ex = exclude >= 0 && ex_at < (uint64_t)cf->n_slots ? cf->slot_of[ex_at] : -1;
        raw[m] = sc->n_cand;
        for (int64_t i = 0; i < sc->n_cand; i++)
            if (af_codes_valid(&cf->codes, sc->cand[i]) && sc->cand[i] != ex)
                sc->pairs[n++] = (uint64_t)sc->cand[i] << PAIR_QUERY_BITS | (uint64_t)m;
        forget_candidates(0, sc);
    }
    *n_pairs = n;
    return m;
}

/* The first pass over the n sorted (slot, place) pairs: code distances into sc->pdist and each
 * query's heap of `keep` (raw[m] > keep only). */
static void code_distances(const af_searcher *s, scratch *sc, int64_t n, const int64_t *raw,
                           int64_t keep, af_topk_heap *near) {
    const af_codes *c = &s->cf.codes;
    uint64_t (*dist)(const uint8_t *, const uint8_t *, int) =
        s->v->metric == AF_MANHATTAN ? s->k->l1_u8 : s->k->l2sq_u8;
    const uint64_t place_mask = ((uint64_t)1 << PAIR_QUERY_BITS) - 1;
    enum { AHEAD = 8 };
    for (int64_t i = 0; i < n; i++) {
        if (i + AHEAD < n) { /* the code AHEAD pairs on */
            const uint8_t *next =
                af_codes_of(c, (int64_t)(sc->sorted[i + AHEAD] >> PAIR_QUERY_BITS));
            for (int line = 0; line < c->dim; line += 64)
                __builtin_prefetch(next + line);
        }
        int64_t slot = (int64_t)(sc->sorted[i] >> PAIR_QUERY_BITS);
        int64_t m = (int64_t)(sc->sorted[i] & place_mask);
        double d =
            (double)dist(af_codes_of(c, slot), sc->qcodes + (size_t)m * (size_t)c->dim, c->dim);
        sc->pdist[i] = d;
        if (raw[m] > keep && af_topk_heap_accepts(&near[m], d, slot))
            af_topk_heap_push(&near[m], d, slot);
    }
}

/* The kept candidates of the taken queries as (item slot, place) pairs in sc->pairs; returns
 * how many, or -1 when out of memory. */
static int64_t kept_pairs(const af_searcher *s, scratch *sc, int64_t n, const int64_t *raw,
                          int64_t keep, const af_topk_heap *near) {
    const af_compact *cf = &s->cf;
    const int64_t first = s->v->items.first;
    const uint64_t place_mask = ((uint64_t)1 << PAIR_QUERY_BITS) - 1;
    int64_t out = 0, n_tie = 0; /* at most the n gathered pairs: sc->pairs holds them */
    /* a query with at most `keep` candidates, or fewer usable ones: all of them; else those
     * below its limit, and the ones at it kept aside */
    for (int64_t i = 0; i < n; i++) {
        int64_t slot = (int64_t)(sc->sorted[i] >> PAIR_QUERY_BITS);
        int64_t m = (int64_t)(sc->sorted[i] & place_mask);
        int all = raw[m] <= keep || near[m].size < keep;
        double limit = all ? 0 : near[m].e[0].key;
        if (all || sc->pdist[i] < limit) {
            sc->pairs[out++] =
                af_node_offset(cf->id_of[slot], first) << PAIR_QUERY_BITS | (uint64_t)m;
        } else if (sc->pdist[i] == limit) {
            if (grow((void **)&sc->ties, &sc->ties_cap, n_tie + 1, sizeof *sc->ties) < 0)
                return -1;
            sc->ties[n_tie++] = (tie_entry){m, cf->id_of[slot]};
        }
    }
    /* each query's ties by id, the smallest filling what is left of its `keep` */
    if (n_tie > 1)
        qsort(sc->ties, (size_t)n_tie, sizeof *sc->ties, by_place_id);
    for (int64_t i = 0; i < n_tie;) {
        int64_t m = sc->ties[i].place, below = near[m].size, at = 0;
        for (int j = 0; j < near[m].size; j++)
            below -= near[m].e[j].key == near[m].e[0].key;
        for (; i < n_tie && sc->ties[i].place == m; i++)
            if (below + at++ < keep)
                sc->pairs[out++] =
                    af_node_offset(sc->ties[i].id, first) << PAIR_QUERY_BITS | (uint64_t)m;
    }
    return out;
}

/* search_block with rerank `keep`. */
static int64_t rerank_block(const af_searcher *s, scratch *sc, const block_run *run,
                            const int64_t *member, int64_t count, int64_t keep, int *rc) {
    const af_codes *c = &s->cf.codes;
    if (block_arrays(sc, count) < 0) {
        *rc = -2;
        return -1 - member[0];
    }
    af_topk_heap *near = sc->block_heap;
    while (count > 0) {
        int64_t n = 0;
        int64_t taken = gather_slot_pairs(s, sc, run, member, count, sc->block_raw, &n, rc);
        if (taken < 0)
            return taken;
        int64_t heaps = 0; /* only a query that met more than `keep` needs one */
        for (int64_t m = 0; m < taken; m++)
            heaps += sc->block_raw[m] > keep;
        int failed = grow((void **)&sc->qcodes, &sc->qcodes_cap, taken * c->dim, 1) < 0 ||
                     grow((void **)&sc->near_all, &sc->near_all_cap, heaps * keep,
                          sizeof *sc->near_all) < 0 ||
                     grow((void **)&sc->pdist, &sc->pdist_cap, n, sizeof *sc->pdist) < 0 ||
                     sort_pairs(sc, n, s->cf.n_slots, (size_t)c->dim) < 0;
        int64_t n_kept = -1;
        if (!failed) {
            af_keyed *next = sc->near_all;
            for (int64_t m = 0; m < taken; m++) {
                af_codes_encode(c, (const float *)(run->queries + (size_t)member[m] * run->row),
                                sc->qcodes + (size_t)m * (size_t)c->dim);
                int big = sc->block_raw[m] > keep;
                af_topk_heap_reset(&near[m], big ? next : NULL, big ? (int)keep : 0);
                next += big ? keep : 0;
            }
            code_distances(s, sc, n, sc->block_raw, keep, near);
            n_kept = kept_pairs(s, sc, n, sc->block_raw, keep, near);
        }
        if (n_kept < 0 || rank_exact(s, sc, run, member, taken, n_kept) < 0) {
            *rc = -2;
            return -1 - member[0];
        }
        member += taken;
        count -= taken;
    }
    return 0;
}

/* The run's queries by their path down the first tree (see above), into order[0..n_query). */
static int order_by_path(const af_searcher *s, const block_run *run, int64_t n_query,
                         int64_t *order) {
    path_key *keys = malloc((size_t)n_query * sizeof *keys);
    if (!keys)
        return -1;
#pragma omp parallel for num_threads(s->threads) schedule(static)
    for (int64_t q = 0; q < n_query; q++)
        keys[q] = (path_key){first_tree_path(s, run->queries + (size_t)q * run->row), q};
    qsort(keys, (size_t)n_query, sizeof *keys, by_path);
    for (int64_t q = 0; q < n_query; q++)
        order[q] = keys[q].query;
    free(keys);
    return 0;
}

/* The compact copy for the view (once) and each thread's plane for its descent. */
static int prepare_rerank(af_searcher *s, int64_t rerank, af_error *err) {
    if (s->v->metric != AF_EUCLIDEAN && s->v->metric != AF_MANHATTAN)
        return af_fail(err, AF_E_CONFIG,
                       "search: rerank applies to euclidean and manhattan indexes, not %s",
                       af_metric_name(s->v->metric));
    if (rerank > INT32_MAX)
        return af_fail(err, AF_E_CONFIG, "search: rerank %lld is too large", (long long)rerank);
    if (!s->has_compact) {
        if (af_compact_build(&s->cf, s->v, err) != 0)
            return -1;
        s->has_compact = 1;
    }
    for (int i = 0; i < s->threads; i++)
        if (!s->sc[i].plane && !(s->sc[i].plane = malloc((size_t)s->v->dim * sizeof(float))))
            return af_fail(err, AF_E_INTERNAL, "search: out of memory for rerank %lld",
                           (long long)rerank);
    return 0;
}

int af_searcher_run(af_searcher *s, const void *queries, int64_t n_query, const af_search_params *p,
                    const int64_t *exclude, af_neighbor *out, af_error *err) {
    if (p->k < 1)
        return af_fail(err, AF_E_CONFIG, "search: k must be at least 1, not %d", p->k);
    int k = p->k;
    int64_t search_k = p->search_k > 0 ? p->search_k : s->v->n_roots * k;
    size_t row = (size_t)s->v->dim * s->t->elem_size;
    if (p->rerank > 0 && prepare_rerank(s, p->rerank, err) != 0)
        return -1;
    /* A pair holds its row's slot above PAIR_QUERY_BITS bits: 2^50 items would be petabytes of
     * nodes, more than any mapping holds. */
    if (s->v->items.count >= ((int64_t)1 << (62 - PAIR_QUERY_BITS)))
        return af_fail(err, AF_E_INPUT, "search: %lld items in one view, more than 2^%d",
                       (long long)s->v->items.count, 62 - PAIR_QUERY_BITS);
    if (n_query <= 0)
        return 0;
    int failed = 0;
    int64_t bad_query = -1, bad_from = -1, bad_id = -1;
    /* Queries go in blocks whose rows (or codes) are read together (search_block,
     * rerank_block): many, ordered by their paths; a few, each a block of its own. */
    int64_t unit = 1, *order = malloc((size_t)n_query * sizeof *order);
    block_run run = {queries, row, exclude, search_k, k, out};
    if (order && n_query >= BLOCK_MIN_QUERIES) {
        if (order_by_path(s, &run, n_query, order) != 0) {
            free(order);
            order = NULL;
        }
        unit = block_queries(s, k, p->rerank);
    } else if (order) {
        for (int64_t q = 0; q < n_query; q++)
            order[q] = q;
    }
    if (!order)
        return af_fail(err, AF_E_INTERNAL, "search: out of memory for %lld queries",
                       (long long)n_query);
    int64_t n_units = (n_query + unit - 1) / unit;
#pragma omp parallel num_threads(s->threads)
    {
        scratch *sc = &s->sc[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 1)
        for (int64_t u = 0; u < n_units; u++) {
            int64_t q0 = u * unit, n = q0 + unit < n_query ? unit : n_query - q0;
            int rc = 0;
            int64_t at = p->rerank > 0 ? rerank_block(s, sc, &run, order + q0, n, p->rerank, &rc)
                                       : search_block(s, sc, &run, order + q0, n, &rc);
            int64_t q = at < 0 ? -1 - at : q0;
            if (rc < 0) {
#pragma omp critical(af_search_failure)
                if (!failed || q < bad_query) {
                    failed = rc;
                    bad_query = q;
                    bad_from = rc == -1 || rc == -3 ? sc->bad_from : -1;
                    bad_id = rc == -1 ? sc->bad_id : -1;
                }
            }
        }
    }
    free(order);
    if (failed == -2)
        return af_fail(err, AF_E_INTERNAL, "search: out of memory (query %lld)",
                       (long long)bad_query);
    if (failed == -3)
        return af_index_fail_loop(err, bad_from);
    if (failed)
        return af_index_fail_missing(err, bad_from, bad_id);
    return 0;
}

int af_search(const af_index_view *v, const void *queries, int64_t n_query,
              const af_search_params *p, const int64_t *exclude, int threads, af_neighbor *out,
              af_error *err) {
    af_searcher *s = af_searcher_create(v, threads, err);
    if (!s)
        return -1;
    int rc = af_searcher_run(s, queries, n_query, p, exclude, out, err);
    af_searcher_free(s);
    return rc;
}
