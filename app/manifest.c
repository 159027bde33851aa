#include "manifest.h"
#include "af_version.h"
#include "checksum.h"
#include "config_keys.h"
#include "file_digest.h"
#include "file_util.h"
#include "index_meta.h"
#include "progress.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#if AF_HAVE_HDF5
#include <hdf5.h>
#endif

enum { max_phases = 32, max_files = 32, max_args = 64 };

typedef struct phase {
    char name[48];
    double start, seconds; /* seconds < 0: still running */
    uint64_t rows;
    int within; /* the phase running when it began (it is part of that one), or -1 */
} phase;

typedef struct recorded_path {
    char path[AF_MATRIX_PATH_MAX + 32];
    int is_matrix;
    int varies; /* its bytes differ from run to run by design (a recorded time) */
    int known;  /* its digest is already known (bytes, xxh3): not read again */
    uint64_t bytes;
    char xxh3[17];
} recorded_path;

/* This process's record. */
static struct {
    char command[32];
    double t0;
    time_t started;
    char *argv[max_args];
    int argc;
    phase phases[max_phases];
    int n_phases;
    recorded_path files[max_files];
    int n_files;
    int resumed;
    int64_t resume_first_batch, resume_batches;
} rec;

void af_manifest_begin(const char *command, int argc, char **argv) {
    snprintf(rec.command, sizeof rec.command, "%s", command);
    rec.t0 = af_now();
    rec.started = time(NULL);
    rec.argc = argc < max_args ? argc : max_args;
    for (int i = 0; i < rec.argc; i++)
        rec.argv[i] = argv[i];
}

void af_phase_begin(const char *name) {
    if (rec.n_phases == max_phases)
        return; /* timing is advisory: past the table's size, phases go unrecorded */
    phase *p = &rec.phases[rec.n_phases];
    p->within = -1;
    for (int i = rec.n_phases - 1; i >= 0 && p->within < 0; i--)
        if (rec.phases[i].seconds < 0)
            p->within = i;
    rec.n_phases++;
    snprintf(p->name, sizeof p->name, "%s", name);
    p->start = af_now();
    p->seconds = -1;
    p->rows = 0;
}

void af_phase_end(const char *name, uint64_t rows) {
    for (int i = rec.n_phases - 1; i >= 0; i--) {
        phase *p = &rec.phases[i];
        if (p->seconds < 0 && strcmp(p->name, name) == 0) {
            p->seconds = af_now() - p->start;
            p->rows = rows;
            return;
        }
    }
}

static void add_path(const char *path, int is_matrix, int varies) {
    for (int i = 0; i < rec.n_files; i++)
        if (strcmp(rec.files[i].path, path) == 0)
            return;
    recorded_path *f = &rec.files[rec.n_files];
    if (rec.n_files == max_files || !path[0] || strlen(path) >= sizeof f->path)
        return; /* config paths are shorter: cannot happen */
    rec.n_files++;
    memcpy(f->path, path, strlen(path) + 1);
    f->is_matrix = is_matrix;
    f->varies = varies;
}

void af_manifest_add_file(const char *path) {
    add_path(path, 0, 0);
}

void af_manifest_add_matrix(const char *path) {
    add_path(path, 1, 0);
}

void af_manifest_add_index(const char *index_path, uint64_t bytes, const char *xxh3) {
    char meta_path[PATH_MAX + 8];
    af_index_meta_path(index_path, meta_path, sizeof meta_path);
    add_path(index_path, 0, 0);
    for (int i = 0; i < rec.n_files; i++)
        if (strcmp(rec.files[i].path, index_path) == 0) {
            rec.files[i].known = 1;
            rec.files[i].bytes = bytes;
            snprintf(rec.files[i].xxh3, sizeof rec.files[i].xxh3, "%s", xxh3);
        }
    add_path(meta_path, 0, 1); /* it records the index file's modification time */
}

void af_manifest_add_outputs(const af_config *cfg) {
    add_path(cfg->output.index, 1, 0);
    add_path(cfg->output.distance, 1, 0);
}

void af_manifest_note_resume(int64_t first_batch, int64_t batches) {
    rec.resumed = 1;
    rec.resume_first_batch = first_batch;
    rec.resume_batches = batches;
}

int af_output_file_part(const char *output) {
    const char *colon = strstr(output, ":/");
    struct stat st;
    return colon && stat(output, &st) != 0 ? (int)(colon - output) : (int)strlen(output);
}

int af_manifest_path(const char *main_output, char *out, size_t cap, af_error *err) {
    if (snprintf(out, cap, "%.*s.manifest.json", af_output_file_part(main_output), main_output) >=
        (int)cap)
        return af_fail(err, AF_E_OUTPUT, "%s: path too long for its manifest", main_output);
    return 0;
}

