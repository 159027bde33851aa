/* The config's keys: one table row per key says its section, name, type, range, choices and
 * default, so parsing, validation, defaults and the effective INI all follow the same facts. */
#include "config_keys.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const metric_names[] = {"euclidean", "angular", "manhattan",
                                           "dot",       "hamming", NULL};
static const char *const na_names[] = {"error", "skip", NULL};
static const char *const load_names[] = {"lazy", "eager", NULL};
static const char *const format_names[] = {"auto", "narrow", "wide", NULL};
static const char *const order_names[] = {"column", "row", NULL};
static const char *const existing_names[] = {"error", "overwrite", "into", NULL};

const char *const af_config_sections[] = {"job",    "reference", "index", "query",
                                          "output", "bench",     NULL};

/* Enum fields are written through an int pointer. */
_Static_assert(sizeof(af_config_metric) == sizeof(int) && sizeof(af_config_existing) == sizeof(int),
               "enums are int-sized");

#define FIELD(f) offsetof(af_config, f), sizeof(((af_config *)0)->f)
#define KEY(id, sec, nm, type, f) id, sec, nm, type, FIELD(f)

/* Rows in af_config_key order (checked by af_key_spec_of). */
static const af_key_spec key_table[AF_CFG_KEY_COUNT] = {
    {KEY(AF_CFG_JOB_NAME, "job", "name", AF_KT_NAME, job.name), .default_value = "annforest"},
    {KEY(AF_CFG_JOB_SEED, "job", "seed", AF_KT_U64, job.seed), .default_value = "42"},
    {KEY(AF_CFG_JOB_THREADS, "job", "threads", AF_KT_INT, job.threads), .min = 0, .max = INT32_MAX,
     .default_value = "0"},
    {KEY(AF_CFG_REFERENCE_PATH, "reference", "path", AF_KT_PATH, reference.path),
     .default_value = ""},
    {KEY(AF_CFG_REFERENCE_NA, "reference", "na", AF_KT_ENUM, reference.na), .choices = na_names,
     .default_value = "error"},
    {KEY(AF_CFG_INDEX_PATH, "index", "path", AF_KT_PATH, index.path), .default_value = ""},
    {KEY(AF_CFG_INDEX_METRIC, "index", "metric", AF_KT_ENUM, index.metric), .choices = metric_names,
     .default_value = "euclidean"},
    {KEY(AF_CFG_INDEX_TREES, "index", "trees", AF_KT_INT, index.trees), .min = 1, .max = INT32_MAX,
     .default_value = "50"},
    {KEY(AF_CFG_INDEX_SHARDS, "index", "shards", AF_KT_INT, index.shards), .min = 0,
     .max = INT32_MAX, .default_value = "0"},
    {KEY(AF_CFG_INDEX_LEAF_SIZE, "index", "leaf_size", AF_KT_INT, index.leaf_size), .min = 0,
     .max = INT32_MAX, .default_value = "0"},
    {KEY(AF_CFG_INDEX_FORMAT, "index", "format", AF_KT_ENUM, index.format), .choices = format_names,
     .default_value = "auto"},
    {KEY(AF_CFG_INDEX_LOAD, "index", "load", AF_KT_ENUM, index.load), .choices = load_names,
     .default_value = "lazy"},
    {KEY(AF_CFG_INDEX_PREFAULT, "index", "prefault", AF_KT_BOOL, index.prefault),
     .default_value = "false"},
    {KEY(AF_CFG_INDEX_MD5, "index", "md5", AF_KT_BOOL, index.md5), .default_value = "true"},
    {KEY(AF_CFG_QUERY_PATH, "query", "path", AF_KT_PATH, query.path), .default_value = ""},
    {KEY(AF_CFG_QUERY_K, "query", "k", AF_KT_INT, query.k), .min = 1, .max = INT32_MAX,
     .default_value = "10"},
    {KEY(AF_CFG_QUERY_SEARCH_K, "query", "search_k", AF_KT_INT, query.search_k), .min = 1,
     .max = INT64_MAX, .minus_one_ok = true, .default_value = "-1"},
    {KEY(AF_CFG_QUERY_BATCH, "query", "batch", AF_KT_INT, query.batch), .min = 1, .max = INT32_MAX,
     .default_value = "4096"},
    {KEY(AF_CFG_QUERY_EXCLUDE_SELF, "query", "exclude_self", AF_KT_BOOL, query.exclude_self),
     .default_value = "true"},
    {KEY(AF_CFG_QUERY_RERANK, "query", "rerank", AF_KT_INT, query.rerank), .min = 0,
     .max = INT32_MAX, .default_value = "0"},
    {KEY(AF_CFG_OUTPUT_INDEX, "output", "index", AF_KT_PATH, output.index), .default_value = ""},
    {KEY(AF_CFG_OUTPUT_DISTANCE, "output", "distance", AF_KT_PATH, output.distance),
     .default_value = ""},
    {KEY(AF_CFG_OUTPUT_ORDER, "output", "order", AF_KT_ENUM, output.order), .choices = order_names,
     .default_value = "column"},
    {KEY(AF_CFG_OUTPUT_BASE, "output", "base", AF_KT_INT, output.base), .min = 0, .max = 1,
     .default_value = "1"},
    {KEY(AF_CFG_OUTPUT_EXISTING, "output", "existing", AF_KT_ENUM, output.existing),
     .choices = existing_names, .default_value = "error"},
    {KEY(AF_CFG_BENCH_TREES, "bench", "trees", AF_KT_INTS, bench.trees), .min = 1, .max = INT32_MAX,
     .default_value = ""},
    {KEY(AF_CFG_BENCH_SEARCH_K, "bench", "search_k", AF_KT_INTS, bench.search_k), .min = 1,
     .max = INT64_MAX, .minus_one_ok = true, .default_value = "-1"},
    {KEY(AF_CFG_BENCH_SHARDS, "bench", "shards", AF_KT_INTS, bench.shards), .min = 0,
     .max = INT32_MAX, .default_value = ""},
    {KEY(AF_CFG_BENCH_REPEAT, "bench", "repeat", AF_KT_INT, bench.repeat), .min = 1, .max = 1000,
     .default_value = "1"},
    {KEY(AF_CFG_BENCH_OUT, "bench", "out", AF_KT_PATH, bench.out), .default_value = ""},
    {KEY(AF_CFG_BENCH_PLOT, "bench", "plot", AF_KT_PATH, bench.plot), .default_value = ""},
    {KEY(AF_CFG_BENCH_PEER, "bench", "peer", AF_KT_PATH, bench.peer), .default_value = ""},
    {KEY(AF_CFG_BENCH_TRUTH, "bench", "truth", AF_KT_PATH, bench.truth), .default_value = ""},
    {KEY(AF_CFG_BENCH_WORK, "bench", "work", AF_KT_PATH, bench.work), .default_value = ""},
    {KEY(AF_CFG_BENCH_DATASET, "bench", "dataset", AF_KT_PATH, bench.dataset), .default_value = ""},
    {KEY(AF_CFG_BENCH_LABEL, "bench", "label", AF_KT_NAME, bench.label),
     .default_value = "annforest"},
};

