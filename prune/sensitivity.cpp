// sensitivity_sweep and choose_ratios (see sensitivity.h).
#include "prune/sensitivity.h"

#include <algorithm>
#include <limits>

#include "lib/model_clone.h"
#include "prune/apply_plan.h"
#include "prune/prune_model.h"

namespace ortool::prune {

namespace {

Result<Plan> plan_for(const DependencyGraph& d, const std::vector<GroupScores>& scores, const PlanOptions& base,
                      const std::map<int, double>& ratios) {
  PlanOptions p = base;
  p.ratio = 0;
  p.scope = Scope::kLocal;
  p.layer_ratios.clear();
  p.group_ratios = ratios;
  return make_plan(d, scores, p);
}

Result<std::unique_ptr<ir::Model>> pruned_copy(const ir::Model& prepared, const Plan& plan) {
  ASSIGN_OR_RETURN(auto copy, clone_model(prepared));
  ASSIGN_OR_RETURN(DependencyGraph d, build_dependency_graph(*copy));
  TRY(apply_plan(*copy, d, plan));
  return copy;
}

}  // namespace

double damage(const OutputFigures& f) {
  return noise_ratio(f.sqnr_db) + (f.top1 ? std::clamp(1.0 - *f.top1, 0.0, 1.0) : 0.0);
}

Result<uint64_t> macs_with_plan(const ir::Model& prepared, const Plan& plan) {
  ASSIGN_OR_RETURN(auto copy, pruned_copy(prepared, plan));
  return model_figures(*copy).macs;
}

Result<Sensitivity> sensitivity_sweep(ir::Model& prepared, const DependencyGraph& d, const std::vector<GroupScores>& scores,
                                      const PlanOptions& base, const ReferenceOutputs& reference, const SweepOptions& o) {
  Sensitivity s;
  s.ratios = o.ratios;
  s.macs = model_figures(prepared).macs;
  const size_t total = d.groups.size() * o.ratios.size();
  size_t done = 0;
  for (const Group& g : d.groups) {
    GroupSweep gs;
    gs.group = g.id;
    gs.units = static_cast<int64_t>(g.units.size());
    for (size_t li : g.layers) gs.layers.push_back(layer_name(*d.layers[li].node));
    for (double r : o.ratios) {
      if (o.progress) o.progress(done++, total);
      auto plan = plan_for(d, scores, base, {{g.id, r}});
      if (!plan.is_ok()) continue;  // the group is left whole, or this ratio removes nothing
      const int64_t removed = plan->groups[static_cast<size_t>(g.id)].removed;
      if (removed == 0 || (!gs.points.empty() && removed <= gs.points.back().removed)) continue;
      ASSIGN_OR_RETURN(auto copy, pruned_copy(prepared, *plan));
      SweepPoint p;
      p.ratio = r;
      p.removed = removed;
      p.macs = model_figures(*copy).macs;
      auto f = reference.measure(*copy);
      if (!f.is_ok()) return f.status().with_context(fmt::format("group {} at ratio {:g}", g.id, r));
      p.figures = *f;
      gs.points.push_back(p);
    }
    if (!gs.points.empty()) s.groups.push_back(std::move(gs));
  }
  if (o.progress) o.progress(total, total);
  if (s.groups.empty()) return invalid("nothing to prune: no group loses a channel at the swept ratios");
  return s;
}

Result<TargetChoice> choose_ratios(const ir::Model& prepared, const DependencyGraph& d,
                                   const std::vector<GroupScores>& scores, const PlanOptions& base,
                                   const Sensitivity& s, double target) {
  const double goal = target * static_cast<double>(s.macs);
  std::vector<int> at(s.groups.size(), -1);  // index of the chosen point per swept group, -1: untouched
  auto macs_of = [&](size_t gi, int idx) {
    return idx < 0 ? static_cast<double>(s.macs) : static_cast<double>(s.groups[gi].points[static_cast<size_t>(idx)].macs);
  };
  auto damage_of = [&](size_t gi, int idx) {
    return idx < 0 ? 0.0 : damage(s.groups[gi].points[static_cast<size_t>(idx)].figures);
  };
  double estimate = static_cast<double>(s.macs);
  // One greedy step: the cheapest noise per MAC saved; false when no group can go further.
  auto step = [&]() {
    double best = std::numeric_limits<double>::infinity();
    size_t pick = s.groups.size();
    for (size_t gi = 0; gi < s.groups.size(); ++gi) {
      if (at[gi] + 1 >= static_cast<int>(s.groups[gi].points.size())) continue;
      const double saved = macs_of(gi, at[gi]) - macs_of(gi, at[gi] + 1);
      if (saved <= 0) continue;
      const double cost = std::max(0.0, damage_of(gi, at[gi] + 1) - damage_of(gi, at[gi])) / saved;
      if (cost < best) best = cost, pick = gi;
    }
    if (pick == s.groups.size()) return false;
    estimate -= macs_of(pick, at[pick]) - macs_of(pick, at[pick] + 1);
    ++at[pick];
    return true;
  };
  auto chosen = [&]() {
    std::map<int, double> r;
    for (size_t gi = 0; gi < s.groups.size(); ++gi)
      if (at[gi] >= 0) r[s.groups[gi].group] = s.groups[gi].points[static_cast<size_t>(at[gi])].ratio;
    return r;
  };
  bool more = true;
  while (estimate > goal && (more = step())) {
  }
  TargetChoice c;
  for (;;) {
    c.group_ratios = chosen();
    if (c.group_ratios.empty()) {
      c.macs = s.macs;
    } else {
      ASSIGN_OR_RETURN(Plan plan, plan_for(d, scores, base, c.group_ratios));
      ASSIGN_OR_RETURN(c.macs, macs_with_plan(prepared, plan));
    }
    if (static_cast<double>(c.macs) <= goal) break;
    if (!more || !(more = step()))
      return invalid("--target-macs {:g}: the swept ratios (up to {:g} per group) reach {:.3f} of the original MACs at "
                     "best",
                     target, s.ratios.empty() ? 0.0 : s.ratios.back(),
                     static_cast<double>(c.macs) / static_cast<double>(std::max<uint64_t>(1, s.macs)));
  }
  for (size_t gi = 0; gi < s.groups.size(); ++gi) c.damage += damage_of(gi, at[gi]);
  return c;
}

}  // namespace ortool::prune
