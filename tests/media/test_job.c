/* tsr_job_run without the VAE (kind TRANSCODE): concurrent jobs on two threads, cancel from the progress
 * callback (no output, no temp file), and the runner's default job running it end to end; then a real VAE job
 * (builtin:small): PLAN/PREVIEW events through the runner and the frame rate kept in latent files; decode jobs with
 * a budget start from the plan tuned for them in the runner's store. */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media/media.h"
#include "tsr_config.h"
#include "tsr_test.h"

static char dir[256], clip[300];

#define REQUIRE_MSG(cond, msg)                                                                       \
    do {                                                                                             \
        if (!(cond)) fprintf(stderr, "%s\n", msg);                                                   \
        REQUIRE(cond);                                                                               \
    } while (0)

/* An FFV1 clip of `frames` w x h frames whose value at float i of frame k is ((a*i + b*k) % m) / (m/2) - 1;
 * fps_num 0 = the writer's default rate. */
static void write_clip(const char *path, int w, int h, int frames, int fps_num, int fps_den, int a, int b, int m)
{
    tsr_media_writer_params p;
    tsr_media_writer_params_default(&p);
    p.width = w, p.height = h, p.codec = "ffv1";
    if (fps_num) p.fps_num = fps_num, p.fps_den = fps_den;
    tsr_media_writer *wr = NULL;
    tsr_error err = {0};
    size_t n = (size_t)3 * w * h;
    float *f = malloc(sizeof(float) * n);
    REQUIRE(f && tsr_media_writer_open(path, &p, &wr, &err) == TSR_OK);
    for (int k = 0; k < frames; k++) {
        for (size_t i = 0; i < n; i++) f[i] = (float)(((size_t)a * i + (size_t)b * k) % (size_t)m) / (float)(m / 2) - 1.0f;
        REQUIRE(tsr_media_write(wr, f, &err) == TSR_OK);
    }
    REQUIRE(tsr_media_writer_finish(&wr, &err) == TSR_OK);
    free(f);
}

static void make_clip(void)
{
    snprintf(clip, sizeof clip, "%s/src.mkv", dir);
    write_clip(clip, 66, 50, 30, 0, 0, 1, 1, 50);
}

static void spec_for(tsr_job_spec *s, const char *out)
{
    tsr_job_spec_default(s);
    s->kind = TSR_JOB_TRANSCODE;
    snprintf(s->input, sizeof s->input, "%s", clip);
    snprintf(s->output, sizeof s->output, "%s/%s", dir, out);
}

typedef struct run_arg { const char *out; tsr_status st; int last_done; tsr_error err; int cancel_at; } run_arg;

static int on_progress(void *user, const tsr_progress *p)
{
    run_arg *a = user;
    a->last_done = p->frames_done;
    return a->cancel_at > 0 && p->frames_done >= a->cancel_at;
}

static void *run_thread(void *arg)
{
    run_arg *a = arg;
    tsr_job_spec s;
    spec_for(&s, a->out);
    a->st = tsr_job_run(NULL, &s, on_progress, a, &a->err);
    return NULL;
}

static int count_entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static void test_concurrent_and_cancel(void)
{
    run_arg a = {.out = "a.mp4"}, b = {.out = "b/"}, c = {.out = "c.mov", .cancel_at = 5};
    pthread_t ta, tb, tc;
    pthread_create(&ta, NULL, run_thread, &a);
    pthread_create(&tb, NULL, run_thread, &b);
    pthread_create(&tc, NULL, run_thread, &c);
    pthread_join(ta, NULL), pthread_join(tb, NULL), pthread_join(tc, NULL);
    CHECKF(a.st == TSR_OK && a.last_done == 30, "a: %s (%d frames)", a.err.message, a.last_done);
    CHECKF(b.st == TSR_OK, "b: %s", b.err.message);
    CHECKF(c.st == TSR_ERR_CANCELLED, "c: %s", tsr_status_name(c.st));
    char p[400];
    snprintf(p, sizeof p, "%s/c.mov", dir);
    CHECK(access(p, F_OK) != 0);
    CHECKF(count_entries() == 3, "%d entries (want src.mkv, a.mp4, b/)", count_entries()); /* no temp files */
    tsr_media_reader *r = NULL;
    tsr_error err = {0};
    snprintf(p, sizeof p, "%s/a.mp4", dir);
    REQUIRE(tsr_media_reader_open(p, &r, &err) == TSR_OK);
    CHECK(tsr_media_reader_info(r)->width == 66 && tsr_media_reader_info(r)->height == 50);
    tsr_media_reader_close(&r);
}

