/* The CPU reference backend: the op table of backend.h in fp32 over planar [C][T][H][W] buffers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"
#include "core/common.h"

static tsr_cpu_backend *cpu(tsr_backend *be) { return (tsr_cpu_backend *)be; }

static void cpu_destroy(tsr_backend *be)
{
    tsr_cpu_backend *b = cpu(be);
    if (!b) return;
    tsr_threadpool_destroy(&b->pool);
    free(b->stage[0]);
    free(b->stage[1]);
    for (int i = 0; i < b->threads && b->scratch; i++) free(b->scratch[i]);
    free(b->scratch);
    free(b->scratch_len);
    free(b);
}

/* ------------------------------------------------------------------ activations */

static size_t act_numel(int c, int t, int h, int w) { return (size_t)c * t * h * w; }

/* The emulated device cap: `bytes` more device-side memory (activations, device states, staging)? */
static tsr_status cap_check(const tsr_cpu_backend *cb, uint64_t bytes, const char *what, tsr_error *err)
{
    if (cb->budget && cb->in_use + bytes > cb->budget)
        return tsr_fail(err, TSR_ERR_DEVICE_OOM, "emulated device cap: %llu bytes wanted (%s), %llu of %llu in use",
                        (unsigned long long)bytes, what, (unsigned long long)cb->in_use, (unsigned long long)cb->budget);
    return TSR_OK;
}

static void count(tsr_cpu_backend *cb, uint64_t bytes)
{
    cb->in_use += bytes;
    if (cb->in_use > cb->peak) cb->peak = cb->in_use;
}

/* An activation's storage, counted against the emulated device cap (host = 0) or outside it (host = 1:
 * backend.h act_alloc_host, no empty tensors). */
static tsr_status act_new(tsr_backend *be, int c, int t, int h, int w, int host, tsr_act *out, tsr_error *err)
{
    memset(out, 0, sizeof *out);
    if (c <= 0 || t < host || h <= 0 || w <= 0)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "%sactivation shape %dx%dx%dx%d is invalid", host ? "host " : "", c,
                        t, h, w);
    tsr_cpu_backend *cb = cpu(be);
    uint64_t bytes = (uint64_t)act_numel(c, t, h, w) * sizeof(float);
    tsr_status st = host ? TSR_OK : cap_check(cb, bytes, "activation", err);
    if (st != TSR_OK) return st;
    if (host && cb->host_cap && cb->host_in_use + bytes > cb->host_cap) /* as cuMemAllocHost fails on a device */
        return tsr_fail(err, TSR_ERR_NOMEM, "emulated pinned-memory cap: %llu bytes wanted, %llu of %llu in use",
                        (unsigned long long)bytes, (unsigned long long)cb->host_in_use,
                        (unsigned long long)cb->host_cap);
    tsr_buf *b = tsr_calloc(1, sizeof *b, err);
    if (!b) return TSR_ERR_NOMEM;
    b->n = act_numel(c, t, h, w);
    b->host = host;
    b->data = tsr_malloc(b->n * sizeof(float), err);
    if (!b->data) {
        free(b);
        return TSR_ERR_NOMEM;
    }
    if (!host) count(cb, b->n * sizeof(float));
    else cb->host_in_use += b->n * sizeof(float);
    *out = (tsr_act){b, c, t, h, w};
    return TSR_OK;
}

static tsr_status cpu_act_alloc(tsr_backend *be, int c, int t, int h, int w, tsr_act *out, tsr_error *err)
{
    return act_new(be, c, t, h, w, 0, out, err);
}

static tsr_status cpu_act_alloc_host(tsr_backend *be, int c, int t, int h, int w, tsr_act *out, tsr_error *err)
{
    return act_new(be, c, t, h, w, 1, out, err);
}

static void cpu_act_free(tsr_backend *be, tsr_act *a)
{
    if (!a || !a->buf) return;
    if (!a->buf->host) cpu(be)->in_use -= a->buf->n * sizeof(float);
    else cpu(be)->host_in_use -= a->buf->n * sizeof(float);
    free(a->buf->data);
    free(a->buf);
    a->buf = NULL;
}

