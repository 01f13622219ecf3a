// Recovery step 1: BatchNormalization statistics re-estimated after pruning.
//
// A layer that lost input channels makes different outputs, so the BatchNormalization layers behind
// it (those whose input depends on a changed layer, before the BN folds) normalize with statistics
// that no longer fit. Each gets a mean and variance that give its output, on the calibration samples,
// the per-channel mean and spread the unpruned model's output has there: with (m_p, v_p) its input's
// statistics in the pruned model, (m_r, v_r) in the unpruned one and (mean, var) the trained ones,
//   s' = sqrt(var + eps) * sqrt(v_p / v_r),  mean' = m_p - s' (m_r - mean) / sqrt(var + eps),  var' = s'^2 - eps.
// When the samples look like the training data (m_r ~ mean, v_r ~ var) this is the usual
// re-estimation (mean' ~ m_p, var' ~ v_p); on other samples it still matches the unpruned model
// rather than the samples. BNs go in graph order, each measured with the ones before it already
// re-estimated (one run over the samples per BN; memory is two sums per channel). BNs that nothing
// changed keep their trained statistics.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "runtime/samples.h"
#include "runtime/session.h"

namespace ortool::prune {

// Per channel (axis 1) of a value, over every other position and every sample.
struct ChannelStats {
  std::vector<double> mean, var;
};

// The BatchNormalization nodes (inference mode, float statistics) whose input depends on a node of
// `changed`, in graph order.
Result<std::vector<ir::Node*>> affected_norms(const ir::Graph& g, const std::vector<const ir::Node*>& changed);

// Statistics of the inputs of `norms` (nodes of `model`) over the samples, in one run per sample.
Result<std::map<const ir::Node*, ChannelStats>> norm_input_stats(const ir::Model& model, const std::vector<ir::Node*>& norms,
                                                                 const rt::SampleSource& samples,
                                                                 const rt::SessionOptions& session);

// Re-estimates `norms` (nodes of `model`, in graph order); `reference` holds each one's input
// statistics in the unpruned model, restricted to the channels it kept. Returns how many changed.
Result<int64_t> recalibrate_bn(ir::Model& model, const std::vector<ir::Node*>& norms,
                               const std::map<const ir::Node*, ChannelStats>& reference,
                               const rt::SampleSource& samples, rt::SessionOptions session = {},
                               const std::function<void(size_t done, size_t total)>& progress = {});

}  // namespace ortool::prune
