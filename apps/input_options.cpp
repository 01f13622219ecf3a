// Parsing of the shared input options and turning them into model feeds.
#include "apps/input_options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "apps/cli_parse.h"
#include "lib/input_shapes.h"
#include "runtime/partition.h"

namespace ortool::cli {

CLI::Option* add_input_option(CLI::App& app, std::vector<std::string>& inputs) {
  return app.add_option("--input", inputs, "Input tensor NAME=FILE (.npy or .pb); repeatable")->type_name("NAME=FILE");
}

CLI::Option* add_shape_option(CLI::App& app, std::vector<std::string>& shapes) {
  return app
      .add_option("--shape", shapes,
                  "Fix an input's dims NAME=d0,d1,... or bind a symbolic dim SYMBOL=n; repeatable (a name the "
                  "model does not have is an error)")
      ->type_name("NAME=DIMS");
}

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return std::max(1u, std::thread::hardware_concurrency());
}

CLI::Option* add_threads_option(CLI::App& app, int& threads) {
  return app.add_option("--threads", threads,
                        "Intra-op threads, at most: fewer when other processes keep the cores busy; 0 means all "
                        "cores (default 1)")
      ->type_name("N")
      ->check(integer_in(0, 256))
      ->transform(CLI::Validator(
          [](std::string& s) {
            if (s == "0") s = std::to_string(available_cores());
            return std::string();
          },
          ""));
}

CLI::Option* add_random_option(CLI::App& app, int& count) {
  return app
      .add_option("--random", count,
                  "N sets of seeded random data for every input not given otherwise (--random alone: 1)")
      ->type_name("[N]")
      ->expected(0, 1)
      ->default_str("1")
      ->check(integer_in(1, 1000000));
}

void add_input_options(CLI::App& app, InputOptions& o, bool with_input_dir) {
  add_input_option(app, o.inputs);
  if (with_input_dir)
    app.add_option("--input-dir", o.input_dir, "Folder in ONNX test-data layout (input_K.pb) or NAME.npy files");
  add_random_option(app, o.random);
  app.add_option("--seed", o.seed, "Seed of the first random input set (default 0)")->check(integer_in(0));
  add_shape_option(app, o.shapes);
  add_threads_option(app, o.threads);
  add_limit_options(app, o);
  add_providers_option(app, o);
}

void add_limit_options(CLI::App& app, InputOptions& o) {
  app.add_option("--max-memory", o.max_memory, "Fail cleanly when live tensors would exceed this (e.g. 2G)");
  app.add_option("--max-loop-iterations", o.max_loop_iterations,
                 "Fail cleanly when one Loop node would run more iterations than this (0: no limit)")
      ->default_str(std::to_string(o.max_loop_iterations))
      ->check(integer_in(0));
}

Status apply_limit_options(const InputOptions& o, rt::SessionOptions& so) {
  ASSIGN_OR_RETURN(so.max_memory_bytes, parse_bytes(o.max_memory));
  so.max_loop_iterations = o.max_loop_iterations;
  return Status::ok();
}

void add_providers_option(CLI::App& app, InputOptions& o) {
  const std::vector<std::string> defaults = rt::default_providers();
  const auto avail = rt::available_providers();
  const bool both = std::find(avail.begin(), avail.end(), "xnnpack") != avail.end() && defaults.front() == "dnnl";
  app.add_option("--providers", o.providers,
                 "Execution providers in priority order, comma-separated: " +
                     fmt::format("{} (default {}", fmt::join(avail, ", "), fmt::join(defaults, ",")) +
                     (both ? "; xnnpack,cpu for a quantized model with an int8 ConvTranspose other than an upsampling block "
                             "on an x86 CPU without VNNI, where oneDNN's is not exact"
                           : "") +
                     "; cpu, the reference kernels, takes every node the others leave)")
      ->delimiter(',')
      ->type_name("LIST");
}

void apply_provider_options(const InputOptions& o, rt::SessionOptions& so) {
  so.providers = o.providers;
  so.auto_providers = o.providers.empty();
}

Result<size_t> parse_bytes(const std::string& text) {
  if (text.empty()) return size_t{0};
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  std::string suffix(end);
  double mul = 1;
  if (suffix == "K" || suffix == "k" || suffix == "KiB") mul = 1024.0;
  else if (suffix == "M" || suffix == "MiB") mul = 1024.0 * 1024;
  else if (suffix == "G" || suffix == "GiB") mul = 1024.0 * 1024 * 1024;
  else if (!suffix.empty() && suffix != "B") return invalid("--max-memory '{}': expected a size such as 512M or 2G", text);
  if (end == text.c_str() || errno == ERANGE || !std::isfinite(v) || v <= 0 || v * mul > 1e18)
    return invalid("--max-memory '{}': expected a positive size such as 512M or 2G", text);
  return static_cast<size_t>(v * mul);
}

Status resolve_shapes(const ir::Graph& g, InputOptions& o) {
  ASSIGN_OR_RETURN(ShapeBindings b, resolve_shape_args(g, o.shapes));
  o.input_shapes = std::move(b.input_shapes);
  o.dim_bindings = std::move(b.dim_bindings);
  return Status::ok();
}

Result<rt::Feeds> build_feeds(const ir::Graph& g, const InputOptions& o, uint64_t set,
                              std::set<std::string>* random_names) {
  rt::Feeds feeds;
  if (!o.input_dir.empty()) {
    ASSIGN_OR_RETURN(feeds, rt::read_input_dir(g, o.input_dir));
  }
  std::set<std::string> named;  // by --input: a second one for the same input is a mistake, not an override
  for (const std::string& spec : o.inputs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
      return invalid("--input '{}': expected NAME=FILE", spec);
    std::string name = spec.substr(0, eq);
    if (!named.insert(name).second) return invalid("--input '{}': input '{}' is given twice", spec, name);
    const ir::Value* v = g.find_value(name);
    if (!v || !v->is_graph_input()) return invalid("--input '{}': the model has no input named '{}'", spec, name);
    ASSIGN_OR_RETURN(RValue val, rt::read_input_file(spec.substr(eq + 1), *v));
    feeds[name] = std::move(val);
  }
  if (o.random > 0) {
    ASSIGN_OR_RETURN(rt::Feeds rnd, rt::random_inputs(g, o.seed + set, o.input_shapes, o.dim_bindings));
    for (auto& [k, v] : rnd)
      if (feeds.emplace(k, std::move(v)).second && random_names) random_names->insert(k);
  }
  if (feeds.empty() && !rt::required_inputs(g).empty())
    return invalid("no inputs given: use --input NAME=FILE, --input-dir DIR or --random");
  return feeds;
}

}  // namespace ortool::cli
