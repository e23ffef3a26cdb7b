/* Window actions: files, batch control, row actions, output folder, presets. */
#include "tessera-window-private.h"

#include "tessera-job-editor.h"
#include "tessera-preset-editor.h"
#include "tessera-settings.h"

static void on_files_chosen(GtkNativeDialog *dialog, int response, TesseraWindow *self)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GListModel) files = gtk_file_chooser_get_files(GTK_FILE_CHOOSER(dialog));
        guint n = g_list_model_get_n_items(files);
        g_autoptr(GPtrArray) arr = g_ptr_array_new_with_free_func(g_object_unref);
        for (guint i = 0; i < n; i++) g_ptr_array_add(arr, g_list_model_get_item(files, i));
        tessera_window_add_files(self, (GFile *const *)arr->pdata, arr->len);
    }
    g_object_unref(dialog);
}

static void add_files(GSimpleAction *a, GVariant *p, gpointer data)
{
    TesseraWindow *self = data;
    GtkFileChooserNative *d = gtk_file_chooser_native_new("Add Clips or Latents", GTK_WINDOW(self),
                                                          GTK_FILE_CHOOSER_ACTION_OPEN, "_Add", "_Cancel");
    gtk_file_chooser_set_select_multiple(GTK_FILE_CHOOSER(d), TRUE);
    g_signal_connect(d, "response", G_CALLBACK(on_files_chosen), self);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(d));
}

static void on_folder_chosen(GtkNativeDialog *dialog, int response, TesseraWindow *self)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GFile) f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
        g_autofree char *path = g_file_get_path(f);
        gboolean models = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(dialog), "models"));
        if (path && models) {
            tessera_settings_add_models_folder(path);
            tessera_window_rescan_models(self);
        } else if (path) {
            g_free(self->output_folder);
            self->output_folder = g_strdup(path);
            tessera_settings_set_string("output-folder", path);
            gtk_button_set_label(self->output_button, path);
            tessera_job_queue_set_output(self->queue, path, NULL);
        }
    }
    g_object_unref(dialog);
}

static void choose_folder(TesseraWindow *self, const char *title, gboolean models)
{
    GtkFileChooserNative *d = gtk_file_chooser_native_new(title, GTK_WINDOW(self),
                                                          GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Select", "_Cancel");
    g_object_set_data(G_OBJECT(d), "models", GINT_TO_POINTER(models));
    g_signal_connect(d, "response", G_CALLBACK(on_folder_chosen), self);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(d));
}

static void choose_output(GSimpleAction *a, GVariant *p, gpointer data) { choose_folder(data, "Output Folder", FALSE); }
static void add_models_folder(GSimpleAction *a, GVariant *p, gpointer data)
{
    choose_folder(data, "Models Folder", TRUE);
}

void tessera_window_add_model_file(TesseraWindow *self, const char *path)
{
    tessera_settings_add_model_file(path);
    tessera_model_list_select(self->model_list, path); /* once the scan lists it as usable */
    tessera_window_rescan_models(self);
}

static void on_model_file_chosen(GtkNativeDialog *dialog, int response, TesseraWindow *self)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GFile) f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
        g_autofree char *path = f ? g_file_get_path(f) : NULL;
        if (path) tessera_window_add_model_file(self, path);
    }
    g_object_unref(dialog);
}

static void add_model_file(GSimpleAction *a, GVariant *p, gpointer data)
{
    TesseraWindow *self = data;
    GtkFileChooserNative *d = gtk_file_chooser_native_new("Add a Model File", GTK_WINDOW(self),
                                                          GTK_FILE_CHOOSER_ACTION_OPEN, "_Add", "_Cancel");
    GtkFileFilter *filter = gtk_file_filter_new();
    gtk_file_filter_set_name(filter, "SeedVR2 VAE (*.safetensors, *.gguf)");
    gtk_file_filter_add_pattern(filter, "*.safetensors");
    gtk_file_filter_add_pattern(filter, "*.gguf");
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(d), filter);
    g_object_unref(filter);
    g_signal_connect(d, "response", G_CALLBACK(on_model_file_chosen), self);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(d));
}

