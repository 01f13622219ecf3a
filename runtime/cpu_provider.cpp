// The cpu provider: the reference kernels of every family, claiming every node left as a single node,
// except quantized Adds and global averages written as QDQ, which it runs as ONNX Runtime's fused integer
// kernels do (runtime/qdq_add_group.h, runtime/qdq_gap_group.h).
#include "runtime/cpu/families.h"
#include "runtime/cpu/qlinear.h"
#include "runtime/provider.h"
#include "runtime/qdq_add_group.h"
#include "runtime/qdq_gap_group.h"

namespace ortool::rt {

const KernelRegistry& cpu_registry() {
  static const KernelRegistry registry = [] {
    KernelRegistry r;
    cpu::register_elementwise_kernels(r);
    cpu::register_reduce_kernels(r);
    cpu::register_linalg_kernels(r);
    cpu::register_conv_kernels(r);
    cpu::register_tensor_kernels(r);
    cpu::register_control_kernels(r);
    cpu::register_rnn_kernels(r);
    cpu::register_misc_kernels(r);
    cpu::register_qlinear_kernels(r);
    return r;
  }();
  return registry;
}

namespace {
class CpuProvider final : public Provider {
 public:
  std::string name() const override { return "cpu"; }
  // Claims even ops it has no kernel for, so the session reports them as unsupported by name.
  // A "DQ, DQ -> Add -> Q" or "DQ -> GlobalAveragePool -> Q" group is computed as ONNX Runtime's fused
  // kernel does: the same bytes as ONNX Runtime rather than the float ops', which differ by a step on ties.
  std::vector<Claim> claim(const GraphView& view) const override {
    std::vector<Claim> out;
    std::vector<bool> in_group(view.order().size(), false);
    for (size_t i = 0; i < view.order().size(); ++i) {
      if (view.taken()[i] || in_group[i]) continue;
      auto take = [&](const std::vector<const ir::Node*>& nodes, KernelFactory f) {
        for (const ir::Node* m : nodes)
          if (view.index_of(m) < 0 || in_group[static_cast<size_t>(view.index_of(m))]) return;
        for (const ir::Node* m : nodes) in_group[static_cast<size_t>(view.index_of(m))] = true;
        out.push_back(Claim{nodes, std::move(f)});
      };
      if (auto g = qdq::match_add_group(view, *view.order()[i])) take(g->nodes, cpu::qlinear::qdq_add_group_kernel(*g));
      else if (auto p = qdq::match_gap_group(view, *view.order()[i])) take(p->nodes, cpu::qlinear::qdq_gap_group_kernel(*p));
    }
    for (size_t i = 0; i < view.order().size(); ++i)
      if (!view.taken()[i] && !in_group[i]) out.push_back(Claim{{view.order()[i]}, nullptr});
    return out;
  }
  const KernelRegistry& registry() const override { return cpu_registry(); }
};
}  // namespace

std::unique_ptr<Provider> make_cpu_provider() { return std::make_unique<CpuProvider>(); }

}  // namespace ortool::rt
