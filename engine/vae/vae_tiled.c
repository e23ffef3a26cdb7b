/* Exact spatially tiled decode, layer by layer (engine/README.md, "Tiled decode").
 *
 * From up block `from` on, every activation of the chunk is a whole frame ([C][T][H][W]) kept on the device
 * while `resident` bytes allow, else on the host (fp32). Each layer (a conv with its GroupNorm+SiLU
 * prologue, or an upsampler's 1x1 conv + depth-to-space) runs over the frame in tiles: the tile's core plus
 * the conv's halo (1 px for 3x3, clipped at the frame) is cut out (device copy or upload), normalised on the
 * device with the statistics of the WHOLE frame (gathered from every tile's core while the producing layer
 * ran), convolved with the residual added in the epilogue, and only the core is kept (device copy or
 * download). The conv's zero padding is then right at the frame border and
 * never used inside, so every kept pixel equals the untiled result. Each tile owns a causal state over its
 * region incl. halo (vae_conv.tile_states), so temporal streaming stays exact. Device memory is bounded by
 * one tile of one layer (plus the per-tile states). Only backend.h ops are used. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "vae/vae_internal.h"

typedef tsr_tiled_out htens;

typedef struct trect {
    int y0, x0, y1, x1;
} trect;

typedef struct trun {
    tsr_vae *v;
    int tile, out_h;           /* tile edge in output pixels; a layer of height h uses tile*h/out_h */
    int first_chunk, host_state;
    float *in, *out, *rs;      /* host staging of one tile's input (and history frames) / output / residual */
    size_t in_cap, out_cap, rs_cap;
    tsr_tile_tick tick;
    void *tick_user;
    int step, steps;
    const vae_conv *host_out;  /* the conv whose output goes back to the caller: always in host memory */
} trun;

/* Bytes a whole-frame tensor takes on the backend (CUDA: bf16, channels padded to 8; CPU: fp32). */
static uint64_t dev_bytes(const tsr_vae *v, int c, int t, int h, int w)
{
    uint64_t px = (uint64_t)t * (uint64_t)h * (uint64_t)w;
    return strcmp(v->be->ops->name, "cpu") == 0 ? px * (uint64_t)c * 4 : px * (uint64_t)((c + 7) / 8 * 8) * 2;
}

/* A whole-frame tensor: on the device when `may_dev` and the resident allowance has room, else on the host. */
static tsr_status htens_alloc(tsr_vae *v, htens *a, int c, int t, int h, int w, int may_dev, tsr_error *err)
{
    memset(a, 0, sizeof *a);
    a->c = c, a->t = t, a->h = h, a->w = w;
    uint64_t need = dev_bytes(v, c, t, h, w);
    if (may_dev && v->be->ops->act_copy_region && v->tile_resident_used + need <= v->tile_resident_cap &&
        v->be->ops->act_alloc(v->be, c, t, h, w, &a->dev, NULL) == TSR_OK) {
        v->tile_resident_used += need;
        v->tile_resident_peak = TSR_MAX(v->tile_resident_peak, v->tile_resident_used);
        return TSR_OK;
    }
    memset(&a->dev, 0, sizeof a->dev);
    a->d = tsr_malloc((size_t)c * t * h * w * sizeof(float), err);
    return a->d ? TSR_OK : TSR_ERR_NOMEM;
}

static void htens_free(tsr_vae *v, htens *a)
{
    free(a->d);
    if (a->dev.buf) {
        v->be->ops->act_free(v->be, &a->dev);
        v->tile_resident_used -= dev_bytes(v, a->c, a->t, a->h, a->w);
    }
    if (a->gs) v->be->ops->gn_stats_free(v->be, a->gs);
    memset(a, 0, sizeof *a);
}

static int ensure(float **buf, size_t *cap, size_t n, tsr_error *err)
{
    if (n <= *cap) return 1;
    free(*buf);
    *buf = tsr_malloc(n * sizeof(float), err);
    *cap = *buf ? n : 0;
    return *buf != NULL;
}

/* ------------------------------------------------------------------ geometry */

