// apply_plan: slicing constants, running fixups, updating value types (see apply_plan.h).
#include "prune/apply_plan.h"

#include <cstring>
#include <map>

#include "passes/pass_util.h"
#include "prune/graph_builder.h"

namespace ortool::prune {

Tensor take_along_axis(const Tensor& t, int64_t axis, const std::vector<int64_t>& keep) {
  std::vector<int64_t> dims = t.dims();
  const int64_t n = dims[static_cast<size_t>(axis)];
  dims[static_cast<size_t>(axis)] = static_cast<int64_t>(keep.size());
  Tensor out(t.dtype(), dims);
  // An empty tensor keeps nothing; its other dims may multiply past int64 ([2^62, 5, 0]).
  if (t.numel() == 0 || out.numel() == 0) return out;
  int64_t outer = 1, inner = 1;  // products of dims of a non-empty tensor: they fit
  for (int64_t i = 0; i < axis; ++i) outer *= dims[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < dims.size(); ++i) inner *= dims[i];
  const size_t row = static_cast<size_t>(inner) * t.element_size();
  const auto* src = static_cast<const std::byte*>(t.raw());
  auto* dst = static_cast<std::byte*>(out.raw_mutable());
  for (int64_t o = 0; o < outer; ++o)
    for (size_t k = 0; k < keep.size(); ++k)
      if (row) std::memcpy(dst + (static_cast<size_t>(o) * keep.size() + k) * row,
                           src + static_cast<size_t>(o * n + keep[k]) * row, row);
  return out;
}

namespace {

class PlanRemoval final : public Removal {
 public:
  PlanRemoval(const DependencyGraph& d, const Plan& p) : d_(d), p_(p) {}
  bool removed(AtomId a) const override { return p_.removes(d_.atoms.root(a)); }

 private:
  const DependencyGraph& d_;
  const Plan& p_;
};

}  // namespace

Status apply_plan(ir::Model& model, const DependencyGraph& d, const Plan& plan) {
  ir::Graph& g = *model.graph;
  PlanRemoval removal(d, plan);
  // Slices of one node input are applied one after the other (a weight loses output channels on
  // one axis and input channels on another), and the result is written once.
  std::map<std::pair<ir::Node*, int>, std::vector<const ConstSlice*>> by_input;
  std::vector<std::pair<ir::Node*, int>> order;
  for (const ConstSlice& s : d.slices) {
    auto key = std::make_pair(s.node, s.input);
    if (by_input.find(key) == by_input.end()) order.push_back(key);
    by_input[key].push_back(&s);
  }
  for (const auto& key : order) {
    const Tensor* t = passes::constant_tensor(key.first->input(static_cast<size_t>(key.second)));
    if (!t || t->is_string()) return internal_error("{}: input {} is no longer a constant", key.first->describe(), key.second);
    Tensor cur = *t;
    bool changed = false;
    for (const ConstSlice* s : by_input[key]) {
      const int64_t n = static_cast<int64_t>(s->atoms.size()) * s->block;
      if (s->axis < 0 || s->axis >= static_cast<int64_t>(cur.rank()) || cur.dims()[static_cast<size_t>(s->axis)] != n)
        return internal_error("{}: input {} has {} entries along axis {}, the analysis recorded {}", key.first->describe(),
                              key.second,
                              s->axis >= 0 && s->axis < static_cast<int64_t>(cur.rank()) ? cur.dims()[static_cast<size_t>(s->axis)] : -1,
                              s->axis, n);
      std::vector<int64_t> keep;
      for (int64_t e = 0; e < n; ++e)
        if (!removal.removed(s->atoms[static_cast<size_t>(e / s->block)])) keep.push_back(e);
      if (static_cast<int64_t>(keep.size()) == n) continue;
      cur = take_along_axis(cur, s->axis, keep);
      changed = true;
    }
    if (changed) set_constant_input(g, key.first, key.second, std::move(cur));
  }
  for (const Fixup& f : d.fixups) TRY(f(g, removal));
  for (const auto& [v, m] : d.values) {
    if (!v->type.is_tensor() || !v->type.shape || static_cast<int64_t>(v->type.shape->size()) != m.rank) continue;
    (*v->type.shape)[static_cast<size_t>(m.axis)] = Dim::known(removal.kept(m));
  }
  g.note_edit();
  return g.verify().with_context("the pruned graph is invalid (a pruning bug)");
}

}  // namespace ortool::prune
