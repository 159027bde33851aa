/* libFuzzer target: the job config reader (INI file + --set overrides). The input is the file's
 * text; after a 0x01 byte come overrides, one per line. Whatever loads must load again, with
 * the same settings, from its own effective INI. */
#include "config.h"
#include "fuzz_util.h"

#include <sys/mman.h>
#include <unistd.h>

static int memfd = -1;
static char memfd_path[64];

static void put_file(const uint8_t *data, size_t size) {
    if (memfd < 0) {
        memfd = memfd_create("fuzz.ini", 0);
        if (memfd < 0)
            abort();
        snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
    }
    if (ftruncate(memfd, 0) != 0 || (size && pwrite(memfd, data, size, 0) != (ssize_t)size))
        abort();
}

static int same_settings(const af_config *a, const af_config *b) {
    return af_config_build_hash(a) == af_config_build_hash(b) && a->query.k == b->query.k &&
           a->query.search_k == b->query.search_k && a->query.batch == b->query.batch &&
           a->job.threads == b->job.threads && strcmp(a->job.name, b->job.name) == 0 &&
           strcmp(a->query.path, b->query.path) == 0 &&
           strcmp(a->output.index, b->output.index) == 0 &&
           strcmp(a->output.distance, b->output.distance) == 0 &&
           a->output.existing == b->output.existing && a->output.base == b->output.base;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *split = memchr(data, 0x01, size);
    size_t file_len = split ? (size_t)(split - data) : size;
    put_file(data, file_len);
    char *sets_text = split ? fuzz_text(split + 1, size - file_len - 1) : NULL;
    const char *sets[16];
    int n_sets = 0;
    for (char *p = sets_text, *line; p && n_sets < 16 && (line = strsep(&p, "\n"));)
        sets[n_sets++] = line;

    static af_config cfg, again;
    af_error err = {0};
    int rc = af_config_load(memfd_path, sets, n_sets, &cfg, &err);
    fuzz_check_error(rc, &err);
    if (rc == 0) {
        rc = af_config_require(&cfg, AF_NEED_BUILD | AF_NEED_QUERY, &err);
        fuzz_check_error(rc, &err);
        char *ini = af_config_effective_ini(&cfg);
        if (!ini)
            abort();
        put_file((const uint8_t *)ini, strlen(ini));
        if (af_config_load(memfd_path, NULL, 0, &again, &err) != 0) {
            fprintf(stderr, "effective INI does not load again: %s\n%s\n", err.msg, ini);
            abort();
        }
        /* job.name's default comes from the file's name, which differs: compare the rest. */
        snprintf(again.job.name, sizeof again.job.name, "%s", cfg.job.name);
        if (!same_settings(&cfg, &again)) {
            fprintf(stderr, "effective INI loads different settings:\n%s\n", ini);
            abort();
        }
        free(ini);
    }
    free(sets_text);
    return 0;
}
