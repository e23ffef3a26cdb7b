/* Every CUDA op against a plain fp32 reference on fresh random inputs (relative RMS within bf16 rounding).
 * Exits 77 when no GPU or driver is present. TSR_BENCH=1 also times a 512-channel 3x3x3 conv, TSR_BENCH=gn the
 * GroupNorm pass against the add op's copy rate, TSR_BENCH=wg (alone) the Hopper wg conv against cuDNN. */
#include <math.h>
#include <stdint.h>

#include <string.h>

#include "backend/backend.h"
#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/cudnn.h"
#include "core/common.h"
#include "core/half.h"
#include "tsr_test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2.f - 1.f;
}
static float *rnd(size_t n, float scale)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = frand() * scale;
    return v;
}
static float silu(float x) { return x / (1.f + expf(-x)); }
static float bf16_round(float f) /* what the device stores (nearest even) */
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    memcpy(&f, &u, 4);
    return f;
}

static tsr_backend *be;
static tsr_error err;
#define OK(x) REQUIRE_OK(x, #x)
static void REQUIRE_OK(tsr_status s, const char *what)
{
    if (s) {
        fprintf(stderr, "%s: %s: %s\n", what, tsr_status_name(s), err.message);
        exit(1);
    }
}

/* reference GroupNorm (per frame), x [c][t][hw] -> y */
static void ref_gn(const float *x, int c, int t, int hw, int groups, const float *g, const float *b, int act, float *y)
    /* groups: channels / group count (every caller but gn_case uses 32) */
{
    int cg = c / groups;
    for (int f = 0; f < t; f++)
        for (int gr = 0; gr < groups; gr++) {
            double s = 0, s2 = 0;
            for (int ch = gr * cg; ch < (gr + 1) * cg; ch++)
                for (int i = 0; i < hw; i++) {
                    double v = x[((size_t)ch * t + f) * hw + i];
                    s += v, s2 += v * v;
                }
            double n = (double)cg * hw, mean = s / n, var = s2 / n - mean * mean;
            double rstd = 1.0 / sqrt(var + 1e-6);
            for (int ch = gr * cg; ch < (gr + 1) * cg; ch++)
                for (int i = 0; i < hw; i++) {
                    size_t k = ((size_t)ch * t + f) * hw + i;
                    float v = (float)((x[k] - mean) * rstd) * g[ch] + b[ch];
                    y[k] = act ? silu(v) : v;
                }
        }
}

/* reference causal conv over a pre-extended input xe [cin][te][h][w] */
static void ref_conv(const tsr_conv_desc *d, const float *xe, int te, int h, int w, const float *wt, const float *bias,
                     float *y, int *to_, int *ho_, int *wo_)
{
    int to = tsr_conv_out_len(te, d->kt, d->st, 0, 0), ho = tsr_conv_out_len(h, d->kh, d->sh, d->pad_top, d->pad_bottom);
    int wo = tsr_conv_out_len(w, d->kw, d->sw, d->pad_left, d->pad_right);
    for (int co = 0; co < d->cout; co++)
        for (int t = 0; t < to; t++)
            for (int y0 = 0; y0 < ho; y0++)
                for (int x0 = 0; x0 < wo; x0++) {
                    double acc = bias ? bias[co] : 0;
                    for (int ci = 0; ci < d->cin; ci++)
                        for (int a = 0; a < d->kt; a++)
                            for (int b = 0; b < d->kh; b++)
                                for (int c = 0; c < d->kw; c++) {
                                    int ti = t * d->st + a, yi = y0 * d->sh - d->pad_top + b, xi = x0 * d->sw - d->pad_left + c;
                                    if (yi < 0 || yi >= h || xi < 0 || xi >= w) continue;
                                    acc += (double)wt[((((size_t)co * d->cin + ci) * d->kt + a) * d->kh + b) * d->kw + c] *
                                           xe[(((size_t)ci * te + ti) * h + yi) * w + xi];
                                }
                    y[(((size_t)co * to + t) * ho + y0) * wo + x0] = (float)acc;
                }
    *to_ = to, *ho_ = ho, *wo_ = wo;
}

static float *upload_new(int c, int t, int h, int w, const float *host, tsr_act *a)
{
    OK(be->ops->act_alloc(be, c, t, h, w, a, &err));
    OK(be->ops->act_upload(be, a, host, &err));
    return NULL;
}
static float *download(const tsr_act *a)
{
    float *v = malloc(sizeof(float) * (size_t)a->c * a->t * a->h * a->w);
    OK(be->ops->act_download(be, a, v, &err));
    return v;
}

/* One conv case: whole clip (and, for causal convs, the same clip in chunks) against the reference. */
static void conv_case(const char *name, int cin, int cout, int k3, int kt, int st, int s, int pt, int pb, int t, int h,
                      int w, int norm, int resid, const int *chunks)
{
    tsr_conv_desc d = {cin, cout, kt, k3, k3, st, s, s, pt, pb, pt, pb, kt > 1, TSR_LP_DEFAULT, name};
    size_t nin = (size_t)cin * t * h * w, nw = (size_t)cout * cin * kt * k3 * k3;
    float *x = rnd(nin, 1.f), *wt = rnd(nw, 1.f / sqrtf((float)cin * kt * k3 * k3)), *bias = rnd(cout, 0.5f);
    float *gam = rnd(cin, 0.5f), *bet = rnd(cin, 0.5f);
    for (int i = 0; i < cin; i++) gam[i] += 1.f;
    float *xn = malloc(nin * sizeof *xn);
    if (norm) ref_gn(x, cin, t, h * w, 32, gam, bet, 1, xn);
    else memcpy(xn, x, nin * sizeof *xn);
    int pre = kt > 1 ? kt - 1 : 0, te = t + pre, to, ho, wo;
    float *xe = malloc(sizeof(float) * cin * te * h * w);
    for (int c = 0; c < cin; c++)
        for (int f = 0; f < te; f++)
            memcpy(xe + ((size_t)c * te + f) * h * w, xn + ((size_t)c * t + (f < pre ? 0 : f - pre)) * h * w,
                   sizeof(float) * h * w);
    float *ref = malloc(sizeof(float) * cout * (te) * h * w);
    ref_conv(&d, xe, te, h, w, wt, bias, ref, &to, &ho, &wo);
    size_t nout = (size_t)cout * to * ho * wo;
    float *res = rnd(nout, 1.f);
    if (resid)
        for (size_t i = 0; i < nout; i++) ref[i] += res[i];

    tsr_wt *cw = NULL, *nw_ = NULL;
    OK(be->ops->conv_upload(be, &d, wt, bias, &cw, &err));
    if (norm) OK(be->ops->norm_upload(be, cin, 32, 1e-6f, gam, bet, &nw_, &err));
    tsr_state *state = NULL;
    if (kt > 1) OK(be->ops->state_create(be, &d, h, w, &state, &err));
    tsr_act in, out = {0}, ra = {0};
    upload_new(cin, t, h, w, x, &in);
    if (resid) upload_new(cout, to, ho, wo, res, &ra);
    OK(be->ops->conv3d(be, cw, &in, state, nw_, 1, resid ? &ra : NULL, &out, &err));
    CHECKF(out.t == to && out.h == ho && out.w == wo, "%s: output %dx%dx%d, want %dx%dx%d", name, out.t, out.h, out.w, to, ho, wo);
    float *got = download(&out);
    double e = tsr_test_rel_rms(got, ref, nout);
    fprintf(stderr, "conv %-28s rel rms %.5f\n", name, e);
    CHECKF(e < 0.012, "%s: rel rms %.5f", name, e);
    free(got);
    be->ops->act_free(be, &out);

    if (chunks && kt > 1 && !resid) { /* streamed: chunks of input frames with the state carried across */
        be->ops->state_reset(be, state);
        float *acc = calloc(nout, sizeof *acc);
        int t0 = 0, o0 = 0;
        for (int ci = 0; chunks[ci] && t0 < t; ci++) {
            int tc = chunks[ci];
            float *xc = malloc(sizeof(float) * cin * tc * h * w);
            for (int c = 0; c < cin; c++)
                memcpy(xc + (size_t)c * tc * h * w, x + ((size_t)c * t + t0) * h * w, sizeof(float) * tc * h * w);
            tsr_act ic, oc = {0};
            upload_new(cin, tc, h, w, xc, &ic);
            OK(be->ops->conv3d(be, cw, &ic, state, nw_, 1, NULL, &oc, &err));
            float *g = download(&oc);
            for (int c = 0; c < cout; c++)
                for (int f = 0; f < oc.t && o0 + f < to; f++)
                    memcpy(acc + ((size_t)c * to + o0 + f) * ho * wo, g + ((size_t)c * oc.t + f) * ho * wo,
                           sizeof(float) * ho * wo);
            o0 += oc.t, t0 += tc;
            free(g), free(xc);
            be->ops->act_free(be, &ic);
            be->ops->act_free(be, &oc);
        }
        CHECKF(o0 == to, "%s chunked: %d frames, want %d", name, o0, to);
        double ec = tsr_test_rel_rms(acc, ref, nout);
        fprintf(stderr, "conv %-28s chunked rel rms %.5f\n", name, ec);
        CHECKF(ec < 0.012, "%s chunked: rel rms %.5f", name, ec);
        free(acc);
    }
    be->ops->act_free(be, &in);
    be->ops->act_free(be, &ra);
    be->ops->state_free(be, state);
    be->ops->wt_free(be, cw);
    be->ops->wt_free(be, nw_);
    free(x), free(wt), free(bias), free(gam), free(bet), free(xn), free(xe), free(ref), free(res);
}

