/* The planner: candidate plans from exact to approximate, each with a predicted device-memory peak
 * (memmodel.h), and the choice of the least approximate one that fits (darktable's tiling.c is the model:
 * a declared per-pixel footprint, halo and alignment turned into a tile size that fits the budget). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "core/common.h"
#include "plan/planner_internal.h"

#define MIB (1024ull * 1024ull)
#define GIB (1024ull * MIB)
#define MACS_PER_BYTE 8000.0 /* tsr_plan.work_pct: a host<->device byte costs as much time as this many MACs */

typedef struct ctx {
    const tsr_plan_request *r;
    tsr_vae_config cfg;
    tsr_mm mm;
    int h, w, chunk_max;
    int act_bytes;
    int fp8;
    uint64_t weights, workspace;
    int order[TSR_MM_MAX_CAUSAL];     /* causal convs, largest state first */
    double untiled;                   /* multiply-adds of the untiled decode per (steady-state) latent frame */
} ctx;

/* Multiply-adds of stage i per latent frame (its frames per latent frame, steady state). */
static double stage_work(const ctx *c, int i)
{
    return tsr_mm_stage_macs(&c->mm, i, c->h, c->w) * (double)c->mm.stages[i].tfac;
}

/* tsr_plan.work_pct from the plan's multiply-adds and host<->device bytes per latent frame. */
static void set_work(const ctx *c, tsr_plan *p, double macs, double bytes)
{
    double pct = 100.0 * (macs + bytes * MACS_PER_BYTE) / (c->untiled > 0 ? c->untiled : 1.0);
    p->work_pct = pct >= 2e9 ? 2000000000 : (int)(pct + 0.5);
}

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

uint64_t tsr_plan_default_host_budget(void)
{
    return tsr_physical_memory() / 2; /* the rest for the OS, the media pipeline and the pinned staging */
}

const char *tsr_plan_kind_name(tsr_plan_kind k)
{
    static const char *const names[] = {"exact", "exact-offload", "fp8-state", "tiled", "deep-tiles", "impossible"};
    return (unsigned)k < TSR_ARRAY_LEN(names) ? names[k] : "unknown";
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
    if (r->frame_group < 0) return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: frame group %d", r->frame_group);
    if (r->deep_passes < 0 || r->deep_passes > TSR_DEEP_MAX_PASSES)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: %d deep-tile passes (1 .. %d, 0 = %d)", r->deep_passes,
                        TSR_DEEP_MAX_PASSES, TSR_DEEP_PASSES_DEFAULT);
    if (!tsr_mm_decoder(&c->cfg, &c->mm))
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: the VAE configuration has no usable decoder");
    c->h = r->latent_h;
    c->w = r->latent_w;
    c->chunk_max = r->chunk > 0 ? TSR_MIN(r->chunk, r->latent_t) : TSR_MIN(4, r->latent_t);
    c->act_bytes = r->precision == TSR_PRECISION_FP32 ? 4 : 2;
    c->fp8 = r->precision == TSR_PRECISION_FP8_FAST || r->precision == TSR_PRECISION_FP8_QUALITY;
    /* The CUDA backend uploads every conv in bf16, FP8 policies too: their FP8 convs get e4m3 copies (+ per-channel
     * scales) beside them, and the bf16 convs keep their bf16 frame-0 sums. Both are counted for every conv: a
     * bound (a policy converts only some convs). */
    uint64_t wconv = r->precision == TSR_PRECISION_FP32 ? 4 : 2;
    c->weights = (uint64_t)c->mm.conv_params * wconv + (uint64_t)c->mm.other_params * (uint64_t)c->act_bytes;
    if (c->fp8) c->weights += (uint64_t)c->mm.conv_params;
    if (!r->emulated_cap) /* CUDA: bf16 frame-0 sums, the composed upsamplers */
        c->weights += (uint64_t)(c->mm.frame0_params + c->mm.composed_params) * 2;
    uint64_t n = (uint64_t)c->h * (uint64_t)c->w; /* attention tokens per frame; scores in query chunks */
    c->workspace = TSR_BACKEND_CONV_WORKSPACE_MAX + TSR_MIN(n, 1024) * n * 4;
    tsr_mm_state_order(&c->mm, c->order);
    for (int i = 0; i < c->mm.nstages; i++) c->untiled += stage_work(c, i);
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

