// prune_model: prepare, analyse, rank, plan, apply, optimize (see prune_model.h).
#include "prune/prune_model.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "lib/model_clone.h"
#include "lib/model_info.h"
#include "lib/onnx_shape_inference.h"
#include "passes/freeze_inputs.h"
#include "passes/optimize.h"
#include "prune/activation_stats.h"
#include "prune/apply_plan.h"
#include "prune/dependency_graph.h"
#include "prune/importance.h"
#include "prune/recalibrate_bn.h"

namespace ortool::prune {

namespace {

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
  if (int64_t n = passes::freeze_initializer_inputs(model))
    notes.push_back(fmt::format("{} initializer{} listed as graph input{} became plain constant{} (pruned weights "
                                "cannot stay inputs of their old shape)",
                                n, n == 1 ? "" : "s", n == 1 ? "" : "s", n == 1 ? "" : "s"));
  TRY(optimize(model, o, fold_norms));
  if (std::string newer = opsets_newer_than_onnx(model); !newer.empty())
    notes.push_back("shapes not inferred (" + newer + "): layers behind a Reshape or Flatten may be left whole");
  return notes;
}

namespace {

// The options checked alone; with target_macs or a sweep alone, plan.ratio is not used.
Status validate(const PruneOptions& o, bool ratio_used) {
  PlanOptions p = o.plan;
  if (!ratio_used) p.ratio = 0.5;
  TRY(validate_plan_options(p));
  if (o.target_macs && !(std::isfinite(*o.target_macs) && *o.target_macs > 0 && *o.target_macs < 1))
    return invalid("--target-macs {}: expected the fraction of the original MACs to keep, above 0 and below 1",
                   *o.target_macs);
  if (o.plan.criterion == Criterion::kActivation && !o.samples)
    return invalid("the activation criterion needs calibration samples (--calib)");
  if (o.recover && !o.samples) return invalid("recovery needs calibration samples (--calib)");
  if ((o.sensitivity || o.target_macs) && !o.sweep_samples) return invalid("the sensitivity sweep needs samples");
  return Status::ok();
}

// Sample data every stage would run on: an input with no finite value (all NaN or Inf) would score
// channels, refit and recover on nothing; quantize's calibration refuses the same data.
Status check_sample_data(const PruneOptions& o) {
  if (o.samples) TRY(rt::check_samples_finite(*o.samples));
  if (o.sweep_samples && o.sweep_samples != o.samples) TRY(rt::check_samples_finite(*o.sweep_samples));
  return Status::ok();
}

std::function<void(size_t, size_t)> stage(const PruneOptions& o, std::string_view name) {
  if (!o.progress) return {};
  return [&o, name](size_t done, size_t total) { o.progress(name, done, total); };
}

// The analysis of a prepared model: groups and scores.
struct Analysis {
  DependencyGraph d;
  std::vector<GroupScores> scores;
};

Result<Analysis> analyse(ir::Model& model, const PruneOptions& o) {
  ASSIGN_OR_RETURN(DependencyGraph d, build_dependency_graph(model));
  std::optional<ActivationStats> activations;
  if (o.plan.criterion == Criterion::kActivation) {
    auto a = collect_activation_stats(model, d, *o.samples, o.session, stage(o, "activations"));
    if (!a.is_ok()) return a.status().with_context("collecting activations");
    activations = std::move(a).value();
  }
  std::vector<GroupScores> scores = importance(d, o.plan.criterion, activations ? &*activations : nullptr);
  return Analysis{std::move(d), std::move(scores)};
}

Result<Sensitivity> sweep(ir::Model& model, const Analysis& a, const PruneOptions& o) {
  auto ref = ReferenceOutputs::compute(model, *o.sweep_samples, o.session);
  if (!ref.is_ok()) return ref.status().with_context("the sensitivity sweep");
  SweepOptions so = o.sweep;
  so.progress = stage(o, "sweep");
  return sensitivity_sweep(model, a.d, a.scores, o.plan, *ref, so);
}

// Layers that lost input channels: the ones to refit, and where BN statistics start to change.
std::vector<RefitTarget> refit_targets(const DependencyGraph& d, const Plan& plan, std::vector<const ir::Node*>* changed) {
  std::vector<RefitTarget> targets;
  for (const Layer& l : d.layers) {
    bool lost = false;
    for (const ConstSlice& s : d.slices)
      if (s.node == l.node && s.role == SliceRole::kInWeight)
        for (AtomId a : s.atoms) lost = lost || plan.removes(d.atoms.root(a));
    if (!lost) continue;
    changed->push_back(l.node);
    RefitTarget t;
    t.layer = layer_name(*l.node);
    for (size_t i = 0; i < l.out.size(); ++i)
      if (!plan.removes(d.atoms.root(l.out[i]))) t.kept_out.push_back(static_cast<int64_t>(i));
    targets.push_back(std::move(t));
  }
  return targets;
}

// Restricts a BN's statistics to the channels the plan keeps (its mean is a sliced constant).
void keep_planned(const DependencyGraph& d, const Plan& plan, const ir::Node& bn, ChannelStats& st) {
  for (const ConstSlice& s : d.slices) {
    if (s.node != &bn || s.input != 3) continue;
    ChannelStats kept;
    for (size_t e = 0; e < st.mean.size(); ++e)
      if (!plan.removes(d.atoms.root(s.atoms[e / static_cast<size_t>(s.block)]))) {
        kept.mean.push_back(st.mean[e]);
        kept.var.push_back(st.var[e]);
      }
    st = std::move(kept);
    return;
  }
}

Status measure(const ReferenceOutputs& ref, const ir::Model& model, const char* step, PruneReport& report) {
  auto f = ref.measure(model);
  if (!f.is_ok()) return f.status().with_context(fmt::format("measuring recovery step '{}'", step));
  report.recovery.push_back({step, *f});
  return Status::ok();
}

// Whether the last recovery step lowered the output SQNR against the kept state before it (by more
// than rounding): on samples unlike the training data, BN re-estimation can (ppocr_det_v3 pruned at
// 0.3 on random inputs: 0 -> -6 dB).
bool last_step_hurt(const PruneReport& report) {
  const RecoveryStep* before = nullptr;
  for (size_t i = 0; i + 1 < report.recovery.size(); ++i)
    if (!report.recovery[i].reverted) before = &report.recovery[i];
  const auto& a = before ? before->figures.sqnr_db : std::nullopt;
  const auto& b = report.recovery.back().figures.sqnr_db;
  return a && b && std::isfinite(*a) && *b < *a - 0.01;
}

}  // namespace

Result<Sensitivity> sweep_model(ir::Model& model, const PruneOptions& o) {
  TRY(validate(o, /*ratio_used=*/false));
  TRY(check_sample_data(o));
  ASSIGN_OR_RETURN(std::vector<std::string> notes, prepare_model(model, o.prepare, /*fold_norms=*/false));
  ASSIGN_OR_RETURN(Analysis a, analyse(model, o));
  return sweep(model, a, o);
}

Result<PruneReport> prune_model(ir::Model& model, const PruneOptions& o) {
  TRY(validate(o, /*ratio_used=*/!o.target_macs));
  TRY(check_sample_data(o));
  PruneReport report;
  ASSIGN_OR_RETURN(report.notes, prepare_model(model, o.prepare, /*fold_norms=*/false));
  ASSIGN_OR_RETURN(Analysis a, analyse(model, o));
  const DependencyGraph& d = a.d;
  PlanOptions plan_options = o.plan;
  if (o.sensitivity || o.target_macs) {
    ASSIGN_OR_RETURN(report.sensitivity, sweep(model, a, o));
    if (o.target_macs) {
      ASSIGN_OR_RETURN(report.target, choose_ratios(model, d, a.scores, o.plan, *report.sensitivity, *o.target_macs));
      if (report.target->group_ratios.empty())
        return invalid("--target-macs {:g}: the model is already there, nothing to prune", *o.target_macs);
      plan_options.ratio = 0;
      plan_options.scope = Scope::kLocal;
      plan_options.layer_ratios.clear();
      plan_options.group_ratios = report.target->group_ratios;
    }
  }
  ASSIGN_OR_RETURN(Plan plan, make_plan(d, a.scores, plan_options));

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

  // Recovery needs the unpruned model: its outputs (every step is measured against them) and, BN
  // folded as the pruned model will be, its layers' outputs (what the refit matches).
  // The BNs to re-estimate, with their input statistics in the unpruned model (channels it keeps).
  std::optional<ReferenceOutputs> ref;
  std::unique_ptr<ir::Model> folded_ref;
  std::vector<const ir::Node*> changed;
  std::vector<RefitTarget> targets = refit_targets(d, plan, &changed);
  std::vector<ir::Node*> norms;
  std::map<const ir::Node*, ChannelStats> norm_stats;
  if (o.recover) {
    auto r = ReferenceOutputs::compute(model, *o.samples, o.session);
    if (!r.is_ok()) return r.status().with_context("recovery");
    ref = std::move(r).value();
    ASSIGN_OR_RETURN(folded_ref, clone_model(model));
    TRY(optimize(*folded_ref, o.prepare, /*fold_norms=*/true).with_context("optimizing the reference"));
    ASSIGN_OR_RETURN(norms, affected_norms(*model.graph, changed));
    ASSIGN_OR_RETURN(norm_stats, norm_input_stats(model, norms, *o.samples, o.session));
    for (auto& [bn, st] : norm_stats) keep_planned(d, plan, *bn, st);
  }

  TRY(apply_plan(model, d, plan));
  // Each recovery step is kept only when it does not lower the output SQNR (see last_step_hurt).
  if (o.recover) {
    TRY(measure(*ref, model, "pruned", report));
    std::unique_ptr<ir::Model> kept;
    if (!norms.empty()) {
      ASSIGN_OR_RETURN(kept, clone_model(model));
    }
    ASSIGN_OR_RETURN(report.bn_recalibrated,
                     recalibrate_bn(model, norms, norm_stats, *o.samples, o.session, stage(o, "bn")));
    if (report.bn_recalibrated > 0) {
      TRY(measure(*ref, model, "bn-recalibrated", report));
      if (last_step_hurt(report)) {
        model = std::move(*kept);  // `norms` pointed into the replaced graph; nothing reads them after this
        report.recovery.back().reverted = true;
      }
    }
  }
  TRY(optimize(model, o.prepare, /*fold_norms=*/true).with_context("optimizing the pruned model"));
  if (o.recover && !targets.empty()) {
    RefitOptions ro = o.refit;
    ro.session = o.session;
    ro.progress = stage(o, "refit");
    ASSIGN_OR_RETURN(std::unique_ptr<ir::Model> kept, clone_model(model));
    ASSIGN_OR_RETURN(report.refits, refit_layers(model, *folded_ref, targets, *o.samples, ro));
    TRY(measure(*ref, model, "refit", report));
    if (last_step_hurt(report)) {
      model = std::move(*kept);
      report.recovery.back().reverted = true;
    }
  }
  return report;
}

namespace {

// Every value's type in `g` and its subgraphs, and their value_info lists, to put back afterwards.
struct TypeSnapshot {
  std::vector<std::pair<ir::Value*, Type>> types;
  std::vector<std::pair<ir::Graph*, std::vector<ir::Value*>>> value_infos;
  void take(ir::Graph& g) {
    value_infos.emplace_back(&g, g.value_info);
    for (ir::Value* v : g.values()) types.emplace_back(v, v->type);
    for (ir::Node* n : g.nodes())
      for (ir::Graph* sg : n->subgraphs()) take(*sg);
  }
  void restore() {
    for (auto& [v, t] : types) v->type = t;
    for (auto& [g, vi] : value_infos) g->value_info = vi;
  }
};

// MACs counted with every symbolic or unknown dim of the graph inputs at 1: a symbolic batch leaves
// unknown the shapes behind a Reshape whose target is computed from it (ViT's attention and MLP
// MatMuls: 72 of them were left out). The types are put back, so no batch-1 shape stays in the model.
ModelInfo summarize_at_batch_one(ir::Model& model) {
  TypeSnapshot snap;
  snap.take(*model.graph);
  for (ir::Value* in : model.graph->inputs()) {
    if (!in->type.is_tensor() || !in->type.shape) continue;
    for (Dim& d : *in->type.shape)
      if (d.kind != Dim::Kind::Value) d = Dim::known(1);
  }
  (void)infer_shapes(model);
  ModelInfo info = summarize_model(model);
  snap.restore();
  return info;
}

}  // namespace

ModelFigures model_figures(ir::Model& model) {
  ShapeInferenceReport sir;
  (void)infer_shapes(model, &sir);  // best effort: MACs of layers with unknown shapes are counted apart
  ModelInfo info = summarize_model(model);
  if (info.macs_unknown_nodes > 0) {
    ModelInfo at_one = summarize_at_batch_one(model);
    if (at_one.macs_unknown_nodes < info.macs_unknown_nodes) {
      info.macs = at_one.macs;
      info.macs_unknown_nodes = at_one.macs_unknown_nodes;
    }
  }
  return {info.parameter_count, info.parameter_bytes, info.macs, info.macs_unknown_nodes};
}

}  // namespace ortool::prune
