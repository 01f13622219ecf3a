// Shared pieces of the dnnl provider: the engine, oneDNN errors as Status, thread count, post-op specs.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <optional>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "runtime/kernel.h"
#include "runtime/provider.h"

namespace ortool::rt::dnnl_ep {

// The process-wide CPU engine (oneDNN engines are cheap to share and expensive to make per kernel).
const dnnl::engine& cpu_engine();

// Runs `f` (returning Status) and turns oneDNN and allocation exceptions into errors naming `what`.
template <typename F>
Status guarded(const std::string& what, F&& f) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    return unsupported("{}: oneDNN: {} (status {})", what, e.what(), static_cast<int>(e.status));
  } catch (const std::bad_alloc&) {
    return resource_limit("{}: out of memory in oneDNN", what);
  } catch (const std::exception& e) {
    return internal_error("{}: {}", what, e.what());
  }
}

// The value `v` has in every run, or null: a session constant, possibly through Identity nodes
// (some exporters route every weight through one), or a Constant node's tensor `value` (how
// exporters often write Clip's bounds). The nodes on the way still run; the kernel just does not
// wait for them.
TensorPtr fixed_tensor(const ir::Value* v);

// Sizes oneDNN's OpenMP team (omp_set_num_threads) for primitives created and run after it. Called
// before every oneDNN primitive creation and execution, at session creation too: oneDNN fixes a
// primitive's thread count when it creates it, so a primitive made under OpenMP's default (every
// core) would ignore --threads 1 for good.
void set_threads(int n);
// set_threads with the session's --threads.
void use_threads(const KernelContext& ctx);

// An activation run as a oneDNN eltwise post-op on the producer's output.
struct PostOp {
  const ir::Node* node = nullptr;
  dnnl::algorithm alg = dnnl::algorithm::eltwise_relu;
  float alpha = 0, beta = 0;
};
// The post-op for `consumer` reading `v` (the claimed node's only output), when it is an activation
// oneDNN can fuse: Relu, LeakyRelu, Clip (constant bounds), Sigmoid, Tanh. `v` must be read by
// nothing else; the consumer must be free and write a float tensor.
std::optional<PostOp> fusable_activation(const GraphView& view, const ir::Node& producer);
// The post-ops: with `sum`, first add what the destination holds (a fused residual Add), then `p`.
dnnl::post_ops make_post_ops(const std::optional<PostOp>& p, bool sum = false);

// The cpu provider's kernel for a single-node claim, built on first need: runs the node when its
// input turns out to be something the oneDNN kernel does not take (types unknown at claim time).
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

// "node 'a' (Conv) + node 'b' (Relu)" for messages about a group.
std::string describe_nodes(const std::vector<const ir::Node*>& nodes);

// Claims made by the op files: nullopt when the node (or its group) is not for oneDNN. `threads`:
// the session's, for work the kernel factories do.
std::optional<Claim> claim_conv(const GraphView& view, const ir::Node& conv, int threads);
std::optional<Claim> claim_gemm(const GraphView& view, const ir::Node& node, int threads);
std::optional<Claim> claim_pool(const GraphView& view, const ir::Node& node, int threads);

}  // namespace ortool::rt::dnnl_ep
