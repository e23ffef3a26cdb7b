/* CUDA backend: device and context, embedded kernel modules, the activation arena, parameter upload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/cuda_tiled.h"
#include "core/common.h"
#include "core/half.h"
#include "core/threadpool.h"

typedef struct tsr_cuda_fatbin {
    const char *name;
    const void *data;
    size_t size;
} tsr_cuda_fatbin;
extern const tsr_cuda_fatbin tsr_cuda_fatbins[];
extern const int tsr_cuda_fatbin_count;

/* fatbin (kernels/<name>.cu) holding each kernel, so that no lookup probes the wrong module */
static const char *const kernel_modules[K_COUNT] = {
    "conv_bf16", "conv_bf16", "conv_bf16", "ops_bf16", "ops_bf16", "ops_bf16", "ops_bf16", "ops_bf16", "ops_bf16",
    "conv_bf16", "conv_bf16", "conv_bf16", "conv_bf16", "conv_bf16", "ops_bf16", "ops_bf16", "io", "io", "io",
    "conv_bf16", "ops_bf16", "conv_bf16", "ops_bf16", "ops_bf16", "conv_wg", "conv_wg",
};
static const char *const kernel_names[K_COUNT] = {
    "tsr_conv_bn128", "tsr_conv_bn64", "tsr_gemm_f32_bn128", "tsr_gn_stats", "tsr_gn_finalize",
    "tsr_gn_apply", "tsr_d2s", "tsr_add", "tsr_softmax_rows",
    "tsr_conv_async_bn128", "tsr_conv_async_bn64", "tsr_gemm_async_f32_bn128", "tsr_conv_async_bn256",
    "tsr_conv_async_k64_bn128", "tsr_to_planar", "tsr_from_planar", "tsr_frames_to_act", "tsr_act_to_planar_f32",
    "tsr_prof_gate", "tsr_conv_narrow", "tsr_upshuffle", "tsr_conv_narrow_333", "tsr_softmax_rows4",
    "tsr_softmax_rows8", "tsr_conv_wg8", "tsr_conv_wg16",
};

tsr_status tsr_cuda_check(tsr_cuda *cu, CUresult r, tsr_error *err, const char *what)
{
    return tsr_cu_check(&cu->api, r, err, what);
}

/* ------------------------------------------------------------------ arena (first fit, coalescing) */

#define ARENA_ALIGN 256u

static tsr_status arena_init(tsr_cuda *cu, uint64_t size, tsr_error *err)
{
    tsr_arena *a = &cu->arena;
    size &= ~(uint64_t)(ARENA_ALIGN - 1);
    tsr_status st = tsr_cuda_check(cu, cu->api.cuMemAlloc(&a->base, size), err, "allocating the device arena");
    if (st) return st;
    a->size = size;
    a->cap = 64;
    a->blocks = tsr_calloc((size_t)a->cap, sizeof *a->blocks, err);
    if (!a->blocks) return TSR_ERR_NOMEM;
    a->blocks[0] = (tsr_arena_block){0, size, 0};
    a->count = 1;
    return TSR_OK;
}

/* Diagnostics (TSR_ARENA_DUMP set): the live blocks at an exhaustion, largest first, to stderr. */
static void arena_dump(const tsr_arena *a)
{
    uint64_t done = UINT64_MAX;
    for (;;) {
        uint64_t size = 0;
        int n = 0;
        for (int i = 0; i < a->count; i++)
            if (a->blocks[i].used && a->blocks[i].size < done && a->blocks[i].size > size) size = a->blocks[i].size;
        if (!size) break;
        for (int i = 0; i < a->count; i++) n += a->blocks[i].used && a->blocks[i].size == size;
        fprintf(stderr, "arena: %d x %llu bytes (%.3f GiB)\n", n, (unsigned long long)size, n * (double)size / (1 << 30));
        done = size;
    }
}

tsr_status tsr_cuda_arena_alloc(tsr_cuda *cu, uint64_t bytes, CUdeviceptr *out, tsr_error *err)
{
    tsr_arena *a = &cu->arena;
    uint64_t n = (bytes + ARENA_ALIGN - 1) & ~(uint64_t)(ARENA_ALIGN - 1);
    if (n == 0) n = ARENA_ALIGN;
    for (int i = 0; i < a->count; i++) {
        tsr_arena_block *b = &a->blocks[i];
        if (b->used || b->size < n) continue;
        if (b->size > n) {
            if (a->count == a->cap) {
                tsr_arena_block *nb = realloc(a->blocks, sizeof *nb * (size_t)a->cap * 2);
                if (!nb) return tsr_fail(err, TSR_ERR_NOMEM, "arena bookkeeping");
                a->blocks = nb;
                a->cap *= 2;
                b = &a->blocks[i];
            }
            memmove(&a->blocks[i + 2], &a->blocks[i + 1], sizeof *b * (size_t)(a->count - i - 1));
            a->blocks[i + 1] = (tsr_arena_block){b->off + n, b->size - n, 0};
            b->size = n;
            a->count++;
        }
        b->used = 1;
        if (cu->gmode) tsr_cuda_graph_log(cu, b->off, n, 0);
        a->in_use += n;
        if (a->in_use > a->peak) a->peak = a->in_use;
        *out = a->base + b->off;
        return TSR_OK;
    }
    if (getenv("TSR_ARENA_DUMP")) arena_dump(a);
    return tsr_fail(err, TSR_ERR_DEVICE_OOM, "device arena exhausted: %llu bytes wanted, %llu of %llu in use",
                    (unsigned long long)bytes, (unsigned long long)a->in_use, (unsigned long long)a->size);
}

void tsr_cuda_arena_free(tsr_cuda *cu, CUdeviceptr p)
{
    tsr_arena *a = &cu->arena;
    if (!p) return;
    for (int i = 0; i < a->count; i++) {
        if (a->base + a->blocks[i].off != p) continue;
        if (cu->gmode) tsr_cuda_graph_log(cu, a->blocks[i].off, a->blocks[i].size, 1);
        a->blocks[i].used = 0;
        a->in_use -= a->blocks[i].size;
        if (i + 1 < a->count && !a->blocks[i + 1].used) {
            a->blocks[i].size += a->blocks[i + 1].size;
            memmove(&a->blocks[i + 1], &a->blocks[i + 2], sizeof *a->blocks * (size_t)(a->count - i - 2));
            a->count--;
        }
        if (i > 0 && !a->blocks[i - 1].used) {
            a->blocks[i - 1].size += a->blocks[i].size;
            memmove(&a->blocks[i], &a->blocks[i + 1], sizeof *a->blocks * (size_t)(a->count - i - 1));
            a->count--;
        }
        return;
    }
}

/* ------------------------------------------------------------------ launches */

tsr_status tsr_cuda_launch(tsr_cuda *cu, int k, unsigned gx, unsigned gy, unsigned gz, unsigned block, void **args,
                           tsr_error *err)
{
    return tsr_cuda_launch_smem(cu, k, gx, gy, gz, block, 0, args, err);
}

tsr_status tsr_cuda_launch_smem(tsr_cuda *cu, int k, unsigned gx, unsigned gy, unsigned gz, unsigned block,
                                unsigned smem, void **args, tsr_error *err)
{
    if (gx == 0 || gy == 0 || gz == 0) return TSR_OK;
    CUresult r = cu->api.cuLaunchKernel(cu->fn[k], gx, gy, gz, block, 1, 1, smem, cu->stream, args, NULL);
    return tsr_cuda_check(cu, r, err, kernel_names[k]);
}

/* ------------------------------------------------------------------ profile */

