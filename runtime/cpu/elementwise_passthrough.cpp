// Kernels that pass their input through: Identity (tensors, sequences, optionals) and inference-mode
// Dropout (output = input, mask all true).
#include <cstring>

#include "runtime/cpu/elementwise.h"

namespace ortool::rt::cpu::elementwise {
namespace {

Status identity(KernelContext& ctx) {
  const RValue* v = ctx.input(0);
  return ctx.set_output(0, v ? *v : RValue());
}

class DropoutKernel final : public Kernel {
 public:
  explicit DropoutKernel(const KernelInit& init) : opset_(init.opset) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, required_tensor(ctx, 0));
    if (opset_ >= 12) {
      // Training mode with a non-zero ratio drops random elements; this runtime only does inference.
      const Tensor* training = ctx.input_tensor(2);
      bool train = false;
      if (training) {
        if (training->dtype() != DType::Bool || training->numel() != 1)
          return invalid("{}: training_mode must be a bool scalar", node.describe());
        train = training->data<bool>()[0];
      }
      if (train) {
        double ratio = 0.5;
        if (const Tensor* r = ctx.input_tensor(1)) {
          if (r->numel() != 1 || !dtype_is_float(r->dtype()))
            return invalid("{}: ratio must be a floating-point scalar", node.describe());
          ratio = r->get_double(0);
        }
        if (ratio != 0)
          return unsupported("{}: training-mode Dropout with ratio {} is not supported (only inference)",
                             node.describe(), ratio);
      }
    }
    TRY(ctx.set_output(0, RValue(*x)));
    if (ctx.num_outputs() > 1 && ctx.output_wanted(1)) {
      // Mask: bool from opset 10, the input's type before.
      const DType mt = opset_ >= 10 ? DType::Bool : x->dtype();
      ASSIGN_OR_RETURN(Tensor * m, ctx.allocate_output(1, mt, x->dims()));
      Status st = Status::ok();
      bool ok = dispatch_numeric(mt, [&](auto tag) {
        using T = typename decltype(tag)::type;
        T one = convert<T>(1);
        T* p = m->mutable_data<T>();
        for (int64_t i = 0; i < m->numel(); ++i) p[i] = one;
      });
      if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(mt));
      return st;
    }
    return Status::ok();
  }

 private:
  int64_t opset_;
};

}  // namespace

void register_passthrough_kernels(KernelRegistry& r) {
  r.add("", "Identity", 1, INT32_MAX, function_kernel(identity));
  r.add(KernelDef{"", "Dropout", 1, INT32_MAX, {}, 0, factory_of<DropoutKernel>()});
}

}  // namespace ortool::rt::cpu::elementwise
