/* The built-in conv: kernel argument block shared with kernels/conv_bf16.cu, tile choice, and GEMMs. */
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "core/common.h"

/* Must match `struct ConvArgs` in kernels/conv_bf16.cu field for field. */
typedef struct conv_args {
    uint64_t in, in_aff, pre, pre_aff, w, bias, out, res;
    long long sz_in, sz_w, sz_out;
    long long m;
    int cin_p, cout_p, ldc, prefix;
    int t_in, h_in, w_in, h_out, w_out;
    int kt, kh, kw, st, sh, sw, pt, pl;
    int silu, bias_row;
    float alpha;
} conv_args;

static tsr_status launch_conv(tsr_cuda *cu, conv_args *a, int n_total, int batch, int f32_out, tsr_error *err)
{
    unsigned gx = (unsigned)((a->m + 127) / 128);
    int bn = (f32_out || n_total > 64) ? 128 : 64;
    int k = f32_out ? K_GEMM_F32 : bn == 128 ? K_CONV_BN128 : K_CONV_BN64;
    unsigned gy = (unsigned)((n_total + bn - 1) / bn);
    if (a->m > (long long)0x7fffffff * 128) return tsr_fail(err, TSR_ERR_UNSUPPORTED, "conv too large");
    void *args[] = {a};
    if (cu->conv_async && !a->in_aff) {
        if (cu->conv_wide && !f32_out && n_total >= 256) {
            bn = 256;
            gy = (unsigned)((n_total + bn - 1) / bn);
            return tsr_cuda_launch_smem(cu, K_CONV_ASYNC_BN256, gx, gy, (unsigned)batch, 256, TSR_CONV_ASYNC_SMEM(bn),
                                        args, err);
        }
        if (cu->conv_k64 && !cu->conv_wide && !f32_out && bn == 128 && a->cin_p >= 64)
            return tsr_cuda_launch_smem(cu, K_CONV_ASYNC_K64, gx, gy, (unsigned)batch, 256, TSR_CONV_K64_SMEM, args, err);
        k = f32_out ? K_GEMM_ASYNC_F32 : bn == 128 ? K_CONV_ASYNC_BN128 : K_CONV_ASYNC_BN64;
        return tsr_cuda_launch_smem(cu, k, gx, gy, (unsigned)batch, 256, TSR_CONV_ASYNC_SMEM(bn), args, err);
    }
    return tsr_cuda_launch(cu, k, gx, gy, (unsigned)batch, 256, args, err);
}

tsr_status tsr_cuda_conv_builtin(tsr_cuda *cu, const tsr_cuda_conv_problem *p, tsr_error *err)
{
    const tsr_conv_desc *d = p->desc;
    conv_args a;
    memset(&a, 0, sizeof a);
    a.in = p->in;
    a.in_aff = p->in_affine;
    a.pre = p->prefix_ptr;
    a.pre_aff = p->prefix_affine;
    a.w = p->weight;
    a.bias = p->bias;
    a.out = p->out;
    a.res = p->residual;
    a.m = (long long)p->t_out * p->h_out * p->w_out;
    a.cin_p = p->cin_p;
    a.cout_p = p->cout_p;
    a.ldc = p->cout_p;
    a.prefix = p->prefix;
    a.t_in = p->t_in;
    a.h_in = p->h_in;
    a.w_in = p->w_in;
    a.h_out = p->h_out;
    a.w_out = p->w_out;
    a.kt = d->kt;
    a.kh = d->kh;
    a.kw = d->kw;
    a.st = d->st;
    a.sh = d->sh;
    a.sw = d->sw;
    a.pt = d->pad_top;
    a.pl = d->pad_left;
    a.silu = p->silu;
    a.alpha = 1.0f;
    return launch_conv(cu, &a, p->cout_p, 1, 0, err);
}

tsr_status tsr_cuda_gemm_run(tsr_cuda *cu, const tsr_cuda_gemm *g, tsr_error *err)
{
    if (g->k % 8 || g->n % 8 || g->ldc % 2)
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "gemm: k (%d) and n (%d) must be multiples of 8", g->k, g->n);
    conv_args a;
    memset(&a, 0, sizeof a);
    a.in = g->a;
    a.w = g->b;
    a.out = g->c;
    a.bias = g->bias;
    a.res = g->res;
    a.sz_in = g->sa;
    a.sz_w = g->sb;
    a.sz_out = g->sc;
    a.m = g->m;
    a.cin_p = g->k;
    a.cout_p = g->n;
    a.ldc = g->ldc;
    a.t_in = 1;
    a.h_in = 1;
    a.w_in = (int)g->m;
    a.h_out = 1;
    a.w_out = (int)g->m;
    a.kt = a.kh = a.kw = a.st = a.sh = a.sw = 1;
    a.bias_row = g->bias_row;
    a.alpha = g->alpha;
    return launch_conv(cu, &a, g->n, g->batch, g->f32_out, err);
}
