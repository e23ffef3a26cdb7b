/* bench_plan — the memory planner's plans measured on the CUDA backend (built only with CUDA).
 *
 *   bench_plan caps LT LH LW CAP_GIB...   one planned decode per cap (tsr_decode_params.memory_budget = cap,
 *                                         arena = cap - predicted weights): JSON line per cap with the plan,
 *                                         predicted peak, arena high-water, measured weights, cuMemGetInfo
 *                                         low-water, wall time, re-plans
 *   bench_plan psnr LT LH LW TILE DIR     untiled vs tiled (TILE px, exact: whole-frame statistics) vs tiled
 *                                         with per-tile GroupNorm statistics (the reference's approximation):
 *                                         PSNR, max abs, worst tile colour shift; difference images (PNG) in DIR
 *   bench_plan deep LT LH LW TILE [no-ref | ref=GIB] [CAP_GIB]
 *                                         untiled decode (skipped with no-ref; ref=GIB: the exact reference is
 *                                         planned for GIB with plan_tiling EXACT_ONLY — exact-offload or exact tiles,
 *                                         host budget TSR_BENCH_HOST_GIB, default 100 — so 4K has one) vs deep tiles
 *                                         of TILE px with 2 passes (pooled GroupNorm statistics) vs 1 pass (per-tile
 *                                         statistics): one JSON line per variant with PSNR, max abs and worst tile
 *                                         colour shift against the untiled one, seconds, arena peak + weights,
 *                                         predicted peak (tsr_plan_deep_tiles). CAP_GIB: the deep decodes run on an
 *                                         engine whose arena is CAP_GIB - weights (an allocation past it fails).
 *                                         Example (4K, 21 frames, 16 GiB): bench_plan deep 6 270 480 768 ref=70 16
 *                                         TSR_BENCH_TWICE=1: each deep decode again on its engine (plans built);
 *                                         TSR_BENCH_PNG_DIR: the middle frame's difference x64 as PNG per variant
 *                                         (TSR_BENCH_PNG_CROP=WxH: a box around the first seams' crossing);
 *                                         TSR_BENCH_PASSES_MAX / _MIN: the passes run (default 2 .. 1)
 *   caps mode plans as the decoder does (exact, exact tiles, deep tiles; TSR_BENCH_HOST_GIB: the host budget,
 *   default 64) and reports the deep tiles' passes too: bench_plan caps 6 270 480 8 12 16
 *
 * The latent is the deterministic filler's; the model the builtin full SeedVR2 configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_driver.h"
#include "core/common.h"
#include "model/filler.h"
#include "tsr_test.h"
#include "vae/vae_internal.h"

static tsr_error err;
static tsr_cu_api cu;
static size_t free_low;

static size_t free_now(void)
{
    size_t f = 0, t = 0;
    if (cu.cuMemGetInfo) cu.cuMemGetInfo(&f, &t);
    return f;
}

typedef struct run {
    float *d;              /* [3][F][H][W] or NULL */
    int f, h, w, frames, plans;
    uint64_t peak;
    tsr_plan first, last;
} run;

static tsr_status sink(void *user, const float *fr, int n, int first, int h, int w, tsr_error *e)
{
    run *r = user;
    r->frames += n;
    r->h = h, r->w = w;
    if (r->d)
        for (int i = 0; i < n && first + i < r->f; i++)
            for (int c = 0; c < 3; c++)
                memcpy(r->d + (((size_t)c * r->f + first + i) * h) * w, fr + ((size_t)i * 3 + c) * h * w,
                       sizeof(float) * h * w);
    return TSR_OK;
}

static int progress(void *user, const tsr_progress *p)
{
    run *r = user;
    if (p->mem_peak > r->peak) r->peak = p->mem_peak;
    size_t f = free_now();
    if (f && f < free_low) free_low = f;
    if (p->tile == 0) fprintf(stderr, "chunk %d/%d, %d frames, %.1f s, arena peak %.3f GiB\n", p->chunks_done,
                              p->chunks_total, p->frames_done, p->elapsed_s, p->mem_peak / 1073741824.0);
    return 0;
}

