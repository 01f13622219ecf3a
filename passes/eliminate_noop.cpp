// Pass eliminate_noop: nodes that return their input unchanged are bypassed (Cast to the same
// type, Reshape/Expand to the same shape, identity Transpose, full-range Slice, zero Pad,
// single-input Concat, Squeeze/Unsqueeze pairs), and Reshape chains collapse to the last Reshape.
#include <algorithm>
#include <climits>
#include <set>

#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

// Reshape(x, target) gives x's own shape.
bool reshape_is_noop(const ir::Node& n) {
  auto dims = value_shape(n.input(0));
  auto target = constant_ints(n.input(1));
  if (!dims || !target || dims->size() != target->size()) return false;
  bool allowzero = n.attr_int("allowzero", 0) != 0;
  int minus_one = 0;
  for (size_t i = 0; i < target->size(); ++i) {
    int64_t t = (*target)[i];
    const Dim& d = (*dims)[i];
    if (t == 0 && !allowzero) continue;
    if (t == -1) {
      ++minus_one;
      continue;
    }
    if (!d.is_known() || d.value != t || t == 0) return false;
  }
  return minus_one <= 1;
}

// Expand(x, shape) gives x's own shape: shape has no more dims and each is 1 or x's dim.
bool expand_is_noop(const ir::Node& n) {
  auto dims = value_shape(n.input(0));
  auto target = constant_ints(n.input(1));
  if (!dims || !target || target->size() > dims->size()) return false;
  size_t off = dims->size() - target->size();
  for (size_t i = 0; i < target->size(); ++i) {
    int64_t t = (*target)[i];
    const Dim& d = (*dims)[off + i];
    if (t == 1) continue;
    if (!d.is_known() || d.value != t) return false;
  }
  return true;
}

bool transpose_is_noop(const ir::Node& n) {
  std::vector<int64_t> perm = n.attr_ints("perm");
  if (perm.empty()) return value_rank(n.input(0)) >= 0 && value_rank(n.input(0)) <= 1;
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i)) return false;
  return true;
}

bool slice_is_noop(const ir::Node& n, int64_t opset) {
  auto dims = value_shape(n.input(0));
  if (!dims) return false;
  int64_t rank = static_cast<int64_t>(dims->size());
  std::optional<std::vector<int64_t>> starts, ends, axes, steps;
  if (opset < 10) {
    starts = n.attr_ints("starts");
    ends = n.attr_ints("ends");
    axes = n.has_attr("axes") ? std::optional(n.attr_ints("axes")) : std::nullopt;
  } else {
    starts = constant_ints(n.input(1));
    ends = constant_ints(n.input(2));
    if (n.input(3)) {
      axes = constant_ints(n.input(3));
      if (!axes) return false;
    }
    if (n.input(4)) {
      steps = constant_ints(n.input(4));
      if (!steps) return false;
    }
  }
  if (!starts || !ends || starts->size() != ends->size()) return false;
  if (!axes) {
    axes.emplace();
    for (size_t i = 0; i < starts->size(); ++i) axes->push_back(static_cast<int64_t>(i));
  }
  if (axes->size() != starts->size() || (steps && steps->size() != starts->size())) return false;
  for (size_t i = 0; i < starts->size(); ++i) {
    auto axis = normalize_axis((*axes)[i], rank);
    if (!axis) return false;
    if (steps && (*steps)[i] != 1) return false;
    const Dim& d = (*dims)[static_cast<size_t>(*axis)];
    int64_t s = (*starts)[i], e = (*ends)[i];
    bool from_start = s == 0 || (d.is_known() && s <= -d.value);
    bool to_end = e >= INT32_MAX || (d.is_known() && e >= d.value);
    if (!from_start || !to_end) return false;
  }
  return true;
}

bool pad_is_noop(const ir::Node& n, int64_t opset) {
  std::optional<std::vector<int64_t>> pads;
  if (opset < 11) pads = n.attr_ints(opset < 2 ? "paddings" : "pads");
  else pads = constant_ints(n.input(1));
  if (!pads) return false;
  return std::all_of(pads->begin(), pads->end(), [](int64_t p) { return p == 0; });
}

// Axes of a Squeeze/Unsqueeze as written (attribute before opset 13, input since).
std::optional<std::vector<int64_t>> raw_axes(const ir::Node& n, int64_t opset) {
  if (opset < 13) {
    if (!n.has_attr("axes")) return std::nullopt;
    return n.attr_ints("axes");
  }
  return n.input(1) ? constant_ints(n.input(1)) : std::nullopt;
}

// The axes normalized against `rank` (-1: unknown, then only non-negative axes are accepted).
std::optional<std::set<int64_t>> normalized_axes(const std::vector<int64_t>& axes, int64_t rank) {
  if (axes.empty()) return std::nullopt;
  std::set<int64_t> out;
  for (int64_t a : axes) {
    if (a < 0 && rank < 0) return std::nullopt;
    auto x = normalize_axis(a, rank < 0 ? INT32_MAX : rank);
    if (!x || !out.insert(*x).second) return std::nullopt;
  }
  return out;
}

