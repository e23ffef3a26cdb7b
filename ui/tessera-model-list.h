/* TesseraModelList: the Models page: found models with kind, format, dtype, size and problems; a first-run
 * explanation when no model file is found; the built-in demo model always listed, clearly labelled. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TESSERA_TYPE_MODEL_LIST (tessera_model_list_get_type())
G_DECLARE_FINAL_TYPE(TesseraModelList, tessera_model_list, TESSERA, MODEL_LIST, GtkBox)

GtkWidget *tessera_model_list_new(void);
/* Rescan (off-thread); "scanned" is emitted when the list is updated. */
void tessera_model_list_scan(TesseraModelList *self, const char *const *folders);
guint tessera_model_list_get_n_models(TesseraModelList *self);  /* files found (builtin excluded) */
const char *tessera_model_list_get_selected(TesseraModelList *self); /* a path or "builtin:small" */
gboolean tessera_model_list_get_first_run(TesseraModelList *self);

G_END_DECLS
