/* Deep tiles: a tile-outer decode (engine/README.md "Deep tiles", plan kind TSR_PLAN_DEEP_TILES).
 *
 * The decoder is split where the tiled executor splits it: the head (conv_in, the mid block with its attention,
 * up_blocks.0 with its upsampler) and the tail (up_blocks.1.., conv_norm_out, conv_out). For each spatial tile of
 * the output (core + a halo at least the tail's receptive field, in head-output pixels) the whole clip streams
 * through time: the tile's region is cut out of the head's output on the whole frame (exact attention and
 * GroupNorm; act_copy_region), and the tail runs on that region with the tile's own causal states. The first tile
 * runs the head chunk by chunk and keeps each chunk's output in host memory (act_alloc_host); its states are
 * then freed and every later tile and pass cuts its region from that cache (deep_head_recompute: the head runs
 * again for every tile, its causal states starting over, and nothing is cached). Only the core of the tail's
 * output is kept, in a host buffer of the whole clip, delivered to the sink after the last tile. So the device
 * holds the head's states (first tile only) and ONE tile's tail states, never the full-resolution states of the
 * whole frame.
 *
 * Every tile's region has the same size (tsr_mm_deep_tile: shifted inwards at the frame's edges), so all tiles
 * and passes run one set of conv shapes and a later tile resets the states the first one created.
 *
 * GroupNorm in the tail is per frame over the whole frame, which a tile does not see. With two passes the first
 * pass runs every tile with the statistics of its context (core + halo, clipped to the frame; applied by
 * gn_stats_apply, the conv without pre_norm, as in every pass) and gathers, per normalised tail
 * conv and per frame, the statistics of the tile's core (gn_stats_accum); the cores tile the frame, so once
 * every tile has run they are the frame's statistics (of the first pass's activations). The second pass runs
 * every tile again normalising with them and keeps its output. The remaining error is that pass 1's activations (per-tile statistics upstream) differ slightly
 * from the true ones. One pass (per-tile statistics) is the reference implementation's approximation. A single
 * tile covering the frame is the untiled decode, bit for bit. */
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "plan/memmodel.h"
#include "vae/vae_internal.h"

typedef struct deep {
    tsr_vae *v;
    const tsr_latent_src *src;
    const tsr_decode_params *p;
    int c, t, h, w;            /* the latent */
    int chunk, chunks;
    int H, W, ratio;           /* the head's output frame; output pixels per head-output pixel */
    int ny, nx, halo;          /* tile grid and halo over the head's output */
    int passes, pass;          /* pass 1 of 2 gathers statistics, the last pass keeps the output */
    tsr_mm_rect core, reg;     /* the current tile, head-output pixels (reg: the same size for every tile) */
    tsr_mm_rect ctx;           /* the part of reg whose statistics pass 1 uses: core + halo, clipped to the frame */
    int nnorm, knorm, ci;      /* normalised tail convs per chunk, the next one's index, the chunk */
    tsr_gnstats **stats;       /* [3][chunks][nnorm]: statistics of each normalised tail conv's input, gathered
                                * by odd / even passes, and set 2: pass 1's per-tile context (reset per use) */
    float *lat, *y;            /* host staging: one latent chunk, one tile result */
    size_t y_cap;
    float *out;                /* [total][3][oh][ow]: the clip, frame-major as the sink takes it */
    int total, oh, ow, produced;
    int tile_i;                /* tiles run so far (both passes): progress */
    tsr_act *cache;            /* [chunks]: the head's output per chunk in host memory (act_alloc_host), filled by
                                * the first tile; NULL = the head runs for every tile and pass */
    int cached;                /* the first tile has run: later ones cut their regions from the cache */
    double t_start;
} deep;

static tsr_status deep_fail_oom(tsr_error *err) { return tsr_fail(err, TSR_ERR_NOMEM, "deep tiles: out of host memory"); }

/* Statistics of rectangle r (head-output pixels) of region tensor x (at `f` times the head's resolution) added
 * to *s (created for x's frames and channels when NULL). */
static tsr_status gather(deep *d, const tsr_act *x, const tsr_mm_rect *r, int f, tsr_gnstats **s, tsr_error *err)
{
    tsr_backend *be = d->v->be;
    tsr_status st = *s ? TSR_OK : be->ops->gn_stats_create(be, x->t, x->c, d->v->cfg.norm_groups, s, err);
    if (st != TSR_OK) return st;
    return be->ops->gn_stats_accum(be, x, 0, (r->y0 - d->reg.y0) * f, (r->x0 - d->reg.x0) * f, (r->y1 - d->reg.y0) * f,
                                   (r->x1 - d->reg.x0) * f, *s, err);
}

