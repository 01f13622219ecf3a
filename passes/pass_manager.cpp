// The pass registry and the pass manager: named pipelines run to a fixpoint under a rewrite cap.
#include "passes/pass_manager.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "passes/ir_printer.h"
#include "passes/pass_registry.h"

namespace ortool::passes {

namespace {

using Factory = std::unique_ptr<Pass> (*)();

// Sorted by name; `list_passes` relies on it.
const std::vector<std::pair<std::string_view, Factory>>& registry() {
  static const std::vector<std::pair<std::string_view, Factory>> kPasses = {
      {"constant_folding", make_constant_folding},
      {"constant_to_initializer", make_constant_to_initializer},
      {"drop_qdq_around_moves", make_drop_qdq_around_moves},
      {"eliminate_common_subexpressions", make_eliminate_common_subexpressions},
      {"eliminate_dead_code", make_eliminate_dead_code},
      {"eliminate_identity", make_eliminate_identity},
      {"eliminate_neutral_elements", make_eliminate_neutral_elements},
      {"eliminate_noop", make_eliminate_noop},
      {"fold_shape_computation", make_fold_shape_computation},
      {"fuse_conv_add", make_fuse_conv_add},
      {"fuse_conv_bn", make_fuse_conv_bn},
      {"fuse_conv_mul", make_fuse_conv_mul},
      {"fuse_gemm_bn", make_fuse_gemm_bn},
      {"fuse_layer_norm", make_fuse_layer_norm},
      {"fuse_matmul_add", make_fuse_matmul_add},
      {"fuse_pad_into_conv", make_fuse_pad_into_conv},
      {"fuse_relu_clip", make_fuse_relu_clip},
      {"fuse_transpose_into_gemm", make_fuse_transpose_into_gemm},
      {"fuse_transpose_pairs", make_fuse_transpose_pairs},
      {"push_transposes", make_push_transposes},
      {"shape_inference", make_shape_inference},
      {"share_duplicate_constants", make_share_duplicate_constants},
      {"split_dilated_conv", make_split_dilated_conv},
      {"trim_conv_taps", make_trim_conv_taps},
      {"unique_weight_dequantize", make_unique_weight_dequantize},
  };
  return kPasses;
}

// Basic: cleanups, the transpose pushing and the fusions ONNX Runtime's basic level does (all
// semantics-preserving standard ONNX). Extended adds Gemm, Pad, Conv-tap and LayerNormalization rewrites.
const std::vector<std::string>& basic_pipeline() {
  static const std::vector<std::string> kBasic = {
      "constant_to_initializer", "shape_inference",  "fold_shape_computation", "constant_folding",
      "eliminate_identity",      "eliminate_noop",   "eliminate_neutral_elements", "push_transposes",
      "fuse_transpose_pairs",    "eliminate_common_subexpressions",
      "share_duplicate_constants", "unique_weight_dequantize", "fuse_conv_bn", "fuse_conv_mul", "fuse_conv_add",
      "fuse_relu_clip",          "eliminate_dead_code",
  };
  return kBasic;
}

const std::vector<std::string>& extended_pipeline() {
  static const std::vector<std::string> kExtended = {
      "constant_to_initializer", "shape_inference",   "fold_shape_computation", "constant_folding",
      "eliminate_identity",      "eliminate_noop",    "eliminate_neutral_elements", "push_transposes",
      "fuse_transpose_pairs",    "eliminate_common_subexpressions",
      "share_duplicate_constants", "unique_weight_dequantize", "drop_qdq_around_moves", "fuse_conv_bn", "fuse_conv_mul", "fuse_conv_add",
      "fuse_pad_into_conv",      "trim_conv_taps",    "split_dilated_conv", "fuse_gemm_bn",      "fuse_matmul_add",        "fuse_transpose_into_gemm",
      "fuse_relu_clip",          "fuse_layer_norm",   "eliminate_dead_code",
  };
  return kExtended;
}

void collect_graphs(ir::Graph* g, std::vector<ir::Graph*>& out) {
  out.push_back(g);
  for (ir::Node* n : g->nodes())
    for (ir::Graph* sg : n->subgraphs()) collect_graphs(sg, out);
}

bool graph_has_op(const ir::Graph& g, const std::unordered_set<std::string_view>& ops) {
  for (const ir::Node* n : g.nodes())
    if (ops.count(n->op_type())) return true;
  return false;
}

}  // namespace

std::vector<ir::Graph*> all_graphs(ir::Graph& g) {
  std::vector<ir::Graph*> out;
  collect_graphs(&g, out);
  return out;
}

std::vector<PassInfo> list_passes() {
  std::vector<PassInfo> out;
  for (const auto& [name, make] : registry()) {
    std::unique_ptr<Pass> p = make();
    PassInfo info{std::string(name), std::string(p->description()), {}};
    for (const auto* level : {&basic_pipeline(), &extended_pipeline()}) {
      if (std::find(level->begin(), level->end(), name) != level->end())
        info.levels.push_back(level == &basic_pipeline() ? "basic" : "extended");
    }
    out.push_back(std::move(info));
  }
  return out;
}

std::unique_ptr<Pass> create_pass(std::string_view name) {
  for (const auto& [n, make] : registry())
    if (n == name) return make();
  return nullptr;
}

Result<std::vector<std::string>> pipeline_passes(std::string_view level) {
  if (level == "basic") return basic_pipeline();
  if (level == "extended") return extended_pipeline();
  return invalid("unknown optimization level '{}' (expected basic or extended)", level);
}

Status PassManager::add(std::string_view name) {
  std::unique_ptr<Pass> p = create_pass(name);
  if (!p) {
    std::vector<std::string_view> names;
    for (const auto& [n, make] : registry()) names.push_back(n);
    return invalid("unknown pass '{}' (known passes: {})", name, fmt::join(names, ", "));
  }
  passes_.push_back(std::move(p));
  return Status::ok();
}

void PassManager::add(std::unique_ptr<Pass> pass) { passes_.push_back(std::move(pass)); }

Result<PipelineReport> PassManager::run(ir::Model& model, PassContext ctx) const {
  using Clock = std::chrono::steady_clock;
  RewriteBudget budget(options_.max_rewrites);
  ctx.budget = &budget;
  PipelineReport report;
  for (const auto& p : passes_) report.passes.push_back({std::string(p->name()), 0, 0, 0});

  for (int iter = 1; iter <= options_.max_iterations; ++iter) {
    report.iterations = iter;
    bool sweep_changed = false;
    for (size_t pi = 0; pi < passes_.size(); ++pi) {
      Pass& pass = *passes_[pi];
      PassStats& stats = report.passes[pi];
      std::unordered_set<std::string_view> ops;
      for (std::string_view op : pass.op_types()) ops.insert(op);
      bool pass_changed = false;
      auto start = Clock::now();
      // Subgraphs are collected afresh: an earlier rewrite may have removed or added some.
      std::vector<ir::Graph*> graphs;
      if (pass.whole_model()) graphs.push_back(model.graph.get());
      else graphs = all_graphs(*model.graph);
      std::unordered_set<const ir::Graph*> done;
      for (size_t i = 0; i < graphs.size();) {
        ir::Graph* g = graphs[i++];
        if (!done.insert(g).second) continue;
        if (!ops.empty() && !graph_has_op(*g, ops)) continue;
        ++stats.runs;
        Result<bool> r = pass.run(model, *g, ctx);
        if (!r.is_ok()) return r.status().with_context(fmt::format("pass {}", pass.name()));
        if (!*r) continue;
        pass_changed = true;
        if (!pass.whole_model()) {
          graphs = all_graphs(*model.graph);
          i = 0;
        }
      }
      stats.ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      if (pass_changed) {
        ++stats.changes;
        if (!pass.is_analysis()) sweep_changed = true;
      }
      if (options_.verify_each) {
        Status st = model.graph->verify();
        if (!st.is_ok())
          return internal_error("IR verification failed after pass {} (iteration {}): {}", pass.name(), iter,
                                st.message());
      }
      const std::string& want = options_.print_ir_after;
      if (!want.empty() && options_.print && (want == "all" || want == pass.name()) && (pass_changed || iter == 1)) {
        options_.print(fmt::format("// IR after {} (iteration {}{})\n{}", pass.name(), iter,
                                   pass_changed ? "" : ", unchanged", print_graph(*model.graph)));
      }
      if (budget.exhausted()) break;
    }
    if (sweep_changed) report.changed = true;
    if (budget.exhausted()) {
      report.rewrite_cap_reached = true;
      break;
    }
    if (!sweep_changed) {
      report.converged = true;
      break;
    }
  }
  report.rewrites = budget.used();
  return report;
}

}  // namespace ortool::passes
