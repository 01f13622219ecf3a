// Int8 node groups (QDQ and QOperator forms) with their quantization parameters, for the fast providers.
#include "runtime/qdq_group.h"

#include <algorithm>
#include <cmath>

#include "lib/op_id.h"
#include "runtime/claim_util.h"
#include "runtime/partition.h"

namespace ortool::rt::qdq {

namespace {

// x, w, b on the core node; QOperator parameter inputs (-1 where the form has none).
const std::vector<Int8OpRule> kRules = {
    // op type       qop    op                 x  w  b   xs  xz  ws  wz  ys  yz
    {"Conv",          false, Int8Op::Conv,          0, 1, 2, -1, -1, -1, -1, -1, -1},
    {"ConvTranspose", false, Int8Op::ConvTranspose, 0, 1, 2, -1, -1, -1, -1, -1, -1},
    {"Gemm",          false, Int8Op::Gemm,          0, 1, 2, -1, -1, -1, -1, -1, -1},
    {"MatMul",        false, Int8Op::MatMul,        0, 1, -1, -1, -1, -1, -1, -1, -1},
    {"QLinearConv",   true,  Int8Op::Conv,          0, 3, 8, 1, 2, 4, 5, 6, 7},
    {"QLinearMatMul", true,  Int8Op::MatMul,        0, 3, -1, 1, 2, 4, 5, 6, 7},
};

bool is_8bit(DType t) { return t == DType::UInt8 || t == DType::Int8; }

// Sets *why (when asked) and returns nullopt.
std::nullopt_t fail(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
  return std::nullopt;
}

const ir::Value* input_at(const ir::Node& n, int i) {
  return i >= 0 && static_cast<size_t>(i) < n.num_inputs() ? n.input(static_cast<size_t>(i)) : nullptr;
}

// The float values of a session-constant scale: 1 value, or `per` values (per > 0). Empty on failure;
// every scale must be positive and finite.
std::vector<float> const_scales(const GraphView& view, const ir::Value* v, int64_t per) {
  const TensorPtr t = fixed_tensor(view, v);
  if (!t || t->dtype() != DType::Float) return {};
  const bool ok = (t->numel() == 1 && t->rank() <= 1) || (per > 0 && t->rank() == 1 && t->numel() == per);
  if (!ok) return {};
  std::vector<float> s(t->data<float>(), t->data<float>() + t->numel());
  for (float x : s)
    if (!(x > 0.0f) || !std::isfinite(x)) return {};
  return s;
}

// A per-tensor activation quantization from a scale and zero-point value; `type` when the zero point is
// absent (its element type decides otherwise).
std::optional<ActQuant> act_quant(const GraphView& view, const ir::Value* scale, const ir::Value* zp, DType type) {
  const std::vector<float> s = const_scales(view, scale, 0);
  if (s.empty()) return std::nullopt;
  ActQuant q;
  q.scale = s[0];
  q.type = type;
  if (zp) {
    const TensorPtr z = fixed_tensor(view, zp);
    if (!z || z->numel() != 1 || z->rank() > 1 || !is_8bit(z->dtype())) return std::nullopt;
    q.type = z->dtype();
    q.zero_point = static_cast<int32_t>(z->get_double(0));
  }
  return is_8bit(q.type) ? std::optional<ActQuant>(q) : std::nullopt;
}

// True when the zero point of the weights is absent or all 0 (symmetric int8 weights).
bool zero_weight_zp(const GraphView& view, const ir::Value* zp) {
  if (!zp) return true;
  const TensorPtr z = fixed_tensor(view, zp);
  if (!z || z->dtype() != DType::Int8) return false;
  for (int64_t i = 0; i < z->numel(); ++i)
    if (z->data<int8_t>()[i] != 0) return false;
  return true;
}

// The producer of `v` when it is a default-domain DequantizeLinear, free in the view.
const ir::Node* dq_of(const GraphView& view, const ir::Value* v) {
  const ir::Node* p = v ? v->producer() : nullptr;
  if (!p || !ir::is_op(*p, "DequantizeLinear") || view.is_taken(p) || p->num_inputs() < 2 || !p->input(0) ||
      p->num_outputs() != 1)
    return nullptr;
  return p;
}

// The output-channel axis of the weight and the number of channels, from the rule and the weight.
std::pair<int64_t, int64_t> channel_axis(const Int8OpRule& r, const ir::Node& core, const Tensor& w, bool trans_b) {
  switch (r.op) {
    case Int8Op::Conv: return {0, w.dims()[0]};
    case Int8Op::ConvTranspose: return {1, w.dims()[1]};  // group 1 only for per-channel (checked)
    case Int8Op::Gemm: return trans_b ? std::pair<int64_t, int64_t>{0, w.dims()[0]} : std::pair<int64_t, int64_t>{1, w.dims()[1]};
    case Int8Op::MatMul: return {1, w.dims()[1]};
  }
  (void)core;
  return {0, 0};
}

// Relu or Clip with constant bounds: [lo, hi]; nullopt for anything else.
std::optional<std::pair<float, float>> act_bounds(const GraphView& view, const ir::Node& n) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  if (ir::is_op(n, "Relu") && n.num_inputs() == 1) return std::pair<float, float>{0.0f, inf};
  if (!ir::is_op(n, "Clip")) return std::nullopt;
  std::optional<float> lo, hi;
  if (view.opset(n) < 11) {
    if (n.num_inputs() != 1) return std::nullopt;
    lo = n.attr_float("min", -inf);
    hi = n.attr_float("max", inf);
  } else {
    if (n.num_inputs() > 3) return std::nullopt;
    lo = constant_float_scalar(view, input_at(n, 1), -inf);
    hi = constant_float_scalar(view, input_at(n, 2), inf);
  }
  if (!lo || !hi || std::isnan(*lo) || std::isnan(*hi) || *lo > *hi) return std::nullopt;
  return std::pair<float, float>{*lo, *hi};
}

// The free node reading `v` alone (as any input), or null.
const ir::Node* only_reader(const GraphView& view, const ir::Value* v) {
  if (!v || v->uses().size() != 1) return nullptr;
  const ir::Node* n = v->uses()[0].node;
  return view.is_taken(n) || n->num_outputs() != 1 || !n->output(0) ? nullptr : n;
}

// The real (float) bias values per channel, from a DQ(int32) or a float constant; false when the
// bias is there but not usable.
bool read_bias(const GraphView& view, const ir::Value* b, int64_t m, std::vector<double>& out,
               std::vector<const ir::Node*>& nodes) {
  if (!b) return true;
  if (const ir::Node* dq = dq_of(view, b)) {
    const TensorPtr q = fixed_tensor(view, dq->input(0));
    const std::vector<float> s = const_scales(view, dq->input(1), m);
    if (!q || q->dtype() != DType::Int32 || q->rank() != 1 || q->numel() != m || s.empty()) return false;
    if (s.size() > 1 && dq->attr_int("axis", 1) != 0 && dq->attr_int("axis", 1) != -1) return false;
    std::vector<int32_t> zp(1, 0);
    if (const ir::Value* z = input_at(*dq, 2)) {
      const TensorPtr zt = fixed_tensor(view, z);
      if (!zt || zt->dtype() != DType::Int32 || (zt->numel() != 1 && zt->numel() != m)) return false;
      zp.assign(zt->data<int32_t>(), zt->data<int32_t>() + zt->numel());
    }
    if (b->uses().size() != 1) return false;
    out.resize(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i)
      out[i] = (static_cast<double>(q->data<int32_t>()[i]) - zp[zp.size() == 1 ? 0 : i]) * s[s.size() == 1 ? 0 : i];
    nodes.push_back(dq);
    return true;
  }
  const TensorPtr f = fixed_tensor(view, b);
  if (!f || f->dtype() != DType::Float) return false;
  // A float bias (Gemm's C): [M], [1, M] or one value broadcast.
  const bool row = f->numel() == m && (f->rank() == 1 || (f->rank() == 2 && f->dims()[0] == 1));
  if (!row && f->numel() != 1) return false;
  out.resize(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) out[i] = f->data<float>()[f->numel() == 1 ? 0 : i];
  return true;
}

}  // namespace

