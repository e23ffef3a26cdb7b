/* The planner: candidate plans from exact to approximate, each with a predicted device-memory peak
 * (memmodel.h), and the choice of the least approximate one that fits (darktable's tiling.c is the model:
 * a declared per-pixel footprint, halo and alignment turned into a tile size that fits the budget). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "plan/planner_internal.h"

#define MIB (1024ull * 1024ull)
#define GIB (1024ull * MIB)
#define TILE_ALIGN 8
#define BLEND_PX 16

typedef struct ctx {
    const tsr_plan_request *r;
    tsr_vae_config cfg;
    tsr_mm mm;
    int h, w, chunk_max;
    int act_bytes;
    int fp8;
    uint64_t weights, workspace;
    int order[TSR_MM_MAX_CAUSAL];     /* causal convs, largest state first */
} ctx;

void tsr_plan_request_default(tsr_plan_request *r)
{
    memset(r, 0, sizeof *r);
    r->precision = TSR_PRECISION_AUTO;
    r->tiling = TSR_TILING_AUTO;
}

uint64_t tsr_plan_default_budget(uint64_t free_bytes, uint64_t total_bytes)
{
    uint64_t margin = TSR_MAX(512 * MIB, total_bytes / 32); /* driver, cuDNN handles, fragmentation */
    return free_bytes > margin ? free_bytes - margin : 0;
}

const char *tsr_plan_kind_name(tsr_plan_kind k)
{
    static const char *const names[] = {"exact", "exact-offload", "fp8-state", "tiled", "impossible"};
    return (unsigned)k < TSR_ARRAY_LEN(names) ? names[k] : "unknown";
}

static void sort_states(ctx *c)
{
    for (int i = 0; i < c->mm.ncausal; i++) c->order[i] = i;
    /* insertion sort: stable and re-entrant (qsort has no user pointer in C11) */
    for (int i = 1; i < c->mm.ncausal; i++) {
        int v = c->order[i], j = i;
        uint64_t sv = tsr_mm_state_elems(&c->mm, v, 1, 1);
        while (j > 0 && tsr_mm_state_elems(&c->mm, c->order[j - 1], 1, 1) < sv) {
            c->order[j] = c->order[j - 1];
            j--;
        }
        c->order[j] = v;
    }
}

static tsr_status init_ctx(const tsr_plan_request *r, ctx *c, tsr_error *err)
{
    memset(c, 0, sizeof *c);
    c->r = r;
    if (r->cfg) c->cfg = *r->cfg;
    else tsr_vae_config_seedvr2(&c->cfg);
    if (r->latent_t < 1 || r->latent_h < 1 || r->latent_w < 1 || r->latent_h > 65536 || r->latent_w > 65536)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: latent shape %dx%dx%d is not usable", r->latent_t,
                        r->latent_h, r->latent_w);
    if (!tsr_mm_decoder(&c->cfg, &c->mm))
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: the VAE configuration has no usable decoder");
    c->h = r->latent_h;
    c->w = r->latent_w;
    c->chunk_max = r->chunk > 0 ? TSR_MIN(r->chunk, r->latent_t) : TSR_MIN(4, r->latent_t);
    c->act_bytes = r->precision == TSR_PRECISION_FP32 ? 4 : 2;
    c->fp8 = r->precision == TSR_PRECISION_FP8_FAST || r->precision == TSR_PRECISION_FP8_QUALITY;
    uint64_t wconv = r->precision == TSR_PRECISION_FP32 ? 4 : c->fp8 ? 1 : 2;
    c->weights = (uint64_t)c->mm.conv_params * wconv + (uint64_t)c->mm.other_params * (uint64_t)c->act_bytes;
    uint64_t n = (uint64_t)c->h * (uint64_t)c->w; /* attention tokens per frame; scores in query chunks */
    c->workspace = 64 * MIB + TSR_MIN(n, 1024) * n * 4;
    sort_states(c);
    return TSR_OK;
}

static void base_plan(const ctx *c, tsr_plan_kind kind, int chunk, tsr_plan *p)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->chunk = chunk;
    p->act_bytes = c->act_bytes;
    p->state_bytes = c->act_bytes;
    p->weights = c->weights;
    p->workspace = c->workspace;
    p->budget = c->r->budget;
}

/* Streaming plans: state of the `offload` largest convs in host memory, two device buffers of the largest
 * of them for prefetching the next layer's state while one is in use. */
