/* af_topk: merging sorted top-k lists. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "af_neighbor.h"

void af_topk_clear(af_neighbor *list, int k) {
    for (int i = 0; i < k; i++) {
        list[i].id = AF_NO_NEIGHBOR;
        list[i].dist = NAN;
    }
}

void af_topk_merge(const af_neighbor *a, const af_neighbor *b, int k, int larger_first,
                   af_neighbor *out) {
    int i = 0, j = 0, n = 0;
    while (n < k) {
        int a_ok = i < k && a[i].id >= 0, b_ok = j < k && b[j].id >= 0;
        if (!a_ok && !b_ok)
            break;
        const af_neighbor *pick;
        if (a_ok && (!b_ok || !af_neighbor_before(&b[j], &a[i], larger_first)))
            pick = &a[i++];
        else
            pick = &b[j++];
        /* the same row from both lists sits next to itself in the merged order */
        if (n > 0 && out[n - 1].id == pick->id)
            continue;
        out[n++] = *pick;
    }
    af_topk_clear(out + n, k - n);
}

int af_topk_merge_rows(const af_neighbor *in, af_neighbor *inout, int64_t rows, int k,
                       int larger_first) {
    af_neighbor stack[256];
    af_neighbor *tmp = k <= 256 ? stack : malloc((size_t)k * sizeof *tmp);
    if (!tmp)
        return -1;
    for (int64_t r = 0; r < rows; r++) {
        af_topk_merge(in + r * k, inout + r * k, k, larger_first, tmp);
        memcpy(inout + r * k, tmp, (size_t)k * sizeof *tmp);
    }
    if (tmp != stack)
        free(tmp);
    return 0;
}
