/* libFuzzer target: the INDEX.meta reader. Whatever it accepts must survive a write/read round
 * trip unchanged. */
#include "fuzz_util.h"
#include "index_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size);
    af_index_meta m;
    af_error err = {0};
    int rc = af_index_meta_parse(text, size, "fuzz.meta", &m, &err);
    fuzz_check_error(rc, &err);
    if (rc == 0) {
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
