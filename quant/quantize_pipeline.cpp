// quantize_model: prepare, ranges, quantize, prove, and the --target-sqnr fallback.
#include "quant/quantize_pipeline.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lib/model_clone.h"
#include "passes/freeze_inputs.h"
#include "quant/bias_correction.h"
#include "quant/quantize_report.h"

namespace ortool::quant {

namespace {

// An activation SQNR for layers whose input is not quantized (a float graph input): float is exact,
// but an infinite input SQNR would make every such layer look infinitely harmful.
constexpr double kFloatInputDb = 100.0;

Result<QuantizeReport> quantize_once(ir::Model& model, const CalibResult* calib, const PipelineOptions& o,
                                     const QuantizeOptions& qo) {
  if (o.mode == QuantMode::Dynamic) return quantize_dynamic(model, qo);
  return quantize_static(model, calib->ranges, qo, &calib->means);
}

// Calibration options that also take the means bias correction needs for `model`.
Result<CalibOptions> calib_options(const ir::Model& model, const PipelineOptions& o, const QuantizeOptions& qo) {
  CalibOptions co = o.calib;
  if (qo.bias_correction) {
    ASSIGN_OR_RETURN(co.channel_means, bias_correction_inputs(model, qo));
  }
  return co;
}

// The worst output SQNR of `float_model` quantized with `qo` (ranges measured on `calib`, or `ranges`
// when given) and proved on `check`: one side of an option's measured effect.
Result<std::optional<double>> sqnr_with(const ir::Model& float_model, const CalibResult* ranges,
                                        const rt::SampleSource* calib, const rt::SampleSource& check,
                                        const PipelineOptions& o, const QuantizeOptions& qo) {
  ASSIGN_OR_RETURN(std::unique_ptr<ir::Model> q, clone_model(float_model));
  std::optional<CalibResult> measured;
  if (o.mode == QuantMode::Static && !ranges) {
    ASSIGN_OR_RETURN(std::vector<std::string> names, tensors_to_calibrate(*q, qo));
    ASSIGN_OR_RETURN(CalibOptions co, calib_options(*q, o, qo));
    ASSIGN_OR_RETURN(measured, calibrate(*q, names, *calib, co));
    ranges = &*measured;
  }
  TRY(quantize_once(*q, ranges, o, qo).status());
  ProofOptions po = o.proof;
  po.tensor_sqnr = false;
  po.progress = nullptr;
  ASSIGN_OR_RETURN(ProofResult proof, prove_quantized(float_model, *q, check, po));
  return proof.worst_output_sqnr_db();
}

// A candidate of the fallback: the quantized nodes that make one watched activation.
struct Layer {
  std::vector<std::string> nodes;
  std::string tensor;
  double damage = 0;       // dB: input activations' SQNR minus the output's
  double added_noise = 0;  // noise-to-signal ratio added by the layer
};

// The layers not float yet, most noise added first (at most `count`), from the proof's per-tensor SQNR.
std::vector<Layer> harmful_layers(const ir::Graph& g, const std::vector<TensorSqnr>& tensors,
                                  const QuantizeReport& report, const std::set<std::string>& excluded, size_t count) {
  std::map<std::string, double> sqnr;
  for (const TensorSqnr& t : tensors)
    if (auto db = t.sqnr_db()) sqnr[t.name] = std::min(*db, kFloatInputDb);
  // Pass-through ops (Reshape, Split, MaxPool, ...) move quantized values without rounding them again:
  // putting one back to float changes nothing, however its slices' SQNR compares with its input's.
  std::set<std::string> quantized;
  for (const NodeOutcome& n : report.quantized)
    if (n.detail.find("passed through") == std::string::npos) quantized.insert(n.node);
  std::vector<Layer> layers;
  std::set<std::vector<std::string>> seen_layers;
  for (const auto& [name, out_db] : sqnr) {
    const ir::Value* v = g.find_value(name);
    if (!v || !v->producer()) continue;
    Layer layer;
    layer.tensor = name;
    double in_db = kFloatInputDb;
    // Walk back from the producer through values nobody measured (a Conv whose Relu was folded).
    std::vector<const ir::Node*> stack = {v->producer()};
    std::set<const ir::Node*> seen;
    while (!stack.empty() && seen.size() < 16) {
      const ir::Node* n = stack.back();
      stack.pop_back();
      if (!seen.insert(n).second) continue;
      if (!n->name.empty() && quantized.count(node_label(*n)) && !excluded.count(n->name)) layer.nodes.push_back(n->name);
      for (const ir::Value* in : n->inputs()) {
        if (!in || in->is_constant()) continue;
        if (auto it = sqnr.find(in->name()); it != sqnr.end()) in_db = std::min(in_db, it->second);
        else if (in->producer()) stack.push_back(in->producer());
      }
    }
    if (layer.nodes.empty() || !seen_layers.insert(layer.nodes).second) continue;
    layer.damage = in_db - out_db;
    // Ranked by the noise the layer adds relative to its signal (noise-to-signal ratio out minus in):
    // a drop from 50 to 40 dB adds far less noise than one from 25 to 20 dB.
    layer.added_noise = std::pow(10.0, -out_db / 10.0) - std::pow(10.0, -in_db / 10.0);
    layers.push_back(std::move(layer));
  }
  std::stable_sort(layers.begin(), layers.end(),
                   [](const Layer& a, const Layer& b) { return a.added_noise > b.added_noise; });
  if (layers.size() > count) layers.resize(count);
  return layers;
}

Status nothing_to_quantize(QuantMode mode, const QuantizeOptions& qo) {
  return invalid("nothing to quantize: no node of the main graph is one the {} quantizer handles ({}) with what it "
                 "needs (constant weights){}",
                 mode == QuantMode::Static ? "static" : "dynamic", fmt::join(supported_op_types(mode, qo.dynamic_conv), ", "),
                 mode == QuantMode::Dynamic && !qo.dynamic_conv ? "; Conv needs --dynamic-conv" : "");
}

// Every tensor got a range; one that saw no finite value (NaN/Inf calibration data) is named, a graph
// input first since that is where bad data comes in.
Status check_all_measured(const ir::Model& model, const CalibResult& c, const std::vector<std::string>& tensors,
                          const rt::SampleSource& samples) {
  std::optional<std::string> missing;
  for (const std::string& t : tensors) {
    if (c.ranges.count(t)) continue;
    const ir::Value* v = model.graph->find_value(t);
    if (!missing || (v && v->is_graph_input())) missing = t;
    if (v && v->is_graph_input()) break;
  }
  if (!missing) return Status::ok();
  auto it = c.stats.find(*missing);
  const TensorCalibStats st = it == c.stats.end() ? TensorCalibStats{} : it->second;
  return rt::no_finite_value(samples, *missing, st.nan, st.inf);
}

}  // namespace

Status check_pipeline_options(const ir::Model& model, const PipelineOptions& o) {
  TRY(validate_options(model, o.quantize, o.mode));
  TRY(validate_gates(o.proof.gates));
  if (o.mode == QuantMode::Dynamic) {
    if (!o.table_in.empty() || !o.table_out.empty())
      return invalid("--calibration-table: dynamic quantization measures ranges at run time; it has no table");
    // Dynamic activations are quantized with scales computed at run time, which the proof does not watch.
    if (o.target_sqnr_db) return invalid("--target-sqnr applies to --mode static (use --exclude-nodes in dynamic mode)");
  } else {
    TRY(check_calib_options(o.calib));
    if (!o.table_in.empty() && !o.table_out.empty() && o.table_in == o.table_out)
      return invalid("--calibration-table {}: give it once, either to read or to write", o.table_in.string());
  }
  if (o.target_sqnr_db && !std::isfinite(*o.target_sqnr_db))
    return invalid("--target-sqnr: expected a finite number of dB");
  if (o.max_fallback_rounds < 0) return invalid("--max-fallback-rounds: expected 0 or more");
  return Status::ok();
}

Result<PipelineResult> quantize_model(ir::Model& model, const rt::SampleSource* calib, const rt::SampleSource* check,
                                      const PipelineOptions& o) {
  TRY(check_pipeline_options(model, o));
  if (o.mode == QuantMode::Static && o.table_in.empty() && !calib)
    return invalid("static quantization needs calibration samples (--calib PATH) or a table (--calibration-table FILE)");
  if (o.target_sqnr_db && !check)
    return invalid("--target-sqnr measures the quantized model on samples: give --calib PATH or --check N");
  if (o.quantize.bias_correction && !calib)
    return invalid("--bias-correction takes the mean of each layer's input from calibration samples: give --calib PATH");
  PipelineResult result;

  // Prepare as `optimize` does; an excluded node the optimizer removed (a BatchNormalization folded
  // into its Conv) is dropped from the exclusions with a note.
  QuantizeOptions qo = o.quantize;
  if (o.optimize_first) {
    result.baked_inputs = passes::freeze_initializer_inputs(model);
    ASSIGN_OR_RETURN(result.optimized, passes::optimize_model(model, o.optimize));
    std::vector<std::string> kept;
    for (const std::string& name : qo.exclude_nodes) {
      bool found = false;
      for (const ir::Node* n : model.graph->nodes()) found = found || n->name == name;
      if (found) kept.push_back(name);
      else result.notes.push_back(fmt::format("node '{}' (--exclude-nodes) was removed by optimize (folded into "
                                              "another node); nothing to exclude", name));
    }
    qo.exclude_nodes = kept;
  }
  const bool measure = check && o.measure_effects;
  std::unique_ptr<ir::Model> unequalized;  // kept to measure equalization's effect
  if (qo.equalize) {
    if (measure) {
      ASSIGN_OR_RETURN(unequalized, clone_model(model));
    }
    ASSIGN_OR_RETURN(result.equalized, equalize(model));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ir::Model> float_model, clone_model(model));

  // Ranges (and the input means bias correction needs).
  if (o.mode == QuantMode::Static) {
    ASSIGN_OR_RETURN(result.calibrated_tensors, tensors_to_calibrate(model, qo));
    if (result.calibrated_tensors.empty()) return nothing_to_quantize(o.mode, qo);
    ASSIGN_OR_RETURN(CalibOptions co, calib_options(model, o, qo));
    if (!o.table_in.empty()) {
      ASSIGN_OR_RETURN(result.calibration, result_from_table(o.table_in, result.calibrated_tensors));
      result.ranges_from_table = true;
      if (qo.bias_correction) {
        ASSIGN_OR_RETURN(CalibResult means, calibrate(model, {}, *calib, co, o.calib_progress));
        result.calibration->means = std::move(means.means);
      }
    } else {
      ASSIGN_OR_RETURN(result.calibration, calibrate(model, result.calibrated_tensors, *calib, co, o.calib_progress));
      TRY(check_all_measured(model, *result.calibration, result.calibrated_tensors, *calib));
    }
  }
  CalibResult* calibration = result.calibration ? &*result.calibration : nullptr;
  RangeTable* ranges = calibration ? &calibration->ranges : nullptr;
  // The table is written last: the fallback may measure more tensors (an activation read by a layer
  // put back to float needs its own range).
  auto finish = [&]() -> Result<PipelineResult> {
    if (!o.table_out.empty()) TRY(write_calibration_table(o.table_out, calibration_table(*result.calibration, o.calib)));
    if (o.speed) {
      std::unique_ptr<rt::SampleSource> random;
      const rt::SampleSource* from = check && check->size() > 0 ? check : calib && calib->size() > 0 ? calib : nullptr;
      if (!from) {
        random = rt::random_samples(*float_model->graph, 1, 0, o.optimize.input_shapes, o.optimize.dim_bindings);
        from = random.get();
      }
      ASSIGN_OR_RETURN(rt::Sample sample, from->get(0));
      auto speed = measure_speed(*float_model, model, sample.feeds, *o.speed);
      if (!speed.is_ok()) return speed.status().with_context("measuring float against int8 latency");
      result.speed = std::move(speed).value();
    }
    return std::move(result);
  };

  ASSIGN_OR_RETURN(result.quantize, quantize_once(model, calibration, o, qo));
  if (result.quantize.quantized.empty()) return nothing_to_quantize(o.mode, qo);
  if (!check) return finish();

  ProofOptions po = o.proof;
  po.tensor_sqnr = po.tensor_sqnr || o.target_sqnr_db.has_value();
  ASSIGN_OR_RETURN(result.proof, prove_quantized(*float_model, model, *check, po));
  result.first_output_sqnr_db = result.proof->worst_output_sqnr_db();

  // Each option's effect: the same pipeline without it, on the same check samples.
  if (measure && qo.equalize) {
    OptionEffect e{"equalize", std::nullopt, result.first_output_sqnr_db, {}};
    QuantizeOptions off = qo;
    off.equalize = false;
    if (o.mode == QuantMode::Static && !calib) {
      e.note = "not measured: the unequalized model needs calibration samples (--calib) for its own ranges";
    } else {
      ASSIGN_OR_RETURN(e.without_db, sqnr_with(*unequalized, nullptr, calib, *check, o, off));
    }
    result.effects.push_back(std::move(e));
  }
  if (measure && qo.bias_correction) {
    QuantizeOptions off = qo;
    off.bias_correction = false;
    ASSIGN_OR_RETURN(std::optional<double> without, sqnr_with(*float_model, calibration, calib, *check, o, off));
    result.effects.push_back({"bias-correction", without, result.first_output_sqnr_db, {}});
  }
  if (!o.target_sqnr_db) return finish();

  // Fallback: put the most harmful layer back to float until the outputs reach the target.
  std::set<std::string> excluded(qo.exclude_nodes.begin(), qo.exclude_nodes.end());
  auto reached = [&] {
    auto worst = result.proof->worst_output_sqnr_db();
    return !worst || *worst >= *o.target_sqnr_db;
  };
  // One trial: the model quantized with `layer` float too, and its proof.
  struct Trial {
    Layer layer;
    std::unique_ptr<ir::Model> model;
    QuantizeReport report;
    ProofResult proof;
  };
  auto try_layer = [&](const Layer& layer) -> Result<Trial> {
    QuantizeOptions trial_qo = qo;
    for (const std::string& n : layer.nodes) trial_qo.exclude_nodes.push_back(n);
    ASSIGN_OR_RETURN(std::unique_ptr<ir::Model> again, clone_model(*float_model));
    if (o.mode == QuantMode::Static) {
      ASSIGN_OR_RETURN(std::vector<std::string> need, tensors_to_calibrate(*again, trial_qo));
      std::vector<std::string> missing;
      for (const std::string& n : need)
        if (!ranges->count(n)) missing.push_back(n);
      if (!missing.empty()) {
        if (!calib)
          return invalid("--target-sqnr: with '{}' float, tensor '{}' needs a range the table {} lacks; give --calib "
                         "PATH to measure it",
                         layer.nodes.front(), missing.front(), o.table_in.string());
        ASSIGN_OR_RETURN(CalibResult more, calibrate(*float_model, missing, *calib, o.calib));  // ranges only
        for (const auto& [name, range] : more.ranges) (*ranges)[name] = range;
        for (const std::string& n : more.notes) result.calibration->notes.push_back(n);
      }
    }
    ASSIGN_OR_RETURN(QuantizeReport report, quantize_once(*again, calibration, o, trial_qo));
    ASSIGN_OR_RETURN(ProofResult proof, prove_quantized(*float_model, *again, *check, po));
    return Trial{layer, std::move(again), std::move(report), std::move(proof)};
  };
  // Trials compare by the worst output SQNR (what the target and --min-sqnr measure), then by the SQNR
  // over all samples: one badly clipped sample can hold the worst value while a layer still helps.
  auto sqnr_of = [](const ProofResult& p) {
    const double none = -std::numeric_limits<double>::infinity();
    double total = std::numeric_limits<double>::infinity();
    for (const OutputAccuracy& out : p.accuracy->outputs()) total = std::min(total, out.total_sqnr_db().value_or(none));
    return std::pair<double, double>(p.worst_output_sqnr_db().value_or(none), total);
  };
  int trials = 0;
  for (int round = 1; !reached(); ++round) {
    if (round > o.max_fallback_rounds) {
      result.target_reached = false;
      break;
    }
    // The candidates ranked by the noise they add are each tried; the one whose float version gives
    // the best output wins the round (measured, not guessed).
    auto layers = harmful_layers(*float_model->graph, result.proof->tensors, result.quantize, excluded,
                                 static_cast<size_t>(std::max(o.fallback_candidates, 1)));
    if (layers.empty()) {
      result.target_reached = false;
      result.notes.push_back("--target-sqnr: no quantized layer left to put back to float");
      break;
    }
    std::optional<Trial> best;
    for (const Layer& layer : layers) {
      if (o.on_fallback_round) o.on_fallback_round(++trials);
      ASSIGN_OR_RETURN(Trial t, try_layer(layer));
      if (!best || sqnr_of(t.proof) > sqnr_of(best->proof)) best = std::move(t);
    }
    if (sqnr_of(best->proof) <= sqnr_of(*result.proof)) {
      result.target_reached = false;
      result.notes.push_back(fmt::format("--target-sqnr: none of the {} layers adding the most noise improves the "
                                         "output when put back to float; stopped after {} round{}",
                                         layers.size(), round - 1, round == 2 ? "" : "s"));
      break;
    }
    for (const std::string& n : best->layer.nodes) {
      excluded.insert(n);
      qo.exclude_nodes.push_back(n);
    }
    result.fallback.push_back({best->layer.nodes, best->layer.tensor, best->layer.damage,
                               best->proof.worst_output_sqnr_db()});
    model = std::move(*best->model);
    result.quantize = std::move(best->report);
    result.proof = std::move(best->proof);
  }
  return finish();
}

}  // namespace ortool::quant