const af_key_spec *af_key_spec_of(af_config_key key) {
    if ((unsigned)key >= AF_CFG_KEY_COUNT || key_table[key].id != key)
        return NULL;
    return &key_table[key];
}

const af_key_spec *af_key_spec_find(const char *section, const char *name) {
    for (int i = 0; i < AF_CFG_KEY_COUNT; i++)
        if (strcmp(key_table[i].section, section) == 0 && strcmp(key_table[i].name, name) == 0)
            return &key_table[i];
    return NULL;
}

bool af_section_known(const char *section) {
    for (int i = 0; af_config_sections[i]; i++)
        if (strcmp(af_config_sections[i], section) == 0)
            return true;
    return false;
}

void af_section_keys(const char *section, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < AF_CFG_KEY_COUNT && used < len; i++) {
        if (strcmp(key_table[i].section, section) != 0)
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", key_table[i].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* ---- parsing values ---- */

static int why_(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why_(char *why, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return -1;
}

/* Decimal digits with an optional sign and nothing else; 1 = not an integer, 2 = overflow. */
static int parse_int64(const char *s, int64_t *out) {
    const char *p = s + (*s == '+' || *s == '-');
    if (!isdigit((unsigned char)*p))
        return 1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return 1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return 2;
    *out = v;
    return 0;
}

static int parse_uint64(const char *s, uint64_t *out) {
    const char *p = s + (*s == '+');
    if (!isdigit((unsigned char)*p))
        return 1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return 1;
    errno = 0;
    unsigned long long v = strtoull(p, NULL, 10);
    if (errno == ERANGE)
        return 2;
    *out = v;
    return 0;
}

static int set_int(void *field, const af_key_spec *spec, const char *value, char *why, size_t len) {
    int64_t v = 0;
    int rc = parse_int64(value, &v);
    if (rc == 1)
        return why_(why, len, "not an integer");
    bool in_range =
        rc == 0 && ((v >= spec->min && v <= spec->max) || (spec->minus_one_ok && v == -1));
    if (!in_range) {
        if (spec->minus_one_ok)
            return why_(why, len, "must be -1 (automatic) or between %" PRId64 " and %" PRId64,
                        spec->min, spec->max);
        if (spec->min == 0 && spec->max == 1)
            return why_(why, len, "must be 0 or 1");
        return why_(why, len, "must be between %" PRId64 " and %" PRId64, spec->min, spec->max);
    }
    if (spec->size == sizeof(int64_t))
        *(int64_t *)field = v;
    else
        *(int32_t *)field = (int32_t)v;
    return 0;
}

static int set_u64(void *field, const char *value, char *why, size_t len) {
    uint64_t v = 0;
    int rc = parse_uint64(value, &v);
    if (rc == 1)
        return why_(why, len, "not a non-negative integer");
    if (rc == 2)
        return why_(why, len, "must be between 0 and %" PRIu64, UINT64_MAX);
    *(uint64_t *)field = v;
    return 0;
}

static int set_bool(void *field, const char *value, char *why, size_t len) {
    static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(value, yes[i]) == 0 || strcasecmp(value, no[i]) == 0) {
            *(bool *)field = strcasecmp(value, yes[i]) == 0;
            return 0;
        }
    }
    return why_(why, len, "not a boolean (true/false, yes/no, 1/0)");
}

