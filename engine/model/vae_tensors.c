#include "model/vae_tensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "model/filler.h"
#include "model/weights.h"

void tsr_vae_config_seedvr2(tsr_vae_config *cfg)
{
    static const int ch[4] = {128, 256, 512, 512};
    memset(cfg, 0, sizeof *cfg);
    cfg->in_channels = 3;
    cfg->out_channels = 3;
    cfg->latent_channels = 16;
    cfg->num_blocks = 4;
    for (int i = 0; i < 4; i++) cfg->block_out[i] = ch[i];
    cfg->enc_layers_per_block = 2;
    cfg->dec_layers_per_block = 3;
    cfg->enc_temporal_down[1] = cfg->enc_temporal_down[2] = 1;
    cfg->dec_temporal_up[0] = cfg->dec_temporal_up[1] = 1;
    cfg->norm_groups = 32;
    cfg->norm_eps = 1e-6f;
    cfg->scaling_factor = 0.9152f;
    cfg->has_encoder = 1;
    cfg->has_decoder = 1;
}

typedef struct emitter {
    tsr_tensor_spec *specs;
    int cap, n;
} emitter;

static void emit(emitter *e, const char *prefix, const char *leaf, int ndim, int64_t a, int64_t b, int64_t c,
                 int64_t d, int64_t f)
{
    if (e->specs && e->n < e->cap) {
        tsr_tensor_spec *s = &e->specs[e->n];
        snprintf(s->name, sizeof s->name, "%s.%s", prefix, leaf);
        int64_t dims[5] = {a, b, c, d, f};
        s->ndim = ndim;
        for (int i = 0; i < 5; i++) s->shape[i] = i < ndim ? dims[i] : 0;
    }
    e->n++;
}

static void emit_norm(emitter *e, const char *p, const char *norm, int c)
{
    char leaf[64];
    snprintf(leaf, sizeof leaf, "%s.weight", norm);
    emit(e, p, leaf, 1, c, 0, 0, 0, 0);
    snprintf(leaf, sizeof leaf, "%s.bias", norm);
    emit(e, p, leaf, 1, c, 0, 0, 0, 0);
}

static void emit_conv(emitter *e, const char *p, const char *conv, int cout, int cin, int kt, int kh, int kw)
{
    char leaf[64];
    snprintf(leaf, sizeof leaf, "%s.weight", conv);
    emit(e, p, leaf, 5, cout, cin, kt, kh, kw);
    snprintf(leaf, sizeof leaf, "%s.bias", conv);
    emit(e, p, leaf, 1, cout, 0, 0, 0, 0);
}

static void emit_resnet(emitter *e, const char *p, int cin, int cout)
{
    emit_norm(e, p, "norm1", cin);
    emit_conv(e, p, "conv1", cout, cin, 3, 3, 3);
    emit_norm(e, p, "norm2", cout);
    emit_conv(e, p, "conv2", cout, cout, 3, 3, 3);
    if (cin != cout) emit_conv(e, p, "conv_shortcut", cout, cin, 1, 1, 1);
}

static void emit_attention(emitter *e, const char *p, int c)
{
    emit_norm(e, p, "group_norm", c);
    static const char *lin[4] = {"to_q", "to_k", "to_v", "to_out.0"};
    for (int i = 0; i < 4; i++) {
        char leaf[64];
        snprintf(leaf, sizeof leaf, "%s.weight", lin[i]);
        emit(e, p, leaf, 2, c, c, 0, 0, 0);
        snprintf(leaf, sizeof leaf, "%s.bias", lin[i]);
        emit(e, p, leaf, 1, c, 0, 0, 0, 0);
    }
}

static void emit_mid(emitter *e, const char *half, int c)
{
    char p[96];
    snprintf(p, sizeof p, "%s.mid_block.attentions.0", half);
    emit_attention(e, p, c);
    for (int r = 0; r < 2; r++) {
        snprintf(p, sizeof p, "%s.mid_block.resnets.%d", half, r);
        emit_resnet(e, p, c, c);
    }
}