/* profile 2: add one timed conv part to its layer's sums */
static void prof_layer_add(tsr_cuda *cu, const tsr_prof_rec *r, float ms)
{
    if (!cu->prof_layers || !r->layer) return;
    int i = 0;
    while (i < cu->prof_nlayers && strcmp(cu->prof_layers[i].name, r->layer)) i++;
    if (i == TSR_PROF_LAYERS) return;
    tsr_prof_layer *l = &cu->prof_layers[i];
    if (i == cu->prof_nlayers) {
        memset(l, 0, sizeof *l);
        snprintf(l->name, sizeof l->name, "%s", r->layer);
        cu->prof_nlayers++;
    }
    l->calls++, l->ms += ms, l->flop += r->flop;
}

static void prof_flush(tsr_cuda *cu)
{
    if (!cu->prof_n) return;
    cu->api.cuEventSynchronize(cu->prof[cu->prof_n - 1].b);
    for (int i = 0; i < cu->prof_n; i++) {
        float ms = 0;
        if (!cu->api.cuEventElapsedTime(&ms, cu->prof[i].a, cu->prof[i].b)) cu->prof_ms[cu->prof[i].kind] += ms;
        cu->prof_flop[cu->prof[i].kind] += cu->prof[i].flop;
        cu->prof_calls[cu->prof[i].kind]++;
        prof_layer_add(cu, &cu->prof[i], ms);
    }
    cu->prof_n = 0;
}

/* Profile mode times every op part alone: a gate kernel holds the stream until the host has queued the
 * whole part (prof_end releases it), so the events bracket device work only. Without the gate the begin
 * event fires as soon as the stream drains and the interval also counts the host's enqueueing (cuDNN's
 * execute, plan building on first use) whenever the host is the bottleneck — which is what made the old
 * table add up to more than the wall time. The gate gives up after 50 ms, so a host wait inside a part
 * (cuDNN tuning synchronises once per new shape) cannot deadlock; warm up before reading the table. */
#define PROF_GATE_TIMEOUT_NS 50000000ull

int tsr_cuda_prof_begin(tsr_cuda *cu)
{
    if (!cu->profile) return -1;
    if (cu->prof_n == TSR_PROF_CAP) prof_flush(cu);
    int i = cu->prof_n++;
    if (cu->gate) {
        unsigned target = ++cu->gate_seq;
        unsigned long long timeout = PROF_GATE_TIMEOUT_NS;
        void *a[] = {&cu->gate_dev, &target, &timeout};
        cu->api.cuLaunchKernel(cu->fn[K_PROF_GATE], 1, 1, 1, 1, 1, 1, 0, cu->stream, a, NULL);
    }
    cu->api.cuEventRecord(cu->prof[i].a, cu->stream);
    cu->prof[i].layer = NULL;
    return i;
}

void tsr_cuda_prof_layer(tsr_cuda *cu, int rec, const char *name)
{
    if (rec >= 0) cu->prof[rec].layer = name;
}

void tsr_cuda_prof_end(tsr_cuda *cu, int rec, int kind, double flop)
{
    if (rec < 0) return;
    cu->api.cuEventRecord(cu->prof[rec].b, cu->stream);
    cu->prof[rec].kind = kind;
    cu->prof[rec].flop = flop;
    if (cu->gate) __atomic_store_n(cu->gate, cu->gate_seq, __ATOMIC_RELEASE);
}

static const char *const prof_names[P_KINDS] = {"conv 3x3x3 / 1x3x3 (+ cuDNN prefix copy)", "conv 1x1x1",
                                                "groupnorm stats+apply (pre-pass)", "causal state copies",
                                                "attention (GN, linears, QK^T, softmax, PV)", "depth-to-space", "add",
                                                "transfer conversions + H2D"};

static void prof_reset(tsr_cuda *cu)
{
    prof_flush(cu);
    memset(cu->prof_ms, 0, sizeof cu->prof_ms);
    memset(cu->prof_flop, 0, sizeof cu->prof_flop);
    memset(cu->prof_calls, 0, sizeof cu->prof_calls);
    cu->prof_nlayers = 0;
}

static void prof_print(tsr_cuda *cu)
{
    const char *const *names = prof_names;
    prof_flush(cu);
    double total = 0;
    for (int k = 0; k < P_KINDS; k++) total += cu->prof_ms[k];
    fprintf(stderr, "cuda profile (device events, each part timed alone, %s)\n| part | calls | ms | share | TFLOP | TFLOP/s |\n|---|---|---|---|---|---|\n",
            cu->name);
    for (int k = 0; k < P_KINDS; k++)
        if (cu->prof_calls[k])
            fprintf(stderr, "| %s | %ld | %.1f | %.1f %% | %.1f | %.0f |\n", names[k], cu->prof_calls[k], cu->prof_ms[k],
                    total > 0 ? 100 * cu->prof_ms[k] / total : 0, cu->prof_flop[k] / 1e12,
                    cu->prof_ms[k] > 0 ? cu->prof_flop[k] / 1e9 / cu->prof_ms[k] : 0);
    fprintf(stderr, "| total | | %.1f | | | |\n", total);
    if (!cu->prof_layers) return;
    /* per layer, slowest first (selection order: the table is small) */
    fprintf(stderr, "\nconvs per layer\n| layer | calls | ms | TFLOP | TFLOP/s |\n|---|---|---|---|---|\n");
    char done[TSR_PROF_LAYERS] = {0};
    for (int n = 0; n < cu->prof_nlayers; n++) {
        int b = -1;
        for (int i = 0; i < cu->prof_nlayers; i++)
            if (!done[i] && (b < 0 || cu->prof_layers[i].ms > cu->prof_layers[b].ms)) b = i;
        done[b] = 1;
        const tsr_prof_layer *l = &cu->prof_layers[b];
        fprintf(stderr, "| %s | %ld | %.2f | %.2f | %.0f |\n", l->name, l->calls, l->ms, l->flop / 1e12,
                l->ms > 0 ? l->flop / 1e9 / l->ms : 0);
    }
}

/* ------------------------------------------------------------------ activations */

/* Storage of a c x t x h x w activation in the device arena (host = 0) or in pinned host memory mapped into the
 * device's address space (host = 1: act_alloc_host, outside the arena). */
static tsr_status act_new(tsr_cuda *cu, int c, int t, int h, int w, int host, int head, tsr_act *out, tsr_error *err)
{
    memset(out, 0, sizeof *out);
    if (c <= 0 || t <= 0 || h <= 0 || w <= 0) return tsr_fail(err, TSR_ERR_INVALID_ARG, "act_alloc: bad shape");
    tsr_buf *b = tsr_calloc(1, sizeof *b, err);
    if (!b) return TSR_ERR_NOMEM;
    b->cp = tsr_cuda_cpad(c);
    b->bytes = (uint64_t)t * h * w * b->cp * 2;
    tsr_status st;
    if (!host) {
        uint64_t hb = (uint64_t)head * h * w * b->cp * 2;
        st = tsr_cuda_arena_alloc(cu, b->bytes + hb, &b->base, err);
        b->p = b->base + hb, b->head = head;
    } else {
        st = tsr_cuda_check(cu, cu->api.cuMemAllocHost(&b->host, b->bytes), err, "pinned host activation");
        if (!st) st = tsr_cuda_check(cu, cu->api.cuMemHostGetDevicePointer(&b->p, b->host, 0), err, "pinned host activation");
        if (st && b->host) cu->api.cuMemFreeHost(b->host);
        if (st == TSR_ERR_DEVICE_OOM)
            st = tsr_fail(err, TSR_ERR_NOMEM, "out of pinned host memory (%.2f GiB wanted)", b->bytes / 1073741824.0);
    }
    if (st) {
        free(b);
        return st;
    }
    *out = (tsr_act){b, c, t, h, w};
    return TSR_OK;
}

