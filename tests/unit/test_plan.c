/* The memory planner: the model against the spec's figures, fitting, monotonicity, re-planning after OOM,
 * tile geometry and blending, JSON, and the autotuner's cache. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <unistd.h>
#endif

#include "plan/memmodel.h"
#include "tessera.h"
#include "tsr_config.h"
#include "tsr_test.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static tsr_plan plan_for(int t, int h, int w, double budget_gib, tsr_precision prec, tsr_tiling_policy tiling)
{
    tsr_plan_request r;
    tsr_plan_request_default(&r);
    r.latent_t = t;
    r.latent_h = h;
    r.latent_w = w;
    r.precision = prec;
    r.tiling = tiling;
    r.budget = (uint64_t)(budget_gib * GIB);
    tsr_plan p;
    tsr_error err = {0};
    if (tsr_plan_make(&r, &p, &err) != TSR_OK) {
        fprintf(stderr, "plan: %s\n", err.message);
        memset(&p, 0, sizeof p);
        p.kind = TSR_PLAN_IMPOSSIBLE;
    }
    return p;
}

static void test_model_matches_spec(void)
{
    tsr_vae_config cfg;
    tsr_vae_config_seedvr2(&cfg);
    tsr_mm mm;
    REQUIRE(tsr_mm_decoder(&cfg, &mm));
    CHECK(mm.out_scale == 8 && mm.out_tfac == 4);
    CHECK(mm.conv_params + mm.other_params == 150601731); /* spec §1: decoder parameters */
    /* the CUDA backend's frame-0 weights: every 3x3x3 conv's summed over kt, a third of them (the 1x1x1 convs,
     * upscale and shortcut, have none); in bf16 they join the plan's weights */
    printf("conv params %lld, frame-0 sums %lld\n", (long long)mm.conv_params, (long long)mm.frame0_params);
    CHECK(mm.frame0_params * 3 < mm.conv_params && mm.frame0_params * 3 > mm.conv_params / 10 * 9);
    tsr_plan pw = plan_for(5, 90, 160, 40, TSR_PRECISION_BF16, TSR_TILING_AUTO);
    /* and the composed upsamplers' convs (vae_upcompose.c): 2 x 208 x 512^2 + 64 x 256^2 parameters */
    CHECK(mm.composed_params == 2 * 208ll * 512 * 512 + 64ll * 256 * 256);
    CHECK(pw.weights == (uint64_t)(mm.conv_params + mm.other_params + mm.frame0_params + mm.composed_params) * 2);
    /* spec §7.3: state 7.4 GiB at 720p, 16.7 GiB at 1080p (bf16); full-resolution layers 4.4 / 9.9 GiB */
    double s720 = (double)tsr_mm_state_total(&mm, 90, 160) * 2 / GIB;
    double s1080 = (double)tsr_mm_state_total(&mm, 135, 240) * 2 / GIB;
    CHECKF(s720 > 7.35 && s720 < 7.45, "720p state %.3f GiB", s720);
    CHECKF(s1080 > 16.65 && s1080 < 16.75, "1080p state %.3f GiB", s1080);
    double full = 0;
    for (int i = 0; i < mm.ncausal; i++)
        if (mm.causal[i].scale == 8) full += (double)tsr_mm_state_elems(&mm, i, 90, 160) * 2 / GIB;
    CHECKF(full > 4.35 && full < 4.45, "720p full-res state %.3f GiB", full);
    /* a steady 1-latent-frame chunk at 720p (4 frames) peaks in up_blocks.3.resnets.0: x (256 ch) + h1 + s +
     * out (128 ch each) at 720x1280 = 640 x 4 x 921600 x 2 B = 4.39 GiB (the spec's fused lower bound for a
     * 5-frame first chunk, §8, is 4.4 GiB: the executor keeps x alive through conv2) */
    double act = (double)tsr_mm_act_per_lpx(&mm, 0, mm.nstages) * 90 * 160 * 2 / GIB;
    CHECKF(act > 4.38 && act < 4.40, "720p chunk activations %.3f GiB", act);
    CHECK(tsr_mm_halo_out(&mm, tsr_mm_first_at_scale(&mm, 2)) == 50); /* 7*4 + 7*2 + 8*1 */
    /* spec §8: 376 TFLOP (720p 17 f) and 1049 TFLOP (1080p 21 f) in all, 2 FLOP per multiply-add */
    static const int clip[2][3] = {{5, 90, 160}, {6, 135, 240}};
    static const double tflop[2] = {376, 1049};
    for (int k = 0; k < 2; k++) {
        double macs = 0;
        for (int i = 0; i < mm.nstages; i++)
            macs += tsr_mm_stage_macs(&mm, i, clip[k][1], clip[k][2]) * (mm.stages[i].tfac * (clip[k][0] - 1) + 1);
        CHECKF(fabs(2 * macs / 1e12 / tflop[k] - 1) < 0.01, "%dx%d: %.1f TFLOP, spec %.0f", clip[k][1], clip[k][2],
               2 * macs / 1e12, tflop[k]);
    }
}

