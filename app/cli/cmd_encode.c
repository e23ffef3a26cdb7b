/* `tessera-cli encode`: video .safetensors ([1,3,F,H,W] in [-1,1]) -> latent .safetensors.
 * Output key `latent` [1,16,T,h,w] times the scaling factor 0.9152 (the stored-latent convention that
 * `decode` reads by default); --unscaled writes the decoder input instead (metadata says which);
 * --posterior writes the raw encoder output mean||logvar as `posterior` [1,32,T,h,w]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_tensor_cmd.h"
#include "tsr_config.h"
#include "core/common.h"
#include "model/weights.h"

typedef struct enc_opts {
    cli_tensor_opts c;         /* c.input: --video */
    int posterior, sample, seed;
} enc_opts;

typedef struct video_src {
    const float *data; /* [3][F][H][W] */
    int frames, h, w, next;
} video_src;

static int source(void *user, float *frames, int max, tsr_error *err)
{
    video_src *s = user;
    int n = max < s->frames - s->next ? max : s->frames - s->next;
    size_t hw = (size_t)s->h * s->w;
    for (int i = 0; i < n; i++, s->next++)
        for (int c = 0; c < 3; c++)
            memcpy(frames + ((size_t)i * 3 + c) * hw, s->data + ((size_t)c * s->frames + s->next) * hw, hw * sizeof(float));
    return n;
}

static int usage(void)
{
    printf("usage: tessera-cli encode --model MODEL|builtin|builtin:small --video VIDEO.safetensors -o OUT.safetensors\n"
           "          [--posterior] [--unscaled] [--sample --seed N] [--chunk N] [--frame-group N] [--tile N]\n"
           "          [--backend cpu|cuda|auto] [--threads N] [-q|--quiet]\n\n"
           "Encodes the tensor `video` (or the file's only tensor), [1,3,F,H,W] or [3,F,H,W] in [-1,1]. Any size:\n"
           "H and W are padded to a multiple of 16 (black), F to 4k+1 by mirrored frames. Writes `latent`\n"
           "[1,16,T,H/8,W/8] times 0.9152 (--unscaled: without), or with --posterior the raw mean||logvar.\n"
           "--chunk: frames per chunk after the first, a multiple of 4 (default 4; the result is the same).\n"
           "--tile N: run conv_in and the down blocks in exact spatial tiles of N input pixels (less memory).\n"
           "--frame-group N: run conv_in and the down blocks before the first temporal downsampler over N frames at\n"
           "a time (default: the whole chunk; the result is the same bit for bit, the full-resolution activations\n"
           "shrink).\n");
    return 0;
}

static int parse(int argc, char **argv, enc_opts *o)
{
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        if (cli_is_help(argv[i])) return usage() - 1;
        if (cli_tensor_parse_common(argc, argv, &i, "--video", &o->c, &bad) ||
            cli_opt_int(argc, argv, &i, "--seed", &o->seed, &bad))
            continue;
        if (cli_flag(argv, i, "--posterior")) o->posterior = 1;
        else if (cli_flag(argv, i, "--sample")) o->sample = 1;
        else return cli_usage_error("encode", "unknown option '%s'", argv[i]);
    }
    if (bad) return 2;
    int rc = cli_tensor_check_common(&o->c, "encode", "--video");
    if (rc) return rc;
    if (o->c.chunk < 0 || o->c.chunk % 4) return cli_usage_error("encode", "--chunk must be a multiple of 4");
    if (o->c.tile < 0) return cli_usage_error("encode", "--tile must not be negative");
    return 0;
}

static int video_dims(const tsr_tensor_info *t, int d[4])
{
    const int64_t *s = t->ndim == 5 && t->shape[0] == 1 ? t->shape + 1 : t->shape;
    if (t->ndim != 4 && !(t->ndim == 5 && t->shape[0] == 1))
        return cli_fail("video '%s' has %d dimensions; expected [1,3,F,H,W]", t->name, t->ndim);
    if (s[0] != 3) return cli_fail("video '%s' has %lld channels; expected 3 (RGB)", t->name, (long long)s[0]);
    for (int i = 0; i < 4; i++) {
        if (s[i] < 1 || s[i] > 1 << 20) return cli_fail("video '%s' has an invalid shape", t->name);
        d[i] = (int)s[i];
    }
    return 0;
}

static int run(const void *opts, const tsr_vae_config *cfg, tsr_vae *vae, tsr_engine *eng, tsr_error *err)
{
    const enc_opts *e_o = opts;
    const cli_tensor_opts *o = &e_o->c;
    tsr_weights w;
    const tsr_tensor_info *t = NULL;
    float *vid = NULL;
    int d[4], rc = cli_read_tensor(o->input, "video", &w, &t, &vid, err);
    if (rc == 0) rc = video_dims(t, d);
    tsr_encode_params p;
    tsr_encode_params_default(&p);
    p.tile = o->tile;
    p.frame_group = o->frame_group;
    p.chunk = o->chunk, p.posterior = e_o->posterior, p.sample = e_o->sample, p.seed = (uint64_t)e_o->seed;
    p.progress = cli_progress;
    p.progress_user = o->quiet ? NULL : (void *)o;
    video_src src = {vid, rc == 0 ? d[1] : 0, rc == 0 ? d[2] : 0, rc == 0 ? d[3] : 0, 0};
    tsr_latent l = {0};
    double t0 = tsr_now();
    if (rc == 0 && tsr_vae_encode(vae, d[2], d[3], source, &src, &p, &l, err) != TSR_OK)
        rc = (fputc(o->quiet ? 0 : '\n', stderr), cli_fail_err(err));
    double dt = tsr_now() - t0;
    int scaled = rc == 0 && !e_o->posterior && !o->raw;
    if (scaled) tsr_latent_to_file_scale(l.data, (size_t)l.c * l.t * l.h * l.w, cfg->scaling_factor);
    int64_t shape[5] = {1, l.c, l.t, l.h, l.w};
    char fr[16], hh[16], ww[16]; /* the source size, so decode can crop the padding away */
    snprintf(fr, sizeof fr, "%d", l.frames), snprintf(hh, sizeof hh, "%d", l.height), snprintf(ww, sizeof ww, "%d", l.width);
    const char *meta[12] = {"tessera.engine", tsr_engine_description(eng), "tessera.latent_scale",
                            scaled ? "scaled" : "unscaled", "tessera.layout", "1,C,T,H,W", "tessera.frames", fr,
                            "tessera.height", hh, "tessera.width", ww};
    if (rc == 0) rc = cli_write_tensor(o->output, e_o->posterior ? "posterior" : "latent", l.data, 5, shape, meta, 6, err);
    if (rc == 0)
        printf("%sencoded video 3x%dx%dx%d -> %s %dx%dx%dx%d in %.2f s on %s -> %s\n", o->quiet ? "" : "\n", d[1], d[2],
               d[3], e_o->posterior ? "posterior" : "latent", l.c, l.t, l.h, l.w, dt, tsr_engine_description(eng), o->output);
    tsr_latent_free(&l);
    free(vid);
    tsr_weights_free(&w);
    return rc;
}

int cmd_encode(int argc, char **argv)
{
#if TSR_HAVE_MEDIA
    /* clips, frames, .latent/.npy files go through the job pipeline (cmd_media.c) */
    if (cli_media_handles(argc, argv, 1)) return cli_media_encode(argc, argv);
#endif
    enc_opts o = {.c = {.backend = "auto"}};
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    return cli_tensor_command(&o.c, &o, run);
}
