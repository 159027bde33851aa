#include "journal.h"
#include "af_version.h"
#include "elem_type.h"
#include "file_util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { journal_version = 1, max_journal_bytes = 1 << 20 };

int af_journal_path(const char *output_index, char *out, size_t cap, af_error *err) {
    /* The file part of the output: out.h5:/index -> out.h5. */
    const char *colon = strstr(output_index, ":/");
    int len = colon && access(output_index, F_OK) != 0 ? (int)(colon - output_index)
                                                       : (int)strlen(output_index);
    if (snprintf(out, cap, "%.*s.journal", len, output_index) >= (int)cap)
        return af_fail(err, AF_E_OUTPUT, "%s: path too long for its journal", output_index);
    return 0;
}

/* The plans are plain data (no pointers), written as hex: the journal is read back only by
 * the same annforest build, which the version and size checks make sure of. */
static char *to_hex(const void *data, size_t len) {
    static const char digits[] = "0123456789abcdef";
    char *hex = malloc(2 * len + 1);
    if (!hex)
        return NULL;
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    hex[2 * len] = '\0';
    return hex;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int from_hex(const char *hex, void *out, size_t len) {
    if (!hex || strlen(hex) != 2 * len)
        return -1;
    unsigned char *p = out;
    for (size_t i = 0; i < len; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        p[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static char *journal_text(const af_journal *j) {
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "journal_version", journal_version);
    cJSON_AddStringToObject(root, "annforest_version", AF_VERSION);
    cJSON_AddStringToObject(root, "config_digest", j->config_digest);
    cJSON_AddStringToObject(root, "index_id", j->index_id);
    cJSON_AddNumberToObject(root, "query_rows", (double)j->query_rows);
    cJSON_AddNumberToObject(root, "query_cols", (double)j->query_cols);
    cJSON_AddStringToObject(root, "query_type", af_elem_name(j->query_type));
    cJSON_AddNumberToObject(root, "batch_rows", (double)j->batch_rows);
    cJSON_AddNumberToObject(root, "batches_total", (double)j->batches_total);
    cJSON_AddNumberToObject(root, "batches_done", (double)j->batches_done);
    cJSON *outs = cJSON_AddArrayToObject(root, "outputs");
    int ok = outs != NULL;
    for (int i = 0; ok && i < j->n_outputs; i++) {
        cJSON *o = cJSON_CreateObject();
        char *hex = to_hex(&j->plan[i], sizeof j->plan[i]);
        ok = o && hex;
        if (ok) {
            cJSON_AddStringToObject(o, "path", af_store_name(&j->plan[i]));
            cJSON_AddStringToObject(o, "temporary_file", j->plan[i].file.tmp_data_path);
            cJSON_AddStringToObject(o, "plan", hex);
            cJSON_AddItemToArray(outs, o);
        } else {
            cJSON_Delete(o);
        }
        free(hex);
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return text;
}

int af_journal_write(const char *path, const af_journal *j, af_error *err) {
    char *text = journal_text(j);
    if (!text)
        return af_fail(err, AF_E_INTERNAL, "out of memory writing %s", path);
    int rc = af_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

static int64_t get_int(const cJSON *root, const char *name, int *bad) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0) {
        *bad = 1;
        return 0;
    }
    return (int64_t)v->valuedouble;
}

static void get_string(const cJSON *root, const char *name, char *out, size_t cap, int *bad) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap) {
        *bad = 1;
        return;
    }
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
}

static int parse_outputs(const cJSON *root, af_journal *j) {
    const cJSON *outs = cJSON_GetObjectItemCaseSensitive(root, "outputs");
    int n = cJSON_GetArraySize(outs);
    if (!cJSON_IsArray(outs) || n < 1 || n > AF_JOURNAL_MAX_OUTPUTS)
        return -1;
    j->n_outputs = n;
    for (int i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(outs, i);
        const cJSON *plan = cJSON_GetObjectItemCaseSensitive(o, "plan");
        if (!cJSON_IsString(plan) || from_hex(plan->valuestring, &j->plan[i], sizeof j->plan[i]))
            return -1;
    }
    return 0;
}

static int parse_journal(const cJSON *root, af_journal *j, char *version, size_t vcap) {
    int bad = 0;
    memset(j, 0, sizeof *j);
    get_string(root, "annforest_version", version, vcap, &bad);
    if (bad || get_int(root, "journal_version", &bad) != journal_version ||
        strcmp(version, AF_VERSION) != 0)
        return -2; /* readable, but another version's */
    get_string(root, "config_digest", j->config_digest, sizeof j->config_digest, &bad);
    get_string(root, "index_id", j->index_id, sizeof j->index_id, &bad);
    char type[32] = "";
    get_string(root, "query_type", type, sizeof type, &bad);
    j->query_type = af_elem_from_name(type);
    j->query_rows = (uint64_t)get_int(root, "query_rows", &bad);
    j->query_cols = (uint64_t)get_int(root, "query_cols", &bad);
    j->batch_rows = get_int(root, "batch_rows", &bad);
    j->batches_total = get_int(root, "batches_total", &bad);
    j->batches_done = get_int(root, "batches_done", &bad);
    if (bad || j->batches_done > j->batches_total || parse_outputs(root, j) != 0)
        return -1;
    return 0;
}

int af_journal_read(const char *path, af_journal *j, af_error *err) {
    if (access(path, F_OK) != 0 && (errno == ENOENT || errno == ENOTDIR))
        return 0; /* no journal (the output's directory may not even exist yet) */
    size_t len = 0;
    char *text = af_read_small_file(path, max_journal_bytes, &len, err);
    if (!text)
        return -1;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    char version[32] = "?";
    int rc = root ? parse_journal(root, j, version, sizeof version) : -1;
    cJSON_Delete(root);
    if (rc == -2)
        return af_fail(err, AF_E_MISMATCH,
                       "%s was written by annforest %s, not this annforest %s: its partial outputs "
                       "cannot be continued; run without --resume to start over",
                       path, version, AF_VERSION);
    if (rc != 0)
        return af_fail(err, AF_E_INPUT,
                       "%s is not a readable annforest journal (damaged?); run without --resume "
                       "to start over",
                       path);
    return 1;
}

int af_journal_check(const char *path, const af_journal *found, const af_journal *now,
                     af_error *err) {
    const char *again = "resume with the config and index it was started with, or run without "
                        "--resume to start over";
    if (strcmp(found->config_digest, now->config_digest) != 0)
        return af_fail(err, AF_E_MISMATCH,
                       "%s: the job was started with another config (keys that decide the "
                       "results differ: digest %s, now %s); %s",
                       path, found->config_digest, now->config_digest, again);
    if (strcmp(found->index_id, now->index_id) != 0)
        return af_fail(err, AF_E_MISMATCH,
                       "%s: the job was started with index %s, the index is now %s; %s", path,
                       found->index_id, now->index_id, again);
    if (found->query_rows != now->query_rows || found->query_cols != now->query_cols ||
        found->query_type != now->query_type)
        return af_fail(err, AF_E_MISMATCH,
                       "%s: the job was started on a %" PRIu64 " x %" PRIu64
                       " query matrix, it is now %" PRIu64 " x %" PRIu64 " (%s); %s",
                       path, found->query_rows, found->query_cols, now->query_rows, now->query_cols,
                       af_elem_name(now->query_type), again);
    if (found->n_outputs != now->n_outputs || found->batch_rows != now->batch_rows)
        return af_fail(err, AF_E_MISMATCH, "%s: the job was started with other outputs; %s", path,
                       again);
    for (int i = 0; i < found->n_outputs; i++) {
        const char *tmp = found->plan[i].file.tmp_data_path;
        if (strcmp(af_store_name(&found->plan[i]), af_store_name(&now->plan[i])) != 0)
            return af_fail(err, AF_E_MISMATCH, "%s: the job was started writing %s, not %s; %s",
                           path, af_store_name(&found->plan[i]), af_store_name(&now->plan[i]),
                           again);
        if (found->plan[i].shares_with < 0 && access(tmp, W_OK) != 0)
            return af_fail_errno(err, AF_E_INPUT, errno,
                                 "%s: the partial output %s of %s is gone; run without --resume "
                                 "to start over",
                                 path, tmp, af_store_name(&found->plan[i]));
    }
    return 0;
}

int af_journal_claim_outputs(af_journal *j, af_error *err) {
    for (int i = 0; i < j->n_outputs; i++)
        j->plan[i].file.lock_fd1 = 0; /* the dead process's descriptors mean nothing here */
    for (int i = 0; i < j->n_outputs; i++) {
        if (af_store_reclaim(&j->plan[i], err) != 0) {
            for (int k = 0; k < i; k++)
                af_store_unlock(&j->plan[k]);
            return -1;
        }
    }
    return 0;
}

void af_journal_sweep(const char *path) {
    /* af_write_file_atomic's temporary name: ".BASENAME.tmp.XXXXXX" in the same directory. */
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path) + 1 : 0;
    char pattern[4200];
    if (snprintf(pattern, sizeof pattern, "%.*s.%s.tmp.??????", dir_len, path, path + dir_len) >=
        (int)sizeof pattern)
        return;
    glob_t g;
    if (glob(pattern, GLOB_NOSORT, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++)
            unlink(g.gl_pathv[i]);
    globfree(&g);
}

void af_journal_remove(const char *path) {
    if (unlink(path) != 0)
        return;
    /* Make the removal durable too: a journal that reappears after a crash would point at
     * temporary files that are gone. */
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    int fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}
