#include "threadpool.h"

#include <algorithm>

namespace gb {

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

void ThreadPool::loop() {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    wake_.wait(lk, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    while (next_ < ntasks_) {
      int task = next_++;
      const auto* job = job_;
      lk.unlock();
      (*job)(task);
      lk.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::run(int ntasks, const std::function<void(int)>& fn) {
  std::unique_lock<std::mutex> lk(mu_);
  if (busy_ || workers_.empty() || ntasks <= 1) {
    lk.unlock();
    for (int t = 0; t < ntasks; t++) fn(t);
    return;
  }
  busy_ = true;
  job_ = &fn;
  ntasks_ = ntasks;
  next_ = 0;
  pending_ = ntasks;
  generation_++;
  lk.unlock();
  wake_.notify_all();
  lk.lock();
  // The caller works too, then sleeps until the stragglers finish.
  while (next_ < ntasks_) {
    int task = next_++;
    lk.unlock();
    fn(task);
    lk.lock();
    --pending_;
  }
  done_.wait(lk, [&] { return pending_ == 0; });
  job_ = nullptr;
  ntasks_ = 0;
  busy_ = false;
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
