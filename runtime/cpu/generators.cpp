// Tensors made from attributes and scalars: Constant, ConstantOfShape, Range, EyeLike.
#include <cmath>

#include <fmt/ranges.h>

#include "runtime/cpu/shape_ops_util.h"
#include "runtime/cpu/tensor.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

// Constant: value (tensor), value_float(s), value_int(s), value_string(s) (Constant-12); sparse_value
// is refused at session creation.
class ConstantKernel final : public CheckedKernel {
 public:
  explicit ConstantKernel(const KernelInit& init) {
    const ir::Node& n = init.node;
    int found = 0;
    for (const ir::Attribute& a : n.attributes()) {
      if (a.name == "value" && a.t) {
        value_ = *a.t;
      } else if (a.name == "value_float") {
        value_ = Tensor::scalar_f32(a.f);
      } else if (a.name == "value_floats") {
        value_ = Tensor::from_vector(DType::Float, {static_cast<int64_t>(a.floats.size())}, a.floats);
      } else if (a.name == "value_int") {
        value_ = Tensor::scalar_i64(a.i);
      } else if (a.name == "value_ints") {
        value_ = Tensor::from_vector(DType::Int64, {static_cast<int64_t>(a.ints.size())}, a.ints);
      } else if (a.name == "value_string") {
        value_ = Tensor(DType::String, {});
        value_.mutable_strings()[0] = a.s;
      } else if (a.name == "value_strings") {
        value_ = Tensor(DType::String, {static_cast<int64_t>(a.strings.size())});
        value_.mutable_strings() = a.strings;
      } else if (a.name == "sparse_value") {
        status_ = node_unsupported(n, "sparse_value constants are not supported");
        return;
      } else {
        continue;
      }
      ++found;
    }
    if (found != 1) status_ = node_error(n, "needs exactly one value attribute, found {}", found);
  }
  Status run(KernelContext& ctx) override { return ctx.set_output(0, RValue(value_)); }

 private:
  Tensor value_;
};

// ConstantOfShape-9: shape input (int64 1-D), value attribute (one element, default float 0).
class ConstantOfShapeKernel final : public CheckedKernel {
 public:
  explicit ConstantOfShapeKernel(const KernelInit& init) {
    const ir::Attribute* a = init.node.attr("value");
    if (a && a->t) {
      if (a->t->numel() != 1) status_ = node_error(init.node, "value must hold one element, got {}", a->t->numel());
      value_ = *a->t;
    } else {
      value_ = Tensor::scalar_f32(0.0f);
    }
  }
  Status run(KernelContext& ctx) override {
    ASSIGN_OR_RETURN(std::vector<int64_t> dims, int_input(ctx, 0, "input"));
    TRY(checked_dims(ctx.node(), dims).status());
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, value_.dtype(), dims));
    fill_elements(*out, value_, 0);
    return Status::ok();
  }

 private:
  Tensor value_;
};

// Range-11: start + i * delta for i in [0, max(ceil((limit - start) / delta), 0)).
Status range_kernel(KernelContext& ctx) {
  const ir::Node& n = ctx.node();
  ASSIGN_OR_RETURN(const Tensor* s, need_input(ctx, 0, "start"));
  ASSIGN_OR_RETURN(const Tensor* l, need_input(ctx, 1, "limit"));
  ASSIGN_OR_RETURN(const Tensor* d, need_input(ctx, 2, "delta"));
  const DType t = s->dtype();
  if (l->dtype() != t || d->dtype() != t) return node_error(n, "start, limit and delta must have the same type");
  if (s->numel() != 1 || l->numel() != 1 || d->numel() != 1) return node_error(n, "start, limit and delta must be scalars");
  int64_t count = 0;
  if (dtype_is_integer(t) && dtype_is_signed(t)) {
    const int64_t a = s->get_int64(0), b = l->get_int64(0), step = d->get_int64(0);
    if (step == 0) return node_error(n, "delta is 0");
    // Exact integer ceil division; the difference is computed in 128 bits to avoid overflow.
    __int128 diff = static_cast<__int128>(b) - a;
    __int128 q = diff / step;
    if ((diff % step != 0) && ((diff > 0) == (step > 0))) ++q;
    count = q > 0 ? static_cast<int64_t>(std::min<__int128>(q, INT64_MAX)) : 0;
  } else if (dtype_is_float(t)) {
    const double a = s->get_double(0), b = l->get_double(0), step = d->get_double(0);
    if (step == 0 || !std::isfinite(step)) return node_error(n, "delta is {}", step);
    const double c = std::ceil((b - a) / step);
    if (!std::isfinite(c)) return node_error(n, "start {} / limit {} give no finite element count", a, b);
    count = c > 0 ? static_cast<int64_t>(std::min(c, 9.0e18)) : 0;
  } else {
    return node_unsupported(n, "element type {}", dtype_name(t));
  }
  TRY(checked_dims(n, {count}).status());
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, t, {count}));
  dispatch_numeric(t, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = out->mutable_data<T>();
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      const int64_t a = s->get_int64(0), step = d->get_int64(0);  // values stay within [start, limit)
      for (int64_t i = 0; i < count; ++i) o[i] = static_cast<T>(a + i * step);
    } else if constexpr (!std::is_same_v<T, bool>) {
      const auto a = to_arith(s->data<T>()[0]);
      const auto step = to_arith(d->data<T>()[0]);
      for (int64_t i = 0; i < count; ++i) o[i] = from_arith<T>(a + static_cast<decltype(step)>(i) * step);
    }
  });
  return Status::ok();
}

// EyeLike-9: ones on the k-th diagonal of a 2-D tensor; dtype attribute or the input's type.
class EyeLikeKernel final : public Kernel {
 public:
  explicit EyeLikeKernel(const KernelInit& init)
      : dtype_(static_cast<DType>(init.node.attr_int("dtype", 0))), k_(init.node.attr_int("k", 0)) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "input"));
    if (x->rank() != 2) return node_error(n, "input must be 2-D, got rank {}", x->rank());
    const DType t = dtype_ == DType::Undefined ? x->dtype() : dtype_;
    if (t == DType::String || dtype_size(t) == 0 || t == DType::Complex64 || t == DType::Complex128)
      return node_unsupported(n, "output type {}", dtype_name(t));
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, t, x->dims()));
    const int64_t rows = x->dims()[0], cols = x->dims()[1];
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t j = i + k_;
      if (j >= 0 && j < cols) set_from_double(*out, i * cols + j, 1.0);
    }
    return Status::ok();
  }

 private:
  DType dtype_;
  int64_t k_;
};

}  // namespace

void register_generator_ops(KernelRegistry& r) {
  r.add("", "Constant", 1, INT32_MAX, checked_factory<ConstantKernel>());
  r.add("", "ConstantOfShape", 9, INT32_MAX, checked_factory<ConstantOfShapeKernel>());
  r.add("", "Range", 11, INT32_MAX, function_kernel(range_kernel));
  r.add("", "EyeLike", 9, INT32_MAX, factory_of<EyeLikeKernel>());
}

}  // namespace ortool::rt::cpu