static void show_page(GSimpleAction *a, GVariant *p, gpointer data)
{
    TesseraWindow *self = data;
    adw_view_stack_set_visible_child_name(self->stack, g_variant_get_string(p, NULL));
}

static void on_job_editor_response(AdwMessageDialog *d, const char *response, TesseraWindow *self)
{
    if (!g_str_equal(response, "save")) return;
    TesseraJobEditor *ed = TESSERA_JOB_EDITOR(adw_message_dialog_get_extra_child(d));
    TesseraJob *job = g_object_get_data(G_OBJECT(d), "job");
    g_autofree tsr_job_spec *spec = g_new0(tsr_job_spec, 1);
    g_autoptr(GError) error = NULL;
    if (!tessera_job_editor_save(ed, spec, &error)) {
        tessera_window_toast(self, error->message);
        return;
    }
    if (!tessera_window_apply_job_spec(self, job, spec))
        tessera_window_toast(self, "The job has started: its settings can no longer change");
}

gboolean tessera_window_apply_job_spec(TesseraWindow *self, TesseraJob *job, const tsr_job_spec *spec)
{
    gboolean ok = tessera_job_queue_set_job_spec(self->queue, job, spec);
    tessera_window_update_actions(self);
    return ok;
}

GtkWidget *tessera_window_edit_job(TesseraWindow *self, TesseraJob *job)
{
    if (!tessera_job_queue_is_editable(self->queue, job)) {
        tessera_window_toast(self, "A job that is running keeps its settings");
        return NULL;
    }
    g_autofree char *name = g_path_get_basename(tessera_job_get_input(job));
    GtkWidget *d = adw_message_dialog_new(GTK_WINDOW(self), "Job Settings", NULL);
    adw_message_dialog_format_body(ADW_MESSAGE_DIALOG(d), "%s — overrides the preset for this job only", name);
    adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(d), "cancel", "_Cancel", "save", "_Apply", NULL);
    adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(d), "save", ADW_RESPONSE_SUGGESTED);
    GtkWidget *ed = tessera_job_editor_new();
    tessera_job_editor_load(TESSERA_JOB_EDITOR(ed), &tessera_job_get_row(job)->spec);
    adw_message_dialog_set_extra_child(ADW_MESSAGE_DIALOG(d), ed);
    g_object_set_data_full(G_OBJECT(d), "job", g_object_ref(job), g_object_unref);
    g_signal_connect(d, "response", G_CALLBACK(on_job_editor_response), self);
    gtk_window_present(GTK_WINDOW(d));
    return d;
}

static void job_edit(GSimpleAction *a, GVariant *p, gpointer data)
{
    TesseraWindow *self = data;
    TesseraJob *job = tessera_window_selected_job(self);
    if (job) tessera_window_edit_job(self, job);
}

static void start(GSimpleAction *a, GVariant *p, gpointer data)
{
    TesseraWindow *self = data;
    tessera_job_queue_start(self->queue);
    GAction *pause = g_action_map_lookup_action(G_ACTION_MAP(self), "pause");
    g_simple_action_set_state(G_SIMPLE_ACTION(pause), g_variant_new_boolean(FALSE));
}

static void pause_changed(GSimpleAction *a, GVariant *state, gpointer data)
{
    TesseraWindow *self = data;
    g_simple_action_set_state(a, state);
    tessera_job_queue_set_paused(self->queue, g_variant_get_boolean(state));
}

#define ROW_ACTION(fn, call)                                                                                  \
    static void fn(GSimpleAction *a, GVariant *p, gpointer data)                                           \
    {                                                                                                       \
        TesseraWindow *self = data;                                                                         \
        TesseraJob *job = tessera_window_selected_job(self);                                                \
        if (job) call;                                                                                      \
        tessera_window_update_actions(self);                                                                \
    }
ROW_ACTION(cancel_job, tessera_job_queue_cancel(self->queue, job))
ROW_ACTION(retry_job, tessera_job_queue_retry(self->queue, job))
ROW_ACTION(remove_job, tessera_job_queue_remove(self->queue, job))
ROW_ACTION(move_up, tessera_job_queue_move(self->queue, job, -1))
ROW_ACTION(move_down, tessera_job_queue_move(self->queue, job, +1))

