/* Architecture detection: configurations are read back from names and shapes alone (several, not only
 * SeedVR2's), halves are classified, and every missing / unexpected / wrong-shaped tensor is named. */
#include "core/common.h"
#include "model/detect.h"
#include "model/vae_tensors.h"
#include "model/weights.h"
#include "tsr_test.h"

/* Names and shapes only (data NULL): detection never reads tensor data. */
static void build(const tsr_vae_config *cfg, tsr_weights *w)
{
    int n = tsr_vae_tensor_specs(cfg, NULL, 0);
    tsr_tensor_spec *s = calloc((size_t)n, sizeof *s);
    REQUIRE(s);
    tsr_vae_tensor_specs(cfg, s, n);
    tsr_weights_init(w);
    for (int i = 0; i < n; i++) REQUIRE(tsr_weights_add(w, s[i].name, TSR_DT_F16, s[i].ndim, s[i].shape, NULL, 0, false, NULL) == TSR_OK);
    free(s);
}

static bool same_config(const tsr_vae_config *a, const tsr_vae_config *b)
{
    bool ok = a->in_channels == b->in_channels && a->out_channels == b->out_channels &&
              a->latent_channels == b->latent_channels && a->num_blocks == b->num_blocks &&
              a->has_encoder == b->has_encoder && a->has_decoder == b->has_decoder;
    if (a->has_encoder) ok = ok && a->enc_layers_per_block == b->enc_layers_per_block;
    if (a->has_decoder) ok = ok && a->dec_layers_per_block == b->dec_layers_per_block;
    for (int i = 0; ok && i < a->num_blocks; i++)
        ok = a->block_out[i] == b->block_out[i] && (!a->has_encoder || a->enc_temporal_down[i] == b->enc_temporal_down[i]) &&
             (!a->has_decoder || a->dec_temporal_up[i] == b->dec_temporal_up[i]);
    return ok;
}

static void expect_kind(const tsr_vae_config *cfg, tsr_model_kind kind)
{
    tsr_weights w;
    build(cfg, &w);
    tsr_detect_result r;
    REQUIRE(tsr_detect(&w, &r, NULL) == TSR_OK);
    CHECKF(r.kind == kind, "kind %d, expected %d (%s; %s)", r.kind, kind, r.explanation,
           r.problem_count ? r.problems[0] : "no problems");
    CHECK(r.problem_count == 0);
    CHECKF(same_config(&r.config, cfg), "config differs for %d blocks %d..%d", cfg->num_blocks, cfg->block_out[0],
           cfg->block_out[cfg->num_blocks - 1]);
    tsr_detect_result_free(&r);
    tsr_weights_free(&w);
}

static void configurations(void)
{
    tsr_vae_config c;
    tsr_vae_config_seedvr2(&c);
    expect_kind(&c, TSR_MODEL_FULL);
    c.has_encoder = 0;
    expect_kind(&c, TSR_MODEL_DECODER_ONLY);
    c.has_encoder = 1;
    c.has_decoder = 0;
    expect_kind(&c, TSR_MODEL_ENCODER_ONLY);
    /* a different VAE: 3 blocks, other channels, other temporal pattern, other depths and I/O channels */
    memset(&c, 0, sizeof c);
    tsr_vae_config_seedvr2(&c);
    c.num_blocks = 3;
    c.block_out[0] = 64, c.block_out[1] = 96, c.block_out[2] = 160, c.block_out[3] = 0;
    c.enc_layers_per_block = 1, c.dec_layers_per_block = 2;
    c.enc_temporal_down[0] = 1, c.enc_temporal_down[1] = 0, c.enc_temporal_down[2] = 0;
    c.dec_temporal_up[0] = 0, c.dec_temporal_up[1] = 1;
    c.latent_channels = 4, c.in_channels = c.out_channels = 3;
    expect_kind(&c, TSR_MODEL_FULL);
}

