#include "model/filler.h"

#include <math.h>
#include <string.h>

uint64_t tsr_fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

double tsr_filler_s(uint64_t name_hash, uint64_t i)
{
    uint64_t z = name_hash + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    return (double)(z >> 40) / 16777216.0 * 2.0 - 1.0;
}

void tsr_filler_fill(const char *name, double scale, double offset, uint64_t first, uint64_t n, float *dst)
{
    uint64_t h = tsr_fnv1a64(name);
    for (uint64_t i = 0; i < n; i++) dst[i] = (float)(tsr_filler_s(h, first + i) * scale + offset);
}

void tsr_filler_vae_rule(const char *name, int ndim, const int64_t *shape, double *scale, double *offset)
{
    if (ndim == 1) {
        /* owning module = name without its last component; its last component contains "norm"? */
        const char *last_dot = strrchr(name, '.');
        size_t mod_len = last_dot ? (size_t)(last_dot - name) : 0;
        const char *mod_start = name;
        for (size_t i = 0; i < mod_len; i++)
            if (name[i] == '.') mod_start = name + i + 1;
        size_t comp_len = (size_t)(name + mod_len - mod_start);
        int is_norm = 0;
        for (size_t i = 0; i + 4 <= comp_len; i++)
            if (memcmp(mod_start + i, "norm", 4) == 0) is_norm = 1;
        int is_weight = last_dot && strcmp(last_dot + 1, "weight") == 0;
        if (is_norm && is_weight) {
            *scale = 0.25;
            *offset = 1.0;
        } else {
            *scale = 0.10;
            *offset = 0.0;
        }
        return;
    }
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) numel *= shape[i];
    double fan_in = (double)(numel / (ndim > 0 ? shape[0] : 1));
    *scale = sqrt(3.0 / fan_in);
    *offset = 0.0;
}

void tsr_filler_latent(float *dst, uint64_t n) { tsr_filler_fill("latent", sqrt(3.0), 0.0, 0, n, dst); }
void tsr_filler_video(float *dst, uint64_t n) { tsr_filler_fill("video", 1.0, 0.0, 0, n, dst); }