/* A normalised tail conv: y = conv(silu(norm(x))) (+ res). Every pass but the last gathers the statistics of the
 * tile's core of x for the next pass. Pass 1 normalises with the statistics of the tile's context (core + halo:
 * the region's extra width, which only makes the tiles' shapes equal, does not enter), later passes with those
 * the previous pass gathered; always through gn_stats_apply and a conv without a norm, so that every tile and
 * pass runs the same conv shapes (one set of cuDNN plans). One tile covering the frame: the conv's own norm. */
static tsr_status norm_conv(deep *d, vae_conv *c, tsr_act *x, const tsr_wt *norm, const tsr_act *res, int f,
                            tsr_act *y, tsr_error *err)
{
    tsr_backend *be = d->v->be;
    memset(y, 0, sizeof *y);
    if (d->knorm >= d->nnorm) return tsr_fail(err, TSR_ERR_INTERNAL, "deep tiles: normalised convs miscounted");
    size_t at = (size_t)d->ci * (size_t)d->nnorm + (size_t)d->knorm++, set = (size_t)d->chunks * (size_t)d->nnorm;
    tsr_gnstats **gs = &d->stats[(size_t)(d->pass & 1) * set + at], *use = d->stats[(size_t)((d->pass - 1) & 1) * set + at];
    tsr_gnstats **own = &d->stats[2 * set + at];
    tsr_status st = d->pass < d->passes ? gather(d, x, &d->core, f, gs, err) : TSR_OK;
    if (st != TSR_OK) return st;
    if (d->ny * d->nx == 1) /* one tile: the conv's own norm, the untiled decode bit for bit */
        return tsr_vae_conv(d->v, c, x, norm, 1, res, y, err);
    if (d->pass == 1) {
        if (*own) be->ops->gn_stats_reset(be, *own);
        st = gather(d, x, &d->ctx, f, own, err);
        use = *own;
    }
    if (st == TSR_OK && !use) st = tsr_fail(err, TSR_ERR_INTERNAL, "%s: no statistics from the previous pass", c->name);
    tsr_act xn = {0};
    if (st == TSR_OK) st = be->ops->gn_stats_apply(be, norm, x, use, 1, &xn, err);
    if (st == TSR_OK) st = tsr_vae_conv(d->v, c, &xn, NULL, 0, res, y, err);
    be->ops->act_free(be, &xn);
    return st;
}

/* y = conv2(silu(norm2(conv1(silu(norm1(x)))))) + shortcut(x), in vae_forward.c's order (spec §3.3). */
static tsr_status resnet(deep *d, vae_resnet *r, tsr_act *x, int f, tsr_error *err)
{
    tsr_backend *be = d->v->be;
    tsr_act h = {0}, s = {0}, y = {0};
    tsr_status st = norm_conv(d, &r->conv1, x, r->norm1, NULL, f, &h, err);
    const tsr_act *res = x;
    if (st == TSR_OK && r->shortcut.w) {
        st = tsr_vae_conv(d->v, &r->shortcut, x, NULL, 0, NULL, &s, err);
        res = &s;
    }
    if (st == TSR_OK) st = norm_conv(d, &r->conv2, &h, r->norm2, res, f, &y, err);
    be->ops->act_free(be, &h);
    be->ops->act_free(be, &s);
    be->ops->act_free(be, x);
    *x = y;
    return st;
}

/* Up blocks 1.. with their upsamplers, conv_norm_out and conv_out over the region x (replaced in place). */
static tsr_status tail(deep *d, tsr_act *x, int first, tsr_error *err)
{
    tsr_vae *v = d->v;
    vae_half *h = &v->dec;
    int nb = v->cfg.num_blocks, f = 1;
    tsr_status st = TSR_OK;
    for (int i = 1; i < nb && st == TSR_OK; i++) {
        for (int j = 0; j < h->layers && st == TSR_OK; j++) st = resnet(d, &h->resnets[i * h->layers + j], x, f, err);
        if (st == TSR_OK && i < nb - 1) {
            st = tsr_vae_upsample(v, h, i, x, first, err);
            f *= 2;
        }
    }
    tsr_act y = {0};
    if (st == TSR_OK) st = norm_conv(d, &h->conv_out, x, h->norm_out, NULL, f, &y, err);
    v->be->ops->act_free(v->be, x);
    *x = y;
    return st;
}

/* The core of tile result y (3 x n frames over the region, output pixels) into the clip's frames from `first`
 * on, cropped to oh x ow and to the frames the clip keeps. */