static void on_plan(void *user, const tsr_plan *p, const char *why)
{
    run *r = user;
    if (r->plans++ == 0) r->first = *p;
    r->last = *p;
    if (why) fprintf(stderr, "re-plan: %s\n", why);
}

static tsr_model *model;
static float *lat;
static int LT, LH, LW;

static tsr_vae *make(uint64_t arena, tsr_engine **eng, size_t *weights)
{
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CUDA;
    ep.memory_budget = arena;
    REQUIRE(tsr_engine_create(&ep, eng, &err) == TSR_OK);
    if (!cu.lib) tsr_cu_load(&cu, NULL);
    size_t before = free_now();
    tsr_vae *v = NULL;
    if (tsr_vae_create(*eng, model, &v, &err) != TSR_OK) {
        fprintf(stderr, "vae: %s\n", err.message);
        exit(1);
    }
    *weights = before - free_now();
    return v;
}

/* TSR_BENCH_CHUNK=N fixes the chunk (the planner's otherwise); TSR_BENCH_RUNS=N decodes N times per cap on the
 * same engine and reports the fastest (the first run builds cuDNN plans and pins host memory). */
static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

static int caps(int argc, char **argv)
{
    int chunk = env_int("TSR_BENCH_CHUNK", 0), runs = TSR_MAX(1, env_int("TSR_BENCH_RUNS", 1));
    for (int i = 0; i < argc; i++) {
        double cap_gib = atof(argv[i]);
        uint64_t cap = (uint64_t)(cap_gib * (1ull << 30));
        tsr_plan_request r;
        tsr_plan_request_default(&r);
        /* TSR_BENCH_SLACK_MIB: the planner plans for cap - slack inside an arena of cap - weights */
        uint64_t slack = (uint64_t)env_int("TSR_BENCH_SLACK_MIB", 0) << 20;
        r.latent_t = LT, r.latent_h = LH, r.latent_w = LW, r.budget = cap - slack; /* tsr_vae_plan_request's bf16 request */
        r.no_fp8_state = 1; /* what tsr_vae_plan_request asks: exact, exact tiles, deep tiles */
        r.host_budget = (uint64_t)env_int("TSR_BENCH_HOST_GIB", 64) << 30;
        r.chunk = chunk;
        tsr_plan want;
        REQUIRE(tsr_plan_make(&r, &want, &err) == TSR_OK);
        if (want.kind == TSR_PLAN_IMPOSSIBLE) {
            printf("{\"cap_gib\":%.1f,\"plan\":\"impossible\",\"min_needed_gib\":%.3f}\n", cap_gib,
                   want.min_needed / 1073741824.0);
            continue;
        }
        tsr_engine *eng = NULL;
        size_t weights = 0;
        tsr_vae *v = make(cap - want.weights, &eng, &weights);
        run rr = {0};
        free_low = free_now();
        size_t total = 0, fr = 0;
        cu.cuMemGetInfo(&fr, &total);
        tsr_decode_params p;
        tsr_decode_params_default(&p);
        p.memory_budget = cap - slack;
        p.host_budget = r.host_budget;
        p.chunk = chunk;
        p.progress = progress, p.progress_user = &rr;
        p.on_plan = on_plan, p.plan_user = &rr;
        double secs = 0, first = 0;
        tsr_status st = TSR_OK;
        for (int k = 0; k < runs && st == TSR_OK; k++) {
            rr.frames = 0;
            double t0 = tsr_now();
            st = tsr_vae_decode(v, lat, 16, LT, LH, LW, &p, sink, &rr, &err);
            double s1 = tsr_now() - t0;
            if (k == 0) first = s1;
            if (k == 0 || s1 < secs) secs = s1;
        }
        tsr_engine_stats es;
        tsr_engine_stats_get(eng, 0, &es);
        uint64_t measured = rr.peak + weights;
        printf("{\"cap_gib\":%.1f,\"latent\":\"16x%dx%dx%d\",\"status\":\"%s\",\"plan\":\"%s\",\"chunk\":%d,\"tile\":%d,"
               "\"tiles\":\"%dx%d\",\"host_states\":%d,\"plans\":%d,\"predicted_gib\":%.3f,\"arena_peak_gib\":%.3f,"
               "\"weights_gib\":%.3f,\"measured_gib\":%.3f,\"pred_over_meas\":%.3f,\"fits\":%d,\"device_used_lowwater_gib\":%.3f,"
               "\"arena_gib\":%.3f,\"frames\":%d,\"seconds\":%.2f,\"first_run_s\":%.2f,\"runs\":%d,\"offloaded\":%d,"
               "\"pinned_gib\":%.3f,\"pred_pinned_gib\":%.3f,\"staging_gib\":%.3f,\"graph_replays\":%ld,"
               "\"deep_passes\":%d}\n",
               cap_gib, LT, LH, LW, tsr_status_name(st), tsr_plan_kind_name(rr.last.kind), rr.last.chunk,
               rr.last.tile_w, rr.last.tiles_y, rr.last.tiles_x, rr.last.offloaded > 0, rr.plans,
               rr.last.peak / 1073741824.0, rr.peak / 1073741824.0, weights / 1073741824.0, measured / 1073741824.0,
               (double)rr.last.peak / (double)(measured ? measured : 1), measured <= cap,
               (total - free_low) / 1073741824.0, (cap - want.weights) / 1073741824.0, rr.frames, secs, first, runs,
               rr.last.kind == TSR_PLAN_EXACT_OFFLOAD ? rr.last.offloaded : 0, es.host_state_peak / 1073741824.0,
               rr.last.kind == TSR_PLAN_EXACT_OFFLOAD ? rr.last.state_host / 1073741824.0 : 0.0,
               rr.last.state_staging / 1073741824.0, es.graph_replays, rr.last.deep_passes);
        if (st != TSR_OK) fprintf(stderr, "decode: %s\n", err.message);
        fflush(stdout);
        tsr_vae_destroy(&v);
        tsr_engine_destroy(&eng);
    }
    return 0;
}