/* The predicted device peak: the CPU backend's emulated cap holds activations and device-side states only. */
static uint64_t plan_peak(const ctx *c, const tsr_plan *p)
{
    return c->r->emulated_cap ? p->state_device + p->activations
                              : p->weights + p->state_device + p->activations + p->workspace;
}

/* The `count` largest causal states of stages below `below` (the planner's and the executor's order) in host
 * memory (backend.h state_create_host): their elements, and those of the two device staging buffers (the next
 * offloaded conv's state is copied into one while the current conv uses the other): the host states alternate
 * between them in execution order (the memory model's causal order), each buffer the size of the largest state
 * using it. Returns how many were offloaded. */
static int host_states(const ctx *c, int count, int below, uint64_t *host, uint64_t *staging)
{
    int off[TSR_MM_MAX_CAUSAL] = {0}, n = 0, k = 0;
    for (int i = 0; i < c->mm.ncausal && k < count; i++)
        if (c->mm.causal[c->order[i]].stage < below) off[c->order[i]] = 1, k++;
    uint64_t slot[2] = {0, 0};
    *host = 0;
    for (int i = 0; i < c->mm.ncausal; i++) {
        if (!off[i]) continue;
        uint64_t e = tsr_mm_state_elems(&c->mm, i, c->h, c->w);
        *host += e;
        slot[n & 1] = TSR_MAX(slot[n & 1], e);
        n++;
    }
    *staging = slot[0] + slot[1];
    return k;
}

/* Streaming plans: the causal states of the `offload` largest convs in host memory (host_states). Work: the
 * untiled decode's, plus each host state copied to the device and back once per chunk. */
static void predict_streaming(const ctx *c, tsr_plan_kind kind, int chunk, int group, int offload, tsr_plan *p)
{
    base_plan(c, kind, chunk, p);
    p->frame_group = group > 0 && group < tsr_mm_tail_frames(&c->mm, c->r->latent_t, chunk) ? group : 0;
    if (kind == TSR_PLAN_FP8_STATE) p->state_bytes = 1;
    p->approximate = kind == TSR_PLAN_FP8_STATE;
    p->offloaded = offload;
    uint64_t total = tsr_mm_state_total(&c->mm, c->h, c->w), host = 0, staging = 0;
    host_states(c, offload, c->mm.nstages, &host, &staging);
    p->state_host = host * (uint64_t)p->state_bytes;
    p->state_staging = staging * (uint64_t)p->state_bytes;
    p->state_device = (total - host) * (uint64_t)p->state_bytes + p->state_staging;
    p->activations = tsr_mm_act_grouped(&c->mm, c->r->latent_t, chunk, p->frame_group, !c->r->fused_norm) *
                     (uint64_t)c->h * (uint64_t)c->w * (uint64_t)c->act_bytes;
    p->peak = plan_peak(c, p);
    set_work(c, p, c->untiled, 2.0 * (double)p->state_host / (double)chunk);
}

/* ------------------------------------------------------------------ tiled plans (vae/vae_tiled.c)
 *
 * The executor: conv_in, the mid block and up_blocks.0 (with its upsampler) run whole per chunk (the
 * "head"); every later layer runs over the frame in square tiles of `tile` output pixels (scaled to the
 * layer), each tile = core + 1 px halo, normalised on the device with whole-frame GroupNorm statistics.
 * Whole-frame tensors of the tiled layers live in host memory (fp32). Causal states of the tiled layers:
 * one device state per tile (`offloaded` = 0), or the last 2 normalised input frames of each tile in host
 * memory, re-run every later chunk (`offloaded` = number of tiled causal convs). Exact either way. */

