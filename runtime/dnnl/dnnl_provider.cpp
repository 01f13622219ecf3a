// The dnnl execution provider: claims float32 Conv (+ fused Add/activation), Gemm/MatMul with constant weights, pools.
#include "runtime/dnnl/dnnl_provider.h"

#include <unordered_set>

#include "runtime/dnnl/dnnl_common.h"

namespace ortool::rt {

namespace {

class DnnlProvider final : public Provider {
 public:
  explicit DnnlProvider(const ProviderOptions& options) : threads_(options.threads) {}
  std::string name() const override { return "dnnl"; }

  std::vector<Claim> claim(const GraphView& view) const override {
    std::vector<Claim> out;
    // The view's taken mask only changes between providers: remember what this call already claimed.
    std::unordered_set<const ir::Node*> mine;
    for (size_t i = 0; i < view.order().size(); ++i) {
      const ir::Node* n = view.order()[i];
      if (view.taken()[i] || mine.count(n)) continue;
      if (!n->domain().empty() && n->domain() != "ai.onnx") continue;
      std::optional<Claim> c;
      if (n->op_type() == "Conv") c = dnnl_ep::claim_conv(view, *n, threads_);
      else if (n->op_type() == "Gemm" || n->op_type() == "MatMul") c = dnnl_ep::claim_gemm(view, *n, threads_);
      else if (n->op_type() == "MaxPool" || n->op_type() == "AveragePool") c = dnnl_ep::claim_pool(view, *n, threads_);
      if (!c) continue;
      bool clash = false;
      for (const ir::Node* m : c->nodes) clash = clash || mine.count(m);
      if (clash) continue;
      for (const ir::Node* m : c->nodes) mine.insert(m);
      out.push_back(std::move(*c));
    }
    return out;
  }

  // Everything goes through claim(); no single-node registry kernels.
  const KernelRegistry& registry() const override {
    static const KernelRegistry empty;
    return empty;
  }

 private:
  int threads_;
};

}  // namespace

std::unique_ptr<Provider> make_dnnl_provider(const ProviderOptions& options) {
  return std::make_unique<DnnlProvider>(options);
}

}  // namespace ortool::rt
