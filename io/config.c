/* Loading the job config: the file is parsed by libinih, fed line by line through a reader
 * that counts lines (Debian's inih does not pass line numbers to the handler), so that every
 * error names FILE:LINE and the key; then --set overrides go through the same validation. */
#include "config.h"
#include "config_keys.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest line accepted: a full-length path with its key and a comment. */
#define AF_CONFIG_LINE_MAX (AF_CONFIG_PATH_MAX + 1024)
/* A job config is a few dozen lines; anything this large is the wrong file. */
#define AF_CONFIG_FILE_MAX (1L << 20)

static const char *file_label(const af_config *cfg) {
    return cfg->file[0] ? cfg->file : "config";
}

void af_config_defaults(af_config *cfg) {
    memset(cfg, 0, sizeof *cfg); /* zero padding too, so configs compare with memcmp */
    char why[256];
    for (int k = 0; k < AF_CFG_KEY_COUNT; k++) {
        const af_key_spec *spec = af_key_spec_of((af_config_key)k);
        if (af_key_set(cfg, spec, spec->default_value, why, sizeof why) < 0)
            abort(); /* the key table's own defaults are valid: a broken table is a bug */
    }
}

/* ---- inih settings ---- */

/* Debian's libinih exposes its compile-time options as globals. We want: whole lines up to
 * AF_CONFIG_LINE_MAX (heap buffer that grows), ';' and '#' inline comments, no multi-line
 * values (an indented line is a key of its own or an error), stop at the first error. */
typedef struct inih_settings {
    bool use_stack, allow_realloc, allow_multiline, allow_inline_comments, allow_no_value;
    bool stop_on_first_error, allow_bom;
    int max_line, initial_alloc;
    char *inline_prefixes, *start_prefixes;
} inih_settings;

static char comment_prefixes[] = ";#";

static void inih_configure(inih_settings *saved) {
    *saved = (inih_settings){ini_use_stack,
                             ini_allow_realloc,
                             ini_allow_multiline,
                             ini_allow_inline_comments,
                             ini_allow_no_value,
                             ini_stop_on_first_error,
                             ini_allow_bom,
                             ini_max_line,
                             ini_initial_alloc,
                             ini_inline_comment_prefixes,
                             ini_start_comment_prefixes};
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_initial_alloc = 256;
    ini_max_line = AF_CONFIG_LINE_MAX + 3; /* room for "\r\n\0" */
    ini_allow_multiline = false;
    ini_allow_inline_comments = true;
    ini_inline_comment_prefixes = comment_prefixes;
    ini_start_comment_prefixes = comment_prefixes;
    ini_allow_no_value = false;
    ini_stop_on_first_error = true;
    ini_allow_bom = true;
}

static void inih_restore(const inih_settings *s) {
    ini_use_stack = s->use_stack;
    ini_allow_realloc = s->allow_realloc;
    ini_allow_multiline = s->allow_multiline;
    ini_allow_inline_comments = s->allow_inline_comments;
    ini_allow_no_value = s->allow_no_value;
    ini_stop_on_first_error = s->stop_on_first_error;
    ini_allow_bom = s->allow_bom;
    ini_max_line = s->max_line;
    ini_initial_alloc = s->initial_alloc;
    ini_inline_comment_prefixes = s->inline_prefixes;
    ini_start_comment_prefixes = s->start_prefixes;
}

/* ---- parsing the file ---- */

typedef struct parse_state {
    af_config *cfg;
    af_error *err;
    const char *text; /* the whole file, NUL-terminated */
    size_t len, pos;
    int newlines;   /* '\n' handed to inih so far */
    int chunk_line; /* line of the text most recently handed to inih */
    bool failed;    /* err is filled */
} parse_state;

