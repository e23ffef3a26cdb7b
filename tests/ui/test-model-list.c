/* TesseraModelList: first run (no model), scan off-thread, kinds/problems from the engine's inspection,
 * single model files (chosen with the file dialog: listed, selectable, kept across a restart), accessible
 * names. */
#include "tessera-model-list.h"
#include "tessera-model-scan.h"
#include "tessera-settings.h"
#include "tessera-window.h"
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

static void rescan(TesseraModelList *list, const char *const *folders, const char *const *files)
{
    int count = 0;
    gulong h = g_signal_connect_swapped(list, "scanned", G_CALLBACK(g_atomic_int_inc), &count);
    tessera_model_list_scan(list, folders, files);
    g_assert_cmpint(count, ==, 0); /* off the main thread: the call returns before the files are read */
    g_assert_true(ui_test_wait(scanned, &count, 10000));
    g_signal_handler_disconnect(list, h);
}

/* Index of the listed file with that path, or -1. */
static int find(TesseraModelList *list, const char *path)
{
    for (guint i = 0; i < tessera_model_list_get_n_models(list); i++)
        if (g_str_equal(tessera_model_list_get_info(list, i)->path, path)) return (int)i;
    return -1;
}

static void test_first_run_then_models(void)
{
    g_autofree char *dir = ui_test_tmpdir();
    GtkWidget *win = gtk_window_new();
    TesseraModelList *list = TESSERA_MODEL_LIST(tessera_model_list_new());
    gtk_window_set_child(GTK_WINDOW(win), GTK_WIDGET(list));
    gtk_window_present(GTK_WINDOW(win));
    const char *folders[] = {dir, NULL};
    rescan(list, folders, NULL);
    g_assert_true(tessera_model_list_get_first_run(list));
    g_assert_cmpuint(tessera_model_list_get_n_models(list), ==, 0);
    g_assert_cmpstr(tessera_model_list_get_selected(list), ==, "builtin:small");

    g_autofree char *bad = ui_test_write_file(dir, "broken.safetensors", "not a model at all, really");
    g_autofree char *half = g_build_filename(dir, "lonely.safetensors", NULL);
    write_safetensors(half, "{\"decoder.conv_in.weight\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}");
    rescan(list, folders, NULL);
    g_assert_cmpuint(tessera_model_list_get_n_models(list), ==, 2);
    g_assert_true(tessera_model_list_get_first_run(list)); /* neither file is a usable VAE */
    const TesseraModelInfo *b = tessera_model_list_get_info(list, (guint)find(list, bad));
    g_assert_cmpstr(b->kind, ==, "unreadable");
    g_assert_nonnull(b->problem);
    g_assert_false(b->usable);
    g_assert_false(tessera_model_list_select(list, bad));
    g_assert_cmpstr(tessera_model_list_get_selected(list), ==, "builtin:small");

    g_autofree char *good = ui_test_make_model(dir, "ema_vae_small.safetensors");
    if (!good) {
        gtk_window_destroy(GTK_WINDOW(win));
        g_test_skip("no tessera-cli ($TSR_CLI) to write a model");
        return;
    }
    rescan(list, folders, NULL);
    g_assert_false(tessera_model_list_get_first_run(list));
    g_assert_cmpuint(tessera_model_list_get_n_models(list), ==, 3);
    const TesseraModelInfo *g = tessera_model_list_get_info(list, (guint)find(list, good));
    g_assert_cmpstr(g->kind, ==, "full VAE");
    g_assert_cmpstr(g->format, ==, "safetensors");
    g_assert_cmpstr(g->dtype, ==, "F16");
    g_assert_true(g->usable && g->problem == NULL && g->size > 1000000);
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
    g_assert_cmpstr(m->kind, ==, "not a SeedVR2 VAE");
    g_assert_cmpstr(m->dtype, ==, "BF16");
    g_assert_nonnull(m->problem);
    g_assert_false(m->usable);
    g_autoptr(TesseraModelInfo) b = tessera_model_info_builtin();
    g_assert_nonnull(strstr(b->name, "synthetic weights"));
    g_assert_true(b->usable);
}

/* A single file outside every models folder: listed with its details, selectable, and a file that goes
 * away is listed as missing (and not selectable). */
