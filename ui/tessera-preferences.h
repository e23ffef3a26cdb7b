/* TesseraPreferences: models folders, default output folder, VRAM budget, GPU choice. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TESSERA_TYPE_PREFERENCES (tessera_preferences_get_type())
G_DECLARE_FINAL_TYPE(TesseraPreferences, tessera_preferences, TESSERA, PREFERENCES, AdwPreferencesWindow)

GtkWidget *tessera_preferences_new(GtkWindow *parent);

G_END_DECLS
