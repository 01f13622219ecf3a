// Shared CLI helpers: error lines on stderr, JSON on stdout.
#include "apps/cli_util.h"

#include "apps/progress.h"

#include <fmt/format.h>

#include <cstdio>

namespace ortool::cli {

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
  finish_active_progress();  // a bar on screen goes first
  fmt::print(stderr, "ortool: error: {}\n", one_line(message));
  std::fflush(stderr);
}

void print_warning(std::string_view message) {
  finish_active_progress();  // a bar on screen goes first
  fmt::print(stderr, "ortool: warning: {}\n", one_line(message));
  std::fflush(stderr);
}

void print_note(std::string_view message) {
  finish_active_progress();  // a bar on screen goes first
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

}  // namespace ortool::cli
