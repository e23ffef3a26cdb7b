/* One temporal chunk through the decoder or encoder (spec §5, §6) as backend ops. Every step consumes
 * its input activation, so at most a resnet's worth of activations is alive at once. Causal convs carry
 * their state between chunks; a conv without a state yet is on its first chunk. */
#include <string.h>

#include "core/common.h"
#include "vae/vae_internal.h"

static void act_drop(tsr_vae *v, tsr_act *a) { v->be->ops->act_free(v->be, a); }

tsr_status tsr_vae_conv(tsr_vae *v, vae_conv *c, tsr_act *x, const tsr_wt *pre_norm, int pre_silu,
                        const tsr_act *residual, tsr_act *out, tsr_error *err)
{
    tsr_backend *be = v->be;
    memset(out, 0, sizeof *out);
    if (c->d.kt > 1 && !c->state) {
        tsr_status st = (c->host_state ? be->ops->state_create_host : be->ops->state_create)(be, &c->d, x->h, x->w,
                                                                                               &c->state, err);
        if (st != TSR_OK) {
            tsr_error_prefix(err, "%s: ", c->name);
            return st;
        }
    }
    /* the next host state's copy to the device overlaps this conv (and whatever runs before that one) */
    if (c->next_host && c->next_host->state) {
        tsr_status st = be->ops->state_prefetch(be, c->next_host->state, err);
        if (st != TSR_OK) return st;
    }
    tsr_status st = be->ops->conv3d(be, c->w, x, c->state, pre_norm, pre_silu, residual, out, err);
    if (st != TSR_OK) tsr_error_prefix(err, "%s: ", c->name);
    return st;
}

/* Replace *x by f(*x), freeing the old activation. */
static tsr_status step_conv(tsr_vae *v, vae_conv *c, tsr_act *x, const tsr_wt *norm, int silu, tsr_error *err)
{
    tsr_act y;
    tsr_status st = tsr_vae_conv(v, c, x, norm, silu, NULL, &y, err);
    act_drop(v, x);
    *x = y;
    return st;
}

/* y = conv2(silu(norm2(conv1(silu(norm1(x)))))) + shortcut(x)   (spec §3.3) */
static tsr_status resnet(tsr_vae *v, vae_resnet *r, tsr_act *x, tsr_error *err)
{
    tsr_act h = {0}, s = {0}, y = {0};
    tsr_status st = tsr_vae_conv(v, &r->conv1, x, r->norm1, 1, NULL, &h, err);
    const tsr_act *res = x;
    if (st == TSR_OK && r->shortcut.w) {
        st = tsr_vae_conv(v, &r->shortcut, x, NULL, 0, NULL, &s, err);
        res = &s;
    }
    if (st == TSR_OK) st = tsr_vae_conv(v, &r->conv2, &h, r->norm2, 1, res, &y, err);
    act_drop(v, &h);
    act_drop(v, &s);
    act_drop(v, x);
    *x = y;
    return st;
}

static tsr_status mid_block(tsr_vae *v, vae_half *h, tsr_act *x, tsr_error *err)
{
    tsr_status st = resnet(v, &h->mid[0], x, err);
    if (st == TSR_OK) {
        tsr_act y = {0};
        st = v->be->ops->attention(v->be, h->attn, x, &y, err);
        act_drop(v, x);
        *x = y;
    }
    if (st == TSR_OK) st = resnet(v, &h->mid[1], x, err);
    return st;
}

/* A new activation holding frames [f0, f0 + n) of x (x itself when that is all of it: then *own = 0). */
static tsr_status frames_of(tsr_vae *v, tsr_act *x, int f0, int n, tsr_act *out, int *own, tsr_error *err)
{
    *own = !(f0 == 0 && n == x->t);
    if (!*own) {
        *out = *x;
        return TSR_OK;
    }
    tsr_status st = v->be->ops->act_alloc(v->be, x->c, n, x->h, x->w, out, err);
    if (st == TSR_OK) st = v->be->ops->act_copy_region(v->be, x, f0, 0, 0, out, 0, 0, 0, n, x->h, x->w, err);
    return st;
}

