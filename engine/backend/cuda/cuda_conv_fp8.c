/* FP8 (e4m3) conv for the CUDA backend: an alternative conv implementation (cuda_conv.h) running
 * kernels/conv_fp8.cu — activations quantised per tensor on the fly (amax pass + quantise pass, scale kept on the
 * device), weights per output channel once, at first use (cached per weight buffer), fp32 accumulation, bias and
 * residual fused into the bf16 epilogue, causal state read in place.
 *
 * Which convs run in FP8: those whose desc->precision is TSR_LP_FP8 — set at load from the engine precision by the
 * policy table (vae/precision.c: "fp8-fast", "fp8-quality") — unless the diagnostic override (TSR_FP8 or
 * tsr_fp8_override_set, see vae/precision.h) says otherwise. TSR_FP8_KERNEL=own (read per call) bypasses cuDNN
 * FP8 for the own mma.sync kernel (per-layer own-vs-cuDNN comparisons).
 * A conv it cannot run (GPU older than sm_89, strides, input prologue, odd channels) falls back to bf16. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/cudnn.h"
#include "../../../kernels/conv_fp8.h" /* the kernel parameter block */
#include "core/common.h"
#include "vae/precision.h"

enum { WCACHE = 128 };

typedef struct fp8_wq {
    uint64_t src;                    /* bf16 weight buffer it came from */
    CUdeviceptr q, scale;            /* e4m3 [cout_p][taps][cin_p], fp32 [cout_p] */
    CUdeviceptr hist;                /* amax bits of this conv's last input (TSR_FP8_SCALE=delayed), after scale */
    int have_hist;
} fp8_wq;

typedef struct fp8_impl {
    tsr_cuda *cu;
    CUfunction conv, amax, quant, quant_rows;
    CUfunction amax_chan, act_stats;  /* TSR_FP8_STATS diagnostics (kernels/quant_fp8.cu) */
    CUfunction quant_delayed;         /* TSR_FP8_SCALE=delayed (kernels/quant_fp8.cu) */
    fp8_wq w[WCACHE];
    int nw;
    struct tsr_cudnn *dnn;           /* TSR_CUDNN=1: FP8 convs through cuDNN where it supports them */
} fp8_impl;

static int policy_wants(const tsr_conv_desc *d)
{
    int o = tsr_fp8_override_for(d->name);
    return o >= 0 ? o : d->precision == TSR_LP_FP8;
}

/* Activation scale (TSR_FP8_SCALE, read per call). Default "delayed": a conv's scale comes from its previous call's
 * amax with 16x headroom, so quantising is ONE pass (which also records this call's amax for the next call) instead
 * of an amax pass + a quantise pass; the first call of each conv uses the two passes. Measured (RESULTS.md, "FP8
 * precision policy", run 2): same golden quality as two passes (38.50 vs 38.51 dB fast, 41.38 both quality), 720p17
 * fp8-fast 0.980 -> 0.882 s, measured before chunk graphs existed). Values that grow more than 16x between two calls
 * of one conv saturate at +-448 for that call (the next call re-centres). "two-pass": amax + quantise on every
 * call. Chunk graphs (cuda_graph.c): the path is chosen while recording; the amax history lives on the device
 * and both paths update it, so a replay of either is correct. */
static int delayed_scale(void)
{
    const char *k = getenv("TSR_FP8_SCALE");
    return !(k && !strcmp(k, "two-pass"));
}

static tsr_status quant_delayed(fp8_impl *f, CUdeviceptr x, size_t n, CUdeviceptr prev_amax, CUdeviceptr q,
                                CUdeviceptr scale, CUdeviceptr amax_out, tsr_error *err)
{
    float target = 448.0f / 16.0f;
    void *args[] = {&x, &n, &prev_amax, &target, &q, &scale, &amax_out};
    return tsr_cuda_check(f->cu, f->cu->api.cuLaunchKernel(f->quant_delayed, 1024, 1, 1, 256, 1, 1, 0, f->cu->stream,
                                                           args, NULL), err, "fp8 quantise (delayed scale)");
}

static int own_kernel_forced(void)
{
    const char *k = getenv("TSR_FP8_KERNEL");
    return k && !strcmp(k, "own");
}

