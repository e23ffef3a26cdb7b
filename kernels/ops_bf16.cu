// ops_bf16.cu — memory-bound ops on NDHWC bf16 activations: GroupNorm statistics (split reduction, fp32
// shifted sums + Chan merges), GroupNorm apply (+SiLU), depth-to-space with dropped frame, add, row softmax, V transpose.
#include "tsr_mma.cuh"

// ---------------------------------------------------------------- GroupNorm
// Three kernels, all bandwidth-bound and deterministic (fixed reduction order, no atomics):
//  tsr_gn_stats    grid (splits, T): each block reduces a slice of one frame's pixels to per-channel
//                  {n, mean, M2} (per-thread shifted sums, then a Chan merge tree in shared memory);
//  tsr_gn_finalize grid (channel slices, T): per channel merge of the splits, per group merge of its channels
//                  (equal n), then the per-(frame, channel) affine {gamma*rstd, beta - mean*gamma*rstd};
//  tsr_gn_apply    grid (x, T): y = x*scale + shift (+SiLU), 16-byte loads/stores, 4 vectors in flight per thread,
//                  the thread's 8-channel affine held in registers; optionally copies raw frames >= copy_from to
//                  `copy` (the causal state) on the way and writes frame 0's result to the `rep` frames before y
//                  (the replicated causal prefix of a first chunk).


#define GN_THREADS 256
#define GN_BATCH 4

// partial[(t*splits + s)*cp + ch] = {n, mean, M2, 0} of channel ch over pixels [s*per, min((s+1)*per, hw)).
extern "C" __global__ void __launch_bounds__(GN_THREADS) tsr_gn_stats(const tsr_bf16 *x, int hw, int cp, int per,
                                                                      float4 *partial)
{
    __shared__ float2 red[8][GN_THREADS];
    __shared__ float cnt[GN_THREADS];
    const int vecs = cp >> 3, t = blockIdx.y, s = blockIdx.x, splits = gridDim.x, tid = threadIdx.x;
    const int ppi = GN_THREADS / vecs;          // pixels per iteration (host guarantees vecs <= 256)
    const int vi = tid % vecs, p0 = tid / vecs;
    const int pa = s * per, pb = min(pa + per, hw);
    const bool act = p0 < ppi;
    float sh[8], sm[8], sq[8], n = 0.f;
#pragma unroll
    for (int j = 0; j < 8; j++) sh[j] = sm[j] = sq[j] = 0.f;
    const tsr_bf16 *base = x + (long long)t * hw * cp + vi * 8;
    int p = pa + p0;
    if (act && p < pb) {   // shift = the thread's first value of each channel: no cancellation in the sums
        uint4 v = __ldg((const uint4 *)(base + (long long)p * cp));
        const uint32_t *q = (const uint32_t *)&v;
#pragma unroll
        for (int j = 0; j < 4; j++) sh[2 * j] = lo_f(q[j]), sh[2 * j + 1] = hi_f(q[j]);
    }
    if (act) {
        for (; p < pb; p += GN_BATCH * ppi) {
            uint4 v[GN_BATCH];
#pragma unroll
            for (int b = 0; b < GN_BATCH; b++)
                if (p + b * ppi < pb) v[b] = __ldg((const uint4 *)(base + (long long)(p + b * ppi) * cp));
#pragma unroll
            for (int b = 0; b < GN_BATCH; b++) {
                if (p + b * ppi >= pb) break;
                const uint32_t *q = (const uint32_t *)&v[b];
                n += 1.f;
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    float d0 = lo_f(q[j]) - sh[2 * j], d1 = hi_f(q[j]) - sh[2 * j + 1];
                    sm[2 * j] += d0, sq[2 * j] = fmaf(d0, d0, sq[2 * j]);
                    sm[2 * j + 1] += d1, sq[2 * j + 1] = fmaf(d1, d1, sq[2 * j + 1]);
                }
            }
        }
    }
