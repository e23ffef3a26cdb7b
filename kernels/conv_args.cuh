// conv_args.cuh — the argument block of every built-in conv kernel (conv_bf16.cu, conv_wg.cu); must match
// `conv_args` in engine/backend/cuda/cuda_conv.c field for field.
#pragma once
#include "tsr_mma.cuh"

struct ConvArgs {
    const tsr_bf16 *in;       // [t_in][h_in][w_in][cin_p]
    const float2 *in_aff;     // [t_in][cin_p] or null
    const tsr_bf16 *pre;      // [prefix][h_in][w_in][cin_p] or null (replicate in frame 0)
    const float2 *pre_aff;    // [prefix][cin_p]
    const tsr_bf16 *w;        // [cout_p][taps][cin_p]
    const float *bias;        // [cout_p] (or [M] when bias_row) or null
    void *out;                // bf16 or fp32, row stride ldc
    const tsr_bf16 *res;      // like out (bf16) or null
    long long sz_in, sz_w, sz_out;   // batch strides (elements) for blockIdx.z
    long long M;
    int cin_p, cout_p, ldc, prefix;
    int t_in, h_in, w_in, h_out, w_out;
    int kt, kh, kw, st, sh, sw, pt, pl;
    int silu, bias_row;
    float alpha;
    int t_skip;               // output frames before it are not computed (conv_wg only; 0 elsewhere)
};