static tsr_status quantise_weights(fp8_impl *f, const tsr_cuda_conv_problem *p, fp8_wq **out, tsr_error *err)
{
    tsr_cuda *cu = f->cu;
    for (int i = 0; i < f->nw; i++)
        if (f->w[i].src == p->weight) {
            *out = &f->w[i];
            return TSR_OK;
        }
    if (f->nw == WCACHE) return tsr_fail(err, TSR_ERR_UNSUPPORTED, "fp8: weight cache full");
    const tsr_conv_desc *d = p->desc;
    int cols = d->kt * d->kh * d->kw * p->cin_p;
    fp8_wq *w = &f->w[f->nw];
    if (cu->api.cuMemAlloc(&w->q, (size_t)p->cout_p * cols)) return tsr_fail(err, TSR_ERR_UNSUPPORTED, "fp8: no memory");
    if (cu->api.cuMemAlloc(&w->scale, (size_t)p->cout_p * 4 + 16)) {
        cu->api.cuMemFree(w->q);
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "fp8: no memory");
    }
    uint64_t src = p->weight;
    void *args[] = {&src, &cols, &w->q, &w->scale};
    CUresult r = cu->api.cuLaunchKernel(f->quant_rows, (unsigned)p->cout_p, 1, 1, 256, 1, 1, 0, cu->stream, args, NULL);
    tsr_status st = tsr_cuda_check(cu, r, err, "fp8 weight quantisation");
    if (st) {
        cu->api.cuMemFree(w->q);
        cu->api.cuMemFree(w->scale);
        return st;
    }
    w->src = p->weight;
    w->hist = w->scale + (size_t)p->cout_p * 4;
    w->have_hist = 0;
    f->nw++;
    *out = w;
    return TSR_OK;
}

/* amax over `n` bf16 values at `x` into the scratch word (zeroed by the caller) */
static tsr_status amax(fp8_impl *f, CUdeviceptr x, size_t n, CUdeviceptr bits, tsr_error *err)
{
    void *args[] = {&x, &n, &bits};
    return tsr_cuda_check(f->cu, f->cu->api.cuLaunchKernel(f->amax, 512, 1, 1, 256, 1, 1, 0, f->cu->stream, args, NULL),
                          err, "fp8 amax");
}

static tsr_status quant(fp8_impl *f, CUdeviceptr x, size_t n, CUdeviceptr bits, CUdeviceptr q, CUdeviceptr scale,
                        tsr_error *err)
{
    float target = 448.0f;
    void *args[] = {&x, &n, &bits, &target, &q, &scale};
    return tsr_cuda_check(f->cu, f->cu->api.cuLaunchKernel(f->quant, 1024, 1, 1, 256, 1, 1, 0, f->cu->stream, args, NULL),
                          err, "fp8 quantise");
}

/* TSR_FP8_STATS=1: one line per FP8 conv call on stderr — how a per-tensor e4m3 scale (what runs) compares with
 * per-channel scales on this very input: quantisation SNR of each, and the share of non-zero values that fall
 * below the e4m3 normal range under the per-tensor scale (where a float format loses relative precision).
 * Synchronises the stream: diagnostics only, with TSR_CUDA_GRAPHS=0 (a chunk being recorded cannot synchronise). */
static tsr_status act_stats(fp8_impl *f, const tsr_cuda_conv_problem *p, CUdeviceptr tensor_amax, size_t n,
                            tsr_error *err)
{
    tsr_cuda *cu = f->cu;
    if (!f->amax_chan || !f->act_stats) return TSR_OK;
    CUdeviceptr buf = 0;
    size_t chan_bytes = ((size_t)p->cin_p * 4 + 63) & ~(size_t)63;
    tsr_status st = tsr_cuda_arena_alloc(cu, chan_bytes + 64, &buf, err);
    if (st) return st;
    CUdeviceptr acc = buf + chan_bytes;
    int cp = p->cin_p;
    st = tsr_cuda_check(cu, cu->api.cuMemsetD8Async(buf, 0, chan_bytes + 64, cu->stream), err, "fp8 stats");
    uint64_t x = p->in;
    void *a1[] = {&x, &n, &cp, &buf};
    if (!st) st = tsr_cuda_check(cu, cu->api.cuLaunchKernel(f->amax_chan, 512, 1, 1, 256, 1, 1, 0, cu->stream, a1, NULL),
                                 err, "fp8 channel amax");
    void *a2[] = {&x, &n, &cp, &tensor_amax, &buf, &acc};
    if (!st) st = tsr_cuda_check(cu, cu->api.cuLaunchKernel(f->act_stats, 512, 1, 1, 256, 1, 1, 0, cu->stream, a2, NULL),
                                 err, "fp8 stats");
    double h[5] = {0};
    if (!st) st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoHAsync(h, acc, sizeof h, cu->stream), err, "fp8 stats");
    if (!st) st = tsr_cuda_check(cu, cu->api.cuStreamSynchronize(cu->stream), err, "fp8 stats");
    tsr_cuda_arena_free(cu, buf);
    if (!st && h[0] > 0)
        fprintf(stderr, "fp8-stats %s cin %d: SNR per-tensor %.2f dB, per-channel %.2f dB, below-normal %.4f %%\n",
                p->desc->name ? p->desc->name : "?", p->desc->cin, 10 * log10(h[0] / (h[1] > 0 ? h[1] : 1e-300)),
                10 * log10(h[0] / (h[2] > 0 ? h[2] : 1e-300)), h[4] > 0 ? 100 * h[3] / h[4] : 0.0);
    return st;
}

