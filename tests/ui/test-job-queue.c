/* TesseraJobQueue: a GListModel persisted in SQLite and driven by a runner (fake job function). */
#include <string.h>

#include "ui-test.h"

typedef struct {
    int delay_ms;
    int fail;
} FakeJob;

static tsr_status fake_job(void *user, const tsr_job_spec *spec, tsr_job_ctx *ctx, tsr_error *err)
{
    const FakeJob *f = user;
    for (int i = 0; i < 10; i++) {
        g_usleep((gulong)f->delay_ms * 1000);
        tsr_progress p = {.stage = "fake", .chunks_done = i + 1, .chunks_total = 10, .frames_done = i + 1,
                          .frames_total = 10};
        if (tsr_job_ctx_progress(ctx, &p)) return TSR_ERR_CANCELLED;
    }
    if (f->fail) {
        g_strlcpy(err->message, "fake failure", sizeof err->message);
        return TSR_ERR_INPUT;
    }
    return g_file_set_contents(spec->output, "x", 1, NULL) ? TSR_OK : TSR_ERR_IO;
}

/* A built-in preset of the queue's store (0 Fast, 1 Balanced, 2 Low VRAM, 3 Master). */
static TesseraPreset *builtin(TesseraJobQueue *q, guint i)
{
    g_autoptr(GListStore) presets = tessera_preset_list_load(tessera_job_queue_get_store(q), NULL);
    g_assert_nonnull(presets);
    return g_list_model_get_item(G_LIST_MODEL(presets), i);
}

