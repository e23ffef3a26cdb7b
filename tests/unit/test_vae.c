/* The VAE on the scaled-down configuration (channels 32/32/64/64): streaming in chunks equals the whole
 * clip, single frames work, the encoder's padding follows the reference, bad inputs fail clearly. */
#include "model/filler.h"
#include "tessera.h"
#include "tsr_test.h"

static tsr_engine *eng;
static tsr_error err;

static tsr_model *small_model(int enc, int dec)
{
    tsr_vae_config c;
    tsr_vae_config_seedvr2(&c);
    int ch[4] = {32, 32, 64, 64};
    memcpy(c.block_out, ch, sizeof ch);
    c.has_encoder = enc, c.has_decoder = dec;
    tsr_model *m = NULL;
    REQUIRE(tsr_model_builtin(&c, &m, &err) == TSR_OK);
    return m;
}

typedef struct vid {
    float *d; /* [3][F][H][W] */
    int f, h, w, next, fail_at;
} vid;

static tsr_status sink(void *user, const float *fr, int n, int first, int h, int w, tsr_error *e)
{
    vid *v = user;
    if (v->fail_at >= 0 && first + n > v->fail_at) {
        snprintf(e->message, sizeof e->message, "sink full");
        return e->status = TSR_ERR_IO;
    }
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            memcpy(v->d + (((size_t)c * v->f + first + i) * h) * w, fr + ((size_t)i * 3 + c) * h * w, sizeof(float) * h * w);
    return TSR_OK;
}

static int source(void *user, float *frames, int max, tsr_error *e)
{
    vid *v = user;
    int n = max < v->f - v->next ? max : v->f - v->next;
    for (int i = 0; i < n; i++, v->next++)
        for (int c = 0; c < 3; c++)
            memcpy(frames + ((size_t)i * 3 + c) * v->h * v->w, v->d + ((size_t)c * v->f + v->next) * v->h * v->w,
                   sizeof(float) * v->h * v->w);
    return n;
}

static float *decode_grouped(tsr_vae *vae, const float *lat, int t, int h, int w, int chunk, int group,
                             tsr_status *st)
{
    vid v = {calloc((size_t)3 * (4 * t - 3) * 64 * h * w, sizeof(float)), 4 * t - 3, 8 * h, 8 * w, 0, -1};
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    p.chunk = chunk;
    p.frame_group = group;
    *st = tsr_vae_decode(vae, lat, 16, t, h, w, &p, sink, &v, &err);
    return v.d;
}

static float *decode(tsr_vae *vae, const float *lat, int t, int h, int w, int chunk, tsr_status *st)
{
    return decode_grouped(vae, lat, t, h, w, chunk, 0, st);
}

/* Frame groups (tsr_decode_params.frame_group): the stages after the last temporal upsampler run over groups
 * of frames with the same causal states: bit for bit the decode of whole chunks, for chunks of 1, 2 and 3
 * latent frames (4, 8 and 12 frames per chunk; uneven last groups included). */
static void test_decode_frame_groups(tsr_vae *vae)
{
    int t = 4, h = 2, w = 3;
    size_t n = (size_t)16 * t * h * w, on = (size_t)3 * (4 * t - 3) * 64 * h * w;
    float *lat = malloc(n * sizeof(float));
    tsr_filler_latent(lat, n);
    for (size_t i = 0; i < n; i++) lat[i] *= 1.0f + 0.25f * (float)(i % 7); /* frames differ */
    tsr_status st;
    for (int chunk = 1; chunk <= 3; chunk++) {
        float *whole = decode_grouped(vae, lat, t, h, w, chunk, 0, &st);
        REQUIRE(st == TSR_OK);
        static const int groups[] = {1, 2, 3, 5};
        for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
            float *y = decode_grouped(vae, lat, t, h, w, chunk, groups[g], &st);
            CHECKF(st == TSR_OK, "chunk %d group %d: %s", chunk, groups[g], err.message);
            double d = tsr_test_max_abs(whole, y, on);
            CHECKF(d == 0, "chunk %d, frame group %d vs the whole chunk: max abs %g", chunk, groups[g], d);
            free(y);
        }
        free(whole);
    }
    float *y = decode_grouped(vae, lat, t, h, w, 1, -1, &st);
    CHECK(st == TSR_ERR_INVALID_ARG);
    free(y), free(lat);
}