// Squeeze(Unsqueeze(x, a), a) or Unsqueeze(Squeeze(x, a), a): the value x, or null.
ir::Value* squeeze_pair_source(const ir::Node& n, int64_t opset) {
  bool squeeze = is_op(&n, "Squeeze");
  const ir::Node* p = n.input(0) ? n.input(0)->producer() : nullptr;
  if (!is_op(p, squeeze ? "Unsqueeze" : "Squeeze") || !p->input(0)) return nullptr;
  auto inner = raw_axes(*p, opset), outer = raw_axes(n, opset);
  if (!inner || !outer) return nullptr;
  // Squeeze(Unsqueeze(x, a), a): both index the middle value, of rank(x) + |a|.
  // Unsqueeze(Squeeze(x, a), a): both index x (the squeezed dims were 1, they come back).
  int64_t r = value_rank(p->input(0));
  int64_t axis_rank = r < 0 ? -1 : squeeze ? r + static_cast<int64_t>(inner->size()) : r;
  auto a = normalized_axes(*inner, axis_rank), b = normalized_axes(*outer, axis_rank);
  if (!a || !b || *a != *b) return nullptr;
  return p->input(0);
}

class EliminateNoop final : public Pass {
 public:
  std::string_view name() const override { return "eliminate_noop"; }
  std::string_view description() const override {
    return "Bypass no-ops (Cast to the same type, Reshape/Expand to the same shape, identity Transpose, "
           "full-range Slice, zero Pad, one-input Concat, Squeeze/Unsqueeze pairs); collapse Reshape chains";
  }
  std::vector<std::string_view> op_types() const override {
    return {"Cast", "CastLike", "Reshape", "Expand", "Transpose", "Slice", "Pad", "Concat", "Squeeze", "Unsqueeze"};
  }

  Result<bool> run(ir::Model& model, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    int64_t opset = onnx_opset(model);
    for (ir::Node* n : g.nodes()) {
      if (!n->input(0) || !n->output(0) || !ir::is_default_domain(n->domain())) continue;
      if (is_op(n, "Reshape") && collapse_reshape_chain(g, n, ctx, changed)) continue;
      ir::Value* source = noop_source(*n, opset);
      if (!source || !can_forward(n->output(0), source)) continue;
      if (!ctx.allow_rewrite()) return changed;
      std::vector<ir::Value*> to(n->num_outputs(), nullptr);
      to[0] = source;
      changed |= forward_outputs(g, n, to);
    }
    return changed;
  }

 private:
  // The input `n` passes through unchanged, or null.
  static ir::Value* noop_source(const ir::Node& n, int64_t opset) {
    const std::string& op = n.op_type();
    ir::Value* x = n.input(0);
    DType in_type = elem_type(x);
    if (op == "Cast") {
      if (in_type != DType::Undefined && static_cast<int64_t>(in_type) == n.attr_int("to", -1)) return x;
    } else if (op == "CastLike") {
      if (in_type != DType::Undefined && in_type == elem_type(n.input(1))) return x;
    } else if (op == "Reshape") {
      if (opset >= 5 && reshape_is_noop(n)) return x;
    } else if (op == "Expand") {
      if (expand_is_noop(n)) return x;
    } else if (op == "Transpose") {
      if (transpose_is_noop(n)) return x;
    } else if (op == "Slice") {
      if (slice_is_noop(n, opset)) return x;
    } else if (op == "Pad") {
      if (pad_is_noop(n, opset)) return x;
    } else if (op == "Concat") {
      if (n.num_inputs() == 1) return x;
    } else if (op == "Squeeze" || op == "Unsqueeze") {
      return squeeze_pair_source(n, opset);
    }
    return nullptr;
  }

  // Reshape(Reshape(x, a), b) -> Reshape(x, b) when b copies no dim from the inner result.
  static bool collapse_reshape_chain(ir::Graph& g, ir::Node* n, const PassContext& ctx, bool& changed) {
    ir::Node* inner = n->input(0)->producer();
    if (!is_op(inner, "Reshape") || !inner->input(0) || inner->graph() != &g) return false;
    auto target = constant_ints(n->input(1));
    if (!target) return false;
    bool allowzero = n->attr_int("allowzero", 0) != 0;
    if (!allowzero && std::find(target->begin(), target->end(), 0) != target->end()) return false;
    if (!ctx.allow_rewrite()) return false;
    ir::Value* mid = n->input(0);
    g.set_input(n, 0, inner->input(0));
    if (!mid->has_uses() && !mid->is_graph_output()) g.remove_node(inner);
    changed = true;
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> make_eliminate_noop() { return std::make_unique<EliminateNoop>(); }

}  // namespace ortool::passes
