/* cuDNN as a conv implementation of the CUDA backend (cuda_conv.h), opt-in with TSR_CUDNN=1.
 *
 * bf16 convs ("cudnn-bf16"): X = the NDHWC bf16 input with the causal prefix in front of it: read in place when
 * the backend wrote them contiguously (every conv with a GroupNorm prologue), else materialised (cuDNN cannot
 * read two buffers: one extra copy of the input, ~7 % of a large conv's time); W = the backend's
 * bf16 [cout_p][taps][cin_p] weights (KTRSC strides); bias and residual fused. FP8 convs go through cuDNN from
 * cuda_conv_fp8.c (tsr_cuda_cudnn_fp8_run below), with the same prefix handling on e4m3 data.
 * Each shape is tuned once (all candidate plans timed on the real buffers) and cached; the winners are kept in a
 * cache file across starts (cache_path below), so a later start builds one plan per shape and times nothing. A
 * shape cuDNN cannot run falls back to the built-in kernels. */
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/cudnn.h"
#include "core/common.h"
#include "core/file.h"

static double sync_now(void *user)
{
    tsr_cuda *cu = user;
    cu->api.cuStreamSynchronize(cu->stream);
    return tsr_now();
}

/* Common checks: stride 1, symmetric padding, no input prologue, no aliasing of residual and output. */
static int cudnn_can(const tsr_cuda_conv_problem *p)
{
    const tsr_conv_desc *d = p->desc;
    return d->st == 1 && d->sh == 1 && d->sw == 1 && !p->in_affine && d->pad_top == d->pad_bottom &&
           d->pad_left == d->pad_right && p->t_out == p->t_in && (!p->prefix || p->prefix == d->kt - 1) &&
           (!p->residual || p->residual != p->out);
}

tsr_status tsr_cuda_cudnn_conv(tsr_cuda *cu, tsr_cudnn *dnn, const tsr_cuda_conv_problem *p, int dtype, uint64_t x_ext,
                               uint64_t weight, uint64_t xscale, uint64_t wscale, tsr_error *err)
{
    const tsr_conv_desc *d = p->desc;
    int fp8 = dtype == TSR_CUDNN_FP8_E4M3;
    tsr_cudnn_conv_shape s;
    memset(&s, 0, sizeof s);
    s.dtype = (tsr_cudnn_dtype)dtype;
    s.t = p->t_in + p->prefix, s.h = p->h_in, s.w = p->w_in, s.cin = p->cin_p, s.cout = p->cout_p;
    s.kt = d->kt, s.kh = d->kh, s.kw = d->kw, s.pt = 0, s.ph = d->pad_top, s.pw = d->pad_left;
    s.has_xscale = fp8, s.wscale = fp8 ? 2 : 0, s.has_bias = p->bias != 0, s.has_residual = p->residual != 0;
    tsr_cudnn_conv *cv = NULL;
    tsr_error e2;
    if (tsr_cudnn_conv_get(dnn, &s, &cv, &e2) != TSR_OK) return TSR_ERR_UNSUPPORTED;
    size_t ws_size = tsr_cudnn_conv_workspace(cv);
    CUdeviceptr ws = 0;
    if (ws_size && tsr_cuda_arena_alloc(cu, ws_size, &ws, &e2) != TSR_OK) return TSR_ERR_UNSUPPORTED;
    tsr_cudnn_conv_args a;
    memset(&a, 0, sizeof a);
    a.x = (void *)(uintptr_t)x_ext, a.w = (void *)(uintptr_t)weight, a.y = (void *)(uintptr_t)p->out;
    a.xscale = (void *)(uintptr_t)xscale, a.wscale = (void *)(uintptr_t)wscale;
    a.bias = (void *)(uintptr_t)p->bias, a.residual = (void *)(uintptr_t)p->residual;
    a.workspace = (void *)(uintptr_t)ws, a.workspace_size = ws_size;
    tsr_status st = TSR_OK;
    if (tsr_cuda_graph_dry(cu) && !tsr_cudnn_conv_is_tuned(cv)) /* graph replay: a shape the recording never had */
        tsr_cuda_graph_mismatch(cu), st = TSR_ERR_UNSUPPORTED;
    else if (!tsr_cudnn_conv_is_tuned(cv) && tsr_cudnn_conv_tune(dnn, cv, &a, 3, sync_now, cu, NULL, &e2) != TSR_OK)
        st = TSR_ERR_UNSUPPORTED; /* no plan ran: the built-in kernels take this shape */
    if (!st && !tsr_cuda_graph_dry(cu)) st = tsr_cudnn_conv_run(dnn, cv, &a, err); /* replay: the graph runs it */
    if (ws) tsr_cuda_arena_free(cu, ws);
    return st;
}

typedef struct dnn_impl {
    tsr_cuda *cu;
    tsr_cudnn *dnn;
    char *cache_path;             /* remembered plan choices (NULL: not kept) */
    int gemm_declined;            /* GEMM shapes cuDNN could not run (logged a few times) */
} dnn_impl;