static void place(deep *d, const float *y, int n, int first, int rh, int rw)
{
    int r = d->ratio, y0 = d->core.y0 * r, x0 = d->core.x0 * r;
    int y1 = TSR_MIN(d->core.y1 * r, d->oh), x1 = TSR_MIN(d->core.x1 * r, d->ow);
    int oy = (d->core.y0 - d->reg.y0) * r, ox = (d->core.x0 - d->reg.x0) * r;
    if (y1 <= y0 || x1 <= x0) return; /* cropped away */
    for (int f = 0; f < n && first + f < d->total; f++)
        for (int c = 0; c < 3; c++)
            for (int yy = y0; yy < y1; yy++)
                memcpy(d->out + (((size_t)(first + f) * 3 + c) * d->oh + yy) * d->ow + x0,
                       y + (((size_t)c * n + f) * rh + oy + yy - y0) * rw + ox, (size_t)(x1 - x0) * sizeof(float));
}

static void cache_drop(deep *d)
{
    for (int i = 0; d->cache && i < d->chunks; i++) d->v->be->ops->act_free(d->v->be, &d->cache[i]);
    free(d->cache);
    d->cache = NULL;
}

/* The head's output of chunk i (latent frames t0 .. t0 + n), with the region of the tile cut from it in *x: from
 * the cache, or by running the head (its output then kept in the cache when there is one, and freed). */
static tsr_status head_region(deep *d, int i, int t0, int n, tsr_act *x, tsr_error *err)
{
    tsr_backend *be = d->v->be;
    int rh = d->reg.y1 - d->reg.y0, rw = d->reg.x1 - d->reg.x0;
    if (d->cached) {
        const tsr_act *a = &d->cache[i];
        tsr_status st = be->ops->act_alloc(be, a->c, a->t, rh, rw, x, err);
        return st == TSR_OK ? be->ops->act_copy_region(be, a, 0, d->reg.y0, d->reg.x0, x, 0, 0, 0, a->t, rh, rw, err) : st;
    }
    size_t hw = (size_t)d->h * d->w;
    tsr_status st = d->src->read(d->src->user, d->lat, t0, n, err);
    if (st == TSR_OK && d->src->check) st = tsr_vae_check_values(d->lat, d->c, n, hw, t0, err);
    tsr_act a = {0};
    if (st == TSR_OK) st = be->ops->act_alloc(be, d->c, n, d->h, d->w, &a, err);
    if (st == TSR_OK) st = be->ops->act_upload(be, &a, d->lat, err);
    if (st == TSR_OK) st = tsr_vae_prefetch_first(d->v, err); /* the head's host states (offload_states) */
    if (st == TSR_OK) st = tsr_vae_decoder_head(d->v, &a, t0 == 0, 1, err);
    if (st == TSR_OK && (a.h != d->H || a.w != d->W))
        st = tsr_fail(err, TSR_ERR_INTERNAL, "deep tiles: head output %dx%d, expected %dx%d", a.h, a.w, d->H, d->W);
    if (st == TSR_OK && d->cache) { /* no room in host memory: go on without the cache */
        tsr_error e2 = {0};
        tsr_status s2 = be->ops->act_alloc_host(be, a.c, a.t, a.h, a.w, &d->cache[i], &e2);
        if (s2 == TSR_OK) s2 = be->ops->act_copy_region(be, &a, 0, 0, 0, &d->cache[i], 0, 0, 0, a.t, a.h, a.w, &e2);
        if (s2 != TSR_OK) {
            tsr_log(TSR_LOG_WARN, "deep tiles: the head's output is not kept in host memory (%s): the head runs again "
                                  "for every tile", e2.message);
            cache_drop(d);
        }
    }
    if (st == TSR_OK) st = be->ops->act_alloc(be, a.c, a.t, rh, rw, x, err);
    if (st == TSR_OK) st = be->ops->act_copy_region(be, &a, 0, d->reg.y0, d->reg.x0, x, 0, 0, 0, a.t, rh, rw, err);
    be->ops->act_free(be, &a);
    return st;
}