/* Tiles of a layer of h x w: edge e (the output tile scaled to this layer), nx tiles per row. */
static int grid(const trun *r, int h, int w, int *e, int *nx)
{
    int64_t s = (int64_t)r->tile * h / r->out_h;
    *e = s < 1 ? 1 : (int)TSR_MIN(s, (int64_t)TSR_MAX(h, w));
    *nx = (w + *e - 1) / *e;
    return ((h + *e - 1) / *e) * *nx;
}

/* Tile k of the grid: ceil(h/e) x nx tiles of balanced size (rows and columns differ by at most one pixel,
 * so a layer has few distinct tile shapes: the backend builds one conv plan per shape). */
static void tile_at(int k, int e, int nx, int h, int w, int halo, trect *core, trect *reg)
{
    int ny = (h + e - 1) / e, i = k / nx, j = k % nx;
    core->y0 = (int)((int64_t)i * h / ny), core->y1 = (int)((int64_t)(i + 1) * h / ny);
    core->x0 = (int)((int64_t)j * w / nx), core->x1 = (int)((int64_t)(j + 1) * w / nx);
    reg->y0 = TSR_MAX(0, core->y0 - halo), reg->x0 = TSR_MAX(0, core->x0 - halo);
    reg->y1 = TSR_MIN(h, core->y1 + halo), reg->x1 = TSR_MIN(w, core->x1 + halo);
}

/* ------------------------------------------------------------------ GroupNorm statistics on the device */

/* The statistics of a host tensor's frames: gathered on the device (backend gn_stats ops) from each tile's
 * core while the layer that produces the tensor runs, so they are complete when the next layer needs them. */
static tsr_status stats_new(trun *r, htens *a, tsr_error *err)
{
    tsr_backend *be = r->v->be;
    return be->ops->gn_stats_create(be, a->t, a->c, r->v->cfg.norm_groups, &a->gs, err);
}

static tsr_status have_stats_ops(tsr_vae *v, tsr_error *err)
{
    tsr_backend *be = v->be;
    if (!be->ops->gn_stats_create || !be->ops->gn_stats_accum || !be->ops->gn_stats_apply)
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "the %s backend has no tiled GroupNorm statistics ops", be->ops->name);
    return TSR_OK;
}

/* ------------------------------------------------------------------ tile transfer */

/* Region g of src into dst ([c][t][gh][gw]). */
static void extract(const htens *src, trect g, float *dst)
{
    int gh = g.y1 - g.y0, gw = g.x1 - g.x0;
    for (int c = 0; c < src->c; c++)
        for (int f = 0; f < src->t; f++)
            for (int y = 0; y < gh; y++)
                memcpy(dst + (((size_t)c * src->t + f) * gh + y) * gw,
                       src->d + (((size_t)c * src->t + f) * src->h + g.y0 + y) * src->w + g.x0, (size_t)gw * sizeof(float));
}

/* The core of a tile result (src: [c][skip + t] over region g, scaled by `s`; its first `skip` frames are
 * history re-runs and dropped) into dst, plus res at the same place. */
static void place(htens *dst, const float *src, trect g, trect core, int s, const htens *res, int skip)
{
    int gh = (g.y1 - g.y0) * s, gw = (g.x1 - g.x0) * s, cw = (core.x1 - core.x0) * s, st = dst->t + skip;
    for (int c = 0; c < dst->c; c++)
        for (int f = 0; f < dst->t; f++)
            for (int y = core.y0 * s; y < core.y1 * s; y++) {
                size_t o = (((size_t)c * dst->t + f) * dst->h + y) * dst->w + (size_t)core.x0 * s;
                const float *in = src + (((size_t)c * st + f + skip) * gh + y - g.y0 * s) * gw + (core.x0 - g.x0) * s;
                if (!res) memcpy(dst->d + o, in, (size_t)cw * sizeof(float));
                else for (int x = 0; x < cw; x++) dst->d[o + x] = in[x] + res->d[o + x];
            }
}

/* Region g of `src` (frames into [skip, skip + src->t) of a new device tensor *x; frames below skip are left
 * as they are: history re-runs whose results are dropped) via a device copy or an upload of host data. */
