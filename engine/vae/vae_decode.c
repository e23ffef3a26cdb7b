/* tsr_vae_decode: the latent in temporal chunks of any size, each through the whole decoder with the
 * causal states carried over (spec §7: exact), frames streamed to the sink as each chunk finishes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "vae/vae_internal.h"

void tsr_decode_params_default(tsr_decode_params *p)
{
    memset(p, 0, sizeof *p);
    p->tile_from = 1; /* up_blocks.0 is at latent resolution: cheap to run whole */
}

static tsr_status check_shape(const tsr_vae *v, int c, int t, int h, int w, tsr_error *err)
{
    if (!v->cfg.has_decoder) return tsr_fail(err, TSR_ERR_MODEL, "this model has no decoder (encoder-only file)");
    if (c != v->cfg.latent_channels)
        return tsr_fail(err, TSR_ERR_INPUT, "latent has %d channels, the model expects %d", c, v->cfg.latent_channels);
    if (t < 1 || h < 1 || w < 1 || (int64_t)h * 8 > 65536 || (int64_t)w * 8 > 65536)
        return tsr_fail(err, TSR_ERR_INPUT, "latent size %dx%dx%d (frames x height x width) is invalid", t, h, w);
    return TSR_OK;
}

/* Values [c][n][hw] of latent frames t0 .. t0+n-1: every one finite. */
tsr_status tsr_vae_check_values(const float *x, int c, int n, size_t hw, int t0, tsr_error *err)
{
    size_t count = (size_t)c * n * hw;
    for (size_t i = 0; i < count; i++)
        if (!isfinite(x[i]))
            return tsr_fail(err, TSR_ERR_INPUT, "latent value at channel %zu, frame %zu, position %zu is %s",
                            i / ((size_t)n * hw), (size_t)t0 + i / hw % (size_t)n, i % hw,
                            isnan(x[i]) ? "NaN" : "infinite");
    return TSR_OK;
}

/* A chunk's frames on their way to the host (act_download_start); ticket < 0: none. */
typedef struct dec_pending {
    int ticket, c, n, h, w;
    float *host;               /* [c][n][h][w] */
    size_t cap;
} dec_pending;

typedef struct dec_run {
    tsr_vae *v;
    const tsr_decode_params *p;
    tsr_frame_sink sink;
    void *sink_user;
    float *frames;             /* frame-major output of one chunk */
    size_t frames_cap;
    int emitted, total;        /* frames given to the sink / frames the clip will have */
    int produced;              /* frames decoded so far in this pass (a re-planned pass re-runs emitted ones) */
    int chunk_i, chunks;       /* for the tiled decode's progress */
    double t_start;
    int queued;                /* frames computed so far (emitted or on their way) */
    dec_pending pend[TSR_BACKEND_MAX_DOWNLOADS];
    int pend_next;             /* slot of the next download; the other one is the older */
} dec_run;

/* Crop a host [ch][n][H][W] chunk (`raw`, or the device activation `y` downloaded first) and hand
 * frame-major frames to the sink. */
static tsr_status emit_chunk(dec_run *r, const tsr_act *y, const float *raw_host, int ch, int n, int H, int W,
                             tsr_error *err)
{
    int oh = r->p->crop_height > 0 ? TSR_MIN(r->p->crop_height, H) : H;
    int ow = r->p->crop_width > 0 ? TSR_MIN(r->p->crop_width, W) : W;
    int skip = TSR_MAX(0, r->emitted - r->produced); /* already delivered before a re-plan */
    r->produced += n;
    int keep = TSR_MIN(n - skip, r->total - r->emitted);
    if (keep <= 0) return TSR_OK;
    size_t all = raw_host ? 0 : (size_t)ch * n * H * W, need = (size_t)keep * ch * oh * ow;
    if (r->frames_cap < all + need) {
        free(r->frames);
        r->frames = tsr_malloc((all + need) * sizeof(float), err);
        r->frames_cap = r->frames ? all + need : 0;
        if (!r->frames) return TSR_ERR_NOMEM;
    }
    const float *raw = raw_host ? raw_host : r->frames;
    float *out = r->frames + all;
    tsr_status st = raw_host ? TSR_OK : r->v->be->ops->act_download(r->v->be, y, r->frames, err);
    if (st != TSR_OK) return st;
    for (int f = 0; f < keep; f++)
        for (int c = 0; c < ch; c++)
            for (int yy = 0; yy < oh; yy++)
                memcpy(out + (((size_t)f * ch + c) * oh + yy) * ow, raw + (((size_t)c * n + skip + f) * H + yy) * W,
                       (size_t)ow * sizeof(float));
    st = r->sink(r->sink_user, out, keep, r->emitted, oh, ow, err);
    r->emitted += keep;
    return st;
}

