// Importance criteria: a score per unit of every group, higher meaning more worth keeping.
//
// l1 / l2: the group magnitude of Torch-Pruning's GroupMagnitudeImportance: for each unit, the sum
// over every layer of the group of |w| (l1) or w^2 (l2) over the unit's weight slices: its output
// filters, the next layers' input slices, and the scales of the BatchNormalization and
// InstanceNormalization layers after it. bn-scale: |gamma| of those normalization layers alone
// (network slimming); a group without one cannot be ranked by it. activation: the mean absolute value
// of the unit's channels in every activation a layer reads them from, over calibration samples
// (prune/activation_stats.h); a group no layer reads cannot be ranked by it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/status.h"
#include "prune/dependency_graph.h"

namespace ortool::prune {

enum class Criterion { kL1, kL2, kBnScale, kActivation };

Result<Criterion> parse_criterion(std::string_view name);  // "l1", "l2", "bn-scale", "activation"
std::string_view criterion_name(Criterion c);

struct GroupScores {
  std::vector<double> score;  // one per unit of the group, in Group::units order
  std::string unavailable;    // set when the criterion cannot rank this group (why)
};

struct ActivationStats;

// Scores of every group of `d`, in group order. The model the graph was built on must be unchanged.
// kActivation needs `activations` (collected on that model); the others ignore it.
std::vector<GroupScores> importance(const DependencyGraph& d, Criterion c, const ActivationStats* activations = nullptr);

}  // namespace ortool::prune
