#include "rdput.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { max_depth = 64 };

typedef struct parser {
    const char *s;
    size_t len, pos;
    int line;
    const char *source;
    af_error *err;
} parser;

static int fail_at(parser *p, const char *what) {
    if (p->pos >= p->len)
        return af_fail(p->err, AF_E_INPUT,
                       "%s:%d: malformed R descriptor: %s (the text ends early)", p->source,
                       p->line, what);
    return af_fail(p->err, AF_E_INPUT, "%s:%d: malformed R descriptor: %s near '%.20s'", p->source,
                   p->line, what, p->s + p->pos);
}

static void skip_space(parser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == '\n')
            p->line++;
        if (c == '#') { /* a comment runs to the end of the line */
            while (p->pos < p->len && p->s[p->pos] != '\n')
                p->pos++;
            continue;
        }
        if (!isspace((unsigned char)c))
            break;
        p->pos++;
    }
}

static int peek(parser *p) {
    skip_space(p);
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int is_ident_start(int c) {
    return isalpha(c) || c == '.';
}

static int is_ident_char(int c) {
    return isalnum(c) || c == '.' || c == '_';
}

/* A growing byte buffer for string literals. */
typedef struct sbuf {
    char *b;
    size_t n, cap;
} sbuf;

static int sbuf_put(sbuf *sb, const char *bytes, size_t n) {
    if (sb->n + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap * 2 : 32;
        while (cap < sb->n + n + 1)
            cap *= 2;
        char *b = realloc(sb->b, cap);
        if (!b)
            return -1;
        sb->b = b;
        sb->cap = cap;
    }
    memcpy(sb->b + sb->n, bytes, n);
    sb->n += n;
    sb->b[sb->n] = '\0';
    return 0;
}

static int put_utf8(sbuf *sb, unsigned long cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    return sbuf_put(sb, u, n);
}

/* Up to `max` digits of the given base; returns how many were read. */
static int read_digits(parser *p, int base, int max, unsigned long *value) {
    int n = 0;
    *value = 0;
    while (n < max && p->pos < p->len) {
        int c = (unsigned char)p->s[p->pos], d;
        if (isdigit(c))
            d = c - '0';
        else if (base == 16 && isxdigit(c))
            d = tolower(c) - 'a' + 10;
        else
            break;
        if (d >= base)
            break;
        *value = *value * (unsigned long)base + (unsigned long)d;
        p->pos++, n++;
    }
    return n;
}

static int read_unicode_escape(parser *p, int max, sbuf *sb) {
    unsigned long cp;
    int braced = p->pos < p->len && p->s[p->pos] == '{';
    if (braced)
        p->pos++;
    if (read_digits(p, 16, max, &cp) == 0 || cp > 0x10FFFF)
        return fail_at(p, "bad \\u escape in a string");
    if (braced) {
        if (p->pos >= p->len || p->s[p->pos] != '}')
            return fail_at(p, "unclosed \\u{...} escape");
        p->pos++;
    }
    return put_utf8(sb, cp) == 0 ? 0 : af_fail(p->err, AF_E_INTERNAL, "out of memory");
}

static int read_escape(parser *p, sbuf *sb) {
    if (p->pos >= p->len)
        return fail_at(p, "unterminated string");
    char c = p->s[p->pos++], out;
    switch (c) {
    case 'n':
        out = '\n';
        break;
    case 't':
        out = '\t';
        break;
    case 'r':
        out = '\r';
        break;
    case 'a':
        out = '\a';
        break;
    case 'b':
        out = '\b';
        break;
    case 'f':
        out = '\f';
        break;
    case 'v':
        out = '\v';
        break;
    case '\\':
    case '"':
    case '\'':
    case '`':
    case ' ':
        out = c;
        break;
    case 'x': {
        unsigned long v;
        if (read_digits(p, 16, 2, &v) == 0)
            return fail_at(p, "bad \\x escape in a string");
        out = (char)v;
        break;
    }
    case 'u':
        return read_unicode_escape(p, 4, sb);
    case 'U':
        return read_unicode_escape(p, 8, sb);
    default:
        if (c >= '0' && c <= '7') {
            unsigned long v;
            p->pos--;
            read_digits(p, 8, 3, &v);
            out = (char)v;
            break;
        }
        p->pos--;
        return fail_at(p, "unknown escape in a string");
    }
    return sbuf_put(sb, &out, 1) == 0 ? 0 : af_fail(p->err, AF_E_INTERNAL, "out of memory");
}

/* A quoted string (or backquoted name); the opening quote is at p->pos. */
static char *read_quoted(parser *p) {
    char quote = p->s[p->pos++];
    sbuf sb = {0};
    if (sbuf_put(&sb, "", 0) != 0)
        return af_fail(p->err, AF_E_INTERNAL, "out of memory"), NULL;
    while (p->pos < p->len && p->s[p->pos] != quote) {
        char c = p->s[p->pos++];
        int rc = 0;
        if (c == '\\')
            rc = read_escape(p, &sb);
        else {
            if (c == '\n')
                p->line++;
            if (c == '\0') {
                p->pos--;
                rc = fail_at(p, "a NUL byte in a string");
            } else if (sbuf_put(&sb, &c, 1) != 0)
                rc = af_fail(p->err, AF_E_INTERNAL, "out of memory");
        }
        if (rc != 0) {
            free(sb.b);
            return NULL;
        }
    }
    if (p->pos >= p->len) {
        free(sb.b);
        return fail_at(p, "unterminated string"), NULL;
    }
    p->pos++;
    return sb.b;
}

static char *read_ident(parser *p) {
    size_t start = p->pos;
    while (p->pos < p->len && is_ident_char((unsigned char)p->s[p->pos]))
        p->pos++;
    char *id = malloc(p->pos - start + 1);
    if (!id)
        return af_fail(p->err, AF_E_INTERNAL, "out of memory"), NULL;
    memcpy(id, p->s + start, p->pos - start);
    id[p->pos - start] = '\0';
    return id;
}

/* A numeric literal at p->pos (no sign): decimal or hex, optional exponent, optional L. */
static int read_number(parser *p, int negative, af_rnode *out) {
    size_t start = p->pos;
    const char *s = p->s;
    if (p->pos + 1 < p->len && s[p->pos] == '0' && (s[p->pos + 1] == 'x' || s[p->pos + 1] == 'X')) {
        p->pos += 2;
        while (p->pos < p->len && (isxdigit((unsigned char)s[p->pos]) || s[p->pos] == '.'))
            p->pos++;
        if (p->pos < p->len && (s[p->pos] == 'p' || s[p->pos] == 'P')) {
            p->pos++;
            if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
                p->pos++;
        }
        while (p->pos < p->len && isdigit((unsigned char)s[p->pos]))
            p->pos++;
    } else {
        while (p->pos < p->len && (isdigit((unsigned char)s[p->pos]) || s[p->pos] == '.'))
            p->pos++;
        if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
            p->pos++;
            if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
                p->pos++;
            if (p->pos >= p->len || !isdigit((unsigned char)s[p->pos]))
                return fail_at(p, "a number with an empty exponent");
            while (p->pos < p->len && isdigit((unsigned char)s[p->pos]))
                p->pos++;
        }
    }
    char buf[128];
    size_t n = p->pos - start;
    if (n == 0 || n >= sizeof buf)
        return fail_at(p, "a malformed number");
    memcpy(buf, s + start, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end != '\0') {
        p->pos = start;
        return fail_at(p, "a malformed number");
    }
    out->kind = AF_R_DOUBLE;
    out->num = negative ? -v : v;
    if (p->pos < p->len && s[p->pos] == 'L') {
        p->pos++;
        if (v != floor(v) || v > 2147483647.0 + (negative ? 1 : 0)) {
            p->pos = start;
            return fail_at(p, "an integer literal (L) that is not a 32-bit integer");
        }
        out->kind = AF_R_INTEGER;
    }
    if (p->pos < p->len && is_ident_char((unsigned char)s[p->pos])) {
        p->pos = start;
        return fail_at(p, "a malformed number");
    }
    return 0;
}