static void test_decode_streaming(tsr_vae *vae)
{
    int t = 3, h = 2, w = 3;
    size_t n = (size_t)16 * t * h * w, on = (size_t)3 * (4 * t - 3) * 64 * h * w;
    float *lat = malloc(n * sizeof(float));
    tsr_filler_latent(lat, n);
    tsr_status st;
    float *whole = decode(vae, lat, t, h, w, t, &st);
    REQUIRE(st == TSR_OK);
    for (int chunk = 1; chunk <= 2; chunk++) {
        float *c = decode(vae, lat, t, h, w, chunk, &st);
        CHECK(st == TSR_OK);
        double d = tsr_test_max_abs(whole, c, on);
        CHECKF(d <= 1e-5, "decode chunk %d vs whole: %g", chunk, d);
        free(c);
    }
    /* single latent frame -> single video frame, equal to the first frame of the longer clip */
    float *one, *l1 = malloc((size_t)16 * h * w * sizeof(float));
    for (int c = 0; c < 16; c++) memcpy(l1 + c * h * w, lat + (size_t)c * t * h * w, sizeof(float) * h * w);
    one = decode(vae, l1, 1, h, w, 0, &st);
    CHECK(st == TSR_OK);
    double d = 0;
    for (int c = 0; c < 3; c++)
        d = fmax(d, tsr_test_max_abs(one + (size_t)c * 64 * h * w, whole + (size_t)c * (4 * t - 3) * 64 * h * w, (size_t)64 * h * w));
    CHECKF(d <= 1e-5, "1-frame latent vs first frame of the clip: %g", d); /* causal: frame 0 sees only z0 */
    free(one), free(l1), free(whole), free(lat);
}

/* The upsamplers composed into shuffle convs over their inputs (engine/vae/vae_upcompose.c): the same function as
 * the reference's op sequence (1x1 conv, depth-to-space dropping frame 1, causal 3x3x3 conv) at every chunking
 * (the clip's low-res frames 0 and 1 take their own variants, whichever chunk holds them) and in frame groups. */
static void test_composed_upsamplers(tsr_vae *ref, tsr_model *m)
{
    tsr_test_setenv("TSR_UPSAMPLE_COMPOSE", "1");
    tsr_vae *vae = NULL;
    REQUIRE(tsr_vae_create(eng, m, &vae, &err) == TSR_OK);
    tsr_test_setenv("TSR_UPSAMPLE_COMPOSE", NULL);
    int t = 4, h = 3, w = 5;
    size_t n = (size_t)16 * t * h * w, on = (size_t)3 * (4 * t - 3) * 64 * h * w;
    float *lat = malloc(n * sizeof(float));
    tsr_filler_latent(lat, n);
    tsr_status st;
    float *want = decode(ref, lat, t, h, w, t, &st);
    REQUIRE(st == TSR_OK);
    double scale = 1e-30;
    for (size_t i = 0; i < on; i++) scale = fmax(scale, fabs(want[i]));
    static const int chunks[] = {4, 1, 2, 3};
    for (int k = 0; k < 4; k++) {
        float *got = decode(vae, lat, t, h, w, chunks[k], &st);
        CHECKF(st == TSR_OK, "composed decode, chunk %d: %s", chunks[k], err.message);
        double d = tsr_test_max_abs(want, got, on);
        CHECKF(d <= 2e-5 * scale, "composed upsamplers, chunk %d: max abs diff %g (output max %g)", chunks[k], d, scale);
        fprintf(stderr, "composed upsamplers, chunk %d: max abs diff %.3g of %.3g\n", chunks[k], d, scale);
        free(got);
    }
    float *got = decode_grouped(vae, lat, t, h, w, 2, 3, &st);
    CHECK(st == TSR_OK);
    double d = tsr_test_max_abs(want, got, on);
    CHECKF(d <= 2e-5 * scale, "composed upsamplers, frame groups of 3: %g", d);
    free(got), free(want), free(lat);
    tsr_vae_destroy(&vae);
}

