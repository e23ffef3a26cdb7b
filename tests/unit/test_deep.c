/* Deep tiles (vae/vae_deep.c, plan kind DEEP_TILES) on the CPU backend, scaled-down configuration: a single tile
 * covering the frame is the untiled decode bit for bit; several tiles with two passes (pooled GroupNorm
 * statistics) are close to it and closer than one pass (per-tile statistics); chunk 1 == chunk 2; frames reach the
 * sink in order, each once, max_frames and crop respected; the CPU's measured peak equals the planner's
 * prediction; the planner picks deep tiles where only they fit (never under TSR_TILING_EXACT_ONLY); a planned
 * deep-tile decode that runs out of (emulated) device memory re-plans smaller; bad parameters fail cleanly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "model/filler.h"
#include "tessera.h"
#include "tsr_test.h"
#include "tsr_decode_run.h"

enum { LT = 3, LH = 8, LW = 24, OF = 4 * LT - 3, OH = 8 * LH, OW = 8 * LW };
#define ON ((size_t)3 * OF * OH * OW)

static tsr_error err;
static tsr_vae_config cfg;
static tsr_model *model;
static float *lat;

typedef tsr_decoded out;

typedef struct run_opts {
    int chunk, deep, passes, max_frames, crop_h, crop_w, tile, tiling, offload, recompute;
    uint64_t cap, budget, host_budget;
} run_opts;

/* A decode on a fresh CPU engine (its high-water mark starts at 0), capped at o->cap bytes (0 = none). */
static tsr_status run(const run_opts *ro, out *o)
{
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    p.chunk = ro->chunk;
    p.deep_tile = ro->deep;
    p.deep_tile_passes = ro->passes;
    p.tile = ro->tile;
    p.max_frames = ro->max_frames;
    p.crop_height = ro->crop_h, p.crop_width = ro->crop_w;
    p.memory_budget = ro->budget;
    p.host_budget = ro->host_budget;
    p.plan_tiling = ro->tiling;
    p.offload_states = ro->offload;
    p.deep_head_recompute = ro->recompute;
    o->crop_ok = 1;
    return tsr_decode_run(model, lat, LT, LH, LW, ro->cap, &p, o, NULL, &err);
}

/* PSNR of [-1, 1] values mapped to [0, 1]. */
static double psnr(const float *a, const float *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double d = ((double)a[i] - b[i]) / 2;
        se += d * d;
    }
    return se > 0 ? 10 * log10((double)n / se) : INFINITY;
}

static tsr_plan_request request(uint64_t budget, uint64_t host_budget, tsr_tiling_policy tiling)
{
    tsr_plan_request r;
    tsr_plan_request_default(&r);
    r.cfg = &cfg;
    r.latent_t = LT, r.latent_h = LH, r.latent_w = LW;
    r.precision = TSR_PRECISION_FP32;
    r.fused_norm = 1;
    r.emulated_cap = 1;
    r.tiling = tiling;
    r.no_fp8_state = 1;
    r.budget = budget;
    r.host_budget = host_budget;
    return r;
}

static tsr_plan plan_at(uint64_t budget, uint64_t host_budget, tsr_tiling_policy tiling)
{
    tsr_plan_request r = request(budget, host_budget, tiling);
    tsr_plan p;
    REQUIRE(tsr_plan_make(&r, &p, &err) == TSR_OK);
    return p;
}

static out ref, o, o2;

