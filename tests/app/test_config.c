/* The job config: parsing, validation with file:line:key messages, --set overrides, required
 * keys per command, the effective INI and the build hash. Each test writes its INI text to a
 * file in a private temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char tmp_dir[] = "/tmp/af_test_config.XXXXXX";

/* Write `text` to tmp_dir/name and return the path (static buffer). */
static const char *write_ini(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return path;
}

/* Load `text` as job.ini; expect failure whose message contains `want` (after the dir). */
static void expect_load_error(const char *text, const char *const *sets, int n_sets,
                              const char *want) {
    const char *path = write_ini("job.ini", text);
    af_config cfg;
    af_error err = {0};
    assert_int_equal(af_config_load(path, sets, n_sets, &cfg, &err), -1);
    assert_int_equal(err.code, AF_E_CONFIG);
    if (!strstr(err.msg, want))
        fail_msg("message '%s' lacks '%s'", err.msg, want);
}

/* The message must name the file itself: tmp_dir/job.ini:LINE: ... */
static void expect_file_error(const char *text, const char *want_after_file) {
    char want[1024];
    snprintf(want, sizeof want, "%s/job.ini:%s", tmp_dir, want_after_file);
    expect_load_error(text, NULL, 0, want);
}

static void load_ok(const char *text, const char *const *sets, int n_sets, af_config *cfg) {
    const char *path = write_ini("job.ini", text);
    af_error err = {0};
    if (af_config_load(path, sets, n_sets, cfg, &err) != 0)
        fail_msg("unexpected error: %s", err.msg);
}

/* The settings, without where they came from. */
static void assert_same_settings(const af_config *a, const af_config *b) {
    af_config x = *a, y = *b;
    memset(x.file, 0, sizeof x.file);
    memset(y.file, 0, sizeof y.file);
    memset(x.origin, 0, sizeof x.origin);
    memset(y.origin, 0, sizeof y.origin);
    assert_memory_equal(&x, &y, sizeof x);
}

static const char full_ini[] = "[job]\n"
                               "name = full-run\n"
                               "seed = 18446744073709551615\n"
                               "threads = 3\n"
                               "[reference]\n"
                               "path = data/ref.desc\n"
                               "na = skip\n"
                               "[index]\n"
                               "path = out/ref.ann\n"
                               "metric = hamming\n"
                               "trees = 7\n"
                               "shards = 4\n"
                               "leaf_size = 32\n"
                               "format = wide\n"
                               "load = eager\n"
                               "prefault = yes\n"
                               "md5 = false\n"
                               "[query]\n"
                               "path = self\n"
                               "k = 25\n"
                               "search_k = 9000000000\n"
                               "batch = 100\n"
                               "exclude_self = FALSE\n"
                               "rerank = 40\n"
                               "[output]\n"
                               "index = out.h5:/index\n"
                               "distance = out/d.desc\n"
                               "order = row\n"
                               "base = 0\n"
                               "existing = into\n"
                               "[bench]\n"
                               "trees = 5, 10,20\n"
                               "search_k = -1,100\n"
                               "shards = 1,2\n"
                               "repeat = 3\n"
                               "out = bench/out.csv\n"
                               "plot = bench/out.png\n"
                               "peer = bench/annoy.csv\n"
                               "truth = bench/truth\n"
                               "work = bench/work\n"
                               "dataset = data/fashion.hdf5\n"
                               "label = full\n";

