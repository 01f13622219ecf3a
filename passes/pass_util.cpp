// Small helpers shared by the passes: constant lookup, shapes, forwarding a node's outputs.
#include "passes/pass_util.h"

#include <algorithm>
#include <memory>
#include <string>

namespace ortool::passes {

bool is_op(const ir::Node* n, std::string_view op_type) { return n && ir::is_op(*n, op_type); }

int64_t onnx_opset(const ir::Model& m) {
  int64_t v = m.opset("");
  return v == 0 ? 1 : v;
}

std::optional<Tensor> constant_node_tensor(const ir::Node& n) {
  if (!is_op(&n, "Constant") || n.num_outputs() != 1 || n.attributes().size() != 1) return std::nullopt;
  const ir::Attribute& a = n.attributes()[0];
  if (a.name == "value" && a.type == ir::AttrType::Tensor && a.t) return *a.t;
  if (a.name == "value_float" && a.type == ir::AttrType::Float) return Tensor::scalar_f32(a.f);
  if (a.name == "value_int" && a.type == ir::AttrType::Int) return Tensor::scalar_i64(a.i);
  if (a.name == "value_floats" && a.type == ir::AttrType::Floats)
    return Tensor::from_vector(DType::Float, {static_cast<int64_t>(a.floats.size())}, a.floats);
  if (a.name == "value_ints" && a.type == ir::AttrType::Ints)
    return Tensor::from_vector(DType::Int64, {static_cast<int64_t>(a.ints.size())}, a.ints);
  if (a.name == "value_string" && a.type == ir::AttrType::String) {
    Tensor t(DType::String, {});
    t.mutable_strings() = {a.s};
    return t;
  }
  if (a.name == "value_strings" && a.type == ir::AttrType::Strings) {
    Tensor t(DType::String, {static_cast<int64_t>(a.strings.size())});
    t.mutable_strings() = a.strings;
    return t;
  }
  return std::nullopt;  // sparse_value and malformed nodes are left to the runtime
}

const Tensor* constant_tensor(const ir::Value* v) {
  if (!v) return nullptr;
  if (v->is_constant()) return v->is_graph_input() ? nullptr : v->constant().get();
  const ir::Node* p = v->producer();
  if (is_op(p, "Constant") && p->attributes().size() == 1) {
    const ir::Attribute& a = p->attributes()[0];
    if (a.name == "value" && a.type == ir::AttrType::Tensor && a.t) return a.t.get();
  }
  return nullptr;
}

std::optional<std::vector<int64_t>> constant_ints(const ir::Value* v) {
  const Tensor* t = constant_tensor(v);
  if (!t || !dtype_is_integer(t->dtype())) return std::nullopt;
  return t->to_int64_vector();
}

std::optional<std::vector<float>> constant_floats(const ir::Value* v) {
  const Tensor* t = constant_tensor(v);
  if (!t || t->dtype() != DType::Float) return std::nullopt;
  const float* p = t->data<float>();
  return std::vector<float>(p, p + t->numel());
}

std::optional<double> constant_scalar(const ir::Value* v) {
  const Tensor* t = constant_tensor(v);
  if (!t || t->numel() != 1 || t->is_string()) return std::nullopt;
  return t->get_double(0);
}

ir::Node* single_consumer(const ir::Value* v) {
  if (!v || v->uses().size() != 1 || v->is_graph_output()) return nullptr;
  return v->uses()[0].node;
}

DType elem_type(const ir::Value* v) {
  if (!v) return DType::Undefined;
  if (const Tensor* t = constant_tensor(v)) return t->dtype();
  if (v->is_constant()) return v->constant()->dtype();
  return v->type.is_tensor() ? v->type.elem : DType::Undefined;
}

std::optional<Shape> value_shape(const ir::Value* v) {
  if (!v) return std::nullopt;
  if (const Tensor* t = constant_tensor(v)) return shape_from_dims(t->dims());
  if (v->is_constant() && v->type.kind == Type::Kind::None) return shape_from_dims(v->constant()->dims());
  if (v->type.is_tensor() && v->type.shape) return *v->type.shape;
  return std::nullopt;
}

std::optional<std::vector<int64_t>> static_shape(const ir::Value* v) {
  auto s = value_shape(v);
  if (!s) return std::nullopt;
  return static_dims(*s);
}

int64_t value_rank(const ir::Value* v) {
  auto s = value_shape(v);
  return s ? static_cast<int64_t>(s->size()) : -1;
}

ir::Value* add_constant(ir::Graph& g, std::string_view hint, Tensor t) {
  t.name.clear();
  Type type = Type::tensor(t.dtype(), shape_from_dims(t.dims()));
  ir::Value* v = g.add_initializer(g.unique_name(hint), std::make_shared<const Tensor>(std::move(t)));
  v->type = std::move(type);
  return v;
}

bool can_forward(const ir::Value* from, const ir::Value* to) {
  if (!from || !to || from == to) return false;
  if (!from->is_graph_output()) return true;
  // A graph output keeps its name: the surviving value takes it, so it must be a plain node output
  // of the same graph that is not itself a graph output.
  return to->graph() == from->graph() && to->producer() != nullptr && !to->is_graph_input() &&
         !to->is_graph_output() && !to->is_constant();
}

bool forward_outputs(ir::Graph& g, ir::Node* n, const std::vector<ir::Value*>& to) {
  if (to.size() != n->num_outputs()) return false;
  for (size_t i = 0; i < to.size(); ++i) {
    ir::Value* o = n->output(i);
    if (!o) continue;
    if (!to[i]) {
      if (o->has_uses() || o->is_graph_output()) return false;
    } else if (!can_forward(o, to[i])) {
      return false;
    }
  }
  // The two values are equal, so they have the same type; keep the more precise annotation.
  std::vector<std::pair<ir::Value*, std::string>> renames;
  for (size_t i = 0; i < to.size(); ++i) {
    ir::Value* o = n->output(i);
    if (!o || !to[i]) continue;
    if (o->is_graph_output()) {
      renames.emplace_back(to[i], o->name());
      if (o->type.kind != Type::Kind::None) to[i]->type = o->type;
      if (to[i]->doc_string.empty()) to[i]->doc_string = o->doc_string;
    } else if (to[i]->type.kind == Type::Kind::None && o->type.kind != Type::Kind::None && !to[i]->is_constant()) {
      to[i]->type = o->type;
    }
    g.replace_all_uses(o, to[i]);
  }
  g.remove_node(n);
  for (auto& [v, name] : renames) v->graph()->rename_value(v, name);
  return true;
}

void remove_dead_chain(ir::Graph& g, ir::Node* n) {
  while (n && n->subgraphs().empty()) {
    for (ir::Value* o : n->outputs())
      if (o && (o->has_uses() || o->is_graph_output())) return;
    ir::Node* next = nullptr;
    if (n->num_inputs() == 1 && n->input(0) && n->input(0)->graph() == &g) next = n->input(0)->producer();
    g.remove_node(n);
    n = next;
  }
}

namespace {
bool tensors_equal(const TensorPtr& a, const TensorPtr& b) {
  if (a == b) return true;
  if (!a || !b) return false;
  return a->equals(*b);
}
}  // namespace

bool is_weight_dequantize(const ir::Node& n) {
  return is_op(&n, "DequantizeLinear") && ir::is_default_domain(n.domain()) && n.num_inputs() >= 1 &&
         n.num_outputs() == 1 && n.output(0) && n.subgraphs().empty() && constant_tensor(n.input(0)) != nullptr;
}

bool attributes_equal(const ir::Attribute& a, const ir::Attribute& b) {
  if (a.name != b.name || a.type != b.type || a.ref_attr_name != b.ref_attr_name) return false;
  if (a.f != b.f && !(a.f != a.f && b.f != b.f)) return false;
  if (a.i != b.i || a.s != b.s || a.ints != b.ints || a.strings != b.strings || a.opaque != b.opaque) return false;
  if (a.floats.size() != b.floats.size()) return false;
  for (size_t i = 0; i < a.floats.size(); ++i)
    if (a.floats[i] != b.floats[i]) return false;
  if (!tensors_equal(a.t, b.t)) return false;
  if (a.tensors.size() != b.tensors.size()) return false;
  for (size_t i = 0; i < a.tensors.size(); ++i)
    if (!tensors_equal(a.tensors[i], b.tensors[i])) return false;
  if (a.g != b.g || a.graphs != b.graphs) return false;
  return true;
}

std::optional<int64_t> normalize_axis(int64_t axis, int64_t rank) {
  if (rank < 0 || axis < -rank || axis >= rank) return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

}  // namespace ortool::passes
