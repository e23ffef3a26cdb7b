/* The planner's ladder of candidate plans (planner.c) shared with the autotuner. */
#ifndef TSR_PLAN_PLANNER_INTERNAL_H
#define TSR_PLAN_PLANNER_INTERNAL_H
#include "plan/memmodel.h"
#include "tessera.h"

#define TSR_LADDER_MAX 256

typedef struct tsr_ladder {
    tsr_plan rungs[TSR_LADDER_MAX];   /* strictly decreasing predicted peak */
    int n;
} tsr_ladder;

/* Every plan the policy allows, least approximate first, pruned so that peaks strictly decrease (a rung
 * that is not smaller than an earlier, less approximate one would never be chosen). */
tsr_status tsr_plan_ladder(const tsr_plan_request *r, tsr_ladder *out, tsr_error *err);
#endif
