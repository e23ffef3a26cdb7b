/* Peak backend activation memory of the decode, untiled vs tiled (CPU backend and small configuration
 * 32/32/64/64 unless TSR_BACKEND=cuda / TSR_FULL=1). Usage: bench_tiles LH LW LT CHUNK TILE [TILE...]
 * (TILE 0 = untiled). Each run uses a fresh engine so the backend's high-water mark starts at zero; the
 * first run's output is the reference the others are compared with (max abs, PSNR with [-1,1] -> [0,1]). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "model/filler.h"
#include "tessera.h"
#include "vae/vae_internal.h"

typedef struct peak {
    uint64_t mem_peak;
} peak;

typedef struct vid {
    float *d; /* frame-major */
    size_t n;
} vid;

static vid ref, cur;

static tsr_status sink(void *user, const float *fr, int n, int first, int h, int w, tsr_error *e)
{
    vid *v = user;
    size_t fs = (size_t)3 * h * w;
    if ((size_t)(first + n) * fs > v->n) return TSR_OK;
    memcpy(v->d + (size_t)first * fs, fr, (size_t)n * fs * sizeof(float));
    return TSR_OK;
}

/* Largest |mean(cur - ref)| over one tile's pixels (all frames, per channel), in 8-bit levels. */
static double tile_shift(int f, int h, int w, int tile)
{
    double worst = 0;
    for (int y0 = 0; tile > 0 && y0 < h; y0 += tile)
        for (int x0 = 0; x0 < w; x0 += tile)
            for (int c = 0; c < 3; c++) {
                double sum = 0;
                long n = 0;
                for (int t = 0; t < f; t++)
                    for (int y = y0; y < h && y < y0 + tile; y++)
                        for (int x = x0; x < w && x < x0 + tile; x++, n++) {
                            size_t i = (((size_t)t * 3 + c) * h + y) * w + x;
                            sum += (double)cur.d[i] - ref.d[i];
                        }
                worst = fmax(worst, fabs(sum / n) * 127.5);
            }
    return worst;
}

static void compare(double *mx, double *psnr)
{
    double se = 0;
    *mx = 0;
    for (size_t i = 0; i < cur.n; i++) {
        double d = (double)cur.d[i] - ref.d[i];
        *mx = d < 0 ? (-d > *mx ? -d : *mx) : (d > *mx ? d : *mx);
        se += 0.25 * d * d;
    }
    *psnr = se > 0 ? 10.0 * log10((double)cur.n / se) : INFINITY;
}

static int on_progress(void *user, const tsr_progress *p)
{
    peak *k = user;
    if (p->mem_peak > k->mem_peak) k->mem_peak = p->mem_peak;
    return 0;
}

static int run(int lh, int lw, int lt, int chunk, int tile, int from, int host)
{
    tsr_error err = {0};
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    const char *b = getenv("TSR_BACKEND"), *full = getenv("TSR_FULL");
    ep.backend = b && strcmp(b, "cuda") == 0 ? TSR_BACKEND_CUDA : TSR_BACKEND_CPU;
    ep.threads = 2;
    tsr_engine *eng = NULL;
    tsr_vae_config c;
    tsr_vae_config_seedvr2(&c);
    int ch[4] = {32, 32, 64, 64};
    if (!full || atoi(full) == 0) memcpy(c.block_out, ch, sizeof ch);
    c.has_encoder = 0;
    tsr_model *m = NULL;
    tsr_vae *vae = NULL;
    if (tsr_engine_create(&ep, &eng, &err) != TSR_OK || tsr_model_builtin(&c, &m, &err) != TSR_OK ||
        tsr_vae_create(eng, m, &vae, &err) != TSR_OK) {
        fprintf(stderr, "setup: %s\n", err.message);
        return 1;
    }
    size_t n = (size_t)16 * lt * lh * lw;
    float *lat = malloc(n * sizeof(float));
    tsr_filler_latent(lat, n);
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    peak k = {0};
    const char *loc = getenv("TSR_TILE_LOCAL"); /* the reference's per-tile GroupNorm statistics */
    vae->tile_local_norm = loc && atoi(loc) && tile > 0;
    p.chunk = chunk, p.tile = tile, p.tile_from = from, p.tile_host_state = host, p.progress = on_progress, p.progress_user = &k;
    double t0 = tsr_now();
    vid *v = ref.d ? &cur : &ref;
    v->n = (size_t)3 * (4 * lt - 3) * 64 * lh * lw;
    if (!v->d) v->d = calloc(v->n, sizeof(float));
    tsr_status st = tsr_vae_decode(vae, lat, 16, lt, lh, lw, &p, sink, v, &err);
    double dt = tsr_now() - t0, mx = 0, ps = INFINITY, shift = 0;
    if (v == &cur) compare(&mx, &ps), shift = tile_shift(4 * lt - 3, 8 * lh, 8 * lw, tile);
    if (st != TSR_OK) fprintf(stderr, "decode: %s\n", err.message);
    else
        printf("| %s | %dx%dx%d | %d | %s%d | %d | %s | %.2f | %.2f | %.2f | %.1f | %.3g | %.1f | %.2f |\n", tsr_engine_description(eng),
               4 * lt - 3, 8 * lh, 8 * lw, chunk, tile ? "" : "untiled ", tile, from, host ? "host" : "device",
               k.mem_peak / 1048576.0, vae->tile_state_bytes / 1048576.0, vae->tile_hist_bytes / 1048576.0, dt, mx, ps, shift);
    fflush(stdout);
    free(lat);
    tsr_vae_destroy(&vae);
    tsr_model_destroy(&m);
    tsr_engine_destroy(&eng);
    return st != TSR_OK;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_tiles LH LW LT CHUNK TILE [TILE...]  (env TSR_TILE_FROM, default 1; TSR_TILE_HOST=1; TSR_TILE_LOCAL=1)\n");
        return 2;
    }
    int lh = atoi(argv[1]), lw = atoi(argv[2]), lt = atoi(argv[3]), chunk = atoi(argv[4]);
    const char *f = getenv("TSR_TILE_FROM"), *hs = getenv("TSR_TILE_HOST");
    int from = f ? atoi(f) : 1, host = hs ? atoi(hs) : 0, bad = 0;
    printf("| backend | output FxHxW | chunk | tile | from | states | peak backend activations MiB | device tile states MiB | "
           "host state history MiB | s | max abs vs first | PSNR dB | worst tile mean shift (8-bit) |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 5; i < argc; i++) bad |= run(lh, lw, lt, chunk, atoi(argv[i]), from, host);
    free(ref.d);
    free(cur.d);
    return bad;
}
