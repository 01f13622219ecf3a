// Applying a plan: channels are physically removed, so the model is smaller and faster.
//
// Every recorded constant is sliced (weights along output and input channels, biases, normalization
// parameters, per-channel constants), shape constants and attributes are rewritten (Reshape shapes,
// Split sizes, Slice bounds, Resize sizes, depthwise group counts), and the types of the values
// whose channels changed get their new dims. Old constants are never edited in place (they may be
// shared); new initializers replace them.
#pragma once

#include <cstdint>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "prune/dependency_graph.h"
#include "prune/plan.h"

namespace ortool::prune {

// The entries of `t` along `axis` listed in `keep` (ascending), any element type but strings.
Tensor take_along_axis(const Tensor& t, int64_t axis, const std::vector<int64_t>& keep);

// Rewrites the model `d` was built on. Errors are internal (a constant no longer matching what the
// analysis recorded); the graph is verified at the end.
Status apply_plan(ir::Model& model, const DependencyGraph& d, const Plan& plan);

}  // namespace ortool::prune
