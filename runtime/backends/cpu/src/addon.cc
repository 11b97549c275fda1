// The N-API surface of the CPU backend.
//
// Note [Call protocol]: a kernel call must cost far less than a 4-element add's budget (well under
// a microsecond), so kernels take no JS arguments. index.ts writes the op code, views and scalars
// into one Float64Array shared with this file at load time (setScratch), then calls the kernel
// with no arguments; Reader (common.h) decodes it. A view is: address of its first element (a
// buffer's address plus offset * itemsize; user-space addresses are below 2^53, so exact in a
// double), dtype code, ndim, shape, strides. index.ts has already checked every view against its
// buffer's size, so no kernel can reach outside a live allocation; index values are checked here.
#include <napi.h>

#include <cstdio>
#include <string>

#include <sys/mman.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common.h"
#include "kernels.h"
#include "vecmath.h"

namespace {

// Per module instance (each worker thread loading the addon has its own scratch array).
struct Instance {
  double* scratch = nullptr;
  Napi::Reference<Napi::Float64Array> ref;
};

double* scratch(const Napi::CallbackInfo& info) { return info.Env().GetInstanceData<Instance>()->scratch; }

Napi::Value Throw(Napi::Env env, const std::string& msg) {
  Napi::Error::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value SetScratch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    return Throw(env, "gradbook_cpu.setScratch: expected a Float64Array");
  auto arr = info[0].As<Napi::Float64Array>();
  if (arr.ElementLength() < 256) return Throw(env, "gradbook_cpu.setScratch: scratch too small");
  Instance* inst = env.GetInstanceData<Instance>();
  inst->scratch = arr.Data();
  inst->ref = Napi::Persistent(arr);
  return env.Undefined();
}

// Note [Buffer memory]: a buffer's memory is a V8 ArrayBuffer, created by index.ts 64 bytes larger
// than asked and used from its first 64-byte aligned address. V8 then does what GC pacing needs
// by itself: it counts the bytes as external memory, and frees them during garbage collection.
// Native allocations with napi finalizers (AdjustExternalMemory +/-) were tried first and fail
// that in Node 20: finalizers are deferred to the event loop, so a synchronous training loop
// freed nothing (200 dropped 40 MB buffers reached 8.4 GB resident; with ArrayBuffers, 205 MB).
// free() detaches the ArrayBuffer, which drops V8's only reference and frees the memory at once.

// Large buffers get transparent huge pages: fewer page faults when a fresh tensor is first written.
void advise_huge(void* p, size_t nbytes) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  if (nbytes < 2 * kHuge) return;
  const uintptr_t start = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + nbytes) & ~(kHuge - 1);
  if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
#endif
}

// Note [Heap trimming]: tensors nobody disposes go back to malloc when the garbage collector frees
// their ArrayBuffers, a few dozen at a time. glibc then finds free space at the top of its heap and
// returns it to the kernel (trimming above 128 KiB, or twice its adaptive mmap threshold), so the
// next step's fresh buffers fault their pages in again: about 20 page faults a training step of
// the 784-256-10 MLP, and a fresh 128 KiB buffer cost 7-12 us to write instead of 5. Keeping up to
// kTrimKeep of free heap, and serving requests up to kMmapMin from the heap (whose freed chunks
// are reused in place), stops that. Process-wide, and done once; memory in use is unchanged.
void tune_heap() {
#if defined(__GLIBC__)
  static bool done = [] {
    constexpr int kTrimKeep = 64 << 20;
    constexpr int kMmapMin = 16 << 20;
    mallopt(M_TRIM_THRESHOLD, kTrimKeep);
    mallopt(M_MMAP_THRESHOLD, kMmapMin);
    return true;
  }();
  (void)done;
#endif
}

// adopt(arrayBuffer) -> the 64-byte aligned address inside it.
Napi::Value Adopt(const Napi::CallbackInfo& info) {
  if (!info[0].IsArrayBuffer()) return Throw(info.Env(), "cpu backend: adopt: expected an ArrayBuffer");
  auto ab = info[0].As<Napi::ArrayBuffer>();
  const uintptr_t start = reinterpret_cast<uintptr_t>(ab.Data());
  const uintptr_t aligned = (start + 63) & ~uintptr_t(63);
  advise_huge(reinterpret_cast<void*>(aligned), ab.ByteLength() - (aligned - start));
  return Napi::Number::New(info.Env(), static_cast<double>(aligned));
}

