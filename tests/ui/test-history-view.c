/* TesseraHistoryView: finished / failed / cancelled jobs from the store's history table (input, output,
 * preset, duration, result, error), open / show in folder where the output exists, run again with the
 * recorded spec, clear history; kept across a restart; accessible names. */
#include "tessera-history-view.h"
#include "ui-test.h"

/* Fails for inputs named "fail*", runs slowly for "slow*" (cancelled there), else writes the output. */
static tsr_status fake_job(void *user, const tsr_job_spec *spec, tsr_job_ctx *ctx, tsr_error *err)
{
    g_autofree char *base = g_path_get_basename(spec->input);
    int steps = g_str_has_prefix(base, "slow") ? 1000 : 5;
    for (int i = 0; i < steps; i++) {
        g_usleep(20000);
        tsr_progress p = {.stage = "fake", .frames_done = i + 1, .frames_total = steps};
        if (tsr_job_ctx_progress(ctx, &p)) return TSR_ERR_CANCELLED;
    }
    if (g_str_has_prefix(base, "fail")) {
        g_strlcpy(err->message, "decoder: out of memory at 1080p (fake)", sizeof err->message);
        return TSR_ERR_DEVICE_OOM;
    }
    return g_file_set_contents(spec->output, "x", 1, NULL) ? TSR_OK : TSR_ERR_IO;
}

#define CLEAR_TIP "Forget every finished job (the output files stay)"

/* A button in `root` whose accessible label (set with the tooltip) is `label`. */
static GtkWidget *find_button(GtkWidget *root, const char *label)
{
    for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
        const char *tip = gtk_widget_get_tooltip_text(c);
        if (GTK_IS_BUTTON(c) && tip && g_str_equal(tip, label)) return c;
        GtkWidget *inner = find_button(c, label);
        if (inner) return inner;
    }
    return NULL;
}

static gboolean n_entries_is(gpointer data)
{
    TesseraHistoryView *v = data;
    return tessera_history_view_get_n_entries(v) == GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(v), "want"));
}

