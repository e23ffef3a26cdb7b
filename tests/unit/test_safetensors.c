/* safetensors writer -> reader round trip (every dtype, metadata, FP8 scales), header layout, and the
 * golden fixture files parse. Malformed files are covered by test_malformed.c. */
#include "core/common.h"
#include "core/file.h"
#include "core/half.h"
#include "model/safetensors.h"
#include "tsr_test.h"

static void round_trip(void)
{
    float f32[6] = {1, -2, 3.5f, 0, 1e-3f, 7};
    uint16_t f16[4], bf16[4];
    for (int i = 0; i < 4; i++) {
        f16[i] = tsr_f32_to_f16(f32[i]);
        bf16[i] = tsr_f32_to_bf16(f32[i]);
    }
    uint8_t f8[6] = {0x38, 0x40, 0xb8, 0x00, 0x38, 0x38}; /* 1, 2, -1, 0, 1, 1 */
    float scale[2] = {0.5f, 4.0f};
    tsr_st_tensor t[] = {
        {"a.weight", TSR_DT_F32, 2, {2, 3}, f32},
        {"b", TSR_DT_F16, 1, {4}, f16},
        {"c", TSR_DT_BF16, 2, {2, 2}, bf16},
        {"q.weight", TSR_DT_F8_E4M3, 2, {2, 3}, f8},
        {"q.weight_scale", TSR_DT_F32, 1, {2}, scale},
        {"empty", TSR_DT_F32, 2, {0, 5}, NULL},
    };
    const char *meta[] = {"format", "pt", "note", "quote \" and \\ and \n"};
    tsr_error err = {0};
    const char *path = "test_st_roundtrip.safetensors";
    REQUIRE(tsr_safetensors_write(path, t, 6, meta, 2, &err) == TSR_OK);

    void *map;
    size_t size;
    REQUIRE(tsr_map_file(path, &map, &size, &err) == TSR_OK);
    const uint8_t *b = map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | b[i];
    CHECK((8 + hlen) % 8 == 0);
    CHECK(b[8 + hlen - 1] == '}' || b[8 + hlen - 1] == ' ');
    tsr_unmap_file(map, size);

    tsr_weights w;
    REQUIRE(tsr_safetensors_open(path, &w, &err) == TSR_OK);
    CHECK(w.count == 5); /* the scale is attached, not listed */
    CHECK(w.format == TSR_FORMAT_SAFETENSORS);
    CHECK(tsr_weights_meta(&w, "format") && strcmp(tsr_weights_meta(&w, "format"), "pt") == 0);
    CHECK(tsr_weights_meta(&w, "note") && strcmp(tsr_weights_meta(&w, "note"), meta[3]) == 0);
    float out[6];
    const tsr_tensor_info *ti = tsr_weights_find(&w, "a.weight");
    REQUIRE(ti && ti->ndim == 2 && ti->shape[1] == 3 && tsr_tensor_read_f32(ti, out, &err) == TSR_OK);
    CHECK(memcmp(out, f32, sizeof f32) == 0);
    ti = tsr_weights_find(&w, "b");
    REQUIRE(ti && tsr_tensor_read_f32(ti, out, &err) == TSR_OK);
    CHECK(out[0] == 1 && out[1] == -2 && out[2] == 3.5f);
    ti = tsr_weights_find(&w, "c");
    REQUIRE(ti && ti->dtype == TSR_DT_BF16 && tsr_tensor_read_f32(ti, out, &err) == TSR_OK);
    CHECK(out[0] == 1 && out[1] == -2 && out[2] == 3.5f && out[3] == 0);
    ti = tsr_weights_find(&w, "q.weight");
    REQUIRE(ti && ti->channel_scale && tsr_tensor_read_f32(ti, out, &err) == TSR_OK);
    CHECK(out[0] == 0.5f && out[1] == 1.0f && out[2] == -0.5f && out[3] == 0 && out[4] == 4 && out[5] == 4);
    CHECK(tsr_weights_find(&w, "q.weight_scale") == NULL);
    ti = tsr_weights_find(&w, "empty");
    CHECK(ti && ti->numel == 0 && ti->nbytes == 0);
    tsr_weights_free(&w);
    tsr_remove(path);
}

static void fixtures(void)
{
    static const char *names[] = {"decode_16x2x8x12.safetensors", "encode_3x9x32x48.safetensors"};
    for (size_t i = 0; i < TSR_ARRAY_LEN(names); i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", tsr_test_env("TSR_FIXTURES", "../shared/fixtures"), names[i]);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        fclose(f);
        tsr_weights w;
        tsr_error err = {0};
        CHECKF(tsr_safetensors_open(path, &w, &err) == TSR_OK, "%s", err.message);
        CHECKF(w.count >= 1, "%s: no tensors", names[i]);
        tsr_weights_free(&w);
    }
}

int main(void)
{
    round_trip();
    fixtures();
    return tsr_test_done();
}
