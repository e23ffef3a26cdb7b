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

/* A quantised model file (`tessera-cli quantize`) holds e4m3 codes and per-row scales; loading it dequantises to
 * fp32 (code * scale), the CUDA backend stores bf16 and its FP8 path quantises the rows again (amax / 448).
 * That round trip must give back the file's codes exactly and the scales within bf16 rounding, so the FP8 model
 * runs on the weights it was saved with (no second rounding). Rows of several magnitudes, incl. subnormal codes. */
static void test_reload_round_trip(void)
{
    enum { ROWS = 64, COLS = 27 * 96 };
    float *w = malloc(sizeof(float) * ROWS * COLS), *back = malloc(sizeof(float) * ROWS * COLS);
    uint8_t *q = malloc(ROWS * COLS), *q2 = malloc(ROWS * COLS);
    float s[ROWS], s2[ROWS];
    REQUIRE(w && back && q && q2);
    uint64_t x = 0x243f6a8885a308d3ull;
    for (int r = 0; r < ROWS; r++) {
        float mag = ldexpf(1.0f, (r % 16) - 12); /* 2^-12 .. 2^3 */
        for (int c = 0; c < COLS; c++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            float u = (float)((x >> 40) * (1.0 / 16777216.0)) * 2.f - 1.f;
            w[r * COLS + c] = mag * u * u * u; /* heavy concentration near 0: many subnormal codes */
        }
    }
    tsr_fp8_quantize_rows(w, ROWS, COLS, q, s);
    tsr_fp8_dequantize_rows(q, s, ROWS, COLS, back);
    for (int i = 0; i < ROWS * COLS; i++) back[i] = tsr_bf16_to_f32(tsr_f32_to_bf16(back[i])); /* device copy */
    tsr_fp8_quantize_rows(back, ROWS, COLS, q2, s2);
    int diff = 0, sub = 0;
    for (int i = 0; i < ROWS * COLS; i++) {
        diff += q[i] != q2[i];
        sub += (q[i] & 0x78) == 0 && (q[i] & 7);
    }
    CHECKF(diff == 0, "%d of %d codes changed by the reload", diff, ROWS * COLS);
    CHECK(sub > 100); /* the subnormal codes were exercised */
    for (int r = 0; r < ROWS; r++) CHECKF(fabsf(s2[r] - s[r]) <= s[r] * 0x1p-8f, "row %d scale %g vs %g", r, s2[r], s[r]);
    free(w), free(back), free(q), free(q2);
}

int main(void)
{
    test_reload_round_trip();
    test_table();
    test_midpoints();
    test_rows();
    return tsr_test_done();
}
