#include "index_validate.h"
#include "af_index_check.h"
#include "af_partition.h"
#include "checksum.h"
#include "digests.h"
#include "index_meta.h"
#include "index_open.h"
#include "job.h"
#include "matrix.h"
#include "mpi_util.h"
#include "progress.h"
#include "vectors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static af_check *add(af_validation *v, const char *name, af_severity sev, af_check_state state,
                     const char *fmt, ...) {
    af_check *c = &v->check[v->n < AF_MAX_CHECKS ? v->n++ : AF_MAX_CHECKS - 1];
    c->name = name;
    c->severity = sev;
    c->state = state;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
    return c;
}

/* Copy src into dst[cap], cut short when it does not fit. */
static void set_text(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static af_check_state passed_if(int ok) {
    return ok ? AF_CHECK_PASSED : AF_CHECK_FAILED;
}

/* What rank 0 found that decides the collective work, sent to every rank. */
typedef struct shared_state {
    int32_t meta_ok;    /* metadata consistent and its node format known: shards can be mapped */
    int32_t hash_index; /* the size is right, so the checksum is worth computing */
    int32_t hash_ref;   /* the reference is there with the recorded shape and size */
    int32_t pad_;
    unsigned char ref[AF_MATRIX_DESC_PACKED_SIZE];
} shared_state;

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int check_node_format(af_validation *v, const af_index_meta *m) {
    af_metric metric;
    af_node_format format;
    if (af_node_format_parse(m->node_format, &format) != 0) {
        add(v, "node_format", AF_SEV_ERROR, AF_CHECK_FAILED,
            "node format '%s' is not one this annforest reads (%s, %s)", m->node_format,
            af_node_format_name(AF_NODES_NARROW), af_node_format_name(AF_NODES_WIDE));
        return 0;
    }
    if (af_metric_parse(m->metric, &metric) != 0 || m->n_dim < 1 || m->n_dim > INT32_MAX / 64) {
        add(v, "node_format", AF_SEV_ERROR, AF_CHECK_FAILED, "metric '%s' with n_dim %" PRId64,
            m->metric, m->n_dim);
        return 0;
    }
    size_t size = af_node_size(metric, format, af_vector_dim(metric, (uint64_t)m->n_dim));
    int ok = (int64_t)size == m->node_size;
    add(v, "node_format", AF_SEV_ERROR, passed_if(ok),
        ok ? "%s, %s, %" PRId64 " dimensions: %zu-byte nodes"
           : "%s, %s, %" PRId64 " dimensions make %zu-byte nodes, node_size says %" PRId64,
        m->node_format, m->metric, m->n_dim, size, m->node_size);
    return ok;
}

static void check_metadata_fields(af_validation *v, const af_index_meta *m, const char *index_path,
                                  const char *meta_path, uint64_t file_size, shared_state *st) {
    char want[17];
    if (!m->metadata_checksum[0])
        add(v, "metadata_checksum", AF_SEV_WARNING, AF_CHECK_FAILED,
            "%s has no metadata_checksum (written by an older annforest)", meta_path);
    else if (af_index_meta_digest(m, want) == 0)
        add(v, "metadata_checksum", AF_SEV_ERROR,
            passed_if(strcmp(want, m->metadata_checksum) == 0),
            strcmp(want, m->metadata_checksum) == 0
                ? "%s"
                : "%s was edited after it was written (its fields hash to %s, it records %s)",
            meta_path, want, m->metadata_checksum);
    af_error e = {0};
    int consistent = af_index_meta_check(m, meta_path, &e) == 0;
    add(v, "metadata_consistent", AF_SEV_ERROR, passed_if(consistent),
        consistent ? "%" PRId64 " rows, %" PRId64 " shards x %" PRId64 " trees, %" PRId64 " nodes"
                   : "%s",
        consistent ? m->n_ref : 0, m->shards, m->trees_per_shard, m->n_nodes, e.msg);
    int same_name = strcmp(m->index_file, base_name(index_path)) == 0;
    add(v, "basename", AF_SEV_ERROR, passed_if(same_name),
        same_name ? "%s"
                  : "the metadata describes '%s', not '%s' (renamed, or another index's .meta)",
        m->index_file, base_name(index_path));
    int size_ok = file_size == m->file_size;
    add(v, "file_size", AF_SEV_ERROR, passed_if(size_ok),
        size_ok ? "%" PRIu64 " bytes"
                : "%" PRIu64 " bytes, the metadata says %" PRIu64
                  " (truncated, extended or replaced)",
        file_size, m->file_size);
    int format_ok = check_node_format(v, m);
    char id[48];
    snprintf(id, sizeof id, "annforest-%s", m->file_xxh3);
    add(v, "index_id", AF_SEV_ERROR, passed_if(strcmp(id, m->index_id) == 0),
        strcmp(id, m->index_id) == 0 ? "%s" : "%s does not derive from file_xxh3 (expected %s)",
        m->index_id, id);
    st->meta_ok = consistent && format_ok;
    st->hash_index = size_ok;
}

static void check_reference_shape(af_validation *v, const af_index_meta *m, shared_state *st) {
    af_matrix_desc d;
    af_error e = {0};
    if (af_matrix_describe(m->reference_path, &d, &e) != 0) {
        add(v, "reference", AF_SEV_WARNING, AF_CHECK_FAILED,
            "cannot tell whether the index is stale: %s", e.msg);
        return;
    }
    add(v, "reference", AF_SEV_WARNING, AF_CHECK_PASSED, "%s", m->reference_path);
    int shape_ok = (int64_t)d.rows == m->reference_rows && (int64_t)d.cols == m->reference_cols;
    add(v, "reference_shape", AF_SEV_ERROR, passed_if(shape_ok),
        shape_ok ? "%" PRIu64 " x %" PRIu64
                 : "stale: the reference is %" PRIu64 " x %" PRIu64
                   ", the index was built from %" PRId64 " x %" PRId64,
        d.rows, d.cols, m->reference_rows, m->reference_cols);
    uint64_t bytes = 0;
    int size_ok = af_matrix_required_bytes(&d, &bytes, &e) == 0 && bytes == m->reference_bytes;
    add(v, "reference_size", AF_SEV_ERROR, passed_if(size_ok),
        size_ok ? "%" PRIu64 " bytes"
                : "stale: the reference takes %" PRIu64 " bytes, the index was built from %" PRIu64,
        bytes, m->reference_bytes);
    st->hash_ref = shape_ok && size_ok && m->reference_checksum[0];
    if (shape_ok && size_ok && !m->reference_checksum[0])
        add(v, "reference_checksum", AF_SEV_WARNING, AF_CHECK_SKIPPED,
            "the metadata records no reference checksum");
    af_matrix_desc_pack(&d, st->ref);
}

/* Rank 0: everything that needs no other rank. Returns 1 when the metadata was read. */
static int inspect(const af_validate_opts *o, af_validation *v, af_index_meta *m,
                   shared_state *st) {
    struct stat sb;
    if (stat(o->index_path, &sb) != 0) {
        add(v, "index_file", AF_SEV_ERROR, AF_CHECK_FAILED, "%s: %s", o->index_path,
            strerror(errno));
        return 0;
    }
    if (!S_ISREG(sb.st_mode)) {
        add(v, "index_file", AF_SEV_ERROR, AF_CHECK_FAILED, "%s is not a regular file",
            o->index_path);
        return 0;
    }
    add(v, "index_file", AF_SEV_ERROR, AF_CHECK_PASSED, "%s", o->index_path);
    char meta_path[PATH_MAX + 8];
    af_index_meta_path(o->index_path, meta_path, sizeof meta_path);
    af_error e = {0};
    if (af_index_meta_read(meta_path, m, &e) != 0) {
        add(v, "metadata", AF_SEV_ERROR, AF_CHECK_FAILED, "%s", e.msg);
        return 0;
    }
    add(v, "metadata", AF_SEV_ERROR, AF_CHECK_PASSED, "%s", meta_path);
    snprintf(v->index_id, sizeof v->index_id, "%s", m->index_id);
    check_metadata_fields(v, m, o->index_path, meta_path, (uint64_t)sb.st_size, st);
    check_reference_shape(v, m, st);
    return 1;
}

/* Collective: the index file's checksum (all ranks), and with --strict its MD5 (rank 0). */
static void check_file_sums(const af_validate_opts *o, af_validation *v, const af_index_meta *m,
                            const shared_state *st, int rank) {
    if (!st->hash_index) {
        if (rank == 0)
            add(v, "file_checksum", AF_SEV_ERROR, AF_CHECK_SKIPPED, "the size is already wrong");
        return;
    }
    uint64_t size;
    char hex[17];
    af_error e = {0};
    int rc = af_digest_file(o->index_path, o->threads, "hashing index", &size, hex, &e);
    if (rank == 0) {
        if (rc != 0)
            add(v, "file_checksum", AF_SEV_ERROR, AF_CHECK_FAILED, "%s", e.msg);
        else if (strcmp(m->checksum_scheme, AF_DIGEST_SCHEME) != 0)
            add(v, "file_checksum", AF_SEV_WARNING, AF_CHECK_SKIPPED,
                "checksum scheme '%s' is not this annforest's (%s)", m->checksum_scheme,
                AF_DIGEST_SCHEME);
        else
            add(v, "file_checksum", AF_SEV_ERROR, passed_if(strcmp(hex, m->file_xxh3) == 0),
                strcmp(hex, m->file_xxh3) == 0
                    ? "%s (%s)"
                    : "the file's bytes changed: checksum %s, the metadata says %s",
                hex, strcmp(hex, m->file_xxh3) == 0 ? AF_DIGEST_SCHEME : m->file_xxh3);
    }
    if (!o->strict || rank != 0)
        return;
    char md5[33];
    if (!m->file_md5[0])
        add(v, "file_md5", AF_SEV_WARNING, AF_CHECK_SKIPPED,
            "not recorded (built with index.md5 = false); file_checksum covers the bytes");
    else if (af_file_md5(o->index_path, md5, &e) != 0)
        add(v, "file_md5", AF_SEV_ERROR, AF_CHECK_FAILED, "%s", e.msg);
    else
        add(v, "file_md5", AF_SEV_ERROR, passed_if(strcmp(md5, m->file_md5) == 0),
            strcmp(md5, m->file_md5) == 0 ? "%s" : "MD5 %s, the metadata says %s", md5,
            m->file_md5);
}

/* Collective: the reference's checksum, when its shape and size still match. */
static void check_reference_sum(const af_validate_opts *o, af_validation *v, const af_index_meta *m,
                                const shared_state *st, int rank) {
    if (!st->hash_ref)
        return;
    af_matrix_desc d;
    af_error e = {0};
    af_matrix_desc_unpack(st->ref, sizeof st->ref, &d, &e);
    uint64_t size;
    int64_t files;
    char hex[17];
    int rc = af_digest_matrix(&d, o->threads, &size, &files, hex, &e);
    if (rank != 0)
        return;
    if (rc != 0)
        add(v, "reference_checksum", AF_SEV_ERROR, AF_CHECK_FAILED, "%s", e.msg);
    else
        add(v, "reference_checksum", AF_SEV_ERROR,
            passed_if(strcmp(hex, m->reference_checksum) == 0),
            strcmp(hex, m->reference_checksum) == 0
                ? "%s over %" PRId64 " backing file(s)"
                : "stale: the reference's data changed since the build (checksum %s, was %s)",
            hex, strcmp(hex, m->reference_checksum) == 0 ? files : 0, m->reference_checksum);
}

/* ---- mapping and walking the shards (--load, --strict) ---------------------------------- */

typedef struct shard_results {
    int32_t load_failed, pad_;
    double load_seconds;
    char load_error[512];
    af_tree_report trees;
} shard_results;

static void merge_report(af_tree_report *into, const af_tree_report *r) {
    into->nodes_visited += r->nodes_visited;
    for (int k = 0; k < AF_TREE_PROBLEMS; k++) {
        if (into->count[k] == 0 && r->count[k] > 0)
            memcpy(into->first[k], r->first[k], sizeof into->first[k]);
        into->count[k] += r->count[k];
    }
}

/* Map this rank's block of shards (eager when timing a load) and walk them when strict. */
static int map_and_walk(const af_validate_opts *o, const af_open_index *ix, shard_results *res) {
    af_world w = af_world_get();
    int lo = (int)af_block_start(ix->shards, w.size, w.rank);
    int n = (int)af_block_size(ix->shards, w.size, w.rank);
    af_error e = {0};
    int fd = open(o->index_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        af_fail_errno(&e, AF_E_INPUT, errno, "cannot open %s", o->index_path);
        set_text(res->load_error, sizeof res->load_error, e.msg);
        res->load_failed = 1;
        return -1;
    }
    af_progress *bar = o->strict ? af_progress_start("walking trees", "shards", (uint64_t)n) : NULL;
    double t0 = af_now();
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        af_shard_view view;
        const af_shard_info *sh = &ix->meta.shard[lo + i];
        rc = af_shard_view_open(ix, fd, o->index_path, lo + i, o->load ? AF_MAP_EAGER : AF_MAP_LAZY,
                                &view, &e);
        if (rc != 0) {
            set_text(res->load_error, sizeof res->load_error, e.msg);
            break;
        }
        res->load_seconds = af_now() - t0;
        if (o->strict) {
            af_shard_layout lay = {sh->row_start,  sh->row_count,  sh->node_start,
                                   sh->node_count, sh->root_start, ix->trees_per_shard};
            af_tree_report r;
            rc = af_check_shard_trees(&view.view, &lay, o->threads, &r, &e);
            if (rc == 0) {
                for (int k = 0; k < AF_TREE_PROBLEMS; k++)
                    if (r.count[k]) { /* name the shard in the first message */
                        char msg[512];
                        snprintf(msg, sizeof msg, "shard %d: %.240s", lo + i, r.first[k]);
                        set_text(r.first[k], sizeof r.first[k], msg);
                    }
                merge_report(&res->trees, &r);
            } else {
                set_text(res->load_error, sizeof res->load_error, e.msg);
            }
            af_progress_update(bar, (uint64_t)(i + 1));
        }
        af_shard_view_close(&view);
    }
    if (bar)
        af_progress_finish(bar);
    close(fd);
    res->load_failed = rc != 0;
    return rc;
}

