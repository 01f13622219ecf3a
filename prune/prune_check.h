// The closing check of `ortool prune`: the pruned model against the reference (the original,
// prepared the same way) on samples, judged with lib/accuracy's statistics and gates, plus the
// latency of both on ortool's runtime.
//
// Pruning changes outputs, so no element tolerance applies; the gates are the ones the user gives
// (--min-sqnr, --min-cosine, --max-top1-drop). Outputs of another shape than the reference's are a
// pruning bug, an error whatever the gates.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "lib/accuracy.h"
#include "lib/graph.h"
#include "runtime/samples.h"
#include "runtime/session.h"

namespace ortool::prune {

struct CheckOptions {
  Gates gates;                       // check_elements is ignored (always off)
  rt::SessionOptions session;
  int latency_runs = 10;             // timed runs of the first sample per model, after one warm-up; 0: none
  std::function<void(size_t done, size_t total)> progress;  // samples done (optional)
};

struct CheckResult {
  std::unique_ptr<AccuracyReport> accuracy;
  double reference_ms = 0, pruned_ms = 0;  // median latency of one run
};

// Runs both models on every sample. Errors: a sample or a run failing (kInvalid, naming the sample),
// outputs whose count, type or shape differ from the reference's (kInternal).
Result<CheckResult> check_pruned(const ir::Model& reference, const ir::Model& pruned, const rt::SampleSource& samples,
                                 const CheckOptions& o);

}  // namespace ortool::prune