/* Accuracy against the untiled decode: one tile = bit for bit; several: 2 passes close, closer than 1 pass. */
static void test_accuracy(void)
{
    run_opts ro = {.chunk = 1};
    REQUIRE(run(&ro, &ref) == TSR_OK && ref.frames == OF && !ref.bad_order);
    ro.deep = 4096; /* one tile covering the frame */
    CHECKF(run(&ro, &o) == TSR_OK, "%s", err.message);
    CHECKF(memcmp(o.d, ref.d, TSR_DECODED_BYTES(o)) == 0, "one deep tile differs from the untiled decode by %g",
           tsr_test_max_abs(o.d, ref.d, ON));
    CHECK(o.frames == OF && !o.bad_order);
    static const int tiles[] = {64, 32};
    for (size_t i = 0; i < TSR_ARRAY_LEN(tiles); i++) {
        double e[3] = {0}, ps[3] = {0};
        for (int passes = 1; passes <= 2; passes++) {
            ro.deep = tiles[i], ro.passes = passes;
            tsr_status st = run(&ro, &o);
            CHECKF(st == TSR_OK && o.frames == OF && !o.bad_order && o.h == OH && o.w == OW, "%s", err.message);
            e[passes] = tsr_test_max_abs(o.d, ref.d, ON), ps[passes] = psnr(o.d, ref.d, ON);
            CHECK(o.tiles_total == passes * ((OH + tiles[i] - 1) / tiles[i]) * ((OW + tiles[i] - 1) / tiles[i]));
            printf("deep tiles %d px, %d pass%s: %d tile runs, max abs %.3g, PSNR %.1f dB, peak %.3f MiB\n", tiles[i],
                   passes, passes == 1 ? "" : "es", o.tiles_total, e[passes], ps[passes], o.peak / 1048576.0);
        }
        /* measured (this synthetic model, whose 16 x 48 head-output frame is barely wider than two halos of 12 px):
         * 64 px (3 tiles) 0.212 / 35.8 dB -> 0.271 / 33.8 dB, 32 px (12 tiles) 0.255 / 35.0 dB -> 0.186 / 36.8 dB.
         * At 1080p on the GPU (768 px tiles) two passes gain 0.9 dB (tests/bench/RESULTS.md, session 6). */
        CHECKF(e[2] < 0.3 && ps[2] > 33, "tile %d: two passes off by %g (%.1f dB)", tiles[i], e[2], ps[2]);
        CHECKF(e[1] < 0.3 && ps[1] > 34, "tile %d: one pass off by %g (%.1f dB)", tiles[i], e[1], ps[1]);
        if (tiles[i] == 32) CHECKF(e[2] < e[1] && ps[2] > ps[1] + 1, "32 px: %g vs %g", e[2], e[1]);
    }
}

/* Chunk 2 == chunk 1; max_frames and crop; frames in order, each once. */
static void test_streaming(void)
{
    run_opts ro = {.chunk = 1, .deep = 32, .passes = 2};
    REQUIRE(run(&ro, &o) == TSR_OK);
    ro.chunk = 2;
    CHECKF(run(&ro, &o2) == TSR_OK && o2.frames == OF && !o2.bad_order, "%s", err.message);
    double d = tsr_test_max_abs(o.d, o2.d, ON);
    printf("deep tiles 32 px: chunk 2 vs chunk 1 max abs %.3g\n", d);
    CHECK(d <= 1e-5);
    ro = (run_opts){.chunk = 1, .deep = 32, .passes = 2, .max_frames = 6, .crop_h = OH - 5, .crop_w = OW - 9};
    CHECKF(run(&ro, &o2) == TSR_OK, "%s", err.message);
    CHECK(o2.frames == 6 && !o2.bad_order && o2.h == OH - 5 && o2.w == OW - 9 && o2.next == 6);
    int same = 1;
    for (int c = 0; c < 3; c++)
        for (int f = 0; f < 6; f++)
            for (int y = 0; y < OH - 5; y++)
                same &= memcmp(o2.d + (((size_t)c * OF + f) * OH + y) * OW, o.d + (((size_t)c * OF + f) * OH + y) * OW,
                               (size_t)(OW - 9) * sizeof(float)) == 0;
    CHECKF(same, "cropped, trimmed deep decode differs from the full one");
}

/* The head's causal states in host memory (4K in 8 GiB): the same frames bit for bit, a smaller device peak, and
 * the planner's deep rung with offloaded head states predicts it exactly. */
