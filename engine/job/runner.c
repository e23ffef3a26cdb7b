/* The job runner: one worker thread, a FIFO of jobs, a FIFO of events and one wakeup callback.
 * Locking: one mutex guards everything; the wakeup callback is called without the lock held, and only on the
 * empty -> non-empty transition of the event queue, so a UI drains everything per wakeup. */
#include "job/runner.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

typedef struct job_node {
    struct job_node *next;
    uint64_t id;
    tsr_job_spec spec;
} job_node;

typedef struct event_node {
    struct event_node *next;
    tsr_event ev;
} event_node;

struct tsr_job_ctx {
    tsr_runner *runner;
    uint64_t id;
    double started;
    int cancelled;
};

struct tsr_runner {
    tsr_runner_params params;   /* params.tuned_store points at tuned_store */
    char *tuned_store;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    job_node *jobs, *jobs_tail;
    event_node *events, *events_tail;
    uint64_t next_id;
    tsr_job_ctx *current;
    int paused, quit;
    uint8_t *preview;
    int preview_w, preview_h;
    uint64_t preview_job;
};

const char *tsr_event_type_name(tsr_event_type t)
{
    static const char *names[] = {"none", "queued", "started", "plan", "progress",
                                  "preview", "finished", "failed", "cancelled"};
    return (unsigned)t < TSR_ARRAY_LEN(names) ? names[t] : "?";
}

void tsr_job_spec_default(tsr_job_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->backend = TSR_BACKEND_AUTO;
    spec->precision = TSR_PRECISION_AUTO;
    snprintf(spec->model, sizeof spec->model, "%s", "builtin:small");
    snprintf(spec->format, sizeof spec->format, "%s", "mp4-h264");
    spec->crf = -1;
}

/* Caller holds the lock; returns 1 when the queue was empty (the caller then wakes the listener). */
static int push_event_locked(tsr_runner *r, const tsr_event *ev)
{
    event_node *n = calloc(1, sizeof *n);
    if (!n) return 0; /* dropping a progress event under OOM is harmless; terminal ones are tiny */
    n->ev = *ev;
    int was_empty = r->events == NULL;
    if (r->events_tail) r->events_tail->next = n;
    else r->events = n;
    r->events_tail = n;
    return was_empty;
}

static void push_event(tsr_runner *r, const tsr_event *ev)
{
    pthread_mutex_lock(&r->lock);
    int wake = push_event_locked(r, ev) && !r->quit;
    pthread_mutex_unlock(&r->lock);
    if (wake && r->params.wakeup) r->params.wakeup(r->params.wakeup_user);
}

static void simple_event(tsr_runner *r, tsr_event_type type, uint64_t id, tsr_status st, const char *msg)
{
    tsr_event ev = {.type = type, .job = id, .status = st, .eta_s = -1};
    if (msg) snprintf(ev.message, sizeof ev.message, "%s", msg);
    push_event(r, &ev);
}

int tsr_runner_poll(tsr_runner *r, tsr_event *ev)
{
    pthread_mutex_lock(&r->lock);
    event_node *n = r->events;
    if (n) {
        r->events = n->next;
        if (!r->events) r->events_tail = NULL;
    }
    pthread_mutex_unlock(&r->lock);
    if (!n) return 0;
    *ev = n->ev;
    free(n);
    return 1;
}

const char *tsr_job_ctx_tuned_store(const tsr_job_ctx *ctx) { return ctx->runner->tuned_store; }

int tsr_job_ctx_cancelled(const tsr_job_ctx *ctx)
{
    tsr_runner *r = ctx->runner;
    pthread_mutex_lock(&r->lock);
    int c = ctx->cancelled || r->quit;
    pthread_mutex_unlock(&r->lock);
    return c;
}

static double eta_of(const tsr_progress *p, double elapsed, double *fps)
{
    *fps = elapsed > 0 && p->frames_done > 0 ? p->frames_done / elapsed : 0;
    if (p->frames_total > 0 && p->frames_done > 0)
        return elapsed * (p->frames_total - p->frames_done) / p->frames_done;
    if (p->chunks_total > 0 && p->chunks_done > 0)
        return elapsed * (p->chunks_total - p->chunks_done) / p->chunks_done;
    return -1;
}

