/* The journal of a query job: which batches of query rows are durably written into the
 * temporary outputs, so that `query --resume` / `run --resume` can continue an interrupted job
 * (killed, preempted, out of time) from there and end with the bytes an uninterrupted run
 * writes.
 *
 * It lives beside the outputs, as OUTPUT_INDEX.journal (out/nn_index.desc.journal; for
 * out.h5:/index, out.h5.journal): a small JSON file that rank 0 rewrites atomically
 * (temporary file, fsync, rename) after every rank's rows of a batch are synced to the file
 * system, so it never claims a batch that is not on disk. It records what the run must match
 * to continue it - the digest of the config keys that decide the results, the index's
 * identity (index_id), the query matrix's shape - and the output plans: the temporary files
 * the batches are written into. A job whose outputs are published removes it. */
#ifndef AF_JOURNAL_H
#define AF_JOURNAL_H

#include "af_error.h"
#include "output_store.h"

#include <stdint.h>

#define AF_JOURNAL_MAX_OUTPUTS 2

typedef struct af_journal {
    char config_digest[17]; /* af_config_result_digest */
    char index_id[64];
    uint64_t query_rows, query_cols;
    int32_t query_type;
    int32_t n_outputs;
    int64_t batch_rows;    /* query.batch */
    int64_t batches_total; /* ceil(query_rows / batch_rows) */
    int64_t batches_done;  /* batches [0, batches_done) are durably written */
    af_store_plan plan[AF_JOURNAL_MAX_OUTPUTS];
} af_journal;

/* OUTPUT_INDEX.journal for the job's output.index. */
int af_journal_path(const char *output_index, char *out, size_t cap, af_error *err);

/* Read PATH: 1 when it exists and holds a journal, 0 when there is none, -1 (err) when it
 * cannot be read or is not a journal of this annforest version. */
int af_journal_read(const char *path, af_journal *j, af_error *err);

/* Write PATH whole or not at all. */
int af_journal_write(const char *path, const af_journal *j, af_error *err);

/* Whether a journal found at PATH belongs to the job described by `now` (same result keys,
 * index and query shape, same outputs): 0, or -1 with a message saying what differs and what
 * to do (AF_E_MISMATCH). */
int af_journal_check(const char *path, const af_journal *found, const af_journal *now,
                     af_error *err);

/* Take over the journal's output plans, written by a process that is gone: take again the
 * output locks it held (so a second job on the same outputs is refused, as at prepare) and
 * forget its lock descriptors. On failure no lock is held. */
int af_journal_claim_outputs(af_journal *j, af_error *err);

/* Remove the temporary files a killed rewrite of PATH left (".NAME.journal.tmp.*" beside it).
 * Call it only while holding the outputs' locks: then no live job is rewriting PATH. */
void af_journal_sweep(const char *path);

/* Remove PATH (and its directory entry durably); a missing journal is fine. */
void af_journal_remove(const char *path);

#endif
