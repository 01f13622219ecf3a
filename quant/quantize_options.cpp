// The quantizers' op-type lists and option checks (unknown names are errors, not silent no-ops).
#include <algorithm>
#include <set>

#include "lib/op_id.h"
#include "quant/quantize.h"

namespace ortool::quant {

const std::vector<std::string>& supported_op_types(QuantMode mode, bool dynamic_conv) {
  static const std::vector<std::string> static_ops = {
      "Add",     "AveragePool", "Clip",    "Concat",  "Conv",      "ConvTranspose", "Flatten", "Gather", "Gemm",
      "GlobalAveragePool",      "HardSwish", "LeakyRelu", "MatMul", "MaxPool",     "Mul",     "Relu",
      "Reshape", "Resize",      "Sigmoid", "Slice",   "Softmax",   "Split",         "Squeeze", "Transpose",
      "Unsqueeze"};  // sorted
  static const std::vector<std::string> dynamic_ops = {"Gemm", "MatMul"};
  static const std::vector<std::string> dynamic_conv_ops = {"Conv", "Gemm", "MatMul"};
  if (mode == QuantMode::Static) return static_ops;
  return dynamic_conv ? dynamic_conv_ops : dynamic_ops;
}

namespace {

Status check_op_list(const std::vector<std::string>& names, const char* option, QuantMode mode, bool dynamic_conv) {
  const auto& ok = supported_op_types(mode, dynamic_conv);
  for (const std::string& n : names) {
    if (std::find(ok.begin(), ok.end(), n) != ok.end()) continue;
    if (mode == QuantMode::Dynamic && n == "Conv")
      return invalid("{}: Conv is quantized dynamically only with dynamic-conv", option);
    return invalid("{}: op type '{}' cannot be quantized {} (supported: {})", option, n,
                   mode == QuantMode::Static ? "statically" : "dynamically", fmt::join(ok, ", "));
  }
  return Status::ok();
}

}  // namespace

Status validate_options(const ir::Model& model, const QuantizeOptions& o, QuantMode mode) {
  if (o.activation_type != DType::UInt8 && o.activation_type != DType::Int8)
    return invalid("activation type {} is not supported (uint8 or int8)", dtype_name(o.activation_type));
  if (o.weight_type != DType::UInt8 && o.weight_type != DType::Int8)
    return invalid("weight type {} is not supported (int8 or uint8)", dtype_name(o.weight_type));
  if (mode == QuantMode::Dynamic) {
    if (o.activation_type != DType::UInt8)
      return invalid("dynamic quantization has uint8 activations only (DynamicQuantizeLinear), not {}",
                     dtype_name(o.activation_type));
    if (o.bias_correction)
      return invalid("bias correction applies to static quantization (it takes its input means from calibration)");
    if (o.symmetric_activations)
      return invalid("dynamic quantization computes activation ranges at run time: symmetric activations do not apply");
  } else if (o.activation_type == DType::Int8 && o.weight_type == DType::UInt8) {
    // ONNX Runtime's CPU QLinearConv has no kernel for int8 inputs with uint8 weights.
    return invalid("int8 activations with uint8 weights: ONNX Runtime has no CPU kernel for that pair; "
                   "use int8 weights");
  }
  TRY(check_op_list(o.op_types, "op types", mode, o.dynamic_conv));
  TRY(check_op_list(o.exclude_op_types, "exclude op types", mode, o.dynamic_conv));
  std::set<std::string> names;
  for (const ir::Node* n : model.graph->nodes()) names.insert(n->name);
  for (const std::string& n : o.exclude_nodes)
    if (n.empty() || !names.count(n)) return invalid("exclude nodes: the model has no node named '{}'", n);
  return Status::ok();
}

}  // namespace ortool::quant
