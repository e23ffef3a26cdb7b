/* Internal view of a tsr_model: its tensors, detected configuration and identity. */
#ifndef TSR_MODEL_MODEL_H
#define TSR_MODEL_MODEL_H
#include "tessera.h"
#include "model/weights.h"

struct tsr_model {
    tsr_weights weights;
    tsr_vae_config config;
    char digest[65];            /* stable content digest (hex), used as a cache key */
};

const tsr_weights *tsr_model_weights(const tsr_model *m);
#endif
