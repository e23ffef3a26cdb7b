/* The planner's plans executed (tsr_decode_params.memory_budget) on the CPU backend with an emulated device
 * cap (its memory budget: activations + device-side causal states): the plan that runs is the one
 * tsr_plan_make chose, its measured peak stays within the prediction (EXACT_OFFLOAD: equals it), an offload
 * plan is bit-identical and a tiled plan equal up to rounding to the untiled decode, host states
 * (state_create_host / state_prefetch) give bit-identical results for any offload count and chunk, and
 * TSR_ERR_DEVICE_OOM in the middle of a clip re-plans smaller (on_plan tells why) and continues without
 * delivering any frame twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "core/common.h"
#include "model/filler.h"
#include "tessera.h"
#include "tsr_test.h"
#include "tsr_decode_run.h"
#include "vae/vae_internal.h"

enum { LT = 3, LH = 6, LW = 10, OF = 4 * LT - 3, OH = 8 * LH, OW = 8 * LW };
#define ON ((size_t)3 * OF * OH * OW)

static tsr_error err;
static tsr_vae_config cfg;
static tsr_model *model;
static float *lat;

typedef tsr_decoded out;

static int g_offload; /* tsr_decode_params.offload_states of the next run() */

static uint64_t resident_peak(const tsr_vae *vae) { return vae->tile_resident_peak; }

/* A decode on a fresh CPU engine capped at `cap` bytes of activations and device states (0 = none). */
static tsr_status run(uint64_t cap, uint64_t budget, int chunk, out *o)
{
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    p.chunk = chunk;
    p.memory_budget = budget;
    p.offload_states = g_offload;
    return tsr_decode_run(model, lat, LT, LH, LW, cap, &p, o, resident_peak, &err);
}

static double max_abs(const float *a, const float *b) { return tsr_test_max_abs(a, b, ON); }

static tsr_plan plan_at(uint64_t budget, int chunk)
{
    tsr_plan_request r;
    tsr_plan_request_default(&r);
    r.cfg = &cfg;
    r.latent_t = LT, r.latent_h = LH, r.latent_w = LW;
    r.precision = TSR_PRECISION_FP32;
    r.fused_norm = 1;
    r.emulated_cap = 1;
    r.tiling = TSR_TILING_EXACT_ONLY;
    r.chunk = chunk;
    r.budget = budget;
    tsr_plan p;
    REQUIRE(tsr_plan_make(&r, &p, &err) == TSR_OK);
    return p;
}

/* The CPU reference of the tiled GroupNorm ops: statistics of two halves of a frame accumulated one after
 * the other equal group_norm over the whole frame; bad arguments fail cleanly. */
