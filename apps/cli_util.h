// Shared CLI helpers: one-line error reporting, exit codes, JSON output and number formatting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

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

// Makes a message one line: newlines and tabs become spaces, runs of spaces collapse.
std::string one_line(std::string_view message);

// Pretty-printed JSON on stdout, with a trailing newline.
void print_json(const nlohmann::json& j);

// "1.23 M", "45.6 G", "512" (powers of 1000); for counts such as parameters and MACs.
std::string human_count(uint64_t n);
// "1.5 MiB", "12 KiB", "300 B" (powers of 1024).
std::string human_bytes(uint64_t n);

}  // namespace ortool::cli
