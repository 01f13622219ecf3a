// Quantization scales must be positive and finite: the scale inputs of each quantized op, and the check.
#include "lib/quant_scale_check.h"

#include <cmath>

#include "lib/op_id.h"

namespace ortool {

namespace {

// Scale inputs by op: a fixed list, or for QLinearConcat every third input from 3 on (after Y_scale).
std::vector<QuantScaleInput> scale_inputs_of(const ir::Node& n) {
  const bool onnx = ir::is_default_domain(n.domain());
  const bool ms = n.domain() == "com.microsoft";
  if (!onnx && !ms) return {};
  const std::string& op = n.op_type();
  if (op == "QuantizeLinear") return {{1, "y_scale"}};
  if (op == "DequantizeLinear") return {{1, "x_scale"}};
  if (op == "QLinearConv") return {{1, "x_scale"}, {4, "w_scale"}, {6, "y_scale"}};
  if (op == "QLinearMatMul") return {{1, "a_scale"}, {4, "b_scale"}, {6, "y_scale"}};
  if (!ms) return {};
  if (op == "QLinearAdd" || op == "QLinearMul") return {{1, "A_scale"}, {4, "B_scale"}, {6, "C_scale"}};
  if (op == "QLinearSigmoid" || op == "QLinearLeakyRelu" || op == "QLinearGlobalAveragePool" ||
      op == "QLinearAveragePool" || op == "QLinearSoftmax")
    return {{1, "X_scale"}, {3, "Y_scale"}};
  if (op == "QGemm") return {{1, "a_scale"}, {4, "b_scale"}, {7, "y_scale"}};
  if (op == "QLinearConcat") {
    std::vector<QuantScaleInput> v = {{0, "Y_scale"}};
    for (size_t i = 3; i < n.num_inputs(); i += 3) v.push_back({i, "X_scale"});
    return v;
  }
  return {};
}

}  // namespace

std::vector<QuantScaleInput> quant_scale_inputs(const ir::Node& node) {
  std::vector<QuantScaleInput> out;
  for (const QuantScaleInput& s : scale_inputs_of(node))
    if (s.index < node.num_inputs() && node.input(s.index)) out.push_back(s);
  return out;
}

Status check_quant_scale(const ir::Node& node, size_t input, const Tensor& scale) {
  if (!dtype_is_float(scale.dtype())) return Status::ok();
  for (int64_t i = 0; i < scale.numel(); ++i) {
    const double s = scale.get_double(i);
    if (s > 0 && std::isfinite(s)) continue;
    std::string_view role = "scale";
    for (const QuantScaleInput& q : scale_inputs_of(node))
      if (q.index == input) role = q.name;
    const ir::Value* v = input < node.num_inputs() ? node.input(input) : nullptr;
    const std::string name = v ? fmt::format("'{}' ", v->name()) : std::string();
    const std::string at = scale.numel() > 1 ? fmt::format(" at index {}", i) : std::string();
    return invalid("{}: scale {}({}) is {}{}; quantization scales must be positive and finite", node.describe(), name,
                   role, s, at);
  }
  return Status::ok();
}

}  // namespace ortool
