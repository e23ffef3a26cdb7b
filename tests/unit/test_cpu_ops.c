/* Every CPU op against a naive direct implementation (double accumulation) on random data. The naive
 * functions here are the reference the GPU tests can compare against too. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "backend/backend.h"
#include "tsr_test.h"

static uint64_t rng = 0x1234567887654321ull;
static float frand(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) / 16777216.0 * 2.0 - 1.0);
}
static float *rand_buf(size_t n)
{
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}
static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static tsr_backend *be;
static tsr_error err;

static tsr_act upload(const float *x, int c, int t, int h, int w)
{
    tsr_act a;
    REQUIRE(be->ops->act_alloc(be, c, t, h, w, &a, &err) == TSR_OK);
    REQUIRE(be->ops->act_upload(be, &a, x, &err) == TSR_OK);
    return a;
}
static float *download(tsr_act *a)
{
    float *p = malloc((size_t)a->c * a->t * a->h * a->w * sizeof(float));
    REQUIRE(be->ops->act_download(be, a, p, &err) == TSR_OK);
    return p;
}

/* Naive causal conv (first chunk: kt-1 copies of frame 0 in front; kt = 1: none). */
static void naive_conv(const tsr_conv_desc *d, const float *x, int t, int h, int w, const float *wt, const float *b,
                       float *y, int *to_, int *ho_, int *wo_)
{
    int te = t + d->kt - 1;
    int to = (te - d->kt) / d->st + 1;
    int ho = tsr_conv_out_len(h, d->kh, d->sh, d->pad_top, d->pad_bottom);
    int wo = tsr_conv_out_len(w, d->kw, d->sw, d->pad_left, d->pad_right);
    for (int co = 0; co < d->cout; co++)
        for (int ot = 0; ot < to; ot++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double s = b ? b[co] : 0;
                    for (int ci = 0; ci < d->cin; ci++)
                        for (int kt = 0; kt < d->kt; kt++)
                            for (int ky = 0; ky < d->kh; ky++)
                                for (int kx = 0; kx < d->kw; kx++) {
                                    int ft = ot * d->st + kt - (d->kt - 1);
                                    if (ft < 0) ft = 0;
                                    int iy = oy * d->sh - d->pad_top + ky, ix = ox * d->sw - d->pad_left + kx;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    s += (double)wt[(((co * d->cin + ci) * d->kt + kt) * d->kh + ky) * d->kw + kx] *
                                         x[((ci * t + ft) * h + iy) * w + ix];
                                }
                    y[((co * to + ot) * ho + oy) * wo + ox] = (float)s;
                }
    *to_ = to, *ho_ = ho, *wo_ = wo;
}

static void naive_gn(const float *x, int c, int t, int hw, int groups, const float *g, const float *b, int silu,
                     float *y)
{
    int cpg = c / groups;
    for (int f = 0; f < t; f++)
        for (int gr = 0; gr < groups; gr++) {
            double s = 0, q = 0, n = (double)cpg * hw;
            for (int ch = gr * cpg; ch < (gr + 1) * cpg; ch++)
                for (int p = 0; p < hw; p++) s += x[(ch * t + f) * hw + p];
            double m = s / n;
            for (int ch = gr * cpg; ch < (gr + 1) * cpg; ch++)
                for (int p = 0; p < hw; p++) q += pow(x[(ch * t + f) * hw + p] - m, 2);
            double r = 1 / sqrt(q / n + 1e-6);
            for (int ch = gr * cpg; ch < (gr + 1) * cpg; ch++)
                for (int p = 0; p < hw; p++) {
                    double v = (x[(ch * t + f) * hw + p] - m) * r * g[ch] + b[ch];
                    y[(ch * t + f) * hw + p] = (float)(silu ? v / (1 + exp(-v)) : v);
                }
        }
}

