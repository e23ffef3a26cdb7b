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

/* Upsample3D (spec §3.5): 1x1x1 upscale conv, depth-to-space (dropping frame 1 on the first chunk),
 * causal 3x3x3 conv. */
static tsr_status upsample(tsr_vae *v, vae_half *h, int i, tsr_act *x, int first_chunk, tsr_error *err)
{
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

tsr_status tsr_vae_decoder_head(tsr_vae *v, tsr_act *x, int first_chunk, int blocks, tsr_error *err)
{
    vae_half *h = &v->dec;
    int nb = v->cfg.num_blocks;
    tsr_status st = step_conv(v, &h->conv_in, x, NULL, 0, err);
    if (st == TSR_OK) st = mid_block(v, h, x, err);
    for (int i = 0; i < TSR_MIN(blocks, nb) && st == TSR_OK; i++) {
        for (int j = 0; j < h->layers && st == TSR_OK; j++) st = resnet(v, &h->resnets[i * h->layers + j], x, err);
        if (st == TSR_OK && i < nb - 1) st = upsample(v, h, i, x, first_chunk, err);
    }
    return st;
}

tsr_status tsr_vae_decoder_forward(tsr_vae *v, tsr_act *x, int first_chunk, tsr_act *out, tsr_error *err)
{
    vae_half *h = &v->dec;
    tsr_status st = TSR_OK;
    if (v->dec_first_host && v->dec_first_host->state) /* host states: the chunk's first one on its way */
        st = v->be->ops->state_prefetch(v->be, v->dec_first_host->state, err);
    if (st == TSR_OK) st = tsr_vae_decoder_head(v, x, first_chunk, v->cfg.num_blocks, err);
    if (st == TSR_OK) st = step_conv(v, &h->conv_out, x, h->norm_out, 1, err);
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

tsr_status tsr_vae_encoder_forward(tsr_vae *v, tsr_act *x, tsr_act *out, tsr_error *err)
{
    vae_half *h = &v->enc;
    int nb = v->cfg.num_blocks;
    tsr_status st = step_conv(v, &h->conv_in, x, NULL, 0, err);
    for (int i = 0; i < nb && st == TSR_OK; i++) {
        for (int j = 0; j < h->layers && st == TSR_OK; j++) st = resnet(v, &h->resnets[i * h->layers + j], x, err);
        if (st == TSR_OK && i < nb - 1) st = step_conv(v, &h->resample[i], x, NULL, 0, err);
    }
    if (st == TSR_OK) return tsr_vae_encoder_tail(v, x, out, err);
    act_drop(v, x);
    return st;
}