static int wakeups;
static void on_wakeup(void *user) { (void)user, __atomic_add_fetch(&wakeups, 1, __ATOMIC_SEQ_CST); }

static void test_runner_default_job(void)
{
    tsr_runner_params rp = {.wakeup = on_wakeup};
    tsr_runner *r = NULL;
    REQUIRE(tsr_runner_create(&rp, &r, NULL) == TSR_OK);
    tsr_job_spec s;
    spec_for(&s, "runner.mkv");
    snprintf(s.format, sizeof s.format, "mkv-ffv1");
    uint64_t id = 0;
    tsr_error err = {0};
    REQUIRE(tsr_runner_submit(r, &s, &id, &err) == TSR_OK);
    tsr_event ev = {0};
    int done = 0, progress = 0;
    for (int spins = 0; spins < 6000 && !done; spins++) {
        while (tsr_runner_poll(r, &ev))
            if (ev.job == id) {
                progress += ev.type == TSR_EVENT_PROGRESS;
                if (ev.type == TSR_EVENT_FINISHED || ev.type == TSR_EVENT_FAILED) done = ev.type;
                if (ev.type == TSR_EVENT_FAILED) fprintf(stderr, "runner job failed: %s\n", ev.message);
            }
        if (!done) usleep(5000);
    }
    CHECKF(done == TSR_EVENT_FINISHED, "runner job: %s", tsr_event_type_name((tsr_event_type)done));
    CHECK(progress > 0);
    tsr_runner_destroy(&r);
    char p[400];
    snprintf(p, sizeof p, "%s/runner.mkv", dir);
    tsr_media_reader *rd = NULL;
    CHECK(tsr_media_reader_open(p, &rd, &err) == TSR_OK && !strcmp(tsr_media_reader_info(rd)->codec, "ffv1"));
    tsr_media_reader_close(&rd);
}

/* A real VAE job: encode a 30000/1001 fps clip with builtin:small (the rate lands in the latent's
 * "tessera.fps"), then decode it through the runner's default job with tiles: PLAN and PREVIEW events arrive
 * with the tile grid and the frame size, and the video gets the recorded rate; an explicit rate wins. */
