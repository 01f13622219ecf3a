// Recovery step 1: BatchNormalization statistics re-estimated after pruning.
//
// A layer that lost input channels makes different outputs, so the BatchNormalization layers behind
// it normalize with statistics that no longer hold. Each such BN (one whose input depends on a
// changed layer, before the BN folds) gets the mean and variance of its input over the calibration
// samples, per channel, measured on the pruned model with the BNs before it already re-estimated (one
// run over the samples per BN, in graph order; memory is a sum and a sum of squares per channel).
// BNs that nothing changed keep their trained statistics.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "runtime/samples.h"
#include "runtime/session.h"

namespace ortool::prune {

// Returns how many BatchNormalization nodes were re-estimated. `changed` are the nodes whose outputs
// pruning changed (layers that lost input channels). Errors: a failing run (named).
Result<int64_t> recalibrate_bn(ir::Model& model, const std::vector<const ir::Node*>& changed,
                               const rt::SampleSource& samples, rt::SessionOptions session = {},
                               const std::function<void(size_t done, size_t total)>& progress = {});

}  // namespace ortool::prune
