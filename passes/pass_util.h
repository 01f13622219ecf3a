// Small helpers shared by the passes: constant lookup, shapes, forwarding a node's outputs.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "lib/graph.h"
#include "lib/op_id.h"
#include "lib/tensor.h"

namespace ortool::passes {

// ir::is_op for a node that may be null (a value's producer): a node of the default ONNX domain
// with this op type.
bool is_op(const ir::Node* n, std::string_view op_type);
// The model's default-domain opset (1 when not imported).
int64_t onnx_opset(const ir::Model& m);

// The tensor of a value that nobody can override: an initializer that is not a graph input (a
// graph input's initializer is only a default the caller may replace), or the output of a Constant
// node with a dense value. Null otherwise.
const Tensor* constant_tensor(const ir::Value* v);
// The tensor a Constant node holds (value, value_float(s), value_int(s), value_string(s)), or null.
std::optional<Tensor> constant_node_tensor(const ir::Node& n);
// Integer values of a constant (any integer type), or nullopt.
std::optional<std::vector<int64_t>> constant_ints(const ir::Value* v);
// Float32 values of a constant, or nullopt.
std::optional<std::vector<float>> constant_floats(const ir::Value* v);
// A constant holding one number (any rank, one element) as double, or nullopt.
std::optional<double> constant_scalar(const ir::Value* v);

// The single node reading `v`, when `v` has exactly one use and is not a graph output.
ir::Node* single_consumer(const ir::Value* v);
// Element type: the constant's, else the declared/inferred one (Undefined when unknown).
DType elem_type(const ir::Value* v);
// The shape (dims may be symbols) when the rank is known.
std::optional<Shape> value_shape(const ir::Value* v);
// Every dim as a number, or nullopt.
std::optional<std::vector<int64_t>> static_shape(const ir::Value* v);
// Rank when known, else -1.
int64_t value_rank(const ir::Value* v);

// Adds an initializer named after `hint` (made unique) holding `t`.
ir::Value* add_constant(ir::Graph& g, std::string_view hint, Tensor t);

// Whether output `from` of a node may be replaced by `to` everywhere, graph outputs included: a
// graph output keeps its name, so `to` must be renamable (an internal node output of this graph).
bool can_forward(const ir::Value* from, const ir::Value* to);
// Replaces each output of `n` by the value at the same index of `to` (null: the output must be
// unused) and removes `n`. Graph outputs keep their names by renaming the surviving value. Does
// nothing and returns false when some output cannot be forwarded.
bool forward_outputs(ir::Graph& g, ir::Node* n, const std::vector<ir::Value*>& to);
// Removes nodes (in reverse order) whose outputs have become unused; stops at graph outputs.
void remove_dead_chain(ir::Graph& g, ir::Node* n);

// Structural equality of two attributes (graph attributes compare by identity).
bool attributes_equal(const ir::Attribute& a, const ir::Attribute& b);
// A DequantizeLinear of a constant (a quantized weight), in the default domain.
bool is_weight_dequantize(const ir::Node& n);

// Normalizes an axis against a rank; nullopt when out of range.
std::optional<int64_t> normalize_axis(int64_t axis, int64_t rank);

}  // namespace ortool::passes
