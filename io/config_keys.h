/* Internal to the config layer: the table of keys and how each one's value is parsed,
 * validated and written back as text. config.c (loading) and config_emit.c (effective INI,
 * build hash) share it. */
#ifndef AF_CONFIG_KEYS_H
#define AF_CONFIG_KEYS_H

#include <stddef.h>

#include "config.h"

typedef enum af_key_type {
    AF_KT_INT,  /* signed integer in [min, max], int32_t or int64_t storage */
    AF_KT_U64,  /* any 64-bit unsigned integer */
    AF_KT_BOOL, /* true/false, yes/no, 1/0 */
    AF_KT_ENUM, /* one of choices[], stored as an enum (int) */
    AF_KT_PATH, /* a path; "" = not set */
    AF_KT_NAME, /* a job name: letters, digits, '.', '_', '-' */
    AF_KT_INTS  /* comma-separated integers, each as AF_KT_INT; kept as text ("" = none) */
} af_key_type;

typedef struct af_key_spec {
    af_config_key id;
    const char *section;
    const char *name;
    af_key_type type;
    size_t offset;              /* of the field in af_config */
    size_t size;                /* of the field */
    int64_t min, max;           /* AF_KT_INT */
    bool minus_one_ok;          /* AF_KT_INT: -1 is allowed too (search_k "automatic") */
    const char *const *choices; /* AF_KT_ENUM, NULL-terminated, in enum order */
    const char *default_value;  /* as text, parsed like any other value */
} af_key_spec;

extern const char *const af_config_sections[]; /* NULL-terminated, in file order */

const af_key_spec *af_key_spec_of(af_config_key key);
const af_key_spec *af_key_spec_find(const char *section, const char *name);
bool af_section_known(const char *section);

/* Comma-separated list of the keys of `section` (for "unknown key" messages). */
void af_section_keys(const char *section, char *buf, size_t len);

/* Parse `value` into cfg's field for `spec`. On failure returns -1 with the reason (no
 * location) in why, e.g. "not an integer". */
int af_key_set(af_config *cfg, const af_key_spec *spec, const char *value, char *why,
               size_t why_len);

/* The field's current value as text, as the INI file would hold it. */
void af_key_format(const af_config *cfg, const af_key_spec *spec, char *buf, size_t len);

#endif