static int parse_value(parser *p, af_rnode *out, int depth);
static void free_contents(af_rnode *n);

static int push_arg(af_rnode *call, af_rnode *arg, size_t *cap) {
    if (call->nargs == *cap) {
        size_t c = *cap ? *cap * 2 : 4;
        af_rnode *a = realloc(call->args, c * sizeof *a);
        if (!a)
            return -1;
        call->args = a;
        *cap = c;
    }
    call->args[call->nargs++] = *arg;
    return 0;
}

/* An optional `name =` before an argument. Looks ahead without consuming anything else. */
static int parse_arg_name(parser *p, char **name) {
    *name = NULL;
    size_t save_pos = p->pos;
    int save_line = p->line;
    int c = peek(p);
    char *id = NULL;
    if (c == '`' || c == '"' || c == '\'') {
        id = read_quoted(p);
        if (!id)
            return -1;
    } else if (is_ident_start(c)) {
        id = read_ident(p);
        if (!id)
            return -1;
    } else {
        return 0;
    }
    /* "=" but not "==" makes it a name */
    if (peek(p) == '=' && !(p->pos + 1 < p->len && p->s[p->pos + 1] == '=')) {
        p->pos++;
        *name = id;
        return 0;
    }
    free(id);
    p->pos = save_pos;
    p->line = save_line;
    return 0;
}

