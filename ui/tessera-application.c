/* The application object. */
#include "tessera-application.h"

#include "tessera-preferences.h"
#include "tessera-settings.h"
#include "tessera-window.h"

struct _TesseraApplication {
    AdwApplication parent_instance;
    TesseraJobQueue *queue;
    tsr_job_fn job_fn;
    gpointer job_user;
    gboolean start_batch;
};

G_DEFINE_FINAL_TYPE(TesseraApplication, tessera_application, ADW_TYPE_APPLICATION)

void tessera_application_set_job_fn(TesseraApplication *self, tsr_job_fn fn, gpointer user)
{
    self->job_fn = fn, self->job_user = user;
}

static void activate(GApplication *app)
{
    TesseraApplication *self = TESSERA_APPLICATION(app);
    GtkWindow *win = gtk_application_get_active_window(GTK_APPLICATION(app));
    if (!win && self->queue) win = GTK_WINDOW(tessera_window_new(GTK_APPLICATION(app), self->queue));
    if (win) gtk_window_present(win);
}

/* Files on the command line (or from the desktop) become jobs with the current preset. */
static void open_files(GApplication *app, GFile **files, int n, const char *hint)
{
    activate(app);
    GtkWindow *win = gtk_application_get_active_window(GTK_APPLICATION(app));
    if (TESSERA_IS_WINDOW(win)) tessera_window_add_files(TESSERA_WINDOW(win), files, (guint)n);
    TesseraApplication *self = TESSERA_APPLICATION(app);
    if (self->start_batch && win) gtk_widget_activate_action(GTK_WIDGET(win), "win.start", NULL);
}

static int handle_local_options(GApplication *app, GVariantDict *options)
{
    TesseraApplication *self = TESSERA_APPLICATION(app);
    if (g_variant_dict_contains(options, "version")) {
        g_print("tessera %s\n", TSR_VERSION_STRING);
        return 0;
    }
    self->start_batch = g_variant_dict_contains(options, "start");
    return -1;
}

static void startup(GApplication *app)
{
    TesseraApplication *self = TESSERA_APPLICATION(app);
    G_APPLICATION_CLASS(tessera_application_parent_class)->startup(app);
    char db[TSR_STORE_PATH_MAX];
    tsr_error err = {0};
    g_autoptr(GError) error = NULL;
    /* the one store, shared with tessera-cli: queue, presets, history, tuned settings */
    if (tsr_store_default_path(db, sizeof db, &err) != TSR_OK) g_critical("cannot open the queue: %s", err.message);
    else self->queue = tessera_job_queue_new(db, self->job_fn, self->job_user, &error);
    if (!self->queue && error) g_critical("cannot open the queue: %s", error->message);
    int dark = tessera_settings_get_int("dark", 0);
    adw_style_manager_set_color_scheme(adw_style_manager_get_default(),
                                       dark ? ADW_COLOR_SCHEME_FORCE_DARK : ADW_COLOR_SCHEME_DEFAULT);
    GAction *a = g_action_map_lookup_action(G_ACTION_MAP(app), "dark-mode");
    g_simple_action_set_state(G_SIMPLE_ACTION(a), g_variant_new_boolean(dark));
    struct { const char *action; const char *accels[2]; } accels[] = {
        {"app.quit", {"<Control>q", NULL}},          {"app.preferences", {"<Control>comma", NULL}},
        {"win.add-files", {"<Control>o", NULL}},     {"win.start", {"<Control>Return", NULL}},
        {"win.pause", {"<Control>p", NULL}},         {"win.remove", {"Delete", NULL}},
        {"win.show-help-overlay", {"<Control>question", NULL}},
        {"win.job-edit", {"<Control>e", NULL}},      {"win.add-model-file", {"<Control><Shift>o", NULL}},
        {"win.move-up", {"<Alt>Up", NULL}},          {"win.move-down", {"<Alt>Down", NULL}},
        {"win.show-page('queue')", {"<Alt>1", NULL}}, {"win.show-page('models')", {"<Alt>2", NULL}},
        {"win.show-page('history')", {"<Alt>3", NULL}},
    };
    for (guint i = 0; i < G_N_ELEMENTS(accels); i++)
        gtk_application_set_accels_for_action(GTK_APPLICATION(self), accels[i].action, accels[i].accels);
}

static void shutdown_app(GApplication *app)
{
    TesseraApplication *self = TESSERA_APPLICATION(app);
    g_clear_object(&self->queue);
    G_APPLICATION_CLASS(tessera_application_parent_class)->shutdown(app);
}

static void quit(GSimpleAction *a, GVariant *p, gpointer app) { g_application_quit(app); }

static void about(GSimpleAction *a, GVariant *p, gpointer app)
{
    const char *developers[] = {"The Tessera developers", NULL};
    GtkWidget *w = adw_about_window_new();
    g_object_set(w, "application-name", "Tessera", "application-icon", "org.tessera.Tessera", "version",
                 TSR_VERSION_STRING, "developer-name", "The Tessera developers", "license-type", GTK_LICENSE_APACHE_2_0,
                 "comments", "Runs the SeedVR2 video VAE (encoder and decoder) offline, on the GPU or the CPU.",
                 "developers", developers, "transient-for", gtk_application_get_active_window(app), NULL);
    gtk_window_present(GTK_WINDOW(w));
}

static void preferences(GSimpleAction *a, GVariant *p, gpointer app)
{
    gtk_window_present(GTK_WINDOW(tessera_preferences_new(gtk_application_get_active_window(app))));
}

static void dark_mode(GSimpleAction *a, GVariant *state, gpointer app)
{
    g_simple_action_set_state(a, state);
    gboolean dark = g_variant_get_boolean(state);
    adw_style_manager_set_color_scheme(adw_style_manager_get_default(),
                                       dark ? ADW_COLOR_SCHEME_FORCE_DARK : ADW_COLOR_SCHEME_DEFAULT);
    tessera_settings_set_int("dark", dark);
}

static const GActionEntry app_actions[] = {
    {"quit", quit, NULL, NULL, NULL},
    {"about", about, NULL, NULL, NULL},
    {"preferences", preferences, NULL, NULL, NULL},
    {"dark-mode", NULL, NULL, "false", dark_mode},
};

static void tessera_application_class_init(TesseraApplicationClass *klass)
{
    GApplicationClass *ac = G_APPLICATION_CLASS(klass);
    ac->activate = activate;
    ac->startup = startup;
    ac->shutdown = shutdown_app;
    ac->open = open_files;
    ac->handle_local_options = handle_local_options;
}

static void tessera_application_init(TesseraApplication *self)
{
    const GOptionEntry entries[] = {
        {"start", 's', 0, G_OPTION_ARG_NONE, NULL, "Start the batch at once", NULL},
        {"version", 0, 0, G_OPTION_ARG_NONE, NULL, "Print the version", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    g_application_add_main_option_entries(G_APPLICATION(self), entries);
    g_action_map_add_action_entries(G_ACTION_MAP(self), app_actions, G_N_ELEMENTS(app_actions), self);
}

TesseraApplication *tessera_application_new(void)
{
    return g_object_new(TESSERA_TYPE_APPLICATION, "application-id", "org.tessera.Tessera", "flags",
                        G_APPLICATION_NON_UNIQUE | G_APPLICATION_HANDLES_OPEN, "resource-base-path", "/org/tessera/Tessera", NULL);
}
