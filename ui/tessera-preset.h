/* TesseraPreset: precision + VRAM budget + tile size + output format (a store tsr_preset as a GObject). */
#pragma once

#include <gio/gio.h>

#include "tessera.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_PRESET (tessera_preset_get_type())
G_DECLARE_FINAL_TYPE(TesseraPreset, tessera_preset, TESSERA, PRESET, GObject)

TesseraPreset *tessera_preset_new(const tsr_preset *p);
const tsr_preset *tessera_preset_get(TesseraPreset *self);
void tessera_preset_set(TesseraPreset *self, const tsr_preset *p);
const char *tessera_preset_get_name(TesseraPreset *self);
gboolean tessera_preset_is_builtin(TesseraPreset *self);
/* Every preset in the store, built-ins first (in display order) then the user's by name. */
GListStore *tessera_preset_list_load(tsr_store *store, GError **error);
/* File name extension for an output format ("mp4-h264" -> "mp4"). */
const char *tessera_format_extension(const char *format);
const char *tessera_precision_label(tsr_precision p);
/* One line: "BF16 · 8 GiB · tiles auto · mp4-h264". */
char *tessera_preset_dup_summary(TesseraPreset *self);
void tessera_preset_apply(TesseraPreset *self, tsr_job_spec *spec);

G_END_DECLS
