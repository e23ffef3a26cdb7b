/* TesseraJob: one row of the batch queue (a store tsr_queue_item with its job spec, plus live numbers). */
#pragma once

#include <glib-object.h>

#include "tessera.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_JOB (tessera_job_get_type())
G_DECLARE_FINAL_TYPE(TesseraJob, tessera_job, TESSERA, JOB, GObject)

TesseraJob *tessera_job_new(const tsr_queue_item *row);
/* The persisted part; the queue owns writes to it. */
tsr_queue_item *tessera_job_get_row(TesseraJob *self);
tsr_job_state tessera_job_get_state(TesseraJob *self);
void tessera_job_set_state(TesseraJob *self, tsr_job_state state, const char *message);
const char *tessera_job_get_input(TesseraJob *self);
const char *tessera_job_get_output(TesseraJob *self);
const char *tessera_job_get_preset(TesseraJob *self);
const char *tessera_job_get_message(TesseraJob *self);
double tessera_job_get_progress(TesseraJob *self);
void tessera_job_set_progress(TesseraJob *self, double progress, double eta_s);
double tessera_job_get_eta(TesseraJob *self);
guint64 tessera_job_get_runner_id(TesseraJob *self);
void tessera_job_set_runner_id(TesseraJob *self, guint64 id);
/* Frames written and VRAM in use as reported by progress events (maxima of the current run). */
void tessera_job_note_stats(TesseraJob *self, int frames_done, guint64 vram_in_use);
int tessera_job_get_frames_done(TesseraJob *self);
guint64 tessera_job_get_vram_peak(TesseraJob *self);
/* Seconds from entering RUNNING to leaving it (still counting while running); 0 when it never ran. */
double tessera_job_get_elapsed(TesseraJob *self);
/* "queued", "running 42 %", ... for the state column and tests. */
char *tessera_job_dup_state_label(TesseraJob *self);
char *tessera_job_dup_eta_label(TesseraJob *self);

G_END_DECLS
