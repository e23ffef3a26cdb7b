/* TesseraJobEditor and per-job overrides: the editor round-trips a spec and validates it; the queue stores an
 * edited spec in the row (it survives a restart), refuses a running job, and a job that was already handed to
 * the runner runs with the edited spec; the window's dialog applies it. Accessible names checked. */
#include "tessera-job-editor.h"
#include "tessera-window.h"
#include "ui-test.h"

/* What the fake job saw: the spec the runner ran, per input basename. */
static GMutex seen_lock;
static GHashTable *seen; /* basename -> "output|codec|crf|ten_bit|precision|budget|tile" */

static tsr_status fake_job(void *user, const tsr_job_spec *spec, tsr_job_ctx *ctx, tsr_error *err)
{
    int steps = GPOINTER_TO_INT(user);
    g_autofree char *base = g_path_get_basename(spec->input);
    g_mutex_lock(&seen_lock);
    g_hash_table_insert(seen, g_strdup(base),
                        g_strdup_printf("%s|%s|%d|%d|%d|%" G_GUINT64_FORMAT "|%d", spec->output, spec->codec,
                                        spec->crf, spec->ten_bit, (int)spec->precision,
                                        (guint64)spec->memory_budget, spec->tile));
    g_mutex_unlock(&seen_lock);
    for (int i = 0; i < steps; i++) {
        g_usleep(10000);
        tsr_progress p = {.stage = "fake", .frames_done = i + 1, .frames_total = steps};
        if (tsr_job_ctx_progress(ctx, &p)) return TSR_ERR_CANCELLED;
    }
    return g_file_set_contents(spec->output, "x", 1, NULL) ? TSR_OK : TSR_ERR_IO;
}

static char *seen_for(const char *base)
{
    g_mutex_lock(&seen_lock);
    char *v = g_strdup(g_hash_table_lookup(seen, base));
    g_mutex_unlock(&seen_lock);
    return v;
}

/* Find the first widget of `type` under root whose LABELLED_BY label reads `label` — via the grid: the
 * label sits in column 0 of the same row. */
static GtkWidget *field(GtkWidget *editor, const char *label)
{
    GtkWidget *grid = gtk_widget_get_first_child(editor);
    for (GtkWidget *c = gtk_widget_get_first_child(grid); c; c = gtk_widget_get_next_sibling(c)) {
        if (!GTK_IS_LABEL(c) || !g_str_equal(gtk_label_get_text(GTK_LABEL(c)), label)) continue;
        return gtk_label_get_mnemonic_widget(GTK_LABEL(c));
    }
    if (g_str_equal(label, "10-bit output"))
        for (GtkWidget *c = gtk_widget_get_first_child(grid); c; c = gtk_widget_get_next_sibling(c))
            if (GTK_IS_CHECK_BUTTON(c)) return c;
    g_assert_not_reached();
}

static void select_format(GtkWidget *ed, const char *id)
{
    guint n;
    const TesseraFormat *f = tessera_formats(&n);
    for (guint i = 0; i < n; i++)
        if (g_str_equal(f[i].id, id)) gtk_drop_down_set_selected(GTK_DROP_DOWN(field(ed, "Output format")), i);
}

static tsr_job_spec *spec_from_preset(const char *dir, guint preset)
{
    tsr_job_spec *s = g_new0(tsr_job_spec, 1);
    tsr_job_spec_default(s);
    g_autofree char *in = g_build_filename(dir, "clip.mp4", NULL), *out = g_build_filename(dir, "clip_tessera.mp4", NULL);
    g_strlcpy(s->input, in, sizeof s->input);
    g_strlcpy(s->output, out, sizeof s->output);
    tsr_preset p;
    tsr_preset_default(&p);
    if (preset == 1) { /* Balanced as migration 3 leaves it */
        g_strlcpy(p.format, "mp4-hevc", sizeof p.format);
        p.precision = TSR_PRECISION_BF16, p.crf = 20, p.bit_depth = 10;
    }
    tessera_preset_to_spec(&p, s);
    return s;
}

