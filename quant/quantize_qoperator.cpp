// Lowering QDQ groups to QLinear ops (QOperator format); groups that do not fit stay in QDQ form.
#include "quant/quantize_qoperator.h"

#include <optional>
#include <set>

#include "lib/op_id.h"
#include "passes/pass_util.h"
#include "quant/quantize_graph.h"
#include "quant/quantize_report.h"

namespace ortool::quant {

namespace {

// A DequantizeLinear feeding an op: its 8-bit (or int32) input and parameters.
struct DqInput {
  ir::Node* dq = nullptr;
  ir::Value* q = nullptr;
  ir::Value* scale = nullptr;
  ir::Value* zero_point = nullptr;
  int64_t axis = -1;  // -1: per tensor
  DType type() const { return zero_point->constant()->dtype(); }
};

bool is_8bit(DType t) { return t == DType::UInt8 || t == DType::Int8; }

// The DequantizeLinear producing `v`, with constant parameters (zero point present).
std::optional<DqInput> dq_input(ir::Value* v) {
  if (!v || !v->producer() || !ir::is_op(*v->producer(), "DequantizeLinear")) return std::nullopt;
  ir::Node* dq = v->producer();
  DqInput d{dq, dq->input(0), dq->input(1), dq->input(2), -1};
  if (!d.q || !d.scale || !d.zero_point || !d.scale->is_constant() || !d.zero_point->is_constant()) return std::nullopt;
  if (d.scale->constant()->numel() != 1) {
    const int64_t rank = passes::value_rank(d.q);
    if (rank < 0) return std::nullopt;
    d.axis = passes::normalize_axis(dq->attr_int("axis", 1), rank).value_or(-2);
    if (d.axis < 0) return std::nullopt;
  }
  return d;
}
std::optional<DqInput> dq_per_tensor_8bit(ir::Value* v) {
  auto d = dq_input(v);
  if (!d || d->axis >= 0 || !is_8bit(d->type())) return std::nullopt;
  return d;
}

// The QuantizeLinear that is the only reader of `v` (v not a graph output), with constant parameters.
ir::Node* single_q(ir::Value* v) {
  ir::Node* q = passes::single_consumer(v);
  if (!q || !ir::is_op(*q, "QuantizeLinear") || q->num_inputs() < 3 || !q->input(1)->is_constant() ||
      !q->input(2)->is_constant() || q->input(1)->constant()->numel() != 1 || !is_8bit(q->input(2)->constant()->dtype()))
    return nullptr;
  return q;
}

bool same_params(const ir::Node& q, const DqInput& d) {
  return q.input(1)->constant()->equals(*d.scale->constant()) && q.input(2)->constant()->equals(*d.zero_point->constant());
}

class Lowering {
 public:
  Lowering(ir::Model& m, QuantizeReport& r) : m_(m), g_(*m.graph), ed_(g_), report_(r) {}

  Status run() {
    ASSIGN_OR_RETURN(std::vector<ir::Node*> order, g_.topological_order());
    std::vector<std::string> labels;
    for (ir::Node* n : order) labels.push_back(node_label(*n));
    for (size_t i = 0; i < order.size(); ++i) {
      ir::Node* n = order[i];
      if (removed_.count(n) || !ir::is_default_domain(n->domain())) continue;
      std::string op = lower(n);
      if (!op.empty()) set_quantized_detail(report_, labels[i], op);
    }
    if (uses_ms_) m_.set_opset(kMsDomain, 1);
    return Status::ok();
  }

 private:
  // Returns the op the node became ("" when it stays as it is).
  std::string lower(ir::Node* n) {
    const std::string& t = n->op_type();
    if (t == "Conv") return lower_conv(n);
    if (t == "MatMul") return lower_matmul(n);
    if (t == "Gemm") return lower_gemm(n);
    if (t == "Add" || t == "Mul") return lower_simple(n, "QLinear" + t, 2, true);
    if (t == "GlobalAveragePool") return lower_simple(n, "QLinearGlobalAveragePool", 1, true);
    if (t == "Sigmoid") return lower_simple(n, "QLinearSigmoid", 1, true);
    if (t == "LeakyRelu") return lower_simple(n, "QLinearLeakyRelu", 1, true);
    if (t == "Softmax") return lower_simple(n, "QLinearSoftmax", 1, true);
    if (t == "Concat") return lower_concat(n);
    for (const char* p : {"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Slice", "Split"})
      if (t == p) return lower_passthrough(n);
    if (t == "MaxPool" && ir::node_opset(m_, *n) >= 12 && n->num_outputs() == 1) return lower_passthrough(n);
    if (t == "Resize" && n->attr_string("mode", "nearest") == "nearest") return lower_passthrough(n);
    return {};
  }