static void test_single_file(void)
{
    g_autofree char *folder = ui_test_tmpdir(), *elsewhere = ui_test_tmpdir();
    g_autofree char *file = ui_test_make_model(elsewhere, "my_vae.safetensors");
    if (!file) {
        g_test_skip("no tessera-cli ($TSR_CLI) to write a model");
        return;
    }
    g_autofree char *gone = g_build_filename(elsewhere, "deleted.gguf", NULL);
    GtkWidget *win = gtk_window_new();
    TesseraModelList *list = TESSERA_MODEL_LIST(tessera_model_list_new());
    gtk_window_set_child(GTK_WINDOW(win), GTK_WIDGET(list));
    gtk_window_set_default_size(GTK_WINDOW(win), 700, 400);
    gtk_window_present(GTK_WINDOW(win));
    int picked = 0;
    g_signal_connect_swapped(list, "model-selected", G_CALLBACK(g_atomic_int_inc), &picked);
    const char *folders[] = {folder, NULL}, *files[] = {file, gone, file, NULL};
    rescan(list, folders, files);
    g_assert_cmpuint(tessera_model_list_get_n_models(list), ==, 2); /* listed once */
    const TesseraModelInfo *m = tessera_model_list_get_info(list, (guint)find(list, file));
    g_assert_cmpstr(m->kind, ==, "full VAE");
    g_assert_cmpstr(m->dtype, ==, "F16");
    g_assert_false(tessera_model_list_get_first_run(list));
    const TesseraModelInfo *x = tessera_model_list_get_info(list, (guint)find(list, gone));
    g_assert_cmpstr(x->kind, ==, "missing");
    g_assert_false(x->usable);
    g_assert_true(tessera_model_list_select(list, file));
    g_assert_cmpstr(tessera_model_list_get_selected(list), ==, file);
    g_assert_cmpint(picked, ==, 1);
    g_assert_false(tessera_model_list_select(list, gone));
    g_assert_cmpstr(tessera_model_list_get_selected(list), ==, file);
    ui_test_sleep(300);
    ui_test_screenshot(win, "model-list", "single-file-selected");
    g_assert_null(ui_test_find_unnamed(GTK_WIDGET(list)));
    /* the file goes away: the next scan falls back to the demo model */
    g_assert_cmpint(g_remove(file), ==, 0);
    rescan(list, folders, files);
    g_assert_cmpstr(tessera_model_list_get_selected(list), ==, "builtin:small");
    gtk_window_destroy(GTK_WINDOW(win));
}

static gboolean selected_is(gpointer data)
{
    TesseraWindow *win = data;
    const char *want = g_object_get_data(G_OBJECT(win), "want");
    return g_str_equal(tessera_model_list_get_selected(tessera_window_get_model_list(win)), want);
}

/* The window's "Add Model File" path: persisted in the settings, selected, used by new jobs, and still
 * listed and selected after a restart (a new window reading the same settings). */
static void test_window_file_survives_restart(void)
{
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *file = ui_test_make_model(dir, "picked_vae.safetensors");
    if (!file) {
        g_test_skip("no tessera-cli ($TSR_CLI) to write a model");
        return;
    }
    g_autofree char *db = g_build_filename(dir, "tessera.db", NULL);
    g_autofree char *clip = ui_test_write_file(dir, "clip.mp4", "not decoded here");
    for (int run = 0; run < 2; run++) {
        g_autoptr(TesseraJobQueue) q = tessera_job_queue_new(db, NULL, NULL, NULL);
        TesseraWindow *win = tessera_window_new(NULL, q);
        gtk_window_present(GTK_WINDOW(win));
        g_object_set_data(G_OBJECT(win), "want", file);
        if (run == 0) tessera_window_add_model_file(win, file);
        g_assert_true(ui_test_wait(selected_is, win, 10000));
        TesseraModelList *list = tessera_window_get_model_list(win);
        g_assert_cmpint(find(list, file), >=, 0);
        g_autoptr(GFile) f = g_file_new_for_path(clip);
        GFile *files[] = {f};
        g_assert_cmpuint(tessera_window_add_files(win, files, 1), ==, 1);
        g_autoptr(TesseraJob) job = g_list_model_get_item(G_LIST_MODEL(q), (guint)run);
        g_assert_cmpstr(tessera_job_get_row(job)->spec.model, ==, file); /* the job runs with it */
        if (run == 1) {
            adw_view_stack_set_visible_child_name(tessera_window_get_stack(win), "models");
            ui_test_sleep(400);
            ui_test_screenshot(GTK_WIDGET(win), "model-list", "window-file-after-restart");
        }
        gtk_window_destroy(GTK_WINDOW(win));
    }
    g_auto(GStrv) saved = tessera_settings_dup_model_files();
    g_assert_cmpuint(g_strv_length(saved), ==, 1);
    g_assert_cmpstr(saved[0], ==, file);
}

int main(int argc, char **argv)
{
    ui_test_init(&argc, &argv);
    g_test_add_func("/model-list/first-run-then-models", test_first_run_then_models);
    g_test_add_func("/model-list/inspect", test_inspect);
    g_test_add_func("/model-list/single-file", test_single_file);
    g_test_add_func("/model-list/window-file-survives-restart", test_window_file_survives_restart);
    return g_test_run();
}
