// Importance criteria: a score per unit of every group, higher meaning more worth keeping.
//
// l1 / l2: the group magnitude of Torch-Pruning's GroupMagnitudeImportance: for each unit, the sum
// over every layer of the group of |w| (l1) or w^2 (l2) over the unit's weight slices: its output
// filters, the next layers' input slices, and the scales of the BatchNormalization and
// InstanceNormalization layers after it. bn-scale: |gamma| of those normalization layers alone
// (network slimming); a group without one cannot be ranked by it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/status.h"
#include "prune/dependency_graph.h"

namespace ortool::prune {

enum class Criterion { kL1, kL2, kBnScale };

Result<Criterion> parse_criterion(std::string_view name);  // "l1", "l2", "bn-scale"
std::string_view criterion_name(Criterion c);

struct GroupScores {
  std::vector<double> score;  // one per unit of the group, in Group::units order
  std::string unavailable;    // set when the criterion cannot rank this group (why)
};

// Scores of every group of `d`, in group order. The model the graph was built on must be unchanged.
std::vector<GroupScores> importance(const DependencyGraph& d, Criterion c);

}  // namespace ortool::prune
