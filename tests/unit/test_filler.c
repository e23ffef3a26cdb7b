/* The filler reproduces the fixtures' check values bit for bit, and the tensor list generated from the
 * SeedVR2 configuration equals the real checkpoint's (../shared/fixtures/ema_vae_tensors.tsv). */
#include <inttypes.h>
#include <math.h>

#include "core/common.h"
#include "model/filler.h"
#include "model/vae_tensors.h"
#include "model/weights.h"
#include "tsr_test.h"

static void check_values(void)
{
    CHECK(tsr_fnv1a64("latent") == 0x37644263818f67ebull);
    CHECK(tsr_fnv1a64("decoder.conv_in.weight") == 0x4e1e1452528dbf91ull);
    uint64_t h = tsr_fnv1a64("latent");
    CHECK(tsr_filler_s(h, 0) == 0.5754307508468628);
    CHECK(tsr_filler_s(h, 1) == -0.6491802930831909);
    CHECK(tsr_filler_s(h, 2) == -0.25846195220947266);
    CHECK(tsr_filler_s(h, 3) == 0.46919524669647217);

    float v[4];
    tsr_filler_latent(v, 4);
    CHECK(v[0] == 0.9966753125190735f && v[1] == -1.124413251876831f && v[2] == -0.44766923785209656f &&
          v[3] == 0.8126699924468994f);
    tsr_filler_video(v, 4);
    CHECK(v[0] == 0.6813852787017822f && v[1] == 0.7309815883636475f && v[2] == 0.23697912693023682f &&
          v[3] == -0.7622160911560059f);

    struct {
        const char *name;
        int ndim;
        int64_t shape[5];
        float first[4];
    } cases[] = {
        {"decoder.conv_in.weight", 5, {512, 16, 3, 3, 3},
         {0.028316060081124306f, -0.05427802726626396f, 0.06962952762842178f, -0.05904148146510124f}},
        {"decoder.conv_in.bias", 1, {512}, {-0.09730567038059235f, -0.0014675616985186934f, 0.07406147569417953f,
                                            -0.02210211753845215f}},
        {"decoder.conv_norm_out.weight", 1, {128},
         {0.8798801898956299f, 1.1699057817459106f, 1.1416531801223755f, 0.8265752792358398f}},
        {"decoder.conv_norm_out.bias", 1, {128},
         {-0.08147495985031128f, -0.03497999906539917f, 0.019383633509278297f, -0.09212712198495865f}},
        {"decoder.mid_block.attentions.0.to_q.weight", 2, {512, 512},
         {0.026926575228571892f, 0.05737252160906792f, -0.06470073759555817f, -0.03930853307247162f}},
    };
    for (size_t i = 0; i < TSR_ARRAY_LEN(cases); i++) {
        double sc, off;
        tsr_filler_vae_rule(cases[i].name, cases[i].ndim, cases[i].shape, &sc, &off);
        tsr_filler_fill(cases[i].name, sc, off, 0, 4, v);
        for (int k = 0; k < 4; k++) CHECKF(v[k] == cases[i].first[k], "%s[%d] = %.17g", cases[i].name, k, v[k]);
    }
}

static void check_tensor_list(void)
{
    tsr_vae_config cfg;
    tsr_vae_config_seedvr2(&cfg);
    int n = tsr_vae_tensor_specs(&cfg, NULL, 0);
    CHECK(n == 250);
    tsr_tensor_spec *specs = calloc((size_t)n, sizeof *specs);
    tsr_vae_tensor_specs(&cfg, specs, n);

    char path[1024];
    snprintf(path, sizeof path, "%s/ema_vae_tensors.tsv", tsr_test_env("TSR_FIXTURES", "../shared/fixtures"));
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        tsr_test_failures++;
        free(specs);
        return;
    }
    char line[512];
    int row = 0;
    int64_t params = 0;
    REQUIRE(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        char name[256], shape[128], dtype[16];
        if (sscanf(line, "%255s %127s %15s", name, shape, dtype) != 3) continue;
        REQUIRE(row < n);
        char want[128] = "[";
        for (int d = 0; d < specs[row].ndim; d++) {
            char b[32];
            snprintf(b, sizeof b, d ? ",%" PRId64 : "%" PRId64, specs[row].shape[d]);
            strcat(want, b);
        }
        strcat(want, "]");
        CHECKF(strcmp(name, specs[row].name) == 0, "row %d: tsv %s, generated %s", row, name, specs[row].name);
        CHECKF(strcmp(shape, want) == 0, "%s: tsv %s, generated %s", name, shape, want);
        int64_t numel = 1;
        for (int d = 0; d < specs[row].ndim; d++) numel *= specs[row].shape[d];
        params += numel;
        row++;
    }
    fclose(f);
    CHECK(row == 250);
    CHECK(params == 250648227);
    free(specs);
}

/* All 250 tensors filled in fp32, concatenated in tsv order: FNV-1a-64 over the bytes = 0x07701f12ba9521da. */
static void check_whole_model_hash(void)
{
    tsr_vae_config cfg;
    tsr_vae_config_seedvr2(&cfg);
    int n = tsr_vae_tensor_specs(&cfg, NULL, 0);
    tsr_tensor_spec *specs = calloc((size_t)n, sizeof *specs);
    tsr_vae_tensor_specs(&cfg, specs, n);
    enum { CHUNK = 1 << 16 };
    float *buf = malloc(CHUNK * sizeof(float));
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < n; i++) {
        int64_t numel = 1;
        for (int d = 0; d < specs[i].ndim; d++) numel *= specs[i].shape[d];
        double sc, off;
        tsr_filler_vae_rule(specs[i].name, specs[i].ndim, specs[i].shape, &sc, &off);
        for (int64_t s = 0; s < numel; s += CHUNK) {
            int64_t m = numel - s < CHUNK ? numel - s : CHUNK;
            tsr_filler_fill(specs[i].name, sc, off, (uint64_t)s, (uint64_t)m, buf);
            const unsigned char *p = (const unsigned char *)buf;
            for (int64_t b = 0; b < m * 4; b++) {
                h ^= p[b];
                h *= 0x100000001b3ull;
            }
        }
    }
    CHECKF(h == 0x07701f12ba9521daull, "whole-model FNV = %016" PRIx64, h);
    free(buf);
    free(specs);
}

int main(void)
{
    check_values();
    check_tensor_list();
    check_whole_model_hash();
    return tsr_test_done();
}
