/* Binding a model's tensors to a backend: every conv/norm/attention is converted to fp32 on the host and
 * uploaded through the op table, layer by layer (the host copy is freed right after). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "vae/precision.h"
#include "vae/vae_internal.h"

typedef struct conv_geom {
    int cin, cout, kt, kh, kw, st, sh, sw, pt, pb, pl, pr;
} conv_geom;

/* The host fp32 weight and bias of conv `prefix` (free() both). */
static tsr_status read_conv(const tsr_weights *w, const char *prefix, conv_geom g, float **wt, float **bias,
                            tsr_error *err)
{
    char name[128];
    int64_t ws[5] = {g.cout, g.cin, g.kt, g.kh, g.kw}, bs[1] = {g.cout};
    *wt = *bias = NULL;
    snprintf(name, sizeof name, "%s.weight", prefix);
    tsr_status st = tsr_weights_load_f32(w, name, 5, ws, wt, err);
    snprintf(name, sizeof name, "%s.bias", prefix);
    if (st == TSR_OK) st = tsr_weights_load_f32(w, name, 1, bs, bias, err);
    return st;
}

/* c named and described (causal where kt > 1), without weights yet. */
static void conv_init(vae_conv *c, const char *name, conv_geom g)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->d = (tsr_conv_desc){g.cin, g.cout, g.kt, g.kh, g.kw, g.st, g.sh, g.sw, g.pt, g.pb, g.pl, g.pr, g.kt > 1,
                           TSR_LP_DEFAULT, c->name};
}

static tsr_status upload_conv(tsr_vae *v, const char *name, conv_geom g, const float *wt, const float *bias, vae_conv *c,
                              tsr_error *err)
{
    conv_init(c, name, g);
    /* the engine precision's per-layer policy (vae/precision.c): FP8 where the table allows it */
    c->d.precision = tsr_layer_precision_for(v->engine->params.precision, c->name, NULL);
    return v->be->ops->conv_upload(v->be, &c->d, wt, bias, &c->w, err);
}

static tsr_status load_conv(tsr_vae *v, const tsr_weights *w, const char *prefix, conv_geom g, vae_conv *c,
                            tsr_error *err)
{
    float *wt = NULL, *bias = NULL;
    tsr_status st = read_conv(w, prefix, g, &wt, &bias, err);
    if (st == TSR_OK) st = upload_conv(v, prefix, g, wt, bias, c, err);
    else memset(c, 0, sizeof *c);
    free(wt);
    free(bias);
    return st;
}

static conv_geom k3(int cin, int cout) { return (conv_geom){cin, cout, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1}; }
static conv_geom k1(int cin, int cout) { return (conv_geom){cin, cout, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}; }

static tsr_status load_norm(tsr_vae *v, const tsr_weights *w, const char *prefix, int ch, tsr_wt **out,
                            tsr_error *err)
{
    char name[128];
    int64_t s[1] = {ch};
    float *g = NULL, *b = NULL;
    snprintf(name, sizeof name, "%s.weight", prefix);
    tsr_status st = tsr_weights_load_f32(w, name, 1, s, &g, err);
    snprintf(name, sizeof name, "%s.bias", prefix);
    if (st == TSR_OK) st = tsr_weights_load_f32(w, name, 1, s, &b, err);
    if (st == TSR_OK) st = v->be->ops->norm_upload(v->be, ch, v->cfg.norm_groups, v->cfg.norm_eps, g, b, out, err);
    free(g);
    free(b);
    return st;
}

static tsr_status load_resnet(tsr_vae *v, const tsr_weights *w, const char *p, int cin, int cout, vae_resnet *r,
                              tsr_error *err)
{
    char n[128];
    memset(r, 0, sizeof *r);
    snprintf(n, sizeof n, "%s.norm1", p);
    tsr_status st = load_norm(v, w, n, cin, &r->norm1, err);
    snprintf(n, sizeof n, "%s.conv1", p);
    if (st == TSR_OK) st = load_conv(v, w, n, k3(cin, cout), &r->conv1, err);
    snprintf(n, sizeof n, "%s.norm2", p);
    if (st == TSR_OK) st = load_norm(v, w, n, cout, &r->norm2, err);
    snprintf(n, sizeof n, "%s.conv2", p);
    if (st == TSR_OK) st = load_conv(v, w, n, k3(cout, cout), &r->conv2, err);
    snprintf(n, sizeof n, "%s.conv_shortcut", p);
    if (st == TSR_OK && cin != cout) st = load_conv(v, w, n, k1(cin, cout), &r->shortcut, err);
    return st;
}