static void test_gn_stats_ops(void)
{
    enum { C = 64, T = 2, H = 9, W = 13, G = 32 };
    tsr_backend_params bp = {1, 0, TSR_LP_DEFAULT, 0};
    tsr_backend *be = NULL;
    REQUIRE(tsr_cpu_backend_create(&bp, &be, &err) == TSR_OK);
    size_t n = (size_t)C * T * H * W;
    float *x = malloc(n * sizeof(float)), *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    float gam[C], bet[C];
    tsr_filler_latent(x, n);
    for (size_t i = 0; i < n; i++) x[i] = 3.0f + 2.0f * x[i] + (float)(i % 7) * 0.1f;
    for (int c = 0; c < C; c++) gam[c] = 1.0f + 0.01f * c, bet[c] = 0.02f * c - 0.5f;
    tsr_wt *norm = NULL;
    REQUIRE(be->ops->norm_upload(be, C, G, 1e-6f, gam, bet, &norm, &err) == TSR_OK);
    tsr_act in = {0}, whole = {0}, tiled = {0};
    REQUIRE(be->ops->act_alloc(be, C, T, H, W, &in, &err) == TSR_OK && be->ops->act_upload(be, &in, x, &err) == TSR_OK);
    REQUIRE(be->ops->group_norm(be, norm, &in, 1, &whole, &err) == TSR_OK);
    tsr_gnstats *s = NULL;
    REQUIRE(be->ops->gn_stats_create(be, T, C, G, &s, &err) == TSR_OK);
    CHECK(be->ops->gn_stats_accum(be, &in, 0, 0, 0, 5, W, s, &err) == TSR_OK);
    CHECK(be->ops->gn_stats_accum(be, &in, 0, 5, 0, H, W, s, &err) == TSR_OK);
    CHECK(be->ops->gn_stats_apply(be, norm, &in, s, 1, &tiled, &err) == TSR_OK);
    REQUIRE(be->ops->act_download(be, &whole, a, &err) == TSR_OK && be->ops->act_download(be, &tiled, b, &err) == TSR_OK);
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    printf("gn_stats (two halves) vs group_norm: max abs %.3g\n", m);
    CHECK(m <= 1e-5);
    CHECK(be->ops->gn_stats_accum(be, &in, 1, 0, 0, H, W, s, &err) == TSR_ERR_INVALID_ARG);   /* frames */
    CHECK(be->ops->gn_stats_accum(be, &in, 0, 0, 0, H + 1, W, s, &err) == TSR_ERR_INVALID_ARG); /* rows */
    CHECK(be->ops->gn_stats_accum(be, &in, 0, 3, 0, 3, W, s, &err) == TSR_ERR_INVALID_ARG);     /* empty */
    be->ops->gn_stats_reset(be, s);
    CHECK(be->ops->gn_stats_apply(be, norm, &in, s, 0, &tiled, &err) == TSR_ERR_INVALID_ARG);  /* nothing gathered */
    tsr_gnstats *bad = NULL;
    CHECK(be->ops->gn_stats_create(be, T, 30, G, &bad, &err) == TSR_ERR_INVALID_ARG && bad == NULL);
    CHECK(be->ops->act_copy_region(be, &in, 0, 0, 0, &tiled, 0, 5, 0, T, H, W, &err) == TSR_ERR_INVALID_ARG);
    be->ops->gn_stats_free(be, s);
    be->ops->act_free(be, &in), be->ops->act_free(be, &whole), be->ops->act_free(be, &tiled);
    be->ops->wt_free(be, norm);
    be->ops->destroy(be);
    free(x), free(a), free(b);
}

/* The host-state ops against device states on one temporal conv over 4 chunks: bit-identical outputs for every
 * prefetch pattern (none, one ahead, three ahead: a buffer taken back), host bytes outside the cap, the two
 * staging buffers inside it, argument checks. */
