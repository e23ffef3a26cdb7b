#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <unistd.h>
#endif

static tsr_log_fn g_log_fn;
static void *g_log_user;
static tsr_log_level g_log_max = TSR_LOG_WARN;

const char *tsr_status_name(tsr_status s)
{
    switch (s) {
    case TSR_OK: return "ok";
    case TSR_ERR_INVALID_ARG: return "invalid-argument";
    case TSR_ERR_IO: return "io";
    case TSR_ERR_FORMAT: return "format";
    case TSR_ERR_MODEL: return "model";
    case TSR_ERR_INPUT: return "input";
    case TSR_ERR_UNSUPPORTED: return "unsupported";
    case TSR_ERR_NOMEM: return "out-of-memory";
    case TSR_ERR_DEVICE_OOM: return "device-out-of-memory";
    case TSR_ERR_BACKEND: return "backend";
    case TSR_ERR_NO_DEVICE: return "no-device";
    case TSR_ERR_CANCELLED: return "cancelled";
    case TSR_ERR_STORE: return "store";
    case TSR_ERR_INTERNAL: return "internal";
    }
    return "unknown";
}

void tsr_set_log_callback(tsr_log_fn fn, void *user, tsr_log_level max_level)
{
    g_log_fn = fn;
    g_log_user = user;
    g_log_max = max_level;
}

void tsr_log(tsr_log_level level, const char *fmt, ...)
{
    if (!g_log_fn || level > g_log_max) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g_log_fn(g_log_user, level, buf);
}

tsr_status tsr_fail(tsr_error *err, tsr_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

void tsr_error_prefix(tsr_error *err, const char *fmt, ...)
{
    if (!err) return;
    char prefix[TSR_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[TSR_ERROR_MESSAGE_MAX];
    memcpy(old, err->message, sizeof old);
    old[sizeof old - 1] = 0;
    snprintf(err->message, sizeof err->message, "%s%s", prefix, old);
}

void tsr_error_clear(tsr_error *err)
{
    if (!err) return;
    err->status = TSR_OK;
    err->message[0] = 0;
}

void *tsr_malloc(size_t n, tsr_error *err)
{
    void *p = malloc(n ? n : 1);
    if (!p) tsr_fail(err, TSR_ERR_NOMEM, "out of host memory (%zu bytes)", n);
    return p;
}

void *tsr_calloc(size_t count, size_t size, tsr_error *err)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) tsr_fail(err, TSR_ERR_NOMEM, "out of host memory (%zu x %zu bytes)", count, size);
    return p;
}

char *tsr_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

double tsr_now(void)
{
#ifdef _WIN32
    /* MinGW's msvcrt has no timespec_get; the performance counter is monotonic as well. */
    LARGE_INTEGER freq, t;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart / (double)freq.QuadPart;
#else
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
#endif
}

int tsr_cpu_count(void)
{
#ifdef _WIN32
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwNumberOfProcessors > 0 ? (int)si.dwNumberOfProcessors : 1;
#else
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
#endif
}

uint64_t tsr_physical_memory(void)
{
#ifdef _WIN32
    MEMORYSTATUSEX ms;
    ms.dwLength = sizeof ms;
    return GlobalMemoryStatusEx(&ms) ? (uint64_t)ms.ullTotalPhys : 0;
#elif defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
#else
    return 0;
#endif
}