const std::vector<Int8OpRule>& int8_rules() { return kRules; }

std::optional<ActQuant> node_quant(const GraphView& view, const ir::Node& n) {
  const bool q = ir::is_op(n, "QuantizeLinear");
  if ((!q && !ir::is_op(n, "DequantizeLinear")) || n.num_inputs() < 2 || n.num_inputs() > 3 || !n.input(0) ||
      n.num_outputs() != 1 || !n.output(0) || n.attr_int("block_size", 0) != 0)
    return std::nullopt;
  DType type = DType::UInt8;
  if (q) {
    if (const ir::Attribute* od = n.attr("output_dtype"); od && od->i != 0) type = static_cast<DType>(od->i);
  } else {
    const ir::Value* x = n.input(0);
    type = x->type.is_tensor() ? x->type.elem : DType::Undefined;
  }
  return act_quant(view, n.input(1), input_at(n, 2), type);
}

const Int8OpRule* int8_rule(const ir::Node& core) {
  if (!ir::is_default_domain(core.domain())) return nullptr;
  for (const Int8OpRule& r : kRules)
    if (core.op_type() == r.op_type) return &r;
  return nullptr;
}

int64_t Int8Group::out_channels() const {
  if (!w) return 0;
  switch (rule->op) {
    case Int8Op::Conv: return w->dims()[0];
    case Int8Op::ConvTranspose: return w->dims()[1] * core->attr_int("group", 1);
    case Int8Op::Gemm: return trans_b ? w->dims()[0] : w->dims()[1];
    case Int8Op::MatMul: return w->dims()[1];
  }
  return 0;
}

