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

/* The backend's tuning (cuDNN plan choices) lives in the SQLite store unless the build has none, the user
 * named a file (TSR_CUDNN_CACHE: a path, or "off"), or the caller said "off". */
static int tuning_in_store(const tsr_engine_params *p)
{
    const char *env = getenv("TSR_CUDNN_CACHE");
    return TSR_HAVE_STORE && !(env && *env) && !(p->tuning_store && !strcmp(p->tuning_store, "off"));
}

static tsr_backend_params backend_params(const tsr_engine_params *p)
{
    tsr_backend_params bp = {p->threads, p->device, TSR_LP_DEFAULT, p->memory_budget, tuning_in_store(p)};
    return bp;
}

static tsr_store *tuning_store_open(const tsr_engine *e)
{
    tsr_store_params sp;
    tsr_store_params_default(&sp);
    sp.path = e->tuning_store[0] ? e->tuning_store : NULL;
    sp.recover_interrupted = 0; /* a second handle beside the app's */
    tsr_store *s = NULL;
    tsr_error err;
    if (tsr_store_open(&sp, &s, &err) != TSR_OK) {
        tsr_log(TSR_LOG_WARN, "backend tuning not kept (%s): plans are timed again next time", err.message);
        return NULL;
    }
    return s;
}

/* After the backend exists: read what it learnt on earlier runs on this device. Never fails the engine. */
static void tuning_load(tsr_engine *e)
{
    e->tuning_in_store = tuning_in_store(&e->params) && e->be->ops->tuning_import && e->be->ops->tuning_export;
    if (!e->tuning_in_store) return;
    if (e->params.tuning_store) snprintf(e->tuning_store, sizeof e->tuning_store, "%s", e->params.tuning_store);
    tsr_device_info dev[TSR_MAX_DEVICES];
    int n = 0;
    tsr_error err;
    if (tsr_devices_list(dev, TSR_MAX_DEVICES, &n, &err) != TSR_OK || e->params.device < 0 || e->params.device >= n) {
        e->tuning_in_store = 0;
        return;
    }
    const tsr_device_info *d = &dev[e->params.device];
    snprintf(e->tuning_device, sizeof e->tuning_device, "%s (sm_%d%d)", d->name, d->cc_major, d->cc_minor);
    tsr_store *s = tuning_store_open(e);
    if (!s) return;
    char *text = NULL;
    if (tsr_store_backend_tuning_get(s, e->tuning_device, &text, &err) != TSR_OK)
        tsr_log(TSR_LOG_WARN, "backend tuning: %s", err.message);
    else if (text && e->be->ops->tuning_import(e->be, text, &err) != TSR_OK)
        tsr_log(TSR_LOG_WARN, "backend tuning in the store: %s; plans will be timed again", err.message);
    else
        e->tuning_text = text, text = NULL;
    free(text);
    tsr_store_close(&s);
}

/* Before the backend goes: keep what it learnt, when that changed. */
static void tuning_save(tsr_engine *e)
{
    if (!e->tuning_in_store || !e->tuning_device[0]) return;
    char *text = e->be->ops->tuning_export(e->be);
    if (text && (!e->tuning_text || strcmp(text, e->tuning_text))) {
        tsr_store *s = tuning_store_open(e);
        tsr_error err;
        if (s && tsr_store_backend_tuning_put(s, e->tuning_device, text, &err) != TSR_OK)
            tsr_log(TSR_LOG_WARN, "backend tuning not kept: %s", err.message);
        tsr_store_close(&s);
    }
    free(text);
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
    tuning_load(e);
    *out = e;
    return TSR_OK;
}

void tsr_engine_destroy(tsr_engine **engine)
{
    if (!engine || !*engine) return;
    tsr_engine *e = *engine;
    if (e->be) {
        tuning_save(e);
        e->be->ops->destroy(e->be);
    }
    free(e->tuning_text);
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
    snprintf(v->model_digest, sizeof v->model_digest, "%s", tsr_model_digest(model));
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