tsr_status tsr_cuda_act_alloc(tsr_backend *be, int c, int t, int h, int w, tsr_act *out, tsr_error *err)
{
    return act_new((tsr_cuda *)be, c, t, h, w, 0, 0, out, err);
}

static tsr_status act_alloc_host(tsr_backend *be, int c, int t, int h, int w, tsr_act *out, tsr_error *err)
{
    return act_new((tsr_cuda *)be, c, t, h, w, 1, 0, out, err);
}

tsr_status tsr_cuda_act_ensure_head(tsr_cuda *cu, tsr_act *out, int c, int t, int h, int w, int head, tsr_error *err)
{
    if (!out->buf) return act_new(cu, c, t, h, w, 0, head, out, err);
    if (out->c != c || out->t != t || out->h != h || out->w != w)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "output is %dx%dx%dx%d, op gives %dx%dx%dx%d", out->c, out->t,
                        out->h, out->w, c, t, h, w);
    return TSR_OK;
}

tsr_status tsr_cuda_act_ensure(tsr_cuda *cu, tsr_act *out, int c, int t, int h, int w, tsr_error *err)
{
    return tsr_cuda_act_ensure_head(cu, out, c, t, h, w, 0, err);
}

static void act_free(tsr_backend *be, tsr_act *a)
{
    if (!a || !a->buf) return;
    tsr_cuda *cu = (tsr_cuda *)be;
    if (a->buf->host) { /* copies on the stream may still read or write it */
        cu->api.cuStreamSynchronize(cu->stream);
        cu->api.cuMemFreeHost(a->buf->host);
        free(a->buf);
        a->buf = NULL;
        return;
    }
    tsr_cuda_arena_free((tsr_cuda *)be, a->buf->base);
    free(a->buf);
    a->buf = NULL;
}

/* The copy out of `stage` queued last must be done before the host writes it again. */
static tsr_status stage_idle(tsr_cuda *cu, tsr_error *err)
{
    if (!cu->stage_pending) return TSR_OK;
    double t0 = tsr_now();
    tsr_status st = tsr_cuda_check(cu, cu->api.cuEventSynchronize(cu->stage_ev), err, "upload");
    cu->wait_s += tsr_now() - t0;
    cu->stage_pending = 0;
    return st;
}

/* Pinned staging of at least `bytes` (grown on demand), idle; NULL on failure with err set. */
static void *staging(tsr_cuda *cu, size_t bytes, tsr_error *err)
{
    if (stage_idle(cu, err)) return NULL;
    if (cu->stage_bytes >= bytes) return cu->stage;
    if (cu->stage) cu->api.cuMemFreeHost(cu->stage);
    cu->stage = NULL;
    cu->stage_bytes = 0;
    if (tsr_cuda_check(cu, cu->api.cuMemAllocHost(&cu->stage, bytes), err, "pinned staging buffer")) return NULL;
    cu->stage_bytes = bytes;
    return cu->stage;
}

/* The staging buffer is read by copies queued on cu->stream: mark it busy until they ran. */
static tsr_status stage_queued(tsr_cuda *cu, tsr_error *err)
{
    tsr_status st = tsr_cuda_check(cu, cu->api.cuEventRecord(cu->stage_ev, cu->stream), err, "upload");
    if (!st) cu->stage_pending = 1;
    return st;
}

typedef struct conv_job {
    const float *f32_in;
    const uint16_t *bf_in;
    float *f32_out;
    uint16_t *bf_out;
} conv_job;

static void conv_range(void *user, long b, long e, int worker)
{
    (void)worker;
    conv_job *j = user;
    if (j->f32_in)
        for (long i = b; i < e; i++) j->bf_out[i] = tsr_f32_to_bf16(j->f32_in[i]);
    else if (j->bf_in)
        for (long i = b; i < e; i++) j->f32_out[i] = tsr_bf16_to_f32(j->bf_in[i]);
}

static void convert(tsr_cuda *cu, conv_job *j, size_t n)
{
    if (cu->pool) tsr_parallel_for(cu->pool, (long)n, 1 << 16, conv_range, j);
    else conv_range(j, 0, (long)n, 0);
}

/* Threaded memcpy of `count` pieces (pointer pairs of `bytes` each); large copies only. */
typedef struct copy_job {
    void *const *dst;
    const void *const *src;
    size_t bytes;
} copy_job;

static void copy_range(void *user, long b, long e, int worker)
{
    (void)worker;
    copy_job *j = user;
    for (long i = b; i < e; i++) memcpy(j->dst[i], j->src[i], j->bytes);
}

static void copy_pieces(tsr_cuda *cu, void *const *dst, const void *const *src, long count, size_t bytes)
{
    copy_job j = {dst, src, bytes};
    if (cu->pool && count > 1) tsr_parallel_for(cu->pool, count, 1, copy_range, &j);
    else copy_range(&j, 0, count, 0);
}

/* Split a flat copy of `bytes` into up to 64 pieces for copy_pieces. */
static void copy_flat(tsr_cuda *cu, void *dst, const void *src, size_t bytes)
{
    enum { PIECES = 64 };
    void *d[PIECES];
    const void *s[PIECES];
    size_t piece = bytes / PIECES;
    if (!cu->pool || piece < ((size_t)1 << 18)) {
        memcpy(dst, src, bytes);
        return;
    }
    for (int i = 0; i < PIECES; i++) d[i] = (char *)dst + piece * i, s[i] = (const char *)src + piece * i;
    copy_pieces(cu, d, s, PIECES, piece);
    memcpy((char *)dst + piece * PIECES, (const char *)src + piece * PIECES, bytes - piece * PIECES);
}

/* Uploads go as planar, unpadded bf16 [c][t*h*w] through pinned memory; the device converts layouts. The
 * call returns once `host` is converted into staging: the copy runs on, ordered before later ops. */
static tsr_status act_upload(tsr_backend *be, tsr_act *dst, const float *host, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    double t0 = tsr_now();
    int cp = dst->buf->cp, c = dst->c;
    long long pix = (long long)dst->t * dst->h * dst->w;
    size_t n = (size_t)pix * c;
    uint16_t *tmp = staging(cu, n * 2, err);
    if (!tmp) return err ? err->status : TSR_ERR_BACKEND;
    conv_job job = {host, NULL, NULL, tmp};
    convert(cu, &job, n);
    CUdeviceptr planar = 0;
    tsr_status st = tsr_cuda_arena_alloc(cu, n * 2, &planar, err);
    if (st) return st;
    int pr = tsr_cuda_prof_begin(cu);
    st = tsr_cuda_check(cu, cu->api.cuMemcpyHtoDAsync(planar, tmp, n * 2, cu->stream), err, "act_upload");
    if (!st) st = stage_queued(cu, err);
    if (!st) {
        void *a[] = {&planar, &c, &cp, &pix, &dst->buf->p};
        st = tsr_cuda_launch(cu, K_FROM_PLANAR, (unsigned)TSR_MIN((pix + 255) / 256, 65535), 1, 1, 256, a, err);
    }
    tsr_cuda_prof_end(cu, pr, P_COPY, 0);
    tsr_cuda_arena_free(cu, planar); /* stream-ordered: only later work on cu->stream reuses it */
    cu->upload_s += tsr_now() - t0;
    return st;
}

/* Frames go up as they are (fp32, frame-major) in one copy; padding, channel padding and the bf16
 * conversion happen in tsr_frames_to_act on the device. */
