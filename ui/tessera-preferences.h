/* TesseraPreferences: models folders, default output folder, VRAM budget, GPU choice. */
#pragma once

#include <adwaita.h>

#include "tessera.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_PREFERENCES (tessera_preferences_get_type())
G_DECLARE_FINAL_TYPE(TesseraPreferences, tessera_preferences, TESSERA, PREFERENCES, AdwPreferencesWindow)

GtkWidget *tessera_preferences_new(GtkWindow *parent);

/* The "Device" choices: labels into `list` and the settings value of each ("gpu": 0 automatic, 1 CPU,
 * 2 + ordinal a GPU) into values[], for the GPUs `devices` reports; a saved GPU that is not reported now is
 * kept as a choice marked "not found". Returns the number of choices (at most 3 + n). */
guint tessera_preferences_device_choices(GtkStringList *list, int *values, const tsr_device_info *devices, int n,
                                         int saved);
/* TRUE once the background device scan has filled the "Device" choices (tests). */
gboolean tessera_preferences_devices_ready(TesseraPreferences *self);

G_END_DECLS