static void test_host_state_ops(void)
{
    enum { CI = 8, CO = 8, T = 2, H = 5, W = 6, K = 3 * 3 * 3 };
    tsr_backend_params bp = {1, 0, TSR_LP_DEFAULT, 0};
    tsr_backend *be = NULL;
    REQUIRE(tsr_cpu_backend_create(&bp, &be, &err) == TSR_OK);
    float wgt[CO * CI * K], bias[CO], gam[CI], bet[CI];
    tsr_filler_latent(wgt, CO * CI * K);
    for (int i = 0; i < CO; i++) bias[i] = 0.01f * i;
    for (int i = 0; i < CI; i++) gam[i] = 1.0f + 0.05f * i, bet[i] = 0.1f - 0.02f * i;
    tsr_conv_desc d = {CI, CO, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, TSR_LP_DEFAULT, "test.conv"};
    tsr_wt *conv = NULL, *norm = NULL;
    REQUIRE(be->ops->conv_upload(be, &d, wgt, bias, &conv, &err) == TSR_OK);
    REQUIRE(be->ops->norm_upload(be, CI, 4, 1e-6f, gam, bet, &norm, &err) == TSR_OK);
    uint64_t base = 0, peak = 0, use = 0;
    be->ops->memory(be, &base, &peak, NULL);
    uint64_t sbytes = (uint64_t)CI * 2 * H * W * sizeof(float);
    tsr_state *dev = NULL, *host[3] = {NULL};
    REQUIRE(be->ops->state_create(be, &d, H, W, &dev, &err) == TSR_OK);
    be->ops->memory(be, &use, &peak, NULL);
    CHECK(use == base + sbytes);                       /* a device state counts in the cap */
    for (int i = 0; i < 3; i++) REQUIRE(be->ops->state_create_host(be, &d, H, W, &host[i], &err) == TSR_OK);
    be->ops->memory(be, &use, &peak, NULL);
    CHECK(use == base + sbytes + 2 * sbytes);          /* host states: only the two staging buffers */
    tsr_engine_stats es;
    be->ops->stats(be, &es, 0);
    CHECK(es.host_state_bytes == 3 * sbytes && es.host_state_peak == 3 * sbytes);
    size_t n = (size_t)CI * T * H * W, no = (size_t)CO * T * H * W;
    float *x = malloc(n * sizeof(float)), *a = malloc(no * sizeof(float)), *b = malloc(no * sizeof(float));
    int same = 1;
    for (int chunk = 0; chunk < 4; chunk++) {
        tsr_filler_latent(x, n);
        for (size_t i = 0; i < n; i++) x[i] = x[i] * (1.0f + chunk) + 0.1f * (float)chunk;
        tsr_act in = {0}, ya = {0};
        REQUIRE(be->ops->act_alloc(be, CI, T, H, W, &in, &err) == TSR_OK && be->ops->act_upload(be, &in, x, &err) == TSR_OK);
        REQUIRE(be->ops->conv3d(be, conv, &in, dev, norm, 1, NULL, &ya, &err) == TSR_OK);
        REQUIRE(be->ops->act_download(be, &ya, a, &err) == TSR_OK);
        /* host[0]: never prefetched; host[1]: prefetched right before; host[2]: prefetched, then two other
         * prefetches take both buffers (its conv copies again) */
        CHECK(be->ops->state_prefetch(be, host[1], &err) == TSR_OK);
        CHECK(be->ops->state_prefetch(be, host[2], &err) == TSR_OK);
        CHECK(be->ops->state_prefetch(be, host[0], &err) == TSR_OK && be->ops->state_prefetch(be, host[1], &err) == TSR_OK);
        for (int k = 0; k < 3; k++) {
            tsr_act yb = {0};
            REQUIRE(be->ops->conv3d(be, conv, &in, host[k], norm, 1, NULL, &yb, &err) == TSR_OK);
            REQUIRE(be->ops->act_download(be, &yb, b, &err) == TSR_OK);
            same &= memcmp(a, b, no * sizeof(float)) == 0;
            be->ops->act_free(be, &yb);
        }
        be->ops->act_free(be, &in), be->ops->act_free(be, &ya);
    }
    CHECKF(same, "host states differ from the device state");
    CHECK(be->ops->state_prefetch(be, NULL, &err) == TSR_ERR_INVALID_ARG);
    tsr_conv_desc flat = d;
    flat.kt = 1;
    tsr_state *bad = NULL;
    CHECK(be->ops->state_create_host(be, &flat, H, W, &bad, &err) == TSR_ERR_INVALID_ARG && bad == NULL);
    CHECK(be->ops->state_create_host(be, &d, 0, W, &bad, &err) == TSR_ERR_INVALID_ARG && bad == NULL);
    /* a cap that holds the staging of a small host state but not that of a larger one */
    for (int i = 0; i < 3; i++) be->ops->state_free(be, host[i]);
    be->ops->state_free(be, dev);
    be->ops->stats(be, &es, 0);
    CHECK(es.host_state_bytes == 0 && es.host_state_peak == 3 * sbytes);
    be->ops->wt_free(be, conv), be->ops->wt_free(be, norm);
    be->ops->destroy(be);
    bp.memory_budget = 2 * sbytes + 1;
    REQUIRE(tsr_cpu_backend_create(&bp, &be, &err) == TSR_OK);
    CHECK(be->ops->state_create_host(be, &d, H, W, &host[0], &err) == TSR_OK);
    CHECK(be->ops->state_create_host(be, &d, H, W + 1, &host[1], &err) == TSR_ERR_DEVICE_OOM && host[1] == NULL);
    be->ops->state_free(be, host[0]);
    be->ops->destroy(be);
    free(x), free(a), free(b);
}