/* First stage of the tiled part: the one after up_blocks.0's upsampler conv (tile_from = 1). */
static int tiled_from(const ctx *c)
{
    int up = tsr_mm_first_at_scale(&c->mm, 2);
    return up > 0 && up + 1 < c->mm.nstages ? up + 1 : -1;
}

/* A layer of h rows in tiles of `tile` output rows: vae_tiled.c's grid() (edge e = tile*h/H, >= 1). */
static int layer_edge(const ctx *c, int tile, int scale)
{
    int64_t e = (int64_t)tile * scale / c->mm.out_scale;
    int lim = TSR_MAX(c->h, c->w) * scale;
    return e < 1 ? 1 : (int)TSR_MIN(e, (int64_t)lim);
}

/* Pixels of the largest tile region (core + 1 px halo each side, clipped) at `scale`, and the sum of all
 * tiles' regions (every interior seam adds 2 px per axis). Tiles are balanced: ceil(H/e) rows of H/rows. */
static uint64_t region_px(const ctx *c, int tile, int scale, int halo, uint64_t *sum)
{
    int H = c->h * scale, W = c->w * scale, e = layer_edge(c, tile, scale);
    int ny = (H + e - 1) / e, nx = (W + e - 1) / e, eh = (H + ny - 1) / ny, ew = (W + nx - 1) / nx; /* balanced */
    if (sum) *sum = (uint64_t)(H + 2 * halo * (ny - 1)) * (uint64_t)(W + 2 * halo * (nx - 1));
    return (uint64_t)TSR_MIN(eh + 2 * halo, H) * (uint64_t)TSR_MIN(ew + 2 * halo, W);
}

/* Device elements per region pixel of one tiled stage: its largest conv's input tile (+ the history frames
 * and the conv's fresh 2-frame backend state in host-state mode), residual tile, output tile, and (backends
 * that do not fuse the norm, i.e. CUDA) the conv's materialised [causal prefix | input] copy. */
static uint64_t tile_stage_elems(const ctx *c, const tsr_mm_stage *s, int frames, int host)
{
    uint64_t t = (uint64_t)frames, t2 = t + (host ? 2 : 0), ext = c->r->fused_norm ? 0 : 1, fresh = host ? 2 : 0;
    uint64_t ci = (uint64_t)s->cin, co = (uint64_t)s->cout;
    if (s->upscale) /* in + 1x1 conv out + depth-to-space out (no halo, no state) */
        return ci * t + 2 * co * t;
    uint64_t conv1 = ci * t2 + co * t2 + ext * ci * (t2 + 2) + fresh * ci;
    if (s->halo < 2) return conv1; /* a single conv (upsampler conv, conv_out) */
    uint64_t conv2 = co * t2 * 3 + ext * co * (t2 + 2) + fresh * co; /* resnet conv2: input, residual, output */
    return TSR_MAX(conv1, conv2);
}

