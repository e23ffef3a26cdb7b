/* Presets: the store's built-ins and the user's own, as GObjects. */
#include "tessera-preset.h"

struct _TesseraPreset {
    GObject parent_instance;
    tsr_preset preset;
};

G_DEFINE_FINAL_TYPE(TesseraPreset, tessera_preset, G_TYPE_OBJECT)

static void tessera_preset_class_init(TesseraPresetClass *klass) { (void)klass; }
static void tessera_preset_init(TesseraPreset *self) { (void)self; }

TesseraPreset *tessera_preset_new(const tsr_preset *p)
{
    TesseraPreset *self = g_object_new(TESSERA_TYPE_PRESET, NULL);
    self->preset = *p;
    return self;
}

const tsr_preset *tessera_preset_get(TesseraPreset *self) { return &self->preset; }
void tessera_preset_set(TesseraPreset *self, const tsr_preset *p) { self->preset = *p; }
const char *tessera_preset_get_name(TesseraPreset *self) { return self->preset.name; }
gboolean tessera_preset_is_builtin(TesseraPreset *self) { return self->preset.builtin != 0; }

GListStore *tessera_preset_list_load(tsr_store *store, GError **error)
{
    tsr_preset *all = NULL;
    int n = 0;
    tsr_error err = {0};
    if (tsr_store_presets_list(store, &all, &n, &err) != TSR_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
        return NULL;
    }
    GListStore *list = g_list_store_new(TESSERA_TYPE_PRESET);
    for (int i = 0; i < n; i++) {
        g_autoptr(TesseraPreset) p = tessera_preset_new(&all[i]);
        g_list_store_append(list, p);
    }
    tsr_store_free(all);
    return list;
}

const char *tessera_format_extension(const char *format)
{
    if (g_str_has_prefix(format, "mkv")) return "mkv";
    if (g_str_has_prefix(format, "mov")) return "mov";
    if (g_str_equal(format, "latent")) return "safetensors";
    return "mp4";
}

const char *tessera_precision_label(tsr_precision p)
{
    switch (p) {
    case TSR_PRECISION_FP32: return "FP32";
    case TSR_PRECISION_BF16: return "BF16";
    case TSR_PRECISION_FP16: return "FP16";
    case TSR_PRECISION_FP8_FAST: return "FP8 fast";
    case TSR_PRECISION_FP8_QUALITY: return "FP8 quality";
    default: return "auto";
    }
}

char *tessera_preset_dup_summary(TesseraPreset *self)
{
    const tsr_preset *p = &self->preset;
    g_autofree char *budget = p->vram_budget ? g_format_size_full(p->vram_budget, G_FORMAT_SIZE_IEC_UNITS)
                                               : g_strdup("VRAM auto");
    g_autofree char *tile = p->tile ? g_strdup_printf("tiles %d px", p->tile) : g_strdup("tiles auto");
    return g_strdup_printf("%s · %s · %s · %s", tessera_precision_label(p->precision), budget, tile, p->format);
}

void tessera_preset_apply(TesseraPreset *self, tsr_job_spec *spec)
{
    spec->precision = self->preset.precision;
    spec->memory_budget = self->preset.vram_budget;
    spec->tile = self->preset.tile;
    g_strlcpy(spec->format, self->preset.format, sizeof spec->format);
}
