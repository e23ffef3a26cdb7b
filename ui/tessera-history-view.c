/* The History page. */
#include "tessera-history-view.h"

#include <adwaita.h>

struct _TesseraHistoryView {
    GtkBox parent_instance;
    TesseraJobQueue *queue;
    AdwStatusPage *empty;
    GtkListBox *list;
    GtkButton *clear;
    tsr_history_entry *entries;  /* tsr_store_free */
    int n;
};

/* Newest entries shown (each carries its ~17 KB job spec; older ones stay in the store until cleared). */
#define HISTORY_ROWS 200

G_DEFINE_FINAL_TYPE(TesseraHistoryView, tessera_history_view, GTK_TYPE_BOX)

enum { SIGNAL_REQUEUED, SIGNAL_MESSAGE, N_SIGNALS };
static guint signals[N_SIGNALS];

static void tessera_history_view_dispose(GObject *object)
{
    TesseraHistoryView *self = TESSERA_HISTORY_VIEW(object);
    if (self->queue) g_signal_handlers_disconnect_by_data(self->queue, self);
    g_clear_object(&self->queue);
    g_clear_pointer(&self->entries, tsr_store_free);
    self->n = 0;
    G_OBJECT_CLASS(tessera_history_view_parent_class)->dispose(object);
}

static void tessera_history_view_class_init(TesseraHistoryViewClass *klass)
{
    G_OBJECT_CLASS(klass)->dispose = tessera_history_view_dispose;
    /* (TesseraJob *) after "run again" queued a job */
    signals[SIGNAL_REQUEUED] = g_signal_new("requeued", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                            NULL, NULL, G_TYPE_NONE, 1, G_TYPE_OBJECT);
    /* (const char *) a one-line message for the user (the window shows it as a toast) */
    signals[SIGNAL_MESSAGE] = g_signal_new("message", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                           NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void on_clear_clicked(GtkButton *b, TesseraHistoryView *self)
{
    g_autoptr(GError) error = NULL;
    if (!tessera_history_view_clear(self, &error)) g_signal_emit(self, signals[SIGNAL_MESSAGE], 0, error->message);
}

static void tessera_history_view_init(TesseraHistoryView *self)
{
    gtk_orientable_set_orientation(GTK_ORIENTABLE(self), GTK_ORIENTATION_VERTICAL);
    gtk_box_set_spacing(GTK_BOX(self), 12);
    GtkWidget *bar = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    GtkWidget *title = gtk_label_new("Finished, failed and cancelled jobs, newest first");
    gtk_widget_add_css_class(title, "dim-label");
    gtk_widget_set_hexpand(title, TRUE);
    gtk_label_set_xalign(GTK_LABEL(title), 0);
    gtk_box_append(GTK_BOX(bar), title);
    self->clear = GTK_BUTTON(gtk_button_new_with_mnemonic("_Clear History"));
    gtk_widget_add_css_class(GTK_WIDGET(self->clear), "destructive-action");
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->clear), "Forget every finished job (the output files stay)");
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->clear), GTK_ACCESSIBLE_PROPERTY_LABEL, "Clear the history",
                                   -1);
    g_signal_connect(self->clear, "clicked", G_CALLBACK(on_clear_clicked), self);
    gtk_box_append(GTK_BOX(bar), GTK_WIDGET(self->clear));
    gtk_box_append(GTK_BOX(self), bar);
    self->empty = ADW_STATUS_PAGE(adw_status_page_new());
    adw_status_page_set_icon_name(self->empty, "document-open-recent-symbolic");
    adw_status_page_set_title(self->empty, "No finished jobs yet");
    adw_status_page_set_description(self->empty, "Jobs appear here when they finish, fail or are cancelled.");
    gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->empty));
    self->list = GTK_LIST_BOX(gtk_list_box_new());
    gtk_list_box_set_selection_mode(self->list, GTK_SELECTION_NONE);
    gtk_widget_add_css_class(GTK_WIDGET(self->list), "boxed-list");
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->list), GTK_ACCESSIBLE_PROPERTY_LABEL, "Job history", -1);
    gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->list));
}

char *tessera_history_format_duration(double s)
{
    if (s <= 0) return g_strdup("—");
    if (s < 60) return g_strdup_printf("%.1f s", s);
    int t = (int)(s + 0.5);
    return t >= 3600 ? g_strdup_printf("%d h %02d min", t / 3600, t / 60 % 60)
                     : g_strdup_printf("%d min %02d s", t / 60, t % 60);
}

