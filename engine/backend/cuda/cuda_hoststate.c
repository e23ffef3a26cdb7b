/* Causal states in pinned host memory (backend.h state_create_host / state_prefetch).
 *
 * A host state keeps its frames (the same bf16 [keep][h][w][cp] bytes a device state holds) in pinned host
 * memory between convs; its per-frame affines stay on the device (2 x cp float2: tiny). Two staging buffers in
 * the arena take a state's frames for its conv. Host states alternate between them in creation order (the
 * VAE creates them in execution order, so consecutive host convs use different buffers, which is what lets a
 * prefetch overlap the conv before it); each buffer is the size of the largest state that uses it, so the
 * two together are the largest even plus the largest odd host state, not twice the largest. The conv reads and
 * updates them there exactly as it does a device state's (`s->frames` points at the buffer meanwhile), so the
 * result is bit-identical. Copies run on two streams of their own, beside the compute stream:
 *   up    (host -> staging): waits for the compute stream's position when it is issued (what ran before in
 *         that buffer is done) and for the latest copy out (the buffer's previous frames, and this state's
 *         own, are home); the conv waits for the buffer's `loaded` event;
 *   down  (staging -> host): waits for the conv (`consumed`), then `down_ev` marks its end.
 * The VAE prefetches the next host state one conv ahead, so both copies overlap compute; nothing waits on the
 * host. Stream capture (chunk graphs) pulls both streams into the graph through those event waits; an event
 * may only be waited for inside the capture that recorded it, so events carry the "window" they were recorded
 * in, and graph_begin / graph_end join the copy streams into the compute stream (a new window): a wait on an
 * event of an older window is already implied by the join and is skipped. A replay issues nothing (the
 * recorded graph holds the copies); the pinned address of each host state a chunk uses is logged with the
 * arena steps, so a replay whose states live elsewhere (a new clip) is refused like any other mismatch. */
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "core/common.h"

enum { HS_POOL = 64 };

typedef struct tsr_hs_slot {
    CUdeviceptr dev;
    uint64_t bytes;                 /* the largest host state using this buffer */
    tsr_state *owner;               /* the state whose frames it holds (or is receiving) for its next conv */
    CUevent loaded;
    long loaded_win;                /* window of the last `loaded` record, -1: none */
} tsr_hs_slot;

typedef struct tsr_hs {
    CUstream up, down;
    CUevent now, consumed, down_ev, up_tail, down_tail;
    long win, down_win;             /* current window; window of the last down_ev record (-1: none) */
    int up_used, down_used;         /* copy streams used in this window (joined at its end) */
    tsr_hs_slot slot[2];
    int created, count;             /* host states created since the buffers were empty (their parity picks the
                                     * buffer) / alive */
    uint64_t bytes, peak;           /* pinned bytes of host states: now / high-water */
    struct { void *p; uint64_t bytes; } pool[HS_POOL]; /* pinned blocks of freed host states, kept for the
                                     * next clip / re-plan (pinning is slow); freed with the backend */
    int npool;
} tsr_hs;

enum { EVENT_DISABLE_TIMING = 2 };

/* Pinned memory for a state's frames: a pooled block of that size, else a new one (after releasing the pool
 * when the allocation fails: the pool may hold other sizes). */
static tsr_status pinned_get(tsr_cuda *cu, uint64_t bytes, void **out, tsr_error *err)
{
    tsr_hs *h = cu->hs;
    for (int i = 0; i < h->npool; i++)
        if (h->pool[i].bytes == bytes) {
            *out = h->pool[i].p;
            h->pool[i] = h->pool[--h->npool];
            return TSR_OK;
        }
    if (cu->api.cuMemAllocHost(out, bytes) == 0) return TSR_OK; /* CUDA_SUCCESS */
    while (h->npool > 0) cu->api.cuMemFreeHost(h->pool[--h->npool].p);
    return tsr_cuda_check(cu, cu->api.cuMemAllocHost(out, bytes), err, "pinned host memory for a causal state");
}

