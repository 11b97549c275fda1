// The part of CUDA's driver API that gradbook calls, declared here from its documented ABI so the
// addon builds with a C++ compiler alone: a machine with only an NVIDIA driver (no toolkit) builds
// it and runs the shipped kernels. These are the CUDA 12 prototypes, unchanged in 13; each is
// fetched at run time through cuGetProcAddress for that ABI (Note [No link against CUDA]).
#pragma once
#include <cstddef>
#include <cstdint>

extern "C" {
// GB_CHECK_AGAINST_CUDA_H: a test compiles the prototypes below after cuda.h itself, so any
// difference from the toolkit's declarations is a compile error (C functions cannot overload).
#ifndef GB_CHECK_AGAINST_CUDA_H
typedef int CUresult;  // an enum in cuda.h, int-sized
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef uint64_t cuuint64_t;
typedef struct CUctx_st* CUcontext;
typedef struct CUstream_st* CUstream;
typedef struct CUmod_st* CUmodule;
typedef struct CUfunc_st* CUfunction;
typedef int CUdevice_attribute;
typedef int CUdriverProcAddressQueryResult;

// The CUDA version whose prototypes these are.
#define CUDA_VERSION 12000


enum : int {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CU_STREAM_NON_BLOCKING = 0x1,
  CU_GET_PROC_ADDRESS_DEFAULT = 0,
  CU_GET_PROC_ADDRESS_SUCCESS = 0,
  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
};
#endif

// Declarations only: nothing is linked; decltype takes each one's type for the function table.
CUresult cuInit(unsigned int flags);
CUresult cuDriverGetVersion(int* driverVersion);
CUresult cuDeviceGet(CUdevice* device, int ordinal);
CUresult cuDeviceGetCount(int* count);
CUresult cuDeviceGetName(char* name, int len, CUdevice dev);
CUresult cuDeviceGetAttribute(int* pi, CUdevice_attribute attrib, CUdevice dev);
CUresult cuDeviceTotalMem(size_t* bytes, CUdevice dev);  // _v2
CUresult cuDevicePrimaryCtxRetain(CUcontext* pctx, CUdevice dev);
CUresult cuDevicePrimaryCtxRelease(CUdevice dev);  // _v2
CUresult cuCtxSetCurrent(CUcontext ctx);
CUresult cuCtxSynchronize(void);
CUresult cuStreamCreate(CUstream* phStream, unsigned int flags);
CUresult cuStreamSynchronize(CUstream hStream);
CUresult cuMemAlloc(CUdeviceptr* dptr, size_t bytesize);  // _v2
CUresult cuMemFree(CUdeviceptr dptr);                      // _v2
CUresult cuMemGetInfo(size_t* free, size_t* total);        // _v2
CUresult cuMemcpyHtoDAsync(CUdeviceptr dst, const void* src, size_t bytes, CUstream hStream);  // _v2
CUresult cuMemcpyDtoHAsync(void* dst, CUdeviceptr src, size_t bytes, CUstream hStream);        // _v2
CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char uc, size_t n, CUstream hStream);
CUresult cuModuleLoadData(CUmodule* module, const void* image);
CUresult cuModuleGetFunction(CUfunction* hfunc, CUmodule hmod, const char* name);
CUresult cuModuleGetGlobal(CUdeviceptr* dptr, size_t* bytes, CUmodule hmod, const char* name);  // _v2
CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
                        unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ,
                        unsigned int sharedMemBytes, CUstream hStream, void** kernelParams, void** extra);
CUresult cuGetErrorName(CUresult error, const char** pStr);
CUresult cuGetErrorString(CUresult error, const char** pStr);
}
