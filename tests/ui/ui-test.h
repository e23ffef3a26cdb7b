/* Shared helpers for the widget tests (GTest, under tests/ui/xvfb-run-test.sh). */
#pragma once

#include <adwaita.h>
#include <glib/gstdio.h>

#include "tessera-job-queue.h"

/* gtk + libadwaita, with the app's stylesheet not needed. */
static inline void ui_test_init(int *argc, char ***argv)
{
    g_test_init(argc, argv, NULL);
    gtk_init();
    adw_init();
}

/* Iterate the main loop until cond(data) or timeout_ms; returns cond's last value. */
static inline gboolean ui_test_wait(gboolean (*cond)(gpointer), gpointer data, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while (!cond(data) && g_get_monotonic_time() < end) g_main_context_iteration(NULL, FALSE), g_usleep(1000);
    return cond(data);
}

static inline void ui_test_sleep(int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (g_get_monotonic_time() < end) g_main_context_iteration(NULL, FALSE), g_usleep(1000);
}

static inline gboolean ui_test_job_in_state(gpointer data)
{
    TesseraJob *job = data;
    return tessera_job_get_state(job) == (tsr_job_state)GPOINTER_TO_INT(g_object_get_data(G_OBJECT(job), "want"));
}

/* Iterate the main loop until `job` reaches state `s` or timeout_ms; TRUE when it did. */
static inline gboolean ui_test_wait_job_state(TesseraJob *job, tsr_job_state s, int timeout_ms)
{
    g_object_set_data(G_OBJECT(job), "want", GINT_TO_POINTER(s));
    return ui_test_wait(ui_test_job_in_state, job, timeout_ms);
}

/* A fresh temporary directory under the wrapper's $TSR_TEST_TMP. */
static inline char *ui_test_tmpdir(void)
{
    const char *base = g_getenv("TSR_TEST_TMP");
    g_autofree char *tmpl = g_build_filename(base ? base : g_get_tmp_dir(), "t-XXXXXX", NULL);
    char *dir = g_mkdtemp(g_steal_pointer(&tmpl));
    g_assert_nonnull(dir);
    return dir;
}

static inline char *ui_test_write_file(const char *dir, const char *name, const char *content)
{
    char *path = g_build_filename(dir, name, NULL);
    g_assert_true(g_file_set_contents(path, content, -1, NULL));
    return path;
}

/* A placeholder input file `name` in `dir`, queued with `preset` (asserted to be accepted). */
static inline TesseraJob *ui_test_add_job(TesseraJobQueue *q, TesseraPreset *preset, const char *dir, const char *name)
{
    g_autofree char *path = ui_test_write_file(dir, name, "clip");
    g_autoptr(GFile) f = g_file_new_for_path(path);
    TesseraJob *job = tessera_job_queue_add(q, f, preset, NULL);
    g_assert_nonnull(job);
    return job;
}

/* A small full SeedVR2-shaped VAE file (channels 32/32/64/64, F16) written by tessera-cli make-model ($TSR_CLI);
 * NULL (and the test skipped) when the CLI is not there. */
static inline char *ui_test_make_model(const char *dir, const char *name)
{
    const char *cli = g_getenv("TSR_CLI");
    if (!cli || !g_file_test(cli, G_FILE_TEST_IS_EXECUTABLE)) return NULL;
    char *path = g_build_filename(dir, name, NULL);
    const char *argv[] = {cli, "make-model", "--config", "small", "-o", path, NULL};
    int status = 0;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                               &status, NULL));
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    return path;
}

/* Every interactive widget under `root` has an accessible name: a LABEL property, a LABELLED_BY relation
 * (not for buttons, which GTK labels by their child even when that is an icon), or a visible text label
 * (buttons, check buttons). Controls inside list rows are checked too. Returns the first offender's type name, or NULL. */
/* A non-empty GtkLabel inside w (what a screen reader reads for a button without a LABEL property). */
static inline gboolean ui_test_has_text_label(GtkWidget *w)
{
    for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
        if (GTK_IS_LABEL(c) && *gtk_label_get_text(GTK_LABEL(c))) return TRUE;
        if (ui_test_has_text_label(c)) return TRUE;
    }
    return FALSE;
}

