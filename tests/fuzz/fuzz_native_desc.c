/* libFuzzer target: the annforest native descriptor reader (DCF text -> af_matrix_desc). */
#include "fuzz_util.h"
#include "matrix_backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size);
    af_matrix_desc d;
    memset(&d, 0, sizeof d);
    af_error err = {0};
    int rc = af_describe_native("fuzz.afm", text, size, &d, &err);
    fuzz_check_error(rc, &err);
    if (rc == 0) {
        uint64_t bytes;
        if (af_matrix_required_bytes(&d, &bytes, &err) != 0 || d.data_path[0] == '\0')
            abort();
    }
    free(text);
    return 0;
}
