/* tsr_devices_list for the CUDA backend: the driver's devices, without creating a context. */
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cuda/cuda_driver.h"
#include "core/common.h"

void tsr_cu_device_describe(const tsr_cu_api *api, CUdevice d, int ordinal, tsr_device_info *o)
{
    memset(o, 0, sizeof *o);
    o->ordinal = ordinal;
    if (api->cuDeviceGetName(o->name, (int)sizeof o->name, d) != 0) snprintf(o->name, sizeof o->name, "GPU %d", ordinal);
    api->cuDeviceGetAttribute(&o->cc_major, TSR_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d);
    api->cuDeviceGetAttribute(&o->cc_minor, TSR_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d);
    size_t total = 0;
    if (api->cuDeviceTotalMem(&total, d) == 0) o->total_memory = total;
    o->supported = o->cc_major >= 8;
}

tsr_status tsr_cuda_devices(tsr_device_info *out, int max, int *count, tsr_error *err)
{
    *count = 0;
    tsr_cu_api api;
    tsr_error why = {0};
    if (tsr_cu_load(&api, &why) != TSR_OK) { /* no driver: none, with the reason */
        tsr_fail(err, why.status, "%s", why.message);
        return TSR_OK;
    }
    int n = 0;
    CUresult r = api.cuInit(0);
    if (r == 0) r = api.cuDeviceGetCount(&n);
    if (r != 0) {
        tsr_cu_check(&api, r, &why, "cuInit");
        tsr_fail(err, TSR_ERR_NO_DEVICE, "%s", why.message);
        tsr_cu_unload(&api);
        return TSR_OK;
    }
    if (n == 0) tsr_fail(err, TSR_ERR_NO_DEVICE, "the CUDA driver reports no device");
    for (int i = 0; i < n && *count < max; i++) {
        CUdevice d;
        if (api.cuDeviceGet(&d, i) != 0) continue;
        tsr_cu_device_describe(&api, d, i, &out[(*count)++]);
    }
    tsr_cu_unload(&api);
    return TSR_OK;
}