// release(arrayBuffer): detaching drops V8's only reference to the memory, which frees it now.
Napi::Value Release(const Napi::CallbackInfo& info) {
  if (!info[0].IsArrayBuffer()) return Throw(info.Env(), "cpu backend: release: expected an ArrayBuffer");
  auto ab = info[0].As<Napi::ArrayBuffer>();
  if (!ab.IsDetached()) ab.Detach();
  return info.Env().Undefined();
}

// write(address, typedArray): index.ts has checked that the bytes fit.
Napi::Value Write(const Napi::CallbackInfo& info) {
  auto dst = reinterpret_cast<char*>(static_cast<uintptr_t>(info[0].As<Napi::Number>().DoubleValue()));
  auto ta = info[1].As<Napi::TypedArray>();
  auto ab = ta.ArrayBuffer();
  std::memcpy(dst, static_cast<char*>(ab.Data()) + ta.ByteOffset(), ta.ByteLength());
  return info.Env().Undefined();
}

// read(typedArray): copies the view in scratch into the contiguous host array (same dtype).
Napi::Value Read(const Napi::CallbackInfo& info) {
  auto ta = info[0].As<Napi::TypedArray>();
  auto ab = ta.ArrayBuffer();
  const double* s = scratch(info);
  gb::Reader r{s};
  gb::View src = r.view();
  // The destination is described as a view and handed to the copy kernel.
  double desc[4 + 2 * gb::MAXD + 4 + 2 * gb::MAXD];
  double* d = desc;
  *d++ = static_cast<double>(reinterpret_cast<uintptr_t>(static_cast<char*>(ab.Data()) + ta.ByteOffset()));
  *d++ = src.dt;
  *d++ = src.nd;
  for (int i = 0; i < src.nd; i++) *d++ = static_cast<double>(src.shape[i]);
  int64_t st = 1;
  for (int i = src.nd - 1; i >= 0; i--) {
    d[i] = static_cast<double>(st);
    st *= src.shape[i];
  }
  d += src.nd;
  const int nsrc = 3 + 2 * src.nd;
  for (int i = 0; i < nsrc; i++) *d++ = s[i];
  gb::Reader rr{desc};
  gb::k_copy(rr);
  return info.Env().Undefined();
}

template <void (*K)(gb::Reader&)>
Napi::Value Kernel(const Napi::CallbackInfo& info) {
  gb::Reader r{scratch(info)};
  K(r);
  gb::KernelError& e = gb::kernel_error();
  if (e.what != nullptr) {
    char msg[200];
    std::snprintf(msg, sizeof msg, "%s: index %lld is out of bounds for dimension with size %lld", e.what,
                  static_cast<long long>(e.value), static_cast<long long>(e.limit));
    e = gb::KernelError{};
    auto err = Napi::RangeError::New(info.Env(), msg);
    err.ThrowAsJavaScriptException();
  }
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new Instance());
  tune_heap();
  auto fn = [&](const char* name, Napi::Function::Callback cb) { exports.Set(name, Napi::Function::New(env, cb, name)); };
  fn("setScratch", SetScratch);
  fn("adopt", Adopt);
  fn("release", Release);
  fn("write", Write);
  fn("read", Read);
  fn("unary", Kernel<gb::k_unary>);
  fn("binary", Kernel<gb::k_binary>);
  fn("compare", Kernel<gb::k_compare>);
  fn("where", Kernel<gb::k_where>);
  fn("copy", Kernel<gb::k_copy>);
  fn("fill", Kernel<gb::k_fill>);
  fn("reduce", Kernel<gb::k_reduce>);
  fn("argReduce", Kernel<gb::k_argreduce>);
  fn("matmul", Kernel<gb::k_matmul>);
  fn("gather", Kernel<gb::k_gather>);
  fn("scatterAdd", Kernel<gb::k_scatter_add>);
  fn("indexSelect", Kernel<gb::k_index_select>);
  fn("indexAdd", Kernel<gb::k_index_add>);
  fn("logSoftmax", Kernel<gb::k_log_softmax>);
  fn("logSoftmaxBackward", Kernel<gb::k_log_softmax_backward>);
  fn("nllLoss", Kernel<gb::k_nll_loss>);
  fn("nllLossBackward", Kernel<gb::k_nll_loss_backward>);
  exports.Set("threads", Napi::Number::New(env, gb::ThreadPool::get().size()));
  exports.Set("avx2", Napi::Boolean::New(env, gb::vec_available()));
  return exports;
}

}  // namespace

NODE_API_MODULE(gradbook_cpu, Init)