static tsr_status act_upload_frames(tsr_backend *be, tsr_act *dst, const float *const *frames, int n, int h, int w,
                                    float fill, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    if (n != dst->t || h > dst->h || w > dst->w || h < 1 || w < 1)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "act_upload_frames: %d frames of %dx%d into %dx%dx%d", n, h, w,
                        dst->t, dst->h, dst->w);
    double t0 = tsr_now();
    int c = dst->c, cp = dst->buf->cp, H = dst->h, W = dst->w;
    size_t fbytes = (size_t)c * h * w * sizeof(float);
    char *tmp = staging(cu, fbytes * (size_t)n, err);
    if (!tmp) return err ? err->status : TSR_ERR_BACKEND;
    void **dsts = tsr_malloc(sizeof(void *) * 2 * (size_t)n, err);
    if (!dsts) return TSR_ERR_NOMEM;
    for (int f = 0; f < n; f++) dsts[f] = tmp + fbytes * (size_t)f;
    if (n == 1) copy_flat(cu, dsts[0], frames[0], fbytes);
    else copy_pieces(cu, dsts, (const void *const *)frames, n, fbytes);
    free(dsts);
    CUdeviceptr raw = 0;
    tsr_status st = tsr_cuda_arena_alloc(cu, fbytes * (size_t)n, &raw, err);
    if (st) return st;
    int pr = tsr_cuda_prof_begin(cu);
    st = tsr_cuda_check(cu, cu->api.cuMemcpyHtoDAsync(raw, tmp, fbytes * (size_t)n, cu->stream), err, "upload frames");
    if (!st) st = stage_queued(cu, err);
    if (!st) {
        long long pix = (long long)n * H * W;
        void *a[] = {&raw, &n, &c, &h, &w, &H, &W, &cp, &fill, &dst->buf->p};
        st = tsr_cuda_launch(cu, K_FRAMES_TO_ACT, (unsigned)TSR_MIN((pix + 255) / 256, 65535), 1, 1, 256, a, err);
    }
    tsr_cuda_prof_end(cu, pr, P_COPY, 0);
    tsr_cuda_arena_free(cu, raw);
    cu->upload_s += tsr_now() - t0;
    return st;
}

static tsr_status stream_wait(tsr_cuda *cu, CUstream s, tsr_error *err, const char *what)
{
    double t0 = tsr_now();
    tsr_status st = tsr_cuda_check(cu, cu->api.cuStreamSynchronize(s), err, what);
    cu->wait_s += tsr_now() - t0;
    return st;
}

static tsr_status act_download(tsr_backend *be, const tsr_act *src, float *host, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    int cp = src->buf->cp, c = src->c;
    long long pix = (long long)src->t * src->h * src->w;
    size_t n = (size_t)pix * c;
    uint16_t *tmp = staging(cu, n * 2, err);
    if (!tmp) return err ? err->status : TSR_ERR_BACKEND;
    CUdeviceptr planar = 0;
    tsr_status st = tsr_cuda_arena_alloc(cu, n * 2, &planar, err);
    if (st) return st;
    int pr = tsr_cuda_prof_begin(cu);
    void *a[] = {&src->buf->p, &cp, &c, &pix, &planar};
    st = tsr_cuda_launch(cu, K_TO_PLANAR, (unsigned)TSR_MIN((pix + 255) / 256, 65535), 1, 1, 256, a, err);
    if (!st) st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoHAsync(tmp, planar, n * 2, cu->stream), err, "act_download");
    tsr_cuda_prof_end(cu, pr, P_COPY, 0);
    if (!st) st = stream_wait(cu, cu->stream, err, "act_download");
    tsr_cuda_arena_free(cu, planar);
    if (!st) {
        double t0 = tsr_now();
        conv_job job = {NULL, tmp, host, NULL};
        convert(cu, &job, n);
        cu->download_s += tsr_now() - t0;
    }
    return st;
}

/* Asynchronous download: planar fp32 on the device (compute stream), then a copy into the slot's pinned
 * buffer on the copy stream, so the transfer overlaps the next ops; download_wait copies it out. */
static tsr_status act_download_start(tsr_backend *be, const tsr_act *src, float *host, int *ticket, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    *ticket = -1;
    int id = cu->dl_seq;
    tsr_dl_slot *s = &cu->dl[id % TSR_BACKEND_MAX_DOWNLOADS];
    if (s->busy)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "act_download_start: more than %d downloads in flight",
                        TSR_BACKEND_MAX_DOWNLOADS);
    int cp = src->buf->cp, c = src->c;
    long long pix = (long long)src->t * src->h * src->w;
    size_t n = (size_t)pix * c;
    if (s->pinned_bytes < n * 4) {
        if (s->pinned) cu->api.cuMemFreeHost(s->pinned);
        s->pinned = NULL;
        s->pinned_bytes = 0;
        tsr_status st = tsr_cuda_check(cu, cu->api.cuMemAllocHost(&s->pinned, n * 4), err, "pinned download buffer");
        if (st) return st;
        s->pinned_bytes = n * 4;
    }
    if (s->dev_bytes < n * 4) { /* the slot is idle: nothing reads the old buffer */
        if (s->dev) cu->api.cuMemFree(s->dev);
        s->dev = 0;
        s->dev_bytes = 0;
        tsr_status st = tsr_cuda_check(cu, cu->api.cuMemAlloc(&s->dev, n * 4), err, "download buffer");
        if (st) return st;
        s->dev_bytes = n * 4;
    }
    tsr_status st;
    int pr = tsr_cuda_prof_begin(cu);
    void *a[] = {&src->buf->p, &cp, &c, &pix, &s->dev};
    st = tsr_cuda_launch(cu, K_TO_PLANAR_F32, (unsigned)TSR_MIN((pix + 255) / 256, 65535), 1, 1, 256, a, err);
    tsr_cuda_prof_end(cu, pr, P_COPY, 0);
    if (!st) st = tsr_cuda_check(cu, cu->api.cuEventRecord(s->ready, cu->stream), err, "download");
    if (!st) st = tsr_cuda_check(cu, cu->api.cuStreamWaitEvent(cu->copy_stream, s->ready, 0), err, "download");
    if (!st)
        st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoHAsync(s->pinned, s->dev, n * 4, cu->copy_stream), err, "download");
    if (!st) st = tsr_cuda_check(cu, cu->api.cuEventRecord(s->done, cu->copy_stream), err, "download");
    if (st) {
        cu->api.cuStreamSynchronize(cu->copy_stream);
        return st;
    }
    s->busy = 1;
    s->ticket = id;
    s->host = host;
    s->n = n;
    cu->dl_seq++;
    *ticket = id;
    return TSR_OK;
}

static tsr_status download_wait(tsr_backend *be, int ticket, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    tsr_dl_slot *s = ticket >= 0 ? &cu->dl[ticket % TSR_BACKEND_MAX_DOWNLOADS] : NULL;
    if (!s || !s->busy || s->ticket != ticket)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "download_wait: ticket %d is not in flight", ticket);
    double t0 = tsr_now();
    tsr_status st = tsr_cuda_check(cu, cu->api.cuEventSynchronize(s->done), err, "download");
    double t1 = tsr_now();
    cu->wait_s += t1 - t0;
    if (!st) copy_flat(cu, s->host, s->pinned, s->n * 4);
    cu->download_s += tsr_now() - t1;
    s->busy = 0;
    return st;
}

/* ------------------------------------------------------------------ parameters */