static void test_full_config(void **state) {
    (void)state;
    af_config cfg;
    load_ok(full_ini, NULL, 0, &cfg);
    assert_string_equal(cfg.job.name, "full-run");
    assert_true(cfg.job.seed == UINT64_MAX);
    assert_int_equal(cfg.job.threads, 3);
    assert_string_equal(cfg.reference.path, "data/ref.desc");
    assert_int_equal(cfg.reference.na, AF_CONFIG_NA_SKIP);
    assert_string_equal(cfg.index.path, "out/ref.ann");
    assert_int_equal(cfg.index.metric, AF_CONFIG_METRIC_HAMMING);
    assert_int_equal(cfg.index.trees, 7);
    assert_int_equal(cfg.index.shards, 4);
    assert_int_equal(cfg.index.leaf_size, 32);
    assert_int_equal(cfg.index.format, AF_CONFIG_FORMAT_WIDE);
    assert_int_equal(cfg.index.load, AF_CONFIG_LOAD_EAGER);
    assert_true(cfg.index.prefault);
    assert_false(cfg.index.md5);
    assert_string_equal(cfg.query.path, "self");
    assert_true(cfg.query.self);
    assert_int_equal(cfg.query.k, 25);
    assert_true(cfg.query.search_k == 9000000000LL);
    assert_int_equal(cfg.query.batch, 100);
    assert_false(cfg.query.exclude_self);
    assert_string_equal(cfg.output.index, "out.h5:/index");
    assert_string_equal(cfg.output.distance, "out/d.desc");
    assert_int_equal(cfg.output.order, AF_CONFIG_ORDER_ROW);
    assert_int_equal(cfg.output.base, 0);
    assert_int_equal(cfg.output.existing, AF_CONFIG_EXISTING_INTO);
    assert_string_equal(cfg.bench.trees, "5,10,20"); /* normalised */
    int64_t list[4];
    assert_int_equal(af_config_int_list(cfg.bench.trees, list, 4), 3);
    assert_true(list[0] == 5 && list[1] == 10 && list[2] == 20);
    assert_int_equal(af_config_int_list(cfg.bench.search_k, list, 4), 2);
    assert_true(list[0] == -1 && list[1] == 100);
    assert_int_equal(cfg.bench.repeat, 3);
    assert_string_equal(cfg.bench.out, "bench/out.csv");
    assert_string_equal(cfg.bench.dataset, "data/fashion.hdf5");
    assert_string_equal(cfg.bench.label, "full");
    /* Every key came from the file, on its own line (keys are in table order in full_ini,
     * one section header before each section's first key). */
    assert_int_equal(cfg.origin[AF_CFG_JOB_NAME].from, AF_FROM_FILE);
    assert_int_equal(cfg.origin[AF_CFG_JOB_NAME].line, 2);
    assert_int_equal(cfg.origin[AF_CFG_INDEX_TREES].line, 11);
    assert_int_equal(cfg.origin[AF_CFG_OUTPUT_EXISTING].line, 30);
    assert_true(cfg.query.rerank == 40);
    for (int k = 0; k < AF_CFG_KEY_COUNT; k++)
        assert_int_equal(cfg.origin[k].from, AF_FROM_FILE);
    af_error err = {0};
    assert_int_equal(af_config_require(&cfg, AF_NEED_BUILD | AF_NEED_QUERY | AF_NEED_EXACT, &err),
                     0);
}

static void test_defaults(void **state) {
    (void)state;
    af_config cfg;
    const char *path = write_ini("my job.v2.ini", "; nothing but a comment\n");
    af_error err = {0};
    assert_int_equal(af_config_load(path, NULL, 0, &cfg, &err), 0);
    assert_string_equal(cfg.job.name, "my_job"); /* the file's stem, made a valid name */
    assert_true(cfg.job.seed == 42);
    assert_int_equal(cfg.job.threads, 0);
    assert_string_equal(cfg.reference.path, "");
    assert_int_equal(cfg.reference.na, AF_CONFIG_NA_ERROR);
    assert_int_equal(cfg.index.metric, AF_CONFIG_METRIC_EUCLIDEAN);
    assert_int_equal(cfg.index.trees, 50);
    assert_int_equal(cfg.index.shards, 0);
    assert_int_equal(cfg.index.leaf_size, 0);
    assert_int_equal(cfg.index.format, AF_CONFIG_FORMAT_AUTO);
    assert_int_equal(cfg.index.load, AF_CONFIG_LOAD_LAZY);
    assert_false(cfg.index.prefault);
    assert_false(cfg.query.self);
    assert_int_equal(cfg.query.k, 10);
    assert_true(cfg.query.search_k == -1);
    assert_int_equal(cfg.query.batch, 4096);
    assert_true(cfg.query.exclude_self);
    assert_true(cfg.query.rerank == 0);
    assert_string_equal(cfg.output.distance, "");
    assert_int_equal(cfg.output.order, AF_CONFIG_ORDER_COLUMN);
    assert_int_equal(cfg.output.base, 1);
    assert_int_equal(cfg.output.existing, AF_CONFIG_EXISTING_ERROR);
    for (int k = 0; k < AF_CFG_KEY_COUNT; k++)
        assert_int_equal(cfg.origin[k].from, AF_FROM_DEFAULT);

    af_config plain;
    af_config_defaults(&plain);
    assert_string_equal(plain.job.name, "annforest");
    strcpy(plain.job.name, "my_job");
    assert_same_settings(&cfg, &plain);
}

