/* libFuzzer target: the bigmemory descriptor reader (R dput text -> af_matrix_desc). */
#include "fuzz_util.h"
#include "matrix_backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size);
    af_matrix_desc d;
    memset(&d, 0, sizeof d);
    af_error err = {0};
    int rc = af_describe_bigmemory("fuzz.desc", text, size, &d, &err);
    fuzz_check_error(rc, &err);
    if (rc == 0) {
        /* An accepted description is a view inside its stored matrix whose size is known. */
        uint64_t bytes;
        if (d.row_offset + d.rows > d.total_rows || d.col_offset + d.cols > d.total_cols ||
            af_matrix_required_bytes(&d, &bytes, &err) != 0)
            abort();
    }
    free(text);
    return 0;
}
