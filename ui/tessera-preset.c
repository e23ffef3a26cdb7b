/* Presets: the built-in set and user presets (persisted by the queue store). */
#include "tessera-preset.h"

struct _TesseraPreset {
    GObject parent_instance;
    tsr_queue_preset preset;
};

G_DEFINE_FINAL_TYPE(TesseraPreset, tessera_preset, G_TYPE_OBJECT)

static void tessera_preset_class_init(TesseraPresetClass *klass) { (void)klass; }
static void tessera_preset_init(TesseraPreset *self) { (void)self; }

TesseraPreset *tessera_preset_new(const tsr_queue_preset *p)
{
    TesseraPreset *self = g_object_new(TESSERA_TYPE_PRESET, NULL);
    self->preset = *p;
    return self;
}

const tsr_queue_preset *tessera_preset_get(TesseraPreset *self) { return &self->preset; }
void tessera_preset_set(TesseraPreset *self, const tsr_queue_preset *p) { self->preset = *p; }
const char *tessera_preset_get_name(TesseraPreset *self) { return self->preset.name; }
gboolean tessera_preset_is_builtin(TesseraPreset *self) { return self->preset.builtin != 0; }

GListStore *tessera_preset_list_builtin(void)
{
    static const tsr_queue_preset builtins[] = {
        {"Fast — FP8", TSR_PRECISION_FP8_FAST, 0, 0, "mp4-h264", 1},
        {"Balanced — BF16", TSR_PRECISION_BF16, 0, 0, "mp4-h264", 1},
        {"Low VRAM — 8 GB", TSR_PRECISION_BF16, 8ull << 30, 256, "mp4-h264", 1},
        {"Master — ProRes/FFV1 10-bit", TSR_PRECISION_FP32, 0, 0, "mov-prores", 1},
    };
    GListStore *store = g_list_store_new(TESSERA_TYPE_PRESET);
    for (guint i = 0; i < G_N_ELEMENTS(builtins); i++) {
        g_autoptr(TesseraPreset) p = tessera_preset_new(&builtins[i]);
        g_list_store_append(store, p);
    }
    return store;
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
    const tsr_queue_preset *p = &self->preset;
    g_autofree char *budget = p->memory_budget ? g_format_size_full(p->memory_budget, G_FORMAT_SIZE_IEC_UNITS)
                                               : g_strdup("VRAM auto");
    g_autofree char *tile = p->tile ? g_strdup_printf("tiles %d px", p->tile) : g_strdup("tiles auto");
    return g_strdup_printf("%s · %s · %s · %s", tessera_precision_label(p->precision), budget, tile, p->format);
}

void tessera_preset_apply(TesseraPreset *self, tsr_job_spec *spec)
{
    spec->precision = self->preset.precision;
    spec->memory_budget = self->preset.memory_budget;
    spec->tile = self->preset.tile;
    g_strlcpy(spec->format, self->preset.format, sizeof spec->format);
}
