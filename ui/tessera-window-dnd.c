/* Drop clips or latent files anywhere on the window; the file dialog shares the same path. */
#include "tessera-window-private.h"

#include "tessera-settings.h"

/* Preferences "Device": 0 automatic, 1 CPU, 2.. GPU n-2. */
static void apply_device_settings(TesseraWindow *self)
{
    int gpu = tessera_settings_get_int("gpu", 0);
    tsr_backend_kind backend = gpu == 0 ? TSR_BACKEND_AUTO : gpu == 1 ? TSR_BACKEND_CPU : TSR_BACKEND_CUDA;
    guint64 budget = (guint64)MAX(tessera_settings_get_int("vram-budget-gib", 0), 0) << 30;
    tessera_job_queue_set_device(self->queue, backend, gpu >= 2 ? gpu - 2 : 0, budget);
}

guint tessera_window_add_files(TesseraWindow *self, GFile *const *files, guint n)
{
    TesseraPreset *preset = tessera_window_get_preset(self);
    guint added = 0, rejected = 0;
    g_autofree char *first_error = NULL;
    const char *model = tessera_model_list_get_selected(self->model_list);
    if (model) tessera_job_queue_set_model(self->queue, model);
    apply_device_settings(self);
    for (guint i = 0; i < n; i++) {
        g_autoptr(GError) error = NULL;
        if (tessera_job_queue_add(self->queue, files[i], preset, &error)) {
            added++;
            continue;
        }
        rejected++;
        if (!first_error) first_error = g_strdup(error->message);
    }
    /* one toast for the whole drop, never one dialog per file */
    if (rejected == 1) {
        tessera_window_toast(self, first_error);
    } else if (rejected > 1) {
        g_autofree char *msg = g_strdup_printf("%u files skipped: not clips or latent files (%s, …)", rejected,
                                               first_error);
        tessera_window_toast(self, msg);
    }
    if (added) adw_view_stack_set_visible_child_name(self->stack, "queue");
    return added;
}

static gboolean on_drop(GtkDropTarget *target, const GValue *value, double x, double y, TesseraWindow *self)
{
    gtk_widget_remove_css_class(GTK_WIDGET(self), "drop-highlight");
    if (!G_VALUE_HOLDS(value, GDK_TYPE_FILE_LIST)) return FALSE;
    GSList *list = gdk_file_list_get_files(g_value_get_boxed(value));
    g_autoptr(GPtrArray) files = g_ptr_array_new();
    for (GSList *l = list; l; l = l->next) g_ptr_array_add(files, l->data);
    g_slist_free(list);
    return tessera_window_add_files(self, (GFile *const *)files->pdata, files->len) > 0 || files->len > 0;
}

static GdkDragAction on_enter(GtkDropTarget *t, double x, double y, TesseraWindow *self)
{
    gtk_widget_add_css_class(GTK_WIDGET(self), "drop-highlight");
    return GDK_ACTION_COPY;
}

static void on_leave(GtkDropTarget *t, TesseraWindow *self)
{
    gtk_widget_remove_css_class(GTK_WIDGET(self), "drop-highlight");
}

void tessera_window_setup_dnd(TesseraWindow *self)
{
    self->drop_target = gtk_drop_target_new(GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
    g_signal_connect(self->drop_target, "drop", G_CALLBACK(on_drop), self);
    g_signal_connect(self->drop_target, "enter", G_CALLBACK(on_enter), self);
    g_signal_connect(self->drop_target, "leave", G_CALLBACK(on_leave), self);
    gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(self->drop_target));
}
