// The accuracy gates as command-line options (see gate_options.h).
#include "apps/gate_options.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace ortool::cli {

void add_gate_options(CLI::App& app, Gates& gates, const char* on_fail) {
  // Values go straight into the optionals: validate_gates checks them (NaN, range) after parsing.
  app.add_option_function<double>(
         "--min-cosine", [&gates](const double& v) { gates.min_cosine = v; },
         fmt::format("Fail{} when an output's cosine similarity (worst sample) is below this", on_fail))
      ->type_name("NUMBER");
  app.add_option_function<double>(
         "--min-sqnr", [&gates](const double& v) { gates.min_sqnr_db = v; },
         fmt::format("Fail{} when an output's SQNR in dB (worst sample) is below this", on_fail))
      ->type_name("DB");
  app.add_option_function<double>(
         "--max-top1-drop", [&gates](const double& v) { gates.max_top1_drop = v; },
         fmt::format("Fail{} when the top-1 class of more than this many percent of rows changes (2-D outputs)",
                     on_fail))
      ->type_name("PERCENT");
}

}  // namespace ortool::cli
