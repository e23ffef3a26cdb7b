/* Included by tessera-window-actions.c: user presets (new, edit, duplicate, delete), kept in the engine store. */

void tessera_window_load_presets(TesseraWindow *self)
{
    g_autoptr(GError) error = NULL;
    self->presets = tessera_preset_list_load(tessera_job_queue_get_store(self->queue), &error);
    if (!self->presets) {
        g_warning("presets: %s", error->message);
        self->presets = g_list_store_new(TESSERA_TYPE_PRESET);
    }
}

void tessera_window_select_preset(TesseraWindow *self, TesseraPreset *preset)
{
    guint pos;
    if (g_list_store_find(self->presets, preset, &pos)) gtk_drop_down_set_selected(self->preset_dropdown, pos);
}

/* Save p as a new preset, or over `replace` (a user preset; a new name renames it). */
static void store_preset(TesseraWindow *self, tsr_preset *p, TesseraPreset *replace)
{
    tsr_error err = {0};
    p->id = replace ? tessera_preset_get(replace)->id : 0;
    if (tsr_store_preset_save(tessera_job_queue_get_store(self->queue), p, &err) != TSR_OK) {
        tessera_window_toast(self, err.message);
        return;
    }
    if (replace) {
        tessera_preset_set(replace, p);
        guint pos;
        if (g_list_store_find(self->presets, replace, &pos))
            g_list_model_items_changed(G_LIST_MODEL(self->presets), pos, 1, 1);
        return;
    }
    g_autoptr(TesseraPreset) np = tessera_preset_new(p);
    g_list_store_append(self->presets, np);
    tessera_window_select_preset(self, np);
}

static void on_editor_response(AdwMessageDialog *d, const char *response, TesseraWindow *self)
{
    if (!g_str_equal(response, "save")) return;
    TesseraPresetEditor *ed = TESSERA_PRESET_EDITOR(adw_message_dialog_get_extra_child(d));
    TesseraPreset *replace = g_object_get_data(G_OBJECT(d), "replace");
    tsr_preset p;
    g_autoptr(GError) error = NULL;
    if (!tessera_preset_editor_save(ed, &p, &error)) {
        tessera_window_toast(self, error->message);
        return;
    }
    store_preset(self, &p, replace);
}

static void open_editor(TesseraWindow *self, const tsr_preset *start_from, TesseraPreset *replace)
{
    GtkWidget *d = adw_message_dialog_new(GTK_WINDOW(self), replace ? "Edit Preset" : "New Preset", NULL);
    adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(d), "cancel", "_Cancel", "save", "_Save", NULL);
    adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(d), "save", ADW_RESPONSE_SUGGESTED);
    GtkWidget *ed = tessera_preset_editor_new();
    tessera_preset_editor_load(TESSERA_PRESET_EDITOR(ed), start_from);
    adw_message_dialog_set_extra_child(ADW_MESSAGE_DIALOG(d), ed);
    if (replace) g_object_set_data_full(G_OBJECT(d), "replace", g_object_ref(replace), g_object_unref);
    g_signal_connect(d, "response", G_CALLBACK(on_editor_response), self);
    gtk_window_present(GTK_WINDOW(d));
}

static void preset_new(GSimpleAction *a, GVariant *v, gpointer data)
{
    TesseraWindow *self = data;
    tsr_preset p = *tessera_preset_get(tessera_window_get_preset(self));
    g_strlcpy(p.name, "My preset", sizeof p.name);
    p.id = 0;
    p.builtin = 0;
    open_editor(self, &p, NULL);
}

static void preset_edit(GSimpleAction *a, GVariant *v, gpointer data)
{
    TesseraWindow *self = data;
    TesseraPreset *cur = tessera_window_get_preset(self);
    if (tessera_preset_is_builtin(cur)) {
        tessera_window_toast(self, "Built-in presets cannot be changed: duplicate it first");
        return;
    }
    open_editor(self, tessera_preset_get(cur), cur);
}

static void preset_duplicate(GSimpleAction *a, GVariant *v, gpointer data)
{
    TesseraWindow *self = data;
    tsr_store *store = tessera_job_queue_get_store(self->queue);
    int64_t id = 0;
    tsr_preset p;
    tsr_error err = {0};
    /* the store names it "<name> (copy)", "<name> (copy 2)", ... */
    if (tsr_store_preset_duplicate(store, tessera_preset_get(tessera_window_get_preset(self))->id, NULL, &id,
                                   &err) != TSR_OK ||
        tsr_store_preset_get(store, id, &p, &err) != TSR_OK) {
        tessera_window_toast(self, err.message);
        return;
    }
    g_autoptr(TesseraPreset) np = tessera_preset_new(&p);
    g_list_store_append(self->presets, np);
    tessera_window_select_preset(self, np);
}

static void preset_delete(GSimpleAction *a, GVariant *v, gpointer data)
{
    TesseraWindow *self = data;
    TesseraPreset *cur = tessera_window_get_preset(self);
    guint pos;
    if (tessera_preset_is_builtin(cur)) {
        tessera_window_toast(self, "Built-in presets cannot be deleted");
        return;
    }
    tsr_error err = {0};
    if (tsr_store_preset_delete(tessera_job_queue_get_store(self->queue), tessera_preset_get(cur)->id, &err) !=
        TSR_OK) {
        tessera_window_toast(self, err.message);
        return;
    }
    if (g_list_store_find(self->presets, cur, &pos)) g_list_store_remove(self->presets, pos);
}
