// Progress bar drawing: one line on stderr redrawn with a carriage return, cleared at the end.
#include "apps/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace ortool::cli {

ProgressBar::ProgressBar(std::string what, size_t total)
    : what_(std::move(what)), total_(total), enabled_(total > 1 && ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(size_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  drawn_ = true;
  constexpr size_t kWidth = 30;
  size_t filled = total_ ? kWidth * std::min(done, total_) / total_ : kWidth;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  std::string eta;
  if (done > 0 && done < total_)
    eta = fmt::format(", about {:.0f} s left", elapsed / static_cast<double>(done) * static_cast<double>(total_ - done));
  // \r returns to the line start, \033[K clears what a longer previous line left behind.
  fmt::print(stderr, "\r{} [{}{}] {}/{}  {:.1f} s{}\033[K", what_, std::string(filled, '#'),
             std::string(kWidth - filled, '.'), done, total_, elapsed, eta);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (drawn_) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  drawn_ = false;
  enabled_ = false;
}

}  // namespace ortool::cli
