/* tsr_vae_encode: frames from a source, padded as the ComfyUI node pads them (spec §11), encoded in
 * temporal chunks (first 1 + chunk frames, then chunk frames; chunk a multiple of the temporal factor)
 * with the causal states carried over, then the posterior split.
 *
 * Padding (documented contract):
 *  - space: width and height are padded at the right/bottom to a multiple of 16 with black, i.e. the
 *    reference's zeros in [0,1] pixel space, which is -1 in the model's [-1,1] space;
 *  - time: F frames become tf*k+1 (tf = 4) by appending mirrored frames exactly like the reference's
 *    `pad_video_temporal`: with p = padding and F > p the frames F-2, F-3, ..., F-1-p; with F <= p the
 *    frames F-1, F-2, ..., 1 followed by copies of frame F-1.
 *  - sampling (sample = 1): z = mean + exp(logvar/2) * n with n ~ N(0,1) from splitmix64(seed) and the
 *    Box-Muller transform (cosine branch), one draw per latent element in [c][t][h][w] order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "vae/vae_internal.h"

void tsr_encode_params_default(tsr_encode_params *p) { memset(p, 0, sizeof *p); }

void tsr_latent_free(tsr_latent *l)
{
    if (!l) return;
    free(l->data);
    memset(l, 0, sizeof *l);
}

typedef struct enc_run {
    tsr_vae *v;
    const tsr_encode_params *p;
    int ch, height, width, hp, wp;
    size_t fsz;                 /* floats per source frame */
    float *buf;                 /* frame-major source frames of the current chunk */
    float *hist[4];             /* the last four real frames, hist[0] newest */
    int nhist, real;            /* frames kept / real frames read */
    float *post;                /* encoder output, frame-major [t][2c][h][w] */
    int post_t, post_c, lh, lw;
    int submitted;              /* chunks given to the device */
    struct {                    /* a chunk's encoder output on its way to the host (ticket < 0: none) */
        int ticket, c, t, h, w;
        float *raw;             /* [c][t][h][w] */
    } pend[TSR_BACKEND_MAX_DOWNLOADS];
    int pend_next;
} enc_run;

static void remember(enc_run *r, const float *frame)
{
    float *oldest = r->hist[3];
    memmove(r->hist + 1, r->hist, 3 * sizeof *r->hist);
    r->hist[0] = oldest;
    memcpy(oldest, frame, r->fsz * sizeof(float));
    if (r->nhist < 4) r->nhist++;
}

/* Source frame F-1-back (back = 0 is the last real frame); only back < 4 is ever needed. */
static const float *from_end(const enc_run *r, int back) { return r->hist[back]; }

static int temporal_pad(int f, int tf) { return (tf - (f - 1) % tf) % tf; }

static void append_padding(enc_run *r, int *n, int tf)
{
    int F = r->real, p = temporal_pad(F, tf);
    for (int i = 0; i < p; i++) {
        int back = F > p ? i + 1 : (i < F - 1 ? i : 0);
        memcpy(r->buf + (size_t)(*n)++ * r->fsz, from_end(r, back), r->fsz * sizeof(float));
    }
}

/* Exponent all ones = Inf or NaN; integer test so that the loop vectorises (one pass over the frame). */
static int all_finite(const float *f, size_t n)
{
    const uint32_t *u = (const uint32_t *)(const void *)f;
    uint32_t bad = 0;
    for (size_t k = 0; k < n; k++) bad |= (uint32_t)((u[k] & 0x7f800000u) == 0x7f800000u);
    return !bad;
}