static void test_vae_plan_preview_fps(void)
{
    char small[300], lat[300], comfy[300], out[300], out24[300];
    snprintf(small, sizeof small, "%s/small.mkv", dir);
    write_clip(small, 32, 48, 5, 30000, 1001, 7, 3, 64);
    tsr_error err = {0};

    snprintf(lat, sizeof lat, "%s/enc.safetensors", dir);
    snprintf(comfy, sizeof comfy, "%s/enc.latent", dir);
    const char *targets[2] = {lat, comfy};
    for (int i = 0; i < 2; i++) {
        tsr_job_spec s;
        tsr_job_spec_default(&s);
        s.kind = TSR_JOB_ENCODE;
        snprintf(s.input, sizeof s.input, "%s", small);
        snprintf(s.output, sizeof s.output, "%s", targets[i]);
        tsr_status st = tsr_job_run(NULL, &s, NULL, NULL, &err);
        REQUIRE_MSG(st == TSR_OK, err.message);
        tsr_latent l = {0};
        REQUIRE(tsr_latent_read(targets[i], &l, &err) == TSR_OK);
        CHECKF(l.fps_num == 30000 && l.fps_den == 1001, "%s: fps %d/%d", targets[i], l.fps_num, l.fps_den);
        CHECK(l.t == 2 && l.h == 6 && l.w == 4 && l.frames == 5);
        tsr_latent_free(&l);
    }

    tsr_runner *r = NULL;
    REQUIRE(tsr_runner_create(NULL, &r, NULL) == TSR_OK);
    tsr_job_spec s;
    tsr_job_spec_default(&s);
    snprintf(s.input, sizeof s.input, "%s", lat);
    snprintf(out, sizeof out, "%s/dec.mkv", dir);
    snprintf(s.output, sizeof s.output, "%s", out);
    snprintf(s.format, sizeof s.format, "mkv-ffv1");
    s.tile = 16;
    uint64_t id = 0;
    REQUIRE(tsr_runner_submit(r, &s, &id, &err) == TSR_OK);
    tsr_event ev = {0}, plan = {0}, preview = {0};
    int done = 0, previews = 0, plan_first = 0;
    for (int spins = 0; spins < 12000 && !done; spins++) {
        while (tsr_runner_poll(r, &ev)) {
            if (ev.job != id) continue;
            if (ev.type == TSR_EVENT_PLAN && !plan.type) plan = ev, plan_first = previews == 0;
            if (ev.type == TSR_EVENT_PREVIEW) preview = ev, previews++;
            if (ev.type == TSR_EVENT_FINISHED || ev.type == TSR_EVENT_FAILED) done = ev.type;
            if (ev.type == TSR_EVENT_FAILED) fprintf(stderr, "vae runner job failed: %s\n", ev.message);
        }
        if (!done) usleep(5000);
    }
    CHECKF(done == TSR_EVENT_FINISHED, "vae runner job: %s", tsr_event_type_name((tsr_event_type)done));
    CHECKF(plan.type == TSR_EVENT_PLAN && plan.tiles_x == 2 && plan.tiles_y == 3 && plan.tiles == 6 &&
               plan.chunks_total == 2 && plan_first,
           "plan %dx%d, %d chunks", plan.tiles_x, plan.tiles_y, plan.chunks_total);
    CHECKF(previews >= 1 && previews <= 5 && preview.preview_width == 32 && preview.preview_height == 48,
           "%d previews, last %dx%d", previews, preview.preview_width, preview.preview_height);
    int pw = 0, ph = 0;
    uint8_t *rgb = malloc(32 * 48 * 3);
    CHECK(rgb && tsr_runner_preview(r, id, rgb, 32 * 48 * 3, &pw, &ph) == 32 * 48 * 3 && pw == 32 && ph == 48);
    int lo = 255, hi = 0;
    for (int i = 0; rgb && i < 32 * 48 * 3; i++) lo = rgb[i] < lo ? rgb[i] : lo, hi = rgb[i] > hi ? rgb[i] : hi;
    CHECKF(hi > lo, "flat preview %d..%d", lo, hi); /* a decoded picture, not an empty buffer */
    free(rgb);
    tsr_runner_destroy(&r);

    tsr_media_reader *rd = NULL;
    REQUIRE(tsr_media_reader_open(out, &rd, &err) == TSR_OK);
    const tsr_media_info *in = tsr_media_reader_info(rd);
    CHECKF(in->fps_num == 30000 && in->fps_den == 1001, "decoded at %d/%d fps", in->fps_num, in->fps_den);
    CHECK(in->width == 32 && in->height == 48);
    tsr_media_reader_close(&rd);

    snprintf(s.input, sizeof s.input, "%s", comfy); /* .latent too; an explicit rate wins */
    snprintf(out24, sizeof out24, "%s/dec24.mkv", dir);
    snprintf(s.output, sizeof s.output, "%s", out24);
    s.tile = 0, s.fps_num = 24, s.fps_den = 1;
    tsr_status st = tsr_job_run(NULL, &s, NULL, NULL, &err);
    REQUIRE_MSG(st == TSR_OK, err.message);
    REQUIRE(tsr_media_reader_open(out24, &rd, &err) == TSR_OK);
    in = tsr_media_reader_info(rd);
    CHECKF(in->fps_num == 24 && in->fps_den == 1, "--fps 24 decoded at %d/%d", in->fps_num, in->fps_den);
    tsr_media_reader_close(&rd);
}