/* tsr_plan.work_pct: the untiled decode is 100 %; exact offload adds its copies; deep tiles recompute the head per
 * tile and pass and add the halos; exact tiles over host memory move every tiled layer's tensors. */
static void test_work_estimate(void)
{
    tsr_plan p = plan_for(6, 135, 240, 40, TSR_PRECISION_BF16, TSR_TILING_AUTO);
    CHECK(p.kind == TSR_PLAN_EXACT && p.work_pct == 100);
    tsr_plan_request r;
    tsr_plan_request_default(&r);
    r.latent_t = 6, r.latent_h = 135, r.latent_w = 240, r.budget = (uint64_t)(40 * GIB);
    tsr_plan d1, d2;
    REQUIRE(tsr_plan_deep_tiles(&r, 768, 1, &d1, NULL) == TSR_OK && tsr_plan_deep_tiles(&r, 768, 2, &d2, NULL) == TSR_OK);
    /* 2 x 3 tiles with cores of 135 x 160 head-output px and regions of (135 + 24) x (160 + 24): 6 x 159 x 184 /
     * (270 x 480) = 1.35 tails (~94 % of the work) + one head (cached: ~6 %) + the cache's copies = ~1.6; a second
     * pass adds the tails once more */
    printf("work: deep 768 px 1 pass %d %%, 2 passes %d %%\n", d1.work_pct, d2.work_pct);
    CHECK(d1.work_pct > 150 && d1.work_pct < 175 && d2.work_pct > 2 * d1.work_pct - 20 && d2.work_pct < 2 * d1.work_pct);
    tsr_plan o = plan_for(6, 135, 240, 12, TSR_PRECISION_BF16, TSR_TILING_EXACT_ONLY);
    tsr_plan t = plan_for(6, 135, 240, 8, TSR_PRECISION_BF16, TSR_TILING_EXACT_ONLY);
    tsr_plan a = plan_for(6, 135, 240, 8, TSR_PRECISION_BF16, TSR_TILING_AUTO);
    printf("work: 12 GiB %s %d %%, 8 GiB exact %s %d %%, 8 GiB auto %s %d %%\n", tsr_plan_kind_name(o.kind), o.work_pct,
           tsr_plan_kind_name(t.kind), t.work_pct, tsr_plan_kind_name(a.kind), a.work_pct);
    CHECK(o.kind == TSR_PLAN_EXACT_OFFLOAD && o.work_pct > 100 && o.work_pct < t.work_pct);
    /* 1080p in 8 GiB: the exact tiles' work is many times the deep tiles', so AUTO takes the deep tiles */
    CHECK(t.kind == TSR_PLAN_TILED && a.kind == TSR_PLAN_DEEP_TILES && t.work_pct > TSR_PLAN_MAX_SLOWDOWN * a.work_pct);
}

