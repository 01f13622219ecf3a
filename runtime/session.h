// Session: runs an ir::Model on the CPU: partitions it among providers, plans buffers, executes steps.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/value.h"

namespace ortool::rt {

struct SessionOptions {
  int threads = 1;
  // Execution providers in priority order ("dnnl", "cpu"); "cpu" is appended when missing, so it
  // takes every node the others leave.
  std::vector<std::string> providers = {"cpu"};
  // Refuse to allocate past this many bytes of live tensors (0: no limit).
  size_t max_memory_bytes = 0;
  // Values for symbolic dims ("batch" -> 1) used to check inputs.
  std::map<std::string, int64_t> dim_bindings;
  // Time every node run (Session::node_timings); off by default: it costs two clock reads per node.
  bool profile = false;
};

// Accumulated run time of one node over all runs since the session was created (profile on).
// A provider's fused group (Conv+Relu) is one entry filed under its first node, the op that does the
// work, with fused_nodes > 1; the group's other nodes have no entry.
struct NodeTiming {
  const ir::Node* node = nullptr;
  std::string provider;  // the provider that ran the node
  size_t fused_nodes = 1;
  double total_ms = 0;
  int64_t calls = 0;
};

class Session {
 public:
  // The model must outlive the session.
  static Result<std::unique_ptr<Session>> create(const ir::Model& model, SessionOptions options = {});
  virtual ~Session() = default;

  // Runs with inputs by graph-input name; graph inputs backed by an initializer may be omitted.
  // Returns the graph outputs in order.
  virtual Result<std::vector<RValue>> run(const std::map<std::string, RValue>& feeds) = 0;

  // Graph inputs the caller must or may feed (initializer-backed ones last are included too).
  virtual const std::vector<const ir::Value*>& inputs() const = 0;
  virtual const std::vector<const ir::Value*>& outputs() const = 0;
  // Peak bytes of live tensors during the last run.
  virtual size_t peak_memory_bytes() const = 0;
  // Peak bytes the session's buffer arena held (live tensors plus freed blocks kept for reuse) since
  // the session was created; reused across runs, so it is what a steady stream of runs costs.
  virtual size_t arena_bytes() const = 0;
  // Per-node times, in execution order of first run (empty unless SessionOptions::profile).
  virtual std::vector<NodeTiming> node_timings() const = 0;
  virtual void reset_timings() = 0;
};

// Runs one node on the given inputs (constant folding, kernel tests). `opset` is the node's domain's
// opset; outputs in the node's output order (absent outputs come back as None).
Result<std::vector<RValue>> run_node(const ir::Node& node, const ir::Model& model, std::vector<RValue> inputs);

}  // namespace ortool::rt