static void test_conv(int cin, int cout, int kt, int k, int st, int ss, int p0, int p1, int t, int h, int w)
{
    tsr_conv_desc d = {cin, cout, kt, k, k, st, ss, ss, p0, p1, p0, p1, kt > 1, TSR_LP_DEFAULT, "test"};
    size_t nw = (size_t)cout * cin * kt * k * k;
    float *wt = rand_buf(nw), *b = rand_buf((size_t)cout), *x = rand_buf((size_t)cin * t * h * w);
    float *ref = malloc((size_t)cout * t * h * w * sizeof(float));
    int to, ho, wo;
    naive_conv(&d, x, t, h, w, wt, b, ref, &to, &ho, &wo);
    tsr_wt *cw;
    tsr_state *s = NULL;
    REQUIRE(be->ops->conv_upload(be, &d, wt, b, &cw, &err) == TSR_OK);
    if (kt > 1) REQUIRE(be->ops->state_create(be, &d, h, w, &s, &err) == TSR_OK);
    tsr_act in = upload(x, cin, t, h, w), out = {0};
    REQUIRE(be->ops->conv3d(be, cw, &in, s, NULL, 0, NULL, &out, &err) == TSR_OK);
    CHECK(out.c == cout && out.t == to && out.h == ho && out.w == wo);
    float *y = download(&out);
    double md = max_diff(y, ref, (size_t)cout * to * ho * wo);
    CHECKF(md < 1e-4, "conv %dx%d k%d/%d s%d/%d T%d %dx%d: max diff %g", cin, cout, kt, k, st, ss, t, h, w, md);
    be->ops->act_free(be, &in);
    be->ops->act_free(be, &out);
    be->ops->state_free(be, s);
    be->ops->wt_free(be, cw);
    free(wt), free(b), free(x), free(ref), free(y);
}

/* Streaming: chunks of `chunk` frames with the state equal the whole sequence. */
static void test_conv_stream(int kt, int st, int t, int chunk)
{
    int cin = 6, cout = 5, h = 7, w = 11;
    tsr_conv_desc d = {cin, cout, kt, 3, 3, st, 1, 1, 1, 1, 1, 1, 1, TSR_LP_DEFAULT, "stream"};
    float *wt = rand_buf((size_t)cout * cin * kt * 9), *b = rand_buf((size_t)cout);
    float *x = rand_buf((size_t)cin * t * h * w);
    float *ref = malloc((size_t)cout * t * h * w * sizeof(float));
    int to, ho, wo;
    naive_conv(&d, x, t, h, w, wt, b, ref, &to, &ho, &wo);
    tsr_wt *cw;
    tsr_state *s;
    REQUIRE(be->ops->conv_upload(be, &d, wt, b, &cw, &err) == TSR_OK);
    REQUIRE(be->ops->state_create(be, &d, h, w, &s, &err) == TSR_OK);
    int done = 0, got = 0;
    double md = 0;
    while (done < t) {
        int n = done == 0 ? (st == 2 ? 1 + chunk : chunk) : chunk;
        if (n > t - done) n = t - done;
        float *xc = malloc((size_t)cin * n * h * w * sizeof(float));
        for (int c = 0; c < cin; c++)
            memcpy(xc + (size_t)c * n * h * w, x + ((size_t)c * t + done) * h * w, (size_t)n * h * w * sizeof(float));
        tsr_act in = upload(xc, cin, n, h, w), out = {0};
        REQUIRE(be->ops->conv3d(be, cw, &in, s, NULL, 0, NULL, &out, &err) == TSR_OK);
        float *y = download(&out);
        for (int c = 0; c < cout; c++)
            for (int f = 0; f < out.t; f++)
                for (int p = 0; p < h * w; p++)
                    md = fmax(md, fabs(y[((size_t)c * out.t + f) * h * w + p] - ref[((size_t)c * to + got + f) * h * w + p]));
        got += out.t;
        done += n;
        be->ops->act_free(be, &in);
        be->ops->act_free(be, &out);
        free(xc), free(y);
    }
    CHECKF(got == to, "stream kt%d st%d: %d frames, expected %d", kt, st, got, to);
    CHECKF(md < 1e-4, "stream kt%d st%d T%d chunk %d: max diff %g", kt, st, t, chunk, md);
    be->ops->state_free(be, s);
    be->ops->wt_free(be, cw);
    free(wt), free(b), free(x), free(ref);
}

