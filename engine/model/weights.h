/* The in-memory view of a model's tensors, whatever file (or filler) they came from.
 *
 * Loaders (safetensors.c, gguf.c) and the builtin filler produce a tsr_weights; everything above them
 * (architecture detection, the VAE, backends) only sees this. Tensor data is either borrowed from a
 * memory-mapped file or owned; `tsr_weights_read_f32` converts any supported dtype to fp32. */
#ifndef TSR_MODEL_WEIGHTS_H
#define TSR_MODEL_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera.h"

typedef enum tsr_dtype {
    TSR_DT_F32 = 0,
    TSR_DT_F16,
    TSR_DT_BF16,
    TSR_DT_F8_E4M3,
    TSR_DT_Q8_0,      /* GGUF block format: 32 values = f16 scale + 32 x int8 */
    TSR_DT_COUNT
} tsr_dtype;

const char *tsr_dtype_name(tsr_dtype dt);

#define TSR_MAX_DIMS 8

typedef struct tsr_tensor_info {
    char *name;
    tsr_dtype dtype;
    int ndim;
    int64_t shape[TSR_MAX_DIMS];   /* PyTorch order (outermost first) */
    int64_t numel;
    const void *data;              /* raw bytes in `dtype` */
    size_t nbytes;
    const float *channel_scale;    /* optional per-output-channel dequant scale (FP8 files), else NULL */
} tsr_tensor_info;

typedef struct tsr_weights {
    tsr_tensor_info *tensors;
    int count;
    int capacity;
    tsr_model_format format;
    char *source_path;             /* NULL for builtin */
    /* file metadata (safetensors __metadata__, GGUF KV pairs rendered as text) */
    char **meta_keys, **meta_values;
    int meta_count;
    /* ownership */
    void *mapping;                 /* memory-mapped file, released by tsr_weights_free */
    size_t mapping_size;
    void **owned;                  /* owned data blocks */
    int owned_count, owned_cap;
} tsr_weights;

void tsr_weights_init(tsr_weights *w);
void tsr_weights_free(tsr_weights *w);

/* Add a tensor; the name is copied; `data` is borrowed unless `take` is true (then freed with w). */
tsr_status tsr_weights_add(tsr_weights *w, const char *name, tsr_dtype dt, int ndim, const int64_t *shape,
                           const void *data, size_t nbytes, bool take, tsr_error *err);

/* Add a metadata key/value pair (both copied). */
tsr_status tsr_weights_add_meta(tsr_weights *w, const char *key, const char *value, tsr_error *err);
const char *tsr_weights_meta(const tsr_weights *w, const char *key);

const tsr_tensor_info *tsr_weights_find(const tsr_weights *w, const char *name);

/* Convert a whole tensor to fp32 into dst (numel floats). */
tsr_status tsr_tensor_read_f32(const tsr_tensor_info *t, float *dst, tsr_error *err);

/* Look up `name`, check that its shape equals `shape` (ndim dims), and convert to fp32 (malloc'd). */
tsr_status tsr_weights_load_f32(const tsr_weights *w, const char *name, int ndim, const int64_t *shape,
                                float **out, tsr_error *err);

/* Bytes a tensor of `numel` elements takes in `dt` (0 if impossible, e.g. Q8_0 with numel % 32 != 0). */
size_t tsr_dtype_nbytes(tsr_dtype dt, int64_t numel);

/* "512x16x3x3x3" */
void tsr_shape_str(int ndim, const int64_t *shape, char *buf, size_t n);

#endif
