// Session: runs an ir::Model on the CPU: partitions it among providers, plans buffers, executes steps.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/value.h"

namespace ortool::rt {

// Watching a run (calibration, per-layer error, layer-by-layer compare): a callback sees chosen values
// of the main graph as the run makes them.
//
// Each watched value is reported once per run: a graph input when the run starts, any other value
// right after the step that computes it (before its buffer can be released or reused). Watched values
// keep their ONNX form: providers treat them like graph outputs, so no fused group hides one and none
// is handed over in a provider's private layout (NHWC); the numbers are those the cpu provider gives,
// within the provider's usual tolerance. Watching a value costs what making it a graph output costs
// (the fusions that would hide it); watching nothing changes nothing.
//
// The callback runs on the thread that called Session::run and must not call the session. It may keep
// the RValue (tensors share their buffer; a kept one is not reused for later values). Its error ends
// the run, and Session::run returns it as it is.
using ObserveFn = std::function<Status(const ir::Value& value, const RValue& data)>;

struct ObserveOptions {
  enum class Select {
    Named,         // the values named in `values`: graph inputs, node outputs or constants of the main graph
    FloatTensors,  // every float32 tensor the main graph computes from the feeds (the activations): the
                   // graph inputs not backed by an initializer and the node outputs that depend on one;
                   // weights, Constant nodes and what is computed from them alone are left out. Values
                   // declared as anything but float32 tensors are not watched; those of unknown type are
                   // watched and reported only when they turn out float32 tensors (`values` is ignored)
    All,           // every graph input and node output of the main graph, whatever it holds (`values` ignored)
  };
  Select select = Select::Named;
  std::vector<std::string> values;  // Named: an unknown name is an error of Session::create
  ObserveFn callback;               // null: nothing is watched
};

struct SessionOptions {
  int threads = 1;
  // Use fewer than `threads` when other processes keep the cores busy (see core_load.h): what they
  // leave free at session creation, at least one. Off by default (tests ask for exact teams); the
  // command-line tools turn it on. Session::threads_used() tells the count.
  bool spare_busy_cores = false;
  // With two threads or more, run consecutive steps that can (Kernel::team_use) inside one Team
  // (runtime/team.h) instead of forking and joining threads per step. Off: every step splits its own work
  // (the tests compare the two).
  bool team = true;
  // Execution providers in priority order ("dnnl", "cpu"); "cpu" is appended when missing, so it
  // takes every node the others leave.
  std::vector<std::string> providers = {"cpu"};
  // Choose the providers for the model instead (default_providers_for); options() then lists them.
  bool auto_providers = false;
  // Refuse to allocate past this many bytes of live tensors (0: no limit).
  size_t max_memory_bytes = 0;
  // Fail a Loop or Scan node that would run more iterations than this (a trip count of 2^62 with an
  // empty body would otherwise run for ever); 0 means no limit.
  int64_t max_loop_iterations = 10'000'000;
  // Refuse subgraphs (If/Loop/Scan bodies) nested deeper than this at run time. The importer refuses
  // files nested deeper than 64 levels, but expanding functions whose bodies hold subgraphs can nest
  // further, and every level costs the C++ stack of a run. 0 means no limit.
  int max_subgraph_depth = 64;
  // Values for symbolic dims ("batch" -> 1) used to check inputs.
  std::map<std::string, int64_t> dim_bindings;
  // Time every node run (Session::node_timings); off by default: it costs two clock reads per node.
  bool profile = false;
  // Values to watch as the run makes them (see ObserveOptions); none by default.
  ObserveOptions observe;
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
  // Returns the graph outputs in order. A feed must match the input's declared type, except one that
  // ONNX Runtime accepts too: a one-element tensor for an input declared as a scalar runs as that
  // scalar, with a note in feed_notes().
  virtual Result<std::vector<RValue>> run(const std::map<std::string, RValue>& feeds) = 0;

  // Notes on the last run's feeds that were accepted though they differ from the declaration (see
  // run); empty when every feed matched.
  virtual const std::vector<std::string>& feed_notes() const = 0;
  // The intra-op threads the session runs with: SessionOptions::threads, or fewer with spare_busy_cores.
  virtual int threads_used() const = 0;
  // The execution providers the session runs with, in priority order (auto_providers resolved).
  virtual const std::vector<std::string>& providers() const = 0;
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