static void apply_preset(GSimpleAction *a, GVariant *p, gpointer data)
{
    TesseraWindow *self = data;
    TesseraJob *job = tessera_window_selected_job(self);
    if (job && !tessera_job_queue_set_job_preset(self->queue, job, tessera_window_get_preset(self)))
        tessera_window_toast(self, "A job that is running keeps its preset");
}

#include "tessera-window-presets.c"

static const GActionEntry win_actions[] = {
    {"add-files", add_files, NULL, NULL, NULL},
    {"choose-output", choose_output, NULL, NULL, NULL},
    {"add-models-folder", add_models_folder, NULL, NULL, NULL},
    {"add-model-file", add_model_file, NULL, NULL, NULL},
    {"show-page", show_page, "s", NULL, NULL},
    {"job-edit", job_edit, NULL, NULL, NULL},
    {"start", start, NULL, NULL, NULL},
    {"pause", NULL, NULL, "false", pause_changed},
    {"cancel", cancel_job, NULL, NULL, NULL},
    {"retry", retry_job, NULL, NULL, NULL},
    {"remove", remove_job, NULL, NULL, NULL},
    {"move-up", move_up, NULL, NULL, NULL},
    {"move-down", move_down, NULL, NULL, NULL},
    {"apply-preset", apply_preset, NULL, NULL, NULL},
    {"preset-new", preset_new, NULL, NULL, NULL},
    {"preset-edit", preset_edit, NULL, NULL, NULL},
    {"preset-duplicate", preset_duplicate, NULL, NULL, NULL},
    {"preset-delete", preset_delete, NULL, NULL, NULL},
};

static void add_row_button(TesseraWindow *self, const char *icon, const char *label, const char *action)
{
    GtkWidget *b = gtk_button_new_from_icon_name(icon);
    gtk_widget_set_tooltip_text(b, label);
    gtk_accessible_update_property(GTK_ACCESSIBLE(b), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
    gtk_actionable_set_action_name(GTK_ACTIONABLE(b), action);
    gtk_box_append(self->row_actions, b);
}

void tessera_window_setup_actions(TesseraWindow *self)
{
    g_action_map_add_action_entries(G_ACTION_MAP(self), win_actions, G_N_ELEMENTS(win_actions), self);
    add_row_button(self, "process-stop-symbolic", "Cancel the selected job", "win.cancel");
    add_row_button(self, "view-refresh-symbolic", "Retry the selected job", "win.retry");
    add_row_button(self, "user-trash-symbolic", "Remove the selected job", "win.remove");
    add_row_button(self, "go-up-symbolic", "Move the selected job up", "win.move-up");
    add_row_button(self, "go-down-symbolic", "Move the selected job down", "win.move-down");
    add_row_button(self, "document-properties-symbolic", "Give the selected job the current preset",
                   "win.apply-preset");
    add_row_button(self, "emblem-system-symbolic", "Edit the selected job's settings (Ctrl+E)", "win.job-edit");
    tessera_window_update_actions(self);
}

static void enable(TesseraWindow *self, const char *name, gboolean on)
{
    GAction *a = g_action_map_lookup_action(G_ACTION_MAP(self), name);
    if (a) g_simple_action_set_enabled(G_SIMPLE_ACTION(a), on);
}

void tessera_window_update_actions(TesseraWindow *self)
{
    TesseraJob *job = tessera_window_selected_job(self);
    tsr_job_state s = job ? tessera_job_get_state(job) : TSR_JOB_QUEUED;
    gboolean active = job && (s == TSR_JOB_QUEUED || s == TSR_JOB_RUNNING || s == TSR_JOB_PAUSED);
    enable(self, "cancel", active);
    enable(self, "retry", job && !active);
    enable(self, "remove", job != NULL);
    enable(self, "move-up", job != NULL);
    enable(self, "move-down", job != NULL);
    gboolean editable = job && tessera_job_queue_is_editable(self->queue, job);
    enable(self, "apply-preset", editable);
    enable(self, "job-edit", editable);
}
