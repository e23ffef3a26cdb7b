/* safetensors: every byte of the header is validated before a tensor is handed out (see safetensors.h).
 * Order of checks: header length, JSON, per-tensor entry (dtype, shape, offsets, byte size), then across
 * tensors (duplicate names, overlaps), then the FP8 scale convention. */
#include "model/safetensors.h"

#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/file.h"
#include "core/json.h"

#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

typedef struct st_entry {
    const char *name;     /* borrowed from the JSON document */
    tsr_dtype dtype;
    int ndim;
    int64_t shape[TSR_MAX_DIMS];
    uint64_t begin, end;
} st_entry;

static bool parse_dtype(const char *s, tsr_dtype *dt)
{
    static const struct {
        const char *name;
        tsr_dtype dt;
    } known[] = {{"F32", TSR_DT_F32}, {"F16", TSR_DT_F16}, {"BF16", TSR_DT_BF16}, {"F8_E4M3", TSR_DT_F8_E4M3}};
    for (size_t i = 0; i < TSR_ARRAY_LEN(known); i++)
        if (strcmp(s, known[i].name) == 0) {
            *dt = known[i].dt;
            return true;
        }
    return false;
}

static tsr_status parse_shape(const char *label, const char *name, const tsr_json *shape, st_entry *e,
                              tsr_error *err)
{
    if (!shape || shape->type != TSR_JSON_ARRAY)
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s': \"shape\" missing or not an array", label, name);
    if (shape->count > TSR_MAX_DIMS)
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s': %zu dimensions (at most %d supported)", label, name,
                        shape->count, TSR_MAX_DIMS);
    e->ndim = (int)shape->count;
    for (size_t d = 0; d < shape->count; d++) {
        const tsr_json *x = &shape->items[d];
        if (x->type != TSR_JSON_NUMBER || !x->is_int || x->integer < 0)
            return tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s': shape[%zu] is not a non-negative integer", label,
                            name, d);
        e->shape[d] = x->integer;
    }
    return TSR_OK;
}

static tsr_status parse_offsets(const char *label, const char *name, const tsr_json *off, st_entry *e,
                                tsr_error *err)
{
    if (!off || off->type != TSR_JSON_ARRAY || off->count != 2)
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s': \"data_offsets\" must be an array [begin, end]", label,
                        name);
    for (int i = 0; i < 2; i++)
        if (off->items[i].type != TSR_JSON_NUMBER || !off->items[i].is_int || off->items[i].integer < 0)
            return tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s': data_offsets[%d] is not a non-negative integer",
                            label, name, i);
    e->begin = (uint64_t)off->items[0].integer;
    e->end = (uint64_t)off->items[1].integer;
    if (e->end < e->begin)
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s': data_offsets end %llu is before begin %llu", label, name,
                        (unsigned long long)e->end, (unsigned long long)e->begin);
    return TSR_OK;
}

/* numel and byte size of the entry, overflow-checked against the declared byte range. */
static tsr_status check_size(const char *label, const st_entry *e, uint64_t data_size, tsr_error *err)
{
    if (e->end > data_size)
        return tsr_fail(err, TSR_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets [%llu, %llu] run past the data section (%llu bytes)", label,
                        e->name, (unsigned long long)e->begin, (unsigned long long)e->end,
                        (unsigned long long)data_size);
    uint64_t numel = 1;
    for (int d = 0; d < e->ndim; d++) {
        uint64_t s = (uint64_t)e->shape[d];
        if (s != 0 && numel > (uint64_t)INT64_MAX / 8 / s)
            return tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s': shape is too large", label, e->name);
        numel *= s;
    }
    uint64_t want = tsr_dtype_nbytes(e->dtype, (int64_t)numel);
    if (want != e->end - e->begin) {
        char shp[128];
        tsr_shape_str(e->ndim, e->shape, shp, sizeof shp);
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s': %s %s needs %llu bytes but data_offsets span %llu",
                        label, e->name, tsr_dtype_name(e->dtype), shp, (unsigned long long)want,
                        (unsigned long long)(e->end - e->begin));
    }
    return TSR_OK;
}

