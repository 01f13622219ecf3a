// Parsing of the shared input options and turning them into model feeds.
#include "apps/input_options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>

#include <cmath>

#include "runtime/partition.h"

namespace ortool::cli {

void add_input_options(CLI::App& app, InputOptions& o, bool with_input_dir) {
  app.add_option("--input", o.inputs, "Input tensor NAME=FILE (.npy or .pb); repeatable")->type_name("NAME=FILE");
  if (with_input_dir)
    app.add_option("--input-dir", o.input_dir, "Folder in ONNX test-data layout (input_K.pb) or NAME.npy files");
  app.add_flag("--random", o.random, "Seeded random inputs for every input not given otherwise");
  app.add_option("--seed", o.seed, "Seed for --random (default 0)");
  app.add_option("--shape", o.shapes, "Fix an input's shape NAME=d0,d1,... or bind a symbolic dim SYMBOL=n")
      ->type_name("NAME=DIMS");
  app.add_option("--threads", o.threads, "Intra-op threads (default 1)")->check(CLI::Range(1, 256));
  app.add_option("--max-memory", o.max_memory, "Fail cleanly when live tensors would exceed this (e.g. 2G)");
  add_providers_option(app, o);
}

void add_providers_option(CLI::App& app, InputOptions& o) {
  app.add_option("--providers", o.providers,
                 "Execution providers in priority order, comma-separated: " +
                     fmt::format("{} (default {}", fmt::join(rt::available_providers(), ", "), fmt::join(o.providers, ",")) +
                     "; cpu, the reference kernels, takes every node the others leave)")
      ->delimiter(',')
      ->type_name("LIST");
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
  for (const std::string& s : o.shapes) {
    ASSIGN_OR_RETURN(auto parsed, rt::parse_shape_arg(s));
    const ir::Value* v = g.find_value(parsed.first);
    if (v && v->is_graph_input()) {
      o.input_shapes[parsed.first] = parsed.second;
      if (v->type.shape && v->type.shape->size() == parsed.second.size()) {
        for (size_t i = 0; i < parsed.second.size(); ++i) {
          const Dim& d = (*v->type.shape)[i];
          if (d.kind == Dim::Kind::Value && d.value != parsed.second[i])
            return invalid("--shape {}: dimension {} is fixed to {} in the model", s, i, d.value);
          if (d.kind == Dim::Kind::Param) o.dim_bindings[d.param] = parsed.second[i];
        }
      }
    } else if (parsed.second.size() == 1) {
      o.dim_bindings[parsed.first] = parsed.second[0];
    } else {
      return invalid("--shape {}: '{}' is neither a model input nor a symbolic dim", s, parsed.first);
    }
  }
  return Status::ok();
}

Result<rt::Feeds> build_feeds(const ir::Graph& g, const InputOptions& o) {
  rt::Feeds feeds;
  if (!o.input_dir.empty()) {
    ASSIGN_OR_RETURN(feeds, rt::read_input_dir(g, o.input_dir));
  }
  for (const std::string& spec : o.inputs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
      return invalid("--input '{}': expected NAME=FILE", spec);
    std::string name = spec.substr(0, eq);
    const ir::Value* v = g.find_value(name);
    if (!v || !v->is_graph_input()) return invalid("--input '{}': the model has no input named '{}'", spec, name);
    ASSIGN_OR_RETURN(RValue val, rt::read_input_file(spec.substr(eq + 1), *v));
    feeds[name] = std::move(val);
  }
  if (o.random) {
    ASSIGN_OR_RETURN(rt::Feeds rnd, rt::random_inputs(g, o.seed, o.input_shapes, o.dim_bindings));
    for (auto& [k, v] : rnd) feeds.emplace(k, std::move(v));
  }
  if (feeds.empty() && !rt::required_inputs(g).empty())
    return invalid("no inputs given: use --input NAME=FILE, --input-dir DIR or --random");
  return feeds;
}

}  // namespace ortool::cli
