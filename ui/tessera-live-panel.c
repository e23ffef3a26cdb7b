/* The live panel. Until the planner emits tiles (PLAN), the map shows chunk progress, one cell per chunk. */
#include "tessera-live-panel.h"

#define MAX_CELLS 1024

struct _TesseraLivePanel {
    GtkBox parent_instance;
    GtkLabel *title, *status, *numbers;
    GtkLevelBar *vram;
    GtkLabel *vram_label;
    GtkDrawingArea *tiles;
    GtkPicture *preview;
    int cols, rows, cells, current, done;
    gboolean by_chunk;
};

G_DEFINE_FINAL_TYPE(TesseraLivePanel, tessera_live_panel, GTK_TYPE_BOX)

int tessera_live_panel_tile_state(TesseraLivePanel *self, int index)
{
    if (index < self->done) return 2;
    return index == self->current ? 1 : 0;
}

const char *tessera_live_panel_get_status(TesseraLivePanel *self) { return gtk_label_get_text(self->status); }

static void draw_tiles(GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
    TesseraLivePanel *self = data;
    if (self->cells <= 0) return;
    double cw = (double)width / self->cols, ch = (double)height / self->rows;
    for (int i = 0; i < self->cells; i++) {
        int s = tessera_live_panel_tile_state(self, i);
        if (s == 2) cairo_set_source_rgb(cr, 0.20, 0.63, 0.33);
        else if (s == 1) cairo_set_source_rgb(cr, 0.96, 0.76, 0.07);
        else cairo_set_source_rgba(cr, 0.5, 0.5, 0.5, 0.35);
        cairo_rectangle(cr, (i % self->cols) * cw + 1, (i / self->cols) * ch + 1, cw - 2, ch - 2);
        cairo_fill(cr);
    }
}

static GtkLabel *add_label(TesseraLivePanel *self, const char *css)
{
    GtkWidget *l = gtk_label_new("");
    gtk_label_set_xalign(GTK_LABEL(l), 0);
    gtk_label_set_wrap(GTK_LABEL(l), TRUE);
    if (css) gtk_widget_add_css_class(l, css);
    gtk_box_append(GTK_BOX(self), l);
    return GTK_LABEL(l);
}

static void tessera_live_panel_init(TesseraLivePanel *self)
{
    gtk_orientable_set_orientation(GTK_ORIENTABLE(self), GTK_ORIENTATION_VERTICAL);
    gtk_box_set_spacing(GTK_BOX(self), 8);
    gtk_widget_add_css_class(GTK_WIDGET(self), "live-panel");
    self->title = add_label(self, "heading");
    self->status = add_label(self, "dim-label");
    self->vram = GTK_LEVEL_BAR(gtk_level_bar_new_for_interval(0, 1));
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->vram), GTK_ACCESSIBLE_PROPERTY_LABEL, "VRAM used", -1);
    gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->vram));
    self->vram_label = add_label(self, "caption");
    self->tiles = GTK_DRAWING_AREA(gtk_drawing_area_new());
    gtk_widget_set_size_request(GTK_WIDGET(self->tiles), 220, 120);
    gtk_drawing_area_set_draw_func(self->tiles, draw_tiles, self, NULL);
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->tiles), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   "Tile map of the current frame", -1);
    gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->tiles));
    self->numbers = add_label(self, "numeric");
    self->preview = GTK_PICTURE(gtk_picture_new());
    gtk_widget_set_size_request(GTK_WIDGET(self->preview), 220, 124);
    gtk_picture_set_can_shrink(self->preview, TRUE);
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->preview), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   "Preview of the latest decoded frame", -1);
    gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->preview));
    tessera_live_panel_reset(self);
}

static void tessera_live_panel_class_init(TesseraLivePanelClass *klass)
{
    gtk_widget_class_set_accessible_role(GTK_WIDGET_CLASS(klass), GTK_ACCESSIBLE_ROLE_GROUP);
}

GtkWidget *tessera_live_panel_new(void) { return g_object_new(TESSERA_TYPE_LIVE_PANEL, NULL); }

void tessera_live_panel_reset(TesseraLivePanel *self)
{
    gtk_label_set_text(self->title, "No job running");
    gtk_label_set_text(self->status, "Drop clips or latent files on the window, then press Start.");
    gtk_label_set_text(self->vram_label, "VRAM —");
    gtk_label_set_text(self->numbers, "");
    gtk_level_bar_set_value(self->vram, 0);
    self->cols = self->rows = 1, self->cells = 0, self->current = -1, self->done = 0, self->by_chunk = TRUE;
    gtk_widget_queue_draw(GTK_WIDGET(self->tiles));
}