static tsr_status parse_entry(const char *label, const char *name, const tsr_json *v, uint64_t data_size,
                              st_entry *e, tsr_error *err)
{
    memset(e, 0, sizeof *e);
    e->name = name;
    if (v->type != TSR_JSON_OBJECT)
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s': entry is a JSON %s, not an object", label, name,
                        tsr_json_type_name(v->type));
    for (size_t i = 0; i < v->count; i++)
        if (strcmp(v->keys[i], "dtype") && strcmp(v->keys[i], "shape") && strcmp(v->keys[i], "data_offsets"))
            return tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s': unknown field \"%s\"", label, name, v->keys[i]);
    const tsr_json *dt = tsr_json_get(v, "dtype");
    if (!dt || dt->type != TSR_JSON_STRING)
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s': \"dtype\" missing or not a string", label, name);
    if (!parse_dtype(dt->str, &e->dtype))
        return tsr_fail(err, TSR_ERR_FORMAT,
                        "%s: tensor '%s': unsupported dtype \"%.32s\" (supported: F32, F16, BF16, F8_E4M3)", label,
                        name, dt->str);
    if (parse_shape(label, name, tsr_json_get(v, "shape"), e, err) != TSR_OK) return TSR_ERR_FORMAT;
    if (parse_offsets(label, name, tsr_json_get(v, "data_offsets"), e, err) != TSR_OK)
        return TSR_ERR_FORMAT;
    return check_size(label, e, data_size, err);
}

static tsr_status parse_metadata(const char *label, const tsr_json *m, tsr_weights *w, tsr_error *err)
{
    if (m->type != TSR_JSON_OBJECT)
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: \"__metadata__\" is a JSON %s, not an object of strings", label,
                        tsr_json_type_name(m->type));
    for (size_t i = 0; i < m->count; i++) {
        if (m->items[i].type != TSR_JSON_STRING)
            return tsr_fail(err, TSR_ERR_FORMAT, "%s: __metadata__ \"%s\" is a JSON %s, not a string", label,
                            m->keys[i], tsr_json_type_name(m->items[i].type));
        tsr_status st = tsr_weights_add_meta(w, m->keys[i], m->items[i].str, err);
        if (st != TSR_OK) return st;
    }
    return TSR_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const st_entry *const *)a)->name, (*(const st_entry *const *)b)->name);
}

static int cmp_begin(const void *a, const void *b)
{
    const st_entry *x = *(const st_entry *const *)a, *y = *(const st_entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Duplicate names and overlapping byte ranges (empty tensors overlap nothing). */
static tsr_status check_cross(const char *label, st_entry *e, size_t n, tsr_error *err)
{
    if (n == 0) return TSR_OK;
    st_entry **v = tsr_malloc(n * sizeof *v, err);
    if (!v) return TSR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) v[i] = &e[i];
    tsr_status st = TSR_OK;
    qsort(v, n, sizeof *v, cmp_name);
    for (size_t i = 1; i < n && st == TSR_OK; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0)
            st = tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", label, v[i]->name);
    qsort(v, n, sizeof *v, cmp_begin);
    uint64_t reach = 0;
    const char *reach_name = NULL;
    for (size_t i = 0; i < n && st == TSR_OK; i++) {
        if (v[i]->begin == v[i]->end) continue;
        if (reach_name && v[i]->begin < reach)
            st = tsr_fail(err, TSR_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap in the data section", label,
                          reach_name, v[i]->name);
        reach = v[i]->end;
        reach_name = v[i]->name;
    }
    free(v);
    return st;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* FP8 convention: `X.weight_scale` F32 [Cout] belongs to `X.weight` F8_E4M3. Returns the index of the weight
 * (or -1 with err set). */
static int fp8_owner(const char *label, const st_entry *e, size_t n, size_t si, tsr_error *err)
{
    const st_entry *s = &e[si];
    size_t len = strlen(s->name) - strlen("_scale");
    for (size_t i = 0; i < n; i++) {
        if (strlen(e[i].name) != len || strncmp(e[i].name, s->name, len) != 0) continue;
        if (e[i].dtype != TSR_DT_F8_E4M3 || e[i].ndim < 1)
            break;
        if (s->dtype != TSR_DT_F32 || s->ndim != 1 || s->shape[0] != e[i].shape[0]) {
            tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s': an FP8 scale must be F32 [%lld] (one per output channel)",
                     label, s->name, (long long)e[i].shape[0]);
            return -1;
        }
        return (int)i;
    }
    tsr_fail(err, TSR_ERR_FORMAT, "%s: tensor '%s' has no F8_E4M3 tensor '%.*s' to scale", label, s->name, (int)len,
             s->name);
    return -1;
}

/* Hand a block to the weights' owned list (freed with them). Frees it on failure. */
static tsr_status keep_owned(tsr_weights *w, void *p, tsr_error *err)
{
    if (w->owned_count == w->owned_cap) {
        int cap = w->owned_cap ? w->owned_cap * 2 : 16;
        void **o = realloc(w->owned, (size_t)cap * sizeof *o);
        if (!o) {
            free(p);
            return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
        }
        w->owned = o;
        w->owned_cap = cap;
    }
    w->owned[w->owned_count++] = p;
    return TSR_OK;
}

static tsr_status add_entries(const char *label, const uint8_t *data, st_entry *e, size_t n, tsr_weights *w,
                              tsr_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (ends_with(e[i].name, ".weight_scale")) continue;
        tsr_status st = tsr_weights_add(w, e[i].name, e[i].dtype, e[i].ndim, e[i].shape, data + e[i].begin,
                                        (size_t)(e[i].end - e[i].begin), false, err);
        if (st != TSR_OK) return st;
    }
    for (size_t i = 0; i < n; i++) {
        if (!ends_with(e[i].name, ".weight_scale")) continue;
        int o = fp8_owner(label, e, n, i, err);
        if (o < 0) return TSR_ERR_FORMAT;
        /* the mapping gives no alignment guarantee for a float pointer: keep an aligned copy */
        size_t nb = (size_t)(e[i].end - e[i].begin);
        float *scale = tsr_malloc(nb ? nb : 4, err);
        if (!scale) return TSR_ERR_NOMEM;
        memcpy(scale, data + e[i].begin, nb);
        if (keep_owned(w, scale, err) != TSR_OK) return TSR_ERR_NOMEM;
        tsr_tensor_info *t = (tsr_tensor_info *)tsr_weights_find(w, e[o].name);
        t->channel_scale = scale;
    }
    return TSR_OK;
}

