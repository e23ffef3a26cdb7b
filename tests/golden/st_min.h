/* Read one F32 tensor of a golden fixture through the engine's validated safetensors reader. */
#ifndef TSR_TEST_ST_MIN_H
#define TSR_TEST_ST_MIN_H
#include <stdio.h>
#include <stdlib.h>

#include "model/safetensors.h"

/* Returns a malloc'd copy of `key` converted to fp32 (count in *count), or NULL with a message. */
static float *st_min_read(const char *path, const char *key, size_t *count)
{
    tsr_weights w;
    tsr_error err = {0};
    if (tsr_safetensors_open(path, &w, &err) != TSR_OK) {
        fprintf(stderr, "%s\n", err.message);
        return NULL;
    }
    const tsr_tensor_info *t = tsr_weights_find(&w, key);
    float *out = t ? malloc((size_t)t->numel * sizeof(float)) : NULL;
    if (out && tsr_tensor_read_f32(t, out, &err) == TSR_OK) {
        *count = (size_t)t->numel;
    } else {
        fprintf(stderr, "%s: tensor '%s' %s\n", path, key, t ? err.message : "missing");
        free(out);
        out = NULL;
    }
    tsr_weights_free(&w);
    return out;
}
#endif