/* offset: a common mean far from 0 (tests the shifted sums); groups: 32 or another divisor of c */
static void gn_case(int c, int t, int h, int w, int act, int groups, float offset)
{
    size_t n = (size_t)c * t * h * w;
    float *x = rnd(n, 2.f), *g = rnd(c, 1.f), *b = rnd(c, 1.f), *ref = malloc(n * 4);
    /* per-channel means around `offset`; rounded to bf16 as the device stores them, so that the reference sees the
     * same input (at |x| ~ 40 the bf16 step is 0.25, a large part of the spread) */
    for (size_t i = 0; i < n; i++) x[i] = bf16_round(x[i] + offset + 0.3f * (float)((i / ((size_t)t * h * w)) % 5));
    ref_gn(x, c, t, h * w, groups, g, b, act, ref);
    tsr_wt *nw = NULL;
    OK(be->ops->norm_upload(be, c, groups, 1e-6f, g, b, &nw, &err));
    tsr_act in, out = {0};
    upload_new(c, t, h, w, x, &in);
    OK(be->ops->group_norm(be, nw, &in, act, &out, &err));
    float *got = download(&out);
    double e = tsr_test_rel_rms(got, ref, n);
    fprintf(stderr, "group_norm c=%d groups=%d %dx%dx%d offset %.0f silu=%d rel rms %.5f\n", c, groups, t, h, w, offset,
            act, e);
    CHECKF(e < 0.01, "group_norm c=%d: %.5f", c, e);
    be->ops->act_free(be, &in), be->ops->act_free(be, &out), be->ops->wt_free(be, nw);
    free(x), free(g), free(b), free(ref), free(got);
}

/* Bandwidth of the GroupNorm(+SiLU) pass (stats read + apply read + write = 3 x the tensor) against the add op
 * (2 reads + 1 write, the plain copy rate of this kernel style), on a full-resolution 128-channel chunk. */