static int report(dec_run *r, int done, int chunks, int tile, int tiles);

static int tile_tick(void *user, int step, int steps)
{
    dec_run *r = user;
    return report(r, r->chunk_i, r->chunks, step, steps);
}

/* Tiled: the untiled head on the device, then the rest tile by tile over host frames (vae_tiled.c). */
static tsr_status decode_chunk_tiled(dec_run *r, tsr_act *x, int first, int h, tsr_error *err)
{
    tsr_vae *v = r->v;
    int from = TSR_MIN(r->p->tile_from, v->cfg.num_blocks);
    tsr_status st = tsr_vae_decoder_head(v, x, first, from, err);
    tsr_tiled_out hx = {0}, y = {0};
    if (st == TSR_OK) st = tsr_vae_tiled_input(v, x, r->p->tile_resident, &hx, err);
    v->be->ops->act_free(v->be, x);
    tsr_tiling tl = {from, r->p->tile, 8 * h, r->p->tile_host_state, tile_tick, r};
    if (st == TSR_OK) st = tsr_vae_decode_tiled(v, &hx, first, &tl, &y, err);
    if (st == TSR_OK) st = emit_chunk(r, NULL, y.d, y.c, y.t, y.h, y.w, err);
    if (st == TSR_OK) r->queued += y.t;
    free(y.d);
    return st;
}

/* Wait for the pending download in `slot` (if any) and hand its frames to the sink; `discard` only waits. */
static tsr_status finish_pending(dec_run *r, int slot, int discard, tsr_error *err)
{
    dec_pending *d = &r->pend[slot];
    if (d->ticket < 0) return TSR_OK;
    tsr_error e2;
    tsr_status st = r->v->be->ops->download_wait(r->v->be, d->ticket, discard ? &e2 : err);
    d->ticket = -1;
    if (discard) return TSR_OK;
    if (st == TSR_OK) st = emit_chunk(r, NULL, d->host, d->c, d->n, d->h, d->w, err);
    return st;
}

/* Queue the download of chunk output `y` (freed here), then emit the previous chunk's frames while the
 * device works on: the sink and the host copies overlap the next chunk's compute. */
static tsr_status download_overlapped(dec_run *r, tsr_act *y, tsr_error *err)
{
    tsr_backend *be = r->v->be;
    int slot = r->pend_next, older = (slot + 1) % TSR_BACKEND_MAX_DOWNLOADS;
    dec_pending *d = &r->pend[slot];
    size_t need = (size_t)y->c * y->t * y->h * y->w;
    tsr_status st = TSR_OK;
    if (d->cap < need) {
        free(d->host);
        d->host = tsr_malloc(need * sizeof(float), err);
        d->cap = d->host ? need : 0;
        if (!d->host) st = TSR_ERR_NOMEM;
    }
    if (st == TSR_OK) st = be->ops->act_download_start(be, y, d->host, &d->ticket, err);
    if (st == TSR_OK) d->c = y->c, d->n = y->t, d->h = y->h, d->w = y->w, r->queued += y->t;
    else d->ticket = -1;
    be->ops->act_free(be, y);
    r->pend_next = older;
    if (st == TSR_OK) st = finish_pending(r, older, 0, err);
    return st;
}

/* One chunk's input on the device (called again when a graph replay could not run). */
typedef struct dec_chunk {
    tsr_vae *v;
    const float *host;         /* [c][n][h][w] */
    int c, n, h, w, first;
    int group;                 /* frame group of the frame-local stages (0 = the whole chunk) */
} dec_chunk;

static tsr_status dec_input(void *user, tsr_act *x, tsr_error *err)
{
    dec_chunk *d = user;
    tsr_backend *be = d->v->be;
    tsr_status st = be->ops->act_alloc(be, d->c, d->n, d->h, d->w, x, err);
    if (st == TSR_OK) st = be->ops->act_upload(be, x, d->host, err);
    if (st != TSR_OK) be->ops->act_free(be, x);
    return st;
}

static tsr_status dec_body(void *user, tsr_act *x, tsr_act *y, tsr_error *err)
{
    dec_chunk *d = user;
    return tsr_vae_decoder_forward(d->v, x, d->first, d->group, y, err);
}

tsr_status tsr_latent_array_read(void *user, float *dst, int t0, int n, tsr_error *err)
{
    const tsr_latent_array *a = user;
    size_t hw = (size_t)a->h * a->w;
    if (t0 < 0 || n < 0 || t0 + n > a->t)
        return tsr_fail(err, TSR_ERR_INTERNAL, "latent frames %d+%d of %d", t0, n, a->t);
    for (int ci = 0; ci < a->c; ci++)
        memcpy(dst + (size_t)ci * n * hw, a->data + ((size_t)ci * a->t + t0) * hw, (size_t)n * hw * sizeof(float));
    return TSR_OK;
}

