/* Spatially tiled decode (engine/vae/vae_tiled.c) on the small configuration (channels 32/32/64/64): equal
 * to the untiled decode for tiles that divide the frame or not, one tile, every tiling entry block, chunk 1
 * and the whole clip; per-tile GroupNorm statistics (the reference's way) drift, ours do not. */
#include "model/filler.h"
#include "tessera.h"
#include "tsr_test.h"
#include "vae/vae_internal.h"

static tsr_error err;

enum { LT = 3, LH = 3, LW = 5, OF = 4 * LT - 3, OH = 8 * LH, OW = 8 * LW };
#define ON ((size_t)3 * OF * OH * OW)

typedef struct prog {
    int calls, last_tile, last_tiles, monotone, max_tiles;
} prog;

static tsr_status sink(void *user, const float *fr, int n, int first, int h, int w, tsr_error *e)
{
    float *d = user; /* [3][OF][OH][OW] */
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            memcpy(d + (((size_t)c * OF + first + i) * h) * w, fr + ((size_t)i * 3 + c) * h * w, sizeof(float) * h * w);
    return TSR_OK;
}

static int on_progress(void *user, const tsr_progress *p)
{
    prog *g = user;
    g->calls++;
    if (p->tiles > 1 && p->tile < g->last_tile && p->tiles == g->last_tiles) g->monotone = 0;
    g->last_tile = p->tile, g->last_tiles = p->tiles;
    if (p->tiles > g->max_tiles) g->max_tiles = p->tiles;
    return 0;
}

static int host_state; /* tsr_decode_params.tile_host_state for the next decodes */

static float *decode(tsr_vae *vae, const float *lat, int chunk, int tile, int from, prog *g)
{
    float *out = calloc(ON, sizeof(float));
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    p.chunk = chunk, p.tile = tile, p.tile_from = from, p.tile_host_state = host_state;
    if (g) p.progress = on_progress, p.progress_user = g;
    tsr_status st = tsr_vae_decode(vae, lat, 16, LT, LH, LW, &p, sink, out, &err);
    CHECKF(st == TSR_OK, "decode tile %d chunk %d from %d: %s", tile, chunk, from, err.message);
    return out;
}

/* PSNR with [-1, 1] mapped to [0, 1]. */
static double psnr(const float *a, const float *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++) se += 0.25 * ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return se > 0 ? 10.0 * log10((double)n / se) : INFINITY;
}

/* Largest |mean(a - b)| over a tile's pixels (all frames, per channel) in 8-bit levels. */
static double tile_shift(const float *a, const float *b, int tile)
{
    double worst = 0;
    for (int y0 = 0; y0 < OH; y0 += tile)
        for (int x0 = 0; x0 < OW; x0 += tile)
            for (int c = 0; c < 3; c++) {
                double s = 0;
                long n = 0;
                for (int f = 0; f < OF; f++)
                    for (int y = y0; y < OH && y < y0 + tile; y++)
                        for (int x = x0; x < OW && x < x0 + tile; x++, n++) {
                            size_t i = (((size_t)c * OF + f) * OH + y) * OW + x;
                            s += (double)a[i] - b[i];
                        }
                worst = fmax(worst, fabs(s / n) * 127.5);
            }
    return worst;
}

static void test_exact(tsr_vae *vae, const float *lat, const float *ref)
{
    static const int tiles[4] = {40, 16, 11, 8}; /* 1 tile, 2x3 (not dividing 24), 3x4 odd, 3x5 */
    for (int i = 0; i < 4; i++)
        for (int chunk = 1; chunk <= LT; chunk += LT - 1) {
            float *o = decode(vae, lat, chunk, tiles[i], 1, NULL);
            double d = tsr_test_max_abs(o, ref, ON);
            printf("tile %2d chunk %d from up_blocks.1: max abs %.3g\n", tiles[i], chunk, d);
            CHECKF(d <= 1e-4, "tile %d chunk %d: %g", tiles[i], chunk, d);
            free(o);
        }
    /* 3 px tiles: 1 px tiles (halo larger than the core) at the low-resolution layers */
    float *o3 = decode(vae, lat, 2, 3, 0, NULL);
    double d3 = tsr_test_max_abs(o3, ref, ON);
    printf("tile 3 chunk 2 from 0: max abs %.3g\n", d3);
    CHECKF(d3 <= 1e-4, "tile 3: %g", d3);
    free(o3);
    /* every entry point: from up_blocks.0, and only conv_norm_out/conv_out (from = num_blocks) */
    for (int from = 0; from <= 4; from += 4) {
        prog g = {0, 0, 0, 1, 0};
        float *o = decode(vae, lat, 1, 16, from, &g);
        double d = tsr_test_max_abs(o, ref, ON);
        printf("tile 16 chunk 1 from %d: max abs %.3g, %d progress calls, %d tile steps\n", from, d, g.calls, g.max_tiles);
        CHECKF(d <= 1e-4, "from %d: %g", from, d);
        CHECK(g.monotone && g.max_tiles > 1);
        free(o);
    }
}

/* Causal states on the host (history frames re-run each later chunk): same result, no device state. */
static void test_host_state(tsr_vae *vae, const float *lat, const float *ref)
{
    host_state = 1;
    for (int chunk = 1; chunk <= 2; chunk++) {
        int tile = chunk == 1 ? 16 : 11;
        float *o = decode(vae, lat, chunk, tile, chunk - 1, NULL);
        double d = tsr_test_max_abs(o, ref, ON);
        printf("host states: tile %d chunk %d from %d: max abs %.3g, device state bytes %llu, host %llu\n", tile, chunk,
               chunk - 1, d, (unsigned long long)vae->tile_state_bytes, (unsigned long long)vae->tile_hist_bytes);
        CHECKF(d <= 1e-4, "host states, tile %d chunk %d: %g", tile, chunk, d);
        CHECK(vae->tile_state_bytes == 0 && vae->tile_hist_bytes > 0);
        free(o);
    }
    host_state = 0;
}

