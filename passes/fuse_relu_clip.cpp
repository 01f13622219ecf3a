// Pass fuse_relu_clip: chains of Relu and Clip collapse into one node clamping to the
// intersection of their ranges (Relu when that is [0, inf)).
#include <algorithm>
#include <cmath>
#include <limits>

#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Range {
  double lo = -kInf, hi = kInf;
};

// The clamp a Relu or Clip applies, when its bounds are constants.
std::optional<Range> range_of(const ir::Node& n, int64_t opset) {
  if (is_op(&n, "Relu")) return Range{0, kInf};
  if (!is_op(&n, "Clip")) return std::nullopt;
  Range r;
  if (opset < 11) {
    r.lo = n.attr_float("min", -std::numeric_limits<float>::max());
    r.hi = n.attr_float("max", std::numeric_limits<float>::max());
    // The attribute defaults are the float limits: treat them as unbounded.
    if (r.lo <= -std::numeric_limits<float>::max()) r.lo = -kInf;
    if (r.hi >= std::numeric_limits<float>::max()) r.hi = kInf;
    return r;
  }
  if (n.input(1)) {
    auto v = constant_scalar(n.input(1));
    if (!v) return std::nullopt;
    r.lo = *v;
  }
  if (n.input(2)) {
    auto v = constant_scalar(n.input(2));
    if (!v) return std::nullopt;
    r.hi = *v;
  }
  return r;
}

class FuseReluClip final : public Pass {
 public:
  std::string_view name() const override { return "fuse_relu_clip"; }
  std::string_view description() const override {
    return "Merge chains of Relu and Clip into one node with the intersected range";
  }
  std::vector<std::string_view> op_types() const override { return {"Relu", "Clip"}; }

  Result<bool> run(ir::Model& model, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    int64_t opset = onnx_opset(model);
    for (ir::Node* n : g.nodes()) {
      if ((!is_op(n, "Relu") && !is_op(n, "Clip")) || !n->input(0) || !n->output(0)) continue;
      ir::Node* p = n->input(0)->producer();
      if (!p || p->graph() != &g || (!is_op(p, "Relu") && !is_op(p, "Clip")) || !p->input(0)) continue;
      if (single_consumer(n->input(0)) != n) continue;
      auto a = range_of(*p, opset), b = range_of(*n, opset);
      if (!a || !b) continue;
      Range r{std::max(a->lo, b->lo), std::min(a->hi, b->hi)};
      if (!(r.lo <= r.hi)) continue;  // disjoint ranges: a constant result, left alone
      ir::Value* x = p->input(0);
      bool relu = r.lo == 0 && r.hi == kInf;
      DType t = elem_type(x);
      if (!relu && opset >= 11 && t != DType::Float) continue;  // new bound constants need the type
      if (!ctx.allow_rewrite()) return changed;
      ir::Node* merged = nullptr;
      if (relu) {
        merged = g.insert_node_before(n, "Relu", "", {x}, {n->output(0)->name() + "_fused"}, n->name);
      } else if (opset < 11) {
        merged = g.insert_node_before(n, "Clip", "", {x}, {n->output(0)->name() + "_fused"}, n->name);
        if (r.lo > -kInf) merged->set_attr(ir::Attribute::make_float("min", static_cast<float>(r.lo)));
        if (r.hi < kInf) merged->set_attr(ir::Attribute::make_float("max", static_cast<float>(r.hi)));
      } else {
        ir::Value* lo = r.lo > -kInf ? add_constant(g, x->name() + "_clip_min", Tensor::scalar_f32(static_cast<float>(r.lo)))
                                      : nullptr;
        ir::Value* hi = r.hi < kInf ? add_constant(g, x->name() + "_clip_max", Tensor::scalar_f32(static_cast<float>(r.hi)))
                                     : nullptr;
        std::vector<ir::Value*> ins = {x, lo};
        if (hi) ins.push_back(hi);
        merged = g.insert_node_before(n, "Clip", "", ins, {n->output(0)->name() + "_fused"}, n->name);
      }
      merged->output(0)->type = n->output(0)->type;
      forward_outputs(g, n, {merged->output(0)});
      remove_dead_chain(g, p);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_relu_clip() { return std::make_unique<FuseReluClip>(); }

}  // namespace ortool::passes
