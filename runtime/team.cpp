// Team: one OpenMP region for a run of steps; parts handed to the other threads through spinning flags.
#include "runtime/team.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace ortool::rt {

namespace {

thread_local Team* current_team = nullptr;
std::atomic<uint64_t> handed{0};

// A waiter spins with pause for about 10-20 us, then yields the core on each look: with more threads
// than free cores (two sessions side by side, ctest -j2) the thread it waits for may need this core.
class Backoff {
 public:
  void wait() {
    if (spins_ < kSpins) {
      ++spins_;
#if defined(__x86_64__) || defined(__i386__)
      _mm_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }

 private:
  static constexpr int kSpins = 4096;
  int spins_ = 0;
};

}  // namespace

struct Team::State {
  static constexpr int kMaxThreads = 64;
  struct alignas(64) Helper {
    std::atomic<uint64_t> done{0};  // the last job this helper finished
    std::exception_ptr error;       // the first exception of its parts in that job
  };
  alignas(64) std::atomic<uint64_t> job{0};  // bumped by thread 0 to hand out a job
  std::atomic<bool> stop{false};
  const std::function<void(int)>* part = nullptr;
  int parts = 0;
  Helper helpers[kMaxThreads];

  // Thread t >= 1 until stop: runs its parts of each job.
  void serve(int t, int size) {
    uint64_t seen = 0;
    for (;;) {
      Backoff b;
      uint64_t j;
      while ((j = job.load(std::memory_order_acquire)) == seen) {
        if (stop.load(std::memory_order_acquire)) return;
        b.wait();
      }
      seen = j;
      Helper& h = helpers[t];
      try {
        for (int k = t; k < parts; k += size) (*part)(k);
      } catch (...) {
        h.error = std::current_exception();
      }
      h.done.store(j, std::memory_order_release);
    }
  }
};

Team* Team::current() { return current_team; }

uint64_t Team::jobs_handed() { return handed.load(std::memory_order_relaxed); }

Status Team::run(int threads, const std::function<Status()>& body) {
#ifdef _OPENMP
  threads = std::min(threads, State::kMaxThreads);
  // More threads than cores: a spinning thread would wait for one that has no core (each step as slow as a
  // scheduler slice); the steps split on their own instead.
  if (threads < 2 || threads > omp_get_num_procs() || current_team || omp_in_parallel()) return body();
  auto state = std::make_unique<State>();
  Team team;
  team.state_ = state.get();
  Status result = Status::ok();
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), size = omp_get_num_threads();
    if (t == 0) {
      team.size_ = size;
      current_team = &team;
      try {
        result = body();
      } catch (const std::exception& e) {
        result = internal_error("a step of the team threw: {}", e.what());
      } catch (...) {
        result = internal_error("a step of the team threw");
      }
      current_team = nullptr;
      state->stop.store(true, std::memory_order_release);
    } else {
      state->serve(t, size);
    }
  }
  return result;
#else
  (void)threads;
  return body();
#endif
}

void Team::for_each(int parts, const std::function<void(int)>& part) {
  // Inside a part of thread 0 (a kernel's part splitting through the thread pool) the others are busy.
  if (size_ < 2 || parts < 2 || busy_) {
    for (int k = 0; k < parts; ++k) part(k);
    return;
  }
  busy_ = true;
  handed.fetch_add(1, std::memory_order_relaxed);
  State& s = *state_;
  s.part = &part;
  s.parts = parts;
  const uint64_t j = s.job.load(std::memory_order_relaxed) + 1;
  s.job.store(j, std::memory_order_release);
  std::exception_ptr error;
  try {
    for (int k = 0; k < parts; k += size_) part(k);
  } catch (...) {
    error = std::current_exception();
  }
  for (int t = 1; t < size_; ++t) {
    Backoff b;
    while (s.helpers[t].done.load(std::memory_order_acquire) != j) b.wait();
    if (s.helpers[t].error) {
      if (!error) error = s.helpers[t].error;
      s.helpers[t].error = nullptr;
    }
  }
  s.part = nullptr;
  busy_ = false;
  if (error) std::rethrow_exception(error);
}

}  // namespace ortool::rt