/* Fill up to `need` frames; *ended when the source is exhausted. */
static tsr_status read_frames(enc_run *r, tsr_frame_source src, void *user, int need, int *n, int *ended,
                              tsr_error *err)
{
    *n = 0;
    while (*n < need && !*ended) {
        int got = src(user, r->buf + (size_t)*n * r->fsz, need - *n, err);
        if (got < 0) return err && err->status != TSR_OK ? err->status : tsr_fail(err, TSR_ERR_IO, "frame source failed");
        if (got > need - *n) return tsr_fail(err, TSR_ERR_INTERNAL, "frame source returned %d frames, asked for %d", got, need - *n);
        if (got == 0) *ended = 1;
        for (int i = 0; i < got; i++) {
            const float *f = r->buf + (size_t)(*n + i) * r->fsz;
            if (!all_finite(f, r->fsz)) return tsr_fail(err, TSR_ERR_INPUT, "frame %d contains NaN or Inf", r->real + i);
            remember(r, f);
        }
        *n += got;
        r->real += got;
    }
    return TSR_OK;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double std_normal(uint64_t *s)
{
    double u1 = ((double)(splitmix64(s) >> 11) + 0.5) * 0x1.0p-53; /* (0, 1): log is finite */
    double u2 = (double)(splitmix64(s) >> 11) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* One (channel c, frame t) plane of the result from the posterior's mean plane `m` and log-variance plane
 * `lv`: raw (posterior), the mean, or a sample whose noise depends on (seed, c, t) only. */
static void latent_plane(const enc_run *r, const float *m, const float *lv, size_t plane, int c, int t, float *o)
{
    if (r->p->posterior || !r->p->sample) {
        memcpy(o, m, plane * sizeof(float));
        return;
    }
    uint64_t seed = r->p->seed ^ (0xD1B54A32D192ED03ull * ((uint64_t)c * 0x100000001ull + (uint64_t)t + 1));
    for (size_t i = 0; i < plane; i++) {
        double l = lv[i] < -30.0f ? -30.0 : lv[i] > 20.0f ? 20.0 : lv[i]; /* reference clamp */
        o[i] = (float)(m[i] + exp(0.5 * l) * std_normal(&seed));
    }
}

/* Streaming (latent_sink): a downloaded [2c][t][h][w] chunk becomes the result's frames [post_t, post_t + t). */
static tsr_status emit_latent(enc_run *r, const float *raw, int c2, int t, int h, int w, tsr_error *err)
{
    int lc = c2 / 2, oc = r->p->posterior ? c2 : lc;
    size_t plane = (size_t)h * w;
    float *o = tsr_malloc((size_t)oc * t * plane * sizeof(float), err);
    if (!o) return TSR_ERR_NOMEM;
    for (int c = 0; c < oc; c++)
        for (int f = 0; f < t; f++)
            latent_plane(r, raw + ((size_t)c * t + f) * plane, raw + ((size_t)(lc + c % lc) * t + f) * plane, plane, c,
                         r->post_t + f, o + ((size_t)c * t + f) * plane);
    tsr_status st = r->p->latent_sink(r->p->latent_sink_user, o, oc, r->post_t, t, h, w, err);
    free(o);
    r->post_t += t, r->post_c = c2, r->lh = h, r->lw = w;
    return st;
}

/* Append a downloaded [c][t][h][w] encoder output to the frame-major posterior. */
static tsr_status append_post(enc_run *r, const float *raw, int c, int t, int h, int w, tsr_error *err)
{
    size_t lplane = (size_t)h * w, fr = (size_t)c * lplane;
    float *grown = realloc(r->post, (r->post_t + t) * fr * sizeof(float) + 1);
    if (!grown) return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
    r->post = grown;
    for (int f = 0; f < t; f++)
        for (int ch = 0; ch < c; ch++)
            memcpy(r->post + ((size_t)(r->post_t + f) * c + ch) * lplane, raw + ((size_t)ch * t + f) * lplane,
                   lplane * sizeof(float));
    r->post_t += t, r->post_c = c, r->lh = h, r->lw = w;
    return TSR_OK;
}

/* Wait for the download in `slot` (if any) and append it; `discard` only waits. */
static tsr_status finish_pending(enc_run *r, int slot, int discard, tsr_error *err)
{
    tsr_error e2;
    if (r->pend[slot].ticket < 0) return TSR_OK;
    tsr_status st = r->v->be->ops->download_wait(r->v->be, r->pend[slot].ticket, discard ? &e2 : err);
    r->pend[slot].ticket = -1;
    if (discard || st != TSR_OK) return discard ? TSR_OK : st;
    const float *raw = r->pend[slot].raw;
    if (r->p->latent_sink)
        return emit_latent(r, raw, r->pend[slot].c, r->pend[slot].t, r->pend[slot].h, r->pend[slot].w, err);
    return append_post(r, raw, r->pend[slot].c, r->pend[slot].t, r->pend[slot].h, r->pend[slot].w, err);
}

/* Host [3][n][hp][wp] of the buffered frames, padded with -1 (tiled encode: its layers read host frames). */
static float *padded_host(enc_run *r, int n, tsr_error *err)
{
    size_t plane = (size_t)r->hp * r->wp;
    float *host = tsr_malloc((size_t)r->ch * n * plane * sizeof(float), err);
    if (!host) return NULL;
    for (size_t i = 0; i < (size_t)r->ch * n * plane; i++) host[i] = -1.0f;
    for (int f = 0; f < n; f++)
        for (int c = 0; c < r->ch; c++)
            for (int y = 0; y < r->height; y++)
                memcpy(host + ((size_t)c * n + f) * plane + (size_t)y * r->wp,
                       r->buf + (size_t)f * r->fsz + ((size_t)c * r->height + y) * r->width, (size_t)r->width * sizeof(float));
    return host;
}

/* Untiled: the buffered frames go up as they are and the backend pads them with -1 (act_upload_frames: on
 * the GPU). Called again when a graph replay could not run. */
typedef struct enc_chunk {
    enc_run *r;
    int n;
} enc_chunk;

static tsr_status enc_input(void *user, tsr_act *x, tsr_error *err)
{
    enc_chunk *c = user;
    enc_run *r = c->r;
    tsr_backend *be = r->v->be;
    const float *frames[64];
    const float **fp = c->n <= 64 ? frames : tsr_malloc(sizeof *fp * (size_t)c->n, err);
    if (!fp) return TSR_ERR_NOMEM;
    for (int f = 0; f < c->n; f++) fp[f] = r->buf + (size_t)f * r->fsz;
    tsr_status st = be->ops->act_alloc(be, r->ch, c->n, r->hp, r->wp, x, err);
    if (st == TSR_OK) st = be->ops->act_upload_frames(be, x, fp, c->n, r->height, r->width, -1.0f, err);
    if (fp != frames) free(fp);
    if (st != TSR_OK) be->ops->act_free(be, x);
    return st;
}

static tsr_status enc_body(void *user, tsr_act *x, tsr_act *y, tsr_error *err)
{
    enc_run *r = ((enc_chunk *)user)->r;
    return tsr_vae_encoder_forward(r->v, x, r->p->frame_group, y, err);
}

/* Tiled: conv_in and the down blocks run over padded host frames first, then the tail on the device. */
static tsr_status encode_tiled_chunk(enc_run *r, int n, tsr_act *y, tsr_error *err)
{
    tsr_vae *v = r->v;
    tsr_act x = {0};
    float *host = padded_host(r, n, err);
    if (!host) return TSR_ERR_NOMEM;
    tsr_tiled_out hx = {host, r->ch, n, r->hp, r->wp}, mid = {0};
    tsr_status st = tsr_vae_encode_tiled(v, &hx, r->submitted == 0, r->p->tile, &mid, err);
    if (st == TSR_OK) st = v->be->ops->act_alloc(v->be, mid.c, mid.t, mid.h, mid.w, &x, err);
    if (st == TSR_OK) st = v->be->ops->act_upload(v->be, &x, mid.d, err);
    tsr_vae_tiled_free(v, &mid); /* its data and the GroupNorm statistics the tiles gathered */
    if (st == TSR_OK) return tsr_vae_encoder_tail(v, &x, y, err);
    v->be->ops->act_free(v->be, &x);
    return st;
}

/* Encode n buffered frames and queue the download of the result; the previous chunk's result is appended
 * to r->post meanwhile, so the host (this and the next chunk's frame reading) overlaps the device. */
static tsr_status encode_frames(enc_run *r, int n, tsr_error *err)
{
    tsr_vae *v = r->v;
    tsr_act y = {0};
    tsr_status st;
    if (r->p->tile > 0) {
        st = encode_tiled_chunk(r, n, &y, err);
    } else { /* chunks after the first (states filled) of one size repeat the same ops: a graph per size */
        enc_chunk c = {r, n};
        uint64_t key = r->submitted == 0 ? 0 : tsr_vae_chunk_key(v, 2 + 16 * r->p->frame_group, r->ch, n, r->hp, r->wp);
        st = tsr_vae_run_chunk(v, key, enc_input, enc_body, &c, &y, err);
    }
    r->submitted++;
    int slot = r->pend_next, older = (slot + 1) % TSR_BACKEND_MAX_DOWNLOADS;
    if (st == TSR_OK) {
        float *raw = realloc(r->pend[slot].raw, (size_t)y.c * y.t * y.h * y.w * sizeof(float) + 1);
        if (!raw) st = tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
        else r->pend[slot].raw = raw;
    }
    if (st == TSR_OK) st = v->be->ops->act_download_start(v->be, &y, r->pend[slot].raw, &r->pend[slot].ticket, err);
    if (st == TSR_OK) r->pend[slot].c = y.c, r->pend[slot].t = y.t, r->pend[slot].h = y.h, r->pend[slot].w = y.w;
    else r->pend[slot].ticket = -1;
    v->be->ops->act_free(v->be, &y);
    r->pend_next = older;
    if (st == TSR_OK) st = finish_pending(r, older, 0, err);
    return st;
}

/* posterior [t][2c][h][w] -> out [c'][t][h][w]: raw mean||logvar, the mean, or a sample. Streaming: only
 * the shape (the frames went to the sink). */
static tsr_status finish_latent(enc_run *r, tsr_latent *out, tsr_error *err)
{
    int lc = r->post_c / 2, oc = r->p->posterior ? r->post_c : lc;
    size_t plane = (size_t)r->lh * r->lw;
    out->c = oc, out->t = r->post_t, out->h = r->lh, out->w = r->lw;
    if (r->p->latent_sink) return TSR_OK;
    out->data = tsr_malloc((size_t)oc * r->post_t * plane * sizeof(float), err);
    if (!out->data) return TSR_ERR_NOMEM;
    for (int c = 0; c < oc; c++)
        for (int t = 0; t < r->post_t; t++)
            latent_plane(r, r->post + ((size_t)t * r->post_c + c) * plane,
                         r->post + ((size_t)t * r->post_c + lc + (c % lc)) * plane, plane, c, t,
                         out->data + ((size_t)c * r->post_t + t) * plane);
    return TSR_OK;
}

static tsr_status encode_check(const tsr_vae *v, int height, int width, tsr_frame_source src,
                               const tsr_encode_params *p, int tf, tsr_error *err)
{
    if (!v->cfg.has_encoder) return tsr_fail(err, TSR_ERR_MODEL, "this model has no encoder (decoder-only file)");
    if (!src) return tsr_fail(err, TSR_ERR_INVALID_ARG, "no frame source given");
    if (v->cfg.in_channels != 3)
        return tsr_fail(err, TSR_ERR_MODEL, "the encoder expects %d input channels, frames are RGB", v->cfg.in_channels);
    if (height < 1 || width < 1 || height > 65536 || width > 65536)
        return tsr_fail(err, TSR_ERR_INPUT, "frame size %dx%d is invalid", width, height);
    if (p->tile < 0) return tsr_fail(err, TSR_ERR_INVALID_ARG, "tile %d is negative", p->tile);
    if (p->frame_group < 0) return tsr_fail(err, TSR_ERR_INVALID_ARG, "frame group %d is negative", p->frame_group);
    if (p->chunk < 0 || p->chunk % tf != 0)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "encode chunk %d must be a positive multiple of %d frames", p->chunk, tf);
    return TSR_OK;
}

static int enc_report(const enc_run *r, int chunks, double t0)
{
    if (!r->p->progress) return 0;
    tsr_progress pr = {0};
    pr.stage = "encode";
    pr.chunks_done = chunks;
    pr.frames_done = r->real;
    pr.tiles = 1;
    if (r->v->be->ops->memory) r->v->be->ops->memory(r->v->be, &pr.mem_in_use, &pr.mem_peak, &pr.mem_budget);
    pr.elapsed_s = tsr_now() - t0;
    return r->p->progress(r->p->progress_user, &pr);
}

static tsr_status encode_loop(enc_run *r, tsr_frame_source src, void *user, int chunk, int tf, tsr_error *err)
{
    tsr_status st = TSR_OK;
    double t0 = tsr_now();
    for (int ended = 0, chunks = 0; st == TSR_OK && !ended; chunks++) {
        int n = 0, need = chunks == 0 ? 1 + chunk : chunk;
        if (enc_report(r, chunks, t0)) {
            st = tsr_fail(err, TSR_ERR_CANCELLED, "encode cancelled");
            break;
        }
        st = read_frames(r, src, user, need, &n, &ended, err);
        if (st == TSR_OK && ended && r->real == 0) st = tsr_fail(err, TSR_ERR_INPUT, "the video has no frames");
        if (st == TSR_OK && ended) append_padding(r, &n, tf);
        if (st == TSR_OK && n > 0) st = encode_frames(r, n, err);
    }
    for (int k = 0; k < TSR_BACKEND_MAX_DOWNLOADS; k++) { /* the last result; after a failure only wait */
        tsr_status s2 = finish_pending(r, (r->pend_next + k) % TSR_BACKEND_MAX_DOWNLOADS, st != TSR_OK, err);
        if (st == TSR_OK) st = s2;
    }
    if (st == TSR_OK && enc_report(r, -1, t0)) st = tsr_fail(err, TSR_ERR_CANCELLED, "encode cancelled");
    return st;
}

tsr_status tsr_vae_encode(tsr_vae *vae, int height, int width, tsr_frame_source src, void *src_user,
                          const tsr_encode_params *p, tsr_latent *out, tsr_error *err)
{
    tsr_encode_params defaults;
    if (!p) tsr_encode_params_default(&defaults), p = &defaults;
    if (!vae || !out) return tsr_fail(err, TSR_ERR_INVALID_ARG, "tsr_vae_encode: vae and out are required");
    memset(out, 0, sizeof *out);
    int tf = 1;
    for (int i = 0; i < vae->cfg.num_blocks - 1; i++) tf *= vae->cfg.enc_temporal_down[i] ? 2 : 1;
    tsr_status st = encode_check(vae, height, width, src, p, tf, err);
    if (st != TSR_OK) return st;
    int chunk = p->chunk > 0 ? p->chunk : tf; /* automatic: the reference's 4-frame slices (spec §7.1) */
    enc_run r = {vae, p, 3, height, width, (height + 15) / 16 * 16, (width + 15) / 16 * 16};
    for (int k = 0; k < TSR_BACKEND_MAX_DOWNLOADS; k++) r.pend[k].ticket = -1;
    r.fsz = (size_t)3 * height * width;
    r.buf = tsr_malloc((size_t)(1 + chunk + tf) * r.fsz * sizeof(float), err);
    for (int i = 0; i < 4 && r.buf; i++) r.hist[i] = tsr_malloc(r.fsz * sizeof(float), err);
    st = r.buf && r.hist[3] ? TSR_OK : TSR_ERR_NOMEM;
    tsr_vae_reset_states(vae, &vae->enc);
    if (st == TSR_OK) st = encode_loop(&r, src, src_user, chunk, tf, err);
    if (st == TSR_OK) st = finish_latent(&r, out, err);
    if (st == TSR_OK) out->frames = r.real, out->height = height, out->width = width;
    tsr_vae_reset_states(vae, &vae->enc);
    free(r.buf);
    for (int i = 0; i < 4; i++) free(r.hist[i]);
    free(r.post);
    for (int k = 0; k < TSR_BACKEND_MAX_DOWNLOADS; k++) free(r.pend[k].raw);
    return st;
}

void tsr_latent_to_file_scale(float *data, size_t n, float scaling_factor)
{
    for (size_t i = 0; i < n; i++) data[i] *= scaling_factor;
}

void tsr_latent_from_file_scale(float *data, size_t n, float scaling_factor)
{
    for (size_t i = 0; i < n; i++) data[i] /= scaling_factor;
}