/* conv c over frames [f0, f0 + n) of x; frames [keep, end) of its output go to y from frame *at on. */
static tsr_status upc_part(tsr_vae *v, vae_conv *c, tsr_act *x, int f0, int n, int keep, tsr_act *y, int *at,
                           tsr_error *err)
{
    tsr_act in = {0}, out = {0};
    int own = 0;
    tsr_status st = frames_of(v, x, f0, n, &in, &own, err);
    if (st == TSR_OK) st = tsr_vae_conv(v, c, &in, NULL, 0, NULL, &out, err);
    int m = out.t - keep;
    if (st == TSR_OK && m > 0)
        st = v->be->ops->act_copy_region(v->be, &out, keep, 0, 0, y, *at, 0, 0, m, out.h, out.w, err);
    if (st == TSR_OK && m > 0) *at += m;
    if (own) act_drop(v, &in);
    act_drop(v, &out);
    return st;
}

/* Upsample3D composed (vae_upcompose.c). Steady chunks run the generic conv; the clip's low-res frames 0 and 1 (an
 * rt = 2 upsampler's first chunk or two) take their variants: frame 0 -> output frame 0 (ZERO), frame 1 -> output
 * frames 1, 2 (PAIR, whose causal state holds frame 0; its output for frame 0 is not used), frames 2.. -> the generic
 * conv started at frame 1 (its output for frame 1 is not used, its state then holds frame 1). */
static tsr_status upsample_composed(tsr_vae *v, vae_half *h, int i, tsr_act *x, int first_chunk, tsr_error *err)
{
    tsr_backend *be = v->be;
    vae_conv *gen = &h->upc[i][TSR_UPC_GEN], *pair = &h->upc[i][TSR_UPC_PAIR], *zero = &h->upc[i][TSR_UPC_ZERO];
    if (h->rt[i] == 1) return step_conv(v, gen, x, NULL, 0, err); /* frame-local: may run in frame groups */
    if (first_chunk) h->up_seen[i] = 0; /* its states are fresh (tsr_vae_reset_states, tsr_vae_deep_states) */
    int k0 = h->up_seen[i], n = x->t;
    h->up_seen[i] += n;
    if (k0 >= 2) return step_conv(v, gen, x, NULL, 0, err);
    int has1 = k0 + n > 1, s = k0 == 0 ? 1 : 0; /* the chunk holds low-res frame 1; x's first frame >= 1 */
    int tout = (k0 == 0) + 2 * has1 + 2 * TSR_MAX(0, k0 + n - 2), at = 0;
    tsr_act y = {0};
    tsr_status st = be->ops->act_alloc(be, gen->d.cout / (4 * 2), tout, 2 * x->h, 2 * x->w, &y, err);
    if (st == TSR_OK && k0 == 0) st = upc_part(v, zero, x, 0, 1, 0, &y, &at, err);
    if (st == TSR_OK) st = upc_part(v, pair, x, 0, TSR_MIN(n, 2 - k0), k0 == 0 ? 2 : 0, &y, &at, err);
    if (st == TSR_OK && n > s) st = upc_part(v, gen, x, s, n - s, 2, &y, &at, err);
    if (st == TSR_OK && at != tout)
        st = tsr_fail(err, TSR_ERR_INTERNAL, "upsampler %d: %d of %d frames made", i, at, tout);
    act_drop(v, x);
    *x = y;
    if (st != TSR_OK) act_drop(v, x);
    return st;
}

int tsr_vae_decoder_steady(const tsr_vae *v)
{
    for (int i = 0; v->dec.composed && i < v->cfg.num_blocks - 1; i++)
        if (v->dec.rt[i] == 2 && v->dec.up_seen[i] < 2) return 0;
    return 1;
}

/* Upsample3D (spec §3.5): 1x1x1 upscale conv, depth-to-space (dropping frame 1 on the first chunk),
 * causal 3x3x3 conv; or the same composed. */
tsr_status tsr_vae_upsample(tsr_vae *v, vae_half *h, int i, tsr_act *x, int first_chunk, tsr_error *err)
{
    if (h->composed) return upsample_composed(v, h, i, x, first_chunk, err);
    tsr_status st = step_conv(v, &h->upscale[i], x, NULL, 0, err);
    if (st == TSR_OK) {
        tsr_act y = {0};
        st = v->be->ops->depth_to_space(v->be, x, h->rt[i], 2, first_chunk, &y, err);
        act_drop(v, x);
        *x = y;
    }
    if (st == TSR_OK) st = step_conv(v, &h->resample[i], x, NULL, 0, err);
    return st;
}

/* Up blocks [b0, b1) with their upsamplers; *x is replaced in place. */
static tsr_status up_blocks(tsr_vae *v, tsr_act *x, int first_chunk, int b0, int b1, tsr_error *err)
{
    vae_half *h = &v->dec;
    int nb = v->cfg.num_blocks;
    tsr_status st = TSR_OK;
    for (int i = b0; i < TSR_MIN(b1, nb) && st == TSR_OK; i++) {
        for (int j = 0; j < h->layers && st == TSR_OK; j++) st = resnet(v, &h->resnets[i * h->layers + j], x, err);
        if (st == TSR_OK && i < nb - 1) st = tsr_vae_upsample(v, h, i, x, first_chunk, err);
    }
    return st;
}