static tsr_status cpu_act_upload(tsr_backend *be, tsr_act *dst, const float *host, tsr_error *err)
{
    memcpy(dst->buf->data, host, dst->buf->n * sizeof(float));
    return TSR_OK;
}

static tsr_status cpu_act_download(tsr_backend *be, const tsr_act *src, float *host, tsr_error *err)
{
    memcpy(host, src->buf->data, src->buf->n * sizeof(float));
    return TSR_OK;
}

/* Allocate `out` with the given shape, or check that a caller-provided one has it. */
/* Frame-major frames -> planar [c][t][h][w], padded with `fill` (the CUDA backend does this on the device). */
static tsr_status cpu_act_upload_frames(tsr_backend *be, tsr_act *dst, const float *const *frames, int n, int h,
                                        int w, float fill, tsr_error *err)
{
    (void)be;
    if (n != dst->t || h > dst->h || w > dst->w || h < 1 || w < 1)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "act_upload_frames: %d frames of %dx%d into %dx%dx%d", n, h, w,
                        dst->t, dst->h, dst->w);
    size_t plane = (size_t)dst->h * dst->w;
    for (int c = 0; c < dst->c; c++)
        for (int f = 0; f < n; f++) {
            float *o = dst->buf->data + ((size_t)c * n + f) * plane;
            const float *src = frames[f] + (size_t)c * h * w;
            for (int y = 0; y < dst->h; y++) {
                float *row = o + (size_t)y * dst->w;
                int x0 = 0;
                if (y < h) {
                    memcpy(row, src + (size_t)y * w, (size_t)w * sizeof(float));
                    x0 = w;
                }
                for (int x = x0; x < dst->w; x++) row[x] = fill;
            }
        }
    return TSR_OK;
}

/* Synchronous on the CPU: the copy is done at start, the wait only checks the ticket. */
static tsr_status cpu_act_download_start(tsr_backend *be, const tsr_act *src, float *host, int *ticket,
                                         tsr_error *err)
{
    *ticket = 0;
    return cpu_act_download(be, src, host, err);
}

static tsr_status cpu_download_wait(tsr_backend *be, int ticket, tsr_error *err)
{
    (void)be;
    return ticket == 0 ? TSR_OK : tsr_fail(err, TSR_ERR_INVALID_ARG, "download_wait: unknown ticket %d", ticket);
}

tsr_status tsr_cpu_ensure_out(tsr_backend *be, tsr_act *out, int c, int t, int h, int w, const char *op,
                             tsr_error *err)
{
    if (!out->buf) return cpu_act_alloc(be, c, t, h, w, out, err);
    if (out->c != c || out->t != t || out->h != h || out->w != w)
        return tsr_fail(err, TSR_ERR_INTERNAL, "%s: output is %dx%dx%dx%d, expected %dx%dx%dx%d", op, out->c, out->t,
                        out->h, out->w, c, t, h, w);
    return TSR_OK;
}

/* ------------------------------------------------------------------ parameters */

static tsr_status cpu_conv_upload(tsr_backend *be, const tsr_conv_desc *d, const float *weight, const float *bias,
                                  tsr_wt **out, tsr_error *err)
{
    *out = NULL;
    if (d->cin <= 0 || d->cout <= 0 || d->kt <= 0 || d->kh <= 0 || d->kw <= 0 || d->st <= 0 || d->sh <= 0 ||
        d->sw <= 0 || (d->kt > 1 && !d->causal) || d->st > d->kt)
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "conv %s: unsupported descriptor", d->name ? d->name : "?");
    tsr_wt *w = tsr_calloc(1, sizeof *w, err);
    if (!w) return TSR_ERR_NOMEM;
    w->kind = CPU_WT_CONV;
    tsr_status st = tsr_cpu_conv_pack(d, weight, bias, &w->u.conv, err);
    if (st != TSR_OK) {
        free(w);
        return st;
    }
    *out = w;
    return TSR_OK;
}

