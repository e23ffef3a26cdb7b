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

/* The output formats a preset (or a job override) can name: container + codec. The format is the truth
 * for both; a preset's container/codec columns are kept in step by the editor (tessera_format_sync). */
static const TesseraFormat formats[] = {
    {"mp4-h264", "mp4", "libx264", "H.264 (MP4)", TRUE, FALSE},
    {"mp4-hevc", "mp4", "libx265", "H.265/HEVC (MP4)", TRUE, FALSE},
    {"mkv-ffv1", "mkv", "ffv1", "FFV1 lossless 10-bit (MKV)", FALSE, TRUE},
    {"mov-prores", "mov", "prores", "ProRes 422 HQ 10-bit (MOV)", FALSE, TRUE},
    {"latent", "safetensors", "", "Latent (safetensors)", FALSE, FALSE},
};

const TesseraFormat *tessera_formats(guint *n)
{
    *n = G_N_ELEMENTS(formats);
    return formats;
}

const TesseraFormat *tessera_format_find(const char *format)
{
    for (guint i = 0; format && i < G_N_ELEMENTS(formats); i++)
        if (g_str_equal(formats[i].id, format)) return &formats[i];
    return NULL;
}

const char *tessera_format_extension(const char *format)
{
    const TesseraFormat *f = tessera_format_find(format);
    if (f) return f->extension;
    if (g_str_has_prefix(format, "mkv")) return "mkv";
    if (g_str_has_prefix(format, "mov")) return "mov";
    return "mp4";
}

void tessera_format_sync(tsr_preset *p)
{
    const TesseraFormat *f = tessera_format_find(p->format);
    if (!f) return;
    g_strlcpy(p->container, f->extension, sizeof p->container);
    g_strlcpy(p->codec, g_str_equal(f->codec, "prores") ? "prores_ks" : f->codec, sizeof p->codec);
    if (f->always_10bit) p->bit_depth = 10;
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
    const TesseraFormat *f = tessera_format_find(p->format);
    g_autofree char *quality = !f || !f->codec[0] ? g_strdup("")
                               : f->crf ? g_strdup_printf(" %d-bit CRF %d", p->bit_depth >= 10 ? 10 : 8, p->crf)
                                        : g_strdup(" 10-bit");
    return g_strdup_printf("%s · %s · %s · %s%s", tessera_precision_label(p->precision), budget, tile, p->format,
                           quality);
}

/* Tile edge for "always tile" when the preset names none: small enough for 8 GiB at 4K, few seams at 1080p. */
#define ALWAYS_TILE_DEFAULT 512

void tessera_preset_to_spec(const tsr_preset *p, tsr_job_spec *spec)
{
    spec->precision = p->precision;
    spec->memory_budget = p->vram_budget;
    spec->tile = p->tile > 0 ? p->tile : p->tiling == TSR_TILING_ALWAYS ? ALWAYS_TILE_DEFAULT : 0;
    g_strlcpy(spec->format, p->format, sizeof spec->format);
    const TesseraFormat *f = tessera_format_find(p->format);
    /* a format this build does not know: the pipeline derives the codec from it and the output's extension */
    g_strlcpy(spec->codec, f ? f->codec : "", sizeof spec->codec);
    spec->crf = f && f->crf && p->crf > 0 ? p->crf : -1;
    spec->ten_bit = (f && f->always_10bit) || p->bit_depth >= 10;
}

void tessera_preset_apply(TesseraPreset *self, tsr_job_spec *spec) { tessera_preset_to_spec(&self->preset, spec); }