static void bench_gn(int c, int t, int h, int w, int reps)
{
    float *g = rnd(c, 1.f), *b = rnd(c, 1.f);
    tsr_wt *nw = NULL;
    OK(be->ops->norm_upload(be, c, 32, 1e-6f, g, b, &nw, &err));
    tsr_act in, out = {0}, sum = {0};
    OK(be->ops->act_alloc(be, c, t, h, w, &in, &err));
    double bytes = 3.0 * c * t * (double)h * w * 2;
    for (int pass = 0; pass < 2; pass++) {
        OK(be->ops->sync(be, &err));
        double t0 = tsr_now();
        for (int r = 0; r < reps; r++) OK(be->ops->group_norm(be, nw, &in, 1, &out, &err));
        OK(be->ops->sync(be, &err));
        double dgn = (tsr_now() - t0) / reps;
        t0 = tsr_now();
        for (int r = 0; r < reps; r++) OK(be->ops->add(be, &in, &in, &sum, &err));
        OK(be->ops->sync(be, &err));
        double dadd = (tsr_now() - t0) / reps;
        if (pass)
            printf("BENCH groupnorm+silu %dx%dx%dx%d: %.3f ms, %.0f GB/s (3 passes of %.0f MB); add: %.3f ms, %.0f GB/s\n", c,
                   t, h, w, dgn * 1e3, bytes / dgn / 1e9, bytes / 3e6, dadd * 1e3, bytes / dadd / 1e9);
    }
    be->ops->act_free(be, &in), be->ops->act_free(be, &out), be->ops->act_free(be, &sum), be->ops->wt_free(be, nw);
    free(g), free(b);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Remembered cuDNN plan choices: the text format (parser errors are clear, lines of other devices ignored, export
 * returns what was imported) and the cache file across two backends (the second start imports the winners, runs
 * the same conv correctly and has nothing new to write). */
static void plan_cache_case(tsr_backend_params *p)
{
    tsr_cudnn *dnn = NULL;
    tsr_error e;
    if (tsr_cudnn_open(NULL, &dnn, &e) != TSR_OK) {
        fprintf(stderr, "plan cache: no cuDNN here (%s): not exercised\n", e.message);
        return;
    }
    tsr_cudnn_set_device(dnn, "Test GPU", 9, 0);
    char good[1024];
    snprintf(good, sizeof good,
             "tessera-cudnn-plans 2\nTest_GPU/sm_90 %zu 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 0 3 2 17 0.5000 2 3 1 5 64\n"
             "Other_GPU/sm_89 %zu 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 0 3 0 1 0.1000 0\n",
             tsr_cudnn_version(dnn), tsr_cudnn_version(dnn));
    int n = -1;
    CHECK(tsr_cudnn_choices_import(dnn, good, &n, &e) == TSR_OK && n == 1);
    char *text = tsr_cudnn_choices_export(dnn);
    CHECKF(text && strstr(text, "Test_GPU/sm_90") && strstr(text, " 0.5000 2 3 1 5 64\n") && !strstr(text, "Other_GPU"),
           "export: %s", text ? text : "NULL");
    free(text);
    static const char *const bad[] = {"hello\n", "tessera-cudnn-plans 2\nTest_GPU/sm_90 1 2 3\n",
                                      "tessera-cudnn-plans 2\nTest_GPU/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 0 7 2 17 0.5 0\n",
                                      "tessera-cudnn-plans 2\nTest_GPU/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 0 3 2 17 0.5 0 x\n",
                                      "tessera-cudnn-plans 2\nTest_GPU/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 0 3 2 17 0.5 2 3 1\n",
                                      "tessera-cudnn-plans 2\nTest_GPU/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 0 3 2 17 0.5 1 99 1\n",
                                      "tessera-cudnn-plans 2\nTest_GPU/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 0 3 2 17 0.5\n"};
    for (size_t i = 0; i < TSR_ARRAY_LEN(bad); i++) {
        tsr_status st = tsr_cudnn_choices_import(dnn, bad[i], &n, &e);
        CHECKF(st == TSR_ERR_FORMAT && e.message[0], "bad plan text %zu accepted", i);
        fprintf(stderr, "plan text %zu: %s\n", i, e.message);
    }
    /* an older build's text (no knobs): nothing imported, no error, and the choices are to be rewritten */
    n = -1;
    CHECK(tsr_cudnn_choices_import(dnn, "tessera-cudnn-plans 1\nTest_GPU/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 0 3 2 17 0.5\n",
                                   &n, &e) == TSR_OK && n == 0 && tsr_cudnn_choices_changed(dnn));
    tsr_cudnn_close(&dnn);

    const char *path = "test_cuda_ops-cudnn-plans.txt";
    remove(path);
    tsr_test_setenv("TSR_CUDNN_CACHE", path);
    tsr_test_setenv("TSR_CUDNN_PLANS", "3");
    char *runs[3] = {0};
    for (int run = 0; run < 3; run++) {
        if (run == 2) { /* a damaged file: a warning, the plans are timed again and the file rewritten */
            FILE *f = fopen(path, "wb");
            fputs("tessera-cudnn-plans 2\ngarbage\n", f);
            fclose(f);
        }
        be->ops->destroy(be);
        OK(tsr_cuda_backend_create(p, &be, &err));
        conv_case("plan cache 3x3x3 64->64 res", 64, 64, 3, 3, 1, 1, 1, 1, 3, 8, 12, 0, 1, NULL);
        be->ops->destroy(be);
        OK(tsr_cuda_backend_create(p, &be, &err));
        runs[run] = read_text(path);
    }
    CHECKF(runs[0] && !strncmp(runs[0], "tessera-cudnn-plans 2\n", 22) && strchr(runs[0] + 22, '\n'),
           "no plan choice written: %s", runs[0] ? runs[0] : "(no file)");
    CHECKF(runs[1] && !strcmp(runs[0], runs[1]), "second start changed the choices");
    CHECKF(runs[2] && !strncmp(runs[2], "tessera-cudnn-plans 2\n", 22) && !strstr(runs[2], "garbage"),
           "damaged cache not rewritten");
    fprintf(stderr, "plan cache file:\n%s", runs[0] ? runs[0] : "");
    for (int i = 0; i < 3; i++) free(runs[i]);
    remove(path);
    tsr_test_setenv("TSR_CUDNN_CACHE", NULL);
    tsr_test_setenv("TSR_CUDNN_PLANS", NULL);
}

/* Attention against a double-precision reference on the query rows qi % qstep == 0 (a large frame: the softmax
 * kernels that hold a row in registers, n <= 16384 and n <= 32768, and the three-pass one beyond). */
static void attn_case(int c, int t, int h, int w, int qstep)
{
    int n = h * w;
    size_t tot = (size_t)c * t * n;
    float *x = rnd(tot, 1.f), *g = rnd(c, 0.3f), *b = rnd(c, 0.3f);
    for (int i = 0; i < c; i++) g[i] += 1.f;
    float *wl[4][2];
    for (int i = 0; i < 4; i++) wl[i][0] = rnd((size_t)c * c, 1.5f / sqrtf((float)c)), wl[i][1] = rnd(c, 0.2f);
    float *u = malloc(tot * 4), *ref = malloc(tot * 4);
    ref_gn(x, c, t, n, 32, g, b, 0, u);
    float *qkv[3], *o = malloc(sizeof(float) * n * c), *sc = malloc(sizeof(float) * n);
    for (int i = 0; i < 3; i++) qkv[i] = malloc(sizeof(float) * n * c);
    for (int f = 0; f < t; f++) {
        for (int i = 0; i < 3; i++)
            for (int tk = 0; tk < n; tk++)
                for (int oc = 0; oc < c; oc++) {
                    double a = wl[i][1][oc];
                    for (int ic = 0; ic < c; ic++) a += (double)wl[i][0][(size_t)oc * c + ic] * u[((size_t)ic * t + f) * n + tk];
                    qkv[i][(size_t)tk * c + oc] = (float)a;
                }
        for (int qi = 0; qi < n; qi += qstep) {
            double mx = -1e30, sum = 0;
            for (int kj = 0; kj < n; kj++) {
                double a = 0;
                for (int d = 0; d < c; d++) a += (double)qkv[0][(size_t)qi * c + d] * qkv[1][(size_t)kj * c + d];
                sc[kj] = (float)(a / sqrt((double)c));
                if (sc[kj] > mx) mx = sc[kj];
            }
            for (int kj = 0; kj < n; kj++) sum += (sc[kj] = (float)exp(sc[kj] - mx));
            for (int d = 0; d < c; d++) {
                double a = 0;
                for (int kj = 0; kj < n; kj++) a += sc[kj] * (double)qkv[2][(size_t)kj * c + d];
                o[(size_t)qi * c + d] = (float)(a / sum);
            }
        }
        for (int tk = 0; tk < n; tk += qstep)
            for (int oc = 0; oc < c; oc++) {
                double a = wl[3][1][oc];
                for (int ic = 0; ic < c; ic++) a += (double)wl[3][0][(size_t)oc * c + ic] * o[(size_t)tk * c + ic];
                size_t k = ((size_t)oc * t + f) * n + tk;
                ref[k] = (float)a + x[k];
            }
    }
    tsr_wt *nw = NULL, *aw = NULL;
    OK(be->ops->norm_upload(be, c, 32, 1e-6f, g, b, &nw, &err));
    const float *pq[2] = {wl[0][0], wl[0][1]}, *pk[2] = {wl[1][0], wl[1][1]}, *pv[2] = {wl[2][0], wl[2][1]},
                *po[2] = {wl[3][0], wl[3][1]};
    OK(be->ops->attn_upload(be, c, nw, pq, pk, pv, po, &aw, &err));
    tsr_act in, out = {0};
    upload_new(c, t, h, w, x, &in);
    OK(be->ops->attention(be, aw, &in, &out, &err));
    float *got = download(&out);
    /* compare the attention branch (output minus the residual) so the residual does not hide errors */
    size_t kept = 0;
    for (size_t i = 0; i < tot; i++)
        if ((int)(i % (size_t)n) % qstep == 0) got[kept] = got[i] - x[i], ref[kept] = ref[i] - x[i], kept++;
    double e = tsr_test_rel_rms(got, ref, kept);
    fprintf(stderr, "attention c=%d n=%d (every %d-th query) rel rms (branch) %.5f\n", c, n, qstep, e);
    CHECKF(e < 0.03, "attention: %.5f", e);
    be->ops->act_free(be, &in), be->ops->act_free(be, &out), be->ops->wt_free(be, aw), be->ops->wt_free(be, nw);
    for (int i = 0; i < 4; i++) free(wl[i][0]), free(wl[i][1]);
    for (int i = 0; i < 3; i++) free(qkv[i]);
    free(x), free(g), free(b), free(u), free(ref), free(o), free(sc), free(got);
}

static void d2s_add_case(void)
{
    int c = 16, rt = 2, rs = 2, t = 3, h = 4, w = 5, cin = c * rt * rs * rs;
    size_t n = (size_t)cin * t * h * w;
    float *x = rnd(n, 1.f);
    tsr_act in, out = {0}, sum = {0};
    upload_new(cin, t, h, w, x, &in);
    OK(be->ops->depth_to_space(be, &in, rt, rs, 1, &out, &err));
    CHECK(out.c == c && out.t == 2 * t - 1 && out.h == 2 * h && out.w == 2 * w);
    float *got = download(&out);
    int bad = 0, T = out.t, H = out.h, W = out.w;
    for (int cc = 0; cc < c; cc++)
        for (int to = 0; to < T; to++)
            for (int y = 0; y < H; y++)
                for (int xx = 0; xx < W; xx++) {
                    int tf = to >= 1 ? to + 1 : to, ti = tf / rt, k = tf % rt, i = y % 2, j = xx % 2;
                    int ch = ((i * rs + j) * rt + k) * c + cc;
                    float want = x[(((size_t)ch * t + ti) * h + y / 2) * w + xx / 2];
                    float g = got[(((size_t)cc * T + to) * H + y) * W + xx];
                    if (fabsf(g - want) > 0.01f * fabsf(want) + 1e-6f) bad++;
                }
    CHECKF(bad == 0, "depth_to_space: %d wrong", bad);
    OK(be->ops->add(be, &out, &out, &sum, &err));
    float *s = download(&sum);
    size_t m = (size_t)c * T * H * W;
    int badd = 0;
    for (size_t i = 0; i < m; i++)
        if (fabsf(s[i] - 2 * got[i]) > 1e-6f + 0.01f * fabsf(got[i])) badd++;
    CHECKF(badd == 0, "add: %d wrong", badd);
    fprintf(stderr, "depth_to_space + add: %d / %d wrong\n", bad, badd);
    be->ops->act_free(be, &in), be->ops->act_free(be, &out), be->ops->act_free(be, &sum);
    free(x), free(got), free(s);
}

/* A causal conv cin -> cout, kt x k x k (zero padding 1 on every side; later chunk: state full), t frames of h x w,
 * without and with a GroupNorm + SiLU prologue. */
static void bench_conv_k(int cin, int cout, int kt, int k, int t, int h, int w, int reps, int norms)
{
    tsr_conv_desc d = {cin, cout, kt, k, k, 1, 1, 1, 1, 1, 1, 1, 1, TSR_LP_DEFAULT, "bench"};
    size_t nw = (size_t)cin * cout * kt * k * k;
    float *wt = rnd(nw, 0.02f), *g = rnd(cin, 1.f), *b = rnd(cin, 1.f);
    tsr_wt *cw = NULL, *nrm = NULL;
    OK(be->ops->conv_upload(be, &d, wt, NULL, &cw, &err));
    OK(be->ops->norm_upload(be, cin, 32, 1e-6f, g, b, &nrm, &err));
    tsr_state *s = NULL;
    OK(be->ops->state_create(be, &d, h, w, &s, &err));
    tsr_act in, out = {0};
    OK(be->ops->act_alloc(be, cin, t, h, w, &in, &err));
    for (int pass = 0; pass < 2; pass++) {
        for (int norm = 0; norm < norms; norm++) {
            be->ops->state_reset(be, s); /* a first chunk: the state is full (with or without affines) after it */
            be->ops->act_free(be, &out);
            OK(be->ops->conv3d(be, cw, &in, s, norm ? nrm : NULL, 1, NULL, &out, &err));
            OK(be->ops->sync(be, &err));
            double t0 = tsr_now();
            for (int r = 0; r < reps; r++) {
                be->ops->act_free(be, &out);
                OK(be->ops->conv3d(be, cw, &in, s, norm ? nrm : NULL, 1, NULL, &out, &err));
            }
            OK(be->ops->sync(be, &err));
            double dt = (tsr_now() - t0) / reps;
            double fl = 2.0 * cin * cout * kt * k * k * (double)out.t * out.h * out.w;
            if (pass)
                printf("BENCH conv %dx%dx%d %d->%d in %dx%dx%d norm=%d: %.3f ms  %.0f TFLOP/s\n", kt, k, k, cin, cout, t,
                       h, w, norm, dt * 1e3, fl / dt / 1e12);
        }
    }
    be->ops->act_free(be, &in), be->ops->act_free(be, &out);
    be->ops->state_free(be, s), be->ops->wt_free(be, cw), be->ops->wt_free(be, nrm);
    free(wt), free(g), free(b);
}

/* A shuffle conv (backend.h conv3d: a composed upsampler, vae_upcompose.c) against the CPU backend's, fresh random
 * weights, biases and edge table: a first chunk of t frames, then a later one of 2 (causal state carried). */
static void shuffle_case(int c, int rt, int kt, int t, int h, int w)
{
    tsr_backend *cpu = NULL;
    tsr_backend_params cp = {0};
    cp.threads = 2;
    OK(tsr_cpu_backend_create(&cp, &cpu, &err));
    char name[64];
    snprintf(name, sizeof name, "shuffle rt%d kt%d %d", rt, kt, c);
    tsr_conv_desc d = {c, 4 * rt * c, kt, 2, 2, 1, 1, 1, 1, 1, 1, 1, kt > 1, TSR_LP_DEFAULT, name, rt};
    size_t nw = (size_t)d.cout * c * kt * 4, nb = (size_t)d.cout + (size_t)16 * rt * c;
    float *wt = rnd(nw, 1.f / sqrtf((float)c * kt * 4)), *bias = rnd(nb, 0.5f);
    tsr_wt *gw = NULL, *cw = NULL;
    tsr_state *gs = NULL, *cs = NULL;
    OK(be->ops->conv_upload(be, &d, wt, bias, &gw, &err));
    OK(cpu->ops->conv_upload(cpu, &d, wt, bias, &cw, &err));
    if (kt > 1) OK(be->ops->state_create(be, &d, h, w, &gs, &err)), OK(cpu->ops->state_create(cpu, &d, h, w, &cs, &err));
    for (int chunk = 0; chunk < 2; chunk++) {
        int tc = chunk ? 2 : t;
        size_t nin = (size_t)c * tc * h * w;
        float *x = rnd(nin, 1.f);
        tsr_act gi, ci = {0}, go = {0}, co = {0};
        upload_new(c, tc, h, w, x, &gi);
        OK(cpu->ops->act_alloc(cpu, c, tc, h, w, &ci, &err));
        OK(cpu->ops->act_upload(cpu, &ci, x, &err));
        OK(be->ops->conv3d(be, gw, &gi, gs, NULL, 0, NULL, &go, &err));
        OK(cpu->ops->conv3d(cpu, cw, &ci, cs, NULL, 0, NULL, &co, &err));
        CHECKF(go.c == c && go.t == co.t && go.h == 2 * h && go.w == 2 * w && co.t == tc * rt,
               "%s: output %dx%dx%dx%d, CPU %dx%d", name, go.c, go.t, go.h, go.w, co.c, co.t);
        size_t nout = (size_t)c * co.t * 4 * h * w;
        float *got = download(&go), *want = malloc(nout * sizeof *want);
        OK(cpu->ops->act_download(cpu, &co, want, &err));
        double e = tsr_test_rel_rms(got, want, nout);
        /* the border rows and columns (edge table) on their own */
        double se = 0, sw = 0;
        for (size_t i = 0; i < nout; i++) {
            size_t px = i % ((size_t)4 * h * w);
            int y = (int)(px / (2 * w)), xx = (int)(px % (2 * w));
            if (y && xx && y != 2 * h - 1 && xx != 2 * w - 1) continue;
            se += (got[i] - want[i]) * (got[i] - want[i]), sw += want[i] * want[i];
        }
        double eb = sqrt(se / (sw + 1e-30));
        fprintf(stderr, "conv %-28s chunk %d rel rms %.5f (border %.5f)\n", name, chunk, e, eb);
        CHECKF(e < 0.012 && eb < 0.012, "%s chunk %d: rel rms %.5f, border %.5f", name, chunk, e, eb);
        free(got), free(want), free(x);
        be->ops->act_free(be, &gi), be->ops->act_free(be, &go);
        cpu->ops->act_free(cpu, &ci), cpu->ops->act_free(cpu, &co);
    }
    be->ops->state_free(be, gs), cpu->ops->state_free(cpu, cs);
    be->ops->wt_free(be, gw), cpu->ops->wt_free(cpu, cw);
    cpu->ops->destroy(cpu);
    free(wt), free(bias);
}

static void bench_conv(int c, int t, int h, int w, int reps)
{
    tsr_conv_desc d = {c, c, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, TSR_LP_DEFAULT, "bench"};
    size_t nw = (size_t)c * c * 27;
    float *wt = rnd(nw, 0.02f), *g = rnd(c, 1.f), *b = rnd(c, 1.f);
    tsr_wt *cw = NULL, *nrm = NULL;
    OK(be->ops->conv_upload(be, &d, wt, NULL, &cw, &err));
    OK(be->ops->norm_upload(be, c, 32, 1e-6f, g, b, &nrm, &err));
    tsr_state *s = NULL;
    OK(be->ops->state_create(be, &d, h, w, &s, &err));
    tsr_act in, out = {0};
    OK(be->ops->act_alloc(be, c, t, h, w, &in, &err));
    for (int pass = 0; pass < 2; pass++) {
        for (int norm = 0; norm < 2; norm++) {
            OK(be->ops->sync(be, &err));
            double t0 = tsr_now();
            for (int r = 0; r < reps; r++) {
                be->ops->state_reset(be, s);
                OK(be->ops->conv3d(be, cw, &in, s, norm ? nrm : NULL, 1, NULL, &out, &err));
            }
            OK(be->ops->sync(be, &err));
            double dt = (tsr_now() - t0) / reps;
            double fl = 2.0 * c * c * 27 * (double)t * h * w;
            if (pass) printf("BENCH conv3x3x3 %d->%d %dx%dx%d norm=%d: %.3f ms  %.0f TFLOP/s\n", c, c, t, h, w, norm,
                             dt * 1e3, fl / dt / 1e12);
        }
    }
    be->ops->act_free(be, &in), be->ops->act_free(be, &out);
    be->ops->state_free(be, s), be->ops->wt_free(be, cw), be->ops->wt_free(be, nrm);
    free(wt), free(g), free(b);
}

/* conv_out (GroupNorm + SiLU + causal 3x3x3 conv, cin -> 3) on a later chunk of t frames: the narrow kernels with the
 * norm fused (the generic one, TSR_CUDA_NARROW=generic, and conv_out's compiled-size one) against the apply pass +
 * general conv (TSR_CUDA_NARROW=0), in fresh backends; the outputs agree to bf16 rounding (different sum orders). */
static void bench_narrow(int cin, int t, int h, int w, int reps)
{
    tsr_conv_desc d = {cin, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, TSR_LP_DEFAULT, "bench conv_out"};
    float *wt = rnd((size_t)3 * cin * 27, 0.02f), *g = rnd(cin, 1.f), *b = rnd(cin, 1.f);
    float *x = rnd((size_t)cin * t * h * w, 1.f);
    float *res[3] = {NULL, NULL, NULL};
    static const char *const modes[3] = {"0", "generic", "1"};
    tsr_backend_params p = {0};
    p.memory_budget = (uint64_t)8 << 30;
    for (int narrow = 0; narrow < 3; narrow++) {
        tsr_test_setenv("TSR_CUDA_NARROW", modes[narrow]);
        tsr_backend *nb = NULL;
        OK(tsr_cuda_backend_create(&p, &nb, &err));
        tsr_wt *cw = NULL, *nrm = NULL;
        OK(nb->ops->conv_upload(nb, &d, wt, NULL, &cw, &err));
        OK(nb->ops->norm_upload(nb, cin, 32, 1e-6f, g, b, &nrm, &err));
        tsr_state *s = NULL;
        OK(nb->ops->state_create(nb, &d, h, w, &s, &err));
        tsr_act in, out = {0};
        OK(nb->ops->act_alloc(nb, cin, t, h, w, &in, &err));
        OK(nb->ops->act_upload(nb, &in, x, &err));
        OK(nb->ops->conv3d(nb, cw, &in, s, nrm, 1, NULL, &out, &err)); /* fills the state: later chunks follow */
        OK(nb->ops->conv3d(nb, cw, &in, s, nrm, 1, NULL, &out, &err)); /* warm-up (cuDNN plans) */
        OK(nb->ops->sync(nb, &err));
        double t0 = tsr_now();
        for (int r = 0; r < reps; r++) OK(nb->ops->conv3d(nb, cw, &in, s, nrm, 1, NULL, &out, &err));
        OK(nb->ops->sync(nb, &err));
        double dt = (tsr_now() - t0) / reps;
        res[narrow] = malloc(sizeof(float) * (size_t)3 * out.t * h * w);
        OK(nb->ops->act_download(nb, &out, res[narrow], &err));
        printf("BENCH conv_out gn+silu+3x3x3 %d->3 %dx%dx%d (later chunk) TSR_CUDA_NARROW=%s: %.3f ms\n", cin, t, h, w,
               modes[narrow], dt * 1e3);
        nb->ops->act_free(nb, &in), nb->ops->act_free(nb, &out);
        nb->ops->state_free(nb, s), nb->ops->wt_free(nb, cw), nb->ops->wt_free(nb, nrm);
        nb->ops->destroy(nb);
    }
    for (int k = 1; k < 3; k++) {
        double e = tsr_test_rel_rms(res[k], res[0], (size_t)3 * t * h * w);
        printf("BENCH conv_out narrow (%s) vs apply+conv rel rms %.5f\n", modes[k], e);
        CHECKF(e < 0.01, "narrow conv_out (%s) differs from the apply path: %.5f", modes[k], e);
    }
    tsr_test_setenv("TSR_CUDA_NARROW", NULL);
    free(wt), free(g), free(b), free(x), free(res[0]), free(res[1]), free(res[2]);
}

static float bf(float x) { return tsr_bf16_to_f32(tsr_f32_to_bf16(x)); }

/* act_upload_frames (device padding/conversion) against the CPU backend's, bit for bit after bf16 rounding. */
static void upload_frames_case(int c, int n, int h, int w, int H, int W)
{
    tsr_backend *cpu = NULL;
    OK(tsr_cpu_backend_create(NULL, &cpu, &err));
    size_t fsz = (size_t)c * h * w;
    float *src = rnd(fsz * (size_t)n, 2.f);
    const float *frames[8];
    for (int f = 0; f < n; f++) frames[f] = src + fsz * (size_t)(f == n - 1 && n > 2 ? n - 3 : f); /* a repeat */
    tsr_act g = {0}, r = {0};
    OK(be->ops->act_alloc(be, c, n, H, W, &g, &err));
    OK(cpu->ops->act_alloc(cpu, c, n, H, W, &r, &err));
    OK(be->ops->act_upload_frames(be, &g, frames, n, h, w, -1.f, &err));
    OK(cpu->ops->act_upload_frames(cpu, &r, frames, n, h, w, -1.f, &err));
    size_t all = (size_t)c * n * H * W;
    float *gv = download(&g), *rv = malloc(all * sizeof *rv);
    OK(cpu->ops->act_download(cpu, &r, rv, &err));
    size_t bad = 0;
    for (size_t i = 0; i < all; i++) bad += gv[i] != bf(rv[i]);
    fprintf(stderr, "upload_frames %dx%dx%dx%d into %dx%d: %zu mismatches\n", c, n, h, w, H, W, bad);
    CHECK(bad == 0);
    CHECK(be->ops->act_upload_frames(be, &g, frames, n, H + 1, w, -1.f, &err) == TSR_ERR_INVALID_ARG);
    be->ops->act_free(be, &g);
    cpu->ops->act_free(cpu, &r);
    cpu->ops->destroy(cpu);
    free(src), free(gv), free(rv);
}

/* Two downloads in flight, sources freed and their memory reused at once, waited in order: each equals the
 * synchronous download; a third start and a wrong ticket are refused. */
static void download_async_case(void)
{
    int dims[2][4] = {{3, 4, 9, 17}, {128, 2, 5, 7}};
    tsr_act a[2] = {{0}}, junk = {0};
    float *host[2], *ref[2];
    int ticket[2];
    for (int k = 0; k < 2; k++) {
        size_t n = (size_t)dims[k][0] * dims[k][1] * dims[k][2] * dims[k][3];
        float *x = rnd(n, 3.f);
        upload_new(dims[k][0], dims[k][1], dims[k][2], dims[k][3], x, &a[k]);
        ref[k] = download(&a[k]);
        host[k] = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) host[k][i] = NAN; /* poisoned: every element must be written */
        free(x);
    }
    for (int k = 0; k < 2; k++) {
        OK(be->ops->act_download_start(be, &a[k], host[k], &ticket[k], &err));
        be->ops->act_free(be, &a[k]);
    }
    int t3 = 0;
    CHECK(be->ops->act_download_start(be, &junk, host[0], &t3, &err) == TSR_ERR_INVALID_ARG);
    CHECK(be->ops->download_wait(be, ticket[1] + 7, &err) == TSR_ERR_INVALID_ARG);
    float *over = rnd((size_t)128 * 4 * 9 * 17, 1.f); /* reuse the freed memory before the waits */
    upload_new(128, 4, 9, 17, over, &junk);
    free(over);
    for (int k = 0; k < 2; k++) {
        OK(be->ops->download_wait(be, ticket[k], &err));
        size_t n = (size_t)dims[k][0] * dims[k][1] * dims[k][2] * dims[k][3], bad = 0;
        for (size_t i = 0; i < n; i++) bad += !(host[k][i] == ref[k][i]);
        fprintf(stderr, "download_start %dx%dx%dx%d: %zu mismatches\n", dims[k][0], dims[k][1], dims[k][2], dims[k][3],
                bad);
        CHECK(bad == 0);
        free(host[k]), free(ref[k]);
    }
    CHECK(be->ops->download_wait(be, ticket[0], &err) == TSR_ERR_INVALID_ARG); /* already waited */
    be->ops->act_free(be, &junk);
    tsr_engine_stats s;
    be->ops->stats(be, &s, 1);
    fprintf(stderr, "stats: free low %.2f GiB of %.2f, upload %.4f s, download %.4f s, wait %.4f s\n",
            s.device_free_low / 1073741824.0, s.device_total / 1073741824.0, s.upload_s, s.download_s, s.wait_s);
    CHECK(s.device_free_low > 0 && s.device_free_low <= s.device_total);
    CHECK(s.upload_s > 0 && s.mem_budget > 0);
}

