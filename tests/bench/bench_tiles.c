/* Peak backend activation memory of the decode, untiled vs tiled (CPU backend, small configuration
 * 32/32/64/64 unless --full). Usage: bench_tiles LH LW LT CHUNK TILE [TILE...]   (TILE 0 = untiled)
 * Each run uses a fresh engine so the backend's high-water mark starts at zero. */
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

static tsr_status sink(void *user, const float *fr, int n, int first, int h, int w, tsr_error *e) { return TSR_OK; }

static int on_progress(void *user, const tsr_progress *p)
{
    peak *k = user;
    if (p->mem_peak > k->mem_peak) k->mem_peak = p->mem_peak;
    return 0;
}

static int run(int lh, int lw, int lt, int chunk, int tile, int from)
{
    tsr_error err = {0};
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CPU;
    ep.threads = 2;
    tsr_engine *eng = NULL;
    tsr_vae_config c;
    tsr_vae_config_seedvr2(&c);
    int ch[4] = {32, 32, 64, 64};
    memcpy(c.block_out, ch, sizeof ch);
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
    p.chunk = chunk, p.tile = tile, p.tile_from = from, p.progress = on_progress, p.progress_user = &k;
    double t0 = tsr_now();
    tsr_status st = tsr_vae_decode(vae, lat, 16, lt, lh, lw, &p, sink, NULL, &err);
    double dt = tsr_now() - t0;
    if (st != TSR_OK) fprintf(stderr, "decode: %s\n", err.message);
    else
        printf("| %dx%d | %d | %s%d | %d | %.2f | %.2f | %.1f |\n", 8 * lh, 8 * lw, chunk, tile ? "" : "untiled ", tile,
               from, k.mem_peak / 1048576.0, vae->tile_state_bytes / 1048576.0, dt);
    free(lat);
    tsr_vae_destroy(&vae);
    tsr_model_destroy(&m);
    tsr_engine_destroy(&eng);
    return st != TSR_OK;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_tiles LH LW LT CHUNK TILE [TILE...]  (env TSR_TILE_FROM, default 1)\n");
        return 2;
    }
    int lh = atoi(argv[1]), lw = atoi(argv[2]), lt = atoi(argv[3]), chunk = atoi(argv[4]);
    const char *f = getenv("TSR_TILE_FROM");
    int from = f ? atoi(f) : 1, bad = 0;
    printf("| output | chunk | tile | from | peak activations MiB | per-tile states MiB | s |\n|---|---|---|---|---|---|---|\n");
    for (int i = 5; i < argc; i++) bad |= run(lh, lw, lt, chunk, atoi(argv[i]), from);
    return bad;
}