/* The reference's approximation (GroupNorm statistics of the tile alone) against ours, same tiles. */
static void test_drift(tsr_vae *vae, const float *lat, const float *ref)
{
    for (int tile = 16; tile >= 8; tile -= 8) {
        float *ours = decode(vae, lat, 1, tile, 1, NULL);
        vae->tile_local_norm = 1;
        float *local = decode(vae, lat, 1, tile, 1, NULL);
        vae->tile_local_norm = 0;
        double d0 = tsr_test_max_abs(ours, ref, ON), d1 = tsr_test_max_abs(local, ref, ON);
        printf("tile %d: whole-frame stats max abs %.3g, PSNR %.1f dB, shift %.4f levels | per-tile stats max abs %.3g, "
               "PSNR %.1f dB, worst tile mean shift %.2f levels\n",
               tile, d0, psnr(ours, ref, ON), tile_shift(ours, ref, tile), d1, psnr(local, ref, ON),
               tile_shift(local, ref, tile));
        CHECK(d0 <= 1e-4);
        CHECKF(d1 > 100 * d0 && d1 > 1e-3, "per-tile statistics should drift: %g", d1);
        free(ours), free(local);
    }
}

typedef struct vsrc {
    const float *d; /* [3][F][H][W] */
    int f, h, w, next;
} vsrc;

static int source(void *user, float *frames, int max, tsr_error *e)
{
    vsrc *v = user;
    int n = max < v->f - v->next ? max : v->f - v->next;
    for (int i = 0; i < n; i++, v->next++)
        for (int c = 0; c < 3; c++)
            memcpy(frames + ((size_t)i * 3 + c) * v->h * v->w, v->d + ((size_t)c * v->f + v->next) * v->h * v->w,
                   sizeof(float) * v->h * v->w);
    return n;
}

static tsr_latent encode(tsr_vae *vae, vsrc *v, int chunk, int tile)
{
    tsr_encode_params p;
    tsr_encode_params_default(&p);
    p.chunk = chunk, p.tile = tile, p.posterior = 1;
    tsr_latent l = {0};
    v->next = 0;
    tsr_status st = tsr_vae_encode(vae, v->h, v->w, source, v, &p, &l, &err);
    CHECKF(st == TSR_OK, "encode tile %d chunk %d: %s", tile, chunk, err.message);
    return l;
}

/* Encoder tiling: conv_in and the down blocks (stride-2 downsamplers included) tiled, exact. */
static void test_encode(tsr_vae *vae, int h, int w, const int *tiles, int nt)
{
    size_t n = (size_t)3 * 9 * h * w;
    float *d = malloc(n * sizeof(float));
    tsr_filler_video(d, n);
    vsrc v = {d, 9, h, w, 0};
    tsr_latent ref = encode(vae, &v, 8, 0);
    for (int i = 0; i < nt; i++)
        for (int chunk = 4; chunk <= 8; chunk += 4) {
            tsr_latent l = encode(vae, &v, chunk, tiles[i]);
            size_t ln = (size_t)ref.c * ref.t * ref.h * ref.w;
            double m = l.c == ref.c && l.t == ref.t && l.h == ref.h && l.w == ref.w ? tsr_test_max_abs(l.data, ref.data, ln) : 1e9;
            printf("encode %dx%d tile %d chunk %d: max abs %.3g\n", h, w, tiles[i], chunk, m);
            CHECKF(m <= 1e-4, "encode %dx%d tile %d chunk %d: %g", h, w, tiles[i], chunk, m);
            tsr_latent_free(&l);
        }
    tsr_latent_free(&ref);
    free(d);
}

int main(void)
{
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CPU;
    ep.threads = 2;
    tsr_engine *eng;
    REQUIRE(tsr_engine_create(&ep, &eng, &err) == TSR_OK);
    tsr_vae_config c;
    tsr_vae_config_seedvr2(&c);
    int ch[4] = {32, 32, 64, 64};
    memcpy(c.block_out, ch, sizeof ch);
    tsr_model *m = NULL;
    REQUIRE(tsr_model_builtin(&c, &m, &err) == TSR_OK);
    tsr_vae *vae;
    REQUIRE(tsr_vae_create(eng, m, &vae, &err) == TSR_OK);
    size_t n = (size_t)16 * LT * LH * LW;
    float *lat = malloc(n * sizeof(float));
    tsr_filler_latent(lat, n);
    float *ref = decode(vae, lat, LT, 0, 1, NULL);
    test_exact(vae, lat, ref);
    test_host_state(vae, lat, ref);
    test_drift(vae, lat, ref);
    static const int et[3] = {48, 16, 20}, pt[1] = {12};
    test_encode(vae, 32, 48, et, 3);
    test_encode(vae, 20, 28, pt, 1); /* padded to 32x32 with -1 before tiling */
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    CHECK(p.tile == 0 && p.tile_from == 1);
    p.tile = -1;
    CHECK(tsr_vae_decode(vae, lat, 16, LT, LH, LW, &p, sink, ref, &err) == TSR_ERR_INVALID_ARG);
    free(ref), free(lat);
    tsr_vae_destroy(&vae);
    tsr_model_destroy(&m);
    tsr_engine_destroy(&eng);
    return tsr_test_done();
}