void af_config_result_digest(const af_config *cfg, char hex[17]) {
    /* An allow-list, as for the build hash: a key added later (a new section) never changes
     * what an interrupted job must match unless it is added here. */
    static const af_config_key result_keys[] = {AF_CFG_JOB_SEED,           AF_CFG_REFERENCE_PATH,
                                                AF_CFG_REFERENCE_NA,       AF_CFG_INDEX_METRIC,
                                                AF_CFG_INDEX_TREES,        AF_CFG_INDEX_SHARDS,
                                                AF_CFG_INDEX_LEAF_SIZE,    AF_CFG_INDEX_FORMAT,
                                                AF_CFG_QUERY_PATH,         AF_CFG_QUERY_K,
                                                AF_CFG_QUERY_SEARCH_K,     AF_CFG_QUERY_BATCH,
                                                AF_CFG_QUERY_EXCLUDE_SELF, AF_CFG_OUTPUT_INDEX,
                                                AF_CFG_OUTPUT_DISTANCE,    AF_CFG_OUTPUT_ORDER,
                                                AF_CFG_OUTPUT_BASE};
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    const char *tag = "annforest-result-keys-v1\n";
    XXH3_64bits_update(st, tag, strlen(tag));
    for (size_t i = 0; i < sizeof result_keys / sizeof result_keys[0]; i++) {
        char value[AF_CONFIG_PATH_MAX], line[AF_CONFIG_PATH_MAX + 64];
        af_key_format(cfg, af_key_spec_of(result_keys[i]), value, sizeof value);
        int n = snprintf(line, sizeof line, "%s=%s\n", af_config_key_name(result_keys[i]), value);
        XXH3_64bits_update(st, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    snprintf(hex, 17, "%016llx", (unsigned long long)XXH3_64bits_digest(st));
    XXH3_freeState(st);
}

/* ---- what every rank contributes ---------------------------------------------------------- */

typedef struct rank_facts {
    char host[MPI_MAX_PROCESSOR_NAME + 1];
    int64_t peak_rss_bytes;
    double cpu_seconds;
    int32_t threads;
    int32_t pad_;
} rank_facts;

static void local_facts(const af_job *job, rank_facts *f) {
    memset(f, 0, sizeof *f);
    int len = 0;
    MPI_Get_processor_name(f->host, &len);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        f->peak_rss_bytes = (int64_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
        f->cpu_seconds = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
                         (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    }
    f->threads = job ? job->threads : 1;
}

/* FNV-1a over the phase names in order. */
static uint64_t phase_names_hash(void) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < rec.n_phases; i++)
        for (const char *c = rec.phases[i].name;; c++) {
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
            if (!*c)
                break;
        }
    return h;
}

/* Phase seconds, the slowest rank's. The commands are collective, so every rank went through
 * the same phases in the same order; n is rank 0's count. */
static void slowest_phase_times(double *out, int n) {
    double *mine = calloc((size_t)(n ? n : 1), sizeof *mine);
    if (!mine) {
        fprintf(stderr, "annforest: out of memory on rank %d\n", af_world_get().rank);
        MPI_Abort(MPI_COMM_WORLD, AF_E_INTERNAL); /* the others are in the reduction */
    }
    for (int i = 0; i < n; i++)
        mine[i] = i < rec.n_phases ? rec.phases[i].seconds : -1;
    MPI_Reduce(mine, out, n, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    free(mine);
    /* A phase begun on some ranks only would shift every later one: check the names agree. */
    uint64_t h = phase_names_hash(), lo = 0, hi = 0;
    MPI_Reduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, 0, MPI_COMM_WORLD);
    MPI_Reduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, 0, MPI_COMM_WORLD);
    if (af_world_get().rank == 0 && lo != hi) {
        fprintf(stderr, "annforest: internal: the ranks recorded different phases; the manifest "
                        "gives rank 0's phase times\n");
        for (int i = 0; i < n; i++)
            out[i] = rec.phases[i].seconds;
    }
}

/* ---- checksums ---------------------------------------------------------------------------- */

typedef struct file_sum {
    char path[AF_MATRIX_PATH_MAX + 32];
    int32_t varies;
    int32_t known; /* bytes and xxh3 already filled in */
    uint64_t bytes;
    char xxh3[17];
} file_sum;

