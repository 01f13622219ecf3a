// The xnnpack execution provider: claims int8 QDQ/QLinear Conv/Gemm/MatMul groups, float32 Conv (+ Relu/Clip), Gemm/MatMul with constant weights, pools, elementwise ops.
#include "runtime/xnnpack/xnn_provider.h"

#include <unordered_set>

#include "runtime/qdq_add_group.h"
#include "runtime/qdq_gap_group.h"
#include "runtime/xnnpack/xnn_common.h"

namespace ortool::rt {

namespace {

class XnnpackProvider final : public Provider {
 public:
  // One pthreadpool per session (the provider lives as long as its session), sized from --threads.
  explicit XnnpackProvider(const ProviderOptions& options) : pool_(xnn_ep::make_thread_pool(options.threads)) {}
  std::string name() const override { return "xnnpack"; }

  std::vector<Claim> claim(const GraphView& view) const override {
    std::vector<Claim> out;
    // XNNPACK refusing this processor: claim nothing, the next provider takes it all.
    if (!xnn_ep::initialize().is_ok()) return out;
    // The int8 groups first: their DequantizeLinear/QuantizeLinear nodes come before and after the core.
    std::vector<xnn_ep::XnnClaim> claims = xnn_ep::claim_int8(view, pool_);
    // The view's taken mask only changes between providers: remember what this call claimed (or leaves whole).
    std::unordered_set<const ir::Node*> mine;
    for (const xnn_ep::XnnClaim& c : claims) mine.insert(c.claim.nodes.begin(), c.claim.nodes.end());
    // "DQ, DQ -> Add -> Q" and "DQ -> GlobalAveragePool -> Q" stay whole for the next provider, which
    // computes them as ONNX Runtime's QLinearAdd/QLinearGlobalAveragePool do (the same bytes; the float
    // ops between the Q/DQ pairs would be a step off on ties).
    for (size_t i = 0; i < view.order().size(); ++i) {
      const ir::Node* n = view.order()[i];
      if (view.taken()[i] || mine.count(n)) continue;
      std::vector<const ir::Node*> nodes;
      if (auto a = qdq::match_add_group(view, *n)) nodes = a->nodes;
      else if (auto p = qdq::match_gap_group(view, *n)) nodes = p->nodes;
      bool clash = false;
      for (const ir::Node* m : nodes) clash = clash || mine.count(m);
      if (!clash) mine.insert(nodes.begin(), nodes.end());
    }
    for (size_t i = 0; i < view.order().size(); ++i) {
      const ir::Node* n = view.order()[i];
      if (view.taken()[i] || mine.count(n)) continue;
      if (!ir::is_default_domain(n->domain())) continue;
      const std::string& op = n->op_type();
      std::optional<xnn_ep::XnnClaim> c;
      if (op == "Conv") c = xnn_ep::claim_conv(view, *n, pool_);
      else if (op == "ConvTranspose") c = xnn_ep::claim_deconv(view, *n, pool_);
      else if (op == "Gemm" || op == "MatMul") c = xnn_ep::claim_gemm(view, *n, pool_);
      else if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") c = xnn_ep::claim_pool(view, *n, pool_);
      else if (op == "Softmax") c = xnn_ep::claim_softmax(view, *n, pool_);
      else if (op == "Concat") c = xnn_ep::claim_concat(view, *n, pool_);
      else if (op == "QuantizeLinear" || op == "DequantizeLinear") c = xnn_ep::claim_qdq(view, *n, pool_);
      else c = xnn_ep::claim_elementwise(view, *n, pool_);
      if (!c) continue;
      bool clash = false;
      for (const ir::Node* m : c->claim.nodes) clash = clash || mine.count(m);
      if (clash) continue;
      for (const ir::Node* m : c->claim.nodes) mine.insert(m);
      claims.push_back(std::move(*c));
    }
    xnn_ep::place_nhwc(view, claims);
    for (xnn_ep::XnnClaim& c : claims) out.push_back(std::move(c.claim));
    return out;
  }

  // Everything goes through claim(); no single-node registry kernels.
  const KernelRegistry& registry() const override {
    static const KernelRegistry empty;
    return empty;
  }

 private:
  xnn_ep::ThreadPoolPtr pool_;
};

}  // namespace

std::unique_ptr<Provider> make_xnnpack_provider(const ProviderOptions& options) {
  return std::make_unique<XnnpackProvider>(options);
}

}  // namespace ortool::rt