static int fail_at(parse_state *st, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(parse_state *st, int line, const char *fmt, ...) {
    char msg[AF_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    st->failed = true;
    return af_fail(st->err, AF_E_CONFIG, "%s:%d: %s", file_label(st->cfg), line, msg);
}

static void section_list(char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; af_config_sections[i] && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s[%s]", i ? ", " : "", af_config_sections[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Checks on a whole line before inih sees it: its length, and the name of a section header
 * (inih does not call the handler for a section, so an empty unknown one would pass). */
static int check_line(parse_state *st, const char *line, int lineno) {
    const char *end = memchr(line, '\n', st->len - (size_t)(line - st->text));
    size_t n = end ? (size_t)(end - line) : strlen(line);
    if (n > AF_CONFIG_LINE_MAX)
        return fail_at(st, lineno, "line longer than %d characters", AF_CONFIG_LINE_MAX);
    if (lineno == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3, n -= 3;
    size_t i = 0;
    while (i < n && isspace((unsigned char)line[i]))
        i++;
    if (i == n || line[i] != '[')
        return 0;
    const char *close = memchr(line + i, ']', n - i);
    if (!close)
        return 0; /* inih reports the malformed header */
    char name[128];
    size_t name_len = (size_t)(close - line - (long)i - 1);
    snprintf(name, sizeof name, "%.*s", (int)(name_len < sizeof name ? name_len : sizeof name - 1),
             line + i + 1);
    if (af_section_known(name))
        return 0;
    char known[128];
    section_list(known, sizeof known);
    return fail_at(st, lineno, "unknown section [%s] (known: %s)", name, known);
}

/* An fgets-like reader over the file text that knows which line it is on. inih may call it
 * more than once for a long line; a chunk never spans a newline, so its line is the number of
 * newlines before it plus one. */
static char *read_chunk(char *str, int num, void *stream) {
    parse_state *st = stream;
    if (st->failed || st->pos >= st->len || num < 2)
        return NULL;
    const char *start = st->text + st->pos;
    if (st->pos == 0 || st->text[st->pos - 1] == '\n') {
        st->chunk_line = st->newlines + 1;
        if (check_line(st, start, st->chunk_line) < 0)
            return NULL;
    }
    size_t n = 0, max = (size_t)num - 1;
    while (n < max && st->pos + n < st->len) {
        if (start[n++] == '\n')
            break;
    }
    memcpy(str, start, n);
    str[n] = '\0';
    st->pos += n;
    if (str[n - 1] == '\n')
        st->newlines++;
    return str;
}

/* inih's handler: 1 = go on, 0 = stop (the error is in st->err). */
static int on_key(void *user, const char *section, const char *name, const char *value) {
    parse_state *st = user;
    int line = st->chunk_line;
    char list[256], why[256];
    if (section[0] == '\0') {
        fail_at(st, line, "key '%s' comes before any [section]", name);
        return 0;
    }
    if (!af_section_known(section)) {
        section_list(list, sizeof list);
        fail_at(st, line, "unknown section [%s] (known: %s)", section, list);
        return 0;
    }
    const af_key_spec *spec = af_key_spec_find(section, name);
    if (!spec) {
        af_section_keys(section, list, sizeof list);
        fail_at(st, line, "unknown key '%s' in [%s] (known: %s)", name, section, list);
        return 0;
    }
    af_config_origin *origin = &st->cfg->origin[spec->id];
    if (origin->from == AF_FROM_FILE) {
        fail_at(st, line, "[%s] %s given twice (first on line %d)", section, name,
                (int)origin->line);
        return 0;
    }
    if (af_key_set(st->cfg, spec, value, why, sizeof why) < 0) {
        fail_at(st, line, "[%s] %s = '%.300s': %s", section, name, value, why);
        return 0;
    }
    *origin = (af_config_origin){AF_FROM_FILE, line};
    return 1;
}

/* The text of line `lineno` (for a syntax error), without its line ending. */
static void line_text(const char *text, int lineno, char *buf, size_t len) {
    const char *p = text;
    for (int i = 1; i < lineno && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    size_t n = p ? strcspn(p, "\r\n") : 0;
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p ? p : "");
}

static int parse_text(af_config *cfg, const char *text, size_t len, af_error *err) {
    parse_state st = {.cfg = cfg, .err = err, .text = text, .len = len};
    inih_settings saved;
    inih_configure(&saved);
    int rc = ini_parse_stream(read_chunk, &st, on_key, &st);
    inih_restore(&saved);
    if (st.failed)
        return -1;
    if (rc == -2)
        return af_fail(err, AF_E_INTERNAL, "%s: out of memory while parsing", file_label(cfg));
    if (rc != 0) {
        char line[128];
        line_text(text, rc, line, sizeof line);
        return af_fail(err, AF_E_CONFIG,
                       "%s:%d: cannot parse '%s': expected '[section]' or 'key = value'",
                       file_label(cfg), rc, line);
    }
    return 0;
}

/* ---- reading the file ---- */

static char *read_file(const char *path, size_t *len, af_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return af_fail_errno(err, AF_E_CONFIG, errno, "cannot open config '%s'", path), NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1 || (long)cap > AF_CONFIG_FILE_MAX)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger)
            free(buf);
        buf = bigger;
        cap *= 2;
    }
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    if (!buf)
        return af_fail(err, AF_E_INTERNAL, "out of memory reading config '%s'", path), NULL;
    if (read_errno) {
        free(buf);
        return af_fail_errno(err, AF_E_CONFIG, read_errno, "cannot read config '%s'", path), NULL;
    }
    if ((long)n > AF_CONFIG_FILE_MAX) {
        free(buf);
        return af_fail(err, AF_E_CONFIG, "config '%s' is larger than %ld bytes: not a job config",
                       path, AF_CONFIG_FILE_MAX),
               NULL;
    }
    buf[n] = '\0';
    const char *nul = memchr(buf, '\0', n);
    if (nul) {
        int line = 1;
        for (const char *p = buf; p < nul; p++)
            line += *p == '\n';
        free(buf);
        return af_fail(err, AF_E_CONFIG, "%s:%d: contains a NUL byte: not a text file", path, line),
               NULL;
    }
    *len = n;
    return buf;
}

/* job.name's default: the config file's name without directory and extension, with any
 * character a name may not hold replaced by '_'. */
static void default_name_from(const char *path, af_config *cfg) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    if (n == 0)
        return;
    if (n >= sizeof cfg->job.name)
        n = sizeof cfg->job.name - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)base[i];
        cfg->job.name[i] = (char)(isalnum(c) || c == '_' || c == '-' ? c : '_');
    }
    cfg->job.name[n] = '\0';
}

