/* The main window: template, queue columns, options row, live panel hookup. */
#include "tessera-window-private.h"

#include "tessera-resources.h"
#include "tessera-settings.h"

G_DEFINE_FINAL_TYPE(TesseraWindow, tessera_window, ADW_TYPE_APPLICATION_WINDOW)

enum { COL_STATE, COL_INPUT, COL_PRESET, COL_OUTPUT, COL_PROGRESS, COL_ETA, N_COLS };
static const char *const col_titles[N_COLS] = {"State", "Input", "Preset", "Output", "Progress", "ETA"};

static void tessera_window_dispose(GObject *object)
{
    TesseraWindow *self = TESSERA_WINDOW(object);
    if (self->queue) g_signal_handlers_disconnect_by_data(self->queue, self);
    g_clear_object(&self->queue);
    g_clear_object(&self->presets);
    g_clear_pointer(&self->output_folder, g_free);
    g_clear_pointer(&self->last_toast, g_free);
    gtk_widget_dispose_template(GTK_WIDGET(self), TESSERA_TYPE_WINDOW);
    G_OBJECT_CLASS(tessera_window_parent_class)->dispose(object);
}

static void tessera_window_class_init(TesseraWindowClass *klass)
{
    GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
    G_OBJECT_CLASS(klass)->dispose = tessera_window_dispose;
    /* referencing the resource links its object file in, whose constructor registers it */
    g_assert(tessera_get_resource() != NULL);
    gtk_widget_class_set_template_from_resource(wc, "/org/tessera/Tessera/tessera-window.ui");
    gtk_widget_class_bind_template_child(wc, TesseraWindow, toast_overlay);
    gtk_widget_class_bind_template_child(wc, TesseraWindow, stack);
    gtk_widget_class_bind_template_child(wc, TesseraWindow, column_view);
    gtk_widget_class_bind_template_child(wc, TesseraWindow, options_box);
    gtk_widget_class_bind_template_child(wc, TesseraWindow, row_actions);
    gtk_widget_class_bind_template_child(wc, TesseraWindow, models_box);
    gtk_widget_class_bind_template_child(wc, TesseraWindow, history_box);
    gtk_widget_class_bind_template_child(wc, TesseraWindow, live_frame);
}

static void cell_setup(GtkSignalListItemFactory *f, GtkListItem *item, gpointer col)
{
    if (GPOINTER_TO_INT(col) == COL_PROGRESS) {
        GtkWidget *bar = gtk_progress_bar_new();
        gtk_widget_set_valign(bar, GTK_ALIGN_CENTER);
        gtk_accessible_update_property(GTK_ACCESSIBLE(bar), GTK_ACCESSIBLE_PROPERTY_LABEL, "Job progress", -1);
        gtk_list_item_set_child(item, bar);
        return;
    }
    GtkWidget *label = gtk_label_new("");
    gtk_label_set_xalign(GTK_LABEL(label), 0);
    gtk_label_set_ellipsize(GTK_LABEL(label), PANGO_ELLIPSIZE_MIDDLE);
    gtk_list_item_set_child(item, label);
}

static void cell_bind(GtkSignalListItemFactory *f, GtkListItem *item, gpointer col)
{
    TesseraJob *job = gtk_list_item_get_item(item);
    GtkWidget *w = gtk_list_item_get_child(item);
    g_autofree char *text = NULL;
    switch (GPOINTER_TO_INT(col)) {
    case COL_STATE: text = tessera_job_dup_state_label(job); break;
    case COL_INPUT: text = g_path_get_basename(tessera_job_get_input(job)); break;
    case COL_PRESET: text = g_strdup(tessera_job_get_preset(job)); break;
    case COL_OUTPUT: text = g_path_get_basename(tessera_job_get_output(job)); break;
    case COL_ETA: text = tessera_job_dup_eta_label(job); break;
    case COL_PROGRESS:
        gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(w), tessera_job_get_progress(job));
        return;
    }
    gtk_label_set_text(GTK_LABEL(w), text);
    const char *msg = tessera_job_get_message(job);
    gtk_widget_set_tooltip_text(w, msg && *msg ? msg : NULL);
}

static void setup_columns(TesseraWindow *self)
{
    for (int c = 0; c < N_COLS; c++) {
        GtkListItemFactory *f = gtk_signal_list_item_factory_new();
        g_signal_connect(f, "setup", G_CALLBACK(cell_setup), GINT_TO_POINTER(c));
        g_signal_connect(f, "bind", G_CALLBACK(cell_bind), GINT_TO_POINTER(c));
        GtkColumnViewColumn *col = gtk_column_view_column_new(col_titles[c], f);
        gtk_column_view_column_set_resizable(col, TRUE);
        gtk_column_view_column_set_expand(col, c == COL_INPUT || c == COL_OUTPUT);
        gtk_column_view_append_column(self->column_view, col);
        g_object_unref(col);
    }
    self->selection = gtk_single_selection_new(G_LIST_MODEL(g_object_ref(self->queue)));
    gtk_column_view_set_model(self->column_view, GTK_SELECTION_MODEL(self->selection));
    g_object_unref(self->selection);
    g_signal_connect_swapped(self->selection, "selection-changed", G_CALLBACK(tessera_window_update_actions), self);
    g_signal_connect_swapped(self->selection, "items-changed", G_CALLBACK(tessera_window_update_actions), self);
}

