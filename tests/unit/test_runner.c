/* The job runner without any UI: a fake job function, the wakeup contract, events in order, cancel of a
 * queued and of a running job, pause/resume, previews. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "tessera.h"
#include "tsr_test.h"

static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static int wakeups;

static void on_wakeup(void *user)
{
    (void)user;
    pthread_mutex_lock(&wake_lock);
    wakeups++;
    pthread_cond_broadcast(&wake_cond);
    pthread_mutex_unlock(&wake_lock);
}

typedef struct fake {
    int frames;     /* frames the fake job "produces" */
    int delay_us;   /* per frame */
    int fail;       /* fail with this status instead of finishing */
} fake;

static tsr_status fake_job(void *user, const tsr_job_spec *spec, tsr_job_ctx *ctx, tsr_error *err)
{
    const fake *f = user;
    tsr_job_ctx_plan(ctx, 2, 2, f->frames);
    uint8_t rgb[600 * 20 * 3];
    memset(rgb, 200, sizeof rgb);
    for (int i = 0; i < f->frames; i++) {
        usleep((useconds_t)f->delay_us);
        tsr_progress p = {.stage = "decode", .chunks_done = i + 1, .chunks_total = f->frames,
                          .frames_done = i + 1, .frames_total = f->frames, .tile = 3, .tiles = 4,
                          .mem_in_use = 100, .mem_budget = 1000};
        if (i == 0) tsr_job_ctx_preview(ctx, rgb, 600, 20, 600 * 3);
        if (tsr_job_ctx_progress(ctx, &p)) return TSR_ERR_CANCELLED;
    }
    if (f->fail) {
        snprintf(err->message, sizeof err->message, "fake failure on %s", spec->input);
        return (tsr_status)f->fail;
    }
    return TSR_OK;
}

/* Drain events until one of `type` for `job` arrives (waiting on wakeups, 5 ms at a time) or `seconds` have
 * passed; returns 1 when seen. */
static int wait_for_s(tsr_runner *r, uint64_t job, tsr_event_type type, tsr_event *out, int *counts, double seconds)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        tsr_event ev;
        while (tsr_runner_poll(r, &ev)) {
            if (counts) counts[ev.type]++;
            if (ev.job == job && ev.type == type) {
                if (out) *out = ev;
                return 1;
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - t0.tv_nsec) > seconds) return 0;
        pthread_mutex_lock(&wake_lock);
        int seen = wakeups;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 5 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
        while (wakeups == seen && pthread_cond_timedwait(&wake_cond, &wake_lock, &ts) == 0) {}
        pthread_mutex_unlock(&wake_lock);
    }
}

static int wait_for(tsr_runner *r, uint64_t job, tsr_event_type type, tsr_event *out, int *counts)
{
    return wait_for_s(r, job, type, out, counts, 10.0); /* the fake jobs */
}

static tsr_runner *make_runner(fake *f)
{
    tsr_runner_params p = {.job = fake_job, .job_user = f, .wakeup = on_wakeup};
    tsr_runner *r = NULL;
    tsr_error err = {0};
    REQUIRE(tsr_runner_create(&p, &r, &err) == TSR_OK);
    return r;
}

static uint64_t submit(tsr_runner *r, const char *input)
{
    tsr_job_spec spec;
    tsr_job_spec_default(&spec);
    snprintf(spec.input, sizeof spec.input, "%s", input);
    snprintf(spec.output, sizeof spec.output, "%s.out", input);
    uint64_t id = 0;
    CHECK(tsr_runner_submit(r, &spec, &id, NULL) == TSR_OK);
    CHECK(id > 0);
    return id;
}

static void test_events_in_order(void)
{
    fake f = {.frames = 5, .delay_us = 1000};
    tsr_runner *r = make_runner(&f);
    uint64_t id = submit(r, "a.mp4");
    int counts[16] = {0};
    tsr_event ev;
    CHECK(wait_for(r, id, TSR_EVENT_FINISHED, &ev, counts));
    CHECK(strcmp(ev.message, "a.mp4.out") == 0);
    CHECK(counts[TSR_EVENT_QUEUED] == 1 && counts[TSR_EVENT_STARTED] == 1 && counts[TSR_EVENT_PLAN] == 1);
    CHECK(counts[TSR_EVENT_PROGRESS] == 5 && counts[TSR_EVENT_PREVIEW] == 1);
    CHECK(wakeups > 0);
    int w = 0, h = 0;
    size_t need = tsr_runner_preview(r, id, NULL, 0, &w, &h);
    CHECKF(w == 256 && h == 8 && need == 256 * 8 * 3, "preview %dx%d", w, h);
    uint8_t buf[256 * 8 * 3];
    CHECK(tsr_runner_preview(r, id, buf, sizeof buf, &w, &h) == need && buf[100] == 200);
    tsr_runner_destroy(&r);
    CHECK(r == NULL);
}

