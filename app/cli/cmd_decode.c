/* `tessera-cli decode`: latent .safetensors -> video .safetensors (key `video`, [1,3,F,H,W] in [-1,1]).
 *
 * Latent scale convention: by default the file holds the latent a pipeline stores (encoder mean times the
 * scaling factor 0.9152, as ComfyUI keeps it), and it is divided by 0.9152 before decoding. Files that
 * already hold the decoder input (the golden fixtures, `encode --unscaled` output) are read as they are
 * with --unscaled (alias --raw), or automatically when their metadata says `tessera.latent_scale: unscaled`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_tensor_cmd.h"
#include "tsr_config.h"
#include "core/common.h"
#include "model/weights.h"

typedef struct dec_opts {
    cli_tensor_opts c;         /* c.input: --latent */
    int tile_from;
    int deep_tile, deep_passes;
    uint64_t budget, host_budget; /* --budget (0 = unplanned), --host-budget (default: half the RAM) */
    const char *store;         /* --store: where tuned plans are looked up (NULL = the per-user store) */
    int no_tuned;
    int no_head_cache;         /* --no-head-cache: deep tiles run the head again per tile and pass */
} dec_opts;

typedef struct video_buf {
    float *data; /* [3][F][H][W] */
    int frames, h, w;
} video_buf;

static tsr_status collect(void *user, const float *fr, int n, int first, int h, int w, tsr_error *err)
{
    video_buf *v = user;
    for (int f = 0; f < n; f++)
        for (int c = 0; c < 3; c++)
            memcpy(v->data + (((size_t)c * v->frames + first + f) * h) * w, fr + ((size_t)f * 3 + c) * h * w,
                   (size_t)h * w * sizeof(float));
    return TSR_OK;
}

static int usage(void)
{
    printf("usage: tessera-cli decode --model MODEL|builtin|builtin:small --latent LATENT.safetensors -o OUT.safetensors\n"
           "          [--chunk N] [--frame-group N] [--tile N [--tile-from B]] [--deep-tile N [--deep-passes P]]\n"
           "          [--no-head-cache]\n"
           "          [--budget SIZE [--host-budget SIZE] [--store FILE] [--no-tuned]]\n"
           "          [--backend cpu|cuda|auto] [--threads N]\n"
           "          [--unscaled|--raw] [-q|--quiet]\n\n"
           "Decodes the tensor `latent` (or the file's only tensor), [1,16,T,h,w] or [16,T,h,w], to `video`\n"
           "[1,3,4T-3,8h,8w] in [-1,1]. The latent is taken as stored by a pipeline (times 0.9152) unless\n"
           "--unscaled/--raw is given or its metadata says tessera.latent_scale=unscaled (decoder input, as\n"
           "in the golden fixtures). --chunk: latent frames per chunk (default 1; the result is the same).\n"
           "--frame-group N: run the stages after the last temporal upsampler over N output frames at a time\n"
           "(default: the whole chunk; the result is the same bit for bit, the full-resolution activations shrink).\n"
           "--tile N: decode up blocks B.. (--tile-from, default 1) in spatial tiles of N output pixels: exact\n"
           "(same result), device memory bounded by the tile; whole-frame activations stay in host memory.\n"
           "--deep-tile N: deep tiles of N output pixels: per tile the whole clip (head on the whole frame, the rest\n"
           "on the tile with a halo): device memory = the head + one tile, host memory = the output. Near-exact:\n"
           "--deep-passes 3 (default) pools GroupNorm statistics over the tiles and gathers them again from the\n"
           "second pass's output (4K, 768 px: 50.2 dB against the exact decode); 2 pools them once (49.9 dB, one\n"
           "pass less), 1 uses per-tile statistics (48.7 dB), 4 iterates once more. With --budget: the passes of a\n"
           "planned deep-tile plan. The head runs once per chunk and its output stays in host memory for the\n"
           "other tiles (4K 21 f: 5.4 GiB); --no-head-cache runs it again for every tile and pass instead.\n"
           "--budget SIZE: device memory the decode may use (8G, 12G, ...): the memory planner picks chunk, frame\n"
           "groups, offload and tiles, and re-plans smaller on out-of-memory. A plan that `tessera-cli tune` stored\n"
           "for this GPU, model, precision, latent size and budget is used from the start (the settings store:\n"
           "--store FILE, default the per-user one; --no-tuned plans afresh). --host-budget SIZE: host memory the\n"
           "plan may take (default: half the RAM).\n");
    return 0;
}