static int parse_call_args(parser *p, af_rnode *call, int depth) {
    size_t cap = 0;
    p->pos++; /* '(' */
    if (peek(p) == ')') {
        p->pos++;
        return 0;
    }
    for (;;) {
        af_rnode arg;
        memset(&arg, 0, sizeof arg);
        char *name;
        if (parse_arg_name(p, &name) != 0)
            return -1;
        if (parse_value(p, &arg, depth + 1) != 0) {
            free(name);
            free_contents(&arg); /* what the failed value had built so far */
            return -1;
        }
        arg.name = name;
        if (push_arg(call, &arg, &cap) != 0) {
            free_contents(&arg);
            return af_fail(p->err, AF_E_INTERNAL, "out of memory");
        }
        int c = peek(p);
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (c == ')') {
            p->pos++;
            return 0;
        }
        return fail_at(p, c < 0 ? "unbalanced parentheses" : "expected ',' or ')'");
    }
}

static int keyword_value(const char *id, af_rnode *out) {
    static const struct {
        const char *word;
        af_rkind kind;
        int is_na, lgl;
        double num;
    } words[] = {{"TRUE", AF_R_LOGICAL, 0, 1, 0},
                 {"FALSE", AF_R_LOGICAL, 0, 0, 0},
                 {"T", AF_R_LOGICAL, 0, 1, 0},
                 {"F", AF_R_LOGICAL, 0, 0, 0},
                 {"NULL", AF_R_NULL, 0, 0, 0},
                 {"NA", AF_R_LOGICAL, 1, 0, 0},
                 {"NA_integer_", AF_R_INTEGER, 1, 0, 0},
                 {"NA_real_", AF_R_DOUBLE, 1, 0, 0},
                 {"NA_character_", AF_R_STRING, 1, 0, 0},
                 {"Inf", AF_R_DOUBLE, 0, 0, INFINITY},
                 {"NaN", AF_R_DOUBLE, 0, 0, NAN}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(id, words[i].word) == 0) {
            out->kind = words[i].kind;
            out->is_na = words[i].is_na;
            out->lgl = words[i].lgl;
            out->num = words[i].num;
            return 1;
        }
    return 0;
}

