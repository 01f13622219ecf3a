// Threads for a session from the machine's current load (see core_load.h).
#include "runtime/core_load.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

namespace ortool::rt {

int team_for_load(int threads, int cores, int others) {
  if (threads <= 1 || others < 0) return std::max(1, threads);
  return std::clamp(cores - others, 1, threads);
}

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return static_cast<int>(std::thread::hardware_concurrency());
  return CPU_COUNT(&set);
}

int other_runnable_tasks() {
  int least = -1;
  for (int i = 0; i < 5; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::FILE* f = std::fopen("/proc/loadavg", "r");
    if (!f) return -1;
    double l1, l5, l15;
    int running = 0, total = 0;
    const int got = std::fscanf(f, "%lf %lf %lf %d/%d", &l1, &l5, &l15, &running, &total);
    std::fclose(f);
    if (got != 5) return -1;
    const int others = std::max(0, running - 1);  // the reading thread is running
    least = least < 0 ? others : std::min(least, others);
  }
  return least;
}

}  // namespace ortool::rt
