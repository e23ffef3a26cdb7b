/* Causal states in pinned host memory on CUDA (backend.h state_create_host / state_prefetch,
 * backend/cuda/cuda_hoststate.c): a streamed decode with the k largest states offloaded equals the decode with
 * every state on the device bit for bit, for chunks 1 and 2 and several k, with chunk graphs on (recorded and
 * replayed with the copies inside; each offload decode runs twice, the second with new pinned buffers) and with
 * graphs off. TSR_CUDNN_PLANS=1: cuDNN's timed plan choice could pick another engine per shape (other rounding)
 * between the runs. Exits 77 without a GPU. */
#include "../golden/golden_harness.h"
#include "model/filler.h"
#include "tessera.h"
#include "tsr_test.h"

#include "core/common.h"

enum { LT = 6, LH = 8, LW = 12 };

static float *decode_off(const float *lat, int chunk, int offload)
{
    collect c = {calloc((size_t)3 * (4 * LT - 3) * 64 * LH * LW, sizeof(float)), 4 * LT - 3, 8 * LH, 8 * LW};
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    p.chunk = chunk;
    p.offload_states = offload;
    tsr_status st = tsr_vae_decode(vae, lat, 16, LT, LH, LW, &p, sink, &c, &err);
    CHECKF(st == TSR_OK, "decode chunk %d offload %d: %s", chunk, offload, err.message);
    return c.buf;
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
    (void)decode;
    (void)source;
    tsr_test_setenv("TSR_CUDNN_PLANS", "1");
    tsr_test_setenv("TSR_CUDNN_CACHE", "off");
    tsr_engine *eng = NULL;
    tsr_model *model = NULL;
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CUDA;
    ep.memory_budget = (uint64_t)8 << 30;
    size_t nl = (size_t)16 * LT * LH * LW, nout = (size_t)3 * (4 * LT - 3) * 64 * LH * LW;
    float *lat = malloc(nl * sizeof *lat);
    tsr_filler_latent(lat, nl);
    for (int graphs = 1; graphs >= 0; graphs--) {
        tsr_test_setenv("TSR_CUDA_GRAPHS", graphs ? NULL : "0");
        tsr_status est = tsr_engine_create(&ep, &eng, &err);
        if (est == TSR_ERR_NO_DEVICE || est == TSR_ERR_UNSUPPORTED) SKIP("%s", err.message);
        REQUIRE(est == TSR_OK);
        if (!model) REQUIRE(tsr_model_builtin(NULL, &model, &err) == TSR_OK);
        REQUIRE(tsr_vae_create(eng, model, &vae, &err) == TSR_OK);
        for (int chunk = 1; chunk <= 2; chunk++) {
            float *ref = decode_off(lat, chunk, 0);
            static const int counts[] = {1, 6, 33};
            for (size_t i = 0; i < TSR_ARRAY_LEN(counts); i++) {
                tsr_engine_stats s0, s;
                tsr_engine_stats_get(eng, 1, &s0);
                float *a = decode_off(lat, chunk, counts[i]), *b = decode_off(lat, chunk, counts[i]);
                tsr_engine_stats_get(eng, 0, &s);
                size_t da = a && ref ? diffs(a, ref, nout) : nout, db = b && ref ? diffs(b, ref, nout) : nout;
                fprintf(stderr, "graphs %s, chunk %d, %2d states on the host (%.1f MiB pinned at most): %zu / %zu of %zu "
                        "values differ from device states; graphs %ld recorded, %ld replayed, %ld redone eagerly\n",
                        graphs ? "on" : "off", chunk, counts[i], s.host_state_peak / 1048576.0, da, db, nout,
                        s.graph_captures, s.graph_replays, s.graph_fallbacks);
                CHECK(da == 0 && db == 0);
                CHECK(s.host_state_bytes == 0 && s.host_state_peak > 0); /* all released after each clip */
                if (graphs) CHECKF(s.graph_replays >= 1, "no chunk graph replayed with host states");
                else CHECK(s.graph_captures == 0 && s.graph_replays == 0);
                free(a), free(b);
            }
            free(ref);
        }
        tsr_vae_destroy(&vae);
        tsr_engine_destroy(&eng);
    }
    tsr_test_setenv("TSR_CUDA_GRAPHS", NULL);
    tsr_test_setenv("TSR_CUDNN_PLANS", NULL);
    tsr_test_setenv("TSR_CUDNN_CACHE", NULL);
    free(lat);
    tsr_model_destroy(&model);
    return tsr_test_done();
}
