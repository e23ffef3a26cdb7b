/* TesseraPresetEditor and TesseraPreset: round trip, validation, built-ins, accessible names. */
#include "tessera-job-queue.h"
#include "tessera-preset-editor.h"
#include "ui-test.h"

static void test_round_trip(void)
{
    GtkWidget *win = gtk_window_new();
    GtkWidget *ed = tessera_preset_editor_new();
    gtk_window_set_child(GTK_WINDOW(win), ed);
    gtk_window_present(GTK_WINDOW(win));
    tsr_preset in;
    tsr_preset_default(&in);
    g_strlcpy(in.name, "Night batch", sizeof in.name);
    g_strlcpy(in.format, "mkv-ffv1", sizeof in.format);
    g_strlcpy(in.codec, "ffv1", sizeof in.codec);
    in.id = 7, in.builtin = 1, in.precision = TSR_PRECISION_FP16, in.vram_budget = 12ull << 30, in.tile = 512;
    in.bit_depth = 10;
    tessera_preset_editor_load(TESSERA_PRESET_EDITOR(ed), &in);
    tsr_preset out;
    g_autoptr(GError) error = NULL;
    g_assert_true(tessera_preset_editor_save(TESSERA_PRESET_EDITOR(ed), &out, &error));
    g_assert_cmpstr(out.name, ==, "Night batch");
    g_assert_cmpint(out.precision, ==, TSR_PRECISION_FP16);
    g_assert_cmpuint(out.vram_budget, ==, 12ull << 30);
    g_assert_cmpint(out.tile, ==, 512);
    g_assert_cmpstr(out.format, ==, "mkv-ffv1");
    g_assert_cmpint(out.builtin, ==, 0);
    g_assert_cmpint(out.id, ==, 0);
    g_assert_cmpint(out.bit_depth, ==, 10);
    g_assert_cmpstr(out.codec, ==, "ffv1"); /* container and codec follow the format */
    g_assert_cmpstr(out.container, ==, "mkv");
    g_assert_null(ui_test_find_unnamed(ed));
    gtk_window_destroy(GTK_WINDOW(win));
}

