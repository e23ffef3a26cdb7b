/* TesseraModelList: first run (no model), scan off-thread, kinds/problems, accessible names. */
#include "tessera-model-list.h"
#include "tessera-model-scan.h"
#include "ui-test.h"

static gboolean scanned(gpointer data) { return *(int *)data > 0; }

static void write_safetensors(const char *path, const char *json)
{
    g_autoptr(GString) s = g_string_new(NULL);
    guint64 n = strlen(json);
    for (int i = 0; i < 8; i++) g_string_append_c(s, (char)((n >> (8 * i)) & 0xff));
    g_string_append(s, json);
    g_string_append_len(s, "\0\0\0\0", 4);
    g_assert_true(g_file_set_contents(path, s->str, (gssize)s->len, NULL));
}

static void test_first_run_then_models(void)
{
    g_autofree char *dir = ui_test_tmpdir();
    GtkWidget *win = gtk_window_new();
    TesseraModelList *list = TESSERA_MODEL_LIST(tessera_model_list_new());
    gtk_window_set_child(GTK_WINDOW(win), GTK_WIDGET(list));
    gtk_window_present(GTK_WINDOW(win));
    int count = 0;
    g_signal_connect_swapped(list, "scanned", G_CALLBACK(g_atomic_int_inc), &count);
    const char *folders[] = {dir, NULL};
    tessera_model_list_scan(list, folders);
    g_assert_true(ui_test_wait(scanned, &count, 5000));
    g_assert_true(tessera_model_list_get_first_run(list));
    g_assert_cmpuint(tessera_model_list_get_n_models(list), ==, 0);
    g_assert_cmpstr(tessera_model_list_get_selected(list), ==, "builtin:small");

    g_autofree char *good = g_build_filename(dir, "ema_vae_fp16.safetensors", NULL);
    write_safetensors(good, "{\"decoder.conv_in.weight\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}");
    g_autofree char *bad = ui_test_write_file(dir, "broken.safetensors", "not a model at all, really");
    count = 0;
    tessera_model_list_scan(list, folders);
    g_assert_true(ui_test_wait(scanned, &count, 5000));
    g_assert_false(tessera_model_list_get_first_run(list));
    g_assert_cmpuint(tessera_model_list_get_n_models(list), ==, 2);
    g_assert_null(ui_test_find_unnamed(GTK_WIDGET(list)));
    gtk_window_destroy(GTK_WINDOW(win));
}

static void test_inspect(void)
{
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *other = g_build_filename(dir, "lora.safetensors", NULL);
    write_safetensors(other, "{\"unet.x\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}");
    g_autoptr(TesseraModelInfo) m = tessera_model_inspect(other);
    g_assert_cmpstr(m->format, ==, "safetensors");
    g_assert_cmpstr(m->dtype, ==, "BF16");
    g_assert_nonnull(m->problem);
    g_autoptr(TesseraModelInfo) b = tessera_model_info_builtin();
    g_assert_nonnull(strstr(b->name, "synthetic weights"));
}

int main(int argc, char **argv)
{
    ui_test_init(&argc, &argv);
    g_test_add_func("/model-list/first-run-then-models", test_first_run_then_models);
    g_test_add_func("/model-list/inspect", test_inspect);
    return g_test_run();
}
