/* Test-only: read one F32 tensor by key from a safetensors file (the fixtures are plain F32). Kept
 * independent of the engine's loader so the goldens also check the numbers when the loader changes. */
#ifndef TSR_TEST_ST_MIN_H
#define TSR_TEST_ST_MIN_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Returns malloc'd floats and their count, or NULL. */
static float *st_min_read(const char *path, const char *key, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint64_t hl = 0;
    unsigned char b[8];
    float *out = NULL;
    if (fread(b, 1, 8, f) != 8) goto done;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
    char *hdr = calloc(hl + 1, 1);
    if (!hdr || fread(hdr, 1, hl, f) != hl) {
        free(hdr);
        goto done;
    }
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    char *k = strstr(hdr, pat), *o = k ? strstr(k, "\"data_offsets\"") : NULL;
    unsigned long long a, e;
    if (o && sscanf(strchr(o, '[') + 1, "%llu , %llu", &a, &e) == 2 && e >= a && (e - a) % 4 == 0) {
        out = malloc(e - a + 4);
        if (out && (fseek(f, (long)(8 + hl + a), SEEK_SET) != 0 || fread(out, 1, e - a, f) != e - a)) {
            free(out);
            out = NULL;
        }
        *count = (e - a) / 4;
    }
    free(hdr);
done:
    fclose(f);
    return out;
}
#endif