/* The plan-choice cache file: TSR_CUDNN_CACHE (a path; "off" keeps nothing), else <user data dir>/cudnn-plans.txt
 * unless the caller keeps the choices itself (the engine, in the SQLite store: tuning_external). */
static char *cache_path(int external)
{
    const char *env = getenv("TSR_CUDNN_CACHE");
    if (env && *env) return strcmp(env, "off") ? tsr_strdup(env) : NULL;
    if (external) return NULL;
    char *dir = tsr_user_data_dir();
    if (!dir) return NULL;
    size_t n = strlen(dir) + 32;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/cudnn-plans.txt", dir);
    free(dir);
    return p;
}

static void cache_load(dnn_impl *f)
{
    if (!f->cache_path) return;
    void *data = NULL;
    size_t size = 0;
    tsr_error e;
    if (tsr_map_file(f->cache_path, &data, &size, &e) != TSR_OK) return; /* none yet */
    char *text = malloc(size + 1);
    int n = 0;
    if (text) {
        memcpy(text, data, size);
        text[size] = 0;
        if (tsr_cudnn_choices_import(f->dnn, text, &n, &e) != TSR_OK)
            tsr_log(TSR_LOG_WARN, "%s: %s; plans will be timed again", f->cache_path, e.message);
        else
            tsr_log(TSR_LOG_INFO, "cuDNN: %d remembered plan choices from %s", n, f->cache_path);
    }
    free(text);
    tsr_unmap_file(data, size);
}

static void cache_save(dnn_impl *f)
{
    if (!f->cache_path || !tsr_cudnn_choices_changed(f->dnn)) return;
    char *text = tsr_cudnn_choices_export(f->dnn);
    if (!text) return;
    if (!getenv("TSR_CUDNN_CACHE")) { /* the default folder may not exist yet */
        char *dir = tsr_user_data_dir();
        if (dir) {
            for (char *q = dir + 1; *q; q++)
                if (*q == '/' || *q == '\\') {
                    char c0 = *q;
                    *q = 0;
                    tsr_mkdir(dir);
                    *q = c0;
                }
            tsr_mkdir(dir);
            free(dir);
        }
    }
    tsr_atomic_file af;
    tsr_error e;
    if (tsr_atomic_open(&af, f->cache_path, &e) == TSR_OK) {
        if (fputs(text, af.fp) < 0) tsr_atomic_abort(&af);
        else if (tsr_atomic_commit(&af, &e) != TSR_OK) tsr_log(TSR_LOG_WARN, "cuDNN plan cache: %s", e.message);
    } else {
        tsr_log(TSR_LOG_WARN, "cuDNN plan cache: %s", e.message);
    }
    free(text);
}

static tsr_status bf16_run(void *user, tsr_cuda *cu, const tsr_cuda_conv_problem *p, tsr_error *err)
{
    dnn_impl *f = user;
    if (!cudnn_can(p)) return TSR_ERR_UNSUPPORTED;
    size_t fbytes = (size_t)p->h_in * p->w_in * p->cin_p * 2;
    CUdeviceptr x = p->in, buf = 0;
    tsr_status st = TSR_OK;
    if (p->prefix && p->prefix_ptr && p->prefix_ptr + (uint64_t)p->prefix * fbytes == p->in) {
        x = p->prefix_ptr; /* already contiguous (the norm pass wrote it so) */
    } else if (p->prefix) { /* materialise [prefix | in] */
        if (tsr_cuda_arena_alloc(cu, fbytes * (size_t)(p->prefix + p->t_in), &buf, err)) return TSR_ERR_UNSUPPORTED;
        for (int e = 0; e < p->prefix && !st; e++) {
            CUdeviceptr src = p->prefix_ptr ? p->prefix_ptr + (uint64_t)e * fbytes : p->in;
            st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(buf + (uint64_t)e * fbytes, src, fbytes, cu->stream), err,
                                "cudnn prefix");
        }
        if (!st)
            st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(buf + (uint64_t)p->prefix * fbytes, p->in,
                                                              fbytes * (size_t)p->t_in, cu->stream), err, "cudnn input");
        x = buf;
    }
    if (!st) st = tsr_cuda_cudnn_conv(cu, f->dnn, p, TSR_CUDNN_BF16, x, p->weight, 0, 0, err);
    if (buf) tsr_cuda_arena_free(cu, buf);
    return st;
}

static dnn_impl *find_dnn(tsr_backend *be);

/* A GEMM as cuDNN 1x1x1 convs, one per batch item: A [m][k] is a 1 x 1 x m input of k channels, B [n][k] the
 * weights, C [m][n] the output (bf16, or fp32 for attention scores). With them the attention at 720p17 took
 * 11.4 ms instead of 17.0 on an H100 (RESULTS.md, session 8). Declines what it cannot run unchanged: a row bias,
 * alpha != 1, a padded C, no cuDNN (the built-in kernel runs it then). */
