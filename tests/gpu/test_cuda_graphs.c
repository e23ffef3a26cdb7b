/* CUDA graphs (per-chunk recording and replay, engine/backend/cuda/cuda_graph.c) give bit-identical output to
 * the eager run: a streamed decode of 6 latent frames and an encode of 21 frames, each run twice on a graph
 * engine (the second run replays every steady-state chunk) and once with TSR_CUDA_GRAPHS=0. The graph engine
 * must have replayed chunks (tsr_engine_stats). The graph engine times the cuDNN plans (default candidates) and
 * records the winners in a cache file; the eager engine builds the remembered configs from that file, so this
 * also checks that a remembered plan computes the same bits as the timed one (engine + knob choices).
 * Exits 77 without a GPU. */
#include "../golden/golden_harness.h"
#include "model/filler.h"
#include "tessera.h"
#include "tsr_test.h"

#include "backend/cuda/cudnn.h"
#include "core/common.h"

enum { LT = 6, LH = 8, LW = 12, VF = 21, VH = 64, VW = 96 };


static float *encode(const float *video)
{
    src_state s = {video, VF, VH, VW, 0};
    tsr_encode_params p;
    tsr_encode_params_default(&p);
    p.posterior = 1;
    tsr_latent l;
    tsr_status st = tsr_vae_encode(vae, VH, VW, source, &s, &p, &l, &err);
    CHECKF(st == TSR_OK, "encode: %s", err.message);
    return st == TSR_OK ? l.data : NULL;
}

static size_t diffs(const float *a, const float *b, size_t n)
{
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    return d;
}

int main(void)
{
    (void)st_min_read;
    tsr_engine *eng = NULL;
    tsr_model *model = NULL;
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CUDA;
    ep.memory_budget = (uint64_t)16 << 30;
    tsr_test_setenv("TSR_CUDA_GRAPHS", NULL);
    const char *plans = "test_cuda_graphs-cudnn-plans.txt";
    remove(plans);
    tsr_test_setenv("TSR_CUDNN_CACHE", plans);
    tsr_test_setenv("TSR_CUDNN_PLANS", NULL);
    tsr_status est = tsr_engine_create(&ep, &eng, &err);
    if (est == TSR_ERR_NO_DEVICE || est == TSR_ERR_UNSUPPORTED) SKIP("%s", err.message);
    REQUIRE(est == TSR_OK);
    REQUIRE(tsr_model_builtin(NULL, &model, &err) == TSR_OK);
    size_t nl = (size_t)16 * LT * LH * LW, nv = (size_t)3 * VF * VH * VW;
    size_t nout = (size_t)3 * (4 * LT - 3) * 64 * LH * LW, npost = (size_t)32 * 6 * (VH / 8) * (VW / 8);
    float *lat = malloc(nl * sizeof *lat), *video = malloc(nv * sizeof *video);
    tsr_filler_latent(lat, nl);
    tsr_filler_video(video, nv);

    REQUIRE(tsr_vae_create(eng, model, &vae, &err) == TSR_OK);
    float *d1 = decode(lat, LT, LH, LW, 1), *d2 = decode(lat, LT, LH, LW, 1);
    float *e1 = encode(video), *e2 = encode(video);
    tsr_engine_stats s;
    tsr_engine_stats_get(eng, 0, &s);
    fprintf(stderr, "graphs: %ld recorded, %ld replayed, %ld not run (redone eagerly)\n", s.graph_captures,
            s.graph_replays, s.graph_fallbacks);
    CHECK(s.graph_captures >= 2);
    /* decode: chunks 4-5 of the first run and 2-5 of the second (chunk 1 takes the composed upsamplers' first-frame
     * variants: eager, vae_forward.c upsample_composed); encode: chunks 3-4, then 1-4 */
    CHECK(s.graph_replays >= 2 + 4 + 2 + 4 && s.graph_fallbacks == 0);
    tsr_vae_destroy(&vae);
    tsr_engine_destroy(&eng);

    tsr_cudnn *dnn = NULL;
    tsr_error de;
    int have_cudnn = tsr_cudnn_open(NULL, &dnn, &de) == TSR_OK;
    tsr_cudnn_close(&dnn);
    FILE *pf = fopen(plans, "rb");
    char line[64] = "";
    CHECKF(!have_cudnn || (pf && fgets(line, sizeof line, pf) && !strcmp(line, "tessera-cudnn-plans 2\n") && fgets(line, sizeof line, pf)),
           "no cuDNN plan choices remembered in %s", plans);
    if (pf) fclose(pf);
    tsr_test_setenv("TSR_CUDA_GRAPHS", "0");
    REQUIRE(tsr_engine_create(&ep, &eng, &err) == TSR_OK);
    REQUIRE(tsr_vae_create(eng, model, &vae, &err) == TSR_OK);
    float *d0 = decode(lat, LT, LH, LW, 1), *e0 = encode(video);
    tsr_engine_stats_get(eng, 0, &s);
    CHECK(s.graph_captures == 0 && s.graph_replays == 0);
    tsr_test_setenv("TSR_CUDA_GRAPHS", NULL);
    REQUIRE(d0 && d1 && d2 && e0 && e1 && e2);
    size_t a = diffs(d1, d0, nout), b = diffs(d2, d0, nout), c = diffs(e1, e0, npost), d = diffs(e2, e0, npost);
    fprintf(stderr, "decode graphs vs eager: %zu / %zu values differ (run 1 / run 2 of %zu); encode: %zu / %zu of %zu\n",
            a, b, nout, c, d, npost);
    fprintf(stderr, "rel rms: decode %g / %g, encode %g / %g; encode run 2 vs run 1: %zu differ\n",
            tsr_test_rel_rms(d1, d0, nout), tsr_test_rel_rms(d2, d0, nout), tsr_test_rel_rms(e1, e0, npost),
            tsr_test_rel_rms(e2, e0, npost), diffs(e2, e1, npost));
    CHECK(a == 0 && b == 0 && c == 0 && d == 0);
    free(d0), free(d1), free(d2), free(e0), free(e1), free(e2), free(lat), free(video);
    remove(plans);
    tsr_vae_destroy(&vae);
    tsr_model_destroy(&model);
    tsr_engine_destroy(&eng);
    return tsr_test_done();
}
