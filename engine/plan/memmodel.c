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
    if (st) st->elems_normbuf = TSR_MAX(2 * cin + cout, cin + s + 3 * cout), st->cin = cin, st->cout = cout;
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
    if (s) s->cin = c, s->cout = u, s->upscale = 1, s->rt = rt;
    b->scale *= 2;
    b->tfac *= rt;
    snprintf(n, sizeof n, "%s.conv", name);
    s = add_stage(b, n, 2 * c, 1, c);
    if (s) s->cin = s->cout = c;
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
    if (ci) ci->cin = cfg->latent_channels, ci->cout = top;
    add_causal(&b, "decoder.conv_in", cfg->latent_channels, 1);
    add_resnet(&b, "decoder.mid_block.resnets.0", top, top);
    tsr_mm_stage *a = add_stage(&b, "decoder.mid_block.attentions.0", 5 * top, 0, top);
    if (a) {
        a->attention = 1;
        a->attn_channels = top;
    }
    add_resnet(&b, "decoder.mid_block.resnets.1", top, top);
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
        }
        prev = cout;
    }
    tsr_mm_stage *o = add_stage(&b, "decoder.conv_out", cfg->block_out[0] + cfg->out_channels, 1, cfg->out_channels);
    if (o) o->elems_normbuf = 2 * cfg->block_out[0] + cfg->out_channels, o->cin = cfg->block_out[0],
           o->cout = cfg->out_channels;
    add_causal(&b, "decoder.conv_out", cfg->block_out[0], b.scale);
    mm->out_scale = b.scale;
    mm->out_tfac = b.tfac;
    count_params(cfg, mm);
    return b.ok;
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

uint64_t tsr_mm_act_chunk(const tsr_mm *mm, int from, int to, int t, int chunk, int normbuf)
{
    uint64_t peak = 0;
    for (int i = from; i < to && i < mm->nstages; i++) {
        const tsr_mm_stage *s = &mm->stages[i];
        uint64_t e = (uint64_t)tsr_mm_elems(s, normbuf) * (uint64_t)(s->scale * s->scale) *
                     (uint64_t)tsr_mm_stage_frames(s, t, chunk);
        peak = TSR_MAX(peak, e);
    }
    return peak;
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
