/* GGUF: a v3 file assembled byte by byte here from the GGUF specification (not by our writer), a v2 file,
 * and writer -> reader round trips (Q8_0, BF16, 5-D tensors through comfy.gguf.orig_shape). */
#include "core/common.h"
#include "core/file.h"
#include "core/half.h"
#include "model/gguf.h"
#include "tsr_test.h"

typedef struct bytes {
    uint8_t d[4096];
    size_t n;
} bytes;

static void b_raw(bytes *b, const void *p, size_t n)
{
    REQUIRE(b->n + n <= sizeof b->d);
    memcpy(b->d + b->n, p, n);
    b->n += n;
}
static void b_u8(bytes *b, uint8_t v) { b_raw(b, &v, 1); }
static void b_u32(bytes *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) b_u8(b, (uint8_t)(v >> (8 * i))); /* little-endian, spelled out */
}
static void b_u64(bytes *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) b_u8(b, (uint8_t)(v >> (8 * i)));
}
static void b_str(bytes *b, const char *s)
{
    b_u64(b, strlen(s));
    b_raw(b, s, strlen(s));
}
static void b_pad(bytes *b, size_t align)
{
    while (b->n % align) b_u8(b, 0);
}
static void b_f32(bytes *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    b_u32(b, u);
}

enum { T_U8 = 0, T_U32 = 4, T_I32 = 5, T_F32 = 6, T_BOOL = 7, T_STR = 8, T_ARR = 9, T_I64 = 11, T_F64 = 12 };

static void tensor_info(bytes *b, const char *name, uint32_t nd, const uint64_t *ne, uint32_t type, uint64_t off)
{
    b_str(b, name);
    b_u32(b, nd);
    for (uint32_t i = 0; i < nd; i++) b_u64(b, ne[i]);
    b_u32(b, type);
    b_u64(b, off);
}

static void spec_file(bytes *b)
{
    memset(b, 0, sizeof *b);
    b_raw(b, "GGUF", 4);
    b_u32(b, 3);
    b_u64(b, 4); /* tensors */
    b_u64(b, 7); /* kv */
    b_str(b, "general.architecture"), b_u32(b, T_STR), b_str(b, "test");
    b_str(b, "general.alignment"), b_u32(b, T_U32), b_u32(b, 64);
    b_str(b, "t.u8"), b_u32(b, T_U8), b_u8(b, 7);
    b_str(b, "t.i64"), b_u32(b, T_I64), b_u64(b, (uint64_t)-5);
    b_str(b, "t.bool"), b_u32(b, T_BOOL), b_u8(b, 1);
    b_str(b, "t.ints"), b_u32(b, T_ARR), b_u32(b, T_I32), b_u64(b, 3), b_u32(b, 1), b_u32(b, 2), b_u32(b, 3);
    b_str(b, "t.strs"), b_u32(b, T_ARR), b_u32(b, T_STR), b_u64(b, 2), b_str(b, "a"), b_str(b, "b");
    uint64_t ne_w[2] = {3, 2}, ne_h[1] = {4}, ne_q[1] = {32}, ne_b[1] = {2};
    tensor_info(b, "w", 2, ne_w, 0, 0);    /* F32, PyTorch shape [2, 3] */
    tensor_info(b, "h", 1, ne_h, 1, 64);   /* F16 */
    tensor_info(b, "q", 1, ne_q, 8, 128);  /* Q8_0 */
    tensor_info(b, "b", 1, ne_b, 30, 192); /* BF16 */
    b_pad(b, 64);
    size_t data = b->n;
    for (int i = 0; i < 6; i++) b_f32(b, (float)i - 2.5f);
    b_pad(b, 64);
    REQUIRE(b->n - data == 64);
    static const uint16_t h[4] = {0x3c00, 0xc000, 0x3800, 0x0000}; /* 1, -2, 0.5, 0 */
    for (int i = 0; i < 4; i++) b_u8(b, (uint8_t)h[i]), b_u8(b, (uint8_t)(h[i] >> 8));
    b_pad(b, 64);
    b_u8(b, 0x00), b_u8(b, 0x38); /* Q8_0 block: f16 scale 0.5, then 32 int8 */
    for (int i = 0; i < 32; i++) b_u8(b, (uint8_t)(int8_t)(i - 16));
    b_pad(b, 64);
    b_u8(b, 0x80), b_u8(b, 0x3f), b_u8(b, 0x40), b_u8(b, 0xc0); /* bf16 1.0, -3.0 */
}