static void emit_encoder(emitter *e, const tsr_vae_config *cfg)
{
    int n = cfg->num_blocks, top = cfg->block_out[n - 1];
    char p[96];
    emit_conv(e, "encoder", "conv_in", cfg->block_out[0], cfg->in_channels, 3, 3, 3);
    for (int i = 0; i < n; i++) {
        int cin = i == 0 ? cfg->block_out[0] : cfg->block_out[i - 1], cout = cfg->block_out[i];
        for (int j = 0; j < cfg->enc_layers_per_block; j++) {
            snprintf(p, sizeof p, "encoder.down_blocks.%d.resnets.%d", i, j);
            emit_resnet(e, p, j == 0 ? cin : cout, cout);
        }
        if (i < n - 1) {
            snprintf(p, sizeof p, "encoder.down_blocks.%d.downsamplers.0", i);
            emit_conv(e, p, "conv", cout, cout, cfg->enc_temporal_down[i] ? 3 : 1, 3, 3);
        }
    }
    emit_mid(e, "encoder", top);
    emit_norm(e, "encoder", "conv_norm_out", top);
    emit_conv(e, "encoder", "conv_out", 2 * cfg->latent_channels, top, 3, 3, 3);
}

static void emit_decoder(emitter *e, const tsr_vae_config *cfg)
{
    int n = cfg->num_blocks, top = cfg->block_out[n - 1];
    char p[96];
    emit_conv(e, "decoder", "conv_in", top, cfg->latent_channels, 3, 3, 3);
    int prev = top;
    for (int i = 0; i < n; i++) {
        int cout = cfg->block_out[n - 1 - i];
        for (int j = 0; j < cfg->dec_layers_per_block; j++) {
            snprintf(p, sizeof p, "decoder.up_blocks.%d.resnets.%d", i, j);
            emit_resnet(e, p, j == 0 ? prev : cout, cout);
        }
        if (i < n - 1) {
            int rt = cfg->dec_temporal_up[i] ? 2 : 1;
            snprintf(p, sizeof p, "decoder.up_blocks.%d.upsamplers.0", i);
            emit_conv(e, p, "conv", cout, cout, 3, 3, 3);
            emit_conv(e, p, "upscale_conv", cout * 4 * rt, cout, 1, 1, 1);
        }
        prev = cout;
    }
    emit_mid(e, "decoder", top);
    emit_norm(e, "decoder", "conv_norm_out", cfg->block_out[0]);
    emit_conv(e, "decoder", "conv_out", cfg->out_channels, cfg->block_out[0], 3, 3, 3);
}

int tsr_vae_tensor_specs(const tsr_vae_config *cfg, tsr_tensor_spec *specs, int cap)
{
    emitter e = {specs, cap, 0};
    if (cfg->num_blocks < 1 || cfg->num_blocks > TSR_MAX_BLOCKS) return 0;
    if (cfg->has_encoder) emit_encoder(&e, cfg);
    if (cfg->has_decoder) emit_decoder(&e, cfg);
    return e.n;
}

tsr_status tsr_weights_builtin(const tsr_vae_config *cfg, tsr_weights *w, tsr_error *err)
{
    int n = tsr_vae_tensor_specs(cfg, NULL, 0);
    if (n <= 0) return tsr_fail(err, TSR_ERR_INVALID_ARG, "invalid VAE configuration");
    tsr_tensor_spec *specs = tsr_calloc((size_t)n, sizeof *specs, err);
    if (!specs) return TSR_ERR_NOMEM;
    tsr_vae_tensor_specs(cfg, specs, n);
    tsr_weights_init(w);
    w->format = TSR_FORMAT_BUILTIN;
    tsr_status st = TSR_OK;
    for (int i = 0; i < n && st == TSR_OK; i++) {
        const tsr_tensor_spec *s = &specs[i];
        int64_t numel = 1;
        for (int d = 0; d < s->ndim; d++) numel *= s->shape[d];
        float *data = tsr_malloc((size_t)numel * sizeof(float), err);
        if (!data) {
            st = TSR_ERR_NOMEM;
            break;
        }
        double scale, offset;
        tsr_filler_vae_rule(s->name, s->ndim, s->shape, &scale, &offset);
        tsr_filler_fill(s->name, scale, offset, 0, (uint64_t)numel, data);
        st = tsr_weights_add(w, s->name, TSR_DT_F32, s->ndim, s->shape, data, (size_t)numel * 4, true, err);
        if (st != TSR_OK) free(data);
    }
    free(specs);
    if (st != TSR_OK) tsr_weights_free(w);
    return st;
}
