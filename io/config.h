/* The job config: an INI file (parsed with libinih) plus `--set section.key=value` overrides,
 * validated key by key into plain data (docs/config.md lists every key).
 *
 * af_config holds no pointers, only fixed-size arrays and scalars, so rank 0 can load it and
 * MPI_Bcast it as raw bytes. Each key also records where its value came from (the file and its
 * line, a --set, or the default) so that later checks can name the file, line and key too. */
#ifndef AF_CONFIG_H
#define AF_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "af_error.h"

#define AF_CONFIG_PATH_MAX PATH_MAX /* bytes for a path, with its NUL */
#define AF_CONFIG_NAME_MAX 128      /* bytes for job.name, with its NUL */
#define AF_CONFIG_LIST_MAX 256      /* bytes for a list of integers ("10,25,50"), with its NUL */

typedef enum af_config_metric {
    AF_CONFIG_METRIC_EUCLIDEAN,
    AF_CONFIG_METRIC_ANGULAR,
    AF_CONFIG_METRIC_MANHATTAN,
    AF_CONFIG_METRIC_DOT,
    AF_CONFIG_METRIC_HAMMING
} af_config_metric;

typedef enum af_config_na { AF_CONFIG_NA_ERROR, AF_CONFIG_NA_SKIP } af_config_na;
typedef enum af_config_load_mode { AF_CONFIG_LOAD_LAZY, AF_CONFIG_LOAD_EAGER } af_config_load_mode;

/* Node-id width of the index: auto = narrow (int32, Annoy's own) when the matrix fits. */
typedef enum af_config_format {
    AF_CONFIG_FORMAT_AUTO,
    AF_CONFIG_FORMAT_NARROW,
    AF_CONFIG_FORMAT_WIDE
} af_config_format;

typedef enum af_config_order { AF_CONFIG_ORDER_COLUMN, AF_CONFIG_ORDER_ROW } af_config_order;

typedef enum af_config_existing {
    AF_CONFIG_EXISTING_ERROR,
    AF_CONFIG_EXISTING_OVERWRITE,
    AF_CONFIG_EXISTING_INTO
} af_config_existing;

/* Every key, in the stable order of the effective INI. */
typedef enum af_config_key {
    AF_CFG_JOB_NAME,
    AF_CFG_JOB_SEED,
    AF_CFG_JOB_THREADS,
    AF_CFG_REFERENCE_PATH,
    AF_CFG_REFERENCE_NA,
    AF_CFG_INDEX_PATH,
    AF_CFG_INDEX_METRIC,
    AF_CFG_INDEX_TREES,
    AF_CFG_INDEX_SHARDS,
    AF_CFG_INDEX_LEAF_SIZE,
    AF_CFG_INDEX_FORMAT,
    AF_CFG_INDEX_LOAD,
    AF_CFG_INDEX_PREFAULT,
    AF_CFG_INDEX_MD5,
    AF_CFG_QUERY_PATH,
    AF_CFG_QUERY_K,
    AF_CFG_QUERY_SEARCH_K,
    AF_CFG_QUERY_BATCH,
    AF_CFG_QUERY_EXCLUDE_SELF,
    AF_CFG_QUERY_RERANK,
    AF_CFG_OUTPUT_INDEX,
    AF_CFG_OUTPUT_DISTANCE,
    AF_CFG_OUTPUT_ORDER,
    AF_CFG_OUTPUT_BASE,
    AF_CFG_OUTPUT_EXISTING,
    AF_CFG_BENCH_TREES,
    AF_CFG_BENCH_SEARCH_K,
    AF_CFG_BENCH_SHARDS,
    AF_CFG_BENCH_REPEAT,
    AF_CFG_BENCH_OUT,
    AF_CFG_BENCH_PLOT,
    AF_CFG_BENCH_PEER,
    AF_CFG_BENCH_TRUTH,
    AF_CFG_BENCH_WORK,
    AF_CFG_BENCH_DATASET,
    AF_CFG_BENCH_LABEL,
    AF_CFG_KEY_COUNT
} af_config_key;

/* Where a key's value came from. */
typedef enum af_config_from {
    AF_FROM_DEFAULT = 0,
    AF_FROM_FILE = 1,    /* origin.line holds its line */
    AF_FROM_OVERRIDE = 2 /* a --set */
} af_config_from;

typedef struct af_config_origin {
    int32_t from; /* af_config_from */
    int32_t line; /* 1-based line in the file when from == AF_FROM_FILE, else 0 */
} af_config_origin;

