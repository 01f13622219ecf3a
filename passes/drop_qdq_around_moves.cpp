// Pass drop_qdq_around_moves: data-movement ops (Transpose, Reshape, Slice, Gather...: they only move, copy or
// pick elements) run on the 8-bit side of a per-tensor DequantizeLinear or QuantizeLinear, and the pairs that
// leaves back to back go. A QDQ model quantizes the output of every such op (ONNX Runtime's quantizer does),
// which leaves float tensors made, moved and quantized again between int8 kernels: the attention of a
// quantized transformer had ten such pairs per layer. ONNX Runtime drops the pairs at load (its QDQ "drop
// DQ/Q" rules); here the written model has them gone, so every runtime gains. Rewrites:
//   DQ -> move -> Q, same parameters          => move on the 8-bit tensor
//   x -> move -> Q (move keeps the count)     => x -> Q -> move      (the Q meets the op that made x)
//   DQ -> move -> y (move keeps or cuts it)   => move -> DQ -> y     (the DQ meets the op that reads y)
//   DQ -> Q, same parameters                  => nothing
// All exact: per-tensor Q and DQ are elementwise, so they commute with moves; and Q(DQ(x)) == x for 8-bit x
// with one scale s and zero point z, as (x - z) * s / s lies within an ulp of the integer x - z (the pass
// keeps to scales where that holds: normal floats well inside the float range).
#include <cmath>

#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

// Ops that only move, copy or pick elements of their first input (other inputs: shapes, indices, axes), with
// the first opset whose type list takes 8-bit integers and what they do to the element count.
enum class Count { Same, Fewer, Any };
struct MoveOp {
  std::string_view op;
  int64_t since;
  Count count;
};
constexpr MoveOp kMoveOps[] = {
    {"Transpose", 1, Count::Same},    {"Reshape", 5, Count::Same},      {"Flatten", 9, Count::Same},
    {"Squeeze", 1, Count::Same},      {"Unsqueeze", 1, Count::Same},    {"DepthToSpace", 1, Count::Same},
    {"SpaceToDepth", 1, Count::Same}, {"Identity", 1, Count::Same},     {"Slice", 1, Count::Fewer},
    {"Gather", 1, Count::Fewer},      {"Expand", 8, Count::Any},        {"Tile", 6, Count::Any},
};

const MoveOp* move_op(const ir::Node* n, int64_t opset) {
  if (!n || !ir::is_default_domain(n->domain()) || n->num_outputs() != 1 || !n->subgraphs().empty() ||
      n->num_inputs() < 1 || !n->input(0))
    return nullptr;
  for (const MoveOp& m : kMoveOps)
    if (n->op_type() == m.op) return opset >= m.since ? &m : nullptr;
  return nullptr;
}

// Per-tensor quantization parameters of a DequantizeLinear or QuantizeLinear (inputs 1 and 2), when constant.
struct Params {
  float scale = 0;
  DType type = DType::UInt8;  // the 8-bit side's type
  int64_t zero_point = 0;
  bool operator==(const Params& o) const { return scale == o.scale && type == o.type && zero_point == o.zero_point; }
};

// A QuantizeLinear (`op`) or DequantizeLinear with constant per-tensor 8-bit parameters and no attribute that
// changes its meaning (output_dtype, block_size, saturate for float 8).
std::optional<Params> plain_params(const ir::Node* n, std::string_view op) {
  if (!n || !is_op(n, op) || n->num_outputs() != 1 || !n->output(0) || !n->subgraphs().empty() ||
      n->num_inputs() < 2 || !n->input(0))
    return std::nullopt;
  for (const ir::Attribute& a : n->attributes())
    if (a.name == "output_dtype" || a.name == "block_size" || (a.name == "saturate" && a.i != 1)) return std::nullopt;
  const Tensor* s = constant_tensor(n->input(1));
  if (!s || s->dtype() != DType::Float || s->numel() != 1) return std::nullopt;
  Params p;
  p.scale = s->data<float>()[0];
  // Within these bounds (x - z) * s is a normal float and dividing by s returns x - z within an ulp.
  if (!std::isnormal(p.scale) || std::fabs(p.scale) < 1e-30f || std::fabs(p.scale) > 1e30f) return std::nullopt;
  if (n->num_inputs() >= 3 && n->input(2)) {  // the 8-bit side has the zero point's type
    const Tensor* z = constant_tensor(n->input(2));
    if (!z || z->numel() != 1) return std::nullopt;
    p.type = z->dtype();
    if (p.type == DType::UInt8) p.zero_point = z->data<uint8_t>()[0];
    else if (p.type == DType::Int8) p.zero_point = z->data<int8_t>()[0];
    else return std::nullopt;
  } else if (op == "DequantizeLinear") {  // without one, the input says (an int32 bias is not for us)
    p.type = elem_type(n->input(0));
    if (p.type != DType::UInt8 && p.type != DType::Int8) return std::nullopt;
  }
  return p;
}

// The node of `g` reading `v` that comes first in list order (where a node computing from `v` can go).
ir::Node* first_reader(ir::Graph& g, const ir::Value* v) {
  for (ir::Node* n : g.nodes())
    for (const ir::Value* in : n->inputs())
      if (in == v) return n;
  return nullptr;
}

