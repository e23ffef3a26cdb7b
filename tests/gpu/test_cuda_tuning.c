/* The engine keeps what the CUDA backend learns by timing (cuDNN plan choices) in the SQLite store
 * (tsr_engine_params.tuning_store): a first engine times the plans of a small decode and writes them to the
 * store when it is destroyed, under its device's key; a second engine on the same store builds the remembered
 * plans (no timing) and decodes the same bits, and has nothing new to write. Exits 77 without a GPU, without
 * cuDNN or in a build without SQLite. */
#include "../golden/golden_harness.h"
#include "backend/cuda/cudnn.h"
#include "model/filler.h"
#include "tessera.h"
#include "tsr_config.h"
#include "tsr_test.h"

#include "core/common.h"

enum { LT = 2, LH = 8, LW = 12 }; /* 96 tokens per frame: CUDA attention takes multiples of 8 */

static tsr_engine *make_engine(const char *store)
{
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CUDA;
    ep.memory_budget = (uint64_t)4 << 30;
    ep.tuning_store = store;
    tsr_engine *eng = NULL;
    tsr_status st = tsr_engine_create(&ep, &eng, &err);
    if (st == TSR_ERR_NO_DEVICE || st == TSR_ERR_UNSUPPORTED) SKIP("%s", err.message);
    REQUIRE(st == TSR_OK);
    return eng;
}

static char *stored(const char *path, const char *device)
{
    tsr_store_params sp;
    tsr_store_params_default(&sp);
    sp.path = path;
    sp.recover_interrupted = 0;
    tsr_store *s = NULL;
    char *text = NULL;
    REQUIRE(tsr_store_open(&sp, &s, &err) == TSR_OK);
    CHECK(tsr_store_backend_tuning_get(s, device, &text, &err) == TSR_OK);
    tsr_store_close(&s);
    return text;
}

int main(void)
{
    (void)st_min_read, (void)source;
    if (!TSR_HAVE_STORE) SKIP("built without SQLite");
    tsr_test_setenv("TSR_CUDNN_CACHE", NULL); /* the engine's store, not a file */
    tsr_test_setenv("TSR_CUDNN_PLANS", "3");
    const char *path = "test_cuda_tuning.db";
    remove(path);
    tsr_engine *eng = make_engine(path);
    tsr_cudnn *dnn = NULL;
    tsr_error de;
    if (tsr_cudnn_open(NULL, &dnn, &de) != TSR_OK) SKIP("no cuDNN: %s", de.message);
    tsr_cudnn_close(&dnn);
    tsr_device_info dev[TSR_MAX_DEVICES];
    int ndev = 0;
    REQUIRE(tsr_devices_list(dev, TSR_MAX_DEVICES, &ndev, &err) == TSR_OK && ndev > 0);
    char device[192];
    snprintf(device, sizeof device, "%s (sm_%d%d)", dev[0].name, dev[0].cc_major, dev[0].cc_minor);

    tsr_model *model = NULL;
    REQUIRE(tsr_model_builtin(NULL, &model, &err) == TSR_OK);
    size_t nl = (size_t)16 * LT * LH * LW, nout = (size_t)3 * (4 * LT - 3) * 64 * LH * LW;
    float *lat = malloc(nl * sizeof *lat);
    REQUIRE(lat);
    tsr_filler_latent(lat, nl);

    REQUIRE(tsr_vae_create(eng, model, &vae, &err) == TSR_OK);
    float *a = decode(lat, LT, LH, LW, 1);
    REQUIRE(tsr_test_failures == 0); /* a failed decode would compare two empty buffers */
    tsr_vae_destroy(&vae);
    CHECKF(stored(path, device) == NULL, "written before the engine was destroyed");
    tsr_engine_destroy(&eng);
    char *first = stored(path, device);
    CHECKF(first && !strncmp(first, "tessera-cudnn-plans 2\n", 22) && strchr(first + 22, '\n'),
           "no plan choices kept for %s: %s", device, first ? first : "(none)");

    eng = make_engine(path);
    REQUIRE(tsr_vae_create(eng, model, &vae, &err) == TSR_OK);
    float *b = decode(lat, LT, LH, LW, 1);
    tsr_vae_destroy(&vae);
    tsr_engine_destroy(&eng);
    char *second = stored(path, device);
    CHECKF(second && first && !strcmp(first, second), "the second start changed the kept choices");
    REQUIRE(a && b);
    size_t differ = 0;
    for (size_t i = 0; a && b && i < nout; i++) differ += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    size_t lines = 0;
    for (const char *q = first ? first : ""; *q; q++) lines += *q == '\n';
    fprintf(stderr, "%s: %zu plan choices kept; remembered vs timed decode: %zu of %zu values differ\n", device,
            lines ? lines - 1 : 0, differ, nout);
    CHECK(a && b && differ == 0);

    eng = make_engine("off"); /* "off": nothing read or written */
    tsr_engine_destroy(&eng);
    char *third = stored(path, device);
    CHECK(third && second && !strcmp(third, second));
    free(first), free(second), free(third), free(a), free(b), free(lat);
    tsr_model_destroy(&model);
    remove(path);
    return tsr_test_done();
}
