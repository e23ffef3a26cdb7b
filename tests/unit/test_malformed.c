/* A corpus of malformed model files, each rejected with the right status and a message that says what is
 * wrong (asserted by substring). Run under ASan/UBSan by tests/ci.sh. `test_malformed DIR` also writes every
 * case to DIR (the fuzzers' seed corpus). */
#include "core/common.h"
#include "core/file.h"
#include "model/gguf.h"
#include "model/safetensors.h"
#include "model/vae_tensors.h"
#include "tsr_test.h"

typedef struct buf {
    uint8_t *d;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->d = realloc(b->d, b->cap);
        REQUIRE(b->d);
    }
    if (n) memcpy(b->d + b->n, p, n);
    b->n += n;
}
static void u8(buf *b, uint8_t v) { put(b, &v, 1); }
static void u32(buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) u8(b, (uint8_t)(v >> 8 * i));
}
static void u64(buf *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) u8(b, (uint8_t)(v >> 8 * i));
}
static void str(buf *b, const char *s)
{
    u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void zeros(buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++) u8(b, 0);
}

static const char *corpus_dir;
static int case_no;

static void save(const char *ext, const buf *b)
{
    if (!corpus_dir) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/case%03d.%s", corpus_dir, case_no, ext);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b->d ? (const void *)b->d : "", 1, b->n, f);
        fclose(f);
    }
}

static void expect(bool gguf, buf *b, tsr_status want, const char *msg)
{
    case_no++;
    save(gguf ? "gguf" : "safetensors", b);
    tsr_weights w;
    tsr_error err = {0};
    tsr_status st = gguf ? tsr_gguf_parse(b->d, b->n, "bad", &w, &err) : tsr_safetensors_parse(b->d, b->n, "bad", &w, &err);
    CHECKF(st == want, "case %d: status %s, expected %s (%s)", case_no, tsr_status_name(st), tsr_status_name(want),
           err.message);
    CHECKF(strstr(err.message, msg) != NULL, "case %d: message '%s' lacks '%s'", case_no, err.message, msg);
    if (st == TSR_OK) tsr_weights_free(&w);
    free(b->d);
    memset(b, 0, sizeof *b);
}

/* safetensors file = u64 header length + header + `data` zero bytes */
static void st_case(const char *header, size_t data, const char *msg)
{
    buf b = {0};
    u64(&b, strlen(header));
    put(&b, header, strlen(header));
    zeros(&b, data);
    expect(false, &b, TSR_ERR_FORMAT, msg);
}

static void safetensors_cases(void)
{
    buf b = {0};
    expect(false, &b, TSR_ERR_FORMAT, "too short");
    put(&b, "\x05\0\0\0\0", 5);
    expect(false, &b, TSR_ERR_FORMAT, "too short");
    u64(&b, 200000000), put(&b, "{}", 2);
    expect(false, &b, TSR_ERR_FORMAT, "exceeds the 100 MB limit");
    u64(&b, 1000), put(&b, "{}", 2);
    expect(false, &b, TSR_ERR_FORMAT, "runs past the end of the file");
    u64(&b, 0);
    expect(false, &b, TSR_ERR_FORMAT, "unexpected end of input");
    st_case("{\"a\":", 0, "invalid JSON at byte 5");
    st_case("{\"a\":{},}", 0, "object key expected");
    st_case("[]", 0, "header is a JSON array, not an object");
    st_case("{\"a\":1}", 0, "entry is a JSON number");
    st_case("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "\"dtype\" missing");
    st_case("{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "unsupported dtype \"I64\"");
    st_case("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "\"dtype\" missing or not a string");
    st_case("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "\"shape\" missing");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape[0] is not a non-negative");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,4]}}", 4, "shape[0] is not a non-negative");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "9 dimensions");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "\"data_offsets\" must be");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, "\"data_offsets\" must be");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, "is before begin");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "run past the data section");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "needs 8 bytes but data_offsets span 4");
    st_case("{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "needs 8 bytes but data_offsets span 16");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", 4, "shape is too large");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "'a' appears twice");
    st_case("{\"__metadata__\":[1]}", 0, "\"__metadata__\" is a JSON array");
    st_case("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ \"k\" is a JSON number, not a string");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, "unknown field \"x\"");
    st_case("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "empty or contains a NUL");
    st_case("{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "empty or contains a NUL");
    st_case("{\"q.weight_scale\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "has no F8_E4M3 tensor 'q.weight'");
    st_case("{\"q.weight\":{\"dtype\":\"F8_E4M3\",\"shape\":[2,2],\"data_offsets\":[0,4]},"
            "\"q.weight_scale\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}", 8, "must be F32 [2]");
    st_case("{\"\xff\":{}}", 0, "invalid UTF-8");
    st_case("{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
            "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 0, "nesting too deep");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[NaN],\"data_offsets\":[0,4]}}", 4, "invalid number");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551616]}}", 4,
            "data_offsets[1] is not a non-negative integer");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", 4, "unexpected data after");
}

