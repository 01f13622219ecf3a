// Shared CLI helpers: one-line error reporting, exit codes, JSON output and number formatting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

}  // namespace ortool::cli