/* ------------------------------------------------------------------ PNG (stored deflate, no zlib) */

static uint32_t crc_table[256];
static uint32_t crc(const unsigned char *b, size_t n, uint32_t c)
{
    if (!crc_table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t v = i;
            for (int k = 0; k < 8; k++) v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
            crc_table[i] = v;
        }
    c = ~c;
    for (size_t i = 0; i < n; i++) c = crc_table[(c ^ b[i]) & 0xff] ^ (c >> 8);
    return ~c;
}

static void be32(unsigned char *p, uint32_t v) { p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v; }

static void chunk(FILE *f, const char *type, const unsigned char *d, size_t n)
{
    unsigned char h[8];
    be32(h, (uint32_t)n);
    memcpy(h + 4, type, 4);
    fwrite(h, 1, 8, f);
    if (n) fwrite(d, 1, n, f);
    uint32_t c = crc((const unsigned char *)type, 4, 0);
    c = crc(d, n, c);
    be32(h, c);
    fwrite(h, 1, 4, f);
}

/* 8-bit RGB, rows filtered with 0, zlib stream of stored blocks. */
static void write_png(const char *path, const unsigned char *rgb, int w, int h)
{
    size_t row = (size_t)w * 3 + 1, raw_n = row * h;
    unsigned char *raw = malloc(raw_n);
    for (int y = 0; y < h; y++) raw[y * row] = 0, memcpy(raw + y * row + 1, rgb + (size_t)y * w * 3, (size_t)w * 3);
    size_t blocks = (raw_n + 65534) / 65535, zn = 2 + raw_n + blocks * 5 + 4;
    unsigned char *z = malloc(zn), *p = z;
    *p++ = 0x78, *p++ = 0x01;
    uint32_t a = 1, b = 0;
    for (size_t off = 0; off < raw_n; off += 65535) {
        size_t n = raw_n - off < 65535 ? raw_n - off : 65535;
        *p++ = off + n == raw_n;
        *p++ = n & 0xff, *p++ = n >> 8, *p++ = ~n & 0xff, *p++ = (~n >> 8) & 0xff;
        memcpy(p, raw + off, n);
        p += n;
    }
    for (size_t i = 0; i < raw_n; i++) a = (a + raw[i]) % 65521, b = (b + a) % 65521;
    be32(p, (b << 16) | a);
    p += 4;
    FILE *f = fopen(path, "wb");
    if (!f) return;
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', 13, 10, 26, 10};
    fwrite(sig, 1, 8, f);
    unsigned char ih[13];
    be32(ih, (uint32_t)w), be32(ih + 4, (uint32_t)h);
    ih[8] = 8, ih[9] = 2, ih[10] = ih[11] = ih[12] = 0;
    chunk(f, "IHDR", ih, 13);
    chunk(f, "IDAT", z, (size_t)(p - z));
    chunk(f, "IEND", NULL, 0);
    fclose(f);
    free(raw), free(z);
}

