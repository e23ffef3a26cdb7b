/* The window's drop target: a GdkFileList delivered to it creates jobs with the current preset; an
 * unsupported file is rejected with one inline message (toast), not a dialog. Accessible names checked. */
#include "tessera-application.h"
#include "tessera-settings.h"
#include "tessera-window.h"
#include "ui-test.h"

static tsr_status never_run(void *user, const tsr_job_spec *spec, tsr_job_ctx *ctx, tsr_error *err)
{
    return TSR_ERR_UNSUPPORTED;
}

static gboolean drop_files(GtkDropTarget *target, GFile **files, guint n)
{
    GSList *list = NULL;
    for (guint i = n; i-- > 0;) list = g_slist_prepend(list, files[i]);
    GdkFileList *fl = gdk_file_list_new_from_list(list);
    g_slist_free(list);
    GValue value = G_VALUE_INIT;
    g_value_init(&value, GDK_TYPE_FILE_LIST);
    g_value_take_boxed(&value, fl);
    gboolean handled = FALSE;
    g_signal_emit_by_name(target, "drop", &value, 10.0, 10.0, &handled);
    g_value_unset(&value);
    return handled;
}

static void test_drop_creates_jobs(void)
{
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *db = g_build_filename(dir, "q.db", NULL);
    g_autoptr(TesseraJobQueue) q = tessera_job_queue_new(db, never_run, NULL, NULL);
    tessera_settings_set_int("gpu", 1);
    tessera_settings_set_int("vram-budget-gib", 6);
    TesseraWindow *win = tessera_window_new(NULL, q);
    gtk_window_present(GTK_WINDOW(win));
    g_autofree char *a = ui_test_write_file(dir, "a.mp4", "clip");
    g_autofree char *b = ui_test_write_file(dir, "b.safetensors", "latent");
    g_autofree char *c = ui_test_write_file(dir, "c.txt", "text");
    GFile *files[3] = {g_file_new_for_path(a), g_file_new_for_path(b), g_file_new_for_path(c)};
    g_assert_true(drop_files(tessera_window_get_drop_target(win), files, 3));
    g_assert_cmpuint(g_list_model_get_n_items(G_LIST_MODEL(q)), ==, 2);
    g_autoptr(TesseraJob) first = g_list_model_get_item(G_LIST_MODEL(q), 0);
    g_assert_cmpstr(tessera_job_get_input(first), ==, a);
    g_assert_cmpstr(tessera_job_get_preset(first), ==, tessera_preset_get_name(tessera_window_get_preset(win)));
    g_assert_cmpint(tessera_job_get_row(first)->spec.backend, ==, TSR_BACKEND_CPU); /* from Preferences */
    g_assert_cmpuint(tessera_job_get_row(first)->spec.memory_budget, ==, 6ull << 30);
    g_assert_nonnull(strstr(tessera_window_get_last_toast(win), "c.txt"));

    /* a drop of only unsupported files: one toast naming the count, no job, no dialog */
    GFile *bad[2] = {g_file_new_for_path(c), g_file_new_for_path("/nonexistent/x.doc")};
    drop_files(tessera_window_get_drop_target(win), bad, 2);
    g_assert_cmpuint(g_list_model_get_n_items(G_LIST_MODEL(q)), ==, 2);
    g_assert_nonnull(strstr(tessera_window_get_last_toast(win), "2 files skipped"));
    GListModel *toplevels = gtk_window_get_toplevels();
    g_assert_cmpuint(g_list_model_get_n_items(toplevels), ==, 1);

    ui_test_sleep(200);
    g_assert_null(ui_test_find_unnamed(GTK_WIDGET(win)));
    for (int i = 0; i < 3; i++) g_object_unref(files[i]);
    for (int i = 0; i < 2; i++) g_object_unref(bad[i]);
    gtk_window_destroy(GTK_WINDOW(win));
}

/* The application's keyboard shortcuts include the new actions, and they act on the window. */
static void test_shortcuts_and_pages(void)
{
    g_autoptr(TesseraApplication) app = tessera_application_new();
    g_autoptr(GError) error = NULL;
    g_assert_true(g_application_register(G_APPLICATION(app), NULL, &error)); /* runs startup: accels */
    struct { const char *action, *accel; } want[] = {
        {"win.job-edit", "<Control>e"},       {"win.add-model-file", "<Shift><Control>o"},
        {"win.move-up", "<Alt>Up"},           {"win.show-page('history')", "<Alt>3"},
        {"win.add-files", "<Control>o"},      {"win.remove", "Delete"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        g_auto(GStrv) accels = gtk_application_get_accels_for_action(GTK_APPLICATION(app), want[i].action);
        g_assert_nonnull(accels[0]);
        guint key, want_key;
        GdkModifierType mods, want_mods;
        g_assert_true(gtk_accelerator_parse(accels[0], &key, &mods));
        g_assert_true(gtk_accelerator_parse(want[i].accel, &want_key, &want_mods));
        g_assert_cmpuint(key, ==, want_key);
        g_assert_cmpuint(mods, ==, want_mods);
    }
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *db = g_build_filename(dir, "q.db", NULL);
    g_autoptr(TesseraJobQueue) q = tessera_job_queue_new(db, never_run, NULL, NULL);
    TesseraWindow *win = tessera_window_new(NULL, q);
    gtk_window_present(GTK_WINDOW(win));
    AdwViewStack *stack = tessera_window_get_stack(win);
    const char *pages[] = {"history", "models", "queue"};
    for (guint i = 0; i < G_N_ELEMENTS(pages); i++) {
        gtk_widget_activate_action(GTK_WIDGET(win), "win.show-page", "s", pages[i]);
        g_assert_cmpstr(adw_view_stack_get_visible_child_name(stack), ==, pages[i]);
    }
    /* nothing selected: the per-job settings action is off */
    g_assert_false(g_action_get_enabled(g_action_map_lookup_action(G_ACTION_MAP(win), "job-edit")));
    gtk_window_destroy(GTK_WINDOW(win));
}

int main(int argc, char **argv)
{
    ui_test_init(&argc, &argv);
    g_test_add_func("/window/drop-creates-jobs", test_drop_creates_jobs);
    g_test_add_func("/window/shortcuts-and-pages", test_shortcuts_and_pages);
    return g_test_run();
}