static void test_group_norm_and_fused(void)
{
    int c = 64, t = 3, h = 5, w = 6, hw = h * w;
    float *x = rand_buf((size_t)c * t * hw), *g = rand_buf((size_t)c), *b = rand_buf((size_t)c);
    for (size_t i = 0; i < (size_t)c * t * hw; i++) x[i] = x[i] * 3 + 0.5f; /* offset mean */
    float *ref = malloc((size_t)c * t * hw * sizeof(float));
    tsr_wt *nw;
    REQUIRE(be->ops->norm_upload(be, c, 32, 1e-6f, g, b, &nw, &err) == TSR_OK);
    tsr_act in = upload(x, c, t, h, w);
    for (int silu = 0; silu < 2; silu++) {
        naive_gn(x, c, t, hw, 32, g, b, silu, ref);
        tsr_act out = {0};
        REQUIRE(be->ops->group_norm(be, nw, &in, silu, &out, &err) == TSR_OK);
        float *y = download(&out);
        double md = max_diff(y, ref, (size_t)c * t * hw);
        CHECKF(md < 1e-5, "group_norm silu=%d: max diff %g", silu, md);
        be->ops->act_free(be, &out);
        free(y);
    }
    /* fused prologue + residual: conv(silu(gn(x))) + r */
    tsr_conv_desc d = {c, 8, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, TSR_LP_DEFAULT, "fused"};
    float *wt = rand_buf((size_t)8 * c * 27), *cb = rand_buf(8), *r = rand_buf((size_t)8 * t * hw);
    float *cref = malloc((size_t)8 * t * hw * sizeof(float));
    int to, ho, wo;
    naive_conv(&d, ref, t, h, w, wt, cb, cref, &to, &ho, &wo);
    for (size_t i = 0; i < (size_t)8 * t * hw; i++) cref[i] += r[i];
    tsr_wt *cw;
    tsr_state *s;
    REQUIRE(be->ops->conv_upload(be, &d, wt, cb, &cw, &err) == TSR_OK);
    REQUIRE(be->ops->state_create(be, &d, h, w, &s, &err) == TSR_OK);
    tsr_act ra = upload(r, 8, t, h, w), out = {0};
    REQUIRE(be->ops->conv3d(be, cw, &in, s, nw, 1, &ra, &out, &err) == TSR_OK);
    float *y = download(&out);
    double md = max_diff(y, cref, (size_t)8 * t * hw);
    CHECKF(md < 1e-4, "fused gn+silu+conv+residual: max diff %g", md);
    be->ops->act_free(be, &in), be->ops->act_free(be, &ra), be->ops->act_free(be, &out);
    be->ops->wt_free(be, nw), be->ops->wt_free(be, cw), be->ops->state_free(be, s);
    free(x), free(g), free(b), free(ref), free(wt), free(cb), free(r), free(cref), free(y);
}

static void naive_linear(const float *wt, const float *b, const float *x, int c, int n, double *y)
{
    for (int o = 0; o < c; o++)
        for (int j = 0; j < n; j++) {
            double s = b[o];
            for (int i = 0; i < c; i++) s += (double)wt[o * c + i] * x[i * n + j];
            y[o * n + j] = s;
        }
}

