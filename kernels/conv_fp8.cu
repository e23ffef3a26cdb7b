/* FP8 e4m3 implicit-GEMM causal conv3d (stride 1) on warp-level tensor cores:
 * mma.sync.aligned.m16n8k32.row.col.{f32,f16}.e4m3.e4m3 — sm_89 (Ada), sm_90 (Hopper), sm_120 (Blackwell GeForce).
 * GEMM view: M = output pixels (t, y, x), N = output channels, K = taps * cin. Tiles 128 x 128 x 64 bytes,
 * 8 warps of 64 x 32, 3-stage cp.async pipeline, ldmatrix from XOR-swizzled shared memory (conflict-free).
 * Spatial zero padding and the causal prefix are resolved while gathering A: nothing is copied or padded. */
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>

#include "conv_fp8.h"

#define BM TSR_CONV_FP8_BM
#define BN TSR_CONV_FP8_BN
#define BK 64
#define STAGES 3
#define NT TSR_CONV_FP8_THREADS

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
#define TSR_HAVE_FP8_MMA 1
#else
#define TSR_HAVE_FP8_MMA 0
#endif

__device__ __forceinline__ uint32_t smem_addr(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }

__device__ __forceinline__ void cp_async16(uint32_t dst, const void *src, int bytes)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit(void) { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait(void)
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldsm_x4(uint32_t addr, uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(addr));
}

/* byte offset of 16-byte chunk `c` (0..3) of row `r` in a [rows][64 B] tile, swizzled so that ldmatrix phases
 * (8 rows, one chunk) hit 8 distinct bank groups */
__device__ __forceinline__ uint32_t swz(int r, int c) { return (uint32_t)(r * 64 + ((c ^ ((r >> 1) & 3)) << 4)); }

