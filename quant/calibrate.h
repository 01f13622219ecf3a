// Calibration driver: runs samples through the model once (or twice), collects per-tensor statistics,
// and turns them into the ranges the quantizer uses.
//
// Memory: one collector per tensor (calib_collect.h), fixed in size; each sample is read from the
// SampleSource and run, the session's observer hands each watched value to its collector as the run
// makes it, and the sample is dropped before the next. Calibrating on 1000 samples holds what
// calibrating on 10 holds (tests/quant/test_calibrate.cpp and scripts/calib_memory.sh check it).
//
// One pass (default): histograms start at the first sample's range and double theirs when a later
// sample goes past it (exact pair merges, see calib_histogram.h). Two passes (`two_pass`, histogram
// methods only): a min/max pass first, then a histogram pass whose range is fixed up front; every
// bin then holds data, at the cost of running each sample twice.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "quant/calib_collect.h"
#include "quant/calib_methods.h"
#include "quant/calib_table.h"
#include "quant/ranges.h"
#include "runtime/samples.h"
#include "runtime/session.h"

namespace ortool::quant {

struct CalibOptions {
  RangeOptions range;      // method and its parameters
  CollectOptions collect;  // bins and moving average; `histogram` is set from the method
  bool two_pass = false;  // histogram methods: a min/max pass first (every sample runs twice)
  // Also the per-channel means of these tensors (name -> channel axis, negative from the end), for
  // bias correction; taken in the first pass, one sum and count per channel.
  std::map<std::string, int64_t> channel_means;
  rt::SessionOptions session;
};

// Called after each sample: `done` of `total` samples in pass `pass` of `passes` (both 1-based).
struct CalibProgress {
  size_t done = 0;
  size_t total = 0;
  int pass = 1;
  int passes = 1;
};
using CalibProgressFn = std::function<void(const CalibProgress&)>;

// What one tensor's collector saw, for reports.
struct TensorCalibStats {
  int64_t values = 0;  // finite values
  int64_t nan = 0;
  int64_t inf = 0;
  double min = 0;      // observed extremes (0 when no finite value)
  double max = 0;
};

struct CalibResult {
  RangeTable ranges;       // one per calibrated tensor that had finite values
  size_t samples = 0;      // samples run (per pass)
  int passes = 1;
  std::map<std::string, TensorCalibStats> stats;
  ChannelMeans means;      // of options.channel_means
  // One line each: NaN/Inf skipped, constant tensors, tensors left out of `ranges` and why.
  std::vector<std::string> notes;
  size_t collector_bytes = 0;  // memory held by all collectors (constant in the number of samples)
};

// Calibrates `tensors` (float values of the main graph: graph inputs or node outputs) of `model` on
// `samples`, and takes the means of options.channel_means (`tensors` may then be empty). Errors (exit 2 class): no samples, an unknown or constant tensor name, a non-float tensor,
// a sample the model refuses (named by its label). A tensor whose values are all NaN/Inf is left out
// of the ranges with a note.
Result<CalibResult> calibrate(const ir::Model& model, const std::vector<std::string>& tensors,
                              const rt::SampleSource& samples, const CalibOptions& options,
                              const CalibProgressFn& progress = {});

// Checks the option values a user can set (method parameters, bins, averaging constant).
Status check_calib_options(const CalibOptions& options);

// How the ranges were chosen, for table headers and reports: "entropy", "percentile 99.999 symmetric",
// "minmax moving-average 0.01", "mse two-pass".
std::string describe_method(const CalibOptions& options);

// The table file of a calibration: its ranges, describe_method() and the sample count.
CalibrationTable calibration_table(const CalibResult& result, const CalibOptions& options);

// `--calibration-table FILE` read back instead of calibrating: the table must cover `tensors` (the
// error names the file and the first missing tensor); ranges it has for other tensors are kept.
// The result has the table's sample count and a note saying where the ranges came from.
Result<CalibResult> result_from_table(const std::filesystem::path& path, const std::vector<std::string>& tensors);

}  // namespace ortool::quant
