/* libFuzzer target: the INDEX.meta reader and its consistency check. Whatever it reads must
 * survive a write/read round trip unchanged. */
#include "fuzz_util.h"
#include "index_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size);
    af_index_meta m;
    af_error err = {0};
    int rc = af_index_meta_parse(text, size, "fuzz.meta", &m, &err);
    fuzz_check_error(rc, &err);
    if (rc == 0) {
        /* The consistency check a loader runs before mapping what the table describes. */
        af_error check_err = {0};
        fuzz_check_error(af_index_meta_check(&m, "fuzz.meta", &check_err), &check_err);
        char *once = af_index_meta_format(&m);
        af_index_meta again;
        if (!once || af_index_meta_parse(once, strlen(once), "again.meta", &again, &err) != 0) {
            fprintf(stderr, "round trip failed: %s\n", err.msg);
            abort();
        }
        char *twice = af_index_meta_format(&again);
        if (!twice || strcmp(once, twice) != 0)
            abort();
        free(once);
        free(twice);
        af_index_meta_free(&again);
        af_index_meta_free(&m);
    }
    free(text);
    return 0;
}
