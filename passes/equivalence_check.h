// Checking that an optimized model computes what the original did: both run on the same seeded
// random inputs with the runtime, outputs compared within a tolerance.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/tensor_compare.h"
#include "runtime/session.h"

namespace ortool::passes {

struct CheckOptions {
  int runs = 1;             // input sets (seeds seed, seed+1, ...)
  uint64_t seed = 0;
  Tolerance tolerance;
  // --shape values: per input name, and per symbolic dim.
  std::map<std::string, std::vector<int64_t>> input_shapes;
  std::map<std::string, int64_t> dim_bindings;
  int threads = 1;
  size_t max_memory_bytes = 0;        // SessionOptions' limits for both runs (0: none)
  int64_t max_loop_iterations = rt::SessionOptions{}.max_loop_iterations;
  std::function<void(int)> on_run;  // called with the number of runs done (progress lines)
};

struct OutputCheck {
  std::string name;
  CompareStats stats;
};

struct CheckReport {
  bool ran = false;          // false: the original could not run (skipped_reason says why)
  std::string skipped_reason;
  bool passed = true;
  int runs = 0;
  std::string failure;       // first failure, one line naming the output and the element
  std::vector<OutputCheck> outputs;  // worst case per output over all runs
  double original_ms = 0, optimized_ms = 0;  // runtime of one run (the last)
};

// Runs both models, as `ortool run` would (function calls without a kernel run as their bodies). The
// original failing to run (an op the runtime lacks, inputs random data cannot satisfy) skips the check
// with a reason; the optimized one failing, or any output outside the tolerance, is a failed check.
// Errors are reserved for bad options.
//
// The tolerance applies per element (|got - ref| <= atol + rtol * |ref|) and, with rtol > 0, to each
// float output as a whole: its error's RMS must stay within rtol of its RMS, i.e. an SQNR of at least
// -20 log10(rtol) dB (60 dB for rtol 1e-3). Random inputs often leave a model's outputs tiny (a text
// detector's probabilities on noise are ~1e-9): atol alone passes any change to those, while a
// rewrite that keeps the model's function changes them by float rounding only (SQNR ~100 dB or more).
// An output whose reference is all zero is judged by atol alone (it has no signal to measure against).
Result<CheckReport> check_equivalence(const ir::Model& original, const ir::Model& optimized, const CheckOptions& options);

}  // namespace ortool::passes
