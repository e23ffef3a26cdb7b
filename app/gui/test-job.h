/* A job function for UI tests (TESSERA_TEST_JOB=copy): copies the input to "<output>.part" in chunks,
 * reporting plan, progress and previews like the real job, then renames to the output. Never used unless
 * that variable is set. TESSERA_TEST_JOB_DELAY_MS slows each chunk down (kill tests). */
#pragma once

#include "tessera.h"

tsr_status tessera_test_copy_job(void *user, const tsr_job_spec *spec, tsr_job_ctx *ctx, tsr_error *err);
