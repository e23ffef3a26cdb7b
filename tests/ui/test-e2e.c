/* End to end in one process under Xvfb: a temporary profile, a clip from $TSR_CLIPS dropped on the window,
 * the batch started, the job runs to the end, the output exists and ffprobe reads it, the queue row says
 * done. Screenshots of the main states go to $TSR_ARTEFACTS.
 * /e2e/engine runs the engine's own job (tsr_job_run: encode + decode round trip) on the CPU with the
 * built-in small model; /e2e/test-job runs the same flow with the UI test job (app/gui/test-job.c), which
 * also exercises previews. */
#include "test-job.h"
#include "tessera-window.h"
#include "ui-test.h"

static gboolean label_with_text(GtkWidget *root, const char *text)
{
    for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
        if (GTK_IS_LABEL(c) && g_str_equal(gtk_label_get_text(GTK_LABEL(c)), text)) return TRUE;
        if (label_with_text(c, text)) return TRUE;
    }
    return FALSE;
}

static gboolean is_state(gpointer data)
{
    TesseraJob *job = data;
    return (int)tessera_job_get_state(job) == GPOINTER_TO_INT(g_object_get_data(data, "want"));
}

static gboolean progressed(gpointer data) { return tessera_job_get_progress(data) > 0.3; }

static void drop_clip(TesseraWindow *win, const char *clip)
{
    g_autoptr(GFile) f = g_file_new_for_path(clip);
    GSList *list = g_slist_prepend(NULL, f);
    GdkFileList *fl = gdk_file_list_new_from_list(list);
    g_slist_free(list);
    GValue v = G_VALUE_INIT;
    g_value_init(&v, GDK_TYPE_FILE_LIST);
    g_value_take_boxed(&v, fl);
    gboolean ok = FALSE;
    g_signal_emit_by_name(tessera_window_get_drop_target(win), "drop", &v, 100.0, 100.0, &ok);
    g_value_unset(&v);
    g_assert_true(ok);
}

static void check_ffprobe(const char *path)
{
    g_autofree char *out = NULL;
    int status = 0;
    const char *argv[] = {"ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", path, NULL};
    g_autoptr(GError) error = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, &status, &error)) {
        g_test_message("ffprobe not run: %s", error->message);
        return;
    }
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_assert_nonnull(strstr(out, "video"));
}

static void run_flow(tsr_job_fn job_fn, const char *shot_prefix)
{
    const char *clips = g_getenv("TSR_CLIPS");
    g_autofree char *clip = g_build_filename(clips ? clips : ".", "Eyes_212x120.mp4", NULL);
    if (!g_file_test(clip, G_FILE_TEST_EXISTS)) {
        g_test_skip("no clip in $TSR_CLIPS");
        return;
    }
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *db = g_build_filename(dir, "tessera.db", NULL);
    g_setenv("TESSERA_TEST_JOB_DELAY_MS", "60", TRUE);
    g_autoptr(TesseraJobQueue) q = tessera_job_queue_new(db, job_fn, NULL, NULL);
    tessera_job_queue_set_output(q, dir, NULL);
    TesseraWindow *win = tessera_window_new(NULL, q);
    gtk_window_set_default_size(GTK_WINDOW(win), 1100, 640);
    gtk_window_present(GTK_WINDOW(win));
    ui_test_sleep(500);
    drop_clip(win, clip);
    g_assert_cmpuint(g_list_model_get_n_items(G_LIST_MODEL(q)), ==, 1);
    TesseraJob *job = g_list_model_get_item(G_LIST_MODEL(q), 0);
    ui_test_sleep(300);
    ui_test_screenshot(GTK_WIDGET(win), shot_prefix, "1-queued");
    gtk_widget_activate_action(GTK_WIDGET(win), "win.start", NULL);
    g_assert_true(ui_test_wait(progressed, job, 120000));
    ui_test_sleep(100);
    ui_test_screenshot(GTK_WIDGET(win), shot_prefix, "2-running");
    g_object_set_data(G_OBJECT(job), "want", GINT_TO_POINTER(TSR_JOB_DONE));
    g_assert_true(ui_test_wait(is_state, job, 330000)); /* the CPU round trip: minutes on 2 shared cores */
    ui_test_sleep(300);
    g_assert_true(g_file_test(tessera_job_get_output(job), G_FILE_TEST_IS_REGULAR));
    g_autofree char *part = g_strconcat(tessera_job_get_output(job), ".part", NULL);
    g_assert_false(g_file_test(part, G_FILE_TEST_EXISTS));
    check_ffprobe(tessera_job_get_output(job));
    g_assert_true(label_with_text(GTK_WIDGET(tessera_window_get_column_view(win)), "done"));
    ui_test_screenshot(GTK_WIDGET(win), shot_prefix, "3-done");
    AdwViewStack *stack = NULL;
    for (GtkWidget *w = GTK_WIDGET(tessera_window_get_model_list(win)); w && !stack; w = gtk_widget_get_parent(w))
        if (ADW_IS_VIEW_STACK(w)) stack = ADW_VIEW_STACK(w);
    adw_view_stack_set_visible_child_name(stack, "models");
    ui_test_sleep(400);
    ui_test_screenshot(GTK_WIDGET(win), shot_prefix, "4-models-first-run");
    adw_view_stack_set_visible_child_name(stack, "queue");
    adw_style_manager_set_color_scheme(adw_style_manager_get_default(), ADW_COLOR_SCHEME_FORCE_DARK);
    ui_test_sleep(400);
    ui_test_screenshot(GTK_WIDGET(win), shot_prefix, "5-dark");
    adw_style_manager_set_color_scheme(adw_style_manager_get_default(), ADW_COLOR_SCHEME_DEFAULT);
    g_object_unref(job);
    gtk_window_destroy(GTK_WINDOW(win));
}

static void test_engine(void) { run_flow(NULL, "e2e-engine"); }
static void test_test_job(void) { run_flow(tessera_test_copy_job, "e2e-testjob"); }

int main(int argc, char **argv)
{
    ui_test_init(&argc, &argv);
    g_test_add_func("/e2e/engine", test_engine);
    g_test_add_func("/e2e/test-job", test_test_job);
    return g_test_run();
}
