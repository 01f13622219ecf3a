// IR edits the quantizers share: scale and zero-point initializers, QuantizeLinear/DequantizeLinear
// nodes, and dropping float weights nothing reads any more. Names follow ONNX Runtime's quantizer
// (`x_scale`, `x_zero_point`, `x_QuantizeLinear`, `w_quantized`, ...), made unique in the graph: value
// names by the graph, node names by the editor (ONNX Runtime refuses a model with two nodes of one name,
// and a weight shared by several nodes gets a DequantizeLinear per quantization of it).
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "lib/graph.h"
#include "quant/quantize_params.h"

namespace ortool::quant {

inline constexpr std::string_view kMsDomain = "com.microsoft";

// The scale and zero-point values of one quantized tensor.
struct QParamValues {
  ir::Value* scale = nullptr;
  ir::Value* zero_point = nullptr;
};

class GraphEditor {
 public:
  explicit GraphEditor(ir::Graph& g);
  ir::Graph& graph() { return g_; }

  // `hint`, or `hint__N` when a node already has that name; "" stays "".
  std::string node_name(std::string_view hint);
  // Graph::add_node with a unique node name made from `name_hint`.
  ir::Node* add_node(std::string_view op_type, std::string_view domain, const std::vector<ir::Value*>& inputs,
                     const std::vector<std::string>& output_names, std::string_view name_hint);

  // An initializer named after `hint` (made unique) holding `t`, typed.
  ir::Value* add_initializer(std::string_view hint, Tensor t);
  // A zero-point initializer of `type` (uint8, int8 or int32) holding `values` with `dims`.
  ir::Value* add_zero_point(std::string_view hint, DType type, const std::vector<int32_t>& values,
                            std::vector<int64_t> dims);
  // `<base>_scale` (float32) and `<base>_zero_point` (p.type): scalars per tensor, 1-D per channel.
  QParamValues add_qparams(const std::string& base, const QuantParams& p);

  // Appends DequantizeLinear(q, scale, zero_point) named `<base>_DequantizeLinear` (axis set when per
  // channel); returns its output `<base>_DequantizeLinear_Output`, typed float32 with q's shape.
  ir::Value* add_dequantize(ir::Value* q, const QParamValues& p, int64_t axis, const std::string& base);

  // Puts a QuantizeLinear -> DequantizeLinear pair after `v` and points every use of `v` at the
  // DequantizeLinear output. A graph output keeps its name (it becomes the DequantizeLinear output and
  // `v` is renamed `<name>_QuantizeLinear_Input`). Returns the QuantizeLinear node.
  ir::Node* insert_qdq(ir::Value* v, const QParamValues& p);

  // Removes `v` once nothing reads it: an initializer (and the graph input it backed) or a Constant node.
  void drop_if_unused(ir::Value* v);

 private:
  ir::Graph& g_;
  std::unordered_set<std::string> node_names_;
};

// Sets the value's type to `elem` with the shape of `like` (when known).
void set_type_like(ir::Value* v, DType elem, const ir::Value* like);

// Removes `v` once nothing reads it: an initializer (and the graph input it backed) or a Constant node.
void drop_constant_if_unused(ir::Graph& g, ir::Value* v);

// Input `i` of `n` (a constant: initializer or Constant node) now holds `t`: the value is updated in
// place when `n` is its only reader, else `n` gets a new initializer named after it and the old one is
// dropped if nothing else reads it. For float-model rewrites (equalization, bias correction).
void replace_constant_input(ir::Graph& g, ir::Node* n, size_t i, Tensor t);

}  // namespace ortool::quant
