#include "elem_type.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

typedef struct type_info {
    const char *name;
    const char *bigmemory;
    const char *c_desc;
    unsigned bits;
    double lo, hi; /* values apart from the NA code */
    int has_na;
    double na_code;
} type_info;

static const type_info infos[AF_T_COUNT] = {
    [AF_T_BOOLEAN] = {"boolean", NULL, "1 bit, 0..1", 1, 0, 1, 0, 0},
    [AF_T_LOGICAL] = {"logical", NULL, "2 bits, FALSE/TRUE/NA", 2, 0, 1, 1, 2},
    [AF_T_QUAD] = {"quad", NULL, "2 bits, 0..3", 2, 0, 3, 0, 0},
    [AF_T_NIBBLE] = {"nibble", NULL, "4 bits, 0..15", 4, 0, 15, 0, 0},
    [AF_T_BYTE] = {"byte", "char", "int8, 1 byte", 8, -127, 127, 1, -128},
    [AF_T_UBYTE] = {"ubyte", NULL, "uint8, 1 byte", 8, 0, 255, 0, 0},
    [AF_T_RAW] = {"raw", "raw", "uint8, 1 byte", 8, 0, 255, 0, 0},
    [AF_T_SHORT] = {"short", "short", "int16, 2 bytes", 16, -32767, 32767, 1, -32768},
    [AF_T_USHORT] = {"ushort", NULL, "uint16, 2 bytes", 16, 0, 65535, 0, 0},
    [AF_T_INTEGER] = {"integer", "integer", "int32, 4 bytes", 32, -2147483647.0, 2147483647.0, 1,
                      -2147483648.0},
    [AF_T_SINGLE] = {"single", "float", "float32, 4 bytes", 32, -FLT_MAX, FLT_MAX, 1, NAN},
    [AF_T_DOUBLE] = {"double", "double", "float64, 8 bytes", 64, -DBL_MAX, DBL_MAX, 1, NAN},
};

static const type_info *info_of(af_elem_type t) {
    return (t > 0 && t < AF_T_COUNT) ? &infos[t] : NULL;
}

unsigned af_elem_bits(af_elem_type t) {
    const type_info *i = info_of(t);
    return i ? i->bits : 0;
}

int af_elem_is_packed(af_elem_type t) {
    return af_elem_bits(t) > 0 && af_elem_bits(t) < 8;
}

int af_elem_is_float(af_elem_type t) {
    return t == AF_T_SINGLE || t == AF_T_DOUBLE;
}

const char *af_elem_name(af_elem_type t) {
    const type_info *i = info_of(t);
    return i ? i->name : "unknown";
}

const char *af_elem_bigmemory_name(af_elem_type t) {
    const type_info *i = info_of(t);
    return i ? i->bigmemory : NULL;
}

const char *af_elem_c_desc(af_elem_type t) {
    const type_info *i = info_of(t);
    return i ? i->c_desc : "unknown";
}

af_elem_type af_elem_from_name(const char *name) {
    static const struct {
        const char *alias;
        af_elem_type t;
    } aliases[] = {{"char", AF_T_BYTE},      {"int8", AF_T_BYTE},     {"uint8", AF_T_UBYTE},
                   {"int16", AF_T_SHORT},    {"uint16", AF_T_USHORT}, {"int", AF_T_INTEGER},
                   {"int32", AF_T_INTEGER},  {"float", AF_T_SINGLE},  {"float32", AF_T_SINGLE},
                   {"float64", AF_T_DOUBLE}, {"numeric", AF_T_DOUBLE}};
    if (!name)
        return 0;
    for (int t = 1; t < AF_T_COUNT; t++)
        if (strcmp(name, infos[t].name) == 0)
            return (af_elem_type)t;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i].alias) == 0)
            return aliases[i].t;
    return 0;
}

void af_elem_range(af_elem_type t, double *lo, double *hi) {
    const type_info *i = info_of(t);
    *lo = i ? i->lo : 0;
    *hi = i ? i->hi : 0;
}

int af_elem_has_r_na(af_elem_type t) {
    const type_info *i = info_of(t);
    return i ? i->has_na : 0;
}