int tsr_job_ctx_progress(void *opaque, const tsr_progress *p)
{
    tsr_job_ctx *ctx = opaque;
    tsr_runner *r = ctx->runner;
    double elapsed = tsr_now() - ctx->started;
    tsr_event ev = {.type = TSR_EVENT_PROGRESS, .job = ctx->id};
    ev.chunks_done = p->chunks_done, ev.chunks_total = p->chunks_total;
    ev.frames_done = p->frames_done, ev.frames_total = p->frames_total;
    ev.tile = p->tile, ev.tiles = p->tiles;
    ev.mem_in_use = p->mem_in_use, ev.mem_budget = p->mem_budget;
    ev.elapsed_s = elapsed;
    ev.eta_s = eta_of(p, elapsed, &ev.fps);
    if (p->stage) snprintf(ev.message, sizeof ev.message, "%s", p->stage);
    push_event(r, &ev);

    pthread_mutex_lock(&r->lock);
    while (r->paused && !ctx->cancelled && !r->quit) pthread_cond_wait(&r->cond, &r->lock);
    int cancel = ctx->cancelled || r->quit;
    pthread_mutex_unlock(&r->lock);
    return cancel;
}

void tsr_job_ctx_plan(tsr_job_ctx *ctx, int tiles_x, int tiles_y, int chunks_total)
{
    tsr_event ev = {.type = TSR_EVENT_PLAN, .job = ctx->id, .tiles_x = tiles_x, .tiles_y = tiles_y,
                    .tiles = tiles_x * tiles_y, .chunks_total = chunks_total, .eta_s = -1};
    push_event(ctx->runner, &ev);
}

void tsr_job_ctx_preview(tsr_job_ctx *ctx, const uint8_t *rgb, int width, int height, int stride)
{
    if (!rgb || width <= 0 || height <= 0) return;
    int ow, oh;
    tsr_preview_size(width, height, TSR_PREVIEW_MAX_WIDTH, &ow, &oh);
    uint8_t *buf = malloc((size_t)ow * oh * 3);
    if (!buf) return;
    tsr_preview_downscale(rgb, width, height, stride, TSR_PREVIEW_MAX_WIDTH, buf, &ow, &oh);
    tsr_runner *r = ctx->runner;
    pthread_mutex_lock(&r->lock);
    free(r->preview);
    r->preview = buf, r->preview_w = ow, r->preview_h = oh, r->preview_job = ctx->id;
    pthread_mutex_unlock(&r->lock);
    tsr_event ev = {.type = TSR_EVENT_PREVIEW, .job = ctx->id, .preview_width = ow, .preview_height = oh,
                    .eta_s = -1};
    push_event(r, &ev);
}

size_t tsr_runner_preview(tsr_runner *r, uint64_t id, uint8_t *rgb, size_t cap, int *width, int *height)
{
    pthread_mutex_lock(&r->lock);
    size_t need = 0;
    if (r->preview && r->preview_job == id) {
        need = (size_t)r->preview_w * r->preview_h * 3;
        if (width) *width = r->preview_w;
        if (height) *height = r->preview_h;
        if (rgb && cap >= need) memcpy(rgb, r->preview, need);
    }
    pthread_mutex_unlock(&r->lock);
    return need;
}

/* Worker: take the next job (waiting while paused or idle); NULL when quitting. */
static job_node *next_job(tsr_runner *r, tsr_job_ctx *ctx)
{
    pthread_mutex_lock(&r->lock);
    while (!r->quit && (!r->jobs || r->paused)) pthread_cond_wait(&r->cond, &r->lock);
    job_node *j = NULL;
    if (!r->quit) {
        j = r->jobs;
        r->jobs = j->next;
        if (!r->jobs) r->jobs_tail = NULL;
        ctx->id = j->id, ctx->cancelled = 0, ctx->started = tsr_now();
        r->current = ctx;
    }
    pthread_mutex_unlock(&r->lock);
    return j;
}

static void finish_job(tsr_runner *r, tsr_job_ctx *ctx, const job_node *j, tsr_status st, tsr_error *err)
{
    pthread_mutex_lock(&r->lock);
    int cancelled = ctx->cancelled || st == TSR_ERR_CANCELLED;
    r->current = NULL;
    pthread_mutex_unlock(&r->lock);
    if (cancelled) simple_event(r, TSR_EVENT_CANCELLED, j->id, TSR_ERR_CANCELLED, "cancelled");
    else if (st == TSR_OK) simple_event(r, TSR_EVENT_FINISHED, j->id, TSR_OK, j->spec.output);
    else simple_event(r, TSR_EVENT_FAILED, j->id, st, err->message[0] ? err->message : tsr_status_name(st));
}