#pragma unroll
    for (int j = 0; j < 8; j++) {
        float mean = n > 0.f ? sh[j] + sm[j] / n : 0.f;
        float m2 = n > 0.f ? fmaxf(sq[j] - sm[j] * sm[j] / n, 0.f) : 0.f;
        red[j][tid] = make_float2(mean, m2);
    }
    cnt[tid] = n;
    // fixed merge tree over the ppi threads of each channel vector: [p0] += [p0 + h]
    for (int m = ppi; m > 1;) {
        int h = (m + 1) >> 1;
        __syncthreads();
        if (act && p0 + h < m) {
            int o = tid + h * vecs;
            float na = cnt[tid], nb = cnt[o];
            if (nb > 0.f) {
                float nn = na + nb, f = nb / nn;
#pragma unroll
                for (int j = 0; j < 8; j++) {
                    float2 a = red[j][tid], b = red[j][o];
                    float d = b.x - a.x;
                    red[j][tid] = make_float2(a.x + d * f, a.y + b.y + d * d * na * f);
                }
                cnt[tid] = nn;
            }
        }
        m = h;
    }
    __syncthreads();
    if (p0 == 0) {
        float4 *out = partial + ((long long)t * splits + s) * cp + vi * 8;
#pragma unroll
        for (int j = 0; j < 8; j++) out[j] = make_float4(cnt[tid], red[j][tid].x, red[j][tid].y, 0.f);
    }
}

__device__ __forceinline__ void chan_merge(float &n, float &mean, float &m2, float nb, float meanb, float m2b)
{
    if (nb <= 0.f) return;
    float nn = n + nb, f = nb / nn, d = meanb - mean;
    mean += d * f;
    m2 += m2b + d * d * n * f;
    n = nn;
}

// grid (slices, T), 256 threads = 32 channels x 8 rows. A block merges the splits of the channels
// [x*width, (x+1)*width) (width <= 2048, a multiple of the group size or all of cp) and writes their affine.
// Every channel counts hw pixels; groups <= 512.
extern "C" __global__ void __launch_bounds__(256) tsr_gn_finalize(const float4 *partial, int splits, int groups, int c,
                                                                  int cp, int hw, int width, float eps,
                                                                  const float *gamma, const float *beta,
                                                                  float2 *affine)
{
    __shared__ float2 chs[2048];        // per channel {mean, M2} over the whole frame
    __shared__ float3 rows[8][32];
    __shared__ float2 gst[512];         // per group {mean, rstd}
    const int t = blockIdx.y, lane = threadIdx.x & 31, row = threadIdx.x >> 5;
    const int cbeg = blockIdx.x * width, cend = min(cbeg + width, cp);
    const float4 *pt = partial + (long long)t * splits * cp;
    for (int c0 = cbeg; c0 < cend; c0 += 32) {
        const int ch = c0 + lane;
        float n = 0.f, mean = 0.f, m2 = 0.f;
        if (ch < cend) {
            int s = row;
            for (; s + 24 < splits; s += 32) {   // four loads in flight, merged in split order
                float4 v0 = pt[(long long)s * cp + ch], v1 = pt[(long long)(s + 8) * cp + ch];
                float4 v2 = pt[(long long)(s + 16) * cp + ch], v3 = pt[(long long)(s + 24) * cp + ch];
                chan_merge(n, mean, m2, v0.x, v0.y, v0.z);
                chan_merge(n, mean, m2, v1.x, v1.y, v1.z);
                chan_merge(n, mean, m2, v2.x, v2.y, v2.z);
                chan_merge(n, mean, m2, v3.x, v3.y, v3.z);
            }
            for (; s < splits; s += 8) {
                float4 v = pt[(long long)s * cp + ch];
                chan_merge(n, mean, m2, v.x, v.y, v.z);
            }
        }
        rows[row][lane] = make_float3(n, mean, m2);
        __syncthreads();
        if (row == 0 && ch < cend) {
#pragma unroll
            for (int r = 1; r < 8; r++) {
                float3 b = rows[r][lane];
                chan_merge(n, mean, m2, b.x, b.y, b.z);
            }
            chs[ch - cbeg] = make_float2(mean, m2);
        }
        __syncthreads();
    }
    const float npix = (float)hw;
    const int cg = c / groups, g0 = cbeg / cg, g1 = (min(cend, c) + cg - 1) / cg;
    for (int g = g0 + threadIdx.x; g < g1; g += blockDim.x) {
        // a group's channels have equal counts: mean = mean of the means, M2 = sum M2 + n * sum (mean_c - mean)^2
        float mean = 0.f;
        for (int k = 0; k < cg; k++) mean += chs[g * cg + k - cbeg].x;
        mean /= (float)cg;
        float m2 = 0.f;
        for (int k = 0; k < cg; k++) {
            float2 v = chs[g * cg + k - cbeg];
            float d = v.x - mean;
            m2 += v.y + npix * d * d;
        }
        float var = npix > 0.f ? m2 / (npix * (float)cg) : 0.f;
        gst[g - g0] = make_float2(mean, rsqrtf(var + eps));
    }
    __syncthreads();
    for (int ch = cbeg + threadIdx.x; ch < cend; ch += blockDim.x) {
        float2 r = make_float2(0.f, 0.f);
        if (ch < c) {
            float2 st = gst[ch / cg - g0];
            float sc = gamma[ch] * st.y;
            r = make_float2(sc, beta[ch] - st.x * sc);
        }
        affine[(long long)t * cp + ch] = r;
    }
}

