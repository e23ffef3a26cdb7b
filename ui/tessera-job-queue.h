/* TesseraJobQueue: the batch queue as a GListModel of TesseraJob, persisted in the engine store and driven
 * by an engine tsr_runner. Runner events are drained on the main context (one idle per wakeup). */
#pragma once

#include <gio/gio.h>

#include "tessera-job.h"
#include "tessera-preset.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_JOB_QUEUE (tessera_job_queue_get_type())
G_DECLARE_FINAL_TYPE(TesseraJobQueue, tessera_job_queue, TESSERA, JOB_QUEUE, GObject)

/* db_path: the engine store's SQLite file (created; the app passes tsr_store_default_path's), whose tuned plans the
 * runner's decodes with a VRAM budget start from; job/job_user: the runner's job function (NULL = the engine's). */
TesseraJobQueue *tessera_job_queue_new(const char *db_path, tsr_job_fn job, gpointer job_user, GError **error);
/* Rows recovered as interrupted when the queue was opened. */
int tessera_job_queue_get_interrupted(TesseraJobQueue *self);
/* The store the queue lives in (presets and history too). */
tsr_store *tessera_job_queue_get_store(TesseraJobQueue *self);
tsr_runner *tessera_job_queue_get_runner(TesseraJobQueue *self);

/* Whether a file can become a job (by its name: clips, images, latents). */
gboolean tessera_job_queue_accepts(const char *path);
void tessera_job_queue_set_output(TesseraJobQueue *self, const char *folder, const char *pattern);
/* Device for new jobs (from Preferences); budget applies when the preset leaves the budget automatic. */
void tessera_job_queue_set_device(TesseraJobQueue *self, tsr_backend_kind backend, int device, guint64 budget);
void tessera_job_queue_set_model(TesseraJobQueue *self, const char *model);
/* Add one file with a preset; fails with G_IO_ERROR_NOT_SUPPORTED for files that are no clip or latent. */
TesseraJob *tessera_job_queue_add(TesseraJobQueue *self, GFile *file, TesseraPreset *preset, GError **error);
/* The output path for an input: pattern with {name} {preset} {ext}, in the output folder (or beside it). */
char *tessera_job_queue_output_for(TesseraJobQueue *self, const char *input, TesseraPreset *preset);

/* Submit every queued job and keep submitting new ones. */
void tessera_job_queue_start(TesseraJobQueue *self);
gboolean tessera_job_queue_is_started(TesseraJobQueue *self);
void tessera_job_queue_set_paused(TesseraJobQueue *self, gboolean paused);
gboolean tessera_job_queue_get_paused(TesseraJobQueue *self);
void tessera_job_queue_cancel(TesseraJobQueue *self, TesseraJob *job);
void tessera_job_queue_retry(TesseraJobQueue *self, TesseraJob *job);
void tessera_job_queue_remove(TesseraJobQueue *self, TesseraJob *job);
/* Move a job up (delta < 0) or down. */
void tessera_job_queue_move(TesseraJobQueue *self, TesseraJob *job, int delta);
/* Per-job override: give a job that is not running another preset (its output name follows). FALSE when
 * the job is running or paused (a submitted, waiting job is taken back and resubmitted). */
gboolean tessera_job_queue_set_job_preset(TesseraJobQueue *self, TesseraJob *job, TesseraPreset *preset);
/* Per-job overrides: replace a job's whole spec (output, format, codec, CRF, bit depth, precision, budget,
 * tile). FALSE when the job is running or paused (or has just started). A queued job already handed to the
 * runner is taken back and handed over again with the new spec, in queue order. */
gboolean tessera_job_queue_set_job_spec(TesseraJobQueue *self, TesseraJob *job, const tsr_job_spec *spec);
/* Whether set_job_spec/set_job_preset can apply now (the job neither runs nor is paused). */
gboolean tessera_job_queue_is_editable(TesseraJobQueue *self, TesseraJob *job);
/* A job from a recorded spec ("run again" in the history), with its preset's name as shown. Fails when the
 * spec is empty or its input is gone. */
TesseraJob *tessera_job_queue_add_spec(TesseraJobQueue *self, const tsr_job_spec *spec, const char *preset_name,
                                       GError **error);
/* The store's history, newest first (limit 0 = all); free with tsr_store_free. NULL + error on failure. */
tsr_history_entry *tessera_job_queue_list_history(TesseraJobQueue *self, int limit, int *count, GError **error);
gboolean tessera_job_queue_clear_history(TesseraJobQueue *self, GError **error);
TesseraJob *tessera_job_queue_find_runner_id(TesseraJobQueue *self, guint64 runner_id);

G_END_DECLS