static void predict_tiled_memory(const ctx *c, int from, int tile, int host, int resident, tsr_plan *p)
{
    uint64_t ab = (uint64_t)p->act_bytes, sb = (uint64_t)p->state_bytes, px = (uint64_t)c->h * (uint64_t)c->w;
    uint64_t head = tsr_mm_act_chunk(&c->mm, 0, from, c->r->latent_t, p->chunk, !c->r->fused_norm) * px * ab;
    uint64_t tile_act = 0, host_frames = 0, dev_frames = 0, out_frames = 0;
    /* work: the head, each tiled stage over its tiles' regions (host states: + 2 history frames per chunk),
     * and without resident tensors each stage's whole-frame tensors down to the host and back (fp32) */
    double macs = 0, bytes = 0;
    for (int i = 0; i < from; i++) macs += stage_work(c, i);
    for (int i = from; i < c->mm.nstages; i++) {
        const tsr_mm_stage *s = &c->mm.stages[i];
        int frames = tsr_mm_stage_frames(s, c->r->latent_t, p->chunk);
        uint64_t sum = 0;
        uint64_t reg = s->upscale ? region_px(c, tile, s->scale, 0, &sum) : region_px(c, tile, s->scale, 1, &sum);
        double whole_px = (double)(s->scale * s->scale) * (double)px, steady = (double)s->tfac * p->chunk;
        macs += stage_work(c, i) * (double)sum / whole_px * (host && s->halo > 0 ? (steady + 2) / steady : 1.0);
        uint64_t act = tile_stage_elems(c, s, frames, host) * reg * ab;
        /* host: the layer's whole-frame fp32 tensors (an upscale's output counted at its input scale) */
        uint64_t whole = (uint64_t)(s->scale * s->scale) * px * (uint64_t)frames * 4;
        uint64_t ci = (uint64_t)s->cin, co = (uint64_t)s->cout;
        uint64_t t4 = s->halo == 2 ? ci + 2 * co + (ci != co ? co : 0) : ci + co; /* resnet: x, h, shortcut, y */
        host_frames = TSR_MAX(host_frames, t4 * whole);
        dev_frames = TSR_MAX(dev_frames, t4 * whole / 4 * ab);
        /* a layer's tiles work beside that layer's whole-frame tensors (when those stay on the device) */
        tile_act = TSR_MAX(tile_act, act + (resident ? t4 * whole / 4 * ab : 0));
        if (i == c->mm.nstages - 1) out_frames = (uint64_t)s->cout * whole; /* conv_out's result: host */
        if (!resident) bytes += 2.0 * (double)t4 * whole_px * 4.0 * s->tfac;
    }
    uint64_t head_states = 0, tiled_states = 0;
    for (int i = 0; i < c->mm.ncausal; i++) {
        const tsr_mm_causal *cc = &c->mm.causal[i];
        if (cc->stage < from) {
            head_states += tsr_mm_state_elems(&c->mm, i, c->h, c->w);
            continue;
        }
        uint64_t sum = 0;
        region_px(c, tile, cc->scale, 1, &sum);
        tiled_states += 2ull * (uint64_t)cc->cin * sum;
    }
    if (host) bytes += 2.0 * (double)tiled_states * 4.0 / (double)p->chunk; /* history up and down per chunk */
    set_work(c, p, macs, bytes);
    p->offloaded = host ? 1 : 0;
    for (int i = 0; host && i < c->mm.ncausal; i++) p->offloaded += c->mm.causal[i].stage >= from;
    p->offloaded -= host ? 1 : 0;
    p->state_device = (head_states + (host ? 0 : tiled_states)) * sb;
    p->state_host = host ? tiled_states * 4 : 0; /* fp32 history frames */
    p->resident = resident ? dev_frames : 0;
    p->host_boundary = resident ? out_frames : host_frames;
    p->activations = TSR_MAX(head, tile_act);
}

static int predict_tiled(const ctx *c, int tile, int host, int resident, tsr_plan *p)
{
    int from = tiled_from(c);
    if (from < 0) return 0;
    base_plan(c, TSR_PLAN_TILED, c->r->chunk > 0 ? c->chunk_max : 1, p);
    p->approximate = 0;   /* exact: halos + whole-frame GroupNorm statistics */
    p->two_pass_norm = 1;
    p->tiled_scale = 2;
    p->tile_align = 1;
    p->halo = 1;          /* per layer */
    p->blend = 0;
    int S = c->mm.out_scale, H = c->h * S, W = c->w * S;
    p->tile_h = p->tile_w = tile;
    p->tiles_y = (H + tile - 1) / tile;
    p->tiles_x = (W + tile - 1) / tile;
    if (p->tiles_y * p->tiles_x < 2) return 0;
    predict_tiled_memory(c, from, tile, host, resident, p);
    p->peak = plan_peak(c, p);
    return 1;
}

static void push(tsr_ladder *l, const tsr_plan *p);

/* ------------------------------------------------------------------ deep tiles (vae/vae_deep.c)
 *
 * Tile-outer: for each tile of `tile` output pixels (core + a halo >= the tail's receptive field, in head-output
 * pixels) the whole clip streams through: the head on the whole frame (its states on the device, reset per tile),
 * the tile's region cut from its output, the tail on the region with the tile's own states (created when the
 * tile starts, freed when it ends). The region (the same size for every tile: the largest core + halo on every
 * side) sets both the
 * tail's states and its activations. Pass 2 normalises the tail's conv inputs into buffers of their own. Host:
 * the clip's output frames (fp32). */
