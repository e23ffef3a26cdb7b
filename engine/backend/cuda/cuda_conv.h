/* cuda_conv.h — one conv3d problem as the CUDA backend sees it, and the hook for alternative implementations.
 *
 * The backend resolves every conv3d call (causal state, fused GroupNorm prologue, bias, residual) into a
 * tsr_cuda_conv_problem and hands it to an implementation: the built-in bf16 mma.sync implicit GEMM
 * (cuda_conv.c + kernels/conv_bf16.cu), or an alternative (cuDNN, FP8) selected per layer. An alternative that
 * cannot run a problem returns TSR_ERR_UNSUPPORTED and the backend falls back to the built-in kernel.
 *
 * Memory layout (all device pointers, CUdeviceptr as uint64_t so this header needs no CUDA headers):
 *   activations: channels-last NDHWC bf16, batch 1: element (t, h, w, c) at ((t*H + h)*W + w)*Cp + c, where
 *                Cp = tsr_cuda_cpad(C) (channels padded to a multiple of 8 with zeros: 16-byte vectors).
 *   weights:     bf16 [CoutP][kt][kh][kw][CinP] (K-major per output channel, zero padded), bias fp32 [CoutP].
 *   prologue:    optional per-(frame, channel) affine float2 {scale, shift}: x' = x*scale + shift, then SiLU when
 *                `silu`; applied to real input elements only (zero spatial padding stays zero).
 *                The backend applies GroupNorm+SiLU in a pass of its own before the conv (faster than the
 *                per-tap prologue of the register-staged kernel), so it passes in_affine = 0 and `in` /
 *                `prefix_ptr` already normalised, except for narrow convs (below), which fuse it. An
 *                implementation must decline (TSR_ERR_UNSUPPORTED) a problem with in_affine != 0 that it cannot
 *                fuse.
 *
 * The temporal axis is the conv's *extended* input: `prefix` frames followed by the `t_in` frames of `in`.
 *   first chunk  (state empty): prefix = kt - 1 copies of in frame 0 (prefix_ptr = 0: read in frame 0).
 *   later chunks (state full):  prefix = kt - st frames at prefix_ptr (raw input, same layout as `in`),
 *                               with their own affine rows at prefix_affine.
 * Output frame to reads extended frames to*st .. to*st + kt - 1. Implementations read the state in place:
 * no concatenated copy, no padding pass.
 */
#ifndef TSR_CUDA_CONV_H
#define TSR_CUDA_CONV_H

#include <stdint.h>

#include "backend/backend.h"

static inline int tsr_cuda_cpad(int c) { return (c + 7) & ~7; }

typedef struct tsr_cuda_conv_problem {
    const tsr_conv_desc *desc;       /* cin, cout, kernel, strides, paddings, name, precision */
    int cin_p, cout_p;               /* padded channel counts (multiples of 8) */

    /* input */
    uint64_t in;                     /* bf16 NDHWC [t_in][h_in][w_in][cin_p] */
    int t_in, h_in, w_in;
    uint64_t in_affine;              /* float2 [t_in][cin_p] or 0 (no prologue) */
    int silu;                        /* SiLU after the affine (only with in_affine) */

    /* causal prefix (see above) */
    int prefix;                      /* number of prefix frames (0 for kt == 1) */
    uint64_t prefix_ptr;             /* 0: replicate in frame 0; else bf16 [prefix][h_in][w_in][cin_p] */
    uint64_t prefix_affine;          /* float2 [prefix][cin_p] (with in_affine and prefix_ptr) */

    /* parameters */
    uint64_t weight;                 /* bf16 [cout_p][kt*kh*kw][cin_p] */
    uint64_t weight_wg;              /* the same in conv_wg's block layout (tsr_wt.wgw), or 0 */
    uint64_t bias;                   /* fp32 [cout_p] or 0 */

    /* output */
    uint64_t out;                    /* bf16 NDHWC [t_out][h_out][w_out][cout_p] */
    int t_out, h_out, w_out;
    uint64_t residual;               /* bf16 like out, added after the bias, or 0 */
    int t_skip;                      /* output frames before it are left alone (made by another call); only the
                                      * built-in kernel runs t_skip > 0, on a problem tsr_cuda_conv_wg_fits */

    void *stream;                    /* CUstream */
} tsr_cuda_conv_problem;

typedef struct tsr_cuda tsr_cuda;    /* the backend instance (cuda_internal.h) */

/* An implementation of conv problems. `run` returns TSR_ERR_UNSUPPORTED to decline a problem. */
typedef struct tsr_cuda_conv_impl {
    const char *name;                /* "mma-bf16", "cudnn", "fp8" */
    void *user;
    tsr_status (*run)(void *user, tsr_cuda *cu, const tsr_cuda_conv_problem *p, tsr_error *err);
    void (*destroy)(void *user);
} tsr_cuda_conv_impl;

/* The built-in bf16 tensor-core implicit GEMM (always available). Convs with at most 8 output channels (the
 * decoder's conv_out) run on a narrow kernel instead, where tsr_cuda_conv_narrow_fits says so: it stages each
 * input frame's patch once for every tap and output frame, and applies the prologue affine (+SiLU) while staging,
 * so the backend fuses the GroupNorm apply into it rather than writing a normalised copy first. */
tsr_status tsr_cuda_conv_builtin(tsr_cuda *cu, const tsr_cuda_conv_problem *p, tsr_error *err);
int tsr_cuda_conv_narrow_fits(const tsr_cuda *cu, const tsr_conv_desc *d, int cin_p, int cout_p);
/* Whether the built-in kernel runs this conv on kernels/conv_wg.cu (Hopper): 3x3 spatial taps with stride 1 and
 * zero padding 1, up to 3 temporal taps with stride 1, cin_p a multiple of 64, cout_p of 128, bf16; only when asked
 * (TSR_CUDA_WG=1: convs with 128 outputs, =all: every one). Like the narrow kernel it applies the GroupNorm affine
 * (+SiLU) while it stages its input, so the backend passes it raw input + affines instead of a normalised copy. */
int tsr_cuda_conv_wg_fits(const tsr_cuda *cu, const tsr_conv_desc *d, int cin_p, int cout_p);

/* Install an alternative tried before the built-in kernel for every conv whose desc->precision matches
 * `precision` (TSR_LP_DEFAULT: every conv). At most a few; later installs are tried first. */
tsr_status tsr_cuda_conv_register(tsr_cuda *cu, tsr_layer_precision precision, const tsr_cuda_conv_impl *impl,
                                  tsr_error *err);

#endif
