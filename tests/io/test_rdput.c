/* The R dput parser: real descriptor text, every literal form, and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "rdput.h"

#include <math.h>
#include <string.h>

static af_rnode *parse(const char *text, af_error *err) {
    return af_rdput_parse(text, strlen(text), "t.desc", err);
}

static void expect_error(const char *text, const char *fragment) {
    af_error err = {0};
    af_rnode *n = parse(text, &err);
    if (n)
        fail_msg("parsed, but should not have: %s", text);
    if (!strstr(err.msg, fragment))
        fail_msg("message '%s' lacks '%s' (input %s)", err.msg, fragment, text);
    assert_int_equal(err.code, AF_E_INPUT);
    assert_non_null(strstr(err.msg, "t.desc"));
}

static void real_descriptor(void **state) {
    (void)state;
    const char *text =
        "new(\"big.matrix.descriptor\", description = list(sharedType = \"FileBacked\", \n"
        "    filename = \"y.bin\", dirname = \"/tmp/bmtest/\", totalRows = 4L, \n"
        "    totalCols = 3L, rowOffset = c(0, 4), colOffset = c(0, 3), \n"
        "    nrow = 1e+05, ncol = 3, rowNames = NULL, colNames = c(\"a\", \"b\", \n"
        "\"c\"), type = \"double\", separated = TRUE))\n";
    af_error err = {0};
    af_rnode *root = parse(text, &err);
    assert_non_null(root);
    assert_true(af_rnode_is_call(root, "new"));
    assert_int_equal(root->args[0].kind, AF_R_STRING);
    assert_string_equal(root->args[0].str, "big.matrix.descriptor");
    const af_rnode *list = af_rnode_arg(root, "description");
    assert_true(af_rnode_is_call(list, "list"));
    const af_rnode *tr = af_rnode_arg(list, "totalRows");
    assert_int_equal(tr->kind, AF_R_INTEGER);
    assert_true(tr->num == 4);
    const af_rnode *nrow = af_rnode_arg(list, "nrow");
    assert_int_equal(nrow->kind, AF_R_DOUBLE);
    assert_true(nrow->num == 100000);
    const af_rnode *ro = af_rnode_arg(list, "rowOffset");
    assert_int_equal(af_rnode_length(ro), 2);
    assert_true(af_rnode_elem(ro, 1)->num == 4);
    assert_int_equal(af_rnode_length(af_rnode_arg(list, "rowNames")), 0);
    assert_int_equal(af_rnode_length(af_rnode_arg(list, "colNames")), 3);
    assert_string_equal(af_rnode_elem(af_rnode_arg(list, "colNames"), 2)->str, "c");
    const af_rnode *sep = af_rnode_arg(list, "separated");
    assert_int_equal(sep->kind, AF_R_LOGICAL);
    assert_int_equal(sep->lgl, 1);
    assert_null(af_rnode_arg(list, "nothere"));
    af_rnode_free(root);
}

static void literals(void **state) {
    (void)state;
    af_error err = {0};
    af_rnode *n = parse("list(a = 'x\\\"y\\n\\t\\\\z', `b c` = -1.5e-3, \"d\" = 0x10, e = -Inf, "
                        "f = NA_integer_, g = NA, h = T, i = structure(list(1L, -2L), class = "
                        "\"k\"), j = \"\\u00e9\\x41\\101\", k = NaN, l = .5, m = 2147483647L)",
                        &err);
    assert_non_null(n);
    assert_string_equal(af_rnode_arg(n, "a")->str, "x\"y\n\t\\z");
    assert_true(af_rnode_arg(n, "b c")->num == -1.5e-3);
    assert_true(af_rnode_arg(n, "d")->num == 16);
    assert_true(isinf(af_rnode_arg(n, "e")->num) && af_rnode_arg(n, "e")->num < 0);
    assert_true(af_rnode_arg(n, "f")->is_na);
    assert_int_equal(af_rnode_arg(n, "f")->kind, AF_R_INTEGER);
    assert_true(af_rnode_arg(n, "g")->is_na);
    assert_int_equal(af_rnode_arg(n, "h")->lgl, 1);
    const af_rnode *i = af_rnode_arg(n, "i");
    assert_true(af_rnode_is_call(i, "structure"));
    assert_true(i->args[0].args[1].num == -2);
    assert_string_equal(af_rnode_arg(n, "j")->str, "\xc3\xa9"
                                                   "AA");
    assert_true(isnan(af_rnode_arg(n, "k")->num));
    assert_true(af_rnode_arg(n, "l")->num == 0.5);
    assert_int_equal(af_rnode_arg(n, "m")->kind, AF_R_INTEGER);
    af_rnode_free(n);
}

static void malformed(void **state) {
    (void)state;
    expect_error("new(\"big.matrix.descriptor\", description = list(a = 1", "ends early");
    expect_error("list(a = 1))", "unbalanced parentheses");
    expect_error("list(a = 1 b = 2)", "expected ',' or ')'");
    expect_error("list(a = \"unterminated)", "unterminated string");
    expect_error("list(a = 1e)", "empty exponent");
    expect_error("list(a = 12abc)", "malformed number");
    expect_error("list(a = 3000000000L)", "not a 32-bit integer");
    expect_error("list(a = 1.5L)", "not a 32-bit integer");
    expect_error("list(a = foo)", "'foo' is neither");
    expect_error("list(a = \"\\q\")", "unknown escape");
    expect_error("list(a = -\"x\")", "sign must be followed");
    expect_error("", "value is missing");
    expect_error("list(a = 1) list()", "text after the end");
    expect_error("list(a = )", "value is missing");
    expect_error("list(a = 1, ?)", "unexpected character");
    char deep[400] = "";
    for (int i = 0; i < 70; i++)
        strcat(deep, "c(");
    expect_error(deep, "nesting too deep");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_descriptor),
        cmocka_unit_test(literals),
        cmocka_unit_test(malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
