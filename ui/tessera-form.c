/* Shared form rows. */
#include "tessera-form.h"

static const tsr_precision precisions[] = {TSR_PRECISION_AUTO, TSR_PRECISION_FP32, TSR_PRECISION_BF16,
                                           TSR_PRECISION_FP16, TSR_PRECISION_FP8_FAST, TSR_PRECISION_FP8_QUALITY};
static const char *const tilings[] = {"Automatic (tiles only when needed)", "Exact only (never approximate)",
                                      "Always tile (least VRAM)", NULL};

void tessera_form_add_row(GtkGrid *grid, int row, const char *label, GtkWidget *w)
{
    GtkWidget *l = gtk_label_new_with_mnemonic(label);
    gtk_label_set_xalign(GTK_LABEL(l), 1);
    gtk_label_set_mnemonic_widget(GTK_LABEL(l), w);
    gtk_grid_attach(grid, l, 0, row, 1, 1);
    gtk_grid_attach(grid, w, 1, row, 1, 1);
    gtk_widget_set_hexpand(w, TRUE);
    gtk_accessible_update_relation(GTK_ACCESSIBLE(w), GTK_ACCESSIBLE_RELATION_LABELLED_BY, l, NULL, -1);
}

GtkDropDown *tessera_form_format_new(void)
{
    guint n;
    const TesseraFormat *f = tessera_formats(&n);
    g_autofree const char **labels = g_new0(const char *, n + 1);
    for (guint i = 0; i < n; i++) labels[i] = f[i].label;
    return GTK_DROP_DOWN(gtk_drop_down_new_from_strings(labels));
}

const char *tessera_form_format_get(GtkDropDown *d)
{
    guint n;
    const TesseraFormat *f = tessera_formats(&n);
    return f[MIN(gtk_drop_down_get_selected(d), n - 1)].id;
}

void tessera_form_format_set(GtkDropDown *d, const char *format)
{
    guint n;
    const TesseraFormat *f = tessera_formats(&n);
    for (guint i = 0; i < n; i++)
        if (g_str_equal(f[i].id, format)) gtk_drop_down_set_selected(d, i);
}

GtkDropDown *tessera_form_precision_new(void)
{
    const char *labels[G_N_ELEMENTS(precisions) + 1] = {0};
    for (guint i = 0; i < G_N_ELEMENTS(precisions); i++) labels[i] = tessera_precision_label(precisions[i]);
    return GTK_DROP_DOWN(gtk_drop_down_new_from_strings(labels));
}

tsr_precision tessera_form_precision_get(GtkDropDown *d)
{
    return precisions[MIN(gtk_drop_down_get_selected(d), G_N_ELEMENTS(precisions) - 1)];
}

void tessera_form_precision_set(GtkDropDown *d, tsr_precision p)
{
    for (guint i = 0; i < G_N_ELEMENTS(precisions); i++)
        if (precisions[i] == p) gtk_drop_down_set_selected(d, i);
}

GtkDropDown *tessera_form_tiling_new(void) { return GTK_DROP_DOWN(gtk_drop_down_new_from_strings(tilings)); }

tsr_tiling_policy tessera_form_tiling_get(GtkDropDown *d)
{
    return (tsr_tiling_policy)MIN(gtk_drop_down_get_selected(d), (guint)TSR_TILING_ALWAYS);
}

void tessera_form_tiling_set(GtkDropDown *d, tsr_tiling_policy t)
{
    gtk_drop_down_set_selected(d, MIN((guint)t, (guint)TSR_TILING_ALWAYS));
}

static void on_format_changed(GtkDropDown *format, GParamSpec *pspec, GtkWidget *crf)
{
    const TesseraFormat *f = tessera_format_find(tessera_form_format_get(format));
    GtkWidget *ten_bit = g_object_get_data(G_OBJECT(format), "ten-bit");
    gtk_widget_set_sensitive(crf, f && f->crf);
    gtk_widget_set_sensitive(ten_bit, f && f->codec[0] && !f->always_10bit);
    if (f && f->always_10bit) gtk_check_button_set_active(GTK_CHECK_BUTTON(ten_bit), TRUE);
}

void tessera_form_bind_format_controls(GtkDropDown *format, GtkWidget *crf, GtkWidget *ten_bit)
{
    g_object_set_data(G_OBJECT(format), "ten-bit", ten_bit);
    g_signal_connect(format, "notify::selected", G_CALLBACK(on_format_changed), crf);
    on_format_changed(format, NULL, crf);
}
