// conv_bf16.cu — causal 3D convolution as an implicit GEMM on tensor cores (mma.sync bf16, fp32 accumulate).
//
// Rows (M) are output pixels (t, h, w) in NDHWC order, columns (N) output channels, K = taps x input channels.
// The causal prefix (replicated frame 0 or the state frames) is read in place; zero spatial padding comes from
// predicates; an optional per-(frame, channel) GroupNorm affine + SiLU is applied while loading the input;
// bias, residual and an output scale are applied in the epilogue. The same kernel runs plain GEMMs
// C[m][n] = alpha * sum_k A[m][k] B[n][k] (1x1x1 "conv" over a row of M pixels), batched over blockIdx.z.
#include "tsr_mma.cuh"

#include "conv_args.cuh"

#define BM 128
#define BK 32
#define LDS 40   // padded smem row (halves): 80 bytes, conflict-free ldmatrix

// One BK-deep step of a warp's 64 x (NT*8) tile: A rows [wm*64, +64), B rows [wn*WN, +WN) of smem tiles with
// row stride LD (halves); shared by every variant below.
template <int NT, int WN, int LD, int KT>
__device__ __forceinline__ void warp_mma_ktile(float (&acc)[4][NT][4], const tsr_bf16 *cA, const tsr_bf16 *cB, int wm,
                                               int wn, int lane)
{
#pragma unroll
    for (int ks = 0; ks < KT; ks += 16) {
        uint32_t af[4][4], bfr[NT][2];
#pragma unroll
        for (int mt = 0; mt < 4; mt++)
            ldsm_x4(af[mt], &cA[(wm * 64 + mt * 16 + (lane & 15)) * LD + ks + (lane >> 4) * 8]);
#pragma unroll
        for (int nt = 0; nt < NT; nt += 2) {
            uint32_t r[4];
            ldsm_x4(r, &cB[(wn * WN + nt * 8 + (lane & 7) + (lane >> 4) * 8) * LD + ks + ((lane >> 3) & 1) * 8]);
            bfr[nt][0] = r[0]; bfr[nt][1] = r[1];
            bfr[nt + 1][0] = r[2]; bfr[nt + 1][1] = r[3];
        }
#pragma unroll
        for (int mt = 0; mt < 4; mt++)
#pragma unroll
            for (int nt = 0; nt < NT; nt++) mma_bf16(acc[mt][nt], af[mt], bfr[nt]);
    }
}

// Epilogue of every variant: alpha, bias (per column or per row), residual, bf16 or fp32 store.
template <int NT, int WN, bool F32OUT>
__device__ __forceinline__ void conv_epilogue(const ConvArgs &a, const float (&acc)[4][NT][4], long long m0, int n0,
                                              int wm, int wn, int lane)
{
#pragma unroll
    for (int mt = 0; mt < 4; mt++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            long long m = m0 + wm * 64 + mt * 16 + (lane >> 2) + half * 8;
            if (m >= a.M) continue;
            float brow = (a.bias && a.bias_row) ? a.bias[m] : 0.f;
#pragma unroll
            for (int nt = 0; nt < NT; nt++) {
                int n = n0 + wn * WN + nt * 8 + (lane & 3) * 2;
                if (n >= a.cout_p) continue;
                float y0 = acc[mt][nt][half * 2] * a.alpha, y1 = acc[mt][nt][half * 2 + 1] * a.alpha;
                if (a.bias) {
                    if (a.bias_row) { y0 += brow; y1 += brow; }
                    else { y0 += a.bias[n]; y1 += a.bias[n + 1]; }
                }
                long long o = a.sz_out * blockIdx.z + m * a.ldc + n;
                if (a.res) {
                    uint32_t r = *(const uint32_t *)(a.res + o);
                    y0 += lo_f(r); y1 += hi_f(r);
                }
                if (F32OUT) *(float2 *)((float *)a.out + o) = make_float2(y0, y1);
                else *(uint32_t *)((tsr_bf16 *)a.out + o) = pack2(y0, y1);
            }
        }
    }
}