int main(void)
{
    test_gn_stats_ops();
    test_host_state_ops();
    tsr_vae_config_seedvr2(&cfg);
    static const int ch[4] = {32, 32, 64, 64};
    memcpy(cfg.block_out, ch, sizeof ch);
    cfg.has_encoder = 0;
    REQUIRE(tsr_model_builtin(&cfg, &model, &err) == TSR_OK);
    tsr_status st;
    size_t n = (size_t)16 * LT * LH * LW;
    lat = malloc(n * sizeof(float));
    tsr_filler_latent(lat, n);
    static out ref, o;

    REQUIRE(run(0, 0, LT, &ref) == TSR_OK && ref.frames == OF && !ref.bad_order);

    /* host states == device states, bit for bit: chunks 1 and 2, several offload counts (33 = every state) */
    static out dev_states;
    for (int chunk = 1; chunk <= 2; chunk++) {
        g_offload = 0;
        REQUIRE(run(0, 0, chunk, &dev_states) == TSR_OK && dev_states.frames == OF);
        static const int counts[] = {1, 4, 13, 33, 40};
        for (size_t i = 0; i < TSR_ARRAY_LEN(counts); i++) {
            g_offload = counts[i];
            st = run(0, 0, chunk, &o);
            CHECKF(st == TSR_OK && o.frames == OF && !o.bad_order, "offload %d chunk %d: %s", counts[i], chunk, err.message);
            CHECKF(memcmp(o.d, dev_states.d, TSR_DECODED_BYTES(o)) == 0, "offload %d chunk %d: max abs %g", counts[i], chunk,
                   max_abs(o.d, dev_states.d));
            /* the device-side peak drops by the offloaded states, less the two staging buffers */
            printf("offload %2d states, chunk %d: bit-identical, device peak %.3f MiB (device states %.3f MiB)\n",
                   counts[i], chunk, o.peak / 1048576.0, dev_states.peak / 1048576.0);
            if (counts[i] >= 4) CHECK(o.peak < dev_states.peak);
        }
        g_offload = 0;
    }

    /* plenty of memory: the exact plan, the whole clip in one chunk */
    CHECKF(run(0, 1ull << 40, 0, &o) == TSR_OK, "%s", err.message);
    CHECK(o.plans == 1 && o.last.kind == TSR_PLAN_EXACT && o.last.chunk == LT && o.why[0] == 0);
    CHECK(max_abs(o.d, ref.d) == 0 && o.frames == OF);
    printf("exact plan: chunk %d, predicted %.3f MiB, measured %.3f MiB\n", o.last.chunk, o.last.peak / 1048576.0,
           o.peak / 1048576.0);
    CHECK(o.peak == o.last.peak);

    /* walk down the ladder: every plan that fits runs within its prediction and equals the reference */
    int tiled_seen = 0, resident_seen = 0, offload_seen = 0;
    uint64_t budget = o.last.peak;
    for (int step = 0; step < 40; step++) {
        tsr_plan want = plan_at(budget, 0);
        if (want.kind == TSR_PLAN_IMPOSSIBLE) break;
        /* 33 offload rungs: run the first two and the last one */
        if (want.kind == TSR_PLAN_EXACT_OFFLOAD && offload_seen >= 2 &&
            plan_at(want.peak - 1, 0).kind == TSR_PLAN_EXACT_OFFLOAD) {
            budget = want.peak - 1;
            step--;
            continue;
        }
        st = run(want.peak, want.peak, 0, &o);
        CHECKF(st == TSR_OK, "budget %llu: %s", (unsigned long long)budget, err.message);
        CHECK(o.plans == 1 && o.last.rung == want.rung && o.last.kind == want.kind);
        double d = max_abs(o.d, ref.d), ratio = (double)o.peak / (double)want.peak;
        printf("budget %8.3f MiB: %-6s chunk %d tiles %dx%d of %d px %s: predicted %.3f MiB, measured %.3f MiB "
               "(%.3f), max abs %.2g\n", budget / 1048576.0, tsr_plan_kind_name(want.kind), want.chunk, want.tiles_y,
               want.tiles_x, want.tile_w, want.offloaded ? "host states" : "device states", want.peak / 1048576.0,
               o.peak / 1048576.0, ratio, d);
        CHECKF(d <= 1e-4, "plan %d differs from the untiled decode by %g", want.rung, d);
        CHECKF(ratio <= 1.0 && ratio >= 0.75, "rung %d: measured/predicted %.3f", want.rung, ratio);
        if (want.kind == TSR_PLAN_EXACT) /* states created up front: the peak is what the model says */
            CHECKF(o.peak == want.peak, "exact rung %d: measured %llu, predicted %llu bytes", want.rung,
                   (unsigned long long)o.peak, (unsigned long long)want.peak);
        if (want.kind == TSR_PLAN_EXACT_OFFLOAD) { /* exact: bit-identical; its peak is what the model says */
            offload_seen++;
            CHECKF(memcmp(o.d, ref.d, TSR_DECODED_BYTES(o)) == 0, "offload rung %d is not bit-identical", want.rung);
            CHECKF(o.peak == want.peak, "offload rung %d: measured %llu, predicted %llu bytes", want.rung,
                   (unsigned long long)o.peak, (unsigned long long)want.peak);
            CHECK(o.last.offloaded == want.offloaded && want.offloaded > 0);
        }
        tiled_seen += want.kind == TSR_PLAN_TILED;
        /* the same plan with room to spare: the slack keeps whole-frame tensors on the device (resident) */
        uint64_t roomy = want.peak + want.peak / 2;
        if (want.kind == TSR_PLAN_TILED && plan_at(roomy, 0).rung == want.rung) {
            st = run(roomy, roomy, 0, &o);
            d = max_abs(o.d, ref.d);
            printf("  with %.3f MiB: measured %.3f MiB, whole-frame tensors on the device up to %.3f MiB, max abs "
                   "%.2g\n", roomy / 1048576.0, o.peak / 1048576.0, o.resident / 1048576.0, d);
            CHECKF(st == TSR_OK && o.plans == 1 && d <= 1e-4, "resident: %s %g", err.message, d);
            CHECK(o.peak <= roomy);
            resident_seen += o.resident > 0;
        }
        budget = want.peak - 1;
    }
    CHECK(tiled_seen >= 3 && resident_seen >= 1 && offload_seen >= 3);

    /* a budget the exact plan does not fit but exact-offload does: the planner picks exact-offload (not tiles),
     * it runs within the cap and its measured peak equals the prediction */
    tsr_plan exact_min = plan_at(1ull << 40, 1), below = exact_min; /* the smallest exact rung (frame groups of 1) */
    while (below.kind == TSR_PLAN_EXACT) {
        exact_min = below;
        below = plan_at(below.peak - 1, 1);
    }
    REQUIRE(exact_min.kind == TSR_PLAN_EXACT && exact_min.chunk == 1 && exact_min.frame_group == 1);
    tsr_plan off = plan_at(exact_min.peak - 1, 0);
    REQUIRE(off.kind == TSR_PLAN_EXACT_OFFLOAD);
    st = run(exact_min.peak - 1, exact_min.peak - 1, 0, &o);
    printf("cap %.3f MiB (exact needs %.3f MiB): %s, %d states on the host (%.3f MiB), staging %.3f MiB, predicted "
           "%.3f MiB, measured %.3f MiB\n", (exact_min.peak - 1) / 1048576.0, exact_min.peak / 1048576.0,
           tsr_plan_kind_name(o.last.kind), o.last.offloaded, o.last.state_host / 1048576.0,
           o.last.state_staging / 1048576.0, off.peak / 1048576.0, o.peak / 1048576.0);
    CHECKF(st == TSR_OK && o.plans == 1 && o.last.kind == TSR_PLAN_EXACT_OFFLOAD, "%s", err.message);
    CHECK(o.peak == off.peak && o.peak < exact_min.peak && memcmp(o.d, ref.d, TSR_DECODED_BYTES(o)) == 0);
    /* the same cap with offload forbidden would have to tile */
    tsr_plan_request nr;
    tsr_plan_request_default(&nr);
    nr.cfg = &cfg, nr.latent_t = LT, nr.latent_h = LH, nr.latent_w = LW, nr.precision = TSR_PRECISION_FP32;
    nr.fused_norm = 1, nr.emulated_cap = 1, nr.tiling = TSR_TILING_EXACT_ONLY, nr.no_offload = 1;
    nr.budget = exact_min.peak - 1;
    tsr_plan no_off;
    REQUIRE(tsr_plan_make(&nr, &no_off, &err) == TSR_OK);
    CHECK(no_off.kind == TSR_PLAN_TILED);

    /* out of (emulated) device memory in the second chunk: re-plan smaller, continue, no frame twice. First onto
     * an exact rung with frame groups (bit for bit the whole-chunk decode), then below every exact rung */
    run(0, 0, 1, &o);
    uint64_t chunk1_peak = o.peak;
    tsr_plan exact1 = plan_at(1ull << 40, 1);
    REQUIRE(exact1.kind == TSR_PLAN_EXACT && exact1.chunk == 1 && exact1.frame_group == 0);
    tsr_plan grouped = plan_at(exact1.peak - 1, 1);
    REQUIRE(grouped.kind == TSR_PLAN_EXACT && grouped.frame_group > 0);
    uint64_t cap = grouped.peak + (chunk1_peak - grouped.peak) / 4;
    st = run(cap, 1ull << 40, 1, &o);
    printf("cap %.3f MiB (exact chunk-1 peak %.3f MiB): %d plans, last %s frame group %d, frames %d, why: %s\n",
           cap / 1048576.0, chunk1_peak / 1048576.0, o.plans, tsr_plan_kind_name(o.last.kind), o.last.frame_group,
           o.frames, o.why);
    CHECKF(st == TSR_OK, "%s", err.message);
    CHECK(o.plans >= 2 && o.last.kind == TSR_PLAN_EXACT && o.last.frame_group > 0 &&
          strstr(o.why, "emulated device cap") != NULL);
    CHECK(o.frames == OF && o.bad_order == 0 && o.peak <= cap);
    CHECKF(max_abs(o.d, ref.d) == 0, "after re-planning into frame groups: %g", max_abs(o.d, ref.d));

    tsr_plan low = exact1, small = exact1; /* the smallest exact rung and the first tiled one below it */
    while (small.kind == TSR_PLAN_EXACT) {
        low = small;
        small = plan_at(small.peak - 1, 1);
    }
    REQUIRE(low.frame_group == 1 && small.kind == TSR_PLAN_EXACT_OFFLOAD);
    cap = small.peak + (low.peak - small.peak) / 2;
    st = run(cap, 1ull << 40, 1, &o);
    printf("cap %.3f MiB (exact chunk-1 peak %.3f MiB): %d plans, last %s (%d host states, %dx%d tiles), frames %d, "
           "why: %s\n", cap / 1048576.0, chunk1_peak / 1048576.0, o.plans, tsr_plan_kind_name(o.last.kind),
           o.last.offloaded, o.last.tiles_y, o.last.tiles_x, o.frames, o.why);
    CHECKF(st == TSR_OK, "%s", err.message);
    CHECK(o.plans >= 2 && o.last.kind == TSR_PLAN_EXACT_OFFLOAD && strstr(o.why, "emulated device cap") != NULL);
    CHECK(o.frames == OF && o.bad_order == 0 && o.peak <= cap);
    CHECKF(memcmp(o.d, ref.d, TSR_DECODED_BYTES(o)) == 0, "after re-planning: %g", max_abs(o.d, ref.d));

    /* nothing fits: a clear error, no crash */
    st = run(4096, 1ull << 40, 1, &o);
    CHECK(st == TSR_ERR_DEVICE_OOM && strstr(err.message, "no smaller plan") != NULL);
    printf("4 KiB cap: %s\n", err.message);
    st = run(0, 1000, 0, &o);
    CHECK(st == TSR_ERR_DEVICE_OOM && strstr(err.message, "no plan fits") != NULL && o.plans == 0);
    printf("1000-byte budget: %s\n", err.message);

    free(lat);
    tsr_model_destroy(&model);
    return tsr_test_done();
}
