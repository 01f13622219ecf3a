// Pass fuse_pad_into_conv: a constant-mode Pad of the spatial dims before Conv, AveragePool
// (pad value 0; count_include_pad=1, or no pads of its own) or MaxPool (pad value -inf) moves into the
// op's own pads. Pools with ceil_mode keep their Pad.
#include <algorithm>
#include <cmath>
#include <limits>

#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

struct PadSpec {
  std::vector<int64_t> pads;  // begin pads of every dim, then end pads
  double value = 0;
};

// A constant-mode Pad with known pads and value; nullopt otherwise.
std::optional<PadSpec> pad_spec(const ir::Node& pad, int64_t opset, int64_t rank) {
  if (pad.attr_string("mode", "constant") != "constant" || rank < 0) return std::nullopt;
  PadSpec s;
  if (opset < 11) {
    s.pads = pad.attr_ints(opset < 2 ? "paddings" : "pads");
    s.value = pad.attr_float("value", 0.0f);
  } else {
    auto pads = constant_ints(pad.input(1));
    if (!pads) return std::nullopt;
    s.pads = *pads;
    if (pad.input(2)) {
      auto v = constant_scalar(pad.input(2));
      if (!v) return std::nullopt;
      s.value = *v;
    }
    if (pad.input(3)) {  // opset 18: pads apply to these axes only
      auto axes = constant_ints(pad.input(3));
      if (!axes || s.pads.size() != 2 * axes->size()) return std::nullopt;
      std::vector<int64_t> full(static_cast<size_t>(2 * rank), 0);
      for (size_t i = 0; i < axes->size(); ++i) {
        auto a = normalize_axis((*axes)[i], rank);
        if (!a) return std::nullopt;
        full[static_cast<size_t>(*a)] = s.pads[i];
        full[static_cast<size_t>(*a + rank)] = s.pads[i + axes->size()];
      }
      s.pads = full;
    }
  }
  if (static_cast<int64_t>(s.pads.size()) != 2 * rank) return std::nullopt;
  return s;
}

class FusePadIntoConv final : public Pass {
 public:
  std::string_view name() const override { return "fuse_pad_into_conv"; }
  std::string_view description() const override {
    return "Move a constant Pad of the spatial dims into the following Conv, AveragePool or MaxPool";
  }
  std::vector<std::string_view> op_types() const override { return {"Pad"}; }

  Result<bool> run(ir::Model& model, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    int64_t opset = onnx_opset(model);
    for (ir::Node* n : g.nodes()) {
      bool conv = is_op(n, "Conv"), avg = is_op(n, "AveragePool"), max = is_op(n, "MaxPool");
      if ((!conv && !avg && !max) || !n->input(0)) continue;
      ir::Node* pad = n->input(0)->producer();
      if (!is_op(pad, "Pad") || pad->graph() != &g || single_consumer(n->input(0)) != n || !pad->input(0)) continue;
      if (n->attr_string("auto_pad", "NOTSET") != "NOTSET") continue;
      // ceil_mode's last window may start in the Pad's end padding, which the op's own pads do not allow.
      if ((avg || max) && n->attr_int("ceil_mode", 0) != 0) continue;
      // An AveragePool without pads of its own averages the Pad's zeros whatever count_include_pad says
      // (torchvision's Inception exports Pad -> AveragePool so): it becomes count_include_pad=1.
      const std::vector<int64_t> op_pads = n->attr_ints("pads");
      const bool own_pads = std::any_of(op_pads.begin(), op_pads.end(), [](int64_t v) { return v != 0; });
      if (avg && n->attr_int("count_include_pad", 0) != 1 && own_pads) continue;
      if (max && n->output(1)) continue;  // indices would refer to the padded input
      // Rank from the Pad's input, or from the Conv weight / pooling kernel.
      int64_t rank = value_rank(pad->input(0));
      if (rank < 0 && conv) rank = value_rank(n->input(1));
      if (rank < 0 && !conv) rank = static_cast<int64_t>(n->attr_ints("kernel_shape").size()) + 2;
      if (rank < 3) continue;
      auto spec = pad_spec(*pad, opset, rank);
      if (!spec) continue;
      bool value_ok = max ? (std::isinf(spec->value) && spec->value < 0) : spec->value == 0;
      if (!value_ok) continue;
      int64_t spatial = rank - 2;
      const std::vector<int64_t>& p = spec->pads;
      if (p[0] != 0 || p[1] != 0 || p[static_cast<size_t>(rank)] != 0 || p[static_cast<size_t>(rank + 1)] != 0)
        continue;
      bool negative = false;
      for (int64_t v : p) negative = negative || v < 0;
      if (negative) continue;
      std::vector<int64_t> pads = n->attr_ints("pads", std::vector<int64_t>(static_cast<size_t>(2 * spatial), 0));
      if (static_cast<int64_t>(pads.size()) != 2 * spatial) continue;
      if (!ctx.allow_rewrite()) return changed;
      for (int64_t i = 0; i < spatial; ++i) {
        pads[static_cast<size_t>(i)] += p[static_cast<size_t>(2 + i)];
        pads[static_cast<size_t>(spatial + i)] += p[static_cast<size_t>(rank + 2 + i)];
      }
      n->set_attr(ir::Attribute::make_ints("pads", pads));
      if (avg) n->set_attr(ir::Attribute::make_int("count_include_pad", 1));
      g.set_input(n, 0, pad->input(0));
      remove_dead_chain(g, pad);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_pad_into_conv() { return std::make_unique<FusePadIntoConv>(); }

}  // namespace ortool::passes
