/* The tensor list (names, shapes, order) a SeedVR2-style VAE of a given configuration has.
 * The single source of truth for: the builtin model, `make-model`, and the architecture check. */
#ifndef TSR_MODEL_VAE_TENSORS_H
#define TSR_MODEL_VAE_TENSORS_H
#include <stdint.h>
#include "tessera.h"

typedef struct tsr_tensor_spec {
    char name[96];
    int ndim;
    int64_t shape[5];
} tsr_tensor_spec;

/* Emit every tensor of the configuration in state-dict order (encoder first, then decoder; only the
 * halves the config has). Returns the count; writes at most `cap` specs (NULL to count only). */
int tsr_vae_tensor_specs(const tsr_vae_config *cfg, tsr_tensor_spec *specs, int cap);

/* Build a model in memory from the filler (fp32, owned). */
struct tsr_weights;
tsr_status tsr_weights_builtin(const tsr_vae_config *cfg, struct tsr_weights *w, tsr_error *err);
#endif