typedef struct af_config {
    char file[AF_CONFIG_PATH_MAX]; /* the config file as given ("" when none) */
    struct {
        char name[AF_CONFIG_NAME_MAX]; /* default: the config file's name without extension */
        uint64_t seed;                 /* default 42 */
        int32_t threads;               /* default 0 = OMP_NUM_THREADS / Slurm / all cores */
    } job;
    struct {
        char path[AF_CONFIG_PATH_MAX]; /* "" = not set */
        af_config_na na;               /* default error */
    } reference;
    struct {
        char path[AF_CONFIG_PATH_MAX]; /* "" = not set */
        af_config_metric metric;       /* default euclidean */
        int32_t trees;                 /* per shard, >= 1, default 50 */
        int32_t shards;                /* 0 = one per rank (default) */
        int32_t leaf_size;             /* 0 = Annoy's default for the metric (default) */
        af_config_format format;       /* default auto */
        af_config_load_mode load;      /* default lazy */
        bool prefault;                 /* default false */
        bool md5;                      /* file_md5 in the metadata; default true */
    } index;
    struct {
        char path[AF_CONFIG_PATH_MAX]; /* "" = not set; "self" = the reference itself */
        bool self;                     /* path is "self" */
        int32_t k;                     /* >= 1, default 10 */
        int64_t search_k;              /* -1 (default) = total trees * k, else >= 1 */
        int32_t batch;                 /* >= 1, default 4096 */
        bool exclude_self;             /* default true; only meaningful with self */
        int64_t rerank;                /* 0 (default) = off, else >= k: 8-bit first pass */
    } query;
    struct {
        char index[AF_CONFIG_PATH_MAX];    /* "" = not set */
        char distance[AF_CONFIG_PATH_MAX]; /* "" = distances not written (default) */
        af_config_order order;             /* default column */
        int32_t base;                      /* 0 or 1, default 1 */
        af_config_existing existing;       /* default error */
    } output;
    struct {                               /* `annforest bench` only (docs/bench.md) */
        char trees[AF_CONFIG_LIST_MAX];    /* list of trees per shard; "" = index.trees */
        char search_k[AF_CONFIG_LIST_MAX]; /* list of search_k (-1 allowed); default "-1" */
        char shards[AF_CONFIG_LIST_MAX];   /* list of shard counts; "" = index.shards */
        int32_t repeat;                    /* search passes per point, best kept; default 1 */
        char out[AF_CONFIG_PATH_MAX];      /* the CSV; required by bench */
        char plot[AF_CONFIG_PATH_MAX];     /* PNG; "" = none */
        char peer[AF_CONFIG_PATH_MAX];     /* a peer's CSV drawn on the same plot; "" = none */
        char truth[AF_CONFIG_PATH_MAX];    /* truth cache directory; "" = out's directory */
        char work[AF_CONFIG_PATH_MAX];     /* indexes and results of the sweep; "" = OUT.work */
        char dataset[AF_CONFIG_PATH_MAX];  /* an ann-benchmarks HDF5 file; "" = none */
        char label[AF_CONFIG_NAME_MAX];    /* the curve's name; default "annforest" */
    } bench;
    af_config_origin origin[AF_CFG_KEY_COUNT];
} af_config;

/* What a command needs from the config (or them together: run = BUILD | QUERY):
 *   BUILD  reference.path, index.path
 *   QUERY  index.path, query.path, output.index (+ reference.path when query.path = self)
 *   EXACT  reference.path, query.path, output.index
 *   BENCH  bench.out, and reference.path + query.path unless bench.dataset names both */
enum { AF_NEED_BUILD = 1u, AF_NEED_QUERY = 2u, AF_NEED_EXACT = 4u, AF_NEED_BENCH = 8u };

/* All defaults; job.name "annforest", every origin AF_FROM_DEFAULT. */
void af_config_defaults(af_config *cfg);

/* Load `path` over the defaults, then apply the overrides ("section.key=value", in order; a
 * later one wins). Every value is validated; the first problem fails with AF_E_CONFIG and a
 * message naming "FILE:LINE: [section] key" or "--set section.key". Relative paths in the
 * config are kept as written: they are relative to the job's working directory. */
int af_config_load(const char *path, const char *const *overrides, int n_overrides, af_config *cfg,
                   af_error *err);

/* Apply one "section.key=value" override (what af_config_load does for each --set). */
int af_config_apply_override(af_config *cfg, const char *assignment, af_error *err);

/* Check that the keys the command needs are set (AF_E_CONFIG naming file and key if not). */
int af_config_require(const af_config *cfg, unsigned needs, af_error *err);

/* The effective config as INI text: every key in a stable order, each annotated with where
 * it came from. Loading it again gives the same settings. malloc'd; NULL when out of memory. */
char *af_config_effective_ini(const af_config *cfg);

/* A stable digest of the keys that determine the index bytes: reference.path (as written),
 * reference.na, index.metric, trees, shards, leaf_size, format and job.seed. */
uint64_t af_config_build_hash(const af_config *cfg);

/* Fail (AF_E_CONFIG) about one key's current value, located like a load error, e.g.
 * "job.ini:9: [index] leaf_size = '5000': more than 4096 for hamming". Returns -1. */
int af_config_fail_key(const af_config *cfg, af_config_key key, af_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The integers of a list key's text ("10, 25,50"; validated when loaded) into out[0..cap):
 * returns how many there are (at most cap), 0 for an empty list. */
int af_config_int_list(const char *text, int64_t *out, int cap);

/* "index.trees" */
const char *af_config_key_name(af_config_key key);

/* The names used in the INI file ("euclidean", "skip", ...). */
const char *af_config_metric_name(af_config_metric metric);
const char *af_config_na_name(af_config_na na);
const char *af_config_load_mode_name(af_config_load_mode load);
const char *af_config_format_name(af_config_format format);
const char *af_config_order_name(af_config_order order);
const char *af_config_existing_name(af_config_existing existing);

#endif