static tsr_status norm_init(cpu_norm *n, int channels, int groups, float eps, const float *gamma, const float *beta,
                            tsr_error *err)
{
    if (groups <= 0 || channels % groups != 0)
        return tsr_fail(err, TSR_ERR_MODEL, "GroupNorm: %d channels do not split into %d groups", channels, groups);
    n->channels = channels;
    n->groups = groups;
    n->eps = eps;
    n->gamma = tsr_malloc((size_t)channels * sizeof(float), err);
    n->beta = tsr_malloc((size_t)channels * sizeof(float), err);
    if (!n->gamma || !n->beta) {
        free(n->gamma);
        free(n->beta);
        return TSR_ERR_NOMEM;
    }
    memcpy(n->gamma, gamma, (size_t)channels * sizeof(float));
    memcpy(n->beta, beta, (size_t)channels * sizeof(float));
    return TSR_OK;
}

static tsr_status cpu_norm_upload(tsr_backend *be, int channels, int groups, float eps, const float *gamma,
                                  const float *beta, tsr_wt **out, tsr_error *err)
{
    *out = NULL;
    tsr_wt *w = tsr_calloc(1, sizeof *w, err);
    if (!w) return TSR_ERR_NOMEM;
    w->kind = CPU_WT_NORM;
    tsr_status st = norm_init(&w->u.norm, channels, groups, eps, gamma, beta, err);
    if (st != TSR_OK) {
        free(w);
        return st;
    }
    *out = w;
    return TSR_OK;
}

static void cpu_wt_free(tsr_backend *be, tsr_wt *w)
{
    if (!w) return;
    if (w->kind == CPU_WT_CONV) tsr_cpu_conv_free(&w->u.conv);
    cpu_norm *n = w->kind == CPU_WT_NORM ? &w->u.norm : w->kind == CPU_WT_ATTN ? &w->u.attn.norm : NULL;
    if (n) {
        free(n->gamma);
        free(n->beta);
    }
    if (w->kind == CPU_WT_ATTN) {
        tsr_cpu_conv_free(&w->u.attn.q);
        tsr_cpu_conv_free(&w->u.attn.k);
        tsr_cpu_conv_free(&w->u.attn.v);
        tsr_cpu_conv_free(&w->u.attn.o);
    }
    free(w);
}

static tsr_status cpu_attn_upload(tsr_backend *be, int channels, const tsr_wt *norm, const float *const wq[2],
                                  const float *const wk[2], const float *const wv[2], const float *const wo[2],
                                  tsr_wt **out, tsr_error *err)
{
    *out = NULL;
    if (!norm || norm->kind != CPU_WT_NORM || norm->u.norm.channels != channels)
        return tsr_fail(err, TSR_ERR_INTERNAL, "attention: GroupNorm of %d channels expected", channels);
    tsr_wt *w = tsr_calloc(1, sizeof *w, err);
    if (!w) return TSR_ERR_NOMEM;
    w->kind = CPU_WT_ATTN;
    cpu_attn *a = &w->u.attn;
    a->channels = channels;
    tsr_conv_desc d = {.cin = channels, .cout = channels, .kt = 1, .kh = 1, .kw = 1, .st = 1, .sh = 1, .sw = 1};
    const cpu_norm *src = &norm->u.norm;
    tsr_status st = norm_init(&a->norm, channels, src->groups, src->eps, src->gamma, src->beta, err);
    if (st == TSR_OK) st = tsr_cpu_conv_pack(&d, wq[0], wq[1], &a->q, err);
    if (st == TSR_OK) st = tsr_cpu_conv_pack(&d, wk[0], wk[1], &a->k, err);
    if (st == TSR_OK) st = tsr_cpu_conv_pack(&d, wv[0], wv[1], &a->v, err);
    if (st == TSR_OK) st = tsr_cpu_conv_pack(&d, wo[0], wo[1], &a->o, err);
    if (st != TSR_OK) {
        cpu_wt_free(be, w);
        return st;
    }
    *out = w;
    return TSR_OK;
}

/* ------------------------------------------------------------------ causal state */

static uint64_t state_bytes(const tsr_state *s) { return (uint64_t)s->c * s->frames * s->h * s->w * sizeof(float); }

/* A device state counts in the emulated cap; a host state lives outside it and makes sure both staging buffers
 * hold its frames (grown, inside the cap, when it is the largest so far). */
