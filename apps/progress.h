// A progress bar on stderr for long loops (compare's samples, calibration, sweeps); silent when
// stderr is not a terminal, so logs and CI output stay clean.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace ortool::cli {

class ProgressBar {
 public:
  // `what` names the work ("compare"), `total` counts its steps. The bar shows only when stderr
  // is a terminal and there is more than one step.
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
  std::string what_;
  size_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace ortool::cli
