/* Shared by the CPU (tests/golden) and CUDA (tests/gpu) golden tests: read a fixture through the engine's
 * validated safetensors reader, collect decoded frames in the golden's [3][F][H][W] order, feed frames to
 * the encoder, and the one driver loop (golden_main). Each test supplies only its backend, metric and
 * thresholds (golden_cfg). */
#ifndef TSR_TEST_GOLDEN_HARNESS_H
#define TSR_TEST_GOLDEN_HARNESS_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include "core/common.h"
#include "model/filler.h"
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

typedef struct golden_cfg {
    tsr_backend_kind backend;
    const char *label;          /* printed before each line ("cpu", "cuda") */
    const char *metric_name;    /* "max abs error", "rel rms error" */
    double (*metric)(const float *out, const float *ref, size_t n);
    double tol;                 /* output vs golden */
    double chunk_tol;           /* each chunking vs the first one */
} golden_cfg;

/* test decode|encode FILE CHUNK... (CHUNK 0 = whole clip in one chunk). Inputs are regenerated with the
 * filler; only the expected outputs are read from $TSR_FIXTURES/FILE. Skips (77) without fixtures or, for a
 * GPU backend, without a device. */
static inline int golden_main(int argc, char **argv, const golden_cfg *cfg)
{
    if (argc < 4) return 2;
    const char *dir = tsr_test_env("TSR_FIXTURES", NULL);
    if (!dir) SKIP("TSR_FIXTURES not set");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, argv[2]);
    int enc = strcmp(argv[1], "encode") == 0, t, h, w;
    if (sscanf(argv[2], enc ? "encode_3x%dx%dx%d" : "decode_16x%dx%dx%d", &t, &h, &w) != 3) return 2;
    size_t n_ref = 0;
    float *ref = st_min_read(path, enc ? "posterior" : "video", &n_ref);
    if (!ref) SKIP("cannot read %s", path);
    tsr_engine *eng;
    tsr_model *model;
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = cfg->backend;
    tsr_status est = tsr_engine_create(&ep, &eng, &err);
    if (cfg->backend != TSR_BACKEND_CPU && (est == TSR_ERR_NO_DEVICE || est == TSR_ERR_UNSUPPORTED))
        SKIP("%s", err.message);
    REQUIRE(est == TSR_OK);
    REQUIRE(tsr_model_builtin(NULL, &model, &err) == TSR_OK);
    REQUIRE(tsr_vae_create(eng, model, &vae, &err) == TSR_OK);
    size_t n_in = (size_t)(enc ? 3 : 16) * t * h * w;
    float *in = malloc(n_in * sizeof(float)), *first = NULL;
    REQUIRE(in != NULL);
    if (enc) tsr_filler_video(in, n_in);
    else tsr_filler_latent(in, n_in);
    for (int a = 3; a < argc; a++) {
        int chunk = atoi(argv[a]);
        if (chunk == 0) chunk = enc ? 4 * ((t - 1) / 4 + 1) : t; /* whole clip in one chunk */
        double t0 = tsr_now();
        float *out;
        if (enc) {
            src_state s = {in, t, h, w, 0};
            tsr_encode_params p;
            tsr_encode_params_default(&p);
            p.chunk = chunk;
            p.posterior = 1;
            tsr_latent l;
            tsr_status st = tsr_vae_encode(vae, h, w, source, &s, &p, &l, &err);
            REQUIRE(st == TSR_OK || (fprintf(stderr, "%s\n", err.message), 0));
            REQUIRE((size_t)l.c * l.t * l.h * l.w == n_ref);
            out = l.data;
        } else {
            out = decode(in, t, h, w, chunk);
        }
        double d = cfg->metric(out, ref, n_ref);
        fprintf(stderr, "%s %s %s chunk %d: %s %.4g vs golden (%.2f s)\n", cfg->label, argv[1], argv[2], chunk,
                cfg->metric_name, d, tsr_now() - t0);
        CHECKF(d <= cfg->tol, "chunk %d: %g > %g", chunk, d, cfg->tol);
        if (first) {
            double dc = cfg->metric(out, first, n_ref);
            fprintf(stderr, "  chunk %d vs chunk %s: %s %.3g\n", chunk, argv[3], cfg->metric_name, dc);
            CHECKF(dc <= cfg->chunk_tol, "chunk %d differs from chunk %s by %g", chunk, argv[3], dc);
            free(out);
        } else {
            first = out;
        }
    }
    free(first), free(in), free(ref);
    tsr_vae_destroy(&vae);
    tsr_model_destroy(&model);
    tsr_engine_destroy(&eng);
    return tsr_test_done();
}

#endif
