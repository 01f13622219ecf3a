// A progress bar on stderr for long work (compare's samples, bench, optimize's check, runs, calibration,
// sweeps); silent when stderr is not a terminal, so logs and CI output stay clean.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

namespace ortool::cli {

class ProgressBar {
 public:
  // `what` names the work ("compare"), `total` counts its steps. On a terminal, a bar of `total` > 1
  // steps is drawn as updates come; a single step (`total` 0 or 1, e.g. one large run) shows its
  // elapsed time once it has taken more than half a second. A ticker thread redraws the elapsed
  // time while one step takes long, so the line shows the work is alive.
  ProgressBar(std::string what, size_t total);
  ~ProgressBar() { finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `done` steps of `total` are complete. Redraws at most ten times a second, and always at the end.
  void update(size_t done);
  // Clears the bar's line (before printing results, or on an error); later updates draw nothing.
  void finish();
  bool enabled() const { return enabled_; }

 private:
  void draw_locked(std::chrono::steady_clock::time_point now);
  void tick();

  std::string what_;
  size_t total_;
  size_t done_ = 0;
  bool enabled_;
  bool drawn_ = false;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread ticker_;
};

// Finishes the bar on screen, if any. print_error, print_warning and print_note call it, so a message
// never lands in the middle of a bar.
void finish_active_progress();

}  // namespace ortool::cli