static void *worker_main(void *arg)
{
    tsr_runner *r = arg;
    tsr_job_ctx ctx = {.runner = r};
    tsr_job_fn fn = r->params.job ? r->params.job : tsr_runner_default_job;
    job_node *j;
    while ((j = next_job(r, &ctx))) {
        simple_event(r, TSR_EVENT_STARTED, j->id, TSR_OK, j->spec.input);
        tsr_error err = {0};
        tsr_status st = fn(r->params.job_user, &j->spec, &ctx, &err);
        finish_job(r, &ctx, j, st, &err);
        free(j);
    }
    return NULL;
}

tsr_status tsr_runner_create(const tsr_runner_params *p, tsr_runner **out, tsr_error *err)
{
    *out = NULL;
    tsr_runner *r = tsr_calloc(1, sizeof *r, err);
    if (!r) return TSR_ERR_NOMEM;
    if (p) r->params = *p;
    if (p && p->tuned_store && !(r->tuned_store = tsr_strdup(p->tuned_store))) {
        free(r);
        return tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    r->params.tuned_store = r->tuned_store;
    r->next_id = 1;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    if (pthread_create(&r->thread, NULL, worker_main, r) != 0) {
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
        free(r->tuned_store);
        free(r);
        return tsr_fail(err, TSR_ERR_INTERNAL, "cannot start the job runner thread");
    }
    *out = r;
    return TSR_OK;
}

void tsr_runner_destroy(tsr_runner **runner)
{
    tsr_runner *r = runner ? *runner : NULL;
    if (!r) return;
    pthread_mutex_lock(&r->lock);
    r->quit = 1;
    if (r->current) r->current->cancelled = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    for (job_node *j = r->jobs, *n; j; j = n) n = j->next, free(j);
    for (event_node *e = r->events, *n; e; e = n) n = e->next, free(e);
    free(r->preview);
    free(r->tuned_store);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
    *runner = NULL;
}

tsr_status tsr_runner_submit(tsr_runner *r, const tsr_job_spec *spec, uint64_t *id, tsr_error *err)
{
    if (!r || !spec || !spec->input[0]) return tsr_fail(err, TSR_ERR_INVALID_ARG, "a job needs an input file");
    job_node *j = tsr_calloc(1, sizeof *j, err);
    if (!j) return TSR_ERR_NOMEM;
    j->spec = *spec;
    j->spec.input[sizeof j->spec.input - 1] = j->spec.output[sizeof j->spec.output - 1] = 0;
    pthread_mutex_lock(&r->lock);
    j->id = r->next_id++;
    if (r->jobs_tail) r->jobs_tail->next = j;
    else r->jobs = j;
    r->jobs_tail = j;
    tsr_event ev = {.type = TSR_EVENT_QUEUED, .job = j->id, .eta_s = -1};
    snprintf(ev.message, sizeof ev.message, "%s", spec->input);
    int wake = push_event_locked(r, &ev);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (id) *id = j->id;
    if (wake && r->params.wakeup) r->params.wakeup(r->params.wakeup_user);
    return TSR_OK;
}

/* Unlink a job that has not started; caller holds the lock. 1 when found. */
static int unlink_pending(tsr_runner *r, uint64_t id)
{
    for (job_node **pp = &r->jobs; *pp; pp = &(*pp)->next) {
        if ((*pp)->id != id) continue;
        job_node *j = *pp;
        *pp = j->next;
        if (r->jobs_tail == j) {
            r->jobs_tail = NULL;
            for (job_node *k = r->jobs; k; k = k->next) r->jobs_tail = k;
        }
        free(j);
        return 1; /* the loop step would read the freed (or NULL) successor */
    }
    return 0;
}

int tsr_runner_cancel(tsr_runner *r, uint64_t id)
{
    pthread_mutex_lock(&r->lock);
    int found = 0;
    if (r->current && r->current->id == id) {
        r->current->cancelled = found = 1;
        pthread_cond_broadcast(&r->cond);
    }
    if (!found && unlink_pending(r, id)) found = 2;
    pthread_mutex_unlock(&r->lock);
    if (found == 2) simple_event(r, TSR_EVENT_CANCELLED, id, TSR_ERR_CANCELLED, "cancelled before it started");
    return found != 0;
}

int tsr_runner_withdraw(tsr_runner *r, uint64_t id)
{
    pthread_mutex_lock(&r->lock);
    int found = unlink_pending(r, id);
    pthread_mutex_unlock(&r->lock);
    return found;
}

void tsr_runner_set_paused(tsr_runner *r, int paused)
{
    pthread_mutex_lock(&r->lock);
    r->paused = paused != 0;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

int tsr_runner_paused(const tsr_runner *r)
{
    tsr_runner *m = (tsr_runner *)r;
    pthread_mutex_lock(&m->lock);
    int p = m->paused;
    pthread_mutex_unlock(&m->lock);
    return p;
}
