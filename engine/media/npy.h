/* NumPy .npy files (format versions 1.0, 2.0, 3.0): little-endian fp32 ('<f4') or fp16 ('<f2'), C order.
 * Own parser: the header dict is validated key by key and the data size must match the shape exactly. */
#ifndef TSR_MEDIA_NPY_H
#define TSR_MEDIA_NPY_H
#include <stdint.h>
#include "tessera.h"

#define TSR_NPY_MAX_DIMS 8
typedef struct tsr_npy {
    int ndim;
    int64_t shape[TSR_NPY_MAX_DIMS];
    int64_t numel;
    float *data;               /* converted to fp32, malloc'd */
    int was_f16;
} tsr_npy;

tsr_status tsr_npy_parse(const void *bytes, size_t size, const char *label, tsr_npy *out, tsr_error *err);
tsr_status tsr_npy_read(const char *path, tsr_npy *out, tsr_error *err);
/* Write fp32 (f16 = 0) or fp16 (f16 = 1) atomically. */
tsr_status tsr_npy_write(const char *path, const float *data, int ndim, const int64_t *shape, int f16, tsr_error *err);
void tsr_npy_free(tsr_npy *n);
#endif