int af_config_load(const char *path, const char *const *overrides, int n_overrides, af_config *cfg,
                   af_error *err) {
    af_config_defaults(cfg);
    if (strlen(path) >= sizeof cfg->file)
        return af_fail(err, AF_E_CONFIG, "config path is longer than %zu characters",
                       sizeof cfg->file - 1);
    strcpy(cfg->file, path);
    default_name_from(path, cfg);
    size_t len = 0;
    char *text = read_file(path, &len, err);
    if (!text)
        return -1;
    int rc = parse_text(cfg, text, len, err);
    free(text);
    for (int i = 0; rc == 0 && i < n_overrides; i++)
        rc = af_config_apply_override(cfg, overrides[i], err);
    return rc;
}

/* ---- --set overrides ---- */

/* [begin, end) without surrounding blanks, into buf. */
static void trimmed(const char *begin, const char *end, char *buf, size_t len) {
    while (begin < end && isspace((unsigned char)*begin))
        begin++;
    while (end > begin && isspace((unsigned char)end[-1]))
        end--;
    size_t n = (size_t)(end - begin);
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), begin);
}

int af_config_apply_override(af_config *cfg, const char *assignment, af_error *err) {
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    char section[64] = "", name[64] = "", list[256];
    if (eq && dot && dot < eq) {
        trimmed(assignment, dot, section, sizeof section);
        trimmed(dot + 1, eq, name, sizeof name);
    }
    if (!eq || !dot || dot > eq || !section[0] || !name[0])
        return af_fail(err, AF_E_CONFIG, "--set '%.300s': expected section.key=value", assignment);
    if (!af_section_known(section)) {
        section_list(list, sizeof list);
        return af_fail(err, AF_E_CONFIG, "--set %s.%s: unknown section [%s] (known: %s)", section,
                       name, section, list);
    }
    const af_key_spec *spec = af_key_spec_find(section, name);
    if (!spec) {
        af_section_keys(section, list, sizeof list);
        return af_fail(err, AF_E_CONFIG, "--set %s.%s: unknown key '%s' in [%s] (known: %s)",
                       section, name, name, section, list);
    }
    size_t value_len = strlen(eq + 1) + 1;
    char *value = malloc(value_len);
    if (!value)
        return af_fail(err, AF_E_INTERNAL, "out of memory");
    trimmed(eq + 1, eq + value_len, value, value_len);
    char why[256];
    int rc = af_key_set(cfg, spec, value, why, sizeof why);
    if (rc < 0)
        af_fail(err, AF_E_CONFIG, "--set %s.%s = '%.300s': %s", section, name, value, why);
    free(value);
    if (rc < 0)
        return -1;
    cfg->origin[spec->id] = (af_config_origin){AF_FROM_OVERRIDE, 0};
    return 0;
}

