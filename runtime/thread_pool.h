// Intra-op thread pool: parallel_for over an index range, sized by --threads.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace ortool::rt {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  int size() const { return threads_; }
  // Calls fn(begin, end) on disjoint chunks covering [0, n); runs inline for one thread or small n.
  void parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn, size_t min_chunk = 1);

 private:
  int threads_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ortool::rt
