// Activation statistics for the activation criterion: the mean absolute value of each channel, over
// samples, of every value a layer reads channels from (the activations the next layers see).
//
// Collected with a session observer (runtime/session.h) on the model the dependency graph was built
// on, one sample at a time, so memory does not grow with the data set.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/status.h"
#include "prune/dependency_graph.h"
#include "runtime/samples.h"
#include "runtime/session.h"

namespace ortool::prune {

struct ActivationStats {
  // By value name: per entry along the value's channel axis, the mean of |x| over every other
  // position and every sample.
  std::map<std::string, std::vector<double>> mean_abs;
  size_t samples = 0;
};

// Runs `model` (the one `d` describes) on every sample, watching the inputs of the layers whose
// weights are sliced along their input channels. Errors: a sample or a run failing (named).
Result<ActivationStats> collect_activation_stats(const ir::Model& model, const DependencyGraph& d,
                                                 const rt::SampleSource& samples, rt::SessionOptions session = {},
                                                 const std::function<void(size_t, size_t)>& progress = {});

}  // namespace ortool::prune
