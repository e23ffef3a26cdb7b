/* Latent files: .safetensors, ComfyUI .latent, .npy (layouts and scaling: tessera.h, "latent files"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/common.h"
#include "core/half.h"
#include "media/latent_io.h"
#include "media/npy.h"
#include "model/safetensors.h"

#define TSR_LATENT_SCALE 0.9152f

static tsr_latent_file_format format_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot) return TSR_LATENT_FILE_AUTO;
    if (strcasecmp(dot, ".safetensors") == 0) return TSR_LATENT_FILE_SAFETENSORS;
    if (strcasecmp(dot, ".latent") == 0) return TSR_LATENT_FILE_COMFY;
    if (strcasecmp(dot, ".npy") == 0) return TSR_LATENT_FILE_NPY;
    return TSR_LATENT_FILE_AUTO;
}

/* [1,C,T,H,W] or [T,C,H,W] (fp32, file scale) -> l->data [C][T][H][W] at decoder-input scale. */
static tsr_status import_layout(const char *label, int ndim, const int64_t *s, const float *src, float scale,
                                tsr_latent *l, tsr_error *err)
{
    int five = ndim == 5 && s[0] == 1, four = ndim == 4;
    if (!five && !four)
        return tsr_fail(err, TSR_ERR_INPUT, "%s: latent must be [1,C,T,H,W] or [T,C,H,W], got %d dimensions%s", label,
                        ndim, ndim == 5 ? " with batch > 1" : "");
    int64_t c = five ? s[1] : s[1], t = five ? s[2] : s[0], h = s[ndim - 2], w = s[ndim - 1];
    if (c <= 0 || t <= 0 || h <= 0 || w <= 0 || c > 4096 || t > 1 << 20 || h > 1 << 16 || w > 1 << 16)
        return tsr_fail(err, TSR_ERR_INPUT, "%s: latent shape is empty or implausible", label);
    size_t n = (size_t)(c * t * h * w);
    if (!(l->data = tsr_malloc(n * sizeof(float), err))) return TSR_ERR_NOMEM;
    size_t plane = (size_t)(h * w);
    for (int64_t ci = 0; ci < c; ci++)
        for (int64_t ti = 0; ti < t; ti++) {
            const float *from = five ? src + (ci * t + ti) * plane : src + (ti * c + ci) * plane;
            float *to = l->data + (ci * t + ti) * plane;
            for (size_t i = 0; i < plane; i++) to[i] = from[i] * scale;
        }
    for (size_t i = 0; i < n; i++)
        if (!(l->data[i] == l->data[i]) || l->data[i] > 1e30f || l->data[i] < -1e30f)
            return tsr_fail(err, TSR_ERR_INPUT, "%s: latent holds NaN or Inf", label);
    l->c = (int)c, l->t = (int)t, l->h = (int)h, l->w = (int)w;
    l->frames = 4 * l->t - 3;
    l->height = 8 * l->h;
    l->width = 8 * l->w;
    return TSR_OK;
}

static int meta_int(const tsr_weights *wt, const char *key, int fallback, int max)
{
    const char *v = tsr_weights_meta(wt, key);
    if (!v) return fallback;
    long x = strtol(v, NULL, 10);
    return x > 0 && x <= max ? (int)x : fallback;
}

/* "num/den" or "num" (den 1); anything else, or a rate outside (0, 1000] fps, is ignored. */
static void parse_fps(const char *v, tsr_latent *l)
{
    if (!v) return;
    char *end;
    long num = strtol(v, &end, 10), den = 1;
    if (*end == '/') den = strtol(end + 1, &end, 10);
    if (*end || num <= 0 || den <= 0 || num > 1000000000L || den > 1000000000L || num > 1000 * den) return;
    l->fps_num = (int)num, l->fps_den = (int)den;
}

static tsr_status read_safetensors(const char *path, int unscaled, tsr_latent *l, tsr_error *err)
{
    tsr_weights wt;
    tsr_weights_init(&wt);
    tsr_status st = tsr_safetensors_open(path, &wt, err);
    if (st != TSR_OK) return st;
    static const char *keys[] = {"latent", "latent_tensor", "samples"};
    const tsr_tensor_info *t = NULL;
    for (size_t i = 0; !t && i < TSR_ARRAY_LEN(keys); i++) t = tsr_weights_find(&wt, keys[i]);
    if (!t && wt.count == 1) t = &wt.tensors[0];
    float *tmp = NULL;
    if (!t) st = tsr_fail(err, TSR_ERR_INPUT, "%s: no tensor named latent, latent_tensor or samples", path);
    else if (!(tmp = tsr_malloc((size_t)(t->numel ? t->numel : 1) * sizeof(float), err))) st = TSR_ERR_NOMEM;
    else st = tsr_tensor_read_f32(t, tmp, err);
    const char *sc = tsr_weights_meta(&wt, "tessera.latent_scale");
    if (sc && (strcmp(sc, "unscaled") == 0 || strcmp(sc, "raw") == 0)) unscaled = 1;
    float scale = unscaled ? 1.0f : 1.0f / TSR_LATENT_SCALE;
    if (st == TSR_OK) st = import_layout(path, t->ndim, t->shape, tmp, scale, l, err);
    if (st == TSR_OK) {
        l->frames = meta_int(&wt, "tessera.frames", l->frames, l->frames);
        l->height = meta_int(&wt, "tessera.height", l->height, l->height);
        l->width = meta_int(&wt, "tessera.width", l->width, l->width);
        parse_fps(tsr_weights_meta(&wt, "tessera.fps"), l);
    }
    free(tmp);
    tsr_weights_free(&wt);
    return st;
}