static void pinned_put(tsr_cuda *cu, void *p, uint64_t bytes)
{
    tsr_hs *h = cu->hs;
    if (h->npool < HS_POOL) h->pool[h->npool].p = p, h->pool[h->npool++].bytes = bytes;
    else cu->api.cuMemFreeHost(p);
}

static tsr_status hs_init(tsr_cuda *cu, tsr_error *err)
{
    if (cu->hs) return TSR_OK;
    tsr_hs *h = tsr_calloc(1, sizeof *h, err);
    if (!h) return TSR_ERR_NOMEM;
    cu->hs = h;
    h->down_win = -1;
    h->slot[0].loaded_win = h->slot[1].loaded_win = -1;
    tsr_status st = tsr_cuda_check(cu, cu->api.cuStreamCreate(&h->up, 1), err, "host-state stream");
    if (!st) st = tsr_cuda_check(cu, cu->api.cuStreamCreate(&h->down, 1), err, "host-state stream");
    CUevent *evs[] = {&h->now, &h->consumed, &h->down_ev, &h->up_tail, &h->down_tail, &h->slot[0].loaded,
                      &h->slot[1].loaded};
    for (size_t i = 0; i < TSR_ARRAY_LEN(evs) && !st; i++)
        st = tsr_cuda_check(cu, cu->api.cuEventCreate(evs[i], EVENT_DISABLE_TIMING), err, "host-state event");
    return st; /* a partial init is released by tsr_cuda_hs_destroy */
}

/* Wait until nothing of the copy streams is in flight (growing or freeing staging, freeing pinned memory). */
static void hs_quiesce(tsr_cuda *cu)
{
    tsr_hs *h = cu->hs;
    if (h->up) cu->api.cuStreamSynchronize(h->up);
    if (h->down) cu->api.cuStreamSynchronize(h->down);
}

static void slots_free(tsr_cuda *cu)
{
    tsr_hs *h = cu->hs;
    for (int i = 0; i < 2; i++) {
        if (h->slot[i].owner) h->slot[i].owner->slot = -1;
        tsr_cuda_arena_free(cu, h->slot[i].dev);
        h->slot[i].dev = 0;
        h->slot[i].owner = NULL;
        h->slot[i].loaded_win = -1;
        h->slot[i].bytes = 0;
    }
    h->created = 0;
}

void tsr_cuda_hs_destroy(tsr_cuda *cu)
{
    tsr_hs *h = cu->hs;
    if (!h) return;
    hs_quiesce(cu);
    while (h->npool > 0) cu->api.cuMemFreeHost(h->pool[--h->npool].p);
    CUevent evs[] = {h->now, h->consumed, h->down_ev, h->up_tail, h->down_tail, h->slot[0].loaded, h->slot[1].loaded};
    for (size_t i = 0; i < TSR_ARRAY_LEN(evs); i++)
        if (evs[i]) cu->api.cuEventDestroy(evs[i]);
    if (h->up) cu->api.cuStreamDestroy(h->up);
    if (h->down) cu->api.cuStreamDestroy(h->down);
    free(h);
    cu->hs = NULL;
}

void tsr_cuda_hs_bytes(const tsr_cuda *cu, uint64_t *in_use, uint64_t *peak)
{
    *in_use = cu->hs ? cu->hs->bytes : 0;
    *peak = cu->hs ? cu->hs->peak : 0;
}

static uint64_t frames_bytes(const tsr_state *s) { return (uint64_t)s->keep * s->h * s->w * s->cp * 2; }