static void test_failure_and_progress_numbers(void)
{
    fake f = {.frames = 4, .delay_us = 2000, .fail = TSR_ERR_INPUT};
    tsr_runner *r = make_runner(&f);
    uint64_t id = submit(r, "bad.mp4");
    tsr_event ev;
    CHECK(wait_for(r, id, TSR_EVENT_FAILED, &ev, NULL));
    CHECK(ev.status == TSR_ERR_INPUT && strstr(ev.message, "fake failure on bad.mp4"));
    tsr_runner_destroy(&r);
}

static void test_cancel_queued_and_running(void)
{
    fake f = {.frames = 1000, .delay_us = 1000};
    tsr_runner *r = make_runner(&f);
    uint64_t a = submit(r, "a"), b = submit(r, "b");
    CHECK(wait_for(r, a, TSR_EVENT_PROGRESS, NULL, NULL));
    CHECK(tsr_runner_cancel(r, b) == 1);
    CHECK(wait_for(r, b, TSR_EVENT_CANCELLED, NULL, NULL));
    /* withdraw: a waiting job is taken back silently; the running one is not touched */
    uint64_t c = submit(r, "c"), d = submit(r, "d");
    CHECK(tsr_runner_withdraw(r, a) == 0 && tsr_runner_withdraw(r, c) == 1 && tsr_runner_withdraw(r, c) == 0);
    CHECK(tsr_runner_cancel(r, a) == 1);
    CHECK(wait_for(r, a, TSR_EVENT_CANCELLED, NULL, NULL));
    CHECK(tsr_runner_cancel(r, a) == 0);
    CHECK(tsr_runner_cancel(r, 999) == 0);
    /* the runner goes from a straight to d: c never starts (it would run ~1 s before d) */
    int started_c = 0;
    for (int spins = 0; spins < 2000; spins++) {
        tsr_event ev;
        int d_started = 0;
        while (tsr_runner_poll(r, &ev)) {
            started_c |= ev.job == c && ev.type == TSR_EVENT_STARTED;
            d_started |= ev.job == d && ev.type == TSR_EVENT_STARTED;
        }
        if (d_started) break;
        usleep(5000);
    }
    CHECK(!started_c);
    CHECK(tsr_runner_cancel(r, d) == 1);
    CHECK(wait_for(r, d, TSR_EVENT_CANCELLED, NULL, NULL));
    tsr_runner_destroy(&r);
}

static void test_pause_resume(void)
{
    fake f = {.frames = 50, .delay_us = 500};
    tsr_runner *r = make_runner(&f);
    uint64_t a = submit(r, "a");
    tsr_event ev;
    CHECK(wait_for(r, a, TSR_EVENT_PROGRESS, &ev, NULL));
    tsr_runner_set_paused(r, 1);
    CHECK(tsr_runner_paused(r));
    usleep(30000);
    while (tsr_runner_poll(r, &ev)) {}
    usleep(30000);
    CHECK(!tsr_runner_poll(r, &ev)); /* nothing moves while paused */
    tsr_runner_set_paused(r, 0);
    CHECK(wait_for(r, a, TSR_EVENT_FINISHED, NULL, NULL));
    tsr_runner_destroy(&r);
}

static void test_destroy_while_running(void)
{
    fake f = {.frames = 100000, .delay_us = 100};
    tsr_runner *r = make_runner(&f);
    submit(r, "a");
    submit(r, "b");
    usleep(5000);
    tsr_runner_destroy(&r);
    CHECK(r == NULL);
    tsr_runner_destroy(&r);
}

static void test_default_job_and_bad_args(void)
{
    tsr_runner_params p = {0};
    tsr_runner *r = NULL;
    REQUIRE(tsr_runner_create(&p, &r, NULL) == TSR_OK);
    tsr_job_spec spec;
    tsr_job_spec_default(&spec);
    tsr_error err = {0};
    CHECK(tsr_runner_submit(r, &spec, NULL, &err) == TSR_ERR_INVALID_ARG);
    snprintf(spec.input, sizeof spec.input, "x.mp4");
    uint64_t id = 0;
    CHECK(tsr_runner_submit(r, &spec, &id, &err) == TSR_OK);
    tsr_event ev;
    /* the default job is tsr_job_run (feat/media): "x.mp4" with no output fails with a real reason. It makes a
     * model and an engine first: on the 2-core CI machine, beside the heavy unit tests, this twice took more than
     * 10 s (sessions 9 and 10; 0.15-0.4 s alone), so it gets 90 s: the test is about the failure, not speed */
    CHECK(wait_for_s(r, id, TSR_EVENT_FAILED, &ev, NULL, 90.0) && ev.status != TSR_OK && ev.message[0]);
    tsr_runner_destroy(&r);
}

int main(void)
{
    test_events_in_order();
    test_failure_and_progress_numbers();
    test_cancel_queued_and_running();
    test_pause_resume();
    test_destroy_while_running();
    test_default_job_and_bad_args();
    return tsr_test_done();
}
