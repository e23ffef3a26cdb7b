/* bench_media_sink MODEL BACKEND CxTxHxW OUTDIR SINK...: does the encoder limit decode throughput?
 *
 * Decodes one filler latent (the goldens' latent filler, decoder-input scale) of the given shape
 *  - "null": straight through tsr_vae_decode into a sink that drops the frames (the compute alone; run after
 *    one untimed warm-up decode so per-shape plans are built); "nullcold": the same on a freshly created VAE
 *    without the warm-up (what a job's decode meets: are the plans still cached?), and
 *  - any codec name (h264, hevc, h264_nvenc, hevc_nvenc, ffv1, prores ...): as a real decode job
 *    (tsr_job_run: latent file -> writer thread -> OUTDIR/out_<codec>.<mp4|mkv|mov>), timed from the job's
 *    first decode progress to its "done" (the output renamed into place; encoder flush included).
 *    "CODEC@N" runs it with TSR_ENCODER_THREADS=N (the encoder's thread count; default: its own choice).
 * Each line also gives the process's CPU time (user + system, all threads) spent on that sink.
 * Prints one line per sink: frames, seconds, frames/s, and for jobs the writer queue's figures: how long the
 * decoder was blocked on a full queue (it waited on the writer) and how long the writer waited for frames.
 * A benchmark (figures go to tests/bench/RESULTS.md), not a test: it asserts nothing about speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/common.h"
#include "model/filler.h"
#include "tessera.h"

typedef struct queue_log { double blocked, idle, job; int seen; } queue_log;
static queue_log last_queue; /* the last job's writer-queue figures (from the engine's debug log) */

static void on_log(void *user, tsr_log_level level, const char *msg)
{
    queue_log *q = user;
    int cap;
    if (sscanf(msg, "writer queue (%d frames): producer blocked %lf s, writer idle %lf s, job %lf s", &cap,
               &q->blocked, &q->idle, &q->job) == 4)
        q->seen = 1;
    else if (level <= TSR_LOG_WARN)
        fprintf(stderr, "tessera: %s\n", msg);
}

typedef struct phase { double t_decode, t_done; } phase;

