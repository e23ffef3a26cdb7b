// ops_bf16.cu — memory-bound ops on NDHWC bf16 activations: GroupNorm statistics (split reduction, fp32
// Welford/Chan), GroupNorm apply (+SiLU), depth-to-space with dropped frame, add, row softmax, V transpose.
#include "tsr_mma.cuh"

struct Welford { float n, mean, m2; };
__device__ __forceinline__ void wf_add(Welford &w, float x)
{
    w.n += 1.f;
    float d = x - w.mean;
    w.mean += d / w.n;
    w.m2 += d * (x - w.mean);
}
__device__ __forceinline__ Welford wf_merge(Welford a, Welford b)
{
    if (b.n == 0.f) return a;
    if (a.n == 0.f) return b;
    Welford r;
    r.n = a.n + b.n;
    float d = b.mean - a.mean, f = b.n / r.n;
    r.mean = a.mean + d * f;
    r.m2 = a.m2 + b.m2 + d * d * a.n * f;
    return r;
}

// grid (splits, T); 256 threads. Each thread owns one 8-channel vector column; cg = channels per group.
// partial[(t*splits + s)*G + g] = block Welford of group g.
extern "C" __global__ void __launch_bounds__(256) tsr_gn_stats(const tsr_bf16 *x, int hw, int c, int cp, int groups,
                                                               float4 *partial)
{
    __shared__ Welford red[256][2];
    const int vecs = cp / 8, t = blockIdx.y, s = blockIdx.x, splits = gridDim.x;
    const int cg = c / groups;
    const int tid = threadIdx.x;
    const int pix_per_iter = 256 / vecs;   // vecs <= 256 (c <= 2048)
    const int vi = tid % vecs, p0 = tid / vecs;
    // shifted sums (shift = the thread's first value of each group): 2 FMAs per element, no cancellation
    float n0 = 0.f, s0 = 0.f, q0 = 0.f, sh0 = 0.f, n1 = 0.f, s1 = 0.f, q1 = 0.f, sh1 = 0.f;
    const int ch0 = vi * 8;
    const int gsplit = (cg < 8) ? (ch0 + cg) : 1 << 30;   // channel where the second group starts
    long long per = ((long long)hw + splits - 1) / splits;
    long long pa = per * s, pb = pa + per < hw ? pa + per : hw;
    if (p0 < pix_per_iter && ch0 < c && pa + p0 < pb) {
        const tsr_bf16 *base = x + (long long)t * hw * cp + ch0;
        {
            uint4 v = *(const uint4 *)(base + (pa + p0) * cp);
            const uint32_t *q = (const uint32_t *)&v;
            sh0 = lo_f(q[0]);
            if (cg < 8) sh1 = lo_f(q[cg >> 1]);
        }
        for (long long p = pa + p0; p < pb; p += pix_per_iter) {
            uint4 v = *(const uint4 *)(base + p * cp);
            const uint32_t *q = (const uint32_t *)&v;
#pragma unroll
            for (int j = 0; j < 8; j++) {
                int ch = ch0 + j;
                float f = (j & 1) ? hi_f(q[j >> 1]) : lo_f(q[j >> 1]);
                if (ch >= c) break;
                if (ch >= gsplit) { float d = f - sh1; n1 += 1.f; s1 += d; q1 = fmaf(d, d, q1); }
                else { float d = f - sh0; n0 += 1.f; s0 += d; q0 = fmaf(d, d, q0); }
            }
        }
    }
    Welford w0 = {n0, n0 > 0.f ? sh0 + s0 / n0 : 0.f, n0 > 0.f ? fmaxf(q0 - s0 * s0 / n0, 0.f) : 0.f};
    Welford w1 = {n1, n1 > 0.f ? sh1 + s1 / n1 : 0.f, n1 > 0.f ? fmaxf(q1 - s1 * s1 / n1, 0.f) : 0.f};
    red[tid][0] = w0;
    red[tid][1] = w1;
    __syncthreads();
    // one thread per group combines every thread partial that touches it (cheap: <= 256 entries)
    if (tid < groups) {
        int g = tid;
        Welford acc = {0, 0, 0};
        for (int i = 0; i < 256; i++) {
            int vv = i % vecs, pp = i / vecs;
            if (pp >= pix_per_iter) continue;
            int c0 = vv * 8;
            if (c0 >= c) continue;
            int ga = c0 / cg;
            if (cg >= 8) {
                if (ga == g) acc = wf_merge(acc, red[i][0]);
            } else {
                if (ga == g) acc = wf_merge(acc, red[i][0]);
                if (ga + 1 == g && c0 + cg < c) acc = wf_merge(acc, red[i][1]);
            }
        }
        partial[((long long)t * splits + s) * groups + g] = make_float4(acc.n, acc.mean, acc.m2, 0.f);
    }
}

