// quant_fp8.cu — diagnostics of the FP8 activation quantisation (TSR_FP8_STATS=1, engine/backend/cuda/cuda_conv_fp8.c):
// how much a per-tensor e4m3 scale loses against a per-channel one on the real activations of each FP8 conv.
// Activations NDHWC bf16 with cp channels (channel = index % cp).
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <stdint.h>

__device__ __forceinline__ float bf(const uint16_t *x, size_t i) { return __bfloat162float(__ushort_as_bfloat16(x[i])); }

__device__ __forceinline__ float e4m3_round(float v) // RNE, saturating, exactly like the quantise kernels
{
    __nv_fp8_e4m3 q(v); // cuda_fp8.h: RNE, satfinite
    return float(q);
}

// Per-channel amax into amax_bits[cp] (zeroed by the caller).
extern "C" __global__ void tsr_amax_chan_bf16(const uint16_t *x, size_t n, int cp, unsigned *amax_bits)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float a = fabsf(bf(x, i));
        if (a > 0.0f) atomicMax(&amax_bits[i % cp], __float_as_uint(a));
    }
}

// acc[0] += x^2; acc[1] += (x - dq_tensor(x))^2; acc[2] += (x - dq_channel(x))^2; acc[3] += #(x != 0 and |x/s| below
// the smallest e4m3 normal 2^-6, per-tensor scale s); acc[4] += #(x != 0). Scales: amax / 448.
extern "C" __global__ void tsr_fp8_act_stats(const uint16_t *x, size_t n, int cp, const unsigned *tensor_amax_bits,
                                             const unsigned *chan_amax_bits, double *acc)
{
    float at = __uint_as_float(*tensor_amax_bits);
    float st = at > 0.0f ? at / 448.0f : 1.0f, it = 1.0f / st;
    double s[5] = {0, 0, 0, 0, 0};
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = bf(x, i);
        float ac = __uint_as_float(chan_amax_bits[i % cp]);
        float sc = ac > 0.0f ? ac / 448.0f : 1.0f;
        float et = v - e4m3_round(v * it) * st, ec = v - e4m3_round(v * (1.0f / sc)) * sc;
        s[0] += (double)v * v, s[1] += (double)et * et, s[2] += (double)ec * ec;
        if (v != 0.0f) s[4] += 1, s[3] += fabsf(v * it) < 0.015625f;
    }
    for (int k = 0; k < 5; k++) {
        double t = s[k];
        for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
        if ((threadIdx.x & 31) == 0) atomicAdd(&acc[k], t);
    }
}

// Delayed per-tensor scale (TSR_FP8_SCALE=delayed, cuda_conv_fp8.c): one pass instead of amax + quantise. The scale
// comes from the amax of the same conv's previous call (scale_amax_bits, e.g. the previous chunk) with headroom:
// s = amax_prev / target (target 448/16: values may grow 16x before they saturate; e4m3 keeps its relative
// precision down to 2^-6, so the headroom costs nothing above ~amax/300). This call's amax goes to amax_out_bits
// (zeroed by the caller; a different word than scale_amax_bits) for the next call.
extern "C" __global__ void tsr_quant_bf16_e4m3_delayed(const uint16_t *x, size_t n, const unsigned *scale_amax_bits,
                                                       float target, uint8_t *q, float *scale, unsigned *amax_out_bits)
{
    float amax = __uint_as_float(*scale_amax_bits);
    float s = (amax > 0.0f && amax <= 3.0e38f) ? amax / target : 1.0f;
    float inv = 1.0f / s, m = 0.0f;
    if (blockIdx.x == 0 && threadIdx.x == 0) *scale = s;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = bf(x, i);
        m = fmaxf(m, fabsf(v));
        q[i] = (uint8_t)__nv_cvt_float_to_fp8(v * inv, __NV_SATFINITE, __NV_E4M3);
    }
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    if ((threadIdx.x & 31) == 0 && m > 0.0f) atomicMax(amax_out_bits, __float_as_uint(m));
}
