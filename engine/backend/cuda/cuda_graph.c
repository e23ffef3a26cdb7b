/* Per-chunk CUDA graphs (backend.h graph_begin / graph_end).
 *
 * A streamed decode or encode runs the same op sequence for every steady-state chunk of one shape. Per key
 * (the VAE names a chunk's shapes): the first chunk runs eagerly (it also builds and tunes cuDNN plans, which
 * synchronise and cannot be captured); the second is recorded with stream capture while the ops do their
 * normal host work (arena allocations, state flags), then launched; later chunks are replayed: the ops run
 * their host logic with every driver call that would reach the device swapped for a no-op (and cuDNN asked
 * not to execute), and the recorded graph is launched instead.
 *
 * A replay is only valid if every device address the recording baked in is the same. Weights, cuDNN plans
 * and states do not move; everything else comes from the arena, which is deterministic (first fit): the
 * replay checks that the arena's block list at the start equals the recording's and that every allocation
 * and free in the chunk returns the recorded offset and size. Any difference, or a failed recording, makes
 * graph_end report "not run": nothing reached the device, so the VAE runs the chunk again eagerly, and the
 * key is recorded afresh the next time. TSR_CUDA_GRAPHS=0 turns graphs off, and so does the profiler (events
 * and gates around every part). FP8 convs are capturable (scales stay on the device; weights are quantised
 * on first use, in the eager chunk). */
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "core/common.h"

static CUresult TSR_CUAPI dry_launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                                     unsigned bz, unsigned smem, CUstream s, void **args, void **extra)
{
    (void)f, (void)gx, (void)gy, (void)gz, (void)bx, (void)by, (void)bz, (void)smem, (void)s, (void)args, (void)extra;
    return TSR_CU_SUCCESS;
}
static CUresult TSR_CUAPI dry_d2d(CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st)
{
    (void)d, (void)s, (void)n, (void)st;
    return TSR_CU_SUCCESS;
}
static CUresult TSR_CUAPI dry_h2d(CUdeviceptr d, const void *s, size_t n, CUstream st)
{
    (void)d, (void)s, (void)n, (void)st;
    return TSR_CU_SUCCESS;
}
static CUresult TSR_CUAPI dry_d2h(void *d, CUdeviceptr s, size_t n, CUstream st)
{
    (void)d, (void)s, (void)n, (void)st;
    return TSR_CU_SUCCESS;
}
static CUresult TSR_CUAPI dry_memset(CUdeviceptr d, unsigned char v, size_t n, CUstream st)
{
    (void)d, (void)v, (void)n, (void)st;
    return TSR_CU_SUCCESS;
}
static CUresult TSR_CUAPI dry_record(CUevent e, CUstream st)
{
    (void)e, (void)st;
    return TSR_CU_SUCCESS;
}
static CUresult TSR_CUAPI dry_sync(CUstream st)
{
    (void)st;
    return TSR_CU_SUCCESS;
}

tsr_status tsr_cuda_graph_init(tsr_cuda *cu, tsr_error *err)
{
    const char *env = getenv("TSR_CUDA_GRAPHS");
    cu->graphs = !(env && *env == '0') && !cu->profile;
    cu->gcur = -1;
    if (!cu->graphs) return TSR_OK;
    cu->gent = tsr_calloc(TSR_GRAPH_CAP, sizeof *cu->gent, err);
    return cu->gent ? TSR_OK : TSR_ERR_NOMEM;
}

void tsr_cuda_graph_destroy(tsr_cuda *cu)
{
    if (!cu->gent) return;
    for (int i = 0; i < TSR_GRAPH_CAP; i++) {
        if (cu->gent[i].exec) cu->api.cuGraphExecDestroy(cu->gent[i].exec);
        free(cu->gent[i].log);
    }
    free(cu->gent);
    cu->gent = NULL;
}

/* Weights live outside the arena: a recording baked their addresses in. Any parameter upload or free drops
 * every recording (a VAE created, destroyed or replaced on this backend). */