  // Makes `op` (domain `domain`) with `inputs`, taking the place of the group: `q` (the output's
  // QuantizeLinear) and `n` go, the new node's output takes q's output name.
  ir::Node* replace_group(ir::Node* n, ir::Node* q, const std::string& op, std::string_view domain,
                          const std::vector<ir::Value*>& inputs) {
    ir::Value* out = q->output(0);
    const std::string name = n->name;
    ir::Node* node = ed_.add_node(op, domain, inputs, {out->name() + "_lowered"}, name + "_lowered");
    node->output(0)->type = out->type;
    std::set<ir::Node*> dqs;
    for (ir::Value* v : n->inputs())
      if (v && v->producer() && ir::is_op(*v->producer(), "DequantizeLinear")) dqs.insert(v->producer());
    g_.replace_all_uses(out, node->output(0));
    const std::string out_name = out->name();
    erase(q);
    erase(n);
    g_.rename_value(node->output(0), out_name);
    node->name = name;  // the group's node is gone: its name moves to the node that replaces it
    for (ir::Node* dq : dqs) remove_if_dead(dq);
    if (!ir::is_default_domain(domain)) uses_ms_ = true;
    return node;
  }

  void remove_if_dead(ir::Node* n) {
    for (ir::Value* o : n->outputs())
      if (o && (o->has_uses() || o->is_graph_output())) return;
    std::vector<ir::Value*> inputs(n->inputs().begin(), n->inputs().end());
    erase(n);
    for (ir::Value* v : inputs) {
      // drop_if_unused may remove the Constant node that made v: run() must not visit it afterwards.
      if (v && !v->has_uses() && !v->is_graph_output() && v->producer()) removed_.insert(v->producer());
      ed_.drop_if_unused(v);
    }
  }

  // Every removal goes through here: run() walks a snapshot of the nodes and skips the ones in removed_.
  void erase(ir::Node* n) {
    removed_.insert(n);
    g_.remove_node(n);
  }

  std::string lower_conv(ir::Node* n) {
    auto x = dq_per_tensor_8bit(n->input(0));
    auto w = dq_input(n->input(1));
    ir::Node* q = single_q(n->output(0));
    if (!x || !w || !q || !w->q->is_constant() || !is_8bit(w->type()) || (w->axis != -1 && w->axis != 0))
      return {};
    std::optional<DqInput> b;
    if (n->has_input(2)) {
      b = dq_input(n->input(2));
      if (!b || b->type() != DType::Int32 || !b->q->is_constant()) return {};
    }
    std::vector<ir::Value*> in = {x->q, x->scale, x->zero_point, w->q, w->scale, w->zero_point, q->input(1), q->input(2)};
    if (b) in.push_back(b->q);
    std::vector<ir::Attribute> attrs = n->attributes();
    ir::Node* node = replace_group(n, q, "QLinearConv", "", in);
    for (auto& a : attrs) node->set_attr(a);
    return "QLinearConv";
  }

  std::string lower_matmul(ir::Node* n) {
    auto a = dq_per_tensor_8bit(n->input(0));
    auto b = dq_input(n->input(1));
    ir::Node* q = single_q(n->output(0));
    if (!a || !b || !q || !is_8bit(b->type())) return {};
    if (b->axis >= 0 && (passes::value_rank(b->q) != 2 || b->axis != 1)) return {};
    replace_group(n, q, "QLinearMatMul", "",
                  {a->q, a->scale, a->zero_point, b->q, b->scale, b->zero_point, q->input(1), q->input(2)});
    return "QLinearMatMul";
  }

  std::string lower_gemm(ir::Node* n) {
    auto a = dq_per_tensor_8bit(n->input(0));
    auto b = dq_input(n->input(1));
    ir::Node* q = single_q(n->output(0));
    if (!a || !b || !q || !b->q->is_constant() || !is_8bit(b->type())) return {};
    const bool trans_b = n->attr_int("transB", 0) != 0;
    if (b->axis >= 0 && b->axis != (trans_b ? 0 : 1)) return {};
    std::vector<ir::Value*> in = {a->q, a->scale, a->zero_point, b->q, b->scale, b->zero_point, nullptr,
                                  q->input(1), q->input(2)};
    if (n->has_input(2)) {
      auto c = dq_input(n->input(2));
      if (!c || c->type() != DType::Int32 || n->attr_float("beta", 1.0f) != 1.0f || n->attr_float("alpha", 1.0f) != 1.0f)
        return {};
      in[6] = c->q;
    }
    const int64_t trans_a = n->attr_int("transA", 0);
    const float alpha = n->attr_float("alpha", 1.0f);
    ir::Node* node = replace_group(n, q, "QGemm", kMsDomain, in);
    node->set_attr(ir::Attribute::make_int("transA", trans_a));
    node->set_attr(ir::Attribute::make_int("transB", trans_b ? 1 : 0));
    node->set_attr(ir::Attribute::make_float("alpha", alpha));
    return "QGemm";
  }