static void on_job_event(TesseraJobQueue *q, TesseraJob *job, const tsr_event *ev, TesseraWindow *self)
{
    g_autofree char *title = g_path_get_basename(tessera_job_get_input(job));
    tessera_live_panel_update(self->live_panel, tessera_job_queue_get_runner(q), title, ev);
    if (ev->type == TSR_EVENT_FAILED) {
        g_autofree char *msg = g_strdup_printf("%s failed: %s", title, ev->message);
        tessera_window_toast(self, msg);
    }
}

static void on_batch_finished(TesseraJobQueue *q, int done, int failed, TesseraWindow *self)
{
    g_autofree char *msg = g_strdup_printf("Batch finished: %d done, %d failed", done, failed);
    tessera_window_toast(self, msg);
    GApplication *app = G_APPLICATION(gtk_window_get_application(GTK_WINDOW(self)));
    if (!app || gtk_window_is_active(GTK_WINDOW(self))) return;
    g_autoptr(GNotification) n = g_notification_new("Tessera: batch finished");
    g_notification_set_body(n, msg);
    g_application_send_notification(app, "batch-finished", n);
}

static void on_model_selected(TesseraModelList *list, const char *path, TesseraWindow *self)
{
    tessera_settings_set_string("model", path);
    tessera_job_queue_set_model(self->queue, path);
}

static void tessera_window_init(TesseraWindow *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
    self->live_panel = TESSERA_LIVE_PANEL(tessera_live_panel_new());
    gtk_frame_set_child(self->live_frame, GTK_WIDGET(self->live_panel));
    self->model_list = TESSERA_MODEL_LIST(tessera_model_list_new());
    gtk_box_append(self->models_box, GTK_WIDGET(self->model_list));
    g_signal_connect(self->model_list, "model-selected", G_CALLBACK(on_model_selected), self);
    g_autofree char *model = tessera_settings_dup_string("model");
    if (*model) tessera_model_list_select(self->model_list, model); /* applied when the scan lists it */
}

static void on_requeued(TesseraHistoryView *view, TesseraJob *job, TesseraWindow *self)
{
    g_autofree char *name = g_path_get_basename(tessera_job_get_input(job));
    g_autofree char *msg = g_strdup_printf("%s is queued again", name);
    tessera_window_toast(self, msg);
    adw_view_stack_set_visible_child_name(self->stack, "queue");
}

static void setup_history(TesseraWindow *self)
{
    self->history_view = TESSERA_HISTORY_VIEW(tessera_history_view_new(self->queue));
    gtk_box_append(self->history_box, GTK_WIDGET(self->history_view));
    g_signal_connect(self->history_view, "requeued", G_CALLBACK(on_requeued), self);
    g_signal_connect_swapped(self->history_view, "message", G_CALLBACK(tessera_window_toast), self);
}

static void build_options(TesseraWindow *self);

TesseraWindow *tessera_window_new(GtkApplication *app, TesseraJobQueue *queue)
{
    TesseraWindow *self = g_object_new(TESSERA_TYPE_WINDOW, "application", app, NULL);
    self->queue = g_object_ref(queue);
    setup_columns(self);
    setup_history(self);
    tessera_window_load_presets(self);
    build_options(self);
    tessera_window_setup_actions(self);
    tessera_window_setup_dnd(self);
    g_signal_connect(queue, "job-event", G_CALLBACK(on_job_event), self);
    g_signal_connect(queue, "batch-finished", G_CALLBACK(on_batch_finished), self);
    tessera_window_rescan_models(self);
    int interrupted = tessera_job_queue_get_interrupted(queue);
    if (interrupted > 0) {
        g_autofree char *msg = g_strdup_printf("%d job(s) were interrupted when Tessera last stopped", interrupted);
        tessera_window_toast(self, msg);
    }
    return self;
}

void tessera_window_rescan_models(TesseraWindow *self)
{
    g_auto(GStrv) folders = tessera_settings_dup_models_folders();
    g_auto(GStrv) files = tessera_settings_dup_model_files();
    tessera_model_list_scan(self->model_list, (const char *const *)folders, (const char *const *)files);
}

static void on_pattern_changed(GtkEditable *e, TesseraWindow *self)
{
    tessera_job_queue_set_output(self->queue, self->output_folder, gtk_editable_get_text(e));
}