/* A tile grid in output pixels: cell (i, j) is rows [y[i], y[i+1]) x columns [x[j], x[j+1]). */
typedef struct grid {
    int ny, nx, y[257], x[257];
} grid;

/* Exact tiles: cores of `tile` px from the top left, the last row and column smaller. */
static grid grid_fixed(int H, int W, int tile)
{
    grid g;
    g.ny = TSR_MIN((H + tile - 1) / tile, 256), g.nx = TSR_MIN((W + tile - 1) / tile, 256);
    for (int i = 0; i <= g.ny; i++) g.y[i] = TSR_MIN(i * tile, H);
    for (int j = 0; j <= g.nx; j++) g.x[j] = TSR_MIN(j * tile, W);
    return g;
}

/* Deep tiles: the balanced cores over the head's output (tsr_mm_deep_tile) times the output pixels per head pixel. */
static grid grid_deep(int H, int W, const tsr_plan *pl)
{
    grid g;
    int r = TSR_MAX(pl->tile_align, 1), h = H / r, w = W / r;
    g.ny = TSR_MIN(pl->tiles_y, 256), g.nx = TSR_MIN(pl->tiles_x, 256);
    for (int i = 0; i <= g.ny; i++) g.y[i] = (int)((int64_t)i * h / g.ny) * r;
    for (int j = 0; j <= g.nx; j++) g.x[j] = (int)((int64_t)j * w / g.nx) * r;
    return g;
}

/* |a - b| of frame `fi` in 8-bit levels x gain, per channel, clipped, as PNG; the tile grid's seams in blue. TSR_BENCH_PNG_CROP=WxH: only a W x H box around the first
 * seams' crossing (a 4K frame's PNG is too large to bring back from the device). */
static void diff_png(const char *path, const float *a, const float *b, int F, int H, int W, int fi, double gain,
                     const grid *g)
{
    int cw = W, ch = H, x0 = 0, y0 = 0;
    const char *crop = getenv("TSR_BENCH_PNG_CROP");
    if (crop && sscanf(crop, "%dx%d", &cw, &ch) == 2 && cw > 0 && ch > 0) {
        cw = TSR_MIN(cw, W), ch = TSR_MIN(ch, H);
        x0 = TSR_MAX(0, TSR_MIN((g->nx > 1 ? g->x[1] : W / 2) - cw / 2, W - cw));
        y0 = TSR_MAX(0, TSR_MIN((g->ny > 1 ? g->y[1] : H / 2) - ch / 2, H - ch));
    } else {
        cw = W, ch = H;
    }
    unsigned char *rgb = malloc((size_t)cw * ch * 3);
    if (!rgb) return;
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++)
            for (int c = 0; c < 3; c++) {
                size_t i = (((size_t)c * F + fi) * H + y0 + y) * W + x0 + x;
                double v = fabs((double)a[i] - b[i]) * 127.5 * gain;
                unsigned char *px = &rgb[((size_t)y * cw + x) * 3 + c];
                *px = (unsigned char)(v > 255 ? 255 : v);
            }
    for (int i = 1; i < g->ny; i++)
        if (g->y[i] >= y0 && g->y[i] < y0 + ch)
            for (int x = 0; x < cw; x++) rgb[((size_t)(g->y[i] - y0) * cw + x) * 3 + 2] = 160;
    for (int j = 1; j < g->nx; j++)
        if (g->x[j] >= x0 && g->x[j] < x0 + cw)
            for (int y = 0; y < ch; y++) rgb[((size_t)y * cw + g->x[j] - x0) * 3 + 2] = 160;
    write_png(path, rgb, cw, ch);
    free(rgb);
}

