// A pruning plan: which units of which groups go, from importance scores and the user's ratios.
//
// scope local: each group loses `ratio` of its units (or its --layer ratio), its least important
// ones. scope global: scores are divided by their group's mean (Torch-Pruning's mean normalizer, so
// groups of different sizes and depths compare) and the least important `ratio` of all units go,
// wherever they are. Either way every layer keeps at least min_channels channels (all of them when it
// has fewer), every Split or Slice output keeps one, pinned units stay, and a group's kept count is
// rounded up to a multiple of round_to. A unit is one channel of each layer of its group, except where
// channel shuffles or grouped convolutions tie several channels of a layer into one unit.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lib/status.h"
#include "prune/dependency_graph.h"
#include "prune/importance.h"

namespace ortool::prune {

enum class Scope { kLocal, kGlobal };

struct PlanOptions {
  double ratio = 0;                             // --ratio: fraction of channels to remove
  Criterion criterion = Criterion::kL2;         // --criterion
  Scope scope = Scope::kLocal;                  // --scope
  std::map<std::string, double> layer_ratios;   // --layer NAME=R: that layer's group, alone, at R (0 keeps it)
  std::vector<std::string> exclude;             // --exclude: these layers' groups stay whole
  int64_t round_to = 1;                         // --round-to
  int64_t min_channels = 1;                     // --min-channels
  // Per group id, overriding `ratio` (the sensitivity sweep and --target-macs choose these).
  std::map<int, double> group_ratios;
};

// Checks the options alone (before any model is read): ratios finite and in range, a --layer ratio
// of 1 (the layer would lose every channel), round-to and min-channels >= 1. Errors name the option.
Status validate_plan_options(const PlanOptions& o);

struct GroupDecision {
  int group = 0;
  double ratio = 0;          // the ratio asked of this group (global scope: the overall one)
  int64_t units = 0;
  int64_t removed = 0;
  std::string left_whole;    // why nothing was asked of it (pinned, excluded, not rankable); empty otherwise
};

struct Plan {
  std::vector<GroupDecision> groups;  // one per group, in group order
  std::vector<AtomId> removed;        // removed units (representative atoms), sorted
  bool removes(AtomId unit) const;
};

// Makes the plan. Errors (kInvalid): an unknown --layer or --exclude name, a --layer whose channels
// cannot be pruned, two --layer ratios for one group, nothing to prune (every group left whole), and
// a ratio so small that no channel goes.
Result<Plan> make_plan(const DependencyGraph& d, const std::vector<GroupScores>& scores, const PlanOptions& o);

}  // namespace ortool::prune
