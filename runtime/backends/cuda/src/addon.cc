// gradbook's CUDA addon: the driver API opened at run time, a caching allocator, kernel launches
// from a shared scratch array, and cuBLAS when it can be opened.
//
// Note [No link against CUDA]: nothing here links against a CUDA library, and no CUDA header is
// needed (cuda_driver.h declares the prototypes used); libcuda.so.1 is dlopen()ed and every entry point is looked up through
// cuGetProcAddress with an explicit CUDA version (kApiVersion), which returns the versioned symbol
// that matches the prototype we call (cuMemAlloc -> cuMemAlloc_v2 and so on). A plain dlsym of
// "cuMemAlloc" would find the old 32-bit ABI. A machine without a driver or a GPU loads the addon
// fine; init() then reports why CUDA is unusable and the TypeScript side registers no backend.
//
// Note [Call protocol]: as the CPU addon, the TypeScript side writes each call's arguments into a
// Float64Array shared at setScratch(); the functions here read them from there. Device addresses
// are below 2^53, so a double holds them exactly.
#include "cuda_driver.h"
#include <dlfcn.h>
#include <napi.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

// The CUDA version whose ABI we ask cuGetProcAddress for. Every prototype used here (taken from
// cuda_driver.h by decltype; cuMemAlloc there is cuda.h's cuMemAlloc_v2 and so on) is the one valid
// from 12.0 through 13.x: none of them was re-versioned in 13.0 (cuCtxCreate was; it is not used).
constexpr int kApiVersion = 12000;
static_assert(CUDA_VERSION >= 12000, "the prototypes must be those of CUDA 12 or newer");

#define GB_DRIVER_FUNCS(X)          \
  X(cuInit)                         \
  X(cuDriverGetVersion)             \
  X(cuDeviceGet)                    \
  X(cuDeviceGetCount)               \
  X(cuDeviceGetName)                \
  X(cuDeviceGetAttribute)           \
  X(cuDeviceTotalMem)               \
  X(cuDevicePrimaryCtxRetain)       \
  X(cuDevicePrimaryCtxRelease)      \
  X(cuCtxSetCurrent)                \
  X(cuCtxSynchronize)               \
  X(cuStreamCreate)                 \
  X(cuStreamSynchronize)            \
  X(cuMemAlloc)                     \
  X(cuMemFree)                      \
  X(cuMemGetInfo)                   \
  X(cuMemcpyHtoDAsync)              \
  X(cuMemcpyDtoHAsync)              \
  X(cuMemsetD8Async)                \
  X(cuModuleLoadData)               \
  X(cuModuleGetFunction)            \
  X(cuModuleGetGlobal)              \
  X(cuLaunchKernel)                 \
  X(cuGetErrorName)                 \
  X(cuGetErrorString)

struct Driver {
#define GB_DECL(name) decltype(&::name) name = nullptr;
  GB_DRIVER_FUNCS(GB_DECL)
#undef GB_DECL
};

// ---- cuBLAS, declared by hand (its headers are not needed; the ABI is stable) ----
typedef void* cublasHandle_t;
typedef int (*PFN_cublasCreate)(cublasHandle_t*);
typedef int (*PFN_cublasSetStream)(cublasHandle_t, CUstream);
typedef int (*PFN_cublasSetMathMode)(cublasHandle_t, int);
typedef int (*PFN_cublasGemmStridedBatchedEx)(cublasHandle_t, int transa, int transb, int m, int n, int k,
                                              const void* alpha, const void* A, int Atype, int lda, long long strideA,
                                              const void* B, int Btype, int ldb, long long strideB, const void* beta,
                                              void* C, int Ctype, int ldc, long long strideC, int batchCount,
                                              int computeType, int algo);
typedef int (*PFN_cublasGemmEx)(cublasHandle_t, int transa, int transb, int m, int n, int k, const void* alpha,
                                const void* A, int Atype, int lda, const void* B, int Btype, int ldb,
                                const void* beta, void* C, int Ctype, int ldc, int computeType, int algo);
typedef int (*PFN_cublasSetWorkspace)(cublasHandle_t, void* workspace, size_t bytes);
constexpr int CUDA_R_32F_ = 0, CUDA_R_64F_ = 1, CUDA_R_16F_ = 2, CUDA_R_16BF_ = 14;
constexpr int CUBLAS_COMPUTE_32F_ = 68, CUBLAS_COMPUTE_32F_FAST_TF32_ = 77, CUBLAS_COMPUTE_64F_ = 70;
constexpr int CUBLAS_GEMM_DEFAULT_ = -1;