static tsr_status load_region(trun *r, const htens *src, trect g, int skip, float **buf, size_t *cap, tsr_act *x,
                              tsr_error *err)
{
    tsr_backend *be = r->v->be;
    int gh = g.y1 - g.y0, gw = g.x1 - g.x0, t = src->t + skip;
    tsr_status st = be->ops->act_alloc(be, src->c, t, gh, gw, x, err);
    if (st != TSR_OK) return st;
    if (src->dev.buf) return be->ops->act_copy_region(be, &src->dev, 0, g.y0, g.x0, x, skip, 0, 0, src->t, gh, gw, err);
    size_t plane = (size_t)gh * gw, n = (size_t)src->c * t * plane;
    if (!ensure(buf, cap, n + (skip ? (size_t)src->c * src->t * plane : 0), err)) return TSR_ERR_NOMEM;
    if (!skip) {
        extract(src, g, *buf);
    } else { /* extract behind the tensor, then spread the channels out with zero history frames */
        float *tmp = *buf + n;
        extract(src, g, tmp);
        memset(*buf, 0, n * sizeof(float));
        for (int c = 0; c < src->c; c++)
            memcpy(*buf + ((size_t)c * t + skip) * plane, tmp + (size_t)c * src->t * plane, src->t * plane * sizeof(float));
    }
    return be->ops->act_upload(be, x, *buf, err);
}

/* The core of tile result y (over region g at scale s; its first `skip` frames dropped) into `out`. */
static tsr_status store_core(trun *r, const tsr_act *y, trect core, trect g, int s, int skip, htens *out,
                             tsr_error *err)
{
    tsr_backend *be = r->v->be;
    if (out->dev.buf)
        return be->ops->act_copy_region(be, y, skip, (core.y0 - g.y0) * s, (core.x0 - g.x0) * s, &out->dev, 0,
                                        core.y0 * s, core.x0 * s, out->t, (core.y1 - core.y0) * s,
                                        (core.x1 - core.x0) * s, err);
    if (!ensure(&r->out, &r->out_cap, (size_t)y->c * y->t * y->h * y->w, err)) return TSR_ERR_NOMEM;
    tsr_status st = be->ops->act_download(be, y, r->out, err);
    if (st == TSR_OK) place(out, r->out, g, core, s, NULL, skip);
    return st;
}

static tsr_status tick(trun *r, tsr_error *err)
{
    r->step++;
    if (r->tick && r->tick(r->tick_user, r->step, r->steps)) return tsr_fail(err, TSR_ERR_CANCELLED, "decode cancelled");
    return TSR_OK;
}

/* ------------------------------------------------------------------ tiled layers */

static tsr_status ensure_states(trun *r, vae_conv *c, int n, tsr_error *err)
{
    if (c->d.kt <= 1 || c->tile_states) {
        if (c->tile_states && c->tile_count != n)
            return tsr_fail(err, TSR_ERR_INTERNAL, "%s: tile count changed within a clip", c->name);
        return TSR_OK;
    }
    c->tile_states = tsr_calloc((size_t)n, sizeof *c->tile_states, err);
    c->tile_hist = c->tile_states ? tsr_calloc((size_t)n, sizeof *c->tile_hist, err) : NULL;
    c->tile_count = c->tile_hist ? n : 0;
    return c->tile_hist ? TSR_OK : TSR_ERR_NOMEM;
}

/* The tile's region g of `in` on the device in *x, normalised (+SiLU) there when the conv has a norm
 * prologue: with the whole frame's statistics (in->gs, gathered while `in` was produced), or in the
 * reference's approximation (tile_local_norm) with the tile region's own. */
static tsr_status stage_tile(trun *r, const htens *in, const tsr_wt *norm, int silu, trect g, tsr_act *x,
                             tsr_error *err)
{
    tsr_backend *be = r->v->be;
    int gh = g.y1 - g.y0, gw = g.x1 - g.x0;
    tsr_status st = load_region(r, in, g, 0, &r->in, &r->in_cap, x, err);
    if (st != TSR_OK || !norm) return st;
    tsr_gnstats *gs = in->gs, *local = NULL;
    if (r->v->tile_local_norm) {
        st = be->ops->gn_stats_create(be, in->t, in->c, r->v->cfg.norm_groups, &local, err);
        if (st == TSR_OK) st = be->ops->gn_stats_accum(be, x, 0, 0, 0, gh, gw, local, err);
        gs = local;
    } else if (!gs) {
        st = tsr_fail(err, TSR_ERR_INTERNAL, "tiled GroupNorm: no statistics of the input");
    }
    if (st == TSR_OK) st = be->ops->gn_stats_apply(be, norm, x, gs, silu, x, err);
    if (be->ops->gn_stats_free) be->ops->gn_stats_free(be, local);
    return st;
}