static tsr_detect_result detect_edited(const char *drop, const char *reshape, const char *extra)
{
    tsr_vae_config c;
    tsr_vae_config_seedvr2(&c);
    static const int ch[4] = {32, 32, 64, 64};
    memcpy(c.block_out, ch, sizeof ch);
    tsr_weights w;
    build(&c, &w);
    for (int i = 0; i < w.count; i++) {
        if (drop && strcmp(w.tensors[i].name, drop) == 0) {
            free(w.tensors[i].name);
            w.tensors[i] = w.tensors[--w.count];
            i--;
        } else if (reshape && strcmp(w.tensors[i].name, reshape) == 0) {
            w.tensors[i].shape[0] += 1;
        }
    }
    int64_t one = 4;
    if (extra) REQUIRE(tsr_weights_add(&w, extra, TSR_DT_F32, 1, &one, NULL, 0, false, NULL) == TSR_OK);
    tsr_detect_result r;
    REQUIRE(tsr_detect(&w, &r, NULL) == TSR_OK);
    tsr_weights_free(&w);
    return r;
}

static bool has_problem(const tsr_detect_result *r, const char *text)
{
    for (int i = 0; i < r->problem_count; i++)
        if (strstr(r->problems[i], text)) return true;
    return false;
}

static void problems(void)
{
    tsr_detect_result r = detect_edited("decoder.up_blocks.1.resnets.2.norm2.bias", NULL, NULL);
    CHECK(r.kind == TSR_MODEL_NOT_VAE);
    CHECK(has_problem(&r, "missing tensor decoder.up_blocks.1.resnets.2.norm2.bias"));
    CHECK(strstr(r.explanation, "decoder") != NULL);
    tsr_detect_result_free(&r);

    r = detect_edited(NULL, "encoder.mid_block.attentions.0.to_k.weight", NULL);
    CHECK(r.kind == TSR_MODEL_NOT_VAE);
    CHECK(has_problem(&r, "tensor encoder.mid_block.attentions.0.to_k.weight has shape 65x64, expected 64x64"));
    tsr_detect_result_free(&r);

    r = detect_edited(NULL, NULL, "decoder.extra.weight");
    CHECK(r.kind == TSR_MODEL_NOT_VAE && has_problem(&r, "unexpected tensor decoder.extra.weight"));
    tsr_detect_result_free(&r);

    r = detect_edited(NULL, NULL, "model.diffusion.bias");
    CHECK(r.kind == TSR_MODEL_NOT_VAE && has_problem(&r, "unexpected tensor model.diffusion.bias"));
    tsr_detect_result_free(&r);

    r = detect_edited("decoder.conv_in.weight", NULL, NULL);
    CHECK(r.kind == TSR_MODEL_NOT_VAE && has_problem(&r, "decoder.conv_in.weight missing"));
    tsr_detect_result_free(&r);

    /* no VAE at all */
    tsr_weights w;
    tsr_weights_init(&w);
    int64_t s = 8;
    REQUIRE(tsr_weights_add(&w, "latent", TSR_DT_F32, 1, &s, NULL, 0, false, NULL) == TSR_OK);
    REQUIRE(tsr_detect(&w, &r, NULL) == TSR_OK);
    CHECK(r.kind == TSR_MODEL_NOT_VAE && strstr(r.explanation, "no encoder.* or decoder.*"));
    tsr_detect_result_free(&r);
    tsr_weights_free(&w);

    /* mismatched halves: small encoder + full-size decoder */
    tsr_vae_config a, b;
    tsr_vae_config_seedvr2(&a);
    tsr_vae_config_seedvr2(&b);
    a.has_decoder = 0;
    b.has_encoder = 0;
    a.block_out[0] = 64;
    tsr_weights wa, wb;
    build(&a, &wa);
    build(&b, &wb);
    for (int i = 0; i < wb.count; i++)
        REQUIRE(tsr_weights_add(&wa, wb.tensors[i].name, TSR_DT_F16, wb.tensors[i].ndim, wb.tensors[i].shape, NULL, 0,
                                false, NULL) == TSR_OK);
    REQUIRE(tsr_detect(&wa, &r, NULL) == TSR_OK);
    CHECK(r.kind == TSR_MODEL_NOT_VAE && has_problem(&r, "disagree"));
    tsr_detect_result_free(&r);
    tsr_weights_free(&wa);
    tsr_weights_free(&wb);
}

int main(void)
{
    configurations();
    problems();
    return tsr_test_done();
}
