/* TesseraPreset: precision + VRAM budget + tile size + output format (a store tsr_preset as a GObject). */
#pragma once

#include <gio/gio.h>

#include "tessera.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_PRESET (tessera_preset_get_type())
G_DECLARE_FINAL_TYPE(TesseraPreset, tessera_preset, TESSERA, PRESET, GObject)

TesseraPreset *tessera_preset_new(const tsr_preset *p);
const tsr_preset *tessera_preset_get(TesseraPreset *self);
void tessera_preset_set(TesseraPreset *self, const tsr_preset *p);
const char *tessera_preset_get_name(TesseraPreset *self);
gboolean tessera_preset_is_builtin(TesseraPreset *self);
/* Every preset in the store, built-ins first (in display order) then the user's by name. */
GListStore *tessera_preset_list_load(tsr_store *store, GError **error);
typedef struct {
    const char *id;          /* tsr_job_spec.format / tsr_preset.format: "mp4-h264" */
    const char *extension;   /* output file name extension: "mp4" */
    const char *codec;       /* tsr_job_spec.codec for the media writer: "libx264"; "" for latents */
    const char *label;       /* for people: "H.264 (MP4)" */
    gboolean crf;            /* the codec takes a CRF */
    gboolean always_10bit;   /* the codec writes 10-bit whatever is asked */
} TesseraFormat;

/* Every output format the app offers, in display order. */
const TesseraFormat *tessera_formats(guint *n);
const TesseraFormat *tessera_format_find(const char *format); /* NULL when unknown */
/* File name extension for an output format ("mp4-h264" -> "mp4"). */
const char *tessera_format_extension(const char *format);
/* Set a preset's container and codec columns (and 10-bit for FFV1/ProRes) from its format. */
void tessera_format_sync(tsr_preset *p);
const char *tessera_precision_label(tsr_precision p);
/* One line: "BF16 · 8.0 GiB · tiles 256 px · mp4-h264 8-bit CRF 18". */
char *tessera_preset_dup_summary(TesseraPreset *self);
/* What a preset puts into a job spec: precision, memory budget, tile (tiling "always" without a tile edge:
 * 512 px), format, codec (from the format), CRF (CRF codecs only, else -1) and ten_bit. */
void tessera_preset_to_spec(const tsr_preset *p, tsr_job_spec *spec);
void tessera_preset_apply(TesseraPreset *self, tsr_job_spec *spec);

G_END_DECLS
