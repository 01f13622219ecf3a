// Per-channel running means of one tensor over the calibration samples (for bias correction), in
// memory fixed by the channel count: a sum and a count per channel, never the values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lib/status.h"
#include "lib/tensor.h"

namespace ortool::quant {

class ChannelMeanCollector {
 public:
  // `axis`: the channel axis (negative counts from the last, so -1 is a Gemm input's feature axis).
  explicit ChannelMeanCollector(int64_t axis) : axis_(axis) {}

  // Adds one sample: float32, float16, bfloat16 or float64; NaN and Inf are skipped. The channel count
  // is set by the first sample; a later one with another count is an error naming both.
  Status add(const Tensor& t);

  // Mean of each channel's finite values over every sample and position (0 for a channel that had none).
  std::vector<double> means() const;
  int64_t channels() const { return static_cast<int64_t>(sum_.size()); }
  size_t bytes() const { return sizeof(*this) + sum_.capacity() * sizeof(double) + count_.capacity() * sizeof(int64_t); }

 private:
  int64_t axis_;
  std::vector<double> sum_;
  std::vector<int64_t> count_;
};

}  // namespace ortool::quant
