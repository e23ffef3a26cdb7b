/* FP8 e4m3 (OCP "E4M3FN": bias 7, no infinities, S.1111.111 = NaN, max 448) conversions on the host. */
#ifndef TSR_CORE_FP8_H
#define TSR_CORE_FP8_H
#include <stdint.h>
float tsr_e4m3_to_f32(uint8_t v);
/* Round to nearest even, saturating to +-448; NaN -> 0x7f. */
uint8_t tsr_f32_to_e4m3(float f);

#include <stddef.h>

#define TSR_E4M3_MAX 448.0f

/* Largest |x| over n values, ignoring NaN (an infinity gives INFINITY). */
float tsr_fp8_amax(const float *x, size_t n);

/* Scale that maps amax onto the e4m3 range: amax / 448, or 1 when amax is 0 or not finite. */
float tsr_fp8_scale_for(float amax);

/* Per-row (per output channel) quantisation of a [rows][cols] matrix: scale[r] = amax(row r) / 448,
 * q = e4m3(x / scale[r]) (round to nearest even, saturating, NaN -> 0x7f). Dequantise: x ~= e4m3(q) * scale[r]. */
void tsr_fp8_quantize_rows(const float *x, size_t rows, size_t cols, uint8_t *q, float *scale);
void tsr_fp8_dequantize_rows(const uint8_t *q, const float *scale, size_t rows, size_t cols, float *x);

/* Per-tensor quantisation with a given scale (x / scale, RNE, saturating). */
void tsr_fp8_quantize(const float *x, size_t n, float scale, uint8_t *q);
#endif