static void read_spec_file(void)
{
    bytes b;
    spec_file(&b);
    tsr_weights w;
    tsr_error err = {0};
    REQUIRE(tsr_gguf_parse(b.d, b.n, "spec.gguf", &w, &err) == TSR_OK);
    CHECK(w.count == 4 && w.format == TSR_FORMAT_GGUF);
    CHECK(strcmp(tsr_weights_meta(&w, "general.architecture"), "test") == 0);
    CHECK(strcmp(tsr_weights_meta(&w, "general.alignment"), "64") == 0);
    CHECK(strcmp(tsr_weights_meta(&w, "t.u8"), "7") == 0);
    CHECK(strcmp(tsr_weights_meta(&w, "t.i64"), "-5") == 0);
    CHECK(strcmp(tsr_weights_meta(&w, "t.bool"), "true") == 0);
    CHECK(strcmp(tsr_weights_meta(&w, "t.ints"), "[1, 2, 3]") == 0);
    CHECK(strcmp(tsr_weights_meta(&w, "t.strs"), "[\"a\", \"b\"]") == 0);
    float v[32];
    const tsr_tensor_info *t = tsr_weights_find(&w, "w");
    REQUIRE(t && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3 && t->dtype == TSR_DT_F32);
    REQUIRE(tsr_tensor_read_f32(t, v, &err) == TSR_OK);
    CHECK(v[0] == -2.5f && v[5] == 2.5f);
    t = tsr_weights_find(&w, "h");
    REQUIRE(t && t->dtype == TSR_DT_F16 && tsr_tensor_read_f32(t, v, &err) == TSR_OK);
    CHECK(v[0] == 1 && v[1] == -2 && v[2] == 0.5f && v[3] == 0);
    t = tsr_weights_find(&w, "q");
    REQUIRE(t && t->dtype == TSR_DT_Q8_0 && t->numel == 32 && tsr_tensor_read_f32(t, v, &err) == TSR_OK);
    CHECK(v[0] == -8 && v[16] == 0 && v[31] == 7.5f);
    t = tsr_weights_find(&w, "b");
    REQUIRE(t && t->dtype == TSR_DT_BF16 && tsr_tensor_read_f32(t, v, &err) == TSR_OK);
    CHECK(v[0] == 1 && v[1] == -3);
    tsr_weights_free(&w);
}

static void read_v2(void)
{
    bytes b = {{0}, 0};
    b_raw(&b, "GGUF", 4);
    b_u32(&b, 2);
    b_u64(&b, 1);
    b_u64(&b, 1);
    b_str(&b, "general.name"), b_u32(&b, T_STR), b_str(&b, "v2");
    uint64_t ne[1] = {2};
    tensor_info(&b, "x", 1, ne, 0, 0);
    b_pad(&b, 32);
    b_f32(&b, 1), b_f32(&b, 2);
    tsr_weights w;
    tsr_error err = {0};
    CHECKF(tsr_gguf_parse(b.d, b.n, "v2.gguf", &w, &err) == TSR_OK, "%s", err.message);
    CHECK(w.count == 1 && tsr_weights_find(&w, "x") && tsr_weights_find(&w, "x")->numel == 2);
    tsr_weights_free(&w);
}

static void writer_round_trip(void)
{
    float f[64], five[6] = {1, 2, 3, 4, 5, 6};
    for (int i = 0; i < 64; i++) f[i] = (float)(i - 32) / 8.0f;
    uint8_t q[68];
    tsr_quantize_q8_0(f, 64, q);
    uint16_t bf[6];
    for (int i = 0; i < 6; i++) bf[i] = tsr_f32_to_bf16(five[i]);
    tsr_st_tensor t[] = {
        {"enc.conv.weight", TSR_DT_F32, 5, {2, 1, 1, 1, 3}, five},
        {"q", TSR_DT_Q8_0, 2, {2, 32}, q},
        {"bf", TSR_DT_BF16, 3, {1, 2, 3}, bf},
    };
    const char *meta[] = {"general.name", "round trip"};
    tsr_error err = {0};
    const char *path = "test_gguf_roundtrip.gguf";
    REQUIRE(tsr_gguf_write(path, t, 3, meta, 1, &err) == TSR_OK);
    tsr_weights w;
    REQUIRE(tsr_gguf_open(path, &w, &err) == TSR_OK);
    CHECK(w.count == 3);
    const tsr_tensor_info *ti = tsr_weights_find(&w, "enc.conv.weight");
    REQUIRE(ti && ti->ndim == 5 && ti->shape[0] == 2 && ti->shape[4] == 3);
    float v[64];
    REQUIRE(tsr_tensor_read_f32(ti, v, &err) == TSR_OK);
    CHECK(memcmp(v, five, sizeof five) == 0);
    ti = tsr_weights_find(&w, "q");
    REQUIRE(ti && ti->ndim == 2 && ti->shape[0] == 2 && ti->shape[1] == 32 && tsr_tensor_read_f32(ti, v, &err) == TSR_OK);
    double maxerr = 0;
    for (int i = 0; i < 64; i++) maxerr = fmax(maxerr, fabs(v[i] - f[i]));
    CHECKF(maxerr <= 4.0 / 127 / 2 + 1e-3, "Q8_0 max error %g", maxerr);
    ti = tsr_weights_find(&w, "bf");
    REQUIRE(ti && ti->ndim == 3 && ti->shape[2] == 3 && tsr_tensor_read_f32(ti, v, &err) == TSR_OK);
    CHECK(v[5] == 6);
    CHECK(strcmp(tsr_weights_meta(&w, "general.name"), "round trip") == 0);
    tsr_weights_free(&w);
    tsr_remove(path);
}

int main(void)
{
    read_spec_file();
    read_v2();
    writer_round_trip();
    return tsr_test_done();
}
