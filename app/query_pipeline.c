#include "query_pipeline.h"
#include "af_partition.h"
#include "file_util.h"
#include "journal.h"
#include "manifest.h"
#include "output_store.h"
#include "progress.h"
#include "vectors.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reduction's parameters: an MPI operation sees only its buffers and a datatype. Set
 * before each reduction by the one thread that calls MPI. */
static int merge_k, merge_larger_first;

static void topk_merge_op(void *in, void *inout, int *len, MPI_Datatype *type) {
    (void)type;
    if (af_topk_merge_rows(in, inout, *len, merge_k, merge_larger_first) != 0) {
        fprintf(stderr, "annforest: out of memory merging neighbour lists\n");
        MPI_Abort(MPI_COMM_WORLD, AF_E_INTERNAL);
    }
}

typedef struct outputs {
    af_store_plan plan[2]; /* ids, distances */
    af_store *store[2];
    int count; /* 1 or 2 */
} outputs;

static int check_output_order(const af_config *c, const char *path, af_error *err) {
    if (af_store_kind_of(path, err) < 0) {
        err->code = AF_E_CONFIG;
        return -1;
    }
    if (af_output_format_of(path) == AF_FMT_BIGMEMORY && c->output.order == AF_CONFIG_ORDER_ROW)
        return af_config_fail_key(c, AF_CFG_OUTPUT_ORDER, err,
                                  "%s is a bigmemory matrix, which is always column-major; use a "
                                  ".afm native descriptor for row-major output",
                                  path);
    return 0;
}

/* Close the stores; publish (distances, then ids, whose descriptor comes last) or discard. */
static int finish_outputs(const af_job *job, outputs *o, int ok, af_error *err) {
    for (int i = 0; i < o->count; i++) {
        af_error close_err = {0};
        if (af_store_close(o->store[i], &close_err) != 0 && ok) {
            *err = close_err;
            ok = 0;
        }
        o->store[i] = NULL;
    }
    int failed = 0;
    if (job->world.rank == 0) {
        for (int i = o->count - 1; ok && i >= 0 && !failed; i--)
            failed = af_store_publish(&o->plan[i], err) != 0;
        if (!ok || failed)
            for (int i = 0; i < o->count; i++)
                af_store_discard(&o->plan[i]);
    }
    return af_mpi_agree(failed, err) != 0 || !ok ? -1 : 0;
}

/* Collective: every rank opens the stores of rank 0's plans (new, or a journal's). */
static int open_outputs(const af_job *job, outputs *o, af_error *err) {
    af_bcast_bytes(o->plan, sizeof o->plan);
    for (int i = 0; i < o->count; i++) {
        if (af_store_open(o->plan, i, MPI_COMM_WORLD, &o->store[i], err) != 0) {
            finish_outputs(job, o, 0, err); /* closes what opened, removes the temporaries */
            return -1;
        }
    }
    return 0;
}

static int prepare_outputs(const af_job *job, const af_searcher_ops *ops, uint64_t n_query,
                           outputs *o, af_error *err) {
    const af_config *c = &job->cfg;
    memset(o, 0, sizeof *o);
    const char *paths[2] = {c->output.index, c->output.distance};
    const int types[2] = {AF_T_INTEGER, AF_T_DOUBLE};
    o->count = c->output.distance[0] ? 2 : 1;
    int failed = 0;
    if (job->world.rank == 0) {
        for (int i = 0; i < o->count && !failed; i++) {
            af_store_attrs attrs = {c->query.k, c->output.base, af_metric_name(ops->metric),
                                    ops->index_id, i == 0 ? "index" : "distance"};
            af_store_spec spec = {
                {paths[i], types[i],
                 c->output.order == AF_CONFIG_ORDER_ROW ? AF_ORDER_ROW : AF_ORDER_COLUMN, n_query,
                 (uint64_t)c->query.k, (int)c->output.existing},
                &attrs};
            failed = check_output_order(c, paths[i], err) != 0 ||
                     af_store_prepare(&spec, o->plan, i, &o->plan[i], err) != 0;
        }
        if (failed)
            for (int i = 0; i < o->count; i++)
                af_store_discard(&o->plan[i]);
    }
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    return open_outputs(job, o, err);
}

/* ---- the journal: resumable query jobs (app/journal.h) ------------------------------------ */

typedef struct run_journal {
    int on; /* index-backed jobs keep one; exact, with no index identity to check, does not */
    double interval, last; /* rank 0: seconds between journal updates, and the last one */
    char path[AF_MATRIX_PATH_MAX + 16];
    af_journal j; /* rank 0: what this job's journal says */
} run_journal;

