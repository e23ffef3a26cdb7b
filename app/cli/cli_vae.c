/* Helpers shared by decode / encode / demo: model and engine from options, tensors in and out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/safetensors.h"
#include "tsr_config.h"

int cli_open_model(const char *spec, tsr_model **m, tsr_error *err)
{
    if (strcmp(spec, "builtin") == 0) return tsr_model_builtin(NULL, m, err) == TSR_OK ? 0 : cli_fail_err(err);
    if (strcmp(spec, "builtin:small") == 0) { /* scaled-down SeedVR2 for quick runs and tests */
        tsr_vae_config c;
        tsr_vae_config_seedvr2(&c);
        static const int ch[4] = {32, 32, 64, 64};
        memcpy(c.block_out, ch, sizeof ch);
        return tsr_model_builtin(&c, m, err) == TSR_OK ? 0 : cli_fail_err(err);
    }
    return tsr_model_open(spec, m, err) == TSR_OK ? 0 : cli_fail_err(err);
}

int cli_make_engine(const char *backend, int threads, tsr_engine **e, tsr_error *err)
{
    return cli_make_engine_prec(backend, threads, TSR_PRECISION_AUTO, e, err);
}

int cli_make_engine_prec(const char *backend, int threads, tsr_precision precision, tsr_engine **e, tsr_error *err)
{
    tsr_engine_params p;
    tsr_engine_params_default(&p);
    p.precision = precision;
    if (!backend || strcmp(backend, "auto") == 0) p.backend = TSR_BACKEND_AUTO;
    else if (strcmp(backend, "cpu") == 0) p.backend = TSR_BACKEND_CPU;
    else if (strcmp(backend, "cuda") == 0) p.backend = TSR_BACKEND_CUDA;
    else return cli_fail("unknown backend '%s' (cpu, cuda or auto)", backend);
    if (threads < 0) return cli_fail("--threads must be 0 (all cores) or more, got %d", threads);
    p.threads = threads;
    if (tsr_engine_create(&p, e, err) != TSR_OK) return cli_fail_err(err);
    const char *why = tsr_engine_fallback_reason(*e);
    /* a CUDA build that cannot use the GPU says why; a CPU-only build has nothing to report */
    if (TSR_HAVE_CUDA && why[0] && p.backend == TSR_BACKEND_AUTO) fprintf(stderr, "tessera-cli: using the CPU: %s\n", why);
    return 0;
}

/* The tensor named `key`, or the file's only tensor. */
int cli_read_tensor(const char *path, const char *key, tsr_weights *w, const tsr_tensor_info **out, float **data,
                    tsr_error *err)
{
    *data = NULL;
    if (tsr_safetensors_open(path, w, err) != TSR_OK) return cli_fail_err(err);
    const tsr_tensor_info *t = tsr_weights_find(w, key);
    if (!t && w->count == 1) t = &w->tensors[0];
    if (!t) return cli_fail("%s: no tensor '%s' (and more than one tensor in the file)", path, key);
    *data = malloc((size_t)t->numel * sizeof(float) + 1);
    if (!*data) return cli_fail("out of memory reading %s", path);
    if (tsr_tensor_read_f32(t, *data, err) != TSR_OK) return cli_fail("%s: %s", path, err->message);
    *out = t;
    return 0;
}

int cli_write_tensor(const char *path, const char *key, const float *data, int ndim, const int64_t *shape,
                     const char *const *meta, int meta_pairs, tsr_error *err)
{
    tsr_st_tensor t = {key, TSR_DT_F32, ndim, {0}, data};
    for (int i = 0; i < ndim; i++) t.shape[i] = shape[i];
    if (tsr_safetensors_write(path, &t, 1, meta, meta_pairs, err) != TSR_OK) return cli_fail_err(err);
    return 0;
}

/* Prints one progress line per chunk to stderr when stderr is verbose. */
int cli_progress(void *user, const tsr_progress *p)
{
    if (user)
        fprintf(stderr, "\r%s: chunk %d/%d, %d frames, %.1f s", p->stage, p->chunks_done, p->chunks_total,
                p->frames_done, p->elapsed_s);
    return 0;
}
