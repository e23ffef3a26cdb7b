/* The built-in conv: kernel argument block shared with kernels/conv_bf16.cu, tile choice, and GEMMs. */
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
    int t_skip;
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

/* The narrow kernel's shared memory: every tap's weights for 8 outputs, rows cin_p + 8, and one input patch. */
static unsigned narrow_smem(const tsr_conv_desc *d, int cin_p)
{
    return (unsigned)(d->kt * d->kh * d->kw) * 8u * (unsigned)(cin_p + 8) * 2u + TSR_CONV_NARROW_PATCH;
}

int tsr_cuda_conv_narrow_fits(const tsr_cuda *cu, const tsr_conv_desc *d, int cin_p, int cout_p)
{
    return cu->conv_narrow && cout_p == 8 && d->kt <= 3 && d->kh <= 3 && d->kw <= 3 && d->st == 1 && d->sh == 1 &&
           d->sw == 1 && cin_p % 32 == 0 && d->precision != TSR_LP_FP8 && narrow_smem(d, cin_p) <= TSR_CONV_NARROW_SMEM_MAX;
}

int tsr_cuda_conv_wg_fits(const tsr_cuda *cu, const tsr_conv_desc *d, int cin_p, int cout_p)
{
    return cu->conv_wg && (cu->conv_wg == 2 || cout_p == 128) && cout_p % 128 == 0 && cin_p % 64 == 0 &&
           d->kt >= 1 && d->kt <= 3 && d->st == 1 && d->kh == 3 && d->kw == 3 && d->sh == 1 && d->sw == 1 &&
           d->pad_top == 1 && d->pad_bottom == 1 && d->pad_left == 1 && d->pad_right == 1 && !d->shuffle_rt &&
           d->precision != TSR_LP_FP8;
}

/* conv_wg: blocks of 16 x tile output pixels x 128 channels, one output frame each (blockIdx.z); 3 warpgroups */
static tsr_status launch_wg(tsr_cuda *cu, const tsr_cuda_conv_problem *p, conv_args *a, tsr_error *err)
{
    int segs = cu->conv_wg_tile / 8;
    unsigned gx = (unsigned)((p->w_out + cu->conv_wg_tile - 1) / cu->conv_wg_tile);
    unsigned gy = (unsigned)((p->h_out + 15) / 16 * (p->cout_p / 128));
    if (p->t_out <= p->t_skip) return TSR_OK;
    if (!p->weight_wg) return tsr_fail(err, TSR_ERR_INTERNAL, "%s: no weights for the wg kernel", p->desc->name);
    a->w = p->weight_wg;
    if (gy > 65535 || p->t_out - p->t_skip > 65535)
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "%s: %dx%d frames", p->desc->name, p->h_out, p->w_out);
    void *args[] = {a};
    cu->conv_wg_calls++;
    return tsr_cuda_launch_smem(cu, segs == 1 ? K_CONV_WG8 : K_CONV_WG16, gx, gy, (unsigned)(p->t_out - p->t_skip), 384,
                                TSR_CONV_WG_SMEM(segs), args, err);
}

tsr_status tsr_cuda_conv_builtin(tsr_cuda *cu, const tsr_cuda_conv_problem *p, tsr_error *err)
{
    const tsr_conv_desc *d = p->desc;
    conv_args a = {
        .in = p->in, .in_aff = p->in_affine, .pre = p->prefix_ptr, .pre_aff = p->prefix_affine,
        .w = p->weight, .bias = p->bias, .out = p->out, .res = p->residual,
        .m = (long long)p->t_out * p->h_out * p->w_out,
        .cin_p = p->cin_p, .cout_p = p->cout_p, .ldc = p->cout_p, .prefix = p->prefix,
        .t_in = p->t_in, .h_in = p->h_in, .w_in = p->w_in, .h_out = p->h_out, .w_out = p->w_out,
        .kt = d->kt, .kh = d->kh, .kw = d->kw, .st = d->st, .sh = d->sh, .sw = d->sw,
        .pt = d->pad_top, .pl = d->pad_left, .silu = p->silu, .alpha = 1.0f, .t_skip = p->t_skip,
    };
    if (tsr_cuda_conv_wg_fits(cu, d, p->cin_p, p->cout_p)) return launch_wg(cu, p, &a, err);
    if (p->t_skip) return tsr_fail(err, TSR_ERR_INTERNAL, "%s: t_skip without the wg kernel", d->name);
    if (tsr_cuda_conv_narrow_fits(cu, d, p->cin_p, p->cout_p)) {
        void *args[] = {&a};
        /* conv_out's own shape has a kernel with its sizes compiled in (TSR_CUDA_NARROW=generic: not used) */
        int k = d->kt == 3 && d->kh == 3 && d->kw == 3 && p->cin_p == 128 && cu->conv_narrow == 1 ? K_CONV_NARROW_333
                                                                                                 : K_CONV_NARROW;
        return tsr_cuda_launch_smem(cu, k, (unsigned)((p->w_out + 31) / 32), (unsigned)((p->h_out + 7) / 8), 1, 256,
                                    narrow_smem(d, p->cin_p), args, err);
    }
    return launch_conv(cu, &a, p->cout_p, 1, 0, err);
}

/* A GEMM is the conv kernel over a 1 x 1 x M "frame" with a 1x1x1 kernel, batched over blockIdx.z. */
tsr_status tsr_cuda_gemm_run(tsr_cuda *cu, const tsr_cuda_gemm *g, tsr_error *err)
{
    if (g->k % 8 || g->n % 8 || g->ldc % 2)
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "gemm: k (%d) and n (%d) must be multiples of 8", g->k, g->n);
    tsr_status st = tsr_cuda_cudnn_gemm(cu, g, err);
    if (st != TSR_ERR_UNSUPPORTED) return st;
    conv_args a = {
        .in = g->a, .w = g->b, .out = g->c, .bias = g->bias, .res = g->res,
        .sz_in = g->sa, .sz_w = g->sb, .sz_out = g->sc, .m = g->m,
        .cin_p = g->k, .cout_p = g->n, .ldc = g->ldc,
        .t_in = 1, .h_in = 1, .w_in = (int)g->m, .h_out = 1, .w_out = (int)g->m,
        .kt = 1, .kh = 1, .kw = 1, .st = 1, .sh = 1, .sw = 1,
        .bias_row = g->bias_row, .alpha = g->alpha,
    };
    return launch_conv(cu, &a, g->n, g->batch, g->f32_out, err);
}
