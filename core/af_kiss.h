/* af_kiss: Annoy's Kiss64Random, bit for bit, so that a seed means the same thing here as in
 * Annoy, plus the mixing that gives every tree its own seed. */
#ifndef AF_KISS_H
#define AF_KISS_H

#include <stdint.h>

#define AF_KISS64_DEFAULT_SEED 1234567890987654321ULL

typedef struct af_kiss64 {
    uint64_t x, y, z, c;
} af_kiss64;

/* seed must not be 0 (Annoy's rule); af_tree_seed never returns 0. */
static inline void af_kiss64_seed(af_kiss64 *r, uint64_t seed) {
    r->x = seed;
    r->y = 362436362436362436ULL;
    r->z = 1066149217761810ULL;
    r->c = 123456123456123456ULL;
}

static inline uint64_t af_kiss64_next(af_kiss64 *r) {
    r->z = 6906969069ULL * r->z + 1234567ULL; /* linear congruence */
    r->y ^= r->y << 13;                       /* xorshift */
    r->y ^= r->y >> 17;
    r->y ^= r->y << 43;
    uint64_t t = (r->x << 58) + r->c; /* multiply-with-carry by 2^58 + 1 */
    r->c = r->x >> 6;
    r->x += t;
    r->c += (r->x < t);
    return r->x + r->y + r->z;
}

static inline int af_kiss64_flip(af_kiss64 *r) {
    return (int)(af_kiss64_next(r) & 1);
}

/* 0 .. n-1 (n > 0), as Annoy's index(): next() % n. */
static inline uint64_t af_kiss64_index(af_kiss64 *r, uint64_t n) {
    return af_kiss64_next(r) % n;
}

/* The Kiss64 seed of tree `tree` of shard `shard` under the job seed: the three mixed with
 * splitmix64 so that neighbouring trees and shards get unrelated streams. Never 0. */
uint64_t af_tree_seed(uint64_t seed, int64_t shard, int64_t tree);

/* The seed of a split node's child on `side` (0 or 1), from the node's own seed. Every node of a
 * tree draws from its own stream, so the trees do not depend on the order nodes are built in
 * (depth first, or level by level for many trees at once). Never 0. */
uint64_t af_child_seed(uint64_t node_seed, int side);

#endif
