// Tensor ranges: what calibration measures and the quantizer turns into scales and zero points.
#pragma once

#include <map>
#include <string>

namespace ortool::quant {

// The float range [min, max] chosen for one tensor (after the calibration method: min-max,
// entropy, percentile, mse). The quantizer widens it to contain 0 before computing scale and zero point.
struct TensorRange {
  double min = 0;
  double max = 0;
};

// By value name in the model being quantized.
using RangeTable = std::map<std::string, TensorRange>;

}  // namespace ortool::quant