static tsr_latent encode_grouped(tsr_vae *vae, vid *v, int chunk, int posterior, int group, tsr_status *st)
{
    tsr_encode_params p;
    tsr_encode_params_default(&p);
    p.chunk = chunk;
    p.posterior = posterior;
    p.frame_group = group;
    tsr_latent l = {0};
    v->next = 0;
    *st = tsr_vae_encode(vae, v->h, v->w, source, v, &p, &l, &err);
    return l;
}

static tsr_latent encode(tsr_vae *vae, vid *v, int chunk, int posterior, tsr_status *st)
{
    return encode_grouped(vae, v, chunk, posterior, 0, st);
}

/* Encoder frame groups (tsr_encode_params.frame_group): conv_in and the down blocks before the first temporal
 * downsampler over groups of frames: bit for bit the whole chunk, at chunks of 4 and 8 frames (first chunks of
 * 5 and 9: uneven last groups). */
static void test_encode_frame_groups(tsr_vae *vae)
{
    vid v = {malloc(sizeof(float) * 3 * 13 * 16 * 32), 13, 16, 32, 0, -1};
    tsr_filler_video(v.d, (size_t)3 * 13 * 16 * 32);
    tsr_status st;
    for (int chunk = 4; chunk <= 8; chunk += 4) {
        tsr_latent whole = encode_grouped(vae, &v, chunk, 1, 0, &st);
        REQUIRE(st == TSR_OK && whole.t == 4);
        static const int groups[] = {1, 2, 3};
        for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
            tsr_latent l = encode_grouped(vae, &v, chunk, 1, groups[g], &st);
            CHECKF(st == TSR_OK, "chunk %d group %d: %s", chunk, groups[g], err.message);
            double d = st == TSR_OK ? tsr_test_max_abs(l.data, whole.data, (size_t)32 * 4 * 2 * 4) : 1;
            CHECKF(d == 0, "encode chunk %d, frame group %d vs the whole chunk: max abs %g", chunk, groups[g], d);
            tsr_latent_free(&l);
        }
        tsr_latent_free(&whole);
    }
    tsr_latent bad = encode_grouped(vae, &v, 4, 1, -1, &st);
    CHECK(st == TSR_ERR_INVALID_ARG);
    tsr_latent_free(&bad);
    free(v.d);
}

static void test_encode_streaming(tsr_vae *vae)
{
    vid v = {malloc(sizeof(float) * 3 * 9 * 16 * 32), 9, 16, 32, 0, -1};
    tsr_filler_video(v.d, (size_t)3 * 9 * 16 * 32);
    tsr_status st;
    tsr_latent whole = encode(vae, &v, 8, 1, &st);
    REQUIRE(st == TSR_OK);
    CHECK(whole.c == 32 && whole.t == 3 && whole.h == 2 && whole.w == 4 && whole.frames == 9);
    for (int chunk = 4; chunk <= 4; chunk += 4) {
        tsr_latent l = encode(vae, &v, chunk, 1, &st);
        CHECK(st == TSR_OK);
        double d = tsr_test_max_abs(l.data, whole.data, (size_t)32 * 3 * 8);
        CHECKF(d <= 1e-5, "encode chunk %d vs whole: %g", chunk, d);
        tsr_latent_free(&l);
    }
    /* mean = first 16 channels of the posterior */
    tsr_latent mean = encode(vae, &v, 0, 0, &st);
    CHECK(st == TSR_OK && mean.c == 16 && tsr_test_max_abs(mean.data, whole.data, (size_t)16 * 3 * 8) == 0);
    tsr_latent_free(&mean);
    tsr_latent_free(&whole);
    /* a single frame encodes to a single latent frame */
    v.f = 1;
    tsr_latent one = encode(vae, &v, 0, 0, &st);
    CHECK(st == TSR_OK && one.t == 1 && one.frames == 1);
    tsr_latent_free(&one);
    free(v.d);
}

/* tsr_encode_params.latent_sink and tsr_vae_decode_from: the streamed latent, frame by frame, equals the
 * returned one (mean, raw posterior and a seeded sample, at two chunk sizes), and a decode that reads the
 * latent through a reader equals the decode of the array; a NaN in a late chunk stops it with an error. */
