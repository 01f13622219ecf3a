// optimize_model: input shapes, opset conversion, the pass pipeline and before/after statistics.
#include "passes/optimize.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "passes/freeze_inputs.h"
#include "passes/opset_conversion.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

void count_ops(const ir::Graph& g, ModelStats& s, bool nested) {
  for (const ir::Node* n : g.nodes()) {
    std::string op = ir::is_default_domain(n->domain()) ? n->op_type() : n->domain() + "." + n->op_type();
    ++s.op_counts[op];
    ++(nested ? s.subgraph_nodes : s.nodes);
    for (const ir::Graph* sg : n->subgraphs()) count_ops(*sg, s, true);
  }
}

}  // namespace

ModelStats model_stats(const ir::Model& model) {
  ModelStats s;
  count_ops(*model.graph, s, false);
  s.initializers = static_cast<int64_t>(model.graph->initializers().size());
  s.opset = model.opset("");
  return s;
}

Result<std::vector<std::string>> resolve_pass_list(const OptimizeOptions& o) {
  std::vector<std::string> list;
  if (!o.passes.empty()) {
    list = o.passes;
  } else {
    ASSIGN_OR_RETURN(list, pipeline_passes(o.level));
  }
  auto known = [](const std::string& name) { return create_pass(name) != nullptr; };
  for (const std::string& name : list)
    if (!known(name)) return invalid("--passes: unknown pass '{}' (see --list-passes)", name);
  for (const std::string& name : o.disable)
    if (!known(name)) return invalid("--disable: unknown pass '{}' (see --list-passes)", name);
  if (!o.print_ir_after.empty() && o.print_ir_after != "all" && !known(o.print_ir_after))
    return invalid("--print-ir-after: unknown pass '{}' (a pass name or 'all')", o.print_ir_after);
  std::erase_if(list, [&](const std::string& n) {
    return std::find(o.disable.begin(), o.disable.end(), n) != o.disable.end();
  });
  return list;
}

Result<OptimizeReport> optimize_model(ir::Model& model, const OptimizeOptions& options) {
  auto start = std::chrono::steady_clock::now();
  OptimizeReport report;
  ASSIGN_OR_RETURN(report.passes, resolve_pass_list(options));
  report.before = model_stats(model);

  bool shapes_changed = false;
  TRY(apply_input_shapes(model, options.input_shapes, options.dim_bindings, &shapes_changed));
  if (shapes_changed) report.notes.push_back("input shapes fixed by --shape");
  report.initializer_inputs = count_initializer_inputs(*model.graph);
  if (options.freeze_inputs && report.initializer_inputs > 0) {
    report.frozen_inputs = freeze_initializer_inputs(model);
    report.notes.push_back(
        fmt::format("{} initializers that were also graph inputs are now constants (--freeze-inputs)", report.frozen_inputs));
    report.changed = true;
  }
  if (options.target_opset > 0 && options.target_opset != model.opset("")) {
    int64_t from = model.opset("");
    TRY(convert_opset(model, options.target_opset));
    report.notes.push_back(fmt::format("converted from opset {} to {}", from, options.target_opset));
    report.changed = true;
  }

  PassManagerOptions pm_options;
  const int max_iterations = options.max_iterations > 0
                                 ? options.max_iterations
                                 : static_cast<int>(std::clamp<int64_t>((report.before.nodes + report.before.subgraph_nodes) / 4, 32, 100000));
  pm_options.max_iterations = max_iterations;
  pm_options.max_rewrites = options.max_rewrites;
  pm_options.verify_each = options.verify_each;
  pm_options.print_ir_after = options.print_ir_after;
  pm_options.print = options.print;
  PassManager pm(pm_options);
  for (const std::string& name : report.passes) TRY(pm.add(name));
  PassContext ctx;
  ctx.fold_max_bytes = options.fold_max_bytes;
  ctx.runtime_ops = options.runtime_ops;
  ASSIGN_OR_RETURN(report.pipeline, pm.run(model, ctx));
  TRY(model.graph->verify().with_context("the optimized graph is invalid (an optimizer bug)"));

  if (report.pipeline.rewrite_cap_reached)
    report.notes.push_back(fmt::format("stopped at the rewrite cap ({} rewrites)", options.max_rewrites));
  else if (!report.pipeline.converged)
    report.notes.push_back(fmt::format("stopped after {} iterations without reaching a fixpoint", max_iterations));
  report.changed = report.changed || shapes_changed || report.pipeline.changed;
  report.after = model_stats(model);
  report.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace ortool::passes
