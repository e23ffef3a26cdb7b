/* Internal parts of the job runner (engine/job/runner.c). The public API is in tessera.h. */
#ifndef TSR_JOB_RUNNER_H
#define TSR_JOB_RUNNER_H

#include "tessera.h"

#define TSR_PREVIEW_MAX_WIDTH 256

/* Nearest-neighbour downscale of an RGB8 image to at most max_w pixels wide (aspect kept). Writes
 * *ow x *oh tightly packed pixels into dst (room for max_w * max_w * 3 bytes is always enough when the
 * source is no taller than wide; callers size dst with tsr_preview_size). */
void tsr_preview_downscale(const uint8_t *src, int w, int h, int stride, int max_w, uint8_t *dst, int *ow, int *oh);
void tsr_preview_size(int w, int h, int max_w, int *ow, int *oh);

/* The runner's tsr_runner_params.tuned_store (NULL = none), for its default job. */
const char *tsr_job_ctx_tuned_store(const tsr_job_ctx *ctx);

/* The default job function (tsr_job_run when the build has it). */
tsr_status tsr_runner_default_job(void *user, const tsr_job_spec *spec, tsr_job_ctx *ctx, tsr_error *err);

#endif
