/* Minimal test harness: CHECK keeps going, REQUIRE stops the test; the program's exit status is the verdict
 * (0 pass, 1 fail, 77 skip — meson's conventions). */
#ifndef TSR_TEST_H
#define TSR_TEST_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tsr_test_failures;
static int tsr_test_checks;

#define CHECK(cond)                                                                                  \
    do {                                                                                             \
        tsr_test_checks++;                                                                           \
        if (!(cond)) {                                                                               \
            tsr_test_failures++;                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                 \
        }                                                                                            \
    } while (0)
#define CHECKF(cond, ...)                                                                            \
    do {                                                                                             \
        tsr_test_checks++;                                                                           \
        if (!(cond)) {                                                                               \
            tsr_test_failures++;                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);                  \
            fprintf(stderr, __VA_ARGS__);                                                            \
            fputc('\n', stderr);                                                                     \
        }                                                                                            \
    } while (0)
#define REQUIRE(cond)                                                                                \
    do {                                                                                             \
        tsr_test_checks++;                                                                           \
        if (!(cond)) {                                                                               \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);               \
            exit(1);                                                                                 \
        }                                                                                            \
    } while (0)
#define SKIP(...)                                                                                    \
    do {                                                                                             \
        fprintf(stderr, "skipped: ");                                                                \
        fprintf(stderr, __VA_ARGS__);                                                                \
        fputc('\n', stderr);                                                                         \
        exit(77);                                                                                    \
    } while (0)

static inline int tsr_test_done(void)
{
    fprintf(stderr, "%d checks, %d failed\n", tsr_test_checks, tsr_test_failures);
    return tsr_test_failures ? 1 : 0;
}

static inline const char *tsr_test_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* Largest absolute difference, and the relative RMS error ||a - ref|| / ||ref||, of n values. */
static inline double tsr_test_max_abs(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static inline double tsr_test_rel_rms(const float *a, const float *ref, size_t n)
{
    double e = 0, r = 0;
    for (size_t i = 0; i < n; i++) e += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]), r += (double)ref[i] * ref[i];
    return sqrt(e / (r > 0 ? r : 1));
}

/* Remove an SQLite store file and its WAL and shared-memory side files. */
static inline void tsr_test_remove_db(const char *path)
{
    char side[1100];
    remove(path);
    snprintf(side, sizeof side, "%s-wal", path);
    remove(side);
    snprintf(side, sizeof side, "%s-shm", path);
    remove(side);
}

/* Set (v != NULL) or remove an environment variable, on every platform. */
static inline void tsr_test_setenv(const char *k, const char *v)
{
#ifdef _WIN32
    _putenv_s(k, v ? v : "");
#else
    if (v) setenv(k, v, 1);
    else unsetenv(k);
#endif
}
#endif
