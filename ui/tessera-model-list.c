/* The Models page. */
#include "tessera-model-list.h"

#include <adwaita.h>

#include "tessera-model-scan.h"

struct _TesseraModelList {
    GtkBox parent_instance;
    AdwStatusPage *first_run;
    GtkListBox *list;
    GCancellable *cancellable;
    GPtrArray *models;          /* TesseraModelInfo, builtin first */
    char *selected;             /* what jobs use: a listed, usable model (the builtin until one is chosen) */
    char *wanted;               /* asked for by select() before the scan listed it */
};

G_DEFINE_FINAL_TYPE(TesseraModelList, tessera_model_list, GTK_TYPE_BOX)

enum { SIGNAL_SCANNED, SIGNAL_SELECTED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void tessera_model_list_dispose(GObject *object)
{
    TesseraModelList *self = TESSERA_MODEL_LIST(object);
    g_cancellable_cancel(self->cancellable);
    g_clear_object(&self->cancellable);
    g_clear_pointer(&self->models, g_ptr_array_unref);
    g_clear_pointer(&self->selected, g_free);
    g_clear_pointer(&self->wanted, g_free);
    G_OBJECT_CLASS(tessera_model_list_parent_class)->dispose(object);
}

static void tessera_model_list_class_init(TesseraModelListClass *klass)
{
    G_OBJECT_CLASS(klass)->dispose = tessera_model_list_dispose;
    signals[SIGNAL_SCANNED] = g_signal_new("scanned", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                           NULL, G_TYPE_NONE, 0);
    /* (const char *path) the user chose another model for new jobs */
    signals[SIGNAL_SELECTED] = g_signal_new("model-selected", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                            NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

/* Show which row is selected: a check mark on it, none elsewhere. */
static void mark_selected(TesseraModelList *self)
{
    int i = 0;
    for (GtkWidget *c = gtk_widget_get_first_child(GTK_WIDGET(self->list)); c; c = gtk_widget_get_next_sibling(c), i++) {
        GtkWidget *check = g_object_get_data(G_OBJECT(c), "check");
        const TesseraModelInfo *m = self->models && (guint)i < self->models->len ? self->models->pdata[i] : NULL;
        if (check) gtk_widget_set_visible(check, m && g_str_equal(m->path, self->selected));
    }
}

static const TesseraModelInfo *find_model(TesseraModelList *self, const char *path)
{
    for (guint i = 0; self->models && i < self->models->len; i++) {
        const TesseraModelInfo *m = self->models->pdata[i];
        if (g_str_equal(m->path, path)) return m;
    }
    return NULL;
}

gboolean tessera_model_list_select(TesseraModelList *self, const char *path)
{
    const TesseraModelInfo *m = find_model(self, path);
    if (!m || !m->usable) {
        g_free(self->wanted);
        self->wanted = g_strdup(path); /* maybe the next scan lists it */
        return FALSE;
    }
    g_clear_pointer(&self->wanted, g_free);
    if (!g_str_equal(self->selected, path)) {
        g_free(self->selected);
        self->selected = g_strdup(path);
        g_signal_emit(self, signals[SIGNAL_SELECTED], 0, path);
    }
    mark_selected(self);
    return TRUE;
}

static void on_row_activated(GtkListBox *box, GtkListBoxRow *row, TesseraModelList *self)
{
    int i = gtk_list_box_row_get_index(row);
    if (!self->models || i < 0 || (guint)i >= self->models->len) return;
    TesseraModelInfo *m = g_ptr_array_index(self->models, i);
    tessera_model_list_select(self, m->path);
}

static void tessera_model_list_init(TesseraModelList *self)
{
    gtk_orientable_set_orientation(GTK_ORIENTABLE(self), GTK_ORIENTATION_VERTICAL);
    gtk_box_set_spacing(GTK_BOX(self), 12);
    self->selected = g_strdup("builtin:small");
    self->first_run = ADW_STATUS_PAGE(adw_status_page_new());
    adw_status_page_set_icon_name(self->first_run, "folder-download-symbolic");
    adw_status_page_set_title(self->first_run, "No SeedVR2 VAE model found");
    adw_status_page_set_description(self->first_run,
        "Put <b>ema_vae_fp16.safetensors</b> (from the ByteDance-Seed/SeedVR2 release) in "
        "<tt>~/.local/share/tessera/models</tt>, add its folder with “Add Folder” or choose the file with "
        "“Add Model File”. "
        "Until then the built-in demo model is used: it has synthetic weights and gives noise-like output.");
    gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->first_run));
    self->list = GTK_LIST_BOX(gtk_list_box_new());
    gtk_widget_add_css_class(GTK_WIDGET(self->list), "boxed-list");
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->list), GTK_ACCESSIBLE_PROPERTY_LABEL, "Models", -1);
    g_signal_connect(self->list, "row-activated", G_CALLBACK(on_row_activated), self);
    gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->list));
}