static void test_add_reject_persist(void)
{
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *db = g_build_filename(dir, "q.db", NULL);
    g_autofree char *clip = ui_test_write_file(dir, "a.mp4", "clip");
    g_autofree char *txt = ui_test_write_file(dir, "notes.txt", "no");
    FakeJob f = {1, 0};
    TesseraJobQueue *q = tessera_job_queue_new(db, fake_job, &f, NULL);
    g_assert_nonnull(q);
    g_autoptr(TesseraPreset) preset = builtin(q, 1);
    guint changes = 0;
    g_signal_connect_swapped(q, "items-changed", G_CALLBACK(g_atomic_int_inc), &changes);
    g_autoptr(GFile) cf = g_file_new_for_path(clip), tf = g_file_new_for_path(txt);
    g_autoptr(GError) error = NULL;
    TesseraJob *job = tessera_job_queue_add(q, cf, preset, &error);
    g_assert_nonnull(job);
    g_assert_null(tessera_job_queue_add(q, tf, preset, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
    g_assert_cmpuint(g_list_model_get_n_items(G_LIST_MODEL(q)), ==, 1);
    g_assert_cmpuint(changes, ==, 1);
    g_assert_cmpstr(tessera_job_get_preset(job), ==, "Balanced — BF16");
    g_autofree char *expected = g_build_filename(dir, "a_tessera.mp4", NULL);
    g_assert_cmpstr(tessera_job_get_output(job), ==, expected);
    /* per-job override: another preset for a job that has not started; output name and spec follow */
    g_autoptr(TesseraPreset) master = builtin(q, 3);
    tessera_job_queue_set_output(q, NULL, "{name}-{preset}.{ext}");
    g_assert_true(tessera_job_queue_set_job_preset(q, job, master));
    g_assert_true(g_str_has_suffix(tessera_job_get_output(job), ".mov"));
    g_assert_cmpint(tessera_job_get_row(job)->spec.precision, ==, TSR_PRECISION_BF16);
    g_assert_cmpstr(tessera_job_get_row(job)->spec.format, ==, "mov-prores");
    g_assert_cmpstr(tessera_job_get_preset(job), ==, "Master — ProRes/FFV1 10-bit");
    g_autofree char *master_out = g_strdup(tessera_job_get_output(job));
    g_object_unref(q); /* frees job */

    q = tessera_job_queue_new(db, fake_job, &f, NULL);
    g_assert_cmpuint(g_list_model_get_n_items(G_LIST_MODEL(q)), ==, 1);
    g_autoptr(TesseraJob) again = g_list_model_get_item(G_LIST_MODEL(q), 0);
    g_assert_cmpstr(tessera_job_get_input(again), ==, clip);
    g_assert_cmpint(tessera_job_get_state(again), ==, TSR_JOB_QUEUED);
    /* the per-job spec and preset survive the restart (the store's spec column) */
    g_assert_cmpstr(tessera_job_get_preset(again), ==, "Master — ProRes/FFV1 10-bit");
    g_assert_cmpstr(tessera_job_get_row(again)->spec.format, ==, "mov-prores");
    g_assert_cmpstr(tessera_job_get_output(again), ==, master_out);
    g_object_unref(q);
}

static void test_run_cancel_retry_move_remove(void)
{
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *db = g_build_filename(dir, "q.db", NULL);
    FakeJob f = {20, 0};
    g_autoptr(TesseraJobQueue) q = tessera_job_queue_new(db, fake_job, &f, NULL);
    g_autoptr(TesseraPreset) preset = builtin(q, 1);
    TesseraJob *jobs[3];
    for (int i = 0; i < 3; i++) {
        g_autofree char *name = g_strdup_printf("c%d.mkv", i);
        g_autofree char *path = ui_test_write_file(dir, name, "clip");
        g_autoptr(GFile) file = g_file_new_for_path(path);
        jobs[i] = tessera_job_queue_add(q, file, preset, NULL);
    }
    int finished = 0;
    g_signal_connect_swapped(q, "batch-finished", G_CALLBACK(g_atomic_int_inc), &finished);
    tessera_job_queue_move(q, jobs[2], -1);
    g_autoptr(TesseraJob) second = g_list_model_get_item(G_LIST_MODEL(q), 1);
    g_assert_true(second == jobs[2]);
    tessera_job_queue_start(q);
    g_assert_true(ui_test_wait_job_state(jobs[0], TSR_JOB_RUNNING, 10000));
    tessera_job_queue_cancel(q, jobs[1]);
    g_assert_true(ui_test_wait_job_state(jobs[1], TSR_JOB_CANCELLED, 10000));
    g_assert_true(ui_test_wait_job_state(jobs[0], TSR_JOB_DONE, 10000));
    g_assert_true(ui_test_wait_job_state(jobs[2], TSR_JOB_DONE, 10000));
    g_assert_true(g_file_test(tessera_job_get_output(jobs[0]), G_FILE_TEST_EXISTS));
    g_assert_cmpfloat(tessera_job_get_progress(jobs[0]), ==, 1.0);
    g_assert_cmpint(finished, >=, 1);
    tessera_job_queue_retry(q, jobs[1]);
    g_assert_true(ui_test_wait_job_state(jobs[1], TSR_JOB_DONE, 10000));
    g_autofree char *label = tessera_job_dup_state_label(jobs[1]);
    g_assert_cmpstr(label, ==, "done");
    tessera_job_queue_remove(q, jobs[1]);
    g_assert_cmpuint(g_list_model_get_n_items(G_LIST_MODEL(q)), ==, 2);

    /* finished jobs are in the same store's history */
    tsr_store_params sp;
    tsr_store_params_default(&sp);
    sp.path = db;
    sp.recover_interrupted = 0;
    tsr_store *store = NULL;
    g_assert_cmpint(tsr_store_open(&sp, &store, NULL), ==, TSR_OK);
    tsr_history_entry *hist = NULL;
    int n = 0;
    g_assert_cmpint(tsr_store_history_list(store, 0, &hist, &n, NULL), ==, TSR_OK);
    g_assert_cmpint(n, ==, 4); /* done, cancelled, done, done (retry) */
    tsr_store_free(hist);
    tsr_store_close(&store);
}

static void test_pause_and_interrupted(void)
{
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *db = g_build_filename(dir, "q.db", NULL);
    g_autofree char *path = ui_test_write_file(dir, "x.mov", "clip");
    g_autoptr(GFile) file = g_file_new_for_path(path);
    FakeJob f = {30, 0};
    TesseraJobQueue *q = tessera_job_queue_new(db, fake_job, &f, NULL);
    g_autoptr(TesseraPreset) preset = builtin(q, 1);
    TesseraJob *job = tessera_job_queue_add(q, file, preset, NULL);
    tessera_job_queue_start(q);
    g_assert_true(ui_test_wait_job_state(job, TSR_JOB_RUNNING, 10000));
    tessera_job_queue_set_paused(q, TRUE);
    g_assert_true(tessera_job_queue_get_paused(q));
    /* simulate a crash: the row says running and a partial output exists; reopening must recover it */
    char part[TSR_PATH_MAX + 8];
    tsr_job_partial_path(tessera_job_get_output(job), part, sizeof part);
    g_assert_true(g_file_set_contents(part, "half", -1, NULL));
    tsr_store_params sp;
    tsr_store_params_default(&sp); /* a second handle that recovers, like the app's next start */
    sp.path = db;
    tsr_store *other = NULL;
    g_assert_cmpint(tsr_store_open(&sp, &other, NULL), ==, TSR_OK);
    g_assert_cmpint(tsr_store_recovered_jobs(other), ==, 1);
    tsr_queue_item *row = g_new0(tsr_queue_item, 1);
    g_assert_cmpint(tsr_store_queue_get(other, tessera_job_get_row(job)->id, row, NULL), ==, TSR_OK);
    g_assert_cmpint(row->state, ==, TSR_JOB_INTERRUPTED);
    g_free(row);
    tsr_store_close(&other);
    g_assert_false(g_file_test(part, G_FILE_TEST_EXISTS));
    tessera_job_queue_set_paused(q, FALSE);
    g_object_unref(q);
}

int main(int argc, char **argv)
{
    ui_test_init(&argc, &argv);
    g_test_add_func("/job-queue/add-reject-persist", test_add_reject_persist);
    g_test_add_func("/job-queue/run-cancel-retry-move-remove", test_run_cancel_retry_move_remove);
    g_test_add_func("/job-queue/pause-interrupted", test_pause_and_interrupted);
    return g_test_run();
}
