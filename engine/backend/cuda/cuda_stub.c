/* Built without nvcc: the CUDA backend is absent, and says so. */
#include "backend/backend.h"
#include "core/common.h"

tsr_status tsr_cuda_backend_create(const tsr_backend_params *p, tsr_backend **out, tsr_error *err)
{
    (void)p;
    *out = NULL;
    return tsr_fail(err, TSR_ERR_UNSUPPORTED, "this build has no CUDA backend (nvcc was not found at build time)");
}
