// The cpu provider: the reference kernels of every family, claiming single nodes.
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
    return r;
  }();
  return registry;
}

namespace {
class CpuProvider final : public Provider {
 public:
  std::string name() const override { return "cpu"; }
  std::vector<Claim> claim(const ir::Graph&, const ir::Model&, const std::vector<bool>&) const override {
    return {};  // single nodes go through the registry
  }
  const KernelRegistry& registry() const override { return cpu_registry(); }
};
}  // namespace

std::unique_ptr<Provider> make_cpu_provider() { return std::make_unique<CpuProvider>(); }

}  // namespace ortool::rt