/* The CUDA backend's arena high-water marks measured on the H100 (tests/bench/RESULTS.md, "feat/frames", commit
 * 21f91e6, bf16, chunk 1, `bench decode --frame-group G`): 720p17 13.57 / 11.87 / 10.55 GiB and 1080p21
 * 30.53 / 26.70 / 23.73 GiB for groups off / 2 / 1. The arena holds activations, causal states and scratch;
 * weights are allocated outside it. The model (with the normalised inputs' causal prefix and the reserved conv
 * workspace) must be within 5 % of each. */
static void test_cuda_recorded_peaks(void)
{
    static const struct { int t, h, w, group; double arena_gib; } rec[] = {
        {5, 90, 160, 0, 13.57},  {5, 90, 160, 2, 11.87},  {5, 90, 160, 1, 10.55},
        {6, 135, 240, 0, 30.53}, {6, 135, 240, 2, 26.70}, {6, 135, 240, 1, 23.73}};
    for (size_t i = 0; i < sizeof rec / sizeof rec[0]; i++) {
        tsr_plan_request r;
        tsr_plan_request_default(&r);
        r.latent_t = rec[i].t;
        r.latent_h = rec[i].h;
        r.latent_w = rec[i].w;
        r.chunk = 1;
        r.frame_group = rec[i].group ? rec[i].group : 64;
        r.budget = (uint64_t)(1e6 * GIB);
        tsr_plan p;
        REQUIRE(tsr_plan_make(&r, &p, NULL) == TSR_OK && p.kind == TSR_PLAN_EXACT && p.chunk == 1);
        double predicted = (double)(p.peak - p.weights) / GIB, ratio = predicted / rec[i].arena_gib;
        fprintf(stderr, "CUDA arena %dx%dx%d group %d: measured %.2f GiB, predicted %.2f GiB (ratio %.3f)\n", rec[i].t,
                rec[i].h, rec[i].w, rec[i].group, rec[i].arena_gib, predicted, ratio);
        CHECKF(ratio > 0.95 && ratio < 1.05, "prediction off by %.1f %%", (ratio - 1) * 100);
    }
}

static void test_fits_or_impossible(void)
{
    static const int shapes[][3] = {{5, 90, 160}, {6, 135, 240}, {6, 270, 480}, {2, 8, 12}, {3, 17, 31}};
    static const tsr_tiling_policy pol[] = {TSR_TILING_AUTO, TSR_TILING_EXACT_ONLY, TSR_TILING_ALWAYS};
    static const tsr_precision prec[] = {TSR_PRECISION_BF16, TSR_PRECISION_FP8_FAST, TSR_PRECISION_FP32};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t k = 0; k < 3; k++)
            for (size_t q = 0; q < 3; q++) {
                tsr_plan prev = {0};
                int have_prev = 0;
                for (double b = 0.25; b <= 48; b += 0.25) {
                    tsr_plan p = plan_for(shapes[s][0], shapes[s][1], shapes[s][2], b, prec[q], pol[k]);
                    uint64_t budget = (uint64_t)(b * GIB);
                    if (p.kind == TSR_PLAN_IMPOSSIBLE) {
                        CHECKF(p.min_needed > budget || p.min_needed == 0, "min_needed %llu <= budget",
                               (unsigned long long)p.min_needed);
                        if (p.min_needed) {
                            tsr_plan q2 = plan_for(shapes[s][0], shapes[s][1], shapes[s][2],
                                                   (double)p.min_needed / GIB + 1e-6, prec[q], pol[k]);
                            CHECK(q2.kind != TSR_PLAN_IMPOSSIBLE);
                        }
                    } else {
                        CHECKF(p.peak <= budget, "peak %.2f > budget %.2f", p.peak / GIB, b);
                        if (pol[k] == TSR_TILING_EXACT_ONLY) CHECK(!p.approximate);
                        if (pol[k] == TSR_TILING_ALWAYS) CHECK(p.kind == TSR_PLAN_TILED);
                        if (p.kind == TSR_PLAN_FP8_STATE) CHECK(prec[q] == TSR_PRECISION_FP8_FAST);
                    }
                    /* monotone in the budget: never a smaller peak for more; never a more approximate plan, unless
                     * (AUTO) it is one of less estimated work */
                    if (have_prev) {
                        CHECKF(p.kind != TSR_PLAN_IMPOSSIBLE && p.peak >= prev.peak, "%s %.2f GiB -> %s %.2f GiB",
                               tsr_plan_kind_name(prev.kind), prev.peak / GIB, tsr_plan_kind_name(p.kind), p.peak / GIB);
                        CHECKF(p.approximate <= prev.approximate || (pol[k] == TSR_TILING_AUTO && p.work_pct < prev.work_pct),
                               "%s (work %d %%) -> %s (work %d %%) at %.2f GiB", tsr_plan_kind_name(prev.kind),
                               prev.work_pct, tsr_plan_kind_name(p.kind), p.work_pct, b);
                    }
                    have_prev = p.kind != TSR_PLAN_IMPOSSIBLE;
                    prev = p;
                }
            }
}