tsr_status tsr_vae_decoder_head(tsr_vae *v, tsr_act *x, int first_chunk, int blocks, tsr_error *err)
{
    vae_half *h = &v->dec;
    tsr_status st = step_conv(v, &h->conv_in, x, NULL, 0, err);
    if (st == TSR_OK) st = mid_block(v, h, x, err);
    if (st == TSR_OK) st = up_blocks(v, x, first_chunk, 0, blocks, err);
    return st;
}

int tsr_vae_decoder_frame_local_from(const tsr_vae *v)
{
    int from = 0;
    for (int i = 0; i < v->cfg.num_blocks - 1; i++)
        if (v->dec.rt[i] > 1) from = i + 1;
    return from;
}

/* Up blocks `from`.. and conv_norm_out + conv_out; *x is replaced in place. */
static tsr_status decoder_tail(tsr_vae *v, tsr_act *x, int first_chunk, int from, tsr_error *err)
{
    tsr_status st = up_blocks(v, x, first_chunk, from, v->cfg.num_blocks, err);
    if (st == TSR_OK) st = step_conv(v, &v->dec.conv_out, x, v->dec.norm_out, 1, err);
    return st;
}

/* Frame-local stages over groups of `g` frames of x (consumed): each group's frames are copied out of x, run
 * through `run` (an in-place step) with the same causal states, one group after another as if they were chunks
 * of their own (exact), and the result copied into its frames of *y (allocated by the caller, c x t x h x w of
 * the result; freed on failure). */
typedef tsr_status (*group_step)(tsr_vae *v, tsr_act *x, int first_chunk, int at, tsr_error *err);

static tsr_status in_groups(tsr_vae *v, tsr_act *x, int g, group_step run, int first_chunk, int at, tsr_act *y,
                            tsr_error *err)
{
    tsr_backend *be = v->be;
    tsr_status st = TSR_OK;
    for (int f0 = 0; f0 < x->t && st == TSR_OK; f0 += g) {
        int n = TSR_MIN(g, x->t - f0);
        tsr_act xg = {0};
        st = be->ops->act_alloc(be, x->c, n, x->h, x->w, &xg, err);
        if (st == TSR_OK) st = be->ops->act_copy_region(be, x, f0, 0, 0, &xg, 0, 0, 0, n, x->h, x->w, err);
        if (st == TSR_OK) st = run(v, &xg, first_chunk, at, err);
        if (st == TSR_OK && (xg.c != y->c || xg.t != n || xg.h != y->h || xg.w != y->w))
            st = tsr_fail(err, TSR_ERR_INTERNAL, "frame group: output %dx%dx%dx%d, expected %dx%dx%dx%d", xg.c, xg.t,
                          xg.h, xg.w, y->c, n, y->h, y->w);
        if (st == TSR_OK) st = be->ops->act_copy_region(be, &xg, 0, 0, 0, y, f0, 0, 0, n, y->h, y->w, err);
        act_drop(v, &xg);
    }
    act_drop(v, x);
    if (st != TSR_OK) act_drop(v, y);
    return st;
}

/* The decoder's frame-local tail over groups of `g` frames of the head's output x (consumed) into *y. */
static tsr_status tail_in_groups(tsr_vae *v, tsr_act *x, int first_chunk, int from, int g, tsr_act *y,
                                 tsr_error *err)
{
    int up = 1; /* the tail's spatial upsamplers: x2 each */
    for (int i = from; i < v->cfg.num_blocks - 1; i++) up *= 2;
    memset(y, 0, sizeof *y);
    tsr_status st = v->be->ops->act_alloc(v->be, v->cfg.out_channels, x->t, x->h * up, x->w * up, y, err);
    if (st != TSR_OK) {
        act_drop(v, x);
        return st;
    }
    return in_groups(v, x, g, decoder_tail, first_chunk, from, y, err);
}

tsr_status tsr_vae_prefetch_first(tsr_vae *v, tsr_error *err)
{
    if (!v->dec_first_host || !v->dec_first_host->state) return TSR_OK;
    return v->be->ops->state_prefetch(v->be, v->dec_first_host->state, err);
}

