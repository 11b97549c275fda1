// A tiny fork-join pool. Workers sleep on a condition variable between jobs: the machine is
// shared, and a spinning pool collapses when a neighbour is busy (see issue 2, Performance).
// Tasks are claimed and counted with atomics, so a job costs at most one wake-up of the sleeping
// workers and one sleep of the caller (when a worker still runs the last task); the mutex only
// guards sleeping and waking. See Note [Pool handshake] in threadpool.cc.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gb {

class ThreadPool {
 public:
  static ThreadPool& get();
  // Total threads that take part in a job, the caller included.
  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Runs fn(task) for task in [0, ntasks); the caller runs tasks too and returns when all are done.
  void run(int ntasks, const std::function<void(int)>& fn);
  ~ThreadPool();

 private:
  explicit ThreadPool(int nworkers);
  void loop();
  // Claims and runs tasks of job `gen` until none are left (or a newer job replaced it).
  void work(uint64_t gen, const std::function<void(int)>* job, int ntasks);
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  // guarded by mu_: the current job and its number
  const std::function<void(int)>* job_ = nullptr;
  int ntasks_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  // the job's generation (high 32 bits) and next unclaimed task (low 32 bits)
  std::atomic<uint64_t> next_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> busy_{false};  // a nested or concurrent run() executes serially instead of deadlocking
};

// Splits [0, n) into chunks of at least `grain` items (a few per thread) and runs them in parallel.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace gb
