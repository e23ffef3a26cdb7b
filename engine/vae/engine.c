/* Engines (a backend instance) and VAEs (a model's weights bound to an engine). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "tsr_config.h"
#include "vae/vae_internal.h"

void tsr_engine_params_default(tsr_engine_params *p)
{
    memset(p, 0, sizeof *p);
    p->backend = TSR_BACKEND_AUTO;
    p->precision = TSR_PRECISION_AUTO;
}

static tsr_backend_params backend_params(const tsr_engine_params *p)
{
    tsr_backend_params bp = {p->threads, p->device, TSR_LP_DEFAULT, p->memory_budget};
    return bp;
}

static tsr_status create_cpu(tsr_engine *e, tsr_error *err)
{
    tsr_backend_params bp = backend_params(&e->params);
    tsr_status st = tsr_cpu_backend_create(&bp, &e->be, err);
    if (st != TSR_OK) return st;
    int threads = e->params.threads > 0 ? e->params.threads : tsr_cpu_count();
    snprintf(e->description, sizeof e->description, "cpu (%d thread%s, fp32)", threads, threads == 1 ? "" : "s");
    return TSR_OK;
}

#if TSR_HAVE_CUDA
static tsr_status create_cuda(tsr_engine *e, tsr_error *err)
{
    tsr_backend_params bp = backend_params(&e->params);
    tsr_status st = tsr_cuda_backend_create(&bp, &e->be, err);
    if (st == TSR_OK) snprintf(e->description, sizeof e->description, "cuda (device %d)", e->params.device);
    return st;
}
#endif

/* AUTO: CUDA when built and usable, else the CPU with the reason kept for the user. */
static tsr_status pick_backend(tsr_engine *e, tsr_error *err)
{
    switch (e->params.backend) {
    case TSR_BACKEND_CPU: return create_cpu(e, err);
    case TSR_BACKEND_CUDA:
#if TSR_HAVE_CUDA
        return create_cuda(e, err);
#else
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "this build of Tessera has no CUDA backend");
#endif
    case TSR_BACKEND_AUTO: {
#if TSR_HAVE_CUDA
        tsr_error cerr = {0};
        if (create_cuda(e, &cerr) == TSR_OK) return TSR_OK;
        snprintf(e->fallback_reason, sizeof e->fallback_reason, "%s", cerr.message);
#else
        snprintf(e->fallback_reason, sizeof e->fallback_reason, "built without CUDA");
#endif
        return create_cpu(e, err);
    }
    }
    return tsr_fail(err, TSR_ERR_INVALID_ARG, "unknown backend kind %d", (int)e->params.backend);
}

tsr_status tsr_engine_create(const tsr_engine_params *p, tsr_engine **out, tsr_error *err)
{
    *out = NULL;
    tsr_engine *e = tsr_calloc(1, sizeof *e, err);
    if (!e) return TSR_ERR_NOMEM;
    if (p) e->params = *p;
    else tsr_engine_params_default(&e->params);
    if (e->params.threads < 0) {
        free(e);
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "thread count %d is negative", p->threads);
    }
    tsr_status st = pick_backend(e, err);
    if (st != TSR_OK) {
        free(e);
        return st;
    }
    *out = e;
    return TSR_OK;
}

void tsr_engine_destroy(tsr_engine **engine)
{
    if (!engine || !*engine) return;
    tsr_engine *e = *engine;
    if (e->be) e->be->ops->destroy(e->be);
    free(e);
    *engine = NULL;
}

const char *tsr_engine_description(const tsr_engine *e) { return e ? e->description : ""; }
const char *tsr_engine_fallback_reason(const tsr_engine *e) { return e ? e->fallback_reason : ""; }

tsr_status tsr_devices_list(tsr_device_info *out, int max, int *count, tsr_error *err)
{
    if (!count) return tsr_fail(err, TSR_ERR_INVALID_ARG, "tsr_devices_list: count is required");
    *count = 0;
    if (max < 0 || (max > 0 && !out)) return tsr_fail(err, TSR_ERR_INVALID_ARG, "tsr_devices_list: no room given");
    if (err) memset(err, 0, sizeof *err);
    return tsr_cuda_devices(out, max, count, err);
}

void tsr_engine_stats_get(tsr_engine *e, int reset, tsr_engine_stats *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!e || !e->be) return;
    if (e->be->ops->stats) e->be->ops->stats(e->be, out, reset);
    else if (out && e->be->ops->memory) e->be->ops->memory(e->be, &out->mem_in_use, &out->mem_peak, &out->mem_budget);
}

tsr_status tsr_vae_create(tsr_engine *engine, const tsr_model *model, tsr_vae **out, tsr_error *err)
{
    *out = NULL;
    if (!engine || !model) return tsr_fail(err, TSR_ERR_INVALID_ARG, "tsr_vae_create: engine and model are required");
    tsr_vae *v = tsr_calloc(1, sizeof *v, err);
    if (!v) return TSR_ERR_NOMEM;
    v->engine = engine;
    v->be = engine->be;
    v->cfg = *tsr_model_config(model);
    if (!v->cfg.has_encoder && !v->cfg.has_decoder) {
        free(v);
        return tsr_fail(err, TSR_ERR_MODEL, "the model has neither an encoder nor a decoder");
    }
    const tsr_weights *w = tsr_model_weights(model);
    tsr_status st = TSR_OK;
    if (v->cfg.has_decoder) st = tsr_vae_load_half(v, w, 0, err);
    if (st == TSR_OK && v->cfg.has_encoder) st = tsr_vae_load_half(v, w, 1, err);
    if (st != TSR_OK) {
        tsr_vae_destroy(&v);
        return st;
    }
    *out = v;
    return TSR_OK;
}

void tsr_vae_destroy(tsr_vae **vae)
{
    if (!vae || !*vae) return;
    tsr_vae *v = *vae;
    tsr_vae_free_half(v, &v->dec);
    tsr_vae_free_half(v, &v->enc);
    free(v);
    *vae = NULL;
}
