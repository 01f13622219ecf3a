// prune_model: prepare, analyse, rank, plan, apply, optimize (see prune_model.h).
#include "prune/prune_model.h"

#include <fmt/format.h>

#include <optional>

#include "lib/model_info.h"
#include "lib/onnx_shape_inference.h"
#include "passes/optimize.h"
#include "prune/activation_stats.h"
#include "prune/apply_plan.h"
#include "prune/dependency_graph.h"
#include "prune/importance.h"

namespace ortool::prune {

namespace {

// Initializer-backed graph inputs become plain initializers; returns how many.
int64_t freeze_initializer_inputs(ir::Model& model) {
  ir::Graph& g = *model.graph;
  std::vector<ir::Value*> frozen;
  for (ir::Value* v : g.inputs())
    if (v->is_constant()) frozen.push_back(v);
  for (ir::Value* v : frozen) g.remove_input(v);
  if (!frozen.empty() && model.ir_version < 4) model.ir_version = 4;  // initializers outside the inputs
  return static_cast<int64_t>(frozen.size());
}

Status optimize(ir::Model& model, const PrepareOptions& o, bool fold_norms) {
  passes::OptimizeOptions opts;
  opts.input_shapes = o.input_shapes;
  opts.dim_bindings = o.dim_bindings;
  if (!fold_norms) opts.disable = {"fuse_conv_bn", "fuse_gemm_bn"};
  auto r = passes::optimize_model(model, opts);
  return r.status();
}

}  // namespace

Result<std::vector<std::string>> prepare_model(ir::Model& model, const PrepareOptions& o, bool fold_norms) {
  std::vector<std::string> notes;
  if (int64_t n = freeze_initializer_inputs(model))
    notes.push_back(fmt::format("{} initializer{} listed as graph input{} became plain constant{} (pruned weights "
                                "cannot stay inputs of their old shape)",
                                n, n == 1 ? "" : "s", n == 1 ? "" : "s", n == 1 ? "" : "s"));
  TRY(optimize(model, o, fold_norms));
  if (std::string newer = opsets_newer_than_onnx(model); !newer.empty())
    notes.push_back("shapes not inferred (" + newer + "): layers behind a Reshape or Flatten may be left whole");
  return notes;
}

Result<PruneReport> prune_model(ir::Model& model, const PruneOptions& o) {
  TRY(validate_plan_options(o.plan));
  PruneReport report;
  ASSIGN_OR_RETURN(report.notes, prepare_model(model, o.prepare, /*fold_norms=*/false));
  if (o.plan.criterion == Criterion::kActivation && !o.samples)
    return invalid("the activation criterion needs calibration samples (--calib)");
  ASSIGN_OR_RETURN(DependencyGraph d, build_dependency_graph(model));
  std::optional<ActivationStats> activations;
  if (o.plan.criterion == Criterion::kActivation) {
    auto a = collect_activation_stats(model, d, *o.samples, o.session, o.progress);
    if (!a.is_ok()) return a.status().with_context("collecting activations");
    activations = std::move(a).value();
  }
  std::vector<GroupScores> scores = importance(d, o.plan.criterion, activations ? &*activations : nullptr);
  ASSIGN_OR_RETURN(Plan plan, make_plan(d, scores, o.plan));

  for (const Group& g : d.groups) {
    const GroupDecision& gd = plan.groups[static_cast<size_t>(g.id)];
    GroupReport gr;
    gr.id = g.id;
    for (size_t li : g.layers) gr.layers.push_back(layer_name(*d.layers[li].node));
    gr.units = gd.units;
    gr.removed = gd.removed;
    gr.ratio = gd.ratio;
    gr.left_whole = gd.left_whole;
    if (gd.left_whole.empty()) {
      gr.pinned_units = g.pinned_units;
      gr.pin_reasons = g.pin_reasons;
    }
    report.groups.push_back(std::move(gr));
  }
  for (const Layer& l : d.layers) {
    LayerReport lr;
    lr.name = layer_name(*l.node);
    lr.op_type = l.node->op_type();
    lr.group = d.layer_group(l);
    lr.channels = static_cast<int64_t>(l.out.size());
    for (AtomId a : l.out) lr.kept += !plan.removes(d.atoms.root(a));
    report.layers.push_back(std::move(lr));
  }
  for (const std::string& n : d.notes) report.notes.push_back(n);

  TRY(apply_plan(model, d, plan));
  TRY(optimize(model, o.prepare, /*fold_norms=*/true).with_context("optimizing the pruned model"));
  return report;
}

ModelFigures model_figures(ir::Model& model) {
  ShapeInferenceReport sir;
  (void)infer_shapes(model, &sir);  // best effort: MACs of layers with unknown shapes are counted apart
  ModelInfo info = summarize_model(model);
  return {info.parameter_count, info.parameter_bytes, info.macs, info.macs_unknown_nodes};
}

}  // namespace ortool::prune
