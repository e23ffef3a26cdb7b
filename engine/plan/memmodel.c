#include "plan/memmodel.h"

#include <stdio.h>
#include <string.h>

#include "core/common.h"
#include "model/vae_tensors.h"

typedef struct builder {
    tsr_mm *mm;
    int scale, tfac;
    int ok;
} builder;

static tsr_mm_stage *add_stage(builder *b, const char *name, int elems, int halo, int out_elems)
{
    if (b->mm->nstages >= TSR_MM_MAX_STAGES) {
        b->ok = 0;
        return NULL;
    }
    tsr_mm_stage *s = &b->mm->stages[b->mm->nstages++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->scale = b->scale;
    s->tfac = b->tfac;
    s->elems = elems;
    s->elems_normbuf = elems;
    s->halo = halo;
    s->out_elems = out_elems;
    return s;
}

static void add_causal(builder *b, const char *name, int cin, int scale)
{
    if (b->mm->ncausal >= TSR_MM_MAX_CAUSAL) {
        b->ok = 0;
        return;
    }
    tsr_mm_causal *c = &b->mm->causal[b->mm->ncausal++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->cin = cin;
    c->scale = scale;
    c->stage = b->mm->nstages - 1;
}

/* ResnetBlock3D as engine/vae/vae_forward.c runs it (GN+SiLU fused into the conv prologues, the residual
 * into conv2's epilogue, x freed after conv2): conv1 holds x + h1; with a shortcut s = conv1x1(x) is added,
 * and conv2 holds x (+ s) + h1 + out. A backend that writes the normalised input to its own buffer first
 * (the CUDA backend today) adds cin at conv1 and cout at conv2. */
static void add_resnet(builder *b, const char *name, int cin, int cout)
{
    int s = cin != cout ? cout : 0;
    int peak = cin + 2 * cout + s;
    tsr_mm_stage *st = add_stage(b, name, peak, 2, cout);
    if (st) {
        st->elems_normbuf = TSR_MAX(2 * cin + cout, cin + s + 3 * cout), st->cin = cin, st->cout = cout;
        /* conv1: x, [prefix | norm(x)], h; conv2: x (+ s), h, [prefix | norm(h)], y */
        st->nb[0] = 2 * cin + cout, st->nb_fixed[0] = 2 * cin;
        st->nb[1] = cin + s + 3 * cout, st->nb_fixed[1] = 2 * cout;
        st->macs = 27ll * (cin * cout + cout * cout) + (int64_t)s * cin;
    }
    char n[80];
    snprintf(n, sizeof n, "%s.conv1", name);
    add_causal(b, n, cin, b->scale);
    snprintf(n, sizeof n, "%s.conv2", name);
    add_causal(b, n, cout, b->scale);
}

/* Upsample3D: 1x1 conv to 4*rt*c channels, depth-to-space (a separate op in backend.h), causal 3x3x3 conv at
 * twice the resolution. The first two run at the input scale, the conv at the output scale. */
static void add_upsampler(builder *b, const char *name, int c, int rt)
{
    char n[80];
    snprintf(n, sizeof n, "%s.upscale", name);
    int u = 4 * rt * c; /* per input pixel-frame: upscale output, and the shuffled copy of the same size */
    tsr_mm_stage *s = add_stage(b, n, TSR_MAX(c + u, 2 * u), 0, u);
    if (s) s->cin = c, s->cout = u, s->upscale = 1, s->rt = rt, s->macs = (int64_t)c * u;
    b->scale *= 2;
    b->tfac *= rt;
    snprintf(n, sizeof n, "%s.conv", name);
    s = add_stage(b, n, 2 * c, 1, c);
    /* CUDA: the prefix goes to 2 spare frames in front of the depth-to-space output and cuDNN reads [prefix | input]
     * in place; the term still counts the copy it used to materialise (3c per frame): the lower term (2c) let the
     * planner fill a 16 GiB cap at 1080p to 15.99 GiB predicted and the arena then could not place a 2.97 GiB
     * block (a re-plan), and the measured peaks came out at 0.97-1.00 of the prediction (RESULTS.md, session 8) */
    if (s) s->cin = s->cout = c, s->nb[0] = 3 * c, s->nb_fixed[0] = 2 * c, s->macs = 27ll * c * c;
    add_causal(b, n, c, b->scale);
}

static void count_params(const tsr_vae_config *cfg, tsr_mm *mm)
{
    tsr_vae_config d = *cfg;
    d.has_encoder = 0;
    d.has_decoder = 1;
    tsr_tensor_spec specs[256];
    int n = tsr_vae_tensor_specs(&d, specs, (int)TSR_ARRAY_LEN(specs));
    for (int i = 0; i < n && i < (int)TSR_ARRAY_LEN(specs); i++) {
        int64_t numel = 1;
        for (int k = 0; k < specs[i].ndim; k++) numel *= specs[i].shape[k];
        if (specs[i].ndim == 5) mm->conv_params += numel;
        else mm->other_params += numel;
        if (specs[i].ndim == 5 && specs[i].shape[2] > 1) mm->frame0_params += numel / specs[i].shape[2];
    }
    /* per upsampler of c channels: rt = 2: generic and PAIR convs 8c x c x 2 x 2 x 2 (+ sums 8c x c x 4 each), ZERO
     * 4c x c x 4; rt = 1: 4c x c x 3 x 2 x 2 (+ sums 4c x c x 4) */
    for (int i = 0; i < cfg->num_blocks - 1; i++) {
        int64_t c = cfg->block_out[cfg->num_blocks - 1 - i];
        mm->composed_params += (cfg->dec_temporal_up[i] ? 208 : 64) * c * c;
    }
}

int tsr_mm_decoder(const tsr_vae_config *cfg, tsr_mm *mm)
{
    memset(mm, 0, sizeof *mm);
    int nb = cfg->num_blocks;
    if (nb < 1 || nb > TSR_MAX_BLOCKS || cfg->latent_channels < 1 || cfg->dec_layers_per_block < 1) return 0;
    builder b = {mm, 1, 1, 1};
    int top = cfg->block_out[nb - 1];
    tsr_mm_stage *ci = add_stage(&b, "conv_in", cfg->latent_channels + top, 1, top);
    if (ci) ci->cin = cfg->latent_channels, ci->cout = top, ci->nb[0] = 2 * ci->cin + top, ci->nb_fixed[0] = 2 * ci->cin,
            ci->macs = 27ll * ci->cin * top;
    add_causal(&b, "decoder.conv_in", cfg->latent_channels, 1);
    add_resnet(&b, "decoder.mid_block.resnets.0", top, top);
    tsr_mm_stage *a = add_stage(&b, "decoder.mid_block.attentions.0", 5 * top, 0, top);
    if (a) {
        a->attention = 1;
        a->attn_channels = top;
        a->macs = 4ll * top * top; /* q, k, v, out */
    }
    add_resnet(&b, "decoder.mid_block.resnets.1", top, top);
    mm->frame_local = mm->nstages; /* no temporal upsampler: the up blocks on */
    int prev = top;
    char name[80];
    for (int i = 0; i < nb; i++) {
        int cout = cfg->block_out[nb - 1 - i];
        for (int j = 0; j < cfg->dec_layers_per_block; j++) {
            snprintf(name, sizeof name, "decoder.up_blocks.%d.resnets.%d", i, j);
            add_resnet(&b, name, j == 0 ? prev : cout, cout);
        }
        if (i < nb - 1) {
            snprintf(name, sizeof name, "decoder.up_blocks.%d.upsamplers.0", i);
            add_upsampler(&b, name, cout, cfg->dec_temporal_up[i] ? 2 : 1);
            if (cfg->dec_temporal_up[i]) mm->frame_local = mm->nstages;
        }
        prev = cout;
    }
    tsr_mm_stage *o = add_stage(&b, "decoder.conv_out", cfg->block_out[0] + cfg->out_channels, 1, cfg->out_channels);
    /* CUDA: the narrow conv normalises while it reads (no [prefix | norm(x)] buffer), but the term keeps that buffer
     * (see the upsampler's conv above: the lower terms were not borne out on the GPU) */
    if (o) o->elems_normbuf = 2 * cfg->block_out[0] + cfg->out_channels, o->cin = cfg->block_out[0],
           o->cout = cfg->out_channels, o->nb[0] = o->elems_normbuf, o->nb_fixed[0] = 2 * o->cin,
           o->macs = 27ll * o->cin * o->cout;
    add_causal(&b, "decoder.conv_out", cfg->block_out[0], b.scale);
    mm->out_scale = b.scale;
    mm->out_tfac = b.tfac;
    count_params(cfg, mm);
    return b.ok;
}

double tsr_mm_stage_macs(const tsr_mm *mm, int i, int h, int w)
{
    const tsr_mm_stage *s = &mm->stages[i];
    double px = (double)(s->scale * h) * (double)(s->scale * w);
    return px * ((double)s->macs + (s->attention ? 2.0 * px * (double)s->attn_channels : 0.0));
}

uint64_t tsr_mm_state_elems(const tsr_mm *mm, int i, int h, int w)
{
    const tsr_mm_causal *c = &mm->causal[i];
    return 2ull * (uint64_t)c->cin * (uint64_t)(c->scale * h) * (uint64_t)(c->scale * w);
}

void tsr_mm_state_order(const tsr_mm *mm, int *order)
{
    for (int i = 0; i < mm->ncausal; i++) order[i] = i;
    /* insertion sort: stable and re-entrant (qsort has no user pointer in C11) */
    for (int i = 1; i < mm->ncausal; i++) {
        int v = order[i], j = i;
        uint64_t sv = tsr_mm_state_elems(mm, v, 1, 1);
        while (j > 0 && tsr_mm_state_elems(mm, order[j - 1], 1, 1) < sv) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
}

uint64_t tsr_mm_state_total(const tsr_mm *mm, int h, int w)
{
    uint64_t sum = 0;
    for (int i = 0; i < mm->ncausal; i++) sum += tsr_mm_state_elems(mm, i, h, w);
    return sum;
}

uint64_t tsr_mm_act_per_lpx(const tsr_mm *mm, int from, int to)
{
    uint64_t peak = 0;
    for (int i = from; i < to && i < mm->nstages; i++) {
        const tsr_mm_stage *s = &mm->stages[i];
        uint64_t e = (uint64_t)s->elems * (uint64_t)(s->scale * s->scale) * (uint64_t)s->tfac;
        peak = TSR_MAX(peak, e);
    }
    return peak;
}

int tsr_mm_stage_frames(const tsr_mm_stage *s, int t, int chunk)
{
    int first = TSR_MIN(chunk, t), later = TSR_MIN(chunk, t - first);
    return TSR_MAX(s->tfac * first - (s->tfac - 1), s->tfac * later);
}

/* Live elements per latent pixel of stage `s` when it sees `frames` frames. On the clip's first chunk a
 * temporal upsampler's depth-to-space drops one output frame (4 x cin elements per input pixel less). */
/* `prefix`: the normalised-input buffers hold [causal prefix | input] (the CUDA conv3d's own norm pass); 0: just
 * the input (a norm applied by a separate op, vae_deep.c's second pass). */
static uint64_t stage_peak_px(const tsr_mm_stage *s, int frames, int first, int normbuf, int prefix, uint64_t px)
{
    uint64_t f = (uint64_t)frames;
    if (s->upscale && frames > 0) { /* upscale in + out, then out + shuffled out */
        uint64_t ci = (uint64_t)s->cin, co = (uint64_t)s->cout;
        /* CUDA (normbuf + prefix): the shuffled output has 2 spare output frames in front (4 ci per input px each) */
        uint64_t head = normbuf && prefix ? 8 * ci : 0;
        if (s->rt == 2 && first) return TSR_MAX((ci + co) * f, 2 * co * f - 4 * ci + head) * px;
        return TSR_MAX((ci + co) * f, 2 * co * f + head) * px;
    }
    if (normbuf && prefix && s->nb[0] && frames > 0) {
        uint64_t a = (uint64_t)s->nb[0] * f + (uint64_t)s->nb_fixed[0];
        uint64_t b = s->nb[1] ? (uint64_t)s->nb[1] * f + (uint64_t)s->nb_fixed[1] : 0;
        return TSR_MAX(a, b) * px;
    }
    return (uint64_t)tsr_mm_elems(s, normbuf) * px * f;
}

static uint64_t stage_peak(const tsr_mm_stage *s, int frames, int first, int normbuf)
{
    return stage_peak_px(s, frames, first, normbuf, 1, (uint64_t)(s->scale * s->scale));
}

/* Frames stage `s` sees in a chunk of `n` latent frames (the clip's first: the causal head). */
static int chunk_frames(const tsr_mm_stage *s, int n, int first)
{
    return n <= 0 ? 0 : s->tfac * n - (first ? s->tfac - 1 : 0);
}

static uint64_t chunk_peak(const tsr_mm *mm, int from, int to, int n, int first, int normbuf)
{
    uint64_t peak = 0;
    for (int i = from; i < to && i < mm->nstages; i++)
        peak = TSR_MAX(peak, stage_peak(&mm->stages[i], chunk_frames(&mm->stages[i], n, first), first, normbuf));
    return peak;
}

/* The clip's first chunk and (if any) a later one: n latent frames each. */
static void chunk_sizes(int t, int chunk, int n[2])
{
    n[0] = TSR_MIN(chunk, t);
    n[1] = TSR_MIN(chunk, t - n[0]);
}

uint64_t tsr_mm_act_chunk(const tsr_mm *mm, int from, int to, int t, int chunk, int normbuf)
{
    int n[2];
    chunk_sizes(t, chunk, n);
    return TSR_MAX(chunk_peak(mm, from, to, n[0], 1, normbuf), chunk_peak(mm, from, to, n[1], 0, normbuf));
}

int tsr_mm_first_at_scale(const tsr_mm *mm, int scale)
{
    for (int i = 0; i < mm->nstages; i++)
        if (mm->stages[i].scale >= scale && !mm->stages[i].attention) return i;
    return mm->nstages;
}

int tsr_mm_halo_out(const tsr_mm *mm, int from)
{
    int halo = 0;
    for (int i = from; i < mm->nstages; i++) halo += mm->stages[i].halo * (mm->out_scale / mm->stages[i].scale);
    return halo;
}

int tsr_mm_tail_frames(const tsr_mm *mm, int t, int chunk)
{
    int i = TSR_MIN(mm->frame_local, mm->nstages - 1);
    return i >= 0 ? tsr_mm_stage_frames(&mm->stages[i], t, chunk) : 0;
}

uint64_t tsr_mm_act_grouped(const tsr_mm *mm, int t, int chunk, int group, int normbuf)
{
    int fl = mm->frame_local, n[2];
    if (group <= 0 || fl < 1 || fl >= mm->nstages) return tsr_mm_act_chunk(mm, 0, mm->nstages, t, chunk, normbuf);
    chunk_sizes(t, chunk, n);
    const tsr_mm_stage *head_out = &mm->stages[fl - 1], *last = &mm->stages[mm->nstages - 1];
    uint64_t peak = 0;
    for (int k = 0; k < 2; k++) {
        int frames = chunk_frames(&mm->stages[fl], n[k], k == 0);
        uint64_t head = chunk_peak(mm, 0, fl, n[k], k == 0, normbuf), tail = 0;
        if (group >= frames) {
            tail = chunk_peak(mm, fl, mm->nstages, n[k], k == 0, normbuf);
        } else {
            for (int i = fl; i < mm->nstages; i++) tail = TSR_MAX(tail, stage_peak(&mm->stages[i], group, 0, normbuf));
            /* alive while the groups run: the head's output they read and the chunk's output they fill */
            tail += (uint64_t)head_out->out_elems * (uint64_t)(head_out->scale * head_out->scale) * (uint64_t)frames;
            tail += (uint64_t)last->out_elems * (uint64_t)(last->scale * last->scale) * (uint64_t)frames;
        }
        peak = TSR_MAX(peak, TSR_MAX(head, tail));
    }
    return peak;
}

/* ------------------------------------------------------------------ deep tiles (vae/vae_deep.c) */

int tsr_mm_deep_from(const tsr_mm *mm)
{
    int up = tsr_mm_first_at_scale(mm, 2);
    return up > 0 && up + 1 < mm->nstages ? up + 1 : -1;
}

int tsr_mm_deep_halo(const tsr_mm *mm, int from)
{
    int ratio = mm->out_scale / mm->stages[from].scale; /* output pixels per head-output pixel */
    return (tsr_mm_halo_out(mm, from) + ratio - 1) / ratio;
}

int tsr_mm_deep_grid(int h, int w, int e, int *ny, int *nx)
{
    e = TSR_MAX(e, 1);
    *ny = (h + e - 1) / e;
    *nx = (w + e - 1) / e;
    return *ny * *nx;
}

/* One axis: the core [i*n/k, (i+1)*n/k) and a region of the same length for every tile (the largest core + a
 * halo on both sides, at most n), placed with the core's halo inside it and shifted inwards at the frame's edges. */
static void deep_span(int n, int k, int i, int halo, int *c0, int *c1, int *r0, int *r1)
{
    *c0 = (int)((int64_t)i * n / k), *c1 = (int)((int64_t)(i + 1) * n / k);
    int len = TSR_MIN(n, (n + k - 1) / k + 2 * halo);
    *r0 = TSR_MAX(0, TSR_MIN(*c0 - halo, n - len));
    *r1 = *r0 + len;
}

void tsr_mm_deep_tile(int h, int w, int ny, int nx, int k, int halo, tsr_mm_rect *core, tsr_mm_rect *reg)
{
    deep_span(h, ny, k / nx, halo, &core->y0, &core->y1, &reg->y0, &reg->y1);
    deep_span(w, nx, k % nx, halo, &core->x0, &core->x1, &reg->x0, &reg->x1);
}

uint64_t tsr_mm_deep_tail_state(const tsr_mm *mm, int from, int rh, int rw)
{
    uint64_t sum = 0;
    for (int i = 0; i < mm->ncausal; i++) {
        const tsr_mm_causal *c = &mm->causal[i];
        if (c->stage < from) continue;
        uint64_t f = (uint64_t)(c->scale / mm->stages[from].scale);
        sum += 2ull * (uint64_t)c->cin * (uint64_t)rh * f * (uint64_t)rw * f;
    }
    return sum;
}

/* A tail stage over the region: its own elements, plus (`ext`: a backend that materialises a conv's causal
 * prefix in front of an input it did not normalise itself, CUDA in pass 2) that copy for normalised convs. */
static uint64_t deep_stage(const tsr_mm *mm, int i, int from, int frames, int first, int normbuf, int prefix, int ext,
                           uint64_t rh, uint64_t rw)
{
    const tsr_mm_stage *s = &mm->stages[i];
    uint64_t f = (uint64_t)(s->scale / mm->stages[from].scale), px = rh * f * rw * f;
    uint64_t e = stage_peak_px(s, frames, first, normbuf, prefix, px);
    if (ext && (s->halo == 2 || i == mm->nstages - 1))
        e += (uint64_t)TSR_MAX(s->cin, s->cout) * (uint64_t)(frames + 2) * px;
    return e;
}

uint64_t tsr_mm_deep_act(const tsr_mm *mm, int from, int t, int chunk, int h, int w, const tsr_mm_deep_opts *o)
{
    int n[2];
    chunk_sizes(t, chunk, n);
    const tsr_mm_stage *head_out = &mm->stages[from - 1];
    uint64_t hpx = (uint64_t)(head_out->scale * h) * (uint64_t)(head_out->scale * w), peak = 0;
    for (int k = 0; k < 2; k++) {
        if (n[k] <= 0) continue;
        uint64_t head = 0, tail = 0;
        for (int i = 0; i < from; i++)
            head = TSR_MAX(head, stage_peak_px(&mm->stages[i], chunk_frames(&mm->stages[i], n[k], k == 0), k == 0,
                                               o->normbuf, 1, (uint64_t)(mm->stages[i].scale * mm->stages[i].scale) *
                                                               (uint64_t)h * (uint64_t)w));
        int frames = chunk_frames(&mm->stages[from], n[k], k == 0);
        /* the head's output and the region cut from it */
        uint64_t cut = (uint64_t)head_out->out_elems * (uint64_t)frames * (hpx + (uint64_t)o->rh * (uint64_t)o->rw);
        for (int i = from; i < mm->nstages; i++)
            tail = TSR_MAX(tail, deep_stage(mm, i, from, chunk_frames(&mm->stages[i], n[k], k == 0), k == 0,
                                            o->tail_normbuf, o->normbuf && !o->ext, o->ext, (uint64_t)o->rh,
                                            (uint64_t)o->rw));
        peak = TSR_MAX(peak, TSR_MAX(head, TSR_MAX(cut, tail)));
    }
    return peak;
}

/* ------------------------------------------------------------------ encoder: op-by-op simulation */

/* The downsamplers' spatial size: pad right/bottom 1, 3 taps, stride 2 (spec §3.6). */
static int e_half(int n) { return n + 1 < 3 ? 0 : (n + 1 - 3) / 2 + 1; }

typedef struct esim {
    uint64_t live, peak;
    int normbuf;
    int lazy, ci;             /* the clip's first chunk: each causal conv creates its state when it first runs */
    unsigned char made[256];  /* by conv ordinal within the chunk (a frame group repeats the same ordinals) */
} esim;

static void e_alloc(esim *s, uint64_t n)
{
    s->live += n;
    s->peak = TSR_MAX(s->peak, s->live);
}

static void e_free(esim *s, uint64_t n) { s->live -= n; }

/* A causal conv's state of n elements, created (and kept) where the conv first runs in the first chunk. */
static void e_state(esim *s, uint64_t n)
{
    int k = s->ci++;
    if (!s->lazy || k >= (int)sizeof s->made || s->made[k]) return;
    s->made[k] = 1;
    e_alloc(s, n);
}

typedef struct etensor {
    int c, t, h, w;
} etensor;

static uint64_t e_n(etensor x) { return (uint64_t)x.c * (uint64_t)x.t * (uint64_t)x.h * (uint64_t)x.w; }

/* One conv replacing x (consumed); `norm`: a GroupNorm prologue (its buffer when normbuf); `keep`: frames of x
 * its causal state holds (0: none). */
static void e_conv(esim *s, etensor *x, int cout, int t_out, int h_out, int w_out, int norm, int keep)
{
    etensor y = {cout, t_out, h_out, w_out};
    if (keep) e_state(s, (uint64_t)keep * (uint64_t)x->c * (uint64_t)x->h * (uint64_t)x->w);
    uint64_t nb = norm && s->normbuf ? e_n(*x) : 0;
    e_alloc(s, nb);
    e_alloc(s, e_n(y));
    e_free(s, nb);
    e_free(s, e_n(*x));
    *x = y;
}

/* ResnetBlock3D as vae_forward.c runs it: h = conv1(x), s = shortcut(x), y = conv2(h) + s; then h, s, x freed. */
static void e_resnet(esim *s, etensor *x, int cout)
{
    etensor h = {cout, x->t, x->h, x->w};
    uint64_t nx = e_n(*x), nh = e_n(h), sc = x->c != cout ? nh : 0, px = (uint64_t)x->h * (uint64_t)x->w;
    e_state(s, 2 * (uint64_t)x->c * px);
    e_alloc(s, s->normbuf ? nx : 0); /* conv1: normalised x */
    e_alloc(s, nh);
    e_free(s, s->normbuf ? nx : 0);
    e_alloc(s, sc);
    e_state(s, 2 * (uint64_t)cout * px);
    e_alloc(s, s->normbuf ? nh : 0); /* conv2: normalised h */
    e_alloc(s, nh);                  /* y */
    e_free(s, s->normbuf ? nh : 0);
    e_free(s, nh + sc + nx);
    x->c = cout;
}

/* conv_in and down blocks [0, to] without down block `to`'s downsampler (vae_forward.c encoder_front), or from
 * `to`'s downsampler on when `back`. */
static void e_blocks(esim *s, const tsr_vae_config *cfg, etensor *x, int first, int b0, int b1, int skip_resample)
{
    for (int i = b0; i < b1; i++) {
        for (int j = 0; j < cfg->enc_layers_per_block; j++) e_resnet(s, x, cfg->block_out[i]);
        if (i < cfg->num_blocks - 1 && i != skip_resample) {
            int td = cfg->enc_temporal_down[i] != 0;
            int t = td ? (first ? (x->t + 1) / 2 : x->t / 2) : x->t;
            e_conv(s, x, x->c, t, e_half(x->h), e_half(x->w), 0, td); /* 3x3x3 stride 2: one frame */
        }
    }
}

static int e_frame_local_to(const tsr_vae_config *cfg)
{
    for (int i = 0; i < cfg->num_blocks - 1; i++)
        if (cfg->enc_temporal_down[i]) return i;
    return cfg->num_blocks - 1;
}

uint64_t tsr_mm_encoder_chunk_peak(const tsr_vae_config *cfg, int frames, int h, int w, int first, int group,
                                   int normbuf)
{
    esim s = {0, 0, normbuf, first, 0, {0}};
    int to = e_frame_local_to(cfg), nb = cfg->num_blocks;
    etensor x = {cfg->in_channels, frames, h, w};
    e_alloc(&s, e_n(x)); /* the chunk's input */
    if (group > 0 && group < frames) {
        int hh = h, ww = w;
        for (int i = 0; i < to; i++) hh = e_half(hh), ww = e_half(ww);
        etensor y = {cfg->block_out[to], frames, hh, ww};
        e_alloc(&s, e_n(y));
        for (int f0 = 0; f0 < frames; f0 += group) {
            etensor g = {x.c, TSR_MIN(group, frames - f0), h, w};
            e_alloc(&s, e_n(g));
            s.ci = 0; /* every group runs the same convs: the first one creates their states */
            e_conv(&s, &g, cfg->block_out[0], g.t, h, w, 0, 2);
            e_blocks(&s, cfg, &g, first, 0, to + 1, to);
            e_free(&s, e_n(g));
        }
        e_free(&s, e_n(x));
        x = y;
    } else {
        e_conv(&s, &x, cfg->block_out[0], frames, h, w, 0, 2);
        e_blocks(&s, cfg, &x, first, 0, to + 1, to);
    }
    if (to < nb - 1) {
        int t = first ? (x.t + 1) / 2 : x.t / 2;
        e_conv(&s, &x, x.c, t, e_half(x.h), e_half(x.w), 0, 1);
    }
    e_blocks(&s, cfg, &x, first, to + 1, nb, -1);
    int top = cfg->block_out[nb - 1];
    e_resnet(&s, &x, top);
    uint64_t nx = e_n(x); /* attention: x and its output (the CUDA backend: q, k, v as well) */
    e_alloc(&s, nx * (normbuf ? 4 : 1));
    e_free(&s, nx * (normbuf ? 4 : 1) - nx);
    e_free(&s, nx);
    e_resnet(&s, &x, top);
    e_conv(&s, &x, 2 * cfg->latent_channels, x.t, x.h, x.w, 1, 2);
    return s.peak;
}

uint64_t tsr_mm_encoder_state(const tsr_vae_config *cfg, int h, int w)
{
    uint64_t px = (uint64_t)h * (uint64_t)w, sum = 2 * (uint64_t)cfg->in_channels * px; /* conv_in */
    int c = cfg->block_out[0];
    for (int i = 0; i < cfg->num_blocks; i++) {
        for (int j = 0; j < cfg->enc_layers_per_block; j++) {
            sum += 2 * (uint64_t)c * px; /* conv1 */
            c = cfg->block_out[i];
            sum += 2 * (uint64_t)c * px; /* conv2 */
        }
        if (i < cfg->num_blocks - 1) {
            if (cfg->enc_temporal_down[i]) sum += (uint64_t)c * px; /* 3x3x3 stride 2: one frame */
            h = e_half(h), w = e_half(w);
            px = (uint64_t)h * (uint64_t)w;
        }
    }
    int top = cfg->block_out[cfg->num_blocks - 1];
    sum += 4 * 2 * (uint64_t)top * px + 2 * (uint64_t)top * px; /* the mid block's 4 convs, conv_out */
    return sum;
}
