/* conv_bench: FP8 / bf16 conv3d implementations on the GPU against a CPU fp64 reference, per SeedVR2 decoder
 * conv shape (720p, one frame per chunk). Standalone (CUDA runtime); built and run by tests/bench/conv_bench.sh
 * on the GPU machine. Variants: own FP8 kernel (fp32 accumulate, 2 or 1 blocks/SM; fp16 accumulate per 64-deep
 * block), cuDNN bf16 and cuDNN FP8 graphs (best of the candidate plans).
 * Errors on 1024 sampled outputs: rel_q = |out - ref(quantised inputs)| / |ref| (is the kernel right?) and
 * snr = 20 log10(|ref| / |out - ref|) against the fp32 conv of the unquantised data (what FP8 costs). */
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <algorithm>
#include <vector>

extern "C" {
#include "backend/cuda/cudnn.h"
#include "core/fp8.h"
#include "core/half.h"
}
#include "conv_fp8.h"

extern "C" __global__ void tsr_conv_fp8_f32acc(const tsr_conv_fp8_params p);
extern "C" __global__ void tsr_conv_fp8_f32acc_occ1(const tsr_conv_fp8_params p);
extern "C" __global__ void tsr_conv_fp8_f16acc(const tsr_conv_fp8_params p);
extern "C" __global__ void tsr_amax_bf16(const uint16_t *x, size_t n, unsigned *amax_bits);
extern "C" __global__ void tsr_quant_bf16_e4m3(const uint16_t *x, size_t n, const unsigned *amax_bits, float target,
                                               uint8_t *q, float *scale);

#define CK(x)                                                                                              \
    do {                                                                                                   \
        cudaError_t e_ = (x);                                                                              \
        if (e_ != cudaSuccess) {                                                                           \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_));            \
            exit(2);                                                                                       \
        }                                                                                                  \
    } while (0)

__global__ void fill_bf16(uint16_t *x, size_t n, uint32_t seed, float amp)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t h = (uint32_t)i * 2654435761u ^ seed;
        float s = 0;
        for (int k = 0; k < 4; k++) {
            h ^= h >> 15, h *= 0x2c1b3c6du, h ^= h >> 12, h *= 0x297a2d39u, h ^= h >> 15;
            s += (float)(h >> 8) * (1.0f / 16777216.0f);
        }
        x[i] = __bfloat16_as_ushort(__float2bfloat16_rn((s - 2.0f) * amp)); /* ~N(0, 0.58 amp), |x| < 2 amp */
    }
}

struct layer {
    const char *name;
    int cin, cout, k, h, w, t, residual, prefix;
};