static void test_exact_when_it_fits(void)
{
    tsr_plan p = plan_for(5, 90, 160, 16, TSR_PRECISION_BF16, TSR_TILING_AUTO);
    CHECK(p.kind == TSR_PLAN_EXACT && !p.approximate && p.offloaded == 0);
    p = plan_for(5, 90, 160, 15, TSR_PRECISION_BF16, TSR_TILING_AUTO);
    CHECKF(p.kind == TSR_PLAN_EXACT && p.chunk == 1, "720p in 15 GiB: %s", tsr_plan_kind_name(p.kind));
    CHECK(p.frame_group == 0);
    /* whole chunks do not fit: exact with frame groups (the largest that fits) before any offload */
    p = plan_for(5, 90, 160, 13, TSR_PRECISION_BF16, TSR_TILING_AUTO);
    CHECKF(p.kind == TSR_PLAN_EXACT && p.offloaded == 0 && p.frame_group == 2, "720p in 13 GiB: %s chunk %d group %d",
           tsr_plan_kind_name(p.kind), p.chunk, p.frame_group);
    p = plan_for(5, 90, 160, 9, TSR_PRECISION_BF16, TSR_TILING_AUTO);
    CHECK(p.kind == TSR_PLAN_EXACT_OFFLOAD && !p.approximate && p.frame_group == 1);
    p = plan_for(6, 135, 240, 80, TSR_PRECISION_BF16, TSR_TILING_AUTO);
    CHECK(p.kind == TSR_PLAN_EXACT && p.chunk == 4 && p.frame_group == 0);
    p = plan_for(6, 135, 240, 25, TSR_PRECISION_BF16, TSR_TILING_AUTO);
    CHECKF(p.kind == TSR_PLAN_EXACT && p.frame_group == 1, "1080p in 25 GiB: %s group %d", tsr_plan_kind_name(p.kind),
           p.frame_group);
    p = plan_for(6, 135, 240, 20, TSR_PRECISION_BF16, TSR_TILING_AUTO);
    CHECKF(p.kind == TSR_PLAN_EXACT_OFFLOAD, "1080p in 20 GiB: %s", tsr_plan_kind_name(p.kind));
    p = plan_for(6, 270, 480, 10, TSR_PRECISION_BF16, TSR_TILING_EXACT_ONLY);
    CHECK(p.kind == TSR_PLAN_TILED && p.two_pass_norm && p.tiles_y * p.tiles_x > 1);
    /* AUTO: the exact tiles' work (whole-frame tensors over host memory) is > 4x the deep tiles' */
    tsr_plan d = plan_for(6, 270, 480, 10, TSR_PRECISION_BF16, TSR_TILING_AUTO);
    CHECKF(d.kind == TSR_PLAN_DEEP_TILES && d.head_cache > 0 && p.work_pct > TSR_PLAN_MAX_SLOWDOWN * d.work_pct,
           "4K in 10 GiB: %s, work %d %% (exact tiles %d %%)", tsr_plan_kind_name(d.kind), d.work_pct, p.work_pct);
}

