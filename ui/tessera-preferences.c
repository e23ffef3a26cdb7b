/* Preferences, saved to the settings key file as they change. */
#include "tessera-preferences.h"

#include "tessera-settings.h"

struct _TesseraPreferences {
    AdwPreferencesWindow parent_instance;
    AdwComboRow *device;
    AdwActionRow *device_note;
    int values[3 + TSR_MAX_DEVICES]; /* the "gpu" setting of each Device choice */
    gboolean devices_ready;
    gulong device_handler;
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
    TesseraPreferences *self = data;
    guint i = adw_combo_row_get_selected(row);
    if (i < G_N_ELEMENTS(self->values)) tessera_settings_set_int("gpu", self->values[i]);
}

guint tessera_preferences_device_choices(GtkStringList *list, int *values, const tsr_device_info *devices, int n,
                                         int saved)
{
    guint k = 0;
    gtk_string_list_append(list, "Automatic (CUDA when usable, else CPU)");
    values[k++] = 0;
    gtk_string_list_append(list, "CPU");
    values[k++] = 1;
    gboolean saved_seen = saved < 2;
    for (int i = 0; i < n && i < TSR_MAX_DEVICES; i++) {
        g_autofree char *label = g_strdup_printf("GPU %d — %s, %.0f GiB%s", devices[i].ordinal, devices[i].name,
                                                 (double)devices[i].total_memory / (1024.0 * 1024.0 * 1024.0),
                                                 devices[i].supported ? "" : " (not supported: needs sm_80+)");
        gtk_string_list_append(list, label);
        values[k++] = 2 + devices[i].ordinal;
        saved_seen |= saved == 2 + devices[i].ordinal;
    }
    if (!saved_seen) { /* keep the user's choice visible (another machine, or the GPU is out for now) */
        g_autofree char *label = g_strdup_printf("GPU %d (not found now)", saved - 2);
        gtk_string_list_append(list, label);
        values[k++] = saved;
    }
    return k;
}

/* Select the Device choice whose setting value is `saved` among the first k. */
static void select_value(TesseraPreferences *self, guint k, int saved)
{
    for (guint i = 0; i < k; i++)
        if (self->values[i] == saved) adw_combo_row_set_selected(self->device, i);
}

gboolean tessera_preferences_devices_ready(TesseraPreferences *self) { return self->devices_ready; }

typedef struct device_scan {
    tsr_device_info d[TSR_MAX_DEVICES];
    int n;
    tsr_error err;
} device_scan;

/* The driver's device list off the main thread: cuInit may take a while. */
static void scan_devices(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
    device_scan *r = g_new0(device_scan, 1);
    tsr_devices_list(r->d, TSR_MAX_DEVICES, &r->n, &r->err);
    g_task_return_pointer(task, r, g_free);
}

static void fill_devices(TesseraPreferences *self, const device_scan *r)
{
    int saved = tessera_settings_get_int("gpu", 0);
    GtkStringList *list = gtk_string_list_new(NULL);
    guint k = tessera_preferences_device_choices(list, self->values, r->d, r->n, saved);
    g_signal_handler_block(self->device, self->device_handler);
    adw_combo_row_set_model(self->device, G_LIST_MODEL(list));
    select_value(self, k, saved);
    g_signal_handler_unblock(self->device, self->device_handler);
    g_object_unref(list);
    adw_action_row_set_subtitle(self->device_note, r->n ? "" : r->err.message);
    gtk_widget_set_visible(GTK_WIDGET(self->device_note), r->n == 0);
    self->devices_ready = TRUE;
}

static void on_devices_scanned(GObject *source, GAsyncResult *res, gpointer data)
{
    device_scan *r = g_task_propagate_pointer(G_TASK(res), NULL);
    TesseraPreferences *self = data; /* a reference held by the task */
    if (r) fill_devices(self, r);
    g_free(r);
    g_object_unref(self);
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
    /* the saved choice and the two that always exist now; the GPUs once the background scan answers */
    GtkStringList *list = gtk_string_list_new(NULL);
    int saved = tessera_settings_get_int("gpu", 0);
    guint k = tessera_preferences_device_choices(list, self->values, NULL, 0, saved);
    GtkWidget *combo = adw_combo_row_new();
    self->device = ADW_COMBO_ROW(combo);
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(combo), "Device");
    adw_combo_row_set_model(self->device, G_LIST_MODEL(list));
    g_object_unref(list);
    select_value(self, k, saved);
    gtk_accessible_update_property(GTK_ACCESSIBLE(combo), GTK_ACCESSIBLE_PROPERTY_LABEL, "Device", -1);
    self->device_handler = g_signal_connect(combo, "notify::selected", G_CALLBACK(on_gpu_changed), self);
    adw_preferences_group_add(gpu, combo);
    self->device_note = ADW_ACTION_ROW(adw_action_row_new());
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(self->device_note), "No NVIDIA GPU found");
    gtk_widget_set_visible(GTK_WIDGET(self->device_note), FALSE);
    adw_preferences_group_add(gpu, GTK_WIDGET(self->device_note));
    GTask *task = g_task_new(NULL, NULL, on_devices_scanned, g_object_ref(self));
    g_task_run_in_thread(task, scan_devices);
    g_object_unref(task);
}

GtkWidget *tessera_preferences_new(GtkWindow *parent)
{
    return g_object_new(TESSERA_TYPE_PREFERENCES, "transient-for", parent, "modal", TRUE, NULL);
}
