/* GGUF (v2 and v3) reading, memory-mapped and fully validated before use, and writing (atomic).
 * Layout: "GGUF", u32 version, u64 tensor count, u64 KV count, KV pairs, tensor infos, padding to
 * general.alignment (default 32), tensor data. Dimensions are stored innermost first; the reader reverses
 * them into PyTorch order. Tensor types read: F32, F16, BF16, Q8_0 (others are rejected by name). All KV
 * pairs are rendered as text into the weights' metadata. */
#ifndef TSR_MODEL_GGUF_H
#define TSR_MODEL_GGUF_H
#include "model/safetensors.h"
#include "model/weights.h"

tsr_status tsr_gguf_open(const char *path, tsr_weights *out, tsr_error *err);
/* Over bytes in memory (borrowed). */
tsr_status tsr_gguf_parse(const void *data, size_t size, const char *label, tsr_weights *out, tsr_error *err);

/* Write tensors (dtype F32, F16, BF16 or Q8_0, data already in that dtype; shapes in PyTorch order) and
 * string metadata pairs, general.alignment = 32, version 3, atomically. */
tsr_status tsr_gguf_write(const char *path, const tsr_st_tensor *tensors, int n, const char *const *meta,
                          int meta_pairs, tsr_error *err);

/* fp32 -> Q8_0 blocks (n % 32 == 0): per 32 values an f16 scale max|x|/127 and 32 rounded int8. */
void tsr_quantize_q8_0(const float *src, int64_t n, uint8_t *dst);
#endif
