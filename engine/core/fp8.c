#include "core/fp8.h"

#include <math.h>

#include "core/half.h"

float tsr_e4m3_to_f32(uint8_t v)
{
    int sign = v >> 7, exp = (v >> 3) & 15, man = v & 7;
    float r;
    if (exp == 15 && man == 7) return NAN;
    if (exp == 0) r = ldexpf((float)man, -9);           /* subnormal: man/8 * 2^-6 */
    else r = ldexpf((float)(8 + man), exp - 10);         /* (1 + man/8) * 2^(exp-7) */
    return sign ? -r : r;
}

uint8_t tsr_f32_to_e4m3(float f)
{
    if (isnan(f)) return 0x7f;
    uint8_t sign = signbit(f) ? 0x80 : 0;
    float a = fabsf(f);
    if (a >= 448.0f) return sign | 0x7e;                 /* saturate */
    /* e4m3 quantum for a: 2^(e-3) for normal exponent e >= -6, else 2^-9 (subnormal). */
    int e;
    frexpf(a, &e);                                       /* a = m * 2^e, m in [0.5, 1) */
    int unbiased = e - 1;
    if (unbiased < -6) unbiased = -6;
    float q = ldexpf(1.0f, unbiased - 3);
    float n = nearbyintf(a / q);                         /* exact division by a power of two; RNE */
    float r = n * q;
    if (r >= 448.0f) return sign | 0x7e;
    /* encode r */
    if (r == 0.0f) return sign;
    int re;
    frexpf(r, &re);
    int ub = re - 1;
    if (ub < -6) return sign | (uint8_t)(int)ldexpf(r, 9);                   /* subnormal */
    int man = (int)ldexpf(r, -ub + 3) - 8;
    return sign | (uint8_t)(((ub + 7) << 3) | man);
}

float tsr_fp8_amax(const float *x, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > m) m = a;          /* NaN compares false: ignored */
    }
    return m;
}

float tsr_fp8_scale_for(float amax)
{
    if (!(amax > 0.0f) || isinf(amax)) return 1.0f;
    float s = amax / TSR_E4M3_MAX;
    return s > 0.0f ? s : 1.0f;    /* amax tiny enough to underflow: keep 1 */
}

void tsr_fp8_quantize(const float *x, size_t n, float scale, uint8_t *q)
{
    float inv = 1.0f / scale;
    for (size_t i = 0; i < n; i++) q[i] = tsr_f32_to_e4m3(x[i] * inv);
}

void tsr_fp8_quantize_rows(const float *x, size_t rows, size_t cols, uint8_t *q, float *scale)
{
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        scale[r] = tsr_fp8_scale_for(tsr_fp8_amax(row, cols));
        tsr_fp8_quantize(row, cols, scale[r], q + r * cols);
    }
}

void tsr_fp8_dequantize_rows(const uint8_t *q, const float *scale, size_t rows, size_t cols, float *x)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) x[r * cols + c] = tsr_e4m3_to_f32(q[r * cols + c]) * scale[r];
}
