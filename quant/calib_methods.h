// Range methods: from what a collector gathered (min/max, histogram) to the range a tensor is quantized to.
//
//   minmax      the observed [min, max] (or the moving-average min/max when the collector kept one).
//   percentile  clips the rarest (100 - p)% of values: half from each end, or, symmetric, of |x|.
//   entropy     TensorRT's calibrator: on the |x| histogram, the threshold T (bin 128 to the last bin)
//               whose clipped and requantized (128 levels) distribution has the least KL divergence
//               from the original. Both distributions are smoothed as MXNet's and ONNX Runtime's
//               implementations do (zeros become 1e-4), so a few far outliers can be clipped instead
//               of making every smaller threshold infinitely bad; the count of the bin at 0 is set to
//               its neighbour's (as pytorch-quantization does) so a Relu's spike of zeros does not
//               decide the threshold. An unsigned tensor (no negative values, e.g. after Relu) uses the
//               positive half, which is then the whole |x| histogram.
//   mse         the threshold minimizing the expected squared error of quantizing the values to the
//               target's levels (clipping error plus rounding error), computed exactly per bin
//               assuming values spread evenly within each bin: L levels over [lo, hi] for asymmetric
//               and unsigned ranges, L-1 levels over [-T, T] for symmetric ones (-127..127 for int8).
//               Asymmetric signed ranges search each end in turn with the other fixed.
// Every method returns a range inside the observed [min, max] (never wider than the data); a constant
// tensor (min == max) gets [c, c] from every method.
#pragma once

#include <string_view>
#include <vector>

#include "lib/status.h"
#include "quant/calib_collect.h"
#include "quant/calib_histogram.h"
#include "quant/ranges.h"

namespace ortool::quant {

enum class CalibMethod { MinMax, Entropy, Percentile, Mse };

std::string_view calib_method_name(CalibMethod m);  // "minmax", "entropy", "percentile", "mse"
// Parses a method name; the error lists the valid names.
Result<CalibMethod> parse_calib_method(std::string_view name);
bool method_needs_histogram(CalibMethod m);

struct RangeOptions {
  CalibMethod method = CalibMethod::MinMax;
  // Ranges come out as [-T, T] (for symmetric signed targets); otherwise each end follows the data.
  bool symmetric = false;
  double percentile = 99.999;   // in (0, 100]
  int entropy_levels = 128;     // TensorRT: 128 levels for int8
  int entropy_start_bin = 128;  // smallest threshold considered, in bins
  int mse_levels = 256;         // quantization levels of the target type (8 bits); at least 3
};

// Checks option values a user can set; errors name the option.
Status check_range_options(const RangeOptions& o);

// The range for one tensor from its collector; an error when it saw no finite value at all, or when a
// histogram method is asked of a collector without a histogram.
Result<TensorRange> compute_range(const TensorCollector& c, const RangeOptions& o);

// The methods on their inputs, for tests and for callers with their own histograms. `min` and `max`
// are the observed extremes (min <= max); the histogram covers them.
TensorRange range_minmax(double min, double max, bool symmetric);
TensorRange range_percentile(const Histogram& h, double min, double max, double percentile, bool symmetric);
TensorRange range_entropy(const Histogram& h, double min, double max, int levels, int start_bin, bool symmetric);
TensorRange range_mse(const Histogram& h, double min, double max, int levels, bool symmetric);

// Expected squared error per value when the values of `bins` (bin j spanning [lo_edge + j*w,
// lo_edge + (j+1)*w), counts spread evenly in each) are rounded to the nearest multiple of `step`
// between the multiples nearest to lo and hi (a quantizer with an integer zero point); exposed so
// tests can check it against a direct simulation.
double expected_quantization_error(const std::vector<double>& bins, double lo_edge, double w, double lo, double hi,
                                   double step);

}  // namespace ortool::quant
