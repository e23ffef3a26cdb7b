/* End to end in one process under Xvfb: a temporary profile, a clip from $TSR_CLIPS dropped on the window,
 * the batch started, the job runs to the end, the output exists and ffprobe reads it, the queue row says
 * done, the History page lists it. Screenshots of the main states go to $TSR_ARTEFACTS.
 * /e2e/engine runs the engine's own job (tsr_job_run: encode + decode round trip) on the CPU with a small
 * SeedVR2-shaped model FILE chosen like "Add Model File" does (tessera-cli make-model --config small; the
 * built-in small model when the CLI is missing) and a user preset "Archive — FFV1 10-bit": ffprobe must
 * find FFV1 in gbrp10le in an .mkv, so the preset's format/codec/bit depth reached the engine.
 * /e2e/test-job runs the same flow with the default preset and the UI test job (app/gui/test-job.c), which
 * also exercises previews. */
#include "test-job.h"
#include "tessera-settings.h"
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

/* ffprobe reads the output; want_codec / want_pix_fmt (when not NULL) must be its video stream's. */
static void check_ffprobe(const char *path, const char *want_codec, const char *want_pix_fmt)
{
    g_autofree char *out = NULL;
    int status = 0;
    const char *argv[] = {"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=codec_type,codec_name,pix_fmt", "-of", "default=noprint_wrappers=1", path, NULL};
    g_autoptr(GError) error = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, &status, &error)) {
        g_test_message("ffprobe not run: %s", error->message);
        return;
    }
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_test_message("ffprobe %s:\n%s", path, out);
    g_assert_nonnull(strstr(out, "codec_type=video"));
    g_autofree char *codec = want_codec ? g_strdup_printf("codec_name=%s\n", want_codec) : NULL;
    g_autofree char *pix = want_pix_fmt ? g_strdup_printf("pix_fmt=%s\n", want_pix_fmt) : NULL;
    if (codec) g_assert_nonnull(strstr(out, codec));
    if (pix) g_assert_nonnull(strstr(out, pix));
}

static gboolean model_selected(gpointer data)
{
    TesseraWindow *win = data;
    return g_str_equal(tessera_model_list_get_selected(tessera_window_get_model_list(win)),
                       (const char *)g_object_get_data(G_OBJECT(win), "model"));
}

/* A user preset "Archive — FFV1 10-bit" in the store, selected in the window's preset dropdown. */
static void use_archive_preset(TesseraWindow *win, TesseraJobQueue *q)
{
    GListStore *presets = tessera_window_get_presets(win);
    tsr_preset p;
    tsr_preset_default(&p);
    g_strlcpy(p.name, "Archive — FFV1 10-bit", sizeof p.name);
    g_strlcpy(p.format, "mkv-ffv1", sizeof p.format);
    tessera_format_sync(&p);
    p.precision = TSR_PRECISION_FP32;
    g_assert_cmpint(tsr_store_preset_save(tessera_job_queue_get_store(q), &p, NULL), ==, TSR_OK);
    g_autoptr(TesseraPreset) tp = tessera_preset_new(&p);
    g_list_store_append(presets, tp);
    tessera_window_select_preset(win, tp);
    g_assert_cmpstr(tessera_preset_get_name(tessera_window_get_preset(win)), ==, p.name);
}

