/* Architecture detection. Everything the weights can tell comes from them: channels per block (conv1 of each
 * block's first resnet), resnets per block (highest resnet index), in/out/latent channels (conv_in/conv_out),
 * temporal encoder downsamplers (kernel depth 3 vs 1) and temporal decoder upsamplers (upscale_conv emits
 * C*4*rt channels). Only what no tensor encodes (GroupNorm groups/eps, the latent scaling factor) comes from
 * the SeedVR2 defaults. The derived configuration then regenerates the full expected tensor list, and every
 * missing, unexpected or wrong-shaped tensor is reported by name. */
#include "model/detect.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "model/vae_tensors.h"

#define MAX_CHANNELS 65536
#define MAX_LAYERS 16

typedef struct det {
    const tsr_weights *w;
    tsr_detect_result *r;
    int total;                    /* problems found, including those not stored */
    bool nomem;
} det;

static void problem(det *d, const char *fmt, ...) TSR_PRINTF(2, 3);
static void problem(det *d, const char *fmt, ...)
{
    d->total++;
    if (d->r->problem_count >= TSR_DETECT_MAX_PROBLEMS) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char **p = realloc(d->r->problems, (size_t)(d->r->problem_count + 2) * sizeof *p);
    char *s = tsr_strdup(line);
    if (!p || !s) {
        free(s);
        if (p) d->r->problems = p;
        d->nomem = true;
        return;
    }
    d->r->problems = p;
    p[d->r->problem_count++] = s;
}

static const tsr_tensor_info *find(const det *d, int ndim, const char *fmt, ...) TSR_PRINTF(3, 4);
static const tsr_tensor_info *find(const det *d, int ndim, const char *fmt, ...)
{
    char name[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const tsr_tensor_info *t = tsr_weights_find(d->w, name);
    return t && t->ndim == ndim ? t : NULL;
}

/* 1 + the largest N among names "<prefix>N.<...>" (0 when none; -1 when an index is absurd). */
static int count_indexed(const tsr_weights *w, const char *prefix)
{
    size_t n = strlen(prefix);
    int most = 0;
    for (int i = 0; i < w->count; i++) {
        const char *s = w->tensors[i].name;
        if (strncmp(s, prefix, n) != 0) continue;
        s += n;
        long v = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 6) v = v * 10 + (*s++ - '0'), digits++;
        if (digits == 0 || *s != '.') continue; /* not an index: reported later as unexpected */
        if (v >= 1000) return -1;
        if ((int)v + 1 > most) most = (int)v + 1;
    }
    return most;
}

static bool channels_ok(det *d, const char *what, int64_t c)
{
    if (c >= 1 && c <= MAX_CHANNELS) return true;
    problem(d, "%s: %lld channels is not plausible", what, (long long)c);
    return false;
}

static int block_count(det *d, const char *prefix)
{
    int n = count_indexed(d->w, prefix);
    if (n < 1 || n > TSR_MAX_BLOCKS) problem(d, "%s*: %s blocks (1 to %d supported)", prefix, n < 0 ? "too many" : "no",
                                             TSR_MAX_BLOCKS);
    return n >= 1 && n <= TSR_MAX_BLOCKS ? n : 0;
}

static int layer_count(det *d, const char *prefix)
{
    int n = count_indexed(d->w, prefix);
    if (n < 1 || n > MAX_LAYERS) problem(d, "%s*: %s resnets (1 to %d supported)", prefix, n < 0 ? "too many" : "no",
                                         MAX_LAYERS);
    return n >= 1 && n <= MAX_LAYERS ? n : 0;
}

static bool derive_encoder(det *d, tsr_vae_config *c)
{
    const tsr_tensor_info *ci = find(d, 5, "encoder.conv_in.weight"), *co = find(d, 5, "encoder.conv_out.weight");
    if (!ci || !co) {
        problem(d, "encoder: %s missing or not a 5-D conv weight", ci ? "encoder.conv_out.weight" : "encoder.conv_in.weight");
        return false;
    }
    c->in_channels = (int)ci->shape[1];
    c->latent_channels = (int)(co->shape[0] / 2);
    if (!channels_ok(d, "encoder.conv_in.weight", ci->shape[1]) || !channels_ok(d, "encoder.conv_out.weight", co->shape[0] / 2))
        return false;
    if (!(c->num_blocks = block_count(d, "encoder.down_blocks."))) return false;
    if (!(c->enc_layers_per_block = layer_count(d, "encoder.down_blocks.0.resnets."))) return false;
    for (int i = 0; i < c->num_blocks; i++) {
        const tsr_tensor_info *t = find(d, 5, "encoder.down_blocks.%d.resnets.0.conv1.weight", i);
        if (!t) {
            problem(d, "encoder.down_blocks.%d.resnets.0.conv1.weight missing or not 5-D", i);
            return false;
        }
        if (!channels_ok(d, "encoder block", t->shape[0])) return false;
        c->block_out[i] = (int)t->shape[0];
        const tsr_tensor_info *ds = find(d, 5, "encoder.down_blocks.%d.downsamplers.0.conv.weight", i);
        c->enc_temporal_down[i] = ds && ds->shape[2] == 3;
    }
    return true;
}

