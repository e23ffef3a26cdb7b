/* Preferences kept in a key file ($XDG_CONFIG_HOME/tessera/settings.ini): no GSettings schema to install,
 * so the app runs from the build tree and tests stay hermetic. Main thread only. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *tessera_settings_dup_string(const char *key);       /* "" when unset */
void tessera_settings_set_string(const char *key, const char *value);
int tessera_settings_get_int(const char *key, int fallback);
void tessera_settings_set_int(const char *key, int value);
/* Configured folders plus $XDG_DATA_HOME/tessera/models, NULL-terminated. */
char **tessera_settings_dup_models_folders(void);
void tessera_settings_add_models_folder(const char *folder);
/* Single model files chosen with the file dialog (listed on the Models page beside the folders' files),
 * NULL-terminated, never NULL. */
char **tessera_settings_dup_model_files(void);
void tessera_settings_add_model_file(const char *path);
/* Key "model": the model new jobs use (a path or "builtin:small"), kept across restarts. */
/* $XDG_DATA_HOME/tessera (created). */
char *tessera_settings_dup_data_dir(void);

G_END_DECLS
