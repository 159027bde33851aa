/* af_kiss: per-tree and per-node seeds. */
#include "af_kiss.h"

static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t af_tree_seed(uint64_t seed, int64_t shard, int64_t tree) {
    /* Chain the three through splitmix64 so each input changes every bit of the result. */
    uint64_t h = splitmix64(seed);
    h = splitmix64(h ^ (uint64_t)shard);
    h = splitmix64(h ^ (uint64_t)tree);
    return h ? h : AF_KISS64_DEFAULT_SEED;
}

uint64_t af_child_seed(uint64_t node_seed, int side) {
    uint64_t h = splitmix64(node_seed ^ (side ? 0x5851f42d4c957f2dULL : 0x14057b7ef767814fULL));
    return h ? h : AF_KISS64_DEFAULT_SEED;
}
