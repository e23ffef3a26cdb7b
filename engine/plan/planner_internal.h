/* The planner's ladder of candidate plans (planner.c) shared with the autotuner. */
#ifndef TSR_PLAN_PLANNER_INTERNAL_H
#define TSR_PLAN_PLANNER_INTERNAL_H
#include "plan/memmodel.h"
#include "tessera.h"

#define TSR_LADDER_MAX 256

typedef struct tsr_ladder {
    tsr_plan rungs[TSR_LADDER_MAX];   /* each smaller or less work than every earlier rung */
    int n;
} tsr_ladder;

/* Every plan the policy allows, least approximate first, pruned of the rungs an earlier (less approximate or
 * equally approximate, preferred) rung dominates: peak and estimated work both no lower (it would never be
 * chosen). */
tsr_status tsr_plan_ladder(const tsr_plan_request *r, tsr_ladder *out, tsr_error *err);
#endif
