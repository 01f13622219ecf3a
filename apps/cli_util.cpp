// Shared CLI helpers: error lines on stderr, JSON on stdout, the progress line.
#include "apps/cli_util.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

namespace ortool::cli {

namespace {

// The progress line on screen, if any: messages erase it first, so an error never lands in the
// middle of a bar (and is not erased by it afterwards).
std::atomic<Progress*> g_active{nullptr};

void end_active_progress() {
  if (Progress* p = g_active.load()) p->done();
}

}  // namespace

std::string one_line(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  bool space = false;
  for (char c : message) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

void print_error(std::string_view message) {
  end_active_progress();
  fmt::print(stderr, "ortool: error: {}\n", one_line(message));
  std::fflush(stderr);
}

void print_warning(std::string_view message) {
  end_active_progress();
  fmt::print(stderr, "ortool: warning: {}\n", one_line(message));
  std::fflush(stderr);
}

void print_note(std::string_view message) {
  end_active_progress();
  fmt::print(stderr, "ortool: note: {}\n", one_line(message));
  std::fflush(stderr);
}

int report(const Status& status) {
  if (!status.is_ok()) print_error(status.message());
  return status.exit_code();
}

void print_json(const nlohmann::json& j) {
  // Invalid UTF-8 in names (they come from untrusted files) is replaced rather than thrown on.
  std::string text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  fmt::print("{}\n", text);
  std::fflush(stdout);
}

bool stderr_is_terminal() { return isatty(STDERR_FILENO) != 0; }

Progress::Progress(std::string label, int64_t total, std::chrono::milliseconds delay)
    : label_(std::move(label)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      delay_(delay),
      enabled_(stderr_is_terminal()) {
  if (!enabled_) return;
  Progress* none = nullptr;
  g_active.compare_exchange_strong(none, this);
  ticker_ = std::thread([this] { tick(); });
}

Progress::~Progress() { done(); }

void Progress::step(int64_t done) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  done_ = done;
  // Steps are drawn as they come (after the delay, at most 20 times a second), so the bar moves with the work.
  auto now = std::chrono::steady_clock::now();
  if (!stop_ && now - start_ >= delay_ && now - last_draw_ >= std::chrono::milliseconds(50)) draw_locked();
}

void Progress::done() {
  if (!enabled_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
    if (drawn_) {
      fmt::print(stderr, "\r\033[K");
      std::fflush(stderr);
    }
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  Progress* self = this;
  g_active.compare_exchange_strong(self, nullptr);
}

void Progress::draw_locked() {
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string line = label_;
  if (total_ > 0) {
    constexpr int64_t kWidth = 30;
    int64_t filled = std::min(kWidth, done_ * kWidth / total_);
    line += fmt::format(" [{}{}] {}/{}", std::string(static_cast<size_t>(filled), '#'),
                        std::string(static_cast<size_t>(kWidth - filled), '.'), done_, total_);
  }
  line += fmt::format("  {:.1f} s", s);
  fmt::print(stderr, "\r{}\033[K", line);
  std::fflush(stderr);
  drawn_ = true;
  last_draw_ = std::chrono::steady_clock::now();
}

void Progress::tick() {
  std::unique_lock<std::mutex> lock(mu_);
  if (cv_.wait_for(lock, delay_, [this] { return stop_; })) return;
  while (!stop_) {
    draw_locked();
    cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stop_; });
  }
}

}  // namespace ortool::cli
