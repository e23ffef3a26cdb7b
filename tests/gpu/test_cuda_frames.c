/* Frame groups on the GPU (tsr_decode_params / tsr_encode_params .frame_group, engine/vae/vae_forward.c): a
 * streamed decode whose stages after the last temporal upsampler run over groups of 1 or 2 frames equals the
 * whole-chunk decode bit for bit, at chunks of 1 and 2 latent frames, with CUDA graphs on (each grouped decode runs
 * three times: the last replays every steady-state chunk, groups included, and none falls back to eager), and the
 * arena high-water mark is below the whole chunk's and never grows as the group shrinks. Likewise an encode of 13 frames (chunks of 5 and 4 frames) with
 * groups of 2 and 1 against whole chunks. TSR_CUDNN_PLANS=1 (the heuristics' first plan, untimed) and no plan
 * cache: timing could pick another cuDNN engine per shape, whose rounding differs; this isolates the grouping.
 * Exits 77 without a GPU. */
#include "core/common.h"
#include "model/filler.h"
#include "tessera.h"
#include "tsr_test.h"

enum { LT = 5, LH = 16, LW = 24 };
#define NOUT ((size_t)3 * (4 * LT - 3) * 64 * LH * LW)

static tsr_error err;

typedef struct collect {
    float *buf; /* [3][F][H][W] */
    int frames, calls;
} collect;

static tsr_status sink(void *user, const float *fr, int n, int first, int h, int w, tsr_error *e)
{
    (void)e;
    collect *c = user;
    for (int f = 0; f < n; f++)
        for (int ch = 0; ch < 3; ch++)
            memcpy(c->buf + (((size_t)ch * c->frames + first + f) * h) * w, fr + ((size_t)f * 3 + ch) * h * w,
                   (size_t)h * w * sizeof(float));
    c->calls++;
    return TSR_OK;
}

static int on_progress(void *user, const tsr_progress *p)
{
    uint64_t *peak = user;
    if (p->mem_peak > *peak) *peak = p->mem_peak;
    return 0;
}

/* A fresh CUDA engine (its own arena high-water mark) with the model bound. */
static tsr_vae *fresh_vae(const tsr_model *model, tsr_engine **eng)
{
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CUDA;
    ep.memory_budget = (uint64_t)8 << 30;
    tsr_vae *vae = NULL;
    REQUIRE(tsr_engine_create(&ep, eng, &err) == TSR_OK);
    REQUIRE(tsr_vae_create(*eng, model, &vae, &err) == TSR_OK);
    return vae;
}

/* A decode on a fresh engine (its own arena high-water mark): `repeat` runs, the last one returned. */
static float *decode(const tsr_model *model, const float *lat, int chunk, int group, int repeat, uint64_t *peak,
                     tsr_engine_stats *stats)
{
    tsr_engine *eng = NULL;
    tsr_vae *vae = fresh_vae(model, &eng);
    collect c = {calloc(NOUT, sizeof(float)), 4 * LT - 3, 0};
    REQUIRE(c.buf);
    *peak = 0;
    for (int i = 0; i < repeat; i++) {
        tsr_decode_params p;
        tsr_decode_params_default(&p);
        p.chunk = chunk;
        p.frame_group = group;
        p.progress = on_progress;
        p.progress_user = peak;
        tsr_status st = tsr_vae_decode(vae, lat, 16, LT, LH, LW, &p, sink, &c, &err);
        CHECKF(st == TSR_OK, "chunk %d group %d: %s", chunk, group, err.message);
    }
    tsr_engine_stats_get(eng, 0, stats);
    tsr_vae_destroy(&vae);
    tsr_engine_destroy(&eng);
    return c.buf;
}

static size_t diffs_n(const float *a, const float *b, size_t n, double *max_abs)
{
    size_t d = 0;
    *max_abs = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            d++;
            double x = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
            if (x > *max_abs) *max_abs = x;
        }
    return d;
}

/* Encoder: VF frames of VH x VW (first chunk 5 frames, then 4: groups of 2 leave an uneven last group). */
enum { VF = 13, VH = 96, VW = 128 };
#define NPOST ((size_t)32 * 4 * (VH / 8) * (VW / 8))

typedef struct src_state {
    const float *video; /* [3][F][H][W] */
    int next;
} src_state;

static int source(void *user, float *frames, int max, tsr_error *e)
{
    (void)e;
    src_state *s = user;
    int n = TSR_MIN(max, VF - s->next);
    for (int f = 0; f < n; f++, s->next++)
        for (int c = 0; c < 3; c++)
            memcpy(frames + ((size_t)f * 3 + c) * VH * VW, s->video + ((size_t)c * VF + s->next) * VH * VW,
                   sizeof(float) * VH * VW);
    return n;
}

