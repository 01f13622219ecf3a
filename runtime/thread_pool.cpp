// A small fork-join thread pool: workers wait for a job, split it in chunks, the caller joins.
//
// Built with OpenMP (with the dnnl provider), the pool runs on OpenMP's team instead of threads of
// its own: oneDNN's primitives run on that team, and two sets of workers on the same cores fought
// each other (OpenMP's workers spin for a while after each primitive, right when our workers woke
// up for the next cpu kernel), which made --threads 2 slower than --threads 1 on mixed graphs.
#include "runtime/thread_pool.h"

#include "runtime/team.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace ortool::rt {

struct ThreadPool::Impl {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable cv, done_cv;
  const std::function<void(size_t, size_t)>* job = nullptr;
  size_t n = 0, chunk = 1;
  std::atomic<size_t> next{0};
  int active = 0;
  uint64_t generation = 0;
  bool stop = false;

  void work() {
    for (;;) {
      size_t b = next.fetch_add(chunk);
      if (b >= n) break;
      (*job)(b, std::min(n, b + chunk));
    }
  }
};

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)), impl_(std::make_unique<Impl>()) {
#ifdef _OPENMP
  return;  // OpenMP's team does the work
#endif
  for (int i = 1; i < threads_; ++i) {
    impl_->workers.emplace_back([this] {
      Impl& s = *impl_;
      uint64_t seen = 0;
      for (;;) {
        {
          std::unique_lock lk(s.mu);
          s.cv.wait(lk, [&] { return s.stop || s.generation != seen; });
          if (s.stop) return;
          seen = s.generation;
          ++s.active;
        }
        s.work();
        {
          std::lock_guard lk(s.mu);
          if (--s.active == 0) s.done_cv.notify_all();
        }
      }
    });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  for (auto& t : impl_->workers) t.join();
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn, size_t min_chunk) {
  if (n == 0) return;
  min_chunk = std::max<size_t>(1, min_chunk);
  if (threads_ == 1 || n <= min_chunk) {
    fn(0, n);
    return;
  }
#ifdef _OPENMP
  if (Team* team = Team::current()) {  // a step inside a Team: one part per team thread, the same every time
    const int parts = static_cast<int>(std::min<size_t>(static_cast<size_t>(std::min(threads_, team->size())),
                                                        (n + min_chunk - 1) / min_chunk));
    team->for_each(parts, [&](int k) {
      const size_t b = n * static_cast<size_t>(k) / static_cast<size_t>(parts);
      const size_t e = n * static_cast<size_t>(k + 1) / static_cast<size_t>(parts);
      if (b < e) fn(b, e);
    });
    return;
  }
#endif
  const size_t chunk =
      std::max(min_chunk, (n + static_cast<size_t>(threads_) * 4 - 1) / (static_cast<size_t>(threads_) * 4));
#ifdef _OPENMP
  if (omp_in_parallel()) {  // a nested call runs inline, as below
    fn(0, n);
    return;
  }
  std::atomic<size_t> next{0};
  const int team = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads_), (n + chunk - 1) / chunk));
#pragma omp parallel num_threads(team)
  {
    for (;;) {
      const size_t b = next.fetch_add(chunk);
      if (b >= n) break;
      fn(b, std::min(n, b + chunk));
    }
  }
  return;
#endif
  Impl& s = *impl_;
  std::unique_lock caller(s.mu);  // one parallel_for at a time; nested calls run inline
  s.job = &fn;
  s.n = n;
  s.chunk = chunk;
  s.next = 0;
  ++s.generation;
  caller.unlock();
  s.cv.notify_all();
  s.work();
  caller.lock();
  s.done_cv.wait(caller, [&] { return s.active == 0 && s.next >= s.n; });
  s.job = nullptr;
}

}  // namespace ortool::rt
