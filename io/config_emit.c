/* The config written back out: the effective INI for the run manifest, and the digest of the
 * keys that decide the index bytes (so `run` can tell a stale index). */
#include "config.h"
#include "config_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* The file name in a comment line, with anything that would end the comment replaced. */
static void put_comment_text(FILE *out, const char *text) {
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
}

static void put_origin(FILE *out, const af_config_origin *o) {
    if (o->from == AF_FROM_FILE)
        fprintf(out, " ; line %d\n", (int)o->line);
    else if (o->from == AF_FROM_OVERRIDE)
        fputs(" ; --set\n", out);
    else
        fputs(" ; default\n", out);
}

char *af_config_effective_ini(const af_config *cfg) {
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    fputs("; annforest effective job config: every key, from ", out);
    put_comment_text(out, cfg->file[0] ? cfg->file : "(no file)");
    fputs(", --set overrides and defaults\n", out);
    char value[AF_CONFIG_PATH_MAX + 32];
    const char *section = "";
    for (int k = 0; k < AF_CFG_KEY_COUNT; k++) {
        const af_key_spec *spec = af_key_spec_of((af_config_key)k);
        if (strcmp(section, spec->section) != 0) {
            section = spec->section;
            fprintf(out, "\n[%s]\n", section);
        }
        af_key_format(cfg, spec, value, sizeof value);
        fprintf(out, "%s = %s", spec->name, value);
        put_origin(out, &cfg->origin[k]);
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

uint64_t af_config_build_hash(const af_config *cfg) {
    static const af_config_key build_keys[] = {
        AF_CFG_REFERENCE_PATH, AF_CFG_REFERENCE_NA,    AF_CFG_INDEX_METRIC, AF_CFG_INDEX_TREES,
        AF_CFG_INDEX_SHARDS,   AF_CFG_INDEX_LEAF_SIZE, AF_CFG_INDEX_FORMAT, AF_CFG_JOB_SEED};
    /* Hash "section.key=value\n" lines, not struct bytes: stable across builds and hosts. */
    char text[AF_CONFIG_PATH_MAX + 1024] = "annforest-build-keys-v1\n";
    size_t used = strlen(text);
    for (size_t i = 0; i < sizeof build_keys / sizeof build_keys[0]; i++) {
        char value[AF_CONFIG_PATH_MAX];
        af_key_format(cfg, af_key_spec_of(build_keys[i]), value, sizeof value);
        int n = snprintf(text + used, sizeof text - used, "%s=%s\n",
                         af_config_key_name(build_keys[i]), value);
        if (n > 0)
            used += (size_t)n < sizeof text - used ? (size_t)n : sizeof text - used - 1;
    }
    return XXH3_64bits(text, used);
}