static tsr_status upload_raw(tsr_cuda *cu, const void *host, size_t bytes, CUdeviceptr *out, tsr_error *err)
{
    tsr_status st = tsr_cuda_check(cu, cu->api.cuMemAlloc(out, bytes ? bytes : 16), err, "allocating weights");
    if (st) return st;
    st = tsr_cuda_check(cu, cu->api.cuMemcpyHtoDAsync(*out, host, bytes, cu->stream), err, "uploading weights");
    if (!st) st = tsr_cuda_check(cu, cu->api.cuStreamSynchronize(cu->stream), err, "uploading weights");
    return st;
}

static tsr_status upload_f32_padded(tsr_cuda *cu, const float *v, int n, int np, CUdeviceptr *out, tsr_error *err)
{
    float *tmp = tsr_calloc((size_t)np, sizeof(float), err);
    if (!tmp) return TSR_ERR_NOMEM;
    if (v) memcpy(tmp, v, sizeof(float) * (size_t)n);
    tsr_status st = upload_raw(cu, tmp, sizeof(float) * (size_t)np, out, err);
    free(tmp);
    return st;
}

static void wt_free(tsr_backend *be, tsr_wt *w)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    if (!w) return;
    tsr_cuda_graph_invalidate(cu);
    if (cu->profile) prof_flush(cu); /* its timed parts may name it (profile 2) */
    CUdeviceptr *ps[] = {&w->w,  &w->w0, &w->wgw, &w->wgw0, &w->b,  &w->edge, &w->gamma, &w->beta,
                         &w->wq, &w->wk, &w->wv,  &w->wo,   &w->bq, &w->bk,   &w->bv,    &w->bo};
    for (size_t i = 0; i < TSR_ARRAY_LEN(ps); i++)
        if (*ps[i]) cu->api.cuMemFree(*ps[i]);
    free(w);
}

/* The weights in the block layout of kernels/conv_wg.cu (tsr_wt.wgw): w is bf16 [cout_p][taps][cin_p]. */
static tsr_status upload_wg(tsr_cuda *cu, const uint16_t *w, int cout_p, int taps, int cin_p, CUdeviceptr *out,
                            tsr_error *err)
{
    size_t n = (size_t)cout_p * taps * cin_p;
    uint16_t *s = tsr_malloc(n * 2, err);
    if (!s) return TSR_ERR_NOMEM;
    int cch = cin_p / 64;
    for (int nb = 0; nb < cout_p / 128; nb++)
        for (int tap = 0; tap < taps; tap++)
            for (int cc = 0; cc < cch; cc++) {
                uint16_t *blk = s + ((size_t)(nb * taps + tap) * cch + cc) * 8192;
                for (int r = 0; r < 128; r++)
                    for (int c = 0; c < 8; c++)
                        memcpy(blk + r * 64 + (c ^ (r & 7)) * 8,
                               w + ((size_t)(nb * 128 + r) * taps + tap) * cin_p + cc * 64 + c * 8, 16);
            }
    tsr_status st = upload_raw(cu, s, n * 2, out, err);
    free(s);
    return st;
}

/* A causal conv's first output frame reads kt copies of input frame 0 (the replicated causal prefix): it equals
 * the kh x kw conv whose weights are the sums over kt (in fp32, rounded to bf16 once). tsr_wt.w0 / desc0. */
static tsr_status upload_frame0(tsr_cuda *cu, tsr_wt *w, const float *weight, tsr_error *err)
{
    const tsr_conv_desc *d = &w->desc;
    int taps = d->kt * d->kh * d->kw, sp = d->kh * d->kw;
    size_t n = (size_t)w->cout_p * sp * w->cin_p;
    uint16_t *tmp = tsr_calloc(n, 2, err);
    if (!tmp) return TSR_ERR_NOMEM;
    for (int co = 0; co < d->cout; co++)
        for (int ci = 0; ci < d->cin; ci++)
            for (int j = 0; j < sp; j++) {
                double s = 0;
                for (int t = 0; t < d->kt; t++) s += weight[((size_t)co * d->cin + ci) * taps + (size_t)t * sp + j];
                tmp[((size_t)co * sp + j) * w->cin_p + ci] = tsr_f32_to_bf16((float)s);
            }
    tsr_status st = upload_raw(cu, tmp, n * 2, &w->w0, err);
    w->desc0 = *d;
    w->desc0.kt = 1, w->desc0.causal = 0;
    snprintf(w->name0, sizeof w->name0, "%s (frame 0)", w->name);
    w->desc0.name = w->name0;
    if (!st && tsr_cuda_conv_wg_fits(cu, &w->desc0, w->cin_p, w->cout_p))
        st = upload_wg(cu, tmp, w->cout_p, sp, w->cin_p, &w->wgw0, err);
    free(tmp);
    return st;
}

static tsr_status conv_upload(tsr_backend *be, const tsr_conv_desc *d, const float *weight, const float *bias,
                              tsr_wt **out, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    *out = NULL;
    tsr_cuda_graph_invalidate(cu);
    if (d->cin <= 0 || d->cout <= 0 || d->kt <= 0 || d->kh <= 0 || d->kw <= 0 || d->st <= 0 || d->sh <= 0 ||
        d->sw <= 0)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "conv_upload %s: bad descriptor", d->name ? d->name : "?");
    if (d->shuffle_rt) {
        tsr_status sc = tsr_backend_check_shuffle(d, err);
        if (sc) return sc;
        if ((d->cout / (4 * d->shuffle_rt)) % 8)
            return tsr_fail(err, TSR_ERR_UNSUPPORTED, "conv_upload %s: shuffle to %d channels (multiple of 8 needed)",
                            d->name ? d->name : "?", d->cout / (4 * d->shuffle_rt));
    }
    tsr_wt *w = tsr_calloc(1, sizeof *w, err);
    if (!w) return TSR_ERR_NOMEM;
    w->kind = WT_CONV;
    w->desc = *d;
    snprintf(w->name, sizeof w->name, "%s", d->name ? d->name : "conv");
    w->desc.name = w->name;
    w->cin_p = tsr_cuda_cpad(d->cin);
    w->cout_p = tsr_cuda_cpad(d->cout);
    int taps = d->kt * d->kh * d->kw;
    size_t n = (size_t)w->cout_p * taps * w->cin_p;
    uint16_t *tmp = tsr_calloc(n, 2, err);
    tsr_status st = tmp ? TSR_OK : TSR_ERR_NOMEM;
    if (!st) {
        for (int co = 0; co < d->cout; co++)
            for (int ci = 0; ci < d->cin; ci++)
                for (int k = 0; k < taps; k++)
                    tmp[((size_t)co * taps + k) * w->cin_p + ci] =
                        tsr_f32_to_bf16(weight[((size_t)co * d->cin + ci) * taps + k]);
        st = upload_raw(cu, tmp, n * 2, &w->w, err);
        if (!st && tsr_cuda_conv_wg_fits(cu, &w->desc, w->cin_p, w->cout_p))
            st = upload_wg(cu, tmp, w->cout_p, taps, w->cin_p, &w->wgw, err);
    }
    free(tmp);
    if (!st) st = upload_f32_padded(cu, bias, bias ? d->cout : 0, w->cout_p, &w->b, err);
    if (!st && d->shuffle_rt) /* the edge table follows the bias */
        st = upload_f32_padded(cu, bias ? bias + d->cout : NULL, bias ? 4 * d->cout : 0, 4 * d->cout, &w->edge, err);
    if (!st && cu->frame0 && d->kt > 1 && d->causal && d->st == 1 && d->precision != TSR_LP_FP8)
        st = upload_frame0(cu, w, weight, err);
    if (st) {
        wt_free(be, w);
        return st;
    }
    *out = w;
    return TSR_OK;
}