static tsr_status state_new(tsr_backend *be, const tsr_conv_desc *d, int h, int w, int host, tsr_state **out,
                            tsr_error *err)
{
    tsr_cpu_backend *cb = cpu(be);
    *out = NULL;
    tsr_status st = tsr_backend_check_state(d, h, w, host ? "state_create_host" : "state_create", err);
    if (st != TSR_OK) return st;
    tsr_state *s = tsr_calloc(1, sizeof *s, err);
    if (!s) return TSR_ERR_NOMEM;
    *s = (tsr_state){d->kt - d->st, 0, d->cin, h, w, NULL, host, -1, cb->stage_created & 1};
    size_t n = (size_t)s->c * s->frames * h * w;
    if (!host) st = cap_check(cb, state_bytes(s), d->name ? d->name : "causal state", err);
    int k = s->home;
    if (st == TSR_OK && host && n > cb->stage_floats[k]) { /* its buffer grows to the largest state using it */
        uint64_t grow = (uint64_t)(n - cb->stage_floats[k]) * sizeof(float);
        st = cap_check(cb, grow, "host-state staging", err);
        float *p = st == TSR_OK ? realloc(cb->stage[k], n * sizeof(float)) : NULL;
        if (st == TSR_OK && !p) st = tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
        if (st == TSR_OK) {
            if (cb->stage_owner[k]) cb->stage_owner[k]->slot = -1;
            cb->stage[k] = p, cb->stage_owner[k] = NULL;
            count(cb, grow), cb->stage_floats[k] = n;
        }
    }
    if (st == TSR_OK) {
        s->data = tsr_calloc(n, sizeof(float), err);
        if (!s->data) st = TSR_ERR_NOMEM;
    }
    if (st != TSR_OK) {
        free(s);
        return st;
    }
    if (host) {
        cb->stage_created++, cb->host_count++;
        cb->host_bytes += state_bytes(s);
        cb->host_peak = TSR_MAX(cb->host_peak, cb->host_bytes);
    } else {
        count(cb, state_bytes(s));
    }
    *out = s;
    return TSR_OK;
}

static tsr_status cpu_state_create(tsr_backend *be, const tsr_conv_desc *d, int h, int w, tsr_state **out,
                                   tsr_error *err)
{
    return state_new(be, d, h, w, 0, out, err);
}

static tsr_status cpu_state_create_host(tsr_backend *be, const tsr_conv_desc *d, int h, int w, tsr_state **out,
                                        tsr_error *err)
{
    return state_new(be, d, h, w, 1, out, err);
}

static void release_slot(tsr_cpu_backend *cb, tsr_state *s)
{
    if (s->host && s->slot >= 0 && cb->stage_owner[s->slot] == s) cb->stage_owner[s->slot] = NULL;
    s->slot = -1;
}

static void cpu_state_reset(tsr_backend *be, tsr_state *s)
{
    if (!s) return;
    s->valid = 0;
    release_slot(cpu(be), s);
}

static void cpu_state_free(tsr_backend *be, tsr_state *s)
{
    if (!s) return;
    tsr_cpu_backend *cb = cpu(be);
    release_slot(cb, s);
    if (!s->host) {
        cb->in_use -= state_bytes(s);
    } else {
        cb->host_bytes -= state_bytes(s);
        if (--cb->host_count == 0) { /* the clip is over: the staging buffers go as on a device */
            for (int i = 0; i < 2; i++) {
                cb->in_use -= cb->stage_floats[i] * sizeof(float);
                free(cb->stage[i]);
                cb->stage[i] = NULL, cb->stage_floats[i] = 0, cb->stage_owner[i] = NULL;
            }
            cb->stage_created = 0;
        }
    }
    free(s->data);
    free(s);
}

/* Host state s takes its staging buffer (from a state still waiting in it: that one's conv copies again).
 * `load`: copy the frames in. */
static void stage_take(tsr_cpu_backend *cb, tsr_state *s, int load)
{
    int k = s->home;
    if (cb->stage_owner[k]) cb->stage_owner[k]->slot = -1;
    cb->stage_owner[k] = s;
    s->slot = k;
    if (load) memcpy(cb->stage[k], s->data, (size_t)state_bytes(s));
}