/* Profile mode (gated parts): same results, and the device time it reports fits inside the wall time. */
static void profile_case(void)
{
    tsr_test_setenv("TSR_CUDA_PROFILE", "1");
    tsr_backend *pb = NULL;
    tsr_backend_params p = {0};
    p.memory_budget = (uint64_t)2 << 30;
    OK(tsr_cuda_backend_create(&p, &pb, &err));
    tsr_test_setenv("TSR_CUDA_PROFILE", NULL);
    tsr_conv_desc d = {64, 64, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, TSR_LP_DEFAULT, "profiled"};
    size_t nin = (size_t)64 * 3 * 24 * 40, nw = (size_t)64 * 64 * 27;
    float *x = rnd(nin, 1.f), *wt = rnd(nw, 0.02f);
    tsr_wt *cw = NULL, *cw2 = NULL;
    tsr_state *s1 = NULL, *s2 = NULL;
    tsr_act a = {0}, y1 = {0}, a2 = {0}, y2 = {0};
    OK(pb->ops->conv_upload(pb, &d, wt, NULL, &cw, &err));
    OK(be->ops->conv_upload(be, &d, wt, NULL, &cw2, &err));
    OK(pb->ops->state_create(pb, &d, 24, 40, &s1, &err));
    OK(be->ops->state_create(be, &d, 24, 40, &s2, &err));
    OK(pb->ops->act_alloc(pb, 64, 3, 24, 40, &a, &err));
    OK(pb->ops->act_upload(pb, &a, x, &err));
    upload_new(64, 3, 24, 40, x, &a2);
    OK(pb->ops->conv3d(pb, cw, &a, s1, NULL, 0, NULL, &y1, &err)); /* warm-up (cuDNN plan on first use) */
    pb->ops->act_free(pb, &y1);
    OK(pb->ops->sync(pb, &err));
    pb->ops->stats(pb, NULL, 1);
    double t0 = tsr_now();
    for (int i = 0; i < 5; i++) {
        pb->ops->act_free(pb, &y1);
        OK(pb->ops->conv3d(pb, cw, &a, s1, NULL, 0, NULL, &y1, &err));
    }
    OK(pb->ops->sync(pb, &err));
    double wall_ms = (tsr_now() - t0) * 1e3;
    tsr_engine_stats st;
    pb->ops->stats(pb, &st, 0);
    fprintf(stderr, "profile: %d parts, device busy %.3f ms in %.3f ms wall\n", st.parts, st.device_busy_ms, wall_ms);
    CHECK(st.profiled && st.parts > 0 && st.device_busy_ms > 0 && st.device_busy_ms <= wall_ms);
    /* the same 6 chunks unprofiled give the same bits */
    for (int i = 0; i < 6; i++) {
        be->ops->act_free(be, &y2);
        OK(be->ops->conv3d(be, cw2, &a2, s2, NULL, 0, NULL, &y2, &err));
    }
    float *v1 = NULL, *v2 = download(&y2);
    v1 = malloc(sizeof(float) * (size_t)64 * 3 * 24 * 40);
    OK(pb->ops->act_download(pb, &y1, v1, &err));
    CHECK(memcmp(v1, v2, sizeof(float) * (size_t)64 * 3 * 24 * 40) == 0);
    free(v1), free(v2), free(x), free(wt);
    pb->ops->act_free(pb, &a), pb->ops->act_free(pb, &y1);
    be->ops->act_free(be, &a2), be->ops->act_free(be, &y2);
    pb->ops->state_free(pb, s1), be->ops->state_free(be, s2);
    pb->ops->wt_free(pb, cw), be->ops->wt_free(be, cw2);
    pb->ops->destroy(pb);
}

