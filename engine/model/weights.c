#include "model/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/file.h"
#include "core/fp8.h"
#include "core/half.h"

const char *tsr_dtype_name(tsr_dtype dt)
{
    static const char *names[TSR_DT_COUNT] = {"F32", "F16", "BF16", "F8_E4M3", "Q8_0"};
    return (unsigned)dt < TSR_DT_COUNT ? names[dt] : "?";
}

size_t tsr_dtype_nbytes(tsr_dtype dt, int64_t numel)
{
    if (numel < 0) return 0;
    size_t n = (size_t)numel, out;
    switch (dt) {
    case TSR_DT_F32: return tsr_mul_size(n, 4, &out) ? out : 0;
    case TSR_DT_F16:
    case TSR_DT_BF16: return tsr_mul_size(n, 2, &out) ? out : 0;
    case TSR_DT_F8_E4M3: return n;
    case TSR_DT_Q8_0: return (n % 32) ? 0 : (n / 32) * 34;
    default: return 0;
    }
}

void tsr_shape_str(int ndim, const int64_t *shape, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = 0;
    for (int i = 0; i < ndim && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, i ? "x%lld" : "%lld", (long long)shape[i]);
    if (ndim == 0) snprintf(buf, n, "scalar");
}

void tsr_weights_init(tsr_weights *w)
{
    memset(w, 0, sizeof *w);
}

void tsr_weights_free(tsr_weights *w)
{
    if (!w) return;
    for (int i = 0; i < w->count; i++) free(w->tensors[i].name);
    free(w->tensors);
    for (int i = 0; i < w->owned_count; i++) free(w->owned[i]);
    free(w->owned);
    free(w->source_path);
    for (int i = 0; i < w->meta_count; i++) {
        free(w->meta_keys[i]);
        free(w->meta_values[i]);
    }
    free(w->meta_keys);
    free(w->meta_values);
    if (w->mapping) tsr_unmap_file(w->mapping, w->mapping_size);
    memset(w, 0, sizeof *w);
}

static tsr_status own(tsr_weights *w, void *p, tsr_error *err)
{
    if (w->owned_count == w->owned_cap) {
        int cap = w->owned_cap ? w->owned_cap * 2 : 64;
        void **n = realloc(w->owned, (size_t)cap * sizeof *n);
        if (!n) return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
        w->owned = n;
        w->owned_cap = cap;
    }
    w->owned[w->owned_count++] = p;
    return TSR_OK;
}

tsr_status tsr_weights_add(tsr_weights *w, const char *name, tsr_dtype dt, int ndim, const int64_t *shape,
                           const void *data, size_t nbytes, bool take, tsr_error *err)
{
    if (ndim < 0 || ndim > TSR_MAX_DIMS)
        return tsr_fail(err, TSR_ERR_FORMAT, "tensor '%s': %d dimensions (at most %d supported)", name, ndim,
                        TSR_MAX_DIMS);
    if (w->count == w->capacity) {
        int cap = w->capacity ? w->capacity * 2 : 256;
        tsr_tensor_info *n = realloc(w->tensors, (size_t)cap * sizeof *n);
        if (!n) return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
        w->tensors = n;
        w->capacity = cap;
    }
    tsr_tensor_info *t = &w->tensors[w->count];
    memset(t, 0, sizeof *t);
    t->name = tsr_strdup(name);
    if (!t->name) return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
    t->dtype = dt;
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= shape[i];
    }
    t->data = data;
    t->nbytes = nbytes;
    if (take && own(w, (void *)data, err) != TSR_OK) {
        free(t->name);
        return TSR_ERR_NOMEM;
    }
    w->count++;
    return TSR_OK;
}

tsr_status tsr_weights_add_meta(tsr_weights *w, const char *key, const char *value, tsr_error *err)
{
    char **k = realloc(w->meta_keys, (size_t)(w->meta_count + 1) * sizeof *k);
    if (!k) return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
    w->meta_keys = k;
    char **v = realloc(w->meta_values, (size_t)(w->meta_count + 1) * sizeof *v);
    if (!v) return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
    w->meta_values = v;
    k[w->meta_count] = tsr_strdup(key);
    v[w->meta_count] = tsr_strdup(value);
    if (!k[w->meta_count] || !v[w->meta_count]) {
        free(k[w->meta_count]);
        free(v[w->meta_count]);
        return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
    }
    w->meta_count++;
    return TSR_OK;
}

const char *tsr_weights_meta(const tsr_weights *w, const char *key)
{
    for (int i = 0; i < w->meta_count; i++)
        if (strcmp(w->meta_keys[i], key) == 0) return w->meta_values[i];
    return NULL;
}

const tsr_tensor_info *tsr_weights_find(const tsr_weights *w, const char *name)
{
    for (int i = 0; i < w->count; i++)
        if (strcmp(w->tensors[i].name, name) == 0) return &w->tensors[i];
    return NULL;
}

tsr_status tsr_tensor_read_f32(const tsr_tensor_info *t, float *dst, tsr_error *err)
{
    const uint8_t *p = t->data;
    int64_t n = t->numel;
    switch (t->dtype) {
    case TSR_DT_F32:
        memcpy(dst, p, (size_t)n * 4);
        break;
    case TSR_DT_F16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = tsr_f16_to_f32(h);
        }
        break;
    case TSR_DT_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = tsr_bf16_to_f32(h);
        }
        break;
    case TSR_DT_F8_E4M3: {
        int64_t per = (t->ndim > 0 && t->shape[0] > 0) ? n / t->shape[0] : n;
        for (int64_t i = 0; i < n; i++) {
            float s = t->channel_scale ? t->channel_scale[per ? i / per : 0] : 1.0f;
            dst[i] = tsr_e4m3_to_f32(p[i]) * s;
        }
        break;
    }
    case TSR_DT_Q8_0:
        for (int64_t b = 0; b < n / 32; b++) {
            const uint8_t *blk = p + b * 34;
            uint16_t h;
            memcpy(&h, blk, 2);
            float d = tsr_f16_to_f32(h);
            for (int j = 0; j < 32; j++) dst[b * 32 + j] = d * (float)(int8_t)blk[2 + j];
        }
        break;
    default:
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "tensor '%s': dtype %d cannot be converted", t->name,
                        (int)t->dtype);
    }
    return TSR_OK;
}

tsr_status tsr_weights_load_f32(const tsr_weights *w, const char *name, int ndim, const int64_t *shape,
                                float **out, tsr_error *err)
{
    const tsr_tensor_info *t = tsr_weights_find(w, name);
    if (!t) return tsr_fail(err, TSR_ERR_MODEL, "tensor '%s' is missing", name);
    bool same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char want[96], have[96];
        tsr_shape_str(ndim, shape, want, sizeof want);
        tsr_shape_str(t->ndim, t->shape, have, sizeof have);
        return tsr_fail(err, TSR_ERR_MODEL, "tensor '%s' has shape %s, expected %s", name, have, want);
    }
    float *buf = tsr_malloc((size_t)t->numel * sizeof(float), err);
    if (!buf) return TSR_ERR_NOMEM;
    tsr_status st = tsr_tensor_read_f32(t, buf, err);
    if (st != TSR_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    return TSR_OK;
}
