// Tensor ranges: what calibration measures and the quantizer turns into scales and zero points.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace ortool::quant {

// The float range [min, max] chosen for one tensor (after the calibration method: min-max,
// entropy, percentile, mse). The quantizer widens it to contain 0 before computing scale and zero point.
struct TensorRange {
  double min = 0;
  double max = 0;
};

// By value name in the model being quantized.
using RangeTable = std::map<std::string, TensorRange>;

// Per-channel means of activations (bias correction's E[x]), by value name: one entry per channel.
using ChannelMeans = std::map<std::string, std::vector<double>>;

}  // namespace ortool::quant