static void launch_uri(GtkWidget *from, const char *uri)
{
    GtkRoot *root = gtk_widget_get_root(from);
    gtk_show_uri(GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL, uri, GDK_CURRENT_TIME);
}

static void on_open_clicked(GtkButton *b, TesseraHistoryView *self)
{
    const char *path = g_object_get_data(G_OBJECT(b), "path");
    g_autofree char *uri = g_filename_to_uri(path, NULL, NULL);
    if (uri) launch_uri(GTK_WIDGET(b), uri);
}

/* The file manager selects the file (org.freedesktop.FileManager1.ShowItems); without one, open its folder.
 * Everything is asynchronous: the main loop never waits on D-Bus. */
typedef struct {
    char *uri, *folder_uri;
} ShowRequest;

static void show_request_free(ShowRequest *r)
{
    g_free(r->uri);
    g_free(r->folder_uri);
    g_free(r);
}

static void on_show_items_done(GObject *bus, GAsyncResult *res, gpointer data)
{
    ShowRequest *r = data;
    g_autoptr(GVariant) ret = g_dbus_connection_call_finish(G_DBUS_CONNECTION(bus), res, NULL);
    if (!ret) gtk_show_uri(NULL, r->folder_uri, GDK_CURRENT_TIME);
    show_request_free(r);
}

static void on_bus(GObject *source, GAsyncResult *res, gpointer data)
{
    ShowRequest *r = data;
    g_autoptr(GDBusConnection) bus = g_bus_get_finish(res, NULL);
    if (!bus) {
        gtk_show_uri(NULL, r->folder_uri, GDK_CURRENT_TIME);
        show_request_free(r);
        return;
    }
    const char *uris[] = {r->uri, NULL};
    g_dbus_connection_call(bus, "org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                           "org.freedesktop.FileManager1", "ShowItems", g_variant_new("(^ass)", uris, ""), NULL,
                           G_DBUS_CALL_FLAGS_NONE, 5000, NULL, on_show_items_done, r);
}

static void on_show_in_folder_clicked(GtkButton *b, TesseraHistoryView *self)
{
    const char *path = g_object_get_data(G_OBJECT(b), "path");
    g_autofree char *dir = g_path_get_dirname(path);
    ShowRequest *r = g_new0(ShowRequest, 1);
    r->uri = g_filename_to_uri(path, NULL, NULL);
    r->folder_uri = g_filename_to_uri(dir, NULL, NULL);
    if (!r->uri || !r->folder_uri) {
        show_request_free(r);
        return;
    }
    g_bus_get(G_BUS_TYPE_SESSION, NULL, on_bus, r);
}

static void on_again_clicked(GtkButton *b, TesseraHistoryView *self)
{
    guint i = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(b), "index"));
    g_autoptr(GError) error = NULL;
    if (!tessera_history_view_run_again(self, i, &error)) g_signal_emit(self, signals[SIGNAL_MESSAGE], 0, error->message);
}