static tsr_status cpu_state_prefetch(tsr_backend *be, tsr_state *s, tsr_error *err)
{
    if (!s) return tsr_fail(err, TSR_ERR_INVALID_ARG, "state_prefetch: no state");
    tsr_cpu_backend *cb = cpu(be);
    if (!s->host || !s->valid || (s->slot >= 0 && cb->stage_owner[s->slot] == s)) return TSR_OK;
    stage_take(cb, s, 1);
    return TSR_OK;
}

/* ------------------------------------------------------------------ ops */

/* The conv's input sequence: (state frames | kt-1 copies of frame 0) followed by the chunk's frames. */
static void extended_frames(const tsr_conv_desc *d, const float *src, int t, int h, int w, const tsr_state *s,
                            const float **base, size_t *cs, int *n)
{
    size_t hw = (size_t)h * w;
    int k = 0;
    if (d->kt > 1) {
        int head = s->valid ? s->frames : d->kt - 1;
        for (int i = 0; i < head; i++, k++) {
            base[k] = s->valid ? s->data + (size_t)i * hw : src;
            cs[k] = s->valid ? (size_t)s->frames * hw : (size_t)t * hw;
        }
    }
    for (int i = 0; i < t; i++, k++) {
        base[k] = src + (size_t)i * hw;
        cs[k] = (size_t)t * hw;
    }
    *n = k;
}

/* Keep the last s->frames frames of the sequence. Sources at or after the slot being written, so a
 * forward copy never overwrites a state frame it still needs. */
static void state_update(tsr_state *s, const float **base, const size_t *cs, int n)
{
    size_t hw = (size_t)s->h * s->w;
    for (int i = 0; i < s->frames; i++) {
        int f = n - s->frames + i;
        for (int c = 0; c < s->c; c++)
            memmove(s->data + ((size_t)c * s->frames + i) * hw, base[f] + (size_t)c * cs[f], hw * sizeof(float));
    }
    s->valid = 1;
}

static tsr_status conv_check(const tsr_wt *conv, const tsr_act *in, tsr_state *state, const tsr_wt *pre_norm,
                             tsr_error *err)
{
    const tsr_conv_desc *d = &conv->u.conv.d;
    if (conv->kind != CPU_WT_CONV) return tsr_fail(err, TSR_ERR_INTERNAL, "conv3d: weights are not a conv");
    if (in->c != d->cin)
        return tsr_fail(err, TSR_ERR_INTERNAL, "conv3d: input has %d channels, conv expects %d", in->c, d->cin);
    if (d->kt > 1 && (!state || state->c != in->c || state->h != in->h || state->w != in->w))
        return tsr_fail(err, TSR_ERR_INTERNAL, "conv3d: temporal conv needs a state of %dx%dx%d", in->c, in->h, in->w);
    if (pre_norm && (pre_norm->kind != CPU_WT_NORM || pre_norm->u.norm.channels != in->c))
        return tsr_fail(err, TSR_ERR_INTERNAL, "conv3d: prologue norm does not match %d channels", in->c);
    return TSR_OK;
}