struct Blas {
  void* lib = nullptr;
  std::string path;
  std::string why;  // why it is not there
  cublasHandle_t handle = nullptr;
  PFN_cublasCreate create = nullptr;
  PFN_cublasSetStream setStream = nullptr;
  PFN_cublasSetMathMode setMathMode = nullptr;
  PFN_cublasGemmStridedBatchedEx gemm = nullptr;
  PFN_cublasGemmEx gemm1 = nullptr;  // one product: the path PyTorch's mm takes
  bool tried = false;
};

struct State {
  void* lib = nullptr;
  Driver d;
  bool ok = false;
  std::string why;
  int driverVersion = 0;
  int deviceCount = 0;
  CUdevice dev = 0;
  CUcontext ctx = nullptr;
  CUstream stream = nullptr;
  CUmodule module = nullptr;
  CUdeviceptr errFlag = 0;
  std::string name;
  int ccMajor = 0, ccMinor = 0, sms = 0;
  size_t totalMem = 0;
  std::vector<CUfunction> funcs;
  std::vector<std::string> funcNames;
  double* scratch = nullptr;
  size_t scratchLen = 0;
  Blas blas;
};
State S;

std::string errText(CUresult r) {
  const char* name = nullptr;
  const char* str = nullptr;
  if (S.d.cuGetErrorName) S.d.cuGetErrorName(r, &name);
  if (S.d.cuGetErrorString) S.d.cuGetErrorString(r, &str);
  std::string s = name ? name : ("CUDA error " + std::to_string((int)r));
  if (str) s += std::string(": ") + str;
  return s;
}

// ---- the caching allocator ----
// Sizes round up to a class: powers of two from 512 bytes to 1 MiB, then multiples of 2 MiB. Freed
// blocks go to a free list keyed by their rounded size and are reused by a request of that class
// (a large request also takes a cached block up to 1/8 larger). Since everything runs on one
// stream, a block freed while kernels that use it are still queued can be handed out at once: the
// next user's kernels queue behind them. Cached blocks go back to the driver on emptyCache() and
// when an allocation would otherwise fail.
struct Block {
  CUdeviceptr ptr;
  size_t size;  // rounded
  bool live;    // not yet returned by free() or the finalizer
};

struct Allocator {
  std::multimap<size_t, CUdeviceptr> cache;
  size_t allocatedBytes = 0, reservedBytes = 0, cachedBytes = 0, peakAllocated = 0;
  long long allocCount = 0, freeCount = 0, driverAllocs = 0, driverFrees = 0, cacheHits = 0, ooms = 0;
  long long liveBlocks = 0;
  long long pendingExternal = 0;  // bytes finalizers released, reported to V8 at the next call

  static size_t round(size_t n) {
    if (n == 0) n = 1;
    if (n <= (1u << 20)) {
      size_t s = 512;
      while (s < n) s <<= 1;
      return s;
    }
    const size_t two = 2u << 20;
    return (n + two - 1) / two * two;
  }

  void release() {
    if (cache.empty()) return;
    if (S.stream) S.d.cuStreamSynchronize(S.stream);
    for (auto& kv : cache) {
      S.d.cuMemFree(kv.second);
      reservedBytes -= kv.first;
      driverFrees++;
    }
    cachedBytes = 0;
    cache.clear();
  }

};
Allocator A;

// Takes a block of at least `want` (rounded) bytes: a cached one of that class (a large request also
// takes one up to 1/8 larger) or a new one from the driver, releasing the cache and trying again if
// the driver is out of memory. Returns the block's size; on failure *out is 0 and *err the error.
size_t takeSized(size_t want, CUdeviceptr* out, CUresult* err) {
  auto it = A.cache.lower_bound(want);
  if (it != A.cache.end() && (it->first == want || (want > (1u << 20) && it->first <= want + want / 8))) {
    size_t got = it->first;
    *out = it->second;
    A.cache.erase(it);
    A.cachedBytes -= got;
    A.cacheHits++;
    *err = CUDA_SUCCESS;
    return got;
  }
  CUdeviceptr p = 0;
  CUresult r = S.d.cuMemAlloc(&p, want);
  if (r == CUDA_ERROR_OUT_OF_MEMORY) {
    A.release();
    r = S.d.cuMemAlloc(&p, want);
  }
  *err = r;
  if (r != CUDA_SUCCESS) {
    *out = 0;
    return 0;
  }
  A.reservedBytes += want;
  A.driverAllocs++;
  *out = p;
  return want;
}

void giveBack(Block* b) {
  if (!b->live) return;
  b->live = false;
  A.cache.emplace(b->size, b->ptr);
  A.cachedBytes += b->size;
  A.allocatedBytes -= b->size;
  A.freeCount++;
  A.liveBlocks--;
}