tsr_status tsr_cuda_cudnn_gemm(tsr_cuda *cu, const tsr_cuda_gemm *g, tsr_error *err)
{
    dnn_impl *f = find_dnn((tsr_backend *)cu);
    if (!f || !cu->gemm_dnn || g->bias_row || g->alpha != 1.0f || g->ldc != g->n || g->m < 1 || g->m > 0x7fffffffLL ||
        g->k % 8 || g->n % 8 || (g->f32_out && g->res))
        return TSR_ERR_UNSUPPORTED;
    tsr_conv_desc d = {.cin = g->k, .cout = g->n, .kt = 1, .kh = 1, .kw = 1, .st = 1, .sh = 1, .sw = 1, .name = "gemm"};
    uint64_t osz = g->f32_out ? 4 : 2;
    tsr_status st = TSR_OK;
    for (int z = 0; z < g->batch && !st; z++) {
        tsr_cuda_conv_problem p = {
            .desc = &d, .cin_p = g->k, .cout_p = g->n,
            .in = g->a + (uint64_t)(z * g->sa) * 2, .t_in = 1, .h_in = 1, .w_in = (int)g->m,
            .weight = g->b + (uint64_t)(z * g->sb) * 2, .bias = g->bias,
            .out = g->c + (uint64_t)(z * g->sc) * osz, .t_out = 1, .h_out = 1, .w_out = (int)g->m,
            .residual = g->res ? g->res + (uint64_t)(z * g->sc) * 2 : 0, .stream = cu->stream,
        };
        st = tsr_cuda_cudnn_conv(cu, f->dnn, &p, g->f32_out ? TSR_CUDNN_BF16_YF32 : TSR_CUDNN_BF16, p.in, p.weight, 0,
                                 0, err);
    }
    if (st == TSR_ERR_UNSUPPORTED && f->gemm_declined++ < 4)
        tsr_log(TSR_LOG_INFO, "cuDNN: no plan for the GEMM %lldx%dx%d (%s out): built-in kernel", g->m, g->n, g->k,
                g->f32_out ? "fp32" : "bf16");
    return st;
}

static void dnn_destroy(void *user)
{
    dnn_impl *f = user;
    cache_save(f);
    tsr_cudnn_close(&f->dnn);
    free(f->cache_path);
    free(f);
}

static dnn_impl *find_dnn(tsr_backend *be)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    for (int i = 0; i < cu->impl_count; i++)
        if (cu->impls[i].destroy == dnn_destroy) return cu->impls[i].user;
    return NULL;
}

char *tsr_cuda_tuning_export(tsr_backend *be)
{
    dnn_impl *f = find_dnn(be);
    return f ? tsr_cudnn_choices_export(f->dnn) : NULL;
}

tsr_status tsr_cuda_tuning_import(tsr_backend *be, const char *text, tsr_error *err)
{
    dnn_impl *f = find_dnn(be);
    if (!f) return TSR_OK; /* no cuDNN: nothing to tune */
    int n = 0;
    tsr_status st = tsr_cudnn_choices_import(f->dnn, text, &n, err);
    if (st == TSR_OK) tsr_log(TSR_LOG_INFO, "cuDNN: %d remembered plan choices", n);
    return st;
}

int tsr_cuda_cudnn_enabled(void)
{
    /* On by default: measured 2x faster than our own bf16 kernel on an H100 (tests/bench/RESULTS.md).
     * TSR_CUDNN=0 forces the project's own kernels; without the library every conv falls back anyway. */
    const char *env = getenv("TSR_CUDNN");
    return !(env && strcmp(env, "0") == 0);
}

tsr_status tsr_cuda_conv_cudnn_install(tsr_cuda *cu, tsr_error *err)
{
    if (!tsr_cuda_cudnn_enabled()) return TSR_OK;
    dnn_impl *f = tsr_calloc(1, sizeof *f, err);
    if (!f) return TSR_ERR_NOMEM;
    f->cu = cu;
    tsr_error e2;
    if (tsr_cudnn_open((void *)cu->stream, &f->dnn, &e2) != TSR_OK) {
        tsr_log(TSR_LOG_WARN, "TSR_CUDNN: %s; using the built-in convs", e2.message);
        free(f);
        return TSR_OK;
    }
    tsr_cudnn_set_device(f->dnn, cu->name, cu->cc_major, cu->cc_minor);
    f->cache_path = cache_path(cu->tuning_external);
    cache_load(f);
    tsr_cuda_conv_impl impl = {.name = "cudnn-bf16", .user = f, .run = bf16_run, .destroy = dnn_destroy};
    tsr_status st = tsr_cuda_conv_register(cu, TSR_LP_DEFAULT, &impl, err);
    if (st) dnn_destroy(f);
    return st;
}