static tsr_status conv3d_plain(tsr_backend *be, const tsr_wt *conv, const tsr_act *in, tsr_state *state,
                               const tsr_wt *pre_norm, int pre_silu, const tsr_act *residual, tsr_act *out,
                               tsr_error *err)
{
    tsr_status st = conv_check(conv, in, state, pre_norm, err);
    if (st != TSR_OK) return st;
    const tsr_conv_desc *d = &conv->u.conv.d;
    const float *src = in->buf->data;
    float *normed = NULL;
    if (pre_norm || pre_silu) { /* materialise silu(norm(x)): the state keeps the normalised input */
        normed = tsr_malloc(in->buf->n * sizeof(float), err);
        if (!normed) return TSR_ERR_NOMEM;
        if (pre_norm) tsr_cpu_group_norm_run(cpu(be), &pre_norm->u.norm, src, in->c, in->t, in->h * in->w, pre_silu, normed);
        else for (size_t i = 0; i < in->buf->n; i++) normed[i] = src[i] / (1.0f + expf(-src[i]));
        src = normed;
    }
    /* a host state's frames are used in (and updated in) a staging buffer, then copied back */
    float *host_data = NULL;
    tsr_cpu_backend *cb = cpu(be);
    if (d->kt > 1 && state->host) {
        if (!(state->slot >= 0 && cb->stage_owner[state->slot] == state)) stage_take(cb, state, state->valid);
        host_data = state->data;
        state->data = cb->stage[state->slot];
    }
    int cap = in->t + d->kt, n = 0;
    const float **base = calloc((size_t)cap, sizeof *base);
    size_t *cs = calloc((size_t)cap, sizeof *cs);
    if (!base || !cs) st = tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
    if (st == TSR_OK) {
        extended_frames(d, src, in->t, in->h, in->w, state, base, cs, &n);
        int tout = n >= d->kt ? (n - d->kt) / d->st + 1 : 0;
        int ho = tsr_conv_out_len(in->h, d->kh, d->sh, d->pad_top, d->pad_bottom);
        int wo = tsr_conv_out_len(in->w, d->kw, d->sw, d->pad_left, d->pad_right);
        st = tsr_cpu_ensure_out(be, out, d->cout, tout, ho, wo, "conv3d", err);
        if (st == TSR_OK && residual &&
            (residual->c != d->cout || residual->t != tout || residual->h != ho || residual->w != wo))
            st = tsr_fail(err, TSR_ERR_INTERNAL, "conv3d: residual shape does not match the output");
        cpu_frames fr = {n, base, cs};
        if (st == TSR_OK)
            st = tsr_cpu_conv_run(cpu(be), &conv->u.conv, &fr, in->h, in->w, out->buf->data, tout, ho, wo,
                                  residual ? residual->buf->data : NULL, err);
        if (st == TSR_OK && d->kt > 1) state_update(state, base, cs, n);
    }
    if (host_data) {
        if (st == TSR_OK) memcpy(host_data, state->data, (size_t)state_bytes(state));
        state->data = host_data;
        release_slot(cb, state);
    }
    free(base);
    free(cs);
    free(normed);
    return st;
}

/* A shuffle conv's output (backend.h conv3d): z [4rC][T][H+1][W+1] -> out [C][rT][2H][2W] + the edge table. */
static void shuffle_out(const cpu_conv *cv, const tsr_act *z, tsr_act *out)
{
    int r = cv->d.shuffle_rt, C = cv->d.cout / (4 * r), H = out->h, W = out->w;
    size_t zhw = (size_t)z->h * z->w, ohw = (size_t)H * W;
    for (int c = 0; c < C; c++)
        for (int f = 0; f < z->t; f++)
            for (int k = 0; k < r; k++) {
                float *o = out->buf->data + ((size_t)c * out->t + (size_t)r * f + k) * ohw;
                const float *e = cv->edge + (size_t)k * 16 * C + c;
                for (int y = 0; y < H; y++) {
                    int a = y & 1, ey = tsr_shuffle_edge(y, H);
                    for (int x = 0; x < W; x++) {
                        int b = x & 1, ch = ((a * 2 + b) * r + k) * C + c;
                        o[(size_t)y * W + x] = z->buf->data[((size_t)ch * z->t + f) * zhw + (size_t)(y / 2 + a) * z->w +
                                                            x / 2 + b] + e[(size_t)(ey * 4 + tsr_shuffle_edge(x, W)) * C];
                    }
                }
            }
}