static int parse_value(parser *p, af_rnode *out, int depth) {
    if (depth > max_depth)
        return fail_at(p, "nesting too deep");
    int c = peek(p);
    out->line = p->line;
    if (c < 0)
        return fail_at(p, "a value is missing");
    if (c == '"' || c == '\'') {
        out->kind = AF_R_STRING;
        out->str = read_quoted(p);
        return out->str ? 0 : -1;
    }
    if (c == '-' || c == '+') {
        p->pos++;
        int d = peek(p);
        if (isdigit(d) || d == '.')
            return read_number(p, c == '-', out);
        if (is_ident_start(d)) {
            char *id = read_ident(p);
            if (!id)
                return -1;
            int ok = strcmp(id, "Inf") == 0;
            free(id);
            if (ok) {
                out->kind = AF_R_DOUBLE;
                out->num = c == '-' ? -INFINITY : INFINITY;
                return 0;
            }
        }
        return fail_at(p, "a sign must be followed by a number");
    }
    if (isdigit(c) || (c == '.' && p->pos + 1 < p->len && isdigit((unsigned char)p->s[p->pos + 1])))
        return read_number(p, 0, out);
    if (c == '`' || is_ident_start(c)) {
        char *id = c == '`' ? read_quoted(p) : read_ident(p);
        if (!id)
            return -1;
        if (peek(p) == '(') {
            out->kind = AF_R_CALL;
            out->fn = id;
            return parse_call_args(p, out, depth);
        }
        int known = c != '`' && keyword_value(id, out);
        if (!known) {
            af_fail(p->err, AF_E_INPUT,
                    "%s:%d: malformed R descriptor: '%s' is neither a value nor a call", p->source,
                    p->line, id);
            free(id);
            return -1;
        }
        free(id);
        return 0;
    }
    if (c == ')' || c == ',')
        return fail_at(p, "a value is missing");
    return fail_at(p, "unexpected character");
}

af_rnode *af_rdput_parse(const char *text, size_t len, const char *source, af_error *err) {
    parser p = {text, len, 0, 1, source, err};
    af_rnode *root = calloc(1, sizeof *root);
    if (!root)
        return af_fail(err, AF_E_INTERNAL, "out of memory"), NULL;
    if (parse_value(&p, root, 0) != 0) {
        af_rnode_free(root);
        return NULL;
    }
    int c = peek(&p);
    if (c >= 0) {
        fail_at(&p, c == ')' ? "unbalanced parentheses" : "text after the end of the value");
        af_rnode_free(root);
        return NULL;
    }
    return root;
}

/* Frees what n holds, not n itself: nodes live in their parent's array. */
static void free_contents(af_rnode *n) {
    for (size_t i = 0; i < n->nargs; i++)
        free_contents(&n->args[i]);
    free(n->args);
    free(n->name);
    free(n->str);
    free(n->fn);
    memset(n, 0, sizeof *n);
}

void af_rnode_free(af_rnode *root) {
    if (root) {
        free_contents(root);
        free(root);
    }
}

const af_rnode *af_rnode_arg(const af_rnode *call, const char *name) {
    if (!call || call->kind != AF_R_CALL)
        return NULL;
    for (size_t i = 0; i < call->nargs; i++)
        if (call->args[i].name && strcmp(call->args[i].name, name) == 0)
            return &call->args[i];
    return NULL;
}

int af_rnode_is_call(const af_rnode *n, const char *fn) {
    return n && n->kind == AF_R_CALL && strcmp(n->fn, fn) == 0;
}

static int is_atomic_scalar(const af_rnode *n) {
    return n->kind == AF_R_LOGICAL || n->kind == AF_R_INTEGER || n->kind == AF_R_DOUBLE ||
           n->kind == AF_R_STRING;
}

long af_rnode_length(const af_rnode *n) {
    if (!n)
        return -1;
    if (n->kind == AF_R_NULL)
        return 0;
    if (is_atomic_scalar(n))
        return 1;
    if (af_rnode_is_call(n, "c")) {
        for (size_t i = 0; i < n->nargs; i++)
            if (!is_atomic_scalar(&n->args[i]))
                return -1;
        return (long)n->nargs;
    }
    return -1;
}

const af_rnode *af_rnode_elem(const af_rnode *n, size_t i) {
    long len = af_rnode_length(n);
    if (len < 0 || i >= (size_t)len)
        return NULL;
    return is_atomic_scalar(n) ? n : &n->args[i];
}

const af_rnode *af_rnode_scalar(const af_rnode *n) {
    return af_rnode_length(n) == 1 ? af_rnode_elem(n, 0) : NULL;
}