static int set_enum(void *field, const af_key_spec *spec, const char *value, char *why,
                    size_t len) {
    char list[256] = "";
    for (int i = 0; spec->choices[i]; i++) {
        if (strcasecmp(value, spec->choices[i]) == 0) {
            *(int *)field = i;
            return 0;
        }
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", spec->choices[i]);
    }
    return why_(why, len, "expected one of %s", list);
}

/* Text that survives a round trip through the INI file: no control characters, no
 * surrounding blanks, and nothing inih would take for a comment. */
static int check_text(const char *value, char *why, size_t len) {
    size_t n = strlen(value);
    if (n == 0)
        return 0;
    if (isspace((unsigned char)value[0]) || isspace((unsigned char)value[n - 1]))
        return why_(why, len, "must not start or end with blanks");
    if (value[0] == ';' || value[0] == '#')
        return why_(why, len, "must not start with ';' or '#' (they start a comment)");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 && c != '\t')
            return why_(why, len, "contains a control character");
        if (c == 0x7f)
            return why_(why, len, "contains a control character");
        if ((c == ';' || c == '#') && i > 0 && isspace((unsigned char)value[i - 1]))
            return why_(why, len, "blank followed by '%c' starts a comment in INI files", c);
    }
    return 0;
}

static int set_text(char *field, const af_key_spec *spec, const char *value, char *why,
                    size_t len) {
    if (check_text(value, why, len) < 0)
        return -1;
    if (strlen(value) >= spec->size)
        return why_(why, len, "longer than %zu characters", spec->size - 1);
    if (spec->type == AF_KT_NAME) {
        if (value[0] == '\0')
            return why_(why, len, "must not be empty");
        for (const char *p = value; *p; p++)
            if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
                return why_(why, len, "may hold only letters, digits, '.', '_' and '-'");
    }
    /* the whole field, so configs compare (and broadcast) byte for byte */
    memset(field, 0, spec->size);
    memcpy(field, value, strlen(value));
    return 0;
}

/* A list: each comma-separated item (blanks around it allowed) is checked as one AF_KT_INT
 * value; the text is kept, normalised to "a,b,c", so the effective INI round-trips. */
static int set_ints(char *field, const af_key_spec *spec, const char *value, char *why,
                    size_t len) {
    char norm[AF_CONFIG_LIST_MAX] = "", item[64];
    size_t used = 0;
    for (const char *p = value; *p;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        while (p < end && isspace((unsigned char)*p))
            p++;
        const char *stop = end;
        while (stop > p && isspace((unsigned char)stop[-1]))
            stop--;
        if (stop == p)
            return why_(why, len, "an empty item in the list (expected integers like 10,25,50)");
        if ((size_t)(stop - p) >= sizeof item)
            return why_(why, len, "'%.20s...' is not an integer", p);
        snprintf(item, sizeof item, "%.*s", (int)(stop - p), p);
        int64_t v = 0;
        af_key_spec one = *spec;
        one.size = sizeof v;
        char item_why[192];
        if (set_int(&v, &one, item, item_why, sizeof item_why) < 0)
            return why_(why, len, "'%s': %s", item, item_why);
        int n = snprintf(norm + used, sizeof norm - used, "%s%s", used ? "," : "", item);
        if (n < 0 || (size_t)n >= sizeof norm - used || used + (size_t)n >= spec->size)
            return why_(why, len, "list longer than %zu characters", spec->size - 1);
        used += (size_t)n;
        p = comma ? comma + 1 : end;
        if (comma && !*p)
            return why_(why, len, "the list ends with ','");
    }
    memset(field, 0, spec->size);
    memcpy(field, norm, used);
    return 0;
}

