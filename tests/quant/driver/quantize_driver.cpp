// Test driver: quantizes a model file with the quant/ library (until `ortool quantize` exists), with
// min/max ranges measured on a few inputs, and prints the report as JSON.
//
// Usage: quantize_driver IN OUT [--mode static|dynamic] [--format qdq|qoperator] [--optimize]
//          [--activation-type uint8|int8] [--weight-type int8|uint8] [--per-tensor] [--symmetric-activations]
//          [--reduce-range] [--dynamic-conv] [--op-types A,B] [--exclude-nodes A,B] [--exclude-op-types A,B]
//          [--shape NAME=d0,d1,...] [--calib-npy FILE [--calib-rows N]] [--calib-dir DIR] [--random N] [--seed S]
// Ranges (static): the rows of a .npy batch for the model's single input (--calib-npy, in chunks of
// --calib-rows), ONNX test-data folders (--calib-dir, repeatable), or N seeded random inputs (--random).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "passes/freeze_inputs.h"
#include "passes/optimize.h"
#include "quant/quantize.h"
#include "tests/quant/quant_test_util.h"

using namespace ortool;

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

DType type_arg(const std::string& s) { return s == "int8" ? DType::Int8 : s == "uint8" ? DType::UInt8 : DType::Undefined; }

int fail(const Status& st) {
  std::fprintf(stderr, "quantize_driver: error: %s\n", st.message().c_str());
  return st.exit_code() == 0 ? 2 : st.exit_code();
}

nlohmann::json outcomes(const std::vector<quant::NodeOutcome>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& o : v) a.push_back({{"node", o.node}, {"op_type", o.op_type}, {"detail", o.detail}});
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: quantize_driver IN OUT [options] (see the file's header)\n");
    return 2;
  }
  const std::string in = argv[1], out = argv[2];
  quant::QuantizeOptions o;
  std::string mode = "static", calib_npy;
  std::vector<std::string> calib_dirs;
  bool optimize = false;
  int random = 0;
  int64_t calib_rows = 32;
  uint64_t seed = 7;
  std::map<std::string, std::vector<int64_t>> shapes;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    if (a == "--mode") mode = next();
    else if (a == "--format") o.format = next() == "qoperator" ? quant::QuantFormat::QOperator : quant::QuantFormat::QDQ;
    else if (a == "--optimize") optimize = true;
    else if (a == "--activation-type") o.activation_type = type_arg(next());
    else if (a == "--weight-type") o.weight_type = type_arg(next());
    else if (a == "--per-tensor") o.per_channel = false;
    else if (a == "--symmetric-activations") o.symmetric_activations = true;
    else if (a == "--reduce-range") o.reduce_range = true;
    else if (a == "--dynamic-conv") o.dynamic_conv = true;
    else if (a == "--op-types") o.op_types = split_list(next());
    else if (a == "--exclude-nodes") o.exclude_nodes = split_list(next());
    else if (a == "--exclude-op-types") o.exclude_op_types = split_list(next());
    else if (a == "--calib-npy") calib_npy = next();
    else if (a == "--calib-rows") calib_rows = std::stoll(next());
    else if (a == "--calib-dir") calib_dirs.push_back(next());
    else if (a == "--random") random = std::stoi(next());
    else if (a == "--seed") seed = std::stoull(next());
    else if (a == "--shape") {
      auto s = rt::parse_shape_arg(next());
      if (!s) return fail(s.status());
      shapes[s->first] = s->second;
    } else {
      std::fprintf(stderr, "quantize_driver: unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  auto loaded = load_model(in);
  if (!loaded) return fail(loaded.status());
  ir::Model& model = **loaded;
  if (optimize) passes::freeze_initializer_inputs(model);
  if (optimize || !shapes.empty()) {
    passes::OptimizeOptions oo;
    oo.input_shapes = shapes;
    if (!optimize) oo.passes = {"shape_inference"};
    auto r = passes::optimize_model(model, oo);
    if (!r) return fail(r.status());
  }

  Result<quant::QuantizeReport> report = internal_error("no mode");
  if (mode == "dynamic") {
    report = quant::quantize_dynamic(model, o);
  } else {
    auto names = quant::tensors_to_calibrate(model, o);
    if (!names) return fail(names.status());
    std::vector<rt::Feeds> samples;
    const auto required = rt::required_inputs(*model.graph);
    if (!calib_npy.empty()) {
      auto t = read_npy(calib_npy);
      if (!t) return fail(t.status());
      for (int64_t b = 0; b < t->dims()[0]; b += calib_rows)
        samples.push_back({{required.at(0)->name(),
                            RValue(quant_testing::rows(*t, b, std::min(t->dims()[0], b + calib_rows)))}});
    }
    for (const std::string& d : calib_dirs) {
      auto f = rt::read_input_dir(*model.graph, d);
      if (!f) return fail(f.status());
      samples.push_back(std::move(*f));
    }
    for (int i = 0; i < random; ++i) {
      auto f = rt::random_inputs(*model.graph, seed + static_cast<uint64_t>(i), shapes, {});
      if (!f) return fail(f.status());
      samples.push_back(std::move(*f));
    }
    if (samples.empty()) return fail(invalid("static mode needs --calib-npy, --calib-dir or --random"));
    auto ranges = quant_testing::minmax_ranges(model, *names, samples);
    if (!ranges) return fail(ranges.status());
    report = quant::quantize_static(model, *ranges, o);
  }
  if (!report) return fail(report.status());
  auto saved = save_model(model, out);
  if (!saved) return fail(saved.status());
  nlohmann::json j = {{"quantized", outcomes(report->quantized)},
                      {"left_float", outcomes(report->left_float)},
                      {"notes", report->notes},
                      {"opset_before", report->opset_before},
                      {"opset_after", report->opset_after},
                      {"weights_quantized", report->weights_quantized},
                      {"biases_quantized", report->biases_quantized},
                      {"weight_scales_raised", report->weight_scales_raised}};
  std::cout << j.dump() << "\n";
  return 0;
}
