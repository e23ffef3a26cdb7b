/* A decode on a fresh CPU engine, its frames and events collected (tests of the planner, deep tiles and tuned
 * plans share it). Include after tsr_test.h. */
#ifndef TSR_DECODE_RUN_H
#define TSR_DECODE_RUN_H
#include <stdlib.h>
#include <string.h>

#include "tessera.h"
#include "tsr_test.h"

typedef struct tsr_decoded {
    float *d;                  /* [3][cf][ch][cw], allocated by the first tsr_decode_run */
    int cf, ch, cw;            /* the clip the frames are placed in */
    int crop_ok;               /* frames smaller than ch x cw (a crop) are not a fault; they go top left */
    int next, bad_order, frames, calls, h, w; /* h, w: the size the sink was given */
    int plans, tiles_seen, tiles_total;
    uint64_t peak, resident;   /* the backend's high-water mark; the tiled decode's resident one */
    tsr_plan first, last;
    char why[TSR_ERROR_MESSAGE_MAX];
} tsr_decoded;

/* Bytes of the collected clip (for memcmp of two results). */
#define TSR_DECODED_BYTES(o) ((size_t)3 * (size_t)(o).cf * (size_t)(o).ch * (size_t)(o).cw * sizeof(float))

static inline tsr_status tsr_decoded_sink(void *user, const float *fr, int n, int first, int h, int w, tsr_error *e)
{
    (void)e;
    tsr_decoded *o = user;
    if (first != o->next || (!o->crop_ok && (h != o->ch || w != o->cw))) o->bad_order++;
    o->h = h, o->w = w;
    for (int i = 0; i < n && first + i < o->cf; i++)
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h && y < o->ch; y++)
                memcpy(o->d + (((size_t)c * o->cf + first + i) * o->ch + y) * o->cw,
                       fr + (((size_t)i * 3 + c) * h + y) * w, sizeof(float) * (size_t)(w < o->cw ? w : o->cw));
    o->next = first + n;
    o->frames += n;
    o->calls++;
    return TSR_OK;
}

static inline int tsr_decoded_progress(void *user, const tsr_progress *p)
{
    tsr_decoded *o = user;
    if (p->mem_peak > o->peak) o->peak = p->mem_peak;
    if (p->tiles > 1) o->tiles_seen = p->tile > o->tiles_seen ? p->tile : o->tiles_seen, o->tiles_total = p->tiles;
    return 0;
}

static inline void tsr_decoded_plan(void *user, const tsr_plan *p, const char *why)
{
    tsr_decoded *o = user;
    if (o->plans++ == 0) o->first = *p;
    o->last = *p;
    if (why) snprintf(o->why, sizeof o->why, "%s", why);
}

/* Decode latent [16][t][lh][lw] (4t-3 frames of 8lh x 8lw) with `model` on a fresh CPU engine of 2 threads whose
 * emulated device cap is `cap` (0 = none), with p's settings; its sink, progress and plan callbacks are set
 * here and fill *o (reset; its frame buffer kept). `resident`: read the tiled decode's resident high-water mark
 * (needs vae/vae_internal.h, so the caller passes a reader; NULL = none). */
static inline tsr_status tsr_decode_run(tsr_model *model, const float *lat, int t, int lh, int lw, uint64_t cap,
                                        tsr_decode_params *p, tsr_decoded *o, uint64_t (*resident)(const tsr_vae *),
                                        tsr_error *err)
{
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CPU;
    ep.threads = 2;
    ep.memory_budget = cap;
    tsr_engine *eng = NULL;
    tsr_vae *vae = NULL;
    REQUIRE(tsr_engine_create(&ep, &eng, err) == TSR_OK);
    REQUIRE(tsr_vae_create(eng, model, &vae, err) == TSR_OK);
    float *d = o->d;
    int crop_ok = o->crop_ok;
    memset(o, 0, sizeof *o);
    o->cf = 4 * t - 3, o->ch = 8 * lh, o->cw = 8 * lw, o->crop_ok = crop_ok;
    o->d = d ? d : malloc(TSR_DECODED_BYTES(*o));
    REQUIRE(o->d != NULL);
    memset(o->d, 0, TSR_DECODED_BYTES(*o));
    p->on_plan = tsr_decoded_plan, p->plan_user = o;
    p->progress = tsr_decoded_progress, p->progress_user = o;
    tsr_status st = tsr_vae_decode(vae, lat, 16, t, lh, lw, p, tsr_decoded_sink, o, err);
    if (resident) o->resident = resident(vae);
    tsr_vae_destroy(&vae);
    tsr_engine_destroy(&eng);
    return st;
}
#endif
