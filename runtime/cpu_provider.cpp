// The cpu provider: the reference kernels of every family, claiming every node left as a single node.
#include "runtime/cpu/families.h"
#include "runtime/provider.h"

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
  std::vector<Claim> claim(const GraphView& view) const override {
    std::vector<Claim> out;
    for (size_t i = 0; i < view.order().size(); ++i)
      if (!view.taken()[i]) out.push_back(Claim{{view.order()[i]}, nullptr});
    return out;
  }
  const KernelRegistry& registry() const override { return cpu_registry(); }
};
}  // namespace

std::unique_ptr<Provider> make_cpu_provider() { return std::make_unique<CpuProvider>(); }

}  // namespace ortool::rt