/* Rank 0: the recorded paths, matrices expanded into their descriptor and data files. */
static int expand_files(file_sum **out, int *n_out, af_error *err) {
    int cap = 4 * max_files, n = 0;
    file_sum *list = calloc((size_t)cap, sizeof *list);
    if (!list)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    for (int i = 0; i < rec.n_files; i++) {
        const char *p = rec.files[i].path;
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && n < cap) {
            list[n].varies = rec.files[i].varies;
            list[n].known = rec.files[i].known;
            list[n].bytes = rec.files[i].bytes;
            memcpy(list[n].xxh3, rec.files[i].xxh3, sizeof list->xxh3);
            snprintf(list[n++].path, sizeof list->path, "%s", p);
        }
        if (!rec.files[i].is_matrix)
            continue;
        af_matrix_desc d;
        if (af_matrix_describe(p, &d, err) != 0) {
            free(list);
            return af_error_prefix(err, "manifest"), -1;
        }
        uint64_t cols = d.separated ? d.total_cols : 1;
        for (uint64_t c = 0; c < cols && n < cap; c++) {
            char file[AF_MATRIX_PATH_MAX + 32];
            if (af_matrix_data_file(&d, c, file, sizeof file, err) != 0) {
                free(list);
                return -1;
            }
            int seen = 0;
            for (int j = 0; j < n && !seen; j++)
                seen = strcmp(list[j].path, file) == 0;
            if (!seen)
                snprintf(list[n++].path, sizeof list->path, "%s", file);
        }
    }
    *out = list;
    *n_out = n;
    return 0;
}

/* Collective: every rank hashes its share of each file. */
static int checksum_files(const af_job *job, file_sum **out, int *n_out, af_error *err) {
    file_sum *list = NULL;
    int n = 0;
    int failed = af_world_get().rank == 0 && expand_files(&list, &n, err) != 0;
    if (af_mpi_agree(failed, err) != 0)
        return -1;
    size_t len = 0;
    file_sum *all = af_bcast_blob(list, (size_t)n * sizeof *list, &len, err);
    free(list);
    if (!all)
        return -1;
    n = (int)(len / sizeof *all);
    for (int i = 0; i < n; i++) {
        if (all[i].known) /* e.g. the index, hashed by its build a moment ago */
            continue;
        const char *paths[1] = {all[i].path};
        af_digest_request req = {paths, 1, job ? job->threads : 0, NULL, NULL};
        if (af_files_digest(&req, &all[i].bytes, all[i].xxh3, err) != 0) {
            free(all);
            return af_error_prefix(err, "manifest checksum"), -1;
        }
    }
    *out = all;
    *n_out = n;
    return 0;
}

/* ---- the JSON ----------------------------------------------------------------------------- */

static void iso_utc(time_t t, char *out, size_t cap) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Each key typed as JSON: integers as exact numbers (a 64-bit seed too), booleans, strings. */
static cJSON *config_json(const af_config *cfg) {
    cJSON *root = cJSON_CreateObject();
    for (int k = 0; k < AF_CFG_KEY_COUNT; k++) {
        const af_key_spec *spec = af_key_spec_of((af_config_key)k);
        cJSON *section = cJSON_GetObjectItemCaseSensitive(root, spec->section);
        if (!section)
            section = cJSON_AddObjectToObject(root, spec->section);
        char value[AF_CONFIG_PATH_MAX];
        af_key_format(cfg, spec, value, sizeof value);
        if (spec->type == AF_KT_INT || spec->type == AF_KT_U64)
            cJSON_AddRawToObject(section, spec->name, value);
        else if (spec->type == AF_KT_BOOL)
            cJSON_AddBoolToObject(section, spec->name, strcmp(value, "true") == 0);
        else
            cJSON_AddStringToObject(section, spec->name, value);
    }
    return root;
}

