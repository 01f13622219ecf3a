// Calibration collectors: what one tensor's values over many samples are reduced to, in fixed memory.
//
// A collector never keeps activations. Per tensor it holds a few numbers (running min/max over finite
// values, counts of NaN and Inf, optional moving-average min/max) and, when a histogram method is
// chosen, one Histogram of fixed size (2 x 2048 counters by default, 32 KiB). Memory is set when the
// collector is made and does not change with the number of samples (bytes() says how much).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>

#include "lib/status.h"
#include "lib/tensor.h"
#include "quant/calib_histogram.h"

namespace ortool::quant {

struct CollectOptions {
  // Keep a histogram (entropy, percentile and mse need one; minmax does not).
  bool histogram = false;
  int bins = 2048;  // per sign, see calib_histogram.h
  // Moving-average min/max, as ONNX Runtime's MinMaxCalibrater with moving_average: the first sample
  // sets them, each later sample moves them by `averaging_constant` x (its own min/max - average).
  bool moving_average = false;
  double averaging_constant = 0.01;
};

// Checks option values a user can set (bins, averaging constant); errors name the option.
Status check_collect_options(const CollectOptions& o);

// One tensor's statistics. add() once per sample (one run of the model).
class TensorCollector {
 public:
  explicit TensorCollector(const CollectOptions& options = {});

  // Adds one sample's values: float32, float16, bfloat16 or float64 tensors (converted to float in
  // small chunks, never copied whole); other element types are refused with an error naming the type.
  Status add(const Tensor& t);
  void add(std::span<const float> values);

  // Fixes the histogram's range before any value arrives (second pass of a two-pass calibration).
  void preset_histogram_limit(double limit);

  int64_t samples() const { return samples_; }
  int64_t finite_count() const { return finite_; }
  int64_t nan_count() const { return nan_; }
  int64_t inf_count() const { return inf_; }
  // Samples that held at least one NaN or Inf.
  int64_t samples_with_nonfinite() const { return samples_nonfinite_; }
  bool has_values() const { return finite_ > 0; }
  // Over all finite values seen (+inf / -inf while none).
  double min() const { return min_; }
  double max() const { return max_; }
  // Moving-average min/max (set when options.moving_average and a sample had finite values).
  std::optional<double> average_min() const { return avg_min_; }
  std::optional<double> average_max() const { return avg_max_; }
  const Histogram* histogram() const { return histogram_ ? &*histogram_ : nullptr; }
  const CollectOptions& options() const { return options_; }

  // Heap and object bytes held; the same after 10 samples as after 10,000.
  size_t bytes() const;

 private:
  // Statistics of one batch of floats; the chunks of one sample are folded into one before commit().
  struct Batch {
    int64_t finite = 0, nan = 0, inf = 0;
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
  };
  void scan(std::span<const float> values, Batch& b);
  void commit(const Batch& b);

  CollectOptions options_;
  int64_t samples_ = 0;
  int64_t finite_ = 0, nan_ = 0, inf_ = 0, samples_nonfinite_ = 0;
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
  std::optional<double> avg_min_, avg_max_;
  std::optional<Histogram> histogram_;
};

}  // namespace ortool::quant