/* GGUF prologue: magic, version, counts. */
static void gg_head(buf *b, const char *magic, uint32_t version, uint64_t nt, uint64_t nkv)
{
    put(b, magic, 4);
    u32(b, version);
    u64(b, nt);
    u64(b, nkv);
}

static void gg_tensor(buf *b, const char *name, uint32_t nd, uint64_t d0, uint64_t d1, uint32_t type, uint64_t off)
{
    str(b, name);
    u32(b, nd);
    if (nd > 0) u64(b, d0);
    for (uint32_t i = 1; i < nd; i++) u64(b, d1);
    u32(b, type);
    u64(b, off);
}

/* One tensor with the given info, data padded to 32, `data` bytes. */
static void gg_one(const char *name, uint32_t nd, uint64_t d0, uint64_t d1, uint32_t type, uint64_t off, size_t data,
                   const char *msg)
{
    buf b = {0};
    gg_head(&b, "GGUF", 3, 1, 0);
    gg_tensor(&b, name, nd, d0, d1, type, off);
    while (b.n % 32) u8(&b, 0);
    zeros(&b, data);
    expect(true, &b, TSR_ERR_FORMAT, msg);
}

static void gg_kv_case(const char *key, uint32_t type, const void *val, size_t n, const char *msg)
{
    buf b = {0};
    gg_head(&b, "GGUF", 3, 0, 1);
    str(&b, key);
    u32(&b, type);
    put(&b, val, n);
    zeros(&b, 16);
    expect(true, &b, TSR_ERR_FORMAT, msg);
}