static tsr_status cpu_conv3d(tsr_backend *be, const tsr_wt *conv, const tsr_act *in, tsr_state *state,
                             const tsr_wt *pre_norm, int pre_silu, const tsr_act *residual, tsr_act *out,
                             tsr_error *err)
{
    if (conv->kind != CPU_WT_CONV || !conv->u.conv.d.shuffle_rt)
        return conv3d_plain(be, conv, in, state, pre_norm, pre_silu, residual, out, err);
    const cpu_conv *cv = &conv->u.conv;
    tsr_status st = tsr_backend_check_shuffle(&cv->d, err);
    if (st == TSR_OK && (pre_norm || pre_silu || residual))
        st = tsr_fail(err, TSR_ERR_INVALID_ARG, "conv3d: a shuffle conv takes no norm and no residual");
    tsr_act z = {0};
    if (st == TSR_OK) st = conv3d_plain(be, conv, in, state, NULL, 0, NULL, &z, err);
    int r = cv->d.shuffle_rt;
    if (st == TSR_OK) st = tsr_cpu_ensure_out(be, out, cv->d.cout / (4 * r), z.t * r, 2 * in->h, 2 * in->w, "conv3d", err);
    if (st == TSR_OK) shuffle_out(cv, &z, out);
    cpu_act_free(be, &z);
    return st;
}

static tsr_status cpu_group_norm(tsr_backend *be, const tsr_wt *norm, const tsr_act *in, int silu, tsr_act *out,
                                 tsr_error *err)
{
    if (norm->kind != CPU_WT_NORM || norm->u.norm.channels != in->c)
        return tsr_fail(err, TSR_ERR_INTERNAL, "group_norm: norm of %d channels expected", in->c);
    tsr_status st = tsr_cpu_ensure_out(be, out, in->c, in->t, in->h, in->w, "group_norm", err);
    if (st != TSR_OK) return st;
    tsr_cpu_group_norm_run(cpu(be), &norm->u.norm, in->buf->data, in->c, in->t, in->h * in->w, silu, out->buf->data);
    return TSR_OK;
}

static tsr_status cpu_attention(tsr_backend *be, const tsr_wt *attn, const tsr_act *in, tsr_act *out, tsr_error *err)
{
    if (attn->kind != CPU_WT_ATTN || attn->u.attn.channels != in->c)
        return tsr_fail(err, TSR_ERR_INTERNAL, "attention: %d channels expected", in->c);
    tsr_status st = tsr_cpu_ensure_out(be, out, in->c, in->t, in->h, in->w, "attention", err);
    if (st != TSR_OK) return st;
    return tsr_cpu_attention_run(cpu(be), &attn->u.attn, in->buf->data, in->t, in->h, in->w, out->buf->data, err);
}

static tsr_status cpu_depth_to_space(tsr_backend *be, const tsr_act *in, int rt, int rs, int drop_first, tsr_act *out,
                                     tsr_error *err)
{
    int r = rt * rs * rs;
    if (rt < 1 || rs < 1 || in->c % r != 0)
        return tsr_fail(err, TSR_ERR_INTERNAL, "depth_to_space: %d channels do not split by %d", in->c, r);
    int C = in->c / r, drop = drop_first && rt == 2 && in->t > 0;
    int tout = in->t * rt - drop, ho = in->h * rs, wo = in->w * rs;
    tsr_status st = tsr_cpu_ensure_out(be, out, C, tout, ho, wo, "depth_to_space", err);
    if (st != TSR_OK) return st;
    size_t hw = (size_t)in->h * in->w, ohw = (size_t)ho * wo;
    const float *src = in->buf->data;
    float *dst = out->buf->data;
    for (int i = 0; i < rs; i++)
        for (int j = 0; j < rs; j++)
            for (int k = 0; k < rt; k++)
                for (int c = 0; c < C; c++)
                    for (int t = 0; t < in->t; t++) {
                        int to = t * rt + k;
                        if (drop && to == 1) continue;
                        to -= drop && to > 1;
                        const float *s = src + ((size_t)(((i * rs + j) * rt + k) * C + c) * in->t + t) * hw;
                        float *o = dst + ((size_t)c * tout + to) * ohw + (size_t)i * wo + j;
                        for (int y = 0; y < in->h; y++)
                            for (int x = 0; x < in->w; x++) o[(size_t)y * rs * wo + (size_t)x * rs] = s[(size_t)y * in->w + x];
                    }
    return TSR_OK;
}