static void set_grid(TesseraLivePanel *self, int cols, int rows)
{
    self->cols = MAX(cols, 1), self->rows = MAX(rows, 1);
    self->cells = MIN(self->cols * self->rows, MAX_CELLS);
}

static void show_preview(TesseraLivePanel *self, tsr_runner *runner, guint64 job)
{
    int w = 0, h = 0;
    size_t need = tsr_runner_preview(runner, job, NULL, 0, &w, &h);
    if (!need) return;
    guint8 *buf = g_malloc(need);
    tsr_runner_preview(runner, job, buf, need, &w, &h);
    g_autoptr(GBytes) bytes = g_bytes_new_take(buf, need);
    g_autoptr(GdkTexture) tex = gdk_memory_texture_new(w, h, GDK_MEMORY_R8G8B8, bytes, (gsize)w * 3);
    gtk_picture_set_paintable(self->preview, GDK_PAINTABLE(tex));
}

static void show_progress(TesseraLivePanel *self, const tsr_event *ev)
{
    if (self->by_chunk && ev->chunks_total > 0) {
        set_grid(self, MIN(ev->chunks_total, 16), (ev->chunks_total + 15) / 16);
        self->done = ev->chunks_done, self->current = ev->chunks_done;
    } else if (self->by_chunk && ev->frames_total > 0) { /* no chunk count yet: 16 cells of frame progress */
        set_grid(self, 8, 2);
        self->done = (int)((int64_t)ev->frames_done * 16 / ev->frames_total), self->current = self->done;
    } else if (!self->by_chunk) {
        self->done = ev->tile, self->current = ev->tile;
        if (ev->tile >= self->cells) self->done = self->cells;
    }
    double budget = (double)ev->mem_budget;
    gtk_level_bar_set_value(self->vram, budget > 0 ? MIN((double)ev->mem_in_use / budget, 1.0) : 0);
    g_autofree char *used = g_format_size_full(ev->mem_in_use, G_FORMAT_SIZE_IEC_UNITS);
    g_autofree char *cap = ev->mem_budget ? g_format_size_full(ev->mem_budget, G_FORMAT_SIZE_IEC_UNITS)
                                          : g_strdup("auto");
    g_autofree char *vram = g_strdup_printf("VRAM %s of %s", used, cap);
    gtk_label_set_text(self->vram_label, vram);
    g_autofree char *eta = ev->eta_s >= 0 ? g_strdup_printf("%.0f s", ev->eta_s) : g_strdup("—");
    g_autofree char *chunk = ev->chunks_total > 0 ? g_strdup_printf(" · chunk %d / %d", ev->chunks_done,
                                                                    ev->chunks_total) : g_strdup("");
    g_autofree char *nums = g_strdup_printf("Frames %d / %d · %.1f fps%s · ETA %s", ev->frames_done, ev->frames_total,
                                            ev->fps, chunk, eta);
    gtk_label_set_text(self->numbers, nums);
    gtk_label_set_text(self->status, ev->message[0] ? ev->message : "working");
}

void tessera_live_panel_update(TesseraLivePanel *self, tsr_runner *runner, const char *title, const tsr_event *ev)
{
    switch (ev->type) {
    case TSR_EVENT_STARTED:
        tessera_live_panel_reset(self);
        gtk_label_set_text(self->title, title);
        gtk_label_set_text(self->status, "starting");
        break;
    case TSR_EVENT_PLAN:
        self->by_chunk = ev->tiles_x * ev->tiles_y <= 1;
        if (!self->by_chunk) set_grid(self, ev->tiles_x, ev->tiles_y);
        break;
    case TSR_EVENT_PROGRESS: show_progress(self, ev); break;
    case TSR_EVENT_PREVIEW: show_preview(self, runner, ev->job); break;
    case TSR_EVENT_FINISHED:
        self->done = self->cells, self->current = -1;
        gtk_label_set_text(self->status, "done");
        break;
    case TSR_EVENT_FAILED:
    case TSR_EVENT_CANCELLED: gtk_label_set_text(self->status, ev->message); break;
    default: break;
    }
    gtk_widget_queue_draw(GTK_WIDGET(self->tiles));
}
