/* The run manifest: a JSON record, written beside a command's main output once that output is
 * published, of what ran and how, so that a batch job can be checked and reproduced months
 * later: the effective config, the versions of annforest, the MPI library and HDF5, ranks,
 * threads and hosts, the Slurm job, per-phase times and rows per second, peak memory per rank,
 * and a checksum of every file the command wrote (docs/workflows.md describes every field).
 *
 * Where: the main output's file + ".manifest.json" - OUTPUT_INDEX.manifest.json for query, run
 * and exact (e.g. out/nn_index.desc.manifest.json; for out.h5:/index, out.h5.manifest.json),
 * INDEX.manifest.json for build (out/ref.ann.manifest.json, beside out/ref.ann.meta).
 *
 * The record is kept per process: every rank calls the same functions in the same order (the
 * commands are collective), and af_manifest_write gathers what the ranks saw onto rank 0. */
#ifndef AF_MANIFEST_H
#define AF_MANIFEST_H

#include "job.h"

#include <stddef.h>
#include <stdint.h>

/* Start the record of a command (called by af_job_setup): the clock and the command line
 * (argv[0] is the command name). */
void af_manifest_begin(const char *command, int argc, char **argv);

/* Time a phase of the work on this rank. Phases may nest; each is ended by its name. `rows` is
 * how many rows the phase went through (0 when rows mean nothing for it): the manifest gives
 * rows per second from it. */
void af_phase_begin(const char *name);
void af_phase_end(const char *name, uint64_t rows);

/* A file the command wrote and published (rank 0's list is the one recorded). */
void af_manifest_add_file(const char *path);

/* An output matrix the command wrote: its descriptor and its data file(s), found by describing
 * the published matrix when the manifest is written. */
void af_manifest_add_matrix(const char *path);

/* The index file, whose digest (file_digest.h, the manifest's own scheme) its build has just
 * computed, and its .meta sidecar. */
void af_manifest_add_index(const char *index_path, uint64_t bytes, const char *xxh3);

/* The output matrices of a query job: output.index and, when set, output.distance. */
void af_manifest_add_outputs(const af_config *cfg);

/* Record that this run resumed an interrupted one, from batch `first_batch` of `batches`. */
void af_manifest_note_resume(int64_t first_batch, int64_t batches);

/* The length of the file part of an output path: all of it, but for an HDF5 "FILE.h5:/dataset"
 * only FILE.h5. Files beside an output (manifest, journal) are named after it. */
int af_output_file_part(const char *output);

/* Where the manifest of MAIN_OUTPUT goes: its file (an HDF5 "FILE.h5:/dataset" names FILE.h5)
 * + ".manifest.json". */
int af_manifest_path(const char *main_output, char *out, size_t cap, af_error *err);

/* Collective, after the outputs are published: checksum every recorded file (all ranks share
 * the hashing), gather each rank's host, threads and peak memory, and let rank 0 write the
 * manifest of main_output atomically (temporary file + rename). */
int af_manifest_write(const af_job *job, const char *main_output, af_error *err);

/* XXH3 of the keys that decide a query job's results, as "section.key=value" lines: job.seed,
 * [reference] path and na, the [index] build keys (metric, trees, shards, leaf_size, format),
 * [query] path, k, search_k, batch, exclude_self, and [output] index, distance, order, base.
 * Not: the job name, threads, index path/load/prefault (the index is checked by its id),
 * output.existing, [bench]. 16 hex digits. */
void af_config_result_digest(const af_config *cfg, char hex[17]);

#endif