std::optional<Int8Group> match_int8_group(const GraphView& view, const ir::Node& core, std::string* why) {
  const Int8OpRule* rule = int8_rule(core);
  if (!rule) return fail(why, "not an int8 group op");
  if (view.is_taken(&core) || core.num_outputs() != 1 || !core.output(0)) return fail(why, "taken or odd outputs");
  Int8Group g;
  g.rule = rule;
  g.core = &core;
  const ir::Value* x = input_at(core, rule->x_input);
  const ir::Value* wv = input_at(core, rule->w_input);
  if (!x || !wv) return fail(why, "missing input");
  if (rule->op == Int8Op::Gemm) {
    if (core.attr_int("transA", 0) != 0) return fail(why, "Gemm transA");
    g.trans_b = core.attr_int("transB", 0) != 0;
  }
  std::vector<const ir::Node*> pre;  // nodes before the core (DQs)
  const ir::Value *w_scale_v = nullptr, *w_zp_v = nullptr;
  int64_t w_axis_attr = 0;
  if (rule->qoperator) {
    DType xt = x->type.is_tensor() ? x->type.elem : DType::Undefined;
    auto xq = act_quant(view, input_at(core, rule->xs), input_at(core, rule->xz), xt);
    auto yq = act_quant(view, input_at(core, rule->ys), input_at(core, rule->yz), xq ? xq->type : DType::UInt8);
    if (!xq || !yq) return fail(why, "non-constant or per-axis activation parameters");
    g.x = *xq;
    g.y = *yq;
    g.w = fixed_tensor(view, wv);
    w_scale_v = input_at(core, rule->ws);
    w_zp_v = input_at(core, rule->wz);
    w_axis_attr = rule->op == Int8Op::MatMul ? 1 : 0;  // QLinearMatMul: per column; QLinearConv: per M
  } else {
    const ir::Node* xdq = dq_of(view, x);
    const ir::Node* wdq = dq_of(view, wv);
    if (!xdq || !wdq) return fail(why, "inputs are not DequantizeLinear outputs");
    const ir::Value* xq_in = xdq->input(0);
    auto xq = act_quant(view, xdq->input(1), input_at(*xdq, 2), xq_in->type.is_tensor() ? xq_in->type.elem : DType::Undefined);
    if (!xq) return fail(why, "activation DequantizeLinear is not per tensor with constant parameters");
    g.x = *xq;
    g.x_dq = xdq;
    if (wv->uses().size() != 1) return fail(why, "weight DequantizeLinear read by others");
    g.w = fixed_tensor(view, wdq->input(0));
    w_scale_v = wdq->input(1);
    w_zp_v = input_at(*wdq, 2);
    w_axis_attr = wdq->attr_int("axis", 1);
    pre.push_back(wdq);
  }
  if (!g.w || g.w->dtype() != DType::Int8 || g.w->rank() < 2 || g.w->numel() == 0)
    return fail(why, "weight is not a constant int8 tensor");
  if ((rule->op == Int8Op::Gemm || rule->op == Int8Op::MatMul) && g.w->rank() != 2)
    return fail(why, "weight is not 2-D");
  if (!zero_weight_zp(view, w_zp_v)) return fail(why, "weight zero point is not 0");
  const auto [axis, m] = channel_axis(*rule, core, *g.w, g.trans_b);
  g.w_scale = const_scales(view, w_scale_v, m);
  if (g.w_scale.empty()) return fail(why, "weight scale is not constant, positive, per tensor or per channel");
  if (g.w_scale.size() > 1) {
    const int64_t a = w_axis_attr < 0 ? w_axis_attr + g.w->rank() : w_axis_attr;
    if (a != axis) return fail(why, "weight scale is per channel on another axis");
    if (rule->op == Int8Op::ConvTranspose && core.attr_int("group", 1) != 1)
      return fail(why, "per-channel grouped ConvTranspose");
  }
  const int64_t channels = g.out_channels();
  if (g.w_scale.size() == 1) g.w_scale.assign(static_cast<size_t>(channels), g.w_scale[0]);
  if (static_cast<int64_t>(g.w_scale.size()) != channels) return fail(why, "weight scale count");
  if (rule->op == Int8Op::Gemm) {
    const float alpha = core.attr_float("alpha", 1.0f);
    if (!std::isfinite(alpha) || alpha == 0.0f) return fail(why, "Gemm alpha");
    for (float& s : g.w_scale) s *= alpha;
  }
  // Bias: in accumulator units.
  std::vector<double> bias;
  const ir::Value* bv = input_at(core, rule->b_input);
  if (rule->qoperator && bv) {
    const TensorPtr b = fixed_tensor(view, bv);
    if (!b || b->dtype() != DType::Int32 || b->rank() != 1 || b->numel() != channels) return fail(why, "bias");
    for (int64_t i = 0; i < channels; ++i) g.bias.push_back(static_cast<float>(b->data<int32_t>()[i]));
  } else if (!rule->qoperator) {
    if (!read_bias(view, bv, channels, bias, pre)) return fail(why, "bias is not a constant (DequantizeLinear of) tensor");
    const double beta = rule->op == Int8Op::Gemm ? core.attr_float("beta", 1.0f) : 1.0;
    for (size_t i = 0; i < bias.size(); ++i)
      g.bias.push_back(static_cast<float>(beta * bias[i] / (static_cast<double>(g.x.scale) * g.w_scale[i])));
  }
  std::vector<const ir::Node*> post;
  if (rule->qoperator) {
    g.nodes = {&core};
  } else {
    // The core's output, through an optional Relu/Clip, into a per-tensor QuantizeLinear.
    const ir::Node* next = only_reader(view, core.output(0));
    if (next && next->input(0) == core.output(0)) {
      if (auto b = act_bounds(view, *next)) {
        g.act_lo = b->first;
        g.act_hi = b->second;
        post.push_back(next);
        next = only_reader(view, next->output(0));
      }
    }
    if (!next || !ir::is_op(*next, "QuantizeLinear") || next->input(0) != (post.empty() ? core.output(0) : post[0]->output(0)))
      return fail(why, "output is not quantized by a QuantizeLinear alone");
    DType out_type = DType::UInt8;
    if (const ir::Attribute* od = next->attr("output_dtype"); od && od->i != 0) out_type = static_cast<DType>(od->i);
    auto yq = act_quant(view, input_at(*next, 1), input_at(*next, 2), out_type);
    if (!yq) return fail(why, "QuantizeLinear is not per tensor with constant parameters");
    g.y = *yq;
    post.push_back(next);
    std::vector<const ir::Node*> all = pre;
    all.push_back(g.x_dq);
    all.push_back(&core);
    all.insert(all.end(), post.begin(), post.end());
    g.x_dq_shared = !view.read_only_by(*x, all);
    if (g.x_dq_shared) all.erase(std::find(all.begin(), all.end(), g.x_dq));
    for (const ir::Node* n : all)
      if (n != all.back() && !view.read_only_by(*n->output(0), all)) return fail(why, "an intermediate is read outside");
    std::sort(all.begin(), all.end(), [&](const ir::Node* a, const ir::Node* b) { return view.index_of(a) < view.index_of(b); });
    g.nodes = std::move(all);
  }
  if (g.nodes.back()->num_outputs() != 1) return fail(why, "odd outputs");
  // Where the 8-bit activation enters the step.
  const ir::Value* x8 = rule->qoperator || g.x_dq_shared ? x : g.x_dq->input(0);
  const std::vector<const ir::Value*> ins = group_inputs(g.nodes);
  g.x_input = static_cast<size_t>(std::find(ins.begin(), ins.end(), x8) - ins.begin());
  if (g.x_input >= ins.size()) return fail(why, "activation not among the step inputs");
  return g;
}

int64_t declared_x_rank(const Int8Group& g) {
  for (const ir::Value* v : {g.core->input(static_cast<size_t>(g.rule->x_input)), g.x_dq ? g.x_dq->input(0) : nullptr})
    if (v && v->type.is_tensor() && v->type.shape) return static_cast<int64_t>(v->type.shape->size());
  return -1;
}

}  // namespace ortool::rt::qdq
