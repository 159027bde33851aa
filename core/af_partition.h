/* Balanced contiguous partitions: n items into `parts` blocks whose sizes differ by at most
 * one, the first n % parts blocks taking the extra item. Every layer that splits rows, shards
 * or trees uses these so that all ranks agree on who owns what without talking. */
#ifndef AF_PARTITION_H
#define AF_PARTITION_H

#include <stdint.h>

/* First item of block i (0 <= i <= parts; block `parts` starts at n). */
static inline int64_t af_block_start(int64_t n, int64_t parts, int64_t i) {
    int64_t base = n / parts, extra = n % parts;
    return i * base + (i < extra ? i : extra);
}

static inline int64_t af_block_size(int64_t n, int64_t parts, int64_t i) {
    return af_block_start(n, parts, i + 1) - af_block_start(n, parts, i);
}

/* The block that holds item `item`. */
static inline int64_t af_block_of(int64_t n, int64_t parts, int64_t item) {
    int64_t base = n / parts, extra = n % parts;
    int64_t cut = extra * (base + 1); /* items before this sit in the larger blocks */
    if (item < cut)
        return item / (base + 1);
    return extra + (item - cut) / base;
}

#endif
