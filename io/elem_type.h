/* Element types of file-backed matrices: bigmemory's six and R ff's vmodes, their sizes in
 * bits, value ranges and R's NA codes. All multi-byte values are native (little-endian) as R
 * writes them; packed types (boolean, logical, quad, nibble) sit least-significant bits first
 * in 32-bit native words, as ff stores them. */
#ifndef AF_ELEM_TYPE_H
#define AF_ELEM_TYPE_H

#include <stdint.h>

typedef enum af_elem_type {
    AF_T_BOOLEAN = 1, /* 1 bit, 0/1, no NA */
    AF_T_LOGICAL,     /* 2 bits: 0 FALSE, 1 TRUE, 2 NA */
    AF_T_QUAD,        /* 2 bits unsigned 0..3 */
    AF_T_NIBBLE,      /* 4 bits unsigned 0..15 */
    AF_T_BYTE,        /* int8; bigmemory "char"; NA -128 */
    AF_T_UBYTE,       /* uint8 0..255, no NA */
    AF_T_RAW,         /* uint8 bytes, no NA; bigmemory "raw" */
    AF_T_SHORT,       /* int16; NA -32768 */
    AF_T_USHORT,      /* uint16, no NA */
    AF_T_INTEGER,     /* int32; NA INT_MIN */
    AF_T_SINGLE,      /* float32; NA NaN; bigmemory "float" */
    AF_T_DOUBLE,      /* float64; NA R's NA_real_ (and any NaN) */
    AF_T_COUNT
} af_elem_type;

/* How NA cells are recognised in a stored matrix. */
typedef enum af_na_mode {
    AF_NA_R = 0,         /* R's code for the type (ff's for packed logical); none for unsigned */
    AF_NA_NONE = 1,      /* no value is NA (NaN in a float type still is: it cannot be used) */
    AF_NA_VALUE = 2,     /* one explicit value is NA (besides NaN for float types) */
    AF_NA_BIGMEMORY = 3, /* R's codes, and for float also FLT_MIN (bigmemory's NA_FLOAT) */
} af_na_mode;

unsigned af_elem_bits(af_elem_type t); /* 1, 2, 4, 8, 16, 32 or 64; 0 if unknown */
int af_elem_is_packed(af_elem_type t); /* fewer than 8 bits */
int af_elem_is_float(af_elem_type t);
/* The ff vmode / annforest name ("byte", "single", ...). */
const char *af_elem_name(af_elem_type t);
/* Parse an ff vmode name or a bigmemory type name ("char", "float", "int32", ...). 0 if none. */
af_elem_type af_elem_from_name(const char *name);
/* bigmemory's name for the type ("char", "short", "integer", "float", "double", "raw"), or
 * NULL when bigmemory cannot hold it. */
const char *af_elem_bigmemory_name(af_elem_type t);
/* A short C description, e.g. "int32, 4 bytes". */
const char *af_elem_c_desc(af_elem_type t);

/* Range of values the type holds apart from its NA code under R's convention; for float types
 * the finite range. */
void af_elem_range(af_elem_type t, double *lo, double *hi);
/* Whether the type has an NA code under R's convention. */
int af_elem_has_r_na(af_elem_type t);
/* R's NA code of the type as a double (e.g. -2147483648 for integer, 2 for logical). */
double af_elem_r_na_code(af_elem_type t);

/* R's NA_real_: a NaN whose low word is 1954. */
double af_na_real(void);
int af_is_na_real(double v); /* exactly R's NA_real_ (not any NaN) */

/* Decode `count` elements of type t starting at bit position bitpos of base, each `stride_bits`
 * after the previous, into dst[i * dst_stride] as doubles; NA cells become NaN (R's NA_real_
 * unless the source is a NaN of its own, which stays that NaN: R reads a float NaN, from ff or
 * bigmemory, as NaN). Returns the number of NA cells. */
uint64_t af_decode_f64(af_elem_type t, int na_mode, double na_value, const unsigned char *base,
                       uint64_t bitpos, uint64_t stride_bits, uint64_t count, double *dst,
                       uint64_t dst_stride);
uint64_t af_decode_f32(af_elem_type t, int na_mode, double na_value, const unsigned char *base,
                       uint64_t bitpos, uint64_t stride_bits, uint64_t count, float *dst,
                       uint64_t dst_stride);

#endif
