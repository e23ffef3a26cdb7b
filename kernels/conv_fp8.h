/* conv_fp8.h — parameters of the FP8 (e4m3) implicit-GEMM conv3d kernels in conv_fp8.cu, shared by the kernel
 * and its host launchers (plain C: the engine launches through the driver API, the bench through <<<>>>).
 *
 * Layouts (batch 1, stride 1):
 *   in      e4m3 NDHWC [t_in][h][w][cin]            cin % 16 == 0 (zero-padded channels)
 *   prefix  e4m3 [kt-1][h][w][cin] or NULL           causal state; NULL = first chunk (replicate in frame 0)
 *   weight  e4m3 [cout][kt*kh*kw][cin]              per output channel scale wscale[cout]
 *   out     bf16 [t_out][h_out][w_out][out_stride]  out = acc * xscale * wscale[n] + bias[n] (+ residual)
 * x ~= e4m3(in) * (*xscale); xscale lives on the device so a fused amax/quantise pass needs no host sync.
 * Output frame to reads extended frames to .. to+kt-1, where the extended axis is the kt-1 prefix frames
 * followed by the t_in input frames: t_out = t_in. */
#ifndef TSR_KERNELS_CONV_FP8_H
#define TSR_KERNELS_CONV_FP8_H
#include <stdint.h>

typedef struct tsr_conv_fp8_params {
    const uint8_t *in;
    const uint8_t *prefix;
    const uint8_t *weight;
    const float *xscale;       /* device scalar */
    const float *wscale;       /* [cout] */
    const float *bias;         /* [cout] or NULL */
    const uint16_t *residual;  /* bf16, like out, or NULL */
    uint16_t *out;             /* bf16 */
    int t_in, h, w, cin;
    int cout, out_stride;
    int kt, kh, kw, ph, pw;
    int h_out, w_out;
} tsr_conv_fp8_params;

#define TSR_CONV_FP8_BM 128
#define TSR_CONV_FP8_BN 128
#define TSR_CONV_FP8_THREADS 256

/* Kernel names in the fatbin: "tsr_conv_fp8_f32acc", "tsr_conv_fp8_f16acc" (one tsr_conv_fp8_params by value);
 * grid (ceil(cout / BN), ceil(t_in*h_out*w_out / BM)), block THREADS, no dynamic shared memory.
 * "tsr_amax_bf16" (x, n, unsigned *amax_bits) and "tsr_quant_bf16_e4m3" (x, n, amax_bits, target, q, scale)
 * produce the per-tensor activation scale on the device. FP8 kernels need sm_89 or newer. */
#endif