static bool derive_decoder(det *d, tsr_vae_config *c)
{
    const tsr_tensor_info *ci = find(d, 5, "decoder.conv_in.weight"), *co = find(d, 5, "decoder.conv_out.weight");
    if (!ci || !co) {
        problem(d, "decoder: %s missing or not a 5-D conv weight", ci ? "decoder.conv_out.weight" : "decoder.conv_in.weight");
        return false;
    }
    c->latent_channels = (int)ci->shape[1];
    c->out_channels = (int)co->shape[0];
    if (!channels_ok(d, "decoder.conv_in.weight", ci->shape[1]) || !channels_ok(d, "decoder.conv_out.weight", co->shape[0]))
        return false;
    if (!(c->num_blocks = block_count(d, "decoder.up_blocks."))) return false;
    if (!(c->dec_layers_per_block = layer_count(d, "decoder.up_blocks.0.resnets."))) return false;
    int n = c->num_blocks;
    for (int i = 0; i < n; i++) {
        const tsr_tensor_info *t = find(d, 5, "decoder.up_blocks.%d.resnets.0.conv1.weight", i);
        if (!t) {
            problem(d, "decoder.up_blocks.%d.resnets.0.conv1.weight missing or not 5-D", i);
            return false;
        }
        if (!channels_ok(d, "decoder block", t->shape[0])) return false;
        c->block_out[n - 1 - i] = (int)t->shape[0];
        const tsr_tensor_info *us = find(d, 5, "decoder.up_blocks.%d.upsamplers.0.upscale_conv.weight", i);
        c->dec_temporal_up[i] = us && us->shape[0] == (int64_t)t->shape[0] * 8;
    }
    return true;
}

static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* Compare the tensors under `half` ("encoder." / "decoder.") with the list `c` generates. Returns problems. */
static int compare_half(det *d, const tsr_vae_config *c, const char *half)
{
    int before = d->total;
    int n = tsr_vae_tensor_specs(c, NULL, 0);
    tsr_tensor_spec *specs = n > 0 ? calloc((size_t)n, sizeof *specs) : NULL;
    if (!specs) {
        d->nomem = true;
        return 1;
    }
    tsr_vae_tensor_specs(c, specs, n);
    for (int i = 0; i < n; i++) {
        const tsr_tensor_info *t = tsr_weights_find(d->w, specs[i].name);
        if (!t) {
            problem(d, "missing tensor %s", specs[i].name);
            continue;
        }
        bool same = t->ndim == specs[i].ndim;
        for (int k = 0; same && k < t->ndim; k++) same = t->shape[k] == specs[i].shape[k];
        if (!same) {
            char have[96], want[96];
            tsr_shape_str(t->ndim, t->shape, have, sizeof have);
            tsr_shape_str(specs[i].ndim, specs[i].shape, want, sizeof want);
            problem(d, "tensor %s has shape %s, expected %s", t->name, have, want);
        }
    }
    for (int j = 0; j < d->w->count; j++) {
        const char *name = d->w->tensors[j].name;
        if (!has_prefix(name, half)) continue;
        int i = 0;
        while (i < n && strcmp(specs[i].name, name) != 0) i++;
        if (i == n) problem(d, "unexpected tensor %s", name);
    }
    free(specs);
    return d->total - before;
}

static bool check_groups(det *d, const tsr_vae_config *c)
{
    for (int i = 0; i < c->num_blocks; i++)
        if (c->block_out[i] % c->norm_groups) {
            problem(d, "block %d has %d channels, not a multiple of the %d GroupNorm groups", i, c->block_out[i],
                    c->norm_groups);
            return false;
        }
    return true;
}

