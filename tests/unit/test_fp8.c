/* FP8 e4m3 conversions checked bit-exactly against a hand-made table, plus per-channel weight quantisation. */
#include <float.h>

#include "core/fp8.h"
#include "core/half.h"
#include "tsr_test.h"

typedef struct { float in; uint8_t code; } case_t;

static const case_t cases[] = {
    {0.0f, 0x00},          {-0.0f, 0x80},         {1.0f, 0x38},          {-1.0f, 0xb8},
    {2.0f, 0x40},          {0.5f, 0x30},          {1.125f, 0x39},        {1.875f, 0x3f},
    {448.0f, 0x7e},        {-448.0f, 0xfe},       {416.0f, 0x7d},        {240.0f, 0x77},
    {1e6f, 0x7e},          {-1e6f, 0xfe},         {464.0f, 0x7e},        {449.0f, 0x7e},
    {1.0625f, 0x38},       /* tie between 1 and 1.125: even (1) */
    {1.1875f, 0x3a},       /* tie between 1.125 and 1.25: even (1.25) */
    {1.0626f, 0x39},       /* just above the tie */
    {432.0f, 0x7e},        /* tie between 416 and 448: even mantissa (448) */
    {0.015625f, 0x08},     /* 2^-6: smallest normal */
    {0.013671875f, 0x07},  /* 7 * 2^-9: largest subnormal */
    {0.001953125f, 0x01},  /* 2^-9: smallest subnormal */
    {0.0009765625f, 0x00}, /* 2^-10: tie between 0 and 2^-9 -> even (0) */
    {0.0009766f, 0x01},    /* just above half of the smallest subnormal */
    {-0.0029296875f, 0x82}, /* -1.5 * 2^-9: tie -> even (2 * 2^-9) */
    {0.0146484375f, 0x08}, /* 7.5 * 2^-9: tie between largest subnormal and 2^-6 -> even (0x08) */
    {3.0e-5f, 0x00},       /* underflow to zero */
    {-3.0e-5f, 0x80},
};

static void test_table(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t got = tsr_f32_to_e4m3(cases[i].in);
        CHECKF(got == cases[i].code, "e4m3(%.10g) = 0x%02x, want 0x%02x", cases[i].in, got, cases[i].code);
    }
    CHECK(tsr_f32_to_e4m3(NAN) == 0x7f);
    CHECK(tsr_f32_to_e4m3(-NAN) == 0x7f);
    CHECK(tsr_f32_to_e4m3(INFINITY) == 0x7e);   /* saturating conversion: no infinities in e4m3fn */
    CHECK(tsr_f32_to_e4m3(-INFINITY) == 0xfe);
    CHECK(isnan(tsr_e4m3_to_f32(0x7f)));
    CHECK(isnan(tsr_e4m3_to_f32(0xff)));
    CHECK(tsr_e4m3_to_f32(0x7e) == 448.0f);
    CHECK(tsr_e4m3_to_f32(0x01) == 0.001953125f);
    CHECK(tsr_e4m3_to_f32(0x80) == 0.0f && signbit(tsr_e4m3_to_f32(0x80)));
}

/* Every value halfway between two neighbouring codes rounds to the even code; values a hair off the midpoint
 * round to the nearer one. */
static void test_midpoints(void)
{
    int bad = 0;
    for (int v = 0; v < 0x7e; v++) {
        float a = tsr_e4m3_to_f32((uint8_t)v), b = tsr_e4m3_to_f32((uint8_t)(v + 1));
        float mid = 0.5f * (a + b);
        uint8_t even = (v & 1) ? (uint8_t)(v + 1) : (uint8_t)v;
        if (tsr_f32_to_e4m3(mid) != even) bad++;
        if (tsr_f32_to_e4m3(nextafterf(mid, 0.0f)) != v) bad++;
        if (tsr_f32_to_e4m3(nextafterf(mid, 1e9f)) != v + 1) bad++;
        if (tsr_f32_to_e4m3(-mid) != (even | 0x80)) bad++;
    }
    CHECKF(bad == 0, "%d midpoint cases wrong", bad);
}

static void test_rows(void)
{
    enum { R = 5, C = 37 };
    float x[R * C], y[R * C], scale[R];
    uint8_t q[R * C];
    uint32_t s = 12345;
    for (int i = 0; i < R * C; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * (float)(1 << (i / C * 3)); /* rows of growing range */
    }
    for (int c = 0; c < C; c++) x[4 * C + c] = 0.0f; /* an all-zero channel */
    x[2 * C + 3] = NAN;                              /* a NaN is ignored by amax and stays NaN */
    tsr_fp8_quantize_rows(x, R, C, q, scale);
    tsr_fp8_dequantize_rows(q, scale, R, C, y);
    CHECK(scale[4] == 1.0f);
    CHECK(q[2 * C + 3] == 0x7f && isnan(y[2 * C + 3]));
    for (int r = 0; r < 4; r++) {
        float amax = 0;
        int hit = 0;
        for (int c = 0; c < C; c++)
            if (fabsf(x[r * C + c]) > amax) amax = fabsf(x[r * C + c]);
        CHECKF(scale[r] == amax / 448.0f, "row %d scale %g, amax %g", r, scale[r], amax);
        for (int c = 0; c < C; c++) {
            int i = r * C + c;
            if (isnan(x[i])) continue;
            if ((q[i] & 0x7f) == 0x7e) hit = 1;
            /* error at most half an e4m3 step: 2^-4 relative for normals, 2^-10 * scale for subnormals */
            float tol = fmaxf(fabsf(x[i]) / 16.0f, scale[r] * 0.0009765625f) * 1.0001f;
            CHECKF(fabsf(y[i] - x[i]) <= tol, "row %d col %d: %g -> %g", r, c, x[i], y[i]);
        }
        CHECKF(hit, "row %d: the largest value maps to +-448", r);
    }
    CHECK(tsr_fp8_scale_for(0.0f) == 1.0f);
    CHECK(tsr_fp8_scale_for(INFINITY) == 1.0f);
    CHECK(tsr_fp8_scale_for(896.0f) == 2.0f);
    CHECK(tsr_fp8_amax((const float[]){1.0f, NAN, -3.0f}, 3) == 3.0f);
}

int main(void)
{
    test_table();
    test_midpoints();
    test_rows();
    return tsr_test_done();
}
