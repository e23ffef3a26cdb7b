/* Model discovery off the main thread. Each file is described by the engine's tsr_model_inspect (header and
 * tensor table validated, kind derived from names and shapes; tensor data is not read). */
#include "tessera-model-scan.h"

#include <string.h>

#include <glib/gstdio.h>

#include "tessera.h"

void tessera_model_info_free(TesseraModelInfo *info)
{
    if (!info) return;
    g_free(info->path);
    g_free(info->name);
    g_free(info->kind);
    g_free(info->format);
    g_free(info->dtype);
    g_free(info->problem);
    g_free(info);
}

TesseraModelInfo *tessera_model_info_builtin(void)
{
    TesseraModelInfo *m = g_new0(TesseraModelInfo, 1);
    m->path = g_strdup("builtin:small");
    m->name = g_strdup("Built-in demo model (synthetic weights — noise-like output)");
    m->kind = g_strdup("full VAE, small (channels 32/32/64/64)");
    m->format = g_strdup("builtin");
    m->dtype = g_strdup("F32");
    m->usable = TRUE;
    return m;
}

/* The dtype holding most parameters ("F16" for ema_vae_fp16). */
static char *main_dtype(const tsr_model_report *r)
{
    int best = -1;
    for (int i = 0; i < r->dtype_count; i++)
        if (best < 0 || r->dtypes[i].params > r->dtypes[best].params) best = i;
    return g_strdup(best >= 0 ? r->dtypes[best].name : "?");
}

/* Why a file cannot be used (or NULL): the engine's explanation and its first problem. */
static char *problem_of(const tsr_model_report *r)
{
    if (r->kind != TSR_MODEL_NOT_VAE && r->problem_count == 0) return NULL;
    GString *s = g_string_new(r->explanation[0] ? r->explanation : "not a SeedVR2 VAE");
    if (r->problem_count > 0) g_string_append_printf(s, " (%s%s)", r->problems[0], r->problem_count > 1 ? ", …" : "");
    return g_string_free(s, FALSE);
}

TesseraModelInfo *tessera_model_inspect(const char *path)
{
    TesseraModelInfo *m = g_new0(TesseraModelInfo, 1);
    m->path = g_strdup(path);
    m->name = g_path_get_basename(path);
    GStatBuf st;
    m->size = g_stat(path, &st) == 0 ? (guint64)st.st_size : 0;
    tsr_model_report *r = NULL;
    tsr_error err = {0};
    /* the engine's full validation of the header and tensor table; no tensor data is read (no digest) */
    if (tsr_model_inspect(path, 0, &r, &err) != TSR_OK) {
        m->format = g_strdup(g_str_has_suffix(path, ".gguf") ? "gguf" : "safetensors");
        m->kind = g_strdup("unreadable");
        m->dtype = g_strdup("?");
        m->problem = g_strdup(err.message[0] ? err.message : "cannot read this file");
        return m;
    }
    m->format = g_strdup(tsr_model_format_name(r->format));
    m->kind = g_strdup(tsr_model_kind_name(r->kind));
    m->dtype = main_dtype(r);
    m->problem = problem_of(r);
    /* a usable half with problems (e.g. extra tensors) is still usable: only NOT_VAE blocks selection */
    m->usable = r->kind != TSR_MODEL_NOT_VAE;
    tsr_model_report_free(&r);
    return m;
}

static void scan_folder(const char *folder, GPtrArray *out, GCancellable *cancellable)
{
    g_autoptr(GDir) dir = g_dir_open(folder, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir)) && !g_cancellable_is_cancelled(cancellable)) {
        if (!g_str_has_suffix(name, ".safetensors") && !g_str_has_suffix(name, ".gguf")) continue;
        g_autofree char *path = g_build_filename(folder, name, NULL);
        g_ptr_array_add(out, tessera_model_inspect(path));
    }
}

typedef struct {
    char **folders, **files;
} ScanData;

static void scan_data_free(ScanData *d)
{
    g_strfreev(d->folders);
    g_strfreev(d->files);
    g_free(d);
}

static gboolean listed(GPtrArray *out, const char *path)
{
    for (guint i = 0; i < out->len; i++)
        if (g_str_equal(((TesseraModelInfo *)out->pdata[i])->path, path)) return TRUE;
    return FALSE;
}

static void scan_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    ScanData *d = data;
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)tessera_model_info_free);
    for (int i = 0; d->folders && d->folders[i]; i++) scan_folder(d->folders[i], out, cancellable);
    for (int i = 0; d->files && d->files[i] && !g_cancellable_is_cancelled(cancellable); i++) {
        if (listed(out, d->files[i])) continue;
        if (g_file_test(d->files[i], G_FILE_TEST_EXISTS)) {
            g_ptr_array_add(out, tessera_model_inspect(d->files[i]));
            continue;
        }
        TesseraModelInfo *m = g_new0(TesseraModelInfo, 1); /* chosen earlier, gone now: say so */
        m->path = g_strdup(d->files[i]);
        m->name = g_path_get_basename(d->files[i]);
        m->kind = g_strdup("missing"), m->format = g_strdup("?"), m->dtype = g_strdup("?");
        m->problem = g_strdup("the file no longer exists");
        g_ptr_array_add(out, m);
    }
    g_task_return_pointer(task, out, (GDestroyNotify)g_ptr_array_unref);
}

void tessera_model_scan_async(const char *const *folders, const char *const *files, GCancellable *cancellable,
                              GAsyncReadyCallback cb, gpointer user_data)
{
    g_autoptr(GTask) task = g_task_new(NULL, cancellable, cb, user_data);
    g_task_set_source_tag(task, tessera_model_scan_async);
    ScanData *d = g_new0(ScanData, 1);
    d->folders = g_strdupv((char **)folders);
    d->files = g_strdupv((char **)files);
    g_task_set_task_data(task, d, (GDestroyNotify)scan_data_free);
    g_task_run_in_thread(task, scan_thread);
}

GPtrArray *tessera_model_scan_finish(GAsyncResult *result, GError **error)
{
    return g_task_propagate_pointer(G_TASK(result), error);
}