static void predict_streaming(const ctx *c, tsr_plan_kind kind, int chunk, int offload, tsr_plan *p)
{
    base_plan(c, kind, chunk, p);
    if (kind == TSR_PLAN_FP8_STATE) p->state_bytes = 1;
    p->approximate = kind == TSR_PLAN_FP8_STATE;
    p->offloaded = offload;
    uint64_t total = tsr_mm_state_total(&c->mm, c->h, c->w), host = 0, biggest = 0;
    for (int i = 0; i < offload; i++) {
        uint64_t e = tsr_mm_state_elems(&c->mm, c->order[i], c->h, c->w);
        host += e;
        biggest = TSR_MAX(biggest, e);
    }
    p->state_host = host * (uint64_t)p->state_bytes;
    p->state_device = (total - host + 2 * biggest) * (uint64_t)p->state_bytes;
    p->activations = tsr_mm_act_chunk(&c->mm, 0, c->mm.nstages, c->r->latent_t, chunk, !c->r->fused_norm) * (uint64_t)c->h *
                     (uint64_t)c->w * (uint64_t)c->act_bytes;
    p->peak = p->weights + p->state_device + p->activations + p->workspace;
}

static int round_up(int v, int a) { return (v + a - 1) / a * a; }

/* Tile extent (with halo, clipped to the frame) at a stage's scale, in that stage's pixels. */
static uint64_t tile_px(const ctx *c, const tsr_plan *p, int scale)
{
    int S = c->mm.out_scale, H = c->h * S, W = c->w * S;
    uint64_t th = (uint64_t)TSR_MIN(p->tile_h + 2 * p->halo, H), tw = (uint64_t)TSR_MIN(p->tile_w + 2 * p->halo, W);
    return th * (uint64_t)scale / (uint64_t)S * (tw * (uint64_t)scale / (uint64_t)S);
}

typedef struct tiled_state {
    uint64_t untiled, untiled_max, tiled_host, tiled_max;
} tiled_state;

static tiled_state tiled_states(const ctx *c, const tsr_plan *p)
{
    tiled_state t = {0, 0, 0, 0};
    uint64_t tiles = (uint64_t)p->tiles_y * (uint64_t)p->tiles_x;
    for (int i = 0; i < c->mm.ncausal; i++) {
        const tsr_mm_causal *cc = &c->mm.causal[i];
        if (cc->scale < p->tiled_scale) {
            uint64_t e = tsr_mm_state_elems(&c->mm, i, c->h, c->w);
            t.untiled += e;
            t.untiled_max = TSR_MAX(t.untiled_max, e);
        } else {
            uint64_t e = 2ull * (uint64_t)cc->cin * tile_px(c, p, cc->scale);
            t.tiled_host += e * tiles;
            t.tiled_max = TSR_MAX(t.tiled_max, e);
        }
    }
    return t;
}

static void tile_geometry(const ctx *c, int tile, tsr_plan *p)
{
    int S = c->mm.out_scale, H = c->h * S, W = c->w * S;
    p->tiles_y = (H + tile - 1) / tile;
    p->tiles_x = (W + tile - 1) / tile;
    p->tile_h = round_up((H + p->tiles_y - 1) / p->tiles_y, TILE_ALIGN);
    p->tile_w = round_up((W + p->tiles_x - 1) / p->tiles_x, TILE_ALIGN);
    p->tiles_y = (H + p->tile_h - 1) / p->tile_h; /* rounding up the core may leave fewer tiles */
    p->tiles_x = (W + p->tile_w - 1) / p->tile_w;
}

static uint64_t tile_activations(const ctx *c, const tsr_plan *p, int from)
{
    uint64_t tile_act = 0, ab = (uint64_t)p->act_bytes;
    for (int i = from; i < c->mm.nstages; i++) {
        const tsr_mm_stage *s = &c->mm.stages[i];
        uint64_t frames = (uint64_t)tsr_mm_stage_frames(s, c->r->latent_t, p->chunk);
        tile_act = TSR_MAX(tile_act, (uint64_t)tsr_mm_elems(s, !c->r->fused_norm) * frames * tile_px(c, p, s->scale) * ab);
    }
    return tile_act;
}

/* Output of the last untiled stage (the tiles' input) per latent pixel of one chunk, elements. */
static uint64_t boundary_per_lpx(const ctx *c, int from, int chunk)
{
    const tsr_mm_stage *b = &c->mm.stages[from - 1];
    return (uint64_t)b->out_elems * (uint64_t)(b->scale * b->scale) *
           (uint64_t)tsr_mm_stage_frames(b, c->r->latent_t, chunk);
}