  // Ops whose inputs 0..n_in-1 and output are each quantized per tensor: X, Xs, Xz, ..., Ys, Yz.
  std::string lower_simple(ir::Node* n, const std::string& op, size_t n_in, bool ms) {
    ir::Node* q = single_q(n->output(0));
    if (!q || n->num_inputs() != n_in || n->num_outputs() != 1) return {};
    std::vector<ir::Value*> in;
    for (size_t i = 0; i < n_in; ++i) {
      auto d = dq_per_tensor_8bit(n->input(i));
      if (!d || d->type() != q->input(2)->constant()->dtype()) return {};
      in.insert(in.end(), {d->q, d->scale, d->zero_point});
    }
    in.push_back(q->input(1));
    in.push_back(q->input(2));
    std::vector<ir::Attribute> attrs;
    if (n->op_type() == "LeakyRelu")
      attrs.push_back(ir::Attribute::make_float("alpha", n->attr_float("alpha", 0.01f)));
    if (n->op_type() == "GlobalAveragePool") attrs.push_back(ir::Attribute::make_int("channels_last", 0));
    if (n->op_type() == "Softmax") {
      const int64_t opset = ir::node_opset(m_, *n);
      attrs.push_back(ir::Attribute::make_int("axis", n->attr_int("axis", opset >= 13 ? -1 : 1)));
      attrs.push_back(ir::Attribute::make_int("opset", opset));
    }
    ir::Node* node = replace_group(n, q, op, ms ? kMsDomain : "", in);
    for (auto& a : attrs) node->set_attr(a);
    return op;
  }

  std::string lower_concat(ir::Node* n) {
    ir::Node* q = single_q(n->output(0));
    if (!q || n->num_inputs() == 0) return {};
    std::vector<ir::Value*> in = {q->input(1), q->input(2)};
    for (ir::Value* v : n->inputs()) {
      auto d = dq_per_tensor_8bit(v);
      if (!d || d->type() != q->input(2)->constant()->dtype()) return {};
      in.insert(in.end(), {d->q, d->scale, d->zero_point});
    }
    const int64_t axis = n->attr_int("axis", 0);
    ir::Node* node = replace_group(n, q, "QLinearConcat", kMsDomain, in);
    node->set_attr(ir::Attribute::make_int("axis", axis));
    return "QLinearConcat";
  }

  // An op that moves values: run it on the 8-bit input when every output is requantized with the
  // input's own scale and zero point.
  std::string lower_passthrough(ir::Node* n) {
    auto d = dq_per_tensor_8bit(n->input(0));
    if (!d) return {};
    std::vector<ir::Node*> qs;
    for (ir::Value* o : n->outputs()) {
      ir::Node* q = o ? single_q(o) : nullptr;
      if (!q || !same_params(*q, *d)) return {};
      qs.push_back(q);
    }
    ir::Node* dq = d->dq;
    g_.set_input(n, 0, d->q);
    for (size_t i = 0; i < qs.size(); ++i) {
      ir::Value* out = n->output(i);
      ir::Value* q_out = qs[i]->output(0);
      const std::string name = q_out->name();
      out->type = Type::tensor(d->type(), out->type.is_tensor() ? out->type.shape : std::nullopt);
      g_.replace_all_uses(q_out, out);
      erase(qs[i]);
      g_.rename_value(out, g_.unique_name(name));
    }
    remove_if_dead(dq);
    return n->op_type() + " on 8-bit values";
  }

  ir::Model& m_;
  ir::Graph& g_;
  GraphEditor ed_;
  QuantizeReport& report_;
  std::set<const ir::Node*> removed_;
  bool uses_ms_ = false;
};

}  // namespace

Status lower_to_qoperator(ir::Model& model, QuantizeReport& report) { return Lowering(model, report).run(); }

}  // namespace ortool::quant