#if TSR_HAVE_STORE
/* The first PLAN event of one job through a runner whose tuned-plan store is `store` (NULL = none). */
static tsr_event plan_of_job(const char *store, const tsr_job_spec *s)
{
    tsr_runner_params rp = {.tuned_store = store};
    tsr_runner *r = NULL;
    tsr_error err = {0};
    REQUIRE(tsr_runner_create(&rp, &r, &err) == TSR_OK);
    uint64_t id = 0;
    REQUIRE(tsr_runner_submit(r, s, &id, &err) == TSR_OK);
    tsr_event ev = {0}, plan = {0};
    int done = 0;
    for (int spins = 0; spins < 12000 && !done; spins++) {
        while (tsr_runner_poll(r, &ev)) {
            if (ev.type == TSR_EVENT_PLAN && !plan.type) plan = ev;
            if (ev.type == TSR_EVENT_FINISHED || ev.type == TSR_EVENT_FAILED) done = ev.type;
            if (ev.type == TSR_EVENT_FAILED) fprintf(stderr, "tuned job failed: %s\n", ev.message);
        }
        if (!done) usleep(5000);
    }
    CHECK(done == TSR_EVENT_FINISHED && plan.type == TSR_EVENT_PLAN);
    tsr_runner_destroy(&r);
    return plan;
}

/* Decode jobs with a memory budget start from the plan tuned for their key in the runner's store (the app's own
 * store: tsr_runner_params.tuned_store): the PLAN event shows the tuned plan's tiles where the planner would run
 * whole frames. Without a store, or with a host budget (tsr_job_spec.host_budget) the tuned plan exceeds, the
 * planner's whole-frame plan runs. */