template <int BN, bool F32OUT>
__device__ __forceinline__ void conv_body(const ConvArgs &a)
{
    constexpr int WN = BN / 4;        // warp tile 64 x WN; warps 2 (M) x 4 (N)
    constexpr int NT = WN / 8;
    constexpr int BROWS = BN / 64;    // B rows loaded per thread
    __shared__ __align__(16) tsr_bf16 sA[2][BM * LDS];
    __shared__ __align__(16) tsr_bf16 sB[2][BN * LDS];

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp & 1, wn = warp >> 1;
    const long long m0 = (long long)blockIdx.x * BM;
    const int n0 = blockIdx.y * BN;
    const tsr_bf16 *in = a.in + a.sz_in * blockIdx.z;
    const tsr_bf16 *wt = a.w + a.sz_w * blockIdx.z;

    // per-thread A rows: r and r+64, vector column v
    const int v = tid & 3;
    int ro[2], rh[2], rw[2];
    bool rv[2];
    for (int i = 0; i < 2; i++) {
        long long m = m0 + (tid >> 2) + i * 64;
        rv[i] = m < a.M;
        long long mm = rv[i] ? m : 0;
        rw[i] = (int)(mm % a.w_out);
        long long q = mm / a.w_out;
        rh[i] = (int)(q % a.h_out);
        ro[i] = (int)(q / a.h_out);
    }
    const int taps = a.kt * a.kh * a.kw;
    const int csteps = (a.cin_p + BK - 1) / BK;
    const int nk = taps * csteps;
    const long long plane = (long long)a.h_in * a.w_in * a.cin_p;

    uint4 ra[2], rb[BROWS];
    float acc[4][NT][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < NT; j++)
            for (int k = 0; k < 4; k++) acc[i][j][k] = 0.f;

    auto load = [&](int kk) {
        int tap = kk / csteps, c = (kk - tap * csteps) * BK + v * 8;
        int dw = tap % a.kw, dh = (tap / a.kw) % a.kh, dt = tap / (a.kw * a.kh);
        bool cv = c < a.cin_p;
        for (int i = 0; i < 2; i++) {
            uint4 x = make_uint4(0, 0, 0, 0);
            int e = ro[i] * a.st + dt;
            int hi = rh[i] * a.sh - a.pt + dh, wi = rw[i] * a.sw - a.pl + dw;
            if (rv[i] && cv && hi >= 0 && hi < a.h_in && wi >= 0 && wi < a.w_in) {
                const tsr_bf16 *src;
                const float2 *aff = nullptr;
                if (e >= a.prefix) {
                    src = in + (long long)(e - a.prefix) * plane;
                    if (a.in_aff) aff = a.in_aff + (long long)(e - a.prefix) * a.cin_p;
                } else if (a.pre) {
                    src = a.pre + (long long)e * plane;
                    if (a.in_aff) aff = a.pre_aff + (long long)e * a.cin_p;
                } else {
                    src = in;
                    if (a.in_aff) aff = a.in_aff;
                }
                x = *(const uint4 *)(src + ((long long)hi * a.w_in + wi) * a.cin_p + c);
                if (aff) {
                    uint32_t *p = (uint32_t *)&x;
                    const float4 *af = (const float4 *)(aff + c);
#pragma unroll
                    for (int j = 0; j < 4; j++) {
                        float4 s = __ldg(af + j);   // {scale0, shift0, scale1, shift1}
                        float y0 = lo_f(p[j]) * s.x + s.y, y1 = hi_f(p[j]) * s.z + s.w;
                        if (a.silu) { y0 = silu_f(y0); y1 = silu_f(y1); }
                        p[j] = pack2(y0, y1);
                    }
                }
            }
            ra[i] = x;
        }
        for (int i = 0; i < BROWS; i++) {
            int n = n0 + (tid >> 2) + i * 64;
            uint4 x = make_uint4(0, 0, 0, 0);
            if (n < a.cout_p && cv) x = __ldg((const uint4 *)(wt + ((long long)n * taps + tap) * a.cin_p + c));
            rb[i] = x;
        }
    };
    auto store = [&](int buf) {
        for (int i = 0; i < 2; i++) *(uint4 *)&sA[buf][((tid >> 2) + i * 64) * LDS + v * 8] = ra[i];
        for (int i = 0; i < BROWS; i++) *(uint4 *)&sB[buf][((tid >> 2) + i * 64) * LDS + v * 8] = rb[i];
    };

    load(0);
    store(0);
    __syncthreads();
    for (int kk = 0; kk < nk; kk++) {
        int buf = kk & 1;
        if (kk + 1 < nk) load(kk + 1);
        warp_mma_ktile<NT, WN, LDS, BK>(acc, sA[buf], sB[buf], wm, wn, lane);
        if (kk + 1 < nk) store(buf ^ 1);
        __syncthreads();
    }

    conv_epilogue<NT, WN, F32OUT>(a, acc, m0, n0, wm, wn, lane);
}