// A moved value's element type, where its type is known.
void set_elem(ir::Value* v, DType t) {
  if (v->type.is_tensor()) v->type.elem = t;
}

ir::Node* copy_of(ir::Graph& g, ir::Node* pos, const ir::Node& like, ir::Value* input, const std::string& out) {
  std::vector<ir::Value*> ins(like.inputs().begin(), like.inputs().end());
  ins[0] = input;
  ir::Node* n = g.insert_node_before(pos, like.op_type(), like.domain(), ins, {out}, out);
  for (const ir::Attribute& a : like.attributes()) n->set_attr(a);
  return n;
}

class DropQdqAroundMoves final : public Pass {
 public:
  std::string_view name() const override { return "drop_qdq_around_moves"; }
  std::string_view description() const override {
    return "Run Transpose/Reshape/Slice/Gather... on the 8-bit side of per-tensor QuantizeLinear/DequantizeLinear "
           "and drop the pairs of equal parameters that meet";
  }
  std::vector<std::string_view> op_types() const override { return {"QuantizeLinear", "DequantizeLinear"}; }

  Result<bool> run(ir::Model& m, ir::Graph& g, const PassContext& ctx) override {
    const int64_t opset = onnx_opset(m);
    bool changed = false;
    for (ir::Node* n : g.nodes()) {
      const bool quantize = plain_params(n, "QuantizeLinear").has_value();
      if (!quantize && !plain_params(n, "DequantizeLinear")) continue;
      if (!(quantize ? rewrite_quantize(g, n, opset, false) : rewrite_dequantize(g, n, opset, false))) continue;
      if (!ctx.allow_rewrite()) return changed;
      quantize ? rewrite_quantize(g, n, opset, true) : rewrite_dequantize(g, n, opset, true);
      changed = true;
    }
    return changed;
  }

 private:
  // DQ -> Q of equal parameters, DQ -> move -> Q of equal parameters, x -> move -> Q. Checks only unless `apply`.
  static bool rewrite_quantize(ir::Graph& g, ir::Node* q, int64_t opset, bool apply) {
    const Params pq = *plain_params(q, "QuantizeLinear");
    ir::Node* prev = q->input(0)->producer();
    if (auto pd = plain_params(prev, "DequantizeLinear"); pd && *pd == pq) {  // Q(DQ(x)) == x
      if (!can_forward(q->output(0), prev->input(0))) return false;
      if (apply) forward_outputs(g, q, {prev->input(0)});
      return true;
    }
    const MoveOp* mv = move_op(prev, opset);
    if (!mv || single_consumer(prev->output(0)) != q || !can_forward(q->output(0), prev->output(0))) return false;
    ir::Node* dq = prev->input(0)->producer();
    if (auto pd = plain_params(dq, "DequantizeLinear"); pd && *pd == pq) {
      if (apply) {
        g.set_input(prev, 0, dq->input(0));
        set_elem(prev->output(0), pq.type);
        forward_outputs(g, q, {prev->output(0)});  // a DQ left unread goes with eliminate_dead_code
      }
      return true;
    }
    if (mv->count != Count::Same || elem_type(prev->input(0)) != DType::Float) return false;
    if (apply) {
      ir::Value* x = prev->input(0);
      ir::Node* q2 = copy_of(g, prev, *q, x, q->output(0)->name() + "_moved");
      q2->output(0)->type = Type::tensor(pq.type, x->type.shape);
      g.set_input(prev, 0, q2->output(0));
      set_elem(prev->output(0), pq.type);
      forward_outputs(g, q, {prev->output(0)});
    }
    return true;
  }

  // DQ -> move -> y with the move keeping or cutting the count: move -> DQ -> y.
  static bool rewrite_dequantize(ir::Graph& g, ir::Node* dq, int64_t opset, bool apply) {
    ir::Node* mv = single_consumer(dq->output(0));
    const MoveOp* op = move_op(mv, opset);
    if (!op || op->count == Count::Any || mv->input(0) != dq->output(0) || mv->output(0)->is_graph_output()) return false;
    for (size_t i = 1; i < mv->num_inputs(); ++i)
      if (mv->input(i) == dq->output(0)) return false;
    ir::Value* y = mv->output(0);
    if (!y->has_uses()) return false;
    for (const ir::Use& u : y->uses())
      if (u.node->graph() != &g) return false;  // read inside a subgraph: the DQ would have no place here
    if (apply) {
      ir::Node* dq2 = copy_of(g, first_reader(g, y), *dq, y, y->name() + "_dequantized");
      dq2->output(0)->type = y->type;
      std::vector<ir::Use> readers;
      for (const ir::Use& u : y->uses())
        if (u.node != dq2) readers.push_back(u);
      for (const ir::Use& u : readers) g.set_input(u.node, static_cast<size_t>(u.index), dq2->output(0));
      g.set_input(mv, 0, dq->input(0));
      set_elem(y, plain_params(dq, "DequantizeLinear")->type);
    }
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> make_drop_qdq_around_moves() { return std::make_unique<DropQdqAroundMoves>(); }

}  // namespace ortool::passes