static void test_decode_tuned_store(void)
{
    char clip_in[300], lat[300], db[300];
    snprintf(clip_in, sizeof clip_in, "%s/tuned.mkv", dir);
    snprintf(lat, sizeof lat, "%s/tuned.safetensors", dir);
    snprintf(db, sizeof db, "%s/tuned.db", dir);
    write_clip(clip_in, 32, 48, 5, 0, 0, 5, 3, 64);
    tsr_error err = {0};
    tsr_job_spec s;
    tsr_job_spec_default(&s);
    s.kind = TSR_JOB_ENCODE, s.backend = TSR_BACKEND_CPU;
    snprintf(s.input, sizeof s.input, "%s", clip_in);
    snprintf(s.output, sizeof s.output, "%s", lat);
    REQUIRE_MSG(tsr_job_run(NULL, &s, NULL, NULL, &err) == TSR_OK, err.message);

    /* what `tessera-cli tune` would store for the job's engine (made from the spec), model, size and budget */
    const uint64_t budget = 1ull << 30;
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CPU, ep.memory_budget = budget;
    tsr_vae_config cfg;
    tsr_vae_config_seedvr2(&cfg);
    static const int ch[4] = {32, 32, 64, 64}; /* builtin:small */
    memcpy(cfg.block_out, ch, sizeof ch);
    tsr_engine *eng = NULL;
    tsr_model *m = NULL;
    tsr_vae *vae = NULL;
    REQUIRE(tsr_engine_create(&ep, &eng, &err) == TSR_OK && tsr_model_builtin(&cfg, &m, &err) == TSR_OK &&
            tsr_vae_create(eng, m, &vae, &err) == TSR_OK);
    tsr_plan_request r;
    tsr_vae_plan_request(vae, 2, 6, 4, budget, 0, &r);
    r.host_budget = tsr_plan_default_host_budget(); /* the job's, with host_budget 0 */
    tsr_plan best, tiled;
    REQUIRE(tsr_plan_make(&r, &best, &err) == TSR_OK && best.kind == TSR_PLAN_EXACT);
    tiled = best;
    while (tiled.kind != TSR_PLAN_IMPOSSIBLE && !(tiled.kind == TSR_PLAN_TILED && tiled.offloaded > 0)) {
        r.budget = tiled.peak - 1;
        REQUIRE(tsr_plan_make(&r, &tiled, &err) == TSR_OK);
    }
    REQUIRE(tiled.kind == TSR_PLAN_TILED && tiled.tiles_x * tiled.tiles_y > 1);
    r.budget = budget;
    tsr_tune_key k;
    tsr_tune_key_make(vae, &r, &k);
    char json[1024];
    tsr_plan_to_json(&tiled, json, sizeof json);
    tsr_tuned t = {json, "{}", 0.5, tiled.peak};
    tsr_store_params sp;
    tsr_store_params_default(&sp);
    sp.path = db;
    tsr_store *st = NULL;
    REQUIRE(tsr_store_open(&sp, &st, &err) == TSR_OK && tsr_store_tuned_put(st, &k, &t, &err) == TSR_OK);
    tsr_store_close(&st);
    tsr_vae_destroy(&vae);
    tsr_model_destroy(&m);
    tsr_engine_destroy(&eng);

    tsr_job_spec_default(&s);
    s.backend = TSR_BACKEND_CPU, s.memory_budget = budget;
    snprintf(s.input, sizeof s.input, "%s", lat);
    snprintf(s.output, sizeof s.output, "%s/tuned-out.mkv", dir);
    snprintf(s.format, sizeof s.format, "mkv-ffv1");
    tsr_event with = plan_of_job(db, &s), without = plan_of_job(NULL, &s);
    s.host_budget = 1024; /* far below what the tuned plan keeps in host memory */
    tsr_event small_host = plan_of_job(db, &s);
    fprintf(stderr, "tuned %dx%d tiles: with the store %dx%d, without %dx%d, host budget 1 KiB %dx%d\n", tiled.tiles_x,
            tiled.tiles_y, with.tiles_x, with.tiles_y, without.tiles_x, without.tiles_y, small_host.tiles_x,
            small_host.tiles_y);
    CHECK(with.tiles_x == tiled.tiles_x && with.tiles_y == tiled.tiles_y);
    CHECK(without.tiles_x == 1 && without.tiles_y == 1);
    CHECK(small_host.tiles_x == 1 && small_host.tiles_y == 1);
}
#endif

/* Entries of the job folder whose name starts with `prefix`. */
static int count_prefixed(const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d) closedir(d);
    return n;
}

typedef struct rt_watch {
    int spool_seen, cancel_in_decode, decode_calls;
} rt_watch;

/* During the decode half of a round trip the latent lives in a spool file beside the output
 * ("rt.mkv.tmp-*", next to the writer's own temp file), not in host memory. */
static int rt_progress(void *user, const tsr_progress *p)
{
    rt_watch *w = user;
    if (!p->stage || strcmp(p->stage, "decode") != 0) return 0;
    w->decode_calls++;
    if (count_prefixed("rt.mkv.tmp-") >= 1) w->spool_seen = 1;
    return w->cancel_in_decode && w->decode_calls > 1;
}

