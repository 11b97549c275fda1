// A CPU emulation of the GPU for tests: kernels.cu compiled as host C++ and run block by block,
// each CUDA thread a fiber (ucontext) on one OS thread, __syncthreads a barrier of the block's
// fibers, __shfl_down_sync an exchange among a warp's 32 fibers. Linked with fake_libcuda.c into
// a libcuda.so.1 whose cuLaunchKernel runs the emulated kernel, so the real addon and the real
// TypeScript backend run the real kernel code (test/cuda-emulated.test.ts). Not a model of GPU
// timing or memory ordering; it checks index arithmetic, reduction trees, shuffles, tiling and
// barriers (a block whose threads do not all reach a barrier aborts with a message).
#include <setjmp.h>
#include <ucontext.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <cuda_fp16.h>
#include <cuda_bf16.h>

struct gb_dim3 {
  unsigned x, y, z;
};

namespace gbemu {
// A fiber is entered the first time with swapcontext and afterwards with _setjmp/_longjmp, which
// switch without the signal-mask system calls swapcontext makes (build with -U_FORTIFY_SOURCE:
// the checked longjmp refuses to jump between stacks).
struct Fiber {
  ucontext_t ctx;
  jmp_buf jb;
  bool started;
  gb_dim3 tid;
  int linear;
  bool done;
  int barrierGen;  // generation of the block barrier it waits at (-1: not waiting)
  int warpGen;
  char* stack;
};
static ucontext_t schedCtx;
static jmp_buf schedJb;
static std::vector<Fiber> fibers;
static Fiber* cur = nullptr;
static gb_dim3 gBlockIdx, gBlockDim, gGridDim;
static int blockArrived = 0, blockGen = 0, nThreads = 0;
static int warpArrived[32], warpGenA[32];
static unsigned long long warpSlot[32][32];
static void (*entry)(void*) = nullptr;
static void* entryArg = nullptr;
constexpr size_t kStack = 64 * 1024;

static void yield() {
  if (!_setjmp(cur->jb)) _longjmp(schedJb, 1);
}

static void syncthreads() {
  int gen = blockGen;
  if (++blockArrived == nThreads) {
    blockArrived = 0;
    blockGen++;
    return;
  }
  while (blockGen == gen) yield();
}

static void warpBarrier() {
  int w = cur->linear / 32;
  int gen = warpGenA[w];
  int width = nThreads - w * 32 < 32 ? nThreads - w * 32 : 32;
  if (++warpArrived[w] == width) {
    warpArrived[w] = 0;
    warpGenA[w]++;
    return;
  }
  while (warpGenA[w] == gen) yield();
}

template <class T>
static T shflDown(T v, unsigned delta) {
  static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
  int w = cur->linear / 32, lane = cur->linear % 32;
  unsigned long long bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  warpSlot[w][lane] = bits;
  warpBarrier();
  T out = v;
  if (lane + (int)delta < 32 && w * 32 + lane + (int)delta < nThreads) std::memcpy(&out, &warpSlot[w][lane + delta], sizeof(T));
  warpBarrier();
  return out;
}

static void trampoline() {
  entry(entryArg);
  cur->done = true;
  _longjmp(schedJb, 1);
}

// Runs the whole grid; fn is called once per thread with its fiber current.
static void run(gb_dim3 grid, gb_dim3 block, void (*fn)(void*), void* arg) {
  nThreads = (int)(block.x * block.y * block.z);
  if ((int)fibers.size() < nThreads) {
    size_t old = fibers.size();
    fibers.resize(nThreads);
    for (size_t i = old; i < fibers.size(); i++) fibers[i].stack = (char*)std::malloc(kStack);
  }
  gGridDim = grid;
  gBlockDim = block;
  entry = fn;
  entryArg = arg;
  for (unsigned bz = 0; bz < grid.z; bz++)
    for (unsigned by = 0; by < grid.y; by++)
      for (unsigned bx = 0; bx < grid.x; bx++) {
        gBlockIdx = {bx, by, bz};
        blockArrived = 0;
        blockGen = 0;
        std::memset(warpArrived, 0, sizeof warpArrived);
        std::memset(warpGenA, 0, sizeof warpGenA);
        for (int t = 0; t < nThreads; t++) {
          Fiber& f = fibers[t];
          f.linear = t;
          f.tid = {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
          f.done = false;
          f.started = false;
          getcontext(&f.ctx);
          f.ctx.uc_stack.ss_sp = f.stack;
          f.ctx.uc_stack.ss_size = kStack;
          f.ctx.uc_link = nullptr;
          makecontext(&f.ctx, trampoline, 0);
        }
        int live = nThreads;
        while (live > 0) {
          int progressed = 0;
          live = 0;
          for (int t = 0; t < nThreads; t++) {
            Fiber& f = fibers[t];
            if (f.done) continue;
            cur = &f;
            int gen = blockGen, wgen = warpGenA[t / 32], arrived = blockArrived;
            if (!_setjmp(schedJb)) {
              if (!f.started) {
                f.started = true;
                swapcontext(&schedCtx, &f.ctx);
              } else {
                _longjmp(f.jb, 1);
              }
            }
            if (f.done || gen != blockGen || wgen != warpGenA[t / 32] || arrived != blockArrived) progressed++;
            if (!f.done) live++;
          }
          if (live > 0 && progressed == 0) {
            std::fprintf(stderr, "gbemu: deadlock in block (%u,%u,%u): %d threads wait at a barrier others never reach\n", bx, by, bz, live);
            std::abort();
          }
        }
      }
  cur = nullptr;
}
}  // namespace gbemu

// ---- what kernels.cu needs from CUDA ----
#undef __global__
#undef __device__
#undef __forceinline__
#undef __launch_bounds__
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#undef __shared__
#define __shared__ static
#define threadIdx (gbemu::cur->tid)
#define blockIdx (gbemu::gBlockIdx)
#define blockDim (gbemu::gBlockDim)
#define gridDim (gbemu::gGridDim)
static inline void __syncthreads() { gbemu::syncthreads(); }
template <class T>
static inline T __shfl_down_sync(unsigned, T v, unsigned d) { return gbemu::shflDown(v, d); }
// One OS thread and no preemption between barriers: plain read-modify-writes are atomic here.
static inline float atomicAdd(float* p, float v) { float o = *p; *p = o + v; return o; }
static inline double atomicAdd(double* p, double v) { double o = *p; *p = o + v; return o; }
static inline int atomicAdd(int* p, int v) { int o = *p; *p = (int)((unsigned)o + (unsigned)v); return o; }
static inline __half atomicAdd(__half* p, __half v) { __half o = *p; *p = __float2half_rn(__half2float(o) + __half2float(v)); return o; }
static inline __nv_bfloat16 atomicAdd(__nv_bfloat16* p, __nv_bfloat16 v) {
  __nv_bfloat16 o = *p;
  *p = __float2bfloat16_rn(__bfloat162float(o) + __bfloat162float(v));
  return o;
}
static inline int atomicCAS(int* p, int cmp, int v) { int o = *p; if (o == cmp) *p = v; return o; }
using std::isinf;
using std::isnan;
using std::isfinite;

// clang-format off
#include "../../../runtime/backends/cuda/src/kernels.cu"
// clang-format on

// ---- the launcher the fake driver calls ----
namespace {
template <class P>
struct Call {
  void (*k)(P);
  P p;
};
template <class P>
void callThunk(void* a) {
  Call<P>* c = (Call<P>*)a;
  c->k(c->p);
}
}  // namespace

extern "C" int gb_emu_launch(void* fn, const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                             unsigned bz, void** params) {
  gb_dim3 g = {gx, gy, gz}, b = {bx, by, bz};
  std::string n(name);
  auto starts = [&](const char* p) { return n.rfind(p, 0) == 0; };
  if (starts("matmul_")) {
    Call<Mm> c{(void (*)(Mm))fn, *(Mm*)params[0]};
    gbemu::run(g, b, callThunk<Mm>, &c);
  } else if (starts("reduce") || starts("argreduce_")) {
    Call<Red> c{(void (*)(Red))fn, *(Red*)params[0]};
    gbemu::run(g, b, callThunk<Red>, &c);
  } else {
    Call<Ew> c{(void (*)(Ew))fn, *(Ew*)params[0]};
    gbemu::run(g, b, callThunk<Ew>, &c);
  }
  return 0;
}
extern "C" void* gb_emu_error_flag() { return &gb_error; }
