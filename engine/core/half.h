/* fp16 / bf16 / fp8-e4m3 <-> fp32 conversions on the host (bit-exact, round to nearest even). */
#ifndef TSR_CORE_HALF_H
#define TSR_CORE_HALF_H

#include <stdint.h>
#include <string.h>

static inline float tsr_bits_to_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t tsr_f32_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline float tsr_bf16_to_f32(uint16_t h) { return tsr_bits_to_f32((uint32_t)h << 16); }

static inline uint16_t tsr_f32_to_bf16(float f)
{
    uint32_t u = tsr_f32_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float tsr_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0) {
        if (man == 0) return tsr_bits_to_f32(sign);
        /* subnormal: value = man * 2^-24 */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (exp == 31) return tsr_bits_to_f32(sign | 0x7f800000u | (man << 13));
    return tsr_bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

static inline uint16_t tsr_f32_to_f16(float f)
{
    uint32_t u = tsr_f32_to_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);            /* NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);           /* overflow -> inf */
    if (a < 0x38800000u) {                                             /* subnormal or zero */
        if (a < 0x33000000u) return (uint16_t)sign;                    /* < half of min subnormal */
        uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126u - e;                                     /* 14..24 */
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (r & 1u))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = a + 0xfffu + ((a >> 13) & 1u) - 0x38000000u;          /* rebias 127 -> 15, round */
    return (uint16_t)(sign | (r >> 13));
}

#endif