static tsr_status cpu_add(tsr_backend *be, const tsr_act *a, const tsr_act *b, tsr_act *out, tsr_error *err)
{
    if (a->c != b->c || a->t != b->t || a->h != b->h || a->w != b->w)
        return tsr_fail(err, TSR_ERR_INTERNAL, "add: shapes differ");
    tsr_status st = tsr_cpu_ensure_out(be, out, a->c, a->t, a->h, a->w, "add", err);
    if (st != TSR_OK) return st;
    const float *x = a->buf->data, *y = b->buf->data;
    float *o = out->buf->data;
    for (size_t i = 0; i < a->buf->n; i++) o[i] = x[i] + y[i];
    return TSR_OK;
}

static tsr_status cpu_sync(tsr_backend *be, tsr_error *err) { return TSR_OK; }

static void cpu_memory(tsr_backend *be, uint64_t *in_use, uint64_t *peak, uint64_t *total)
{
    if (in_use) *in_use = cpu(be)->in_use;
    if (peak) *peak = cpu(be)->peak;
    if (total) *total = 0;
}

static void cpu_stats(tsr_backend *be, tsr_engine_stats *out, int reset)
{
    (void)reset;
    if (out) memset(out, 0, sizeof *out);
    if (out) cpu_memory(be, &out->mem_in_use, &out->mem_peak, &out->mem_budget);
    if (out) out->host_state_bytes = cpu(be)->host_bytes, out->host_state_peak = cpu(be)->host_peak;
}

static const tsr_backend_ops cpu_ops = {
    .abi_version = TSR_BACKEND_ABI_VERSION,
    .name = "cpu",
    .destroy = cpu_destroy,
    .act_alloc = cpu_act_alloc,
    .act_free = cpu_act_free,
    .act_upload = cpu_act_upload,
    .act_download = cpu_act_download,
    .conv_upload = cpu_conv_upload,
    .norm_upload = cpu_norm_upload,
    .attn_upload = cpu_attn_upload,
    .wt_free = cpu_wt_free,
    .state_create = cpu_state_create,
    .state_reset = cpu_state_reset,
    .state_free = cpu_state_free,
    .conv3d = cpu_conv3d,
    .group_norm = cpu_group_norm,
    .attention = cpu_attention,
    .depth_to_space = cpu_depth_to_space,
    .add = cpu_add,
    .sync = cpu_sync,
    .memory = cpu_memory,
    .profile_mark = NULL,
    .act_upload_frames = cpu_act_upload_frames,
    .act_download_start = cpu_act_download_start,
    .download_wait = cpu_download_wait,
    .stats = cpu_stats,
    .gn_stats_create = tsr_cpu_gn_stats_create,
    .gn_stats_reset = tsr_cpu_gn_stats_reset,
    .gn_stats_free = tsr_cpu_gn_stats_free,
    .gn_stats_accum = tsr_cpu_gn_stats_accum,
    .gn_stats_apply = tsr_cpu_gn_stats_apply,
    .act_copy_region = tsr_cpu_act_copy_region,
    .state_create_host = cpu_state_create_host,
    .act_alloc_host = cpu_act_alloc_host,
    .state_prefetch = cpu_state_prefetch,
};

tsr_status tsr_cpu_backend_create(const tsr_backend_params *p, tsr_backend **out, tsr_error *err)
{
    *out = NULL;
    tsr_cpu_backend *b = tsr_calloc(1, sizeof *b, err);
    if (!b) return TSR_ERR_NOMEM;
    b->base.ops = &cpu_ops;
    b->kernel = tsr_cpu_kernel_select(&b->kernel_isa);
    tsr_status st = tsr_threadpool_create(p ? p->threads : 0, &b->pool, err);
    if (st != TSR_OK) {
        free(b);
        return st;
    }
    b->threads = tsr_threadpool_size(b->pool);
    b->budget = p ? p->memory_budget : 0;
    const char *pc = getenv("TSR_CPU_PINNED_CAP");
    b->host_cap = pc && *pc ? strtoull(pc, NULL, 10) : 0;
    b->scratch = calloc((size_t)b->threads, sizeof *b->scratch);
    b->scratch_len = calloc((size_t)b->threads, sizeof *b->scratch_len);
    if (!b->scratch || !b->scratch_len) {
        cpu_destroy(&b->base);
        return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
    }
    *out = &b->base;
    return TSR_OK;
}
