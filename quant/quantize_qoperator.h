// QOperator format: the QDQ groups (DequantizeLinear inputs -> op -> one QuantizeLinear) that ONNX
// Runtime's CPU provider runs as integer kernels are replaced by those kernels:
//   Conv -> QLinearConv, MatMul -> QLinearMatMul (ONNX); Gemm -> QGemm, Add -> QLinearAdd, Mul -> QLinearMul,
//   Concat -> QLinearConcat, GlobalAveragePool -> QLinearGlobalAveragePool, Sigmoid -> QLinearSigmoid,
//   LeakyRelu -> QLinearLeakyRelu, Softmax -> QLinearSoftmax (com.microsoft);
//   Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Slice, Split, MaxPool, Resize (nearest) run on the
//   8-bit tensor directly when the scale passes through unchanged.
// Groups that do not fit (ConvTranspose, AveragePool, HardSwish, a float bias, ...) stay in QDQ form,
// which both runtimes run as well.
#pragma once

#include "lib/graph.h"
#include "quant/quantize.h"

namespace ortool::quant {

// Lowers the QDQ groups of `model`'s main graph; updates the report's details of lowered nodes.
Status lower_to_qoperator(ir::Model& model, QuantizeReport& report);

}  // namespace ortool::quant
