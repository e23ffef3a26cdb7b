/* TesseraWindow: the main window (queue page with live panel, models page, history page). */
#pragma once

#include <adwaita.h>

#include "tessera-history-view.h"
#include "tessera-job-queue.h"
#include "tessera-live-panel.h"
#include "tessera-model-list.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_WINDOW (tessera_window_get_type())
G_DECLARE_FINAL_TYPE(TesseraWindow, tessera_window, TESSERA, WINDOW, AdwApplicationWindow)

TesseraWindow *tessera_window_new(GtkApplication *app, TesseraJobQueue *queue);
TesseraJobQueue *tessera_window_get_queue(TesseraWindow *self);
/* Add files as jobs with the current preset; unsupported ones are summarised in one toast.
 * Returns the number of jobs created. */
guint tessera_window_add_files(TesseraWindow *self, GFile *const *files, guint n);
void tessera_window_toast(TesseraWindow *self, const char *message);
const char *tessera_window_get_last_toast(TesseraWindow *self);
GtkDropTarget *tessera_window_get_drop_target(TesseraWindow *self);
TesseraPreset *tessera_window_get_preset(TesseraWindow *self);
/* Make `preset` (an item of get_presets) the one new jobs get. */
void tessera_window_select_preset(TesseraWindow *self, TesseraPreset *preset);
GListStore *tessera_window_get_presets(TesseraWindow *self);
TesseraLivePanel *tessera_window_get_live_panel(TesseraWindow *self);
TesseraModelList *tessera_window_get_model_list(TesseraWindow *self);
GtkColumnView *tessera_window_get_column_view(TesseraWindow *self);
TesseraHistoryView *tessera_window_get_history_view(TesseraWindow *self);
AdwViewStack *tessera_window_get_stack(TesseraWindow *self);
/* Add a single model file (persisted in the settings, listed with the folders' files) and rescan; it is
 * selected for new jobs once the scan shows it is usable. */
void tessera_window_add_model_file(TesseraWindow *self, const char *path);
/* Per-job overrides: open the job settings dialog for `job` (an AdwMessageDialog whose extra child is a
 * TesseraJobEditor; NULL and a toast when the job runs). "Apply" stores the edited spec. */
GtkWidget *tessera_window_edit_job(TesseraWindow *self, TesseraJob *job);
gboolean tessera_window_apply_job_spec(TesseraWindow *self, TesseraJob *job, const tsr_job_spec *spec);
void tessera_window_rescan_models(TesseraWindow *self);

G_END_DECLS
