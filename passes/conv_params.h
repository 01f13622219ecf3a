// The constant weight and bias of a Conv node, read and replaced by the Conv fusions.
#pragma once

#include <optional>
#include <vector>

#include "lib/graph.h"

namespace ortool::passes {

struct ConvParams {
  const Tensor* weight = nullptr;  // float32 [M, C/group, k...]
  std::vector<double> bias;        // M values (zeros when the Conv has no bias)
  int64_t channels = 0;            // M
  int64_t rank = 0;                // rank of the weight, and of the Conv's input and output
};

// A Conv with a constant float32 weight (and a constant [M] bias when present); nullopt otherwise.
std::optional<ConvParams> conv_params(const ir::Node& conv);
// Points the Conv at new weight (when given) and bias initializers: fresh values, because the old
// ones may be shared with other nodes.
void set_conv_params(ir::Graph& g, ir::Node* conv, std::optional<Tensor> weight, const std::vector<double>& bias);

}  // namespace ortool::passes