static tsr_status fp8_run(void *user, tsr_cuda *cu, const tsr_cuda_conv_problem *p, tsr_error *err)
{
    fp8_impl *f = user;
    const tsr_conv_desc *d = p->desc;
    if (!policy_wants(d)) return TSR_ERR_UNSUPPORTED;
    if (d->st != 1 || d->sh != 1 || d->sw != 1 || p->in_affine || p->cin_p % 16 || d->pad_top != d->pad_bottom ||
        d->pad_left != d->pad_right || p->t_out != p->t_in || (p->prefix && p->prefix != d->kt - 1))
        return TSR_ERR_UNSUPPORTED;
    fp8_wq *w = NULL;
    tsr_status st = quantise_weights(f, p, &w, err);
    if (st) return st == TSR_ERR_UNSUPPORTED ? TSR_ERR_UNSUPPORTED : st;

    /* buffer: 256 B scratch (amax bits, scale), then e4m3 [prefix frames | input frames] */
    size_t frame = (size_t)p->h_in * p->w_in * p->cin_p, n_in = frame * p->t_in;
    size_t n_pre = frame * p->prefix;
    CUdeviceptr buf = 0;
    if ((st = tsr_cuda_arena_alloc(cu, n_pre + n_in + 256, &buf, err))) return st;
    CUdeviceptr scratch = buf, q_pre = buf + 256, q_in = q_pre + n_pre;
    /* scratch words: 0 amax (two-pass), 1 scale, 2 this call's amax (delayed), 3 unused amax of the prefix */
    st = tsr_cuda_check(cu, cu->api.cuMemsetD8Async(scratch, 0, 16, cu->stream), err, "fp8 scratch");
    int delayed = delayed_scale() && f->quant_delayed;
    if (delayed && w->have_hist) {
        if (!st) st = quant_delayed(f, p->in, n_in, w->hist, q_in, scratch + 4, scratch + 8, err);
        if (!st && p->prefix_ptr) st = quant_delayed(f, p->prefix_ptr, n_pre, w->hist, q_pre, scratch + 4, scratch + 12, err);
        if (!st) st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(w->hist, scratch + 8, 4, cu->stream), err, "fp8 amax");
    } else {
        if (!st) st = amax(f, p->in, n_in, scratch, err);
        if (!st && p->prefix_ptr) st = amax(f, p->prefix_ptr, n_pre, scratch, err);
        if (!st && getenv("TSR_FP8_STATS")) st = act_stats(f, p, scratch, n_in, err);
        if (!st) st = quant(f, p->in, n_in, scratch, q_in, scratch + 4, err);
        if (!st && p->prefix_ptr) st = quant(f, p->prefix_ptr, n_pre, scratch, q_pre, scratch + 4, err);
        if (!st && delayed) {
            st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(w->hist, scratch, 4, cu->stream), err, "fp8 amax");
            w->have_hist = !st;
        }
    }
    if (!st && f->dnn && !own_kernel_forced()) { /* cuDNN FP8 (Hopper: ~4x the own kernel) on the materialised [prefix | input] */
        for (int e = 0; e < p->prefix && !p->prefix_ptr && !st; e++)
            st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(q_pre + (uint64_t)e * frame, q_in, frame, cu->stream),
                                err, "fp8 prefix");
        if (!st) {
            tsr_status ds = tsr_cuda_cudnn_conv(cu, f->dnn, p, TSR_CUDNN_FP8_E4M3, q_pre, w->q, scratch + 4, w->scale, err);
            if (ds != TSR_ERR_UNSUPPORTED) {
                tsr_cuda_arena_free(cu, buf);
                return ds;
            }
        }
    }
    if (!st) {
        tsr_conv_fp8_params k;
        memset(&k, 0, sizeof k);
        /* device addresses travel in pointer-typed fields: the kernel sees the same 64-bit values */
        k.in = (const uint8_t *)(uintptr_t)q_in;
        k.prefix = p->prefix_ptr ? (const uint8_t *)(uintptr_t)q_pre : NULL;
        k.weight = (const uint8_t *)(uintptr_t)w->q;
        k.xscale = (const float *)(uintptr_t)(scratch + 4);
        k.wscale = (const float *)(uintptr_t)w->scale;
        k.bias = p->bias ? (const float *)(uintptr_t)p->bias : NULL;
        k.residual = p->residual ? (const uint16_t *)(uintptr_t)p->residual : NULL;
        k.out = (uint16_t *)(uintptr_t)p->out;
        k.t_in = p->t_in, k.h = p->h_in, k.w = p->w_in, k.cin = p->cin_p;
        k.cout = p->cout_p, k.out_stride = p->cout_p;
        k.kt = d->kt, k.kh = d->kh, k.kw = d->kw, k.ph = d->pad_top, k.pw = d->pad_left;
        k.h_out = p->h_out, k.w_out = p->w_out;
        long long m = (long long)p->t_out * p->h_out * p->w_out;
        unsigned gx = (unsigned)((p->cout_p + TSR_CONV_FP8_BN - 1) / TSR_CONV_FP8_BN);
        unsigned gy = (unsigned)((m + TSR_CONV_FP8_BM - 1) / TSR_CONV_FP8_BM);
        void *args[] = {&k};
        st = tsr_cuda_check(cu, cu->api.cuLaunchKernel(f->conv, gx, gy, 1, TSR_CONV_FP8_THREADS, 1, 1, 0, cu->stream,
                                                       args, NULL), err, "fp8 conv");
    }
    tsr_cuda_arena_free(cu, buf); /* stream-ordered: the next user of the block runs after these kernels */
    return st;
}

