/* Host fp16 / bf16 / e4m3 conversions: exhaustive round trips and rounding cases. */
#include "core/fp8.h"
#include "core/half.h"
#include "tsr_test.h"

int main(void)
{
    /* every finite f16 survives f16 -> f32 -> f16 */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue; /* NaN */
        if (tsr_f32_to_f16(tsr_f16_to_f32((uint16_t)h)) != h) bad++;
    }
    CHECKF(bad == 0, "%d f16 values do not round-trip", bad);
    CHECK(tsr_f32_to_f16(65520.0f) == 0x7c00);          /* rounds to inf */
    CHECK(tsr_f32_to_f16(65519.0f) == 0x7bff);
    CHECK(tsr_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00); /* tie to even */
    CHECK(tsr_f32_to_f16(5.9604645e-8f) == 0x0001);     /* smallest subnormal */
    CHECK(tsr_f32_to_f16(2.9802322e-8f) == 0x0000);     /* half of it: tie to even (0) */
    /* bf16 */
    CHECK(tsr_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(tsr_f32_to_bf16(tsr_bits_to_f32(0x3f808000u)) == 0x3f80); /* tie to even, down */
    CHECK(tsr_f32_to_bf16(tsr_bits_to_f32(0x3f818000u)) == 0x3f82); /* tie to even, up */
    /* e4m3: every non-NaN code round-trips */
    bad = 0;
    for (int v = 0; v < 256; v++) {
        if ((v & 0x7f) == 0x7f) continue;
        if (tsr_f32_to_e4m3(tsr_e4m3_to_f32((uint8_t)v)) != v) bad++;
    }
    CHECKF(bad == 0, "%d e4m3 codes do not round-trip", bad);
    CHECK(tsr_e4m3_to_f32(0x7e) == 448.0f);
    CHECK(tsr_f32_to_e4m3(1000.0f) == 0x7e);            /* saturates */
    CHECK(tsr_f32_to_e4m3(-1000.0f) == 0xfe);
    CHECK(tsr_e4m3_to_f32(0x01) == 0.001953125f);       /* 2^-9 */
    CHECK(tsr_f32_to_e4m3(0.0009765625f) == 0x00);      /* 2^-10: tie to even -> 0 */
    CHECK(tsr_f32_to_e4m3(0.0029296875f) == 0x02);      /* 1.5 * 2^-9: tie to even -> 2 */
    CHECK(tsr_f32_to_e4m3(1.0625f) == 0x38);            /* 1 + 1/16: tie to even -> 1.0 */
    CHECK(tsr_f32_to_e4m3(1.1875f) == 0x3a);            /* 1 + 3/16: tie -> 1.25 */
    CHECK(tsr_f32_to_e4m3(NAN) == 0x7f);
    return tsr_test_done();
}