static tsr_status norm_upload(tsr_backend *be, int channels, int groups, float eps, const float *gamma,
                              const float *beta, tsr_wt **out, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    *out = NULL;
    tsr_cuda_graph_invalidate(cu);
    if (channels <= 0 || groups <= 0 || groups > 64 || channels % groups)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "norm_upload: %d channels in %d groups", channels, groups);
    tsr_wt *w = tsr_calloc(1, sizeof *w, err);
    if (!w) return TSR_ERR_NOMEM;
    w->kind = WT_NORM;
    w->channels = channels;
    w->groups = groups;
    w->eps = eps;
    int cp = tsr_cuda_cpad(channels);
    tsr_status st = upload_f32_padded(cu, gamma, channels, cp, &w->gamma, err);
    if (!st) st = upload_f32_padded(cu, beta, channels, cp, &w->beta, err);
    if (st) {
        wt_free(be, w);
        return st;
    }
    *out = w;
    return TSR_OK;
}

static tsr_status upload_linear(tsr_cuda *cu, int c, const float *const wb[2], CUdeviceptr *w, CUdeviceptr *b,
                                tsr_error *err)
{
    size_t n = (size_t)c * c;
    uint16_t *tmp = tsr_malloc(n * 2, err);
    if (!tmp) return TSR_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) tmp[i] = tsr_f32_to_bf16(wb[0][i]);
    tsr_status st = upload_raw(cu, tmp, n * 2, w, err);
    free(tmp);
    if (!st) st = upload_f32_padded(cu, wb[1], wb[1] ? c : 0, c, b, err);
    return st;
}

static tsr_status attn_upload(tsr_backend *be, int channels, const tsr_wt *norm, const float *const wq[2],
                              const float *const wk[2], const float *const wv[2], const float *const wo[2],
                              tsr_wt **out, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    *out = NULL;
    tsr_cuda_graph_invalidate(cu);
    if (!norm || norm->kind != WT_NORM || norm->channels != channels || channels % 8)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "attn_upload: needs a GroupNorm of %d channels", channels);
    tsr_wt *w = tsr_calloc(1, sizeof *w, err);
    if (!w) return TSR_ERR_NOMEM;
    w->kind = WT_ATTN;
    w->channels = channels;
    w->groups = norm->groups;
    w->eps = norm->eps;
    tsr_status st = tsr_cuda_check(cu, cu->api.cuMemAlloc(&w->gamma, (size_t)channels * 4), err, "attn");
    if (!st) st = tsr_cuda_check(cu, cu->api.cuMemAlloc(&w->beta, (size_t)channels * 4), err, "attn");
    if (!st) st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(w->gamma, norm->gamma, (size_t)channels * 4, cu->stream), err, "attn");
    if (!st) st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(w->beta, norm->beta, (size_t)channels * 4, cu->stream), err, "attn");
    if (!st) st = upload_linear(cu, channels, wq, &w->wq, &w->bq, err);
    if (!st) st = upload_linear(cu, channels, wk, &w->wk, &w->bk, err);
    if (!st) st = upload_linear(cu, channels, wv, &w->wv, &w->bv, err);
    if (!st) st = upload_linear(cu, channels, wo, &w->wo, &w->bo, err);
    if (st) {
        wt_free(be, w);
        return st;
    }
    *out = w;
    return TSR_OK;
}

/* ------------------------------------------------------------------ causal state */

static tsr_status state_create(tsr_backend *be, const tsr_conv_desc *d, int h, int w, tsr_state **out,
                               tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    *out = NULL;
    tsr_status cst = tsr_backend_check_state(d, h, w, "state_create", err);
    if (cst) return cst;
    tsr_state *s = tsr_calloc(1, sizeof *s, err);
    if (!s) return TSR_ERR_NOMEM;
    *s = (tsr_state){d->kt, d->st, d->kt - d->st, h, w, tsr_cuda_cpad(d->cin), 0, 0, 0, 0, NULL, -1, 0};
    tsr_status st = tsr_cuda_arena_alloc(cu, (uint64_t)s->keep * h * w * s->cp * 2, &s->frames, err);
    if (!st) st = tsr_cuda_arena_alloc(cu, (uint64_t)s->keep * s->cp * 8, &s->aff, err);
    if (st) {
        tsr_cuda_arena_free(cu, s->frames);
        free(s);
        return st;
    }
    *out = s;
    return TSR_OK;
}

static void state_reset(tsr_backend *be, tsr_state *s)
{
    if (!s) return;
    s->filled = 0;
    if (s->host) tsr_cuda_host_state_reset((tsr_cuda *)be, s);
}

static void state_free(tsr_backend *be, tsr_state *s)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    if (!s) return;
    if (s->host) {
        tsr_cuda_host_state_free(cu, s);
        return;
    }
    tsr_cuda_arena_free(cu, s->frames);
    tsr_cuda_arena_free(cu, s->aff);
    free(s);
}

/* ------------------------------------------------------------------ misc */

static tsr_status be_sync(tsr_backend *be, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    return stream_wait(cu, cu->stream, err, "synchronize");
}

static void sample_free(tsr_cuda *cu)
{
    size_t free_b = 0, total_b = 0;
    if (cu->api.cuMemGetInfo(&free_b, &total_b) == TSR_CU_SUCCESS) {
        if (!cu->free_low || free_b < cu->free_low) cu->free_low = free_b;
        cu->free_total = total_b;
    }
}

/* Called by the VAE loops at every chunk boundary (progress): also samples the device's free memory. */
static void be_memory(tsr_backend *be, uint64_t *in_use, uint64_t *peak, uint64_t *total)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    sample_free(cu);
    if (in_use) *in_use = cu->arena.in_use;
    if (peak) *peak = cu->arena.peak;
    if (total) *total = cu->arena.size;
}

static void be_stats(tsr_backend *be, tsr_engine_stats *out, int reset)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    sample_free(cu);
    if (out) {
        memset(out, 0, sizeof *out);
        out->mem_in_use = cu->arena.in_use, out->mem_peak = cu->arena.peak, out->mem_budget = cu->arena.size;
        out->device_free_low = cu->free_low, out->device_total = cu->free_total;
        out->upload_s = cu->upload_s, out->download_s = cu->download_s, out->wait_s = cu->wait_s;
        out->profiled = cu->profile;
        out->graph_captures = cu->graph_captures, out->graph_replays = cu->graph_replays;
        out->graph_fallbacks = cu->graph_fallbacks;
        tsr_cuda_hs_bytes(cu, &out->host_state_bytes, &out->host_state_peak);
        if (cu->profile) {
            prof_flush(cu);
            for (int k = 0; k < P_KINDS && out->parts < TSR_STATS_PARTS; k++) {
                if (!cu->prof_calls[k]) continue;
                out->part[out->parts].name = prof_names[k];
                out->part[out->parts].calls = cu->prof_calls[k];
                out->part[out->parts].ms = cu->prof_ms[k];
                out->part[out->parts].tflop = cu->prof_flop[k] / 1e12;
                out->device_busy_ms += cu->prof_ms[k];
                out->parts++;
            }
        }
    }
    if (reset) {
        cu->free_low = 0;
        sample_free(cu);
        cu->upload_s = cu->download_s = cu->wait_s = 0;
        cu->graph_captures = cu->graph_replays = cu->graph_fallbacks = 0;
        if (cu->profile) prof_reset(cu);
    }
}

