/* Shared between tessera-window*.c. */
#pragma once

#include "tessera-history-view.h"
#include "tessera-window.h"

struct _TesseraWindow {
    AdwApplicationWindow parent_instance;
    AdwToastOverlay *toast_overlay;
    AdwViewStack *stack;
    GtkColumnView *column_view;
    GtkBox *options_box, *row_actions, *models_box, *history_box;
    GtkFrame *live_frame;
    GtkDropDown *preset_dropdown;
    GtkButton *output_button;
    GtkEntry *pattern_entry;
    TesseraLivePanel *live_panel;
    TesseraModelList *model_list;
    TesseraHistoryView *history_view;
    GtkSingleSelection *selection;
    GtkDropTarget *drop_target;
    TesseraJobQueue *queue;
    GListStore *presets;
    char *output_folder;
    char *last_toast;
};

void tessera_window_setup_dnd(TesseraWindow *self);
void tessera_window_setup_actions(TesseraWindow *self);
void tessera_window_update_actions(TesseraWindow *self);
TesseraJob *tessera_window_selected_job(TesseraWindow *self);
void tessera_window_load_presets(TesseraWindow *self);