/* Chunk i of the clip for the current tile: head, region, tail; the last pass keeps the core. */
static tsr_status deep_chunk(deep *d, int i, tsr_error *err)
{
    tsr_backend *be = d->v->be;
    int t0 = i * d->chunk, n = TSR_MIN(d->chunk, d->t - t0);
    int rh = (d->reg.y1 - d->reg.y0) * d->ratio, rw = (d->reg.x1 - d->reg.x0) * d->ratio;
    tsr_act x = {0};
    d->ci = i, d->knorm = 0;
    tsr_status st = head_region(d, i, t0, n, &x, err);
    if (st == TSR_OK) st = tail(d, &x, t0 == 0, err);
    if (st == TSR_OK && (x.c != 3 || x.h != rh || x.w != rw))
        st = tsr_fail(err, TSR_ERR_INTERNAL, "deep tiles: tile output %dx%dx%d, expected 3x%dx%d", x.c, x.h, x.w, rh, rw);
    if (st == TSR_OK && d->pass == d->passes) {
        size_t need = (size_t)3 * x.t * rh * rw;
        if (d->y_cap < need) {
            free(d->y);
            d->y = malloc(need * sizeof(float));
            d->y_cap = d->y ? need : 0;
        }
        st = d->y ? be->ops->act_download(be, &x, d->y, err) : deep_fail_oom(err);
        if (st == TSR_OK) place(d, d->y, x.t, d->produced, rh, rw);
    }
    if (st == TSR_OK) d->produced += x.t;
    be->ops->act_free(be, &x);
    return st;
}

static int report(deep *d, int chunk, int emitted)
{
    if (!d->p->progress) return 0;
    tsr_progress pr = {0};
    pr.stage = "decode";
    pr.chunks_done = chunk;
    pr.chunks_total = d->chunks;
    pr.frames_done = emitted;
    pr.frames_total = d->total;
    pr.tile = d->tile_i;
    pr.tiles = d->ny * d->nx * d->passes;
    tsr_backend *be = d->v->be;
    if (be->ops->memory) be->ops->memory(be, &pr.mem_in_use, &pr.mem_peak, &pr.mem_budget);
    pr.elapsed_s = tsr_now() - d->t_start;
    return d->p->progress(d->p->progress_user, &pr);
}

/* Tile k: its states (head reset, tail over its region), then the whole clip chunk by chunk. */
static tsr_status deep_tile(deep *d, int k, int emitted, tsr_error *err)
{
    tsr_mm_deep_tile(d->H, d->W, d->ny, d->nx, k, d->halo, &d->core, &d->reg);
    d->ctx.y0 = TSR_MAX(0, d->core.y0 - d->halo), d->ctx.y1 = TSR_MIN(d->H, d->core.y1 + d->halo);
    d->ctx.x0 = TSR_MAX(0, d->core.x0 - d->halo), d->ctx.x1 = TSR_MIN(d->W, d->core.x1 + d->halo);
    tsr_status st = tsr_vae_deep_states(d->v, d->h, d->w, d->reg.y1 - d->reg.y0, d->reg.x1 - d->reg.x0, !d->cached,
                                        err);
    d->produced = 0;
    for (int i = 0; i < d->chunks && st == TSR_OK && d->produced < d->total; i++) {
        if (report(d, i, emitted)) return tsr_fail(err, TSR_ERR_CANCELLED, "decode cancelled");
        st = deep_chunk(d, i, err);
    }
    if (st == TSR_OK && d->cache && !d->cached) { /* every chunk's head output is cached: the head is done */
        d->cached = 1;
        tsr_vae_deep_drop_head(d->v);
    }
    if (st != TSR_OK) tsr_error_prefix(err, "deep tile %d of %d (pass %d): ", k + 1, d->ny * d->nx, d->pass);
    d->tile_i++;
    return st;
}

