// calib_probe: calibrates a model on N generated samples and prints what it held (for scripts/calib_memory.sh).
//
//   calib_probe MODEL SAMPLES [--method minmax|entropy|percentile|mse] [--two-pass] [--no-optimize]
//               [--providers dnnl,cpu] [--table FILE]
//
// Samples are seeded random inputs made one at a time (rt::random_samples), so the
// data set itself takes no memory: what grows with SAMPLES, if anything, is calibration's. The model
// is optimized first (BN folded), as quantize does, and every float value of the main graph is
// calibrated. Prints one JSON line: samples, tensors, collector bytes, VmRSS before calibrating and
// VmHWM (peak RSS) after, and the wall time. --table writes the ranges as a calibration table.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "lib/model_io.h"
#include "lib/onnx_shape_inference.h"
#include "passes/optimize.h"
#include "quant/calib_table.h"
#include "quant/calibrate.h"
#include "runtime/provider.h"
#include "runtime/samples.h"

using namespace ortool;

namespace {

// A /proc/self/status field in KiB ("VmRSS", "VmHWM").
long status_kib(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(f, line))
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') return std::stol(line.substr(n + 1));
  return -1;
}

int fail(const Status& st) {
  std::fprintf(stderr, "calib_probe: error: %s\n", st.message().c_str());
  return st.exit_code();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: calib_probe MODEL SAMPLES [--method M] [--two-pass] [--no-optimize] [--providers P] "
                 "[--table FILE]\n");
    return 2;
  }
  quant::CalibOptions options;
  options.session.providers = rt::default_providers();
  bool optimize = true;
  std::string table_path;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--method" && i + 1 < argc) {
      auto m = quant::parse_calib_method(argv[++i]);
      if (!m.is_ok()) return fail(m.status());
      options.range.method = *m;
    } else if (a == "--two-pass") {
      options.two_pass = true;
    } else if (a == "--no-optimize") {
      optimize = false;
    } else if (a == "--providers" && i + 1 < argc) {
      options.session.providers.clear();
      std::string list = argv[++i];
      for (size_t at = 0; at <= list.size();) {
        size_t comma = std::min(list.find(',', at), list.size());
        options.session.providers.push_back(list.substr(at, comma - at));
        at = comma + 1;
      }
    } else if (a == "--table" && i + 1 < argc) {
      table_path = argv[++i];
    } else {
      return fail(invalid("unknown argument '{}'", a));
    }
  }
  const size_t n = std::strtoul(argv[2], nullptr, 10);
  auto model = load_model(argv[1]);
  if (!model.is_ok()) return fail(model.status());
  ir::Model& m = **model;
  if (optimize) {
    auto r = passes::optimize_model(m, {});
    if (!r.is_ok()) return fail(r.status());
  }
  if (Status st = infer_shapes(m); !st.is_ok()) return fail(st);
  std::vector<std::string> tensors;
  for (const ir::Value* v : m.graph->inputs())
    if (!v->is_constant() && v->type.is_tensor() && v->type.elem == DType::Float) tensors.push_back(v->name());
  for (const ir::Node* node : m.graph->nodes())
    for (const ir::Value* v : node->outputs())
      if (v != nullptr && v->type.is_tensor() && v->type.elem == DType::Float) tensors.push_back(v->name());

  auto samples = rt::random_samples(*m.graph, n, 1000, {}, {});
  const long rss_before = status_kib("VmRSS");
  auto t0 = std::chrono::steady_clock::now();
  auto r = quant::calibrate(m, tensors, *samples, options);
  if (!r.is_ok()) return fail(r.status());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!table_path.empty()) {
    if (Status st = quant::write_calibration_table(table_path, quant::calibration_table(*r, options)); !st.is_ok())
      return fail(st);
  }
  for (const std::string& note : r->notes) std::fprintf(stderr, "calib_probe: note: %s\n", note.c_str());
  std::printf(
      "{\"samples\": %zu, \"tensors\": %zu, \"method\": \"%s\", \"passes\": %d, \"collector_bytes\": %zu, "
      "\"rss_before_kib\": %ld, \"peak_rss_kib\": %ld, \"seconds\": %.2f}\n",
      r->samples, tensors.size(), std::string(quant::calib_method_name(options.range.method)).c_str(), r->passes,
      r->collector_bytes, rss_before, status_kib("VmHWM"), seconds);
  return 0;
}