/* TSR_BENCH=wg: the decoder's 3x3x3 convs on a later chunk, GroupNorm + SiLU in front (norm=1) and not (norm=0),
 * on cuDNN / the built-in GEMM (TSR_CUDA_WG=0) and on the wg kernel (both tile widths; =all: every shape). */
static void bench_wg(tsr_backend_params *p)
{
    static const char *const modes[][2] = {{"0", "16"}, {"all", "16"}, {"all", "8"}};
    const char *only = getenv("TSR_BENCH_WG_SHAPES"); /* set: the first shape only */
    for (int m = 0; m < 3; m++) {
        tsr_test_setenv("TSR_CUDA_WG", modes[m][0]);
        tsr_test_setenv("TSR_CUDA_WG_TILE", modes[m][1]);
        OK(tsr_cuda_backend_create(p, &be, &err));
        printf("BENCH -- TSR_CUDA_WG=%s TSR_CUDA_WG_TILE=%s (wg kernel %s)\n", modes[m][0], modes[m][1],
               ((tsr_cuda *)be)->conv_wg ? "on" : "off");
        bench_conv_k(128, 128, 3, 3, 4, 720, 1280, 10, 2);
        if (only) {
            be->ops->destroy(be);
            continue;
        }
        bench_conv_k(128, 128, 3, 3, 4, 1080, 1920, 5, 2);
        bench_conv_k(256, 128, 3, 3, 4, 1080, 1920, 5, 2);
        bench_conv_k(256, 256, 3, 3, 4, 540, 960, 5, 2);
        bench_conv_k(512, 512, 3, 3, 2, 270, 480, 5, 2);
        be->ops->destroy(be);
    }
    tsr_test_setenv("TSR_CUDA_WG", NULL);
    tsr_test_setenv("TSR_CUDA_WG_TILE", NULL);
}

