/* The preset editor: plain GTK widgets in a grid, each with an accessible name. */
#include "tessera-preset-editor.h"

#include "tessera-form.h"

struct _TesseraPresetEditor {
    GtkBox parent_instance;
    GtkEntry *name;
    GtkDropDown *precision, *format, *tiling;
    GtkSpinButton *budget_gib, *tile, *crf;
    GtkCheckButton *ten_bit;
    tsr_preset loaded;          /* what load() got: fields the editor does not show are kept */
};

G_DEFINE_FINAL_TYPE(TesseraPresetEditor, tessera_preset_editor, GTK_TYPE_BOX)

static void tessera_preset_editor_class_init(TesseraPresetEditorClass *klass) { (void)klass; }

static void tessera_preset_editor_init(TesseraPresetEditor *self)
{
    tsr_preset_default(&self->loaded);
    GtkGrid *grid = GTK_GRID(gtk_grid_new());
    gtk_grid_set_row_spacing(grid, 6);
    gtk_grid_set_column_spacing(grid, 12);
    gtk_box_append(GTK_BOX(self), GTK_WIDGET(grid));
    self->name = GTK_ENTRY(gtk_entry_new());
    tessera_form_add_row(grid, 0, "_Name", GTK_WIDGET(self->name));
    self->precision = tessera_form_precision_new();
    tessera_form_add_row(grid, 1, "_Precision", GTK_WIDGET(self->precision));
    self->budget_gib = GTK_SPIN_BUTTON(gtk_spin_button_new_with_range(0, 192, 1));
    tessera_form_add_row(grid, 2, "_VRAM budget (GiB, 0 = auto)", GTK_WIDGET(self->budget_gib));
    self->tiling = tessera_form_tiling_new();
    tessera_form_add_row(grid, 3, "T_iling", GTK_WIDGET(self->tiling));
    self->tile = GTK_SPIN_BUTTON(gtk_spin_button_new_with_range(0, 4096, 64));
    tessera_form_add_row(grid, 4, "_Tile size (px, 0 = auto)", GTK_WIDGET(self->tile));
    self->format = tessera_form_format_new();
    tessera_form_add_row(grid, 5, "Output _format", GTK_WIDGET(self->format));
    self->crf = GTK_SPIN_BUTTON(gtk_spin_button_new_with_range(0, 51, 1));
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->crf), "Lower is better quality and larger files (H.264/H.265)");
    tessera_form_add_row(grid, 6, "_Quality (CRF)", GTK_WIDGET(self->crf));
    self->ten_bit = GTK_CHECK_BUTTON(gtk_check_button_new_with_mnemonic("_10-bit output"));
    gtk_grid_attach(grid, GTK_WIDGET(self->ten_bit), 1, 7, 1, 1);
    tessera_form_bind_format_controls(self->format, GTK_WIDGET(self->crf), GTK_WIDGET(self->ten_bit));
}

GtkWidget *tessera_preset_editor_new(void) { return g_object_new(TESSERA_TYPE_PRESET_EDITOR, NULL); }

void tessera_preset_editor_load(TesseraPresetEditor *self, const tsr_preset *p)
{
    self->loaded = *p;
    gtk_editable_set_text(GTK_EDITABLE(self->name), p->name);
    tessera_form_precision_set(self->precision, p->precision);
    gtk_spin_button_set_value(self->budget_gib, (double)(p->vram_budget >> 30));
    tessera_form_tiling_set(self->tiling, p->tiling);
    gtk_spin_button_set_value(self->tile, p->tile);
    gtk_spin_button_set_value(self->crf, p->crf);
    gtk_check_button_set_active(self->ten_bit, p->bit_depth >= 10);
    tessera_form_format_set(self->format, p->format); /* last: FFV1/ProRes force 10-bit */
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
    out->precision = tessera_form_precision_get(self->precision);
    out->vram_budget = (guint64)gtk_spin_button_get_value_as_int(self->budget_gib) << 30;
    out->tiling = tessera_form_tiling_get(self->tiling);
    out->tile = gtk_spin_button_get_value_as_int(self->tile);
    out->crf = gtk_spin_button_get_value_as_int(self->crf);
    out->bit_depth = gtk_check_button_get_active(self->ten_bit) ? 10 : 8;
    g_strlcpy(out->format, tessera_form_format_get(self->format), sizeof out->format);
    tessera_format_sync(out); /* container and codec follow the format */
    return TRUE;
}