/* Each bad value, on line 3 of the file, with the message it must give. */
static void test_bad_values(void **state) {
    (void)state;
    static const struct {
        const char *section, *line, *message;
    } cases[] = {
        /* not integers */
        {"index", "trees = abc", "[index] trees = 'abc': not an integer"},
        {"query", "k = 1.5", "[query] k = '1.5': not an integer"},
        {"query", "batch = 10 rows", "[query] batch = '10 rows': not an integer"},
        {"index", "trees =", "[index] trees = '': not an integer"},
        {"job", "seed = -1", "[job] seed = '-1': not a non-negative integer"},
        {"job", "seed = 0x10", "[job] seed = '0x10': not a non-negative integer"},
        /* out of range */
        {"index", "trees = 0", "[index] trees = '0': must be between 1 and 2147483647"},
        {"index", "trees = 2147483648", "[index] trees = '2147483648': must be between 1"},
        {"index", "trees = 99999999999999999999",
         "[index] trees = '99999999999999999999': must be between 1 and 2147483647"},
        {"query", "k = 0", "[query] k = '0': must be between 1"},
        {"query", "batch = -5", "[query] batch = '-5': must be between 1"},
        {"query", "search_k = 0", "[query] search_k = '0': must be -1 (automatic) or between 1"},
        {"query", "search_k = -2", "[query] search_k = '-2': must be -1 (automatic)"},
        {"query", "rerank = -1", "[query] rerank = '-1': must be between 0"},
        {"index", "shards = -1", "[index] shards = '-1': must be between 0"},
        {"index", "leaf_size = -1", "[index] leaf_size = '-1': must be between 0"},
        {"job", "threads = -1", "[job] threads = '-1': must be between 0"},
        {"output", "base = 2", "[output] base = '2': must be 0 or 1"},
        {"job", "seed = 18446744073709551616", "[job] seed = '18446744073709551616': must be"},
        /* bad enums */
        {"index", "metric = cosine",
         "[index] metric = 'cosine': expected one of euclidean, angular, manhattan, dot, hamming"},
        {"reference", "na = drop", "[reference] na = 'drop': expected one of error, skip"},
        {"index", "load = later", "[index] load = 'later': expected one of lazy, eager"},
        {"index", "format = medium", "[index] format = 'medium': expected one of auto, narrow"},
        {"output", "order = diagonal", "[output] order = 'diagonal': expected one of column, row"},
        {"output", "existing = append", "[output] existing = 'append': expected one of error"},
        /* bad booleans */
        {"index", "prefault = maybe", "[index] prefault = 'maybe': not a boolean"},
        {"query", "exclude_self = 2", "[query] exclude_self = '2': not a boolean"},
        /* bad text */
        {"job", "name = my job", "[job] name = 'my job': may hold only letters, digits"},
        {"job", "name =", "[job] name = '': must not be empty"},
        /* bad lists */
        {"bench", "trees = 10,0", "[bench] trees = '10,0': '0': must be between 1"},
        {"bench", "trees = 10,,20", "[bench] trees = '10,,20': an empty item in the list"},
        {"bench", "trees = 10,", "[bench] trees = '10,': the list ends with ','"},
        {"bench", "search_k = 100,ten", "[bench] search_k = '100,ten': 'ten': not an integer"},
        {"bench", "search_k = -2", "[bench] search_k = '-2': '-2': must be -1 (automatic)"},
        {"bench", "repeat = 0", "[bench] repeat = '0': must be between 1 and 1000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512], want[512];
        snprintf(text, sizeof text, "; bad value\n[%s]\n%s\n", cases[i].section, cases[i].line);
        snprintf(want, sizeof want, "3: %s", cases[i].message);
        expect_file_error(text, want);
    }
}

static void test_structure_errors(void **state) {
    (void)state;
    expect_file_error("[job]\nseed = 1\n[indx]\ntrees = 5\n",
                      "3: unknown section [indx] (known: [job], [reference], [index], [query], "
                      "[output], [bench])");
    /* An unknown section is an error even with no keys under it. */
    expect_file_error("[job]\nseed = 1\n\n[extra]\n", "4: unknown section [extra]");
    expect_file_error("[index]\ntrees = 5\ntree = 6\n",
                      "3: unknown key 'tree' in [index] (known: path, metric, trees, shards, "
                      "leaf_size, format, load, prefault, md5)");
    expect_file_error("[index]\ntrees = 5\nmetric = dot\n\ntrees = 6\n",
                      "5: [index] trees given twice (first on line 2)");
    /* A section may be reopened, but a key still counts once. */
    expect_file_error("[index]\ntrees = 5\n[query]\nk = 3\n[index]\ntrees = 6\n",
                      "6: [index] trees given twice (first on line 2)");
    expect_file_error("seed = 1\n[job]\n", "1: key 'seed' comes before any [section]");
    expect_file_error("[job]\nseed = 1\njust words\n",
                      "3: cannot parse 'just words': expected '[section]' or 'key = value'");
    expect_file_error("[job\nseed = 1\n", "1: cannot parse '[job'");
    /* No multi-line values: an indented line after a key is not a continuation. */
    expect_file_error("[job]\nname = a\n  continued\n", "3: cannot parse '  continued'");
    /* Keys are case-sensitive. */
    expect_file_error("[index]\nTrees = 5\n", "2: unknown key 'Trees' in [index]");

    af_config cfg;
    af_error err = {0};
    char missing[600];
    snprintf(missing, sizeof missing, "%s/absent.ini", tmp_dir);
    assert_int_equal(af_config_load(missing, NULL, 0, &cfg, &err), -1);
    assert_int_equal(err.code, AF_E_CONFIG);
    assert_non_null(strstr(err.msg, "cannot open config"));
    assert_non_null(strstr(err.msg, "absent.ini"));
    assert_non_null(strstr(err.msg, "No such file"));
}

static void test_required_keys(void **state) {
    (void)state;
    af_config cfg;
    af_error err = {0};
    char want[1024];
    load_ok("[index]\npath = i.ann\n", NULL, 0, &cfg);
    assert_int_equal(af_config_require(&cfg, AF_NEED_BUILD, &err), -1);
    assert_int_equal(err.code, AF_E_CONFIG);
    snprintf(want, sizeof want,
             "%s/job.ini: missing key [reference] path, needed to build the index", tmp_dir);
    assert_string_equal(err.msg, want);

    load_ok("[reference]\npath = r.desc\n", NULL, 0, &cfg);
    assert_int_equal(af_config_require(&cfg, AF_NEED_BUILD, &err), -1);
    assert_non_null(strstr(err.msg, "job.ini: missing key [index] path, needed to build"));
    /* exact needs no index */
    assert_int_equal(af_config_require(&cfg, AF_NEED_EXACT, &err), -1);
    assert_non_null(strstr(err.msg, "missing key [query] path, needed for an exact search"));

    /* bench: its CSV, then the reference and queries unless an ann-benchmarks file gives both */
    assert_int_equal(af_config_require(&cfg, AF_NEED_BENCH, &err), -1);
    assert_non_null(strstr(err.msg, "missing key [bench] out, needed for a benchmark sweep"));
    load_ok("[reference]\npath = r.desc\n[bench]\nout = b.csv\n", NULL, 0, &cfg);
    assert_int_equal(af_config_require(&cfg, AF_NEED_BENCH, &err), -1);
    assert_non_null(strstr(err.msg, "missing key [query] path, needed for a benchmark sweep"));
    load_ok("[bench]\nout = b.csv\ndataset = f.hdf5\n", NULL, 0, &cfg);
    assert_int_equal(af_config_require(&cfg, AF_NEED_BENCH, &err), 0);

    /* query: index, query path, output index - in that order */
    load_ok("[reference]\npath = r.desc\n", NULL, 0, &cfg);
    assert_int_equal(af_config_require(&cfg, AF_NEED_QUERY, &err), -1);
    assert_non_null(strstr(err.msg, "missing key [index] path, needed to query the index"));
    load_ok("[index]\npath = i.ann\n[query]\npath = q.desc\n", NULL, 0, &cfg);
    assert_int_equal(af_config_require(&cfg, AF_NEED_QUERY, &err), -1);
    assert_non_null(strstr(err.msg, "missing key [output] index, needed to query the index"));
    load_ok("[index]\npath = i.ann\n[query]\npath = q.desc\n[output]\nindex = o.desc\n", NULL, 0,
            &cfg);
    assert_int_equal(af_config_require(&cfg, AF_NEED_QUERY, &err), 0);
    /* ... but with path = self the reference is the query */
    load_ok("[index]\npath = i.ann\n[query]\npath = self\n[output]\nindex = o.desc\n", NULL, 0,
            &cfg);
    assert_int_equal(af_config_require(&cfg, AF_NEED_QUERY, &err), -1);
    assert_non_null(
        strstr(err.msg, "missing key [reference] path, needed with [query] path = self"));
    /* run = build + query */
    assert_int_equal(af_config_require(&cfg, AF_NEED_BUILD | AF_NEED_QUERY, &err), -1);
    assert_non_null(strstr(err.msg, "[reference] path"));

    /* A key given empty is named with its line; one emptied by --set is named as such. */
    load_ok("[reference]\n\npath =\n[index]\npath = i.ann\n", NULL, 0, &cfg);
    assert_int_equal(af_config_require(&cfg, AF_NEED_BUILD, &err), -1);
    snprintf(want, sizeof want,
             "%s/job.ini:3: [reference] path is empty, but it is needed to build the index",
             tmp_dir);
    assert_string_equal(err.msg, want);
    const char *unset[] = {"index.path="};
    load_ok("[reference]\npath = r\n[index]\npath = i.ann\n", unset, 1, &cfg);
    assert_int_equal(af_config_require(&cfg, AF_NEED_BUILD, &err), -1);
    assert_string_equal(err.msg, "--set index.path is empty, but it is needed to build the index");
}

static void test_overrides(void **state) {
    (void)state;
    af_config cfg;
    const char *sets[] = {"index.trees=7", " query.k = 3 ", "index.trees=8", "query.path=self",
                          "output.distance="};
    load_ok("[index]\ntrees = 5\n[output]\ndistance = d.desc\n", sets, 5, &cfg);
    assert_int_equal(cfg.index.trees, 8); /* a later --set wins */
    assert_int_equal(cfg.origin[AF_CFG_INDEX_TREES].from, AF_FROM_OVERRIDE);
    assert_int_equal(cfg.origin[AF_CFG_INDEX_TREES].line, 0);
    assert_int_equal(cfg.query.k, 3);
    assert_true(cfg.query.self);
    assert_string_equal(cfg.output.distance, "");
    assert_int_equal(cfg.origin[AF_CFG_OUTPUT_DISTANCE].from, AF_FROM_OVERRIDE);
    assert_int_equal(cfg.origin[AF_CFG_QUERY_BATCH].from, AF_FROM_DEFAULT);

    static const struct {
        const char *set, *message;
    } bad[] = {
        {"index.trees=abc", "--set index.trees = 'abc': not an integer"},
        {"index.trees=0", "--set index.trees = '0': must be between 1 and 2147483647"},
        {"index.metric=cosine", "--set index.metric = 'cosine': expected one of euclidean, "
                                "angular, manhattan, dot, hamming"},
        {"index.prefault=perhaps",
         "--set index.prefault = 'perhaps': not a boolean (true/false, yes/no, 1/0)"},
        {"index.tree=5", "--set index.tree: unknown key 'tree' in [index] (known: path, metric, "
                         "trees, shards, leaf_size, format, load, prefault, md5)"},
        {"indexes.trees=5", "--set indexes.trees: unknown section [indexes] (known: [job], "
                            "[reference], [index], [query], [output], [bench])"},
        {"index.trees", "--set 'index.trees': expected section.key=value"},
        {"trees=5", "--set 'trees=5': expected section.key=value"},
        {".trees=5", "--set '.trees=5': expected section.key=value"},
        {"index.=5", "--set 'index.=5': expected section.key=value"},
        {"index.path=a ;b",
         "--set index.path = 'a ;b': blank followed by ';' starts a comment in INI files"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *one[] = {bad[i].set};
        const char *path = write_ini("job.ini", "[index]\ntrees = 5\n");
        af_error err = {0};
        assert_int_equal(af_config_load(path, one, 1, &cfg, &err), -1);
        assert_int_equal(err.code, AF_E_CONFIG);
        assert_string_equal(err.msg, bad[i].message);
    }
    /* The file's own errors come before any --set is looked at. */
    const char *fine[] = {"index.trees=7"};
    expect_load_error("[index]\ntrees = x\n", fine, 1, "job.ini:2: [index] trees = 'x'");
}

static void test_comments_and_whitespace(void **state) {
    (void)state;
    af_config cfg;
    load_ok("# a comment\n"
            "; another\n"
            "  [index]   ; comment after a section\n"
            "\ttrees\t=\t12\t; a comment\n"
            "   metric=angular # hash comment\n"
            "path = out/run#3/ref.ann   # '#' inside a value stays\n"
            "\n   \n"
            "[query]\n"
            "path = data/my query.desc\n"
            "k : 4\n",
            NULL, 0, &cfg);
    assert_int_equal(cfg.index.trees, 12);
    assert_int_equal(cfg.origin[AF_CFG_INDEX_TREES].line, 4);
    assert_int_equal(cfg.index.metric, AF_CONFIG_METRIC_ANGULAR);
    assert_string_equal(cfg.index.path, "out/run#3/ref.ann");
    assert_string_equal(cfg.query.path, "data/my query.desc");
    assert_int_equal(cfg.query.k, 4); /* configparser's "key: value" form */
    assert_int_equal(cfg.origin[AF_CFG_QUERY_K].line, 11);
}

static void test_semicolon_without_space_is_part_of_value(void **state) {
    (void)state;
    /* inih (and we) take ';' as a comment only after a blank: "2;x" is a bad integer. */
    expect_file_error("[index]\nshards = 2;x\n", "2: [index] shards = '2;x': not an integer");
}

static void test_crlf_and_bom(void **state) {
    (void)state;
    af_config cfg;
    load_ok("\xEF\xBB\xBF[job]\r\nname = crlf\r\nseed = 7 ; c\r\n\r\n[index]\r\ntrees = 3\r\n",
            NULL, 0, &cfg);
    assert_string_equal(cfg.job.name, "crlf");
    assert_true(cfg.job.seed == 7);
    assert_int_equal(cfg.index.trees, 3);
    assert_int_equal(cfg.origin[AF_CFG_INDEX_TREES].line, 6);
    expect_file_error("[job]\r\nseed = 1\r\nthreads = x\r\n", "3: [job] threads = 'x'");
    /* no trailing newline at the end of the file */
    load_ok("[query]\nk = 9", NULL, 0, &cfg);
    assert_int_equal(cfg.query.k, 9);
}

static void test_long_lines(void **state) {
    (void)state;
    /* A 4000-character path is read whole (inih's default line buffer is 200 bytes). */
    size_t n = 4000;
    char *text = malloc(n + 64);
    assert_non_null(text);
    strcpy(text, "[index]\npath = ");
    size_t at = strlen(text);
    for (size_t i = 0; i < n; i++)
        text[at + i] = (char)('a' + i % 26);
    strcpy(text + at + n, " ; c\ntrees = 2\n");
    af_config cfg;
    load_ok(text, NULL, 0, &cfg);
    assert_int_equal(strlen(cfg.index.path), n);
    assert_int_equal(cfg.index.path[n - 1], (char)('a' + (n - 1) % 26));
    assert_int_equal(cfg.index.trees, 2);
    assert_int_equal(cfg.origin[AF_CFG_INDEX_TREES].line, 3);
    free(text);

    /* A path of PATH_MAX characters does not fit. */
    n = AF_CONFIG_PATH_MAX;
    text = malloc(n + 64);
    assert_non_null(text);
    strcpy(text, "[index]\npath = ");
    at = strlen(text);
    memset(text + at, 'p', n);
    strcpy(text + at + n, "\n");
    expect_file_error(text, "2: [index] path = 'ppp");
    expect_load_error(text, NULL, 0, "longer than 4095 characters");
    free(text);

    /* A line beyond any sensible length is refused, not split. */
    n = AF_CONFIG_PATH_MAX + 2000;
    text = malloc(n + 64);
    assert_non_null(text);
    strcpy(text, "[index]\ntrees = 1\npath = ");
    at = strlen(text);
    memset(text + at, 'p', n);
    strcpy(text + at + n, "\n");
    expect_file_error(text, "3: line longer than");
    free(text);
}

static void test_effective_ini_round_trip(void **state) {
    (void)state;
    af_config cfg, again;
    const char *sets[] = {"job.threads=2", "output.distance=", "index.path=out/x y/ref#1.ann"};
    load_ok(full_ini, sets, 3, &cfg);
    char *ini = af_config_effective_ini(&cfg);
    assert_non_null(ini);
    /* every key, with where it came from */
    assert_non_null(strstr(ini, "[job]\nname = full-run ; line 2\n"));
    assert_non_null(strstr(ini, "threads = 2 ; --set\n"));
    assert_non_null(strstr(ini, "distance =  ; --set\n"));
    assert_non_null(strstr(ini, "path = out/x y/ref#1.ann ; --set\n"));
    assert_non_null(strstr(ini, "[output]\n"));
    for (int k = 0; k < AF_CFG_KEY_COUNT; k++) {
        const char *dot = strchr(af_config_key_name((af_config_key)k), '.');
        char key_line[64];
        snprintf(key_line, sizeof key_line, "\n%s = ", dot + 1);
        assert_non_null(strstr(ini, key_line));
    }
    const char *path = write_ini("effective.ini", ini);
    af_error err = {0};
    if (af_config_load(path, NULL, 0, &again, &err) != 0)
        fail_msg("effective INI does not load: %s\n%s", err.msg, ini);
    assert_same_settings(&cfg, &again);
    free(ini);

    /* The defaults round-trip too (empty paths included). */
    af_config_defaults(&cfg);
    ini = af_config_effective_ini(&cfg);
    assert_non_null(ini);
    assert_non_null(strstr(ini, "seed = 42 ; default\n"));
    path = write_ini("annforest.ini", ini);
    assert_int_equal(af_config_load(path, NULL, 0, &again, &err), 0);
    assert_same_settings(&cfg, &again);
    free(ini);
}

static void test_build_hash(void **state) {
    (void)state;
    af_config base;
    load_ok(full_ini, NULL, 0, &base);
    uint64_t h = af_config_build_hash(&base);
    af_config same;
    load_ok(full_ini, NULL, 0, &same);
    assert_true(af_config_build_hash(&same) == h);

    const char *build_changes[] = {"reference.path=data/other.desc",
                                   "reference.na=error",
                                   "index.metric=dot",
                                   "index.trees=8",
                                   "index.shards=5",
                                   "index.leaf_size=33",
                                   "index.format=auto",
                                   "job.seed=43"};
    for (size_t i = 0; i < sizeof build_changes / sizeof build_changes[0]; i++) {
        af_config cfg = base;
        af_error err = {0};
        assert_int_equal(af_config_apply_override(&cfg, build_changes[i], &err), 0);
        if (af_config_build_hash(&cfg) == h)
            fail_msg("build hash unchanged by %s", build_changes[i]);
    }
    const char *query_changes[] = {
        "query.k=3",         "query.search_k=-1",     "query.batch=1",
        "query.path=q.desc", "query.exclude_self=1",  "query.rerank=50",
        "output.index=o",    "output.distance=",      "output.order=column",
        "output.base=1",     "output.existing=error", "job.threads=1",
        "job.name=other",    "index.load=lazy",       "index.prefault=0",
        "index.path=x.ann"};
    for (size_t i = 0; i < sizeof query_changes / sizeof query_changes[0]; i++) {
        af_config cfg = base;
        af_error err = {0};
        assert_int_equal(af_config_apply_override(&cfg, query_changes[i], &err), 0);
        if (af_config_build_hash(&cfg) != h)
            fail_msg("build hash changed by %s", query_changes[i]);
    }
}

static void test_fail_key(void **state) {
    (void)state;
    af_config cfg;
    const char *sets[] = {"query.k=3"};
    load_ok("[index]\nmetric = hamming\nleaf_size = 5000\n", sets, 1, &cfg);
    af_error err = {0};
    char want[1024];
    assert_int_equal(af_config_fail_key(&cfg, AF_CFG_INDEX_LEAF_SIZE, &err, "more than %d", 64),
                     -1);
    assert_int_equal(err.code, AF_E_CONFIG);
    snprintf(want, sizeof want, "%s/job.ini:3: [index] leaf_size = '5000': more than 64", tmp_dir);
    assert_string_equal(err.msg, want);
    af_config_fail_key(&cfg, AF_CFG_QUERY_K, &err, "more than the %d reference rows", 2);
    assert_string_equal(err.msg, "--set query.k = '3': more than the 2 reference rows");
    af_config_fail_key(&cfg, AF_CFG_QUERY_BATCH, &err, "too big");
    snprintf(want, sizeof want, "%s/job.ini: [query] batch = '4096' (default): too big", tmp_dir);
    assert_string_equal(err.msg, want);
    assert_string_equal(af_config_key_name(AF_CFG_QUERY_EXCLUDE_SELF), "query.exclude_self");
    assert_string_equal(af_config_metric_name(AF_CONFIG_METRIC_DOT), "dot");
    assert_string_equal(af_config_existing_name(AF_CONFIG_EXISTING_OVERWRITE), "overwrite");
}

/* The shipped demo config loads and has everything every command needs. */
static void test_demo_config(void **state) {
    (void)state;
    const char *src = getenv("AF_SRC");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/configs/demo.ini", src);
    af_config cfg;
    af_error err = {0};
    if (af_config_load(path, NULL, 0, &cfg, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(af_config_require(&cfg, AF_NEED_BUILD | AF_NEED_QUERY | AF_NEED_EXACT, &err),
                     0);
    assert_string_equal(cfg.job.name, "demo");
    assert_string_equal(cfg.reference.path, "demo/ref.desc");
    assert_string_equal(cfg.output.distance, "demo/out/nn_distance.desc");
    for (int k = 0; k < AF_CFG_BENCH_TREES; k++) /* every key but [bench], a sweep's own */
        assert_int_equal(cfg.origin[k].from, AF_FROM_FILE);
}

static int make_tmp_dir(void **state) {
    (void)state;
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp_dir(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_required_keys),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_comments_and_whitespace),
        cmocka_unit_test(test_semicolon_without_space_is_part_of_value),
        cmocka_unit_test(test_crlf_and_bom),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_effective_ini_round_trip),
        cmocka_unit_test(test_build_hash),
        cmocka_unit_test(test_fail_key),
        cmocka_unit_test(test_demo_config),
    };
    return cmocka_run_group_tests(tests, make_tmp_dir, remove_tmp_dir);
}
