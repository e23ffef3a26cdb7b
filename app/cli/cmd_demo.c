/* `tessera-cli demo`: the built-in default job. The built-in model (deterministic filler weights) decodes
 * the built-in 16x2x8x12 latent (the filler's "latent", the golden fixture's input) and writes the video
 * to tessera-demo.safetensors in the current folder (or the folder given by -o), with timings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/common.h"
#include "model/filler.h"

typedef struct demo_out {
    float *data;
    int frames;
} demo_out;

static tsr_status collect(void *user, const float *fr, int n, int first, int h, int w, tsr_error *err)
{
    demo_out *o = user;
    for (int f = 0; f < n; f++)
        for (int c = 0; c < 3; c++)
            memcpy(o->data + (((size_t)c * o->frames + first + f) * h) * w, fr + ((size_t)f * 3 + c) * h * w,
                   (size_t)h * w * sizeof(float));
    return TSR_OK;
}

static int usage(void)
{
    printf("usage: tessera-cli demo [-o DIR] [--small] [--backend cpu|cuda|auto] [--threads N]\n\n"
           "Builds the built-in SeedVR2 VAE from the deterministic filler (--small: channels 32/32/64/64),\n"
           "decodes the built-in latent 16x2x8x12 to a 3x5x64x96 video and writes DIR/tessera-demo.safetensors.\n");
    return 0;
}

static int decode_demo(tsr_vae *vae, tsr_engine *eng, const char *dir, double t_build)
{
    enum { C = 16, T = 2, H = 8, W = 12 };
    static float lat[C * T * H * W];
    tsr_filler_latent(lat, C * T * H * W);
    demo_out o = {malloc(sizeof(float) * 3 * 5 * 64 * 96), 5};
    if (!o.data) return cli_fail("out of memory");
    tsr_error err = {0};
    double t0 = tsr_now();
    tsr_status st = tsr_vae_decode(vae, lat, C, T, H, W, NULL, collect, &o, &err);
    double dt = tsr_now() - t0;
    char path[4096];
    snprintf(path, sizeof path, "%s/tessera-demo.safetensors", dir);
    int64_t shape[5] = {1, 3, 5, 64, 96};
    int rc = st == TSR_OK ? 0 : cli_fail_err(&err);
    if (rc == 0) rc = cli_write_tensor(path, "video", o.data, 5, shape, NULL, 0, &err);
    if (rc == 0)
        printf("decoded latent 16x2x8x12 -> video 3x5x64x96 in %.2f s (model build + upload %.2f s) on %s\n"
               "wrote %s\n", dt, t_build, tsr_engine_description(eng), path);
    free(o.data);
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    const char *dir = ".", *backend = "auto";
    int threads = 0, small = 0;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (cli_is_help(argv[i])) return usage();
        if (cli_opt_str(argc, argv, &i, "-o", &dir, &bad) || cli_opt_str(argc, argv, &i, "--backend", &backend, &bad) ||
            cli_opt_int(argc, argv, &i, "--threads", &threads, &bad))
            continue;
        if (cli_flag(argv, i, "--small")) small = 1;
        else return cli_usage_error("demo", "unknown option '%s'", argv[i]);
    }
    if (bad) return 2;
    tsr_error err = {0};
    tsr_model *m = NULL;
    tsr_engine *eng = NULL;
    tsr_vae *vae = NULL;
    double t0 = tsr_now();
    int rc = cli_open_model(small ? "builtin:small" : "builtin", &m, &err);
    if (rc == 0) rc = cli_make_engine(backend, threads, &eng, &err);
    if (rc == 0 && tsr_vae_create(eng, m, &vae, &err) != TSR_OK) rc = cli_fail_err(&err);
    if (rc == 0) {
        const tsr_vae_config *c = tsr_model_config(m);
        printf("built-in SeedVR2 VAE: blocks %d/%d/%d/%d, latent %d channels\n", c->block_out[0], c->block_out[1],
               c->block_out[2], c->block_out[3], c->latent_channels);
        rc = decode_demo(vae, eng, dir, tsr_now() - t0);
    }
    tsr_vae_destroy(&vae);
    tsr_engine_destroy(&eng);
    tsr_model_destroy(&m);
    return rc;
}
