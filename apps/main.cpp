// The `ortool` driver: parses the command line with CLI11 and runs the chosen subcommand.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <malloc.h>

#include <exception>
#include <new>
#include <string>
#include <vector>

#include "apps/cli_util.h"
#include "apps/commands.h"

#ifndef ORTOOL_VERSION
#define ORTOOL_VERSION "0.0.0"
#endif

namespace {

int run(int argc, char** argv) {
  using namespace ortool::cli;
  CLI::App app{"ortool: inspect, optimize, quantize, prune, run and compare ONNX models."};
  app.name("ortool");
  app.set_version_flag("--version", "ortool " ORTOOL_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Run `ortool <subcommand> --help` for the options of one subcommand.\n"
      "Example:\n"
      "  ortool info model.onnx\n"
      "  ortool convert model.onnx -o copy.onnx --external-data");

  // Registration order is the order `--help` lists the subcommands in.
  std::vector<Command> commands = {register_info(app), register_convert(app), register_run(app), register_compare(app),
                                   register_optimize(app), register_prune(app), register_bench(app)};

  // The subcommand named on the command line, for pointing parse errors at the right --help.
  std::string help_cmd = "ortool --help";
  if (argc > 1 && argv[1][0] != '-') {
    std::string name = argv[1];
    auto named = app.get_subcommands([&](CLI::App* sub) { return sub->check_name(name); });
    if (named.empty()) {
      print_error(fmt::format("unknown subcommand '{}' (see `ortool --help`)", name));
      return kExitBadInput;
    }
    help_cmd = fmt::format("ortool {} --help", named.front()->get_name());
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForVersion& e) {
    fmt::print("{}\n", e.what());
    return kExitOk;
  } catch (const CLI::Success& e) {  // --help, --help-all
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    if (msg.empty()) msg = e.get_name();
    print_error(fmt::format("{} (see `{}`)", msg, help_cmd));
    return kExitBadInput;
  }
  for (const Command& c : commands)
    if (c.app->parsed()) return c.run();
  print_error("no subcommand given (see `ortool --help`)");
  return kExitBadInput;
}

}  // namespace

int main(int argc, char** argv) {
  // Tensors of a run are freed and allocated again on the next run; by default glibc hands large
  // blocks back to the kernel (mmap/trim) and every run pays the page faults again. Keep freed
  // memory in the process instead (peak RSS is unchanged): efficientnet_b0 median went from 101 ms
  // to 33-49 ms here (noisy VM). A runtime arena would make this independent of the allocator.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum (larger values are refused)
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 256 << 20);
  // Libraries (protobuf, onnx, CLI11, the standard library) may throw; nothing escapes this boundary.
  try {
    return run(argc, argv);
  } catch (const std::bad_alloc&) {
    ortool::cli::print_error("out of memory");
  } catch (const std::exception& e) {
    ortool::cli::print_error(e.what());
  } catch (...) {
    ortool::cli::print_error("unknown internal error");
  }
  return ortool::cli::kExitBadInput;
}
