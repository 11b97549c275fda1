/* A fake libcuda.so.1 for tests on machines without a GPU (test/cuda-driver.test.ts builds it with
 * cc). It exports only cuGetProcAddress_v2 and cuGetProcAddress, as the real driver does for its
 * versioned entry points, plus a plain "cuMemAlloc" that aborts: the addon must never dlsym an
 * unversioned symbol. Device memory is host memory (malloc), so writes and reads round-trip;
 * kernel launches are recorded, not run. FAKE_CUDA_LIMIT caps the bytes it will allocate;
 * FAKE_CUDA_LOG=1 logs every lookup and launch to stderr; FAKE_CUDA_FAIL_SYNC=1 makes stream
 * synchronisation report an illegal address (as after a kernel fault).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#ifdef GB_EMULATE
/* Built with emu.cc: kernels run on the CPU (see there). */
#include <dlfcn.h>
int gb_emu_launch(void* fn, const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                  void** params);
void* gb_emu_error_flag(void);
struct EmuFn { const char* name; void* fn; };
#endif
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

static size_t used = 0, limit = (size_t)1 << 34;
static int launches = 0;
static int flag __attribute__((unused)) = 0;
#define LOG(...) \
  do { if (getenv("FAKE_CUDA_LOG")) fprintf(stderr, __VA_ARGS__); } while (0)

static CUresult f_cuInit(unsigned f) {
  (void)f;
  const char* l = getenv("FAKE_CUDA_LIMIT");
  if (l) limit = (size_t)strtoull(l, 0, 10);
  return 0;
}
static CUresult f_cuDriverGetVersion(int* v) { *v = 13000; return 0; }
static CUresult f_cuDeviceGet(int* d, int o) { *d = o; return o == 0 ? 0 : 101; }
static CUresult f_cuDeviceGetCount(int* c) { *c = 1; return 0; }
static CUresult f_cuDeviceGetName(char* n, int len, int d) { (void)d; strncpy(n, "Fake GPU", (size_t)len); return 0; }
static CUresult f_cuDeviceGetAttribute(int* v, int attr, int d) {
  (void)d;
  const char* sms = getenv("FAKE_CUDA_SMS");
  *v = attr == 75 ? 9 : attr == 76 ? 0 : attr == 16 ? (sms ? atoi(sms) : 132) : 0;
  return 0;
}
static CUresult f_cuDeviceTotalMem(size_t* b, int d) { (void)d; *b = limit; return 0; }
static CUresult f_cuDevicePrimaryCtxRetain(void** c, int d) { (void)d; *c = (void*)16; return 0; }
static CUresult f_cuDevicePrimaryCtxRelease(int d) { (void)d; return 0; }
static CUresult f_cuCtxSetCurrent(void* c) { return c == (void*)16 ? 0 : 201; }
static CUresult f_cuCtxSynchronize(void) { return 0; }
static CUresult f_cuStreamCreate(void** s, unsigned flags) { (void)flags; *s = (void*)32; return 0; }
static CUresult f_cuStreamSynchronize(void* s) {
  if (s != (void*)32) return 400;
  return getenv("FAKE_CUDA_FAIL_SYNC") && launches > 0 ? 700 : 0;
}
static CUresult f_cuMemAlloc(CUdeviceptr* p, size_t n) {
  if (used + n > limit) return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
  size_t* b = (size_t*)malloc(n + 16);
  if (!b) return 2;
  b[0] = n;
  used += n;
  *p = (CUdeviceptr)(uintptr_t)(b + 2);
  LOG("cuMemAlloc %zu -> used %zu\n", n, used);
  return 0;
}
static CUresult f_cuMemFree(CUdeviceptr p) {
  size_t* b = (size_t*)(uintptr_t)p - 2;
  used -= b[0];
  LOG("cuMemFree %zu -> used %zu\n", b[0], used);
  free(b);
  return 0;
}
static CUresult f_cuMemGetInfo(size_t* f, size_t* t) { *f = limit - used; *t = limit; return 0; }
static CUresult f_cuMemcpyHtoDAsync(CUdeviceptr d, const void* s, size_t n, void* st) { (void)st; memcpy((void*)(uintptr_t)d, s, n); return 0; }
static CUresult f_cuMemcpyDtoHAsync(void* d, CUdeviceptr s, size_t n, void* st) { (void)st; memcpy(d, (void*)(uintptr_t)s, n); return 0; }
static CUresult f_cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, void* st) { (void)st; memset((void*)(uintptr_t)d, v, n); return 0; }
static CUresult f_cuModuleLoadData(void** m, const void* img) {
  if (*(const uint32_t*)img != 0xba55ed50u) return 200; /* CUDA_ERROR_INVALID_IMAGE */
  *m = (void*)48;
  return 0;
}
static CUresult f_cuModuleGetFunction(void** f, void* m, const char* name) {
  (void)m;
#ifdef GB_EMULATE
  Dl_info info;
  if (!dladdr((void*)gb_emu_launch, &info)) return 500;
  void* self = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
  void* fn = self ? dlsym(self, name) : 0;
  if (!fn) return 500; /* CUDA_ERROR_NOT_FOUND */
  struct EmuFn* e = (struct EmuFn*)malloc(sizeof *e);
  e->name = strdup(name);
  e->fn = fn;
  *f = e;
#else
  *f = strdup(name);
#endif
  return 0;
}
static CUresult f_cuModuleGetGlobal(CUdeviceptr* p, size_t* b, void* m, const char* name) {
  (void)m;
  if (strcmp(name, "gb_error")) return 500;
#ifdef GB_EMULATE
  *p = (CUdeviceptr)(uintptr_t)gb_emu_error_flag();
#else
  *p = (CUdeviceptr)(uintptr_t)&flag;
#endif
  *b = 4;
  return 0;
}
static CUresult f_cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                                 unsigned sh, void* st, void** params, void** extra) {
  (void)sh; (void)extra;
  if (st != (void*)32 || !params || !params[0]) return 1;
  if (gx == 0 || gy == 0 || gz == 0 || bx * by * bz == 0 || bx * by * bz > 1024) return 1; /* invalid value */
  launches++;
#ifdef GB_EMULATE
  {
    struct EmuFn* e = (struct EmuFn*)f;
    LOG("launch %s grid %u,%u,%u block %u,%u,%u\n", e->name, gx, gy, gz, bx, by, bz);
    return gb_emu_launch(e->fn, e->name, gx, gy, gz, bx, by, bz, params);
  }
#else
  LOG("launch %s grid %u,%u,%u block %u,%u,%u\n", (const char*)f, gx, gy, gz, bx, by, bz);
  return 0;
#endif
}
static CUresult f_cuGetErrorName(CUresult e, const char** s) {
  *s = e == 700 ? "CUDA_ERROR_ILLEGAL_ADDRESS" : e == 2 ? "CUDA_ERROR_OUT_OF_MEMORY" : "CUDA_ERROR_FAKE";
  return 0;
}
static CUresult f_cuGetErrorString(CUresult e, const char** s) {
  *s = e == 700 ? "an illegal memory access was encountered" : "fake error";
  return 0;
}

