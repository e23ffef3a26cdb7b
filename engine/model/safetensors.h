/* safetensors reading (memory-mapped, fully validated before use) and writing (atomic).
 * Format: u64-LE header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, "__metadata__": {}},
 * then the data section. Supported dtypes: F32, F16, BF16, F8_E4M3.
 * FP8 convention (Tessera's quantised models): `X.weight` stored as F8_E4M3 plus `X.weight_scale` F32
 * [shape[0]] (per output channel dequantisation scale); the reader attaches the scale to the weight
 * (tsr_tensor_info.channel_scale) and does not list `*.weight_scale` as separate tensors. */
#ifndef TSR_MODEL_SAFETENSORS_H
#define TSR_MODEL_SAFETENSORS_H
#include "model/weights.h"

/* Open and validate; on success `out` owns the mapping. On failure names the file, tensor and problem. */
tsr_status tsr_safetensors_open(const char *path, tsr_weights *out, tsr_error *err);
/* Same, over bytes in memory (borrowed; used by the fuzzer and tests). */
tsr_status tsr_safetensors_parse(const void *data, size_t size, const char *label, tsr_weights *out, tsr_error *err);

typedef struct tsr_st_tensor {
    const char *name;
    tsr_dtype dtype;
    int ndim;
    int64_t shape[TSR_MAX_DIMS];
    const void *data;           /* nbytes = tsr_dtype_nbytes(dtype, numel) */
} tsr_st_tensor;

/* Write tensors (in the given order) and optional metadata pairs (meta[2*i] key, meta[2*i+1] value)
 * atomically: a temporary file beside `path`, renamed on success, removed on failure. */
tsr_status tsr_safetensors_write(const char *path, const tsr_st_tensor *tensors, int n, const char *const *meta,
                                 int meta_pairs, tsr_error *err);
#endif
