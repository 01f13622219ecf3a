// The sensitivity sweep (--sensitivity) and the per-group ratios it suggests (--target-macs).
//
// Sweep: every prunable group is pruned alone at each ratio (0.1 ... 0.7 by default) on a fresh copy
// of the prepared model (the analysis is deterministic, so a plan made on the original's dependency
// graph applies to the copy's), and the copy is measured against the reference outputs: output SQNR,
// cosine and top-1 agreement, and its MACs. Ratios that remove no more channels than the one before
// are left out.
//
// Target: per-group ratios reaching `target` of the original MACs with the least damage (below). From
// ratio 0 everywhere, the step (one group to its next swept ratio) with the smallest increase of damage
// per MAC saved is taken until the estimate (the original MACs minus each group's own saving) reaches
// the target; then the real MACs of the plan are counted and steps continue while they are above it
// (savings of groups that share a layer overlap, so the estimate is optimistic).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "prune/dependency_graph.h"
#include "prune/importance.h"
#include "prune/output_figures.h"
#include "prune/plan.h"

namespace ortool::prune {

struct SweepPoint {
  double ratio = 0;
  int64_t removed = 0;   // units removed
  uint64_t macs = 0;     // of the model with this group alone pruned
  OutputFigures figures;
};

struct GroupSweep {
  int group = 0;
  std::vector<std::string> layers;
  int64_t units = 0;
  std::vector<SweepPoint> points;  // by ratio, ascending
};

struct Sensitivity {
  uint64_t macs = 0;               // of the unpruned model
  std::vector<double> ratios;
  std::vector<GroupSweep> groups;  // groups that can lose channels, in group order
};

struct SweepOptions {
  std::vector<double> ratios = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7};
  std::function<void(size_t done, size_t total)> progress;
};

// MACs of `prepared` (unchanged) with `plan` applied to a copy.
Result<uint64_t> macs_with_plan(const ir::Model& prepared, const Plan& plan);

// `prepared` is the model `d` and `scores` were made on (unchanged); `base` carries the criterion,
// exclusions and limits (its ratios are ignored).
Result<Sensitivity> sensitivity_sweep(ir::Model& prepared, const DependencyGraph& d, const std::vector<GroupScores>& scores,
                                      const PlanOptions& base, const ReferenceOutputs& reference, const SweepOptions& o);

// The damage of a swept point: its output noise-to-signal ratio (10^(-SQNR/10), which adds up roughly
// for independent errors), plus, for a classifier (outputs with class-score rows), the fraction of
// rows whose top-1 class changed. Where the top-1 class holds the noise decides; a changed class
// costs as much as noise of the same fraction of the signal (a point at 10 dB that flips 10% of the
// classes is as bad as one at 7 dB that flips none).
double damage(const OutputFigures& f);

struct TargetChoice {
  std::map<int, double> group_ratios;
  uint64_t macs = 0;           // real MACs of the chosen plan
  double damage = 0;           // summed damage of the chosen points (the estimate the choice minimizes)
};

// Errors (kInvalid): the target cannot be reached with the swept ratios (the message gives the least
// fraction they reach).
Result<TargetChoice> choose_ratios(const ir::Model& prepared, const DependencyGraph& d,
                                   const std::vector<GroupScores>& scores, const PlanOptions& base,
                                   const Sensitivity& s, double target);

}  // namespace ortool::prune