static void add_versions(cJSON *root) {
    cJSON *v = cJSON_AddObjectToObject(root, "versions");
    cJSON_AddStringToObject(v, "annforest", AF_VERSION);
    char lib[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len = 0, major = 0, minor = 0;
    MPI_Get_library_version(lib, &len);
    /* Open MPI's string runs over several comma-separated fields; keep its first line. */
    lib[strcspn(lib, "\n")] = '\0';
    cJSON_AddStringToObject(v, "mpi_library", lib);
    MPI_Get_version(&major, &minor);
    char std[16];
    snprintf(std, sizeof std, "%d.%d", major, minor);
    cJSON_AddStringToObject(v, "mpi_standard", std);
#if AF_HAVE_HDF5
    unsigned hmaj = 0, hmin = 0, hrel = 0;
    H5get_libversion(&hmaj, &hmin, &hrel);
    char h5[32];
    snprintf(h5, sizeof h5, "%u.%u.%u", hmaj, hmin, hrel);
    cJSON_AddStringToObject(v, "hdf5", h5);
#else
    cJSON_AddNullToObject(v, "hdf5");
#endif
}

static void add_slurm(cJSON *root) {
    static const char *const vars[][2] = {
        {"job_id", "SLURM_JOB_ID"},
        {"array_job_id", "SLURM_ARRAY_JOB_ID"},
        {"array_task_id", "SLURM_ARRAY_TASK_ID"},
        {"job_name", "SLURM_JOB_NAME"},
        {"partition", "SLURM_JOB_PARTITION"},
        {"nodelist", "SLURM_JOB_NODELIST"},
        {"ntasks", "SLURM_NTASKS"},
        {"cpus_per_task", "SLURM_CPUS_PER_TASK"},
        {"restart_count", "SLURM_RESTART_COUNT"},
        {"cluster", "SLURM_CLUSTER_NAME"},
    };
    if (!getenv("SLURM_JOB_ID")) {
        cJSON_AddNullToObject(root, "slurm");
        return;
    }
    cJSON *s = cJSON_AddObjectToObject(root, "slurm");
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i][1]);
        if (v)
            cJSON_AddStringToObject(s, vars[i][0], v);
    }
}

static void add_ranks(cJSON *root, const rank_facts *facts, int n) {
    cJSON *ranks = cJSON_AddArrayToObject(root, "per_rank");
    for (int r = 0; r < n; r++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "rank", r);
        cJSON_AddStringToObject(o, "host", facts[r].host);
        cJSON_AddNumberToObject(o, "threads", facts[r].threads);
        cJSON_AddNumberToObject(o, "peak_rss_bytes", (double)facts[r].peak_rss_bytes);
        cJSON_AddNumberToObject(o, "cpu_seconds", facts[r].cpu_seconds);
        cJSON_AddItemToArray(ranks, o);
    }
    cJSON *hosts = cJSON_AddArrayToObject(root, "hosts");
    for (int r = 0; r < n; r++) {
        int seen = 0;
        for (int q = 0; q < r && !seen; q++)
            seen = strcmp(facts[q].host, facts[r].host) == 0;
        if (!seen)
            cJSON_AddItemToArray(hosts, cJSON_CreateString(facts[r].host));
    }
}

static void add_phases(cJSON *root, const double *seconds) {
    cJSON *arr = cJSON_AddArrayToObject(root, "phases");
    for (int i = 0; i < rec.n_phases; i++) {
        const phase *p = &rec.phases[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", p->name);
        if (p->within >= 0)
            cJSON_AddStringToObject(o, "within", rec.phases[p->within].name);
        cJSON_AddNumberToObject(o, "seconds", seconds[i] > 0 ? seconds[i] : 0);
        if (p->rows) {
            cJSON_AddNumberToObject(o, "rows", (double)p->rows);
            cJSON_AddNumberToObject(o, "rows_per_second",
                                    seconds[i] > 0 ? (double)p->rows / seconds[i] : 0);
        }
        cJSON_AddItemToArray(arr, o);
    }
}

static void add_files(cJSON *root, const file_sum *sums, int n) {
    cJSON_AddStringToObject(root, "checksum_scheme", AF_DIGEST_SCHEME);
    cJSON *arr = cJSON_AddArrayToObject(root, "files");
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", sums[i].path);
        cJSON_AddNumberToObject(o, "bytes", (double)sums[i].bytes);
        cJSON_AddStringToObject(o, "xxh3", sums[i].xxh3);
        cJSON_AddBoolToObject(o, "same_every_run", !sums[i].varies);
        cJSON_AddItemToArray(arr, o);
    }
}

/* The index a command built or searched, as its sidecar names it. */
static void add_index(cJSON *root, const af_job *job) {
    const char *cmd = job->command;
    if (strcmp(cmd, "build") != 0 && strcmp(cmd, "query") != 0 && strcmp(cmd, "run") != 0)
        return;
    cJSON *o = cJSON_AddObjectToObject(root, "index");
    cJSON_AddStringToObject(o, "path", job->cfg.index.path);
    char meta_path[PATH_MAX + 8];
    af_index_meta_path(job->cfg.index.path, meta_path, sizeof meta_path);
    af_index_meta m;
    af_error ignored = {0};
    if (af_index_meta_read(meta_path, &m, &ignored) == 0) {
        cJSON_AddStringToObject(o, "index_id", m.index_id);
        cJSON_AddNumberToObject(o, "rows", (double)m.n_ref);
        cJSON_AddNumberToObject(o, "shards", (double)m.shards);
        af_index_meta_free(&m);
    } else {
        cJSON_AddNullToObject(o, "index_id"); /* a foreign Annoy file has no sidecar */
    }
}

