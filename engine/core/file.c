#include "core/file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

#ifdef _WIN32
#include <windows.h>
#include <io.h>
#include <wchar.h>

static wchar_t *utf8_to_wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
    if (n <= 0) return NULL;
    wchar_t *w = malloc((size_t)n * sizeof(wchar_t));
    if (w) MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
    return w;
}

FILE *tsr_fopen(const char *path, const char *mode)
{
    wchar_t *wp = utf8_to_wide(path), *wm = utf8_to_wide(mode);
    FILE *f = (wp && wm) ? _wfopen(wp, wm) : NULL;
    free(wp);
    free(wm);
    return f;
}

int tsr_rename_replace(const char *from, const char *to)
{
    wchar_t *a = utf8_to_wide(from), *b = utf8_to_wide(to);
    int ok = a && b && MoveFileExW(a, b, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
    free(a);
    free(b);
    return ok ? 0 : -1;
}

int tsr_remove(const char *path)
{
    wchar_t *w = utf8_to_wide(path);
    int ok = w && DeleteFileW(w);
    free(w);
    return ok ? 0 : -1;
}

static char *wide_to_utf8(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    if (n <= 0) return NULL;
    char *s = malloc((size_t)n);
    if (s) WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
    return s;
}

int tsr_mkdir(const char *path)
{
    wchar_t *w = utf8_to_wide(path);
    int ok = w && (CreateDirectoryW(w, NULL) || GetLastError() == ERROR_ALREADY_EXISTS);
    free(w);
    return ok ? 0 : -1;
}

char *tsr_user_data_dir(void)
{
    /* The environment block is UTF-16; _wgetenv keeps non-ASCII user names intact. */
    const wchar_t *base = _wgetenv(L"LOCALAPPDATA"), *rel = L"\\Tessera";
    if (!base || !*base) {
        base = _wgetenv(L"USERPROFILE");
        rel = L"\\AppData\\Local\\Tessera";
    }
    if (!base || !*base) return NULL;
    size_t n = wcslen(base) + wcslen(rel) + 1;
    wchar_t *w = malloc(n * sizeof *w);
    if (!w) return NULL;
    wcscpy(w, base);
    wcscat(w, rel);
    char *s = wide_to_utf8(w);
    free(w);
    return s;
}

tsr_status tsr_map_file(const char *path, void **data, size_t *size, tsr_error *err)
{
    wchar_t *wp = utf8_to_wide(path);
    if (!wp) return tsr_fail(err, TSR_ERR_IO, "%s: invalid path", path);
    HANDLE f = CreateFileW(wp, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    free(wp);
    if (f == INVALID_HANDLE_VALUE) return tsr_fail(err, TSR_ERR_IO, "%s: cannot open file", path);
    LARGE_INTEGER sz;
    if (!GetFileSizeEx(f, &sz)) {
        CloseHandle(f);
        return tsr_fail(err, TSR_ERR_IO, "%s: cannot read file size", path);
    }
    if (sz.QuadPart == 0) {
        CloseHandle(f);
        *data = malloc(1);
        *size = 0;
        return *data ? TSR_OK : tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    HANDLE m = CreateFileMappingW(f, NULL, PAGE_READONLY, 0, 0, NULL);
    CloseHandle(f);
    if (!m) return tsr_fail(err, TSR_ERR_IO, "%s: cannot map file", path);
    void *p = MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0);
    CloseHandle(m);
    if (!p) return tsr_fail(err, TSR_ERR_IO, "%s: cannot map file", path);
    *data = p;
    *size = (size_t)sz.QuadPart;
    return TSR_OK;
}

void tsr_unmap_file(void *data, size_t size)
{
    if (!data) return;
    if (size == 0) free(data);
    else UnmapViewOfFile(data);
}
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

FILE *tsr_fopen(const char *path, const char *mode) { return fopen(path, mode); }
int tsr_rename_replace(const char *from, const char *to) { return rename(from, to); }
int tsr_remove(const char *path) { return remove(path); }
int tsr_mkdir(const char *path) { return mkdir(path, 0777) == 0 || errno == EEXIST ? 0 : -1; }

char *tsr_user_data_dir(void)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    const char *base = xdg && *xdg == '/' ? xdg : home;
    const char *rel = xdg && *xdg == '/' ? "/tessera" : "/.local/share/tessera";
    if (!base || !*base) return NULL;
    size_t n = strlen(base) + strlen(rel) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s", base, rel);
    return s;
}

tsr_status tsr_map_file(const char *path, void **data, size_t *size, tsr_error *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return tsr_fail(err, TSR_ERR_IO, "%s: cannot open file (%s)", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tsr_fail(err, TSR_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        *data = malloc(1);
        *size = 0;
        return *data ? TSR_OK : tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return tsr_fail(err, TSR_ERR_IO, "%s: cannot map file (%s)", path, strerror(errno));
    *data = p;
    *size = (size_t)st.st_size;
    return TSR_OK;
}

void tsr_unmap_file(void *data, size_t size)
{
    if (!data) return;
    if (size == 0) free(data);
    else munmap(data, size);
}
#endif

tsr_status tsr_atomic_open(tsr_atomic_file *af, const char *path, tsr_error *err)
{
    memset(af, 0, sizeof *af);
    size_t n = strlen(path);
    af->final_path = tsr_strdup(path);
    af->temp_path = malloc(n + 32);
    if (!af->final_path || !af->temp_path) {
        tsr_atomic_abort(af);
        return tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    }
    static unsigned counter;
    snprintf(af->temp_path, n + 32, "%s.tmp-%x%x", path, (unsigned)(tsr_now() * 1000) & 0xffffu, ++counter);
    af->fp = tsr_fopen(af->temp_path, "wb");
    if (!af->fp) {
        tsr_status st = tsr_fail(err, TSR_ERR_IO, "%s: cannot create output file (%s)", path, strerror(errno));
        free(af->temp_path);
        af->temp_path = NULL;
        tsr_atomic_abort(af);
        return st;
    }
    return TSR_OK;
}

tsr_status tsr_atomic_commit(tsr_atomic_file *af, tsr_error *err)
{
    int bad = ferror(af->fp);
    bad |= fclose(af->fp) != 0;
    af->fp = NULL;
    if (bad) {
        tsr_status st = tsr_fail(err, TSR_ERR_IO, "%s: write failed", af->final_path);
        tsr_atomic_abort(af);
        return st;
    }
    if (tsr_rename_replace(af->temp_path, af->final_path) != 0) {
        tsr_status st = tsr_fail(err, TSR_ERR_IO, "%s: cannot rename temporary file into place", af->final_path);
        tsr_atomic_abort(af);
        return st;
    }
    free(af->temp_path);
    free(af->final_path);
    memset(af, 0, sizeof *af);
    return TSR_OK;
}

void tsr_atomic_abort(tsr_atomic_file *af)
{
    if (af->fp) fclose(af->fp);
    if (af->temp_path) tsr_remove(af->temp_path);
    free(af->temp_path);
    free(af->final_path);
    memset(af, 0, sizeof *af);
}