static void test_head_offload(void)
{
    run_opts ro = {.deep = 64, .passes = 2};
    REQUIRE(run(&ro, &ref) == TSR_OK);
    uint64_t dev = ref.peak;
    ro.offload = 64; /* every head state */
    CHECKF(run(&ro, &o) == TSR_OK, "%s", err.message);
    CHECKF(memcmp(o.d, ref.d, TSR_DECODED_BYTES(o)) == 0, "head states in host memory change the frames by %g",
           tsr_test_max_abs(o.d, ref.d, ON));
    printf("deep 64 px: head states on the device %.4f MiB, in host memory %.4f MiB\n", dev / 1048576.0,
           o.peak / 1048576.0);
    CHECK(o.peak < dev);
    /* the planner: the largest deep plan with host head states, run under its own peak as the cap */
    tsr_plan top = plan_at(1ull << 40, 1ull << 40, TSR_TILING_DEEP), p = top;
    for (uint64_t b = top.peak; p.kind == TSR_PLAN_DEEP_TILES && p.offloaded == 0; b = p.peak - 1)
        p = plan_at(b, 1ull << 40, TSR_TILING_DEEP);
    REQUIRE(p.kind == TSR_PLAN_DEEP_TILES && p.offloaded > 0 && p.state_host > 0 && p.state_staging > 0);
    ro = (run_opts){.cap = p.peak, .budget = p.peak, .host_budget = 1ull << 40, .tiling = TSR_TILING_DEEP};
    CHECKF(run(&ro, &o) == TSR_OK, "%s", err.message);
    printf("deep rung with %d host head states: %d px, predicted %.4f MiB, measured %.4f MiB\n", o.last.offloaded,
           o.last.tile_w, o.last.peak / 1048576.0, o.peak / 1048576.0);
    CHECK(o.plans == 1 && o.last.offloaded == p.offloaded && o.last.tile_w == p.tile_w);
    CHECKF(o.peak == o.last.peak, "measured %llu, predicted %llu bytes", (unsigned long long)o.peak,
           (unsigned long long)o.last.peak);
    ro = (run_opts){.deep = p.tile_w, .passes = p.deep_passes};
    REQUIRE(run(&ro, &o2) == TSR_OK);
    CHECK(memcmp(o.d, o2.d, TSR_DECODED_BYTES(o)) == 0);
}

/* The CPU backend's measured peak (activations + device states) equals the planner's prediction. */
static void test_peak(void)
{
    tsr_plan top = plan_at(1ull << 40, 0, TSR_TILING_DEEP);
    uint64_t host = (uint64_t)3 * OF * OH * OW * 4;
    int seen = 0;
    for (uint64_t budget = top.peak; seen < 3;) {
        tsr_plan p = plan_at(budget, host, TSR_TILING_DEEP);
        if (p.kind == TSR_PLAN_IMPOSSIBLE) break;
        budget = p.peak - 1;
        if (p.kind != TSR_PLAN_DEEP_TILES) continue;
        run_opts ro = {.deep = p.tile_w, .passes = p.deep_passes};
        CHECKF(run(&ro, &o) == TSR_OK, "%s", err.message);
        printf("deep rung %d: %dx%d tiles of %d px: predicted %.4f MiB (states %.4f, activations %.4f), measured "
               "%.4f MiB\n", p.rung, p.tiles_y, p.tiles_x, p.tile_w, p.peak / 1048576.0, p.state_device / 1048576.0,
               p.activations / 1048576.0, o.peak / 1048576.0);
        CHECKF(o.peak == p.peak, "deep %d px: measured %llu, predicted %llu bytes", p.tile_w,
               (unsigned long long)o.peak, (unsigned long long)p.peak);
        CHECK(p.host_boundary == host && p.approximate && p.deep_passes == TSR_DEEP_PASSES_DEFAULT && p.tile_major);
        seen++;
    }
    CHECKF(seen >= 2, "only %d deep rungs below the host budget", seen);
    /* the one-pass variant applies its tiles' own statistics by the same separate op: no larger */
    tsr_plan p = plan_at(1ull << 40, host, TSR_TILING_DEEP);
    REQUIRE(p.kind == TSR_PLAN_DEEP_TILES);
    run_opts ro = {.deep = p.tile_w, .passes = 1};
    CHECKF(run(&ro, &o) == TSR_OK, "%s", err.message);
    printf("deep %d px, one pass: measured %.4f MiB (two passes: predicted %.4f MiB)\n", p.tile_w, o.peak / 1048576.0,
           p.peak / 1048576.0);
    CHECK(o.peak <= p.peak);
}

