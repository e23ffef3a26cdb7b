/* Key-file settings. */
#include "tessera-settings.h"

#include <glib/gstdio.h>

#define GROUP "tessera"

static char *settings_path(void) { return g_build_filename(g_get_user_config_dir(), "tessera", "settings.ini", NULL); }

static GKeyFile *load(void)
{
    GKeyFile *kf = g_key_file_new();
    g_autofree char *path = settings_path();
    g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, NULL);
    return kf;
}

static void save(GKeyFile *kf)
{
    g_autofree char *path = settings_path();
    g_autofree char *dir = g_path_get_dirname(path);
    g_mkdir_with_parents(dir, 0700);
    g_autoptr(GError) error = NULL;
    if (!g_key_file_save_to_file(kf, path, &error)) g_message("settings not saved: %s", error->message);
}

char *tessera_settings_dup_string(const char *key)
{
    g_autoptr(GKeyFile) kf = load();
    char *v = g_key_file_get_string(kf, GROUP, key, NULL);
    return v ? v : g_strdup("");
}

void tessera_settings_set_string(const char *key, const char *value)
{
    g_autoptr(GKeyFile) kf = load();
    g_key_file_set_string(kf, GROUP, key, value);
    save(kf);
}

int tessera_settings_get_int(const char *key, int fallback)
{
    g_autoptr(GKeyFile) kf = load();
    g_autoptr(GError) error = NULL;
    int v = g_key_file_get_integer(kf, GROUP, key, &error);
    return error ? fallback : v;
}

void tessera_settings_set_int(const char *key, int value)
{
    g_autoptr(GKeyFile) kf = load();
    g_key_file_set_integer(kf, GROUP, key, value);
    save(kf);
}

char *tessera_settings_dup_data_dir(void)
{
    char *dir = g_build_filename(g_get_user_data_dir(), "tessera", NULL);
    g_mkdir_with_parents(dir, 0700);
    return dir;
}

char **tessera_settings_dup_models_folders(void)
{
    g_autoptr(GKeyFile) kf = load();
    g_auto(GStrv) configured = g_key_file_get_string_list(kf, GROUP, "models-folders", NULL, NULL);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_autofree char *data = tessera_settings_dup_data_dir();
    g_autofree char *models = g_build_filename(data, "models", NULL);
    g_strv_builder_add(b, models);
    for (int i = 0; configured && configured[i]; i++)
        if (!g_str_equal(configured[i], models)) g_strv_builder_add(b, configured[i]);
    return g_strv_builder_end(b);
}

/* Append value to the list under key unless it is there. */
static void add_to_list(const char *key, const char *value)
{
    g_autoptr(GKeyFile) kf = load();
    g_auto(GStrv) list = g_key_file_get_string_list(kf, GROUP, key, NULL, NULL);
    if (list && g_strv_contains((const char *const *)list, value)) return;
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    if (list) g_strv_builder_addv(b, (const char **)list);
    g_strv_builder_add(b, value);
    g_auto(GStrv) out = g_strv_builder_end(b);
    g_key_file_set_string_list(kf, GROUP, key, (const char *const *)out, g_strv_length(out));
    save(kf);
}

void tessera_settings_add_models_folder(const char *folder) { add_to_list("models-folders", folder); }

char **tessera_settings_dup_model_files(void)
{
    g_autoptr(GKeyFile) kf = load();
    char **files = g_key_file_get_string_list(kf, GROUP, "model-files", NULL, NULL);
    return files ? files : g_new0(char *, 1);
}

void tessera_settings_add_model_file(const char *path) { add_to_list("model-files", path); }