static void test_roundtrip_spool(void)
{
    char small[300], out[300];
    snprintf(small, sizeof small, "%s/small.mkv", dir);
    snprintf(out, sizeof out, "%s/rt.mkv", dir);
    tsr_job_spec s;
    tsr_job_spec_default(&s);
    s.kind = TSR_JOB_ROUNDTRIP;
    s.chunk = 4;
    snprintf(s.input, sizeof s.input, "%s", small);
    snprintf(s.output, sizeof s.output, "%s", out);
    snprintf(s.format, sizeof s.format, "mkv-ffv1");
    tsr_error err = {0};
    rt_watch w = {0};
    tsr_status st = tsr_job_run(NULL, &s, rt_progress, &w, &err);
    REQUIRE_MSG(st == TSR_OK, err.message);
    CHECKF(w.spool_seen && w.decode_calls > 0, "spool file seen: %d (%d decode reports)", w.spool_seen, w.decode_calls);
    CHECKF(count_prefixed("rt.mkv.tmp-") == 0, "%d temp/spool files left", count_prefixed("rt.mkv.tmp-"));
    tsr_media_reader *rd = NULL;
    REQUIRE(tsr_media_reader_open(out, &rd, &err) == TSR_OK);
    const tsr_media_info *in = tsr_media_reader_info(rd);
    float *fr = malloc(sizeof(float) * 3 * 32 * 48);
    int frames = 0, got;
    while (fr && (got = tsr_media_read(rd, fr, 1, &err)) > 0) frames += got;
    CHECKF(in->width == 32 && in->height == 48 && frames == 5, "round trip %dx%d, %d frames", in->width, in->height,
           frames);
    free(fr);
    tsr_media_reader_close(&rd);
    remove(out);
    /* cancelled while decoding from the spool: no output, no spool, no temp file */
    rt_watch c = {0, 1, 0};
    st = tsr_job_run(NULL, &s, rt_progress, &c, &err);
    CHECKF(st == TSR_ERR_CANCELLED, "cancelled round trip: %d %s", st, err.message);
    CHECKF(count_prefixed("rt.mkv") == 0, "%d files left after the cancel", count_prefixed("rt.mkv"));
}

/* An encode job with a VRAM budget that whole frames do not fit: the encoder's memory model picks frame groups
 * (exact) before it starts when they fit; when only tiles fit, the job encodes in exact spatial tiles (smaller
 * after an out-of-memory, reading the clip again) instead of failing; the latent equals the untiled one up to
 * rounding. A budget no tile fits fails with the out-of-memory error and leaves no file. */
static int peak_progress(void *user, const tsr_progress *p)
{
    uint64_t *peak = user;
    if (p->mem_peak > *peak) *peak = p->mem_peak;
    return 0;
}