static void predict_deep_memory(const ctx *c, int from, int halo, int ny, int nx, int passes, int offload, int cache,
                                tsr_plan *p)
{
    const tsr_mm_stage *ho = &c->mm.stages[from - 1];
    int H = c->h * ho->scale, W = c->w * ho->scale;
    tsr_mm_rect core, big; /* every tile's region has the same size */
    tsr_mm_deep_tile(H, W, ny, nx, 0, halo, &core, &big);
    /* every pass applies its statistics by a separate op into a buffer of its own (the tail's normbuf) */
    tsr_mm_deep_opts o = {big.y1 - big.y0, big.x1 - big.x0, !c->r->fused_norm, 1, !c->r->fused_norm};
    uint64_t head_states = 0, host = 0, staging = 0;
    for (int i = 0; i < c->mm.ncausal; i++)
        if (c->mm.causal[i].stage < from) head_states += tsr_mm_state_elems(&c->mm, i, c->h, c->w);
    p->offloaded = host_states(c, offload, from, &host, &staging);
    uint64_t tail_states = tsr_mm_deep_tail_state(&c->mm, from, o.rh, o.rw);
    p->state_host = host * (uint64_t)p->state_bytes;
    p->state_staging = staging * (uint64_t)p->state_bytes;
    p->state_device = (head_states - host + staging + tail_states) * (uint64_t)p->state_bytes;
    p->activations = tsr_mm_deep_act(&c->mm, from, c->r->latent_t, p->chunk, c->h, c->w, &o) * (uint64_t)p->act_bytes;
    const tsr_mm_stage *last = &c->mm.stages[c->mm.nstages - 1];
    int frames = c->mm.out_tfac * (c->r->latent_t - 1) + 1, S = c->mm.out_scale;
    p->host_boundary = (uint64_t)last->out_elems * (uint64_t)frames * (uint64_t)(c->h * S) * (uint64_t)(c->w * S) * 4;
    /* the head cache: every head-output frame of the clip, in the activations' format */
    int hframes = c->mm.stages[from].tfac * (c->r->latent_t - 1) + 1;
    uint64_t region = (uint64_t)ho->out_elems * (uint64_t)hframes * (uint64_t)o.rh * (uint64_t)o.rw * (uint64_t)p->act_bytes;
    p->head_cache = cache ? (uint64_t)ho->out_elems * (uint64_t)hframes * (uint64_t)H * (uint64_t)W * (uint64_t)p->act_bytes : 0;
    p->host_boundary += p->head_cache;
    /* work: per pass and tile the tail on the region; the head on the whole frame once (its output cached: written
     * to host memory once, each tile's region read back per pass) or per pass and tile with its host states copied
     * to the device and back once per chunk */
    double head = 0, tail = 0, n = (double)ny * nx * passes;
    for (int i = 0; i < c->mm.nstages; i++) *(i < from ? &head : &tail) += stage_work(c, i);
    double area = (double)o.rh * o.rw / ((double)H * W);
    if (cache)
        set_work(c, p, head + n * tail * area,
                 2.0 * (double)p->state_host / (double)p->chunk + (double)p->head_cache + n * (double)region);
    else
        set_work(c, p, n * (head + tail * area), n * 2.0 * (double)p->state_host / (double)p->chunk);
}