static void test_empty_name_rejected(void)
{
    GtkWidget *ed = g_object_ref_sink(tessera_preset_editor_new());
    tsr_preset in;
    tsr_preset_default(&in);
    g_strlcpy(in.name, "  ", sizeof in.name);
    g_strlcpy(in.format, "latent", sizeof in.format);
    tessera_preset_editor_load(TESSERA_PRESET_EDITOR(ed), &in);
    tsr_preset out;
    g_autoptr(GError) error = NULL;
    g_assert_false(tessera_preset_editor_save(TESSERA_PRESET_EDITOR(ed), &out, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_object_unref(ed);
}

static void test_builtins(void)
{
    /* the built-ins come from the engine store (schema migrations), like the CLI's */
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *path = g_build_filename(dir, "tessera.db", NULL);
    tsr_store_params sp;
    tsr_store_params_default(&sp);
    sp.path = path;
    tsr_store *db = NULL;
    g_assert_cmpint(tsr_store_open(&sp, &db, NULL), ==, TSR_OK);
    g_autoptr(GListStore) store = tessera_preset_list_load(db, NULL);
    tsr_store_close(&db);
    g_assert_nonnull(store);
    const char *names[] = {"Fast — FP8", "Balanced — BF16", "Low VRAM — 8 GB", "Master — ProRes/FFV1 10-bit"};
    g_assert_cmpuint(g_list_model_get_n_items(G_LIST_MODEL(store)), ==, 4);
    for (guint i = 0; i < 4; i++) {
        g_autoptr(TesseraPreset) p = g_list_model_get_item(G_LIST_MODEL(store), i);
        g_assert_cmpstr(tessera_preset_get_name(p), ==, names[i]);
        g_assert_true(tessera_preset_is_builtin(p));
    }
    g_autoptr(TesseraPreset) low = g_list_model_get_item(G_LIST_MODEL(store), 2);
    g_autofree char *summary = tessera_preset_dup_summary(low);
    g_assert_true(g_str_has_prefix(summary, "BF16 · 8.0"));
    g_assert_true(g_str_has_suffix(summary, "GiB · tiles 256 px · mp4-h264 8-bit CRF 18"));
    g_autoptr(TesseraPreset) master = g_list_model_get_item(G_LIST_MODEL(store), 3);
    g_autofree char *msum = tessera_preset_dup_summary(master);
    g_assert_cmpstr(msum, ==, "BF16 · VRAM auto · tiles auto · mov-prores 10-bit");
    g_assert_cmpstr(tessera_format_extension("mp4-hevc"), ==, "mp4");
    g_assert_cmpstr(tessera_format_extension("mov-prores"), ==, "mov");
    g_assert_cmpstr(tessera_format_extension("latent"), ==, "safetensors");
}

/* The editor's CRF / bit depth / tiling controls, and a format change rewriting container + codec. */
static void test_codec_controls(void)
{
    GtkWidget *ed = g_object_ref_sink(tessera_preset_editor_new());
    tsr_preset in;
    tsr_preset_default(&in);
    g_strlcpy(in.name, "Web", sizeof in.name);
    in.crf = 23, in.bit_depth = 8, in.tiling = TSR_TILING_ALWAYS;
    tessera_preset_editor_load(TESSERA_PRESET_EDITOR(ed), &in);
    tsr_preset out;
    g_assert_true(tessera_preset_editor_save(TESSERA_PRESET_EDITOR(ed), &out, NULL));
    g_assert_cmpint(out.crf, ==, 23);
    g_assert_cmpint(out.bit_depth, ==, 8);
    g_assert_cmpint(out.tiling, ==, TSR_TILING_ALWAYS);
    g_assert_cmpstr(out.codec, ==, "libx264");
    g_strlcpy(in.format, "mov-prores", sizeof in.format); /* ProRes is 10-bit whatever was stored */
    tessera_preset_editor_load(TESSERA_PRESET_EDITOR(ed), &in);
    g_assert_true(tessera_preset_editor_save(TESSERA_PRESET_EDITOR(ed), &out, NULL));
    g_assert_cmpint(out.bit_depth, ==, 10);
    g_assert_cmpstr(out.codec, ==, "prores_ks");
    g_assert_cmpstr(out.container, ==, "mov");
    g_object_unref(ed);
}

typedef struct {
    const char *name, *format, *codec;
    tsr_precision precision;
    guint64 budget;
    int tile, crf, ten_bit;
    const char *ext;
} Expect;

/* Preset -> tsr_job_spec: every built-in's precision, budget, tile, format, codec, CRF and bit depth reach the
 * spec the runner gets (through the queue, as the app adds jobs), and the rules for the rest. */
static void test_builtins_to_spec(void)
{
    static const Expect want[] = {
        {"Fast — FP8", "mp4-h264", "libx264", TSR_PRECISION_FP8_FAST, 0, 0, 18, 0, ".mp4"},
        {"Balanced — BF16", "mp4-hevc", "libx265", TSR_PRECISION_BF16, 0, 0, 20, 1, ".mp4"},
        {"Low VRAM — 8 GB", "mp4-h264", "libx264", TSR_PRECISION_BF16, 8ull << 30, 256, 18, 0, ".mp4"},
        {"Master — ProRes/FFV1 10-bit", "mov-prores", "prores", TSR_PRECISION_BF16, 0, 0, -1, 1, ".mov"},
    };
    g_autofree char *dir = ui_test_tmpdir();
    g_autofree char *db = g_build_filename(dir, "tessera.db", NULL);
    g_autofree char *clip = ui_test_write_file(dir, "clip.mkv", "clip");
    g_autoptr(TesseraJobQueue) q = tessera_job_queue_new(db, NULL, NULL, NULL);
    g_assert_nonnull(q);
    g_autoptr(GListStore) presets = tessera_preset_list_load(tessera_job_queue_get_store(q), NULL);
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        g_autoptr(TesseraPreset) p = g_list_model_get_item(G_LIST_MODEL(presets), i);
        g_assert_cmpstr(tessera_preset_get_name(p), ==, want[i].name);
        g_autoptr(GFile) f = g_file_new_for_path(clip);
        TesseraJob *job = tessera_job_queue_add(q, f, p, NULL);
        const tsr_job_spec *s = &tessera_job_get_row(job)->spec;
        g_test_message("%s -> %s %s crf %d ten_bit %d", want[i].name, s->format, s->codec, s->crf, s->ten_bit);
        g_assert_cmpstr(s->format, ==, want[i].format);
        g_assert_cmpstr(s->codec, ==, want[i].codec);
        g_assert_cmpint(s->precision, ==, want[i].precision);
        g_assert_cmpuint(s->memory_budget, ==, want[i].budget);
        g_assert_cmpint(s->tile, ==, want[i].tile);
        g_assert_cmpint(s->crf, ==, want[i].crf);
        g_assert_cmpint(s->ten_bit, ==, want[i].ten_bit);
        g_assert_true(g_str_has_suffix(s->output, want[i].ext));
        g_assert_cmpstr(s->input, ==, clip);
    }
    /* tiling "always" without a tile edge gets one; a format this build does not know leaves the codec to
     * the pipeline (derived from the format and the output's extension) */
    tsr_preset p;
    tsr_preset_default(&p);
    p.tiling = TSR_TILING_ALWAYS, p.crf = 0;
    g_strlcpy(p.format, "webm-vp9", sizeof p.format);
    g_autofree tsr_job_spec *s = g_new0(tsr_job_spec, 1);
    tsr_job_spec_default(s);
    tessera_preset_to_spec(&p, s);
    g_assert_cmpint(s->tile, ==, 512);
    g_assert_cmpstr(s->codec, ==, "");
    g_assert_cmpint(s->crf, ==, -1);
    g_assert_cmpstr(s->format, ==, "webm-vp9");
}

int main(int argc, char **argv)
{
    ui_test_init(&argc, &argv);
    g_test_add_func("/preset-editor/round-trip", test_round_trip);
    g_test_add_func("/preset-editor/empty-name", test_empty_name_rejected);
    g_test_add_func("/preset/builtins", test_builtins);
    g_test_add_func("/preset-editor/codec-controls", test_codec_controls);
    g_test_add_func("/preset/builtins-to-spec", test_builtins_to_spec);
    return g_test_run();
}
