/* Driver API loader: dlopen/LoadLibrary + symbol resolution, and CUresult -> tsr_status mapping. */
#include "backend/cuda/cuda_driver.h"

#include <string.h>

#include "core/common.h"

#if defined(_WIN32)
#include <windows.h>
static void *lib_open(void) { return (void *)LoadLibraryA("nvcuda.dll"); }
static void *lib_sym(void *lib, const char *name) { return (void *)(uintptr_t)GetProcAddress((HMODULE)lib, name); }
static void lib_close(void *lib) { FreeLibrary((HMODULE)lib); }
#else
#include <dlfcn.h>
static void *lib_open(void) { return dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL); }
static void *lib_sym(void *lib, const char *name) { return dlsym(lib, name); }
static void lib_close(void *lib) { dlclose(lib); }
#endif

#define SYM(field, name)                                                                     \
    do {                                                                                     \
        void *p_ = lib_sym(api->lib, name);                                                  \
        if (!p_) {                                                                           \
            tsr_cu_unload(api);                                                              \
            return tsr_fail(err, TSR_ERR_NO_DEVICE, "CUDA driver lacks %s (driver too old?)", name); \
        }                                                                                    \
        memcpy(&api->field, &p_, sizeof p_);                                                 \
    } while (0)

tsr_status tsr_cu_load(tsr_cu_api *api, tsr_error *err)
{
    memset(api, 0, sizeof *api);
    api->lib = lib_open();
    if (!api->lib) return tsr_fail(err, TSR_ERR_NO_DEVICE, "no NVIDIA driver (libcuda / nvcuda.dll not found)");
    SYM(cuInit, "cuInit");
    SYM(cuDriverGetVersion, "cuDriverGetVersion");
    SYM(cuDeviceGetCount, "cuDeviceGetCount");
    SYM(cuDeviceGet, "cuDeviceGet");
    SYM(cuDeviceGetName, "cuDeviceGetName");
    SYM(cuDeviceGetAttribute, "cuDeviceGetAttribute");
    SYM(cuDeviceTotalMem, "cuDeviceTotalMem_v2");
    SYM(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    SYM(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
    SYM(cuCtxSetCurrent, "cuCtxSetCurrent");
    SYM(cuStreamCreate, "cuStreamCreate");
    SYM(cuStreamDestroy, "cuStreamDestroy_v2");
    SYM(cuStreamSynchronize, "cuStreamSynchronize");
    SYM(cuModuleLoadData, "cuModuleLoadData");
    SYM(cuModuleUnload, "cuModuleUnload");
    SYM(cuModuleGetFunction, "cuModuleGetFunction");
    SYM(cuFuncSetAttribute, "cuFuncSetAttribute");
    SYM(cuLaunchKernel, "cuLaunchKernel");
    SYM(cuMemAlloc, "cuMemAlloc_v2");
    SYM(cuMemFree, "cuMemFree_v2");
    SYM(cuMemGetInfo, "cuMemGetInfo_v2");
    SYM(cuMemAllocHost, "cuMemAllocHost_v2");
    SYM(cuMemFreeHost, "cuMemFreeHost");
    SYM(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
    SYM(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
    SYM(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
    SYM(cuMemsetD8Async, "cuMemsetD8Async");
    SYM(cuEventCreate, "cuEventCreate");
    SYM(cuEventRecord, "cuEventRecord");
    SYM(cuEventSynchronize, "cuEventSynchronize");
    SYM(cuEventElapsedTime, "cuEventElapsedTime");
    SYM(cuEventDestroy, "cuEventDestroy_v2");
    SYM(cuGetErrorName, "cuGetErrorName");
    SYM(cuStreamWaitEvent, "cuStreamWaitEvent");
    SYM(cuMemHostGetDevicePointer, "cuMemHostGetDevicePointer_v2");
    SYM(cuStreamBeginCapture, "cuStreamBeginCapture_v2");
    SYM(cuStreamEndCapture, "cuStreamEndCapture");
    SYM(cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags");
    SYM(cuGraphLaunch, "cuGraphLaunch");
    SYM(cuGraphExecDestroy, "cuGraphExecDestroy");
    SYM(cuGraphDestroy, "cuGraphDestroy");
    return TSR_OK;
}

void tsr_cu_unload(tsr_cu_api *api)
{
    if (api->lib) lib_close(api->lib);
    memset(api, 0, sizeof *api);
}

tsr_status tsr_cu_check(const tsr_cu_api *api, CUresult r, tsr_error *err, const char *what)
{
    if (r == TSR_CU_SUCCESS) return TSR_OK;
    const char *name = NULL;
    if (api->cuGetErrorName) api->cuGetErrorName(r, &name);
    tsr_status st = r == TSR_CU_ERROR_OUT_OF_MEMORY ? TSR_ERR_DEVICE_OOM
                    : r == TSR_CU_ERROR_NO_DEVICE   ? TSR_ERR_NO_DEVICE
                                                    : TSR_ERR_BACKEND;
    return tsr_fail(err, st, "%s: %s (%d)", what, name ? name : "CUDA error", r);
}
