// Pass eliminate_neutral_elements: Add(x, 0), Add(0, x), Sub(x, 0), Mul(x, 1), Mul(1, x) and Div(x, 1)
// become x, when the constant cannot change the result's shape or type: all its elements are the
// neutral value, its rank is at most x's and each of its dims is 1 or x's (so broadcasting adds
// nothing), and x has the op's element type. Exact for integers; for floats x * 1, x / 1 and x - 0
// are exact, and x + 0 differs only in turning -0 into +0 (ONNX Runtime's basic level drops it too).
#include <cmath>

#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

// True when every element of `c` equals `neutral` (0 or 1), numeric types only.
bool all_equal(const Tensor& c, double neutral) {
  if (c.is_string() || c.dtype() == DType::Bool || c.numel() == 0) return false;
  if (!dtype_is_float(c.dtype()) && !dtype_is_integer(c.dtype())) return false;
  for (int64_t i = 0; i < c.numel(); ++i)
    if (c.get_double(i) != neutral) return false;
  return true;
}

// The broadcast of `c` against x changes nothing: rank(c) <= rank(x), each dim of c is 1 or x's.
bool broadcast_keeps_shape(const Tensor& c, const ir::Value* x) {
  auto xs = value_shape(x);
  if (!xs || c.rank() > xs->size()) return false;
  const size_t lead = xs->size() - c.rank();
  for (size_t i = 0; i < c.rank(); ++i) {
    const int64_t d = c.dims()[i];
    if (d == 1) continue;
    const Dim& xd = (*xs)[lead + i];
    if (!xd.is_known() || xd.value != d) return false;
  }
  return true;
}

class EliminateNeutralElements final : public Pass {
 public:
  std::string_view name() const override { return "eliminate_neutral_elements"; }
  std::string_view description() const override {
    return "Drop Add/Sub of zero and Mul/Div by one where the constant neither broadcasts nor changes the type";
  }
  std::vector<std::string_view> op_types() const override { return {"Add", "Sub", "Mul", "Div"}; }

  Result<bool> run(ir::Model&, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    for (ir::Node* n : g.nodes()) {
      if (n->num_inputs() != 2 || n->num_outputs() != 1 || !n->output(0)) continue;
      ir::Value* x = passthrough(*n);
      if (!x || !can_forward(n->output(0), x)) continue;
      if (!ctx.allow_rewrite()) return changed;
      changed |= forward_outputs(g, n, {x});
    }
    return changed;
  }

 private:
  // The operand the node returns unchanged, or null.
  static ir::Value* passthrough(const ir::Node& n) {
    const bool add = is_op(&n, "Add"), sub = is_op(&n, "Sub"), mul = is_op(&n, "Mul"), div = is_op(&n, "Div");
    if (!add && !sub && !mul && !div) return nullptr;
    const double neutral = add || sub ? 0.0 : 1.0;
    // Operand positions the constant may take: either for Add/Mul, the right one for Sub/Div.
    for (size_t c_pos : {size_t{1}, size_t{0}}) {
      if (c_pos == 0 && (sub || div)) break;
      ir::Value* x = n.input(1 - c_pos);
      const Tensor* c = constant_tensor(n.input(c_pos));
      if (!x || !c || !all_equal(*c, neutral)) continue;
      const DType xt = elem_type(x), yt = elem_type(n.output(0));
      if (xt == DType::Undefined || xt != c->dtype() || (yt != DType::Undefined && yt != xt)) continue;
      if (broadcast_keeps_shape(*c, x)) return x;
    }
    return nullptr;
  }
};

}  // namespace

std::unique_ptr<Pass> make_eliminate_neutral_elements() { return std::make_unique<EliminateNeutralElements>(); }

}  // namespace ortool::passes
