// Kernel interface: a kernel is created once per node (attributes parsed, weights packed) and run many times.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "runtime/value.h"

namespace ortool::rt {

class ThreadPool;
class SubgraphRunner;

// What a kernel sees while running one node.
class KernelContext {
 public:
  virtual ~KernelContext() = default;
  virtual const ir::Node& node() const = 0;
  virtual size_t num_inputs() const = 0;
  // Null when the optional input is absent (or beyond the node's input list).
  virtual const RValue* input(size_t i) const = 0;
  // The tensor of input i; null when absent or not a tensor.
  const Tensor* input_tensor(size_t i) const {
    const RValue* v = input(i);
    return v && v->is_tensor() ? &v->tensor : nullptr;
  }
  virtual size_t num_outputs() const = 0;
  // True when output i is requested (present in the node and used or a graph output).
  virtual bool output_wanted(size_t i) const = 0;
  // How a new output buffer starts: zero-filled, or with unspecified content for kernels that write
  // every element (saves a pass over memory; poisoned with NaN bytes in sanitizer builds).
  enum class Fill { Zero, Uninitialized };
  // A new output tensor; fails cleanly past the session's memory limit.
  virtual Result<Tensor*> allocate_output(size_t i, DType dtype, std::vector<int64_t> dims, Fill fill = Fill::Zero) = 0;
  // Output i in the buffer of input `in` when that is legal (this step is the input's last reader,
  // nothing else holds the buffer, same byte size), else a new uninitialized output. The kernel must
  // then work when output and input alias element for element (elementwise ops do). When the same
  // value is also another input of the step, the output aliases that one too (Add(t, t), or a conv
  // reading the addend it would overwrite): the kernel must check.
  virtual Result<Tensor*> reuse_input_or_allocate(size_t in, size_t i, DType dtype, std::vector<int64_t> dims) = 0;
  // Sets output i to an existing value (views, sequences, pass-through of an input's buffer).
  virtual Status set_output(size_t i, RValue v) = 0;
  virtual ThreadPool* threads() const = 0;
  // Runs a subgraph of this node (If/Loop/Scan bodies) with the given inputs; outer-scope values
  // are resolved from the current frame.
  virtual Result<std::vector<RValue>> run_subgraph(const ir::Graph& g, std::vector<RValue> inputs) = 0;
  // Opset of the node's domain in the model.
  virtual int64_t opset() const = 0;
  // Counts `bytes` a kernel keeps across subgraph runs (the per-iteration scan outputs of Loop and
  // Scan) against the session's memory limit until the node's run ends; fails cleanly past it.
  virtual Status hold_memory(size_t bytes) = 0;
  // The most iterations one Loop or Scan node may run (SessionOptions::max_loop_iterations; 0: no limit).
  virtual int64_t max_loop_iterations() const = 0;
};

// How a step runs inside a Team (runtime/team.h), the threads a session keeps across a run of steps.
enum class TeamUse {
  None,   // splits its work itself (oneDNN's own OpenMP split, a subgraph): the session ends the team first
  Pool,   // splits only through ctx.threads(), which hands the team its parts
  Parts,  // splits itself in the same parts every run with Team::for_each: worth starting a team for
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Status run(KernelContext& ctx) = 0;
  // How run(ctx) would use a team for these inputs. Asked just before run with the same context; a kernel
  // that answers Parts checks Team::current() in run and splits its work without one too.
  virtual TeamUse team_use(KernelContext&) { return TeamUse::None; }
};

// A kernel from a plain function, for ops with nothing to prepare.
class FunctionKernel final : public Kernel {
 public:
  explicit FunctionKernel(std::function<Status(KernelContext&)> fn) : fn_(std::move(fn)) {}
  Status run(KernelContext& ctx) override { return fn_(ctx); }

 private:
  std::function<Status(KernelContext&)> fn_;
};

// What a kernel factory gets at session creation.
struct KernelInit {
  const ir::Node& node;
  int64_t opset;          // opset of the node's domain
  const ir::Model& model;
};

using KernelFactory = std::function<Result<std::unique_ptr<Kernel>>(const KernelInit&)>;

// Makes a factory for a kernel class constructed from KernelInit (constructor may not fail; use
// a Status member and report it from run() or use a custom factory when it can).
template <typename K>
KernelFactory factory_of() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> { return std::unique_ptr<Kernel>(new K(init)); };
}
inline KernelFactory function_kernel(std::function<Status(KernelContext&)> fn) {
  return [fn](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(new FunctionKernel(fn));
  };
}

}  // namespace ortool::rt
