/* Internal helpers shared by every engine module: errors, logging, checked arithmetic. */
#ifndef TSR_CORE_COMMON_H
#define TSR_CORE_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera.h"

#if defined(__MINGW32__)
/* MinGW builds with __USE_MINGW_ANSI_STDIO (C99 %zu, %lld), whose format checking is gnu_printf. */
#define TSR_PRINTF(a, b) __attribute__((format(gnu_printf, a, b)))
#define TSR_UNUSED __attribute__((unused))
#elif defined(__GNUC__) || defined(__clang__)
#define TSR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define TSR_UNUSED __attribute__((unused))
#else
#define TSR_PRINTF(a, b)
#define TSR_UNUSED
#endif

#define TSR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TSR_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TSR_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Fill `err` (may be NULL) and return `status`, so that `return tsr_fail(err, ...)` reads naturally. */
tsr_status tsr_fail(tsr_error *err, tsr_status status, const char *fmt, ...) TSR_PRINTF(3, 4);
/* Prefix an existing error message with context ("file.safetensors: ..."). */
void tsr_error_prefix(tsr_error *err, const char *fmt, ...) TSR_PRINTF(2, 3);
void tsr_error_clear(tsr_error *err);

void tsr_log(tsr_log_level level, const char *fmt, ...) TSR_PRINTF(2, 3);

/* Overflow-checked size arithmetic: return false on overflow. */
static inline bool tsr_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}
static inline bool tsr_add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a) return false;
    *out = a + b;
    return true;
}

/* Allocation that reports failure through tsr_error. */
void *tsr_malloc(size_t n, tsr_error *err);
void *tsr_calloc(size_t count, size_t size, tsr_error *err);
char *tsr_strdup(const char *s);

/* Monotonic wall clock in seconds. */
double tsr_now(void);

/* Number of online CPU cores (at least 1). */
int tsr_cpu_count(void);

/* Physical RAM in bytes; 0 when the system does not say. */
uint64_t tsr_physical_memory(void);

#endif
