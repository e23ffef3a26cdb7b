/* The memory model against real allocations: the CPU backend counts every activation and causal state it
 * allocates (backend->ops->memory, its emulated device); a streamed decode on the scaled-down configuration must
 * peak at exactly the planner's fp32 prediction (activations + device states) for the same chunk and frame group
 * (chunks 1 and 2, groups off/4/2/1), and the encoder at its model's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/filler.h"
#include "plan/memmodel.h"
#include "tessera.h"
#include "tsr_test.h"

static uint64_t g_peak;

static int on_progress(void *user, const tsr_progress *p)
{
    (void)user;
    if (p->mem_peak > g_peak) g_peak = p->mem_peak;
    return 0;
}

static tsr_status discard(void *user, const float *frames, int n, int first, int h, int w, tsr_error *err)
{
    (void)user, (void)frames, (void)n, (void)first, (void)h, (void)w, (void)err;
    return TSR_OK;
}

/* A fresh one-thread CPU engine (its high-water mark starts at 0) with the model bound. */
static tsr_vae *fresh_vae(const tsr_model *m, tsr_engine **e)
{
    tsr_error err = {0};
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CPU;
    ep.threads = 1;
    tsr_vae *vae = NULL;
    REQUIRE(tsr_engine_create(&ep, e, &err) == TSR_OK);
    REQUIRE(tsr_vae_create(*e, m, &vae, &err) == TSR_OK);
    return vae;
}

/* A decode on a fresh engine (the backend's high-water mark only grows) against the planner's prediction for
 * the same chunk and frame group (0 = the whole chunk). */
static void measure(const tsr_vae_config *cfg, const tsr_model *m, int t, int h, int w, int chunk, int group)
{
    tsr_error err = {0};
    tsr_engine *e = NULL;
    tsr_vae *vae = fresh_vae(m, &e);
    size_t n = (size_t)cfg->latent_channels * t * h * w;
    float *lat = malloc(n * sizeof(float));
    REQUIRE(lat);
    tsr_filler_latent(lat, n);
    tsr_decode_params dp;
    tsr_decode_params_default(&dp);
    dp.chunk = chunk;
    dp.frame_group = group;
    dp.progress = on_progress;
    g_peak = 0;
    CHECKF(tsr_vae_decode(vae, lat, cfg->latent_channels, t, h, w, &dp, discard, NULL, &err) == TSR_OK, "%s",
           err.message);
    tsr_plan_request r;
    tsr_plan_request_default(&r);
    r.cfg = cfg;
    r.latent_t = t;
    r.latent_h = h;
    r.latent_w = w;
    r.precision = TSR_PRECISION_FP32;
    r.chunk = chunk;
    r.frame_group = group;
    r.tiling = TSR_TILING_EXACT_ONLY;
    r.fused_norm = 1; /* the CPU backend normalises inside its conv, without an allocation */
    r.emulated_cap = 1; /* activations + device states, no weights */
    r.budget = 1ull << 50;
    tsr_plan p;
    REQUIRE(tsr_plan_make(&r, &p, &err) == TSR_OK && p.kind == TSR_PLAN_EXACT && p.chunk == chunk);
    int tail = 4 * chunk; /* frames of the frame-local stages in the largest chunk (t > chunk here) */
    CHECKF(p.frame_group == (group > 0 && group < tail ? group : 0), "plan frame group %d for %d", p.frame_group, group);
    double ratio = (double)g_peak / (double)p.peak;
    fprintf(stderr, "latent %dx%dx%d chunk %d group %d: measured %.4f MiB, predicted %.4f MiB (%.4f activations + "
            "%.4f states, ratio %.4f)\n", t, h, w, chunk, group, g_peak / 1048576.0, p.peak / 1048576.0,
            p.activations / 1048576.0, p.state_device / 1048576.0, ratio);
    CHECKF(g_peak == p.peak, "prediction off by %.2f %%", (ratio - 1) * 100);
    free(lat);
    tsr_vae_destroy(&vae);
    tsr_engine_destroy(&e);
}