static inline const char *ui_test_find_unnamed(GtkWidget *root)
{
    for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
        if (GTK_IS_WINDOW_CONTROLS(c) || GTK_IS_POPOVER(c)) continue;
        if (!gtk_widget_get_visible(c)) continue; /* hidden widgets are not exposed to assistive technologies */
        /* libadwaita's own toast widget: its close button has no name in 1.2, and it is not ours to name */
        if (g_str_equal(G_OBJECT_TYPE_NAME(c), "AdwToastWidget")) continue;
        gboolean interactive = GTK_IS_BUTTON(c) || GTK_IS_MENU_BUTTON(c) || GTK_IS_DROP_DOWN(c) ||
                               GTK_IS_ENTRY(c) || GTK_IS_SPIN_BUTTON(c) || GTK_IS_LIST_BOX(c) ||
                               GTK_IS_COLUMN_VIEW(c) || GTK_IS_LEVEL_BAR(c) || GTK_IS_PICTURE(c) ||
                               GTK_IS_DRAWING_AREA(c) || GTK_IS_CHECK_BUTTON(c) || GTK_IS_SWITCH(c) ||
                               GTK_IS_TEXT_VIEW(c) || GTK_IS_SCALE(c);
        if (!interactive) {
            const char *inner = ui_test_find_unnamed(c);
            if (inner) return inner;
            continue;
        }
        if (GTK_IS_LIST_BOX(c) || GTK_IS_COLUMN_VIEW(c)) { /* rows hold controls too (history, models) */
            const char *inner = ui_test_find_unnamed(c);
            if (inner) return inner;
        }
        if (gtk_test_accessible_has_property(GTK_ACCESSIBLE(c), GTK_ACCESSIBLE_PROPERTY_LABEL)) continue;
        /* GTK labels every button by its child, even an icon: for buttons only a text label counts */
        if (!GTK_IS_BUTTON(c) && gtk_test_accessible_has_relation(GTK_ACCESSIBLE(c), GTK_ACCESSIBLE_RELATION_LABELLED_BY))
            continue;
        if ((GTK_IS_BUTTON(c) || GTK_IS_CHECK_BUTTON(c)) && ui_test_has_text_label(c)) continue;
        g_autoptr(GString) path = g_string_new(G_OBJECT_TYPE_NAME(c));
        for (GtkWidget *p = gtk_widget_get_parent(c); p; p = gtk_widget_get_parent(p))
            g_string_prepend(g_string_prepend(path, " > "), G_OBJECT_TYPE_NAME(p));
        g_test_message("no accessible name: %s (tooltip %s)", path->str, gtk_widget_get_tooltip_text(c));
        return G_OBJECT_TYPE_NAME(c);
    }
    return NULL;
}

/* Render a widget to PNG through its own renderer (a screenshot that needs no X tools). */
static inline void ui_test_screenshot(GtkWidget *w, const char *prefix, const char *state)
{
    const char *dir = g_getenv("TSR_ARTEFACTS");
    if (!dir) return;
    g_mkdir_with_parents(dir, 0755);
    int wd = gtk_widget_get_width(w), ht = gtk_widget_get_height(w);
    if (wd <= 0 || ht <= 0) return;
    g_autoptr(GdkPaintable) p = gtk_widget_paintable_new(w);
    GtkSnapshot *s = gtk_snapshot_new();
    gdk_paintable_snapshot(p, s, wd, ht);
    GskRenderNode *node = gtk_snapshot_free_to_node(s);
    if (!node) return;
    GskRenderer *r = gtk_native_get_renderer(gtk_widget_get_native(w));
    g_autoptr(GdkTexture) t = gsk_renderer_render_texture(r, node, &GRAPHENE_RECT_INIT(0, 0, wd, ht));
    gsk_render_node_unref(node);
    g_autofree char *name = g_strdup_printf("%s-%s.png", prefix, state);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_assert_true(gdk_texture_save_to_png(t, path));
    g_test_message("screenshot: %s", path);
}
