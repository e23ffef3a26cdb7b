/* The executor of the memory planner's plans (tsr_decode_params.memory_budget): tsr_plan_make for the
 * engine's backend, the plan mapped onto tsr_vae_decode_pass's settings, and tsr_plan_next_smaller after
 * TSR_ERR_DEVICE_OOM. A re-planned pass re-runs the latent frames whose output was already delivered (to
 * rebuild the causal states exactly) without delivering them again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "model/filler.h"
#include "model/vae_tensors.h"
#include "plan/memmodel.h"
#include "vae/vae_internal.h"

/* The request for this VAE on its backend: the CPU backend's cap bounds activations alone (fp32, norm fused
 * into its conv); the CUDA backend's arena holds activations, states and scratch in bf16 (the weights are
 * outside it), with each normalised conv input written to its own buffer. */
void tsr_vae_plan_request(const tsr_vae *v, int t, int h, int w, uint64_t budget, int chunk, tsr_plan_request *r)
{
    tsr_plan_request_default(r);
    r->cfg = &v->cfg;
    r->latent_t = t, r->latent_h = h, r->latent_w = w;
    r->budget = budget;
    r->chunk = chunk;
    r->no_offload = 1; /* untiled states stay on the device: offload is not executed yet */
    int cpu = strcmp(v->be->ops->name, "cpu") == 0;
    r->precision = cpu ? TSR_PRECISION_FP32 : v->engine->params.precision;
    r->fused_norm = cpu;
    r->activations_only = cpu;
}

/* Decode settings that execute plan `pl`. */
static void plan_params(const tsr_plan *pl, const tsr_decode_params *user, tsr_decode_params *q)
{
    *q = *user;
    q->memory_budget = 0;
    q->chunk = pl->chunk;
    q->tile = pl->kind == TSR_PLAN_TILED ? pl->tile_w : 0;
    q->tile_from = 1;
    q->frame_group = pl->kind == TSR_PLAN_TILED ? 0 : pl->frame_group;
    q->tile_host_state = pl->kind == TSR_PLAN_TILED && pl->offloaded > 0;
    /* what the plan leaves of the budget (less 5 % for allocator slack) holds whole-frame tensors on the device */
    uint64_t slack = pl->budget > pl->peak ? pl->budget - pl->peak : 0;
    q->tile_resident = q->tile ? pl->resident + slack / 20 * 19 : 0;
}

static void size_text(uint64_t b, char *buf, size_t n)
{
    if (b >= (1ull << 30)) snprintf(buf, n, "%.2f GiB", (double)b / (1ull << 30));
    else if (b >= (1ull << 20)) snprintf(buf, n, "%.1f MiB", (double)b / (1ull << 20));
    else snprintf(buf, n, "%llu bytes", (unsigned long long)b);
}

static void tell(const tsr_decode_params *p, const tsr_plan *pl, const char *why)
{
    if (p->on_plan) p->on_plan(p->plan_user, pl, why);
}

tsr_status tsr_vae_decode_planned(tsr_vae *vae, const tsr_latent_src *src, int c, int t, int h, int w,
                                  const tsr_decode_params *p, tsr_frame_sink sink, void *sink_user, tsr_error *err)
{
    tsr_plan_request r;
    tsr_vae_plan_request(vae, t, h, w, p->memory_budget, p->chunk, &r);
    r.frame_group = p->frame_group;
    tsr_plan pl;
    tsr_status st = tsr_plan_make(&r, &pl, err);
    if (st != TSR_OK) return st;
    char why[TSR_ERROR_MESSAGE_MAX] = "";
    int emitted = 0, replans = 0;
    for (;;) {
        if (pl.kind == TSR_PLAN_IMPOSSIBLE) {
            char need[32], have[32];
            size_text(pl.min_needed, need, sizeof need);
            size_text(r.budget, have, sizeof have);
            if (why[0])
                return tsr_fail(err, TSR_ERR_DEVICE_OOM, "out of device memory and no smaller plan (budget %s, smallest "
                                "plan %s): %s", have, need, why);
            return tsr_fail(err, TSR_ERR_DEVICE_OOM, "no plan fits %s of device memory (the smallest needs %s)", have,
                            need);
        }
        tell(p, &pl, replans ? why : NULL);
        tsr_decode_params q;
        plan_params(&pl, p, &q);
        st = tsr_vae_decode_pass(vae, src, c, t, h, w, &q, sink, sink_user, &emitted, err);
        if (st != TSR_ERR_DEVICE_OOM) return st;
        snprintf(why, sizeof why, "%s", err ? err->message : "out of device memory");
        tsr_plan smaller;
        st = tsr_plan_next_smaller(&r, &pl, &smaller, err);
        if (st != TSR_OK) return st;
        pl = smaller;
        replans++;
    }
}

