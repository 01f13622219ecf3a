// The subcommands of `ortool`: each apps/cmd_<name>.cpp registers one with the driver (apps/main.cpp).
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace ortool::cli {

// A registered subcommand: its CLI11 app (options bound to storage the handler owns) and the
// handler run after a successful parse, which returns the process exit code.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command register_info(CLI::App& parent);
Command register_convert(CLI::App& parent);
Command register_run(CLI::App& parent);
Command register_compare(CLI::App& parent);
Command register_optimize(CLI::App& parent);
Command register_bench(CLI::App& parent);
Command register_prune(CLI::App& parent);
Command register_quantize(CLI::App& parent);

}  // namespace ortool::cli