/* The backend conv over the device tile x (consumed) with the tile's state (a device state per tile, or a
 * fresh one in host-state mode) and residual; the result y stays on the device. */
static tsr_status run_conv(trun *r, vae_conv *c, int k, tsr_act *x, const tsr_act *res, const int o[3], tsr_act *y,
                           tsr_error *err)
{
    tsr_backend *be = r->v->be;
    tsr_state *fresh = NULL, **sp = c->d.kt > 1 ? (r->host_state ? &fresh : &c->tile_states[k]) : NULL;
    tsr_status st = TSR_OK;
    if (sp && !*sp) {
        st = be->ops->state_create(be, &c->d, x->h, x->w, sp, err);
        if (st == TSR_OK && !r->host_state)
            r->v->tile_state_bytes += (uint64_t)c->d.cin * (c->d.kt - c->d.st) * x->h * x->w * sizeof(float);
    }
    if (st == TSR_OK) st = be->ops->conv3d(be, c->w, x, sp ? *sp : NULL, NULL, 0, res, y, err);
    be->ops->act_free(be, x);
    be->ops->state_free(be, fresh);
    if (st == TSR_OK && (y->c != c->d.cout || y->t != o[0] || y->h != o[1] || y->w != o[2]))
        st = tsr_fail(err, TSR_ERR_INTERNAL, "tile output %dx%dx%dx%d is unexpected", y->c, y->t, y->h, y->w);
    return st;
}

/* Gather the output statistics from the tile's core (frames after `skip`), keep the core in `out`. */
static tsr_status finish_tile(trun *r, tsr_act *y, htens *out, trect core, trect g, int s, int skip, tsr_error *err)
{
    tsr_backend *be = r->v->be;
    tsr_status st = TSR_OK;
    if (out->gs)
        st = be->ops->gn_stats_accum(be, y, skip, (core.y0 - g.y0) * s, (core.x0 - g.x0) * s, (core.y1 - g.y0) * s,
                                     (core.x1 - g.x0) * s, out->gs, err);
    if (st == TSR_OK) st = store_core(r, y, core, g, s, skip, out, err);
    be->ops->act_free(be, y);
    return st;
}

/* Host-state mode, the tile's causal history (the last kt-st normalised input frames of its region) in
 * host memory. New history = the last n frames of (old history, or frame 0 replicated as the backend does
 * on a first chunk) ++ this chunk's t frames: only those frames (and frame 0 on the first chunk) cross the
 * bus, cut out on the device. */