static int predict_deep(const ctx *c, int tile, int passes, int offload, int cache, tsr_plan *p)
{
    int from = tsr_mm_deep_from(&c->mm);
    if (from < 0) return 0;
    base_plan(c, TSR_PLAN_DEEP_TILES, c->r->chunk > 0 ? c->chunk_max : 1, p);
    int ratio = c->mm.out_scale / c->mm.stages[from - 1].scale, halo = tsr_mm_deep_halo(&c->mm, from);
    int H = c->h * c->mm.stages[from - 1].scale, W = c->w * c->mm.stages[from - 1].scale, ny, nx;
    if (tsr_mm_deep_grid(H, W, tile / ratio, &ny, &nx) < 2) return 0;
    p->approximate = 1; /* pooled (pass 2) or per-tile (pass 1) GroupNorm statistics in the tail */
    p->two_pass_norm = passes >= 2;
    p->deep_passes = passes;
    p->tile_major = 1;
    p->tiled_scale = c->mm.stages[from - 1].scale;
    p->tile_align = ratio;
    p->halo = halo * ratio;
    p->tile_h = p->tile_w = tile / ratio * ratio;
    p->tiles_y = ny, p->tiles_x = nx;
    predict_deep_memory(c, from, halo, ny, nx, passes, offload, cache, p);
    p->peak = plan_peak(c, p);
    return 1;
}

/* After the exact tiles (near-exact, so below every exact rung): the largest tiles first (fewer tiles, less halo
 * work), the request's passes (default 3: pooled GroupNorm statistics, gathered twice); each size with the head's
 * states on the device, then (4K in 8 GiB) all of them in host memory; each of those with the head's output
 * cached in host memory (the head runs once per chunk), then (a host budget too small for it) recomputed per
 * tile and pass. */
static void push_deep(const ctx *c, tsr_ladder *l)
{
    static const int sizes[] = {2048, 1536, 1024, 768, 640, 512, 384, 320, 256, 192, 128, 96, 64, 48, 32};
    int passes = c->r->deep_passes > 0 ? c->r->deep_passes : TSR_DEEP_PASSES_DEFAULT;
    tsr_plan p;
    for (size_t i = 0; i < TSR_ARRAY_LEN(sizes); i++)
        for (int off = 0; off <= (c->r->no_offload ? 0 : 1); off++)
            for (int cache = 1; cache >= 0; cache--)
                if (predict_deep(c, sizes[i], passes, off ? TSR_MM_MAX_CAUSAL : 0, cache, &p)) push(l, &p);
}

static void push(tsr_ladder *l, const tsr_plan *p)
{
    if (l->n < TSR_LADDER_MAX) l->rungs[l->n++] = *p;
}

/* Fastest first: whole-frame tensors on the device (no host transfers) before host ones, device states
 * before host states (no re-run), fewest tiles first (least halo work). */
static void push_tiled(const ctx *c, tsr_ladder *l)
{
    static const int sizes[] = {2048, 1536, 1024, 768, 640, 512, 384, 320, 256, 192, 128, 96, 64, 48, 32, 24, 16};
    tsr_plan p;
    for (int resident = 1; resident >= 0; resident--)
        for (int host = 0; host <= 1; host++)
            for (size_t i = 0; i < TSR_ARRAY_LEN(sizes); i++)
                if (predict_tiled(c, sizes[i], host, resident, &p)) push(l, &p);
}

/* Exact streaming: the largest frame groups first (the whole chunk, then 8, 4, 2, 1 output frames: fewer,
 * larger GEMMs), within one group size the largest chunk first. A frame group of the request fixes it. */
static void push_exact(const ctx *c, tsr_ladder *l)
{
    static const int groups[] = {8, 4, 2, 1};
    int fixed = c->r->frame_group, chunk_lo = c->r->chunk > 0 ? c->chunk_max : 1;
    tsr_plan p;
    for (int ch = c->chunk_max; ch >= chunk_lo; ch--) { /* whole chunks (or the fixed group) */
        predict_streaming(c, TSR_PLAN_EXACT, ch, fixed, 0, &p);
        push(l, &p);
    }
    for (size_t i = 0; fixed <= 0 && i < TSR_ARRAY_LEN(groups); i++)
        for (int ch = c->chunk_max; ch >= chunk_lo; ch--) {
            if (groups[i] >= tsr_mm_tail_frames(&c->mm, c->r->latent_t, ch)) continue; /* = the whole chunk */
            predict_streaming(c, TSR_PLAN_EXACT, ch, groups[i], 0, &p);
            push(l, &p);
        }
}

