/* Form rows shared by the preset editor and the job editor: a labelled grid row (the label names the
 * control for assistive technology) and the output-format, precision and tiling choosers. */
#pragma once

#include <gtk/gtk.h>

#include "tessera-preset.h"

G_BEGIN_DECLS

/* Attach "label" (with mnemonic) and w at grid row `row`; w is LABELLED_BY the label. */
void tessera_form_add_row(GtkGrid *grid, int row, const char *label, GtkWidget *w);

GtkDropDown *tessera_form_format_new(void);          /* tessera_formats(), by label */
const char *tessera_form_format_get(GtkDropDown *d);  /* format id */
void tessera_form_format_set(GtkDropDown *d, const char *format);

GtkDropDown *tessera_form_precision_new(void);
tsr_precision tessera_form_precision_get(GtkDropDown *d);
void tessera_form_precision_set(GtkDropDown *d, tsr_precision p);

GtkDropDown *tessera_form_tiling_new(void);          /* automatic / exact only / always tile */
tsr_tiling_policy tessera_form_tiling_get(GtkDropDown *d);
void tessera_form_tiling_set(GtkDropDown *d, tsr_tiling_policy t);

/* CRF applies to CRF codecs only; 10-bit is fixed on for FFV1/ProRes and meaningless for latents: keep
 * those controls' sensitivity in step with the format chooser. */
void tessera_form_bind_format_controls(GtkDropDown *format, GtkWidget *crf, GtkWidget *ten_bit);

G_END_DECLS