double af_elem_r_na_code(af_elem_type t) {
    const type_info *i = info_of(t);
    return i ? i->na_code : 0;
}

double af_na_real(void) {
    /* R builds NA_real_ as a NaN whose lower 32 bits are 1954. */
    uint64_t bits = 0x7FF00000000007A2ULL;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

int af_is_na_real(double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return isnan(v) && (uint32_t)bits == 1954;
}

/* The raw value of one element, as a double (exact for every type). */
static inline double load_bits(const unsigned char *base, uint64_t bitpos, unsigned bits) {
    unsigned char byte = base[bitpos >> 3];
    return (double)((byte >> (bitpos & 7)) & ((1u << bits) - 1));
}

#define DEFINE_LOAD(NAME, CTYPE)                                                                   \
    static inline double NAME(const unsigned char *base, uint64_t bitpos) {                        \
        CTYPE v;                                                                                   \
        memcpy(&v, base + (bitpos >> 3), sizeof v);                                                \
        return (double)v;                                                                          \
    }
DEFINE_LOAD(load_i8, int8_t)
DEFINE_LOAD(load_u8, uint8_t)
DEFINE_LOAD(load_i16, int16_t)
DEFINE_LOAD(load_u16, uint16_t)
DEFINE_LOAD(load_i32, int32_t)
DEFINE_LOAD(load_f32, float)
DEFINE_LOAD(load_f64, double)

/* Whether a non-float raw value is NA under the mode. */
static inline int int_is_na(double raw, int check, double code) {
    return check && raw == code;
}

/* Decide once per run which code marks NA, then decode with a tight loop per type. */
typedef struct na_rule {
    int check;       /* compare raw values with code */
    double code;     /* the NA code */
    int flt_min_too; /* bigmemory float: FLT_MIN reads as NA */
} na_rule;

static na_rule na_rule_for(af_elem_type t, int na_mode, double na_value) {
    na_rule r = {0, 0, 0};
    if (na_mode == AF_NA_VALUE) {
        r.check = 1;
        r.code = na_value;
    } else if ((na_mode == AF_NA_R || na_mode == AF_NA_BIGMEMORY) && af_elem_has_r_na(t) &&
               !af_elem_is_float(t)) {
        r.check = 1;
        r.code = af_elem_r_na_code(t);
    }
    r.flt_min_too = (na_mode == AF_NA_BIGMEMORY && t == AF_T_SINGLE);
    return r;
}

#define DECODE_LOOP(OUT_T, RAW_EXPR, IS_NA_EXPR, NA_OUT_EXPR)                                      \
    for (uint64_t i = 0; i < count; i++, bitpos += stride_bits) {                                  \
        double raw = (RAW_EXPR);                                                                   \
        if (IS_NA_EXPR) {                                                                          \
            dst[i * dst_stride] = (OUT_T)(NA_OUT_EXPR);                                            \
            nas++;                                                                                 \
        } else {                                                                                   \
            dst[i * dst_stride] = (OUT_T)raw;                                                      \
        }                                                                                          \
    }

#define DECODE_ALL(OUT_T)                                                                          \
    do {                                                                                           \
        na_rule r = na_rule_for(t, na_mode, na_value);                                             \
        double na_out = af_na_real();                                                              \
        uint64_t nas = 0;                                                                          \
        switch (t) {                                                                               \
        case AF_T_BOOLEAN:                                                                         \
        case AF_T_LOGICAL:                                                                         \
        case AF_T_QUAD:                                                                            \
        case AF_T_NIBBLE: {                                                                        \
            unsigned b = af_elem_bits(t);                                                          \
            DECODE_LOOP(OUT_T, load_bits(base, bitpos, b), int_is_na(raw, r.check, r.code),        \
                        na_out)                                                                    \
            break;                                                                                 \
        }                                                                                          \
        case AF_T_BYTE:                                                                            \
            DECODE_LOOP(OUT_T, load_i8(base, bitpos), int_is_na(raw, r.check, r.code), na_out)     \
            break;                                                                                 \
        case AF_T_UBYTE:                                                                           \
        case AF_T_RAW:                                                                             \
            DECODE_LOOP(OUT_T, load_u8(base, bitpos), int_is_na(raw, r.check, r.code), na_out)     \
            break;                                                                                 \
        case AF_T_SHORT:                                                                           \
            DECODE_LOOP(OUT_T, load_i16(base, bitpos), int_is_na(raw, r.check, r.code), na_out)    \
            break;                                                                                 \
        case AF_T_USHORT:                                                                          \
            DECODE_LOOP(OUT_T, load_u16(base, bitpos), int_is_na(raw, r.check, r.code), na_out)    \
            break;                                                                                 \
        case AF_T_INTEGER:                                                                         \
            DECODE_LOOP(OUT_T, load_i32(base, bitpos), int_is_na(raw, r.check, r.code), na_out)    \
            break;                                                                                 \
        case AF_T_SINGLE:                                                                          \
            DECODE_LOOP(OUT_T, load_f32(base, bitpos),                                             \
                        isnan(raw) || (r.check && raw == r.code) ||                                \
                            (r.flt_min_too && raw == (double)FLT_MIN),                             \
                        isnan(raw) ? raw : na_out)                                                 \
            break;                                                                                 \
        case AF_T_DOUBLE:                                                                          \
            DECODE_LOOP(OUT_T, load_f64(base, bitpos), isnan(raw) || (r.check && raw == r.code),   \
                        isnan(raw) ? raw : na_out)                                                 \
            break;                                                                                 \
        default:                                                                                   \
            break;                                                                                 \
        }                                                                                          \
        return nas;                                                                                \
    } while (0)

/* The common cases on their own: contiguous floats or doubles (bigmemory float, R's numeric)
 * into contiguous output, a loop without branches that the compiler vectorises. Same values and
 * NA rules as DECODE_ALL. */
#define DECODE_PLAIN(IN_T, OUT_T)                                                                  \
    do {                                                                                           \
        na_rule r = na_rule_for(t, na_mode, na_value);                                             \
        double na_out = af_na_real();                                                              \
        const unsigned char *p = base + (bitpos >> 3);                                             \
        uint64_t nas = 0;                                                                          \
        for (uint64_t i = 0; i < count; i++) {                                                     \
            IN_T v;                                                                                \
            memcpy(&v, p + sizeof v * i, sizeof v);                                                \
            double raw = (double)v;                                                                \
            int nan = isnan(raw);                                                                  \
            int na =                                                                               \
                nan | (r.check & (raw == r.code)) | (r.flt_min_too & (raw == (double)FLT_MIN));    \
            nas += (uint64_t)na;                                                                   \
            dst[i] = (OUT_T)(na && !nan ? na_out : raw);                                           \
        }                                                                                          \
        return nas;                                                                                \
    } while (0)

static int plain_run(af_elem_type t, uint64_t bitpos, uint64_t stride_bits, uint64_t dst_stride) {
    return ((t == AF_T_DOUBLE && stride_bits == 64) || (t == AF_T_SINGLE && stride_bits == 32)) &&
           bitpos % 8 == 0 && dst_stride == 1;
}

uint64_t af_decode_f64(af_elem_type t, int na_mode, double na_value, const unsigned char *base,
                       uint64_t bitpos, uint64_t stride_bits, uint64_t count, double *dst,
                       uint64_t dst_stride) {
    if (plain_run(t, bitpos, stride_bits, dst_stride)) {
        if (t == AF_T_DOUBLE)
            DECODE_PLAIN(double, double);
        DECODE_PLAIN(float, double);
    }
    DECODE_ALL(double);
}

uint64_t af_decode_f32(af_elem_type t, int na_mode, double na_value, const unsigned char *base,
                       uint64_t bitpos, uint64_t stride_bits, uint64_t count, float *dst,
                       uint64_t dst_stride) {
    if (plain_run(t, bitpos, stride_bits, dst_stride)) {
        if (t == AF_T_DOUBLE)
            DECODE_PLAIN(double, float);
        DECODE_PLAIN(float, float);
    }
    DECODE_ALL(float);
}
