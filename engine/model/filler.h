/* The deterministic weight filler of ../shared/fixtures/README.md, bit for bit. */
#ifndef TSR_MODEL_FILLER_H
#define TSR_MODEL_FILLER_H
#include <stdint.h>

uint64_t tsr_fnv1a64(const char *s);
/* s in [-1, 1) for element i of a tensor whose name hash is h. */
double tsr_filler_s(uint64_t name_hash, uint64_t i);
/* dst[i] = (float)(s_i * scale + offset) for i in [first, first + n). */
void tsr_filler_fill(const char *name, double scale, double offset, uint64_t first, uint64_t n, float *dst);
/* (scale, offset) of a VAE state-dict tensor by the fixtures' rule. */
void tsr_filler_vae_rule(const char *name, int ndim, const int64_t *shape, double *scale, double *offset);
/* Inputs of the goldens: latent (scale sqrt(3)) and video (scale 1). */
void tsr_filler_latent(float *dst, uint64_t n);
void tsr_filler_video(float *dst, uint64_t n);
#endif