/* The Hopper wg kernel (kernels/conv_wg.cu) on every conv it fits, both tile widths: partial tiles, 1 to 3 channel
 * chunks, kt 3 and 1, 256 outputs (two column blocks), residuals, chunked (the first chunk's frame-0 conv, then
 * t_skip). Elsewhere it must not load; on sm_90 it must. */
static void wg_cases(tsr_backend_params *p, const int *chunks, const int *chunks2)
{
    static const char *const tiles[] = {"16", "8"};
    for (int ti = 0; ti < 2; ti++) {
        tsr_test_setenv("TSR_CUDA_WG", "all");
        tsr_test_setenv("TSR_CUDA_WG_TILE", tiles[ti]);
        OK(tsr_cuda_backend_create(p, &be, &err));
        tsr_cuda *cu = (tsr_cuda *)be;
        int hopper = cu->cc_major == 9 && cu->cc_minor == 0;
        CHECKF(!cu->conv_wg == !hopper, "wg kernel %s on sm_%d%d", cu->conv_wg ? "loaded" : "missing", cu->cc_major,
               cu->cc_minor);
        if (cu->conv_wg) {
            fprintf(stderr, "-- wg kernel, tile 16 x %s\n", tiles[ti]);
            long c0 = cu->conv_wg_calls;
            conv_case("wg 128->128 gn 37x45", 128, 128, 3, 3, 1, 1, 1, 1, 5, 37, 45, 1, 0, chunks);
            conv_case("wg 192->128 gn+res", 192, 128, 3, 3, 1, 1, 1, 1, 3, 17, 9, 1, 1, NULL);
            conv_case("wg 64->256 res", 64, 256, 3, 3, 1, 1, 1, 1, 4, 20, 17, 0, 1, NULL);
            conv_case("wg 64->256 chunked", 64, 256, 3, 3, 1, 1, 1, 1, 5, 9, 30, 0, 0, chunks2);
            conv_case("wg 1x3x3 128->128 gn", 128, 128, 3, 1, 1, 1, 1, 1, 2, 16, 16, 1, 0, NULL);
            CHECKF(cu->conv_wg_calls >= c0 + 12, "wg kernel ran %ld times", cu->conv_wg_calls - c0);
        }
        be->ops->destroy(be);
    }
    tsr_test_setenv("TSR_CUDA_WG", NULL);
    tsr_test_setenv("TSR_CUDA_WG_TILE", NULL);
    OK(tsr_cuda_backend_create(p, &be, &err));
}