static void be_destroy(tsr_backend *be)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    if (!cu) return;
    if (cu->api.lib) {
        if (cu->stream) cu->api.cuStreamSynchronize(cu->stream);
        if (cu->copy_stream) cu->api.cuStreamSynchronize(cu->copy_stream);
        if (cu->profile) prof_print(cu);
        tsr_cuda_hs_destroy(cu);
        tsr_cuda_graph_destroy(cu);
        for (int i = 0; i < TSR_BACKEND_MAX_DOWNLOADS; i++) {
            tsr_dl_slot *s = &cu->dl[i];
            if (s->pinned) cu->api.cuMemFreeHost(s->pinned);
            if (s->dev) cu->api.cuMemFree(s->dev);
            if (s->ready) cu->api.cuEventDestroy(s->ready);
            if (s->done) cu->api.cuEventDestroy(s->done);
        }
        if (cu->stage_ev) cu->api.cuEventDestroy(cu->stage_ev);
        if (cu->gate) cu->api.cuMemFreeHost(cu->gate);
        if (cu->prof)
            for (int i = 0; i < TSR_PROF_CAP; i++) {
                if (cu->prof[i].a) cu->api.cuEventDestroy(cu->prof[i].a);
                if (cu->prof[i].b) cu->api.cuEventDestroy(cu->prof[i].b);
            }
        for (int i = 0; i < cu->impl_count; i++)
            if (cu->impls[i].destroy) cu->impls[i].destroy(cu->impls[i].user);
        if (cu->arena.base) cu->api.cuMemFree(cu->arena.base);
        if (cu->stage) cu->api.cuMemFreeHost(cu->stage);
        tsr_threadpool_destroy(&cu->pool);
        for (int i = 0; i < cu->module_count; i++) cu->api.cuModuleUnload(cu->modules[i]);
        if (cu->stream) cu->api.cuStreamDestroy(cu->stream);
        if (cu->copy_stream) cu->api.cuStreamDestroy(cu->copy_stream);
        if (cu->ctx) cu->api.cuDevicePrimaryCtxRelease(cu->dev);
        tsr_cu_unload(&cu->api);
    }
    free(cu->arena.blocks);
    free(cu->prof);
    free(cu->prof_layers);
    free(cu);
}

CUfunction tsr_cuda_find_kernel(tsr_cuda *cu, const char *module, const char *name)
{
    CUfunction f = NULL;
    for (int i = 0; i < cu->module_count && !f; i++)
        if (!strcmp(cu->module_names[i], module) && cu->api.cuModuleGetFunction(&f, cu->modules[i], name))
            f = NULL;
    return f;
}

tsr_status tsr_cuda_conv_register(tsr_cuda *cu, tsr_layer_precision precision, const tsr_cuda_conv_impl *impl,
                                  tsr_error *err)
{
    if (cu->impl_count == TSR_CUDA_MAX_IMPLS) return tsr_fail(err, TSR_ERR_INVALID_ARG, "too many conv impls");
    cu->impls[cu->impl_count] = *impl;
    cu->impl_prec[cu->impl_count] = precision;
    cu->impl_count++;
    return TSR_OK;
}

const tsr_backend_ops tsr_cuda_ops = {
    .abi_version = TSR_BACKEND_ABI_VERSION,
    .name = "cuda",
    .destroy = be_destroy,
    .act_alloc = tsr_cuda_act_alloc,
    .act_free = act_free,
    .act_upload = act_upload,
    .act_download = act_download,
    .conv_upload = conv_upload,
    .norm_upload = norm_upload,
    .attn_upload = attn_upload,
    .wt_free = wt_free,
    .state_create = state_create,
    .state_reset = state_reset,
    .state_free = state_free,
    .conv3d = tsr_cuda_op_conv3d,
    .group_norm = tsr_cuda_op_group_norm,
    .attention = tsr_cuda_op_attention,
    .depth_to_space = tsr_cuda_op_d2s,
    .add = tsr_cuda_op_add,
    .sync = be_sync,
    .memory = be_memory,
    .profile_mark = NULL,
    .act_upload_frames = act_upload_frames,
    .act_download_start = act_download_start,
    .download_wait = download_wait,
    .stats = be_stats,
    .graph_begin = tsr_cuda_graph_begin,
    .graph_end = tsr_cuda_graph_end,
    .gn_stats_create = tsr_cuda_gn_stats_create,
    .gn_stats_reset = tsr_cuda_gn_stats_reset,
    .gn_stats_free = tsr_cuda_gn_stats_free,
    .gn_stats_accum = tsr_cuda_gn_stats_accum,
    .gn_stats_apply = tsr_cuda_gn_stats_apply,
    .act_copy_region = tsr_cuda_act_copy_region,
    .act_alloc_host = act_alloc_host,
    .tuning_export = tsr_cuda_tuning_export,
    .tuning_import = tsr_cuda_tuning_import,
    .state_create_host = tsr_cuda_state_create_host,
    .state_prefetch = tsr_cuda_state_prefetch,
};

static tsr_status open_device(tsr_cuda *cu, int ordinal, tsr_error *err)
{
    tsr_cu_api *api = &cu->api;
    tsr_status st = tsr_cu_check(api, api->cuInit(0), err, "cuInit");
    if (st) return st == TSR_ERR_BACKEND ? tsr_fail(err, TSR_ERR_NO_DEVICE, "%s", err ? err->message : "cuInit") : st;
    int count = 0;
    api->cuDriverGetVersion(&cu->driver_version);
    if (api->cuDeviceGetCount(&count) || count <= ordinal)
        return tsr_fail(err, TSR_ERR_NO_DEVICE, "no CUDA device %d (%d found)", ordinal, count);
    if ((st = tsr_cu_check(api, api->cuDeviceGet(&cu->dev, ordinal), err, "cuDeviceGet"))) return st;
    tsr_device_info info;
    tsr_cu_device_describe(api, cu->dev, ordinal, &info);
    snprintf(cu->name, sizeof cu->name, "%s", info.name);
    cu->cc_major = info.cc_major, cu->cc_minor = info.cc_minor;
    api->cuDeviceGetAttribute(&cu->sm_count, TSR_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, cu->dev);
    if (!info.supported)
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "%s is sm_%d%d; Tessera needs sm_80 or newer", cu->name,
                        cu->cc_major, cu->cc_minor);
    if ((st = tsr_cu_check(api, api->cuDevicePrimaryCtxRetain(&cu->ctx, cu->dev), err, "context"))) return st;
    if ((st = tsr_cu_check(api, api->cuCtxSetCurrent(cu->ctx), err, "context"))) return st;
    if ((st = tsr_cu_check(api, api->cuStreamCreate(&cu->stream, 1 /* non-blocking */), err, "stream"))) return st;
    if ((st = tsr_cu_check(api, api->cuStreamCreate(&cu->copy_stream, 1), err, "copy stream"))) return st;
    enum { EVENT_DISABLE_TIMING = 2 };
    if ((st = tsr_cu_check(api, api->cuEventCreate(&cu->stage_ev, EVENT_DISABLE_TIMING), err, "event"))) return st;
    for (int i = 0; i < TSR_BACKEND_MAX_DOWNLOADS; i++) {
        if ((st = tsr_cu_check(api, api->cuEventCreate(&cu->dl[i].ready, EVENT_DISABLE_TIMING), err, "event"))) return st;
        if ((st = tsr_cu_check(api, api->cuEventCreate(&cu->dl[i].done, EVENT_DISABLE_TIMING), err, "event"))) return st;
    }
    return TSR_OK;
}

