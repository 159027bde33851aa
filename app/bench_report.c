/* What a bench leaves behind: the CSV (one row per point, written whole then renamed), and a
 * PNG of recall against queries per second per thread drawn by gnuplot, with a peer's curve
 * (any CSV with recall and qps_per_thread columns) on the same axes. */
#include "bench.h"
#include "file_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define CSV_HEADER                                                                                 \
    "label,metric,k,queries,reference_rows,ranks,threads,shards,trees,search_k,recall,qps,"        \
    "qps_per_thread,search_seconds,build_seconds,index_bytes,peak_rss_mib,peak_rss_mib_per_rank\n"

int af_bench_write_csv(const af_job *job, const af_bench_point *points, int n, af_error *err) {
    const af_config *c = &job->cfg;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return af_fail(err, AF_E_INTERNAL, "out of memory for %s", c->bench.out);
    fputs(CSV_HEADER, out);
    for (int i = 0; i < n; i++) {
        const af_bench_point *p = &points[i];
        fprintf(out,
                "%s,%s,%d,%" PRIu64 ",%" PRIu64 ",%d,%d,%d,%d,%" PRId64 ",%.6f,%.3f,%.3f,%.6f,%.6f,"
                "%" PRIu64 ",%.1f,%s\n",
                c->bench.label, af_config_metric_name(c->index.metric), c->query.k, job->query.rows,
                job->ref.rows, job->world.size, job->threads, p->shards, p->trees, p->search_k,
                p->recall, p->qps, p->qps_per_thread, p->search_seconds, p->build_seconds,
                p->index_bytes, p->peak_rss_mib, p->rss_per_rank);
    }
    if (fclose(out) != 0) {
        free(text);
        return af_fail(err, AF_E_INTERNAL, "out of memory for %s", c->bench.out);
    }
    int rc = af_make_parent_dirs(c->bench.out, err) != 0
                 ? -1
                 : af_write_file_atomic(c->bench.out, text, len, err);
    free(text);
    if (rc != 0)
        af_error_prefix(err, "[bench] out");
    return rc;
}

/* ---- the peer's CSV ----------------------------------------------------------------------- */

/* The 0-based index of column `name` in a CSV header line, or -1. */
static int column_of(const char *header, const char *name) {
    int col = 0;
    size_t n = strlen(name);
    for (const char *p = header; *p; col++) {
        size_t w = strcspn(p, ",\r\n");
        if (w == n && strncmp(p, name, n) == 0)
            return col;
        p += w;
        if (*p != ',')
            break;
        p++;
    }
    return -1;
}

/* Field `col` of a CSV line into buf. */
static void field_of(const char *line, int col, char *buf, size_t cap) {
    const char *p = line;
    for (int i = 0; i < col && p; i++) {
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    size_t w = p ? strcspn(p, ",\r\n") : 0;
    snprintf(buf, cap, "%.*s", (int)(w < cap ? w : cap - 1), p ? p : "");
}

int af_bench_peer_check(const char *path, char *title, size_t cap, af_error *err) {
    size_t len = 0;
    char *text = af_read_small_file(path, 64u << 20, &len, err);
    if (!text) {
        af_error_prefix(err, "[bench] peer");
        return -1;
    }
    int rc = 0;
    if (column_of(text, "recall") < 0 || column_of(text, "qps_per_thread") < 0) {
        rc = af_fail(err, AF_E_INPUT,
                     "[bench] peer: %s: the first line must name the columns recall and "
                     "qps_per_thread (bench/results-to-csv.sh makes such a CSV from RESULT lines)",
                     path);
    } else {
        const char *base = strrchr(path, '/');
        snprintf(title, cap, "%s", base ? base + 1 : path);
        int label = column_of(text, "label");
        const char *row = strchr(text, '\n');
        if (label >= 0 && row && row[1]) {
            char value[128];
            field_of(row + 1, label, value, sizeof value);
            if (value[0])
                snprintf(title, cap, "%s", value);
        }
    }
    free(text);
    return rc;
}

/* ---- the plot ----------------------------------------------------------------------------- */

/* A path or title inside a gnuplot single-quoted string ('' is a quote). */
static void put_quoted(FILE *out, const char *s) {
    fputc('\'', out);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', out);
        fputc(*s, out);
    }
    fputc('\'', out);
}

/* One curve per (shards, trees) pair, in sweep order: points of other pairs become NaN, which
 * gnuplot leaves out. */
static void put_curves(FILE *out, const af_job *job, const af_bench_point *points, int n) {
    const char *sep = "plot ";
    for (int i = 0; i < n; i++) {
        if (i > 0 && points[i].shards == points[i - 1].shards &&
            points[i].trees == points[i - 1].trees)
            continue;
        char title[256];
        snprintf(title, sizeof title, "%s: %d trees x %d shards", job->cfg.bench.label,
                 points[i].trees, points[i].shards);
        fprintf(out, "%s", sep);
        put_quoted(out, job->cfg.bench.out);
        fprintf(out,
                " using ((column('trees') == %d && column('shards') == %d) ? column('recall') : "
                "NaN):(column('qps_per_thread')) with linespoints title ",
                points[i].trees, points[i].shards);
        put_quoted(out, title);
        sep = ", \\\n     ";
    }
}

int af_bench_plot(const af_job *job, const af_bench_point *points, int n, const char *peer_title,
                  af_error *err) {
    const af_config *c = &job->cfg;
    if (af_make_parent_dirs(c->bench.plot, err) != 0) {
        af_error_prefix(err, "[bench] plot");
        return -1;
    }
    fflush(NULL);
    FILE *gp = popen("gnuplot", "w");
    if (!gp)
        return af_fail_errno(err, AF_E_OUTPUT, errno, "[bench] plot: cannot run gnuplot");
    fputs("set terminal pngcairo noenhanced size 960,640\nset output ", gp);
    put_quoted(gp, c->bench.plot);
    fprintf(gp,
            "\nset datafile separator ','\nset datafile columnheaders\nset logscale y\n"
            "set grid\nset key bottom left\nset xrange [*:1.02]\nset format y '%%g'\n"
            "set xlabel 'recall@%d (ann-benchmarks rule)'\n"
            "set ylabel 'queries per second per thread'\nset title '%s, k = %d, %" PRIu64
            " x %" PRIu64 " reference, %" PRIu64 " queries, %d ranks x %d threads'\n",
            c->query.k, af_config_metric_name(c->index.metric), c->query.k, job->ref.rows,
            job->ref.cols, job->query.rows, job->world.size, job->threads);
    put_curves(gp, job, points, n);
    if (c->bench.peer[0]) {
        fputs(", \\\n     ", gp);
        put_quoted(gp, c->bench.peer);
        fputs(" using (column('recall')):(column('qps_per_thread')) with linespoints title ", gp);
        put_quoted(gp, peer_title);
    }
    fputc('\n', gp);
    int status = pclose(gp);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return af_fail(err, AF_E_OUTPUT,
                       "[bench] plot: gnuplot failed (exit status %d) drawing %s; is gnuplot "
                       "installed (Debian: gnuplot-nox)?",
                       status == -1 || !WIFEXITED(status) ? -1 : WEXITSTATUS(status),
                       c->bench.plot);
    return 0;
}

/* ---- peak memory -------------------------------------------------------------------------- */

void af_bench_reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f); /* 5: reset the peak resident set size (Linux >= 4.0) */
        fclose(f);
    }
}

double af_bench_peak_rss_mib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    if (kib < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = ru.ru_maxrss;
    }
    return (double)kib / 1024.0;
}
