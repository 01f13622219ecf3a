// Quantization arithmetic: scales and zero points from ranges, weights per tensor or per channel,
// and int32 biases whose weight scale is raised where the bias would overflow.
//
// The formulas are ONNX Runtime's (quant_utils.compute_scale_zp), so a model quantized by ortool and
// by ONNX Runtime's tool from the same ranges gets the same parameters:
//     range widened to contain 0; symmetric: [-absmax, absmax]
//     scale = (rmax - rmin) / (qmax - qmin)      (1.0 when the range is empty)
//     zero point = round(qmin - rmin / scale), or the middle of [qmin, qmax] when symmetric
//     q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax)
#pragma once

#include <cstdint>
#include <vector>

#include "lib/tensor.h"
#include "quant/ranges.h"

namespace ortool::quant {

// The integer range used for a type: int8 symmetric is [-127, 127] (so -x quantizes to -q),
// reduce-range keeps 7 bits ([0, 127], [-64, 64]).
struct IntRange {
  int32_t qmin = 0;
  int32_t qmax = 255;
};
IntRange int_range(DType type, bool symmetric, bool reduce_range);

// Scale and zero point of one tensor or one channel.
struct ScaleZero {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
ScaleZero scale_zero_point(double rmin, double rmax, IntRange q, bool symmetric);

// Parameters of a quantized tensor: one scale and zero point, or one per channel along `axis`.
struct QuantParams {
  DType type = DType::UInt8;
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  int64_t axis = -1;  // -1: per tensor
  bool per_channel() const { return axis >= 0; }
  bool operator==(const QuantParams&) const = default;
};

// Activation parameters (per tensor) from a calibrated range.
QuantParams activation_params(const TensorRange& r, DType type, bool symmetric);

// `x` (float32) quantized with `p`: per tensor, or per channel along p.axis.
Tensor quantize_tensor(const Tensor& x, const QuantParams& p);

// A float32 weight quantized per channel along `axis` (axis < 0: per tensor) with parameters from its
// own values: symmetric int8 (zero point 0) or, for uint8, asymmetric per tensor and symmetric
// (zero point 128 on every channel, which ONNX Runtime's kernels require) per channel.
QuantParams weight_params(const Tensor& w, DType type, int64_t axis, bool reduce_range);

// The values of channel c of `w` along `axis` as a flat list (axis < 0: all values).
std::vector<float> channel_values(const Tensor& w, int64_t axis, int64_t c);

// An int32 bias b[i] = round(bias[i] / (input_scale * weight_scale[channel(i)])) where channel(i) is
// i modulo the number of weight channels (ConvTranspose with groups repeats its axis-1 channels).
// Where a quotient would not fit int32, that channel's weight scale is raised first (the weight must
// then be requantized with `weight`); `raised` counts the channels raised.
struct QuantizedBias {
  Tensor q;                   // int32, the bias's dims
  std::vector<float> scale;   // per bias element (or one when bias and weight are per tensor)
  int64_t raised = 0;
};
QuantizedBias quantize_bias(const Tensor& bias, float input_scale, QuantParams& weight);

}  // namespace ortool::quant
