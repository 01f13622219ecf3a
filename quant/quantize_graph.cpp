// IR edits the quantizers share: parameter initializers, Q/DQ nodes, unique node names, dropping unused weights.
#include "quant/quantize_graph.h"

#include <memory>

#include "lib/op_id.h"
#include "passes/pass_util.h"

namespace ortool::quant {

GraphEditor::GraphEditor(ir::Graph& g) : g_(g) {
  for (const ir::Node* n : g.nodes())
    if (!n->name.empty()) node_names_.insert(n->name);
}

std::string GraphEditor::node_name(std::string_view hint) {
  if (hint.empty()) return {};
  std::string name(hint);
  for (int i = 1; node_names_.count(name); ++i) name = fmt::format("{}__{}", hint, i);
  node_names_.insert(name);
  return name;
}

ir::Node* GraphEditor::add_node(std::string_view op_type, std::string_view domain,
                                const std::vector<ir::Value*>& inputs, const std::vector<std::string>& output_names,
                                std::string_view name_hint) {
  return g_.add_node(op_type, domain, inputs, output_names, node_name(name_hint));
}

ir::Value* GraphEditor::add_initializer(std::string_view hint, Tensor t) {
  ir::Value* v = g_.add_initializer(g_.unique_name(hint), std::make_shared<const Tensor>(std::move(t)));
  v->type = Type::tensor(v->constant()->dtype(), shape_from_dims(v->constant()->dims()));
  return v;
}

ir::Value* GraphEditor::add_zero_point(std::string_view hint, DType type, const std::vector<int32_t>& values,
                                       std::vector<int64_t> dims) {
  Tensor zp(type, std::move(dims));
  for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < zp.numel(); ++i) {
    if (type == DType::UInt8) zp.mutable_data<uint8_t>()[i] = static_cast<uint8_t>(values[i]);
    else if (type == DType::Int8) zp.mutable_data<int8_t>()[i] = static_cast<int8_t>(values[i]);
    else zp.mutable_data<int32_t>()[i] = values[i];
  }
  return add_initializer(hint, std::move(zp));
}

QParamValues GraphEditor::add_qparams(const std::string& base, const QuantParams& p) {
  const bool vec = p.per_channel();
  const std::vector<int64_t> dims = vec ? std::vector<int64_t>{static_cast<int64_t>(p.scale.size())}
                                        : std::vector<int64_t>{};
  QParamValues out;
  out.scale = add_initializer(base + "_scale", Tensor::from_vector(DType::Float, dims, p.scale));
  out.zero_point = add_zero_point(base + "_zero_point", p.type, p.zero_point, dims);
  return out;
}

void set_type_like(ir::Value* v, DType elem, const ir::Value* like) {
  v->type = Type::tensor(elem, like && like->type.is_tensor() ? like->type.shape : std::nullopt);
}

ir::Value* GraphEditor::add_dequantize(ir::Value* q, const QParamValues& p, int64_t axis, const std::string& base) {
  ir::Node* dq = add_node("DequantizeLinear", "", {q, p.scale, p.zero_point}, {base + "_DequantizeLinear_Output"},
                          base + "_DequantizeLinear");
  if (axis >= 0) dq->set_attr(ir::Attribute::make_int("axis", axis));
  set_type_like(dq->output(0), DType::Float, q);
  return dq->output(0);
}

ir::Node* GraphEditor::insert_qdq(ir::Value* v, const QParamValues& p) {
  const std::string base = v->name();
  const DType qtype = p.zero_point->constant()->dtype();
  ir::Node* q = add_node("QuantizeLinear", "", {v, p.scale, p.zero_point}, {base + "_QuantizeLinear_Output"},
                         base + "_QuantizeLinear");
  set_type_like(q->output(0), qtype, v);
  ir::Node* dq = add_node("DequantizeLinear", "", {q->output(0), p.scale, p.zero_point},
                          {base + "_DequantizeLinear_Output"}, base + "_DequantizeLinear");
  ir::Value* out = dq->output(0);
  set_type_like(out, DType::Float, v);
  const bool graph_output = v->is_graph_output();
  g_.replace_all_uses(v, out);
  g_.set_input(q, 0, v);  // replace_all_uses pointed the QuantizeLinear at its own pair too
  if (graph_output) {
    // The graph output keeps its name: the DequantizeLinear output takes it.
    const std::string name = v->name();
    g_.rename_value(v, g_.unique_name(name + "_QuantizeLinear_Input"));
    g_.rename_value(out, name);
  }
  return q;
}

void GraphEditor::drop_if_unused(ir::Value* v) { drop_constant_if_unused(g_, v); }

void drop_constant_if_unused(ir::Graph& g, ir::Value* v) {
  if (!v || v->has_uses() || v->is_graph_output()) return;
  if (ir::Node* p = v->producer()) {
    if (ir::is_op(*p, "Constant")) g.remove_node(p);
    return;
  }
  if (v->is_graph_input()) {
    if (!v->is_constant()) return;  // a real input stays, read or not
    g.remove_input(v);
  }
  g.remove_value(v);
}

void replace_constant_input(ir::Graph& g, ir::Node* n, size_t i, Tensor t) {
  ir::Value* old = n->input(i);
  if (old && old->is_constant() && !old->is_graph_input() && !old->is_graph_output() && old->uses().size() == 1) {
    t.name.clear();
    g.set_constant(old, std::make_shared<const Tensor>(std::move(t)));
    return;
  }
  ir::Value* v = passes::add_constant(g, old ? old->name() : (n->output(0) ? n->output(0)->name() : n->name) + "_bias", std::move(t));
  g.set_input(n, i, v);
  drop_constant_if_unused(g, old);
}

}  // namespace ortool::quant