/* The encoder: EF frames of h x w (multiples of 16) on a fresh CPU engine against tsr_mm_encoder_chunk_peak for
 * its first chunk (1 + chunk frames) and a later one, and against tsr_vae_encode_peak (the encode job's check). */
enum { EF = 13 };
static int src_next;

static int src(void *user, float *frames, int max, tsr_error *e)
{
    (void)e;
    const int *hw = user;
    int n = max < EF - src_next ? max : EF - src_next;
    size_t fr = (size_t)3 * hw[0] * hw[1];
    tsr_filler_video(frames, (size_t)n * fr);
    for (size_t i = 0; i < (size_t)n * fr; i++) frames[i] = frames[i] * (float)(1 + (src_next + i / fr) % 3) / 3.0f;
    src_next += n;
    return n;
}

static void measure_encode(const tsr_vae_config *cfg, const tsr_model *m, int h, int w, int chunk, int group)
{
    tsr_error err = {0};
    tsr_engine *e = NULL;
    tsr_vae *vae = fresh_vae(m, &e);
    tsr_encode_params p;
    tsr_encode_params_default(&p);
    p.chunk = chunk;
    p.frame_group = group;
    p.progress = on_progress;
    g_peak = 0;
    src_next = 0;
    int hw[2] = {h, w};
    tsr_latent l;
    CHECKF(tsr_vae_encode(vae, h, w, src, hw, &p, &l, &err) == TSR_OK, "%s", err.message);
    tsr_latent_free(&l);
    int n1 = 1 + chunk < EF ? 1 + chunk : EF, n2 = chunk < EF - n1 ? chunk : EF - n1;
    uint64_t a = tsr_mm_encoder_chunk_peak(cfg, n1, h, w, 1, group, 0) * 4;
    uint64_t b = n2 > 0 ? (tsr_mm_encoder_chunk_peak(cfg, n2, h, w, 0, group, 0) + tsr_mm_encoder_state(cfg, h, w)) * 4 : 0;
    uint64_t pred = a > b ? a : b; /* a: the first chunk with the states it creates; b: every state alive */
    /* what the encode job asks before it starts (frames padded, chunks as tsr_vae_encode cuts them) */
    CHECK(tsr_vae_encode_peak(vae, h, w, EF, chunk, group) == pred);
    CHECK(tsr_vae_encode_peak(vae, h - 5, w - 7, EF - 2, chunk, group) == pred); /* padded to the same */
    fprintf(stderr, "encode %d frames %dx%d chunk %d group %d: measured %.4f MiB, predicted %.4f MiB\n", EF, h, w,
            chunk, group, g_peak / 1048576.0, pred / 1048576.0);
    CHECKF(g_peak == pred, "encoder prediction off by %.2f %%", ((double)g_peak / (double)pred - 1) * 100);
    tsr_vae_destroy(&vae);
    tsr_engine_destroy(&e);
}

int main(void)
{
    tsr_vae_config cfg;
    tsr_vae_config_seedvr2(&cfg);
    static const int ch[4] = {32, 32, 64, 64};
    memcpy(cfg.block_out, ch, sizeof ch);
    cfg.has_encoder = 0;
    tsr_model *m = NULL;
    tsr_error err = {0};
    REQUIRE(tsr_model_builtin(&cfg, &m, &err) == TSR_OK);
    measure(&cfg, m, 2, 5, 7, 1, 0);
    static const int groups[] = {0, 4, 2, 1};
    for (int chunk = 1; chunk <= 2; chunk++)
        for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) measure(&cfg, m, 3, 6, 10, chunk, groups[g]);
    tsr_model_destroy(&m);

    /* the encoder (the scaled-down configuration with an encoder): chunks 4 and 8, groups off / 2 / 1 */
    cfg.has_encoder = 1;
    cfg.has_decoder = 0;
    REQUIRE(tsr_model_builtin(&cfg, &m, &err) == TSR_OK);
    for (int chunk = 4; chunk <= 8; chunk += 4)
        for (int g = 0; g < 3; g++) measure_encode(&cfg, m, 32, 48, chunk, g == 0 ? 0 : 3 - g);
    tsr_model_destroy(&m);
    return tsr_test_done();
}