static void test_monotone_in_shape(void)
{
    tsr_plan prev = {0};
    for (int h = 8; h <= 300; h += 13) {
        tsr_plan p = plan_for(6, h, 2 * h, 1e6, TSR_PRECISION_BF16, TSR_TILING_EXACT_ONLY);
        CHECK(p.kind == TSR_PLAN_EXACT);
        CHECK(p.peak > prev.peak && p.state_device >= prev.state_device && p.activations >= prev.activations);
        prev = p;
    }
    for (int t = 1; t <= 4; t++) { /* more frames per chunk: more activations, same state */
        tsr_plan_request r;
        tsr_plan_request_default(&r);
        r.latent_t = 8;
        r.latent_h = 90;
        r.latent_w = 160;
        r.chunk = t;
        r.budget = (uint64_t)(1e6 * GIB);
        tsr_plan p;
        CHECK(tsr_plan_make(&r, &p, NULL) == TSR_OK && p.chunk == t);
        if (t > 1) CHECK(p.activations > prev.activations && p.state_device == prev.state_device);
        prev = p;
    }
}

static void test_next_smaller(void)
{
    tsr_plan_request r;
    tsr_plan_request_default(&r);
    r.latent_t = 6;
    r.latent_h = 135;
    r.latent_w = 240;
    r.budget = (uint64_t)(40 * GIB);
    tsr_plan p, q;
    REQUIRE(tsr_plan_make(&r, &p, NULL) == TSR_OK && p.kind == TSR_PLAN_EXACT);
    int steps = 0, saw_tiled = 0;
    while (p.kind != TSR_PLAN_IMPOSSIBLE && steps < 100) {
        REQUIRE(tsr_plan_next_smaller(&r, &p, &q, NULL) == TSR_OK);
        if (q.kind != TSR_PLAN_IMPOSSIBLE) CHECK(q.peak <= p.peak / 10 * 9); /* any kind: the policy picks */
        saw_tiled |= q.kind == TSR_PLAN_TILED;
        p = q;
        steps++;
    }
    CHECK(steps > 3 && steps < 100 && saw_tiled);
}

/* Tiled plans describe vae_tiled.c's exact layer-by-layer tiles: square cores covering the frame, a 1 px
 * halo per layer, no cross-fade, states per tile on the device or (offloaded) as host history. */
static void check_tiles(const tsr_plan *p, int H, int W)
{
    REQUIRE(p->kind == TSR_PLAN_TILED);
    CHECK(!p->approximate && p->two_pass_norm && p->halo == 1 && p->blend == 0 && p->tile_h == p->tile_w);
    CHECK(p->tiles_y * p->tile_h >= H && (p->tiles_y - 1) * p->tile_h < H);
    CHECK(p->tiles_x * p->tile_w >= W && (p->tiles_x - 1) * p->tile_w < W);
    CHECK(p->tiles_y * p->tiles_x >= 2);
    CHECK(p->offloaded ? p->state_host > 0 : p->state_host == 0);
    CHECK(p->host_boundary > 0);
}

static void test_tile_geometry(void)
{
    static const int shapes[][2] = {{135, 240}, {270, 480}, {90, 160}, {37, 53}};
    static const double budgets[] = {3, 5, 8, 12};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t b = 0; b < sizeof budgets / sizeof budgets[0]; b++) {
            tsr_plan p = plan_for(6, shapes[s][0], shapes[s][1], budgets[b], TSR_PRECISION_BF16, TSR_TILING_ALWAYS);
            if (p.kind == TSR_PLAN_IMPOSSIBLE) continue;
            check_tiles(&p, shapes[s][0] * 8, shapes[s][1] * 8);
        }
    /* a smaller budget: more tiles, or the tile states moved to the host */
    tsr_plan a = plan_for(6, 135, 240, 40, TSR_PRECISION_BF16, TSR_TILING_ALWAYS);
    tsr_plan b = plan_for(6, 135, 240, 8, TSR_PRECISION_BF16, TSR_TILING_ALWAYS);
    CHECK(a.kind == TSR_PLAN_TILED && b.kind == TSR_PLAN_TILED && a.peak > b.peak);
    CHECK(a.tiles_y * a.tiles_x < b.tiles_y * b.tiles_x || (!a.offloaded && b.offloaded));
    /* per-tile device states cover the frame like the untiled ones (+ the halo seams) */
    tsr_plan u = plan_for(6, 135, 240, 1e6, TSR_PRECISION_BF16, TSR_TILING_EXACT_ONLY);
    CHECK(u.kind == TSR_PLAN_EXACT && a.offloaded == 0 && a.state_device <= u.state_device * 11 / 10);
}