static tsr_status update_history(trun *r, vae_conv *c, int k, const tsr_act *x, tsr_error *err)
{
    tsr_backend *be = r->v->be;
    int n = c->d.kt - c->d.st, t = x->t, m = TSR_MIN(t, n), first = c->tile_hist[k] == NULL;
    size_t plane = (size_t)x->h * x->w, fr = (size_t)c->d.cin * plane;
    if (!ensure(&r->in, &r->in_cap, fr * (size_t)(m + 1), err)) return TSR_ERR_NOMEM;
    float *tail = r->in, *f0 = r->in + fr * (size_t)m; /* [cin][m] and [cin][1] */
    tsr_act a = {0};
    tsr_status st = be->ops->act_alloc(be, c->d.cin, m, x->h, x->w, &a, err);
    if (st == TSR_OK) st = be->ops->act_copy_region(be, x, t - m, 0, 0, &a, 0, 0, 0, m, x->h, x->w, err);
    if (st == TSR_OK) st = be->ops->act_download(be, &a, tail, err);
    be->ops->act_free(be, &a);
    if (st == TSR_OK && first) {
        st = be->ops->act_alloc(be, c->d.cin, 1, x->h, x->w, &a, err);
        if (st == TSR_OK) st = be->ops->act_copy_region(be, x, 0, 0, 0, &a, 0, 0, 0, 1, x->h, x->w, err);
        if (st == TSR_OK) st = be->ops->act_download(be, &a, f0, err);
        be->ops->act_free(be, &a);
    }
    if (st != TSR_OK) return st;
    float *h = c->tile_hist[k];
    if (first) {
        h = c->tile_hist[k] = tsr_malloc(fr * (size_t)n * sizeof(float), err);
        if (!h) return TSR_ERR_NOMEM;
        r->v->tile_hist_bytes += fr * (uint64_t)n * sizeof(float);
        for (int ch = 0; ch < c->d.cin; ch++)
            for (int i = 0; i < n; i++) memcpy(h + ((size_t)ch * n + i) * plane, f0 + (size_t)ch * plane, plane * sizeof(float));
    }
    for (int ch = 0; ch < c->d.cin; ch++)
        for (int i = 0; i < n; i++) { /* sequence index t + i over (h[0..n) ++ chunk[0..t)) */
            int f = t + i;
            const float *src = f < n ? h + ((size_t)ch * n + f) * plane : tail + ((size_t)ch * m + (f - n) - (t - m)) * plane;
            memmove(h + ((size_t)ch * n + i) * plane, src, plane * sizeof(float)); /* src index >= i: safe */
        }
    return TSR_OK;
}

/* Host-state mode: the conv input of a later chunk is [history] ++ tile, assembled on the device (a fresh
 * backend state then replicates history frame 0; the outputs that depend on it are dropped). The first
 * chunk feeds the tile itself (the backend replicates frame 0 as the untiled conv does). */
static tsr_status history_input(trun *r, vae_conv *c, int k, tsr_act *x, int *tin, tsr_error *err)
{
    tsr_backend *be = r->v->be;
    int n = c->d.kt - c->d.st, t = x->t;
    const float *old = c->tile_hist[k];
    tsr_act ext = {0}, ha = {0};
    tsr_status st = TSR_OK;
    *tin = t;
    if (old) {
        st = be->ops->act_alloc(be, c->d.cin, n + t, x->h, x->w, &ext, err);
        if (st == TSR_OK) st = be->ops->act_alloc(be, c->d.cin, n, x->h, x->w, &ha, err);
        if (st == TSR_OK) st = be->ops->act_upload(be, &ha, old, err);
        if (st == TSR_OK) st = be->ops->act_copy_region(be, &ha, 0, 0, 0, &ext, 0, 0, 0, n, x->h, x->w, err);
        if (st == TSR_OK) st = be->ops->act_copy_region(be, x, 0, 0, 0, &ext, n, 0, 0, t, x->h, x->w, err);
        be->ops->act_free(be, &ha);
    }
    if (st == TSR_OK) st = update_history(r, c, k, x, err);
    if (st != TSR_OK || !old) {
        be->ops->act_free(be, &ext);
        return st;
    }
    be->ops->act_free(be, x);
    *x = ext;
    *tin = n + t;
    return TSR_OK;
}

/* One tile of a conv: stage its region (normalised on the device), run the backend conv with the tile's
 * state and residual, gather the output statistics of the core, keep the core. */
static tsr_status conv_tile(trun *r, vae_conv *c, const htens *in, const tsr_wt *norm, int silu,
                            const htens *res, htens *out, trect core, trect g, int k, tsr_error *err)
{
    tsr_backend *be = r->v->be;
    int gh = g.y1 - g.y0, gw = g.x1 - g.x0, hist = r->host_state && c->d.kt > 1, tin = in->t;
    tsr_act x = {0}, rs = {0}, y = {0};
    tsr_status st = stage_tile(r, in, norm, silu, g, &x, err);
    if (st == TSR_OK && hist) st = history_input(r, c, k, &x, &tin, err);
    if (st == TSR_OK && res) st = load_region(r, res, g, tin - in->t, &r->rs, &r->rs_cap, &rs, err);
    int o[3] = {tin, gh, gw};
    if (st == TSR_OK) st = run_conv(r, c, k, &x, res ? &rs : NULL, o, &y, err);
    be->ops->act_free(be, &x);
    be->ops->act_free(be, &rs);
    if (st == TSR_OK) st = finish_tile(r, &y, out, core, g, 1, tin - in->t, err);
    be->ops->act_free(be, &y);
    if (st != TSR_OK) tsr_error_prefix(err, "%s (tile %d): ", c->name, k);
    return st == TSR_OK ? tick(r, err) : st;
}

