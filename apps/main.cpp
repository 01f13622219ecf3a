// The `ortool` driver: parses the command line with CLI11 and runs the chosen subcommand.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <malloc.h>

#include <algorithm>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "apps/cli_parse.h"
#include "apps/cli_util.h"
#include "apps/commands.h"

#ifndef ORTOOL_VERSION
#define ORTOOL_VERSION "0.0.0"
#endif

namespace {

using namespace ortool::cli;

// `ortool help [CMD]`: the same text as `ortool --help` / `ortool CMD --help`.
int print_help(CLI::App& app, const std::string& name) {
  if (name.empty()) {
    fmt::print("{}", app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal));
    return kExitOk;
  }
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  auto found = app.get_subcommands([&](CLI::App* sub) { return sub->check_name(name); });
  if (found.empty()) {
    print_error(fmt::format("help: unknown subcommand '{}'{} (see `ortool --help`)", name, did_you_mean(name, names)));
    return kExitBadInput;
  }
  fmt::print("{}", found.front()->help(app.get_name()));
  return kExitOk;
}

int run(int argc, char** argv) {
  CLI::App app{"ortool: inspect, optimize, run, compare and benchmark ONNX models."};
  app.name("ortool");
  app.set_version_flag("--version", "ortool " ORTOOL_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Run `ortool <subcommand> --help` (or `ortool help <subcommand>`) for the options of one subcommand.\n"
      "Example:\n"
      "  ortool info model.onnx\n"
      "  ortool convert model.onnx -o copy.onnx --external-data");

  // Registration order is the order `--help` lists the subcommands in.
  std::vector<Command> commands = {register_info(app), register_convert(app), register_run(app), register_compare(app),
                                   register_optimize(app), register_quantize(app), register_prune(app),
                                   register_bench(app)};
  std::string help_topic;
  CLI::App* help = app.add_subcommand("help", "Show the help of ortool or of one subcommand");
  help->add_option("subcommand", help_topic, "The subcommand to explain (default: ortool itself)");
  help->footer("Example:\n  ortool help\n  ortool help run");
  // Unknown arguments are collected, not thrown on, so they can be named with a suggestion.
  for (CLI::App* sub : app.get_subcommands({})) sub->allow_extras();

  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  // The subcommand named on the command line, for pointing parse errors at the right --help.
  std::string help_cmd = "ortool --help";
  CLI::App* named = nullptr;
  if (argc > 1) {
    std::string first = argv[1];
    if (first[0] != '-') {
      auto found = app.get_subcommands([&](CLI::App* sub) { return sub->check_name(first); });
      if (found.empty()) {
        print_error(fmt::format("unknown subcommand '{}'{} (see `ortool --help`)", first, did_you_mean(first, names)));
        return kExitBadInput;
      }
      named = found.front();
      help_cmd = fmt::format("ortool {} --help", named->get_name());
    } else if (first != "-h" && first != "--help" && first != "--version" && first != "--help-all") {
      print_error(fmt::format("unknown option '{}'{} (see `ortool --help`)", first,
                              did_you_mean(first, {"--help", "--version"})));
      return kExitBadInput;
    }
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  args = normalize_optional_counts(args);
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::CallForVersion& e) {
    fmt::print("{}\n", e.what());
    return kExitOk;
  } catch (const CLI::Success& e) {  // --help, --help-all
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // An unknown option explains most other errors ("--ouptut" makes "--output is required"): name it first.
    std::string extras = named ? describe_extras(*named) : std::string();
    print_error(fmt::format("{} (see `{}`)", extras.empty() ? parse_error_message(e) : extras, help_cmd));
    return kExitBadInput;
  }
  if (named) {
    if (std::string extras = describe_extras(*named); !extras.empty()) {
      print_error(fmt::format("{} (see `{}`)", extras, help_cmd));
      return kExitBadInput;
    }
  }
  if (help->parsed()) return print_help(app, help_topic);
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