static void test_attention(int c, int t, int h, int w)
{
    int n = h * w;
    float *x = rand_buf((size_t)c * t * n), *g = rand_buf((size_t)c), *b = rand_buf((size_t)c);
    float *lw[4], *lb[4];
    for (int i = 0; i < 4; i++) {
        lw[i] = rand_buf((size_t)c * c), lb[i] = rand_buf((size_t)c);
        for (int j = 0; j < c * c; j++) lw[i][j] *= 0.2f; /* fan-in scale, like the real model */
    }
    tsr_wt *nw, *aw;
    REQUIRE(be->ops->norm_upload(be, c, 32, 1e-6f, g, b, &nw, &err) == TSR_OK);
    const float *q[2] = {lw[0], lb[0]}, *k[2] = {lw[1], lb[1]}, *v[2] = {lw[2], lb[2]}, *o[2] = {lw[3], lb[3]};
    REQUIRE(be->ops->attn_upload(be, c, nw, q, k, v, o, &aw, &err) == TSR_OK);
    tsr_act in = upload(x, c, t, h, w), out = {0};
    REQUIRE(be->ops->attention(be, aw, &in, &out, &err) == TSR_OK);
    float *y = download(&out);
    float *u = malloc((size_t)c * t * n * sizeof(float)), *uf = malloc((size_t)c * n * sizeof(float));
    naive_gn(x, c, t, n, 32, g, b, 0, u);
    double *Q = malloc(sizeof(double) * c * n * 5), *K = Q + c * n, *V = K + c * n, *O = V + c * n, *Y = O + c * n;
    double md = 0;
    for (int f = 0; f < t; f++) {
        for (int ch = 0; ch < c; ch++) memcpy(uf + ch * n, u + (ch * t + f) * n, n * sizeof(float));
        naive_linear(lw[0], lb[0], uf, c, n, Q), naive_linear(lw[1], lb[1], uf, c, n, K);
        naive_linear(lw[2], lb[2], uf, c, n, V);
        for (int i = 0; i < n; i++) {
            double *sc = malloc(sizeof(double) * n), mx = -1e300, sum = 0;
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int ch = 0; ch < c; ch++) s += Q[ch * n + i] * K[ch * n + j];
                sc[j] = s / sqrt((double)c);
                mx = fmax(mx, sc[j]);
            }
            for (int j = 0; j < n; j++) sum += sc[j] = exp(sc[j] - mx);
            for (int ch = 0; ch < c; ch++) {
                double s = 0;
                for (int j = 0; j < n; j++) s += sc[j] / sum * V[ch * n + j];
                O[ch * n + i] = s;
            }
            free(sc);
        }
        for (int ch = 0; ch < c; ch++)
            for (int j = 0; j < n; j++) {
                double s = lb[3][ch];
                for (int i = 0; i < c; i++) s += (double)lw[3][ch * c + i] * O[i * n + j];
                Y[ch * n + j] = s + x[(ch * t + f) * n + j];
                md = fmax(md, fabs(Y[ch * n + j] - y[(ch * t + f) * n + j]));
            }
    }
    CHECKF(md < 1e-4, "attention: max diff %g", md);
    be->ops->act_free(be, &in), be->ops->act_free(be, &out);
    be->ops->wt_free(be, nw), be->ops->wt_free(be, aw);
    for (int i = 0; i < 4; i++) free(lw[i]), free(lb[i]);
    free(x), free(g), free(b), free(y), free(u), free(uf), free(Q);
}

static void test_depth_to_space(int rt, int drop)
{
    int C = 3, rs = 2, t = 3, h = 2, w = 4, cin = C * rs * rs * rt;
    float *x = rand_buf((size_t)cin * t * h * w);
    tsr_act in = upload(x, cin, t, h, w), out = {0};
    REQUIRE(be->ops->depth_to_space(be, &in, rt, rs, drop, &out, &err) == TSR_OK);
    int tout = t * rt - (drop && rt == 2);
    CHECK(out.c == C && out.t == tout && out.h == h * rs && out.w == w * rs);
    float *y = download(&out);
    int bad = 0;
    for (int i = 0; i < rs; i++)
        for (int j = 0; j < rs; j++)
            for (int k = 0; k < rt; k++)
                for (int c = 0; c < C; c++)
                    for (int f = 0; f < t; f++)
                        for (int yy = 0; yy < h; yy++)
                            for (int xx = 0; xx < w; xx++) {
                                int ch = ((i * 2 + j) * rt + k) * C + c, to = f * rt + k;
                                if (drop && rt == 2) {
                                    if (to == 1) continue;
                                    if (to > 1) to--;
                                }
                                float want = x[((ch * t + f) * h + yy) * w + xx];
                                float got = y[((c * tout + to) * h * rs + yy * 2 + i) * w * rs + xx * 2 + j];
                                bad += want != got;
                            }
    CHECKF(bad == 0, "depth_to_space rt=%d drop=%d: %d wrong", rt, drop, bad);
    be->ops->act_free(be, &in), be->ops->act_free(be, &out);
    free(x), free(y);
}

static void test_add(void)
{
    float *a = rand_buf(60), *b = rand_buf(60);
    tsr_act x = upload(a, 3, 2, 2, 5), y = upload(b, 3, 2, 2, 5), o = {0};
    REQUIRE(be->ops->add(be, &x, &y, &o, &err) == TSR_OK);
    float *r = download(&o);
    int bad = 0;
    for (int i = 0; i < 60; i++) bad += r[i] != a[i] + b[i];
    CHECK(bad == 0);
    be->ops->act_free(be, &x), be->ops->act_free(be, &y), be->ops->act_free(be, &o);
    free(a), free(b), free(r);
}