static void test_history(void)
{
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *db = g_build_filename(dir, "tessera.db", NULL);
    g_autoptr(TesseraJobQueue) q = tessera_job_queue_new(db, fake_job, NULL, NULL);
    g_autoptr(GListStore) presets = tessera_preset_list_load(tessera_job_queue_get_store(q), NULL);
    g_autoptr(TesseraPreset) master = g_list_model_get_item(G_LIST_MODEL(presets), 3);
    GtkWidget *win = gtk_window_new();
    gtk_window_set_default_size(GTK_WINDOW(win), 900, 520);
    TesseraHistoryView *view = TESSERA_HISTORY_VIEW(tessera_history_view_new(q));
    gtk_window_set_child(GTK_WINDOW(win), GTK_WIDGET(view));
    gtk_window_present(GTK_WINDOW(win));
    g_assert_cmpuint(tessera_history_view_get_n_entries(view), ==, 0);
    ui_test_sleep(200);
    ui_test_screenshot(win, "history-view", "1-empty");

    TesseraJob *ok = ui_test_add_job(q, master, dir, "good.mp4"), *bad = ui_test_add_job(q, master, dir, "fail.mkv"),
               *slow = ui_test_add_job(q, master, dir, "slow.mov");
    tessera_job_queue_start(q);
    g_assert_true(ui_test_wait_job_state(ok, TSR_JOB_DONE, 15000));
    g_assert_true(ui_test_wait_job_state(bad, TSR_JOB_FAILED, 15000));
    g_assert_true(ui_test_wait_job_state(slow, TSR_JOB_RUNNING, 15000));
    tessera_job_queue_cancel(q, slow);
    g_assert_true(ui_test_wait_job_state(slow, TSR_JOB_CANCELLED, 15000));
    g_object_set_data(G_OBJECT(view), "want", GUINT_TO_POINTER(3));
    g_assert_true(ui_test_wait(n_entries_is, view, 5000)); /* reloaded on the queue's "history-changed" */

    /* newest first: cancelled, failed, done */
    const tsr_history_entry *e0 = tessera_history_view_get_entry(view, 0), *e1 = tessera_history_view_get_entry(view, 1),
                            *e2 = tessera_history_view_get_entry(view, 2);
    g_assert_cmpint(e0->state, ==, TSR_JOB_CANCELLED);
    g_assert_cmpint(e1->state, ==, TSR_JOB_FAILED);
    g_assert_cmpstr(e1->error, ==, "decoder: out of memory at 1080p (fake)");
    g_assert_cmpint(e2->state, ==, TSR_JOB_DONE);
    g_assert_cmpstr(e2->input, ==, tessera_job_get_input(ok));
    g_assert_cmpstr(e2->output, ==, tessera_job_get_output(ok));
    g_assert_cmpstr(e2->preset, ==, "Master — ProRes/FFV1 10-bit");
    g_assert_cmpfloat(e2->seconds, >, 0.05); /* 5 x 20 ms */
    g_assert_cmpint(e2->frames, ==, 5);
    g_assert_cmpstr(e2->spec.codec, ==, "prores"); /* the recorded spec is the job's */
    g_assert_cmpint(e2->spec.ten_bit, ==, 1);

    /* open / show in folder only where the output exists; run again where a spec was recorded */
    GtkWidget *row_ok = tessera_history_view_get_row(view, 2), *row_bad = tessera_history_view_get_row(view, 1);
    g_assert_nonnull(find_button(row_ok, "Open the output"));
    g_assert_nonnull(find_button(row_ok, "Show the output in its folder"));
    g_assert_null(find_button(row_bad, "Open the output"));
    g_assert_nonnull(find_button(row_bad, "Run this job again"));
    g_assert_null(ui_test_find_unnamed(GTK_WIDGET(view)));
    ui_test_sleep(300);
    ui_test_screenshot(win, "history-view", "2-entries");

    /* run again (the button): a new queue row with the same spec, which runs */
    int requeued = 0;
    g_signal_connect_swapped(view, "requeued", G_CALLBACK(g_atomic_int_inc), &requeued);
    guint before = g_list_model_get_n_items(G_LIST_MODEL(q));
    g_signal_emit_by_name(find_button(row_ok, "Run this job again"), "clicked");
    g_assert_cmpint(requeued, ==, 1);
    g_assert_cmpuint(g_list_model_get_n_items(G_LIST_MODEL(q)), ==, before + 1);
    g_autoptr(TesseraJob) again = g_list_model_get_item(G_LIST_MODEL(q), before);
    g_assert_cmpstr(tessera_job_get_output(again), ==, tessera_job_get_output(ok));
    g_assert_cmpstr(tessera_job_get_row(again)->spec.codec, ==, "prores");
    g_assert_cmpstr(tessera_job_get_preset(again), ==, "Master — ProRes/FFV1 10-bit");
    g_assert_true(ui_test_wait_job_state(again, TSR_JOB_DONE, 15000));
    g_object_set_data(G_OBJECT(view), "want", GUINT_TO_POINTER(4));
    g_assert_true(ui_test_wait(n_entries_is, view, 5000));

    /* an input that is gone cannot run again: a clear error, nothing queued */
    g_assert_cmpint(g_remove(tessera_job_get_input(bad)), ==, 0);
    g_autoptr(GError) error = NULL;
    guint idx_bad = 2; /* done (again), cancelled, failed, done */
    g_assert_cmpint(tessera_history_view_get_entry(view, idx_bad)->state, ==, TSR_JOB_FAILED);
    g_assert_null(tessera_history_view_run_again(view, idx_bad, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_assert_cmpuint(g_list_model_get_n_items(G_LIST_MODEL(q)), ==, before + 1);
    gtk_window_destroy(GTK_WINDOW(win));
    g_clear_object(&q);

    /* a restart shows the same history; clearing empties it (in the store too) */
    q = tessera_job_queue_new(db, fake_job, NULL, NULL);
    win = gtk_window_new();
    view = TESSERA_HISTORY_VIEW(tessera_history_view_new(q));
    gtk_window_set_child(GTK_WINDOW(win), GTK_WIDGET(view));
    gtk_window_present(GTK_WINDOW(win));
    g_assert_cmpuint(tessera_history_view_get_n_entries(view), ==, 4);
    GtkWidget *clear = find_button(GTK_WIDGET(view), CLEAR_TIP);
    g_assert_nonnull(clear);
    g_assert_true(gtk_widget_get_sensitive(clear));
    g_signal_emit_by_name(clear, "clicked");
    g_assert_false(gtk_widget_get_sensitive(clear));
    g_assert_cmpuint(tessera_history_view_get_n_entries(view), ==, 0);
    int n = -1;
    tsr_history_entry *left = tessera_job_queue_list_history(q, 0, &n, NULL);
    g_assert_cmpint(n, ==, 0);
    tsr_store_free(left);
    gtk_window_destroy(GTK_WINDOW(win));
}

static void test_duration_text(void)
{
    g_autofree char *a = tessera_history_format_duration(0), *b = tessera_history_format_duration(12.34),
                    *c = tessera_history_format_duration(65), *d = tessera_history_format_duration(3725);
    g_assert_cmpstr(a, ==, "—");
    g_assert_cmpstr(b, ==, "12.3 s");
    g_assert_cmpstr(c, ==, "1 min 05 s");
    g_assert_cmpstr(d, ==, "1 h 02 min");
}

/* The accessible-name check itself sees controls inside list rows (where the history's buttons live). */
static void test_name_check_sees_rows(void)
{
    GtkWidget *list = g_object_ref_sink(gtk_list_box_new());
    gtk_accessible_update_property(GTK_ACCESSIBLE(list), GTK_ACCESSIBLE_PROPERTY_LABEL, "Rows", -1);
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
    gtk_box_append(GTK_BOX(box), list);
    g_object_ref_sink(box);
    gtk_list_box_append(GTK_LIST_BOX(list), gtk_button_new_from_icon_name("view-refresh-symbolic"));
    g_assert_cmpstr(ui_test_find_unnamed(box), ==, "GtkButton");
    g_object_unref(box);
    g_object_unref(list);
}

int main(int argc, char **argv)
{
    ui_test_init(&argc, &argv);
    g_test_add_func("/history-view/entries-run-again-clear", test_history);
    g_test_add_func("/history-view/duration", test_duration_text);
    g_test_add_func("/history-view/name-check-sees-rows", test_name_check_sees_rows);
    return g_test_run();
}