static int parse(int argc, char **argv, dec_opts *o)
{
    bool bad = false;
    const char *budget = NULL, *host = NULL;
    for (int i = 1; i < argc && !bad; i++) {
        if (cli_is_help(argv[i])) return usage() - 1;
        if (cli_flag(argv, i, "--no-tuned")) {
            o->no_tuned = 1;
            continue;
        }
        if (cli_flag(argv, i, "--no-head-cache")) {
            o->no_head_cache = 1;
            continue;
        }
        if (cli_tensor_parse_common(argc, argv, &i, "--latent", &o->c, &bad) ||
            cli_opt_int(argc, argv, &i, "--tile-from", &o->tile_from, &bad) ||
            cli_opt_int(argc, argv, &i, "--deep-tile", &o->deep_tile, &bad) ||
            cli_opt_int(argc, argv, &i, "--deep-passes", &o->deep_passes, &bad) ||
            cli_opt_str(argc, argv, &i, "--budget", &budget, &bad) ||
            cli_opt_str(argc, argv, &i, "--host-budget", &host, &bad) ||
            cli_opt_str(argc, argv, &i, "--store", &o->store, &bad))
            continue;
        return cli_usage_error("decode", "unknown option '%s'", argv[i]);
    }
    if (bad) return 2;
    if (budget && (!cli_parse_bytes(budget, &o->budget) || o->budget == 0))
        return cli_usage_error("decode", "--budget needs a size like 12G");
    if (!cli_host_budget(host, &o->host_budget)) return cli_usage_error("decode", "--host-budget needs a size like 32G");
    if (o->budget && (o->c.tile > 0 || o->deep_tile > 0))
        return cli_usage_error("decode", "--budget leaves tiling to the planner: not with --tile or --deep-tile");
    int rc = cli_tensor_check_common(&o->c, "decode", "--latent");
    if (rc) return rc;
    if (o->c.chunk < 0) return cli_usage_error("decode", "--chunk must be 0 (automatic) or more");
    if (o->c.tile < 0 || o->tile_from < -1) return cli_usage_error("decode", "--tile and --tile-from must not be negative");
    if (o->deep_tile < 0 || o->deep_passes < 0 || o->deep_passes > TSR_DEEP_MAX_PASSES)
        return cli_usage_error("decode", "--deep-tile needs a size >= 0 and --deep-passes 1 to %d", TSR_DEEP_MAX_PASSES);
    if (o->deep_tile > 0 && o->c.tile > 0)
        return cli_usage_error("decode", "--tile and --deep-tile exclude each other");
    return 0;
}

/* [1,C,T,H,W], [C,T,H,W] or a single frame [1,C,H,W] -> c,t,h,w */
static int latent_dims(const tsr_tensor_info *t, int channels, int d[4])
{
    const int64_t *s = t->shape;
    if (t->ndim == 5 && s[0] == 1) s++;
    else if (t->ndim == 4 && s[0] == 1 && s[1] == channels) {
        d[0] = (int)s[1], d[1] = 1, d[2] = (int)s[2], d[3] = (int)s[3];
        return 0;
    } else if (t->ndim != 4)
        return cli_fail("latent '%s' has %d dimensions; expected [1,%d,T,H,W]", t->name, t->ndim, channels);
    for (int i = 0; i < 4; i++) {
        if (s[i] < 1 || s[i] > 1 << 20) return cli_fail("latent '%s' has an invalid shape", t->name);
        d[i] = (int)s[i];
    }
    return 0;
}

/* `encode` records the source size (before padding to 16 px and 4k+1 frames): crop back to it. */
static void crop_from_meta(const tsr_weights *w, tsr_decode_params *p, video_buf *v)
{
    const char *s;
    int x;
    if ((s = tsr_weights_meta(w, "tessera.frames")) && (x = atoi(s)) > 0 && x < v->frames) p->max_frames = v->frames = x;
    if ((s = tsr_weights_meta(w, "tessera.height")) && (x = atoi(s)) > 0 && x < v->h) p->crop_height = v->h = x;
    if ((s = tsr_weights_meta(w, "tessera.width")) && (x = atoi(s)) > 0 && x < v->w) p->crop_width = v->w = x;
}

/* The planned decode's plans on stderr: the tuned one from the store when it runs, else the planner's. */
typedef struct plan_print {
    const tsr_plan *tuned;     /* the start plan given, or NULL */
    int quiet;
} plan_print;

static void print_plan(void *user, const tsr_plan *p, const char *why)
{
    const plan_print *pp = user;
    char line[256];
    cli_plan_summary(p, line, sizeof line);
    if (why) fprintf(stderr, "%sre-planned (%s): %s\n", pp->quiet ? "" : "\n", why, line);
    else if (pp->tuned && tsr_plan_same_settings(p, pp->tuned)) fprintf(stderr, "tuned plan from the store: %s\n", line);
    else fprintf(stderr, "%splanned: %s\n", pp->tuned ? "the tuned plan in the store does not fit; " : "", line);
}

static void log_warning(void *user, tsr_log_level level, const char *message)
{
    (void)user, (void)level;
    fprintf(stderr, "tessera: %s\n", message);
}