// grid (x, T). The host makes gridDim.x * 256 a multiple of cp/8, so each thread keeps one channel vector.
extern "C" __global__ void __launch_bounds__(GN_THREADS) tsr_gn_apply(const tsr_bf16 *x, const float2 *affine, int hw,
                                                                      int cp, int silu, int copy_from,
                                                                      tsr_bf16 *copy, int rep, tsr_bf16 *y)
{
    const int vecs = cp >> 3, t = blockIdx.y;
    const int nv = hw * vecs, stride = gridDim.x * GN_THREADS;
    int i = blockIdx.x * GN_THREADS + threadIdx.x;
    const int vi = i % vecs;
    float sc[8], sf[8];
    {
        const float4 *af = (const float4 *)(affine + (long long)t * cp + vi * 8);
#pragma unroll
        for (int j = 0; j < 4; j++) {
            float4 a = af[j];
            sc[2 * j] = a.x, sf[2 * j] = a.y, sc[2 * j + 1] = a.z, sf[2 * j + 1] = a.w;
        }
    }
    const long long fo = (long long)t * nv;
    const uint4 *src = (const uint4 *)x + fo;
    uint4 *dst = (uint4 *)y + fo;
    uint4 *cpy = (copy && t >= copy_from) ? (uint4 *)copy + (long long)(t - copy_from) * nv : nullptr;
    for (; i < nv; i += GN_BATCH * stride) {
        uint4 v[GN_BATCH];
#pragma unroll
        for (int b = 0; b < GN_BATCH; b++)
            if (i + b * stride < nv) v[b] = __ldcs(src + i + b * stride);
#pragma unroll
        for (int b = 0; b < GN_BATCH; b++) {
            int k = i + b * stride;
            if (k >= nv) break;
            if (cpy) __stcs(cpy + k, v[b]);
            uint32_t *q = (uint32_t *)&v[b];
#pragma unroll
            for (int j = 0; j < 4; j++) {
                float a = fmaf(lo_f(q[j]), sc[2 * j], sf[2 * j]), c = fmaf(hi_f(q[j]), sc[2 * j + 1], sf[2 * j + 1]);
                if (silu) a = silu_fast(a), c = silu_fast(c);
                q[j] = pack2_rn(a, c);
            }
            dst[k] = v[b];
            for (int r = 1; t == 0 && r <= rep; r++) dst[k - (long long)r * nv] = v[b];   // replicated frame 0
        }
    }
}

// Depth-to-space, grid (x, t_out), one thread per output 8-channel vector (32-bit indices within a frame).
// in [T][H][W][cin], cin = C*rs*rs*rt; out[(t*rt+k) - drop][h*rs+i][w*rs+j][c] = in[t][h][w][((i*rs+j)*rt+k)*C + c];
// drop removes frame 1.
extern "C" __global__ void tsr_d2s(const tsr_bf16 *in, int t_in, int h, int w, int c, int rt, int rs, int drop,
                                   int t_out, tsr_bf16 *out)
{
    const int ho = h * rs, wo = w * rs, cv = c / 8, to = blockIdx.y;
    const int n = ho * wo * cv;
    const int cin = c * rs * rs * rt;
    const int tf = (drop && to >= 1) ? to + 1 : to;   // full-sequence frame index
    const int t = tf / rt, k = tf % rt;
    const uint4 *src = (const uint4 *)(in + (long long)t * h * w * cin);
    uint4 *dst = (uint4 *)out + (long long)to * n;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        int vc = i % cv, r = i / cv;
        int x = r % wo, y = r / wo;
        int ii = y % rs, jj = x % rs;
        int ch = ((ii * rs + jj) * rt + k) * c + vc * 8;
        dst[i] = src[((y / rs) * w + x / rs) * (cin / 8) + ch / 8];
    }
}

