/* Built without nvcc: the CUDA backend is absent, and says so. */
#include "backend/backend.h"
#include "core/common.h"

tsr_status tsr_cuda_backend_create(const tsr_backend_params *p, tsr_backend **out, tsr_error *err)
{
    (void)p;
    *out = NULL;
    return tsr_fail(err, TSR_ERR_UNSUPPORTED, "this build has no CUDA backend (nvcc was not found at build time)");
}

tsr_status tsr_cuda_devices(tsr_device_info *out, int max, int *count, tsr_error *err)
{
    (void)out, (void)max;
    *count = 0;
    tsr_fail(err, TSR_ERR_UNSUPPORTED, "this build has no CUDA backend (nvcc was not found at build time)");
    return TSR_OK;
}
