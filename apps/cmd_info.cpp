// `ortool info MODEL [--json]`: what is inside a model (lib/model_info.h does the work).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <memory>
#include <string>

#include "apps/cli_util.h"
#include "apps/commands.h"
#include "apps/input_options.h"
#include "lib/model_info.h"

namespace ortool::cli {

namespace {

struct InfoOptions {
  std::string model;
  std::vector<std::string> shapes;
  bool json = false;
};

// How many uncounted nodes the table names before pointing to --json.
constexpr size_t kUncountedShown = 3;

nlohmann::json values_json(const std::vector<ValueSummary>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (const ValueSummary& v : values) out.push_back({{"name", v.name}, {"type", v.type}});
  return out;
}

nlohmann::json info_json(const std::string& file, const ModelInfo& info) {
  nlohmann::json opsets = nlohmann::json::object();
  for (const auto& [domain, version] : info.opsets) opsets[domain] = version;
  nlohmann::json op_counts = nlohmann::json::object();
  for (const auto& [op, count] : info.op_counts) op_counts[op] = count;
  nlohmann::json uncounted = nlohmann::json::array();
  for (const UncountedNode& u : info.macs_uncounted)
    uncounted.push_back({{"node", u.node}, {"op_type", u.op_type}, {"reason", u.reason}});
  return {
      {"file", file},
      {"producer", {{"name", info.producer_name}, {"version", info.producer_version}}},
      {"ir_version", info.ir_version},
      {"opsets", opsets},
      {"inputs", values_json(info.inputs)},
      {"outputs", values_json(info.outputs)},
      {"initializer_inputs", info.initializer_inputs},
      {"node_count", info.node_count},
      {"op_counts", op_counts},
      {"subgraph_count", info.subgraph_count},
      {"parameter_count", info.parameter_count},
      {"parameter_bytes", info.parameter_bytes},
      {"macs", info.macs},
      {"macs_nodes", info.macs_nodes},
      {"macs_unknown_nodes", info.macs_unknown_nodes},
      {"macs_symbols_as_1", info.macs_symbols},
      {"macs_uncounted", uncounted},
      {"shapes_bound", {{"inputs", info.shapes_bound.input_shapes}, {"dims", info.shapes_bound.dim_bindings}}},
      {"shape_inference", info.shape_inference},
  };
}

void print_values(std::string_view title, const std::vector<ValueSummary>& values, size_t width) {
  fmt::print("{}\n", title);
  if (values.empty()) fmt::print("  (none)\n");
  for (const ValueSummary& v : values) fmt::print("  {:<{}}  {}\n", v.name, width, v.type);
}

void print_table(const std::string& file, const ModelInfo& info) {
  constexpr int kLabel = 12;
  fmt::print("{:<{}}{}\n", "Model", kLabel, file);
  std::string producer = info.producer_name;
  if (!info.producer_version.empty()) producer += " " + info.producer_version;
  fmt::print("{:<{}}{}\n", "Producer", kLabel, producer.empty() ? "(not set)" : producer);
  fmt::print("{:<{}}{}\n", "IR version", kLabel, info.ir_version);
  std::string opsets;
  for (const auto& [domain, version] : info.opsets)
    opsets += fmt::format("{}{} {}", opsets.empty() ? "" : ", ", domain, version);
  fmt::print("{:<{}}{}\n", "Opsets", kLabel, opsets.empty() ? "(none)" : opsets);

  size_t width = 0;
  for (const auto* list : {&info.inputs, &info.outputs})
    for (const ValueSummary& v : *list) width = std::max(width, v.name.size());
  width = std::min<size_t>(width, 40);
  print_values("Inputs", info.inputs, width);
  if (info.initializer_inputs > 0)
    fmt::print("  (+ {} inputs that have initializers, not listed)\n", info.initializer_inputs);
  print_values("Outputs", info.outputs, width);

  fmt::print("{:<{}}{} in the main graph, {} subgraph{}\n", "Nodes", kLabel, info.node_count, info.subgraph_count,
             info.subgraph_count == 1 ? "" : "s");
  fmt::print("{:<{}}{} ({})\n", "Parameters", kLabel, human_count(static_cast<uint64_t>(info.parameter_count)),
             human_bytes(info.parameter_bytes));
  std::string macs = human_count(info.macs);
  if (!info.macs_symbols.empty()) macs += fmt::format(" (with {} = 1)", fmt::join(info.macs_symbols, " = "));
  if (info.macs_unknown_nodes > 0)
    macs += fmt::format(", {} of {} nodes not counted:", info.macs_unknown_nodes, info.macs_unknown_nodes + info.macs_nodes);
  fmt::print("{:<{}}{}\n", "MACs", kLabel, macs);
  for (size_t i = 0; i < info.macs_uncounted.size() && i < kUncountedShown; ++i)
    fmt::print("  {}: {}\n", info.macs_uncounted[i].node, info.macs_uncounted[i].reason);
  if (info.macs_uncounted.size() > kUncountedShown)
    fmt::print("  ... and {} more (--json lists them all)\n", info.macs_uncounted.size() - kUncountedShown);
  if (!info.macs_uncounted.empty() || !info.macs_symbols.empty())
    fmt::print("  (--shape NAME=DIMS gives inputs their real sizes{})\n",
               info.macs_uncounted.empty() ? "" : "; shapes may then be known");
  if (!info.shapes_bound.input_shapes.empty() || !info.shapes_bound.dim_bindings.empty()) {
    std::vector<std::string> bound;
    for (const auto& [name, dims] : info.shapes_bound.input_shapes) bound.push_back(fmt::format("{}={}", name, fmt::join(dims, ",")));
    for (const auto& [sym, v] : info.shapes_bound.dim_bindings) bound.push_back(fmt::format("{}={}", sym, v));
    fmt::print("{:<{}}{}\n", "--shape", kLabel, fmt::join(bound, " "));
  }
  if (info.shape_inference != "onnx") fmt::print("{:<{}}{}\n", "Shapes", kLabel, info.shape_inference);

  std::vector<std::pair<std::string, int64_t>> ops(info.op_counts.begin(), info.op_counts.end());
  std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  size_t op_width = 0;
  for (const auto& [op, count] : ops) op_width = std::max(op_width, op.size());
  fmt::print("Ops\n");
  if (ops.empty()) fmt::print("  (none)\n");
  for (const auto& [op, count] : ops) fmt::print("  {:<{}}  {:>6}\n", op, op_width, count);
}

}  // namespace

Command register_info(CLI::App& parent) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* app = parent.add_subcommand("info", "Show what is inside a model: inputs, outputs, ops, parameters, MACs");
  app->add_option("model", opts->model, "ONNX model file")->required();
  add_shape_option(*app, opts->shapes);
  app->add_flag("--json", opts->json, "Print a JSON object on stdout instead of a table");
  app->footer(
      "Example:\n"
      "  ortool info model.onnx\n"
      "  ortool info model.onnx --json | jq .op_counts\n"
      "  ortool info detector.onnx --shape x=1,3,640,640   # MACs at the size it will run at");
  return {app, [opts] {
            Result<ModelInfo> info = inspect_model_file(opts->model, opts->shapes);
            if (!info) return report(info.status());
            if (opts->json) {
              print_json(info_json(opts->model, info.value()));
            } else {
              print_table(opts->model, info.value());
            }
            return kExitOk;
          }};
}

}  // namespace ortool::cli