static const layer layers[] = {
    {"causal-check 64->64 t3 +state", 64, 64, 3, 12, 20, 3, 1, 1},
    {"conv_in 16->512 @90x160", 16, 512, 3, 90, 160, 1, 0, 0},
    {"mid 512->512 @90x160 +res", 512, 512, 3, 90, 160, 1, 1, 0},
    {"up 512->512 @180x320", 512, 512, 3, 180, 320, 1, 0, 0},
    {"up 512->512 @360x640", 512, 512, 3, 360, 640, 1, 0, 0},
    {"shortcut 1x1 512->256 @360x640", 512, 256, 1, 360, 640, 1, 0, 0},
    {"up 256->256 @360x640 +res", 256, 256, 3, 360, 640, 1, 1, 0},
    {"up 256->256 @720x1280", 256, 256, 3, 720, 1280, 1, 0, 0},
    {"up 128->128 @720x1280 +res", 128, 128, 3, 720, 1280, 1, 1, 0},
    {"conv_out 128->3 @720x1280", 128, 3, 3, 720, 1280, 1, 0, 0},
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double sync_now(void *) { cudaDeviceSynchronize(); return now_s(); }

static uint32_t rng = 0x12345678u;
static uint32_t rnd(void) { rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5; return rng; }
static float rndf(void) { return (float)(rnd() >> 8) / 16777216.0f * 2.0f - 1.0f; }

struct result { double ms, tflops, relq, snr; int bad; int ok; };

/* host data of one layer for the reference */
struct host {
    int cin, cout, k, h, w, t, ho, wo, taps;
    std::vector<uint16_t> x, pre;     /* bf16 input; bf16 prefix (dequantised fp8 state) */
    std::vector<uint8_t> xq, preq;
    float xs;
    std::vector<float> wf, ws, bias;  /* fp32 weights [cout][taps][cin] */
    std::vector<uint8_t> wq;
    std::vector<uint16_t> res;
    std::vector<int> sm, sn;          /* sampled outputs */
    std::vector<double> rt, rq;       /* reference: true, quantised */
};

static void reference(host &H, int P)
{
    int M = H.t * H.ho * H.wo, kt = H.k, kh = H.k, kw = H.k, ph = H.k / 2;
    size_t frame = (size_t)H.h * H.w * H.cin;
    for (int i = 0; i < P; i++) {
        int m = rnd() % M, n = rnd() % H.cout;
        int to = m / (H.ho * H.wo), r = m % (H.ho * H.wo), oy = r / H.wo, ox = r % H.wo;
        double st = 0, sq = 0;
        for (int dt = 0; dt < kt; dt++)
            for (int dy = 0; dy < kh; dy++)
                for (int dx = 0; dx < kw; dx++) {
                    int e = to + dt, iy = oy + dy - ph, ix = ox + dx - ph;
                    if (iy < 0 || iy >= H.h || ix < 0 || ix >= H.w) continue;
                    const uint16_t *xb;
                    const uint8_t *qb;
                    if (e < kt - 1) {
                        if (!H.pre.empty()) xb = &H.pre[e * frame], qb = &H.preq[e * frame];
                        else xb = &H.x[0], qb = &H.xq[0];
                    } else xb = &H.x[(e - kt + 1) * frame], qb = &H.xq[(e - kt + 1) * frame];
                    size_t off = ((size_t)iy * H.w + ix) * H.cin;
                    int tap = (dt * kh + dy) * kw + dx;
                    const float *wr = &H.wf[((size_t)n * H.taps + tap) * H.cin];
                    const uint8_t *wqr = &H.wq[((size_t)n * H.taps + tap) * H.cin];
                    for (int c = 0; c < H.cin; c++) {
                        st += (double)tsr_bf16_to_f32(xb[off + c]) * wr[c];
                        sq += (double)tsr_e4m3_to_f32(qb[off + c]) * tsr_e4m3_to_f32(wqr[c]);
                    }
                }
        sq *= (double)H.xs * H.ws[n];
        double add = H.bias[n] + (H.res.empty() ? 0.0 : tsr_bf16_to_f32(H.res[(size_t)m * H.cout + n]));
        H.sm.push_back(m), H.sn.push_back(n), H.rt.push_back(st + add), H.rq.push_back(sq + add);
    }
}

static void score(const host &H, const uint16_t *dout, size_t nout, result &r)
{
    std::vector<uint16_t> o(nout);
    CK(cudaMemcpy(o.data(), dout, nout * 2, cudaMemcpyDeviceToHost));
    int bad = 0;
    for (size_t i = 0; i < nout; i++) bad += (o[i] & 0x7f80) == 0x7f80; /* poisoned (0xffff) or inf/NaN */
    double et = 0, eq = 0, nt = 0, nq = 0;
    for (size_t i = 0; i < H.sm.size(); i++) {
        double v = tsr_bf16_to_f32(o[(size_t)H.sm[i] * H.cout + H.sn[i]]);
        et += (v - H.rt[i]) * (v - H.rt[i]), nt += H.rt[i] * H.rt[i];
        eq += (v - H.rq[i]) * (v - H.rq[i]), nq += H.rq[i] * H.rq[i];
    }
    r.bad = bad;
    r.relq = sqrt(eq / nq);
    r.snr = 10 * log10(nt / (et > 0 ? et : 1e-300));
}

template <typename F> static double time_ms(F f, int reps)
{
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    f();
    f();
    CK(cudaDeviceSynchronize());
    std::vector<float> ts;
    for (int i = 0; i < reps; i++) {
        CK(cudaEventRecord(a));
        f();
        CK(cudaEventRecord(b));
        CK(cudaEventSynchronize(b));
        float ms;
        CK(cudaEventElapsedTime(&ms, a, b));
        ts.push_back(ms);
    }
    std::sort(ts.begin(), ts.end());
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return ts[ts.size() / 2];
}

static void quantise(const uint16_t *x, size_t n, float target, uint8_t *q, float *scale, unsigned *amax)
{
    CK(cudaMemset(amax, 0, 4));
    tsr_amax_bf16<<<1024, 256>>>(x, n, amax);
    tsr_quant_bf16_e4m3<<<2048, 256>>>(x, n, amax, target, q, scale);
    CK(cudaGetLastError());
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 10;
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
    CK(cudaFree(0));
    tsr_error err = {};
    tsr_cudnn *dnn = NULL;
    if (tsr_cudnn_open(NULL, &dnn, &err) != TSR_OK) printf("cuDNN: unavailable: %s\n", err.message);
    else printf("cuDNN: %zu\n", tsr_cudnn_version(dnn));
    void *ws = NULL;
    size_t ws_size = (size_t)1 << 30;
    CK(cudaMalloc(&ws, ws_size));
    unsigned *d_amax;
    float *d_xs, *d_xs16;
    CK(cudaMalloc(&d_amax, 4));
    CK(cudaMalloc(&d_xs, 4));
    CK(cudaMalloc(&d_xs16, 4));
    const char *vname[5] = {"own fp8 f32acc", "own fp8 f32acc 1blk/SM", "own fp8 f16acc", "cuDNN bf16", "cuDNN fp8"};
    static char table[64][256];
    int nt = 0;

    for (const layer &L : layers) {
        host H;
        H.cin = L.cin, H.cout = L.cout, H.k = L.k, H.h = L.h, H.w = L.w, H.t = L.t;
        H.ho = L.h, H.wo = L.w, H.taps = L.k * L.k * L.k;
        int kt = L.k, pre_n = kt - 1;
        size_t frame = (size_t)L.h * L.w * L.cin, nx = frame * L.t, nout = (size_t)L.t * L.h * L.w * L.cout;
        size_t nw = (size_t)L.cout * H.taps * L.cin;
        double flops = 2.0 * (double)L.t * L.h * L.w * L.cout * (double)H.taps * L.cin;
        printf("\n== %s: %.1f GFLOP\n", L.name, flops * 1e-9);

        uint16_t *d_x, *d_xext, *d_out, *d_res = NULL, *d_wb;
        uint8_t *d_xq, *d_xq16, *d_xqext, *d_wq, *d_wq1, *d_pre = NULL;
        float *d_ws, *d_ws1, *d_bias;
        int text = L.t + pre_n;
        CK(cudaMalloc(&d_x, nx * 2));
        CK(cudaMalloc(&d_xq, nx));
        CK(cudaMalloc(&d_xq16, nx));
        CK(cudaMalloc(&d_xext, frame * text * 2));
        CK(cudaMalloc(&d_xqext, frame * text));
        CK(cudaMalloc(&d_out, nout * 2));
        CK(cudaMalloc(&d_wb, nw * 2));
        CK(cudaMalloc(&d_wq, nw));
        CK(cudaMalloc(&d_wq1, nw));
        CK(cudaMalloc(&d_ws, L.cout * 4));
        CK(cudaMalloc(&d_ws1, 4));
        CK(cudaMalloc(&d_bias, L.cout * 4));
        fill_bf16<<<2048, 256>>>(d_x, nx, rnd(), 2.0f);
        CK(cudaGetLastError());
        quantise(d_x, nx, 448.0f, d_xq, d_xs, d_amax);
        quantise(d_x, nx, 16.0f, d_xq16, d_xs16, d_amax);
        H.x.resize(nx), H.xq.resize(nx);
        CK(cudaMemcpy(H.x.data(), d_x, nx * 2, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(H.xq.data(), d_xq, nx, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(&H.xs, d_xs, 4, cudaMemcpyDeviceToHost));
        if (L.prefix) { /* a causal state: fp8 frames with the same scale, and their bf16 values */
            H.preq.resize(frame * pre_n), H.pre.resize(frame * pre_n);
            for (size_t i = 0; i < H.preq.size(); i++) {
                H.preq[i] = tsr_f32_to_e4m3(rndf() * 300.0f);
                H.pre[i] = tsr_f32_to_bf16(tsr_e4m3_to_f32(H.preq[i]) * H.xs);
            }
            CK(cudaMalloc(&d_pre, H.preq.size()));
            CK(cudaMemcpy(d_pre, H.preq.data(), H.preq.size(), cudaMemcpyHostToDevice));
        }
        /* weights: fp32 -> per-channel e4m3, per-tensor e4m3, bf16 */
        H.wf.resize(nw), H.wq.resize(nw), H.ws.resize(L.cout), H.bias.resize(L.cout);
        float amp = 1.7f / sqrtf((float)H.taps * L.cin);
        for (size_t i = 0; i < nw; i++) H.wf[i] = rndf() * amp * (1.0f + (float)((i / (nw / L.cout)) % 7) * 0.3f);
        for (int n = 0; n < L.cout; n++) H.bias[n] = rndf() * 0.1f;
        tsr_fp8_quantize_rows(H.wf.data(), L.cout, nw / L.cout, H.wq.data(), H.ws.data());
        std::vector<uint8_t> wq1(nw);
        float ws1;
        tsr_fp8_quantize_rows(H.wf.data(), 1, nw, wq1.data(), &ws1);
        std::vector<uint16_t> wb(nw);
        for (size_t i = 0; i < nw; i++) wb[i] = tsr_f32_to_bf16(H.wf[i]);
        CK(cudaMemcpy(d_wq, H.wq.data(), nw, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(d_wq1, wq1.data(), nw, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(d_wb, wb.data(), nw * 2, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(d_ws, H.ws.data(), L.cout * 4, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(d_ws1, &ws1, 4, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(d_bias, H.bias.data(), L.cout * 4, cudaMemcpyHostToDevice));
        if (L.residual) {
            CK(cudaMalloc(&d_res, nout * 2));
            fill_bf16<<<2048, 256>>>(d_res, nout, rnd(), 1.0f);
            H.res.resize(nout);
            CK(cudaMemcpy(H.res.data(), d_res, nout * 2, cudaMemcpyDeviceToHost));
        }
        /* materialised causal input for cuDNN (first chunk: frame 0 replicated) */
        for (int e = 0; e < text; e++) {
            size_t src = e < pre_n ? 0 : (size_t)(e - pre_n) * frame;
            CK(cudaMemcpy(d_xext + e * frame, d_x + src, frame * 2, cudaMemcpyDeviceToDevice));
            CK(cudaMemcpy(d_xqext + e * frame, d_xq + src, frame, cudaMemcpyDeviceToDevice));
        }
        reference(H, 1024);

        for (int v = 0; v < 5; v++) {
            result r = {};
            CK(cudaMemset(d_out, 0xff, nout * 2));
            if (v < 3) {
                tsr_conv_fp8_params p = {};
                p.in = v == 2 ? d_xq16 : d_xq;
                p.prefix = d_pre;
                p.weight = d_wq;
                p.xscale = v == 2 ? d_xs16 : d_xs;
                p.wscale = d_ws;
                p.bias = d_bias;
                p.residual = d_res;
                p.out = d_out;
                p.t_in = L.t, p.h = L.h, p.w = L.w, p.cin = L.cin, p.cout = L.cout, p.out_stride = L.cout;
                p.kt = p.kh = p.kw = L.k, p.ph = p.pw = L.k / 2, p.h_out = L.h, p.w_out = L.w;
                if (L.prefix && v == 2) continue; /* the state would need the f16acc scale too */
                dim3 grid((L.cout + TSR_CONV_FP8_BN - 1) / TSR_CONV_FP8_BN,
                          (unsigned)((L.t * L.h * L.w + TSR_CONV_FP8_BM - 1) / TSR_CONV_FP8_BM));
                auto launch = [&]() {
                    if (v == 0) tsr_conv_fp8_f32acc<<<grid, TSR_CONV_FP8_THREADS>>>(p);
                    else if (v == 1) tsr_conv_fp8_f32acc_occ1<<<grid, TSR_CONV_FP8_THREADS>>>(p);
                    else tsr_conv_fp8_f16acc<<<grid, TSR_CONV_FP8_THREADS>>>(p);
                };
                launch();
                CK(cudaGetLastError());
                CK(cudaDeviceSynchronize());
                score(H, d_out, nout, r);
                r.ms = time_ms(launch, reps);
                CK(cudaGetLastError());
                r.ok = 1;
            } else {
                if (!dnn || L.prefix) continue;
                tsr_cudnn_conv_shape s = {};
                s.dtype = v == 4 ? TSR_CUDNN_FP8_E4M3 : TSR_CUDNN_BF16;
                s.t = text, s.h = L.h, s.w = L.w, s.cin = L.cin, s.cout = L.cout;
                s.kt = s.kh = s.kw = L.k, s.pt = 0, s.ph = s.pw = L.k / 2;
                s.has_xscale = v == 4, s.wscale = v == 4 ? 2 : 0, s.has_bias = 1, s.has_residual = L.residual;
                tsr_cudnn_conv_args a = {};
                a.x = v == 4 ? (void *)d_xqext : (void *)d_xext;
                a.w = v == 4 ? (void *)d_wq : (void *)d_wb;
                a.y = d_out, a.xscale = d_xs, a.wscale = d_ws, a.bias = d_bias, a.residual = d_res;
                a.workspace = ws, a.workspace_size = ws_size;
                tsr_cudnn_conv *cv = NULL;
                double t0 = now_s();
                tsr_status st = tsr_cudnn_conv_get(dnn, &s, &cv, &err);
                const char *how = "per-channel wscale";
                if (st != TSR_OK && v == 4) { /* fall back to a per-tensor weight scale */
                    printf("  cuDNN fp8 per-channel: %s\n", err.message);
                    s.wscale = 1, a.w = d_wq1, a.wscale = d_ws1, how = "per-tensor wscale";
                    st = tsr_cudnn_conv_get(dnn, &s, &cv, &err);
                }
                if (st != TSR_OK) {
                    printf("  %s: %s\n", vname[v], err.message);
                    continue;
                }
                double tb = now_s() - t0, best = 0;
                st = tsr_cudnn_conv_tune(dnn, cv, &a, 3, sync_now, NULL, &best, &err);
                if (st != TSR_OK) {
                    printf("  %s: tune: %s\n", vname[v], err.message);
                    continue;
                }
                printf("  %s: %d plans (built in %.2f s, %s), best %.3f ms\n", vname[v],
                       tsr_cudnn_conv_candidates(cv), tb, v == 4 ? how : "-", best);
                CK(cudaMemset(d_out, 0xff, nout * 2));
                if (tsr_cudnn_conv_run(dnn, cv, &a, &err) != TSR_OK) {
                    printf("  %s: run: %s\n", vname[v], err.message);
                    continue;
                }
                CK(cudaDeviceSynchronize());
                if (v == 4 && s.wscale == 1) { /* score against the per-tensor quantised reference */
                    host H1 = H;
                    H1.wq = wq1;
                    std::fill(H1.ws.begin(), H1.ws.end(), ws1);
                    H1.sm.clear(), H1.sn.clear(), H1.rt.clear(), H1.rq.clear();
                    uint32_t keep = rng;
                    reference(H1, 1024);
                    rng = keep;
                    score(H1, d_out, nout, r);
                } else score(H, d_out, nout, r);
                r.ms = time_ms([&]() { tsr_cudnn_conv_run(dnn, cv, &a, &err); }, reps);
                r.ok = 1;
            }
            r.tflops = flops / (r.ms * 1e-3) * 1e-12;
            printf("  %-24s %8.3f ms %7.1f TFLOP/s  rel_q %.2e  snr %5.1f dB  unwritten/nan %d\n", vname[v], r.ms,
                   r.tflops, r.relq, r.snr, r.bad);
            snprintf(table[nt++], sizeof table[0], "| %s | %s | %.3f | %.0f | %.1e | %.1f |%s", L.name, vname[v],
                     r.ms, r.tflops, v == 3 ? NAN : r.relq, r.snr, r.bad ? " **UNWRITTEN**" : "");
            if (nt == 64) nt--;
        }
        cudaFree(d_x), cudaFree(d_xq), cudaFree(d_xq16), cudaFree(d_xext), cudaFree(d_xqext), cudaFree(d_out);
        cudaFree(d_wb), cudaFree(d_wq), cudaFree(d_wq1), cudaFree(d_ws), cudaFree(d_ws1), cudaFree(d_bias);
        if (d_res) cudaFree(d_res);
        if (d_pre) cudaFree(d_pre);
    }
    printf("\n| layer | impl | ms | TFLOP/s | rel err vs quantised ref | SNR vs fp32 (dB) |\n|---|---|---|---|---|---|\n");
    for (int i = 0; i < nt; i++) printf("%s\n", table[i]);
    tsr_cudnn_close(&dnn);
    return 0;
}