/* One half: derive, check, compare. `c` receives the half's configuration. */
static bool half_ok(det *d, bool enc, tsr_vae_config *c)
{
    tsr_vae_config_seedvr2(c);
    memset(c->block_out, 0, sizeof c->block_out);
    memset(c->enc_temporal_down, 0, sizeof c->enc_temporal_down);
    memset(c->dec_temporal_up, 0, sizeof c->dec_temporal_up);
    c->has_encoder = enc;
    c->has_decoder = !enc;
    if (!(enc ? derive_encoder(d, c) : derive_decoder(d, c))) return false;
    if (!check_groups(d, c)) return false;
    return compare_half(d, c, enc ? "encoder." : "decoder.") == 0;
}

static bool same_trunk(det *d, const tsr_vae_config *e, const tsr_vae_config *dc)
{
    bool same = e->num_blocks == dc->num_blocks && e->latent_channels == dc->latent_channels;
    for (int i = 0; same && i < e->num_blocks; i++) same = e->block_out[i] == dc->block_out[i];
    if (!same) problem(d, "encoder and decoder disagree (block channels or latent channels): not one VAE");
    return same;
}

static void classify(det *d, bool has_enc, bool has_dec, int others)
{
    tsr_detect_result *r = d->r;
    tsr_vae_config ec, dc;
    bool enc_ok = has_enc && half_ok(d, true, &ec);
    bool dec_ok = has_dec && half_ok(d, false, &dc);
    r->kind = TSR_MODEL_NOT_VAE;
    if (!has_enc && !has_dec) {
        snprintf(r->explanation, sizeof r->explanation, "no encoder.* or decoder.* tensors among its %d",
                 d->w->count);
    } else if ((has_enc && !enc_ok) || (has_dec && !dec_ok)) {
        snprintf(r->explanation, sizeof r->explanation, "%s tensors do not form a SeedVR2 %s (%d problems)",
                 has_enc && !enc_ok ? "encoder.*" : "decoder.*", has_enc && !enc_ok ? "encoder" : "decoder",
                 d->total);
    } else if (others > 0) {
        snprintf(r->explanation, sizeof r->explanation, "%d tensors outside encoder.* / decoder.*", others);
    } else if (enc_ok && dec_ok && !same_trunk(d, &ec, &dc)) {
        snprintf(r->explanation, sizeof r->explanation, "encoder and decoder are not from one VAE");
    } else {
        r->config = enc_ok ? ec : dc;
        if (enc_ok && dec_ok) {
            r->config.out_channels = dc.out_channels;
            r->config.dec_layers_per_block = dc.dec_layers_per_block;
            memcpy(r->config.dec_temporal_up, dc.dec_temporal_up, sizeof dc.dec_temporal_up);
            r->config.has_decoder = 1;
        }
        if (!enc_ok) r->config.in_channels = dc.out_channels;  /* RGB in = RGB out; no tensor says otherwise */
        if (!dec_ok) r->config.out_channels = ec.in_channels;
        r->kind = enc_ok && dec_ok ? TSR_MODEL_FULL : enc_ok ? TSR_MODEL_ENCODER_ONLY : TSR_MODEL_DECODER_ONLY;
        snprintf(r->explanation, sizeof r->explanation, "%s: %d blocks, %d latent channels",
                 enc_ok && dec_ok ? "encoder and decoder" : enc_ok ? "encoder.* tensors only" : "decoder.* tensors only",
                 r->config.num_blocks, r->config.latent_channels);
    }
}

tsr_status tsr_detect(const tsr_weights *w, tsr_detect_result *out, tsr_error *err)
{
    memset(out, 0, sizeof *out);
    det d = {w, out, 0, false};
    int enc = 0, dec = 0, others = 0;
    for (int i = 0; i < w->count; i++) {
        const char *s = w->tensors[i].name;
        if (has_prefix(s, "encoder.")) enc++;
        else if (has_prefix(s, "decoder.")) dec++;
        else if (others++ < 8) problem(&d, "unexpected tensor %s (not under encoder. or decoder.)", s);
        else d.total++;
    }
    classify(&d, enc > 0, dec > 0, others);
    if (d.total > out->problem_count && !d.nomem) {
        char line[64];
        snprintf(line, sizeof line, "... and %d more", d.total - out->problem_count);
        out->problems[out->problem_count] = tsr_strdup(line); /* problem() always leaves one spare slot */
        if (out->problems[out->problem_count]) out->problem_count++;
    }
    if (d.nomem) {
        tsr_detect_result_free(out);
        return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
    }
    return TSR_OK;
}

void tsr_detect_result_free(tsr_detect_result *r)
{
    for (int i = 0; i < r->problem_count; i++) free(r->problems[i]);
    free(r->problems);
    memset(r, 0, sizeof *r);
}
