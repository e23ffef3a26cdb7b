/* TesseraPresetEditor: edits one preset (name, precision, VRAM budget, tiling policy and tile size, output
 * format, CRF, bit depth). */
#pragma once

#include <gtk/gtk.h>

#include "tessera-preset.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_PRESET_EDITOR (tessera_preset_editor_get_type())
G_DECLARE_FINAL_TYPE(TesseraPresetEditor, tessera_preset_editor, TESSERA, PRESET_EDITOR, GtkBox)

GtkWidget *tessera_preset_editor_new(void);
void tessera_preset_editor_load(TesseraPresetEditor *self, const tsr_preset *p);
/* Reads the fields over the loaded preset (container and codec follow the format); FALSE (and an error) when
 * the name is empty. Never builtin; id 0. */
gboolean tessera_preset_editor_save(TesseraPresetEditor *self, tsr_preset *out, GError **error);

G_END_DECLS
