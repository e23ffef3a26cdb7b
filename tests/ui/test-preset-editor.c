/* TesseraPresetEditor and TesseraPreset: round trip, validation, built-ins, accessible names. */
#include "tessera-preset-editor.h"
#include "ui-test.h"

static void test_round_trip(void)
{
    GtkWidget *win = gtk_window_new();
    GtkWidget *ed = tessera_preset_editor_new();
    gtk_window_set_child(GTK_WINDOW(win), ed);
    gtk_window_present(GTK_WINDOW(win));
    tsr_preset in;
    tsr_preset_default(&in);
    g_strlcpy(in.name, "Night batch", sizeof in.name);
    g_strlcpy(in.format, "mkv-ffv1", sizeof in.format);
    g_strlcpy(in.codec, "ffv1", sizeof in.codec);
    in.id = 7, in.builtin = 1, in.precision = TSR_PRECISION_FP16, in.vram_budget = 12ull << 30, in.tile = 512;
    in.bit_depth = 10;
    tessera_preset_editor_load(TESSERA_PRESET_EDITOR(ed), &in);
    tsr_preset out;
    g_autoptr(GError) error = NULL;
    g_assert_true(tessera_preset_editor_save(TESSERA_PRESET_EDITOR(ed), &out, &error));
    g_assert_cmpstr(out.name, ==, "Night batch");
    g_assert_cmpint(out.precision, ==, TSR_PRECISION_FP16);
    g_assert_cmpuint(out.vram_budget, ==, 12ull << 30);
    g_assert_cmpint(out.tile, ==, 512);
    g_assert_cmpstr(out.format, ==, "mkv-ffv1");
    g_assert_cmpint(out.builtin, ==, 0);
    g_assert_cmpint(out.id, ==, 0);
    g_assert_cmpint(out.bit_depth, ==, 10); /* fields the editor does not show are kept */
    g_assert_cmpstr(out.codec, ==, "ffv1");
    g_assert_null(ui_test_find_unnamed(ed));
    gtk_window_destroy(GTK_WINDOW(win));
}

static void test_empty_name_rejected(void)
{
    GtkWidget *ed = g_object_ref_sink(tessera_preset_editor_new());
    tsr_preset in;
    tsr_preset_default(&in);
    g_strlcpy(in.name, "  ", sizeof in.name);
    g_strlcpy(in.format, "latent", sizeof in.format);
    tessera_preset_editor_load(TESSERA_PRESET_EDITOR(ed), &in);
    tsr_preset out;
    g_autoptr(GError) error = NULL;
    g_assert_false(tessera_preset_editor_save(TESSERA_PRESET_EDITOR(ed), &out, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_object_unref(ed);
}

static void test_builtins(void)
{
    /* the built-ins come from the engine store (schema migrations), like the CLI's */
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *path = g_build_filename(dir, "tessera.db", NULL);
    tsr_store_params sp;
    tsr_store_params_default(&sp);
    sp.path = path;
    tsr_store *db = NULL;
    g_assert_cmpint(tsr_store_open(&sp, &db, NULL), ==, TSR_OK);
    g_autoptr(GListStore) store = tessera_preset_list_load(db, NULL);
    tsr_store_close(&db);
    g_assert_nonnull(store);
    const char *names[] = {"Fast — FP8", "Balanced — BF16", "Low VRAM — 8 GB", "Master — ProRes/FFV1 10-bit"};
    g_assert_cmpuint(g_list_model_get_n_items(G_LIST_MODEL(store)), ==, 4);
    for (guint i = 0; i < 4; i++) {
        g_autoptr(TesseraPreset) p = g_list_model_get_item(G_LIST_MODEL(store), i);
        g_assert_cmpstr(tessera_preset_get_name(p), ==, names[i]);
        g_assert_true(tessera_preset_is_builtin(p));
    }
    g_autoptr(TesseraPreset) low = g_list_model_get_item(G_LIST_MODEL(store), 2);
    g_autofree char *summary = tessera_preset_dup_summary(low);
    g_assert_true(g_str_has_prefix(summary, "BF16 · 8.0"));
    g_assert_true(g_str_has_suffix(summary, "GiB · tiles 256 px · mp4-h264"));
    g_assert_cmpstr(tessera_format_extension("mov-prores"), ==, "mov");
    g_assert_cmpstr(tessera_format_extension("latent"), ==, "safetensors");
}

int main(int argc, char **argv)
{
    ui_test_init(&argc, &argv);
    g_test_add_func("/preset-editor/round-trip", test_round_trip);
    g_test_add_func("/preset-editor/empty-name", test_empty_name_rejected);
    g_test_add_func("/preset/builtins", test_builtins);
    return g_test_run();
}