__device__ __forceinline__ void mma_f32(float *d, const uint32_t *a, const uint32_t *b)
{
#if TSR_HAVE_FP8_MMA
    asm volatile("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

__device__ __forceinline__ void mma_f16(uint32_t *d, const uint32_t *a, const uint32_t *b)
{
#if TSR_HAVE_FP8_MMA
    asm volatile("mma.sync.aligned.m16n8k32.row.col.f16.e4m3.e4m3.f16 {%0,%1}, {%2,%3,%4,%5}, {%6,%7}, {%0,%1};\n"
                 : "+r"(d[0]), "+r"(d[1])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

struct row_info {
    int valid, to, oy, ox;
};

/* F16ACC: each 64-deep k-block is summed in fp16 by the tensor cores (2x the rate on GeForce parts), then added
 * to fp32 accumulators; the activation scale must keep 64-term partial sums inside the fp16 range. */
template <bool F16ACC> __device__ __forceinline__ void conv_fp8_body(const tsr_conv_fp8_params &p)
{
#if TSR_HAVE_FP8_MMA
    __shared__ __align__(128) uint8_t sA[STAGES][BM * BK];
    __shared__ __align__(128) uint8_t sB[STAGES][BN * BK];

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int warp_m = warp >> 2, warp_n = warp & 3; /* 2 x 4 warps, each 64 (M) x 32 (N) */
    const int n0 = blockIdx.x * BN, m0 = blockIdx.y * BM;
    const int hw_out = p.h_out * p.w_out;
    const int M = p.t_in * hw_out;
    const int taps = p.kt * p.kh * p.kw, khw = p.kh * p.kw;
    const int ncb = (p.cin + BK - 1) / BK;
    const int num_k = taps * ncb;
    const size_t frame = (size_t)p.h * p.w * p.cin;
    const int prefix_n = p.kt - 1;

    /* this thread's load slots: rows tid/4 and tid/4 + 64, 16-byte chunk tid & 3 (A and B alike) */
    const int lrow = tid >> 2, lchunk = tid & 3;
    row_info ri[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        int m = m0 + lrow + 64 * i;
        ri[i].valid = m < M;
        int mm = ri[i].valid ? m : 0;
        ri[i].to = mm / hw_out;
        int r = mm - ri[i].to * hw_out;
        ri[i].oy = r / p.w_out;
        ri[i].ox = r - ri[i].oy * p.w_out;
    }

    auto load_stage = [&](int stage, int kiter) {
        int tap = kiter / ncb, cb = kiter - tap * ncb;
        int dt = tap / khw, r = tap - dt * khw, dy = r / p.kw, dx = r - dy * p.kw;
        int c = cb * BK + lchunk * 16;
        bool cok = c < p.cin;
#pragma unroll
        for (int i = 0; i < 2; i++) {
            int e = ri[i].to + dt, iy = ri[i].oy + dy - p.ph, ix = ri[i].ox + dx - p.pw;
            const uint8_t *fb;
            if (e < prefix_n) fb = p.prefix ? p.prefix + (size_t)e * frame : p.in;
            else fb = p.in + (size_t)(e - prefix_n) * frame;
            bool ok = cok && ri[i].valid && iy >= 0 && iy < p.h && ix >= 0 && ix < p.w;
            const uint8_t *src = ok ? fb + ((size_t)iy * p.w + ix) * p.cin + c : p.in;
            cp_async16(smem_addr(&sA[stage][0]) + swz(lrow + 64 * i, lchunk), src, ok ? 16 : 0);
        }
#pragma unroll
        for (int i = 0; i < 2; i++) {
            int n = n0 + lrow + 64 * i;
            bool ok = cok && n < p.cout;
            const uint8_t *src = ok ? p.weight + ((size_t)n * taps + tap) * p.cin + c : p.weight;
            cp_async16(smem_addr(&sB[stage][0]) + swz(lrow + 64 * i, lchunk), src, ok ? 16 : 0);
        }
    };

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int k = 0; k < 4; k++) acc[i][j][k] = 0.0f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < num_k) load_stage(s, s);
        cp_async_commit();
    }

    for (int kiter = 0; kiter < num_k; kiter++) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        {
            int nk = kiter + STAGES - 1;
            if (nk < num_k) load_stage(nk % STAGES, nk);
            cp_async_commit();
        }
        const int st = kiter % STAGES;
        const uint32_t a_base = smem_addr(&sA[st][0]), b_base = smem_addr(&sB[st][0]);
        uint32_t hacc[4][4][2];
        if (F16ACC) {
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) hacc[i][j][0] = hacc[i][j][1] = 0u;
        }
#pragma unroll
        for (int kk = 0; kk < 2; kk++) {
            uint32_t af[4][4], bf[4][2];
#pragma unroll
            for (int mi = 0; mi < 4; mi++) {
                int row = warp_m * 64 + mi * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
                int ch = kk * 2 + (lane >> 4);
                ldsm_x4(a_base + swz(row, ch), af[mi][0], af[mi][1], af[mi][2], af[mi][3]);
            }
#pragma unroll
            for (int nj = 0; nj < 2; nj++) {
                int row = warp_n * 32 + nj * 16 + (lane & 7) + (lane >> 4) * 8;
                int ch = kk * 2 + ((lane >> 3) & 1);
                ldsm_x4(b_base + swz(row, ch), bf[nj * 2][0], bf[nj * 2][1], bf[nj * 2 + 1][0], bf[nj * 2 + 1][1]);
            }
#pragma unroll
            for (int mi = 0; mi < 4; mi++)
#pragma unroll
                for (int ni = 0; ni < 4; ni++) {
                    if (F16ACC) mma_f16(hacc[mi][ni], af[mi], bf[ni]);
                    else mma_f32(acc[mi][ni], af[mi], bf[ni]);
                }
        }
        if (F16ACC) {
#pragma unroll
            for (int mi = 0; mi < 4; mi++)
#pragma unroll
                for (int ni = 0; ni < 4; ni++) {
                    __half2 lo = *reinterpret_cast<__half2 *>(&hacc[mi][ni][0]);
                    __half2 hi = *reinterpret_cast<__half2 *>(&hacc[mi][ni][1]);
                    float2 l = __half22float2(lo), h = __half22float2(hi);
                    acc[mi][ni][0] += l.x;
                    acc[mi][ni][1] += l.y;
                    acc[mi][ni][2] += h.x;
                    acc[mi][ni][3] += h.y;
                }
        }
    }
    cp_async_wait<0>();

    /* epilogue: scales, bias, residual, bf16 */
    const float xs = *p.xscale;
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int ni = 0; ni < 4; ni++) {
#pragma unroll
        for (int jj = 0; jj < 2; jj++) {
            int n = n0 + warp_n * 32 + ni * 8 + t * 2 + jj;
            if (n >= p.cout) continue;
            float sc = xs * p.wscale[n], b = p.bias ? p.bias[n] : 0.0f;
#pragma unroll
            for (int mi = 0; mi < 4; mi++)
#pragma unroll
                for (int hh = 0; hh < 2; hh++) {
                    int m = m0 + warp_m * 64 + mi * 16 + g + hh * 8;
                    if (m >= M) continue;
                    size_t o = (size_t)m * p.out_stride + n;
                    float v = acc[mi][ni][hh * 2 + jj] * sc + b;
                    if (p.residual) v += __bfloat162float(__ushort_as_bfloat16(p.residual[o]));
                    p.out[o] = __bfloat16_as_ushort(__float2bfloat16_rn(v));
                }
        }
    }