static float *encode(const tsr_model *model, const float *video, int group, int repeat, uint64_t *peak,
                     tsr_engine_stats *stats)
{
    tsr_engine *eng = NULL;
    tsr_vae *vae = fresh_vae(model, &eng);
    float *out = NULL;
    *peak = 0;
    for (int i = 0; i < repeat; i++) {
        tsr_encode_params p;
        tsr_encode_params_default(&p);
        p.posterior = 1;
        p.frame_group = group;
        p.progress = on_progress;
        p.progress_user = peak;
        src_state s = {video, 0};
        tsr_latent l;
        tsr_status st = tsr_vae_encode(vae, VH, VW, source, &s, &p, &l, &err);
        CHECKF(st == TSR_OK && l.c * l.t * l.h * l.w == (int)NPOST, "encode group %d: %s", group, err.message);
        free(out);
        out = st == TSR_OK ? l.data : NULL;
    }
    tsr_engine_stats_get(eng, 0, stats);
    tsr_vae_destroy(&vae);
    tsr_engine_destroy(&eng);
    return out;
}

static void test_encode(const tsr_model *model)
{
    size_t nv = (size_t)3 * VF * VH * VW;
    float *video = malloc(nv * sizeof *video);
    REQUIRE(video);
    tsr_filler_video(video, nv);
    uint64_t peak_whole = 0, peak_prev;
    tsr_engine_stats s;
    float *whole = encode(model, video, 0, 1, &peak_whole, &s);
    REQUIRE(whole);
    peak_prev = peak_whole;
    static const int groups[] = {2, 1};
    for (size_t g = 0; g < TSR_ARRAY_LEN(groups); g++) {
        uint64_t peak = 0;
        float *y = encode(model, video, groups[g], 3, &peak, &s);
        double m = 0;
        size_t d = y ? diffs_n(whole, y, NPOST, &m) : NPOST;
        fprintf(stderr, "encode, frame group %d: %zu of %zu values differ from the whole chunk (max abs %g); "
                "arena peak %.2f MiB (whole chunk %.2f MiB); graphs %ld recorded, %ld replayed, %ld redone\n",
                groups[g], d, NPOST, m, peak / 1048576.0, peak_whole / 1048576.0, s.graph_captures, s.graph_replays, s.graph_fallbacks);
        CHECKF(d == 0, "encode group %d: %zu values differ", groups[g], d);
        CHECK(s.graph_captures >= 1 && s.graph_replays >= 2 && s.graph_fallbacks == 0);
        CHECK(peak < peak_prev);
        peak_prev = peak;
        free(y);
    }
    free(whole), free(video);
}

int main(void)
{
    tsr_test_setenv("TSR_CUDNN_PLANS", "1");
    tsr_test_setenv("TSR_CUDNN_CACHE", "off");
    tsr_test_setenv("TSR_CUDA_GRAPHS", NULL);
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CUDA;
    tsr_engine *probe = NULL;
    tsr_status est = tsr_engine_create(&ep, &probe, &err);
    if (est == TSR_ERR_NO_DEVICE || est == TSR_ERR_UNSUPPORTED) SKIP("%s", err.message);
    REQUIRE(est == TSR_OK);
    tsr_engine_destroy(&probe);
    tsr_model *model = NULL;
    REQUIRE(tsr_model_builtin(NULL, &model, &err) == TSR_OK);
    size_t nl = (size_t)16 * LT * LH * LW;
    float *lat = malloc(nl * sizeof *lat);
    REQUIRE(lat);
    tsr_filler_latent(lat, nl);

    for (int chunk = 1; chunk <= 2; chunk++) {
        uint64_t peak_whole = 0, peak_prev = 0;
        tsr_engine_stats s;
        float *whole = decode(model, lat, chunk, 0, 1, &peak_whole, &s);
        peak_prev = peak_whole;
        static const int groups[] = {2, 1};
        for (size_t g = 0; g < TSR_ARRAY_LEN(groups); g++) {
            uint64_t peak = 0;
            float *y = decode(model, lat, chunk, groups[g], 3, &peak, &s);
            double m;
            size_t d = diffs_n(whole, y, NOUT, &m);
            fprintf(stderr, "chunk %d, frame group %d: %zu of %zu values differ from the whole chunk (max abs %g); "
                    "arena peak %.2f MiB (whole chunk %.2f MiB); graphs %ld recorded, %ld replayed, %ld redone\n",
                    chunk, groups[g], d, NOUT, m, peak / 1048576.0, peak_whole / 1048576.0, s.graph_captures,
                    s.graph_replays, s.graph_fallbacks);
            CHECKF(d == 0, "chunk %d group %d: %zu values differ", chunk, groups[g], d);
            /* the third run replays every steady chunk: (ceil(LT / chunk) - 1) of them */
            CHECK(s.graph_captures >= 1 && s.graph_replays >= (LT + chunk - 1) / chunk - 1 && s.graph_fallbacks == 0);
            /* below the whole chunk, never above the larger group (at chunk 2 this small size peaks in the head,
             * attention scratch included, for groups 2 and 1 alike: 358.71 MiB both on the H100) */
            CHECKF(peak < peak_whole && peak <= peak_prev, "group %d peak %llu (whole %llu, previous %llu)", groups[g],
                   (unsigned long long)peak, (unsigned long long)peak_whole, (unsigned long long)peak_prev);
            peak_prev = peak;
            free(y);
        }
        free(whole);
    }
    free(lat);
    test_encode(model);
    tsr_model_destroy(&model);
    return tsr_test_done();
}