int main(void)
{
    tsr_backend_params p = {0};
    p.memory_budget = (uint64_t)8 << 30;
    const char *bench = getenv("TSR_BENCH");
    if (bench && strstr(bench, "upconv")) p.memory_budget = (uint64_t)24 << 30;
    tsr_status st = tsr_cuda_backend_create(&p, &be, &err);
    if (st == TSR_ERR_NO_DEVICE || st == TSR_ERR_UNSUPPORTED) SKIP("%s", err.message);
    OK(st);
    if (bench && strstr(bench, "wg")) {
        be->ops->destroy(be);
        p.memory_budget = (uint64_t)24 << 30;
        bench_wg(&p);
        return tsr_test_done();
    }
    if (bench && strstr(bench, "upconv")) { /* TSR_BENCH=upconv: upsampler convs (720p, later chunk) as they are
                                             * and composed with the 1x1 conv + depth-to-space on the low-res input */
        bench_conv_k(512, 512, 3, 3, 2, 180, 320, 10, 1);
        bench_conv_k(512, 4096, 2, 2, 1, 90, 160, 10, 1);
        bench_conv_k(512, 512, 3, 3, 4, 360, 640, 5, 1);
        bench_conv_k(512, 4096, 2, 2, 2, 180, 320, 5, 1);
        bench_conv_k(256, 256, 3, 3, 4, 720, 1280, 5, 1);
        bench_conv_k(256, 1024, 3, 2, 4, 360, 640, 5, 1);
        bench_conv_k(256, 256, 3, 3, 4, 360, 640, 5, 2);
        be->ops->destroy(be);
        return tsr_test_done();
    }
    static const int chunks[] = {2, 1, 2, 0};
    static const int chunks2[] = {1, 2, 2, 0};
    static const char *const variants[] = {"k64", "wide", "k32", "sync"};   /* every conv kernel the backend has */
    for (int variant = 0; variant < 4; variant++) {
        if (variant) {
            be->ops->destroy(be);
            tsr_test_setenv("TSR_CUDA_CONV", variants[variant]);
            OK(tsr_cuda_backend_create(&p, &be, &err));
        }
        fprintf(stderr, "-- conv kernel: %s\n", variants[variant]);
        conv_case("causal 3x3x3 16->64", 16, 64, 3, 3, 1, 1, 1, 1, 5, 8, 12, 0, 0, chunks);
        conv_case("causal 3x3x3 128->128 gn", 128, 128, 3, 3, 1, 1, 1, 1, 5, 6, 10, 1, 0, chunks);
        conv_case("causal 3x3x3 256->128 gn+res", 256, 128, 3, 3, 1, 1, 1, 1, 3, 5, 7, 1, 1, NULL);
        conv_case("1x1x1 256->512 res", 256, 512, 1, 1, 1, 1, 0, 0, 2, 6, 9, 0, 1, NULL);
        conv_case("conv_out 128->3 gn", 128, 3, 3, 3, 1, 1, 1, 1, 3, 8, 8, 1, 0, chunks);
        /* the narrow kernel (cout <= 8, norm fused): partial 8 x 32 tiles, 4 channel chunks, kt 3 and 1 */
        conv_case("narrow 128->3 gn 19x70", 128, 3, 3, 3, 1, 1, 1, 1, 5, 19, 70, 1, 0, chunks);
        conv_case("narrow 1x3x3 96->5 gn", 96, 5, 3, 1, 1, 1, 1, 1, 2, 10, 40, 1, 0, NULL);
        conv_case("enc conv_in 3->128", 3, 128, 3, 3, 1, 1, 1, 1, 5, 8, 8, 0, 0, chunks);
        conv_case("enc down 1x3x3 s2", 128, 128, 3, 1, 1, 2, 0, 1, 3, 8, 10, 0, 0, NULL);
        conv_case("enc down 3x3x3 s2", 256, 256, 3, 3, 2, 2, 0, 1, 5, 8, 8, 0, 0, chunks2);
        conv_case("causal 3x3x3 64->512 wide", 64, 512, 3, 3, 1, 1, 1, 1, 3, 9, 11, 0, 1, NULL);
        attn_case(128, 1, 16, 16, 1);
        shuffle_case(16, 2, 2, 3, 5, 7);  /* the composed upsamplers' variants: generic rt 2, rt 1, frame 0 */
        shuffle_case(64, 1, 3, 2, 9, 6);
        shuffle_case(32, 1, 1, 1, 4, 4);
        if (getenv("TSR_BENCH") && *getenv("TSR_BENCH") == '1') {
            printf("-- %s\n", variants[variant]);
            bench_conv(512, 5, 90, 160, 5);
            bench_conv(256, 17, 180, 320, 2);
        }
    }
    tsr_test_setenv("TSR_CUDA_CONV", NULL);
    be->ops->destroy(be);
    wg_cases(&p, chunks, chunks2);
    be->ops->destroy(be);
    tsr_test_setenv("TSR_CUDNN", "0"); /* without cuDNN a narrow conv without a norm runs on the narrow kernel too */
    OK(tsr_cuda_backend_create(&p, &be, &err));
    conv_case("narrow 64->8 res, no cuDNN", 64, 8, 3, 3, 1, 1, 1, 1, 4, 9, 33, 0, 1, NULL);
    conv_case("narrow 32->3 gn, no cuDNN", 32, 3, 3, 3, 1, 1, 1, 1, 5, 9, 33, 1, 0, chunks2);
    be->ops->destroy(be);
    tsr_test_setenv("TSR_CUDNN", NULL);
    OK(tsr_cuda_backend_create(&p, &be, &err));
    gn_case(512, 3, 9, 13, 1, 32, 0.7f);
    gn_case(128, 2, 16, 24, 0, 32, 0.7f);
    gn_case(256, 2, 7, 5, 1, 32, 0.7f);
    gn_case(128, 3, 72, 100, 1, 32, 40.f);   /* many slices per frame, a large common mean */
    gn_case(24, 2, 33, 50, 0, 8, -3.f);      /* 3 vectors per pixel: a grid stride that is not a power of two */
    gn_case(64, 1, 1, 3, 1, 4, 1.f);         /* fewer pixels than threads */
    attn_case(512, 2, 8, 12, 1);
    attn_case(32, 1, 8, 2049, 97);   /* 16392 tokens: the 8-vector register softmax */
    attn_case(32, 2, 8, 4097, 331);  /* 32776 tokens: the three-pass softmax */
    d2s_add_case();
    upload_frames_case(3, 5, 13, 21, 16, 32);
    upload_frames_case(3, 1, 16, 16, 16, 16);
    download_async_case();
    profile_case();
    uint64_t in_use = 0, peak = 0, total = 0;
    be->ops->memory(be, &in_use, &peak, &total);
    fprintf(stderr, "arena: %llu in use, peak %llu of %llu\n", (unsigned long long)in_use, (unsigned long long)peak,
            (unsigned long long)total);
    CHECK(in_use == 0);
    if (bench && *bench == '1') bench_conv(128, 17, 360, 640, 2);
    if (bench && strstr(bench, "narrow")) { /* TSR_BENCH=narrow: conv_out at 720p and 1080p, 4 frames */
        bench_narrow(128, 4, 720, 1280, 10);
        bench_narrow(128, 4, 1080, 1920, 5);
    }
    if (bench && strstr(bench, "gn")) { /* TSR_BENCH=gn: the GroupNorm pass alone */
        bench_gn(128, 4, 720, 1280, 5);
        bench_gn(256, 4, 720, 1280, 5);
        bench_gn(512, 4, 180, 320, 10);
    }
    plan_cache_case(&p);
    be->ops->destroy(be);
    return tsr_test_done();
}