/* The plan `tessera-cli tune` stored for this decode's key, unless --no-tuned. */
static int tuned_plan(const dec_opts *o, tsr_vae *vae, const int d[4], tsr_plan *out)
{
    if (o->no_tuned) return 0;
    tsr_store *s = cli_store_open(o->store, "decode", "planning without tuned plans");
    if (!s) return 0;
    tsr_plan_request r;
    tsr_vae_plan_request(vae, d[1], d[2], d[3], o->budget, o->c.chunk, &r);
    tsr_error err = {0};
    int found = 0;
    if (tsr_tuned_plan_lookup(s, vae, &r, out, &found, &err) != TSR_OK)
        fprintf(stderr, "tessera-cli decode: tuned plans not read: %s\n", err.message);
    tsr_store_close(&s);
    return found;
}

static int run(const void *opts, const tsr_vae_config *cfg, tsr_vae *vae, tsr_engine *eng, tsr_error *err)
{
    const dec_opts *d_o = opts;
    const cli_tensor_opts *o = &d_o->c;
    tsr_weights w;
    const tsr_tensor_info *t = NULL;
    float *lat = NULL;
    int d[4], rc = cli_read_tensor(o->input, "latent", &w, &t, &lat, err);
    if (rc == 0) rc = latent_dims(t, cfg->latent_channels, d);
    const char *scale = rc == 0 ? tsr_weights_meta(&w, "tessera.latent_scale") : NULL;
    int raw = o->raw || (scale && (strcmp(scale, "unscaled") == 0 || strcmp(scale, "raw") == 0));
    size_t n = rc == 0 ? (size_t)d[0] * d[1] * d[2] * d[3] : 0;
    if (rc == 0 && !raw) tsr_latent_from_file_scale(lat, n, cfg->scaling_factor);
    video_buf v = {NULL, 4 * (rc == 0 ? d[1] : 1) - 3, 8 * (rc == 0 ? d[2] : 0), 8 * (rc == 0 ? d[3] : 0)};
    if (rc == 0 && !(v.data = malloc((size_t)3 * v.frames * v.h * v.w * sizeof(float) + 1)))
        rc = cli_fail("out of memory for the output video");
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    p.chunk = o->chunk;
    p.tile = o->tile;
    p.frame_group = o->frame_group;
    p.deep_tile = d_o->deep_tile;
    p.deep_tile_passes = d_o->deep_passes;
    p.deep_head_recompute = d_o->no_head_cache;
    if (d_o->tile_from >= 0) p.tile_from = d_o->tile_from;
    if (rc == 0) crop_from_meta(&w, &p, &v);
    tsr_plan tuned;
    plan_print pp = {NULL, o->quiet};
    if (rc == 0 && d_o->budget) {
        p.memory_budget = d_o->budget;
        p.host_budget = d_o->host_budget;
        if (tuned_plan(d_o, vae, d, &tuned)) p.start_plan = pp.tuned = &tuned;
        p.on_plan = print_plan, p.plan_user = &pp;
    }
    p.progress = cli_progress;
    p.progress_user = o->quiet ? NULL : (void *)o;
    double t0 = tsr_now();
    if (rc == 0 && tsr_vae_decode(vae, lat, d[0], d[1], d[2], d[3], &p, collect, &v, err) != TSR_OK)
        rc = (fputc(o->quiet ? 0 : '\n', stderr), cli_fail_err(err));
    double dt = tsr_now() - t0;
    int64_t shape[5] = {1, 3, v.frames, v.h, v.w};
    const char *meta[4] = {"tessera.engine", tsr_engine_description(eng), "tessera.latent_scale", raw ? "unscaled" : "scaled"};
    if (rc == 0) rc = cli_write_tensor(o->output, "video", v.data, 5, shape, meta, 2, err);
    if (rc == 0)
        printf("%sdecoded %dx%dx%dx%d -> video 3x%dx%dx%d in %.2f s on %s -> %s\n", o->quiet ? "" : "\n", d[0], d[1],
               d[2], d[3], v.frames, v.h, v.w, dt, tsr_engine_description(eng), o->output);
    free(v.data);
    free(lat);
    tsr_weights_free(&w);
    return rc;
}

int cmd_decode(int argc, char **argv)
{
#if TSR_HAVE_MEDIA
    /* clips, frames, .latent/.npy files go through the job pipeline (cmd_media.c) */
    if (cli_media_handles(argc, argv, 0)) return cli_media_decode(argc, argv);
#endif
    dec_opts o = {.c = {.backend = "auto"}, .tile_from = -1};
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (o.budget) tsr_set_log_callback(log_warning, NULL, TSR_LOG_WARN); /* before the engine: why a tuned plan is not used */
    return cli_tensor_command(&o.c, &o, run);
}