GtkWidget *tessera_model_list_new(void) { return g_object_new(TESSERA_TYPE_MODEL_LIST, NULL); }

static GtkWidget *model_row(const TesseraModelInfo *m)
{
    GtkWidget *row = adw_action_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), m->name);
    g_autofree char *size = m->size ? g_format_size(m->size) : g_strdup("in memory");
    g_autofree char *sub = g_markup_printf_escaped("%s · %s · %s · %s%s%s", m->kind, m->format,
                                                   m->dtype ? m->dtype : "?", size, m->problem ? " — " : "",
                                                   m->problem ? m->problem : "");
    adw_action_row_set_subtitle(ADW_ACTION_ROW(row), sub);
    adw_action_row_set_subtitle_lines(ADW_ACTION_ROW(row), 3);
    gtk_widget_set_tooltip_text(row, m->path);
    gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), m->usable);
    adw_action_row_add_prefix(ADW_ACTION_ROW(row),
                              gtk_image_new_from_icon_name(m->usable ? "application-x-executable-symbolic"
                                                                     : "dialog-warning-symbolic"));
    GtkWidget *check = gtk_image_new_from_icon_name("object-select-symbolic");
    gtk_accessible_update_property(GTK_ACCESSIBLE(check), GTK_ACCESSIBLE_PROPERTY_LABEL, "Used for new jobs", -1);
    gtk_widget_set_visible(check, FALSE);
    adw_action_row_add_suffix(ADW_ACTION_ROW(row), check);
    g_object_set_data(G_OBJECT(row), "check", check);
    return row;
}

static void on_scanned(GObject *source, GAsyncResult *result, gpointer data)
{
    g_autoptr(GError) error = NULL;
    GPtrArray *found = tessera_model_scan_finish(result, &error);
    if (!found) return; /* cancelled: the widget may be gone */
    TesseraModelList *self = data;
    g_clear_pointer(&self->models, g_ptr_array_unref);
    self->models = g_ptr_array_new_with_free_func((GDestroyNotify)tessera_model_info_free);
    g_ptr_array_add(self->models, tessera_model_info_builtin());
    for (guint i = 0; i < found->len; i++) g_ptr_array_add(self->models, g_steal_pointer(&found->pdata[i]));
    g_ptr_array_unref(found);
    GtkWidget *c;
    while ((c = gtk_widget_get_first_child(GTK_WIDGET(self->list)))) gtk_list_box_remove(self->list, c);
    for (guint i = 0; i < self->models->len; i++) gtk_list_box_append(self->list, model_row(self->models->pdata[i]));
    gboolean any_usable = FALSE;
    for (guint i = 1; i < self->models->len; i++) any_usable |= ((TesseraModelInfo *)self->models->pdata[i])->usable;
    gtk_widget_set_visible(GTK_WIDGET(self->first_run), !any_usable);
    g_autofree char *wanted = g_strdup(self->wanted);
    const TesseraModelInfo *cur = find_model(self, self->selected);
    if (wanted && tessera_model_list_select(self, wanted)) {
        /* selected what was asked for */
    } else if (!cur || !cur->usable) { /* the selected file went away or broke: back to the demo model */
        g_free(self->selected);
        self->selected = g_strdup("builtin:small");
    }
    mark_selected(self);
    g_signal_emit(self, signals[SIGNAL_SCANNED], 0);
}

void tessera_model_list_scan(TesseraModelList *self, const char *const *folders, const char *const *files)
{
    g_cancellable_cancel(self->cancellable);
    g_clear_object(&self->cancellable);
    self->cancellable = g_cancellable_new();
    tessera_model_scan_async(folders, files, self->cancellable, on_scanned, self);
}

guint tessera_model_list_get_n_models(TesseraModelList *self) { return self->models ? self->models->len - 1 : 0; }
const char *tessera_model_list_get_selected(TesseraModelList *self) { return self->selected; }
gboolean tessera_model_list_get_first_run(TesseraModelList *self)
{
    return gtk_widget_get_visible(GTK_WIDGET(self->first_run));
}

const TesseraModelInfo *tessera_model_list_get_info(TesseraModelList *self, guint i)
{
    return self->models && i + 1 < self->models->len ? self->models->pdata[i + 1] : NULL;
}
