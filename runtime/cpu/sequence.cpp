// Sequence kernels: SequenceEmpty, SequenceConstruct, SequenceInsert, SequenceAt, SequenceErase, SequenceLength.
#include "runtime/cpu/control.h"

namespace ortool::rt::cpu {
namespace {

Result<const RValue*> sequence_input(KernelContext& ctx, size_t i) {
  const RValue* v = ctx.input(i);
  if (!v || !v->is_sequence()) return invalid("{}: input {} must be a sequence", ctx.node().describe(), i);
  return v;
}

// The element type a sequence holds: its first element's, else its declared one.
DType elem_type(const RValue& s) { return s.sequence.empty() ? s.sequence_elem : s.sequence[0].dtype(); }

// A position input (int32/int64 scalar) checked against [-n, n - 1], or [-n, n] when `allow_end`;
// `fallback` when the input is absent.
Result<int64_t> position(KernelContext& ctx, size_t i, int64_t n, bool allow_end, int64_t fallback) {
  const Tensor* p = ctx.input_tensor(i);
  if (!p) return fallback;
  ASSIGN_OR_RETURN(int64_t pos, int_scalar(ctx.node(), *p, fmt::format("input {} (position)", i)));
  const int64_t hi = allow_end ? n : n - 1;
  if (pos < -n || pos > hi)
    return invalid("{}: position {} is out of range [{}, {}] for a sequence of {} tensors", ctx.node().describe(), pos,
                   -n, hi, n);
  return pos < 0 ? pos + n : pos;
}

class SequenceEmptyKernel final : public Kernel {
 public:
  explicit SequenceEmptyKernel(const KernelInit& init)
      : dtype_(static_cast<DType>(init.node.attr_int("dtype", static_cast<int64_t>(DType::Float)))) {}
  Status run(KernelContext& ctx) override {
    if (!dtype_is_known(static_cast<int32_t>(dtype_)))
      return invalid("{}: dtype {} is not a known element type", ctx.node().describe(), static_cast<int32_t>(dtype_));
    return ctx.set_output(0, RValue::seq({}, dtype_));
  }

 private:
  DType dtype_;
};

Status sequence_construct(KernelContext& ctx) {
  std::vector<Tensor> items;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor* t = ctx.input_tensor(i);
    if (!t) return invalid("{}: input {} must be a tensor", ctx.node().describe(), i);
    if (!items.empty() && t->dtype() != items[0].dtype())
      return invalid("{}: input {} is {}, input 0 is {}; a sequence holds one element type", ctx.node().describe(), i,
                     dtype_name(t->dtype()), dtype_name(items[0].dtype()));
    items.push_back(*t);
  }
  if (items.empty()) return invalid("{}: SequenceConstruct needs at least one input", ctx.node().describe());
  const DType dt = items[0].dtype();
  return ctx.set_output(0, RValue::seq(std::move(items), dt));
}

Status sequence_insert(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const RValue* s, sequence_input(ctx, 0));
  const Tensor* t = ctx.input_tensor(1);
  if (!t) return invalid("{}: input 1 (tensor) must be a tensor", ctx.node().describe());
  const DType et = elem_type(*s);
  if (et != DType::Undefined && et != t->dtype())
    return invalid("{}: cannot insert a {} tensor into a sequence of {}", ctx.node().describe(), dtype_name(t->dtype()),
                   dtype_name(et));
  const int64_t n = static_cast<int64_t>(s->sequence.size());
  ASSIGN_OR_RETURN(int64_t pos, position(ctx, 2, n, true, n));
  std::vector<Tensor> items = s->sequence;
  items.insert(items.begin() + pos, *t);
  return ctx.set_output(0, RValue::seq(std::move(items), t->dtype()));
}

Status sequence_at(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const RValue* s, sequence_input(ctx, 0));
  if (!ctx.input_tensor(1)) return invalid("{}: input 1 (position) is required", ctx.node().describe());
  const int64_t n = static_cast<int64_t>(s->sequence.size());
  ASSIGN_OR_RETURN(int64_t pos, position(ctx, 1, n, false, 0));
  return ctx.set_output(0, RValue(s->sequence[static_cast<size_t>(pos)]));
}

Status sequence_erase(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const RValue* s, sequence_input(ctx, 0));
  const int64_t n = static_cast<int64_t>(s->sequence.size());
  if (n == 0) return invalid("{}: cannot erase from an empty sequence", ctx.node().describe());
  ASSIGN_OR_RETURN(int64_t pos, position(ctx, 1, n, false, n - 1));
  std::vector<Tensor> items = s->sequence;
  items.erase(items.begin() + pos);
  return ctx.set_output(0, RValue::seq(std::move(items), elem_type(*s)));
}

Status sequence_length(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const RValue* s, sequence_input(ctx, 0));
  return ctx.set_output(0, RValue(Tensor::scalar_i64(static_cast<int64_t>(s->sequence.size()))));
}

}  // namespace

void register_sequence_ops(KernelRegistry& r) {
  r.add("", "SequenceEmpty", 11, INT32_MAX, factory_of<SequenceEmptyKernel>());
  r.add("", "SequenceConstruct", 11, INT32_MAX, function_kernel(sequence_construct));
  r.add("", "SequenceInsert", 11, INT32_MAX, function_kernel(sequence_insert));
  r.add("", "SequenceAt", 11, INT32_MAX, function_kernel(sequence_at));
  r.add("", "SequenceErase", 11, INT32_MAX, function_kernel(sequence_erase));
  r.add("", "SequenceLength", 11, INT32_MAX, function_kernel(sequence_length));
}

}  // namespace ortool::rt::cpu