static tsr_status load_attention(tsr_vae *v, const tsr_weights *w, const char *half, int c, vae_half *h,
                                 tsr_error *err)
{
    static const char *lin[4] = {"to_q", "to_k", "to_v", "to_out.0"};
    char n[128];
    float *m[4][2] = {{0}};
    int64_t ws[2] = {c, c}, bs[1] = {c};
    snprintf(n, sizeof n, "%s.mid_block.attentions.0.group_norm", half);
    tsr_status st = load_norm(v, w, n, c, &h->attn_norm, err);
    for (int i = 0; i < 4 && st == TSR_OK; i++) {
        snprintf(n, sizeof n, "%s.mid_block.attentions.0.%s.weight", half, lin[i]);
        st = tsr_weights_load_f32(w, n, 2, ws, &m[i][0], err);
        snprintf(n, sizeof n, "%s.mid_block.attentions.0.%s.bias", half, lin[i]);
        if (st == TSR_OK) st = tsr_weights_load_f32(w, n, 1, bs, &m[i][1], err);
    }
    if (st == TSR_OK) {
        const float *q[2] = {m[0][0], m[0][1]}, *k[2] = {m[1][0], m[1][1]};
        const float *vv[2] = {m[2][0], m[2][1]}, *o[2] = {m[3][0], m[3][1]};
        st = v->be->ops->attn_upload(v->be, c, h->attn_norm, q, k, vv, o, &h->attn, err);
    }
    for (int i = 0; i < 4; i++) free(m[i][0]), free(m[i][1]);
    return st;
}

static tsr_status load_mid(tsr_vae *v, const tsr_weights *w, const char *half, int c, vae_half *h, tsr_error *err)
{
    char n[128];
    tsr_status st = load_attention(v, w, half, c, h, err);
    for (int r = 0; r < 2 && st == TSR_OK; r++) {
        snprintf(n, sizeof n, "%s.mid_block.resnets.%d", half, r);
        st = load_resnet(v, w, n, c, c, &h->mid[r], err);
    }
    return st;
}

static tsr_status load_encoder(tsr_vae *v, const tsr_weights *w, vae_half *h, tsr_error *err)
{
    const tsr_vae_config *c = &v->cfg;
    int nb = c->num_blocks, top = c->block_out[nb - 1];
    char n[128];
    tsr_status st = load_conv(v, w, "encoder.conv_in", k3(c->in_channels, c->block_out[0]), &h->conv_in, err);
    for (int i = 0; i < nb && st == TSR_OK; i++) {
        int cin = i == 0 ? c->block_out[0] : c->block_out[i - 1], cout = c->block_out[i];
        for (int j = 0; j < h->layers && st == TSR_OK; j++) {
            snprintf(n, sizeof n, "encoder.down_blocks.%d.resnets.%d", i, j);
            st = load_resnet(v, w, n, j == 0 ? cin : cout, cout, &h->resnets[i * h->layers + j], err);
        }
        if (st != TSR_OK || i == nb - 1) continue;
        /* spec §3.6: pad right/bottom by one, stride 2; 3x3x3 stride 2 (causal) where time halves */
        int td = c->enc_temporal_down[i] != 0;
        conv_geom g = {cout, cout, td ? 3 : 1, 3, 3, td ? 2 : 1, 2, 2, 0, 1, 0, 1};
        snprintf(n, sizeof n, "encoder.down_blocks.%d.downsamplers.0.conv", i);
        st = load_conv(v, w, n, g, &h->resample[i], err);
    }
    if (st == TSR_OK) st = load_mid(v, w, "encoder", top, h, err);
    if (st == TSR_OK) st = load_norm(v, w, "encoder.conv_norm_out", top, &h->norm_out, err);
    if (st == TSR_OK) st = load_conv(v, w, "encoder.conv_out", k3(top, 2 * c->latent_channels), &h->conv_out, err);
    return st;
}

/* Whether the decoder's upsamplers run composed (vae_upcompose.c): TSR_UPSAMPLE_COMPOSE=0/1, else on a GPU backend
 * (the CPU backend stays the reference's op sequence: the composition costs ~30 G multiply-adds per temporal
 * upsampler of the full model at load, more than it saves on short CPU decodes). */