/* icon: an icon name, or NULL for a text button showing `text` */
static GtkWidget *row_button(GtkWidget *row, const char *icon, const char *text, const char *label, GCallback cb,
                             gpointer self)
{
    GtkWidget *b = icon ? gtk_button_new_from_icon_name(icon) : gtk_button_new_with_mnemonic(text);
    gtk_widget_set_valign(b, GTK_ALIGN_CENTER);
    gtk_widget_add_css_class(b, "flat");
    gtk_widget_set_tooltip_text(b, label);
    gtk_accessible_update_property(GTK_ACCESSIBLE(b), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
    g_signal_connect(b, "clicked", cb, self);
    adw_action_row_add_suffix(ADW_ACTION_ROW(row), b);
    return b;
}

static GtkWidget *entry_row(TesseraHistoryView *self, guint i)
{
    const tsr_history_entry *e = &self->entries[i];
    GtkWidget *row = adw_action_row_new();
    g_autofree char *in = g_path_get_basename(e->input);
    g_autofree char *out = g_path_get_basename(e->output);
    g_autofree char *dur = tessera_history_format_duration(e->seconds);
    g_autoptr(GDateTime) when = g_date_time_new_from_unix_local(e->finished);
    g_autofree char *stamp = when ? g_date_time_format(when, "%Y-%m-%d %H:%M") : g_strdup("");
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), in);
    adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
    gboolean why = e->error[0] && (e->state == TSR_JOB_FAILED || e->state == TSR_JOB_INTERRUPTED);
    g_autofree char *sub = g_strdup_printf("%s · %s → %s · %s · %s%s%s", tsr_job_state_name(e->state),
                                           e->preset[0] ? e->preset : "no preset", out, dur, stamp,
                                           why ? "\n" : "", why ? e->error : "");
    adw_action_row_set_subtitle(ADW_ACTION_ROW(row), sub);
    adw_action_row_set_subtitle_lines(ADW_ACTION_ROW(row), 3);
    gtk_widget_set_tooltip_text(row, e->output);
    const char *icon = e->state == TSR_JOB_DONE ? "emblem-ok-symbolic"
                       : e->state == TSR_JOB_FAILED ? "dialog-error-symbolic" : "process-stop-symbolic";
    adw_action_row_add_prefix(ADW_ACTION_ROW(row), gtk_image_new_from_icon_name(icon));
    if (g_file_test(e->output, G_FILE_TEST_EXISTS)) {
        GtkWidget *open = row_button(row, NULL, "_Open", "Open the output", G_CALLBACK(on_open_clicked), self);
        g_object_set_data_full(G_OBJECT(open), "path", g_strdup(e->output), g_free);
        GtkWidget *show = row_button(row, NULL, "Show in _Folder", "Show the output in its folder",
                                     G_CALLBACK(on_show_in_folder_clicked), self);
        g_object_set_data_full(G_OBJECT(show), "path", g_strdup(e->output), g_free);
    }
    if (e->spec.input[0]) {
        GtkWidget *again = row_button(row, "view-refresh-symbolic", NULL, "Run this job again",
                                      G_CALLBACK(on_again_clicked), self);
        g_object_set_data(G_OBJECT(again), "index", GUINT_TO_POINTER(i));
    }
    return row;
}

void tessera_history_view_reload(TesseraHistoryView *self)
{
    g_clear_pointer(&self->entries, tsr_store_free);
    self->n = 0;
    g_autoptr(GError) error = NULL;
    self->entries = tessera_job_queue_list_history(self->queue, HISTORY_ROWS, &self->n, &error);
    if (!self->entries && error) g_signal_emit(self, signals[SIGNAL_MESSAGE], 0, error->message);
    GtkWidget *c;
    while ((c = gtk_widget_get_first_child(GTK_WIDGET(self->list)))) gtk_list_box_remove(self->list, c);
    for (int i = 0; i < self->n; i++) gtk_list_box_append(self->list, entry_row(self, (guint)i));
    gtk_widget_set_visible(GTK_WIDGET(self->empty), self->n == 0);
    gtk_widget_set_visible(GTK_WIDGET(self->list), self->n > 0);
    gtk_widget_set_sensitive(GTK_WIDGET(self->clear), self->n > 0);
}

GtkWidget *tessera_history_view_new(TesseraJobQueue *queue)
{
    TesseraHistoryView *self = g_object_new(TESSERA_TYPE_HISTORY_VIEW, NULL);
    self->queue = g_object_ref(queue);
    g_signal_connect_swapped(queue, "history-changed", G_CALLBACK(tessera_history_view_reload), self);
    tessera_history_view_reload(self);
    return GTK_WIDGET(self);
}

guint tessera_history_view_get_n_entries(TesseraHistoryView *self) { return (guint)self->n; }

const tsr_history_entry *tessera_history_view_get_entry(TesseraHistoryView *self, guint i)
{
    return i < (guint)self->n ? &self->entries[i] : NULL;
}

GtkWidget *tessera_history_view_get_row(TesseraHistoryView *self, guint i)
{
    return GTK_WIDGET(gtk_list_box_get_row_at_index(self->list, (int)i));
}

TesseraJob *tessera_history_view_run_again(TesseraHistoryView *self, guint i, GError **error)
{
    const tsr_history_entry *e = tessera_history_view_get_entry(self, i);
    if (!e) {
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No such history entry");
        return NULL;
    }
    TesseraJob *job = tessera_job_queue_add_spec(self->queue, &e->spec, e->preset, error);
    if (job) g_signal_emit(self, signals[SIGNAL_REQUEUED], 0, job);
    return job;
}

gboolean tessera_history_view_clear(TesseraHistoryView *self, GError **error)
{
    return tessera_job_queue_clear_history(self->queue, error); /* "history-changed" reloads */
}