struct Entry { const char* name; void* fn; };
static const struct Entry table[] = {
#define E(n) {#n, (void*)f_##n},
  E(cuInit) E(cuDriverGetVersion) E(cuDeviceGet) E(cuDeviceGetCount) E(cuDeviceGetName) E(cuDeviceGetAttribute)
  E(cuDeviceTotalMem) E(cuDevicePrimaryCtxRetain) E(cuDevicePrimaryCtxRelease) E(cuCtxSetCurrent) E(cuCtxSynchronize)
  E(cuStreamCreate) E(cuStreamSynchronize) E(cuMemAlloc) E(cuMemFree) E(cuMemGetInfo) E(cuMemcpyHtoDAsync)
  E(cuMemcpyDtoHAsync) E(cuMemsetD8Async) E(cuModuleLoadData) E(cuModuleGetFunction) E(cuModuleGetGlobal)
  E(cuLaunchKernel) E(cuGetErrorName) E(cuGetErrorString)
#undef E
};

CUresult cuGetProcAddress_v2(const char* sym, void** pfn, int ver, unsigned long long flags, int* status) {
  LOG("lookup %s version %d flags %llu\n", sym, ver, flags);
  /* the real driver hands out the _v2 ABI of these only for versions >= 3020; and a caller that
   * asks for per-thread-stream or a version below 12000 here is not the addon we expect */
  if (ver < 12000 || flags != 0) {
    *pfn = 0;
    if (status) *status = 2; /* CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT */
    return 1;
  }
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcmp(table[i].name, sym)) {
      *pfn = table[i].fn;
      if (status) *status = 0;
      return 0;
    }
  *pfn = 0;
  if (status) *status = 1; /* CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND */
  return 500;
}
CUresult cuGetProcAddress(const char* sym, void** pfn, int ver, unsigned long long flags) {
  return cuGetProcAddress_v2(sym, pfn, ver, flags, 0);
}
/* The unversioned 32-bit-era symbol: using it is the bug this fake catches. */
CUresult cuMemAlloc(unsigned int* p, unsigned int n) {
  (void)p; (void)n;
  fprintf(stderr, "fake libcuda: the unversioned cuMemAlloc was called\n");
  abort();
}
int fake_cuda_launches(void) { return launches; }
