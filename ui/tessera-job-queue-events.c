/* Included by tessera-job-queue.c: submission and the event drain (the wakeup contract). */

static void submit_job(TesseraJobQueue *self, TesseraJob *job)
{
    guint64 id = 0;
    tsr_error err = {0};
    if (tsr_runner_submit(self->runner, &tessera_job_get_row(job)->spec, &id, &err) != TSR_OK) {
        tessera_job_set_state(job, TSR_JOB_FAILED, err.message);
        persist(self, job);
        return;
    }
    tessera_job_set_runner_id(job, id);
}

/* After an edit or a move at `from`: take every later waiting job back from the runner and submit them
 * again in display order, so the runner's order is the queue's. Jobs that already started are left. */
static void resubmit_from(TesseraJobQueue *self, guint from)
{
    if (!self->started || from == G_MAXUINT) return;
    for (guint i = from; i < self->jobs->len; i++) {
        TesseraJob *job = g_ptr_array_index(self->jobs, i);
        guint64 id = tessera_job_get_runner_id(job);
        if (tessera_job_get_state(job) == TSR_JOB_QUEUED && id && tsr_runner_withdraw(self->runner, id))
            tessera_job_set_runner_id(job, 0);
    }
    for (guint i = from; i < self->jobs->len; i++) {
        TesseraJob *job = g_ptr_array_index(self->jobs, i);
        if (tessera_job_get_state(job) == TSR_JOB_QUEUED && !tessera_job_get_runner_id(job)) submit_job(self, job);
    }
}

static double progress_of(const tsr_event *ev)
{
    if (ev->frames_total > 0) return (double)ev->frames_done / ev->frames_total;
    if (ev->chunks_total > 0) return (double)ev->chunks_done / ev->chunks_total;
    return 0;
}

static gboolean batch_idle(TesseraJobQueue *self, int *done, int *failed)
{
    *done = *failed = 0;
    for (guint i = 0; i < self->jobs->len; i++) {
        TesseraJob *job = g_ptr_array_index(self->jobs, i);
        tsr_job_state s = tessera_job_get_state(job);
        if (s == TSR_JOB_RUNNING || (s == TSR_JOB_QUEUED && tessera_job_get_runner_id(job))) return FALSE;
        *done += s == TSR_JOB_DONE;
        *failed += s == TSR_JOB_FAILED;
    }
    return TRUE;
}

static void append_history(TesseraJobQueue *self, TesseraJob *job, const tsr_event *ev)
{
    g_autofree tsr_history_entry *e = g_new0(tsr_history_entry, 1); /* ~17 KB with the spec: not on the stack */
    const tsr_queue_item *row = tessera_job_get_row(job);
    g_strlcpy(e->input, row->spec.input, sizeof e->input);
    g_strlcpy(e->output, row->spec.output, sizeof e->output);
    g_strlcpy(e->preset, row->preset_name, sizeof e->preset);
    e->state = row->state;
    e->seconds = ev->elapsed_s > 0 ? ev->elapsed_s : tessera_job_get_elapsed(job);
    e->frames = tessera_job_get_frames_done(job);
    e->peak_vram = tessera_job_get_vram_peak(job);
    g_strlcpy(e->error, row->error, sizeof e->error);
    e->spec = row->spec;
    tsr_error err = {0};
    if (tsr_store_history_append(self->store, e, &err) != TSR_OK) g_warning("history: %s", err.message);
    g_signal_emit(self, signals[SIGNAL_HISTORY_CHANGED], 0);
}

static void apply_event(TesseraJobQueue *self, TesseraJob *job, const tsr_event *ev)
{
    switch (ev->type) {
    case TSR_EVENT_STARTED:
        tessera_job_set_state(job, TSR_JOB_RUNNING, "");
        persist(self, job);
        break;
    case TSR_EVENT_PROGRESS:
        tessera_job_note_stats(job, ev->frames_done, ev->mem_in_use);
        tessera_job_set_progress(job, progress_of(ev), ev->eta_s);
        break;
    case TSR_EVENT_FINISHED:
        tessera_job_set_state(job, TSR_JOB_DONE, "");
        persist(self, job);
        break;
    case TSR_EVENT_FAILED:
        tessera_job_set_state(job, TSR_JOB_FAILED, ev->message);
        persist(self, job);
        break;
    case TSR_EVENT_CANCELLED:
        tessera_job_set_state(job, TSR_JOB_CANCELLED, "cancelled");
        persist(self, job);
        break;
    default: break;
    }
}

static gboolean drain_events(gpointer data)
{
    TesseraJobQueue *self = data;
    g_atomic_int_set(&self->drain_pending, 0);
    tsr_event ev;
    gboolean terminal = FALSE;
    while (self->runner && tsr_runner_poll(self->runner, &ev)) {
        TesseraJob *job = tessera_job_queue_find_runner_id(self, ev.job);
        if (!job) continue; /* removed from the queue meanwhile */
        apply_event(self, job, &ev);
        terminal |= ev.type == TSR_EVENT_FINISHED || ev.type == TSR_EVENT_FAILED || ev.type == TSR_EVENT_CANCELLED;
        if (ev.type == TSR_EVENT_FINISHED || ev.type == TSR_EVENT_FAILED || ev.type == TSR_EVENT_CANCELLED)
            append_history(self, job, &ev);
        g_signal_emit(self, signals[SIGNAL_EVENT], 0, job, &ev);
    }
    int done, failed;
    if (terminal && batch_idle(self, &done, &failed))
        g_signal_emit(self, signals[SIGNAL_BATCH_FINISHED], 0, done, failed);
    return G_SOURCE_REMOVE;
}

/* The runner's wakeup: any thread; only schedules one drain on the queue's main context. */
static void on_wakeup(void *user)
{
    TesseraJobQueue *self = user;
    if (!g_atomic_int_compare_and_exchange(&self->drain_pending, 0, 1)) return;
    GSource *source = g_idle_source_new();
    g_source_set_callback(source, drain_events, g_object_ref(self), g_object_unref);
    g_source_set_static_name(source, "[tessera] runner events");
    g_source_attach(source, self->context);
    g_source_unref(source);
}