tsr_status tsr_cuda_state_create_host(tsr_backend *be, const tsr_conv_desc *d, int h, int w, tsr_state **out,
                                      tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    *out = NULL;
    tsr_status st = tsr_backend_check_state(d, h, w, "state_create_host", err);
    if (st) return st;
    if (cu->gmode) return tsr_fail(err, TSR_ERR_INVALID_ARG, "state_create_host inside a chunk graph");
    if ((st = hs_init(cu, err))) return st;
    tsr_hs *hs = cu->hs;
    tsr_state *s = tsr_calloc(1, sizeof *s, err);
    if (!s) return TSR_ERR_NOMEM;
    *s = (tsr_state){d->kt, d->st, d->kt - d->st, h, w, tsr_cuda_cpad(d->cin), 0, 0, 0, 0, NULL, -1, 0};
    uint64_t fb = frames_bytes(s);
    s->home = hs->created & 1;
    tsr_hs_slot *sl = &hs->slot[s->home];
    st = tsr_cuda_arena_alloc(cu, (uint64_t)s->keep * s->cp * 8, &s->aff, err);
    if (!st && fb > sl->bytes) { /* its staging buffer grows to the largest state using it */
        hs_quiesce(cu);
        if (sl->owner) sl->owner->slot = -1;
        sl->owner = NULL;
        tsr_cuda_arena_free(cu, sl->dev);
        sl->dev = 0, sl->bytes = 0, sl->loaded_win = -1;
        st = tsr_cuda_arena_alloc(cu, fb, &sl->dev, err);
        if (!st) sl->bytes = fb;
    }
    if (!st) st = pinned_get(cu, fb, &s->host, err);
    if (st) {
        tsr_cuda_arena_free(cu, s->aff);
        free(s);
        if (hs->count == 0) slots_free(cu);
        return st;
    }
    hs->count++;
    hs->created++;
    hs->bytes += fb;
    hs->peak = TSR_MAX(hs->peak, hs->bytes);
    *out = s;
    return TSR_OK;
}

void tsr_cuda_host_state_reset(tsr_cuda *cu, tsr_state *s)
{
    if (cu->hs && s->slot >= 0 && cu->hs->slot[s->slot].owner == s) cu->hs->slot[s->slot].owner = NULL;
    s->slot = -1;
}

void tsr_cuda_host_state_free(tsr_cuda *cu, tsr_state *s)
{
    tsr_hs *hs = cu->hs;
    hs_quiesce(cu); /* no copy may still read or write its pinned frames */
    tsr_cuda_host_state_reset(cu, s);
    pinned_put(cu, s->host, frames_bytes(s));
    tsr_cuda_arena_free(cu, s->aff);
    hs->bytes -= frames_bytes(s);
    if (--hs->count == 0) slots_free(cu); /* the clip is over: the arena is as before its host states */
    free(s);
}

/* Wait on `ev` (recorded in window `win`) from `stream`, unless a join already ordered it. */
static tsr_status wait_ev(tsr_cuda *cu, CUstream stream, CUevent ev, long win, tsr_error *err)
{
    if (win != cu->hs->win) return TSR_OK;
    return tsr_cuda_check(cu, cu->api.cuStreamWaitEvent(stream, ev, 0), err, "host-state event wait");
}

/* Give s its staging buffer (taken from a state still waiting in it: that one's conv copies again) and, when
 * `load`, queue the copy of its frames into it. */
static tsr_status take_slot(tsr_cuda *cu, tsr_state *s, int load, tsr_error *err)
{
    tsr_hs *h = cu->hs;
    int k = s->home;
    if (h->slot[k].owner) h->slot[k].owner->slot = -1;
    h->slot[k].owner = s;
    s->slot = k;
    if (!load || tsr_cuda_graph_dry(cu)) return TSR_OK;
    tsr_hs_slot *sl = &h->slot[k];
    /* after everything queued on the compute stream so far (the buffer's previous conv) and the last copy out
     * (the buffer's previous frames, and this state's own, are home) */
    tsr_status st = tsr_cuda_check(cu, cu->api.cuEventRecord(h->now, cu->stream), err, "host-state event");
    if (!st) st = tsr_cuda_check(cu, cu->api.cuStreamWaitEvent(h->up, h->now, 0), err, "host-state event wait");
    if (!st) st = wait_ev(cu, h->up, h->down_ev, h->down_win, err);
    if (!st) st = tsr_cuda_check(cu, cu->api.cuMemcpyHtoDAsync(sl->dev, s->host, (size_t)frames_bytes(s), h->up), err,
                                 "host-state copy to the device");
    if (!st) st = tsr_cuda_check(cu, cu->api.cuEventRecord(sl->loaded, h->up), err, "host-state event");
    if (!st) {
        sl->loaded_win = h->win;
        h->up_used = 1;
    } else {
        sl->owner = NULL, s->slot = -1;
    }
    return st;
}