typedef struct lat_acc {
    float *d; /* [c][T][h][w] with room for T frames */
    int c, t, h, w, next, calls, nan_frame;
} lat_acc;

static tsr_status lat_collect(void *user, const float *fr, int c, int t0, int n, int h, int w, tsr_error *e)
{
    lat_acc *a = user;
    if (t0 != a->next || c != a->c || h != a->h || w != a->w || t0 + n > a->t) {
        snprintf(e->message, sizeof e->message, "unexpected latent chunk %d+%d (c %d, %dx%d)", t0, n, c, h, w);
        return e->status = TSR_ERR_INTERNAL;
    }
    for (int ci = 0; ci < c; ci++)
        memcpy(a->d + ((size_t)ci * a->t + t0) * h * w, fr + (size_t)ci * n * h * w, sizeof(float) * n * h * w);
    a->next += n, a->calls++;
    return TSR_OK;
}

static tsr_status lat_read(void *user, float *dst, int t0, int n, tsr_error *e)
{
    lat_acc *a = user;
    size_t hw = (size_t)a->h * a->w;
    for (int ci = 0; ci < a->c; ci++)
        memcpy(dst + (size_t)ci * n * hw, a->d + ((size_t)ci * a->t + t0) * hw, sizeof(float) * n * hw);
    if (a->nan_frame >= t0 && a->nan_frame < t0 + n) dst[(size_t)(a->nan_frame - t0) * hw] = NAN;
    a->calls++;
    return TSR_OK;
}

static void test_latent_streams(tsr_vae *vae)
{
    vid v = {malloc(sizeof(float) * 3 * 9 * 16 * 32), 9, 16, 32, 0, -1};
    tsr_filler_video(v.d, (size_t)3 * 9 * 16 * 32);
    for (int mode = 0; mode < 3; mode++) /* mean, posterior, sample */
        for (int chunk = 4; chunk <= 8; chunk += 4) {
            tsr_encode_params p;
            tsr_encode_params_default(&p);
            p.chunk = chunk, p.posterior = mode == 1, p.sample = mode == 2, p.seed = 7;
            tsr_latent ref = {0}, l = {0};
            v.next = 0;
            REQUIRE(tsr_vae_encode(vae, v.h, v.w, source, &v, &p, &ref, &err) == TSR_OK);
            size_t ln = (size_t)ref.c * ref.t * ref.h * ref.w;
            lat_acc a = {calloc(ln, sizeof(float)), ref.c, ref.t, ref.h, ref.w, 0, 0, -1};
            p.latent_sink = lat_collect, p.latent_sink_user = &a;
            v.next = 0;
            tsr_status st = tsr_vae_encode(vae, v.h, v.w, source, &v, &p, &l, &err);
            CHECKF(st == TSR_OK, "streamed encode: %s", err.message);
            CHECK(l.data == NULL && l.c == ref.c && l.t == ref.t && l.frames == 9 && a.next == ref.t);
            /* chunks: the first of 1 + chunk frames, then chunk frames each */
            CHECKF(a.calls == 8 / chunk, "mode %d chunk %d: %d sink calls", mode, chunk, a.calls);
            double d = tsr_test_max_abs(a.d, ref.data, ln);
            CHECKF(d == 0, "mode %d chunk %d: streamed latent differs by %g", mode, chunk, d);
            if (mode == 2 && chunk == 4) { /* the sample is independent of the chunking */
                tsr_encode_params q = p;
                q.chunk = 8, q.latent_sink = NULL;
                tsr_latent l8 = {0};
                v.next = 0;
                REQUIRE(tsr_vae_encode(vae, v.h, v.w, source, &v, &q, &l8, &err) == TSR_OK);
                double ds = tsr_test_max_abs(l8.data, ref.data, ln);
                CHECKF(ds <= 1e-5, "sample chunk 8 vs 4: %g", ds);
                tsr_latent_free(&l8);
            }
            if (mode == 0 && chunk == 4) { /* decode the same latent from the array and through the reader */
                tsr_status ds;
                float *want = decode(vae, ref.data, ref.t, ref.h, ref.w, 1, &ds);
                REQUIRE(ds == TSR_OK);
                size_t on = (size_t)3 * (4 * ref.t - 3) * 64 * ref.h * ref.w;
                vid out = {calloc(on, sizeof(float)), 4 * ref.t - 3, 8 * ref.h, 8 * ref.w, 0, -1};
                tsr_decode_params dp;
                tsr_decode_params_default(&dp);
                dp.chunk = 1;
                a.calls = 0;
                st = tsr_vae_decode_from(vae, lat_read, &a, a.c, a.t, a.h, a.w, &dp, sink, &out, &err);
                CHECKF(st == TSR_OK, "decode_from: %s", err.message);
                CHECK(a.calls == ref.t);
                double dd = tsr_test_max_abs(out.d, want, on);
                CHECKF(dd == 0, "decode_from differs by %g", dd);
                a.nan_frame = ref.t - 1; /* a bad value in the last chunk: a clear error, after earlier frames */
                st = tsr_vae_decode_from(vae, lat_read, &a, a.c, a.t, a.h, a.w, &dp, sink, &out, &err);
                CHECKF(st == TSR_ERR_INPUT && strstr(err.message, "NaN") && strstr(err.message, "frame 2"),
                       "NaN in the last frame: %d %s", st, err.message);
                st = tsr_vae_decode_from(vae, NULL, &a, a.c, a.t, a.h, a.w, &dp, sink, &out, &err);
                CHECK(st == TSR_ERR_INVALID_ARG);
                free(out.d), free(want);
            }
            tsr_latent_free(&ref);
            free(a.d);
        }
    free(v.d);
}

