// The summary `ortool info` prints: producer, opsets, inputs/outputs, op counts, parameters, MACs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "lib/graph.h"
#include "lib/input_shapes.h"
#include "lib/status.h"

namespace ortool {

struct ValueSummary {
  std::string name;
  std::string type;  // "float32[batch,3,224,224]"; "?" when the file gives none
};

// A node whose MACs `info` could not count, and why (one phrase: "the shape of output 'y' is unknown").
struct UncountedNode {
  std::string node;     // Node::describe()
  std::string op_type;
  std::string reason;
};

struct ModelInfo {
  std::string producer_name;
  std::string producer_version;
  int64_t ir_version = 0;
  std::vector<std::pair<std::string, int64_t>> opsets;  // file order; the default domain as "ai.onnx"
  std::vector<ValueSummary> inputs;                     // graph inputs without an initializer
  std::vector<ValueSummary> outputs;
  int64_t initializer_inputs = 0;                       // graph inputs that also have an initializer
  int64_t node_count = 0;                               // main graph only
  std::map<std::string, int64_t> op_counts;             // main graph; "domain:Op" outside ai.onnx
  int64_t subgraph_count = 0;                           // every subgraph, at any depth
  int64_t parameter_count = 0;                          // elements of initializers and Constant values,
  uint64_t parameter_bytes = 0;                         // main graph and subgraphs
  // Multiply-accumulates of Conv, ConvTranspose, Gemm, MatMul (and their integer/QLinear forms),
  // LSTM, GRU and RNN in every graph, for nodes whose shapes are known; named symbolic dims count as 1.
  uint64_t macs = 0;
  int64_t macs_nodes = 0;           // nodes counted in `macs`
  int64_t macs_unknown_nodes = 0;   // such nodes left out because a shape is unknown
  std::vector<UncountedNode> macs_uncounted;  // those nodes, with the reason each was left out
  std::vector<std::string> macs_symbols;  // symbolic dims taken as 1, sorted
  std::string shape_inference;      // "onnx" when it ran, else why not
  ShapeBindings shapes_bound;       // --shape as applied before shape inference
};

// Summarizes `model` as it is (run infer_shapes first for MACs of intermediate values).
ModelInfo summarize_model(const ir::Model& model);

// Loads the model at `path`, fixes input dims given as --shape arguments (lib/input_shapes.h: unknown
// names are errors), runs onnx shape inference on it (best effort) and summarizes it.
Result<ModelInfo> inspect_model_file(const std::filesystem::path& path, const std::vector<std::string>& shape_args = {});

}  // namespace ortool
