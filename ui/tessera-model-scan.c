/* Model discovery. The inspection reads only the file header (safetensors JSON / GGUF magic); a full
 * validation is the engine's tsr_model_open, done when a job loads the model. */
#include "tessera-model-scan.h"

#include <string.h>

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
    m->kind = g_strdup("SeedVR2 VAE, small (channels 32/32/64/64)");
    m->format = g_strdup("builtin");
    m->dtype = g_strdup("F32");
    return m;
}

static const char *dtype_in_header(const char *json)
{
    static const char *dtypes[] = {"\"BF16\"", "\"F16\"", "\"F32\"", "\"F8_E4M3\""};
    for (guint i = 0; i < G_N_ELEMENTS(dtypes); i++)
        if (strstr(json, dtypes[i])) return dtypes[i];
    return NULL;
}

/* Returns the JSON header, or NULL when the file is no safetensors file. */
static char *read_safetensors_header(GInputStream *in, guint64 file_size)
{
    guint8 len8[8];
    gsize got = 0;
    if (!g_input_stream_read_all(in, len8, 8, &got, NULL, NULL) || got != 8) return NULL;
    guint64 len = 0;
    for (int i = 7; i >= 0; i--) len = len << 8 | len8[i];
    if (len < 2 || len > 100u * 1024 * 1024 || len + 8 > file_size) return NULL;
    char *json = g_malloc0(len + 1);
    if (!g_input_stream_read_all(in, json, len, &got, NULL, NULL) || got != len || json[0] != '{') {
        g_free(json);
        return NULL;
    }
    return json;
}

static void inspect_safetensors(GInputStream *in, TesseraModelInfo *m)
{
    m->format = g_strdup("safetensors");
    g_autofree char *json = read_safetensors_header(in, m->size);
    if (!json) {
        m->kind = g_strdup("unknown");
        m->problem = g_strdup("not a valid safetensors file (bad header)");
        return;
    }
    const char *dt = dtype_in_header(json);
    m->dtype = dt ? g_strndup(dt + 1, strlen(dt) - 2) : g_strdup("?");
    gboolean vae = strstr(json, "decoder.conv_in") || strstr(json, "encoder.conv_in");
    m->kind = g_strdup(vae ? "SeedVR2 VAE" : "unknown");
    if (!vae) m->problem = g_strdup("no VAE encoder/decoder tensors in this file");
}

TesseraModelInfo *tessera_model_inspect(const char *path)
{
    g_autoptr(GFile) file = g_file_new_for_path(path);
    TesseraModelInfo *m = g_new0(TesseraModelInfo, 1);
    m->path = g_strdup(path);
    m->name = g_path_get_basename(path);
    g_autoptr(GFileInfo) fi = g_file_query_info(file, G_FILE_ATTRIBUTE_STANDARD_SIZE, 0, NULL, NULL);
    m->size = fi ? (guint64)g_file_info_get_size(fi) : 0;
    g_autoptr(GError) error = NULL;
    g_autoptr(GFileInputStream) in = g_file_read(file, NULL, &error);
    if (!in) {
        m->format = g_strdup("?"), m->kind = g_strdup("unknown"), m->problem = g_strdup(error->message);
        return m;
    }
    if (g_str_has_suffix(path, ".gguf")) {
        char magic[4] = {0};
        gsize got = 0;
        g_input_stream_read_all(G_INPUT_STREAM(in), magic, 4, &got, NULL, NULL);
        m->format = g_strdup("GGUF");
        m->kind = g_strdup(memcmp(magic, "GGUF", 4) == 0 ? "SeedVR2 VAE (GGUF)" : "unknown");
        m->dtype = g_strdup("?");
        if (memcmp(magic, "GGUF", 4) != 0) m->problem = g_strdup("not a GGUF file (bad magic)");
        return m;
    }
    inspect_safetensors(G_INPUT_STREAM(in), m);
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

static void scan_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    char **folders = data;
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)tessera_model_info_free);
    for (int i = 0; folders && folders[i]; i++) scan_folder(folders[i], out, cancellable);
    g_task_return_pointer(task, out, (GDestroyNotify)g_ptr_array_unref);
}

void tessera_model_scan_async(const char *const *folders, GCancellable *cancellable, GAsyncReadyCallback cb,
                              gpointer user_data)
{
    g_autoptr(GTask) task = g_task_new(NULL, cancellable, cb, user_data);
    g_task_set_source_tag(task, tessera_model_scan_async);
    g_task_set_task_data(task, g_strdupv((char **)folders), (GDestroyNotify)g_strfreev);
    g_task_run_in_thread(task, scan_thread);
}

GPtrArray *tessera_model_scan_finish(GAsyncResult *result, GError **error)
{
    return g_task_propagate_pointer(G_TASK(result), error);
}