// Pipelined variant: cp.async (zero-fill for padding and tails), STAGES deep, dynamic shared memory.
// No prologue affine (the backend applies GroupNorm+SiLU in a separate pass).
template <int BN, bool F32OUT, int BKT, int STAGES>
__device__ __forceinline__ void conv_async_body(const ConvArgs &a)
{
    constexpr int LDK = BKT + 8;          // padded smem row (halves): conflict-free ldmatrix
    constexpr int VPR = BKT / 8;          // 16-byte vectors per row
    constexpr int RPP = 256 / VPR;        // rows per pass of 256 threads
    constexpr int AR = BM / RPP;          // A rows per thread
    constexpr int WN = BN / 4;
    constexpr int NT = WN / 8;
    constexpr int BROWS = BN / RPP;
    constexpr int A_ST = BM * LDK, B_ST = BN * LDK;
    extern __shared__ __align__(16) tsr_bf16 smem[];
    tsr_bf16 *sA = smem, *sB = smem + STAGES * A_ST;

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp & 1, wn = warp >> 1;
    const long long m0 = (long long)blockIdx.x * BM;
    const int n0 = blockIdx.y * BN;
    const tsr_bf16 *in = a.in + a.sz_in * blockIdx.z;
    const tsr_bf16 *wt = a.w + a.sz_w * blockIdx.z;

    const int v = tid % VPR, r0 = tid / VPR;
    int ro[AR], rh[AR], rw[AR];
    bool rv[AR];
#pragma unroll
    for (int i = 0; i < AR; i++) {
        long long m = m0 + r0 + i * RPP;
        rv[i] = m < a.M;
        long long mm = rv[i] ? m : 0;
        rw[i] = (int)(mm % a.w_out);
        long long q = mm / a.w_out;
        rh[i] = (int)(q % a.h_out);
        ro[i] = (int)(q / a.h_out);
    }
    const int taps = a.kt * a.kh * a.kw;
    const int csteps = (a.cin_p + BKT - 1) / BKT;
    const int nk = taps * csteps;
    const long long plane = (long long)a.h_in * a.w_in * a.cin_p;

    float acc[4][NT][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < NT; j++)
#pragma unroll
            for (int k = 0; k < 4; k++) acc[i][j][k] = 0.f;

    // Issue cursor: the row source pointers change only when the tap changes (every csteps k-tiles).
    int c_tap = -1, c_cs = 0;
    const tsr_bf16 *c_a[AR];
    bool c_ok[AR];
    const tsr_bf16 *c_b[BROWS];
    bool c_bok[BROWS];
    auto set_tap = [&](int tap) {
        int dw = tap % a.kw, dh = (tap / a.kw) % a.kh, dt = tap / (a.kw * a.kh);
#pragma unroll
        for (int i = 0; i < AR; i++) {
            int e = ro[i] * a.st + dt;
            int hi = rh[i] * a.sh - a.pt + dh, wi = rw[i] * a.sw - a.pl + dw;
            c_ok[i] = rv[i] && hi >= 0 && hi < a.h_in && wi >= 0 && wi < a.w_in;
            const tsr_bf16 *fr = e >= a.prefix ? in + (long long)(e - a.prefix) * plane
                                 : a.pre   ? a.pre + (long long)e * plane
                                           : in;
            c_a[i] = c_ok[i] ? fr + ((long long)hi * a.w_in + wi) * a.cin_p + v * 8 : in;
        }
#pragma unroll
        for (int i = 0; i < BROWS; i++) {
            int n = n0 + r0 + i * RPP;
            c_bok[i] = n < a.cout_p;
            c_b[i] = c_bok[i] ? wt + ((long long)n * taps + tap) * a.cin_p + v * 8 : wt;
        }
    };
    auto issue = [&](int stage) {   // issues the k-tile at the cursor, then advances it
        if (c_cs == 0) set_tap(++c_tap);
        int c = c_cs * BKT;
        bool cv = c + v * 8 < a.cin_p;
#pragma unroll
        for (int i = 0; i < AR; i++) {
            bool ok = c_ok[i] && cv;
            cp_async16(&sA[stage * A_ST + (r0 + i * RPP) * LDK + v * 8], ok ? c_a[i] + c : in, ok ? 16 : 0);
        }
#pragma unroll
        for (int i = 0; i < BROWS; i++) {
            bool ok = c_bok[i] && cv;
            cp_async16(&sB[stage * B_ST + (r0 + i * RPP) * LDK + v * 8], ok ? c_b[i] + c : wt, ok ? 16 : 0);
        }
        if (++c_cs == csteps) c_cs = 0;
    };

#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < nk) issue(s);
        cp_async_commit();
    }
    for (int kk = 0; kk < nk; kk++) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        int nx = kk + STAGES - 1;
        if (nx < nk) issue(nx % STAGES);
        cp_async_commit();
        warp_mma_ktile<NT, WN, LDK, BKT>(acc, sA + (kk % STAGES) * A_ST, sB + (kk % STAGES) * B_ST, wm, wn, lane);
    }
    cp_async_wait<0>();

    conv_epilogue<NT, WN, F32OUT>(a, acc, m0, n0, wm, wn, lane);
}