static int on_progress(void *user, const tsr_progress *p)
{
    phase *ph = user;
    double now = tsr_now();
    if (p->stage && strcmp(p->stage, "decode") == 0 && ph->t_decode == 0) ph->t_decode = now;
    if (p->stage && strcmp(p->stage, "done") == 0) ph->t_done = now;
    return 0;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int null_frames;
static tsr_status null_sink(void *user, const float *frames, int n, int first, int height, int width, tsr_error *err)
{
    (void)user, (void)frames, (void)first, (void)height, (void)width, (void)err;
    null_frames += n;
    return TSR_OK;
}

static tsr_status open_model(const char *name, tsr_model **m, tsr_error *err)
{
    if (strcmp(name, "builtin:small") != 0) return tsr_model_builtin(NULL, m, err);
    tsr_vae_config c;
    tsr_vae_config_seedvr2(&c);
    static const int ch[4] = {32, 32, 64, 64};
    memcpy(c.block_out, ch, sizeof ch);
    return tsr_model_builtin(&c, m, err);
}

static const char *container_for(const char *codec)
{
    if (strncmp(codec, "prores", 6) == 0) return "mov";
    if (strcmp(codec, "ffv1") == 0) return "mkv";
    return "mp4";
}

static int run_null(tsr_engine *eng, const char *model, const tsr_latent *l, int warm, tsr_error *err)
{
    tsr_model *m = NULL;
    tsr_vae *vae = NULL;
    tsr_status st = open_model(model, &m, err);
    if (st == TSR_OK) st = tsr_vae_create(eng, m, &vae, err);
    tsr_decode_params dp;
    tsr_decode_params_default(&dp);
    if (st == TSR_OK && warm) st = tsr_vae_decode(vae, l->data, l->c, l->t, l->h, l->w, &dp, null_sink, NULL, err);
    null_frames = 0;
    double t0 = tsr_now(), c0 = cpu_seconds();
    if (st == TSR_OK) st = tsr_vae_decode(vae, l->data, l->c, l->t, l->h, l->w, &dp, null_sink, NULL, err);
    double dt = tsr_now() - t0, cpu = cpu_seconds() - c0;
    if (st == TSR_OK)
        printf("sink=%-10s frames=%d seconds=%.3f fps=%.2f cpu_s=%.1f\n", warm ? "null" : "nullcold", null_frames, dt,
               null_frames / dt, cpu);
    tsr_vae_destroy(&vae);
    tsr_model_destroy(&m);
    return st == TSR_OK ? 0 : 1;
}

static int run_job(tsr_engine *eng, const char *model, const char *latent_path, const char *dir, const char *sink,
                   int frames, tsr_error *err)
{
    char codec[64];
    snprintf(codec, sizeof codec, "%s", sink);
    char *at = strchr(codec, '@');
    if (at) *at = 0, setenv("TSR_ENCODER_THREADS", at + 1, 1);
    tsr_job_spec s;
    tsr_job_spec_default(&s);
    s.kind = TSR_JOB_DECODE;
    snprintf(s.input, sizeof s.input, "%s", latent_path);
    snprintf(s.output, sizeof s.output, "%s/out_%s%s%s.%s", dir, codec, at ? "_t" : "", at ? at + 1 : "",
             container_for(codec));
    snprintf(s.model, sizeof s.model, "%s", model);
    snprintf(s.codec, sizeof s.codec, "%s", codec);
    queue_log *q = &last_queue;
    memset(q, 0, sizeof *q);
    phase ph = {0};
    double c0 = cpu_seconds();
    tsr_status st = tsr_job_run(eng, &s, on_progress, &ph, err);
    double cpu = cpu_seconds() - c0;
    unsetenv("TSR_ENCODER_THREADS");
    if (st != TSR_OK) {
        printf("sink=%-10s failed: %s\n", sink, err->message);
        return 1;
    }
    double dt = ph.t_done - ph.t_decode;
    printf("sink=%-10s frames=%d seconds=%.3f fps=%.2f cpu_s=%.1f decoder_blocked_on_writer_s=%.2f writer_idle_s=%.2f "
           "job_s=%.2f output=%s\n", sink, frames, dt, frames / dt, cpu, q->blocked, q->idle, q->job, s.output);
    return q->seen ? 0 : 1;
}

int main(int argc, char **argv)
{
    int c, t, h, w;
    if (argc < 6 || sscanf(argv[3], "%dx%dx%dx%d", &c, &t, &h, &w) != 4 || c != 16 || t < 1 || h < 1 || w < 1) {
        fprintf(stderr, "usage: bench_media_sink builtin|builtin:small cpu|cuda 16xTxHxW OUTDIR null|CODEC...\n");
        return 2;
    }
    tsr_error err = {0};
    tsr_set_log_callback(on_log, &last_queue, TSR_LOG_DEBUG); /* before any engine, as tessera.h asks */
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = strcmp(argv[2], "cuda") == 0 ? TSR_BACKEND_CUDA : TSR_BACKEND_CPU;
    tsr_engine *eng = NULL;
    if (tsr_engine_create(&ep, &eng, &err) != TSR_OK) {
        fprintf(stderr, "engine: %s\n", err.message);
        return 1;
    }
    tsr_latent l = {0};
    l.c = c, l.t = t, l.h = h, l.w = w, l.frames = 4 * t - 3, l.height = 8 * h, l.width = 8 * w;
    l.fps_num = 25, l.fps_den = 1;
    size_t n = (size_t)c * t * h * w;
    l.data = malloc(n * sizeof(float));
    char path[4200];
    snprintf(path, sizeof path, "%s/bench_latent.safetensors", argv[4]);
    int bad = !l.data;
    if (!bad) tsr_filler_latent(l.data, n);
    if (!bad && tsr_latent_write(path, &l, 0, 1, &err) != TSR_OK) bad = 1, fprintf(stderr, "%s\n", err.message);
    printf("latent %dx%dx%dx%d -> %d frames of %dx%d on %s, model %s\n", c, t, h, w, l.frames, l.width, l.height,
           tsr_engine_description(eng), argv[1]);
    for (int i = 5; i < argc && !bad; i++)
        bad |= strcmp(argv[i], "null") == 0       ? run_null(eng, argv[1], &l, 1, &err)
               : strcmp(argv[i], "nullcold") == 0 ? run_null(eng, argv[1], &l, 0, &err)
                                                  : run_job(eng, argv[1], path, argv[4], argv[i], l.frames, &err);
    if (bad && err.message[0]) fprintf(stderr, "error: %s\n", err.message);
    tsr_latent_free(&l);
    tsr_engine_destroy(&eng);
    return bad;
}
