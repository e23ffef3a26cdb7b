/* Preferences, saved to the settings key file as they change. */
#include "tessera-preferences.h"

#include "tessera-settings.h"

struct _TesseraPreferences {
    AdwPreferencesWindow parent_instance;
};

G_DEFINE_FINAL_TYPE(TesseraPreferences, tessera_preferences, ADW_TYPE_PREFERENCES_WINDOW)

static void tessera_preferences_class_init(TesseraPreferencesClass *klass) { (void)klass; }

static void on_output_changed(GtkEditable *e, gpointer data)
{
    tessera_settings_set_string("output-folder", gtk_editable_get_text(e));
}

static void on_budget_changed(GtkSpinButton *s, gpointer data)
{
    tessera_settings_set_int("vram-budget-gib", gtk_spin_button_get_value_as_int(s));
}

static void on_gpu_changed(AdwComboRow *row, GParamSpec *ps, gpointer data)
{
    tessera_settings_set_int("gpu", (int)adw_combo_row_get_selected(row));
}

static AdwPreferencesGroup *add_group(AdwPreferencesPage *page, const char *title)
{
    AdwPreferencesGroup *g = ADW_PREFERENCES_GROUP(adw_preferences_group_new());
    adw_preferences_group_set_title(g, title);
    adw_preferences_page_add(page, g);
    return g;
}

static void add_models_rows(AdwPreferencesGroup *g)
{
    g_auto(GStrv) folders = tessera_settings_dup_models_folders();
    for (int i = 0; folders[i]; i++) {
        GtkWidget *row = adw_action_row_new();
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), folders[i]);
        adw_preferences_group_add(g, row);
    }
    g_auto(GStrv) files = tessera_settings_dup_model_files();
    for (int i = 0; files[i]; i++) {
        GtkWidget *row = adw_action_row_new();
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), files[i]);
        adw_action_row_set_subtitle(ADW_ACTION_ROW(row), "model file");
        adw_preferences_group_add(g, row);
    }
    adw_preferences_group_set_description(g, "Folders scanned for *.safetensors and *.gguf, and model files "
                                             "chosen one by one (add more on the Models page)");
}

static void tessera_preferences_init(TesseraPreferences *self)
{
    AdwPreferencesPage *page = ADW_PREFERENCES_PAGE(adw_preferences_page_new());
    adw_preferences_window_add(ADW_PREFERENCES_WINDOW(self), page);
    add_models_rows(add_group(page, "Models folders and files"));
    AdwPreferencesGroup *out = add_group(page, "Output");
    GtkWidget *entry = adw_entry_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(entry), "Default output folder (empty: beside the input)");
    g_autofree char *folder = tessera_settings_dup_string("output-folder");
    gtk_editable_set_text(GTK_EDITABLE(entry), folder);
    g_signal_connect(entry, "changed", G_CALLBACK(on_output_changed), NULL);
    adw_preferences_group_add(out, entry);
    AdwPreferencesGroup *gpu = add_group(page, "GPU");
    GtkWidget *budget_row = adw_action_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(budget_row), "VRAM budget (GiB, 0 = free memory)");
    GtkWidget *spin = gtk_spin_button_new_with_range(0, 192, 1);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(spin), tessera_settings_get_int("vram-budget-gib", 0));
    gtk_widget_set_valign(spin, GTK_ALIGN_CENTER);
    gtk_accessible_update_property(GTK_ACCESSIBLE(spin), GTK_ACCESSIBLE_PROPERTY_LABEL, "VRAM budget in GiB", -1);
    g_signal_connect(spin, "value-changed", G_CALLBACK(on_budget_changed), NULL);
    adw_action_row_add_suffix(ADW_ACTION_ROW(budget_row), spin);
    adw_preferences_group_add(gpu, budget_row);
    const char *choices[] = {"Automatic (CUDA when usable, else CPU)", "CPU", "GPU 0", "GPU 1", NULL};
    GtkWidget *combo = adw_combo_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(combo), "Device");
    adw_combo_row_set_model(ADW_COMBO_ROW(combo), G_LIST_MODEL(gtk_string_list_new(choices)));
    adw_combo_row_set_selected(ADW_COMBO_ROW(combo), (guint)tessera_settings_get_int("gpu", 0));
    g_signal_connect(combo, "notify::selected", G_CALLBACK(on_gpu_changed), NULL);
    adw_preferences_group_add(gpu, combo);
}

GtkWidget *tessera_preferences_new(GtkWindow *parent)
{
    return g_object_new(TESSERA_TYPE_PREFERENCES, "transient-for", parent, "modal", TRUE, NULL);
}
