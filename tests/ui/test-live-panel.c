/* TesseraLivePanel: chunk map before a plan, tile map after, VRAM and numbers, preview. */
#include "tessera-live-panel.h"
#include "ui-test.h"

static void test_events(void)
{
    GtkWidget *win = gtk_window_new();
    TesseraLivePanel *panel = TESSERA_LIVE_PANEL(tessera_live_panel_new());
    gtk_window_set_child(GTK_WINDOW(win), GTK_WIDGET(panel));
    gtk_window_present(GTK_WINDOW(win));
    tsr_event ev = {.type = TSR_EVENT_STARTED, .job = 1};
    tessera_live_panel_update(panel, NULL, "clip.mp4", &ev);
    ev = (tsr_event){.type = TSR_EVENT_PROGRESS, .job = 1, .chunks_done = 2, .chunks_total = 5, .frames_done = 8,
                     .frames_total = 20, .mem_in_use = 1 << 30, .mem_budget = 4u << 30, .fps = 3, .eta_s = 4};
    g_strlcpy(ev.message, "decode", sizeof ev.message);
    tessera_live_panel_update(panel, NULL, "clip.mp4", &ev);
    g_assert_cmpint(tessera_live_panel_tile_state(panel, 0), ==, 2);
    g_assert_cmpint(tessera_live_panel_tile_state(panel, 2), ==, 1);
    g_assert_cmpint(tessera_live_panel_tile_state(panel, 3), ==, 0);
    g_assert_cmpstr(tessera_live_panel_get_status(panel), ==, "decode");
    ev = (tsr_event){.type = TSR_EVENT_PLAN, .job = 1, .tiles_x = 3, .tiles_y = 2, .chunks_total = 5};
    tessera_live_panel_update(panel, NULL, "clip.mp4", &ev);
    ev = (tsr_event){.type = TSR_EVENT_PROGRESS, .job = 1, .tile = 4, .tiles = 6, .chunks_total = 5};
    tessera_live_panel_update(panel, NULL, "clip.mp4", &ev);
    g_assert_cmpint(tessera_live_panel_tile_state(panel, 3), ==, 2);
    g_assert_cmpint(tessera_live_panel_tile_state(panel, 4), ==, 1);
    g_assert_cmpint(tessera_live_panel_tile_state(panel, 5), ==, 0);
    ev = (tsr_event){.type = TSR_EVENT_FINISHED, .job = 1};
    tessera_live_panel_update(panel, NULL, "clip.mp4", &ev);
    g_assert_cmpint(tessera_live_panel_tile_state(panel, 5), ==, 2);
    g_assert_null(ui_test_find_unnamed(GTK_WIDGET(panel)));
    gtk_window_destroy(GTK_WINDOW(win));
}

int main(int argc, char **argv)
{
    ui_test_init(&argc, &argv);
    g_test_add_func("/live-panel/events", test_events);
    return g_test_run();
}
