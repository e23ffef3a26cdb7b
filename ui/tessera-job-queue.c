/* The batch queue: model, persistence, and the main-loop side of the runner's event contract. */
#include "tessera-job-queue.h"

#include <glib/gstdio.h>

struct _TesseraJobQueue {
    GObject parent_instance;
    GPtrArray *jobs;            /* TesseraJob, in display order */
    tsr_store *store;           /* the one engine store: queue rows (with their job specs), presets, history */
    tsr_runner *runner;
    gint drain_pending;         /* atomic: an idle drain is scheduled */
    GMainContext *context;
    char *output_folder, *pattern, *model;
    gboolean started;
    int interrupted;
    tsr_backend_kind backend;
    int device;
    guint64 budget;
};

static void list_model_iface_init(GListModelInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(TesseraJobQueue, tessera_job_queue, G_TYPE_OBJECT,
                              G_IMPLEMENT_INTERFACE(G_TYPE_LIST_MODEL, list_model_iface_init))

enum { SIGNAL_EVENT, SIGNAL_BATCH_FINISHED, SIGNAL_HISTORY_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static GType get_item_type(GListModel *m) { (void)m; return TESSERA_TYPE_JOB; }
static guint get_n_items(GListModel *m) { return TESSERA_JOB_QUEUE(m)->jobs->len; }
static gpointer get_item(GListModel *m, guint i)
{
    TesseraJobQueue *self = TESSERA_JOB_QUEUE(m);
    return i < self->jobs->len ? g_object_ref(g_ptr_array_index(self->jobs, i)) : NULL;
}

static void list_model_iface_init(GListModelInterface *iface)
{
    iface->get_item_type = get_item_type;
    iface->get_n_items = get_n_items;
    iface->get_item = get_item;
}

static void tessera_job_queue_dispose(GObject *object)
{
    TesseraJobQueue *self = TESSERA_JOB_QUEUE(object);
    tsr_runner_destroy(&self->runner); /* joins the worker: no wakeup after this */
    G_OBJECT_CLASS(tessera_job_queue_parent_class)->dispose(object);
}

static void tessera_job_queue_finalize(GObject *object)
{
    TesseraJobQueue *self = TESSERA_JOB_QUEUE(object);
    g_ptr_array_unref(self->jobs);
    tsr_store_close(&self->store);
    g_main_context_unref(self->context);
    g_free(self->output_folder);
    g_free(self->pattern);
    g_free(self->model);
    G_OBJECT_CLASS(tessera_job_queue_parent_class)->finalize(object);
}

static void tessera_job_queue_class_init(TesseraJobQueueClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    object_class->dispose = tessera_job_queue_dispose;
    object_class->finalize = tessera_job_queue_finalize;
    /* (job, const tsr_event *) for every runner event, after the job row is updated */
    signals[SIGNAL_EVENT] = g_signal_new("job-event", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                         NULL, G_TYPE_NONE, 2, TESSERA_TYPE_JOB, G_TYPE_POINTER);
    /* (done, failed) when the last running job ends and nothing is queued */
    signals[SIGNAL_BATCH_FINISHED] = g_signal_new("batch-finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);
    /* a row was appended to (or the store's history was cleared through) the queue */
    signals[SIGNAL_HISTORY_CHANGED] = g_signal_new("history-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void tessera_job_queue_init(TesseraJobQueue *self)
{
    self->jobs = g_ptr_array_new_with_free_func(g_object_unref);
    self->context = g_main_context_ref_thread_default();
    self->pattern = g_strdup("{name}_tessera.{ext}");
    self->model = g_strdup("builtin:small");
}

static guint index_of(TesseraJobQueue *self, TesseraJob *job)
{
    guint i;
    return g_ptr_array_find(self->jobs, job, &i) ? i : G_MAXUINT;
}

static void persist(TesseraJobQueue *self, TesseraJob *job)
{
    tsr_error err = {0};
    if (tsr_store_queue_update(self->store, tessera_job_get_row(job), &err) != TSR_OK)
        g_warning("%s", err.message);
}

static void on_job_changed(TesseraJob *job, TesseraJobQueue *self)
{
    guint i = index_of(self, job);
    if (i != G_MAXUINT) g_list_model_items_changed(G_LIST_MODEL(self), i, 1, 1);
}

static void append_job(TesseraJobQueue *self, TesseraJob *job)
{
    g_signal_connect_object(job, "changed", G_CALLBACK(on_job_changed), self, 0);
    g_ptr_array_add(self->jobs, job);
    g_list_model_items_changed(G_LIST_MODEL(self), self->jobs->len - 1, 0, 1);
}

#include "tessera-job-queue-events.c"

TesseraJobQueue *tessera_job_queue_new(const char *db_path, tsr_job_fn job, gpointer job_user, GError **error)
{
    g_autoptr(TesseraJobQueue) self = g_object_new(TESSERA_TYPE_JOB_QUEUE, NULL);
    tsr_error err = {0};
    tsr_store_params sp;
    tsr_store_params_default(&sp); /* recovers: running/paused rows become interrupted, partials go */
    sp.path = db_path;
    if (tsr_store_open(&sp, &self->store, &err) != TSR_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
        return NULL;
    }
    if (*tsr_store_notice(self->store)) g_warning("%s", tsr_store_notice(self->store));
    self->interrupted = tsr_store_recovered_jobs(self->store);
    tsr_queue_item *rows = NULL;
    int n = 0;
    if (tsr_store_queue_list(self->store, &rows, &n, &err) != TSR_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (!rows[i].spec.input[0]) { /* queued by the CLI without a spec: run it with the defaults */
            tsr_job_spec_default(&rows[i].spec);
            g_strlcpy(rows[i].spec.input, rows[i].input, sizeof rows[i].spec.input);
            g_strlcpy(rows[i].spec.output, rows[i].output, sizeof rows[i].spec.output);
        }
        append_job(self, tessera_job_new(&rows[i]));
    }
    tsr_store_free(rows);
    /* decodes with a VRAM budget start from the plans `tessera-cli tune` keeps in this same store */
    tsr_runner_params params = {.job = job, .job_user = job_user, .wakeup = on_wakeup, .wakeup_user = self,
                                .tuned_store = tsr_store_path(self->store)};
    if (tsr_runner_create(&params, &self->runner, &err) != TSR_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
        return NULL;
    }
    return g_steal_pointer(&self);
}

int tessera_job_queue_get_interrupted(TesseraJobQueue *self) { return self->interrupted; }
tsr_store *tessera_job_queue_get_store(TesseraJobQueue *self) { return self->store; }
tsr_runner *tessera_job_queue_get_runner(TesseraJobQueue *self) { return self->runner; }

gboolean tessera_job_queue_accepts(const char *path)
{
    static const char *exts[] = {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v", ".png", ".jpg",
                                 ".jpeg", ".safetensors", ".latent", ".npy"};
    g_autofree char *lower = g_ascii_strdown(path, -1);
    for (guint i = 0; i < G_N_ELEMENTS(exts); i++)
        if (g_str_has_suffix(lower, exts[i])) return TRUE;
    return FALSE;
}

void tessera_job_queue_set_output(TesseraJobQueue *self, const char *folder, const char *pattern)
{
    g_free(self->output_folder);
    self->output_folder = folder && *folder ? g_strdup(folder) : NULL;
    if (pattern && *pattern) {
        g_free(self->pattern);
        self->pattern = g_strdup(pattern);
    }
}

void tessera_job_queue_set_device(TesseraJobQueue *self, tsr_backend_kind backend, int device, guint64 budget)
{
    self->backend = backend, self->device = device, self->budget = budget;
}

void tessera_job_queue_set_model(TesseraJobQueue *self, const char *model)
{
    g_free(self->model);
    self->model = g_strdup(model);
}

char *tessera_job_queue_output_for(TesseraJobQueue *self, const char *input, TesseraPreset *preset)
{
    g_autofree char *base = g_path_get_basename(input);
    char *dot = strrchr(base, '.');
    if (dot) *dot = 0;
    g_autofree char *dir = self->output_folder ? g_strdup(self->output_folder) : g_path_get_dirname(input);
    g_autofree char *pname = g_strdup(tessera_preset_get_name(preset));
    g_strcanon(pname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", '_');
    g_autoptr(GString) s = g_string_new(self->pattern);
    g_string_replace(s, "{name}", base, 0);
    g_string_replace(s, "{preset}", pname, 0);
    g_string_replace(s, "{ext}", tessera_format_extension(tessera_preset_get(preset)->format), 0);
    return g_build_filename(dir, s->str, NULL);
}

/* Store the row (appended; sets id and position) and show it; submitted at once when the batch runs. */
static TesseraJob *add_row(TesseraJobQueue *self, tsr_queue_item *row, GError **error)
{
    tsr_error err = {0};
    if (tsr_store_queue_add(self->store, row, &err) != TSR_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
        return NULL;
    }
    TesseraJob *job = tessera_job_new(row);
    append_job(self, job);
    if (self->started) submit_job(self, job);
    return job;
}

TesseraJob *tessera_job_queue_add(TesseraJobQueue *self, GFile *file, TesseraPreset *preset, GError **error)
{
    g_autofree char *path = g_file_get_path(file);
    if (!path || !tessera_job_queue_accepts(path)) {
        g_autofree char *name = g_file_get_basename(file);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "“%s” is not a clip, image or latent file", name ? name : "?");
        return NULL;
    }
    g_autofree tsr_queue_item *row = g_new0(tsr_queue_item, 1);
    tsr_job_spec_default(&row->spec);
    g_strlcpy(row->spec.input, path, sizeof row->spec.input);
    g_autofree char *out = tessera_job_queue_output_for(self, path, preset);
    g_strlcpy(row->spec.output, out, sizeof row->spec.output);
    g_strlcpy(row->spec.model, self->model, sizeof row->spec.model);
    g_strlcpy(row->preset_name, tessera_preset_get_name(preset), sizeof row->preset_name);
    row->preset_id = tessera_preset_get(preset)->id;
    tessera_preset_apply(preset, &row->spec);
    row->spec.backend = self->backend, row->spec.device = self->device;
    if (!row->spec.memory_budget) row->spec.memory_budget = self->budget;
    return add_row(self, row, error);
}

TesseraJob *tessera_job_queue_add_spec(TesseraJobQueue *self, const tsr_job_spec *spec, const char *preset_name,
                                       GError **error)
{
    if (!spec->input[0] || !spec->output[0]) {
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "This job has no recorded settings");
        return NULL;
    }
    if (!g_file_test(spec->input, G_FILE_TEST_EXISTS)) {
        g_autofree char *name = g_path_get_basename(spec->input);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "“%s” no longer exists", name);
        return NULL;
    }
    g_autofree tsr_queue_item *row = g_new0(tsr_queue_item, 1);
    row->spec = *spec;
    g_strlcpy(row->preset_name, preset_name ? preset_name : "", sizeof row->preset_name);
    return add_row(self, row, error);
}

void tessera_job_queue_start(TesseraJobQueue *self)
{
    self->started = TRUE;
    tessera_job_queue_set_paused(self, FALSE);
    for (guint i = 0; i < self->jobs->len; i++) {
        TesseraJob *job = g_ptr_array_index(self->jobs, i);
        if (tessera_job_get_state(job) == TSR_JOB_QUEUED && tessera_job_get_runner_id(job) == 0)
            submit_job(self, job);
    }
}

gboolean tessera_job_queue_is_started(TesseraJobQueue *self) { return self->started; }
void tessera_job_queue_set_paused(TesseraJobQueue *self, gboolean paused) { tsr_runner_set_paused(self->runner, paused); }
gboolean tessera_job_queue_get_paused(TesseraJobQueue *self) { return tsr_runner_paused(self->runner) != 0; }

void tessera_job_queue_cancel(TesseraJobQueue *self, TesseraJob *job)
{
    guint64 id = tessera_job_get_runner_id(job);
    if (id && tsr_runner_cancel(self->runner, id)) return; /* the CANCELLED event updates the row */
    if (tessera_job_get_state(job) == TSR_JOB_QUEUED) {
        tessera_job_set_state(job, TSR_JOB_CANCELLED, "cancelled");
        persist(self, job);
    }
}

void tessera_job_queue_retry(TesseraJobQueue *self, TesseraJob *job)
{
    tsr_job_state s = tessera_job_get_state(job);
    if (s == TSR_JOB_QUEUED || s == TSR_JOB_RUNNING || s == TSR_JOB_PAUSED) return;
    tessera_job_set_runner_id(job, 0);
    tessera_job_get_row(job)->progress = 0;
    tessera_job_set_state(job, TSR_JOB_QUEUED, "");
    persist(self, job);
    if (self->started) submit_job(self, job);
}

void tessera_job_queue_remove(TesseraJobQueue *self, TesseraJob *job)
{
    guint i = index_of(self, job);
    if (i == G_MAXUINT) return;
    if (tessera_job_get_state(job) == TSR_JOB_RUNNING) tessera_job_queue_cancel(self, job);
    tsr_error err = {0};
    if (tsr_store_queue_remove(self->store, tessera_job_get_row(job)->id, &err) != TSR_OK)
        g_warning("%s", err.message);
    g_signal_handlers_disconnect_by_data(job, self);
    g_ptr_array_remove_index(self->jobs, i);
    g_list_model_items_changed(G_LIST_MODEL(self), i, 1, 0);
}

void tessera_job_queue_move(TesseraJobQueue *self, TesseraJob *job, int delta)
{
    guint i = index_of(self, job);
    if (i == G_MAXUINT || (delta < 0 && i == 0) || (delta > 0 && i + 1 >= self->jobs->len)) return;
    guint j = delta < 0 ? i - 1 : i + 1;
    TesseraJob *other = g_ptr_array_index(self->jobs, j);
    tsr_error err = {0};
    if (tsr_store_queue_move(self->store, tessera_job_get_row(job)->id, (int)j, &err) != TSR_OK) {
        g_warning("%s", err.message);
        return;
    }
    tessera_job_get_row(job)->position = (int)j; /* the store keeps positions dense: 0..n-1 = list order */
    tessera_job_get_row(other)->position = (int)i;
    self->jobs->pdata[i] = other;
    self->jobs->pdata[j] = job;
    g_list_model_items_changed(G_LIST_MODEL(self), MIN(i, j), 2, 2);
    resubmit_from(self, MIN(i, j)); /* the runner takes jobs in the new order */
}

TesseraJob *tessera_job_queue_find_runner_id(TesseraJobQueue *self, guint64 runner_id)
{
    for (guint i = 0; i < self->jobs->len; i++) {
        TesseraJob *job = g_ptr_array_index(self->jobs, i);
        if (tessera_job_get_runner_id(job) == runner_id) return job;
    }
    return NULL;
}

/* A queued job whose spec may change: not running, and taken back from the runner if it was submitted. */
static gboolean take_back(TesseraJobQueue *self, TesseraJob *job)
{
    tsr_job_state s = tessera_job_get_state(job);
    if (s == TSR_JOB_RUNNING || s == TSR_JOB_PAUSED) return FALSE;
    guint64 id = tessera_job_get_runner_id(job);
    if (s == TSR_JOB_QUEUED && id) {
        if (!tsr_runner_withdraw(self->runner, id)) return FALSE; /* it has just started */
        tessera_job_set_runner_id(job, 0);
    }
    return TRUE;
}

gboolean tessera_job_queue_set_job_preset(TesseraJobQueue *self, TesseraJob *job, TesseraPreset *preset)
{
    if (!take_back(self, job)) return FALSE;
    tsr_queue_item *row = tessera_job_get_row(job);
    tessera_preset_apply(preset, &row->spec);
    if (!row->spec.memory_budget) row->spec.memory_budget = self->budget;
    g_strlcpy(row->preset_name, tessera_preset_get_name(preset), sizeof row->preset_name);
    row->preset_id = tessera_preset_get(preset)->id;
    g_autofree char *out = tessera_job_queue_output_for(self, row->spec.input, preset);
    g_strlcpy(row->spec.output, out, sizeof row->spec.output);
    tessera_job_set_state(job, row->state, row->error);
    persist(self, job);
    resubmit_from(self, index_of(self, job));
    return TRUE;
}

#define EDITED " (edited)"

gboolean tessera_job_queue_set_job_spec(TesseraJobQueue *self, TesseraJob *job, const tsr_job_spec *spec)
{
    if (!take_back(self, job)) return FALSE;
    tsr_queue_item *row = tessera_job_get_row(job);
    row->spec = *spec;
    /* the Preset column says the job no longer is its preset as such */
    if (!g_str_has_suffix(row->preset_name, EDITED) && strlen(row->preset_name) + strlen(EDITED) < sizeof row->preset_name)
        g_strlcat(row->preset_name, EDITED, sizeof row->preset_name);
    tessera_job_set_state(job, row->state, row->error);
    persist(self, job);
    resubmit_from(self, index_of(self, job));
    return TRUE;
}

gboolean tessera_job_queue_is_editable(TesseraJobQueue *self, TesseraJob *job)
{
    tsr_job_state s = tessera_job_get_state(job);
    return s != TSR_JOB_RUNNING && s != TSR_JOB_PAUSED;
}

tsr_history_entry *tessera_job_queue_list_history(TesseraJobQueue *self, int limit, int *count, GError **error)
{
    tsr_history_entry *out = NULL;
    tsr_error err = {0};
    if (tsr_store_history_list(self->store, limit, &out, count, &err) != TSR_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
        return NULL;
    }
    return out;
}

gboolean tessera_job_queue_clear_history(TesseraJobQueue *self, GError **error)
{
    tsr_error err = {0};
    if (tsr_store_history_clear(self->store, &err) != TSR_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
        return FALSE;
    }
    g_signal_emit(self, signals[SIGNAL_HISTORY_CHANGED], 0);
    return TRUE;
}