static void fp8_destroy(void *user)
{
    fp8_impl *f = user;
    for (int i = 0; i < f->nw; i++) {
        f->cu->api.cuMemFree(f->w[i].q);
        f->cu->api.cuMemFree(f->w[i].scale);
    }
    tsr_cudnn_close(&f->dnn);
    free(f);
}

tsr_status tsr_cuda_conv_fp8_install(tsr_cuda *cu, tsr_error *err)
{
    if (cu->cc_major * 10 + cu->cc_minor < 89) return TSR_OK; /* no FP8 tensor cores: bf16 everywhere */
    fp8_impl *f = tsr_calloc(1, sizeof *f, err);
    if (!f) return TSR_ERR_NOMEM;
    f->cu = cu;
    f->conv = tsr_cuda_find_kernel(cu, "conv_fp8", "tsr_conv_fp8_f32acc");
    f->amax = tsr_cuda_find_kernel(cu, "conv_fp8", "tsr_amax_bf16");
    f->quant = tsr_cuda_find_kernel(cu, "conv_fp8", "tsr_quant_bf16_e4m3");
    f->quant_rows = tsr_cuda_find_kernel(cu, "conv_fp8", "tsr_quant_rows_bf16_e4m3");
    f->amax_chan = tsr_cuda_find_kernel(cu, "quant_fp8", "tsr_amax_chan_bf16");
    f->act_stats = tsr_cuda_find_kernel(cu, "quant_fp8", "tsr_fp8_act_stats");
    f->quant_delayed = tsr_cuda_find_kernel(cu, "quant_fp8", "tsr_quant_bf16_e4m3_delayed");
    if (!f->conv || !f->amax || !f->quant || !f->quant_rows) {
        free(f);
        tsr_log(TSR_LOG_WARN, "FP8 conv kernels missing from the fatbin: FP8 off");
        return TSR_OK;
    }
    if (tsr_cuda_cudnn_enabled() && tsr_cudnn_open((void *)cu->stream, &f->dnn, NULL) != TSR_OK) f->dnn = NULL;
    tsr_cuda_conv_impl impl = {.name = "fp8", .user = f, .run = fp8_run, .destroy = fp8_destroy};
    tsr_status st = tsr_cuda_conv_register(cu, TSR_LP_DEFAULT, &impl, err);
    if (st) free(f);
    return st;
}
