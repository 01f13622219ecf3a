// Float against int8 latency on ortool's own runtime: what `ortool quantize` prints at the end, so a
// user sees at once whether the int8 model pays (ONNX Runtime users often find theirs slower).
//
// Both models get a session with the same options; after a warm-up, runs alternate float, int8,
// float, ... on the same feeds, so a machine whose load changes during the measurement slows both
// alike. Stops after `max_runs` pairs, or after `max_seconds` once `min_runs` pairs are done.
#pragma once

#include <cstddef>

#include "lib/graph.h"
#include "lib/latency_stats.h"
#include "lib/status.h"
#include "runtime/feeds.h"
#include "runtime/session.h"

namespace ortool::quant {

struct SpeedOptions {
  rt::SessionOptions session;
  int warmup = 1;            // untimed runs of each model
  int min_runs = 3;          // timed pairs at least
  int max_runs = 30;         // timed pairs at most
  double max_seconds = 3.0;  // once min_runs pairs are done
};

struct SpeedResult {
  LatencyStats float_ms, int8_ms;
  int threads = 1;  // the sessions' threads (fewer than asked on a busy machine, see SessionOptions)
  // float median / int8 median: above 1 when the int8 model is faster.
  double speedup() const { return int8_ms.median > 0 ? float_ms.median / int8_ms.median : 0; }
};

// Errors: a session or run failing (named: "the float model" / "the quantized model").
Result<SpeedResult> measure_speed(const ir::Model& float_model, const ir::Model& quantized, const rt::Feeds& feeds,
                                  const SpeedOptions& options);

}  // namespace ortool::quant