enum { start_fresh = 0, continue_journal = 1 };

/* Rank 0: what this job's journal must say (plans and progress come later). */
static void describe_job(const af_job *job, const af_searcher_ops *ops, int count, af_journal *j) {
    const af_config *c = &job->cfg;
    const char *paths[2] = {c->output.index, c->output.distance};
    memset(j, 0, sizeof *j);
    af_config_result_digest(c, j->config_digest);
    snprintf(j->index_id, sizeof j->index_id, "%s", ops->index_id);
    j->query_rows = job->query.rows;
    j->query_cols = job->query.cols;
    j->query_type = job->query.type;
    j->n_outputs = count;
    j->batch_rows = c->query.batch;
    j->batches_total =
        (int64_t)((job->query.rows + (uint64_t)c->query.batch - 1) / (uint64_t)c->query.batch);
    for (int i = 0; i < count; i++)
        snprintf(j->plan[i].file.desc_path, sizeof j->plan[i].file.desc_path, "%s", paths[i]);
}

/* Rank 0: an earlier run's journal, continued (--resume: its plans go to o->plan, claimed) or
 * dropped with its partial outputs (a run without --resume starts over). */
static int plan_from_journal(const af_job *job, run_journal *rj, outputs *o, af_error *err) {
    af_journal found;
    af_error read_err = {0};
    int have = af_journal_read(rj->path, &found, &read_err);
    if (job->resume) {
        if (have < 0) {
            *err = read_err;
            return -1;
        }
        if (have == 0) {
            if (!job->quiet)
                fprintf(stderr, "no journal %s: starting from the first batch\n", rj->path);
            return start_fresh;
        }
        if (af_journal_check(rj->path, &found, &rj->j, err) != 0 ||
            af_journal_claim_outputs(&found, err) != 0)
            return -1;
        memcpy(o->plan, found.plan, sizeof o->plan);
        rj->j.batches_done = found.batches_done;
        if (!job->quiet)
            fprintf(stderr, "resuming from %s: %" PRId64 " of %" PRId64 " batches written\n",
                    rj->path, found.batches_done, found.batches_total);
        return continue_journal;
    }
    if (have == 0)
        return start_fresh;
    fprintf(stderr,
            "annforest: warning: %s: an interrupted run left partial outputs; starting over "
            "(--resume continues such a run)\n",
            rj->path);
    if (have > 0) {
        if (af_journal_claim_outputs(&found, err) != 0)
            return -1; /* another job is writing them right now */
        for (int i = 0; i < found.n_outputs; i++)
            af_store_discard(&found.plan[i]);
    }
    af_journal_remove(rj->path);
    return start_fresh;
}

/* Seconds between journal updates (AF_JOURNAL_INTERVAL, default 10; 0 = every batch): each
 * one syncs the outputs, which costs far more than a batch of small queries, so a killed job
 * redoes at most that much work rather than paying the sync on every batch. */
static double journal_interval(void) {
    const char *s = getenv("AF_JOURNAL_INTERVAL");
    double v = s && *s ? atof(s) : 10.0;
    return v >= 0 ? v : 10.0;
}

/* Collective: batches [0, done) of every rank are on disk (synced) before rank 0 says so. */
static int journal_batches(const af_job *job, outputs *o, run_journal *rj, int64_t done,
                           af_error *err) {
    if (!rj->on)
        return 0;
    int due = done == 0 || af_now() - rj->last >= rj->interval; /* rank 0's clock decides */
    MPI_Bcast(&due, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!due)
        return 0;
    for (int i = 0; done > 0 && i < o->count; i++)
        if (af_store_sync(o->store[i], err) != 0)
            return -1;
    int failed = 0;
    if (job->world.rank == 0) {
        memcpy(rj->j.plan, o->plan, sizeof rj->j.plan);
        rj->j.batches_done = done;
        failed = af_journal_write(rj->path, &rj->j, err) != 0;
        rj->last = af_now();
    }
    return af_mpi_agree(failed, err);
}

/* Rank 0: the outputs are published or discarded: the journal has nothing left to say. */
static void end_journal(const af_job *job, const run_journal *rj) {
    if (rj->on && job->world.rank == 0 && rj->path[0]) {
        af_journal_remove(rj->path);
        af_journal_sweep(rj->path);
    }
}

/* Collective: outputs open for writing and the first batch to run - 0, or with --resume where
 * an interrupted run's journal says it stopped. */
