/* `tessera-cli bench`: time decode or encode of a given latent shape with the builtin (or a given) model.
 * Warm-up run(s), then the median of N timed runs: wall clock around the whole call (device synchronised,
 * uploads, downloads and host conversions included) minus the time spent in the bench's own frame source
 * (encode) and sink (decode), which stand for a decoder/encoder outside the engine. Per stage: host time in
 * uploads, in copying downloads out, blocked on the device, and in the source/sink (tsr_engine_stats), plus
 * the device's free-memory low-water beside the arena high-water. With --profile a separate engine with
 * TSR_CUDA_PROFILE=1 is warmed up the same way and one more run is profiled: every op part timed alone on
 * the device; wall minus the device's busy time is what the run spends on the host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/common.h"
#include "vae/precision.h"

typedef struct bench_opts {
    const char *model, *backend, *shape;
    int c, t, h, w;
    int encode, runs, warmup, chunk, json, profile, frame_group;
    tsr_precision precision;
} bench_opts;

typedef struct shape_def {
    const char *name;
    int c, t, h, w;
    double decode_tflop; /* spec §8 (0 = unknown: estimated as 24 MFLOP per output pixel-frame) */
} shape_def;

static const shape_def shapes[] = {
    {"720p17", 16, 5, 90, 160, 376},
    {"1080p21", 16, 6, 135, 240, 1049},
    {"4k21", 16, 6, 270, 480, 0},
};

typedef struct run_stats {
    uint64_t mem_peak, mem_budget;
    double source_s, sink_s;    /* time inside the bench's frame source / sink in the current run */
    tsr_engine_stats profile;   /* the profiled engine's counters */
    double profile_wall;        /* wall of its recorded run */
} run_stats;

static run_stats *cur_rs;        /* the run being timed (source and sink add to it) */

static int on_progress(void *user, const tsr_progress *p)
{
    run_stats *s = user;
    if (p->mem_peak > s->mem_peak) s->mem_peak = p->mem_peak;
    s->mem_budget = p->mem_budget;
    return 0;
}

static tsr_status drop_frames(void *user, const float *fr, int n, int first, int h, int w, tsr_error *err)
{
    (void)user, (void)fr, (void)n, (void)first, (void)h, (void)w, (void)err;
    return TSR_OK; /* nothing to time: the sink costs ~0 (its time is measured anyway) */
}

static tsr_status timed_sink(void *user, const float *fr, int n, int first, int h, int w, tsr_error *err)
{
    double t0 = tsr_now();
    tsr_status st = drop_frames(user, fr, n, first, h, w, err);
    if (cur_rs) cur_rs->sink_s += tsr_now() - t0;
    return st;
}

typedef struct video_src {
    int frames, h, w, next;
    const float *frame;   /* one pre-generated frame [3][h][w], repeated (generation stays out of the timing) */
} video_src;

static int make_frames(void *user, float *frames, int max, tsr_error *err)
{
    (void)err;
    double t0 = tsr_now();
    video_src *s = user;
    int n = TSR_MIN(max, s->frames - s->next);
    size_t per = (size_t)3 * s->h * s->w;
    for (int f = 0; f < n; f++) memcpy(frames + per * (size_t)f, s->frame, per * sizeof(float));
    s->next += n;
    if (cur_rs) cur_rs->source_s += tsr_now() - t0;
    return n;
}