static tsr_status decode_chunk(dec_run *r, const tsr_latent_src *src, int c, int h, int w, int t0, int n,
                               tsr_error *err)
{
    tsr_vae *v = r->v;
    tsr_act x = {0}, y = {0};
    size_t hw = (size_t)h * w;
    float *host = tsr_malloc((size_t)c * n * hw * sizeof(float), err);
    if (!host) return TSR_ERR_NOMEM;
    tsr_status rs = src->read(src->user, host, t0, n, err);
    if (rs == TSR_OK && src->check) rs = tsr_vae_check_values(host, c, n, hw, t0, err);
    if (rs != TSR_OK) {
        free(host);
        return rs;
    }
    dec_chunk in = {v, host, c, n, h, w, t0 == 0, r->p->frame_group};
    tsr_status st;
    if (r->p->tile > 0) {
        st = dec_input(&in, &x, err);
        free(host);
        return st == TSR_OK ? decode_chunk_tiled(r, &x, t0 == 0, h, err) : st;
    }
    /* steady-state chunks (states filled) of one shape and frame group repeat the same ops: a graph per shape
     * (the groups run inside the chunk's graph; their outputs are assembled on the device, one download) */
    uint64_t key = t0 == 0 || !tsr_vae_decoder_steady(v) ? 0 : tsr_vae_chunk_key(v, 1 + 16 * TSR_MAX(in.group, 0), c, n, h, w);
    st = tsr_vae_run_chunk(v, key, dec_input, dec_body, &in, &y, err);
    free(host);
    if (st == TSR_OK) return download_overlapped(r, &y, err);
    v->be->ops->act_free(v->be, &y);
    return st;
}

static int report(dec_run *r, int done, int chunks, int tile, int tiles)
{
    if (!r->p->progress) return 0;
    tsr_progress pr = {0};
    pr.stage = "decode";
    pr.chunks_done = done;
    pr.chunks_total = chunks;
    pr.frames_done = r->emitted;
    pr.frames_total = r->total;
    pr.tile = tile;
    pr.tiles = tiles;
    if (r->v->be->ops->memory) r->v->be->ops->memory(r->v->be, &pr.mem_in_use, &pr.mem_peak, &pr.mem_budget);
    pr.elapsed_s = tsr_now() - r->t_start;
    return r->p->progress(r->p->progress_user, &pr);
}

/* The chunk loop with fixed settings; frames below *emitted were delivered by an earlier pass and are only
 * re-computed (their causal history), not handed to the sink again. */
tsr_status tsr_vae_decode_pass(tsr_vae *vae, const tsr_latent_src *src, int c, int t, int h, int w,
                               const tsr_decode_params *p, tsr_frame_sink sink, void *sink_user, int *emitted,
                               tsr_error *err)
{
    /* automatic chunk: one latent frame, the reference's streaming size (memory independent of length) */
    int chunk = p->chunk > 0 ? p->chunk : 1;
    int up = 1; /* temporal factor: 4 for SeedVR2, so 4t-3 frames (spec §4) */
    for (int i = 0; i < vae->cfg.num_blocks - 1; i++) up *= vae->cfg.dec_temporal_up[i] ? 2 : 1;
    int out_frames = up * (t - 1) + 1;
    dec_run r = {vae, p, sink, sink_user, NULL, 0, *emitted, p->max_frames > 0 ? TSR_MIN(p->max_frames, out_frames) : out_frames,
                 0, 0, (t + chunk - 1) / chunk, tsr_now(), 0, {{-1}, {-1}}, 0};
    int chunks = r.chunks;
    if (p->deep_tile > 0) return tsr_vae_decode_deep(vae, src, c, t, h, w, p, sink, sink_user, emitted, err);
    tsr_vae_reset_states(vae, &vae->dec);
    vae->tile_state_bytes = vae->tile_hist_bytes = 0;
    tsr_status st = tsr_vae_offload_mark(vae, p->tile > 0 ? 0 : p->offload_states, 0, err);
    if (st == TSR_OK && p->tile == 0) st = tsr_vae_decoder_states_create(vae, h, w, err);
    for (int i = 0; i < chunks && st == TSR_OK && r.queued < r.total; i++) {
        r.chunk_i = i;
        if (report(&r, i, chunks, 0, 1)) st = tsr_fail(err, TSR_ERR_CANCELLED, "decode cancelled");
        if (st == TSR_OK) st = decode_chunk(&r, src, c, h, w, i * chunk, TSR_MIN(chunk, t - i * chunk), err);
    }
    /* the last chunk's frames (oldest first), or on failure just let the transfers finish */
    for (int k = 0; k < TSR_BACKEND_MAX_DOWNLOADS; k++) {
        tsr_status s2 = finish_pending(&r, (r.pend_next + k) % TSR_BACKEND_MAX_DOWNLOADS, st != TSR_OK, err);
        if (st == TSR_OK) st = s2;
    }
    if (st == TSR_OK && report(&r, chunks, chunks, 0, 1)) st = tsr_fail(err, TSR_ERR_CANCELLED, "decode cancelled");
    tsr_vae_reset_states(vae, &vae->dec); /* the states hold a clip's frames: release them */
    tsr_vae_offload_mark(vae, 0, 0, NULL);
    free(r.frames);
    for (int k = 0; k < TSR_BACKEND_MAX_DOWNLOADS; k++) free(r.pend[k].host);
    *emitted = r.emitted;
    return st;
}