static void add_run(cJSON *root, const af_job *job, int ranks) {
    cJSON_AddNumberToObject(root, "manifest_version", 1);
    cJSON_AddStringToObject(root, "command", rec.command);
    cJSON *argv = cJSON_AddArrayToObject(root, "arguments");
    for (int i = 0; i < rec.argc; i++)
        cJSON_AddItemToArray(argv, cJSON_CreateString(rec.argv[i]));
    char when[32];
    iso_utc(rec.started, when, sizeof when);
    cJSON_AddStringToObject(root, "started", when);
    iso_utc(time(NULL), when, sizeof when);
    cJSON_AddStringToObject(root, "finished", when);
    cJSON_AddNumberToObject(root, "elapsed_seconds", af_now() - rec.t0);
    char cwd[PATH_MAX];
    cJSON_AddStringToObject(root, "working_directory", getcwd(cwd, sizeof cwd) ? cwd : "");
    cJSON_AddNumberToObject(root, "ranks", ranks);
    cJSON_AddNumberToObject(root, "threads_per_rank", job ? job->threads : 1);
    if (rec.resumed) {
        cJSON *r = cJSON_AddObjectToObject(root, "resumed");
        cJSON_AddNumberToObject(r, "first_batch", (double)rec.resume_first_batch);
        cJSON_AddNumberToObject(r, "batches", (double)rec.resume_batches);
    }
    if (!job)
        return;
    cJSON_AddStringToObject(root, "config_file", job->cfg.file);
    char digest[17];
    af_config_result_digest(&job->cfg, digest);
    cJSON_AddStringToObject(root, "config_digest", digest);
    cJSON_AddItemToObject(root, "config", config_json(&job->cfg));
    char *ini = af_config_effective_ini(&job->cfg);
    cJSON_AddStringToObject(root, "config_ini", ini ? ini : "");
    free(ini);
    add_index(root, job);
}

static int write_json(const af_job *job, const char *main_output, const rank_facts *facts,
                      int ranks, const double *seconds, const file_sum *sums, int n_sums,
                      af_error *err) {
    char path[AF_MATRIX_PATH_MAX + 32];
    if (af_manifest_path(main_output, path, sizeof path, err) != 0)
        return -1;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    add_run(root, job, ranks);
    add_versions(root);
    add_slurm(root);
    add_ranks(root, facts, ranks);
    add_phases(root, seconds);
    add_files(root, sums, n_sums);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return af_fail(err, AF_E_INTERNAL, "out of memory for the manifest");
    size_t len = strlen(text);
    char *with_newline = realloc(text, len + 2);
    int rc = -1;
    if (!with_newline) {
        free(text);
        rc = af_fail(err, AF_E_INTERNAL, "out of memory for the manifest");
    } else {
        with_newline[len] = '\n';
        with_newline[len + 1] = '\0';
        rc = af_write_file_atomic(path, with_newline, len + 1, err);
        free(with_newline);
    }
    return rc;
}

int af_manifest_write(const af_job *job, const char *main_output, af_error *err) {
    af_world w = af_world_get();
    af_phase_begin("checksum outputs");
    file_sum *sums = NULL;
    int n_sums = 0;
    if (checksum_files(job, &sums, &n_sums, err) != 0)
        return -1;
    af_phase_end("checksum outputs", 0);

    rank_facts mine, *facts = NULL;
    local_facts(job, &mine);
    double *seconds = calloc((size_t)(rec.n_phases ? rec.n_phases : 1), sizeof *seconds);
    int failed = !seconds;
    if (w.rank == 0) {
        facts = calloc((size_t)w.size, sizeof *facts);
        failed |= !facts;
    }
    if (failed)
        af_fail(err, AF_E_INTERNAL, "out of memory for the manifest");
    if (af_mpi_agree(failed, err) != 0) {
        free(sums), free(seconds), free(facts);
        return -1;
    }
    MPI_Gather(&mine, (int)sizeof mine, MPI_BYTE, facts, (int)sizeof mine, MPI_BYTE, 0,
               MPI_COMM_WORLD);
    int n_phases = rec.n_phases;
    MPI_Bcast(&n_phases, 1, MPI_INT, 0, MPI_COMM_WORLD);
    slowest_phase_times(seconds, n_phases);
    failed =
        w.rank == 0 && write_json(job, main_output, facts, w.size, seconds, sums, n_sums, err) != 0;
    free(sums), free(seconds), free(facts);
    return af_mpi_agree(failed, err);
}
