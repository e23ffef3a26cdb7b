/* Shared by the CPU (tests/golden) and CUDA (tests/gpu) golden tests: read a fixture through the engine's
 * validated safetensors reader, collect decoded frames in the golden's [3][F][H][W] order, feed frames to
 * the encoder. Each test keeps its own backend, metric and thresholds. */
#ifndef TSR_TEST_GOLDEN_HARNESS_H
#define TSR_TEST_GOLDEN_HARNESS_H
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include "model/safetensors.h"
#include "tessera.h"
#include "tsr_test.h"

/* Returns a malloc'd copy of `key` converted to fp32 (count in *count), or NULL with a message. */
static float *st_min_read(const char *path, const char *key, size_t *count)
{
    tsr_weights w;
    tsr_error err = {0};
    if (tsr_safetensors_open(path, &w, &err) != TSR_OK) {
        fprintf(stderr, "%s\n", err.message);
        return NULL;
    }
    const tsr_tensor_info *t = tsr_weights_find(&w, key);
    float *out = t ? malloc((size_t)t->numel * sizeof(float)) : NULL;
    if (out && tsr_tensor_read_f32(t, out, &err) == TSR_OK) {
        *count = (size_t)t->numel;
    } else {
        fprintf(stderr, "%s: tensor '%s' %s\n", path, key, t ? err.message : "missing");
        free(out);
        out = NULL;
    }
    tsr_weights_free(&w);
    return out;
}
typedef struct collect {
    float *buf;         /* [3][F][H][W], like the golden file */
    int frames, h, w;
} collect;

static tsr_status sink(void *user, const float *fr, int n, int first, int h, int w, tsr_error *err)
{
    collect *c = user;
    for (int f = 0; f < n; f++)
        for (int ch = 0; ch < 3; ch++)
            memcpy(c->buf + (((size_t)ch * c->frames + first + f) * h) * w, fr + ((size_t)f * 3 + ch) * h * w,
                   (size_t)h * w * sizeof(float));
    return TSR_OK;
}

static tsr_vae *vae;
static tsr_error err;

static float *decode(const float *lat, int t, int h, int w, int chunk)
{
    collect c = {calloc((size_t)3 * (4 * t - 3) * 64 * h * w, sizeof(float)), 4 * t - 3, 8 * h, 8 * w};
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    p.chunk = chunk;
    tsr_status st = tsr_vae_decode(vae, lat, 16, t, h, w, &p, sink, &c, &err);
    CHECKF(st == TSR_OK, "decode: %s", err.message);
    return c.buf;
}

typedef struct src_state {
    const float *video; /* [3][F][H][W] */
    int f, h, w, next;
} src_state;

static int source(void *user, float *frames, int max, tsr_error *e)
{
    src_state *s = user;
    int n = (max < s->f - s->next ? max : s->f - s->next);
    for (int i = 0; i < n; i++, s->next++)
        for (int c = 0; c < 3; c++)
            memcpy(frames + ((size_t)i * 3 + c) * s->h * s->w, s->video + ((size_t)c * s->f + s->next) * s->h * s->w,
                   (size_t)s->h * s->w * sizeof(float));
    return n;
}

#endif