static void report_shards(const af_validate_opts *o, af_validation *v, const shard_results *all,
                          int ranks, int shards) {
    shard_results sum = {0};
    const char *load_error = NULL;
    for (int r = 0; r < ranks; r++) {
        if (all[r].load_failed && !load_error)
            load_error = all[r].load_error;
        if (all[r].load_seconds > sum.load_seconds)
            sum.load_seconds = all[r].load_seconds;
        merge_report(&sum.trees, &all[r].trees);
    }
    if (o->load)
        add(v, "load", AF_SEV_ERROR, passed_if(!load_error),
            load_error ? "%s" : "%d shards mapped eagerly by %d rank(s) in %.3f s (slowest rank)",
            load_error ? load_error : "", shards, ranks, sum.load_seconds);
    if (!o->strict)
        return;
    static const char *names[AF_TREE_PROBLEMS] = {"tree_children", "tree_leaves", "tree_roots",
                                                  "tree_coverage"};
    for (int k = 0; k < AF_TREE_PROBLEMS; k++) {
        if (load_error)
            add(v, names[k], AF_SEV_ERROR, AF_CHECK_SKIPPED, "the shards could not be mapped");
        else if (sum.trees.count[k])
            add(v, names[k], AF_SEV_ERROR, AF_CHECK_FAILED, "%" PRId64 " problem(s); first: %s",
                sum.trees.count[k], sum.trees.first[k]);
        else
            add(v, names[k], AF_SEV_ERROR, AF_CHECK_PASSED, "%" PRId64 " tree nodes walked",
                sum.trees.nodes_visited);
    }
}