static double psnr(const float *a, const float *b, size_t n, double *maxabs)
{
    double se = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        se += 0.25 * d * d;
        m = fmax(m, fabs(d));
    }
    *maxabs = m;
    return se > 0 ? 10.0 * log10((double)n / se) : 999;
}

/* Largest |mean(a - b)| over one tile's pixels (all frames, per channel), 8-bit levels. */
static double tile_shift(const float *a, const float *b, int F, int H, int W, const grid *g)
{
    double worst = 0;
    for (int i = 0; i < g->ny; i++)
        for (int j = 0; j < g->nx; j++)
            for (int c = 0; c < 3; c++) {
                double s = 0;
                long n = 0;
                for (int f = 0; f < F; f++)
                    for (int y = g->y[i]; y < g->y[i + 1]; y++)
                        for (int x = g->x[j]; x < g->x[j + 1]; x++, n++) {
                            size_t k = (((size_t)c * F + f) * H + y) * W + x;
                            s += (double)a[k] - b[k];
                        }
                worst = fmax(worst, fabs(s / n) * 127.5);
            }
    return worst;
}

static float *decode_full(tsr_vae *v, int tile, int host_state, double *secs)
{
    int F = 4 * LT - 3, H = 8 * LH, W = 8 * LW;
    run r = {0};
    r.f = F;
    r.d = calloc((size_t)3 * F * H * W, sizeof(float));
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    p.chunk = 1, p.tile = tile, p.tile_host_state = host_state;
    p.tile_resident = tile ? 40ull << 30 : 0; /* whole frames on the device: the comparison, not the memory */
    double t0 = tsr_now();
    if (tsr_vae_decode(v, lat, 16, LT, LH, LW, &p, sink, &r, &err) != TSR_OK) {
        fprintf(stderr, "decode tile %d: %s\n", tile, err.message);
        exit(1);
    }
    *secs = tsr_now() - t0;
    return r.d;
}

static int psnr_mode(int tile, const char *dir)
{
    int F = 4 * LT - 3, H = 8 * LH, W = 8 * LW;
    size_t n = (size_t)3 * F * H * W;
    tsr_engine *eng = NULL;
    size_t weights;
    tsr_vae *v = make(0, &eng, &weights);
    double t_u, t_t, t_l, m_t, m_l;
    float *u = decode_full(v, 0, 0, &t_u);
    float *t = decode_full(v, tile, 0, &t_t);
    v->tile_local_norm = 1;
    float *l = decode_full(v, tile, 0, &t_l);
    v->tile_local_norm = 0;
    double p_t = psnr(t, u, n, &m_t), p_l = psnr(l, u, n, &m_l);
    grid g = grid_fixed(H, W, tile);
    double s_t = tile_shift(t, u, F, H, W, &g), s_l = tile_shift(l, u, F, H, W, &g);
    printf("{\"latent\":\"16x%dx%dx%d\",\"tile\":%d,\"untiled_s\":%.2f,\"tiled_s\":%.2f,\"psnr_db\":%.2f,\"max_abs\":%.4g,"
           "\"tile_shift_levels\":%.3f,\"per_tile_gn_psnr_db\":%.2f,\"per_tile_gn_max_abs\":%.4g,"
           "\"per_tile_gn_shift_levels\":%.3f}\n", LT, LH, LW, tile, t_u, t_t, p_t, m_t, s_t, p_l, m_l, s_l);
    char path[1024];
    snprintf(path, sizeof path, "%s/tiled_diff_x64.png", dir);
    diff_png(path, t, u, F, H, W, F / 2, 64, &g);
    snprintf(path, sizeof path, "%s/per_tile_gn_diff_x4.png", dir);
    diff_png(path, l, u, F, H, W, F / 2, 4, &g);
    free(u), free(t), free(l);
    tsr_vae_destroy(&v);
    tsr_engine_destroy(&eng);
    return 0;
}

