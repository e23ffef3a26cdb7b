/* The preset editor: plain GTK widgets in a grid, each with an accessible name. */
#include "tessera-preset-editor.h"

struct _TesseraPresetEditor {
    GtkBox parent_instance;
    GtkEntry *name;
    GtkDropDown *precision, *format;
    GtkSpinButton *budget_gib, *tile;
    tsr_preset loaded;          /* what load() got: fields the editor does not show are kept */
};

G_DEFINE_FINAL_TYPE(TesseraPresetEditor, tessera_preset_editor, GTK_TYPE_BOX)

static const tsr_precision precisions[] = {TSR_PRECISION_AUTO, TSR_PRECISION_FP32, TSR_PRECISION_BF16,
                                           TSR_PRECISION_FP16, TSR_PRECISION_FP8_FAST, TSR_PRECISION_FP8_QUALITY};
static const char *const formats[] = {"mp4-h264", "mkv-ffv1", "mov-prores", "latent", NULL};

static void tessera_preset_editor_class_init(TesseraPresetEditorClass *klass) { (void)klass; }

static void add_field(GtkGrid *grid, int row, const char *label, GtkWidget *w)
{
    GtkWidget *l = gtk_label_new_with_mnemonic(label);
    gtk_label_set_xalign(GTK_LABEL(l), 1);
    gtk_label_set_mnemonic_widget(GTK_LABEL(l), w);
    gtk_grid_attach(grid, l, 0, row, 1, 1);
    gtk_grid_attach(grid, w, 1, row, 1, 1);
    gtk_widget_set_hexpand(w, TRUE);
    gtk_accessible_update_relation(GTK_ACCESSIBLE(w), GTK_ACCESSIBLE_RELATION_LABELLED_BY, l, NULL, -1);
}

static void tessera_preset_editor_init(TesseraPresetEditor *self)
{
    tsr_preset_default(&self->loaded);
    GtkGrid *grid = GTK_GRID(gtk_grid_new());
    gtk_grid_set_row_spacing(grid, 6);
    gtk_grid_set_column_spacing(grid, 12);
    gtk_box_append(GTK_BOX(self), GTK_WIDGET(grid));
    self->name = GTK_ENTRY(gtk_entry_new());
    add_field(grid, 0, "_Name", GTK_WIDGET(self->name));
    const char *plabels[G_N_ELEMENTS(precisions) + 1] = {0};
    for (guint i = 0; i < G_N_ELEMENTS(precisions); i++) plabels[i] = tessera_precision_label(precisions[i]);
    self->precision = GTK_DROP_DOWN(gtk_drop_down_new_from_strings(plabels));
    add_field(grid, 1, "_Precision", GTK_WIDGET(self->precision));
    self->budget_gib = GTK_SPIN_BUTTON(gtk_spin_button_new_with_range(0, 192, 1));
    add_field(grid, 2, "_VRAM budget (GiB, 0 = auto)", GTK_WIDGET(self->budget_gib));
    self->tile = GTK_SPIN_BUTTON(gtk_spin_button_new_with_range(0, 4096, 64));
    add_field(grid, 3, "_Tile size (px, 0 = auto)", GTK_WIDGET(self->tile));
    self->format = GTK_DROP_DOWN(gtk_drop_down_new_from_strings(formats));
    add_field(grid, 4, "Output _format", GTK_WIDGET(self->format));
}

GtkWidget *tessera_preset_editor_new(void) { return g_object_new(TESSERA_TYPE_PRESET_EDITOR, NULL); }

void tessera_preset_editor_load(TesseraPresetEditor *self, const tsr_preset *p)
{
    self->loaded = *p;
    gtk_editable_set_text(GTK_EDITABLE(self->name), p->name);
    for (guint i = 0; i < G_N_ELEMENTS(precisions); i++)
        if (precisions[i] == p->precision) gtk_drop_down_set_selected(self->precision, i);
    gtk_spin_button_set_value(self->budget_gib, (double)(p->vram_budget >> 30));
    gtk_spin_button_set_value(self->tile, p->tile);
    for (guint i = 0; formats[i]; i++)
        if (g_str_equal(formats[i], p->format)) gtk_drop_down_set_selected(self->format, i);
}

gboolean tessera_preset_editor_save(TesseraPresetEditor *self, tsr_preset *out, GError **error)
{
    g_autofree char *name = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->name))));
    if (!*name) {
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "A preset needs a name");
        return FALSE;
    }
    *out = self->loaded;
    out->id = 0; /* the caller decides which stored preset this becomes */
    out->builtin = 0;
    g_strlcpy(out->name, name, sizeof out->name);
    guint pi = gtk_drop_down_get_selected(self->precision);
    out->precision = precisions[MIN(pi, G_N_ELEMENTS(precisions) - 1)];
    out->vram_budget = (guint64)gtk_spin_button_get_value_as_int(self->budget_gib) << 30;
    out->tile = gtk_spin_button_get_value_as_int(self->tile);
    guint fi = gtk_drop_down_get_selected(self->format);
    g_strlcpy(out->format, formats[MIN(fi, G_N_ELEMENTS(formats) - 2)], sizeof out->format);
    return TRUE;
}
