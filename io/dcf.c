#include "dcf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int push_field(af_dcf *d, char *key, char *value, int line) {
    if (d->count == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 32;
        af_dcf_field *f = realloc(d->fields, cap * sizeof *f);
        if (!f)
            return -1;
        d->fields = f;
        d->cap = cap;
    }
    d->fields[d->count++] = (af_dcf_field){key, value, line};
    return 0;
}

static char *trimmed_copy(const char *s, size_t n) {
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

static int valid_key(const char *s, size_t n) {
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return 0;
    return 1;
}

/* Append a continuation line to the last field's value, joined by a space. */
static int continue_value(af_dcf *d, const char *s, size_t n) {
    af_dcf_field *f = &d->fields[d->count - 1];
    char *more = trimmed_copy(s, n);
    if (!more)
        return -1;
    size_t a = strlen(f->value), b = strlen(more);
    char *joined = realloc(f->value, a + b + 2);
    if (!joined) {
        free(more);
        return -1;
    }
    if (a && b)
        joined[a++] = ' ';
    memcpy(joined + a, more, b + 1);
    f->value = joined;
    free(more);
    return 0;
}

static int parse_line(af_dcf *d, const char *s, size_t n, int line, const char *source,
                      af_error *err) {
    if (n && s[n - 1] == '\r')
        n--;
    size_t blank = 0;
    while (blank < n && isspace((unsigned char)s[blank]))
        blank++;
    if (blank == n)
        return 0; /* blank lines end a record in DCF; one record is all we keep */
    if (blank > 0) {
        if (d->count == 0)
            return af_fail(err, AF_E_INPUT, "%s:%d: continuation line before any field", source,
                           line);
        return continue_value(d, s, n) == 0 ? 0 : af_fail(err, AF_E_INTERNAL, "out of memory");
    }
    const char *colon = memchr(s, ':', n);
    if (!colon || !valid_key(s, (size_t)(colon - s)))
        return af_fail(err, AF_E_INPUT, "%s:%d: expected 'key: value', found '%.*s'", source, line,
                       (int)(n > 60 ? 60 : n), s);
    char *key = trimmed_copy(s, (size_t)(colon - s));
    char *value = trimmed_copy(colon + 1, n - (size_t)(colon + 1 - s));
    if (!key || !value) {
        free(key);
        free(value);
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    }
    if (af_dcf_get(d, key)) {
        af_fail(err, AF_E_INPUT, "%s:%d: field '%s' appears twice", source, line, key);
        free(key);
        free(value);
        return -1;
    }
    if (push_field(d, key, value, line) != 0) {
        free(key);
        free(value);
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    }
    return 0;
}

int af_dcf_parse(const char *text, size_t len, const char *source, af_dcf *out, af_error *err) {
    memset(out, 0, sizeof *out);
    int line = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        line++;
        if (memchr(text + pos, '\0', n)) {
            af_dcf_free(out);
            return af_fail(err, AF_E_INPUT, "%s:%d: binary data in a text file", source, line);
        }
        if (parse_line(out, text + pos, n, line, source, err) != 0) {
            af_dcf_free(out);
            return -1;
        }
        pos += n + (nl ? 1 : 0);
    }
    return 0;
}

const char *af_dcf_get(const af_dcf *d, const char *key) {
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->fields[i].key, key) == 0)
            return d->fields[i].value;
    return NULL;
}

int af_dcf_add(af_dcf *d, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *value = NULL;
    int n = vasprintf(&value, fmt, ap);
    va_end(ap);
    char *k = strdup(key);
    if (n < 0 || !k || push_field(d, k, value, 0) != 0) {
        free(k);
        if (n >= 0)
            free(value);
        return -1;
    }
    return 0;
}

char *af_dcf_format(const af_dcf *d) {
    size_t total = 1;
    for (size_t i = 0; i < d->count; i++)
        total += strlen(d->fields[i].key) + strlen(d->fields[i].value) + 3;
    char *text = malloc(total), *p = text;
    if (!text)
        return NULL;
    for (size_t i = 0; i < d->count; i++)
        p += sprintf(p, "%s: %s\n", d->fields[i].key, d->fields[i].value);
    *p = '\0';
    return text;
}

void af_dcf_free(af_dcf *d) {
    for (size_t i = 0; i < d->count; i++) {
        free(d->fields[i].key);
        free(d->fields[i].value);
    }
    free(d->fields);
    memset(d, 0, sizeof *d);
}