/* The planner: at 4K (SeedVR2) nothing exact fits 8/12/16 GiB, deep tiles do; never under EXACT_ONLY. */
static void test_planner(void)
{
    /* 8 GiB: the head (whole frame, its states on the device) alone needs ~8.6 GiB at 4K; see engine/README.md */
    static const uint64_t gib[] = {10, 12, 16};
    for (size_t i = 0; i < TSR_ARRAY_LEN(gib); i++) {
        tsr_plan_request r;
        tsr_plan_request_default(&r);
        r.latent_t = 6, r.latent_h = 270, r.latent_w = 480;
        r.budget = gib[i] << 30;
        r.host_budget = 12ull << 30;
        r.no_fp8_state = 1;
        tsr_plan p, q;
        REQUIRE(tsr_plan_make(&r, &p, &err) == TSR_OK);
        r.tiling = TSR_TILING_EXACT_ONLY;
        REQUIRE(tsr_plan_make(&r, &q, &err) == TSR_OK);
        printf("4K at %llu GiB: %s %dx%d tiles of %d px, peak %.2f GiB, host %.2f GiB; exact only: %s\n",
               (unsigned long long)gib[i], tsr_plan_kind_name(p.kind), p.tiles_y, p.tiles_x, p.tile_w,
               p.peak / 1073741824.0, p.host_boundary / 1073741824.0, tsr_plan_kind_name(q.kind));
        CHECK(p.kind == TSR_PLAN_DEEP_TILES && p.peak <= r.budget && p.host_boundary <= r.host_budget);
        CHECK(q.kind == TSR_PLAN_IMPOSSIBLE);
        CHECK(strcmp(tsr_plan_kind_name(p.kind), "deep-tiles") == 0);
    }
}

/* Planned: the decode's own planning reaches deep tiles, and an OOM in a deep-tile run re-plans smaller. */
static void test_planned(void)
{
    uint64_t host = (uint64_t)3 * OF * OH * OW * 4;
    tsr_plan a = plan_at(1ull << 40, host, TSR_TILING_DEEP);
    REQUIRE(a.kind == TSR_PLAN_DEEP_TILES);
    tsr_plan b = plan_at(a.peak / 10 * 9, host, TSR_TILING_DEEP);
    REQUIRE(b.kind == TSR_PLAN_DEEP_TILES);
    run_opts ro = {.cap = a.peak, .budget = a.peak, .host_budget = host, .tiling = TSR_TILING_DEEP};
    CHECKF(run(&ro, &o) == TSR_OK, "%s", err.message);
    CHECK(o.plans == 1 && o.last.kind == TSR_PLAN_DEEP_TILES && o.last.rung == a.rung && o.peak == a.peak);
    CHECK(o.frames == OF && !o.bad_order && o.tiles_total == a.deep_passes * a.tiles_y * a.tiles_x);
    /* the device has less than the budget says: the first deep plan runs out, a smaller one finishes */
    ro.cap = b.peak + (a.peak - b.peak) / 4;
    tsr_status st = run(&ro, &o2);
    printf("cap %.4f MiB, budget %.4f MiB: %d plans, %s %d px -> %s %d px, frames %d, why: %s\n", ro.cap / 1048576.0,
           ro.budget / 1048576.0, o2.plans, tsr_plan_kind_name(o2.first.kind), o2.first.tile_w,
           tsr_plan_kind_name(o2.last.kind), o2.last.tile_w, o2.frames, o2.why);
    CHECKF(st == TSR_OK, "%s", err.message);
    CHECK(o2.plans >= 2 && o2.first.rung == a.rung && o2.last.kind == TSR_PLAN_DEEP_TILES && o2.last.tile_w < a.tile_w);
    CHECK(strstr(o2.why, "emulated device cap") != NULL && o2.frames == OF && !o2.bad_order && o2.peak <= ro.cap);
    /* the re-planned decode starts over: the frames of the smaller plan run by itself, bit for bit */
    ro = (run_opts){.deep = o2.last.tile_w, .passes = o2.last.deep_passes};
    REQUIRE(run(&ro, &o) == TSR_OK);
    CHECKF(memcmp(o.d, o2.d, TSR_DECODED_BYTES(o)) == 0, "re-planned vs direct: max abs %g",
           tsr_test_max_abs(o.d, o2.d, ON));
}

