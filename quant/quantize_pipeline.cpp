// quantize_model: prepare, ranges, quantize, prove, and the --target-sqnr fallback.
#include "quant/quantize_pipeline.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lib/onnx_export.h"
#include "lib/onnx_import.h"
#include "quant/quantize_report.h"

namespace ortool::quant {

namespace {

// An activation SQNR for layers whose input is not quantized (a float graph input): float is exact,
// but an infinite input SQNR would make every such layer look infinitely harmful.
constexpr double kFloatInputDb = 100.0;

Result<std::unique_ptr<ir::Model>> copy_model(const ir::Model& m) {
  ASSIGN_OR_RETURN(std::string bytes, export_model_proto_bytes(m));
  return import_model_proto(bytes, {});
}

Result<QuantizeReport> quantize_once(ir::Model& model, const RangeTable* ranges, const PipelineOptions& o,
                                     const QuantizeOptions& qo) {
  if (o.mode == QuantMode::Dynamic) return quantize_dynamic(model, qo);
  return quantize_static(model, *ranges, qo);
}

// A candidate of the fallback: the quantized nodes that make one watched activation.
struct Layer {
  std::vector<std::string> nodes;
  std::string tensor;
  double damage = 0;
};

// The layer doing the most damage that is not float yet, from the proof's per-tensor SQNR.
std::optional<Layer> most_harmful_layer(const ir::Graph& g, const std::vector<TensorSqnr>& tensors,
                                        const QuantizeReport& report, const std::set<std::string>& excluded) {
  std::map<std::string, double> sqnr;
  for (const TensorSqnr& t : tensors)
    if (auto db = t.sqnr_db()) sqnr[t.name] = std::min(*db, kFloatInputDb);
  std::set<std::string> quantized;
  for (const NodeOutcome& n : report.quantized) quantized.insert(n.node);
  std::optional<Layer> best;
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
    if (layer.nodes.empty()) continue;
    layer.damage = in_db - out_db;
    if (!best || layer.damage > best->damage) best = std::move(layer);
  }
  return best;
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
  return invalid("{}: tensor '{}' has no finite value on any calibration sample ({} NaN, {} Inf): the calibration "
                 "data holds NaN or Inf",
                 samples.describe(), *missing, st.nan, st.inf);
}

}  // namespace

Status check_pipeline_options(const ir::Model& model, const PipelineOptions& o) {
  TRY(validate_options(model, o.quantize, o.mode));
  TRY(validate_gates(o.proof.gates));
  if (o.mode == QuantMode::Dynamic) {
    if (!o.table_in.empty() || !o.table_out.empty())
      return invalid("--calibration-table: dynamic quantization measures ranges at run time; it has no table");
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
  PipelineResult result;

  // Prepare as `optimize` does; an excluded node the optimizer removed (a BatchNormalization folded
  // into its Conv) is dropped from the exclusions with a note.
  QuantizeOptions qo = o.quantize;
  if (o.optimize_first) {
    result.baked_inputs = bake_initializer_inputs(model);
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
  ASSIGN_OR_RETURN(std::unique_ptr<ir::Model> float_model, copy_model(model));

  // Ranges.
  if (o.mode == QuantMode::Static) {
    ASSIGN_OR_RETURN(result.calibrated_tensors, tensors_to_calibrate(model, qo));
    if (result.calibrated_tensors.empty()) return nothing_to_quantize(o.mode, qo);
    if (!o.table_in.empty()) {
      ASSIGN_OR_RETURN(result.calibration, result_from_table(o.table_in, result.calibrated_tensors));
      result.ranges_from_table = true;
    } else {
      ASSIGN_OR_RETURN(result.calibration, calibrate(model, result.calibrated_tensors, *calib, o.calib, o.calib_progress));
      TRY(check_all_measured(model, *result.calibration, result.calibrated_tensors, *calib));
    }
  }
  RangeTable* ranges = result.calibration ? &result.calibration->ranges : nullptr;
  // The table is written last: the fallback may measure more tensors (an activation read by a layer
  // put back to float needs its own range).
  auto finish = [&]() -> Result<PipelineResult> {
    if (!o.table_out.empty()) TRY(write_calibration_table(o.table_out, calibration_table(*result.calibration, o.calib)));
    return std::move(result);
  };

  ASSIGN_OR_RETURN(result.quantize, quantize_once(model, ranges, o, qo));
  if (result.quantize.quantized.empty()) return nothing_to_quantize(o.mode, qo);
  if (!check) return finish();

  ProofOptions po = o.proof;
  po.tensor_sqnr = po.tensor_sqnr || o.target_sqnr_db.has_value();
  ASSIGN_OR_RETURN(result.proof, prove_quantized(*float_model, model, *check, po));
  result.first_output_sqnr_db = result.proof->worst_output_sqnr_db();
  if (!o.target_sqnr_db) return finish();

  // Fallback: put the most harmful layer back to float until the outputs reach the target.
  std::set<std::string> excluded(qo.exclude_nodes.begin(), qo.exclude_nodes.end());
  auto reached = [&] {
    auto worst = result.proof->worst_output_sqnr_db();
    return !worst || *worst >= *o.target_sqnr_db;
  };
  for (int round = 1; !reached(); ++round) {
    if (round > o.max_fallback_rounds) {
      result.target_reached = false;
      break;
    }
    auto layer = most_harmful_layer(*float_model->graph, result.proof->tensors, result.quantize, excluded);
    if (!layer) {
      result.target_reached = false;
      result.notes.push_back("--target-sqnr: no quantized layer left to put back to float");
      break;
    }
    for (const std::string& n : layer->nodes) {
      excluded.insert(n);
      qo.exclude_nodes.push_back(n);
    }
    ASSIGN_OR_RETURN(std::unique_ptr<ir::Model> again, copy_model(*float_model));
    if (o.mode == QuantMode::Static) {
      ASSIGN_OR_RETURN(std::vector<std::string> need, tensors_to_calibrate(*again, qo));
      std::vector<std::string> missing;
      for (const std::string& n : need)
        if (!ranges->count(n)) missing.push_back(n);
      if (!missing.empty()) {
        if (!calib)
          return invalid("--target-sqnr: with '{}' float, tensor '{}' needs a range the table {} lacks; give --calib "
                         "PATH to measure it",
                         layer->nodes.front(), missing.front(), o.table_in.string());
        ASSIGN_OR_RETURN(CalibResult more, calibrate(*float_model, missing, *calib, o.calib));
        for (const auto& [name, range] : more.ranges) (*ranges)[name] = range;
        for (const std::string& n : more.notes) result.calibration->notes.push_back(n);
      }
    }
    ASSIGN_OR_RETURN(QuantizeReport report, quantize_once(*again, ranges, o, qo));
    if (o.on_fallback_round) o.on_fallback_round(round);
    ASSIGN_OR_RETURN(ProofResult proof, prove_quantized(*float_model, *again, *check, po));
    result.fallback.push_back({layer->nodes, layer->tensor, layer->damage, proof.worst_output_sqnr_db()});
    model = std::move(*again);
    result.quantize = std::move(report);
    result.proof = std::move(proof);
  }
  return finish();
}

}  // namespace ortool::quant