// V8 hears of device memory in batches: a change is passed on once the bytes not yet reported
// reach 1 MiB either way (one call per small allocation would cost more than the allocation).
long long unreported = 0;
void reportExternal(Napi::Env env, long long delta) {
  unreported += delta;
  if (unreported >= (1 << 20) || unreported <= -(1 << 20)) {
    Napi::MemoryManagement::AdjustExternalMemory(env, unreported);
    unreported = 0;
  }
}
void flushExternal(Napi::Env env) {
  if (A.pendingExternal != 0) {
    reportExternal(env, -A.pendingExternal);
    A.pendingExternal = 0;
  }
}

Napi::Value Throw(Napi::Env env, const std::string& msg) {
  Napi::Error::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool needScratch(Napi::Env env, size_t n) {
  if (!S.ok) {
    Napi::Error::New(env, "gradbook cuda: CUDA is not initialised").ThrowAsJavaScriptException();
    return false;
  }
  if (S.scratch == nullptr || S.scratchLen < n) {
    Napi::Error::New(env, "gradbook cuda: scratch array not set").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// ---- initialisation ----
template <class F>
bool lookup(F& fn, const char* name) {
  void* p = nullptr;
  typedef CUresult (*GetProc2)(const char*, void**, int, cuuint64_t, CUdriverProcAddressQueryResult*);
  typedef CUresult (*GetProc1)(const char*, void**, int, cuuint64_t);
  static GetProc2 gp2 = nullptr;
  static GetProc1 gp1 = nullptr;
  static bool resolved = false;
  if (!resolved) {
    resolved = true;
    gp2 = reinterpret_cast<GetProc2>(dlsym(S.lib, "cuGetProcAddress_v2"));
    if (!gp2) gp1 = reinterpret_cast<GetProc1>(dlsym(S.lib, "cuGetProcAddress"));
  }
  int ver = S.driverVersion > 0 && S.driverVersion < kApiVersion ? S.driverVersion : kApiVersion;
  CUresult r;
  if (gp2) {
    CUdriverProcAddressQueryResult q;
    r = gp2(name, &p, ver, CU_GET_PROC_ADDRESS_DEFAULT, &q);
    if (r != CUDA_SUCCESS || q != CU_GET_PROC_ADDRESS_SUCCESS) p = nullptr;
  } else if (gp1) {
    r = gp1(name, &p, ver, CU_GET_PROC_ADDRESS_DEFAULT);
    if (r != CUDA_SUCCESS) p = nullptr;
  }
  fn = reinterpret_cast<F>(p);
  return p != nullptr;
}

std::string initDriver(const char* libname) {
  std::string firstErr;
  if (libname && *libname) {
    S.lib = dlopen(libname, RTLD_NOW | RTLD_LOCAL);
  } else {
    // the loader's search first, then where container runtimes mount the driver
    for (const char* n : {"libcuda.so.1", "/usr/local/nvidia/lib64/libcuda.so.1", "/usr/local/nvidia/lib/libcuda.so.1",
                          "/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/lib64/libcuda.so.1", "/usr/lib/wsl/lib/libcuda.so.1"}) {
      S.lib = dlopen(n, RTLD_NOW | RTLD_LOCAL);
      if (S.lib) break;
      if (firstErr.empty()) {
        const char* e = dlerror();
        firstErr = e ? e : n;
      }
    }
  }
  if (!S.lib) {
    const char* e = libname && *libname ? dlerror() : firstErr.c_str();
    return std::string("libcuda.so.1 could not be opened (no NVIDIA driver?): ") + (e ? e : "");
  }
  if (!dlsym(S.lib, "cuGetProcAddress_v2") && !dlsym(S.lib, "cuGetProcAddress"))
    return "the NVIDIA driver is too old: it has no cuGetProcAddress (CUDA 11.3 or newer is needed)";
  // cuDriverGetVersion first (its ABI never changed), so later lookups ask for what the driver has.
  if (!lookup(S.d.cuDriverGetVersion, "cuDriverGetVersion")) return "cuDriverGetVersion not found in libcuda";
  S.d.cuDriverGetVersion(&S.driverVersion);
  if (S.driverVersion < 11030) return "the NVIDIA driver supports CUDA " + std::to_string(S.driverVersion) + "; 11.3 or newer is needed";
#define GB_LOOK(name) \
  if (!lookup(S.d.name, #name)) return std::string("driver entry point ") + #name + " not found";
  GB_DRIVER_FUNCS(GB_LOOK)
#undef GB_LOOK
  CUresult r = S.d.cuInit(0);
  if (r != CUDA_SUCCESS) return "cuInit failed: " + errText(r);
  r = S.d.cuDeviceGetCount(&S.deviceCount);
  if (r != CUDA_SUCCESS) return "cuDeviceGetCount failed: " + errText(r);
  if (S.deviceCount <= 0) return "no CUDA device found";
  return "";
}

std::string initDevice(const uint8_t* image, size_t len) {
  CUresult r;
  int ordinal = 0;
  if (const char* e = getenv("GRADBOOK_CUDA_DEVICE")) ordinal = atoi(e);
  if ((r = S.d.cuDeviceGet(&S.dev, ordinal)) != CUDA_SUCCESS) return "cuDeviceGet: " + errText(r);
  char name[256] = {0};
  S.d.cuDeviceGetName(name, sizeof name - 1, S.dev);
  S.name = name;
  S.d.cuDeviceGetAttribute(&S.ccMajor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, S.dev);
  S.d.cuDeviceGetAttribute(&S.ccMinor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, S.dev);
  S.d.cuDeviceGetAttribute(&S.sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, S.dev);
  S.d.cuDeviceTotalMem(&S.totalMem, S.dev);
  if ((r = S.d.cuDevicePrimaryCtxRetain(&S.ctx, S.dev)) != CUDA_SUCCESS) return "cuDevicePrimaryCtxRetain: " + errText(r);
  if ((r = S.d.cuCtxSetCurrent(S.ctx)) != CUDA_SUCCESS) return "cuCtxSetCurrent: " + errText(r);
  if ((r = S.d.cuStreamCreate(&S.stream, CU_STREAM_NON_BLOCKING)) != CUDA_SUCCESS) return "cuStreamCreate: " + errText(r);
  // cuModuleLoadData wants the image aligned; copy it into owned memory.
  std::vector<uint64_t> aligned((len + 7) / 8 + 1, 0);
  std::memcpy(aligned.data(), image, len);
  if ((r = S.d.cuModuleLoadData(&S.module, aligned.data())) != CUDA_SUCCESS)
    return "cuModuleLoadData (the kernels' fatbin, for compute capability " + std::to_string(S.ccMajor) + "." +
           std::to_string(S.ccMinor) + "): " + errText(r);
  size_t bytes = 0;
  if ((r = S.d.cuModuleGetGlobal(&S.errFlag, &bytes, S.module, "gb_error")) != CUDA_SUCCESS)
    return "cuModuleGetGlobal(gb_error): " + errText(r);
  int zero = 0;
  S.d.cuMemcpyHtoDAsync(S.errFlag, &zero, sizeof zero, S.stream);
  if ((r = S.d.cuStreamSynchronize(S.stream)) != CUDA_SUCCESS) return "first synchronisation: " + errText(r);
  return "";
}

// init(fatbin: Uint8Array, driverPath?: string) -> { ok, reason, ... }. The driver is opened once;
// after a failure, a call that names a driver library tries again with it (tests use a fake one).
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  std::string path;
  if (info.Length() >= 2 && info[1].IsString()) path = info[1].As<Napi::String>().Utf8Value();
  if (!S.ok && !S.why.empty() && !path.empty() && S.lib == nullptr) S.why.clear();
  if (!S.ok && S.why.empty()) {
    const char* env_lib = getenv("GRADBOOK_LIBCUDA");
    std::string why = initDriver(!path.empty() ? path.c_str() : env_lib);
    if (why.empty()) {
      if (info.Length() < 1 || !info[0].IsTypedArray()) {
        why = "the kernels' fatbin was not found (build it with scripts/build-cuda.sh)";
      } else {
        Napi::Uint8Array img = info[0].As<Napi::Uint8Array>();
        why = initDevice(img.Data(), img.ByteLength());
      }
    }
    S.ok = why.empty();
    S.why = S.ok ? "" : why;
  }
  o.Set("ok", S.ok);
  o.Set("reason", S.why);
  o.Set("driverVersion", S.driverVersion);
  o.Set("deviceCount", S.deviceCount);
  o.Set("name", S.name);
  o.Set("capability", std::to_string(S.ccMajor) + "." + std::to_string(S.ccMinor));
  o.Set("multiprocessors", S.sms);
  o.Set("totalMemory", (double)S.totalMem);
  return o;
}

Napi::Value SetScratch(const Napi::CallbackInfo& info) {
  Napi::Float64Array a = info[0].As<Napi::Float64Array>();
  S.scratch = a.Data();
  S.scratchLen = a.ElementLength();
  // Keep the array alive for the process. The reference is never destroyed: a static one would be
  // deleted by its destructor after the environment is gone, at exit.
  static Napi::Reference<Napi::Float64Array>* keep = new Napi::Reference<Napi::Float64Array>();
  *keep = Napi::Persistent(a);
  return info.Env().Undefined();
}

Napi::Value KernelIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!S.ok) return Throw(env, "gradbook cuda: CUDA is not initialised");
  std::string name = info[0].As<Napi::String>();
  for (size_t i = 0; i < S.funcNames.size(); i++)
    if (S.funcNames[i] == name) return Napi::Number::New(env, (double)i);
  CUfunction f;
  CUresult r = S.d.cuModuleGetFunction(&f, S.module, name.c_str());
  if (r != CUDA_SUCCESS) return Throw(env, "gradbook cuda: kernel " + name + " not found: " + errText(r));
  S.funcs.push_back(f);
  S.funcNames.push_back(name);
  return Napi::Number::New(env, (double)(S.funcs.size() - 1));
}

// alloc(nbytes) -> handle, with the address in scratch[0] and the block's size in scratch[1];
// null when the device is out of memory (after the cache was released), with the error in
// scratch[2].
Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!needScratch(env, 4)) return env.Undefined();
  flushExternal(env);
  double want = info[0].As<Napi::Number>().DoubleValue();
  size_t size = Allocator::round((size_t)want);
  CUdeviceptr p = 0;
  CUresult err;
  size_t got = takeSized(size, &p, &err);
  if (err != CUDA_SUCCESS) {
    if (err == CUDA_ERROR_OUT_OF_MEMORY) A.ooms++;
    S.scratch[0] = 0;
    S.scratch[1] = (double)size;
    S.scratch[2] = (double)err;
    return env.Null();
  }
  Block* b = new Block{p, got, true};
  A.allocatedBytes += got;
  if (A.allocatedBytes > A.peakAllocated) A.peakAllocated = A.allocatedBytes;
  A.allocCount++;
  A.liveBlocks++;
  reportExternal(env, (long long)got);
  S.scratch[0] = (double)p;
  S.scratch[1] = (double)got;
  // A basic finalizer (NAPI_EXPERIMENTAL): it runs inside the garbage collection itself, not on a
  // later turn of the event loop, so a gc() during an allocation that failed returns the buffers of
  // unreachable tensors at once, and long synchronous loops do not pile up dead buffers. It touches
  // no JavaScript state: V8 hears of the released bytes at the next alloc/free (pendingExternal).
  return Napi::External<Block>::New(env, b, [](Napi::BasicEnv, Block* blk) {
    if (blk->live) {
      giveBack(blk);
      A.pendingExternal += (long long)blk->size;
    }
    delete blk;
  });
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Block* b = info[0].As<Napi::External<Block>>().Data();
  if (b && b->live) {
    giveBack(b);
    reportExternal(env, -(long long)b->size);
  }
  flushExternal(env);
  return env.Undefined();
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  if (S.ok) A.release();
  return info.Env().Undefined();
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("allocatedBytes", (double)A.allocatedBytes);
  o.Set("reservedBytes", (double)A.reservedBytes);
  o.Set("cachedBytes", (double)A.cachedBytes);
  o.Set("peakAllocatedBytes", (double)A.peakAllocated);
  o.Set("activeBlocks", (double)A.liveBlocks);
  o.Set("cachedBlocks", (double)A.cache.size());
  o.Set("allocations", (double)A.allocCount);
  o.Set("frees", (double)A.freeCount);
  o.Set("cacheHits", (double)A.cacheHits);
  o.Set("driverAllocations", (double)A.driverAllocs);
  o.Set("driverFrees", (double)A.driverFrees);
  o.Set("ooms", (double)A.ooms);
  size_t freeB = 0, totalB = 0;
  if (S.ok) S.d.cuMemGetInfo(&freeB, &totalB);
  o.Set("deviceFreeBytes", (double)freeB);
  o.Set("deviceTotalBytes", (double)totalB);
  return o;
}