/* out = conv(silu?(norm?(in))) (+ res) over the whole frame, tile by tile; with `stats`, out's GroupNorm
 * statistics are gathered on the way. Stride-1 'same' convs only (every decoder conv): output frame size
 * and frame count equal the input's. */
static tsr_status tiled_conv(trun *r, vae_conv *c, const htens *in, const tsr_wt *norm, int silu,
                             const htens *res, int stats, htens *out, tsr_error *err)
{
    int e, nx, n = grid(r, in->h, in->w, &e, &nx), halo = c->d.kh / 2;
    tsr_status st = ensure_states(r, c, n, err);
    if (st == TSR_OK) st = htens_alloc(r->v, out, c->d.cout, in->t, in->h, in->w, c != r->host_out, err);
    if (st == TSR_OK && stats) st = stats_new(r, out, err);
    for (int k = 0; k < n && st == TSR_OK; k++) {
        trect core, g;
        tile_at(k, e, nx, in->h, in->w, halo, &core, &g);
        st = conv_tile(r, c, in, norm, silu, res, out, core, g, k, err);
    }
    if (st != TSR_OK) htens_free(r->v, out);
    return st;
}

/* Encoder downsampler (spec §3.6: pad right/bottom by one, 3x3 stride 2) over the frame. Tiles cover the
 * output; a tile reads input rows/cols [2*y0, 2*y1 + 1) clipped, so the conv's bottom/right zero padding
 * is used only at the frame edge and each tile's result is exactly its core. */
static tsr_status tiled_down(trun *r, vae_conv *c, const htens *in, htens *out, tsr_error *err)
{
    const tsr_conv_desc *d = &c->d;
    int ho = tsr_conv_out_len(in->h, d->kh, d->sh, d->pad_top, d->pad_bottom);
    int wo = tsr_conv_out_len(in->w, d->kw, d->sw, d->pad_left, d->pad_right);
    int to = r->first_chunk ? tsr_conv_out_len(in->t, d->kt, d->st, d->kt - 1, 0)
                            : tsr_conv_out_len(in->t + d->kt - d->st, d->kt, d->st, 0, 0);
    int e, nx, n = grid(r, ho, wo, &e, &nx);
    tsr_status st = ensure_states(r, c, n, err);
    if (st == TSR_OK) st = htens_alloc(r->v, out, d->cout, to, ho, wo, 1, err);
    if (st == TSR_OK) st = stats_new(r, out, err);
    for (int k = 0; k < n && st == TSR_OK; k++) {
        trect core, g;
        tile_at(k, e, nx, ho, wo, 0, &core, &g);
        g = (trect){2 * core.y0, 2 * core.x0, TSR_MIN(in->h, 2 * core.y1 + 1), TSR_MIN(in->w, 2 * core.x1 + 1)};
        int o[3] = {to, core.y1 - core.y0, core.x1 - core.x0};
        tsr_act x = {0}, y = {0};
        st = stage_tile(r, in, NULL, 0, g, &x, err);
        if (st == TSR_OK) st = run_conv(r, c, k, &x, NULL, o, &y, err);
        r->v->be->ops->act_free(r->v->be, &x);
        if (st == TSR_OK) st = finish_tile(r, &y, out, core, core, 1, 0, err);
        r->v->be->ops->act_free(r->v->be, &y);
        if (st != TSR_OK) tsr_error_prefix(err, "%s (tile %d): ", c->name, k);
    }
    if (st != TSR_OK) htens_free(r->v, out);
    return st;
}

