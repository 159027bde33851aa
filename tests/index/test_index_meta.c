/* The .meta sidecar: DCF parsing rules and a lossless round trip of every field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dcf.h"
#include "index_meta.h"

#include <stdlib.h>
#include <string.h>

static void dcf_reads_fields_and_continuations(void **state) {
    (void)state;
    const char *text = "a: 1\nlong_key: first\n  second\n\nb.c-d:   spaced value  \r\n";
    af_dcf d;
    af_error err = {0};
    assert_int_equal(af_dcf_parse(text, strlen(text), "t.meta", &d, &err), 0);
    assert_string_equal(af_dcf_get(&d, "a"), "1");
    assert_string_equal(af_dcf_get(&d, "long_key"), "first second");
    assert_string_equal(af_dcf_get(&d, "b.c-d"), "spaced value");
    assert_null(af_dcf_get(&d, "missing"));
    af_dcf_free(&d);
}

static void dcf_rejects_malformed_text(void **state) {
    (void)state;
    const char *bad[] = {"no colon here\n", " leading continuation\n", "a: 1\na: 2\n",
                         "bad key: 1\n"};
    const char *why[] = {"expected 'key: value'", "continuation line", "appears twice",
                         "expected 'key: value'"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        af_dcf d;
        af_error err = {0};
        assert_int_equal(af_dcf_parse(bad[i], strlen(bad[i]), "x.meta", &d, &err), -1);
        assert_non_null(strstr(err.msg, "x.meta:"));
        assert_non_null(strstr(err.msg, why[i]));
    }
}

static af_index_meta sample_meta(void) {
    af_index_meta m;
    memset(&m, 0, sizeof m);
    strcpy(m.index_id, "annforest-0123456789abcdef");
    strcpy(m.metric, "angular");
    m.n_dim = 128;
    m.n_ref = 1000;
    m.shards = 3;
    m.trees_per_shard = 7;
    m.n_trees = 21;
    m.build_seed = UINT64_MAX;
    m.build_threads = 2;
    strcpy(m.build_backend, "annforest-mpi");
    m.file_size = 123456789012ull;
    strcpy(m.file_mtime, "2026-11-21T10:00:00Z");
    strcpy(m.file_md5, "c2eab887babb44656824ba64e545d6c9");
    strcpy(m.load_mode, "lazy");
    strcpy(m.index_file, "ref.ann");
    strcpy(m.reference_path, "/data/ref with space.desc");
    m.rows_skipped = 0;
    m.shard = calloc(3, sizeof *m.shard);
    for (int s = 0; s < 3; s++)
        m.shard[s] = (af_shard_info){s * 334, s < 2 ? 334 : 332, 1000 + s * 50, 50, 1150 + s * 7};
    return m;
}

static void meta_round_trips_every_field(void **state) {
    (void)state;
    af_index_meta m = sample_meta(), back;
    char *text = af_index_meta_format(&m);
    assert_non_null(text);
    assert_non_null(strstr(text, "metadata_version: 1\n"));
    assert_non_null(strstr(text, "shard_row_start: 0 334 668\n"));
    af_error err = {0};
    assert_int_equal(af_index_meta_parse(text, strlen(text), "m", &back, &err), 0);
    af_index_meta_free(&back);
    /* Formatting what was parsed gives the same text: no field lost or altered. */
    assert_int_equal(af_index_meta_parse(text, strlen(text), "m", &back, &err), 0);
    char *again = af_index_meta_format(&back);
    assert_string_equal(text, again);
    assert_true(back.build_seed == UINT64_MAX);
    assert_int_equal(back.shard[2].row_count, 332);
    assert_int_equal(back.shard[1].root_start, 1157);
    free(again);
    free(text);
    af_index_meta_free(&back);
    af_index_meta_free(&m);
}

static void meta_reports_missing_and_bad_fields(void **state) {
    (void)state;
    af_index_meta m = sample_meta(), back;
    char *text = af_index_meta_format(&m);
    af_error err = {0};
    char *cut = strstr(text, "n_ref:");
    char saved = *cut;
    *cut = 'X'; /* Xn_ref: an unknown key, and n_ref is now missing */
    assert_int_equal(af_index_meta_parse(text, strlen(text), "ix.meta", &back, &err), -1);
    assert_non_null(strstr(err.msg, "n_ref is missing"));
    *cut = saved;
    char *count = strstr(text, "shard_row_count: ");
    memcpy(count + strlen("shard_row_count: "), "3x4", 3);
    assert_int_equal(af_index_meta_parse(text, strlen(text), "ix.meta", &back, &err), -1);
    assert_non_null(strstr(err.msg, "shard_row_count"));
    free(text);
    af_index_meta_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dcf_reads_fields_and_continuations),
        cmocka_unit_test(dcf_rejects_malformed_text),
        cmocka_unit_test(meta_round_trips_every_field),
        cmocka_unit_test(meta_reports_missing_and_bad_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
