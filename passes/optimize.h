// optimize_model: the library side of `ortool optimize` (input shapes, opset conversion, the pass
// pipeline, statistics), so the CLI only parses options and prints.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/input_shapes.h"
#include "passes/pass_manager.h"

namespace ortool::passes {

struct OptimizeOptions {
  std::string level = "extended";        // pipeline when `passes` is empty
  std::vector<std::string> passes;       // run exactly these, in this order
  std::vector<std::string> disable;      // leave these out
  bool verify_each = false;
  std::string print_ir_after;            // pass name or "all"
  std::function<void(const std::string&)> print;  // where IR dumps go
  size_t fold_max_bytes = size_t{16} << 20;
  uint64_t max_rewrites = 1000000;
  // Passes run in rounds until nothing changes; at most this many rounds. 0: max(32, nodes / 4), since
  // some chains advance one step per round (each channel shuffle of a symbolic-batch ShuffleNet needs
  // the shape inference of the round after the one before it was folded: 62 rounds for 16 blocks).
  int max_iterations = 0;
  int64_t target_opset = 0;              // 0: keep the model's opset
  bool runtime_ops = false;              // see PassContext::runtime_ops; never for a file
  // --shape: fixed dims per graph input, and values for symbolic dims.
  std::map<std::string, std::vector<int64_t>> input_shapes;
  std::map<std::string, int64_t> dim_bindings;
  // Initializers that are also graph inputs become constants first (passes/freeze_inputs.h).
  bool freeze_inputs = false;
};

struct ModelStats {
  std::map<std::string, int64_t> op_counts;  // every graph, subgraphs included
  int64_t nodes = 0;                         // main graph
  int64_t subgraph_nodes = 0;                // nodes inside If/Loop/Scan bodies
  int64_t initializers = 0;
  int64_t opset = 0;
};

struct OptimizeReport {
  ModelStats before, after;
  PipelineReport pipeline;
  std::vector<std::string> passes;  // the pass list that ran
  double ms = 0;                    // wall time of optimize_model
  bool changed = false;             // some rewrite happened (or the opset or input shapes changed)
  // Graph inputs backed by an initializer: a caller may override them (IR 4+), so passes leave them
  // alone; `frozen_inputs` of them were made constants by OptimizeOptions::freeze_inputs.
  int64_t initializer_inputs = 0;
  int64_t frozen_inputs = 0;
  std::vector<std::string> notes;
};

ModelStats model_stats(const ir::Model& model);

// Validates the options against the registry (unknown level or pass names are kInvalid).
Result<std::vector<std::string>> resolve_pass_list(const OptimizeOptions& options);

// apply_input_shapes (the --shape option) lives in lib/input_shapes.h; passes callers keep this name.
using ortool::apply_input_shapes;

// Optimizes `model` in place. The graph outputs keep their names; the result passes
// Graph::verify(). A failure leaves the model in an unspecified state.
Result<OptimizeReport> optimize_model(ir::Model& model, const OptimizeOptions& options);

}  // namespace ortool::passes