/* One decode of the whole clip (forced deep tiles when deep > 0) on a fresh engine with an arena of `arena` bytes
 * (0 = the device): its frames (or NULL when it failed), time, arena peak, measured weights. TSR_BENCH_TWICE=1:
 * the same decode again on the same engine (its cuDNN plans and pinned blocks built), timed into *again. */
static float *decode_deep(int deep, int passes, uint64_t arena, uint64_t ref_budget, double *secs, double *again,
                          uint64_t *peak, size_t *weights)
{
    int F = 4 * LT - 3, H = 8 * LH, W = 8 * LW;
    tsr_engine *eng = NULL;
    tsr_vae *v = make(arena, &eng, weights);
    run r = {0};
    r.f = F;
    r.d = calloc((size_t)3 * F * H * W, sizeof(float));
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    p.chunk = 1, p.deep_tile = deep, p.deep_tile_passes = passes;
    p.progress = progress, p.progress_user = &r;
    if (ref_budget) { /* the exact reference under a budget: exact, exact-offload or exact tiles, never approximate */
        p.chunk = 0, p.memory_budget = ref_budget, p.plan_tiling = TSR_TILING_EXACT_ONLY;
        p.host_budget = (uint64_t)env_int("TSR_BENCH_HOST_GIB", 100) << 30;
        p.on_plan = on_plan, p.plan_user = &r;
    }
    double t0 = tsr_now();
    if (!r.d || tsr_vae_decode(v, lat, 16, LT, LH, LW, &p, sink, &r, &err) != TSR_OK) {
        fprintf(stderr, "decode deep %d passes %d: %s\n", deep, passes, err.message);
        free(r.d);
        r.d = NULL;
    }
    *secs = tsr_now() - t0;
    *again = 0;
    if (r.d && env_int("TSR_BENCH_TWICE", 0)) {
        t0 = tsr_now();
        if (tsr_vae_decode(v, lat, 16, LT, LH, LW, &p, sink, &r, &err) == TSR_OK) *again = tsr_now() - t0;
        else fprintf(stderr, "decode deep %d passes %d, again: %s\n", deep, passes, err.message);
    }
    *peak = r.peak;
    if (ref_budget && r.d)
        fprintf(stderr, "reference plan: kind %d, chunk %d, %d states in host memory, tiles %dx%d, %d re-plans\n",
                (int)r.last.kind, r.last.chunk, r.last.kind == TSR_PLAN_EXACT_OFFLOAD ? r.last.offloaded : 0,
                r.last.tiles_y, r.last.tiles_x, r.plans - 1);
    tsr_vae_destroy(&v);
    tsr_engine_destroy(&eng);
    return r.d;
}

