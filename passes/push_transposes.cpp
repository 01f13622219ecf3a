// Pass push_transposes: moves a Transpose below the ops it feeds, so that it meets another Transpose
// and cancels (fuse_transpose_pairs), becomes the identity (eliminate_noop), or shrinks with the data.
//
//   y = Transpose(x, p); z = Op(y, ...)   becomes   z' = Op'(x, ...); z = Transpose(z', p')
//
// for Op among: element-wise ops (every other operand a constant, which is transposed to match, or a
// Transpose with the same perm), reductions and ArgMax/ArgMin (axes mapped through p), Gather with
// scalar or 1-D indices, Softmax/LogSoftmax/Hardmax from opset 13, and Reshape where provable: the
// reshape only splits and merges dims that stay in order in x, so it can be done on x first
// (static shapes needed). p' may drop dims (a scalar Gather, keepdims=0) and is left out when it is
// the identity. A Transpose with several consumers moves only when every consumer can take it and at
// most one non-identity Transpose results, so the node count never grows.
#include <algorithm>
#include <functional>
#include <numeric>
#include <set>

#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

using Perm = std::vector<int64_t>;

bool is_identity(const Perm& p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != static_cast<int64_t>(i)) return false;
  return true;
}

Perm inverse(const Perm& p) {
  Perm q(p.size());
  for (size_t i = 0; i < p.size(); ++i) q[static_cast<size_t>(p[i])] = static_cast<int64_t>(i);
  return q;
}

// The perm of a Transpose over rank r (default: reversed), or empty when it is not a valid permutation.
Perm perm_of(const ir::Node& t, int64_t r) {
  Perm p;
  if (t.has_attr("perm")) {
    p = t.attr_ints("perm");
  } else {
    for (int64_t i = r - 1; i >= 0; --i) p.push_back(i);
  }
  if (static_cast<int64_t>(p.size()) != r) return {};
  std::vector<bool> seen(p.size(), false);
  for (int64_t v : p) {
    if (v < 0 || v >= r || seen[static_cast<size_t>(v)]) return {};
    seen[static_cast<size_t>(v)] = true;
  }
  return p;
}

// The perm left when the transposed positions marked in `removed` disappear (their source dims
// p[i] disappear from x too), renumbered.
Perm without_positions(const Perm& p, const std::vector<bool>& removed) {
  Perm out;
  for (size_t i = 0; i < p.size(); ++i) {
    if (removed[i]) continue;
    int64_t v = p[i], below = 0;
    for (size_t j = 0; j < p.size(); ++j)
      if (removed[j] && p[j] < v) ++below;
    out.push_back(v - below);
  }
  return out;
}