// write(address, typedArray): an asynchronous host-to-device copy on the stream (pageable memory:
// the driver stages the data before returning, so the array may change afterwards).
Napi::Value Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!S.ok) return Throw(env, "gradbook cuda: CUDA is not initialised");
  CUdeviceptr dst = (CUdeviceptr)info[0].As<Napi::Number>().DoubleValue();
  Napi::TypedArray a = info[1].As<Napi::TypedArray>();
  size_t n = a.ByteLength();
  if (n == 0) return env.Undefined();
  const uint8_t* src = static_cast<const uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  CUresult r = S.d.cuMemcpyHtoDAsync(dst, src, n, S.stream);
  if (r != CUDA_SUCCESS) return Throw(env, "gradbook cuda: write (host to device copy) failed: " + errText(r));
  return env.Undefined();
}

// read(address, typedArray): copies the device bytes into the array and waits for the stream.
// Returns "" or the text of the error the stream reported (a kernel's asynchronous failure).
Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!S.ok) return Throw(env, "gradbook cuda: CUDA is not initialised");
  CUdeviceptr src = (CUdeviceptr)info[0].As<Napi::Number>().DoubleValue();
  Napi::TypedArray a = info[1].As<Napi::TypedArray>();
  size_t n = a.ByteLength();
  uint8_t* dst = static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  CUresult r = CUDA_SUCCESS;
  if (n > 0) r = S.d.cuMemcpyDtoHAsync(dst, src, n, S.stream);
  CUresult s = S.d.cuStreamSynchronize(S.stream);
  if (r == CUDA_SUCCESS) r = s;
  return Napi::String::New(env, r == CUDA_SUCCESS ? "" : errText(r));
}