static tsr_status parse_header(const uint8_t *bytes, size_t size, const char *label, tsr_weights *w,
                               tsr_error *err)
{
    if (size < 8)
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: file of %zu bytes is too short for a safetensors header", label, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | bytes[i];
    if (hlen > ST_MAX_HEADER)
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: header length %llu exceeds the 100 MB limit", label,
                        (unsigned long long)hlen);
    if (hlen > size - 8)
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)", label,
                        (unsigned long long)hlen, size);
    char jl[600];
    snprintf(jl, sizeof jl, "%s: header", label);
    tsr_json_doc *doc = NULL;
    tsr_status st = tsr_json_parse((const char *)bytes + 8, (size_t)hlen, NULL, jl, &doc, err);
    if (st != TSR_OK) return st;
    const tsr_json *root = tsr_json_root(doc);
    const uint8_t *data = bytes + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;
    st_entry *e = NULL;
    size_t n = 0;
    if (root->type != TSR_JSON_OBJECT)
        st = tsr_fail(err, TSR_ERR_FORMAT, "%s: header is a JSON %s, not an object", label,
                      tsr_json_type_name(root->type));
    else if (!(e = tsr_calloc(root->count, sizeof *e, err)))
        st = TSR_ERR_NOMEM;
    for (size_t i = 0; st == TSR_OK && i < root->count; i++) {
        if (strcmp(root->keys[i], "__metadata__") == 0) st = parse_metadata(label, &root->items[i], w, err);
        else if (strlen(root->keys[i]) != root->key_lens[i] || root->key_lens[i] == 0)
            st = tsr_fail(err, TSR_ERR_FORMAT, "%s: a tensor name is empty or contains a NUL character", label);
        else st = parse_entry(label, root->keys[i], &root->items[i], data_size, &e[n++], err);
    }
    if (st == TSR_OK) st = check_cross(label, e, n, err);
    if (st == TSR_OK) st = add_entries(label, data, e, n, w, err);
    free(e);
    tsr_json_free(doc);
    return st;
}

tsr_status tsr_safetensors_parse(const void *data, size_t size, const char *label, tsr_weights *out, tsr_error *err)
{
    if (!label) label = "safetensors";
    tsr_weights_init(out);
    out->format = TSR_FORMAT_SAFETENSORS;
    tsr_status st = parse_header(data, size, label, out, err);
    if (st != TSR_OK) tsr_weights_free(out);
    return st;
}

