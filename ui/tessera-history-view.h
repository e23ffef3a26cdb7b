/* TesseraHistoryView: the History page — finished, failed and cancelled jobs from the store's `history`
 * table (input, output, preset, duration, result, error message), newest first, with "open output" and
 * "show in folder" where the output exists, "run again" (re-queues the recorded spec) and "clear history". */
#pragma once

#include <gtk/gtk.h>

#include "tessera-job-queue.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_HISTORY_VIEW (tessera_history_view_get_type())
G_DECLARE_FINAL_TYPE(TesseraHistoryView, tessera_history_view, TESSERA, HISTORY_VIEW, GtkBox)

/* Reloads itself on the queue's "history-changed". */
GtkWidget *tessera_history_view_new(TesseraJobQueue *queue);
void tessera_history_view_reload(TesseraHistoryView *self);
guint tessera_history_view_get_n_entries(TesseraHistoryView *self);
const tsr_history_entry *tessera_history_view_get_entry(TesseraHistoryView *self, guint i);
/* The row widget of entry i (tests look for its buttons). */
GtkWidget *tessera_history_view_get_row(TesseraHistoryView *self, guint i);
/* Re-queue entry i with its recorded spec; the new job, or NULL and an error. */
TesseraJob *tessera_history_view_run_again(TesseraHistoryView *self, guint i, GError **error);
gboolean tessera_history_view_clear(TesseraHistoryView *self, GError **error);
/* "Duration: 1 min 05 s" style text for a number of seconds ("—" when 0). */
char *tessera_history_format_duration(double seconds);

G_END_DECLS
