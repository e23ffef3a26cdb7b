/* One streamed chunk through the network, as a backend graph where the backend offers them (backend.h
 * graph_begin/graph_end: recorded once per chunk shape, replayed afterwards), else eagerly. When a graph
 * could not run (nothing reached the device), the chunk is made and run again eagerly. */
#include <string.h>

#include "core/common.h"
#include "vae/vae_internal.h"

uint64_t tsr_vae_chunk_key(const tsr_vae *v, int kind, int c, int t, int h, int w)
{
    uint64_t k = 0xcbf29ce484222325ull ^ (uint64_t)(uintptr_t)v; /* two VAEs on one engine: their own graphs */
    int dims[5] = {kind, c, t, h, w};
    for (int i = 0; i < 5; i++) k = (k ^ (uint64_t)(uint32_t)dims[i]) * 0x100000001b3ull;
    return k ? k : 1;
}

tsr_status tsr_vae_run_chunk(tsr_vae *v, uint64_t key, tsr_chunk_input input, tsr_chunk_body body, void *user,
                             tsr_act *y, tsr_error *err)
{
    tsr_backend *be = v->be;
    memset(y, 0, sizeof *y);
    for (int attempt = 0; attempt < 2; attempt++) {
        tsr_act x = {0};
        tsr_status st = input(user, &x, err);
        if (st != TSR_OK) return st;
        int graphed = attempt == 0 && key && be->ops->graph_begin && be->ops->graph_end;
        if (graphed && (st = be->ops->graph_begin(be, key, err)) != TSR_OK) {
            be->ops->act_free(be, &x);
            return st;
        }
        st = body(user, &x, y, err); /* consumes x */
        if (!graphed) return st;
        int ran = 1;
        tsr_status s2 = be->ops->graph_end(be, st == TSR_OK, &ran, err);
        if (ran) return st != TSR_OK ? st : s2;
        be->ops->act_free(be, y); /* nothing ran: the same chunk again, eagerly */
    }
    return tsr_fail(err, TSR_ERR_INTERNAL, "chunk did not run");
}