static void test_encode_budget_tiles(void)
{
    char clip256[300], lat[300];
    snprintf(clip256, sizeof clip256, "%s/wide.mkv", dir);
    write_clip(clip256, 256, 192, 5, 0, 0, 13, 5, 97);
    tsr_error err = {0};
    tsr_job_spec s;
    tsr_job_spec_default(&s);
    s.kind = TSR_JOB_ENCODE;
    s.backend = TSR_BACKEND_CPU;
    s.latent_raw = 1;
    snprintf(s.input, sizeof s.input, "%s", clip256);
    uint64_t peak_whole = 0, peak_tiled = 0, peak_budget = 0;
    const char *names[3] = {"whole.safetensors", "t64.safetensors", "budget.safetensors"};
    tsr_latent l[3] = {{0}};
    for (int run = 0; run < 3; run++) {
        snprintf(lat, sizeof lat, "%s/%s", dir, names[run]);
        snprintf(s.output, sizeof s.output, "%s", lat);
        s.tile = run == 1 ? 64 : 0;
        s.memory_budget = run == 2 ? (peak_whole + peak_tiled) / 2 : 0;
        uint64_t *peak = run == 0 ? &peak_whole : run == 1 ? &peak_tiled : &peak_budget;
        tsr_status st = tsr_job_run(NULL, &s, peak_progress, peak, &err);
        CHECKF(st == TSR_OK, "encode run %d (budget %llu): %s", run, (unsigned long long)s.memory_budget, err.message);
        REQUIRE(tsr_latent_read(lat, &l[run], &err) == TSR_OK);
        if (run == 1) CHECKF(peak_tiled < peak_whole, "tiled peak %llu vs whole %llu", (unsigned long long)peak_tiled,
                             (unsigned long long)peak_whole);
    }
    fprintf(stderr, "encode peaks: whole %.1f MiB, 64 px tiles %.1f MiB, budget %.1f MiB -> %.1f MiB\n",
            peak_whole / 1048576.0, peak_tiled / 1048576.0, (peak_whole + peak_tiled) / 2 / 1048576.0,
            peak_budget / 1048576.0);
    /* the whole-frame try ran out at the budget; what finished stayed within it */
    CHECKF(peak_budget <= (peak_whole + peak_tiled) / 2, "peak %llu over the budget", (unsigned long long)peak_budget);
    size_t n = (size_t)l[0].c * l[0].t * l[0].h * l[0].w;
    CHECK(l[2].c == l[0].c && l[2].t == l[0].t && l[2].h == l[0].h && l[2].w == l[0].w);
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)l[2].data[i] - l[0].data[i]));
    /* the encoder's memory model chose whole frames in frame groups before starting (exact), not tiles */
    CHECKF(d == 0, "budget latent differs from the whole-frame one by %g (frame groups are exact)", d);
    /* a budget only tiles fit (twice the 64 px peak): tiles from the start, smaller after an out-of-memory */
    uint64_t peak_small = 0;
    snprintf(lat, sizeof lat, "%s/small.safetensors", dir);
    snprintf(s.output, sizeof s.output, "%s", lat);
    s.memory_budget = 2 * peak_tiled;
    tsr_status st2 = tsr_job_run(NULL, &s, peak_progress, &peak_small, &err);
    CHECKF(st2 == TSR_OK, "encode within %llu: %s", (unsigned long long)s.memory_budget, err.message);
    tsr_latent ls = {0};
    if (st2 == TSR_OK) REQUIRE(tsr_latent_read(lat, &ls, &err) == TSR_OK);
    d = 0;
    for (size_t i = 0; st2 == TSR_OK && i < n; i++) d = fmax(d, fabs((double)ls.data[i] - l[0].data[i]));
    fprintf(stderr, "budget %.1f MiB (tiles): peak %.1f MiB, max abs %g vs whole frames\n", s.memory_budget / 1048576.0,
            peak_small / 1048576.0, d);
    CHECK(peak_small <= s.memory_budget && d <= 1e-4);
    tsr_latent_free(&ls);
    for (int run = 0; run < 3; run++) tsr_latent_free(&l[run]);
    /* a budget below the smallest tile's need: the out-of-memory error, no output, no temp file */
    snprintf(s.output, sizeof s.output, "%s/tiny.safetensors", dir);
    s.tile = 0, s.memory_budget = 4096;
    tsr_status st = tsr_job_run(NULL, &s, NULL, NULL, &err);
    CHECKF(st == TSR_ERR_DEVICE_OOM, "tiny budget: %d %s", st, err.message);
    CHECKF(count_prefixed("tiny.safetensors") == 0, "%d files left", count_prefixed("tiny.safetensors"));
}

int main(void)
{
#if !TSR_HAVE_MEDIA
    SKIP("built without FFmpeg");
#endif
    snprintf(dir, sizeof dir, "%s/tsr-job-XXXXXX", tsr_test_env("TMPDIR", "/tmp"));
    REQUIRE(mkdtemp(dir));
    make_clip();
    test_concurrent_and_cancel();
    test_runner_default_job();
    test_vae_plan_preview_fps();
    test_roundtrip_spool();
    test_encode_budget_tiles();
#if TSR_HAVE_STORE
    test_decode_tuned_store();
#endif
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (!tsr_test_failures && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return tsr_test_done();
}
