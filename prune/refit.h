// Recovery step 2: the layers that lost input channels get their weights refit by least squares, so
// their outputs match the unpruned model's as closely as a linear layer on what is left can.
//
// For a layer L (Conv with 2-D kernels, Gemm, MatMul with a constant 2-D weight) of the
// pruned model: X = L's input in the pruned model (it carries the error of every layer before, and
// the refits before L: layers go in graph order), Y = L's output in the reference, restricted to the
// output channels L kept. Rows are output positions (a Conv's im2col patches), sampled with a fixed
// seed: a budget of `rows_per_input` rows per unknown, at least `min_rows` and at most `max_rows` per
// layer over all samples. Each group of output channels (one, or a grouped Conv's groups: a depthwise
// Conv has one tiny system per channel) is fit by ridge least squares toward L's own weights on the
// inputs it kept (prune/refit_solve.h), so a fit with fewer rows than unknowns only moves the weights
// where the rows say something. The ridge weight is chosen from a few candidates on rows the fit did
// not see, and the fit is kept only when it lowers L's error on them (else L keeps its weights):
// - many rows (more than 1024, or a grouped Conv with at least as many rows as unknowns): the normal
//   equations [A 1]^T [A 1], [A 1]^T Y are accumulated sample by sample, a fifth of the rows (chosen
//   with the seed) held out; the kept fit is solved again on every row. Memory: three (unknowns)^2
//   doubles per group at a time (the fit's and the held-out rows' normal equations, a factorization):
//   at most 3 x 8 x 4609^2 bytes = 486 MiB at `max_inputs`.
// - up to 1024 rows (a Gemm with one row per sample, deep Convs on small images): the rows are kept
//   and every one is judged by its leave-one-out error (exact, through the r x r Gram matrix).
// With fewer than `min_held_out` judged rows the layer is left alone. L's bias is fit too and not
// shrunk (one is added to a Conv or Gemm that had none; MatMul has none).
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
  int64_t min_rows = 4096;       // sampled output positions per layer (over all samples): the budget is
  int64_t rows_per_input = 4;    // rows_per_input x unknowns, at least min_rows and at most max_rows
  int64_t max_rows = 16384;
  int64_t max_inputs = 4609;     // unknowns per output channel (C*kh*kw + 1; 512 channels x 3x3): memory bound
  int64_t min_held_out = 8;    // fewer held-out rows cannot judge a fit: the layer keeps its weights
  uint64_t seed = 0;
  std::function<void(size_t done, size_t total)> progress;
};

struct LayerRefit {
  std::string layer, op_type;
  int64_t inputs = 0;             // unknowns per output channel (with the bias)
  int64_t rows = 0;               // sampled rows
  int64_t judged = 0;             // rows the errors are over: the held-out ones, or all (leave-one-out)
  double mse_before = 0, mse_after = 0;  // mean squared error of the layer's output on the judged rows
  std::string skipped;            // why the layer kept its weights; empty when refit
};

// Refits `targets` in `pruned` against `reference` (both optimized alike, so layers share names).
// Errors: a failing run (named); a layer not found or of another kind is skipped with the reason.
Result<std::vector<LayerRefit>> refit_layers(ir::Model& pruned, const ir::Model& reference,
                                             const std::vector<RefitTarget>& targets, const rt::SampleSource& samples,
                                             const RefitOptions& o);

}  // namespace ortool::prune
