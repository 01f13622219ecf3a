// Bias correction (Nagel et al. 2019, "Data-Free Quantization", section 4.2, the empirical variant that
// takes E[x] from calibration data): rounding a layer's weight W to Wq shifts its output's mean by
// (Wq - W) E[x], which the next layers do not average away. Each bias absorbs it:
//     b_c -= sum_k (Wq - W)[c, k] * E[x_k]
// where k runs over the input channels (and kernel positions) output channel c reads, and E[x_k] is the
// mean of input channel k over the calibration samples (and, for Conv, every spatial position; border
// positions that read padding are not told apart, as in the paper). Wq is dequantized with the very
// parameters quantize_static uses (weight_params), so the correction matches the file written.
//
// Layers: the Conv, Gemm and MatMul nodes a static plan quantizes with a constant weight. The bias:
//   Conv    input 2; created (one value per output channel) when absent: QDQ and QLinearConv take one
//   Gemm    C, one value per output column: C -= (alpha / beta) x shift; created when absent (beta != 0)
//   MatMul  (2-D weight) the constant of the Add that alone reads its output (the exported Linear
//           pattern); MatMul has no bias input, so one without such an Add is not corrected (noted)
// ConvTranspose and MatMul weights of rank > 2 (quantized per tensor) are not corrected (noted).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "quant/quantize.h"
#include "quant/quantize_params.h"
#include "quant/quantize_plan.h"
#include "quant/weight_layout.h"

namespace ortool::quant {

// The activations whose per-channel means bias correction needs for `options`: input value name ->
// channel axis (1 for Conv, the feature axis of Gemm's A, -1 for MatMul).
Result<std::map<std::string, int64_t>> bias_correction_inputs(const ir::Model& model, const QuantizeOptions& options);

// The expected output shift per output channel when `w` (laid out as `layout`) is rounded with `p`:
// sum over each output channel's elements of (dequantized - float) x the mean of their input channel.
std::vector<double> weight_rounding_shift(const Tensor& w, const WeightLayout& layout, const QuantParams& p,
                                          const std::vector<double>& input_means);

// Corrects (or creates) the float biases of the layers `plan` quantizes, in `model`; what could not be
// corrected is added to `notes`. A missing or mis-sized mean is kInvalid, before any edit.
Result<std::vector<BiasCorrection>> correct_biases(ir::Model& model, const StaticPlan& plan, const ChannelMeans& means,
                                                   const QuantizeOptions& options, std::vector<std::string>& notes);

}  // namespace ortool::quant
