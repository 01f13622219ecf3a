// The pass interface: a named graph rewrite that reports whether it changed the graph.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"

namespace ortool::passes {

// Counts rewrites across a whole optimization run and stops them at a cap, so an optimizer bug can
// be bisected (`--max-rewrites N`: the first N rewrites happen, the rest do not).
class RewriteBudget {
 public:
  explicit RewriteBudget(uint64_t cap = UINT64_MAX) : cap_(cap) {}
  // True (and counted) when one more rewrite is allowed.
  bool take() {
    if (used_ >= cap_) {
      exhausted_ = true;
      return false;
    }
    ++used_;
    return true;
  }
  uint64_t used() const { return used_; }
  bool exhausted() const { return exhausted_; }

 private:
  uint64_t cap_;
  uint64_t used_ = 0;
  bool exhausted_ = false;
};

// Options every pass may read.
struct PassContext {
  // Constant folding leaves alone results larger than this.
  size_t fold_max_bytes = size_t{16} << 20;
  // Null: unlimited. Passes call allow_rewrite() before each rewrite and stop when it says no.
  RewriteBudget* budget = nullptr;
  // The graph will run on ortool's own runtime and never be written: fusions may produce ops of the
  // private "ortool" domain (LayerNormalization below opset 17), the way ONNX Runtime's optimizer
  // uses its own contrib ops at session creation.
  bool runtime_ops = false;

  bool allow_rewrite() const { return budget == nullptr || budget->take(); }
};

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string_view name() const = 0;
  // One line for `--list-passes`.
  virtual std::string_view description() const = 0;
  // Op types the pass fires on; the manager skips graphs holding none of them. Empty: every graph.
  virtual std::vector<std::string_view> op_types() const { return {}; }
  // True for passes that work on the whole model at once (run on the main graph only; they see
  // subgraphs themselves). Others run once per graph, subgraphs included.
  virtual bool whole_model() const { return false; }
  // True for passes that only annotate (types), so their changes are not counted as rewrites.
  virtual bool is_analysis() const { return false; }
  // Rewrites `graph` (a graph of `model`); true when anything changed. A pattern whose
  // preconditions fail is left alone ("no change"), never an error.
  virtual Result<bool> run(ir::Model& model, ir::Graph& graph, const PassContext& ctx) = 0;
};

}  // namespace ortool::passes
