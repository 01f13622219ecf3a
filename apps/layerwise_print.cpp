// Tables and JSON for `compare --layerwise`.
#include "apps/layerwise_print.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "apps/accuracy_print.h"

namespace ortool::cli {

namespace {

nlohmann::json layer_ref(const rt::LayerStats& l) {
  return {{"node", l.node}, {"op_type", l.op_type}, {"output", l.pair.tensor_a}};
}

}  // namespace

void print_layerwise(const rt::LayerwiseResult& r) {
  fmt::print("layer by layer ({} values both models compute, in graph order):\n", r.layers.size());
  size_t width = 28;  // the longest tensor name, within reason
  for (const rt::LayerStats& l : r.layers) width = std::max(width, std::min<size_t>(l.pair.tensor_a.size(), 64));
  fmt::print("  {:<{}} {:<18} {:>11} {:>10} {:>9}  {}\n", "tensor", width, "op", "max abs", "cosine", "SQNR dB", "");
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const rt::LayerStats& l = r.layers[i];
    const OutputAccuracy& a = l.accuracy;
    std::string mark = l.verdict.passed ? "" : (r.first_divergent == i ? "<- first divergent" : "FAIL");
    fmt::print("  {:<{}} {:<18} {:>11.4g} {:>10} {:>9}  {}\n", l.pair.tensor_a, width, l.op_type.empty() ? "(input)" : l.op_type,
               a.max_abs, a.min_cosine ? fmt::format("{:.6f}", *a.min_cosine) : "n/a", format_db(a.min_sqnr_db), mark);
  }
  if (r.first_divergent) {
    const rt::LayerStats& l = r.layers[*r.first_divergent];
    fmt::print("first divergent node: {} ({}) output {}: {}\n", l.node.empty() ? "(graph input)" : l.node, l.op_type,
               l.pair.tensor_a, l.verdict.failures.empty() ? "" : l.verdict.failures.front());
  } else {
    fmt::print("first divergent node: none (every value within the gates)\n");
  }
  auto low = r.lowest_sqnr(kLowestSqnrShown);
  if (!low.empty()) {
    fmt::print("lowest SQNR:");
    for (size_t i : low)
      fmt::print(" {} {} dB{}", r.layers[i].pair.tensor_a, format_db(r.layers[i].accuracy.min_sqnr_db),
                 i == low.back() ? "" : ",");
    fmt::print("\n");
  }
}

nlohmann::json layerwise_json(const rt::LayerwiseResult& r) {
  nlohmann::json j;
  j["layers"] = nlohmann::json::array();
  for (const rt::LayerStats& l : r.layers) {
    nlohmann::json o = output_accuracy_json(l.accuracy, l.verdict);
    o["tensor_b"] = l.pair.tensor_b;
    o["node"] = l.node;
    o["op_type"] = l.op_type;
    o["dequantized"] = l.pair.dequantize;
    o["samples"] = l.accuracy.samples;
    j["layers"].push_back(std::move(o));
  }
  j["first_divergent"] = r.first_divergent ? layer_ref(r.layers[*r.first_divergent]) : nlohmann::json(nullptr);
  j["lowest_sqnr"] = nlohmann::json::array();
  for (size_t i : r.lowest_sqnr(kLowestSqnrShown)) {
    nlohmann::json o = layer_ref(r.layers[i]);
    double db = *r.layers[i].accuracy.min_sqnr_db;
    o["sqnr_db"] = std::isinf(db) ? nlohmann::json(nullptr) : nlohmann::json(db);  // JSON has no infinity
    j["lowest_sqnr"].push_back(std::move(o));
  }
  return j;
}

}  // namespace ortool::cli