static int want_composed(const tsr_vae *v)
{
    const char *e = getenv("TSR_UPSAMPLE_COMPOSE");
    if (e && *e) return *e != '0';
    return strcmp(v->be->ops->name, "cpu") != 0;
}

/* Upsample3D i: the 1x1 conv and the 3x3x3 conv as they are (the tiled executor runs them), and composed. */
static tsr_status load_upsampler(tsr_vae *v, const tsr_weights *w, vae_half *h, int i, int c, tsr_error *err)
{
    char n[2][128];
    int rt = h->rt[i];
    snprintf(n[0], sizeof n[0], "decoder.up_blocks.%d.upsamplers.0.upscale_conv", i);
    snprintf(n[1], sizeof n[1], "decoder.up_blocks.%d.upsamplers.0.conv", i);
    conv_geom g[2] = {k1(c, c * 4 * rt), k3(c, c)};
    float *wt[2] = {NULL, NULL}, *bias[2] = {NULL, NULL};
    tsr_status st = TSR_OK;
    for (int k = 0; k < 2 && st == TSR_OK; k++) {
        st = read_conv(w, n[k], g[k], &wt[k], &bias[k], err);
        if (st == TSR_OK) st = upload_conv(v, n[k], g[k], wt[k], bias[k], k ? &h->resample[i] : &h->upscale[i], err);
    }
    tsr_upcomposed u[TSR_UPC_VARIANTS];
    if (st == TSR_OK && h->composed)
        st = tsr_vae_upcompose(wt[0], bias[0], wt[1], bias[1], c, rt, v->engine->params.threads, u, err);
    else memset(u, 0, sizeof u);
    static const char *const what[TSR_UPC_VARIANTS] = {"", " (low-res frame 1)", " (low-res frame 0)"};
    for (int k = 0; k < TSR_UPC_VARIANTS && st == TSR_OK && h->composed; k++) {
        if (!u[k].w) continue;
        char name[128];
        snprintf(name, sizeof name, "decoder.up_blocks.%d.upsamplers.0.conv+upscale_conv%s", i, what[k]);
        vae_conv *cv = &h->upc[i][k];
        conv_init(cv, name, (conv_geom){c, u[k].cout, u[k].kt, 2, 2, 1, 1, 1, 1, 1, 1, 1});
        cv->d.shuffle_rt = u[k].rt; /* bf16 whatever the policy: no sensitivity scan covers the composed convs */
        cv->low_res = 1;
        st = v->be->ops->conv_upload(v->be, &cv->d, u[k].w, u[k].b, &cv->w, err);
        if (st == TSR_ERR_UNSUPPORTED) { /* e.g. a channel count the GPU shuffle does not take: the op sequence */
            tsr_log(TSR_LOG_INFO, "%s: not composed (%s)", name, err->message);
            for (int b = 0; b <= i; b++) /* the upsamplers composed before this one too */
                for (int j = 0; j < TSR_UPC_VARIANTS; j++)
                    v->be->ops->wt_free(v->be, h->upc[b][j].w), h->upc[b][j].w = NULL;
            h->composed = 0;
            st = TSR_OK;
        }
    }
    tsr_vae_upcompose_free(u);
    for (int k = 0; k < 2; k++) free(wt[k]), free(bias[k]);
    return st;
}

static tsr_status load_decoder(tsr_vae *v, const tsr_weights *w, vae_half *h, tsr_error *err)
{
    const tsr_vae_config *c = &v->cfg;
    int nb = c->num_blocks, top = c->block_out[nb - 1], prev = top;
    char n[128];
    h->composed = want_composed(v);
    tsr_status st = load_conv(v, w, "decoder.conv_in", k3(c->latent_channels, top), &h->conv_in, err);
    if (st == TSR_OK) st = load_mid(v, w, "decoder", top, h, err);
    for (int i = 0; i < nb && st == TSR_OK; i++) {
        int cout = c->block_out[nb - 1 - i];
        for (int j = 0; j < h->layers && st == TSR_OK; j++) {
            snprintf(n, sizeof n, "decoder.up_blocks.%d.resnets.%d", i, j);
            st = load_resnet(v, w, n, j == 0 ? prev : cout, cout, &h->resnets[i * h->layers + j], err);
        }
        prev = cout;
        if (st != TSR_OK || i == nb - 1) continue;
        h->rt[i] = c->dec_temporal_up[i] ? 2 : 1;
        st = load_upsampler(v, w, h, i, cout, err);
    }
    if (st == TSR_OK) st = load_norm(v, w, "decoder.conv_norm_out", c->block_out[0], &h->norm_out, err);
    if (st == TSR_OK)
        st = load_conv(v, w, "decoder.conv_out", k3(c->block_out[0], c->out_channels), &h->conv_out, err);
    return st;
}