static int deep_mode(int tile, int ref, double ref_gib, double cap_gib)
{
    int F = 4 * LT - 3, H = 8 * LH, W = 8 * LW;
    size_t n = (size_t)3 * F * H * W, weights = 0;
    double secs = 0, again = 0;
    uint64_t peak = 0;
    uint64_t ref_budget = (uint64_t)(ref_gib * 1073741824.0);
    float *u = ref ? decode_deep(0, 0, 0, ref_budget, &secs, &again, &peak, &weights) : NULL;
    if (ref)
        printf("{\"latent\":\"16x%dx%dx%d\",\"variant\":\"%s\",\"ok\":%d,\"seconds\":%.2f,\"measured_gib\":%.3f}\n",
               LT, LH, LW, ref_budget ? "exact-planned" : "untiled", u != NULL, secs, (peak + weights) / 1073741824.0);
    int hi = env_int("TSR_BENCH_PASSES_MAX", 2), lo = env_int("TSR_BENCH_PASSES_MIN", 1);
    for (int passes = hi; passes >= lo; passes--) {
        tsr_plan_request r;
        tsr_plan_request_default(&r);
        r.latent_t = LT, r.latent_h = LH, r.latent_w = LW, r.chunk = 1, r.budget = 1;
        tsr_plan pl;
        REQUIRE(tsr_plan_deep_tiles(&r, tile, passes, &pl, &err) == TSR_OK);
        uint64_t arena = cap_gib > 0 ? (uint64_t)(cap_gib * 1073741824.0) - pl.weights : 0;
        float *d = decode_deep(tile, passes, arena, 0, &secs, &again, &peak, &weights);
        grid g = grid_deep(H, W, &pl);
        double m = 0, ps = d && u ? psnr(d, u, n, &m) : 0, sh = d && u ? tile_shift(d, u, F, H, W, &g) : 0;
        printf("{\"latent\":\"16x%dx%dx%d\",\"variant\":\"deep\",\"tile\":%d,\"tiles\":\"%dx%d\",\"halo\":%d,"
               "\"passes\":%d,\"ok\":%d,\"cap_gib\":%.1f,\"seconds\":%.2f,\"seconds_again\":%.2f,\"work_pct\":%d,\"predicted_gib\":%.3f,\"arena_peak_gib\":%.3f,"
               "\"weights_gib\":%.3f,\"measured_gib\":%.3f,\"pred_over_meas\":%.3f,\"psnr_db\":%.2f,\"max_abs\":%.4g,"
               "\"tile_shift_levels\":%.3f,\"host_output_gib\":%.3f}\n", LT, LH, LW, tile, pl.tiles_y, pl.tiles_x,
               pl.halo, passes, d != NULL, cap_gib, secs, again, pl.work_pct, pl.peak / 1073741824.0, peak / 1073741824.0,
               weights / 1073741824.0, (peak + weights) / 1073741824.0,
               (double)pl.peak / (double)(peak + weights ? peak + weights : 1), ps, m, sh, pl.host_boundary / 1073741824.0);
        fflush(stdout);
        const char *dir = getenv("TSR_BENCH_PNG_DIR"); /* the middle frame's difference, amplified 64 times */
        if (dir && d && u) {
            char path[1024];
            snprintf(path, sizeof path, "%s/deep_%dpx_%dpass_diff_x64.png", dir, tile, passes);
            diff_png(path, d, u, F, H, W, F / 2, 64, &g);
        }
        free(d);
    }
    free(u);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_plan caps LT LH LW CAP_GIB... | psnr LT LH LW TILE DIR | deep LT LH LW TILE "
                        "[no-ref | ref=GIB] [CAP_GIB]\n");
        return 2;
    }
    LT = atoi(argv[2]), LH = atoi(argv[3]), LW = atoi(argv[4]);
    REQUIRE(tsr_model_builtin(NULL, &model, &err) == TSR_OK);
    size_t n = (size_t)16 * LT * LH * LW;
    lat = malloc(n * sizeof(float));
    tsr_filler_latent(lat, n);
    int rc;
    if (strcmp(argv[1], "caps") == 0) {
        rc = caps(argc - 5, argv + 5);
    } else if (strcmp(argv[1], "deep") == 0) {
        int ref = 1;
        double cap = 0, ref_gib = 0;
        for (int i = 6; i < argc; i++) {
            if (strcmp(argv[i], "no-ref") == 0) ref = 0;
            else if (strncmp(argv[i], "ref=", 4) == 0) ref_gib = atof(argv[i] + 4);
            else cap = atof(argv[i]);
        }
        rc = deep_mode(atoi(argv[5]), ref, ref_gib, cap);
    } else {
        rc = argc > 6 ? psnr_mode(atoi(argv[5]), argv[6]) : 2;
    }
    free(lat);
    tsr_model_destroy(&model);
    return rc;
}