/* F frames encode like the explicitly mirrored 4k+1 clip of pad_video_temporal. */
static void test_temporal_padding(tsr_vae *vae, int F, const int *order, int n_order)
{
    int h = 16, w = 16;
    size_t plane = (size_t)h * w;
    vid v = {malloc(sizeof(float) * 3 * F * plane), F, h, w, 0, -1};
    vid e = {malloc(sizeof(float) * 3 * n_order * plane), n_order, h, w, 0, -1};
    tsr_filler_video(v.d, 3 * F * plane);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < n_order; i++)
            memcpy(e.d + ((size_t)c * n_order + i) * plane, v.d + ((size_t)c * F + order[i]) * plane, plane * sizeof(float));
    tsr_status s1, s2;
    tsr_latent a = encode(vae, &v, 0, 1, &s1), b = encode(vae, &e, 0, 1, &s2);
    CHECK(s1 == TSR_OK && s2 == TSR_OK && a.t == b.t && a.frames == F);
    if (a.t == b.t) CHECKF(tsr_test_max_abs(a.data, b.data, (size_t)a.c * a.t * a.h * a.w) == 0, "temporal padding of %d frames", F);
    tsr_latent_free(&a), tsr_latent_free(&b);
    free(v.d), free(e.d);
}

/* 20x28 frames encode like 32x32 frames padded right/bottom with -1 (black). */
static void test_spatial_padding(tsr_vae *vae)
{
    vid v = {malloc(sizeof(float) * 3 * 20 * 28), 1, 20, 28, 0, -1};
    vid p = {malloc(sizeof(float) * 3 * 32 * 32), 1, 32, 32, 0, -1};
    tsr_filler_video(v.d, 3 * 20 * 28);
    for (int i = 0; i < 3 * 32 * 32; i++) p.d[i] = -1.0f;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 20; y++) memcpy(p.d + (c * 32 + y) * 32, v.d + (c * 20 + y) * 28, 28 * sizeof(float));
    tsr_status s1, s2;
    tsr_latent a = encode(vae, &v, 0, 0, &s1), b = encode(vae, &p, 0, 0, &s2);
    CHECK(s1 == TSR_OK && s2 == TSR_OK && a.h == 4 && a.w == 4 && a.height == 20 && a.width == 28);
    CHECK(tsr_test_max_abs(a.data, b.data, (size_t)16 * 16) == 0);
    tsr_latent_free(&a), tsr_latent_free(&b);
    free(v.d), free(p.d);
}

static int cancel_now(void *user, const tsr_progress *p) { return 1; }

