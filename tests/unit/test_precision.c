/* The per-layer precision policy (engine/vae/precision.c): the table's invariants on the SeedVR2 configuration,
 * the diagnostic override grammar, and that an engine precision reaches the convs' descriptors at load. */
#include "core/common.h"
#include "tsr_test.h"
#include "vae/precision.h"
#include "vae/vae_internal.h"

static void test_glob(void)
{
    CHECK(tsr_glob_match("decoder.conv_in", "decoder.conv_in"));
    CHECK(!tsr_glob_match("decoder.conv_in", "decoder.conv_in2"));
    CHECK(tsr_glob_match("decoder.*.conv2", "decoder.up_blocks.3.resnets.0.conv2"));
    CHECK(!tsr_glob_match("decoder.*.conv2", "decoder.up_blocks.3.resnets.0.conv1"));
    CHECK(tsr_glob_match("*", ""));
    CHECK(tsr_glob_match("a*b*c", "aXXbYYc"));
    CHECK(!tsr_glob_match("a*b*c", "aXXbYY"));
    CHECK(!tsr_glob_match("decoder.*.upsamplers.*.conv", "decoder.up_blocks.0.upsamplers.0.upscale_conv"));
}

static void test_table(void)
{
    tsr_vae_config cfg;
    tsr_vae_config_seedvr2(&cfg);
    int n = tsr_layer_precisions(TSR_PRECISION_BF16, &cfg, NULL, 0);
    REQUIRE(n > 40);
    tsr_layer_prec_info *bf = calloc((size_t)n, sizeof *bf), *fa = calloc((size_t)n, sizeof *fa),
                        *qu = calloc((size_t)n, sizeof *qu);
    REQUIRE(bf && fa && qu);
    CHECK(tsr_layer_precisions(TSR_PRECISION_BF16, &cfg, bf, n) == n);
    tsr_layer_precisions(TSR_PRECISION_FP8_FAST, &cfg, fa, n);
    tsr_layer_precisions(TSR_PRECISION_FP8_QUALITY, &cfg, qu, n);
    int n_fast = 0, n_quality = 0, n_dec = 0;
    for (int i = 0; i < n; i++) {
        CHECK(bf[i].precision == TSR_LP_DEFAULT);         /* bf16: no FP8 anywhere */
        CHECK(fa[i].why && fa[i].why[0]);                  /* every layer states why */
        int dec = !strncmp(fa[i].name, "decoder.", 8);
        n_dec += dec;
        if (!dec) CHECK(fa[i].precision == TSR_LP_DEFAULT); /* the encoder is not in the policy */
        if (qu[i].precision == TSR_LP_FP8) CHECKF(fa[i].precision == TSR_LP_FP8, "%s: quality but not fast",
                                                  qu[i].name);
        /* the first and last convs (raw latent in, image out) stay bf16 under every policy */
        if (!strcmp(fa[i].name, "decoder.conv_in") || !strcmp(fa[i].name, "decoder.conv_out"))
            CHECK(fa[i].precision == TSR_LP_DEFAULT);
        n_fast += fa[i].precision == TSR_LP_FP8;
        n_quality += qu[i].precision == TSR_LP_FP8;
    }
    CHECK(n_dec > 30);
    CHECKF(n_quality > 0 && n_quality < n_fast, "quality %d, fast %d", n_quality, n_fast);
    free(bf), free(fa), free(qu);
}

static void test_override(void)
{
    tsr_fp8_override_set("layers:decoder.a,decoder.b.conv2");
    CHECK(tsr_fp8_override_for("decoder.a") == 1);
    CHECK(tsr_fp8_override_for("decoder.b.conv2") == 1);
    CHECK(tsr_fp8_override_for("decoder.b") == 0);
    CHECK(tsr_fp8_override_for("decoder.a.x") == 0);
    tsr_fp8_override_set("name:conv2");
    CHECK(tsr_fp8_override_for("decoder.up_blocks.1.resnets.0.conv2") == 1);
    CHECK(tsr_fp8_override_for("decoder.conv_in") == 0);
    tsr_fp8_override_set("none");
    CHECK(tsr_fp8_override_for("decoder.up_blocks.3.resnets.0.conv2") == 0);
    tsr_fp8_override_set("all");
    CHECK(tsr_fp8_override_for("decoder.conv_in") == 1);
    tsr_fp8_override_set("quality");
    CHECK(tsr_fp8_override_for("decoder.conv_in") == 0);
    tsr_fp8_override_set("off");
    CHECK(tsr_fp8_override_for("decoder.conv_in") == -1);
    tsr_fp8_override_set("bogus");
    CHECK(!tsr_fp8_override_valid("bogus"));
    CHECK(tsr_fp8_override_for("decoder.conv_in") == -1);
    tsr_fp8_override_set("");
    CHECK(tsr_fp8_override_for("decoder.conv_in") == -1);
}

/* An engine precision is applied per layer at load (the CPU backend then ignores it: fp32). */
static void test_load_marks(void)
{
    tsr_error err = {0};
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CPU;
    ep.threads = 1;
    ep.precision = TSR_PRECISION_FP8_QUALITY;
    tsr_engine *eng = NULL;
    tsr_model *m = NULL;
    tsr_vae *v = NULL;
    tsr_vae_config cfg;
    tsr_vae_config_seedvr2(&cfg);
    cfg.block_out[0] = 32, cfg.block_out[1] = 32, cfg.block_out[2] = 64, cfg.block_out[3] = 64;
    REQUIRE(tsr_engine_create(&ep, &eng, &err) == TSR_OK);
    REQUIRE(tsr_model_builtin(&cfg, &m, &err) == TSR_OK);
    REQUIRE(tsr_vae_create(eng, m, &v, &err) == TSR_OK);
    const vae_half *d = &v->dec;
    int checked = 0;
    for (int b = 0; b < cfg.num_blocks; b++)
        for (int l = 0; l < d->layers; l++) {
            const vae_resnet *r = &d->resnets[b * d->layers + l];
            const vae_conv *cs[2] = {&r->conv1, &r->conv2};
            for (int k = 0; k < 2; k++) {
                tsr_layer_precision want = tsr_layer_precision_for(TSR_PRECISION_FP8_QUALITY, cs[k]->name, NULL);
                CHECKF(cs[k]->d.precision == want, "%s", cs[k]->name);
                checked += want == TSR_LP_FP8;
            }
        }
    CHECK(checked > 0);
    CHECK(d->conv_in.d.precision == TSR_LP_DEFAULT);
    tsr_vae_destroy(&v);
    tsr_engine_destroy(&eng);
    /* bf16: nothing marked */
    ep.precision = TSR_PRECISION_BF16;
    REQUIRE(tsr_engine_create(&ep, &eng, &err) == TSR_OK);
    REQUIRE(tsr_vae_create(eng, m, &v, &err) == TSR_OK);
    for (int i = 0; i < cfg.num_blocks * v->dec.layers; i++) CHECK(v->dec.resnets[i].conv2.d.precision == TSR_LP_DEFAULT);
    tsr_vae_destroy(&v);
    tsr_engine_destroy(&eng);
    tsr_model_destroy(&m);
}

int main(void)
{
    test_glob();
    test_table();
    test_override();
    test_load_marks();
    return tsr_test_done();
}
