// Layer-by-layer comparison of two models (`compare --layerwise`): every intermediate value both models
// compute is watched in both runs and judged like an output (lib/accuracy), in model A's graph order,
// and the first node whose output diverges beyond the gates is named.
//
// Matching: a value of A computed from the feeds (a node output, or a graph input B quantizes) is paired
// with B's value of the same name. Where B quantizes that tensor (QDQ form: a per-tensor QuantizeLinear
// with constant scale and zero point reads it), the QuantizeLinear's 8-bit output is watched instead and
// dequantized, since that is what B's later nodes read; so a float model against its QDQ model measures
// each activation's quantization error. Where B folded the ops after a tensor into the node making it
// (an optimizer's Conv+BatchNormalization keeps the Conv's output name; a quantizer folds a Relu into the
// quantized range), A's values B has no name for are skipped along that chain of single readers, and
// B's value stands for the chain's last value (B's 8-bit value for the Relu's output, its float value for
// the value before the Relu). QOperator models (QLinearConv chains) have no float tensors to pair beyond
// the graph's ends. Weights, Constant nodes and values computed from them alone are not compared.
//
// Memory: per sample, A runs first and keeps its watched values; B's run compares each of its watched
// values as it is made and releases A's copy, so at most one sample of A's watched values is held.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/accuracy.h"
#include "lib/graph.h"
#include "lib/status.h"
#include "runtime/samples.h"
#include "runtime/session.h"

namespace ortool::rt {

// One value of A and the value of B that stands for it.
struct LayerPair {
  std::string tensor_a;
  std::string tensor_b;
  bool dequantize = false;  // tensor_b is 8-bit: compare (q - zero_point) * scale
  float scale = 1;
  int32_t zero_point = 0;
};

// The pairs, in A's topological order (node outputs in output order). Values B lacks are left out.
Result<std::vector<LayerPair>> match_layer_values(const ir::Graph& a, const ir::Graph& b);

struct LayerStats {
  LayerPair pair;
  std::string node;     // A's node that makes tensor_a (its name, or its description when unnamed); "" for an input
  std::string op_type;  // that node's op type
  OutputAccuracy accuracy;
  OutputVerdict verdict;
};

struct LayerwiseOptions {
  Gates gates;                     // judge every watched value like an output
  SessionOptions session_a, session_b;  // their observe fields are replaced
  std::string name_a = "model A", name_b = "model B";  // how errors name the models (the CLI: their paths)
  std::function<void(size_t done, size_t total)> progress;  // samples done (optional)
};

struct LayerwiseResult {
  std::unique_ptr<AccuracyReport> outputs;  // B's outputs against A's, as plain compare judges them
  std::vector<LayerStats> layers;           // in A's graph order
  std::optional<size_t> first_divergent;    // index into layers of the first failed verdict
  size_t samples = 0;
  std::string sample_source;
  // Indices into layers with the lowest worst-sample SQNR first (exact and undefined ones left out), at most n.
  std::vector<size_t> lowest_sqnr(size_t n) const;
};

// Runs A then B on every sample. Errors: a run failing (named by model and sample), another output count.
Result<LayerwiseResult> compare_layerwise(const ir::Model& a, const ir::Model& b, const SampleSource& samples,
                                         const LayerwiseOptions& options);

}  // namespace ortool::rt
