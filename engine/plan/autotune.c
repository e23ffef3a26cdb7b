/* Autotune scaffolding: a key already in the store starts at once; a new key times the fitting candidates of
 * the least approximate kind through the backend's callback and remembers the fastest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "plan/planner_internal.h"

#define MAX_TIMED 6
#define ALGOS_CAP 4096

static tsr_status from_store(tsr_store *store, const tsr_tune_key *key, tsr_plan *out, int *found, tsr_error *err)
{
    tsr_tuned t = {0};
    *found = 0;
    tsr_status st = tsr_store_tuned_get(store, key, &t, found, err);
    if (st == TSR_OK && *found && tsr_plan_from_json(t.plan_json, out, NULL) != TSR_OK) *found = 0; /* re-tune */
    tsr_tuned_clear(&t);
    return st;
}

typedef struct best {
    tsr_plan plan;
    double seconds;
    uint64_t peak;
    char algos[ALGOS_CAP];
    int have;
} best;

static tsr_status time_candidates(const tsr_ladder *l, const tsr_plan_request *r, tsr_tune_time_fn fn, void *user,
                                  best *b, tsr_error *err)
{
    int first = -1, timed = 0;
    char *algos = tsr_malloc(ALGOS_CAP, err);
    if (!algos) return TSR_ERR_NOMEM;
    tsr_status st = TSR_OK;
    for (int i = 0; i < l->n && timed < MAX_TIMED && st == TSR_OK; i++) {
        const tsr_plan *p = &l->rungs[i];
        if (p->peak > r->budget || (first >= 0 && p->kind != l->rungs[first].kind)) continue;
        if (first < 0) first = i;
        double s = 0;
        uint64_t peak = 0;
        snprintf(algos, ALGOS_CAP, "{}");
        tsr_status t = fn(user, p, &s, &peak, algos, ALGOS_CAP, err);
        timed++;
        if (t == TSR_ERR_DEVICE_OOM) continue; /* the prediction was optimistic: try the next */
        if (t != TSR_OK) st = t;
        else if (!b->have || s < b->seconds) {
            b->plan = *p;
            b->seconds = s;
            b->peak = peak;
            snprintf(b->algos, sizeof b->algos, "%s", algos);
            b->have = 1;
        }
    }
    free(algos);
    if (st == TSR_OK && !b->have)
        st = tsr_fail(err, TSR_ERR_DEVICE_OOM, "autotune: no candidate plan ran within %.2f GiB",
                      (double)r->budget / (1024.0 * 1024.0 * 1024.0));
    return st;
}

tsr_status tsr_autotune(tsr_store *store, const tsr_tune_key *key, const tsr_plan_request *r, int retune,
                        tsr_tune_time_fn time_fn, void *user, tsr_plan *out, int *from_cache, tsr_error *err)
{
    *from_cache = 0;
    int found = 0;
    if (store && key && !retune) {
        tsr_status st = from_store(store, key, out, &found, err);
        if (st != TSR_OK) return st;
        if (found) {
            *from_cache = 1;
            return TSR_OK;
        }
    }
    if (!time_fn) return tsr_plan_make(r, out, err);
    tsr_ladder *l = tsr_calloc(1, sizeof *l, err);
    best *b = tsr_calloc(1, sizeof *b, err);
    tsr_status st = l && b ? tsr_plan_ladder(r, l, err) : TSR_ERR_NOMEM;
    if (st == TSR_OK && r->budget == 0) st = tsr_fail(err, TSR_ERR_INVALID_ARG, "autotune: no memory budget");
    if (st == TSR_OK) st = time_candidates(l, r, time_fn, user, b, err);
    if (st == TSR_OK) {
        *out = b->plan;
        if (store && key) {
            char json[1024];
            tsr_plan_to_json(&b->plan, json, sizeof json);
            tsr_tuned t = {json, b->algos, b->seconds, b->peak};
            st = tsr_store_tuned_put(store, key, &t, err);
        }
    }
    free(l);
    free(b);
    return st;
}