/* Arguments and parameters shared by tsr_vae_decode and tsr_vae_decode_from. */
static tsr_status decode_args(const tsr_vae *vae, int c, int t, int h, int w, const tsr_decode_params *p,
                              tsr_frame_sink sink, tsr_error *err)
{
    if (!vae || !sink) return tsr_fail(err, TSR_ERR_INVALID_ARG, "tsr_vae_decode: vae and sink are required");
    if (p->chunk < 0 || p->max_frames < 0 || p->crop_height < 0 || p->crop_width < 0 || p->tile < 0 ||
        p->tile_from < 0 || p->frame_group < 0 || p->offload_states < 0)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "decode parameters must not be negative");
    if (p->deep_tile < 0 || p->deep_tile_passes < 0 || p->deep_tile_passes > TSR_DEEP_MAX_PASSES)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "deep tiles: tile edge %d px and %d passes (0 = 3, 1 .. 4) are "
                        "invalid", p->deep_tile, p->deep_tile_passes);
    if (p->plan_tiling < 0 || p->plan_tiling > TSR_TILING_DEEP)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan_tiling %d is not a tiling policy", p->plan_tiling);
    if (p->deep_tile > 0 && p->tile > 0)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "tile (%d px) and deep_tile (%d px) exclude each other", p->tile,
                        p->deep_tile);
    return check_shape(vae, c, t, h, w, err);
}

static tsr_status decode_src(tsr_vae *vae, const tsr_latent_src *src, int c, int t, int h, int w,
                             const tsr_decode_params *p, tsr_frame_sink sink, void *sink_user, tsr_error *err)
{
    if (p->memory_budget > 0 && p->tile == 0 && p->deep_tile == 0)
        return tsr_vae_decode_planned(vae, src, c, t, h, w, p, sink, sink_user, err);
    int emitted = 0;
    return tsr_vae_decode_pass(vae, src, c, t, h, w, p, sink, sink_user, &emitted, err);
}

tsr_status tsr_vae_decode(tsr_vae *vae, const float *latent, int c, int t, int h, int w, const tsr_decode_params *p,
                          tsr_frame_sink sink, void *sink_user, tsr_error *err)
{
    tsr_decode_params defaults;
    if (!p) tsr_decode_params_default(&defaults), p = &defaults;
    tsr_status st = decode_args(vae, c, t, h, w, p, sink, err);
    if (st != TSR_OK) return st;
    if (!latent) return tsr_fail(err, TSR_ERR_INVALID_ARG, "no latent given");
    st = tsr_vae_check_values(latent, c, t, (size_t)h * w, 0, err); /* the whole latent before any frame is made */
    if (st != TSR_OK) return st;
    tsr_latent_array a = {latent, c, t, h, w};
    const tsr_latent_src src = {tsr_latent_array_read, &a, 0};
    return decode_src(vae, &src, c, t, h, w, p, sink, sink_user, err);
}

tsr_status tsr_vae_decode_from(tsr_vae *vae, tsr_latent_reader read, void *read_user, int c, int t, int h, int w,
                               const tsr_decode_params *p, tsr_frame_sink sink, void *sink_user, tsr_error *err)
{
    tsr_decode_params defaults;
    if (!p) tsr_decode_params_default(&defaults), p = &defaults;
    tsr_status st = decode_args(vae, c, t, h, w, p, sink, err);
    if (st != TSR_OK) return st;
    if (!read) return tsr_fail(err, TSR_ERR_INVALID_ARG, "no latent reader given");
    const tsr_latent_src src = {read, read_user, 1};
    return decode_src(vae, &src, c, t, h, w, p, sink, sink_user, err);
}