static GtkWidget *labelled(GtkWidget *w, const char *name)
{
    gtk_accessible_update_property(GTK_ACCESSIBLE(w), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
    return w;
}

/* The expression's string is owned by the caller: return a copy. */
static char *dup_preset_name(TesseraPreset *preset) { return g_strdup(tessera_preset_get_name(preset)); }

/* The selected preset's settings in its tooltip ("BF16 · VRAM auto · tiles auto · mp4-hevc 10-bit CRF 20"). */
static void on_preset_selected(GtkDropDown *dd, GParamSpec *pspec, gpointer data)
{
    TesseraPreset *p = gtk_drop_down_get_selected_item(dd);
    g_autofree char *summary = p ? tessera_preset_dup_summary(p) : NULL;
    gtk_widget_set_tooltip_text(GTK_WIDGET(dd), summary);
}

static void build_options(TesseraWindow *self)
{
    GtkExpression *expr = gtk_cclosure_expression_new(G_TYPE_STRING, NULL, 0, NULL,
                                                      G_CALLBACK(dup_preset_name), NULL, NULL);
    self->preset_dropdown = GTK_DROP_DOWN(gtk_drop_down_new(G_LIST_MODEL(g_object_ref(self->presets)), expr));
    g_signal_connect(self->preset_dropdown, "notify::selected", G_CALLBACK(on_preset_selected), NULL);
    gtk_drop_down_set_selected(self->preset_dropdown, 1); /* Balanced — BF16 */
    gtk_box_append(self->options_box, labelled(GTK_WIDGET(self->preset_dropdown), "Preset for new jobs"));
    GtkWidget *edit = gtk_menu_button_new();
    gtk_menu_button_set_icon_name(GTK_MENU_BUTTON(edit), "document-edit-symbolic");
    GMenu *menu = g_menu_new();
    g_menu_append(menu, "New Preset…", "win.preset-new");
    g_menu_append(menu, "Edit Preset…", "win.preset-edit");
    g_menu_append(menu, "Duplicate Preset", "win.preset-duplicate");
    g_menu_append(menu, "Delete Preset", "win.preset-delete");
    gtk_menu_button_set_menu_model(GTK_MENU_BUTTON(edit), G_MENU_MODEL(menu));
    g_object_unref(menu);
    gtk_widget_set_tooltip_text(edit, "Presets");
    gtk_box_append(self->options_box, labelled(edit, "Manage presets"));
    self->output_folder = tessera_settings_dup_string("output-folder");
    self->output_button = GTK_BUTTON(gtk_button_new_with_label(*self->output_folder ? self->output_folder
                                                                                    : "Output: beside input"));
    gtk_actionable_set_action_name(GTK_ACTIONABLE(self->output_button), "win.choose-output");
    gtk_box_append(self->options_box, labelled(GTK_WIDGET(self->output_button), "Output folder"));
    self->pattern_entry = GTK_ENTRY(gtk_entry_new());
    gtk_editable_set_text(GTK_EDITABLE(self->pattern_entry), "{name}_tessera.{ext}");
    gtk_widget_set_hexpand(GTK_WIDGET(self->pattern_entry), TRUE);
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->pattern_entry), "Output naming pattern: {name} {preset} {ext}");
    g_signal_connect(self->pattern_entry, "changed", G_CALLBACK(on_pattern_changed), self);
    gtk_box_append(self->options_box, labelled(GTK_WIDGET(self->pattern_entry), "Output naming pattern"));
    tessera_job_queue_set_output(self->queue, self->output_folder, NULL);
}

void tessera_window_toast(TesseraWindow *self, const char *message)
{
    g_free(self->last_toast);
    self->last_toast = g_strdup(message);
    AdwToast *toast = adw_toast_new(message);
    adw_toast_set_timeout(toast, 5);
    adw_toast_overlay_add_toast(self->toast_overlay, toast);
}

TesseraJob *tessera_window_selected_job(TesseraWindow *self)
{
    return gtk_single_selection_get_selected_item(self->selection);
}

TesseraPreset *tessera_window_get_preset(TesseraWindow *self)
{
    return gtk_drop_down_get_selected_item(self->preset_dropdown);
}

TesseraJobQueue *tessera_window_get_queue(TesseraWindow *self) { return self->queue; }
const char *tessera_window_get_last_toast(TesseraWindow *self) { return self->last_toast; }
GtkDropTarget *tessera_window_get_drop_target(TesseraWindow *self) { return self->drop_target; }
GListStore *tessera_window_get_presets(TesseraWindow *self) { return self->presets; }
TesseraLivePanel *tessera_window_get_live_panel(TesseraWindow *self) { return self->live_panel; }
TesseraModelList *tessera_window_get_model_list(TesseraWindow *self) { return self->model_list; }
TesseraHistoryView *tessera_window_get_history_view(TesseraWindow *self) { return self->history_view; }
AdwViewStack *tessera_window_get_stack(TesseraWindow *self) { return self->stack; }
GtkColumnView *tessera_window_get_column_view(TesseraWindow *self) { return self->column_view; }
