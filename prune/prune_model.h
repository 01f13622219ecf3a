// prune_model: the library side of `ortool prune`: prepare the model, find the groups, rank, plan,
// remove the channels, optimize the result, and say what happened per layer and per group.
//
// Order matters for the bn-scale criterion: BatchNormalization must still be there when channels
// are ranked, so the model is first optimized with the BN folds left out (constants folded, shapes
// inferred, Identity and dead code gone), pruned with its BN layers sliced like any per-channel
// constant, and optimized in full afterwards, which folds them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "prune/output_figures.h"
#include "prune/plan.h"
#include "prune/refit.h"
#include "prune/sensitivity.h"
#include "runtime/samples.h"
#include "runtime/session.h"

namespace ortool::prune {

struct PrepareOptions {
  // --shape: fixed dims per graph input, and values for symbolic dims.
  std::map<std::string, std::vector<int64_t>> input_shapes;
  std::map<std::string, int64_t> dim_bindings;
};

// Makes `model` what prune works on, and what its result is measured against: initializers that
// are also graph inputs become plain constants (a pruned weight cannot stay an input of the old
// shape; the model moves to IR version 4 if older), and the graph is optimized, with the
// BatchNormalization folds only when `fold_norms`. Returns notes for the report.
Result<std::vector<std::string>> prepare_model(ir::Model& model, const PrepareOptions& o, bool fold_norms);

struct PruneOptions {
  PrepareOptions prepare;
  PlanOptions plan;
  // Calibration samples for the activation criterion (--calib); they must fit the model's inputs.
  const rt::SampleSource* samples = nullptr;
  rt::SessionOptions session;                                   // how those samples are run
  // Recovery (--calib): BatchNormalization statistics re-estimated behind the changed layers
  // (prune/recalibrate_bn.h) and the layers that lost input channels refit (prune/refit.h), each step
  // measured against the unpruned model on `samples`.
  bool recover = false;
  RefitOptions refit;                                           // session and progress are set from here
  // The sensitivity sweep (prune/sensitivity.h) on `sweep_samples` (the calibration or seeded random
  // samples); with `target_macs` (a fraction of the original MACs, in (0, 1)) its choice of per-group
  // ratios replaces plan.ratio.
  bool sensitivity = false;
  std::optional<double> target_macs;
  const rt::SampleSource* sweep_samples = nullptr;
  SweepOptions sweep;
  // Work done per stage ("activations", "sweep", "bn", "refit"); optional.
  std::function<void(std::string_view stage, size_t done, size_t total)> progress;
};

struct LayerReport {
  std::string name;     // node name ("" when unnamed)
  std::string op_type;
  int group = -1;       // -1: its channels are not tracked
  int64_t channels = 0;
  int64_t kept = 0;
};

struct GroupReport {
  int id = 0;
  std::vector<std::string> layers;  // names of the layers making its channels
  int64_t units = 0;
  int64_t removed = 0;
  double ratio = 0;
  std::string left_whole;           // why it kept every channel; empty when it was pruned or could be
  int64_t pinned_units = 0;         // units that had to stay even though the group was pruned
  std::vector<std::string> pin_reasons;
};

// One recovery stage measured against the unpruned model on the calibration samples.
struct RecoveryStep {
  std::string step;  // "pruned", "bn-recalibrated", "refit"
  OutputFigures figures;
  // The step lowered the output SQNR on the samples, so the model went back to what it was before it
  // (figures are what the step gave). Recovery never leaves the model worse than plain pruning.
  bool reverted = false;
};

struct PruneReport {
  std::vector<LayerReport> layers;
  std::vector<GroupReport> groups;
  std::vector<std::string> notes;
  std::optional<Sensitivity> sensitivity;  // when swept
  std::optional<TargetChoice> target;      // with target_macs
  std::vector<RecoveryStep> recovery;      // with recover
  int64_t bn_recalibrated = 0;
  std::vector<LayerRefit> refits;
};

// Prunes `model` in place: prepare_model (no BN folds), build_dependency_graph, importance,
// (with the activation criterion, collect_activation_stats on `samples`), make_plan, apply_plan,
// then the full optimization. Errors: bad options, no samples for the activation criterion, or
// nothing to prune (kInvalid); a pruning bug caught by verification (kInternal).
Result<PruneReport> prune_model(ir::Model& model, const PruneOptions& o);

// The sensitivity sweep alone (--sensitivity without --ratio or --target-macs): prepares `model` and
// sweeps it; nothing is pruned.
Result<Sensitivity> sweep_model(ir::Model& model, const PruneOptions& o);

// Parameters and MACs, as `ortool info` counts them (shapes inferred first, so a prepared model is
// counted in full).
struct ModelFigures {
  int64_t parameters = 0;
  uint64_t parameter_bytes = 0;
  uint64_t macs = 0;
  int64_t macs_unknown_nodes = 0;  // layers whose MACs could not be counted (unknown shapes)
};
ModelFigures model_figures(ir::Model& model);

}  // namespace ortool::prune
