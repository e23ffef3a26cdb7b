/* TesseraJob: a queue row as a GObject; "changed" tells views to refresh. */
#include "tessera-job.h"

struct _TesseraJob {
    GObject parent_instance;
    tsr_queue_item row;
    double eta_s;
    guint64 runner_id;
    gint64 started_us, ended_us; /* monotonic: the run's duration for the history */
    int frames_done;
    guint64 vram_peak;
};

G_DEFINE_FINAL_TYPE(TesseraJob, tessera_job, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void tessera_job_class_init(TesseraJobClass *klass)
{
    signals[SIGNAL_CHANGED] = g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                           NULL, G_TYPE_NONE, 0);
}

static void tessera_job_init(TesseraJob *self) { self->eta_s = -1; }

TesseraJob *tessera_job_new(const tsr_queue_item *row)
{
    TesseraJob *self = g_object_new(TESSERA_TYPE_JOB, NULL);
    self->row = *row;
    return self;
}

tsr_queue_item *tessera_job_get_row(TesseraJob *self) { return &self->row; }
tsr_job_state tessera_job_get_state(TesseraJob *self) { return self->row.state; }
const char *tessera_job_get_input(TesseraJob *self) { return self->row.spec.input; }
const char *tessera_job_get_output(TesseraJob *self) { return self->row.spec.output; }
const char *tessera_job_get_preset(TesseraJob *self) { return self->row.preset_name; }
const char *tessera_job_get_message(TesseraJob *self) { return self->row.error; }
double tessera_job_get_progress(TesseraJob *self) { return self->row.progress; }
double tessera_job_get_eta(TesseraJob *self) { return self->eta_s; }
guint64 tessera_job_get_runner_id(TesseraJob *self) { return self->runner_id; }
void tessera_job_set_runner_id(TesseraJob *self, guint64 id) { self->runner_id = id; }

void tessera_job_set_state(TesseraJob *self, tsr_job_state state, const char *message)
{
    if (state == TSR_JOB_RUNNING && self->row.state != TSR_JOB_RUNNING)
        self->started_us = g_get_monotonic_time(), self->ended_us = 0, self->frames_done = 0, self->vram_peak = 0;
    if (state != TSR_JOB_RUNNING && state != TSR_JOB_PAUSED && self->started_us && !self->ended_us)
        self->ended_us = g_get_monotonic_time();
    self->row.state = state;
    g_strlcpy(self->row.error, message ? message : "", sizeof self->row.error);
    if (state == TSR_JOB_DONE) self->row.progress = 1.0;
    if (state != TSR_JOB_RUNNING) self->eta_s = -1;
    g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

void tessera_job_set_progress(TesseraJob *self, double progress, double eta_s)
{
    self->row.progress = CLAMP(progress, 0.0, 1.0);
    self->eta_s = eta_s;
    g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

void tessera_job_note_stats(TesseraJob *self, int frames_done, guint64 vram_in_use)
{
    self->frames_done = MAX(self->frames_done, frames_done);
    self->vram_peak = MAX(self->vram_peak, vram_in_use);
}

int tessera_job_get_frames_done(TesseraJob *self) { return self->frames_done; }
guint64 tessera_job_get_vram_peak(TesseraJob *self) { return self->vram_peak; }

double tessera_job_get_elapsed(TesseraJob *self)
{
    if (!self->started_us) return 0;
    return (double)((self->ended_us ? self->ended_us : g_get_monotonic_time()) - self->started_us) / 1e6;
}

char *tessera_job_dup_state_label(TesseraJob *self)
{
    if (self->row.state == TSR_JOB_RUNNING)
        return g_strdup_printf("running %d %%", (int)(self->row.progress * 100 + 0.5));
    return g_strdup(tsr_job_state_name(self->row.state));
}

char *tessera_job_dup_eta_label(TesseraJob *self)
{
    if (self->row.state != TSR_JOB_RUNNING || self->eta_s < 0) return g_strdup("—");
    int s = (int)(self->eta_s + 0.5);
    return s >= 60 ? g_strdup_printf("%d min %02d s", s / 60, s % 60) : g_strdup_printf("%d s", s);
}