// t (rank <= r) broadcast to rank r (leading 1s) and transposed by q.
Tensor transposed_constant(const Tensor& t, int64_t r, const Perm& q) {
  std::vector<int64_t> full(static_cast<size_t>(r) - t.rank(), 1);
  full.insert(full.end(), t.dims().begin(), t.dims().end());
  std::vector<int64_t> out_dims(static_cast<size_t>(r));
  for (size_t i = 0; i < out_dims.size(); ++i) out_dims[i] = full[static_cast<size_t>(q[i])];
  Tensor out(t.dtype(), out_dims);
  std::vector<int64_t> in_strides(full.size(), 1);
  for (size_t i = full.size(); i-- > 1;) in_strides[i - 1] = in_strides[i] * full[i];
  const size_t es = t.element_size();
  std::vector<int64_t> idx(out_dims.size(), 0);
  for (int64_t k = 0; k < out.numel(); ++k) {
    int64_t src = 0;
    for (size_t i = 0; i < idx.size(); ++i) src += idx[i] * in_strides[static_cast<size_t>(q[i])];
    if (t.is_string()) out.mutable_strings()[static_cast<size_t>(k)] = t.strings()[static_cast<size_t>(src)];
    else std::memcpy(static_cast<std::byte*>(out.raw_mutable()) + k * static_cast<int64_t>(es),
                     static_cast<const std::byte*>(t.raw()) + src * static_cast<int64_t>(es), es);
    for (size_t i = idx.size(); i-- > 0;) {
      if (++idx[i] < out_dims[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

// How one consumer takes x instead of Transpose(x, p): its new attributes and constant inputs
// (`apply`), and the perm of the Transpose that then follows it (`after`; empty: none).
struct Plan {
  ir::Node* consumer = nullptr;
  Perm after;
  std::function<void(ir::Graph&)> apply;
};

const std::set<std::string_view> kUnary = {
    "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Exp", "Log", "Neg", "Abs", "Sqrt", "Reciprocal", "Floor", "Ceil",
    "Round", "Sign", "Erf", "Softplus", "Softsign", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish", "Mish", "Gelu",
    "Not", "IsNaN", "IsInf", "Cast", "Identity", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh",
    "Acosh", "Atanh", "ThresholdedRelu", "Clip", "BitwiseNot"};
const std::set<std::string_view> kElementwise = {
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum", "Equal", "Greater", "Less", "GreaterOrEqual",
    "LessOrEqual", "And", "Or", "Xor", "PRelu", "Mod", "Where", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitShift"};
const std::set<std::string_view> kReduce = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                                            "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
                                            "ReduceSumSquare"};

class PushTransposes final : public Pass {
 public:
  std::string_view name() const override { return "push_transposes"; }
  std::string_view description() const override {
    return "Move Transposes below element-wise ops, reductions, Gather, Softmax and (where provable) Reshape, "
           "so they cancel or vanish";
  }
  std::vector<std::string_view> op_types() const override { return {"Transpose"}; }

  Result<bool> run(ir::Model& model, ir::Graph& g, const PassContext& ctx) override {
    opset_ = onnx_opset(model);
    dead_.clear();
    bool changed = false;
    // The walk is over a snapshot, so rewrites only queue the Transposes they orphan (dead_); removing them
    // at once would free nodes the walk has yet to visit.
    for (ir::Node* t : g.nodes()) {
      if (!is_op(t, "Transpose") || t->graph() != &g || !t->input(0) || !t->output(0)) continue;
      ir::Value* x = t->input(0);
      ir::Value* y = t->output(0);
      const int64_t r = value_rank(x);
      if (r <= 0 || y->is_graph_output() || !y->has_uses()) continue;
      const Perm p = perm_of(*t, r);
      if (p.empty()) continue;
      std::vector<Plan> plans;
      bool ok = true;
      std::set<ir::Node*> seen;
      for (const ir::Use& u : y->uses()) {
        if (!u.node || u.node->graph() != &g) { ok = false; break; }
        if (!seen.insert(u.node).second) continue;
        auto plan = plan_for(g, *u.node, y, x, p, r);
        if (!plan) { ok = false; break; }
        plans.push_back(std::move(*plan));
      }
      if (!ok || plans.empty()) continue;
      const auto kept = std::count_if(plans.begin(), plans.end(), [](const Plan& pl) { return !pl.after.empty(); });
      if (plans.size() > 1 && kept > 1) continue;
      if (!ctx.allow_rewrite()) break;
      for (Plan& pl : plans) rewrite(g, pl, y, x);
      if (!y->has_uses()) dead_.insert(t);
      changed = true;
    }
    for (ir::Node* d : dead_)
      if (!d->output(0)->has_uses() && !d->output(0)->is_graph_output()) g.remove_node(d);
    dead_.clear();
    return changed;
  }

 private:
  // Points the consumer at x, applies its plan and inserts the Transpose after it.
  static void rewrite(ir::Graph& g, Plan& pl, ir::Value* y, ir::Value* x) {
    ir::Node* c = pl.consumer;
    for (size_t i = 0; i < c->num_inputs(); ++i)
      if (c->input(i) == y) g.set_input(c, i, x);
    pl.apply(g);
    ir::Value* out = c->output(0);
    const Type old_type = out->type;
    if (pl.after.empty()) {
      out->type.shape.reset();  // shape inference fills it in again
      return;
    }
    std::vector<ir::Use> uses = out->uses();
    ir::Node* t2 = g.insert_node_before(c, "Transpose", "", {out}, {out->name() + "_t"});
    g.move_before(c, t2);
    t2->set_attr(ir::Attribute::make_ints("perm", pl.after));
    ir::Value* z = t2->output(0);
    for (const ir::Use& u : uses) g.set_input(u.node, static_cast<size_t>(u.index), z);
    z->type = old_type;
    out->type.shape.reset();
  }

  std::optional<Plan> plan_for(ir::Graph& g, ir::Node& c, ir::Value* y, ir::Value* x, const Perm& p, int64_t r) const {
    if (!ir::is_default_domain(c.domain()) || c.num_outputs() < 1 || !c.output(0)) return std::nullopt;
    // Only output 0 may be used (Dropout's mask and the like are not handled).
    for (size_t i = 1; i < c.num_outputs(); ++i)
      if (c.output(i) && (c.output(i)->has_uses() || c.output(i)->is_graph_output())) return std::nullopt;
    if (c.output(0)->is_graph_output()) return std::nullopt;
    const std::string& op = c.op_type();
    if (kUnary.count(op)) {
      if (c.input(0) != y) return std::nullopt;
      for (size_t i = 1; i < c.num_inputs(); ++i)
        if (c.input(i) == y) return std::nullopt;
      return Plan{&c, p, [](ir::Graph&) {}};
    }
    if (kElementwise.count(op)) return plan_elementwise(c, y, p, r);
    if (kReduce.count(op) || op == "ArgMax" || op == "ArgMin") return plan_reduce(c, y, p, r);
    if (op == "Gather") return plan_gather(c, y, p, r);
    if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && opset_ >= 13 && c.input(0) == y) {
      auto axis = normalize_axis(c.attr_int("axis", -1), r);
      if (!axis) return std::nullopt;
      const int64_t a = p[static_cast<size_t>(*axis)];
      return Plan{&c, p, [&c, a](ir::Graph&) { c.set_attr(ir::Attribute::make_int("axis", a)); }};
    }
    if (op == "Reshape") return plan_reshape(g, c, y, x, p);
    return std::nullopt;
  }

  // Every operand is y, a constant of rank <= r, or a Transpose of the same perm.
  std::optional<Plan> plan_elementwise(ir::Node& c, ir::Value* y, const Perm& p, int64_t r) const {
    const Perm q = inverse(p);
    std::vector<std::function<void(ir::Graph&)>> steps;
    for (size_t i = 0; i < c.num_inputs(); ++i) {
      ir::Value* v = c.input(i);
      if (!v) return std::nullopt;
      if (v == y) continue;
      if (const Tensor* k = constant_tensor(v)) {
        if (static_cast<int64_t>(k->rank()) > r) return std::nullopt;
        if (k->numel() == 1) continue;  // a single value broadcasts the same either way
        Tensor moved = transposed_constant(*k, r, q);
        steps.push_back([&c, i, moved = std::move(moved), v](ir::Graph& g) mutable {
          g.set_input(&c, i, add_constant(g, v->name(), std::move(moved)));
        });
        continue;
      }
      const ir::Node* other = v->producer();
      if (!is_op(other, "Transpose") || !other->input(0) || value_rank(other->input(0)) != r ||
          perm_of(*other, r) != p)
        return std::nullopt;
      ir::Value* src = other->input(0);
      steps.push_back([this, &c, i, v, src](ir::Graph& g) {
        ir::Node* other = v->producer();
        g.set_input(&c, i, src);
        if (!v->has_uses() && !v->is_graph_output()) dead_.insert(other);
      });
    }
    return Plan{&c, p, [steps](ir::Graph& g) {
                  for (const auto& s : steps) s(g);
                }};
  }

  std::optional<Plan> plan_reduce(ir::Node& c, ir::Value* y, const Perm& p, int64_t r) const {
    if (c.input(0) != y) return std::nullopt;
    const std::string& op = c.op_type();
    const bool keep = c.attr_int("keepdims", 1) != 0;
    const bool arg = op == "ArgMax" || op == "ArgMin";
    const bool axes_input = !arg && (op == "ReduceSum" ? opset_ >= 13 : opset_ >= 18);
    std::vector<int64_t> axes;
    if (arg) {
      axes = {c.attr_int("axis", 0)};
    } else if (axes_input) {
      if (c.num_inputs() < 2 || !c.input(1)) return std::nullopt;  // reduce all / no-op: left alone
      auto a = constant_ints(c.input(1));
      if (!a || a->empty()) return std::nullopt;
      axes = *a;
    } else {
      if (!c.has_attr("axes")) return std::nullopt;
      axes = c.attr_ints("axes");
      if (axes.empty()) return std::nullopt;
    }
    std::vector<bool> removed(static_cast<size_t>(r), false);
    std::vector<int64_t> mapped;
    for (int64_t a : axes) {
      auto n = normalize_axis(a, r);
      if (!n || removed[static_cast<size_t>(*n)]) return std::nullopt;
      removed[static_cast<size_t>(*n)] = true;
      mapped.push_back(p[static_cast<size_t>(*n)]);
    }
    Perm after = keep ? p : without_positions(p, removed);
    if (is_identity(after)) after.clear();
    ir::Value* old_axes = axes_input ? c.input(1) : nullptr;
    return Plan{&c, after, [&c, mapped, arg, axes_input, old_axes](ir::Graph& g) {
                  if (arg) c.set_attr(ir::Attribute::make_int("axis", mapped[0]));
                  else if (axes_input)
                    g.set_input(&c, 1, add_constant(g, old_axes->name(),
                                                    Tensor::from_vector(DType::Int64, {static_cast<int64_t>(mapped.size())},
                                                                        mapped)));
                  else c.set_attr(ir::Attribute::make_ints("axes", mapped));
                }};
  }

  std::optional<Plan> plan_gather(ir::Node& c, ir::Value* y, const Perm& p, int64_t r) const {
    if (c.input(0) != y || c.input(1) == y) return std::nullopt;
    const int64_t idx_rank = value_rank(c.input(1));
    if (idx_rank != 0 && idx_rank != 1) return std::nullopt;
    auto axis = normalize_axis(c.attr_int("axis", 0), r);
    if (!axis) return std::nullopt;
    const int64_t a = p[static_cast<size_t>(*axis)];
    Perm after = p;
    if (idx_rank == 0) {
      std::vector<bool> removed(static_cast<size_t>(r), false);
      removed[static_cast<size_t>(*axis)] = true;
      after = without_positions(p, removed);
    }
    if (is_identity(after)) after.clear();
    return Plan{&c, after, [&c, a](ir::Graph&) { c.set_attr(ir::Attribute::make_int("axis", a)); }};
  }

  // Reshape(Transpose(x, p), target) = Transpose(Reshape(x, target'), p') when the reshape splits and
  // merges dims of the transposed shape in groups whose dims come from consecutive dims of x in order.
  std::optional<Plan> plan_reshape(ir::Graph&, ir::Node& c, ir::Value* y, ir::Value* x, const Perm& p) const {
    if (c.input(0) != y || opset_ < 5) return std::nullopt;
    auto xs = static_shape(x);
    auto target = constant_ints(c.input(1));
    if (!xs || !target) return std::nullopt;
    const size_t r = xs->size();
    std::vector<int64_t> ts(r);  // transposed shape
    // Products checked: declared dims can be anything (2^43 x 2^27 overflowed int64, found by
    // fuzz/fuzz_optimize). Once the total fits, every product of some of its dims fits too.
    int64_t total = 1;
    for (size_t i = 0; i < r; ++i) {
      ts[i] = (*xs)[static_cast<size_t>(p[i])];
      if (__builtin_mul_overflow(total, ts[i], &total)) return std::nullopt;
    }
    if (total == 0) return std::nullopt;
    // The output shape: 0 copies the transposed dim (unless allowzero), -1 takes the rest.
    std::vector<int64_t> out = *target;
    const bool allowzero = c.attr_int("allowzero", 0) != 0;
    int64_t known = 1, minus = -1;
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i] == 0 && !allowzero) {
        if (i >= r) return std::nullopt;
        out[i] = ts[i];
      }
      if (out[i] == -1) {
        if (minus >= 0) return std::nullopt;
        minus = static_cast<int64_t>(i);
      } else if (out[i] <= 0) {
        return std::nullopt;
      } else if (__builtin_mul_overflow(known, out[i], &known)) {
        return std::nullopt;
      }
    }
    if (minus >= 0) {
      if (known == 0 || total % known != 0) return std::nullopt;
      out[static_cast<size_t>(minus)] = total / known;
    } else if (known != total) {
      return std::nullopt;
    }
    // Dims of x that are not 1, and the rank of each among them.
    std::vector<int64_t> rank_in_x(r, -1);
    int64_t nx = 0;
    for (size_t i = 0; i < r; ++i)
      if ((*xs)[i] != 1) rank_in_x[i] = nx++;
    // Groups: non-1 transposed dims [ta, tb) against output dims [oa, ob) of equal product. Output
    // dims of 1 between groups travel with the group after them (so the Transpose left behind moves
    // fewer dims: ShuffleNet's reshape to [2, 1, c/2, h, w] then keeps the 1 next to c/2); those after
    // the last group stay at the end.
    struct Group {
      std::vector<size_t> tdims;  // positions in ts (non-1)
      std::vector<size_t> odims;  // positions in out
    };
    std::vector<Group> groups;
    std::vector<size_t> lone_ones;  // pending 1s, then those after the last group
    size_t ti = 0, oi = 0;
    auto skip_t = [&] {
      while (ti < r && ts[ti] == 1) ++ti;
    };
    skip_t();
    while (oi < out.size()) {
      if (out[oi] == 1) {
        lone_ones.push_back(oi++);
        continue;
      }
      if (ti == r) return std::nullopt;
      Group gr;
      int64_t pt = ts[ti], po = out[oi];
      gr.tdims.push_back(ti++);
      gr.odims = std::move(lone_ones);
      lone_ones.clear();
      gr.odims.push_back(oi++);
      while (pt != po) {
        if (pt < po) {
          skip_t();
          if (ti == r) return std::nullopt;
          pt *= ts[ti];
          gr.tdims.push_back(ti++);
        } else {
          if (oi == out.size()) return std::nullopt;
          po *= out[oi];
          gr.odims.push_back(oi++);
        }
      }
      skip_t();
      groups.push_back(std::move(gr));
    }
    if (ti != r) return std::nullopt;
    // Each group's source dims must be consecutive (among x's non-1 dims) and increasing.
    std::vector<std::pair<int64_t, size_t>> order;  // (first source rank, group index)
    for (size_t k = 0; k < groups.size(); ++k) {
      const auto& td = groups[k].tdims;
      int64_t first = rank_in_x[static_cast<size_t>(p[td[0]])];
      for (size_t j = 1; j < td.size(); ++j)
        if (rank_in_x[static_cast<size_t>(p[td[j]])] != first + static_cast<int64_t>(j)) return std::nullopt;
      order.push_back({first, k});
    }
    std::sort(order.begin(), order.end());
    // The new target: the groups' output dims in x's order, then the lone 1s; pos[o] is where output
    // dim o lands.
    std::vector<int64_t> new_target;
    std::vector<int64_t> pos(out.size(), -1);
    for (const auto& [first, k] : order)
      for (size_t o : groups[k].odims) {
        pos[o] = static_cast<int64_t>(new_target.size());
        new_target.push_back(out[o]);
      }
    for (size_t o : lone_ones) {
      pos[o] = static_cast<int64_t>(new_target.size());
      new_target.push_back(1);
    }
    Perm after(pos.begin(), pos.end());
    if (is_identity(after)) after.clear();
    ir::Value* old_target = c.input(1);
    return Plan{&c, after, [&c, new_target, old_target](ir::Graph& g) {
                  g.set_input(&c, 1, add_constant(g, old_target->name(),
                                                  Tensor::from_vector(DType::Int64,
                                                                      {static_cast<int64_t>(new_target.size())},
                                                                      new_target)));
                  c.remove_attr("allowzero");
                }};
  }

  int64_t opset_ = 0;
  mutable std::set<ir::Node*> dead_;  // Transposes left without uses by this run's rewrites
};

}  // namespace

std::unique_ptr<Pass> make_push_transposes() { return std::make_unique<PushTransposes>(); }

}  // namespace ortool::passes