#else
    (void)p;
    __trap(); /* the host never launches FP8 kernels below sm_89 */
#endif
}

extern "C" __global__ void __launch_bounds__(NT, 2) tsr_conv_fp8_f32acc(const tsr_conv_fp8_params p)
{
    conv_fp8_body<false>(p);
}
/* one block per SM, no register cap (135 registers, no spills): measured against the capped one */
extern "C" __global__ void __launch_bounds__(NT) tsr_conv_fp8_f32acc_occ1(const tsr_conv_fp8_params p)
{
    conv_fp8_body<false>(p);
}
extern "C" __global__ void __launch_bounds__(NT) tsr_conv_fp8_f16acc(const tsr_conv_fp8_params p)
{
    conv_fp8_body<true>(p);
}

/* amax over bf16 values (NaN ignored) into *amax_bits (a float's bits; non-negative floats order as integers).
 * The caller zeroes *amax_bits first. */
extern "C" __global__ void tsr_amax_bf16(const uint16_t *x, size_t n, unsigned *amax_bits)
{
    float m = 0.0f;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float a = fabsf(__bfloat162float(__ushort_as_bfloat16(x[i])));
        if (a > m) m = a;
    }
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    if ((threadIdx.x & 31) == 0 && m > 0.0f) atomicMax(amax_bits, __float_as_uint(m));
}

/* q = e4m3(x * target / amax) (saturating), scale = amax / target (1 when amax is 0 or not finite). */
extern "C" __global__ void tsr_quant_bf16_e4m3(const uint16_t *x, size_t n, const unsigned *amax_bits, float target,
                                               uint8_t *q, float *scale)
{
    float amax = __uint_as_float(*amax_bits);
    float s = (amax > 0.0f && amax <= 3.0e38f) ? amax / target : 1.0f;
    float inv = 1.0f / s;
    if (blockIdx.x == 0 && threadIdx.x == 0) *scale = s;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = __bfloat162float(__ushort_as_bfloat16(x[i])) * inv;
        q[i] = (uint8_t)__nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3);
    }
}

/* Per-row (output channel) weight quantisation on the device: one block per row of `cols` bf16 values;
 * scale[r] = amax / 448 (1 for an all-zero row), q = e4m3(w / scale[r]). Matches tsr_fp8_quantize_rows. */
extern "C" __global__ void tsr_quant_rows_bf16_e4m3(const uint16_t *w, int cols, uint8_t *q, float *scale)
{
    __shared__ float red[32];
    const uint16_t *row = w + (size_t)blockIdx.x * cols;
    float m = 0.0f;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) m = fmaxf(m, fabsf(__bfloat162float(__ushort_as_bfloat16(row[i]))));
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = m;
    __syncthreads();
    if (threadIdx.x < 32) {
        m = threadIdx.x < (blockDim.x + 31) / 32 ? red[threadIdx.x] : 0.0f;
        for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
        if (threadIdx.x == 0) red[0] = m;
    }
    __syncthreads();
    float s = red[0] > 0.0f ? red[0] / 448.0f : 1.0f, inv = 1.0f / s;
    if (threadIdx.x == 0) scale[blockIdx.x] = s;
    for (int i = threadIdx.x; i < cols; i += blockDim.x)
        q[(size_t)blockIdx.x * cols + i] =
            (uint8_t)__nv_cvt_float_to_fp8(__bfloat162float(__ushort_as_bfloat16(row[i])) * inv, __NV_SATFINITE, __NV_E4M3);
}