tsr_status tsr_safetensors_open(const char *path, tsr_weights *out, tsr_error *err)
{
    void *map = NULL;
    size_t size = 0;
    tsr_weights_init(out);
    tsr_status st = tsr_map_file(path, &map, &size, err);
    if (st != TSR_OK) return st;
    st = tsr_safetensors_parse(map, size, path, out, err);
    if (st != TSR_OK) {
        tsr_unmap_file(map, size);
        return st;
    }
    out->mapping = map;
    out->mapping_size = size;
    out->source_path = tsr_strdup(path);
    if (!out->source_path) {
        tsr_weights_free(out);
        return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
    }
    return TSR_OK;
}

/* ---------------------------------------------------------------- writer */

static tsr_status build_header(const tsr_st_tensor *t, int n, const char *const *meta, int meta_pairs,
                               tsr_sbuf *h, tsr_error *err)
{
    uint64_t off = 0;
    tsr_sbuf_puts(h, "{");
    if (meta_pairs > 0) {
        tsr_sbuf_puts(h, "\"__metadata__\":{");
        for (int i = 0; i < meta_pairs; i++) {
            if (i) tsr_sbuf_puts(h, ",");
            tsr_sbuf_json_str(h, meta[2 * i]);
            tsr_sbuf_puts(h, ":");
            tsr_sbuf_json_str(h, meta[2 * i + 1]);
        }
        tsr_sbuf_puts(h, "}");
    }
    for (int i = 0; i < n; i++) {
        int64_t numel = 1;
        if (t[i].ndim < 0 || t[i].ndim > TSR_MAX_DIMS || t[i].dtype == TSR_DT_Q8_0 || (unsigned)t[i].dtype >= TSR_DT_COUNT)
            return tsr_fail(err, TSR_ERR_INVALID_ARG, "tensor '%s': cannot be written to safetensors", t[i].name);
        for (int d = 0; d < t[i].ndim; d++) numel *= t[i].shape[d];
        uint64_t nb = tsr_dtype_nbytes(t[i].dtype, numel);
        if (i || meta_pairs > 0) tsr_sbuf_puts(h, ",");
        tsr_sbuf_json_str(h, t[i].name);
        tsr_sbuf_printf(h, ":{\"dtype\":\"%s\",\"shape\":[", tsr_dtype_name(t[i].dtype));
        for (int d = 0; d < t[i].ndim; d++) tsr_sbuf_printf(h, d ? ",%lld" : "%lld", (long long)t[i].shape[d]);
        tsr_sbuf_printf(h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                        (unsigned long long)(off + nb));
        off += nb;
    }
    tsr_sbuf_puts(h, "}");
    while ((8 + h->len) % 8) tsr_sbuf_puts(h, " "); /* data section starts 8-byte aligned */
    return h->failed ? tsr_fail(err, TSR_ERR_NOMEM, "out of host memory") : TSR_OK;
}

tsr_status tsr_safetensors_write(const char *path, const tsr_st_tensor *tensors, int n, const char *const *meta,
                                 int meta_pairs, tsr_error *err)
{
    tsr_sbuf h;
    tsr_sbuf_init(&h);
    tsr_status st = build_header(tensors, n, meta, meta_pairs, &h, err);
    if (st != TSR_OK) {
        tsr_sbuf_free(&h);
        return st;
    }
    tsr_atomic_file af;
    st = tsr_atomic_open(&af, path, err);
    if (st != TSR_OK) {
        tsr_sbuf_free(&h);
        return st;
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)h.len >> (8 * i));
    bool ok = fwrite(len8, 1, 8, af.fp) == 8 && fwrite(h.data, 1, h.len, af.fp) == h.len;
    for (int i = 0; ok && i < n; i++) {
        int64_t numel = 1;
        for (int d = 0; d < tensors[i].ndim; d++) numel *= tensors[i].shape[d];
        size_t nb = tsr_dtype_nbytes(tensors[i].dtype, numel);
        ok = nb == 0 || fwrite(tensors[i].data, 1, nb, af.fp) == nb;
    }
    tsr_sbuf_free(&h);
    if (!ok) {
        tsr_atomic_abort(&af);
        return tsr_fail(err, TSR_ERR_IO, "%s: write failed", path);
    }
    return tsr_atomic_commit(&af, err);
}