static void push_streaming(const ctx *c, tsr_ladder *l, tsr_plan_kind kind)
{
    tsr_plan p;
    int chunk = c->r->chunk > 0 ? c->chunk_max : 1;
    int kmax = TSR_MIN(c->mm.ncausal, TSR_PLAN_MAX_OFFLOAD);
    if (kind == TSR_PLAN_EXACT) {
        push_exact(c, l);
        return;
    }
    /* after every exact rung: the smallest frame group (or the request's) */
    int group = c->r->frame_group > 0 ? c->r->frame_group : 1;
    for (int k = kind == TSR_PLAN_FP8_STATE ? 0 : 1; k <= kmax; k++) {
        predict_streaming(c, kind, chunk, group, k, &p);
        push(l, &p);
    }
}

static void prune(tsr_ladder *l, uint64_t host_budget)
{
    int kept = 0;
    for (int i = 0; i < l->n; i++) {
        const tsr_plan *p = &l->rungs[i];
        if (host_budget && p->state_host + p->host_boundary > host_budget) continue;
        int dominated = 0; /* by a kept rung: no larger and no more work */
        for (int k = 0; k < kept && !dominated; k++)
            dominated = l->rungs[k].peak <= p->peak && l->rungs[k].work_pct <= p->work_pct;
        if (dominated) continue;
        l->rungs[kept] = *p;
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
    if (st == TSR_OK && r->tiling == TSR_TILING_DEEP) {
        push_deep(c, l);
        prune(l, r->host_budget);
    } else if (st == TSR_OK) {
        if (r->tiling != TSR_TILING_ALWAYS) {
            push_streaming(c, l, TSR_PLAN_EXACT);
            if (!r->no_offload) push_streaming(c, l, TSR_PLAN_EXACT_OFFLOAD);
            if (c->fp8 && !r->no_offload && !r->no_fp8_state && r->tiling != TSR_TILING_EXACT_ONLY)
                push_streaming(c, l, TSR_PLAN_FP8_STATE);
        }
        push_tiled(c, l);
        if (r->tiling == TSR_TILING_AUTO) push_deep(c, l); /* ALWAYS: exact tiles */
        prune(l, r->host_budget);
    }
    free(c);
    return st;
}

tsr_status tsr_plan_deep_tiles(const tsr_plan_request *r, int tile, int passes, tsr_plan *out, tsr_error *err)
{
    if (!r || tile < 1 || passes < 1 || passes > TSR_DEEP_MAX_PASSES)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: deep tiles of %d px in %d passes", tile, passes);
    ctx *c = tsr_calloc(1, sizeof *c, err);
    if (!c) return TSR_ERR_NOMEM;
    tsr_status st = init_ctx(r, c, err);
    if (st == TSR_OK && !predict_deep(c, tile, passes, 0, 1, out))
        st = tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: deep tiles of %d px: fewer than 2 tiles, or no tail", tile);
    free(c);
    return st;
}

static void impossible(const tsr_ladder *l, uint64_t budget, tsr_plan *out)
{
    memset(out, 0, sizeof *out);
    out->kind = TSR_PLAN_IMPOSSIBLE;
    out->budget = budget;
    out->min_needed = 0;
    for (int i = 0; i < l->n; i++)
        if (i == 0 || l->rungs[i].peak < out->min_needed) out->min_needed = l->rungs[i].peak;
    out->rung = l->n;
}

/* The plan for the budget and `limit` (both bound the peak): the first exact rung that fits, unless it is
 * estimated at more than TSR_PLAN_MAX_SLOWDOWN times the work of the near-exact rung of least work that fits. */
static tsr_status pick(const tsr_plan_request *r, uint64_t limit, tsr_plan *out, tsr_error *err)
{
    if (!r || r->budget == 0) return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: no memory budget given");
    tsr_ladder *l = tsr_calloc(1, sizeof *l, err);
    if (!l) return TSR_ERR_NOMEM;
    tsr_status st = tsr_plan_ladder(r, l, err);
    if (st == TSR_OK) {
        impossible(l, r->budget, out);
        int exact = -1, near = -1; /* the first exact rung that fits; the near-exact one of least work */
        for (int i = 0; i < l->n; i++) {
            const tsr_plan *p = &l->rungs[i];
            if (p->peak > r->budget || p->peak > limit) continue;
            if (!p->approximate && exact < 0) exact = i;
            if (p->approximate && (near < 0 || p->work_pct < l->rungs[near].work_pct)) near = i;
        }
        if (exact >= 0 && (near < 0 || (double)l->rungs[exact].work_pct <=
                                           TSR_PLAN_MAX_SLOWDOWN * (double)l->rungs[near].work_pct))
            *out = l->rungs[exact];
        else if (near >= 0) *out = l->rungs[near];
    }
    free(l);
    return st;
}

tsr_status tsr_plan_make(const tsr_plan_request *r, tsr_plan *out, tsr_error *err)
{
    return pick(r, UINT64_MAX, out, err);
}

tsr_status tsr_plan_next_smaller(const tsr_plan_request *r, const tsr_plan *cur, tsr_plan *out, tsr_error *err)
{
    if (cur->kind == TSR_PLAN_IMPOSSIBLE) return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: nothing smaller");
    return pick(r, cur->peak / 10 * 9, out, err);
}

int tsr_plan_same_settings(const tsr_plan *a, const tsr_plan *b)
{
    return a->kind == b->kind && a->chunk == b->chunk && a->frame_group == b->frame_group &&
           a->offloaded == b->offloaded && a->tile_w == b->tile_w && a->tile_h == b->tile_h &&
           (a->resident > 0) == (b->resident > 0) && a->deep_passes == b->deep_passes &&
           (a->head_cache > 0) == (b->head_cache > 0);
}

static void size_text(uint64_t b, char *buf, size_t n)
{
    if (b >= GIB) snprintf(buf, n, "%.2f GiB", (double)b / (double)GIB);
    else snprintf(buf, n, "%.1f MiB", (double)b / (double)MIB);
}

/* The ladder's own rung, never the given one's numbers: its `rung` indexes this request's ladder (a stored plan's
 * may index another one) and its prediction and work estimate are this build's. */
static tsr_status adopt_rung(const tsr_plan_request *r, const tsr_ladder *l, const tsr_plan *given, tsr_plan *out,
                             tsr_error *err)
{
    char need[32], have[32];
    for (int i = 0; i < l->n; i++) {
        if (!tsr_plan_same_settings(&l->rungs[i], given)) continue;
        if (l->rungs[i].peak > r->budget) {
            size_text(l->rungs[i].peak, need, sizeof need), size_text(r->budget, have, sizeof have);
            return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: the %s plan needs %s, the budget is %s",
                            tsr_plan_kind_name(given->kind), need, have);
        }
        *out = l->rungs[i];
        return TSR_OK;
    }
    return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: this request has no %s plan with chunk %d, frame group %d, %d "
                    "offloaded states and %d px tiles", tsr_plan_kind_name(given->kind), given->chunk,
                    given->frame_group, given->offloaded, given->tile_w);
}

tsr_status tsr_plan_adopt(const tsr_plan_request *r, const tsr_plan *given, tsr_plan *out, tsr_error *err)
{
    if (!r || !given || r->budget == 0) return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: no memory budget given");
    if (given->kind == TSR_PLAN_IMPOSSIBLE) return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: an impossible plan");
    char need[32], have[32];
    if (r->host_budget && given->state_host + given->host_boundary > r->host_budget) {
        size_text(given->state_host + given->host_boundary, need, sizeof need);
        size_text(r->host_budget, have, sizeof have);
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "plan: the %s plan needs %s of host memory, the host budget is %s",
                        tsr_plan_kind_name(given->kind), need, have);
    }
    tsr_ladder *l = tsr_calloc(1, sizeof *l, err);
    if (!l) return TSR_ERR_NOMEM;
    tsr_status st = tsr_plan_ladder(r, l, err);
    if (st == TSR_OK) st = adopt_rung(r, l, given, out, err);
    free(l);
    return st;
}
