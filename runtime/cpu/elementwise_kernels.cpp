// Registration of the cpu provider's elementwise kernel family (kernels live in files beside this one),
// and the family's small shared helpers declared in elementwise.h.
#include "runtime/cpu/elementwise.h"
#include "runtime/cpu/families.h"

namespace ortool::rt::cpu::elementwise {

void parallel_elements(KernelContext& ctx, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  constexpr int64_t kMinChunk = 1 << 15;
  ThreadPool* pool = ctx.threads();
  if (n <= 0) return;
  if (!pool || pool->size() <= 1 || n < 2 * kMinChunk) {
    fn(0, n);
    return;
  }
  pool->parallel_for(
      static_cast<size_t>(n), [&](size_t b, size_t e) { fn(static_cast<int64_t>(b), static_cast<int64_t>(e)); },
      static_cast<size_t>(kMinChunk));
}

Result<const Tensor*> required_tensor(KernelContext& ctx, size_t i) {
  const RValue* v = ctx.input(i);
  if (!v || v->is_none()) return invalid("{}: input {} is missing", ctx.node().describe(), i);
  if (!v->is_tensor()) return invalid("{}: input {} is not a tensor", ctx.node().describe(), i);
  return &v->tensor;
}

std::vector<DType> float_types() { return {DType::Float16, DType::BFloat16, DType::Float, DType::Double}; }
std::vector<DType> signed_numeric_types() {
  return {DType::Float16, DType::BFloat16, DType::Float, DType::Double,
          DType::Int8,    DType::Int16,    DType::Int32, DType::Int64};
}
std::vector<DType> numeric_types() {
  return {DType::Float16, DType::BFloat16, DType::Float,  DType::Double, DType::Int8,   DType::Int16,
          DType::Int32,   DType::Int64,    DType::UInt8,  DType::UInt16, DType::UInt32, DType::UInt64};
}
std::vector<DType> integer_types() {
  return {DType::Int8, DType::Int16, DType::Int32, DType::Int64, DType::UInt8, DType::UInt16, DType::UInt32, DType::UInt64};
}
std::vector<DType> unsigned_types() { return {DType::UInt8, DType::UInt16, DType::UInt32, DType::UInt64}; }
std::vector<DType> all_tensor_types() {
  auto t = numeric_types();
  t.push_back(DType::Bool);
  t.push_back(DType::String);
  return t;
}

}  // namespace ortool::rt::cpu::elementwise

namespace ortool::rt::cpu {

void register_elementwise_kernels(KernelRegistry& r) {
  using namespace elementwise;
  register_binary_kernels(r);
  register_unary_kernels(r);
  register_activation_kernels(r);
  register_variadic_kernels(r);
  register_passthrough_kernels(r);
  register_cast_kernels(r);
  register_softmax_kernels(r);
}

}  // namespace ortool::rt::cpu
