/* Scanning models folders off the main thread (async/finish), and a light inspection of each file. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
    char *path;
    char *name;
    char *kind;        /* tsr_model_kind_name: "full VAE", "decoder only", "not a SeedVR2 VAE"; "unreadable" */
    char *format;      /* "safetensors", "gguf", "builtin" */
    char *dtype;       /* the dtype of most parameters: "F16", "BF16", ... */
    guint64 size;
    char *problem;     /* NULL when there is nothing to say */
    gboolean usable;   /* a SeedVR2 VAE (or half of one) that jobs can load */
} TesseraModelInfo;

void tessera_model_info_free(TesseraModelInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TesseraModelInfo, tessera_model_info_free)
/* The built-in demo model (synthetic weights). */
TesseraModelInfo *tessera_model_info_builtin(void);
/* Inspect one file (blocking: call it off the main thread). */
TesseraModelInfo *tessera_model_inspect(const char *path);

/* folders, files: NULL-terminated (either may be NULL). Result: GPtrArray of TesseraModelInfo — the model
 * files in the folders, then each chosen file not already listed (a missing one with a problem). */
void tessera_model_scan_async(const char *const *folders, const char *const *files, GCancellable *cancellable,
                              GAsyncReadyCallback cb, gpointer user_data);
GPtrArray *tessera_model_scan_finish(GAsyncResult *result, GError **error);

G_END_DECLS