/* Collective: open the index the way a query does, map the shards, walk them. */
static int check_shards(const af_validate_opts *o, af_validation *v, const shared_state *st,
                        af_error *err) {
    af_world w = af_world_get();
    if (!o->strict && !o->load)
        return 0;
    if (!st->meta_ok) {
        if (w.rank == 0)
            add(v, o->load ? "load" : "tree_children", AF_SEV_ERROR, AF_CHECK_SKIPPED,
                "the metadata cannot be trusted to map the shards");
        return 0;
    }
    af_job job;
    memset(&job, 0, sizeof job);
    af_config_defaults(&job.cfg);
    snprintf(job.cfg.index.path, sizeof job.cfg.index.path, "%s", o->index_path);
    job.world = w;
    job.threads = o->threads;
    af_open_index ix;
    af_error e = {0};
    shard_results mine;
    memset(&mine, 0, sizeof mine);
    if (af_index_open(&job, 0, &ix, &e) != 0) {
        mine.load_failed = 1;
        set_text(mine.load_error, sizeof mine.load_error, e.msg);
    } else {
        map_and_walk(o, &ix, &mine);
    }
    shard_results *all = w.rank == 0 ? calloc((size_t)w.size, sizeof *all) : NULL;
    int failed = w.rank == 0 && !all;
    if (failed)
        af_fail(err, AF_E_INTERNAL, "out of memory");
    if (af_mpi_agree(failed, err) != 0) {
        af_index_close(&ix);
        return -1;
    }
    MPI_Gather(&mine, sizeof mine, MPI_BYTE, all, sizeof mine, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (w.rank == 0)
        report_shards(o, v, all, w.size, ix.shards);
    free(all);
    af_index_close(&ix);
    return 0;
}

int af_validate_index(const af_validate_opts *o, af_validation *out, af_error *err) {
    memset(out, 0, sizeof *out);
    af_world w = af_world_get();
    af_index_meta m;
    memset(&m, 0, sizeof m);
    shared_state st;
    memset(&st, 0, sizeof st);
    int have_meta = w.rank == 0 ? inspect(o, out, &m, &st) : 0;
    MPI_Bcast(&have_meta, 1, MPI_INT, 0, MPI_COMM_WORLD);
    int rc = 0;
    if (have_meta) {
        af_bcast_bytes(&st, sizeof st);
        check_file_sums(o, out, &m, &st, w.rank);
        check_reference_sum(o, out, &m, &st, w.rank);
        rc = check_shards(o, out, &st, err);
    }
    af_index_meta_free(&m);
    return rc;
}

int af_validation_errors(const af_validation *v) {
    int n = 0;
    for (int i = 0; i < v->n; i++)
        n += v->check[i].state == AF_CHECK_FAILED && v->check[i].severity == AF_SEV_ERROR;
    return n;
}

void af_validation_print(const af_validation *v, FILE *out) {
    static const char *state[] = {"yes", "NO", "skipped"};
    fprintf(out, "%-20s %-8s %-8s %s\n", "check", "passed", "severity", "detail");
    for (int i = 0; i < v->n; i++) {
        const af_check *c = &v->check[i];
        fprintf(out, "%-20s %-8s %-8s %s\n", c->name, state[c->state],
                c->severity == AF_SEV_ERROR ? "error" : "warning", c->detail);
    }
}
