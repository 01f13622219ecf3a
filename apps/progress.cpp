// Progress bar drawing: one line on stderr redrawn with a carriage return, cleared at the end.
#include "apps/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

namespace ortool::cli {

namespace {

// The bar on screen (one at a time): messages finish it first.
std::atomic<ProgressBar*> g_active{nullptr};

// A single step is shown only once it has taken this long (quick commands never flicker).
constexpr auto kTickerDelay = std::chrono::milliseconds(500);
constexpr auto kTickerPeriod = std::chrono::milliseconds(250);

}  // namespace

void finish_active_progress() {
  if (ProgressBar* bar = g_active.load()) bar->finish();
}

ProgressBar::ProgressBar(std::string what, size_t total)
    : what_(std::move(what)), total_(total), enabled_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {
  if (!enabled_) return;
  ProgressBar* none = nullptr;
  g_active.compare_exchange_strong(none, this);
  ticker_ = std::thread([this] { tick(); });
}

void ProgressBar::update(size_t done) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  done_ = done;
  if (stopped_ || total_ <= 1) return;  // a single step shows its elapsed time (the ticker draws it)
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  draw_locked(now);
}

void ProgressBar::draw_locked(std::chrono::steady_clock::time_point now) {
  last_draw_ = now;
  drawn_ = true;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  if (total_ <= 1) {
    fmt::print(stderr, "\r{}  {:.1f} s\033[K", what_, elapsed);
    std::fflush(stderr);
    return;
  }
  constexpr size_t kWidth = 30;
  size_t filled = kWidth * std::min(done_, total_) / total_;
  std::string eta;
  if (done_ > 0 && done_ < total_)
    eta = fmt::format(", about {:.0f} s left", elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_));
  // \r returns to the line start, \033[K clears what a longer previous line left behind.
  fmt::print(stderr, "\r{} [{}{}] {}/{}  {:.1f} s{}\033[K", what_, std::string(filled, '#'),
             std::string(kWidth - filled, '.'), done_, total_, elapsed, eta);
  std::fflush(stderr);
}

void ProgressBar::tick() {
  std::unique_lock<std::mutex> lock(mu_);
  if (cv_.wait_for(lock, kTickerDelay, [this] { return stopped_; })) return;
  while (!stopped_) {
    // Between updates only: a bar that moves redraws itself.
    auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ >= kTickerPeriod) draw_locked(now);
    cv_.wait_for(lock, kTickerPeriod, [this] { return stopped_; });
  }
}

void ProgressBar::finish() {
  if (!enabled_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    if (drawn_) {
      fmt::print(stderr, "\r\033[K");
      std::fflush(stderr);
    }
    drawn_ = false;
  }
  cv_.notify_all();
  if (ticker_.joinable() && ticker_.get_id() != std::this_thread::get_id()) ticker_.join();
  ProgressBar* self = this;
  g_active.compare_exchange_strong(self, nullptr);
}

}  // namespace ortool::cli
