/* Scanning models folders off the main thread (async/finish), and a light inspection of each file. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
    char *path;
    char *name;
    char *kind;        /* "SeedVR2 VAE", "unknown" */
    char *format;      /* "safetensors", "GGUF", "builtin" */
    char *dtype;       /* "F16", "BF16", ... */
    guint64 size;
    char *problem;     /* NULL when usable */
} TesseraModelInfo;

void tessera_model_info_free(TesseraModelInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TesseraModelInfo, tessera_model_info_free)
/* The built-in demo model (synthetic weights). */
TesseraModelInfo *tessera_model_info_builtin(void);
/* Inspect one file (blocking). */
TesseraModelInfo *tessera_model_inspect(const char *path);

/* folders: NULL-terminated. Result: GPtrArray of TesseraModelInfo (model files only). */
void tessera_model_scan_async(const char *const *folders, GCancellable *cancellable, GAsyncReadyCallback cb,
                              gpointer user_data);
GPtrArray *tessera_model_scan_finish(GAsyncResult *result, GError **error);

G_END_DECLS