// sync() -> "" or the error text.
Napi::Value Sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!S.ok) return Napi::String::New(env, "");
  CUresult r = S.d.cuStreamSynchronize(S.stream);
  return Napi::String::New(env, r == CUDA_SUCCESS ? "" : errText(r));
}

// takeIndexError() -> the code an indexing kernel left in gb_error (0: none), clearing it.
Napi::Value TakeIndexError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!S.ok) return Napi::Number::New(env, 0);
  int v = 0, zero = 0;
  CUresult r = S.d.cuMemcpyDtoHAsync(&v, S.errFlag, sizeof v, S.stream);
  if (r == CUDA_SUCCESS) r = S.d.cuStreamSynchronize(S.stream);
  if (r != CUDA_SUCCESS) return Throw(env, "gradbook cuda: " + errText(r));
  if (v != 0) {
    S.d.cuMemcpyHtoDAsync(S.errFlag, &zero, sizeof zero, S.stream);
    S.d.cuStreamSynchronize(S.stream);
  }
  return Napi::Number::New(env, v);
}

// ---- launches ----
// Layout of the kernel parameter structs: must match kernels.cu.
constexpr int MAXD = 8, NV = 4;
struct Ew {
  long long n;
  long long dimStride;
  long long st[NV][MAXD];
  uint64_t p[NV];
  double scalar;
  int shape[MAXD];
  int nd;
  int op;
  int dimSize;
  int errCode;
};
struct Red {
  long long nOut, nIn;
  long long ostIn[MAXD], ostOut[MAXD], ist[MAXD];
  uint64_t in, out, partial;
  int oshape[MAXD], ishape[MAXD];
  int ond, ind;
  int op;
  int splits;
  long long chunk;
};
struct Mm {
  long long sa[3], sb[3], so[3];
  uint64_t a, b, o;
  int B, M, N, K;
};