/* ---- what each command needs ---- */

static int require_key(const af_config *cfg, af_config_key key, const char *purpose,
                       af_error *err) {
    const af_key_spec *spec = af_key_spec_of(key);
    if (((const char *)cfg + spec->offset)[0] != '\0')
        return 0;
    const af_config_origin *o = &cfg->origin[key];
    if (o->from == AF_FROM_FILE)
        return af_fail(err, AF_E_CONFIG, "%s:%d: [%s] %s is empty, but it is needed %s",
                       file_label(cfg), (int)o->line, spec->section, spec->name, purpose);
    if (o->from == AF_FROM_OVERRIDE)
        return af_fail(err, AF_E_CONFIG, "--set %s.%s is empty, but it is needed %s", spec->section,
                       spec->name, purpose);
    return af_fail(err, AF_E_CONFIG, "%s: missing key [%s] %s, needed %s", file_label(cfg),
                   spec->section, spec->name, purpose);
}

int af_config_require(const af_config *cfg, unsigned needs, af_error *err) {
    if (needs & AF_NEED_BUILD) {
        const char *why = "to build the index";
        if (require_key(cfg, AF_CFG_REFERENCE_PATH, why, err) < 0 ||
            require_key(cfg, AF_CFG_INDEX_PATH, why, err) < 0)
            return -1;
    }
    if (needs & AF_NEED_QUERY) {
        const char *why = "to query the index";
        if (require_key(cfg, AF_CFG_INDEX_PATH, why, err) < 0 ||
            require_key(cfg, AF_CFG_QUERY_PATH, why, err) < 0 ||
            (cfg->query.self &&
             require_key(cfg, AF_CFG_REFERENCE_PATH, "with [query] path = self", err) < 0) ||
            require_key(cfg, AF_CFG_OUTPUT_INDEX, why, err) < 0)
            return -1;
    }
    if (needs & AF_NEED_EXACT) {
        const char *why = "for an exact search";
        if (require_key(cfg, AF_CFG_REFERENCE_PATH, why, err) < 0 ||
            require_key(cfg, AF_CFG_QUERY_PATH, why, err) < 0 ||
            require_key(cfg, AF_CFG_OUTPUT_INDEX, why, err) < 0)
            return -1;
    }
    if (needs & AF_NEED_BENCH) {
        const char *why = "for a benchmark sweep";
        if (require_key(cfg, AF_CFG_BENCH_OUT, why, err) < 0 ||
            (!cfg->bench.dataset[0] && (require_key(cfg, AF_CFG_REFERENCE_PATH, why, err) < 0 ||
                                        require_key(cfg, AF_CFG_QUERY_PATH, why, err) < 0)))
            return -1;
    }
    return 0;
}

int af_config_fail_key(const af_config *cfg, af_config_key key, af_error *err, const char *fmt,
                       ...) {
    const af_key_spec *spec = af_key_spec_of(key);
    if (!spec)
        return af_fail(err, AF_E_INTERNAL, "af_config_fail_key: no key %d", (int)key);
    char msg[AF_ERROR_MSG_MAX], value[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    af_key_format(cfg, spec, value, sizeof value);
    const af_config_origin *o = &cfg->origin[key];
    if (o->from == AF_FROM_FILE)
        return af_fail(err, AF_E_CONFIG, "%s:%d: [%s] %s = '%s': %s", file_label(cfg), (int)o->line,
                       spec->section, spec->name, value, msg);
    if (o->from == AF_FROM_OVERRIDE)
        return af_fail(err, AF_E_CONFIG, "--set %s.%s = '%s': %s", spec->section, spec->name, value,
                       msg);
    return af_fail(err, AF_E_CONFIG, "%s: [%s] %s = '%s' (default): %s", file_label(cfg),
                   spec->section, spec->name, value, msg);
}
