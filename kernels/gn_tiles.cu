// gn_tiles.cu — the tiled decode's device ops. GroupNorm over a frame processed in spatial tiles (gn_stats_*): per (frame, group)
// count / sum / sum of squares of a region of a tile, accumulated into double on the device across tiles,
// then turned into the norm's per-(frame, channel) affine and applied (+SiLU). NDHWC bf16, cp = channels
// padded to a multiple of 8.
#include "tsr_mma.cuh"

#define GNT_MAX_GROUPS 64

// grid (splits, t); 256 threads. Thread = (8-channel vector `vec`, pixel lane); fp32 partial sums over
// its pixels, merged per group in shared double, then one double atomic per (block, group).
// acc[(f*groups + g)*3 + {0,1,2}] += count, sum, sum of squares of frame f0 + f, rows [y0,y1), cols [x0,x1).
extern "C" __global__ void __launch_bounds__(256) tsr_gnt_accum(const tsr_bf16 *x, int h, int w, int cp, int c,
                                                                int groups, int f0, int y0, int x0, int y1, int x1,
                                                                double *acc)
{
    __shared__ double s_sum[GNT_MAX_GROUPS], s_sq[GNT_MAX_GROUPS];
    int tid = threadIdx.x, vecs = cp / 8, lanes = 256 / vecs, f = blockIdx.y, cpg = c / groups;
    for (int i = tid; i < groups; i += blockDim.x) s_sum[i] = s_sq[i] = 0.0;
    __syncthreads();
    int rw = x1 - x0;
    long long npix = (long long)(y1 - y0) * rw;
    if (tid < lanes * vecs) {
        int vec = tid % vecs, lane = tid / vecs;
        long long per = (npix + gridDim.x - 1) / gridDim.x, p0 = blockIdx.x * per;
        long long p1 = p0 + per < npix ? p0 + per : npix;
        float s[8], q[8];
#pragma unroll
        for (int j = 0; j < 8; j++) s[j] = q[j] = 0.f;
        const tsr_bf16 *base = x + (long long)(f0 + f) * h * w * cp + vec * 8;
        for (long long p = p0 + lane; p < p1; p += lanes) {
            int yy = y0 + (int)(p / rw), xx = x0 + (int)(p % rw);
            uint4 v = *(const uint4 *)(base + ((long long)yy * w + xx) * cp);
            const uint32_t *u = (const uint32_t *)&v;
#pragma unroll
            for (int j = 0; j < 4; j++) {
                float a = lo_f(u[j]), b = hi_f(u[j]);
                s[2 * j] += a, q[2 * j] += a * a;
                s[2 * j + 1] += b, q[2 * j + 1] += b * b;
            }
        }
#pragma unroll
        for (int j = 0; j < 8; j++) {
            int ch = vec * 8 + j;
            if (ch < c) {
                atomicAdd(&s_sum[ch / cpg], (double)s[j]);
                atomicAdd(&s_sq[ch / cpg], (double)q[j]);
            }
        }
    }
    __syncthreads();
    for (int g = tid; g < groups; g += blockDim.x) {
        double *a = acc + ((long long)f * groups + g) * 3;
        if (blockIdx.x == 0) atomicAdd(a, (double)cpg * (double)npix);
        atomicAdd(a + 1, s_sum[g]);
        atomicAdd(a + 2, s_sq[g]);
    }
}

// grid t; affine[f][ch] = (gamma*rstd, beta - mean*gamma*rstd) from the accumulated sums; padding channels 0.
extern "C" __global__ void tsr_gnt_affine(const double *acc, int c, int cp, int groups, float eps,
                                          const float *gamma, const float *beta, float2 *aff)
{
    int f = blockIdx.x, cpg = c / groups;
    for (int ch = threadIdx.x; ch < cp; ch += blockDim.x) {
        float2 r = make_float2(0.f, 0.f);
        if (ch < c) {
            const double *a = acc + ((long long)f * groups + ch / cpg) * 3;
            double mean = a[1] / a[0], var = a[2] / a[0] - mean * mean;
            double rstd = 1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)eps);
            r = make_float2((float)(gamma[ch] * rstd), (float)(beta[ch] - mean * rstd * gamma[ch]));
        }
        aff[(long long)f * cp + ch] = r;
    }
}

// y = x*scale + shift (+SiLU) per (frame, channel); one thread per 8-channel vector; y may be x.
extern "C" __global__ void tsr_gnt_apply(const tsr_bf16 *x, const float2 *aff, long long hw, int cp, int t_frames,
                                         int silu, tsr_bf16 *y)
{
    long long nvec = (long long)t_frames * hw * (cp / 8);
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < nvec; i += (long long)gridDim.x * blockDim.x) {
        long long e = i * 8;
        int ch = (int)(e % cp);
        long long f = e / (hw * cp);
        uint4 v = *(const uint4 *)(x + e);
        uint32_t *u = (uint32_t *)&v;
        const float4 *af = (const float4 *)(aff + f * cp + ch);
#pragma unroll
        for (int j = 0; j < 4; j++) {
            float4 s = af[j];
            float a = lo_f(u[j]) * s.x + s.y, b = hi_f(u[j]) * s.z + s.w;
            if (silu) a = silu_f(a), b = silu_f(b);
            u[j] = pack2(a, b);
        }
        *(uint4 *)(y + e) = v;
    }
}

// act_copy_region: grid (h rows, t frames); each block copies one row of w pixels x cp channels (16-byte
// vectors) from src frame sf+f row sy+y col sx into dst frame df+f row dy+y col dx.
extern "C" __global__ void tsr_copy_region(const tsr_bf16 *src, int sf, int sy, int sx, int sh, int sw, tsr_bf16 *dst,
                                           int df, int dy, int dx, int dh, int dw, int h, int w, int cp)
{
    int y = blockIdx.x, f = blockIdx.y;
    const uint4 *s = (const uint4 *)(src + (((long long)(sf + f) * sh + sy + y) * sw + sx) * cp);
    uint4 *d = (uint4 *)(dst + (((long long)(df + f) * dh + dy + y) * dw + dx) * cp);
    int n = w * cp / 8;
    for (int i = threadIdx.x; i < n; i += blockDim.x) d[i] = s[i];
}