// grid (T), threads = cp rounded; affine[t][ch] = {gamma*rstd, beta - mean*gamma*rstd}, zero for pad channels.
extern "C" __global__ void tsr_gn_finalize(const float4 *partial, int splits, int groups, int c, int cp,
                                           float eps, const float *gamma, const float *beta, float2 *affine)
{
    __shared__ float2 stats[64];
    const int t = blockIdx.x;
    if (threadIdx.x < groups) {
        Welford acc = {0, 0, 0};
        for (int s = 0; s < splits; s++) {
            float4 p = partial[((long long)t * splits + s) * groups + threadIdx.x];
            Welford w = {p.x, p.y, p.z};
            acc = wf_merge(acc, w);
        }
        float var = acc.n > 0.f ? acc.m2 / acc.n : 0.f;
        stats[threadIdx.x] = make_float2(acc.mean, rsqrtf(var + eps));
    }
    __syncthreads();
    const int cg = c / groups;
    for (int ch = threadIdx.x; ch < cp; ch += blockDim.x) {
        float2 r = make_float2(0.f, 0.f);
        if (ch < c) {
            float2 st = stats[ch / cg];
            float sc = gamma[ch] * st.y;
            r = make_float2(sc, beta[ch] - st.x * sc);
        }
        affine[(long long)t * cp + ch] = r;
    }
}

// y = x*scale + shift (+SiLU) per (frame, channel); one thread per 8-channel vector.
extern "C" __global__ void tsr_gn_apply(const tsr_bf16 *x, const float2 *affine, int hw, int cp, int t_frames,
                                        int silu, tsr_bf16 *y)
{
    long long nvec = (long long)t_frames * hw * (cp / 8);
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < nvec; i += (long long)gridDim.x * blockDim.x) {
        long long e = i * 8;
        int ch = (int)(e % cp);
        int t = (int)(e / ((long long)hw * cp));
        uint4 v = *(const uint4 *)(x + e);
        uint32_t *q = (uint32_t *)&v;
        const float4 *af = (const float4 *)(affine + (long long)t * cp + ch);
#pragma unroll
        for (int j = 0; j < 4; j++) {
            float4 s = af[j];
            float a = lo_f(q[j]) * s.x + s.y, b = hi_f(q[j]) * s.z + s.w;
            if (silu) { a = silu_f(a); b = silu_f(b); }
            q[j] = pack2(a, b);
        }
        *(uint4 *)(y + e) = v;
    }
}

// Depth-to-space, one thread per output 8-channel vector. in [T][H][W][cin], cin = C*rs*rs*rt;
// out[(t*rt+k) - drop][h*rs+i][w*rs+j][c] = in[t][h][w][((i*rs+j)*rt+k)*C + c]; drop removes frame 1.
extern "C" __global__ void tsr_d2s(const tsr_bf16 *in, int t_in, int h, int w, int c, int rt, int rs, int drop,
                                   int t_out, tsr_bf16 *out)
{
    const int ho = h * rs, wo = w * rs, cv = c / 8;
    long long n = (long long)t_out * ho * wo * cv;
    const int cin = c * rs * rs * rt;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        int vc = (int)(i % cv);
        long long r = i / cv;
        int x = (int)(r % wo); r /= wo;
        int y = (int)(r % ho);
        int to = (int)(r / ho);
        int tf = (drop && to >= 1) ? to + 1 : to;   // full-sequence frame index
        int t = tf / rt, k = tf % rt;
        int ii = y % rs, jj = x % rs;
        int ch = ((ii * rs + jj) * rt + k) * c + vc * 8;
        uint4 v = *(const uint4 *)(in + (((long long)t * h + y / rs) * w + x / rs) * cin + ch);
        *(uint4 *)(out + i * 8) = v;
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

// One block per row of S (fp32, stride ld): P = softmax over the first n columns (bf16), columns n..ld-1 = 0.
extern "C" __global__ void __launch_bounds__(1024) tsr_softmax_rows(const float *s, int n, int ld, tsr_bf16 *p)
{
    __shared__ float sh[32];
    const float *row = s + (long long)blockIdx.x * ld;
    tsr_bf16 *out = p + (long long)blockIdx.x * ld;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, row[i]);
    m = block_reduce(m, true, sh);
    float sum = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) sum += __expf(row[i] - m);
    sum = block_reduce(sum, false, sh);
    float inv = 1.f / sum;
    for (int i = threadIdx.x; i < ld; i += blockDim.x)
        out[i] = (tsr_bf16)(i < n ? f2bf(__expf(row[i] - m) * inv) : 0u);
}

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