extern "C" __global__ void __launch_bounds__(256, 2) tsr_conv_bn128(ConvArgs a) { conv_body<128, false>(a); }
extern "C" __global__ void __launch_bounds__(256) tsr_conv_bn64(ConvArgs a) { conv_body<64, false>(a); }
extern "C" __global__ void __launch_bounds__(256, 2) tsr_gemm_f32_bn128(ConvArgs a) { conv_body<128, true>(a); }
extern "C" __global__ void __launch_bounds__(256, 2) tsr_conv_async_bn128(ConvArgs a) { conv_async_body<128, false, 32, 4>(a); }
extern "C" __global__ void __launch_bounds__(256, 2) tsr_conv_async_bn64(ConvArgs a) { conv_async_body<64, false, 32, 4>(a); }
extern "C" __global__ void __launch_bounds__(256, 2) tsr_gemm_async_f32_bn128(ConvArgs a) { conv_async_body<128, true, 32, 4>(a); }
extern "C" __global__ void __launch_bounds__(256, 1) tsr_conv_async_bn256(ConvArgs a) { conv_async_body<256, false, 32, 4>(a); }
extern "C" __global__ void __launch_bounds__(256, 2) tsr_conv_async_k64_bn128(ConvArgs a) { conv_async_body<128, false, 64, 3>(a); }

// ---------------------------------------------------------------- narrow conv (cout_p == 8: the decoder's conv_out)
// A general implicit GEMM spends 120 of its 128 N columns on nothing when cout is 3, and re-reads its input once per
// tap. Here a block owns NR_TH x NR_TW output pixels of every output frame: it walks the extended input frames once,
// stages each frame's (NR_TH + 2) x (NR_TW + 2) patch in shared memory NR_CK channels at a time (the GroupNorm affine
// and SiLU applied on the way, rounded to bf16 exactly as tsr_gn_apply does, so no normalised copy of the input is
// ever written), and feeds every 3x3 tap of that patch to up to kt output frames at once: acc[d] collects output
// frame e - d of extended frame e (in slot d + 3 - kt). The weights of all taps stay in shared memory. 8 warps: one output row of 32
// pixels (two m16 tiles) each. Needs cout_p == 8, kh, kw, kt <= 3, strides 1, cin_p % NR_CK == 0 (host checks).
// One body, two kernels: tsr_conv_narrow takes every size at run time; tsr_conv_narrow_333 is the decoder's conv_out
// (3x3x3, 128 inputs) with the sizes known at compile time: the tap loops unroll, every shared-memory address is a
// base plus an immediate, and no tap is skipped (a slot whose output lies outside the chunk is never stored). Nsight
// Compute had found the generic kernel issue-bound (7.5 cycles per issued instruction, 25 % occupancy; about 24
// instructions per MMA, derived from its cycle and issue counts); the fixed one ran a 4 x 1080 x 1920 chunk in
// 5.35 ms against 7.32 (RESULTS.md, session 10).
#define NR_TH 8
#define NR_TW 32
#define NR_CK 32
#define NR_LDP 40                   // patch pixel row (halves): 80 bytes, conflict-free ldmatrix
#define NR_PW (NR_TW + 2)
#define NR_PIX ((NR_TH + 2) * NR_PW)
#define NR_VPT ((NR_PIX * (NR_CK / 8) + 255) / 256)   // 16-byte patch vectors per thread

