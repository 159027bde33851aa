#include "index_meta.h"
#include "dcf.h"
#include "file_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* One table drives both directions, so a field cannot be written and forgotten on reading. */
typedef enum { F_STR, F_I64, F_U64 } field_kind;

typedef struct meta_field {
    const char *key;
    field_kind kind;
    size_t offset, size;
} meta_field;

#define STR(name)                                                                                  \
    { #name, F_STR, offsetof(af_index_meta, name), sizeof(((af_index_meta *)0)->name) }
#define I64(name)                                                                                  \
    { #name, F_I64, offsetof(af_index_meta, name), 0 }
#define U64(name)                                                                                  \
    { #name, F_U64, offsetof(af_index_meta, name), 0 }

static const meta_field fields[] = {
    STR(index_id),        STR(metric),
    I64(n_dim),           I64(n_ref),
    I64(n_trees),         U64(build_seed),
    I64(build_threads),   STR(build_backend),
    U64(file_size),       STR(file_mtime),
    STR(file_md5),        STR(load_mode),
    STR(index_file),      STR(annforest_version),
    STR(node_format),     I64(node_size),
    I64(n_nodes),         I64(leaf_size),
    I64(shards),          I64(trees_per_shard),
    I64(build_ranks),     STR(file_xxh3),
    STR(checksum_scheme), STR(build_config_hash),
    STR(reference_path),  I64(reference_rows),
    I64(reference_cols),  STR(reference_type),
    U64(reference_bytes), STR(reference_checksum),
    I64(reference_files), STR(na_policy),
    I64(rows_skipped),
};
enum { n_fields = sizeof fields / sizeof fields[0] };

/* The shard table: one field per column, values separated by spaces. */
static const struct {
    const char *key;
    size_t offset;
} shard_columns[] = {
    {"shard_row_start", offsetof(af_shard_info, row_start)},
    {"shard_row_count", offsetof(af_shard_info, row_count)},
    {"shard_node_start", offsetof(af_shard_info, node_start)},
    {"shard_node_count", offsetof(af_shard_info, node_count)},
    {"shard_root_start", offsetof(af_shard_info, root_start)},
};
enum { n_shard_columns = sizeof shard_columns / sizeof shard_columns[0] };

static int parse_i64(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    if (*s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int read_field(const meta_field *f, const char *value, af_index_meta *m, const char *source,
                      af_error *err) {
    char *dst = (char *)m + f->offset;
    int bad = 0;
    switch (f->kind) {
    case F_STR:
        if (strlen(value) >= f->size)
            return af_fail(err, AF_E_INPUT, "%s: field %s is too long", source, f->key);
        strcpy(dst, value);
        break;
    case F_I64:
        bad = parse_i64(value, (int64_t *)(void *)dst);
        break;
    case F_U64:
        bad = parse_u64(value, (uint64_t *)(void *)dst);
        break;
    }
    if (bad)
        return af_fail(err, AF_E_INPUT, "%s: field %s = '%s' is not a valid number", source, f->key,
                       value);
    return 0;
}

static int read_shard_column(const char *value, size_t column, af_index_meta *m, const char *source,
                             af_error *err) {
    const char *p = value;
    for (int64_t s = 0; s < m->shards; s++) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno || end == p || v < 0)
            return af_fail(err, AF_E_INPUT,
                           "%s: field %s has %" PRId64 " values, expected %" PRId64, source,
                           shard_columns[column].key, s, m->shards);
        *(int64_t *)(void *)((char *)&m->shard[s] + shard_columns[column].offset) = v;
        p = end;
    }
    while (*p == ' ')
        p++;
    if (*p)
        return af_fail(err, AF_E_INPUT, "%s: field %s has more than %" PRId64 " values", source,
                       shard_columns[column].key, m->shards);
    return 0;
}

static int read_shard_table(const af_dcf *d, af_index_meta *m, const char *source, af_error *err) {
    if (m->shards < 1 || m->shards > m->n_ref)
        return af_fail(err, AF_E_INPUT, "%s: shards = %" PRId64 " is out of range", source,
                       m->shards);
    m->shard = calloc((size_t)m->shards, sizeof *m->shard);
    if (!m->shard)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    for (size_t c = 0; c < n_shard_columns; c++) {
        const char *v = af_dcf_get(d, shard_columns[c].key);
        if (!v)
            return af_fail(err, AF_E_INPUT, "%s: field %s is missing", source,
                           shard_columns[c].key);
        if (read_shard_column(v, c, m, source, err) != 0)
            return -1;
    }
    return 0;
}

int af_index_meta_parse(const char *text, size_t len, const char *source, af_index_meta *m,
                        af_error *err) {
    memset(m, 0, sizeof *m);
    af_dcf d;
    if (af_dcf_parse(text, len, source, &d, err) != 0)
        return -1;
    int rc = 0;
    const char *version = af_dcf_get(&d, "metadata_version");
    if (!version || strcmp(version, "1") != 0)
        rc = af_fail(err, AF_E_INPUT, "%s: metadata_version is %s; this annforest reads version %d",
                     source, version ? version : "missing", AF_META_VERSION);
    for (size_t i = 0; rc == 0 && i < n_fields; i++) {
        const char *v = af_dcf_get(&d, fields[i].key);
        rc = v ? read_field(&fields[i], v, m, source, err)
               : af_fail(err, AF_E_INPUT, "%s: field %s is missing", source, fields[i].key);
    }
    if (rc == 0)
        rc = read_shard_table(&d, m, source, err);
    const char *sum = af_dcf_get(&d, "metadata_checksum");
    if (rc == 0 && sum && strlen(sum) >= sizeof m->metadata_checksum)
        rc = af_fail(err, AF_E_INPUT, "%s: field metadata_checksum is too long", source);
    if (rc == 0 && sum)
        strcpy(m->metadata_checksum, sum);
    af_dcf_free(&d);
    if (rc != 0)
        af_index_meta_free(m);
    return rc;
}

int af_index_meta_read(const char *path, af_index_meta *m, af_error *err) {
    size_t len = 0;
    char *text = af_read_small_file(path, 1 << 24, &len, err);
    if (!text)
        return -1;
    int rc = af_index_meta_parse(text, len, path, m, err);
    free(text);
    return rc;
}

static int add_shard_column(af_dcf *d, const af_index_meta *m, size_t column) {
    size_t cap = (size_t)m->shards * 21 + 1, used = 0;
    char *list = malloc(cap);
    if (!list)
        return -1;
    list[0] = '\0';
    for (int64_t s = 0; s < m->shards; s++) {
        int64_t v = *(const int64_t *)(const void *)((const char *)&m->shard[s] +
                                                     shard_columns[column].offset);
        used += (size_t)snprintf(list + used, cap - used, s ? " %" PRId64 : "%" PRId64, v);
    }
    int rc = af_dcf_add(d, shard_columns[column].key, "%s", list);
    free(list);
    return rc;
}

static int add_fields(af_dcf *d, const af_index_meta *m) {
    int rc = af_dcf_add(d, "metadata_version", "%d", AF_META_VERSION);
    for (size_t i = 0; rc == 0 && i < n_fields; i++) {
        const char *src = (const char *)m + fields[i].offset;
        switch (fields[i].kind) {
        case F_STR:
            rc = af_dcf_add(d, fields[i].key, "%s", src);
            break;
        case F_I64:
            rc = af_dcf_add(d, fields[i].key, "%" PRId64, *(const int64_t *)(const void *)src);
            break;
        case F_U64:
            rc = af_dcf_add(d, fields[i].key, "%" PRIu64, *(const uint64_t *)(const void *)src);
            break;
        }
    }
    for (size_t c = 0; rc == 0 && c < n_shard_columns; c++)
        rc = add_shard_column(d, m, c);
    return rc;
}

int af_index_meta_digest(const af_index_meta *m, char hex[17]) {
    af_dcf d = {0};
    char *text = add_fields(&d, m) == 0 ? af_dcf_format(&d) : NULL;
    af_dcf_free(&d);
    if (!text)
        return -1;
    snprintf(hex, 17, "%016llx", (unsigned long long)XXH3_64bits(text, strlen(text)));
    free(text);
    return 0;
}

char *af_index_meta_format(const af_index_meta *m) {
    af_dcf d = {0};
    char sum[17];
    int rc = af_index_meta_digest(m, sum);
    if (rc == 0)
        rc = add_fields(&d, m);
    if (rc == 0)
        rc = af_dcf_add(&d, "metadata_checksum", "%s", sum);
    char *text = rc == 0 ? af_dcf_format(&d) : NULL;
    af_dcf_free(&d);
    return text;
}

/* a * b into *out; -1 when it does not fit in int64 or either is negative. */
static int mul_i64(int64_t a, int64_t b, int64_t *out) {
    return a < 0 || b < 0 || __builtin_mul_overflow(a, b, out) ? -1 : 0;
}

static int check_shard_table(const af_index_meta *m, const char *source, af_error *err) {
    int64_t row = 0, node = m->n_ref, root0 = m->n_nodes - m->n_trees;
    for (int64_t s = 0; s < m->shards; s++) {
        const af_shard_info *sh = &m->shard[s];
        int64_t want_root;
        if (sh->row_start != row || sh->row_count < 1 || sh->row_count > m->n_ref - row)
            return af_fail(err, AF_E_INPUT,
                           "%s: shard %" PRId64 " rows %" PRId64 "+%" PRId64
                           " do not follow on from row %" PRId64 " within %" PRId64 " rows",
                           source, s, sh->row_start, sh->row_count, row, m->n_ref);
        if (sh->node_start != node || sh->node_count < 1 || sh->node_count > root0 - node)
            return af_fail(err, AF_E_INPUT,
                           "%s: shard %" PRId64 " tree nodes %" PRId64 "+%" PRId64
                           " do not follow on from node %" PRId64 " before the roots at %" PRId64,
                           source, s, sh->node_start, sh->node_count, node, root0);
        if (mul_i64(s, m->trees_per_shard, &want_root) != 0 || sh->root_start != root0 + want_root)
            return af_fail(err, AF_E_INPUT,
                           "%s: shard %" PRId64 " root copies start at node %" PRId64
                           ", expected %" PRId64,
                           source, s, sh->root_start, root0 + want_root);
        row += sh->row_count;
        node += sh->node_count;
    }
    if (row != m->n_ref || node != root0)
        return af_fail(err, AF_E_INPUT,
                       "%s: the shard table covers %" PRId64 " rows and nodes up to %" PRId64
                       ", the index has %" PRId64 " rows and its roots start at node %" PRId64,
                       source, row, node, m->n_ref, root0);
    return 0;
}

int af_index_meta_check(const af_index_meta *m, const char *source, af_error *err) {
    int64_t trees, bytes;
    if (m->n_dim < 1 || m->n_ref < 1 || m->shards < 1 || m->trees_per_shard < 1 ||
        m->node_size < 1 || m->n_nodes < 1)
        return af_fail(err, AF_E_INPUT,
                       "%s: n_dim, n_ref, shards, trees_per_shard, node_size and n_nodes must all "
                       "be at least 1",
                       source);
    if (mul_i64(m->shards, m->trees_per_shard, &trees) != 0 || trees != m->n_trees)
        return af_fail(err, AF_E_INPUT,
                       "%s: n_trees = %" PRId64 " is not shards x trees_per_shard (%" PRId64
                       " x %" PRId64 ")",
                       source, m->n_trees, m->shards, m->trees_per_shard);
    if (m->n_nodes <= m->n_ref || m->n_nodes - m->n_ref <= m->n_trees)
        return af_fail(err, AF_E_INPUT,
                       "%s: n_nodes = %" PRId64 " cannot hold %" PRId64 " items and %" PRId64
                       " trees",
                       source, m->n_nodes, m->n_ref, m->n_trees);
    if (mul_i64(m->n_nodes, m->node_size, &bytes) != 0 || (uint64_t)bytes != m->file_size)
        return af_fail(err, AF_E_INPUT,
                       "%s: %" PRId64 " nodes of %" PRId64 " bytes do not make file_size %" PRIu64,
                       source, m->n_nodes, m->node_size, m->file_size);
    return check_shard_table(m, source, err);
}

int af_index_meta_write(const af_index_meta *m, const char *path, af_error *err) {
    char *text = af_index_meta_format(m);
    if (!text)
        return af_fail(err, AF_E_INTERNAL, "out of memory formatting %s", path);
    int rc = af_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

void af_index_meta_free(af_index_meta *m) {
    free(m->shard);
    m->shard = NULL;
}

void af_index_meta_path(const char *index_path, char *out, size_t cap) {
    snprintf(out, cap, "%s.meta", index_path);
}
