/* cuda_driver.h — the CUDA driver API subset Tessera uses, loaded at run time (no cuda.h, no runtime link).
 * libcuda.so.1 with dlopen on Linux, nvcuda.dll with LoadLibrary on Windows. */
#ifndef TSR_CUDA_DRIVER_H
#define TSR_CUDA_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "tessera.h"

#if defined(_WIN32)
#define TSR_CUAPI __stdcall
#else
#define TSR_CUAPI
#endif

typedef int CUresult;
typedef int CUdevice;
typedef uint64_t CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;

#define TSR_CU_SUCCESS 0
#define TSR_CU_STREAM_CAPTURE_MODE_RELAXED 2
#define TSR_CU_ERROR_OUT_OF_MEMORY 2
#define TSR_CU_ERROR_NO_DEVICE 100
#define TSR_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT 16
#define TSR_CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES 8
#define TSR_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR 75
#define TSR_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR 76

typedef struct tsr_cu_api {
    void *lib;
    CUresult(TSR_CUAPI *cuInit)(unsigned);
    CUresult(TSR_CUAPI *cuDriverGetVersion)(int *);
    CUresult(TSR_CUAPI *cuDeviceGetCount)(int *);
    CUresult(TSR_CUAPI *cuDeviceGet)(CUdevice *, int);
    CUresult(TSR_CUAPI *cuDeviceGetName)(char *, int, CUdevice);
    CUresult(TSR_CUAPI *cuDeviceGetAttribute)(int *, int, CUdevice);
    CUresult(TSR_CUAPI *cuDeviceTotalMem)(size_t *, CUdevice);
    CUresult(TSR_CUAPI *cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult(TSR_CUAPI *cuDevicePrimaryCtxRelease)(CUdevice);
    CUresult(TSR_CUAPI *cuCtxSetCurrent)(CUcontext);
    CUresult(TSR_CUAPI *cuStreamCreate)(CUstream *, unsigned);
    CUresult(TSR_CUAPI *cuStreamDestroy)(CUstream);
    CUresult(TSR_CUAPI *cuStreamSynchronize)(CUstream);
    CUresult(TSR_CUAPI *cuModuleLoadData)(CUmodule *, const void *);
    CUresult(TSR_CUAPI *cuModuleUnload)(CUmodule);
    CUresult(TSR_CUAPI *cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult(TSR_CUAPI *cuFuncSetAttribute)(CUfunction, int, int);
    CUresult(TSR_CUAPI *cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                                        unsigned, CUstream, void **, void **);
    CUresult(TSR_CUAPI *cuMemAlloc)(CUdeviceptr *, size_t);
    CUresult(TSR_CUAPI *cuMemFree)(CUdeviceptr);
    CUresult(TSR_CUAPI *cuMemGetInfo)(size_t *, size_t *);
    CUresult(TSR_CUAPI *cuMemAllocHost)(void **, size_t);
    CUresult(TSR_CUAPI *cuMemFreeHost)(void *);
    CUresult(TSR_CUAPI *cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
    CUresult(TSR_CUAPI *cuMemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
    CUresult(TSR_CUAPI *cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
    CUresult(TSR_CUAPI *cuMemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
    CUresult(TSR_CUAPI *cuEventCreate)(CUevent *, unsigned);
    CUresult(TSR_CUAPI *cuEventRecord)(CUevent, CUstream);
    CUresult(TSR_CUAPI *cuEventSynchronize)(CUevent);
    CUresult(TSR_CUAPI *cuEventElapsedTime)(float *, CUevent, CUevent);
    CUresult(TSR_CUAPI *cuEventDestroy)(CUevent);
    CUresult(TSR_CUAPI *cuGetErrorName)(CUresult, const char **);
    CUresult(TSR_CUAPI *cuStreamWaitEvent)(CUstream, CUevent, unsigned);
    CUresult(TSR_CUAPI *cuMemHostGetDevicePointer)(CUdeviceptr *, void *, unsigned);
    CUresult(TSR_CUAPI *cuStreamBeginCapture)(CUstream, int);
    CUresult(TSR_CUAPI *cuStreamEndCapture)(CUstream, CUgraph *);
    CUresult(TSR_CUAPI *cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph, unsigned long long);
    CUresult(TSR_CUAPI *cuGraphLaunch)(CUgraphExec, CUstream);
    CUresult(TSR_CUAPI *cuGraphExecDestroy)(CUgraphExec);
    CUresult(TSR_CUAPI *cuGraphDestroy)(CUgraph);
} tsr_cu_api;

/* Load the driver library and resolve every symbol. TSR_ERR_NO_DEVICE with a reason when absent. */
tsr_status tsr_cu_load(tsr_cu_api *api, tsr_error *err);
void tsr_cu_unload(tsr_cu_api *api);

/* Name, compute capability, memory and support (sm_80+) of device `d` (cuda_devices.c): what
 * tsr_devices_list reports and what the backend checks when it opens the device. */
void tsr_cu_device_describe(const tsr_cu_api *api, CUdevice d, int ordinal, tsr_device_info *o);

/* Map a CUresult to an engine status and message ("what: CUDA_ERROR_x"). TSR_OK for success. */
tsr_status tsr_cu_check(const tsr_cu_api *api, CUresult r, tsr_error *err, const char *what);

#endif