tsr_status tsr_cuda_state_prefetch(tsr_backend *be, tsr_state *s, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    if (!s) return tsr_fail(err, TSR_ERR_INVALID_ARG, "state_prefetch: no state");
    if (!s->host || !s->filled || (s->slot >= 0 && cu->hs->slot[s->slot].owner == s)) return TSR_OK;
    return take_slot(cu, s, 1, err);
}

tsr_status tsr_cuda_hs_acquire(tsr_cuda *cu, tsr_state *s, tsr_error *err)
{
    tsr_hs *h = cu->hs;
    tsr_status st = TSR_OK;
    if (!(s->slot >= 0 && h->slot[s->slot].owner == s)) st = take_slot(cu, s, s->filled, err);
    if (st) return st;
    tsr_hs_slot *sl = &h->slot[s->slot];
    if (cu->gmode) tsr_cuda_graph_log(cu, (uint64_t)(uintptr_t)s->host, frames_bytes(s), 0); /* replay: same frames */
    /* filled: the frames are in once `loaded` fired; fresh: the conv only writes the buffer, after the last copy
     * out of it */
    if (!tsr_cuda_graph_dry(cu))
        st = s->filled ? wait_ev(cu, cu->stream, sl->loaded, sl->loaded_win, err)
                       : wait_ev(cu, cu->stream, h->down_ev, h->down_win, err);
    s->frames = sl->dev;
    return st;
}

tsr_status tsr_cuda_hs_release(tsr_cuda *cu, tsr_state *s, int ok, tsr_error *err)
{
    tsr_hs *h = cu->hs;
    tsr_status st = TSR_OK;
    if (ok && !tsr_cuda_graph_dry(cu)) {
        st = tsr_cuda_check(cu, cu->api.cuEventRecord(h->consumed, cu->stream), err, "host-state event");
        if (!st) st = tsr_cuda_check(cu, cu->api.cuStreamWaitEvent(h->down, h->consumed, 0), err, "host-state event wait");
        if (!st) st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoHAsync(s->host, s->frames, (size_t)frames_bytes(s), h->down),
                                     err, "host-state copy to the host");
        if (!st) st = tsr_cuda_check(cu, cu->api.cuEventRecord(h->down_ev, h->down), err, "host-state event");
        if (!st) h->down_win = h->win, h->down_used = 1;
    }
    if (s->slot >= 0 && h->slot[s->slot].owner == s) h->slot[s->slot].owner = NULL;
    s->slot = -1;
    s->frames = 0;
    return st;
}

tsr_status tsr_cuda_hs_join(tsr_cuda *cu, tsr_error *err)
{
    tsr_hs *h = cu->hs;
    if (!h) return TSR_OK;
    tsr_status st = TSR_OK;
    if (!tsr_cuda_graph_dry(cu)) {
        if (h->up_used) {
            st = tsr_cuda_check(cu, cu->api.cuEventRecord(h->up_tail, h->up), err, "host-state event");
            if (!st) st = tsr_cuda_check(cu, cu->api.cuStreamWaitEvent(cu->stream, h->up_tail, 0), err, "host-state join");
        }
        if (!st && h->down_used) {
            st = tsr_cuda_check(cu, cu->api.cuEventRecord(h->down_tail, h->down), err, "host-state event");
            if (!st) st = tsr_cuda_check(cu, cu->api.cuStreamWaitEvent(cu->stream, h->down_tail, 0), err, "host-state join");
        }
    }
    h->up_used = h->down_used = 0;
    h->win++;
    /* a buffer loaded in the old window is still valid data, but its wait is now implied: keep the owner */
    return st;
}
