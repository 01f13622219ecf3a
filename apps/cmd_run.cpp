// `ortool run`: execute a model on given or random inputs; print a summary or write the outputs.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <set>

#include "apps/cli_util.h"
#include "apps/commands.h"
#include "apps/cli_parse.h"
#include "apps/input_options.h"
#include "apps/input_report.h"
#include "apps/progress.h"
#include "apps/run_util.h"
#include "lib/npy.h"
#include "lib/value_proto.h"

namespace ortool::cli {

namespace {

struct RunArgs {
  std::string model;
  InputOptions in;
  std::string output_dir;
  std::string format = "pb";
  bool json = false;
};

nlohmann::json summarize(const std::string& name, const RValue& v) {
  nlohmann::json j;
  j["name"] = name;
  if (v.is_sequence()) {
    j["kind"] = "sequence";
    j["length"] = v.sequence.size();
    return j;
  }
  if (!v.is_tensor()) {
    j["kind"] = "none";
    return j;
  }
  const Tensor& t = v.tensor;
  j["kind"] = "tensor";
  j["dtype"] = std::string(dtype_name(t.dtype()));
  j["shape"] = t.dims();
  if (!t.is_string() && t.numel() > 0) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
    int64_t nan = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      double x = t.get_double(i);
      if (std::isnan(x)) {
        ++nan;
        continue;
      }
      lo = std::min(lo, x);
      hi = std::max(hi, x);
      sum += x;
    }
    if (nan < t.numel()) {
      j["min"] = lo;
      j["max"] = hi;
      j["mean"] = sum / static_cast<double>(t.numel() - nan);
    }
    if (nan) j["nan_count"] = nan;
    std::vector<double> head;
    for (int64_t i = 0; i < std::min<int64_t>(t.numel(), 6); ++i) head.push_back(t.get_double(i));
    j["first"] = head;
  }
  return j;
}

std::string file_safe(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (c == '/' || c == '\\' || c == ':' || c == '\0') c = '_';
  return s.empty() ? "output" : s;
}

// "  probs: float32[1,10]  min ...  max ...  mean ..." for the text summary.
std::string output_line(const nlohmann::json& o, const char* indent) {
  std::string line = fmt::format("{}{}: ", indent, o["name"].get<std::string>());
  if (o["kind"] == "tensor") {
    line += fmt::format("{}{}", o["dtype"].get<std::string>(), o["shape"].dump());
    if (o.contains("min"))
      line += fmt::format("  min {:.6g}  max {:.6g}  mean {:.6g}", o["min"].get<double>(), o["max"].get<double>(),
                          o["mean"].get<double>());
    if (o.contains("nan_count")) line += fmt::format("  NaN x{}", o["nan_count"].get<int64_t>());
  } else if (o["kind"] == "sequence") {
    line += fmt::format("sequence of {} tensors", o["length"].get<size_t>());
  } else {
    line += "none";
  }
  return line;
}

Status write_outputs(const RunArgs& a, const std::filesystem::path& dir, const std::vector<RValue>& outs,
                     const std::vector<const ir::Value*>& names) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("{}: cannot create folder: {}", dir.string(), ec.message());
  for (size_t i = 0; i < outs.size(); ++i) {
    const RValue& v = outs[i];
    if (a.format == "npy") {
      if (!v.is_tensor()) return unsupported("output '{}' is not a tensor: use --format pb", names[i]->name());
      TRY(write_npy(v.tensor, dir / (file_safe(names[i]->name()) + ".npy")));
    } else {
      TRY(write_value_pb(v, names[i]->name(), names[i]->type, dir / fmt::format("output_{}.pb", i)));
    }
  }
  return Status::ok();
}