enum tiled_mode { FRAME_MAJOR_DEVICE_STATE, FRAME_MAJOR_HOST_STATE, TILE_MAJOR };

/* Frame-major: per chunk, the untiled stages run over the frame, then every tile; each tile's state stays
 * in host memory between chunks (prefetched layer by layer). Tile-major: the untiled stages run over the
 * whole clip first (output kept in host memory), then each tile runs through the whole clip holding only
 * its own state in device memory. */
static void predict_tiled_memory(const ctx *c, int from, enum tiled_mode mode, tsr_plan *p)
{
    tiled_state ts = tiled_states(c, p);
    uint64_t tiles = (uint64_t)p->tiles_y * (uint64_t)p->tiles_x;
    uint64_t sb = (uint64_t)p->state_bytes, ab = (uint64_t)p->act_bytes, px = (uint64_t)c->h * (uint64_t)c->w;
    uint64_t untiled = tsr_mm_act_chunk(&c->mm, 0, from, c->r->latent_t, p->chunk, !c->r->fused_norm) * px * ab;
    uint64_t boundary = boundary_per_lpx(c, from, p->chunk) * px * ab;
    uint64_t tile_act = tile_activations(c, p, from);
    if (mode == TILE_MAJOR) {
        p->tile_major = 1;
        uint64_t one_tile_state = tiles ? ts.tiled_host / tiles : 0;
        uint64_t slice = boundary * tile_px(c, p, c->mm.stages[from].scale) /
                         (px * (uint64_t)(c->mm.stages[from].scale * c->mm.stages[from].scale));
        uint64_t phase1 = ts.untiled * sb + untiled, phase2 = one_tile_state * sb + slice + tile_act;
        p->state_device = phase1 > phase2 ? ts.untiled * sb : one_tile_state * sb;
        p->activations = phase1 > phase2 ? untiled : slice + tile_act;
        /* the tiles' input for the whole clip, and the output frames (fp32 RGB) that tiles blend into */
        uint64_t S = (uint64_t)c->mm.out_scale, frames = (uint64_t)(c->mm.out_tfac * (c->r->latent_t - 1) + 1);
        p->host_boundary = boundary_per_lpx(c, from, c->r->latent_t) * px * ab +
                           frames * 3 * px * S * S * 4;
        return;
    }
    int host = mode == FRAME_MAJOR_HOST_STATE;
    p->offloaded = host ? c->mm.ncausal : 0;
    p->state_device = ((host ? 2 * ts.untiled_max : ts.untiled) + 2 * ts.tiled_max) * sb;
    p->state_host = ((host ? ts.untiled : 0) + ts.tiled_host) * sb;
    p->activations = TSR_MAX(untiled, boundary + tile_act);
}

/* Tiled: stages below scale 2 (conv_in, mid block, up_blocks.0 resnets and upscale) untiled per frame, the
 * rest tile by tile from the untiled part's output. */
static int predict_tiled(const ctx *c, int tile, enum tiled_mode mode, tsr_plan *p)
{
    int from = tsr_mm_first_at_scale(&c->mm, 2);
    if (from <= 0 || from >= c->mm.nstages) return 0;
    base_plan(c, TSR_PLAN_TILED, c->r->chunk > 0 ? c->chunk_max : 1, p);
    p->approximate = 1;
    p->two_pass_norm = 1;
    p->tiled_scale = 2;
    p->tile_align = TILE_ALIGN;
    p->halo = round_up(tsr_mm_halo_out(&c->mm, from), TILE_ALIGN);
    p->blend = TSR_MIN(BLEND_PX, p->halo);
    tile_geometry(c, tile, p);
    if (p->tiles_y * p->tiles_x < 2) return 0;
    predict_tiled_memory(c, from, mode, p);
    p->peak = p->weights + p->state_device + p->activations + p->workspace;
    return 1;
}

static void push(tsr_ladder *l, const tsr_plan *p)
{
    if (l->n < TSR_LADDER_MAX) l->rungs[l->n++] = *p;
}

static int tiled_before(const tsr_plan *a, const tsr_plan *b)
{
    int ta = a->tiles_y * a->tiles_x, tb = b->tiles_y * b->tiles_x;
    return ta != tb ? ta < tb : a->peak > b->peak;
}

