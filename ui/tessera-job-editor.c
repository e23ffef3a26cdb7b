/* The per-job settings editor. */
#include "tessera-job-editor.h"

#include "tessera-form.h"

struct _TesseraJobEditor {
    GtkBox parent_instance;
    GtkEntry *folder, *name;
    GtkDropDown *format, *precision;
    GtkSpinButton *crf, *budget_gib, *host_gib, *tile;
    GtkCheckButton *ten_bit;
    tsr_job_spec *loaded;       /* heap: the spec is ~17 KB */
};

G_DEFINE_FINAL_TYPE(TesseraJobEditor, tessera_job_editor, GTK_TYPE_BOX)

static void tessera_job_editor_finalize(GObject *object)
{
    g_free(TESSERA_JOB_EDITOR(object)->loaded);
    G_OBJECT_CLASS(tessera_job_editor_parent_class)->finalize(object);
}

static void tessera_job_editor_class_init(TesseraJobEditorClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = tessera_job_editor_finalize;
}

static void on_folder_chosen(GtkNativeDialog *dialog, int response, gpointer data)
{
    GtkEntry *entry = g_object_get_data(G_OBJECT(dialog), "entry"); /* held by the dialog: safe if the editor went */
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GFile) f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
        g_autofree char *path = f ? g_file_get_path(f) : NULL;
        if (path) gtk_editable_set_text(GTK_EDITABLE(entry), path);
    }
    g_object_unref(dialog);
}

static void on_choose_folder(GtkButton *b, TesseraJobEditor *self)
{
    GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
    GtkFileChooserNative *d = gtk_file_chooser_native_new("Output Folder", GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL,
                                                          GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Select", "_Cancel");
    gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(d), TRUE);
    g_object_set_data_full(G_OBJECT(d), "entry", g_object_ref(self->folder), g_object_unref);
    g_signal_connect(d, "response", G_CALLBACK(on_folder_chosen), NULL);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(d));
}

static void tessera_job_editor_init(TesseraJobEditor *self)
{
    self->loaded = g_new0(tsr_job_spec, 1);
    tsr_job_spec_default(self->loaded);
    GtkGrid *grid = GTK_GRID(gtk_grid_new());
    gtk_grid_set_row_spacing(grid, 6);
    gtk_grid_set_column_spacing(grid, 12);
    gtk_box_append(GTK_BOX(self), GTK_WIDGET(grid));
    self->folder = GTK_ENTRY(gtk_entry_new());
    tessera_form_add_row(grid, 0, "Output _folder", GTK_WIDGET(self->folder));
    GtkWidget *choose = gtk_button_new_from_icon_name("folder-open-symbolic");
    gtk_widget_set_tooltip_text(choose, "Choose the output folder");
    gtk_accessible_update_property(GTK_ACCESSIBLE(choose), GTK_ACCESSIBLE_PROPERTY_LABEL, "Choose the output folder",
                                   -1);
    g_signal_connect(choose, "clicked", G_CALLBACK(on_choose_folder), self);
    gtk_grid_attach(grid, choose, 2, 0, 1, 1);
    self->name = GTK_ENTRY(gtk_entry_new());
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->name), "The extension follows the output format");
    tessera_form_add_row(grid, 1, "Output _name", GTK_WIDGET(self->name));
    self->format = tessera_form_format_new();
    tessera_form_add_row(grid, 2, "Output f_ormat", GTK_WIDGET(self->format));
    self->crf = GTK_SPIN_BUTTON(gtk_spin_button_new_with_range(0, 51, 1));
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->crf), "Lower is better quality and larger files (H.264/H.265)");
    tessera_form_add_row(grid, 3, "_Quality (CRF)", GTK_WIDGET(self->crf));
    self->ten_bit = GTK_CHECK_BUTTON(gtk_check_button_new_with_mnemonic("_10-bit output"));
    gtk_grid_attach(grid, GTK_WIDGET(self->ten_bit), 1, 4, 1, 1);
    self->precision = tessera_form_precision_new();
    tessera_form_add_row(grid, 5, "_Precision", GTK_WIDGET(self->precision));
    self->budget_gib = GTK_SPIN_BUTTON(gtk_spin_button_new_with_range(0, 192, 1));
    tessera_form_add_row(grid, 6, "_VRAM budget (GiB, 0 = auto)", GTK_WIDGET(self->budget_gib));
    self->tile = GTK_SPIN_BUTTON(gtk_spin_button_new_with_range(0, 4096, 64));
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->tile), "0: the planner tiles only when the budget needs it");
    tessera_form_add_row(grid, 7, "_Tiling: tile size (px, 0 = auto)", GTK_WIDGET(self->tile));
    self->host_gib = GTK_SPIN_BUTTON(gtk_spin_button_new_with_range(0, 4096, 1));
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->host_gib),
                                "Host RAM the memory plan may use beside the VRAM budget: causal states kept in host "
                                "memory, tile buffers, the deep tiles' frames and head cache. 0: half the RAM");
    tessera_form_add_row(grid, 8, "_Host memory for the plan (GiB, 0 = auto)", GTK_WIDGET(self->host_gib));
    tessera_form_bind_format_controls(self->format, GTK_WIDGET(self->crf), GTK_WIDGET(self->ten_bit));
}