static void test_errors(tsr_vae *vae)
{
    float lat[16 * 2 * 2 * 2] = {0};
    tsr_status st;
    vid v = {calloc(3 * 4 * 16 * 16, sizeof(float)), 1, 16, 16, 0, -1};
    CHECK(tsr_vae_decode(vae, lat, 15, 1, 2, 2, NULL, sink, &v, &err) == TSR_ERR_INPUT);
    CHECK(strstr(err.message, "15 channels") != NULL);
    lat[5] = NAN;
    CHECK(tsr_vae_decode(vae, lat, 16, 1, 2, 2, NULL, sink, &v, &err) == TSR_ERR_INPUT);
    CHECK(strstr(err.message, "NaN") != NULL);
    lat[5] = INFINITY;
    CHECK(tsr_vae_decode(vae, lat, 16, 1, 2, 2, NULL, sink, &v, &err) == TSR_ERR_INPUT);
    lat[5] = 0;
    CHECK(tsr_vae_decode(vae, lat, 16, 0, 2, 2, NULL, sink, &v, &err) == TSR_ERR_INPUT);
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    p.progress = cancel_now;
    CHECK(tsr_vae_decode(vae, lat, 16, 1, 2, 2, &p, sink, &v, &err) == TSR_ERR_CANCELLED);
    v.fail_at = 0;
    CHECK(tsr_vae_decode(vae, lat, 16, 1, 2, 2, NULL, sink, &v, &err) == TSR_ERR_IO); /* the sink's error */
    tsr_encode_params ep;
    tsr_encode_params_default(&ep);
    ep.chunk = 3;
    tsr_latent l;
    CHECK(tsr_vae_encode(vae, 16, 16, source, &v, &ep, &l, &err) == TSR_ERR_INVALID_ARG);
    v.f = 0;
    (void)encode(vae, &v, 0, 0, &st);
    CHECK(st == TSR_ERR_INPUT && strstr(err.message, "no frames"));
    v.f = 1;
    v.d[7] = NAN;
    (void)encode(vae, &v, 0, 0, &st);
    CHECK(st == TSR_ERR_INPUT);
    free(v.d);
    /* halves that are missing */
    tsr_model *enc_only = small_model(1, 0), *dec_only = small_model(0, 1);
    tsr_vae *a, *b;
    REQUIRE(tsr_vae_create(eng, enc_only, &a, &err) == TSR_OK);
    REQUIRE(tsr_vae_create(eng, dec_only, &b, &err) == TSR_OK);
    CHECK(tsr_vae_decode(a, lat, 16, 1, 2, 2, NULL, sink, &v, &err) == TSR_ERR_MODEL);
    CHECK(strstr(err.message, "no decoder") != NULL);
    vid v2 = {calloc(3 * 16 * 16, sizeof(float)), 1, 16, 16, 0, -1};
    CHECK(tsr_vae_encode(b, 16, 16, source, &v2, NULL, &l, &err) == TSR_ERR_MODEL);
    free(v2.d);
    tsr_vae_destroy(&a), tsr_vae_destroy(&b);
    tsr_model_destroy(&enc_only), tsr_model_destroy(&dec_only);
}

int main(void)
{
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CPU;
    ep.threads = 2;
    REQUIRE(tsr_engine_create(&ep, &eng, &err) == TSR_OK);
    CHECK(strncmp(tsr_engine_description(eng), "cpu", 3) == 0);
    tsr_model *m = small_model(1, 1);
    tsr_vae *vae;
    REQUIRE(tsr_vae_create(eng, m, &vae, &err) == TSR_OK);
    test_decode_streaming(vae);
    test_decode_frame_groups(vae);
    test_composed_upsamplers(vae, m);
    test_encode_streaming(vae);
    test_encode_frame_groups(vae);
    test_latent_streams(vae);
    static const int pad6[9] = {0, 1, 2, 3, 4, 5, 4, 3, 2}, pad2[5] = {0, 1, 1, 1, 1}, pad3[5] = {0, 1, 2, 1, 0};
    test_temporal_padding(vae, 6, pad6, 9);
    test_temporal_padding(vae, 2, pad2, 5);
    test_temporal_padding(vae, 3, pad3, 5);
    test_spatial_padding(vae);
    test_errors(vae);
    tsr_vae_destroy(&vae);
    CHECK(vae == NULL);
    tsr_model_destroy(&m);
    tsr_engine_destroy(&eng);
    return tsr_test_done();
}
