// Quantization scales must be positive and finite: which inputs of the quantized ops hold scales, and the check.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "lib/tensor.h"

namespace ortool {

// One input of a quantized op that holds a scale.
struct QuantScaleInput {
  size_t index;
  std::string_view name;  // the input's name in the op's schema ("y_scale")
};

// The scale inputs of `node` (QuantizeLinear, DequantizeLinear, QLinearConv, QLinearMatMul and the
// com.microsoft QLinear* ops and QGemm) that the node has; empty for every other op.
std::vector<QuantScaleInput> quant_scale_inputs(const ir::Node& node);

// Error naming the node, the scale's value and the schema input when an element of `scale` (input
// `input` of `node`) is 0, negative, NaN or infinite. ONNX requires positive scales; such a scale makes
// every quantized value saturate or NaN (ONNX Runtime 1.30 runs them so). Tensors of non-float types
// pass (the kernels refuse them with their own message).
Status check_quant_scale(const ir::Node& node, size_t input, const Tensor& scale);

}  // namespace ortool