/* act_upload_frames: frame pointers (a repeat: mirrored padding) placed top-left, the rest `fill`; the
 * download ops: a ticketed download equals the synchronous one, a wrong ticket is refused. */
static void test_transfers(void)
{
    int c = 3, n = 3, h = 2, w = 3, H = 4, W = 5;
    float *f0 = rand_buf((size_t)c * h * w), *f1 = rand_buf((size_t)c * h * w);
    const float *frames[3] = {f0, f1, f0};
    tsr_act a;
    REQUIRE(be->ops->act_alloc(be, c, n, H, W, &a, &err) == TSR_OK);
    REQUIRE(be->ops->act_upload_frames(be, &a, frames, n, h, w, -1.0f, &err) == TSR_OK);
    float *got = download(&a);
    int bad = 0;
    for (int ch = 0; ch < c; ch++)
        for (int f = 0; f < n; f++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    float want = y < h && x < w ? frames[f][((size_t)ch * h + y) * w + x] : -1.0f;
                    bad += got[(((size_t)ch * n + f) * H + y) * W + x] != want;
                }
    CHECKF(bad == 0, "act_upload_frames: %d values wrong", bad);
    CHECK(be->ops->act_upload_frames(be, &a, frames, n, H + 1, w, -1.0f, &err) == TSR_ERR_INVALID_ARG);
    CHECK(be->ops->act_upload_frames(be, &a, frames, n - 1, h, w, -1.0f, &err) == TSR_ERR_INVALID_ARG);
    float *async = malloc((size_t)c * n * H * W * sizeof(float));
    int ticket = -1;
    REQUIRE(be->ops->act_download_start(be, &a, async, &ticket, &err) == TSR_OK);
    CHECK(be->ops->download_wait(be, ticket + 1, &err) == TSR_ERR_INVALID_ARG);
    REQUIRE(be->ops->download_wait(be, ticket, &err) == TSR_OK);
    CHECK(memcmp(async, got, (size_t)c * n * H * W * sizeof(float)) == 0);
    tsr_engine_stats st;
    be->ops->stats(be, &st, 0);
    CHECK(st.mem_peak > 0 && st.device_free_low == 0 && !st.profiled);
    be->ops->act_free(be, &a);
    free(f0), free(f1), free(got), free(async);
}

int main(void)
{
    tsr_backend_params p = {.threads = 2};
    REQUIRE(tsr_cpu_backend_create(&p, &be, &err) == TSR_OK);
    test_conv(5, 7, 3, 3, 1, 1, 1, 1, 4, 5, 9);     /* causal 3x3x3, one tile */
    test_conv(4, 13, 3, 3, 1, 1, 1, 1, 2, 12, 13);  /* several pixel tiles, ragged channel panels */
    test_conv(20, 3, 3, 3, 1, 1, 1, 1, 3, 9, 20);   /* conv_out-like: cout 3 */
    test_conv(6, 6, 3, 3, 2, 2, 0, 1, 5, 8, 10);    /* temporal downsampler: stride 2, pad r/b */
    test_conv(6, 6, 1, 3, 1, 2, 0, 1, 3, 8, 10);    /* spatial downsampler 1x3x3 stride 2 */
    test_conv(9, 17, 1, 1, 1, 1, 0, 0, 2, 3, 5);    /* 1x1x1 shortcut / upscale conv */
    test_conv(700, 8, 3, 3, 1, 1, 1, 1, 1, 3, 4);   /* several input-channel panels */
    test_conv_stream(3, 1, 7, 1);
    test_conv_stream(3, 1, 7, 2);
    test_conv_stream(3, 1, 7, 3);
    test_conv_stream(3, 2, 9, 4);
    test_conv_stream(3, 2, 9, 2);
    test_group_norm_and_fused();
    test_attention(64, 2, 5, 7);
    test_attention(32, 1, 15, 21); /* several key and query blocks */
    test_depth_to_space(2, 1);
    test_depth_to_space(2, 0);
    test_depth_to_space(1, 0);
    test_add();
    test_transfers();
    be->ops->destroy(be);
    return tsr_test_done();
}