static void test_host_budget(void)
{
    for (double hb = 4; hb <= 64; hb *= 2)
        for (double b = 2; b <= 16; b += 2) {
            tsr_plan_request r;
            tsr_plan_request_default(&r);
            r.latent_t = 6;
            r.latent_h = 270;
            r.latent_w = 480;
            r.budget = (uint64_t)(b * GIB);
            r.host_budget = (uint64_t)(hb * GIB);
            tsr_plan p;
            REQUIRE(tsr_plan_make(&r, &p, NULL) == TSR_OK);
            if (p.kind != TSR_PLAN_IMPOSSIBLE) CHECK(p.state_host + p.host_boundary <= r.host_budget && p.peak <= r.budget);
        }
    tsr_plan p = plan_for(6, 270, 480, 10, TSR_PRECISION_BF16, TSR_TILING_EXACT_ONLY);
    CHECK(p.kind == TSR_PLAN_TILED);
}

static void test_json(void)
{
    tsr_plan p = plan_for(6, 270, 480, 10, TSR_PRECISION_BF16, TSR_TILING_AUTO), q;
    char buf[1024];
    int n = tsr_plan_to_json(&p, buf, sizeof buf);
    CHECK(n > 0 && n < (int)sizeof buf);
    CHECK(tsr_plan_from_json(buf, &q, NULL) == TSR_OK);
    CHECK(memcmp(&p, &q, sizeof p) == 0);
    char small[16];
    CHECK(tsr_plan_to_json(&p, small, sizeof small) == n); /* snprintf semantics */
    CHECK(tsr_plan_from_json("{\"kind\":\"warp\"}", &q, NULL) == TSR_ERR_FORMAT);
    CHECK(tsr_plan_from_json("not json", &q, NULL) == TSR_ERR_FORMAT);
    CHECK(tsr_plan_describe(&p, buf, sizeof buf) > 0 && strstr(buf, "tiles") != NULL);
}

/* A fixed frame group: honoured (whole chunk at or above the chunk's frames), activations shrink with it while
 * weights and states stay; the JSON and the description carry it. */
static void test_frame_group_request(void)
{
    static const int groups[] = {0, 4, 2, 1};
    tsr_plan prev = {0};
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        tsr_plan_request r;
        tsr_plan_request_default(&r);
        r.latent_t = 5, r.latent_h = 90, r.latent_w = 160;
        r.chunk = 1;
        r.frame_group = groups[i];
        r.budget = 1ull << 50;
        tsr_plan p, q;
        REQUIRE(tsr_plan_make(&r, &p, NULL) == TSR_OK && p.kind == TSR_PLAN_EXACT);
        CHECKF(p.frame_group == (groups[i] < 4 ? groups[i] : 0), "group %d -> %d", groups[i], p.frame_group);
        if (i > 0) {
            CHECK(p.weights == prev.weights && p.state_device == prev.state_device);
            if (groups[i] < 4) CHECK(p.activations < prev.activations);
            else CHECK(p.activations == prev.activations);
        }
        char buf[1024];
        tsr_plan_to_json(&p, buf, sizeof buf);
        CHECK(tsr_plan_from_json(buf, &q, NULL) == TSR_OK && q.frame_group == p.frame_group);
        tsr_plan_describe(&p, buf, sizeof buf);
        CHECK(strstr(buf, p.frame_group ? "frame groups of" : "frame groups: off") != NULL);
        prev = p;
    }
    tsr_plan_request r;
    tsr_plan_request_default(&r);
    r.latent_t = 5, r.latent_h = 90, r.latent_w = 160;
    r.budget = 1ull << 30;
    r.frame_group = -1;
    tsr_plan p;
    CHECK(tsr_plan_make(&r, &p, NULL) == TSR_ERR_INVALID_ARG);
}

