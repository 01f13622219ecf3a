// The `ortool` driver: parses the command line with CLI11 and runs the chosen subcommand.
#include <CLI/CLI.hpp>

#include <exception>
#include <new>
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
  std::vector<Command> commands = {register_info(app), register_convert(app)};

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    if (msg.empty()) msg = e.get_name();
    print_error(msg + " (see `ortool --help`)");
    return kExitBadInput;
  }
  for (const Command& c : commands)
    if (c.app->parsed()) return c.run();
  print_error("no subcommand given (see `ortool --help`)");
  return kExitBadInput;
}

}  // namespace

int main(int argc, char** argv) {
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