tsr_status tsr_vae_decoder_forward(tsr_vae *v, tsr_act *x, int first_chunk, int group, tsr_act *out, tsr_error *err)
{
    int from = tsr_vae_decoder_frame_local_from(v);
    tsr_status st = tsr_vae_prefetch_first(v, err);
    if (st == TSR_OK) st = tsr_vae_decoder_head(v, x, first_chunk, from, err);
    if (st == TSR_OK && group > 0 && group < x->t) return tail_in_groups(v, x, first_chunk, from, group, out, err);
    if (st == TSR_OK) st = decoder_tail(v, x, first_chunk, from, err);
    if (st != TSR_OK) {
        act_drop(v, x);
        return st;
    }
    *out = *x;
    memset(x, 0, sizeof *x);
    return TSR_OK;
}

tsr_status tsr_vae_encoder_tail(tsr_vae *v, tsr_act *x, tsr_act *out, tsr_error *err)
{
    vae_half *h = &v->enc;
    tsr_status st = mid_block(v, h, x, err);
    if (st == TSR_OK) st = step_conv(v, &h->conv_out, x, h->norm_out, 1, err);
    if (st != TSR_OK) {
        act_drop(v, x);
        return st;
    }
    *out = *x;
    memset(x, 0, sizeof *x);
    return TSR_OK;
}

int tsr_vae_encoder_frame_local_to(const tsr_vae *v)
{
    int nb = v->cfg.num_blocks;
    for (int i = 0; i < nb - 1; i++)
        if (v->cfg.enc_temporal_down[i]) return i;
    return nb - 1;
}

/* Encoder down blocks [b0, b1) with their downsamplers (down block `no_resample_at` without it); *x in place. */
static tsr_status down_blocks(tsr_vae *v, tsr_act *x, int b0, int b1, int no_resample_at, tsr_error *err)
{
    vae_half *h = &v->enc;
    int nb = v->cfg.num_blocks;
    tsr_status st = TSR_OK;
    for (int i = b0; i < TSR_MIN(b1, nb) && st == TSR_OK; i++) {
        for (int j = 0; j < h->layers && st == TSR_OK; j++) st = resnet(v, &h->resnets[i * h->layers + j], x, err);
        if (st == TSR_OK && i < nb - 1 && i != no_resample_at) st = step_conv(v, &h->resample[i], x, NULL, 0, err);
    }
    return st;
}

/* conv_in and down blocks [0, to] without down block `to`'s downsampler: the frame-local front (a group_step;
 * the encoder has no first-chunk special case here). */
static tsr_status encoder_front(tsr_vae *v, tsr_act *x, int first_chunk, int to, tsr_error *err)
{
    (void)first_chunk;
    tsr_status st = step_conv(v, &v->enc.conv_in, x, NULL, 0, err);
    if (st == TSR_OK) st = down_blocks(v, x, 0, to + 1, to, err);
    return st;
}

/* The frame-local front over groups of `g` frames of x (consumed), into one tensor preallocated for the chunk,
 * which replaces *x (what the first temporal downsampler reads). */
static tsr_status front_in_groups(tsr_vae *v, tsr_act *x, int to, int g, tsr_error *err)
{
    int h = x->h, w = x->w;
    for (int i = 0; i < to; i++) { /* the spatial downsamplers before it */
        const tsr_conv_desc *d = &v->enc.resample[i].d;
        h = tsr_conv_out_len(h, d->kh, d->sh, d->pad_top, d->pad_bottom);
        w = tsr_conv_out_len(w, d->kw, d->sw, d->pad_left, d->pad_right);
    }
    tsr_act y = {0};
    tsr_status st = v->be->ops->act_alloc(v->be, v->cfg.block_out[to], x->t, h, w, &y, err);
    if (st == TSR_OK) st = in_groups(v, x, g, encoder_front, 0, to, &y, err);
    else act_drop(v, x);
    *x = y;
    return st;
}

tsr_status tsr_vae_encoder_forward(tsr_vae *v, tsr_act *x, int group, tsr_act *out, tsr_error *err)
{
    int to = tsr_vae_encoder_frame_local_to(v);
    tsr_status st = group > 0 && group < x->t ? front_in_groups(v, x, to, group, err) : encoder_front(v, x, 0, to, err);
    if (st == TSR_OK && to < v->cfg.num_blocks - 1) st = step_conv(v, &v->enc.resample[to], x, NULL, 0, err);
    if (st == TSR_OK) st = down_blocks(v, x, to + 1, v->cfg.num_blocks, -1, err);
    if (st == TSR_OK) return tsr_vae_encoder_tail(v, x, out, err);
    act_drop(v, x);
    return st;
}
