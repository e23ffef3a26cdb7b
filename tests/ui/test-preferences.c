/* TesseraPreferences' Device choice: the GPUs the engine reports (tsr_devices_list) instead of a fixed list,
 * scanned off the main thread; the "gpu" setting keeps 0 automatic, 1 CPU, 2 + ordinal; a saved GPU that is
 * not there now stays visible; without a GPU the reason is shown. Accessible names checked. */
#include "tessera-preferences.h"
#include "tessera-settings.h"
#include "ui-test.h"

static void test_choices_from_devices(void)
{
    tsr_device_info d[2] = {{0, "NVIDIA GeForce RTX 5080", 12, 0, 16ull << 30, 1},
                            {1, "Old Card", 7, 5, 8ull << 30, 0}};
    int values[8];
    GtkStringList *l = gtk_string_list_new(NULL);
    guint k = tessera_preferences_device_choices(l, values, d, 2, 3);
    g_assert_cmpuint(k, ==, 4);
    g_assert_cmpuint(g_list_model_get_n_items(G_LIST_MODEL(l)), ==, 4);
    g_assert_cmpint(values[0], ==, 0);
    g_assert_cmpint(values[1], ==, 1);
    g_assert_cmpint(values[2], ==, 2);
    g_assert_cmpint(values[3], ==, 3);
    g_assert_nonnull(strstr(gtk_string_list_get_string(l, 2), "RTX 5080"));
    g_assert_nonnull(strstr(gtk_string_list_get_string(l, 2), "16 GiB"));
    g_assert_nonnull(strstr(gtk_string_list_get_string(l, 3), "not supported"));
    g_object_unref(l);
    /* the saved GPU 4 is not reported: kept as a marked choice */
    l = gtk_string_list_new(NULL);
    k = tessera_preferences_device_choices(l, values, d, 2, 6);
    g_assert_cmpuint(k, ==, 5);
    g_assert_cmpint(values[4], ==, 6);
    g_assert_nonnull(strstr(gtk_string_list_get_string(l, 4), "GPU 4 (not found now)"));
    g_object_unref(l);
}

static gboolean ready(gpointer w)
{
    return tessera_preferences_devices_ready(TESSERA_PREFERENCES(w)) && gtk_widget_get_width(GTK_WIDGET(w)) > 0;
}

/* The first widget of `type` under root. */
static GtkWidget *find_type(GtkWidget *root, GType type)
{
    for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
        if (G_TYPE_CHECK_INSTANCE_TYPE(c, type)) return c;
        GtkWidget *inner = find_type(c, type);
        if (inner) return inner;
    }
    return NULL;
}

static void test_window(void)
{
    tsr_device_info d[TSR_MAX_DEVICES];
    int n = 0;
    tsr_error err = {0};
    g_assert_cmpint(tsr_devices_list(d, TSR_MAX_DEVICES, &n, &err), ==, TSR_OK);
    tessera_settings_set_int("gpu", 3); /* GPU 1, from an earlier machine */
    GtkWidget *w = tessera_preferences_new(NULL);
    gtk_window_present(GTK_WINDOW(w));
    g_assert_true(ui_test_wait(ready, w, 20000));
    AdwComboRow *combo = ADW_COMBO_ROW(find_type(w, ADW_TYPE_COMBO_ROW));
    g_assert_nonnull(combo);
    GListModel *m = adw_combo_row_get_model(combo);
    guint items = g_list_model_get_n_items(m);
    g_assert_cmpuint(items, ==, 2 + (guint)n + (n < 2 ? 1 : 0));
    guint sel = adw_combo_row_get_selected(combo);
    const char *label = gtk_string_list_get_string(GTK_STRING_LIST(m), sel);
    g_assert_true(g_str_has_prefix(label, "GPU 1"));
    if (n == 0) g_assert_nonnull(strstr(label, "not found now"));
    ui_test_sleep(100); /* one more frame: the combo's new model laid out */
    ui_test_screenshot(w, "preferences", "1-devices");
    adw_combo_row_set_selected(combo, 1);
    g_assert_cmpint(tessera_settings_get_int("gpu", -1), ==, 1); /* CPU */
    adw_combo_row_set_selected(combo, 0);
    g_assert_cmpint(tessera_settings_get_int("gpu", -1), ==, 0); /* automatic */
    /* our controls (the page; the window's own view switcher is libadwaita's) */
    g_assert_null(ui_test_find_unnamed(find_type(w, ADW_TYPE_PREFERENCES_PAGE)));
    gtk_window_destroy(GTK_WINDOW(w));
}

int main(int argc, char **argv)
{
    ui_test_init(&argc, &argv);
    g_test_add_func("/preferences/device-choices", test_choices_from_devices);
    g_test_add_func("/preferences/window-devices", test_window);
    return g_test_run();
}
