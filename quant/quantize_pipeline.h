// The whole of `ortool quantize` as a library call: prepare (initializer inputs baked, `optimize`),
// ranges (calibration or a table file), quantize (static or dynamic), prove (prove_quantized), and the
// accuracy-driven fallback of --target-sqnr. The CLI parses options, opens samples and prints; tests
// call this directly.
//
//     PipelineOptions o;                          // static QDQ, minmax, proof on the calibration samples
//     auto calib = rt::open_samples(*model->graph, "calib/");
//     auto r = quantize_model(*model, calib->get(), nullptr, o);   // model rewritten in place
//
// Fallback (--target-sqnr DB): while the worst output SQNR (worst sample) is below the target, one layer
// goes back to float and the model is quantized again from the float model with the same ranges. Each
// round tries the `fallback_candidates` layers that add the most noise, each put back to float and
// proved, and keeps the one whose output SQNR is best; a round where none improves the output ends the
// fallback (target not reached, noted). A layer is the chain of quantized nodes between watched
// activations (Conv + its folded Relu); its damage is the noise-to-signal ratio of its output activation
// minus that of its input activations (measured by the proof's per-tensor SQNR), so a layer that rounds
// an already noisy signal coarsely ranks above one that takes a clean signal from 50 dB to 40 dB.
// Pass-through ops (Reshape, Split, MaxPool) round nothing and are never candidates.
//
// --equalize runs equalize() on the optimized float model before calibration (the proof's float
// reference is the equalized model: the same function). --bias-correction collects the per-channel
// means of the corrected layers' inputs during calibration (a means-only pass over --calib when the
// ranges come from a table) and hands them to quantize_static. With `measure_effects` and check
// samples, each of the two is also left out once (the model quantized and proved without it; for
// equalization that means calibrating the unequalized model too) and the output SQNR with and without
// it is reported: the option's measured effect on this model. At most
// `max_fallback_rounds` rounds; each is reported. Static mode only: dynamic activations get their scales
// at run time, which the proof does not watch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/accuracy.h"
#include "lib/graph.h"
#include "lib/status.h"
#include "passes/optimize.h"
#include "quant/calibrate.h"
#include "quant/equalize.h"
#include "quant/quantize.h"
#include "quant/quantize_proof.h"
#include "quant/quantize_speed.h"
#include "runtime/samples.h"

namespace ortool::quant {

struct PipelineOptions {
  QuantMode mode = QuantMode::Static;
  QuantizeOptions quantize;
  CalibOptions calib;                        // method, bins, two-pass; calib.session runs calibration
  std::filesystem::path table_in;            // read ranges from this table instead of calibrating
  std::filesystem::path table_out;           // write the calibrated ranges here (atomically)
  bool optimize_first = true;                // bake initializer inputs and run `optimize` first
  passes::OptimizeOptions optimize;          // input_shapes / dim_bindings (--shape) live here
  ProofOptions proof;                        // gates, session, tensor_sqnr, progress of the proof runs
  std::optional<double> target_sqnr_db;      // fallback to float until the outputs reach this
  int max_fallback_rounds = 8;
  int fallback_candidates = 3;               // layers tried per round (the most noise added first)
  bool measure_effects = true;               // --equalize / --bias-correction: also measure without each
  // Float against int8 latency of the final model (quantize_speed.h), on the first check sample (else
  // the first calibration sample, else a seeded random one).
  std::optional<SpeedOptions> speed;
  CalibProgressFn calib_progress;            // calibration, per sample and pass
  // Called when a fallback trial starts its proof (1-based over all rounds), so a progress bar can restart.
  std::function<void(int trial)> on_fallback_round;
};

// One round of the --target-sqnr fallback.
struct FallbackRound {
  std::vector<std::string> nodes;            // the layer put back to float (node names)
  std::string tensor;                        // its output activation
  double damage_db = 0;                      // its measured damage (input SQNR - output SQNR)
  std::optional<double> output_sqnr_db;      // worst output SQNR after the round
};

// The measured effect of --equalize or --bias-correction: worst output SQNR without and with it.
struct OptionEffect {
  std::string option;                        // "equalize", "bias-correction"
  std::optional<double> without_db;
  std::optional<double> with_db;             // first_output_sqnr_db
  std::string note;                          // why it was not measured, when it was not
};

struct PipelineResult {
  std::optional<passes::OptimizeReport> optimized;  // when optimize_first
  int64_t baked_inputs = 0;
  std::optional<EqualizeReport> equalized;   // --equalize
  std::optional<CalibResult> calibration;    // static: from calibration or the table
  bool ranges_from_table = false;
  std::vector<std::string> calibrated_tensors;
  QuantizeReport quantize;                   // of the final model
  std::optional<ProofResult> proof;          // when check samples were given
  std::vector<FallbackRound> fallback;       // --target-sqnr rounds, in order
  std::optional<double> first_output_sqnr_db;  // before any fallback
  bool target_reached = true;                // false: rounds ran out, no layer left, or none improved the output
  std::vector<std::string> notes;            // pipeline-level notes (exclusions dropped by optimize, ...)
  std::vector<OptionEffect> effects;         // measure_effects: one per option given
  std::optional<SpeedResult> speed;          // options.speed: the optimized float model against the result
};

// Validates everything a user can get wrong before the model is touched: quantize options against the
// model and mode, calibration options, the table options, the gates.
Status check_pipeline_options(const ir::Model& model, const PipelineOptions& options);

// Quantizes `model` in place. `calib` (static, unless table_in is given) are the calibration samples;
// `check` (optional) the samples of the proof. Errors (kInvalid, exit 2): options, samples the model
// refuses, a model with nothing to quantize or already quantized, a table that does not cover the model.
// A failed gate is not an error: see proof->accuracy->passed().
Result<PipelineResult> quantize_model(ir::Model& model, const rt::SampleSource* calib, const rt::SampleSource* check,
                                      const PipelineOptions& options);

}  // namespace ortool::quant