static void run_flow(tsr_job_fn job_fn, const char *shot_prefix, gboolean archive)
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
    /* outputs into the temporary profile, never beside the shared clip: the window applies the
     * output-folder preference to the queue */
    tessera_settings_set_string("output-folder", dir);
    TesseraWindow *win = tessera_window_new(NULL, q);
    gtk_window_set_default_size(GTK_WINDOW(win), 1100, 640);
    gtk_window_present(GTK_WINDOW(win));
    g_autofree char *model = archive ? ui_test_make_model(dir, "small_vae.safetensors") : NULL;
    if (model) { /* what "Add Model File…" does with the chosen file */
        g_object_set_data(G_OBJECT(win), "model", model);
        tessera_window_add_model_file(win, model);
        g_assert_true(ui_test_wait(model_selected, win, 20000));
    }
    if (archive) use_archive_preset(win, q);
    ui_test_sleep(500);
    drop_clip(win, clip);
    g_assert_cmpuint(g_list_model_get_n_items(G_LIST_MODEL(q)), ==, 1);
    TesseraJob *job = g_list_model_get_item(G_LIST_MODEL(q), 0);
    g_autofree char *out_dir = g_path_get_dirname(tessera_job_get_output(job));
    g_assert_cmpstr(out_dir, ==, dir);
    if (model) g_assert_cmpstr(tessera_job_get_row(job)->spec.model, ==, model);
    if (archive) {
        g_assert_true(g_str_has_suffix(tessera_job_get_output(job), ".mkv"));
        g_assert_cmpstr(tessera_job_get_row(job)->spec.codec, ==, "ffv1");
        g_assert_cmpint(tessera_job_get_row(job)->spec.ten_bit, ==, 1);
    }
    ui_test_sleep(300);
    ui_test_screenshot(GTK_WIDGET(win), shot_prefix, "1-queued");
    gtk_widget_activate_action(GTK_WIDGET(win), "win.start", NULL);
    g_assert_true(ui_test_wait(progressed, job, 120000));
    ui_test_sleep(100);
    ui_test_screenshot(GTK_WIDGET(win), shot_prefix, "2-running");
    g_assert_true(ui_test_wait_job_state(job, TSR_JOB_DONE, 330000)); /* the CPU round trip: minutes on 2 cores */
    ui_test_sleep(300);
    g_assert_true(g_file_test(tessera_job_get_output(job), G_FILE_TEST_IS_REGULAR));
    g_autofree char *part = g_strconcat(tessera_job_get_output(job), ".part", NULL);
    g_assert_false(g_file_test(part, G_FILE_TEST_EXISTS));
    if (archive) check_ffprobe(tessera_job_get_output(job), "ffv1", "gbrp10le");
    else check_ffprobe(tessera_job_get_output(job), NULL, NULL);
    g_assert_true(label_with_text(GTK_WIDGET(tessera_window_get_column_view(win)), "done"));
    ui_test_screenshot(GTK_WIDGET(win), shot_prefix, "3-done");
    /* the History page lists the finished job with its preset */
    TesseraHistoryView *hv = tessera_window_get_history_view(win);
    g_assert_cmpuint(tessera_history_view_get_n_entries(hv), ==, 1);
    g_assert_cmpint(tessera_history_view_get_entry(hv, 0)->state, ==, TSR_JOB_DONE);
    GStatBuf st;
    g_assert_cmpint(g_stat(tessera_job_get_output(job), &st), ==, 0);
    g_test_message("history: %s, %d frames, %.1f s, output %lld bytes", tessera_history_view_get_entry(hv, 0)->preset,
                   tessera_history_view_get_entry(hv, 0)->frames, tessera_history_view_get_entry(hv, 0)->seconds,
                   (long long)st.st_size);
    g_assert_cmpstr(tessera_history_view_get_entry(hv, 0)->output, ==, tessera_job_get_output(job));
    adw_view_stack_set_visible_child_name(tessera_window_get_stack(win), "history");
    ui_test_sleep(400);
    ui_test_screenshot(GTK_WIDGET(win), shot_prefix, "6-history");
    adw_view_stack_set_visible_child_name(tessera_window_get_stack(win), "queue");
    AdwViewStack *stack = NULL;
    for (GtkWidget *w = GTK_WIDGET(tessera_window_get_model_list(win)); w && !stack; w = gtk_widget_get_parent(w))
        if (ADW_IS_VIEW_STACK(w)) stack = ADW_VIEW_STACK(w);
    adw_view_stack_set_visible_child_name(stack, "models");
    ui_test_sleep(400);
    ui_test_screenshot(GTK_WIDGET(win), shot_prefix, model ? "4-models-file" : "4-models-first-run");
    adw_view_stack_set_visible_child_name(stack, "queue");
    adw_style_manager_set_color_scheme(adw_style_manager_get_default(), ADW_COLOR_SCHEME_FORCE_DARK);
    ui_test_sleep(400);
    ui_test_screenshot(GTK_WIDGET(win), shot_prefix, "5-dark");
    adw_style_manager_set_color_scheme(adw_style_manager_get_default(), ADW_COLOR_SCHEME_DEFAULT);
    g_object_unref(job);
    gtk_window_destroy(GTK_WINDOW(win));
}

static void test_engine(void) { run_flow(NULL, "e2e-engine", TRUE); }
static void test_test_job(void) { run_flow(tessera_test_copy_job, "e2e-testjob", FALSE); }

int main(int argc, char **argv)
{
    ui_test_init(&argc, &argv);
    g_test_add_func("/e2e/engine", test_engine);
    g_test_add_func("/e2e/test-job", test_test_job);
    return g_test_run();
}