void tsr_cuda_graph_invalidate(tsr_cuda *cu)
{
    if (!cu->gent) return;
    for (int i = 0; i < TSR_GRAPH_CAP; i++) {
        if (cu->gent[i].exec) cu->api.cuGraphExecDestroy(cu->gent[i].exec);
        cu->gent[i].exec = NULL;
        cu->gent[i].key = 0;
        cu->gent[i].seen = 0;
        cu->gent[i].nlog = 0;
    }
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

static uint64_t arena_layout(const tsr_cuda *cu)
{
    uint64_t h = (uint64_t)cu->arena.count;
    for (int i = 0; i < cu->arena.count; i++)
        h = mix(mix(mix(h, cu->arena.blocks[i].off), cu->arena.blocks[i].size), (uint64_t)cu->arena.blocks[i].used);
    return h;
}

void tsr_cuda_graph_log(tsr_cuda *cu, uint64_t off, uint64_t size, int is_free)
{
    tsr_graph_ent *e = &cu->gent[cu->gcur];
    uint64_t a = off * 2 + (uint64_t)(is_free != 0);
    if (cu->gmode == 2) { /* replay: must match the recording step by step */
        if (cu->gpos >= e->nlog || e->log[2 * cu->gpos] != a || e->log[2 * cu->gpos + 1] != size) cu->gmismatch = 1;
        cu->gpos++;
        return;
    }
    if (e->nlog == e->caplog) {
        int cap = e->caplog ? e->caplog * 2 : 256;
        uint64_t *nl = realloc(e->log, sizeof *nl * 2 * (size_t)cap);
        if (!nl) {
            cu->gmismatch = 1; /* cannot remember it: the recording is not used */
            return;
        }
        e->log = nl;
        e->caplog = cap;
    }
    e->log[2 * e->nlog] = a;
    e->log[2 * e->nlog + 1] = size;
    e->nlog++;
}

static void drop_exec(tsr_cuda *cu, tsr_graph_ent *e)
{
    if (e->exec) cu->api.cuGraphExecDestroy(e->exec);
    e->exec = NULL;
}

static tsr_graph_ent *entry(tsr_cuda *cu, uint64_t key)
{
    int free_i = -1;
    for (int i = 0; i < TSR_GRAPH_CAP; i++) {
        if (cu->gent[i].key == key) return &cu->gent[i];
        if (free_i < 0 && !cu->gent[i].key) free_i = i;
    }
    if (free_i < 0) { /* full: forget the first one (a clip uses 1-2 keys) */
        free_i = 0;
        drop_exec(cu, &cu->gent[0]);
    }
    tsr_graph_ent *e = &cu->gent[free_i];
    e->key = key, e->seen = 0, e->nlog = 0;
    return e;
}

static void swap_in_stubs(tsr_cuda *cu)
{
    cu->api_live = cu->api;
    cu->api.cuLaunchKernel = dry_launch;
    cu->api.cuMemcpyDtoDAsync = dry_d2d;
    cu->api.cuMemcpyHtoDAsync = dry_h2d;
    cu->api.cuMemcpyDtoHAsync = dry_d2h;
    cu->api.cuMemsetD8Async = dry_memset;
    cu->api.cuEventRecord = dry_record;
    cu->api.cuStreamSynchronize = dry_sync;
}

tsr_status tsr_cuda_graph_begin(tsr_backend *be, uint64_t key, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    cu->gmode = 0;
    cu->gcur = -1;
    /* host-state copies of earlier chunks ordered before this one (a capture may not wait on older events) */
    tsr_status st = tsr_cuda_hs_join(cu, err);
    if (st) return st;
    if (!cu->graphs || !key) return TSR_OK;
    tsr_graph_ent *e = entry(cu, key);
    cu->gcur = (int)(e - cu->gent);
    cu->gmismatch = 0;
    cu->gpos = 0;
    uint64_t layout = arena_layout(cu);
    if (e->seen < 0) return TSR_OK;
    if (e->exec && e->layout == layout) {
        cu->gmode = 2;
        swap_in_stubs(cu);
        return TSR_OK;
    }
    if (e->seen == 0) { /* first run of this key: eager (cuDNN plans are built and tuned here) */
        e->seen = 1;
        return TSR_OK;
    }
    drop_exec(cu, e);
    if (cu->api.cuStreamBeginCapture(cu->stream, TSR_CU_STREAM_CAPTURE_MODE_RELAXED) != TSR_CU_SUCCESS) {
        e->seen = -1;
        return TSR_OK;
    }
    e->layout = layout;
    e->nlog = 0;
    cu->gmode = 1;
    return TSR_OK;
}

tsr_status tsr_cuda_graph_end(tsr_backend *be, int ok, int *ran, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    int mode = cu->gmode;
    *ran = 1;
    /* the chunk's host-state copies joined into the compute stream (inside a recording: into the graph) */
    tsr_error jerr;
    if (tsr_cuda_hs_join(cu, &jerr) != TSR_OK) {
        if (mode == 1) ok = 0; /* the recording is not used; the chunk is redone eagerly */
        else if (ok) {
            if (err) *err = jerr;
            cu->gmode = 0;
            return jerr.status;
        }
    }
    cu->gmode = 0;
    if (mode == 0) return TSR_OK;
    tsr_graph_ent *e = &cu->gent[cu->gcur];
    if (mode == 2) {
        cu->api = cu->api_live;
        if (!ok || cu->gmismatch || cu->gpos != e->nlog) {
            *ran = 0;
            cu->graph_fallbacks++;
            drop_exec(cu, e); /* recorded again on the next chunk of this key */
            return TSR_OK;
        }
        cu->graph_replays++;
        return tsr_cuda_check(cu, cu->api.cuGraphLaunch(e->exec, cu->stream), err, "graph launch");
    }
    CUgraph g = NULL;
    CUresult r = cu->api.cuStreamEndCapture(cu->stream, &g);
    if (r == TSR_CU_SUCCESS && g && ok && !cu->gmismatch) r = cu->api.cuGraphInstantiateWithFlags(&e->exec, g, 0);
    else r = r ? r : 1;
    if (g) cu->api.cuGraphDestroy(g);
    if (r != TSR_CU_SUCCESS) {
        e->exec = NULL;
        e->seen = -1; /* this key does not capture: stay eager */
        *ran = 0;
        cu->graph_fallbacks++;
        return TSR_OK;
    }
    e->seen++;
    cu->graph_captures++;
    return tsr_cuda_check(cu, cu->api.cuGraphLaunch(e->exec, cu->stream), err, "graph launch");
}