static_assert(sizeof(Ew) == 360 && sizeof(Red) == 320 && sizeof(Mm) == 112, "layouts must match kernels.cu");

inline long long L(double v) { return (long long)v; }

// Scratch header for every launch: [0] kernel index, [1..3] grid, [4..6] block, [7] kind
// (0 Ew, 1 Red, 2 Mm); the struct's fields follow from [8] (see index.ts: packEw/packRed/packMm).
// Returns "" or the launch error's text.
Napi::Value Launch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!needScratch(env, 128)) return env.Undefined();
  const double* s = S.scratch;
  size_t k = (size_t)s[0];
  if (k >= S.funcs.size()) return Throw(env, "gradbook cuda: bad kernel index");
  unsigned gx = (unsigned)s[1], gy = (unsigned)s[2], gz = (unsigned)s[3];
  unsigned bx = (unsigned)s[4], by = (unsigned)s[5], bz = (unsigned)s[6];
  int kind = (int)s[7];
  const double* f = s + 8;
  Ew ew;
  Red red;
  Mm mm;
  void* param = nullptr;
  if (kind == 0) {
    std::memset(&ew, 0, sizeof ew);
    ew.n = L(f[0]);
    ew.nd = (int)f[1];
    ew.op = (int)f[2];
    ew.scalar = f[3];
    ew.dimStride = L(f[4]);
    ew.dimSize = (int)f[5];
    ew.errCode = (int)f[6];
    int nv = (int)f[7];
    if (ew.nd < 0 || ew.nd > MAXD || nv < 1 || nv > NV) return Throw(env, "gradbook cuda: bad launch descriptor");
    for (int d = 0; d < ew.nd; d++) ew.shape[d] = (int)f[8 + d];
    for (int v = 0; v < nv; v++) {
      const double* w = f + 16 + v * 9;
      ew.p[v] = (uint64_t)w[0];
      for (int d = 0; d < ew.nd; d++) ew.st[v][d] = L(w[1 + d]);
    }
    param = &ew;
  } else if (kind == 1) {
    std::memset(&red, 0, sizeof red);
    red.op = (int)f[0];
    red.ond = (int)f[1];
    red.ind = (int)f[2];
    red.nOut = L(f[3]);
    red.nIn = L(f[4]);
    red.out = (uint64_t)f[5];
    red.in = (uint64_t)f[6];
    red.partial = (uint64_t)f[7];
    red.splits = (int)f[8];
    red.chunk = L(f[9]);
    if (red.ond < 0 || red.ond > MAXD || red.ind < 0 || red.ind > MAXD) return Throw(env, "gradbook cuda: bad launch descriptor");
    for (int d = 0; d < red.ond; d++) {
      red.oshape[d] = (int)f[10 + d];
      red.ostIn[d] = L(f[18 + d]);
      red.ostOut[d] = L(f[26 + d]);
    }
    for (int d = 0; d < red.ind; d++) {
      red.ishape[d] = (int)f[34 + d];
      red.ist[d] = L(f[42 + d]);
    }
    param = &red;
  } else if (kind == 2) {
    std::memset(&mm, 0, sizeof mm);
    mm.B = (int)f[0];
    mm.M = (int)f[1];
    mm.N = (int)f[2];
    mm.K = (int)f[3];
    mm.a = (uint64_t)f[4];
    mm.b = (uint64_t)f[5];
    mm.o = (uint64_t)f[6];
    for (int i = 0; i < 3; i++) {
      mm.sa[i] = L(f[7 + i]);
      mm.sb[i] = L(f[10 + i]);
      mm.so[i] = L(f[13 + i]);
    }
    param = &mm;
  } else {
    return Throw(env, "gradbook cuda: bad launch kind");
  }
  void* params[] = {param};
  CUresult r = S.d.cuLaunchKernel(S.funcs[k], gx, gy, gz, bx, by, bz, 0, S.stream, params, nullptr);
  if (r == CUDA_SUCCESS) return Napi::String::New(env, "");
  return Napi::String::New(env, errText(r) + " (kernel " + S.funcNames[k] + ")");
}

