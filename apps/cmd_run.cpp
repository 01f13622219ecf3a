// `ortool run`: execute a model on given or random inputs; print a summary or write the outputs.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "apps/cli_util.h"
#include "apps/commands.h"
#include "apps/input_options.h"
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

int run_command(RunArgs& a) {
  LoadedModel m;
  {
    auto loaded = load_for_run(a.model, a.in);
    if (!loaded.is_ok()) return report(loaded.status());
    m = std::move(loaded).value();
  }
  if (Status st = resolve_shapes(*m.model->graph, a.in); !st.is_ok()) return report(st);
  auto feeds = build_feeds(*m.model->graph, a.in);
  if (!feeds.is_ok()) return report(feeds.status());
  double ms = 0;
  auto outs = run_once(m, *feeds, &ms);
  if (!outs.is_ok()) return report(outs.status());
  const auto& names = m.session->outputs();
  if (!a.output_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(a.output_dir, ec);
    if (ec) return report(io_error("{}: cannot create folder: {}", a.output_dir, ec.message()));
    for (size_t i = 0; i < outs->size(); ++i) {
      const RValue& v = (*outs)[i];
      Status st;
      if (a.format == "npy") {
        if (!v.is_tensor()) return report(unsupported("output '{}' is not a tensor: use --format pb", names[i]->name()));
        st = write_npy(v.tensor, std::filesystem::path(a.output_dir) / (file_safe(names[i]->name()) + ".npy"));
      } else {
        st = write_value_pb(v, names[i]->name(), names[i]->type,
                            std::filesystem::path(a.output_dir) / fmt::format("output_{}.pb", i));
      }
      if (!st.is_ok()) return report(st);
    }
  }
  nlohmann::json j;
  j["model"] = a.model;
  j["latency_ms"] = ms;
  j["outputs"] = nlohmann::json::array();
  for (size_t i = 0; i < outs->size(); ++i) j["outputs"].push_back(summarize(names[i]->name(), (*outs)[i]));
  if (a.json) {
    print_json(j);
    return kExitOk;
  }
  fmt::print("{}: ran in {:.2f} ms\n", a.model, ms);
  for (const auto& o : j["outputs"]) {
    std::string line = fmt::format("  {}: ", o["name"].get<std::string>());
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
    fmt::print("{}\n", line);
  }
  if (!a.output_dir.empty()) fmt::print("wrote {} outputs to {}\n", outs->size(), a.output_dir);
  return kExitOk;
}

}  // namespace

Command register_run(CLI::App& parent) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* app = parent.add_subcommand("run", "Run a model on the CPU runtime and show or save its outputs");
  app->add_option("model", args->model, "Model file (.onnx)")->required();
  add_input_options(*app, args->in);
  app->add_option("--output-dir", args->output_dir, "Write outputs here (output_K.pb in graph output order)");
  app->add_option("--format", args->format, "Output file format: pb (TensorProto) or npy")
      ->check(CLI::IsMember({"pb", "npy"}));
  app->add_flag("--json", args->json, "Print a JSON summary on stdout");
  app->footer(
      "Examples:\n"
      "  ortool run model.onnx --random --seed 1\n"
      "  ortool run model.onnx --input-dir test_data_set_0 --output-dir out/\n"
      "  ortool run model.onnx --input x=x.npy --shape x=1,3,224,224 --format npy --output-dir out/");
  return {app, [args] { return run_command(*args); }};
}

}  // namespace ortool::cli