uint64_t tsr_vae_encode_peak(const tsr_vae *v, int height, int width, int frames, int chunk, int group)
{
    const tsr_vae_config *cfg = &v->cfg;
    int tf = 1;
    for (int i = 0; i < cfg->num_blocks - 1; i++) tf *= cfg->enc_temporal_down[i] ? 2 : 1;
    int hp = (height + 15) / 16 * 16, wp = (width + 15) / 16 * 16, ch = chunk > 0 ? chunk : tf;
    int padded = frames > 0 ? (frames - 1 + tf - 1) / tf * tf + 1 : 1 + 2 * ch; /* unknown length: any */
    int n1 = TSR_MIN(1 + ch, padded), n2 = TSR_MIN(ch, padded - n1);
    int cpu = strcmp(v->be->ops->name, "cpu") == 0;
    uint64_t act = tsr_mm_encoder_chunk_peak(cfg, n1, hp, wp, 1, group, !cpu);
    if (n2 > 0) act = TSR_MAX(act, tsr_mm_encoder_chunk_peak(cfg, n2, hp, wp, 0, group, !cpu));
    if (cpu) return act * 4; /* the CPU backend's emulated cap counts fp32 activations alone */
    tsr_vae_config e = *cfg;
    e.has_decoder = 0, e.has_encoder = 1;
    tsr_tensor_spec specs[256];
    int n = tsr_vae_tensor_specs(&e, specs, (int)TSR_ARRAY_LEN(specs));
    uint64_t params = 0;
    for (int i = 0; i < n && i < (int)TSR_ARRAY_LEN(specs); i++) {
        uint64_t k = 1;
        for (int d = 0; d < specs[i].ndim; d++) k *= (uint64_t)specs[i].shape[d];
        params += k;
    }
    uint64_t tokens = (uint64_t)(hp / 8) * (uint64_t)(wp / 8); /* attention scores in query chunks (planner.c) */
    uint64_t workspace = (64ull << 20) + TSR_MIN(tokens, 1024) * tokens * 4;
    return (act + tsr_mm_encoder_state(cfg, hp, wp)) * 2 + params * 2 + workspace;
}

static tsr_status discard(void *user, const float *fr, int n, int first, int h, int w, tsr_error *err)
{
    (void)user, (void)fr, (void)n, (void)first, (void)h, (void)w, (void)err;
    return TSR_OK;
}

static int probe_progress(void *user, const tsr_progress *p)
{
    uint64_t *peak = user;
    if (p->mem_peak > *peak) *peak = p->mem_peak;
    return 0;
}

tsr_status tsr_tune_probe_time(void *user, const tsr_plan *cand, double *seconds, uint64_t *peak, char *algos,
                               size_t algos_cap, tsr_error *err)
{
    tsr_tune_probe *pr = user;
    tsr_vae *v = pr->vae;
    int c = v->cfg.latent_channels, t = pr->latent_t, h = pr->latent_h, w = pr->latent_w;
    if (t < 1 || h < 1 || w < 1) return tsr_fail(err, TSR_ERR_INVALID_ARG, "tune probe: latent %dx%dx%d", t, h, w);
    size_t n = (size_t)c * t * h * w;
    float *lat = tsr_malloc(n * sizeof(float), err);
    if (!lat) return TSR_ERR_NOMEM;
    tsr_filler_latent(lat, n);
    tsr_latent_array arr = {lat, c, t, h, w};
    const tsr_latent_src src = {tsr_latent_array_read, &arr, 0};
    tsr_decode_params base, q;
    tsr_decode_params_default(&base);
    base.progress = probe_progress;
    base.progress_user = peak;
    plan_params(cand, &base, &q);
    *peak = 0;
    double best = -1;
    tsr_status st = TSR_OK;
    for (int i = 0; i < 1 + TSR_MAX(pr->runs, 1) && st == TSR_OK; i++) { /* the first run warms up */
        int emitted = 0;
        double t0 = tsr_now();
        st = tsr_vae_decode_pass(v, &src, c, t, h, w, &q, discard, NULL, &emitted, err);
        if (st == TSR_OK) st = v->be->ops->sync(v->be, err);
        double s = tsr_now() - t0;
        if (st == TSR_OK && i > 0 && (best < 0 || s < best)) best = s;
    }
    free(lat);
    if (st != TSR_OK) return st;
    *seconds = best;
    snprintf(algos, algos_cap, "{\"probe\":\"%dx%dx%d\",\"tile\":%d,\"chunk\":%d,\"frame_group\":%d}", t, h, w,
             q.tile, q.chunk, q.frame_group);
    return TSR_OK;
}
