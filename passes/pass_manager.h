// The pass registry and the pass manager: named pipelines run to a fixpoint under a rewrite cap.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "passes/pass.h"

namespace ortool::passes {

struct PassInfo {
  std::string name;
  std::string description;
  std::vector<std::string> levels;  // pipelines that include it ("basic", "extended")
};

// Every registered pass, sorted by name.
std::vector<PassInfo> list_passes();
// A fresh instance of the named pass, or null.
std::unique_ptr<Pass> create_pass(std::string_view name);
// Pass names of a pipeline ("basic" or "extended"), in run order; error names the valid levels.
Result<std::vector<std::string>> pipeline_passes(std::string_view level);

struct PassManagerOptions {
  // Stop after this many sweeps over the pass list even if something still changes.
  int max_iterations = 32;
  // Total rewrites allowed over the whole run (see RewriteBudget).
  uint64_t max_rewrites = 1000000;
  // Run Graph::verify() on the model after every pass; a failure names the pass.
  bool verify_each = false;
  // Dump the IR after this pass ("all": every pass) through `print`.
  std::string print_ir_after;
  std::function<void(const std::string&)> print;
};

struct PassStats {
  std::string name;
  int runs = 0;        // times the pass ran on some graph
  int changes = 0;     // runs that changed the graph
  double ms = 0;
};

struct PipelineReport {
  int iterations = 0;
  uint64_t rewrites = 0;       // rewrites counted by the budget
  bool changed = false;        // some non-analysis pass changed the model
  bool converged = false;      // the last sweep changed nothing
  bool rewrite_cap_reached = false;
  std::vector<PassStats> passes;  // in run order
};

class PassManager {
 public:
  explicit PassManager(PassManagerOptions options = {}) : options_(std::move(options)) {}
  // Appends a pass by name; error for an unknown name (listing the known ones).
  Status add(std::string_view name);
  void add(std::unique_ptr<Pass> pass);
  const std::vector<std::unique_ptr<Pass>>& passes() const { return passes_; }

  // Runs the pass list over the model (main graph and every subgraph) until a sweep changes
  // nothing, the iteration limit, or the rewrite cap. `ctx.budget` is replaced by the manager's.
  Result<PipelineReport> run(ir::Model& model, PassContext ctx) const;

 private:
  PassManagerOptions options_;
  std::vector<std::unique_ptr<Pass>> passes_;
};

// The main graph followed by every nested subgraph (pre-order).
std::vector<ir::Graph*> all_graphs(ir::Graph& g);

}  // namespace ortool::passes