int af_config_int_list(const char *text, int64_t *out, int cap) {
    int n = 0;
    for (const char *p = text; *p && n < cap;) {
        char *end = NULL;
        out[n++] = strtoll(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
        if (end == p && *p)
            break; /* not a validated list: stop rather than loop */
    }
    return n;
}

int af_key_set(af_config *cfg, const af_key_spec *spec, const char *value, char *why,
               size_t why_len) {
    void *field = (char *)cfg + spec->offset;
    int rc = -1;
    switch (spec->type) {
    case AF_KT_INT:
        rc = set_int(field, spec, value, why, why_len);
        break;
    case AF_KT_U64:
        rc = set_u64(field, value, why, why_len);
        break;
    case AF_KT_BOOL:
        rc = set_bool(field, value, why, why_len);
        break;
    case AF_KT_ENUM:
        rc = set_enum(field, spec, value, why, why_len);
        break;
    case AF_KT_PATH:
    case AF_KT_NAME:
        rc = set_text(field, spec, value, why, why_len);
        break;
    case AF_KT_INTS:
        rc = set_ints(field, spec, value, why, why_len);
        break;
    }
    if (rc == 0 && spec->id == AF_CFG_QUERY_PATH)
        cfg->query.self = strcmp(cfg->query.path, "self") == 0;
    return rc;
}

void af_key_format(const af_config *cfg, const af_key_spec *spec, char *buf, size_t len) {
    const void *field = (const char *)cfg + spec->offset;
    switch (spec->type) {
    case AF_KT_INT:
        if (spec->size == sizeof(int64_t))
            snprintf(buf, len, "%" PRId64, *(const int64_t *)field);
        else
            snprintf(buf, len, "%" PRId32, *(const int32_t *)field);
        break;
    case AF_KT_U64:
        snprintf(buf, len, "%" PRIu64, *(const uint64_t *)field);
        break;
    case AF_KT_BOOL:
        snprintf(buf, len, "%s", *(const bool *)field ? "true" : "false");
        break;
    case AF_KT_ENUM:
        snprintf(buf, len, "%s", spec->choices[*(const int *)field]);
        break;
    case AF_KT_PATH:
    case AF_KT_NAME:
    case AF_KT_INTS:
        snprintf(buf, len, "%s", (const char *)field);
        break;
    }
}

/* ---- public name lookups ---- */

const char *af_config_metric_name(af_config_metric m) {
    return (unsigned)m < 5 ? metric_names[m] : "?";
}
const char *af_config_na_name(af_config_na na) {
    return (unsigned)na < 2 ? na_names[na] : "?";
}
const char *af_config_load_mode_name(af_config_load_mode load) {
    return (unsigned)load < 2 ? load_names[load] : "?";
}
const char *af_config_format_name(af_config_format format) {
    return (unsigned)format < 3 ? format_names[format] : "?";
}
const char *af_config_order_name(af_config_order order) {
    return (unsigned)order < 2 ? order_names[order] : "?";
}
const char *af_config_existing_name(af_config_existing existing) {
    return (unsigned)existing < 3 ? existing_names[existing] : "?";
}

const char *af_config_key_name(af_config_key key) {
    static const char *const names[AF_CFG_KEY_COUNT] = {
        "job.name",        "job.seed",        "job.threads",        "reference.path",
        "reference.na",    "index.path",      "index.metric",       "index.trees",
        "index.shards",    "index.leaf_size", "index.format",       "index.load",
        "index.prefault",  "index.md5",       "query.path",         "query.k",
        "query.search_k",  "query.batch",     "query.exclude_self", "query.rerank",
        "output.index",    "output.distance", "output.order",       "output.base",
        "output.existing", "bench.trees",     "bench.search_k",     "bench.shards",
        "bench.repeat",    "bench.out",       "bench.plot",         "bench.peer",
        "bench.truth",     "bench.work",      "bench.dataset",      "bench.label"};
    return (unsigned)key < AF_CFG_KEY_COUNT ? names[key] : "?";
}