static int begin_outputs(const af_job *job, const af_searcher_ops *ops, outputs *o, run_journal *rj,
                         int64_t *first_batch, af_error *err) {
    memset(rj, 0, sizeof *rj);
    memset(o, 0, sizeof *o);
    rj->on = ops->index_id != NULL;
    rj->interval = journal_interval();
    *first_batch = 0;
    if (!rj->on)
        return prepare_outputs(job, ops, job->query.rows, o, err);
    int count = job->cfg.output.distance[0] ? 2 : 1, mode = start_fresh, failed = 0;
    if (job->world.rank == 0) {
        describe_job(job, ops, count, &rj->j);
        failed = af_journal_path(job->cfg.output.index, rj->path, sizeof rj->path, err) != 0 ||
                 (mode = plan_from_journal(job, rj, o, err)) < 0;
    }
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    int64_t done = rj->j.batches_done;
    MPI_Bcast(&mode, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Bcast(&done, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    if (mode == continue_journal) {
        o->count = count;
        if (open_outputs(job, o, err) != 0) {
            end_journal(job, rj); /* the failed open discarded the partial outputs */
            return -1;
        }
        *first_batch = done;
        af_manifest_note_resume(done, rj->j.batches_total);
        return 0;
    }
    if (prepare_outputs(job, ops, job->query.rows, o, err) != 0)
        return -1;
    if (job->world.rank == 0)
        af_journal_sweep(rj->path); /* the outputs' locks are ours: leftovers are a dead job's */
    /* From here on a killed job leaves a journal naming its temporary outputs. */
    if (journal_batches(job, o, rj, 0, err) != 0) {
        finish_outputs(job, o, 0, err);
        end_journal(job, rj);
        return -1;
    }
    return 0;
}

/* Every rank searches every query of a batch, but needs only a piece of the batch's vectors at a
 * time: a batch is searched in pieces of about B / P rows (at least PIECE_MIN, so that many
 * ranks do not make many small collectives), each read by all ranks together and shared. The
 * vectors a rank holds then shrink with the rank count, as its share of the index does. */
enum { PIECE_MIN = 256 };

typedef struct batch_buffers {
    size_t vec_bytes;
    int64_t piece;      /* rows per piece */
    unsigned char *vec; /* one piece's vectors */
    uint8_t *all_na;    /* the whole batch's NA flags */
    int64_t *exclude;
    af_neighbor *partial, *merged;
    double *values;       /* owned rows x k, as doubles (NaN = NA) */
    int *counts, *displs; /* per rank: owned rows of the batch (the merge and the writes) */
    int *piece_counts, *piece_displs; /* per rank: rows it reads of a piece, and in bytes */
    int *byte_counts, *byte_displs;
} batch_buffers;

static int alloc_buffers(const af_job *job, size_t vec_bytes, batch_buffers *b, af_error *err) {
    const af_config *c = &job->cfg;
    size_t B = (size_t)c->query.batch, k = (size_t)c->query.k, P = (size_t)job->world.size;
    size_t mine = B / P + 1, cells;
    memset(b, 0, sizeof *b);
    b->piece = (int64_t)((B + P - 1) / P);
    if (b->piece < PIECE_MIN)
        b->piece = (int64_t)B < PIECE_MIN ? (int64_t)B : PIECE_MIN;
    /* A batch's partial lists travel in one collective, whose counts are ints. */
    if (__builtin_mul_overflow(B, k, &cells) || cells > (size_t)INT_MAX / sizeof *b->partial)
        return af_config_fail_key(c, AF_CFG_QUERY_K, err,
                                  "%zu neighbours for each of query.batch = %zu rows is more "
                                  "than one batch can carry; lower query.batch (or k)",
                                  k, B);
    b->vec_bytes = vec_bytes;
    b->vec = malloc((size_t)b->piece * vec_bytes);
    b->all_na = calloc(B, 1);
    b->exclude = calloc(B, sizeof *b->exclude);
    b->partial = calloc(B * k, sizeof *b->partial);
    b->merged = calloc(mine * k, sizeof *b->merged);
    b->values = calloc(mine * k, sizeof *b->values);
    b->counts = calloc(P, sizeof(int));
    b->displs = calloc(P, sizeof(int));
    b->piece_counts = calloc(P, sizeof(int));
    b->piece_displs = calloc(P, sizeof(int));
    b->byte_counts = calloc(P, sizeof(int));
    b->byte_displs = calloc(P, sizeof(int));
    if (!b->vec || !b->all_na || !b->exclude || !b->partial || !b->merged || !b->values ||
        !b->counts || !b->displs || !b->piece_counts || !b->piece_displs || !b->byte_counts ||
        !b->byte_displs)
        return af_config_fail_key(c, AF_CFG_QUERY_BATCH, err,
                                  "out of memory for a batch of %zu rows with k = %zu (about %.1f "
                                  "GiB per rank); lower query.batch",
                                  B, k, (double)(cells * 3 * sizeof *b->partial) / (1 << 30));
    return 0;
}

static void free_buffers(batch_buffers *b) {
    free(b->vec), free(b->all_na), free(b->exclude);
    free(b->partial), free(b->merged), free(b->values);
    free(b->counts), free(b->displs), free(b->piece_counts), free(b->piece_displs);
    free(b->byte_counts), free(b->byte_displs);
}

/* Rows [0, n) split over the P ranks in blocks: rank i gets counts[i] rows from displs[i]. */
static void block_layout(int64_t n, int P, int *counts, int *displs) {
    for (int i = 0; i < P; i++) {
        displs[i] = (int)af_block_start(n, P, i);
        counts[i] = (int)af_block_size(n, P, i);
    }
}

/* Rows [p0, p0 + np) of the batch at b0: each rank reads its block of them, straight into its
 * place in the piece, and the piece's vectors and NA flags are shared with every rank. */
static int gather_piece(const af_job *job, af_matrix *mx, af_metric metric, int64_t b0, int64_t p0,
                        int64_t np, batch_buffers *b, af_error *err) {
    int P = job->world.size, r = job->world.rank;
    block_layout(np, P, b->piece_counts, b->piece_displs);
    for (int i = 0; i < P; i++) {
        b->byte_displs[i] = (int)((size_t)b->piece_displs[i] * b->vec_bytes);
        b->byte_counts[i] = (int)((size_t)b->piece_counts[i] * b->vec_bytes);
    }
    int64_t o0 = b->piece_displs[r], on = b->piece_counts[r];
    uint8_t *na = b->all_na + p0;
    /* Collective: a rank without rows in this piece (on == 0) takes part with none. */
    int failed =
        af_read_vectors(mx, metric, (uint64_t)(b0 + p0 + o0), (uint64_t)(b0 + p0 + o0 + on),
                        b->vec + b->byte_displs[r], na + o0, NULL, 0, err) != 0;
    if (failed)
        af_error_prefix(err, "%s",
                        job->cfg.query.self ? job->cfg.reference.path : job->cfg.query.path);
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_BYTE, b->vec, b->byte_counts, b->byte_displs, MPI_BYTE,
                   MPI_COMM_WORLD);
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_BYTE, na, b->piece_counts, b->piece_displs, MPI_BYTE,
                   MPI_COMM_WORLD);
    /* A query row holding NA is not searched: its vector is zeroed, its output row set to NA. */
    for (int64_t i = 0; i < np; i++)
        if (na[i])
            memset(b->vec + (size_t)i * b->vec_bytes, 0, b->vec_bytes);
    return 0;
}