static void gguf_cases(void)
{
    buf b = {0};
    gg_head(&b, "GGUX", 3, 0, 0);
    expect(true, &b, TSR_ERR_FORMAT, "bad magic");
    gg_head(&b, "GGUF", 1, 0, 0);
    expect(true, &b, TSR_ERR_FORMAT, "version 1 is not supported");
    gg_head(&b, "GGUF", 4, 0, 0);
    expect(true, &b, TSR_ERR_FORMAT, "version 4 is not supported");
    put(&b, "GGUF\3\0", 6);
    expect(true, &b, TSR_ERR_FORMAT, "truncated");
    gg_head(&b, "GGUF", 3, 1ull << 60, 0);
    expect(true, &b, TSR_ERR_FORMAT, "tensor count 1152921504606846976 is impossible");
    gg_head(&b, "GGUF", 3, 0, 1ull << 40);
    expect(true, &b, TSR_ERR_FORMAT, "metadata count 1099511627776 is impossible");
    gg_head(&b, "GGUF", 3, 0, 1), u64(&b, 1ull << 62), zeros(&b, 8);
    expect(true, &b, TSR_ERR_FORMAT, "truncated");
    uint8_t one[4] = {1, 0, 0, 0}, two = 2, zero4[4] = {0}, a48[4] = {48, 0, 0, 0};
    gg_kv_case("k", 99, one, 4, "unknown value type 99");
    gg_kv_case("k", 7, &two, 1, "not 0 or 1");
    gg_kv_case("general.alignment", 4, zero4, 4, "general.alignment 0 is not a power of two");
    gg_kv_case("general.alignment", 4, a48, 4, "general.alignment 48 is not a power of two");
    gg_kv_case("general.alignment", 5, one, 4, "expected uint32");
    uint8_t arr[12] = {4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}; /* uint32 x 2^56 */
    gg_kv_case("k", 9, arr, 12, "cannot fit in the file");
    buf nest = {0};
    for (int i = 0; i < 6; i++) u32(&nest, 9), u64(&nest, 1);
    gg_kv_case("k", 9, nest.d, nest.n, "nested too deeply");
    free(nest.d);
    gg_head(&b, "GGUF", 3, 0, 2);
    str(&b, "k"), u32(&b, 0), u8(&b, 1), str(&b, "k"), u32(&b, 0), u8(&b, 1);
    expect(true, &b, TSR_ERR_FORMAT, "'k' appears twice");
    gg_kv_case("k", 8, "\xff\xff\xff\xff\xff\xff\xff\x7f", 8, "truncated");
    gg_one("t", 1, 32, 0, 2, 0, 64, "unsupported type Q4_0");
    gg_one("t", 1, 32, 0, 12, 0, 64, "unsupported type Q4_K");
    gg_one("t", 9, 1, 1, 0, 0, 64, "9 dimensions");
    gg_one("t", 1, 4, 0, 0, 8, 64, "not a multiple of the alignment 32");
    gg_one("t", 1, 64, 0, 0, 0, 64, "run past the data section");
    gg_one("t", 2, 1ull << 40, 1ull << 40, 0, 0, 64, "dimensions are too large");
    gg_one("t", 1, 33, 0, 8, 0, 64, "Q8_0 needs a row length divisible by 32");
    gg_one("", 1, 4, 0, 0, 0, 64, "empty, too long or contains NUL");
    gg_one("t", 1, 4, 0, 0, 1ull << 62, 64, "run past the data section");
    gg_head(&b, "GGUF", 3, 2, 0);
    gg_tensor(&b, "a", 1, 16, 0, 0, 0), gg_tensor(&b, "b", 1, 16, 0, 0, 32);
    while (b.n % 32) u8(&b, 0);
    zeros(&b, 96);
    expect(true, &b, TSR_ERR_FORMAT, "'a' and 'b' overlap");
    gg_head(&b, "GGUF", 3, 2, 0);
    gg_tensor(&b, "a", 1, 4, 0, 0, 0), gg_tensor(&b, "a", 1, 4, 0, 0, 32);
    while (b.n % 32) u8(&b, 0);
    zeros(&b, 64);
    expect(true, &b, TSR_ERR_FORMAT, "'a' appears twice");
    gg_head(&b, "GGUF", 3, 1, 1);
    str(&b, "comfy.gguf.orig_shape.t"), u32(&b, 9), u32(&b, 5), u64(&b, 2), u32(&b, 3), u32(&b, 3);
    gg_tensor(&b, "t", 1, 8, 0, 0, 0);
    while (b.n % 32) u8(&b, 0);
    zeros(&b, 32);
    expect(true, &b, TSR_ERR_FORMAT, "different element count");
    gg_head(&b, "GGUF", 3, 1, 0);
    u64(&b, 100), zeros(&b, 30); /* tensor name longer than the file */
    expect(true, &b, TSR_ERR_FORMAT, "truncated: tensor name");
}

/* Well-formed files that are not SeedVR2 VAEs, through tsr_model_open. */
static void model_case(const tsr_st_tensor *t, int n, tsr_status want, const char *msg)
{
    case_no++;
    char path[64];
    snprintf(path, sizeof path, "test_malformed_%03d.safetensors", case_no);
    tsr_error err = {0};
    REQUIRE(tsr_safetensors_write(path, t, n, NULL, 0, &err) == TSR_OK);
    tsr_model *m = NULL;
    tsr_status st = tsr_model_open(path, &m, &err);
    CHECKF(st == want && !m, "case %d: status %s (%s)", case_no, tsr_status_name(st), err.message);
    CHECKF(strstr(err.message, msg) != NULL, "case %d: message '%s' lacks '%s'", case_no, err.message, msg);
    tsr_model_destroy(&m);
    if (corpus_dir) {
        char dst[1024];
        snprintf(dst, sizeof dst, "%s/case%03d.safetensors", corpus_dir, case_no);
        tsr_rename_replace(path, dst);
    }
    tsr_remove(path);
}

