/* A strict RFC 8259 JSON parser (DOM) and a tiny growable text buffer with JSON string escaping.
 *
 * Our own code on purpose (engine/README.md, "JSON"): no cJSON dependency, so the GPU-machine build, the
 * MinGW cross build and the fuzzers stay simple. Strict means: exactly one value, no comments, no trailing
 * commas, no leading zeros, no NaN/Infinity, valid UTF-8 only, no raw control characters in strings,
 * surrogate pairs checked. Errors give the byte offset, line and column of the first offending byte.
 * Numbers that are integers (no fraction, no exponent) that fit int64 are kept exact. */
#ifndef TSR_CORE_JSON_H
#define TSR_CORE_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tessera.h"

typedef enum tsr_json_type {
    TSR_JSON_NULL,
    TSR_JSON_BOOL,
    TSR_JSON_NUMBER,
    TSR_JSON_STRING,
    TSR_JSON_ARRAY,
    TSR_JSON_OBJECT
} tsr_json_type;

typedef struct tsr_json tsr_json;
struct tsr_json {
    tsr_json_type type;
    bool boolean;
    bool is_int;           /* number written as an integer literal that fits int64 */
    int64_t integer;       /* exact value when is_int */
    double number;         /* always set for numbers */
    char *str;             /* strings: NUL-terminated (may also contain NULs; see len) */
    size_t len;
    size_t count;          /* arrays / objects: number of items */
    tsr_json *items;       /* arrays / objects: values, in document order */
    char **keys;           /* objects: keys, in document order (duplicates are kept) */
    size_t *key_lens;
    size_t offset;         /* byte offset of the value in the text (for callers' messages) */
};

typedef struct tsr_json_limits {
    int max_depth;         /* nesting of arrays/objects; default 64 */
    size_t max_bytes;      /* input size; default 256 MiB */
    size_t max_nodes;      /* values in the document; default 16 Mi */
} tsr_json_limits;

typedef struct tsr_json_doc tsr_json_doc;

/* Parse `len` bytes (need not be NUL-terminated). limits may be NULL (defaults). `label` names the
 * source in messages ("model.safetensors header"). On failure *out is NULL and err says where. */
tsr_status tsr_json_parse(const char *text, size_t len, const tsr_json_limits *limits, const char *label,
                          tsr_json_doc **out, tsr_error *err);
const tsr_json *tsr_json_root(const tsr_json_doc *doc);
void tsr_json_free(tsr_json_doc *doc);

/* First member named `key` of an object (NULL if absent or not an object). */
const tsr_json *tsr_json_get(const tsr_json *obj, const char *key);
const char *tsr_json_type_name(tsr_json_type t);

/* Growable text buffer (for --json output and the safetensors header). On allocation failure `failed`
 * is set and later appends do nothing, so callers check once at the end. */
typedef struct tsr_sbuf {
    char *data;
    size_t len, cap;
    bool failed;
} tsr_sbuf;
void tsr_sbuf_init(tsr_sbuf *b);
void tsr_sbuf_free(tsr_sbuf *b);
void tsr_sbuf_append(tsr_sbuf *b, const char *s, size_t n);
void tsr_sbuf_puts(tsr_sbuf *b, const char *s);
void tsr_sbuf_printf(tsr_sbuf *b, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Append `s` as a quoted JSON string (escapes ", \, control characters). */
void tsr_sbuf_json_str(tsr_sbuf *b, const char *s);
#endif