/* Each piece of the batch at b0 (nb rows) searched into its rows of the partial lists. */
static int search_batch(const af_job *job, const af_searcher_ops *ops, af_matrix *mx, int64_t b0,
                        int64_t nb, int exclude, batch_buffers *b, af_error *err) {
    int64_t k = job->cfg.query.k;
    for (int64_t p0 = 0; p0 < nb; p0 += b->piece) {
        int64_t np = nb - p0 < b->piece ? nb - p0 : b->piece;
        if (gather_piece(job, mx, ops->metric, b0, p0, np, b, err) != 0)
            return -1;
        int failed = ops->search(ops->ctx, b->vec, np, b0 + p0, exclude ? b->exclude + p0 : NULL,
                                 b->partial + p0 * k, err) != 0;
        if (af_mpi_agree(failed, err) != 0)
            return -1;
    }
    return 0;
}

/* The owned rows' merged lists as doubles: ids (+ base) and distances, NaN for NA. */
static int64_t to_values(const af_job *job, const batch_buffers *b, int64_t on, int which,
                         double *out) {
    int k = job->cfg.query.k, base = job->cfg.output.base;
    int64_t na_rows = 0;
    int64_t o0 = b->displs[job->world.rank];
    for (int64_t i = 0; i < on; i++) {
        int row_na = b->all_na[o0 + i];
        na_rows += row_na;
        for (int j = 0; j < k; j++) {
            const af_neighbor *n = &b->merged[i * k + j];
            double v = NAN;
            if (!row_na && n->id != AF_NO_NEIGHBOR)
                v = which == 0 ? (double)(n->id + base) : n->dist;
            out[i * k + j] = v;
        }
    }
    return na_rows;
}

