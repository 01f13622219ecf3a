// Validators, suggestions and parse-error messages for the CLI11 layer.
#include "apps/cli_parse.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <regex>

namespace ortool::cli {

namespace {

// Optimal string alignment distance (Levenshtein plus adjacent transpositions): "--itres" is one
// edit from "--iters".
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

}  // namespace

CLI::Validator integer_in(int64_t lo, int64_t hi) {
  std::string range = hi == std::numeric_limits<int64_t>::max() ? fmt::format("{} or more", lo) : fmt::format("{} to {}", lo, hi);
  return CLI::Validator(
      [lo, hi, range](std::string& s) -> std::string {
        char* end = nullptr;
        errno = 0;
        long long v = std::strtoll(s.c_str(), &end, 10);
        if (s.empty() || *end != '\0' || std::isspace(static_cast<unsigned char>(s[0])))
          return in_quotes(s) + " is not an integer";
        if (errno == ERANGE || v < lo || v > hi) return fmt::format("'{}' is out of range: expected {}", s, range);
        return "";
      },
      fmt::format("INT in {}", range));
}

CLI::Validator number_in(double lo, double hi) {
  std::string range = std::isinf(hi) ? fmt::format("{:g} or more", lo) : fmt::format("{:g} to {:g}", lo, hi);
  return CLI::Validator(
      [lo, hi, range](std::string& s) -> std::string {
        char* end = nullptr;
        errno = 0;
        double v = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0' || std::isspace(static_cast<unsigned char>(s[0])))
          return in_quotes(s) + " is not a number";
        if (!std::isfinite(v)) return in_quotes(s) + " is not a finite number";
        if (v < lo || v > hi) return fmt::format("'{}' is out of range: expected {}", s, range);
        return "";
      },
      fmt::format("NUMBER in {}", range));
}

CLI::Validator one_of(std::vector<std::string> choices) {
  std::string list = fmt::format("{}", fmt::join(choices, ", "));
  return CLI::Validator(
      [choices, list](std::string& s) -> std::string {
        if (std::find(choices.begin(), choices.end(), s) != choices.end()) return "";
        return fmt::format("'{}' is not one of {}{}", s, list, did_you_mean(s, choices));
      },
      "one of " + list);
}

std::string closest(std::string_view typed, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = 3;  // at most 2 edits
  size_t prefix_matches = 0;
  std::string prefix_match;
  for (const std::string& c : candidates) {
    size_t d = edit_distance(typed, c);
    // Short words are one edit from many others: allow 2 edits only from 5 characters up.
    size_t limit = c.size() >= 5 ? 2 : 1;
    if (d <= limit && d < best_d) {
      best_d = d;
      best = c;
    }
    if (typed.size() >= 3 && c.size() > typed.size() && c.compare(0, typed.size(), typed) == 0) {
      ++prefix_matches;
      prefix_match = c;
    }
  }
  if (best.empty() && prefix_matches == 1) best = prefix_match;
  return best;
}

std::string did_you_mean(std::string_view typed, const std::vector<std::string>& candidates) {
  std::string c = closest(typed, candidates);
  return c.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", c);
}

std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* o : app.get_options()) {
    for (const std::string& l : o->get_lnames()) names.push_back("--" + l);
    for (const std::string& s : o->get_snames()) names.push_back("-" + s);
  }
  return names;
}

std::string describe_extras(const CLI::App& app) {
  std::vector<std::string> extras = app.remaining();
  if (extras.empty()) return "";
  for (const std::string& e : extras) {
    if (e.size() > 1 && e[0] == '-' && !std::isdigit(static_cast<unsigned char>(e[1]))) {
      std::string name = e.substr(0, e.find('='));
      return fmt::format("unknown option '{}'{}", name, did_you_mean(name, option_names(app)));
    }
  }
  return fmt::format("unexpected argument '{}'", extras.front());
}

std::string parse_error_message(const CLI::ParseError& e) {
  std::string msg = e.what();
  std::smatch m;
  // "--input: 1 required NAME=FILE missing" (an option given without its value).
  static const std::regex kMissingValue(R"(^(\S+): \d+ required (.*) missing$)");
  if (std::regex_match(msg, m, kMissingValue)) return fmt::format("{} needs a value ({})", m[1].str(), m[2].str());
  // "Could not convert: --seed = abc" (no validator said more).
  static const std::regex kConvert(R"(^Could not convert: (\S+) = (.*)$)");
  if (std::regex_match(msg, m, kConvert)) return fmt::format("{}: '{}' is not a valid value", m[1].str(), m[2].str());
  static const std::regex kNotAllowed(R"(^The value (.*) is not an allowed value for (\S+)$)");
  if (std::regex_match(msg, m, kNotAllowed)) return fmt::format("{}: '{}' is not a valid value", m[2].str(), m[1].str());
  // "model is required" names a positional argument: say which.
  static const std::regex kRequired(R"(^(\w+) is required$)");
  if (std::regex_match(msg, m, kRequired)) return fmt::format("missing the {} argument", m[1].str());
  if (msg.empty()) msg = e.get_name();
  if (!msg.empty() && std::isupper(static_cast<unsigned char>(msg[0])) && msg.compare(0, 2, "--") != 0)
    msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
  return msg;
}

std::vector<std::string> normalize_optional_counts(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  out.reserve(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--random") {
      bool next_is_count = i + 1 < args.size() && !args[i + 1].empty() &&
                           args[i + 1].find_first_not_of("0123456789+-") == std::string::npos;
      if (!next_is_count) {
        out.push_back("--random=1");
        continue;
      }
    }
    out.push_back(args[i]);
  }
  return out;
}

}  // namespace ortool::cli
