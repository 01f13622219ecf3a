// Shared CLI helpers: error lines on stderr, JSON on stdout, human-readable numbers.
#include "apps/cli_util.h"

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
  fmt::print(stderr, "ortool: error: {}\n", one_line(message));
  std::fflush(stderr);
}

void print_warning(std::string_view message) {
  fmt::print(stderr, "ortool: warning: {}\n", one_line(message));
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

std::string human_count(uint64_t n) {
  static constexpr const char* kUnits[] = {"", " K", " M", " G", " T", " P", " E"};
  if (n < 1000) return std::to_string(n);
  double v = static_cast<double>(n);
  size_t u = 0;
  while (v >= 1000 && u + 1 < std::size(kUnits)) {
    v /= 1000;
    ++u;
  }
  return fmt::format("{:.{}f}{}", v, v < 10 ? 2 : v < 100 ? 1 : 0, kUnits[u]);
}

std::string human_bytes(uint64_t n) {
  static constexpr const char* kUnits[] = {" B", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB"};
  if (n < 1024) return fmt::format("{} B", n);
  double v = static_cast<double>(n);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.{}f}{}", v, v < 10 ? 2 : v < 100 ? 1 : 0, kUnits[u]);
}

}  // namespace ortool::cli