static int cache_dropped; /* warnings "... not kept in host memory" seen */
static void count_drops(void *user, tsr_log_level level, const char *msg)
{
    (void)user;
    if (level == TSR_LOG_WARN && strstr(msg, "not kept in host memory")) cache_dropped++;
}

/* The head's output cached in host memory (the default): the same frames bit for bit as running the head for
 * every tile and pass, no more device memory; the planner keeps the cache within the host budget, and below it
 * plans the head recomputed (more work), which the planned decode then runs. */
static void test_head_cache(void)
{
    run_opts ro = {.deep = 32, .passes = 3, .recompute = 1};
    REQUIRE(run(&ro, &o) == TSR_OK);
    ro.recompute = 0;
    CHECKF(run(&ro, &o2) == TSR_OK && o2.frames == OF && !o2.bad_order, "%s", err.message);
    CHECKF(memcmp(o.d, o2.d, TSR_DECODED_BYTES(o)) == 0, "cached head vs recomputed: max abs %g",
           tsr_test_max_abs(o.d, o2.d, ON));
    printf("deep 32 px, 3 passes: head recomputed %.4f MiB, cached %.4f MiB\n", o.peak / 1048576.0, o2.peak / 1048576.0);
    CHECK(o2.peak <= o.peak);
    /* host memory running out while the cache fills (an emulated pinned-memory cap: at the first chunk, or later):
     * the decode drops the cache, runs the head for every tile from then on and gives the same frames */
    /* the head output here: 64 channels of 16 x 48, 1 frame in chunk 0 (196,608 bytes), 2 in chunks 1 and 2: the cap
     * bites at chunk 1, after one chunk was cached (one cap: each run is a 3-pass decode, slow under ASan) */
    static const char *const pinned[] = {"262144"};
    tsr_set_log_callback(count_drops, NULL, TSR_LOG_WARN);
    for (size_t i = 0; i < TSR_ARRAY_LEN(pinned); i++) {
        tsr_test_setenv("TSR_CPU_PINNED_CAP", pinned[i]);
        cache_dropped = 0;
        CHECKF(run(&ro, &o2) == TSR_OK && o2.frames == OF && !o2.bad_order, "pinned cap %s: %s", pinned[i], err.message);
        CHECKF(memcmp(o.d, o2.d, TSR_DECODED_BYTES(o)) == 0, "pinned cap %s: max abs %g against the recomputed head",
               pinned[i], tsr_test_max_abs(o.d, o2.d, ON));
        printf("pinned-memory cap %s bytes: head cache dropped %d time(s)\n", pinned[i], cache_dropped);
        CHECKF(cache_dropped == 1, "pinned cap %s: the cache was dropped %d times", pinned[i], cache_dropped);
    }
    tsr_set_log_callback(NULL, NULL, TSR_LOG_WARN);
    tsr_test_setenv("TSR_CPU_PINNED_CAP", NULL);
    /* the planner, SeedVR2 at 4K in 20 GiB (1024 px tiles, the head's states on the device): the cache within a
     * 64 GiB host budget; in 4 GiB (the output frames fit, the cache does not) the head recomputed, the same tiles
     * and peak, more work. The small model here plans it recomputed: its head costs less than copying its output
     * (test_planned runs that). */
    tsr_plan_request r;
    tsr_plan_request_default(&r);
    r.latent_t = 6, r.latent_h = 270, r.latent_w = 480, r.budget = 20ull << 30, r.no_fp8_state = 1;
    r.host_budget = 64ull << 30;
    tsr_plan a, b;
    REQUIRE(tsr_plan_make(&r, &a, &err) == TSR_OK);
    r.host_budget = 4ull << 30;
    REQUIRE(tsr_plan_make(&r, &b, &err) == TSR_OK);
    printf("4K in 20 GiB: head cache %.2f GiB, host %.2f GiB, work %d %%; host budget 4 GiB: head cache %llu, host "
           "%.2f GiB, work %d %%\n", a.head_cache / 1073741824.0, a.host_boundary / 1073741824.0, a.work_pct,
           (unsigned long long)b.head_cache, b.host_boundary / 1073741824.0, b.work_pct);
    /* 512 channels x 11 head-output frames x 540 x 960 px in bf16 */
    CHECK(a.kind == TSR_PLAN_DEEP_TILES && a.head_cache == 512ull * 11 * 540 * 960 * 2);
    CHECK(b.kind == TSR_PLAN_DEEP_TILES && b.head_cache == 0 && b.host_boundary + a.head_cache == a.host_boundary);
    CHECK(b.tile_w == a.tile_w && b.peak == a.peak && b.work_pct > a.work_pct && a.offloaded == 0);
    tsr_plan small = plan_at(1ull << 40, 1ull << 40, TSR_TILING_DEEP);
    CHECK(small.kind == TSR_PLAN_DEEP_TILES && small.head_cache == 0);
}

