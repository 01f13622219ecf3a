// What providers share when they claim nodes: values fixed for the session, static shapes, messages, cpu fallback.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/kernel.h"

namespace ortool::rt {

class GraphView;

// The value `v` has in every run of the view's plan, or null: a session constant (GraphView::
// is_session_constant), possibly through Identity nodes
// (some exporters route every weight through one), or a Constant node's tensor `value` (how
// exporters often write Clip's bounds). The nodes on the way still run; a kernel just does not
// wait for them.
TensorPtr fixed_tensor(const GraphView& view, const ir::Value* v);

// The value's dims when the graph fixes all of them (every dim a positive number), else empty.
std::vector<int64_t> static_dims(const ir::Value& v);

// A one-element float value fixed for the session (Clip's bounds), `absent` when `v` is null, and
// nullopt when it is anything else.
std::optional<float> constant_float_scalar(const GraphView& view, const ir::Value* v, float absent);

// "node 'a' (Conv) + node 'b' (Relu)" for messages about a provider's group.
std::string describe_nodes(const std::vector<const ir::Node*>& nodes);

// The cpu provider's kernel for a single-node claim, built on first need: runs the node when its
// input turns out to be something the provider's kernel does not take (types unknown at claim time).
class CpuFallback {
 public:
  explicit CpuFallback(const KernelInit& init) : node_(init.node), opset_(init.opset), model_(init.model) {}
  Status run(KernelContext& ctx, DType type);

 private:
  const ir::Node& node_;
  int64_t opset_;
  const ir::Model& model_;
  DType type_ = DType::Undefined;
  std::unique_ptr<Kernel> kernel_;
};

}  // namespace ortool::rt