// A shuffle conv's output (backend.h conv3d), grid (x, t_out), one thread per output 8-channel vector:
// z [T][H+1][W+1][zc] (zc = 4*rt*C, the conv output with the interior bias), out[rt*f + k][y][x][c] =
// z[f][y/2 + a][x/2 + b][((a*2 + b)*rt + k)*C + c] + edge[k][e(y)][e(x)][c] (a = y & 1, b = x & 1; fp32 edge table,
// e() = tsr_shuffle_edge). C % 8 == 0.
extern "C" __global__ void tsr_upshuffle(const tsr_bf16 *z, int h, int w, int c, int rt, const float *edge, tsr_bf16 *out)
{
    const int ho = 2 * h, wo = 2 * w, cv = c / 8, to = blockIdx.y, f = to / rt, k = to % rt;
    const int n = ho * wo * cv, zc = 4 * rt * c, zw = w + 1;
    const tsr_bf16 *src = z + (long long)f * (h + 1) * zw * zc;
    uint4 *dst = (uint4 *)out + (long long)to * n;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        int vc = i % cv, r = i / cv;
        int x = r % wo, y = r / wo, a = y & 1, b = x & 1;
        int ey = y == 0 ? 0 : y == ho - 1 ? 3 : 1 + a, ex = x == 0 ? 0 : x == wo - 1 ? 3 : 1 + b;
        uint4 v = *(const uint4 *)(src + ((long long)(y / 2 + a) * zw + x / 2 + b) * zc + ((a * 2 + b) * rt + k) * c + vc * 8);
        const float4 *e = (const float4 *)(edge + ((k * 4 + ey) * 4 + ex) * c + vc * 8);  // 0 inside (VAE): exact
        float4 e0 = __ldg(e), e1 = __ldg(e + 1);
        uint32_t *p = (uint32_t *)&v;
        p[0] = pack2_rn(lo_f(p[0]) + e0.x, hi_f(p[0]) + e0.y);
        p[1] = pack2_rn(lo_f(p[1]) + e0.z, hi_f(p[1]) + e0.w);
        p[2] = pack2_rn(lo_f(p[2]) + e1.x, hi_f(p[2]) + e1.y);
        p[3] = pack2_rn(lo_f(p[3]) + e1.z, hi_f(p[3]) + e1.w);
        dst[i] = v;
    }
}

extern "C" __global__ void tsr_add(const tsr_bf16 *a, const tsr_bf16 *b, long long nvec, tsr_bf16 *out)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < nvec; i += (long long)gridDim.x * blockDim.x) {
        uint4 x = ((const uint4 *)a)[i], y = ((const uint4 *)b)[i];
        uint32_t *p = (uint32_t *)&x, *q = (uint32_t *)&y;
#pragma unroll
        for (int j = 0; j < 4; j++) p[j] = pack2(lo_f(p[j]) + lo_f(q[j]), hi_f(p[j]) + hi_f(q[j]));
        ((uint4 *)out)[i] = x;
    }
}

__device__ __forceinline__ float block_reduce(float v, bool is_max, float *sh)
{
    for (int o = 16; o; o >>= 1) {
        float u = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, u) : v + u;
    }
    int w = threadIdx.x >> 5, l = threadIdx.x & 31;
    __syncthreads();
    if (l == 0) sh[w] = v;
    __syncthreads();
    v = (l < (int)(blockDim.x >> 5)) ? sh[l] : (is_max ? -INFINITY : 0.f);
    for (int o = 16; o; o >>= 1) {
        float u = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, u) : v + u;
    }
    return v;
}