static int write_batch(const af_job *job, outputs *o, batch_buffers *b, int64_t b0,
                       int64_t *na_rows, af_error *err) {
    int64_t o0 = b->displs[job->world.rank], on = b->counts[job->world.rank];
    for (int i = 0; i < o->count; i++) {
        int64_t na = to_values(job, b, on, i, b->values);
        if (i == 0)
            *na_rows += na;
        if (af_store_write_rows(o->store[i], (uint64_t)(b0 + o0), (uint64_t)on, b->values, err) !=
            0)
            return -1;
    }
    return 0;
}

static int run_batches(const af_job *job, const af_searcher_ops *ops, af_matrix *mx, outputs *o,
                       batch_buffers *b, int64_t first_batch, run_journal *rj, af_error *err) {
    const af_config *c = &job->cfg;
    int64_t Q = (int64_t)af_matrix_rows(mx), B = c->query.batch, k = c->query.k;
    int exclude = c->query.self && c->query.exclude_self;
    MPI_Datatype list_type;
    MPI_Type_contiguous((int)(k * (int64_t)sizeof(af_neighbor)), MPI_BYTE, &list_type);
    MPI_Type_commit(&list_type);
    MPI_Op merge;
    MPI_Op_create(topk_merge_op, 1, &merge);
    int64_t start = first_batch * B < Q ? first_batch * B : Q;
    af_progress *prog = af_progress_start("querying", "rows", (uint64_t)(Q - start));
    int64_t na_rows = 0;
    int rc = 0;
    for (int64_t b0 = start; b0 < Q && rc == 0; b0 += B) {
        int64_t nb = Q - b0 < B ? Q - b0 : B;
        for (int64_t i = 0; i < nb; i++)
            b->exclude[i] = exclude ? b0 + i : AF_NO_NEIGHBOR;
        for (int64_t i = 0; i < nb; i++)
            af_topk_clear(b->partial + i * k, (int)k);
        block_layout(nb, job->world.size, b->counts, b->displs);
        if ((rc = search_batch(job, ops, mx, b0, nb, exclude, b, err)) != 0)
            break;
        merge_k = (int)k;
        merge_larger_first = af_metric_larger_first(ops->metric);
        MPI_Reduce_scatter(b->partial, b->merged, b->counts, list_type, merge, MPI_COMM_WORLD);
        rc = write_batch(job, o, b, b0, &na_rows, err);
        if (rc == 0)
            rc = journal_batches(job, o, rj, b0 / B + 1, err);
        af_progress_update(prog, (uint64_t)(b0 + nb - start));
    }
    af_progress_finish(prog);
    MPI_Op_free(&merge);
    MPI_Type_free(&list_type);
    int64_t all_na = 0;
    MPI_Allreduce(&na_rows, &all_na, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    if (rc == 0 && all_na > 0 && job->world.rank == 0)
        fprintf(stderr,
                "annforest: warning: %" PRId64 " query rows hold NA; their output rows "
                "are NA\n",
                all_na);
    return rc;
}

int af_run_queries(const af_job *job, const af_searcher_ops *ops, af_error *err) {
    const af_config *c = &job->cfg;
    batch_buffers b;
    outputs o;
    af_matrix *mx = NULL;
    int failed = alloc_buffers(job, af_vector_bytes(ops->metric, job->query.cols), &b, err) != 0;
    /* The query matrix is read by every rank together, piece by piece (see gather_piece). */
    failed = af_mpi_agree(failed, err) != 0; /* open_all's result is agreed too */
    if (!failed && af_matrix_open_all(&job->query, MPI_COMM_WORLD, &mx, err) != 0) {
        af_error_prefix(err, "[query] path");
        failed = 1;
    }
    if (failed) {
        if (mx)
            af_matrix_close(mx);
        free_buffers(&b);
        return -1;
    }
    run_journal rj;
    int64_t first_batch = 0;
    int rc = begin_outputs(job, ops, &o, &rj, &first_batch, err);
    if (rc == 0) {
        int ok = run_batches(job, ops, mx, &o, &b, first_batch, &rj, err) == 0;
        rc = finish_outputs(job, &o, ok, err);
        end_journal(job, &rj);
    }
    if (rc == 0 && job->world.rank == 0 && !job->quiet)
        fprintf(stderr, "wrote %s%s%s: %" PRIu64 " rows x %d neighbours%s%s\n", c->output.index,
                o.count > 1 ? " and " : "", o.count > 1 ? c->output.distance : "", job->query.rows,
                c->query.k, ops->index_id ? ", index_id " : "", ops->index_id ? ops->index_id : "");
    af_matrix_close(mx);
    free_buffers(&b);
    return rc;
}
