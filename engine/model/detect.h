/* Architecture detection: derive a tsr_vae_config from tensor names and shapes, then compare the file's tensors
 * with the list that configuration must have (vae_tensors.h, the single source of truth) and classify. */
#ifndef TSR_MODEL_DETECT_H
#define TSR_MODEL_DETECT_H
#include "model/weights.h"
#include "tessera.h"

typedef struct tsr_detect_result {
    tsr_model_kind kind;
    tsr_vae_config config;        /* valid when kind != TSR_MODEL_NOT_VAE */
    char explanation[256];
    int problem_count;
    char **problems;              /* malloc'd lines, at most TSR_DETECT_MAX_PROBLEMS (+1 "... and N more") */
} tsr_detect_result;

#define TSR_DETECT_MAX_PROBLEMS 64

/* Never fails on odd tensors (they become problems); fails only on allocation failure. */
tsr_status tsr_detect(const tsr_weights *w, tsr_detect_result *out, tsr_error *err);
void tsr_detect_result_free(tsr_detect_result *r);
#endif