// ---- cuBLAS ----
void openBlas() {
  S.blas.tried = true;
  std::vector<std::string> names;
  if (const char* e = getenv("GRADBOOK_CUBLAS")) {
    if (*e) names.push_back(e);
  }
  names.push_back("libcublas.so");
  names.push_back("libcublas.so.13");
  names.push_back("libcublas.so.12");
  std::string errs;
  // An explicit path: load cublasLt from its folder first, so libcublas finds it without
  // LD_LIBRARY_PATH (pip's nvidia wheels keep both in one folder).
  if (!names.empty() && names[0].find('/') != std::string::npos) {
    std::string dir = names[0].substr(0, names[0].rfind('/') + 1);
    for (const char* lt : {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"})
      if (dlopen((dir + lt).c_str(), RTLD_NOW | RTLD_GLOBAL)) break;
  }
  for (auto& n : names) {
    void* h = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      errs += (errs.empty() ? "" : "; ") + std::string(e ? e : n);
      continue;
    }
    S.blas.create = reinterpret_cast<PFN_cublasCreate>(dlsym(h, "cublasCreate_v2"));
    S.blas.setStream = reinterpret_cast<PFN_cublasSetStream>(dlsym(h, "cublasSetStream_v2"));
    S.blas.setMathMode = reinterpret_cast<PFN_cublasSetMathMode>(dlsym(h, "cublasSetMathMode"));
    S.blas.gemm = reinterpret_cast<PFN_cublasGemmStridedBatchedEx>(dlsym(h, "cublasGemmStridedBatchedEx"));
    if (!S.blas.create || !S.blas.setStream || !S.blas.gemm) {
      errs += "; " + n + " lacks cublasGemmStridedBatchedEx";
      dlclose(h);
      continue;
    }
    cublasHandle_t handle = nullptr;
    int st = S.blas.create(&handle);
    if (st != 0) {
      errs += "; cublasCreate failed with status " + std::to_string(st);
      dlclose(h);
      continue;
    }
    S.blas.setStream(handle, S.stream);
    S.blas.gemm1 = reinterpret_cast<PFN_cublasGemmEx>(dlsym(h, "cublasGemmEx"));
    // Hopper's fastest GEMM kernels want a workspace; PyTorch gives cuBLAS 32 MiB on sm_90.
    auto setWorkspace = reinterpret_cast<PFN_cublasSetWorkspace>(dlsym(h, "cublasSetWorkspace_v2"));
    CUdeviceptr ws = 0;
    const size_t wsBytes = size_t(32) << 20;
    if (setWorkspace && S.d.cuMemAlloc(&ws, wsBytes) == CUDA_SUCCESS) {
      if (setWorkspace(handle, reinterpret_cast<void*>(ws), wsBytes) != 0) S.d.cuMemFree(ws);
    }
    S.blas.lib = h;
    S.blas.handle = handle;
    S.blas.path = n;
    return;
  }
  S.blas.why = errs;
}

// blasInfo() -> { available, library, reason }
Napi::Value BlasInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (S.ok && !S.blas.tried && !getenv("GRADBOOK_NO_CUBLAS")) openBlas();
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", S.blas.handle != nullptr);
  o.Set("library", S.blas.path);
  o.Set("reason", S.blas.handle ? "" : (S.blas.tried ? S.blas.why : std::string("disabled by GRADBOOK_NO_CUBLAS")));
  return o;
}