// One block per row of S (fp32, stride ld): P = softmax(scale * S) over the first n columns (bf16), columns
// n..ld-1 = 0.
extern "C" __global__ void __launch_bounds__(1024) tsr_softmax_rows(const float *s, int n, int ld, float scale,
                                                                    tsr_bf16 *p)
{
    __shared__ float sh[32];
    const float *row = s + (long long)blockIdx.x * ld;
    tsr_bf16 *out = p + (long long)blockIdx.x * ld;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, row[i] * scale);
    m = block_reduce(m, true, sh);
    float sum = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) sum += __expf(row[i] * scale - m);
    sum = block_reduce(sum, false, sh);
    float inv = 1.f / sum;
    for (int i = threadIdx.x; i < ld; i += blockDim.x)
        out[i] = (tsr_bf16)(i < n ? f2bf(__expf(row[i] * scale - m) * inv) : 0u);
}

// The same with the row held in registers (VPT float4 per thread, 1024 threads: n <= 4096 * VPT, n % 4 == 0, ld % 4 ==
// 0): S is read once instead of three times (the three-pass kernel ran at ~40 % of DRAM bandwidth, Nsight Compute).
template <int VPT>
__device__ __forceinline__ void softmax_reg(const float *s, int n, int ld, float scale, tsr_bf16 *p)
{
    __shared__ float sh[32];
    const float4 *row = (const float4 *)(s + (long long)blockIdx.x * ld);
    uint2 *out = (uint2 *)(p + (long long)blockIdx.x * ld);
    const int n4 = n >> 2, ld4 = ld >> 2;
    float4 v[VPT];
    float m = -INFINITY;
#pragma unroll
    for (int j = 0; j < VPT; j++) {
        int i = threadIdx.x + j * 1024;
        v[j] = i < n4 ? __ldg(row + i) : make_float4(-INFINITY, -INFINITY, -INFINITY, -INFINITY);
        v[j].x *= scale, v[j].y *= scale, v[j].z *= scale, v[j].w *= scale;
        m = fmaxf(m, fmaxf(fmaxf(v[j].x, v[j].y), fmaxf(v[j].z, v[j].w)));
    }
    m = block_reduce(m, true, sh);
    float sum = 0.f;
#pragma unroll
    for (int j = 0; j < VPT; j++) {
        v[j].x = __expf(v[j].x - m), v[j].y = __expf(v[j].y - m), v[j].z = __expf(v[j].z - m), v[j].w = __expf(v[j].w - m);
        if (threadIdx.x + j * 1024 < n4) sum += (v[j].x + v[j].y) + (v[j].z + v[j].w);
    }
    sum = block_reduce(sum, false, sh);
    float inv = 1.f / sum;
#pragma unroll
    for (int j = 0; j < VPT; j++) {
        int i = threadIdx.x + j * 1024;
        if (i < n4) out[i] = make_uint2(pack2(v[j].x * inv, v[j].y * inv), pack2(v[j].z * inv, v[j].w * inv));
    }
    for (int i = n4 + threadIdx.x; i < ld4; i += 1024) out[i] = make_uint2(0u, 0u);
}
extern "C" __global__ void __launch_bounds__(1024) tsr_softmax_rows4(const float *s, int n, int ld, float scale,
                                                                     tsr_bf16 *p) { softmax_reg<4>(s, n, ld, scale, p); }
extern "C" __global__ void __launch_bounds__(1024) tsr_softmax_rows8(const float *s, int n, int ld, float scale,
                                                                     tsr_bf16 *p) { softmax_reg<8>(s, n, ld, scale, p); }

// NDHWC (cp channels) -> planar [c][pix] and back, for host transfers without channel padding.
extern "C" __global__ void tsr_to_planar(const tsr_bf16 *x, int cp, int c, long long pix, tsr_bf16 *out)
{
    for (long long p = blockIdx.x * (long long)blockDim.x + threadIdx.x; p < pix; p += (long long)gridDim.x * blockDim.x)
        for (int ch = 0; ch < c; ch++) out[ch * pix + p] = x[p * cp + ch];
}
extern "C" __global__ void tsr_from_planar(const tsr_bf16 *in, int c, int cp, long long pix, tsr_bf16 *x)
{
    for (long long p = blockIdx.x * (long long)blockDim.x + threadIdx.x; p < pix; p += (long long)gridDim.x * blockDim.x)
        for (int ch = 0; ch < cp; ch++) x[p * cp + ch] = ch < c ? in[ch * pix + p] : (tsr_bf16)0;
}