tsr_status tsr_latent_read(const char *path, tsr_latent *out, tsr_error *err)
{
    return tsr_latent_read_as(path, 0, out, err);
}

tsr_status tsr_latent_read_as(const char *path, int unscaled, tsr_latent *out, tsr_error *err)
{
    memset(out, 0, sizeof *out);
    if (!path) return tsr_fail(err, TSR_ERR_INVALID_ARG, "no latent path");
    tsr_status st;
    switch (format_of(path)) {
    case TSR_LATENT_FILE_SAFETENSORS:
    case TSR_LATENT_FILE_COMFY:
        st = read_safetensors(path, unscaled, out, err);
        break;
    case TSR_LATENT_FILE_NPY: {
        tsr_npy n;
        st = tsr_npy_read(path, &n, err);
        float scale = unscaled ? 1.0f : 1.0f / TSR_LATENT_SCALE;
        if (st == TSR_OK) st = import_layout(path, n.ndim, n.shape, n.data, scale, out, err);
        tsr_npy_free(&n);
        break;
    }
    default:
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "%s: unknown latent file type (.safetensors, .latent, .npy)", path);
    }
    if (st != TSR_OK) tsr_latent_free(out);
    return st;
}

/* [C][T][H][W] decoder scale -> [1][C][T][H][W] file scale, as fp32 or fp16 bytes. */
static void *export_data(const tsr_latent *l, int f16, float scale, size_t *nbytes, tsr_error *err)
{
    size_t n = (size_t)l->c * l->t * l->h * l->w;
    *nbytes = n * (f16 ? 2 : 4);
    unsigned char *buf = tsr_malloc(*nbytes ? *nbytes : 1, err);
    if (!buf) return NULL;
    for (size_t i = 0; i < n; i++) {
        float v = l->data[i] * scale;
        if (f16) {
            uint16_t h = tsr_f32_to_f16(v);
            memcpy(buf + 2 * i, &h, 2);
        } else {
            memcpy(buf + 4 * i, &v, 4);
        }
    }
    return buf;
}

static tsr_status write_safetensors(const char *path, const tsr_latent *l, int f16, int raw, int comfy,
                                    const void *data, tsr_error *err)
{
    char fr[16], hh[16], ww[16], fps[32];
    snprintf(fr, sizeof fr, "%d", l->frames > 0 ? l->frames : 4 * l->t - 3);
    snprintf(hh, sizeof hh, "%d", l->height > 0 ? l->height : 8 * l->h);
    snprintf(ww, sizeof ww, "%d", l->width > 0 ? l->width : 8 * l->w);
    const char *meta[] = {"tessera.latent_scale", raw ? "unscaled" : "scaled", "tessera.layout", "1,C,T,H,W",
                          "tessera.frames", fr, "tessera.height", hh, "tessera.width", ww, "tessera.fps", fps};
    snprintf(fps, sizeof fps, "%d/%d", l->fps_num, l->fps_den > 0 ? l->fps_den : 1);
    int nmeta = l->fps_num > 0 ? 6 : 5;
    tsr_st_tensor t[2] = {{0}};
    t[0].name = comfy ? "latent_tensor" : "latent";
    t[0].dtype = f16 ? TSR_DT_F16 : TSR_DT_F32;
    t[0].ndim = 5;
    int64_t shape[5] = {1, l->c, l->t, l->h, l->w};
    memcpy(t[0].shape, shape, sizeof shape);
    t[0].data = data;
    static const float none[1] = {0};
    t[1].name = "latent_format_version_0";
    t[1].dtype = TSR_DT_F32;
    t[1].ndim = 1;
    t[1].shape[0] = 0;
    t[1].data = none;
    return tsr_safetensors_write(path, t, comfy ? 2 : 1, meta, nmeta, err);
}

tsr_status tsr_latent_write(const char *path, const tsr_latent *l, int f16, int raw, tsr_error *err)
{
    if (!path || !l || !l->data || l->c <= 0 || l->t <= 0 || l->h <= 0 || l->w <= 0)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "latent write: nothing to write");
    tsr_latent_file_format fmt = format_of(path);
    if (fmt == TSR_LATENT_FILE_AUTO)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "%s: unknown latent file type (.safetensors, .latent, .npy)", path);
    if (raw && fmt != TSR_LATENT_FILE_SAFETENSORS)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "%s: raw (unscaled) latents can only be marked in .safetensors", path);
    size_t nbytes;
    void *data = export_data(l, f16, raw ? 1.0f : TSR_LATENT_SCALE, &nbytes, err);
    if (!data) return TSR_ERR_NOMEM;
    tsr_status st;
    if (fmt == TSR_LATENT_FILE_NPY) {
        int64_t shape[5] = {1, l->c, l->t, l->h, l->w};
        float *f = export_data(l, 0, TSR_LATENT_SCALE, &nbytes, err);
        st = f ? tsr_npy_write(path, f, 5, shape, f16, err) : TSR_ERR_NOMEM;
        free(f);
    } else {
        st = write_safetensors(path, l, f16, raw, fmt == TSR_LATENT_FILE_COMFY, data, err);
    }
    free(data);
    return st;
}