static void model_cases(void)
{
    tsr_vae_config c;
    tsr_vae_config_seedvr2(&c);
    static const int ch[4] = {32, 32, 64, 64};
    memcpy(c.block_out, ch, sizeof ch);
    c.has_encoder = 0;
    int n = tsr_vae_tensor_specs(&c, NULL, 0);
    tsr_tensor_spec *s = calloc((size_t)n, sizeof *s);
    tsr_st_tensor *t = calloc((size_t)n, sizeof *t);
    static uint8_t zero[64 * 64 * 27 * 2 * 4];
    REQUIRE(s && t);
    tsr_vae_tensor_specs(&c, s, n);
    for (int i = 0; i < n; i++) {
        t[i].name = s[i].name, t[i].dtype = TSR_DT_F16, t[i].ndim = s[i].ndim, t[i].data = zero;
        memcpy(t[i].shape, s[i].shape, sizeof s[i].shape);
    }
    model_case(t, n - 1, TSR_ERR_MODEL, "missing tensor decoder.conv_out.bias");
    t[5].shape[0] = 7;
    model_case(t, n, TSR_ERR_MODEL, "has shape 7");
    t[5].shape[0] = s[5].shape[0];
    model_case(t + 3, n - 3, TSR_ERR_MODEL, "not a SeedVR2 VAE");
    tsr_st_tensor other = {"model.layer.weight", TSR_DT_F32, 1, {4}, zero};
    model_case(&other, 1, TSR_ERR_MODEL, "no encoder.* or decoder.* tensors");
    free(s);
    free(t);

    tsr_error err = {0};
    tsr_model *m = NULL;
    CHECK(tsr_model_open("no/such/model.safetensors", &m, &err) == TSR_ERR_IO && strstr(err.message, "no/such"));
    FILE *f = fopen("test_malformed_junk.bin", "wb");
    REQUIRE(f);
    fputs("abc", f);
    fclose(f);
    CHECK(tsr_model_open("test_malformed_junk.bin", &m, &err) == TSR_ERR_FORMAT &&
          strstr(err.message, "neither safetensors nor GGUF"));
    tsr_remove("test_malformed_junk.bin");
}

/* Valid seeds for the fuzzers: every dtype, metadata, an FP8 pair; a GGUF with a 5-D tensor and Q8_0. */
static void write_valid_seeds(void)
{
    static float f[64];
    static uint8_t q[68];
    char path[1024];
    tsr_error err = {0};
    tsr_st_tensor st[] = {
        {"a.weight", TSR_DT_F32, 2, {2, 3}, f}, {"b", TSR_DT_F16, 1, {4}, f}, {"c", TSR_DT_BF16, 2, {2, 2}, f},
        {"q.weight", TSR_DT_F8_E4M3, 2, {2, 3}, f}, {"q.weight_scale", TSR_DT_F32, 1, {2}, f},
    };
    const char *meta[] = {"format", "pt"};
    snprintf(path, sizeof path, "%s/valid.safetensors", corpus_dir);
    CHECK(tsr_safetensors_write(path, st, 5, meta, 1, &err) == TSR_OK);
    tsr_st_tensor gg[] = {
        {"enc.conv.weight", TSR_DT_F32, 5, {2, 1, 1, 1, 3}, f}, {"q", TSR_DT_Q8_0, 2, {2, 32}, q},
        {"bf", TSR_DT_BF16, 3, {1, 2, 3}, f}, {"h", TSR_DT_F16, 1, {4}, f},
    };
    snprintf(path, sizeof path, "%s/valid.gguf", corpus_dir);
    CHECK(tsr_gguf_write(path, gg, 4, meta, 1, &err) == TSR_OK);
}

int main(int argc, char **argv)
{
    if (argc > 1) corpus_dir = argv[1];
    if (corpus_dir) write_valid_seeds();
    safetensors_cases();
    gguf_cases();
    model_cases();
    fprintf(stderr, "%d malformed files rejected\n", case_no + 2);
    CHECK(case_no + 2 >= 40);
    return tsr_test_done();
}