/* Geometry, passes and host buffers of the decode. */
static tsr_status deep_setup(deep *d, tsr_error *err)
{
    tsr_vae *v = d->v;
    tsr_mm *mm = tsr_calloc(1, sizeof *mm, err);
    if (!mm) return TSR_ERR_NOMEM;
    int from = tsr_mm_decoder(&v->cfg, mm) ? tsr_mm_deep_from(mm) : -1;
    tsr_status st = TSR_OK;
    if (from < 1 || v->cfg.num_blocks < 2) {
        st = tsr_fail(err, TSR_ERR_UNSUPPORTED, "deep tiles: the decoder has no tail after up_blocks.0");
    } else {
        int s = mm->stages[from - 1].scale;
        d->ratio = mm->out_scale / s;
        d->H = d->h * s, d->W = d->w * s;
        d->halo = tsr_mm_deep_halo(mm, from);
        tsr_mm_deep_grid(d->H, d->W, d->p->deep_tile / d->ratio, &d->ny, &d->nx);
        int up = mm->out_tfac, frames = up * (d->t - 1) + 1;
        d->total = d->p->max_frames > 0 ? TSR_MIN(d->p->max_frames, frames) : frames;
        d->oh = d->p->crop_height > 0 ? TSR_MIN(d->p->crop_height, d->h * mm->out_scale) : d->h * mm->out_scale;
        d->ow = d->p->crop_width > 0 ? TSR_MIN(d->p->crop_width, d->w * mm->out_scale) : d->w * mm->out_scale;
    }
    free(mm);
    if (st != TSR_OK) return st;
    /* one tile covering the frame: its own statistics are the frame's (bit for bit the untiled decode) */
    d->passes = d->ny * d->nx == 1 ? 1 : d->p->deep_tile_passes > 0 ? d->p->deep_tile_passes : TSR_DEEP_PASSES_DEFAULT;
    d->nnorm = (v->cfg.num_blocks - 1) * v->dec.layers * 2 + 1;
    d->stats = tsr_calloc((size_t)d->chunks * (size_t)d->nnorm * 3, sizeof *d->stats, err);
    d->lat = d->stats ? tsr_malloc((size_t)d->c * d->chunk * d->h * d->w * sizeof(float), err) : NULL;
    d->out = d->lat ? tsr_malloc((size_t)d->total * 3 * d->oh * d->ow * sizeof(float), err) : NULL;
    /* the head's output cached: only worth it when the head runs more than once */
    int cache = !d->p->deep_head_recompute && d->ny * d->nx * d->passes > 1;
    if (d->out && cache) d->cache = tsr_calloc((size_t)d->chunks, sizeof *d->cache, err);
    return d->out && (!cache || d->cache) ? TSR_OK : TSR_ERR_NOMEM;
}

static void deep_free(deep *d)
{
    for (size_t i = 0; d->stats && i < (size_t)d->chunks * (size_t)d->nnorm * 3; i++)
        d->v->be->ops->gn_stats_free(d->v->be, d->stats[i]);
    free(d->stats);
    cache_drop(d);
    free(d->lat);
    free(d->y);
    free(d->out);
}

/* The clip's frames from *emitted on (earlier ones went to the sink before a re-plan), in order. */
static tsr_status deliver(deep *d, tsr_frame_sink sink, void *user, int *emitted, tsr_error *err)
{
    size_t fr = (size_t)3 * d->oh * d->ow;
    tsr_status st = TSR_OK;
    while (st == TSR_OK && *emitted < d->total) {
        int n = TSR_MIN(4, d->total - *emitted);
        st = sink(user, d->out + (size_t)*emitted * fr, n, *emitted, d->oh, d->ow, err);
        *emitted += n;
    }
    return st;
}

tsr_status tsr_vae_decode_deep(tsr_vae *vae, const tsr_latent_src *src, int c, int t, int h, int w,
                               const tsr_decode_params *p, tsr_frame_sink sink, void *sink_user, int *emitted,
                               tsr_error *err)
{
    deep d = {.v = vae, .src = src, .p = p, .c = c, .t = t, .h = h, .w = w, .t_start = tsr_now()};
    d.chunk = p->chunk > 0 ? TSR_MIN(p->chunk, t) : 1;
    d.chunks = (t + d.chunk - 1) / d.chunk;
    tsr_vae_reset_states(vae, &vae->dec);
    tsr_status st = tsr_vae_offload_mark(vae, p->offload_states, 1, err);
    if (st == TSR_OK) st = deep_setup(&d, err);
    for (d.pass = 1; d.pass <= d.passes && st == TSR_OK; d.pass++) {
        size_t set = (size_t)d.chunks * (size_t)d.nnorm, g = (size_t)(d.pass & 1) * set;
        for (size_t i = 0; i < set; i++) /* what pass - 2 gathered: gathered again */
            if (d.stats[g + i]) vae->be->ops->gn_stats_reset(vae->be, d.stats[g + i]);
        for (int k = 0; k < d.ny * d.nx && st == TSR_OK; k++) st = deep_tile(&d, k, *emitted, err);
    }
    tsr_vae_reset_states(vae, &vae->dec); /* the states hold a clip's frames: release them */
    tsr_vae_offload_mark(vae, 0, 0, NULL);
    if (st == TSR_OK && report(&d, d.chunks, *emitted)) st = tsr_fail(err, TSR_ERR_CANCELLED, "decode cancelled");
    if (st == TSR_OK) st = deliver(&d, sink, sink_user, emitted, err);
    if (st == TSR_OK && report(&d, d.chunks, *emitted)) st = tsr_fail(err, TSR_ERR_CANCELLED, "decode cancelled");
    deep_free(&d);
    return st;
}
