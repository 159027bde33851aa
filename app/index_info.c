#include "index_info.h"
#include "index_meta.h"

#include <inttypes.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

int af_is_index_path(const char *path) {
    char meta[PATH_MAX + 8];
    af_index_meta_path(path, meta, sizeof meta);
    return access(meta, F_OK) == 0;
}

static void print_shards(const af_index_meta *m, FILE *out) {
    fprintf(out, "\n%-6s %-12s %-25s %-12s %-25s %s\n", "shard", "rows", "row ids (0-based)",
            "tree nodes", "node ids", "root copies");
    for (int64_t s = 0; s < m->shards; s++) {
        const af_shard_info *sh = &m->shard[s];
        char rows[32], nodes[32], roots[32];
        snprintf(rows, sizeof rows, "%" PRId64 "-%" PRId64, sh->row_start,
                 sh->row_start + sh->row_count - 1);
        snprintf(nodes, sizeof nodes, "%" PRId64 "-%" PRId64, sh->node_start,
                 sh->node_start + sh->node_count - 1);
        snprintf(roots, sizeof roots, "%" PRId64 "-%" PRId64, sh->root_start,
                 sh->root_start + m->trees_per_shard - 1);
        fprintf(out, "%-6" PRId64 " %-12" PRId64 " %-25s %-12" PRId64 " %-25s %s\n", s,
                sh->row_count, rows, sh->node_count, nodes, roots);
    }
}

int af_index_print_info(const char *path, FILE *out, af_error *err) {
    char meta_path[PATH_MAX + 8];
    af_index_meta_path(path, meta_path, sizeof meta_path);
    af_index_meta m;
    if (af_index_meta_read(meta_path, &m, err) != 0)
        return -1;
    if (af_index_meta_check(&m, meta_path, err) != 0) {
        af_index_meta_free(&m);
        return -1;
    }
    struct stat st;
    int present = stat(path, &st) == 0;
    fprintf(out, "annforest index %s\n", path);
    fprintf(out, "  index_id:        %s\n", m.index_id);
    fprintf(out, "  metric:          %s\n", m.metric);
    fprintf(out, "  dimensions:      %" PRId64 "\n", m.n_dim);
    fprintf(out, "  items:           %" PRId64 " (%" PRId64 " NA rows left out, na = %s)\n",
            m.n_ref, m.rows_skipped, m.na_policy);
    fprintf(out, "  trees:           %" PRId64 " (%" PRId64 " shards x %" PRId64 ")\n", m.n_trees,
            m.shards, m.trees_per_shard);
    fprintf(out, "  leaf size:       %" PRId64 "\n", m.leaf_size);
    fprintf(out, "  nodes:           %" PRId64 " of %" PRId64 " bytes (%s)\n", m.n_nodes,
            m.node_size, m.node_format);
    fprintf(out, "  file:            %s, %" PRIu64 " bytes%s, modified %s\n", m.index_file,
            m.file_size,
            !present                              ? " (MISSING)"
            : (uint64_t)st.st_size != m.file_size ? " (SIZE DIFFERS: run annforest validate)"
                                                  : "",
            m.file_mtime);
    fprintf(out, "  file_md5:        %s\n", m.file_md5);
    fprintf(out, "  file_xxh3:       %s (%s)\n", m.file_xxh3, m.checksum_scheme);
    fprintf(out,
            "  build:           seed %" PRIu64 ", %" PRId64 " rank(s) x %" PRId64
            " thread(s), %s, annforest %s\n",
            m.build_seed, m.build_ranks, m.build_threads, m.build_backend, m.annforest_version);
    fprintf(out, "  build config:    %s (hash of the build keys)\n", m.build_config_hash);
    fprintf(out, "  reference:       %s\n", m.reference_path);
    fprintf(out,
            "                   %" PRId64 " x %" PRId64 " %s, %" PRIu64 " bytes in %" PRId64
            " file(s), checksum %s\n",
            m.reference_rows, m.reference_cols, m.reference_type, m.reference_bytes,
            m.reference_files, m.reference_checksum);
    fprintf(out, "  load mode:       %s\n", m.load_mode);
    print_shards(&m, out);
    af_index_meta_free(&m);
    return 0;
}