int run_command(RunArgs& a) {
  LoadedModel m;
  {
    auto loaded = load_for_run(a.model, a.in);
    if (!loaded.is_ok()) return report(loaded.status());
    m = std::move(loaded).value();
  }
  const ir::Graph& g = *m.model->graph;
  // --shape as load_for_run resolved it against the model before optimizing; here a name the model
  // does not have is an error.
  if (!m.shapes.unmatched.empty()) return report(invalid("{}: {}", a.model, m.shapes.unmatched.front()));
  a.in.input_shapes = m.shapes.input_shapes;
  a.in.dim_bindings = m.shapes.dim_bindings;
  const ShapeBindings& shapes = m.shapes;
  // --random N: N input sets (seeds seed .. seed+N-1); inputs from files are the same in each.
  const int sets = std::max(1, a.in.random);
  const auto& names = m.session->outputs();
  std::vector<FedInput> fed;
  nlohmann::json runs = nlohmann::json::array();
  double total_ms = 0;
  {
    ProgressBar progress("run", static_cast<size_t>(sets));
    for (int k = 0; k < sets; ++k) {
      std::set<std::string> random;
      auto feeds = build_feeds(g, a.in, static_cast<uint64_t>(k), &random);
      if (!feeds.is_ok()) return report(feeds.status().with_context(a.model));
      if (k == 0) fed = describe_feeds(g, shapes, *feeds, random);
      double ms = 0;
      auto outs = run_once(m, *feeds, &ms);
      if (!outs.is_ok()) return report(with_defaulted_hint(outs.status(), fed));
      total_ms += ms;
      if (!a.output_dir.empty()) {
        std::filesystem::path dir = a.output_dir;
        if (sets > 1) dir /= fmt::format("run_{}", k);
        if (Status st = write_outputs(a, dir, *outs, names); !st.is_ok()) return report(st);
      }
      nlohmann::json r;
      if (!random.empty()) r["seed"] = a.in.seed + static_cast<uint64_t>(k);
      r["latency_ms"] = ms;
      r["outputs"] = nlohmann::json::array();
      for (size_t i = 0; i < outs->size(); ++i) r["outputs"].push_back(summarize(names[i]->name(), (*outs)[i]));
      runs.push_back(std::move(r));
      progress.update(static_cast<size_t>(k) + 1);
    }
  }
  // Defaulted shapes, and feeds the session accepted though they differ from the declaration.
  std::vector<std::string> warnings = m.session->feed_notes();
  if (std::string hint = defaulted_hint(fed); !hint.empty()) warnings.insert(warnings.begin(), hint);
  for (const std::string& w : warnings) print_warning(fmt::format("{}: {}", a.model, w));
  nlohmann::json j;
  j["model"] = a.model;
  j["inputs"] = inputs_json(fed);
  // The first run at the top level (what one run prints), every run under "runs".
  j["latency_ms"] = runs[0]["latency_ms"];
  j["outputs"] = runs[0]["outputs"];
  j["runs"] = runs;
  j["warnings"] = warnings;
  if (a.json) {
    print_json(j);
    return kExitOk;
  }
  if (sets == 1) {
    fmt::print("{}: ran in {:.2f} ms\n", a.model, total_ms);
    fmt::print("  inputs: {}\n", inputs_text(fed));
    for (const auto& o : j["outputs"]) fmt::print("{}\n", output_line(o, "  "));
  } else {
    fmt::print("{}: {} runs, {:.2f} ms on average\n", a.model, sets, total_ms / sets);
    fmt::print("  inputs: {}\n", inputs_text(fed));
    for (size_t k = 0; k < runs.size(); ++k) {
      const auto& r = runs[k];
      fmt::print("  run {}{}: {:.2f} ms\n", k, r.contains("seed") ? fmt::format(" (seed {})", r["seed"].get<uint64_t>()) : "",
                 r["latency_ms"].get<double>());
      for (const auto& o : r["outputs"]) fmt::print("{}\n", output_line(o, "    "));
    }
  }
  if (!a.output_dir.empty()) {
    if (sets == 1) fmt::print("wrote {} outputs to {}\n", names.size(), a.output_dir);
    else fmt::print("wrote {} outputs of each run to {}/run_0 .. run_{}\n", names.size(), a.output_dir, sets - 1);
  }
  return kExitOk;
}

}  // namespace

Command register_run(CLI::App& parent) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* app = parent.add_subcommand("run", "Run a model on the CPU runtime and show or save its outputs");
  app->add_option("model", args->model, "Model file (.onnx)")->required();
  add_input_options(*app, args->in);
  app->add_option("--output-dir", args->output_dir,
                  "Write outputs here (output_K.pb in graph output order; with --random N, one run_K folder per run)");
  app->add_option("--format", args->format, "Output file format: pb (TensorProto) or npy")->check(one_of({"pb", "npy"}));
  app->add_flag("--json", args->json, "Print a JSON summary on stdout");
  app->footer(
      "Examples:\n"
      "  ortool run model.onnx --random --seed 1\n"
      "  ortool run model.onnx --random 3 --shape batch=1 --json\n"
      "  ortool run model.onnx --input-dir test_data_set_0 --output-dir out/\n"
      "  ortool run model.onnx --input x=x.npy --shape x=1,3,224,224 --format npy --output-dir out/");
  return {app, [args] { return run_command(*args); }};
}

}  // namespace ortool::cli