static tsr_status load_kernels(tsr_cuda *cu, tsr_error *err)
{
    for (int i = 0; i < tsr_cuda_fatbin_count && cu->module_count < 8; i++) {
        CUmodule m;
        if (!strcmp(tsr_cuda_fatbins[i].name, "conv_wg")) { /* sm_90a code only: loads on Hopper, else skipped */
            if (cu->cc_major == 9 && cu->cc_minor == 0 && !cu->api.cuModuleLoadData(&m, tsr_cuda_fatbins[i].data)) {
                cu->module_names[cu->module_count] = tsr_cuda_fatbins[i].name;
                cu->modules[cu->module_count++] = m;
            }
            continue;
        }
        tsr_status st = tsr_cuda_check(cu, cu->api.cuModuleLoadData(&m, tsr_cuda_fatbins[i].data), err,
                                       "loading kernels (no code for this GPU?)");
        if (st) return st;
        cu->module_names[cu->module_count] = tsr_cuda_fatbins[i].name;
        cu->modules[cu->module_count++] = m;
    }
    for (int k = 0; k < K_COUNT; k++) {
        for (int i = 0; i < cu->module_count && !cu->fn[k]; i++)
            if (!strcmp(cu->module_names[i], kernel_modules[k]) &&
                cu->api.cuModuleGetFunction(&cu->fn[k], cu->modules[i], kernel_names[k]))
                cu->fn[k] = NULL;
        if (!cu->fn[k] && !TSR_CUDA_OPTIONAL_KERNEL(k))
            return tsr_fail(err, TSR_ERR_BACKEND, "kernel %s missing from the fatbin", kernel_names[k]);
    }
    static const int async_k[] = {K_CONV_ASYNC_BN128, K_CONV_ASYNC_BN64, K_GEMM_ASYNC_F32, K_CONV_ASYNC_BN256,
                                  K_CONV_ASYNC_K64, K_CONV_NARROW, K_CONV_NARROW_333};
    static const unsigned async_smem[] = {TSR_CONV_ASYNC_SMEM(128), TSR_CONV_ASYNC_SMEM(64), TSR_CONV_ASYNC_SMEM(128),
                                          TSR_CONV_ASYNC_SMEM(256), TSR_CONV_K64_SMEM, TSR_CONV_NARROW_SMEM_MAX,
                                          TSR_CONV_NARROW_SMEM_MAX};
    for (int i = 0; i < (int)TSR_ARRAY_LEN(async_k); i++) {
        tsr_status st = tsr_cuda_check(cu, cu->api.cuFuncSetAttribute(cu->fn[async_k[i]],
                                           TSR_CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                           (int)async_smem[i]), err, "conv shared memory");
        if (st) return st;
    }
    const char *wg = getenv("TSR_CUDA_WG"), *wgt = getenv("TSR_CUDA_WG_TILE");
    cu->conv_wg = !wg || *wg == '0' ? 0 : strcmp(wg, "all") == 0 ? 2 : 1; /* off unless asked (RESULTS.md, s11) */
    cu->conv_wg_tile = wgt && strcmp(wgt, "8") == 0 ? 8 : 16;
    for (int segs = 1; segs <= 2; segs++) { /* both or neither: the module loaded or not */
        CUfunction f = cu->fn[segs == 1 ? K_CONV_WG8 : K_CONV_WG16];
        if (!f || cu->api.cuFuncSetAttribute(f, TSR_CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                             (int)TSR_CONV_WG_SMEM(segs)))
            cu->conv_wg = 0;
    }
    const char *f0 = getenv("TSR_CUDA_FRAME0");
    cu->frame0 = !(f0 && *f0 == '0');
    const char *nar = getenv("TSR_CUDA_NARROW");
    cu->conv_narrow = nar && *nar == '0' ? 0 : nar && strcmp(nar, "generic") == 0 ? 2 : 1;
    const char *gm = getenv("TSR_CUDA_GEMM");
    cu->gemm_dnn = !(gm && strcmp(gm, "builtin") == 0);
    const char *dh = getenv("TSR_CUDA_D2S_HEAD");
    cu->d2s_head = !(dh && *dh == '0');
    const char *mode = getenv("TSR_CUDA_CONV");
    cu->conv_async = !(mode && strcmp(mode, "sync") == 0);
    cu->conv_wide = mode && strcmp(mode, "wide") == 0;
    cu->conv_k64 = !(mode && strcmp(mode, "k32") == 0); /* BK = 64 measured ~8 % faster (notes/cuda.md) */
    const char *prof = getenv("TSR_CUDA_PROFILE");
    if (prof && (*prof == '1' || *prof == '2')) {
        cu->prof = tsr_calloc(TSR_PROF_CAP, sizeof *cu->prof, err);
        if (!cu->prof) return TSR_ERR_NOMEM;
        if (*prof == '2' && !(cu->prof_layers = tsr_calloc(TSR_PROF_LAYERS, sizeof *cu->prof_layers, err)))
            return TSR_ERR_NOMEM;
        for (int i = 0; i < TSR_PROF_CAP; i++) {
            tsr_status st = tsr_cuda_check(cu, cu->api.cuEventCreate(&cu->prof[i].a, 0), err, "event");
            if (!st) st = tsr_cuda_check(cu, cu->api.cuEventCreate(&cu->prof[i].b, 0), err, "event");
            if (st) return st;
        }
        /* the gate word: pinned, read by the gate kernel through its device address */
        tsr_status st = tsr_cuda_check(cu, cu->api.cuMemAllocHost((void **)&cu->gate, 64), err, "profile gate");
        if (!st) st = tsr_cuda_check(cu, cu->api.cuMemHostGetDevicePointer(&cu->gate_dev, cu->gate, 0), err, "profile gate");
        if (st) return st;
        *cu->gate = 0;
        const char *g = getenv("TSR_CUDA_PROFILE_GATE");
        if (g && *g == '0') { /* the old behaviour, for comparison: events only */
            cu->api.cuMemFreeHost(cu->gate);
            cu->gate = NULL;
        }
        cu->profile = 1;
    }
    return TSR_OK;
}

tsr_status tsr_cuda_backend_create(const tsr_backend_params *p, tsr_backend **out, tsr_error *err)
{
    *out = NULL;
    tsr_cuda *cu = tsr_calloc(1, sizeof *cu, err);
    if (!cu) return TSR_ERR_NOMEM;
    cu->be.ops = &tsr_cuda_ops;
    tsr_status st = tsr_cu_load(&cu->api, err);
    cu->tuning_external = p ? p->tuning_external : 0;
    if (!st) st = open_device(cu, p ? p->device : 0, err);
    if (!st) st = load_kernels(cu, err);
    if (!st) st = tsr_cuda_conv_cudnn_install(cu, err); /* tried after FP8 (later installs go first) */
    if (!st) st = tsr_cuda_conv_fp8_install(cu, err);
    if (!st) st = tsr_cuda_graph_init(cu, err);
    if (!st) { /* host conversion threads: optional, a failure only costs speed */
        int threads = p && p->threads > 0 ? p->threads : TSR_MIN(tsr_cpu_count(), 8);
        if (threads > 1 && tsr_threadpool_create(threads, &cu->pool, NULL) != TSR_OK) cu->pool = NULL;
    }
    if (!st) {
        size_t free_b = 0, total_b = 0;
        st = tsr_cuda_check(cu, cu->api.cuMemGetInfo(&free_b, &total_b), err, "cuMemGetInfo");
        uint64_t want = p && p->memory_budget ? p->memory_budget : 0;
        uint64_t reserve = (uint64_t)1536 << 20;
        if (!want) want = free_b > reserve * 2 ? free_b - reserve : free_b / 2;
        if (!st && want > free_b) want = free_b;
        if (!st) st = arena_init(cu, want, err);
        if (!st) {
            cu->api.cuMemGetInfo(&free_b, &total_b);
            cu->free_low = free_b;
        }
    }
    if (st) {
        be_destroy(&cu->be);
        return st;
    }
    *out = &cu->be;
    return TSR_OK;
}
