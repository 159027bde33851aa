/* af_metric: names, node layouts and item nodes of the metrics. */
#include "af_metric.h"

#include <math.h>
#include <string.h>

#include "af_traits.h"

int af_metric_parse(const char *name, af_metric *out) {
    for (int m = 0; m < AF_METRIC_COUNT; m++)
        if (name && strcmp(name, af_traits_of((af_metric)m)->name) == 0) {
            *out = (af_metric)m;
            return 0;
        }
    return -1;
}

const char *af_metric_name(af_metric m) {
    const af_traits *t = af_traits_of(m);
    return t ? t->name : "unknown";
}

int af_metric_larger_first(af_metric m) {
    return af_traits_of(m)->larger_first;
}

size_t af_metric_elem_size(af_metric m) {
    return af_traits_of(m)->elem_size;
}

int64_t af_node_id_max(af_node_format f) {
    return f == AF_NODES_WIDE ? INT64_MAX : AF_NODE_ID_MAX;
}

const char *af_node_format_name(af_node_format f) {
    return f == AF_NODES_WIDE ? "annoy-int64" : "annoy-int32";
}

int af_node_format_parse(const char *name, af_node_format *out) {
    for (int f = AF_NODES_NARROW; f <= AF_NODES_WIDE; f++)
        if (name && strcmp(name, af_node_format_name((af_node_format)f)) == 0) {
            *out = (af_node_format)f;
            return 0;
        }
    return -1;
}

size_t af_node_size(af_metric m, af_node_format f, int dim) {
    return af_traits_node_size(af_traits_get(m, f), dim);
}

int af_leaf_capacity(af_metric m, af_node_format f, int dim) {
    return af_traits_leaf_capacity(af_traits_get(m, f), dim);
}

int64_t af_node_n_descendants(af_metric m, af_node_format f, const void *node) {
    return af_node_ndesc(af_traits_get(m, f), node);
}

int64_t af_node_child(af_metric m, af_node_format f, const void *node, int i) {
    return af_child_id(af_traits_get(m, f), node, i);
}

const void *af_node_vector(af_metric m, af_node_format f, const void *node) {
    return (const unsigned char *)node + af_traits_get(m, f)->off_vector;
}

double af_block_max_norm(af_metric m, int dim, const void *vectors, int64_t n) {
    if (m == AF_HAMMING)
        return 0.0;
    const af_kernels *k = af_kernels_best();
    const float *v = vectors;
    float best = 0.0f;
    for (int64_t i = 0; i < n; i++, v += dim) {
        float sq = k->dot(v, v, dim);
        float norm = sq < 0 ? 0.0f : sqrtf(sq);
        if (norm > best)
            best = norm;
    }
    return best;
}

void af_item_node_init(af_metric m, af_node_format f, int dim, const void *vec, void *node_out,
                       double dot_max_norm) {
    const af_traits *t = af_traits_get(m, f);
    t->item_init(t, dim, vec, node_out, (float)dot_max_norm, af_kernels_best());
}

void af_item_nodes_fill(af_metric m, af_node_format f, int dim, const void *vectors, int64_t n,
                        const unsigned char *skip, void *nodes_out, double dot_max_norm) {
    const af_traits *t = af_traits_get(m, f);
    const af_kernels *k = af_kernels_best();
    size_t s = af_traits_node_size(t, dim), row = (size_t)dim * t->elem_size;
    /* every node on its own: OpenMP's threads (the job's) share the rows, the bytes are the same */
#pragma omp parallel for schedule(static) if (n >= 4096)
    for (int64_t i = 0; i < n; i++) {
        unsigned char *node = (unsigned char *)nodes_out + (size_t)i * s;
        if (skip && skip[i])
            memset(node, 0, s);
        else
            t->item_init(t, dim, (const unsigned char *)vectors + (size_t)i * row, node,
                         (float)dot_max_norm, k);
    }
}

double af_distance(af_metric m, int dim, const void *a, const void *b) {
    return af_traits_of(m)->distance(a, 0.0f, b, 0.0f, dim, af_kernels_best());
}
