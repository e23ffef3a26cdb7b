/* The memory model against real allocations: the CPU backend counts every activation and causal state it
 * allocates (backend->ops->memory, its emulated device); a streamed decode on the scaled-down configuration
 * must peak within 10 % of the planner's fp32 prediction (activations + states) for the same chunk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/filler.h"
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

/* The backend's high-water mark only grows: measure in increasing order of the expected peak. */
static void measure(const tsr_vae_config *cfg, tsr_vae *vae, int t, int h, int w, int chunk)
{
    tsr_error err = {0};
    size_t n = (size_t)cfg->latent_channels * t * h * w;
    float *lat = malloc(n * sizeof(float));
    REQUIRE(lat);
    tsr_filler_latent(lat, n);
    tsr_decode_params dp;
    tsr_decode_params_default(&dp);
    dp.chunk = chunk;
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
    r.tiling = TSR_TILING_EXACT_ONLY;
    r.fused_norm = 1; /* the CPU backend normalises inside its conv, without an allocation */
    r.emulated_cap = 1; /* activations + device states, no weights */
    r.budget = 1ull << 50;
    tsr_plan p;
    REQUIRE(tsr_plan_make(&r, &p, &err) == TSR_OK && p.kind == TSR_PLAN_EXACT && p.chunk == chunk);
    double ratio = (double)g_peak / (double)p.peak;
    fprintf(stderr, "latent %dx%dx%d chunk %d: measured %.2f MiB, predicted %.2f MiB (%.2f activations + %.2f states, "
            "ratio %.3f)\n", t, h, w, chunk, g_peak / 1048576.0, p.peak / 1048576.0, p.activations / 1048576.0,
            p.state_device / 1048576.0, ratio);
    CHECKF(ratio > 0.9 && ratio < 1.1, "prediction off by %.1f %%", (ratio - 1) * 100);
    free(lat);
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
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CPU;
    ep.threads = 1;
    tsr_engine *e = NULL;
    tsr_vae *vae = NULL;
    REQUIRE(tsr_engine_create(&ep, &e, &err) == TSR_OK);
    REQUIRE(tsr_vae_create(e, m, &vae, &err) == TSR_OK);
    measure(&cfg, vae, 2, 5, 7, 1);
    measure(&cfg, vae, 3, 6, 10, 1);
    measure(&cfg, vae, 3, 6, 10, 2);
    tsr_vae_destroy(&vae);
    tsr_engine_destroy(&e);
    tsr_model_destroy(&m);
    return tsr_test_done();
}
