// Shared CLI helpers: one-line error reporting, exit codes, JSON output, number formatting, progress.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "lib/human_size.h"
#include "lib/status.h"

namespace ortool::cli {

// Exit codes (DESIGN.md, CLI conventions).
constexpr int kExitOk = 0;
constexpr int kExitCheckFailed = 1;
constexpr int kExitBadInput = 2;

// Prints `ortool: error: <message>` as one line on stderr.
void print_error(std::string_view message);
// Prints the status as above (nothing when ok) and returns its exit code.
int report(const Status& status);
// Prints `ortool: warning: <message>` as one line on stderr.
void print_warning(std::string_view message);
// Prints `ortool: note: <message>` as one line on stderr (a renamed option, a hint; nothing wrong).
void print_note(std::string_view message);

// Makes a message one line: newlines and tabs become spaces, runs of spaces collapse.
std::string one_line(std::string_view message);

// Pretty-printed JSON on stdout, with a trailing newline.
void print_json(const nlohmann::json& j);

// human_count ("1.23 M") and human_bytes ("1.50 MiB") live in lib/human_size.h.
using ortool::human_bytes;
using ortool::human_count;

// True when stderr is a terminal: progress lines are drawn only then (logs and pipes stay clean).
bool stderr_is_terminal();

// A progress line on stderr for long work: "bench [#####.....] 12/50  3.1 s". Drawn only on a
// terminal, and only once the work has taken longer than `delay` (quick commands never flicker);
// a ticker thread redraws the elapsed time, so one long step (a single large run) shows it is alive.
// The line is erased by done(), the destructor, or any error, warning or note printed meanwhile.
class Progress {
 public:
  // total 0: no count, only the elapsed time ("run 3.1 s").
  Progress(std::string label, int64_t total, std::chrono::milliseconds delay = std::chrono::milliseconds(500));
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` of `total` steps finished (callable from any thread).
  void step(int64_t done);
  // Erases the line and stops the ticker; idempotent.
  void done();

 private:
  void draw_locked();
  void tick();

  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::chrono::milliseconds delay_;
  bool enabled_;
  bool drawn_ = false;
  bool stop_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread ticker_;
};

}  // namespace ortool::cli
