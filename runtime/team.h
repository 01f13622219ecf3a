// A team of threads kept across consecutive steps of a plan, handing each step's parts over spinning flags.
//
// A step split over two cores by its own OpenMP parallel region pays a fork and a join every time (3.3-4 us
// on a 2-core VM whose cores trade a cache line in 0.35 us: libgomp's fork touches several lines). A run of
// int8 convs of 20-40 us each lost a tenth of its time that way, and more to reading half of each input from
// the other core's cache, since every step split its work differently. A Team opens one OpenMP region for
// the whole run: thread 0 runs the steps; the others wait on a flag for "part k of this step", and a step
// splits its work in the same parts every time (rows of an NHWC image), so part k's reads find what thread k
// wrote. oneDNN primitives called inside the region run single-threaded (omp_in_parallel), which is what a
// part wants.
#pragma once

#include <cstdint>
#include <functional>

#include "lib/status.h"

namespace ortool::rt {

class Team {
 public:
  // Runs `body` on the calling thread with a team of up to `threads` threads (the others wait for parts
  // until body returns). Teams do not nest: called with a team running, body runs with none; nor with more
  // threads than the process has cores.
  static Status run(int threads, const std::function<Status()>& body);

  // The team whose thread 0 is the calling thread (inside Team::run's body), or null.
  static Team* current();

  int size() const { return size_; }

  // How many times for_each has handed parts to other threads, in this process (tests, diagnostics).
  static uint64_t jobs_handed();

  // Calls part(k) for every k in [0, parts), part k on team thread k % size(), and returns when all are done.
  // The caller runs the parts of thread 0. An exception thrown by a part is rethrown here (the first one).
  // Called again from inside a part, it runs the parts in order on the calling thread.
  void for_each(int parts, const std::function<void(int)>& part);

  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

 private:
  Team() = default;
  struct State;
  State* state_ = nullptr;
  int size_ = 1;
  bool busy_ = false;  // thread 0 is inside for_each
};

}  // namespace ortool::rt