GtkWidget *tessera_job_editor_new(void) { return g_object_new(TESSERA_TYPE_JOB_EDITOR, NULL); }

/* A format id for a spec: its own when known, else from the output's extension. */
static const char *format_of(const tsr_job_spec *spec)
{
    if (tessera_format_find(spec->format)) return spec->format;
    const char *dot = strrchr(spec->output, '.');
    if (dot && g_ascii_strcasecmp(dot, ".mkv") == 0) return "mkv-ffv1";
    if (dot && g_ascii_strcasecmp(dot, ".mov") == 0) return "mov-prores";
    if (dot && g_ascii_strcasecmp(dot, ".safetensors") == 0) return "latent";
    return "mp4-h264";
}

void tessera_job_editor_load(TesseraJobEditor *self, const tsr_job_spec *spec)
{
    *self->loaded = *spec;
    g_autofree char *dir = g_path_get_dirname(spec->output);
    g_autofree char *base = g_path_get_basename(spec->output);
    gtk_editable_set_text(GTK_EDITABLE(self->folder), dir);
    gtk_editable_set_text(GTK_EDITABLE(self->name), base);
    const char *format = format_of(spec);
    const TesseraFormat *f = tessera_format_find(format);
    int crf = spec->crf >= 0 ? spec->crf : f && g_str_equal(f->codec, "libx265") ? 20 : 18;
    gtk_spin_button_set_value(self->crf, crf);
    gtk_check_button_set_active(self->ten_bit, spec->ten_bit != 0);
    tessera_form_precision_set(self->precision, spec->precision);
    gtk_spin_button_set_value(self->budget_gib, (double)(spec->memory_budget >> 30));
    gtk_spin_button_set_value(self->host_gib, (double)(spec->host_budget >> 30));
    gtk_spin_button_set_value(self->tile, spec->tile);
    tessera_form_format_set(self->format, format); /* last: FFV1/ProRes force 10-bit */
}

/* name with its extension replaced by ext ("clip.mp4" + "mkv" -> "clip.mkv"; "clip" -> "clip.mkv"). */
static char *with_extension(const char *name, const char *ext)
{
    const char *dot = strrchr(name, '.');
    g_autofree char *stem = dot && dot != name ? g_strndup(name, (gsize)(dot - name)) : g_strdup(name);
    return g_strdup_printf("%s.%s", stem, ext);
}

static gboolean check_paths(const char *folder, const char *name, GError **error)
{
    if (!*name || strchr(name, '/') || strchr(name, '\\') || g_str_equal(name, ".") || g_str_equal(name, "..")) {
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            "The output needs a file name (without folders)");
        return FALSE;
    }
    if (!*folder || !g_path_is_absolute(folder) || !g_file_test(folder, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "The output folder “%s” does not exist", folder);
        return FALSE;
    }
    return TRUE;
}

gboolean tessera_job_editor_save(TesseraJobEditor *self, tsr_job_spec *out, GError **error)
{
    g_autofree char *folder = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->folder))));
    g_autofree char *name = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->name))));
    if (!check_paths(folder, name, error)) return FALSE;
    const TesseraFormat *f = tessera_format_find(tessera_form_format_get(self->format));
    g_autofree char *file = with_extension(name, f->extension);
    g_autofree char *path = g_build_filename(folder, file, NULL);
    if (g_str_equal(path, self->loaded->input) || strlen(path) >= sizeof out->output) {
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            "The output must not overwrite the input (or be longer than a path may be)");
        return FALSE;
    }
    *out = *self->loaded;
    g_strlcpy(out->output, path, sizeof out->output);
    g_strlcpy(out->format, f->id, sizeof out->format);
    g_strlcpy(out->codec, f->codec, sizeof out->codec);
    out->crf = f->crf ? gtk_spin_button_get_value_as_int(self->crf) : -1;
    out->ten_bit = f->always_10bit || gtk_check_button_get_active(self->ten_bit);
    out->precision = tessera_form_precision_get(self->precision);
    out->memory_budget = (guint64)gtk_spin_button_get_value_as_int(self->budget_gib) << 30;
    out->host_budget = (guint64)gtk_spin_button_get_value_as_int(self->host_gib) << 30;
    out->tile = gtk_spin_button_get_value_as_int(self->tile);
    return TRUE;
}
