/* TesseraJobEditor: per-job overrides beyond the preset for one queued job — output folder and name, output
 * format (container + codec), CRF, 8/10-bit, precision, VRAM budget and tiling (tile edge). Edits a copy of
 * the job's tsr_job_spec; the queue stores it in the row's spec and the run uses it. */
#pragma once

#include <gtk/gtk.h>

#include "tessera.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_JOB_EDITOR (tessera_job_editor_get_type())
G_DECLARE_FINAL_TYPE(TesseraJobEditor, tessera_job_editor, TESSERA, JOB_EDITOR, GtkBox)

GtkWidget *tessera_job_editor_new(void);
void tessera_job_editor_load(TesseraJobEditor *self, const tsr_job_spec *spec);
/* The loaded spec with the edited fields (fields not shown are kept). The output name gets the format's
 * extension. FALSE and a G_IO_ERROR_INVALID_ARGUMENT / NOT_FOUND error for an empty or path-like name, a
 * folder that does not exist, or an output that would overwrite the input. */
gboolean tessera_job_editor_save(TesseraJobEditor *self, tsr_job_spec *out, GError **error);

G_END_DECLS