tsr_status tsr_vae_load_half(tsr_vae *v, const tsr_weights *w, int encoder, tsr_error *err)
{
    vae_half *h = encoder ? &v->enc : &v->dec;
    h->layers = encoder ? v->cfg.enc_layers_per_block : v->cfg.dec_layers_per_block;
    if (h->layers < 1 || v->cfg.num_blocks < 1 || v->cfg.num_blocks > TSR_MAX_BLOCKS)
        return tsr_fail(err, TSR_ERR_MODEL, "invalid VAE configuration (%d blocks, %d layers)", v->cfg.num_blocks,
                        h->layers);
    h->resnets = tsr_calloc((size_t)v->cfg.num_blocks * h->layers, sizeof *h->resnets, err);
    if (!h->resnets) return TSR_ERR_NOMEM;
    tsr_status st = encoder ? load_encoder(v, w, h, err) : load_decoder(v, w, h, err);
    if (st != TSR_OK) tsr_vae_free_half(v, h);
    return st;
}

static void drop_tile_states(tsr_backend *be, vae_conv *c)
{
    for (int i = 0; i < c->tile_count; i++) {
        if (c->tile_states) be->ops->state_free(be, c->tile_states[i]);
        if (c->tile_hist) free(c->tile_hist[i]);
    }
    free(c->tile_states);
    free(c->tile_hist);
    c->tile_states = NULL;
    c->tile_hist = NULL;
    c->tile_count = 0;
}

static void free_conv(tsr_backend *be, vae_conv *c)
{
    drop_tile_states(be, c);
    be->ops->state_free(be, c->state);
    be->ops->wt_free(be, c->w);
    c->state = NULL;
    c->w = NULL;
}

static void free_resnet(tsr_backend *be, vae_resnet *r)
{
    be->ops->wt_free(be, r->norm1);
    be->ops->wt_free(be, r->norm2);
    free_conv(be, &r->conv1);
    free_conv(be, &r->conv2);
    free_conv(be, &r->shortcut);
    r->norm1 = r->norm2 = NULL;
}

void tsr_vae_free_half(tsr_vae *v, vae_half *h)
{
    tsr_backend *be = v->be;
    free_conv(be, &h->conv_in);
    free_conv(be, &h->conv_out);
    for (int i = 0; h->resnets && i < v->cfg.num_blocks * h->layers; i++) free_resnet(be, &h->resnets[i]);
    free(h->resnets);
    h->resnets = NULL;
    for (int i = 0; i < TSR_MAX_BLOCKS; i++) {
        free_conv(be, &h->resample[i]), free_conv(be, &h->upscale[i]);
        for (int k = 0; k < TSR_UPC_VARIANTS; k++) free_conv(be, &h->upc[i][k]);
    }
    free_resnet(be, &h->mid[0]);
    free_resnet(be, &h->mid[1]);
    be->ops->wt_free(be, h->attn_norm);
    be->ops->wt_free(be, h->attn);
    be->ops->wt_free(be, h->norm_out);
    h->attn_norm = h->attn = h->norm_out = NULL;
}

static void drop_state(tsr_backend *be, vae_conv *c)
{
    drop_tile_states(be, c);
    be->ops->state_free(be, c->state);
    c->state = NULL;
}

/* Forget every causal state: the next chunk is a first chunk (frame-0 replication). */
void tsr_vae_reset_states(tsr_vae *v, vae_half *h)
{
    tsr_backend *be = v->be;
    drop_state(be, &h->conv_in);
    drop_state(be, &h->conv_out);
    for (int i = 0; h->resnets && i < v->cfg.num_blocks * h->layers; i++) {
        drop_state(be, &h->resnets[i].conv1);
        drop_state(be, &h->resnets[i].conv2);
    }
    for (int i = 0; i < TSR_MAX_BLOCKS; i++) {
        drop_state(be, &h->resample[i]);
        for (int k = 0; k < TSR_UPC_VARIANTS; k++) drop_state(be, &h->upc[i][k]);
        h->up_seen[i] = 0;
    }
    for (int r = 0; r < 2; r++) drop_state(be, &h->mid[r].conv1), drop_state(be, &h->mid[r].conv2);
}