/* One tile of an upsampler's 1x1 upscale conv + depth-to-space: no halo, output at twice the coordinates. */
static tsr_status upscale_tile(trun *r, int i, const htens *in, htens *out, trect core, tsr_error *err)
{
    tsr_backend *be = r->v->be;
    vae_conv *u = &r->v->dec.upscale[i];
    int gh = core.y1 - core.y0, gw = core.x1 - core.x0;
    tsr_act x = {0}, y = {0}, z = {0};
    tsr_status st = load_region(r, in, core, 0, &r->in, &r->in_cap, &x, err);
    if (st == TSR_OK) st = be->ops->conv3d(be, u->w, &x, NULL, NULL, 0, NULL, &y, err);
    be->ops->act_free(be, &x);
    if (st == TSR_OK) st = be->ops->depth_to_space(be, &y, r->v->dec.rt[i], 2, r->first_chunk, &z, err);
    be->ops->act_free(be, &y);
    if (st == TSR_OK && (z.c != out->c || z.t != out->t || z.h != 2 * gh || z.w != 2 * gw))
        st = tsr_fail(err, TSR_ERR_INTERNAL, "upsampled tile %dx%dx%dx%d is unexpected", z.c, z.t, z.h, z.w);
    if (st == TSR_OK) st = store_core(r, &z, core, core, 2, 0, out, err);
    be->ops->act_free(be, &z);
    if (st != TSR_OK) tsr_error_prefix(err, "%s: ", u->name);
    return st == TSR_OK ? tick(r, err) : st;
}

/* Upsample3D (spec §3.5) over the frame: tiled upscale + depth-to-space, then the tiled causal conv. */
static tsr_status tiled_upsample(trun *r, int i, htens *x, tsr_error *err)
{
    vae_half *h = &r->v->dec;
    int rt = h->rt[i], drop = r->first_chunk && rt == 2 && x->t > 0;
    int e, nx, n = grid(r, x->h, x->w, &e, &nx);
    htens u = {0}, y = {0};
    tsr_status st = htens_alloc(r->v, &u, h->upscale[i].d.cout / (4 * rt), x->t * rt - drop, 2 * x->h, 2 * x->w, 1, err);
    for (int k = 0; k < n && st == TSR_OK; k++) {
        trect core, g;
        tile_at(k, e, nx, x->h, x->w, 0, &core, &g);
        st = upscale_tile(r, i, x, &u, core, err);
    }
    htens_free(r->v, x);
    if (st == TSR_OK) st = tiled_conv(r, &h->resample[i], &u, NULL, 0, NULL, 1, &y, err);
    htens_free(r->v, &u);
    *x = y;
    return st;
}

/* y = conv2(silu(norm2(conv1(silu(norm1(x)))))) + shortcut(x), every conv tiled (spec §3.3). */
static tsr_status tiled_resnet(trun *r, vae_resnet *rn, htens *x, tsr_error *err)
{
    htens h = {0}, s = {0}, y = {0};
    tsr_status st = tiled_conv(r, &rn->conv1, x, rn->norm1, 1, NULL, 1, &h, err);
    const htens *res = x;
    if (st == TSR_OK && rn->shortcut.w) {
        st = tiled_conv(r, &rn->shortcut, x, NULL, 0, NULL, 0, &s, err);
        htens_free(r->v, x); /* the shortcut replaces it as the residual */
        res = &s;
    }
    if (st == TSR_OK) st = tiled_conv(r, &rn->conv2, &h, rn->norm2, 1, res, 1, &y, err);
    htens_free(r->v, &h);
    htens_free(r->v, &s);
    htens_free(r->v, x);
    *x = y;
    return st;
}

/* Tile steps the rest of the decoder takes from a frame of h x w at up block `from` (for progress). */
static int count_steps(const trun *r, int from, int h, int w)
{
    const tsr_vae *v = r->v;
    int nb = v->cfg.num_blocks, e, nx, steps = 0;
    for (int i = from; i < nb; i++) {
        for (int j = 0; j < v->dec.layers; j++)
            steps += grid(r, h, w, &e, &nx) * (2 + (v->dec.resnets[i * v->dec.layers + j].shortcut.w != NULL));
        if (i == nb - 1) break;
        steps += grid(r, h, w, &e, &nx);
        h *= 2, w *= 2;
        steps += grid(r, h, w, &e, &nx);
    }
    return steps + grid(r, h, w, &e, &nx);
}

