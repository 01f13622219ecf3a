// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization and
// Bias Correction", section 4.1): a float-model rewrite that balances the per-channel weight ranges of
// consecutive layers so that per-tensor scales (activations, per-tensor weights, a pointwise conv's
// input channels) lose less to channels with small ranges. The float function is unchanged.
//
// A pair is layer 1 -> [homogeneous ops] -> layer 2 where layer 1's output feeds only that chain:
//     layer   Conv (any group: depthwise too), Gemm, MatMul with a constant 2-D weight
//     chain   nothing, or up to 3 single-use ops f with f(x / s) = f(x) / s per channel for s > 0:
//             Relu, LeakyRelu, PRelu, MaxPool, AveragePool, Clip with min 0 (or none) and no max
// Output channel i of layer 1 (weights and bias) is divided by s_i and input channel i of layer 2
// multiplied by s_i, with s_i = sqrt(r1_i / r2_i) (the paper's (1 / r2_i) sqrt(r1_i r2_i)): r1_i is the
// largest |w| of layer 1's output channel i, r2_i that of layer 2's input channel i; after scaling both
// equal sqrt(r1_i r2_i). A layer in two pairs (a chain conv -> dw -> pw) moves both, so the pairs are
// swept again until no scale moves by more than `tolerance` (the paper iterates the same way).
//
// Clip with a max (ReLU6) is not scale-equivariant: Clip(x / s, 0, 6) != Clip(x, 0, 6) / s. The paper
// replaces ReLU6 by ReLU before equalizing, which changes the float model; ortool keeps the model's
// function exact and ends the chain there (counted in `skipped_clip`). MobileNetV2, whose every
// conv -> dw -> pw pair passes a ReLU6, therefore gets few pairs.
//
//     EqualizeReport r = TRY(equalize(model));   // model rewritten in place, outputs unchanged
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"

namespace ortool::quant {

struct EqualizeOptions {
  int max_iterations = 100;
  double tolerance = 1e-4;   // converged when every scale of a sweep is within 1 +- tolerance
  double max_scale = 1e4;    // s_i is clamped to [1 / max_scale, max_scale] (a near-dead channel)
};

struct EqualizedPair {
  std::string first, second;   // node names (or descriptions)
  std::string through;         // op types between them, "" when direct
  int64_t channels = 0;
  bool depthwise = false;      // either layer is a Conv with group == channels
};

struct EqualizeReport {
  std::vector<EqualizedPair> pairs;
  int iterations = 0;          // sweeps done
  bool converged = true;
  int64_t skipped_clip = 0;    // pairs ended by a Clip with a max (ReLU6)
  // Geometric mean over the pairs of the paper's objective (its eq. 9 over the channel count): the
  // mean over channels of (r1_i / max r1) (r2_i / max r2), 1 when every channel has the same range.
  double balance_before = 1;
  double balance_after = 1;
};

// Equalizes every pair of the main graph in place. Weights must be constants (initializers that are not
// graph inputs, or Constant nodes); a weight shared by another node gets its own copy.
Result<EqualizeReport> equalize(ir::Model& model, const EqualizeOptions& options = {});

// Per-channel max |w| of a layer's constant weight: its output channels (`output`) or input channels.
// Empty when the node is not a layer equalize handles. For tests.
std::vector<double> weight_channel_ranges(const ir::Node& layer, bool output);

}  // namespace ortool::quant
