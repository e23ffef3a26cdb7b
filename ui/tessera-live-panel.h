/* TesseraLivePanel: the running job at a glance: VRAM used vs budget, tile map, frames, fps, ETA, preview. */
#pragma once

#include <gtk/gtk.h>

#include "tessera.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_LIVE_PANEL (tessera_live_panel_get_type())
G_DECLARE_FINAL_TYPE(TesseraLivePanel, tessera_live_panel, TESSERA, LIVE_PANEL, GtkBox)

GtkWidget *tessera_live_panel_new(void);
/* Feed one runner event; `runner` is used to fetch preview frames. */
void tessera_live_panel_update(TesseraLivePanel *self, tsr_runner *runner, const char *title, const tsr_event *ev);
void tessera_live_panel_reset(TesseraLivePanel *self);
/* Tile states for tests: 0 waiting, 1 running, 2 done. */
int tessera_live_panel_tile_state(TesseraLivePanel *self, int index);
const char *tessera_live_panel_get_status(TesseraLivePanel *self);

G_END_DECLS