tsr_status tsr_vae_decode_tiled(tsr_vae *v, tsr_tiled_out *x, int first_chunk, const tsr_tiling *t,
                                tsr_tiled_out *out, tsr_error *err)
{
    vae_half *h = &v->dec;
    int nb = v->cfg.num_blocks, from = t->from;
    trun r = {.v = v, .tile = t->tile, .out_h = t->out_h, .first_chunk = first_chunk, .host_state = t->host_state,
              .tick = t->tick, .tick_user = t->tick_user, .host_out = &h->conv_out};
    r.steps = count_steps(&r, from, x->h, x->w);
    memset(out, 0, sizeof *out);
    tsr_status st = have_stats_ops(v, err);
    for (int i = from; i < nb && st == TSR_OK; i++) {
        for (int j = 0; j < h->layers && st == TSR_OK; j++) st = tiled_resnet(&r, &h->resnets[i * h->layers + j], x, err);
        if (st == TSR_OK && i < nb - 1) st = tiled_upsample(&r, i, x, err);
    }
    if (st == TSR_OK) st = tiled_conv(&r, &h->conv_out, x, h->norm_out, 1, NULL, 0, out, err);
    htens_free(v, x);
    free(r.in);
    free(r.out);
    free(r.rs);
    return st;
}

tsr_status tsr_vae_encode_tiled(tsr_vae *v, tsr_tiled_out *x, int first_chunk, int tile, tsr_tiled_out *out,
                                tsr_error *err)
{
    vae_half *h = &v->enc;
    int nb = v->cfg.num_blocks;
    trun r = {.v = v, .tile = tile, .out_h = x->h, .first_chunk = first_chunk};
    v->tile_resident_cap = 0; /* the caller reads the result from host memory */
    htens y = {0};
    tsr_status st = have_stats_ops(v, err);
    if (st == TSR_OK) st = tiled_conv(&r, &h->conv_in, x, NULL, 0, NULL, 1, &y, err);
    htens_free(v, x);
    *x = y;
    for (int i = 0; i < nb && st == TSR_OK; i++) {
        for (int j = 0; j < h->layers && st == TSR_OK; j++) st = tiled_resnet(&r, &h->resnets[i * h->layers + j], x, err);
        if (st != TSR_OK || i == nb - 1) continue;
        st = tiled_down(&r, &h->resample[i], x, &y, err);
        htens_free(v, x);
        *x = y;
    }
    *out = *x;
    memset(x, 0, sizeof *x);
    if (st != TSR_OK) htens_free(v, out);
    free(r.in);
    free(r.out);
    free(r.rs);
    return st;
}

tsr_status tsr_vae_tiled_input(tsr_vae *v, tsr_act *x, uint64_t resident, tsr_tiled_out *out, tsr_error *err)
{
    tsr_backend *be = v->be;
    memset(out, 0, sizeof *out);
    v->tile_resident_cap = resident;
    v->tile_resident_used = 0;
    tsr_status st = have_stats_ops(v, err);
    uint64_t need = dev_bytes(v, x->c, x->t, x->h, x->w);
    if (st == TSR_OK && be->ops->act_copy_region && need <= resident) { /* stays on the device */
        *out = (tsr_tiled_out){NULL, x->c, x->t, x->h, x->w, NULL, *x};
        memset(x, 0, sizeof *x);
        v->tile_resident_used = need;
        v->tile_resident_peak = TSR_MAX(v->tile_resident_peak, need);
    } else if (st == TSR_OK) {
        st = htens_alloc(v, out, x->c, x->t, x->h, x->w, 0, err);
    }
    if (st == TSR_OK) st = be->ops->gn_stats_create(be, out->t, out->c, v->cfg.norm_groups, &out->gs, err);
    if (st == TSR_OK) st = be->ops->gn_stats_accum(be, out->dev.buf ? &out->dev : x, 0, 0, 0, out->h, out->w, out->gs, err);
    if (st == TSR_OK && out->d) st = be->ops->act_download(be, x, out->d, err);
    be->ops->act_free(be, x);
    if (st != TSR_OK) htens_free(v, out);
    return st;
}

void tsr_vae_tiled_free(tsr_vae *v, tsr_tiled_out *t) { htens_free(v, t); }
