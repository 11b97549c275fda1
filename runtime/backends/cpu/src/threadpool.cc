#include "threadpool.h"

#include <algorithm>

namespace gb {

// Note [Pool handshake]: run() publishes a job (the function, its task count, its generation)
// under mu_, so a worker checking its wait predicate cannot miss it, and wakes the workers. Tasks
// are claimed by compare-and-swap on next_, which holds the generation beside the next index: a
// worker still finishing an old job can never claim a task of a newer one. Whoever finishes the
// last task (pending_ reaching 0) notifies done_ under mu_; the caller sleeps on done_ only when a
// worker still runs a task. No thread spins: on a shared machine a busy neighbour slows us in
// proportion instead of collapsing us. (The pool this replaced took mu_ for every task and made
// about 18 futex calls per MLP training step on a 2-core VM.)

ThreadPool& ThreadPool::get() {
  // Leaked on purpose: joining workers from a static destructor at process exit can hang.
  static ThreadPool* pool = [] {
    unsigned hw = std::thread::hardware_concurrency();
    int n = hw == 0 ? 1 : static_cast<int>(hw);
    return new ThreadPool(n - 1);
  }();
  return *pool;
}

ThreadPool::ThreadPool(int nworkers) {
  for (int i = 0; i < nworkers; i++) workers_.emplace_back([this] { loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::work(uint64_t gen, const std::function<void(int)>* job, int ntasks) {
  const uint64_t tag = gen & 0xffffffffu;
  uint64_t v = next_.load();
  for (;;) {
    if ((v >> 32) != tag || static_cast<int>(v & 0xffffffffu) >= ntasks) return;
    if (!next_.compare_exchange_weak(v, v + 1)) continue;
    (*job)(static_cast<int>(v & 0xffffffffu));
    if (pending_.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lk(mu_);
      done_.notify_one();
    }
    v = next_.load();
  }
}

void ThreadPool::loop() {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int)>* job;
    int ntasks;
    {
      std::unique_lock<std::mutex> lk(mu_);
      wake_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
      ntasks = ntasks_;
    }
    work(seen, job, ntasks);
  }
}

void ThreadPool::run(int ntasks, const std::function<void(int)>& fn) {
  bool expected = false;
  if (workers_.empty() || ntasks <= 1 || !busy_.compare_exchange_strong(expected, true)) {
    for (int t = 0; t < ntasks; t++) fn(t);
    return;
  }
  uint64_t gen;
  {
    std::lock_guard<std::mutex> lk(mu_);
    gen = ++generation_;
    job_ = &fn;
    ntasks_ = ntasks;
    pending_.store(ntasks);
    next_.store((gen & 0xffffffffu) << 32);
  }
  wake_.notify_all();
  // The caller works too, then sleeps until a straggler finishes.
  work(gen, &fn, ntasks);
  if (pending_.load() != 0) {
    std::unique_lock<std::mutex> lk(mu_);
    done_.wait(lk, [&] { return pending_.load() == 0; });
  }
  busy_.store(false);
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  ThreadPool& pool = ThreadPool::get();
  // A few chunks per thread, claimed dynamically: when a neighbour's process holds one core, the
  // other thread takes over the remaining chunks instead of everyone waiting for the slow half.
  int64_t chunks = std::min<int64_t>(4 * pool.size(), std::max<int64_t>(1, n / std::max<int64_t>(grain, 1)));
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  pool.run(static_cast<int>(chunks), [&](int t) {
    int64_t b = n * t / chunks;
    int64_t e = n * (t + 1) / chunks;
    if (b < e) fn(b, e);
  });
}

}  // namespace gb