static float *noise_frame(int h, int w)
{
    size_t n = (size_t)3 * h * w;
    float *v = malloc(n * sizeof *v);
    uint32_t x = 0x12345678u;
    for (size_t i = 0; v && i < n; i++) {
        x = x * 1664525u + 1013904223u;
        v[i] = (float)(x >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
    return v;
}

static int usage(void)
{
    printf("usage: tessera-cli bench [decode|encode] [--shape 720p17|1080p21|4k21] [--latent-shape CxTxHxW]\n"
           "          [--model FILE|builtin] [--backend cuda|cpu|auto] [--runs N] [--warmup N] [--chunk N]\n"
           "          [--frame-group N]\n"
           "          [--precision bf16|fp8-fast|fp8-quality] [--profile] [--json]\n\n"
           "Times decoding a latent of the shape (or encoding the matching video, 4T-3 frames of 8H x 8W):\n"
           "warm-up, then the median of N runs. Default: decode 720p17, builtin model, 3 runs, 1 warm-up.\n"
           "--precision picks the per-layer policy (FP8 layers run on sm_89+ GPUs); the output states each conv's\n"
           "precision (TSR_FP8 overrides the policy for diagnostics, see engine/vae/precision.h).\n"
           "--frame-group N: decode: the stages after the last temporal upsampler over N output frames at a time;\n"
           "encode: conv_in and the down blocks before the first temporal downsampler over N frames at a time.\n");
    return 0;
}

static int parse(int argc, char **argv, bench_opts *o)
{
    bool bad = false;
    const char *lshape = NULL, *prec = NULL;
    for (int i = 1; i < argc && !bad; i++) {
        if (cli_is_help(argv[i])) return usage() - 1;
        if (cli_opt_str(argc, argv, &i, "--model", &o->model, &bad) ||
            cli_opt_str(argc, argv, &i, "--backend", &o->backend, &bad) ||
            cli_opt_str(argc, argv, &i, "--shape", &o->shape, &bad) ||
            cli_opt_str(argc, argv, &i, "--latent-shape", &lshape, &bad) ||
            cli_opt_str(argc, argv, &i, "--precision", &prec, &bad) ||
            cli_opt_int(argc, argv, &i, "--runs", &o->runs, &bad) ||
            cli_opt_int(argc, argv, &i, "--warmup", &o->warmup, &bad) ||
            cli_opt_int(argc, argv, &i, "--chunk", &o->chunk, &bad) ||
            cli_opt_int(argc, argv, &i, "--frame-group", &o->frame_group, &bad))
            continue;
        if (strcmp(argv[i], "decode") == 0) o->encode = 0;
        else if (strcmp(argv[i], "encode") == 0) o->encode = 1;
        else if (cli_flag(argv, i, "--json")) o->json = 1;
        else if (cli_flag(argv, i, "--profile")) o->profile = 1;
        else return cli_usage_error("bench", "unknown argument '%s'", argv[i]);
    }
    if (bad) return 2;
    if (prec && !cli_parse_precision(prec, &o->precision))
        return cli_usage_error("bench", "unknown precision '%s' (bf16, fp8-fast, fp8-quality)", prec);
    if (lshape) {
        if (sscanf(lshape, "%dx%dx%dx%d", &o->c, &o->t, &o->h, &o->w) != 4 || o->c <= 0 || o->t <= 0 || o->h <= 0 ||
            o->w <= 0)
            return cli_usage_error("bench", "--latent-shape wants CxTxHxW, got '%s'", lshape);
        o->shape = lshape;
    } else {
        const shape_def *s = NULL;
        for (size_t i = 0; i < TSR_ARRAY_LEN(shapes); i++)
            if (strcmp(o->shape, shapes[i].name) == 0) s = &shapes[i];
        if (!s) return cli_usage_error("bench", "unknown shape '%s' (720p17, 1080p21, 4k21)", o->shape);
        o->c = s->c, o->t = s->t, o->h = s->h, o->w = s->w;
    }
    if (o->runs < 1 || o->warmup < 0 || o->chunk < 0 || o->frame_group < 0)
        return cli_usage_error("bench", "bad --runs/--warmup/--chunk/--frame-group");
    return 0;
}

static double decode_tflop(const bench_opts *o)
{
    for (size_t i = 0; i < TSR_ARRAY_LEN(shapes); i++)
        if (strcmp(o->shape, shapes[i].name) == 0 && shapes[i].decode_tflop > 0) return shapes[i].decode_tflop;
    return 24.0e6 * (4.0 * o->t - 3) * 64.0 * o->h * o->w / 1e12; /* spec §8: ~24 MFLOP per output pixel-frame */
}

static const float *frame; /* encode input frame (noise_frame) */

/* Each conv's precision under the policy (the decoder's for decode, the encoder's for encode). Returns the
 * number of FP8 convs; prints the table unless `quiet`. With TSR_FP8 set, the override decides (marked). */
static int print_layer_precisions(const bench_opts *o, const tsr_model *model, const char *engine, int quiet,
                                  int *total)
{
    int cpu = strncmp(engine, "cpu", 3) == 0; /* the CPU backend computes every layer in fp32 */
    const tsr_vae_config *cfg = tsr_model_config(model);
    int n = tsr_layer_precisions(o->precision, cfg, NULL, 0), fp8 = 0;
    *total = 0;
    tsr_layer_prec_info *l = n > 0 ? calloc((size_t)n, sizeof *l) : NULL;
    if (!l) return 0;
    tsr_layer_precisions(o->precision, cfg, l, n);
    const char *half = o->encode ? "encoder." : "decoder.";
    if (!quiet) {
        printf("layer precisions (--precision %s%s):\n", tsr_precision_name(o->precision),
               getenv("TSR_FP8") && *getenv("TSR_FP8") ? ", TSR_FP8 override" : "");
        printf("| conv | cin->cout | kernel | precision | why |\n|---|---|---|---|---|\n");
    }
    for (int i = 0; i < n; i++) {
        if (strncmp(l[i].name, half, strlen(half))) continue;
        int ov = tsr_fp8_override_for(l[i].name);
        int is8 = !cpu && (ov >= 0 ? ov : l[i].precision == TSR_LP_FP8);
        fp8 += is8;
        ++*total;
        if (!quiet)
            printf("| %s | %d->%d | %dx%dx%d | %s | %s |\n", l[i].name, l[i].cin, l[i].cout, l[i].kt, l[i].kh,
                   l[i].kw, is8 ? "fp8 e4m3" : cpu ? "fp32" : "bf16", cpu ? "CPU backend: fp32 everywhere" : ov >= 0 ? "TSR_FP8 override" : l[i].why);
    }
    free(l);
    return fp8;
}

static tsr_status one_run(tsr_vae *vae, const bench_opts *o, const float *lat, run_stats *rs, tsr_error *err)
{
    if (!o->encode) {
        tsr_decode_params p;
        tsr_decode_params_default(&p);
        p.chunk = o->chunk;
        p.frame_group = o->frame_group;
        p.progress = on_progress;
        p.progress_user = rs;
        return tsr_vae_decode(vae, lat, o->c, o->t, o->h, o->w, &p, timed_sink, NULL, err);
    }
    tsr_encode_params p;
    tsr_encode_params_default(&p);
    p.chunk = o->chunk;
    p.frame_group = o->frame_group;
    p.progress = on_progress;
    p.progress_user = rs;
    video_src src = {4 * o->t - 3, 8 * o->h, 8 * o->w, 0, frame};
    tsr_latent l;
    memset(&l, 0, sizeof l);
    tsr_status st = tsr_vae_encode(vae, src.h, src.w, make_frames, &src, &p, &l, err);
    if (st == TSR_OK) tsr_latent_free(&l);
    return st;
}

/* One timed run's figures. */
typedef struct run_rec {
    double s;                   /* wall minus source/sink */
    double wall, source, sink;
    tsr_engine_stats st;
} run_rec;

/* Warm-up, then `o->runs` recorded runs (recs may be NULL: not kept). With profile_after, the stats are reset
 * after the warm-up so that the profile covers the recorded runs only. */
static int run_bench(const bench_opts *o, const float *lat, tsr_model *model, run_rec *recs, run_stats *rs,
                     char *desc, size_t desc_n)
{
    tsr_engine *eng = NULL;
    tsr_vae *vae = NULL;
    tsr_error err = {0};
    int rc = cli_make_engine_prec(o->backend, 0, o->precision, &eng, &err);
    if (rc) return rc;
    snprintf(desc, desc_n, "%s", tsr_engine_description(eng));
    if (tsr_vae_create(eng, model, &vae, &err) != TSR_OK) {
        tsr_engine_destroy(&eng);
        return cli_fail_err(&err);
    }
    double last_wall = 0;
    for (int i = 0; i < o->warmup + o->runs && !rc; i++) {
        if (i == o->warmup) tsr_engine_stats_get(eng, 1, NULL); /* counters cover the recorded runs only */
        if (i >= o->warmup) rs->source_s = rs->sink_s = 0, cur_rs = rs;
        tsr_engine_stats s0;
        tsr_engine_stats_get(eng, 0, &s0);
        double t0 = tsr_now();
        if (one_run(vae, o, lat, rs, &err) != TSR_OK) rc = cli_fail_err(&err);
        double wall = tsr_now() - t0;
        last_wall = wall - rs->source_s - rs->sink_s;
        cur_rs = NULL;
        if (i >= o->warmup && recs && !rc) {
            run_rec *r = &recs[i - o->warmup];
            r->wall = wall, r->source = rs->source_s, r->sink = rs->sink_s;
            r->s = wall - rs->source_s - rs->sink_s;
            tsr_engine_stats_get(eng, 0, &r->st); /* this run's share: differences (the profile keeps counting) */
            r->st.upload_s -= s0.upload_s, r->st.download_s -= s0.download_s, r->st.wait_s -= s0.wait_s;
            r->st.graph_captures -= s0.graph_captures, r->st.graph_replays -= s0.graph_replays;
            r->st.graph_fallbacks -= s0.graph_fallbacks;
        }
    }
    if (!recs && !rc) {
        tsr_engine_stats_get(eng, 0, &rs->profile);
        rs->profile_wall = last_wall;
    }
    tsr_vae_destroy(&vae);
    tsr_engine_destroy(&eng);
    return rc;
}

static int cmp_rec(const void *a, const void *b)
{
    double x = ((const run_rec *)a)->s, y = ((const run_rec *)b)->s;
    return x < y ? -1 : x > y;
}

static void print_profile(const tsr_engine_stats *p, double wall_med, double prof_wall, int json)
{
    double host_ms = wall_med * 1e3 - p->device_busy_ms;
    if (json) {
        printf(",\"profile\":{\"device_busy_ms\":%.1f,\"host_not_on_device_ms\":%.1f,\"profiled_run_s\":%.4f,\"parts\":[",
               p->device_busy_ms, host_ms, prof_wall);
        for (int i = 0; i < p->parts; i++)
            printf("%s{\"part\":\"%s\",\"calls\":%ld,\"ms\":%.2f,\"tflop\":%.2f}", i ? "," : "", p->part[i].name,
                   p->part[i].calls, p->part[i].ms, p->part[i].tflop);
        printf("]}");
        return;
    }
    printf("\nprofile (separate engine, same warm-up, one run; each op part timed alone on the device; that run took %.3f s)\n",
           prof_wall);
    printf("| part | calls | device ms | share of median wall | TFLOP | TFLOP/s |\n|---|---|---|---|---|---|\n");
    for (int i = 0; i < p->parts; i++)
        printf("| %s | %ld | %.1f | %.1f %% | %.1f | %.0f |\n", p->part[i].name, p->part[i].calls, p->part[i].ms,
               100 * p->part[i].ms / (wall_med * 1e3), p->part[i].tflop,
               p->part[i].ms > 0 && p->part[i].tflop > 0 ? p->part[i].tflop * 1e3 / p->part[i].ms : 0);
    printf("| device busy (sum) | | %.1f | %.1f %% | | |\n", p->device_busy_ms, 100 * p->device_busy_ms / (wall_med * 1e3));
    printf("| host / not on device (median wall - busy) | | %.1f | %.1f %% | | |\n", host_ms,
           100 * host_ms / (wall_med * 1e3));
}

int cmd_bench(int argc, char **argv)
{
    bench_opts o = {.model = "builtin", .backend = "auto", .shape = "720p17", .runs = 3, .warmup = 1,
                    .precision = TSR_PRECISION_AUTO};
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    tsr_model *model = NULL;
    tsr_error err = {0};
    double t_load = tsr_now();
    if ((rc = cli_open_model(o.model, &model, &err))) return rc;
    t_load = tsr_now() - t_load;
    size_t n_lat = (size_t)o.c * o.t * o.h * o.w;
    float *lat = malloc(n_lat * sizeof *lat);
    run_rec *recs = calloc((size_t)o.runs, sizeof *recs);
    if (!lat || !recs) return cli_fail("out of memory");
    for (size_t i = 0; i < n_lat; i++) lat[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    float *noise = o.encode ? noise_frame(8 * o.h, 8 * o.w) : NULL;
    if (o.encode && !noise) return cli_fail("out of memory");
    frame = noise;
    /* TSR_CUDA_PROFILE=2 asks --profile for the per-layer conv table too; the timed engine never profiles */
    const char *pe = getenv("TSR_CUDA_PROFILE");
    int prof_layers = pe && strcmp(pe, "2") == 0;
#ifdef _WIN32
    _putenv_s("TSR_CUDA_PROFILE", "");
#else
    unsetenv("TSR_CUDA_PROFILE");
#endif
    run_stats rs;
    memset(&rs, 0, sizeof rs);
    char desc[256];
    rc = run_bench(&o, lat, model, recs, &rs, desc, sizeof desc);
    run_stats prs;
    memset(&prs, 0, sizeof prs);
    double prof_wall = 0;
    if (!rc && o.profile) { /* a separate engine with per-op device timing, warmed up like the timed one */
        /* TSR_CUDA_PROFILE=2 given by the caller also tables the convs per layer (stderr) */
        const char *lvl = prof_layers ? "2" : "1";
#ifdef _WIN32
        _putenv_s("TSR_CUDA_PROFILE", lvl);
#else
        setenv("TSR_CUDA_PROFILE", lvl, 1);
#endif
        bench_opts po = o;
        po.warmup = o.warmup > 0 ? o.warmup : 1, po.runs = 1;
        char d2[256];
        fflush(stdout);
        double t0 = tsr_now();
        rc = run_bench(&po, lat, model, NULL, &prs, d2, sizeof d2);
        prof_wall = tsr_now() - t0; /* replaced below by the profiled run alone when it is known */
#ifdef _WIN32
        _putenv_s("TSR_CUDA_PROFILE", "");
#else
        unsetenv("TSR_CUDA_PROFILE");
#endif
        if (!prs.profile.profiled && !rc) fprintf(stderr, "bench: --profile needs the CUDA backend; no profile\n");
        prof_wall = prs.profile.profiled ? prs.profile_wall : prof_wall;
    }
    if (!rc) {
        uint64_t free_low = 0, dev_total = 0;
        for (int i = 0; i < o.runs; i++) {
            uint64_t f = recs[i].st.device_free_low;
            if (f && (!free_low || f < free_low)) free_low = f;
            if (recs[i].st.device_total) dev_total = recs[i].st.device_total;
        }
        qsort(recs, (size_t)o.runs, sizeof *recs, cmp_rec);
        const run_rec *m = &recs[o.runs / 2];
        double med = m->s, best = recs[0].s;
        double tflop = o.encode ? 0 : decode_tflop(&o);
        const char *what = o.encode ? "encode" : "decode";
        double compute = m->wall - m->source - m->sink - m->st.upload_s - m->st.download_s - m->st.wait_s;
        int n_conv = 0, n_fp8 = print_layer_precisions(&o, model, desc, o.json, &n_conv);
        if (o.json) {
            printf("{\"op\":\"%s\",\"shape\":\"%s\",\"precision\":\"%s\",\"fp8_convs\":%d,\"convs\":%d,"
                   "\"latent\":[%d,%d,%d,%d],\"engine\":\"%s\",\"chunk\":%d,\"frame_group\":%d,"
                   "\"runs\":%d,\"median_s\":%.4f,\"best_s\":%.4f,\"tflop\":%.1f,\"tflops\":%.1f,"
                   "\"arena_peak_bytes\":%llu,\"arena_bytes\":%llu,\"device_free_low_bytes\":%llu,"
                   "\"device_total_bytes\":%llu,\"model_load_s\":%.2f,"
                   "\"stages_s\":{\"wall\":%.4f,\"source\":%.4f,\"sink\":%.4f,\"upload\":%.4f,\"download\":%.4f,"
                   "\"wait_device\":%.4f,\"host_enqueue_other\":%.4f},\"graphs\":{\"recorded\":%ld,\"replayed\":%ld,"
                   "\"redone\":%ld}",
                   what, o.shape, tsr_precision_name(o.precision), n_fp8, n_conv, o.c, o.t, o.h, o.w, desc, o.chunk, o.frame_group,
                   o.runs, med, best, tflop,
                   tflop > 0 ? tflop / med : 0, (unsigned long long)rs.mem_peak, (unsigned long long)rs.mem_budget,
                   (unsigned long long)free_low, (unsigned long long)dev_total, t_load, m->wall, m->source, m->sink,
                   m->st.upload_s, m->st.download_s, m->st.wait_s, compute, m->st.graph_captures,
                   m->st.graph_replays, m->st.graph_fallbacks);
            if (prs.profile.profiled) print_profile(&prs.profile, med, prof_wall, 1);
            printf("}\n");
        } else {
            printf("engine: %s\nmodel: %s (filled/loaded in %.1f s)\nprecision: %s, %d of %d convs in FP8\n", desc,
                   o.model, t_load, tsr_precision_name(o.precision), n_fp8, n_conv);
            printf("| op | shape | latent | chunk | frame group | runs | median s | best s | TFLOP | TFLOP/s | peak arena GiB | device free low-water GiB |\n");
            printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
            printf("| %s | %s | %dx%dx%dx%d | %d | %d | %d | %.3f | %.3f | %.1f | %.0f | %.2f | %.2f of %.2f |\n", what,
                   o.shape, o.c, o.t, o.h, o.w, o.chunk, o.frame_group, o.runs, med, best, tflop, tflop > 0 ? tflop / med : 0,
                   (double)rs.mem_peak / (1u << 30), (double)free_low / (1u << 30), (double)dev_total / (1u << 30));
            printf("\nstages of the median run (host seconds; the device works beside them)\n");
            printf("| wall | %s (excluded) | upload (host copies, conversion) | download (copy-out) | blocked on the device | "
                   "rest (enqueueing; on the CPU backend: the compute) |\n|---|---|---|---|---|---|\n",
                   o.encode ? "frame source" : "frame sink");
            printf("| %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n", m->wall, o.encode ? m->source : m->sink,
                   m->st.upload_s, m->st.download_s, m->st.wait_s, compute);
            printf("chunk graphs in the median run: %ld recorded, %ld replayed, %ld redone eagerly\n",
                   m->st.graph_captures, m->st.graph_replays, m->st.graph_fallbacks);
            if (prs.profile.profiled) print_profile(&prs.profile, med, prof_wall, 0);
        }
    }
    free(lat), free(recs), free(noise);
    tsr_model_destroy(&model);
    return rc;
}
