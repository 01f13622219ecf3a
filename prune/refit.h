// Recovery step 2: the layers that lost input channels get their weights refit by least squares, so
// their outputs match the unpruned model's as closely as a linear layer on what is left can.
//
// For a layer L (Conv with 2-D kernels, Gemm, MatMul with a constant 2-D weight) of the
// pruned model: X = L's input in the pruned model (it carries the error of every layer before, and
// the refits before L: layers go in graph order), Y = L's output in the reference, restricted to the
// output channels L kept. Rows are output positions (a Conv's im2col patches), sampled with a fixed
// seed, at most `max_rows` per layer over all samples; the normal equations [A 1]^T [A 1] and
// [A 1]^T Y are accumulated sample by sample, so memory is (inputs + 1)^2 per layer, not per row.
// One ridge-regularized system solves every output channel (a grouped or depthwise Conv: one system
// per group, over that group's inputs):
//   (W, b) = argmin ||[A 1] [W; b] - Y||^2 + lambda ||W||^2,  lambda = ridge * mean(diag(A^T A)).
// A fifth of the sampled rows (chosen with the seed) is held out: the weights fit on the others
// replace L's only when they lower L's output error on the held-out rows (few rows for many inputs
// would fit the samples and nothing else; with fewer than `min_held_out` such rows the layer is left
// alone); the kept fit is then solved again on every row. L's bias
// is fit too (one is added to a Conv or Gemm that had none; MatMul has none).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "runtime/samples.h"
#include "runtime/session.h"

namespace ortool::prune {

struct RefitTarget {
  std::string layer;              // the layer's name (prune::layer_name) in both models
  std::vector<int64_t> kept_out;  // the reference layer's output channels the pruned one kept, ascending
};

struct RefitOptions {
  rt::SessionOptions session;
  int64_t max_rows = 4096;     // sampled output positions per layer, over all samples
  int64_t max_inputs = 2305;   // layers with more inputs per output channel (C*kh*kw + 1) are not refit
  double ridge = 1e-3;
  int64_t min_held_out = 8;    // fewer held-out rows cannot judge a fit: the layer keeps its weights
  uint64_t seed = 0;
  std::function<void(size_t done, size_t total)> progress;
};

struct LayerRefit {
  std::string layer, op_type;
  int64_t inputs = 0;             // unknowns per output channel (with the bias)
  int64_t rows = 0;               // sampled rows
  double mse_before = 0, mse_after = 0;  // mean squared error of the layer's output on the held-out rows
  std::string skipped;            // why the layer kept its weights; empty when refit
};

// Refits `targets` in `pruned` against `reference` (both optimized alike, so layers share names).
// Errors: a failing run (named); a layer not found or of another kind is skipped with the reason.
Result<std::vector<LayerRefit>> refit_layers(ir::Model& pruned, const ir::Model& reference,
                                             const std::vector<RefitTarget>& targets, const rt::SampleSource& samples,
                                             const RefitOptions& o);

}  // namespace ortool::prune
