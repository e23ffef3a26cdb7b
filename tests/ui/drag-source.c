/* A tiny window that drags the files named on its command line (a GdkFileList): the source side of the
 * real XDND test (test-xdnd.sh). */
#include <gtk/gtk.h>

static GdkContentProvider *on_prepare(GtkDragSource *src, double x, double y, gpointer data)
{
    GSList *files = NULL;
    for (char **a = data; *a; a++) files = g_slist_append(files, g_file_new_for_path(*a));
    GdkFileList *list = gdk_file_list_new_from_list(files);
    GdkContentProvider *p = gdk_content_provider_new_typed(GDK_TYPE_FILE_LIST, list);
    g_boxed_free(GDK_TYPE_FILE_LIST, list);
    g_slist_free_full(files, g_object_unref);
    return p;
}

static void quit_cb(GtkWindow *w, gpointer loop) { g_main_loop_quit(loop); }

int main(int argc, char **argv)
{
    gtk_init();
    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    GtkWidget *win = gtk_window_new();
    gtk_window_set_title(GTK_WINDOW(win), "Tessera drag source");
    gtk_window_set_default_size(GTK_WINDOW(win), 300, 200);
    GtkWidget *label = gtk_label_new("Drag me");
    GtkDragSource *src = gtk_drag_source_new();
    gtk_drag_source_set_actions(src, GDK_ACTION_COPY);
    g_signal_connect(src, "prepare", G_CALLBACK(on_prepare), argv + 1);
    gtk_widget_add_controller(label, GTK_EVENT_CONTROLLER(src));
    gtk_window_set_child(GTK_WINDOW(win), label);
    g_signal_connect(win, "destroy", G_CALLBACK(quit_cb), loop);
    gtk_window_present(GTK_WINDOW(win));
    g_main_loop_run(loop);
    return argc > 1 ? 0 : 2;
}