static void test_round_trip_and_validation(void)
{
    g_autofree char *dir = ui_test_tmpdir(), *other = ui_test_tmpdir();
    GtkWidget *win = gtk_window_new();
    GtkWidget *ed = tessera_job_editor_new();
    gtk_window_set_child(GTK_WINDOW(win), ed);
    gtk_window_present(GTK_WINDOW(win));
    g_autofree tsr_job_spec *in = spec_from_preset(dir, 1), *out = g_new0(tsr_job_spec, 1);
    in->chunk = 3; /* not shown: kept */
    tessera_job_editor_load(TESSERA_JOB_EDITOR(ed), in);
    g_autoptr(GError) error = NULL;
    g_assert_true(tessera_job_editor_save(TESSERA_JOB_EDITOR(ed), out, &error));
    g_assert_cmpstr(out->output, ==, in->output);
    g_assert_cmpstr(out->codec, ==, "libx265");
    g_assert_cmpint(out->crf, ==, 20);
    g_assert_cmpint(out->ten_bit, ==, 1);
    g_assert_cmpint(out->precision, ==, TSR_PRECISION_BF16);
    g_assert_cmpint(out->chunk, ==, 3);
    g_assert_null(ui_test_find_unnamed(ed));

    /* override everything: folder, name, FFV1/MKV (CRF off, 10-bit forced), FP16, 6 GiB, 384 px tiles */
    gtk_editable_set_text(GTK_EDITABLE(field(ed, "Output folder")), other);
    gtk_editable_set_text(GTK_EDITABLE(field(ed, "Output name")), "master copy.mp4");
    select_format(ed, "mkv-ffv1");
    g_assert_false(gtk_widget_get_sensitive(field(ed, "Quality (CRF)")));
    g_assert_true(gtk_check_button_get_active(GTK_CHECK_BUTTON(field(ed, "10-bit output"))));
    gtk_drop_down_set_selected(GTK_DROP_DOWN(field(ed, "Precision")), 3); /* FP16 */
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(field(ed, "VRAM budget (GiB, 0 = auto)")), 6);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(field(ed, "Host memory for the plan (GiB, 0 = auto)")), 20);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(field(ed, "Tiling: tile size (px, 0 = auto)")), 384);
    ui_test_sleep(200);
    ui_test_screenshot(win, "job-editor", "ffv1-override");
    g_assert_true(tessera_job_editor_save(TESSERA_JOB_EDITOR(ed), out, &error));
    g_autofree char *want = g_build_filename(other, "master copy.mkv", NULL);
    g_assert_cmpstr(out->output, ==, want);
    g_assert_cmpstr(out->format, ==, "mkv-ffv1");
    g_assert_cmpstr(out->codec, ==, "ffv1");
    g_assert_cmpint(out->crf, ==, -1);
    g_assert_cmpint(out->ten_bit, ==, 1);
    g_assert_cmpint(out->precision, ==, TSR_PRECISION_FP16);
    g_assert_cmpuint(out->memory_budget, ==, 6ull << 30);
    g_assert_cmpuint(out->host_budget, ==, 20ull << 30);
    g_assert_cmpint(out->tile, ==, 384);

    /* H.264 8-bit with CRF 23 */
    select_format(ed, "mp4-h264");
    g_assert_true(gtk_widget_get_sensitive(field(ed, "Quality (CRF)")));
    gtk_check_button_set_active(GTK_CHECK_BUTTON(field(ed, "10-bit output")), FALSE);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(field(ed, "Quality (CRF)")), 23);
    g_assert_true(tessera_job_editor_save(TESSERA_JOB_EDITOR(ed), out, &error));
    g_assert_cmpstr(out->codec, ==, "libx264");
    g_assert_true(g_str_has_suffix(out->output, "master copy.mp4"));
    g_assert_cmpint(out->crf, ==, 23);
    g_assert_cmpint(out->ten_bit, ==, 0);

    /* bad input: clear errors, nothing written */
    gtk_editable_set_text(GTK_EDITABLE(field(ed, "Output name")), "sub/dir.mp4");
    g_assert_false(tessera_job_editor_save(TESSERA_JOB_EDITOR(ed), out, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    gtk_editable_set_text(GTK_EDITABLE(field(ed, "Output name")), "ok.mp4");
    gtk_editable_set_text(GTK_EDITABLE(field(ed, "Output folder")), "/no/such/folder/here");
    g_assert_false(tessera_job_editor_save(TESSERA_JOB_EDITOR(ed), out, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_clear_error(&error);
    gtk_editable_set_text(GTK_EDITABLE(field(ed, "Output folder")), dir);
    gtk_editable_set_text(GTK_EDITABLE(field(ed, "Output name")), "clip.mp4"); /* = the input */
    g_assert_false(tessera_job_editor_save(TESSERA_JOB_EDITOR(ed), out, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    gtk_window_destroy(GTK_WINDOW(win));
}

/* The queue side: stored in the row's spec (across a restart), refused while running, and a waiting job
 * already handed to the runner runs with the edited spec, in queue order. */
static void test_queue_overrides_reach_the_run(void)
{
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *db = g_build_filename(dir, "q.db", NULL);
    TesseraJobQueue *q = tessera_job_queue_new(db, fake_job, GINT_TO_POINTER(40), NULL);
    g_autoptr(GListStore) presets = tessera_preset_list_load(tessera_job_queue_get_store(q), NULL);
    g_autoptr(TesseraPreset) fast = g_list_model_get_item(G_LIST_MODEL(presets), 0);
    TesseraJob *a = ui_test_add_job(q, fast, dir, "a.mp4"), *b = ui_test_add_job(q, fast, dir, "b.mp4"),
               *c = ui_test_add_job(q, fast, dir, "c.mp4");
    g_autofree tsr_job_spec *spec = g_new0(tsr_job_spec, 1);
    *spec = tessera_job_get_row(c)->spec;
    g_autofree char *c_out = g_build_filename(dir, "c-archive.mkv", NULL);
    g_strlcpy(spec->output, c_out, sizeof spec->output);
    g_strlcpy(spec->format, "mkv-ffv1", sizeof spec->format);
    g_strlcpy(spec->codec, "ffv1", sizeof spec->codec);
    spec->crf = -1, spec->ten_bit = 1, spec->tile = 256;
    g_assert_true(tessera_job_queue_set_job_spec(q, c, spec)); /* not started: stored only */
    g_assert_cmpstr(tessera_job_get_preset(c), ==, "Fast — FP8 (edited)");
    g_object_unref(q);

    q = tessera_job_queue_new(db, fake_job, GINT_TO_POINTER(40), NULL);
    g_assert_cmpuint(g_list_model_get_n_items(G_LIST_MODEL(q)), ==, 3);
    a = g_list_model_get_item(G_LIST_MODEL(q), 0), b = g_list_model_get_item(G_LIST_MODEL(q), 1);
    c = g_list_model_get_item(G_LIST_MODEL(q), 2);
    g_object_unref(a), g_object_unref(b), g_object_unref(c); /* the queue keeps them */
    g_assert_cmpstr(tessera_job_get_row(c)->spec.codec, ==, "ffv1"); /* survived the restart */
    g_assert_cmpstr(tessera_job_get_output(c), ==, c_out);
    tessera_job_queue_start(q);
    g_assert_true(ui_test_wait_job_state(a, TSR_JOB_RUNNING, 20000));
    /* a runs; b waits in the runner: editing b takes it back and hands the new spec over */
    *spec = tessera_job_get_row(a)->spec;
    g_assert_false(tessera_job_queue_set_job_spec(q, a, spec));
    g_assert_false(tessera_job_queue_is_editable(q, a));
    *spec = tessera_job_get_row(b)->spec;
    spec->crf = 30, spec->ten_bit = 1, spec->precision = TSR_PRECISION_FP32, spec->memory_budget = 3ull << 30;
    g_assert_true(tessera_job_queue_set_job_spec(q, b, spec));
    g_assert_true(ui_test_wait_job_state(c, TSR_JOB_DONE, 20000));
    g_assert_cmpint(tessera_job_get_state(b), ==, TSR_JOB_DONE); /* b still ran before c */
    g_autofree char *ran_b = seen_for("b.mp4"), *ran_c = seen_for("c.mp4");
    g_autofree char *want_b = g_strdup_printf("%s|libx264|30|1|%d|%" G_GUINT64_FORMAT "|0", tessera_job_get_output(b),
                                              (int)TSR_PRECISION_FP32, (guint64)3 << 30);
    g_autofree char *want_c = g_strdup_printf("%s|ffv1|-1|1|%d|0|256", c_out, (int)TSR_PRECISION_FP8_FAST);
    g_assert_cmpstr(ran_b, ==, want_b);
    g_assert_cmpstr(ran_c, ==, want_c);
    g_assert_true(g_file_test(c_out, G_FILE_TEST_IS_REGULAR));
    g_object_unref(q);
}

static gboolean dialog_gone(gpointer data) { return *(GtkWidget **)data == NULL; }

/* The window: Ctrl+E's action opens the dialog for the selected job; Apply stores the edit. */
static void test_window_dialog(void)
{
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *db = g_build_filename(dir, "q.db", NULL);
    g_autoptr(TesseraJobQueue) q = tessera_job_queue_new(db, fake_job, GINT_TO_POINTER(5), NULL);
    TesseraWindow *win = tessera_window_new(NULL, q);
    gtk_window_set_default_size(GTK_WINDOW(win), 1000, 600);
    gtk_window_present(GTK_WINDOW(win));
    g_autofree char *clip = ui_test_write_file(dir, "night.mp4", "clip");
    g_autoptr(GFile) f = g_file_new_for_path(clip);
    GFile *files[] = {f};
    g_assert_cmpuint(tessera_window_add_files(win, files, 1), ==, 1);
    g_autoptr(TesseraJob) job = g_list_model_get_item(G_LIST_MODEL(q), 0);
    GtkColumnView *cv = tessera_window_get_column_view(win);
    gtk_selection_model_select_item(gtk_column_view_get_model(cv), 0, TRUE);
    GAction *edit = g_action_map_lookup_action(G_ACTION_MAP(win), "job-edit");
    g_assert_true(g_action_get_enabled(edit));
    GtkWidget *d = tessera_window_edit_job(win, job);
    g_assert_nonnull(d);
    g_object_add_weak_pointer(G_OBJECT(d), (gpointer *)&d);
    GtkWidget *ed = adw_message_dialog_get_extra_child(ADW_MESSAGE_DIALOG(d));
    g_assert_true(TESSERA_IS_JOB_EDITOR(ed));
    g_assert_null(ui_test_find_unnamed(ed));
    select_format(ed, "mov-prores");
    gtk_editable_set_text(GTK_EDITABLE(field(ed, "Output name")), "night_master");
    ui_test_sleep(400);
    ui_test_screenshot(d, "job-editor", "dialog");
    adw_message_dialog_response(ADW_MESSAGE_DIALOG(d), "save"); /* what the Apply button emits */
    gtk_window_destroy(GTK_WINDOW(d)); /* the button would also close it */
    g_assert_true(ui_test_wait(dialog_gone, &d, 5000));
    g_autofree char *want = g_build_filename(dir, "night_master.mov", NULL);
    g_assert_cmpstr(tessera_job_get_output(job), ==, want);
    g_assert_cmpstr(tessera_job_get_row(job)->spec.codec, ==, "prores");
    g_assert_true(g_str_has_suffix(tessera_job_get_preset(job), " (edited)"));
    ui_test_sleep(200);
    ui_test_screenshot(GTK_WIDGET(win), "job-editor", "queue-edited");
    /* the run writes the edited output; a finished job is editable again (for a retry) */
    tessera_job_queue_start(q);
    g_assert_true(ui_test_wait_job_state(job, TSR_JOB_DONE, 20000));
    g_assert_true(g_action_get_enabled(edit));
    g_assert_true(g_file_test(want, G_FILE_TEST_IS_REGULAR));
    gtk_window_destroy(GTK_WINDOW(win));
}

int main(int argc, char **argv)
{
    ui_test_init(&argc, &argv);
    seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_test_add_func("/job-editor/round-trip-validation", test_round_trip_and_validation);
    g_test_add_func("/job-editor/queue-overrides-reach-the-run", test_queue_overrides_reach_the_run);
    g_test_add_func("/job-editor/window-dialog", test_window_dialog);
    return g_test_run();
}
