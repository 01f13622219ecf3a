// Optional kernels: Optional (wrap a value or make an empty optional), OptionalHasElement, OptionalGetElement.
#include "runtime/cpu/control.h"

namespace ortool::rt::cpu {
namespace {

// An optional holding a value is represented by the value itself; an empty optional by None.
Status optional_make(KernelContext& ctx) {
  const RValue* v = ctx.input(0);
  return ctx.set_output(0, v ? *v : RValue());
}

Status optional_has_element(KernelContext& ctx) {
  const RValue* v = ctx.input(0);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Bool, {}));
  y->mutable_data<bool>()[0] = v && !v->is_none();
  return Status::ok();
}

Status optional_get_element(KernelContext& ctx) {
  const RValue* v = ctx.input(0);
  if (!v || v->is_none())
    return invalid("{}: input 0 is an empty optional; it has no element to get", ctx.node().describe());
  return ctx.set_output(0, *v);
}

}  // namespace

void register_optional_ops(KernelRegistry& r) {
  r.add("", "Optional", 15, INT32_MAX, function_kernel(optional_make));
  r.add("", "OptionalHasElement", 15, INT32_MAX, function_kernel(optional_has_element));
  r.add("", "OptionalGetElement", 15, INT32_MAX, function_kernel(optional_get_element));
}

}  // namespace ortool::rt::cpu
