// CLI11 in ortool's voice: validators whose messages say what is wrong with a value ("'abc' is not an
// integer"), "did you mean" suggestions for mistyped names, and CLI11's parse errors rephrased.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace ortool::cli {

// An integer in [lo, hi]: "'abc' is not an integer", "'0' is out of range: expected 1 to 10000000".
CLI::Validator integer_in(int64_t lo, int64_t hi = std::numeric_limits<int64_t>::max());
// A finite number in [lo, hi] (hi may be infinity): "'nan' is not a finite number".
CLI::Validator number_in(double lo, double hi = std::numeric_limits<double>::infinity());
// One of `choices`: "'xyz' is not one of pb, npy".
CLI::Validator one_of(std::vector<std::string> choices);

// The candidate closest to `typed`, when it is close enough to be a typo (edit distance at most 2,
// or `typed` is a prefix of exactly one candidate); "" otherwise.
std::string closest(std::string_view typed, const std::vector<std::string>& candidates);
// " (did you mean '--iters'?)" or "".
std::string did_you_mean(std::string_view typed, const std::vector<std::string>& candidates);

// The option spellings of `app` ("--iters", "-o"), for suggestions.
std::vector<std::string> option_names(const CLI::App& app);

// The arguments `app` (parsed with allow_extras) did not recognise, as one message: "unknown option
// '--iterz' (did you mean '--iters'?)" or "unexpected argument 'foo'"; "" when there are none.
std::string describe_extras(const CLI::App& app);

// A CLI11 parse error as ortool says it ("--input needs a value (NAME=FILE)").
std::string parse_error_message(const CLI::ParseError& e);

// Turns a bare `--random` (no count after it) into `--random=1`, so that `ortool run --random m.onnx`
// does not read the model path as the count. Other arguments pass through unchanged.
std::vector<std::string> normalize_optional_counts(const std::vector<std::string>& args);

}  // namespace ortool::cli
