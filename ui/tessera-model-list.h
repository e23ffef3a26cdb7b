/* TesseraModelList: the Models page: found models with kind, format, dtype, size and problems; a first-run
 * explanation when no model file is found; the built-in demo model always listed, clearly labelled. */
#pragma once

#include <gtk/gtk.h>

#include "tessera-model-scan.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_MODEL_LIST (tessera_model_list_get_type())
G_DECLARE_FINAL_TYPE(TesseraModelList, tessera_model_list, TESSERA, MODEL_LIST, GtkBox)

GtkWidget *tessera_model_list_new(void);
/* Rescan the folders and the single chosen files (off-thread; either may be NULL); "scanned" is emitted when
 * the list is updated. */
void tessera_model_list_scan(TesseraModelList *self, const char *const *folders, const char *const *files);
guint tessera_model_list_get_n_models(TesseraModelList *self);  /* files found (builtin excluded) */
/* File i (builtin excluded), NULL past the end. */
const TesseraModelInfo *tessera_model_list_get_info(TesseraModelList *self, guint i);
const char *tessera_model_list_get_selected(TesseraModelList *self); /* a path or "builtin:small" */
/* Use `path` for new jobs ("model-selected" is emitted when it changes). FALSE when it is not listed (yet) or
 * not usable; a path not listed yet is selected by the next scan that lists it. */
gboolean tessera_model_list_select(TesseraModelList *self, const char *path);

gboolean tessera_model_list_get_first_run(TesseraModelList *self);

G_END_DECLS
