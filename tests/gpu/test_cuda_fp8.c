/* The CUDA FP8 conv path (a conv marked TSR_LP_FP8, cuda_conv_fp8.c) against a plain fp64 reference on fresh random
 * data whose operands were quantised on the host exactly as the device does it (bf16 storage, activation scale
 * amax/448 per tensor, weights per output channel): the GPU must match that reference to bf16 output rounding,
 * and must NOT match the unquantised conv (FP8 really ran). Both activation scale modes: TSR_FP8_SCALE=two-pass
 * (amax/448 of this call) and the default delayed scale (first call of a conv two-pass, later calls quantise
 * with the previous call's amax and 16x headroom).
 * Exits 77 without a GPU. */
#include <math.h>
#include <stdint.h>

#include "backend/backend.h"
#include "core/common.h"
#include "core/fp8.h"
#include "core/half.h"
#include "tsr_test.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2.f - 1.f;
}
enum { CI = 64, CO = 48, T = 3, H = 10, W = 14, K = 3 };

/* causal 3x3x3 conv, first chunk (frame 0 replicated twice in front), pad 1 */
static void ref_conv(const float *x, const float *wt, const float *bias, float *y)
{
    for (int co = 0; co < CO; co++)
        for (int t = 0; t < T; t++)
            for (int yy = 0; yy < H; yy++)
                for (int xx = 0; xx < W; xx++) {
                    double acc = bias[co];
                    for (int ci = 0; ci < CI; ci++)
                        for (int a = 0; a < K; a++) {
                            int ti = t + a - 2;
                            if (ti < 0) ti = 0;
                            for (int b = 0; b < K; b++)
                                for (int c = 0; c < K; c++) {
                                    int yi = yy + b - 1, xi = xx + c - 1;
                                    if (yi < 0 || yi >= H || xi < 0 || xi >= W) continue;
                                    acc += (double)wt[(((size_t)co * CI + ci) * K + a) * K * K + b * K + c] *
                                           x[(((size_t)ci * T + ti) * H + yi) * W + xi];
                                }
                        }
                    y[(((size_t)co * T + t) * H + yy) * W + xx] = (float)acc;
                }
}

static void quant_act(const float *xb, size_t n, float target, float *xq)
{
    float s = tsr_fp8_amax(xb, n) / target, inv = 1.0f / s;
    for (size_t i = 0; i < n; i++) xq[i] = tsr_e4m3_to_f32(tsr_f32_to_e4m3(xb[i] * inv)) * s;
}

int main(void)
{
    tsr_test_setenv("TSR_FP8", NULL);
    tsr_test_setenv("TSR_FP8_SCALE", NULL);
    tsr_error err = {0};
    tsr_backend *be = NULL;
    tsr_backend_params bp = {0, 0, TSR_LP_DEFAULT, 1ull << 30};
    tsr_status st = tsr_cuda_backend_create(&bp, &be, &err);
    if (st == TSR_ERR_NO_DEVICE || st == TSR_ERR_UNSUPPORTED) SKIP("%s", err.message);
    REQUIRE(st == TSR_OK);

    size_t nx = (size_t)CI * T * H * W, nw = (size_t)CO * CI * K * K * K, ny = (size_t)CO * T * H * W;
    float *x = malloc(nx * 4), *xb = malloc(nx * 4), *xq = malloc(nx * 4), *wt = malloc(nw * 4), *wb = malloc(nw * 4),
          *wq = malloc(nw * 4), *bias = malloc(CO * 4), *ref = malloc(ny * 4), *refq = malloc(ny * 4),
          *got = malloc(ny * 4), ws[CO];
    uint8_t *codes = malloc(nw);
    REQUIRE(x && xb && xq && wt && wb && wq && bias && ref && refq && got && codes);
    for (size_t i = 0; i < nx; i++) x[i] = frand() * (i % 7 == 0 ? 4.f : 1.f); /* some larger values */
    for (size_t i = 0; i < nw; i++) wt[i] = frand() / sqrtf((float)CI * 27);
    for (int i = 0; i < CO; i++) bias[i] = frand() * 0.5f;
    for (size_t i = 0; i < nx; i++) xb[i] = tsr_bf16_to_f32(tsr_f32_to_bf16(x[i]));   /* device storage */
    for (size_t i = 0; i < nw; i++) wb[i] = tsr_bf16_to_f32(tsr_f32_to_bf16(wt[i]));
    tsr_fp8_quantize_rows(wb, CO, nw / CO, codes, ws);
    tsr_fp8_dequantize_rows(codes, ws, CO, nw / CO, wq);
    ref_conv(xb, wt, bias, ref);

    tsr_conv_desc d = {CI, CO, K, K, K, 1, 1, 1, 1, 1, 1, 1, 1, TSR_LP_FP8, "test.fp8"};
    tsr_wt *cw = NULL;
    tsr_state *state = NULL;
    REQUIRE(be->ops->conv_upload(be, &d, wt, bias, &cw, &err) == TSR_OK);
    REQUIRE(be->ops->state_create(be, &d, H, W, &state, &err) == TSR_OK);
    tsr_act in = {0};
    REQUIRE(be->ops->act_alloc(be, CI, T, H, W, &in, &err) == TSR_OK);
    REQUIRE(be->ops->act_upload(be, &in, x, &err) == TSR_OK);

    const char *mode[3] = {"two-pass", NULL, NULL}; /* two-pass; default (delayed) without history; with it */
    for (int m = 0; m < 3; m++) {
        tsr_test_setenv("TSR_FP8_SCALE", mode[m]);
        quant_act(xb, nx, m == 2 ? 448.0f / 16.0f : 448.0f, xq);
        ref_conv(xq, wq, bias, refq);
        be->ops->state_reset(be, state);
        tsr_act out = {0};
        REQUIRE(be->ops->conv3d(be, cw, &in, state, NULL, 0, NULL, &out, &err) == TSR_OK);
        REQUIRE(out.t == T && out.h == H && out.w == W);
        REQUIRE(be->ops->act_download(be, &out, got, &err) == TSR_OK);
        double eq = tsr_test_rel_rms(got, refq, ny), e = tsr_test_rel_rms(got, ref, ny);
        fprintf(stderr, "fp8 conv %s: rel rms %.5f vs quantised-operand reference, %.5f vs the exact conv\n",
                m == 0 ? "two-pass" : m == 1 ? "delayed, first call" : "delayed, with history", eq, e);
        CHECKF(eq < 6e-3, "mode %d: %.5f vs the quantised reference", m, eq);
        CHECKF(e > 1e-2, "mode %d: %.5f vs the exact conv: did FP8 run?", m, e);
        be->ops->act_free(be, &out);
    }
    tsr_test_setenv("TSR_FP8_SCALE", NULL);
    be->ops->act_free(be, &in);
    be->ops->state_free(be, state);
    be->ops->wt_free(be, cw);
    be->ops->destroy(be);
    free(x), free(xb), free(xq), free(wt), free(wb), free(wq), free(bias), free(ref), free(refq), free(got), free(codes);
    return tsr_test_done();
}