/* Bad parameters: clear errors, no crash. */
static void test_bad(void)
{
    run_opts ro = {.deep = -8};
    CHECK(run(&ro, &o) == TSR_ERR_INVALID_ARG && strstr(err.message, "deep tiles") != NULL && o.frames == 0);
    printf("negative deep tile: %s\n", err.message);
    ro = (run_opts){.deep = 32, .passes = TSR_DEEP_MAX_PASSES + 1};
    CHECK(run(&ro, &o) == TSR_ERR_INVALID_ARG && o.frames == 0);
    ro = (run_opts){.deep = 32, .passes = -1};
    CHECK(run(&ro, &o) == TSR_ERR_INVALID_ARG && o.frames == 0);
    ro = (run_opts){.deep = 32, .cap = 4096};
    CHECK(run(&ro, &o) == TSR_ERR_DEVICE_OOM && o.frames == 0);
    printf("4 KiB cap: %s\n", err.message);
    ro = (run_opts){.deep = 32, .tile = 64};
    CHECK(run(&ro, &o) == TSR_ERR_INVALID_ARG && strstr(err.message, "exclude") != NULL && o.frames == 0);
}

int main(void)
{
    tsr_vae_config_seedvr2(&cfg);
    static const int ch[4] = {32, 32, 64, 64};
    memcpy(cfg.block_out, ch, sizeof ch);
    cfg.has_encoder = 0;
    REQUIRE(tsr_model_builtin(&cfg, &model, &err) == TSR_OK);
    size_t n = (size_t)16 * LT * LH * LW;
    lat = malloc(n * sizeof(float));
    tsr_filler_latent(lat, n);
    test_accuracy();
    test_streaming();
    test_peak();
    test_head_offload();
    test_planner();
    test_planned();
    test_head_cache();
    test_bad();
    free(lat);
    tsr_model_destroy(&model);
    return tsr_test_done();
}