typedef struct timer_state {
    int calls;
} timer_state;

/* A fake backend: the first candidate "runs out of memory", later ones take longer the more they chunk. */
static tsr_status fake_time(void *user, const tsr_plan *c, double *seconds, uint64_t *peak, char *algos,
                            size_t cap, tsr_error *err)
{
    timer_state *t = user;
    if (t->calls++ == 0) return TSR_ERR_DEVICE_OOM;
    *seconds = 1.0 + 0.1 * c->rung;
    *peak = c->peak;
    snprintf(algos, cap, "{\"decoder.conv_in\":\"igemm-%d\"}", c->rung);
    return TSR_OK;
}

static void test_autotune(void)
{
    tsr_plan_request r;
    tsr_plan_request_default(&r);
    r.latent_t = 5;
    r.latent_h = 90;
    r.latent_w = 160;
    r.budget = (uint64_t)(40 * GIB);
    tsr_plan best;
    int cached = 1;
    timer_state ts = {0};
    CHECK(tsr_autotune(NULL, NULL, &r, 0, fake_time, &ts, &best, &cached, NULL) == TSR_OK && !cached);
    CHECK(ts.calls >= 2 && best.kind == TSR_PLAN_EXACT && best.rung == 1); /* rung 0 "ran out of memory" */
#if TSR_HAVE_STORE
    char path[512];
    snprintf(path, sizeof path, "%s/tsr-plan-%d.db", tsr_test_env("TMPDIR", "/tmp"), (int)getpid());
    remove(path);
    tsr_store_params sp;
    tsr_store_params_default(&sp);
    sp.path = path;
    tsr_store *s = NULL;
    REQUIRE(tsr_store_open(&sp, &s, NULL) == TSR_OK);
    tsr_tune_key key;
    memset(&key, 0, sizeof key);
    snprintf(key.gpu, sizeof key.gpu, "Fake GPU");
    key.latent_h = 90;
    key.latent_w = 160;
    key.budget = r.budget;
    ts.calls = 0;
    CHECK(tsr_autotune(s, &key, &r, 0, fake_time, &ts, &best, &cached, NULL) == TSR_OK && !cached && ts.calls > 1);
    int before = ts.calls;
    tsr_plan again;
    CHECK(tsr_autotune(s, &key, &r, 0, fake_time, &ts, &again, &cached, NULL) == TSR_OK && cached);
    CHECK(ts.calls == before && memcmp(&best, &again, sizeof best) == 0); /* a cached key starts at once */
    tsr_tuned t = {0};
    int found = 0;
    CHECK(tsr_store_tuned_get(s, &key, &t, &found, NULL) == TSR_OK && found && strstr(t.algos_json, "igemm"));
    tsr_tuned_clear(&t);
    ts.calls = 0;
    CHECK(tsr_autotune(s, &key, &r, 1, fake_time, &ts, &again, &cached, NULL) == TSR_OK && !cached && ts.calls > 0);
    tsr_store_close(&s);
    tsr_test_remove_db(path);
#endif
}

int main(void)
{
    test_model_matches_spec();
    test_work_estimate();
    test_exact_when_it_fits();
    test_cuda_recorded_peaks();
    test_fits_or_impossible();
    test_monotone_in_shape();
    test_next_smaller();
    test_tile_geometry();
    test_host_budget();
    test_json();
    test_frame_group_request();
    test_autotune();
    return tsr_test_done();
}