template <int KT, int KH, int KW, int CINP>   // 0: the argument's value
__device__ __forceinline__ void narrow_body(const ConvArgs &a)
{
    extern __shared__ __align__(16) tsr_bf16 nsm[];
    constexpr bool fixed = KT && KH && KW && CINP;
    const int kt = KT ? KT : a.kt, kh = KH ? KH : a.kh, kw = KW ? KW : a.kw, cin_p = CINP ? CINP : a.cin_p;
    const int taps = kt * kh * kw, wld = cin_p + 8;
    tsr_bf16 *sw = nsm, *sp = nsm + taps * 8 * wld;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int w0 = blockIdx.x * NR_TW, h0 = blockIdx.y * NR_TH;
    const long long plane = (long long)a.h_in * a.w_in * cin_p;

    // all weights: global [8][taps][cin_p] -> shared [taps][8][wld]
    const int wv = cin_p / 8;
    for (int i = tid; i < 8 * taps * wv; i += 256) {
        int c8 = i % wv, r = i / wv, tap = r % taps, n = r / taps;
        *(uint4 *)&sw[(tap * 8 + n) * wld + c8 * 8] = __ldg((const uint4 *)(a.w + (long long)r * cin_p) + c8);
    }

    const int chunks = cin_p / NR_CK, ext = a.prefix + a.t_in, steps = ext * chunks, t_out = ext - kt + 1;
    const int v = tid & 3;          // the thread's 8-channel vector within a chunk (256 % 4 == 0: the same every pass)
    uint4 stg[NR_VPT];
    float sc[8], sf[8];
    bool norm = false;

    auto load = [&](int s) {        // global -> registers, and this vector's affine
        int e = s / chunks, c = (s - e * chunks) * NR_CK + v * 8;
        const tsr_bf16 *src;
        const float2 *aff = nullptr;
        if (e >= a.prefix) {
            src = a.in + (long long)(e - a.prefix) * plane;
            if (a.in_aff) aff = a.in_aff + (long long)(e - a.prefix) * cin_p;
        } else if (a.pre) {
            src = a.pre + (long long)e * plane;
            if (a.in_aff) aff = a.pre_aff + (long long)e * cin_p;
        } else {                    // first chunk: frame 0 replicated
            src = a.in;
            aff = a.in_aff;
        }
        norm = aff != nullptr;
        if (norm) {
            const float4 *af = (const float4 *)(aff + c);
#pragma unroll
            for (int j = 0; j < 4; j++) {
                float4 q = __ldg(af + j);
                sc[2 * j] = q.x, sf[2 * j] = q.y, sc[2 * j + 1] = q.z, sf[2 * j + 1] = q.w;
            }
        }
#pragma unroll
        for (int j = 0; j < NR_VPT; j++) {
            int pix = (tid + j * 256) >> 2;
            uint4 x = make_uint4(0, 0, 0, 0);
            if (pix < NR_PIX) {
                int hi = h0 - a.pt + pix / NR_PW, wi = w0 - a.pl + pix % NR_PW;
                if (hi >= 0 && hi < a.h_in && wi >= 0 && wi < a.w_in)
                    x = __ldg((const uint4 *)(src + ((long long)hi * a.w_in + wi) * cin_p + c));
            }
            stg[j] = x;
        }
    };
    auto store = [&]() {            // registers -> patch, normalised (zero padding stays zero)
#pragma unroll
        for (int j = 0; j < NR_VPT; j++) {
            int pix = (tid + j * 256) >> 2;
            if (pix >= NR_PIX) continue;
            uint4 x = stg[j];
            if (norm) {
                int hi = h0 - a.pt + pix / NR_PW, wi = w0 - a.pl + pix % NR_PW;
                if (hi >= 0 && hi < a.h_in && wi >= 0 && wi < a.w_in) {
                    uint32_t *q = (uint32_t *)&x;
#pragma unroll
                    for (int k = 0; k < 4; k++) {
                        float y0 = fmaf(lo_f(q[k]), sc[2 * k], sf[2 * k]);
                        float y1 = fmaf(hi_f(q[k]), sc[2 * k + 1], sf[2 * k + 1]);
                        if (a.silu) y0 = silu_fast(y0), y1 = silu_fast(y1);
                        q[k] = pack2_rn(y0, y1);
                    }
                }
            }
            *(uint4 *)&sp[pix * NR_LDP + v * 8] = x;
        }
    };

    float acc[3][2][4] = {};

    load(0);
    store();
    __syncthreads();
    for (int s = 0; s < steps; s++) {
        const int e = s / chunks, ck = s - e * chunks;
        if (s + 1 < steps) load(s + 1);
#pragma unroll
        for (int dh = 0; dh < (KH ? KH : 3); dh++)
#pragma unroll
            for (int dw = 0; dw < (KW ? KW : 3); dw++) {
                if (!fixed && (dh >= kh || dw >= kw)) continue;
#pragma unroll
                for (int ks = 0; ks < NR_CK; ks += 16) {
                    uint32_t af[2][4];
#pragma unroll
                    for (int mt = 0; mt < 2; mt++)
                        ldsm_x4(af[mt], &sp[((warp + dh) * NR_PW + mt * 16 + (lane & 15) + dw) * NR_LDP + ks +
                                            (lane >> 4) * 8]);
#pragma unroll
                    for (int j = 0; j < 3; j++) {   // slot j holds temporal tap d = j - (3 - kt): output e - d
                        int d = j - 3 + kt, to = e - d;
                        if (d < 0 || (!fixed && (to < 0 || to >= t_out))) continue;
                        uint32_t bfr[2];
                        ldsm_x2(bfr, &sw[(((d * kh + dh) * kw + dw) * 8 + (lane & 7)) * wld + ck * NR_CK + ks +
                                         ((lane >> 3) & 1) * 8]);
                        mma_bf16(acc[j][0], af[0], bfr);
                        mma_bf16(acc[j][1], af[1], bfr);
                    }
                }
            }
        if (ck == chunks - 1) {     // frame e done: output e - (kt - 1) is complete
            const int to = e - (kt - 1);
            if (to >= 0 && to < t_out) {
                const float (&r)[2][4] = acc[2];   // tap d = kt - 1
                const int h = h0 + warp, n = (lane & 3) * 2;
                const float b0 = a.bias ? a.bias[n] : 0.f, b1 = a.bias ? a.bias[n + 1] : 0.f;
#pragma unroll
                for (int mt = 0; mt < 2; mt++)
#pragma unroll
                    for (int half = 0; half < 2; half++) {
                        int w = w0 + mt * 16 + (lane >> 2) + half * 8;
                        if (h >= a.h_out || w >= a.w_out) continue;
                        long long o = (((long long)to * a.h_out + h) * a.w_out + w) * 8 + n;
                        float y0 = r[mt][half * 2] + b0, y1 = r[mt][half * 2 + 1] + b1;
                        if (a.res) {
                            uint32_t q = *(const uint32_t *)(a.res + o);
                            y0 += lo_f(q), y1 += hi_f(q);
                        }
                        *(uint32_t *)((tsr_bf16 *)a.out + o) = pack2(y0, y1);
                    }
            }
#pragma unroll
            for (int j = 2; j >= 1; j--)   // the next frame's taps: each slot's output moves one slot up
#pragma unroll
                for (int mt = 0; mt < 2; mt++)
#pragma unroll
                    for (int k = 0; k < 4; k++) acc[j][mt][k] = acc[j - 1][mt][k];
#pragma unroll
            for (int mt = 0; mt < 2; mt++)
#pragma unroll
                for (int k = 0; k < 4; k++) acc[0][mt][k] = 0.f;
        }
        __syncthreads();
        if (s + 1 < steps) {
            store();
            __syncthreads();
        }
    }
}

extern "C" __global__ void __launch_bounds__(256, 2) tsr_conv_narrow(ConvArgs a) { narrow_body<0, 0, 0, 0>(a); }
extern "C" __global__ void __launch_bounds__(256, 2) tsr_conv_narrow_333(ConvArgs a) { narrow_body<3, 3, 3, 128>(a); }