static void push_tiled(const ctx *c, tsr_ladder *l)
{
    static const int sizes[] = {2048, 1536, 1024, 768, 640, 512, 384, 320, 256, 192, 128};
    int first = l->n;
    tsr_plan p;
    for (int mode = FRAME_MAJOR_DEVICE_STATE; mode <= TILE_MAJOR; mode++)
        for (size_t i = 0; i < TSR_ARRAY_LEN(sizes); i++)
            if (predict_tiled(c, sizes[i], (enum tiled_mode)mode, &p)) push(l, &p);
    /* equally approximate: fewest tiles (least halo recomputed) first, then the largest peak (the fewest host
     * transfers); prune() then drops every candidate that is not smaller than a preferred one */
    for (int i = first + 1; i < l->n; i++) {
        tsr_plan v = l->rungs[i];
        int j = i;
        while (j > first && tiled_before(&v, &l->rungs[j - 1])) {
            l->rungs[j] = l->rungs[j - 1];
            j--;
        }
        l->rungs[j] = v;
    }
}

static void push_streaming(const ctx *c, tsr_ladder *l, tsr_plan_kind kind)
{
    tsr_plan p;
    int chunk = c->r->chunk > 0 ? c->chunk_max : 1;
    int kmax = TSR_MIN(c->mm.ncausal, TSR_PLAN_MAX_OFFLOAD);
    if (kind == TSR_PLAN_EXACT) {
        for (int ch = c->chunk_max; ch >= 1 && (c->r->chunk <= 0 || ch == c->chunk_max); ch--) {
            predict_streaming(c, kind, ch, 0, &p);
            push(l, &p);
        }
        return;
    }
    for (int k = kind == TSR_PLAN_FP8_STATE ? 0 : 1; k <= kmax; k++) {
        predict_streaming(c, kind, chunk, k, &p);
        push(l, &p);
    }
}

static void prune(tsr_ladder *l, uint64_t host_budget)
{
    int kept = 0;
    for (int i = 0; i < l->n; i++) {
        if (host_budget && l->rungs[i].state_host + l->rungs[i].host_boundary > host_budget) continue;
        if (kept > 0 && l->rungs[i].peak >= l->rungs[kept - 1].peak) continue;
        l->rungs[kept] = l->rungs[i];
        l->rungs[kept].rung = kept;
        kept++;
    }
    l->n = kept;
}

tsr_status tsr_plan_ladder(const tsr_plan_request *r, tsr_ladder *l, tsr_error *err)
{
    ctx *c = tsr_calloc(1, sizeof *c, err);
    if (!c) return TSR_ERR_NOMEM;
    tsr_status st = init_ctx(r, c, err);
    l->n = 0;
    if (st == TSR_OK) {
        if (r->tiling != TSR_TILING_ALWAYS) {
            push_streaming(c, l, TSR_PLAN_EXACT);
            push_streaming(c, l, TSR_PLAN_EXACT_OFFLOAD);
            if (c->fp8 && r->tiling != TSR_TILING_EXACT_ONLY) push_streaming(c, l, TSR_PLAN_FP8_STATE);
        }
        if (r->tiling != TSR_TILING_EXACT_ONLY) push_tiled(c, l);
        prune(l, r->host_budget);
    }
    free(c);
    return st;
}

static void impossible(const tsr_ladder *l, uint64_t budget, tsr_plan *out)
{
    memset(out, 0, sizeof *out);
    out->kind = TSR_PLAN_IMPOSSIBLE;
    out->budget = budget;
    out->min_needed = l->n ? l->rungs[l->n - 1].peak : 0;
    out->rung = l->n;
}

static tsr_status pick(const tsr_plan_request *r, int after, uint64_t limit, tsr_plan *out, tsr_error *err)
{
    if (!r || r->budget == 0) return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: no memory budget given");
    tsr_ladder *l = tsr_calloc(1, sizeof *l, err);
    if (!l) return TSR_ERR_NOMEM;
    tsr_status st = tsr_plan_ladder(r, l, err);
    if (st == TSR_OK) {
        impossible(l, r->budget, out);
        for (int i = after + 1; i < l->n; i++)
            if (l->rungs[i].peak <= r->budget && l->rungs[i].peak <= limit) {
                *out = l->rungs[i];
                break;
            }
    }
    free(l);
    return st;
}

tsr_status tsr_plan_make(const tsr_plan_request *r, tsr_plan *out, tsr_error *err)
{
    return pick(r, -1, UINT64_MAX, out, err);
}

tsr_status tsr_plan_next_smaller(const tsr_plan_request *r, const tsr_plan *cur, tsr_plan *out, tsr_error *err)
{
    if (cur->kind == TSR_PLAN_IMPOSSIBLE) return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: nothing smaller");
    return pick(r, cur->rung, cur->peak / 10 * 9, out, err);
}