// gemm(): column-major cublasGemmStridedBatchedEx with arguments from scratch:
// [0] dtype (0 f32, 1 f64, 4 f16, 5 bf16), [1] transa, [2] transb, [3] m, [4] n, [5] k,
// [6] A, [7] lda, [8] strideA, [9] B, [10] ldb, [11] strideB, [12] C, [13] ldc, [14] strideC,
// [15] batch, [16] tf32. Returns "" or the error.
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!needScratch(env, 32)) return env.Undefined();
  if (!S.blas.handle) return Napi::String::New(env, "cuBLAS is not available");
  const double* s = S.scratch;
  int dt = (int)s[0];
  int type, compute;
  float af = 1.f, bf = 0.f;
  double ad = 1.0, bd = 0.0;
  const void* alpha = &af;
  const void* beta = &bf;
  switch (dt) {
    case 0: type = CUDA_R_32F_; compute = s[16] != 0 ? CUBLAS_COMPUTE_32F_FAST_TF32_ : CUBLAS_COMPUTE_32F_; break;
    case 1: type = CUDA_R_64F_; compute = CUBLAS_COMPUTE_64F_; alpha = &ad; beta = &bd; break;
    case 4: type = CUDA_R_16F_; compute = CUBLAS_COMPUTE_32F_; break;
    case 5: type = CUDA_R_16BF_; compute = CUBLAS_COMPUTE_32F_; break;
    default: return Napi::String::New(env, "cuBLAS: unsupported dtype");
  }
  int st;
  if ((int)s[15] == 1 && S.blas.gemm1) {
    st = S.blas.gemm1(S.blas.handle, (int)s[1], (int)s[2], (int)s[3], (int)s[4], (int)s[5], alpha,
                      (const void*)(uint64_t)s[6], type, (int)s[7], (const void*)(uint64_t)s[9], type, (int)s[10],
                      beta, (void*)(uint64_t)s[12], type, (int)s[13], compute, CUBLAS_GEMM_DEFAULT_);
    if (st == 0) return Napi::String::New(env, "");
    return Napi::String::New(env, "cublasGemmEx failed with status " + std::to_string(st));
  }
  st = S.blas.gemm(S.blas.handle, (int)s[1], (int)s[2], (int)s[3], (int)s[4], (int)s[5], alpha,
                       (const void*)(uint64_t)s[6], type, (int)s[7], L(s[8]), (const void*)(uint64_t)s[9], type,
                       (int)s[10], L(s[11]), beta, (void*)(uint64_t)s[12], type, (int)s[13], L(s[14]), (int)s[15],
                       compute, CUBLAS_GEMM_DEFAULT_);
  if (st == 0) return Napi::String::New(env, "");
  return Napi::String::New(env, "cublasGemmStridedBatchedEx failed with status " + std::to_string(st));
}

Napi::Object Init_(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("setScratch", Napi::Function::New(env, SetScratch));
  exports.Set("kernelIndex", Napi::Function::New(env, KernelIndex));
  exports.Set("alloc", Napi::Function::New(env, Alloc));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("emptyCache", Napi::Function::New(env, EmptyCache));
  exports.Set("memoryStats", Napi::Function::New(env, MemoryStats));
  exports.Set("write", Napi::Function::New(env, Write));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("sync", Napi::Function::New(env, Sync));
  exports.Set("takeIndexError", Napi::Function::New(env, TakeIndexError));
  exports.Set("launch", Napi::Function::New(env, Launch));
  exports.Set("blasInfo", Napi::Function::New(env, BlasInfo));
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  return exports;
}

}  // namespace

NODE_API_MODULE(gradbook_cuda, Init_)
