/* tsr_job_spec <-> JSON (the store keeps one per queue row). One table names every field once, so writer
 * and reader cannot drift apart; a new spec field is one new line here. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/json.h"

enum field_kind { F_STR, F_INT, F_I64, F_U64 };

typedef struct spec_field {
    const char *key;
    enum field_kind kind;
    size_t offset, size;
} spec_field;

#define STR(f) {#f, F_STR, offsetof(tsr_job_spec, f), sizeof(((tsr_job_spec *)0)->f)}
#define INT(f) {#f, F_INT, offsetof(tsr_job_spec, f), sizeof(((tsr_job_spec *)0)->f)}
#define I64(f) {#f, F_I64, offsetof(tsr_job_spec, f), sizeof(((tsr_job_spec *)0)->f)}
#define U64(f) {#f, F_U64, offsetof(tsr_job_spec, f), sizeof(((tsr_job_spec *)0)->f)}

/* enums are stored as int (C11: an enum with these constants is int-sized on every supported ABI) */
static const spec_field fields[] = {
    STR(input),      STR(output),     STR(model),      STR(format),     INT(backend),    INT(device),
    INT(precision),  U64(memory_budget), INT(tile),    INT(chunk),      INT(kind),       STR(codec),
    INT(crf),        I64(bitrate),    INT(ten_bit),    STR(audio_from), INT(no_audio),   INT(fps_num),
    INT(fps_den),    INT(latent_f16), INT(latent_raw), INT(queue_frames), U64(host_budget),
};

_Static_assert(sizeof(tsr_backend_kind) == sizeof(int) && sizeof(tsr_precision) == sizeof(int) &&
                   sizeof(tsr_job_kind) == sizeof(int),
               "spec enums are read and written as int");

char *tsr_job_spec_to_json(const tsr_job_spec *spec)
{
    tsr_sbuf b;
    tsr_sbuf_init(&b);
    const char *base = (const char *)spec;
    for (size_t i = 0; i < TSR_ARRAY_LEN(fields); i++) {
        const spec_field *f = &fields[i];
        tsr_sbuf_printf(&b, "%s\"%s\":", i ? "," : "{", f->key);
        const void *at = base + f->offset;
        switch (f->kind) {
        case F_STR: {
            char tmp[TSR_PATH_MAX];
            snprintf(tmp, sizeof tmp, "%.*s", (int)f->size, (const char *)at); /* bounded even if unterminated */
            tsr_sbuf_json_str(&b, tmp);
            break;
        }
        case F_INT: tsr_sbuf_printf(&b, "%d", *(const int *)at); break;
        case F_I64: tsr_sbuf_printf(&b, "%lld", (long long)*(const int64_t *)at); break;
        case F_U64: tsr_sbuf_printf(&b, "%llu", (unsigned long long)*(const uint64_t *)at); break;
        }
    }
    tsr_sbuf_puts(&b, "}");
    if (b.failed) {
        tsr_sbuf_free(&b);
        return NULL;
    }
    return b.data;
}

static tsr_status set_field(const spec_field *f, const tsr_json *v, char *base, tsr_error *err)
{
    void *at = base + f->offset;
    if (f->kind == F_STR) {
        if (v->type != TSR_JSON_STRING || memchr(v->str, 0, v->len))
            return tsr_fail(err, TSR_ERR_FORMAT, "job spec: \"%s\" must be a string", f->key);
        if (v->len >= f->size)
            return tsr_fail(err, TSR_ERR_FORMAT, "job spec: \"%s\" is longer than %zu bytes", f->key, f->size - 1);
        memcpy(at, v->str, v->len + 1);
        return TSR_OK;
    }
    if (v->type != TSR_JSON_NUMBER || !v->is_int)
        return tsr_fail(err, TSR_ERR_FORMAT, "job spec: \"%s\" must be an integer", f->key);
    int64_t x = v->integer;
    switch (f->kind) {
    case F_INT:
        if (x < -2147483647 - 1 || x > 2147483647)
            return tsr_fail(err, TSR_ERR_FORMAT, "job spec: \"%s\" is out of range", f->key);
        *(int *)at = (int)x;
        break;
    case F_I64: *(int64_t *)at = x; break;
    case F_U64:
        if (x < 0) return tsr_fail(err, TSR_ERR_FORMAT, "job spec: \"%s\" must not be negative", f->key);
        *(uint64_t *)at = (uint64_t)x;
        break;
    case F_STR: break;
    }
    return TSR_OK;
}

tsr_status tsr_job_spec_from_json(const char *json, tsr_job_spec *spec, tsr_error *err)
{
    tsr_job_spec_default(spec);
    if (!json) return tsr_fail(err, TSR_ERR_INVALID_ARG, "job spec: no JSON");
    tsr_json_doc *doc = NULL;
    tsr_status st = tsr_json_parse(json, strlen(json), NULL, "job spec", &doc, err);
    if (st != TSR_OK) return st;
    const tsr_json *root = tsr_json_root(doc);
    if (root->type != TSR_JSON_OBJECT) st = tsr_fail(err, TSR_ERR_FORMAT, "job spec: not a JSON object");
    for (size_t i = 0; st == TSR_OK && i < TSR_ARRAY_LEN(fields); i++) {
        const tsr_json *v = tsr_json_get(root, fields[i].key);
        if (v) st = set_field(&fields[i], v, (char *)spec, err);
    }
    tsr_json_free(doc);
    if (st != TSR_OK) tsr_job_spec_default(spec);
    return st;
}

void tsr_job_partial_path(const char *output, char *buf, size_t n) { snprintf(buf, n, "%s.part", output); }
