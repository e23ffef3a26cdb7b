/* Model discovery: the per-platform default models folder and a scan of folders for model files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/file.h"
#include "tessera.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <dirent.h>
#endif

#ifdef _WIN32
static char *wide_to_utf8(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s = n > 0 ? malloc((size_t)n) : NULL;
    if (s) WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
    return s;
}

static wchar_t *utf8_to_wide_dup(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
    wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
    if (w) MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
    return w;
}
#endif

/* The models folder lives in the per-user data folder of core/file.h (one definition of that folder). */
tsr_status tsr_models_default_dir(char *buf, size_t size, tsr_error *err)
{
    char *base = tsr_user_data_dir();
    if (!base) return tsr_fail(err, TSR_ERR_IO, "no per-user data folder (HOME / LOCALAPPDATA unset): no default models folder");
#ifdef _WIN32
    int n = snprintf(buf, size, "%s\\models", base);
#else
    int n = snprintf(buf, size, "%s/models", base);
#endif
    free(base);
    if (n < 0 || (size_t)n >= size) return tsr_fail(err, TSR_ERR_INVALID_ARG, "default models folder path is too long");
    return TSR_OK;
}

static int has_model_ext(const char *name)
{
    static const char *ext[] = {".safetensors", ".gguf"};
    size_t n = strlen(name);
    for (size_t i = 0; i < TSR_ARRAY_LEN(ext); i++) {
        size_t k = strlen(ext[i]);
        if (n > k) {
            size_t j = 0;
            while (j < k && (name[n - k + j] | 0x20) == (ext[i][j] | 0x20)) j++;
            if (j == k) return 1;
        }
    }
    return 0;
}

typedef struct names {
    char **v;
    int n, cap;
    int nomem;
} names;

static void names_add(names *l, const char *dir, const char *file)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) {
            l->nomem = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    size_t len = strlen(dir) + strlen(file) + 2;
    char *p = malloc(len);
    if (!p) {
        l->nomem = 1;
        return;
    }
#ifdef _WIN32
    snprintf(p, len, "%s\\%s", dir, file);
#else
    snprintf(p, len, "%s/%s", dir, file);
#endif
    l->v[l->n++] = p;
}

/* Add dir's model files to `l`; a missing or unreadable folder adds nothing. */
static void list_dir(const char *dir, names *l)
{
#ifdef _WIN32
    size_t len = strlen(dir) + 3;
    char *pat = malloc(len);
    if (!pat) return;
    snprintf(pat, len, "%s\\*", dir);
    wchar_t *wpat = utf8_to_wide_dup(pat);
    free(pat);
    if (!wpat) return;
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileW(wpat, &fd);
    free(wpat);
    if (h == INVALID_HANDLE_VALUE) return;
    do {
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) continue;
        char *name = wide_to_utf8(fd.cFileName);
        if (name && has_model_ext(name)) names_add(l, dir, name);
        free(name);
    } while (FindNextFileW(h, &fd));
    FindClose(h);
#else
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && has_model_ext(e->d_name)) names_add(l, dir, e->d_name);
    closedir(d);
#endif
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void describe(tsr_model_entry *e)
{
    tsr_error err = {0};
    tsr_model_report *r = NULL;
    if (tsr_model_inspect(e->path, 0, &r, &err) != TSR_OK) {
        e->error = tsr_strdup(err.message);
        return;
    }
    e->file_size = r->file_size;
    e->format = r->format;
    e->kind = r->kind;
    if (r->kind == TSR_MODEL_NOT_VAE) e->error = tsr_strdup(r->explanation);
    tsr_model_report_free(&r);
}

tsr_status tsr_models_scan(int include_default, const char *const *dirs, int ndirs, tsr_model_list **out,
                           tsr_error *err)
{
    *out = NULL;
    names l = {0};
    if (include_default) {
        char def[1024];
        if (tsr_models_default_dir(def, sizeof def, NULL) == TSR_OK) list_dir(def, &l);
    }
    for (int i = 0; i < ndirs; i++) list_dir(dirs[i], &l);
    qsort(l.v, (size_t)l.n, sizeof *l.v, cmp_str);
    tsr_model_list *ml = calloc(1, sizeof *ml);
    if (ml && l.n) ml->items = calloc((size_t)l.n, sizeof *ml->items);
    if (l.nomem || !ml || (l.n && !ml->items)) {
        for (int i = 0; i < l.n; i++) free(l.v[i]);
        free(l.v);
        if (ml) free(ml->items);
        free(ml);
        return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
    }
    for (int i = 0; i < l.n; i++) {
        if (ml->count > 0 && strcmp(l.v[i], ml->items[ml->count - 1].path) == 0) { /* a folder given twice */
            free(l.v[i]);
            continue;
        }
        tsr_model_entry *e = &ml->items[ml->count++];
        e->path = l.v[i];
        describe(e);
    }
    free(l.v);
    *out = ml;
    return TSR_OK;
}

void tsr_model_list_free(tsr_model_list **list)
{
    if (!list || !*list) return;
    for (int i = 0; i < (*list)->count; i++) {
        free((*list)->items[i].path);
        free((*list)->items[i].error);
    }
    free((*list)->items);
    free(*list);
    *list = NULL;
}
