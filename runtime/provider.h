// Execution providers: a set of kernels plus a capability function that claims nodes (or groups).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/registry.h"

namespace ortool::rt {

// A group of nodes a provider runs as one kernel (e.g. Conv+Relu); most claims hold one node.
//
// A group lists its nodes in execution order. Its step writes the LAST node's outputs; the outputs of
// the other nodes are the group's intermediates and must be read only inside the group (no other
// consumer, not a graph output, not read by a subgraph, not watched: GraphView::read_only_by). The
// step's inputs are the group's external inputs: the first node's inputs, then each later node's
// inputs not produced inside the group, in node and input order (absent optionals keep their
// place). KernelContext::node() is the last node.
struct Claim {
  std::vector<const ir::Node*> nodes;
  KernelFactory factory;  // null: the provider's registry kernel for the single node
};

// Graph inputs backed by an initializer (IR >= 4 lets every initializer be an input, and old PyTorch
// exports list all their weights so) hold their initializer unless a run feeds them. A session makes
// its plan for runs that do not (weights are constants: packed, folded, claimed by the fast
// providers) and a second plan, on first need, for runs that do.
enum class InitializerInputs {
  MayBeFed,  // such inputs are values like any feed
  NotFed,    // such inputs of the main graph keep their initializer in every run of the plan
};

// One graph as the partitioner shows it to providers: its nodes in topological order, and which of
// them earlier providers took (`taken()[i]` is about `order()[i]`).
//
// Values seen from outside the graph's nodes (graph outputs, values a subgraph lists as its output,
// values the session's observer watches) are borders: no group may hide one, and each is handed
// over in its ONNX layout. Providers ask read_only_by and is_read, never is_graph_output, so a
// watched value counts everywhere a graph output does.
class GraphView {
 public:
  // `observed`: values of `g` the session watches (see ObserveOptions). `inits`: whether the plan
  // being made may see feeds for the main graph's initializer-backed inputs (see InitializerInputs).
  GraphView(const ir::Graph& g, const ir::Model& m, std::vector<ir::Node*> order,
            std::span<const ir::Value* const> observed = {}, InitializerInputs inits = InitializerInputs::MayBeFed);
  const ir::Graph& graph() const { return graph_; }
  const ir::Model& model() const { return model_; }
  const std::vector<ir::Node*>& order() const { return order_; }
  const std::vector<bool>& taken() const { return taken_; }
  // Position in order(), or -1 for a node of another graph.
  int64_t index_of(const ir::Node* n) const;
  // True for taken nodes and nodes of other graphs (nothing a provider may claim).
  bool is_taken(const ir::Node* n) const;
  // Opset of the node's domain in the model (1 for an unlisted default domain).
  int64_t opset(const ir::Node& n) const;
  // True when `v` may be an intermediate of a group made of `group` (and may be kept in a provider's
  // private layout between its steps): every reader is a node of the group, and it is not a border.
  bool read_only_by(const ir::Value& v, std::span<const ir::Node* const> group) const;
  // True when something reads `v`: a node, or the outside as a border. An output nobody reads may
  // be left uncomputed.
  bool is_read(const ir::Value& v) const;
  // A value that stays the same in every run of the plan being made: an initializer or folded
  // constant that is not also a graph input (a feed may override those), or one that is an input of
  // the main graph when the plan is made for runs that do not feed those (InitializerInputs::NotFed).
  bool is_session_constant(const ir::Value* v) const {
    if (!v || !v->is_constant()) return false;
    if (!v->is_graph_input()) return true;
    return inits_ == InitializerInputs::NotFed && v->graph() && !v->graph()->parent();
  }
  InitializerInputs initializer_inputs() const { return inits_; }

  void take(size_t i) { taken_[i] = true; }  // partitioner only

 private:
  const ir::Graph& graph_;
  const ir::Model& model_;
  std::vector<ir::Node*> order_;
  std::vector<bool> taken_;
  InitializerInputs inits_;
  std::unordered_map<const ir::Node*, size_t> index_;
  // Values of graph_ listed as a subgraph's output, or watched by the session (graph outputs are
  // flagged on the value itself).
  std::unordered_set<const ir::Value*> borders_;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string name() const = 0;
  // Claims for nodes of the view's graph not yet taken, in any order; the partitioner asks
  // providers in priority order, so the first claim wins. A provider must not claim a node twice.
  virtual std::vector<Claim> claim(const GraphView& view) const = 0;
  virtual const KernelRegistry& registry() const = 0;
};

// The reference provider: claims every node left, with a plain kernel for every supported op.
std::unique_ptr<Provider> make_cpu_provider();
// The cpu provider's registry (shared by every session).
const KernelRegistry& cpu_registry();

// What a session tells its providers.
struct ProviderOptions {
  int threads = 1;  // the session's intra-op threads (oneDNN sizes its OpenMP team from it)
};

// The providers a session uses unless told otherwise: dnnl,cpu where oneDNN is built in, else
// xnnpack,cpu where XNNPACK is, else cpu. (Listing dnnl and xnnpack together works, but XNNPACK
// then runs on one thread: its pool and oneDNN's OpenMP team would fight over the cores.)
std::vector<std::string> default_providers();
// The providers for this model unless told otherwise: default_providers(), except on an x86 CPU without
// VNNI for a model with int8 groups the dnnl provider cannot run exactly there (int8 ConvTranspose: its
// Conv/Gemm/MatMul groups run on oneDNN or on its widened kernels, see dnnl_ep::int8_group_exact):
// xnnpack,cpu where XNNPACK is built, which runs them exactly as int8.
std::vector<std::string> default_providers_for(const ir::Model& model);
// Whether oneDNN is built in and this CPU lacks VNNI: dnnl then runs int8 groups on oneDNN's own kernels only
// with uint8 activations and 7-bit weights (quantize --reduce-range), the others on its widened kernels.
bool dnnl_int8_needs_reduce_range();
// Names accepted by make_provider in this build, in the order they are documented ("dnnl", "cpu").
std::vector<std::string> available_providers();
// The provider of that name; the error lists the available ones.
Result<std::unique_ptr<Provider>> make_provider(const std::string& name, const ProviderOptions& options = {});

}  // namespace ortool::rt
