// Unary math kernels: Abs Neg Sign Reciprocal Floor Ceil Round Sqrt Exp Log Erf, trigonometric and
// hyperbolic functions, Not, BitwiseNot, IsNaN, IsInf.
#include <cmath>

#include "runtime/cpu/elementwise.h"
#include "runtime/cpu/vec_math.h"

namespace ortool::rt::cpu::elementwise {
namespace {

#define ORTOOL_FLOAT_FN(Name, expr)                   \
  struct Name {                                       \
    explicit Name(const ir::Node&) {}                 \
    template <typename C>                             \
    C operator()(C x) const {                         \
      return expr;                                    \
    }                                                 \
  };

ORTOOL_FLOAT_FN(FloorF, std::floor(x))
ORTOOL_FLOAT_FN(CeilF, std::ceil(x))
ORTOOL_FLOAT_FN(RoundF, std::nearbyint(x))  // default rounding mode: half to even
ORTOOL_FLOAT_FN(SqrtF, std::sqrt(x))
ORTOOL_FLOAT_FN(ExpF, std::exp(x))
ORTOOL_FLOAT_FN(LogF, std::log(x))
ORTOOL_FLOAT_FN(ErfF, std::erf(x))
ORTOOL_FLOAT_FN(SinF, std::sin(x))
ORTOOL_FLOAT_FN(CosF, std::cos(x))
ORTOOL_FLOAT_FN(TanF, std::tan(x))
ORTOOL_FLOAT_FN(AsinF, std::asin(x))
ORTOOL_FLOAT_FN(AcosF, std::acos(x))
ORTOOL_FLOAT_FN(AtanF, std::atan(x))
ORTOOL_FLOAT_FN(SinhF, std::sinh(x))
ORTOOL_FLOAT_FN(CoshF, std::cosh(x))
ORTOOL_FLOAT_FN(AsinhF, std::asinh(x))
ORTOOL_FLOAT_FN(AcoshF, std::acosh(x))
ORTOOL_FLOAT_FN(AtanhF, std::atanh(x))
ORTOOL_FLOAT_FN(ReciprocalF, C(1) / x)
#undef ORTOOL_FLOAT_FN

struct AbsF {
  explicit AbsF(const ir::Node&) {}
  template <typename C>
  C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>) return std::fabs(x);
    else if constexpr (std::is_unsigned_v<C>) return x;
    else return x < 0 ? static_cast<C>(0 - static_cast<uint64_t>(x)) : x;  // INT_MIN wraps
  }
};

struct NegF {
  explicit NegF(const ir::Node&) {}
  template <typename C>
  C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>) return -x;
    else return static_cast<C>(0 - static_cast<uint64_t>(x));
  }
};

struct SignF {
  explicit SignF(const ir::Node&) {}
  template <typename C>
  C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(x)) return x;
      return x > 0 ? C(1) : (x < 0 ? C(-1) : C(0));
    } else if constexpr (std::is_unsigned_v<C>) {
      return x > 0 ? C(1) : C(0);
    } else {
      return x > 0 ? C(1) : (x < 0 ? C(-1) : C(0));
    }
  }
};

struct NotF {
  explicit NotF(const ir::Node&) {}
  bool operator()(bool x) const { return !x; }
};

struct BitwiseNotF {
  explicit BitwiseNotF(const ir::Node&) {}
  template <typename C>
  C operator()(C x) const { return static_cast<C>(~x); }
};

// IsNaN / IsInf: float input, bool output.
class FloatPredicateKernel final : public Kernel {
 public:
  enum class Kind { IsNaN, IsInf };
  FloatPredicateKernel(const KernelInit& init, Kind kind) : kind_(kind) {
    detect_negative_ = init.node.attr_int("detect_negative", 1) != 0;
    detect_positive_ = init.node.attr_int("detect_positive", 1) != 0;
  }
  Status run(KernelContext& ctx) override {
    ASSIGN_OR_RETURN(const Tensor* x, required_tensor(ctx, 0));
    Status st = Status::ok();
    bool ok = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      auto r = ctx.allocate_output(0, DType::Bool, x->dims());
      if (!r) {
        st = r.status();
        return;
      }
      const T* in = x->data<T>();
      bool* out = (*r)->template mutable_data<bool>();
      for (int64_t i = 0; i < x->numel(); ++i) {
        auto v = load(in[i]);
        if (kind_ == Kind::IsNaN) out[i] = std::isnan(v);
        else out[i] = std::isinf(v) && ((v > 0 && detect_positive_) || (v < 0 && detect_negative_));
      }
    });
    if (!ok) return unsupported("{}: element type {} is not supported", ctx.node().describe(), dtype_name(x->dtype()));
    return st;
  }

 private:
  Kind kind_;
  bool detect_negative_ = true;
  bool detect_positive_ = true;
};

}  // namespace

void register_unary_kernels(KernelRegistry& r) {
  const auto f = float_types();
  add_unary<FloorF, TypeSet::Float>(r, "Floor", 1, f);
  add_unary<CeilF, TypeSet::Float>(r, "Ceil", 1, f);
  add_unary<RoundF, TypeSet::Float>(r, "Round", 11, f);
  add_f32_array<SqrtF, vec::sqrt_f32>(r, "Sqrt", 1);
  add_f32_array<ExpF, vec::exp_f32>(r, "Exp", 1);
  add_unary<LogF, TypeSet::Float>(r, "Log", 1, f);
  add_f32_array<ErfF, vec::erf_f32>(r, "Erf", 9);
  add_unary<SinF, TypeSet::Float>(r, "Sin", 7, f);
  add_unary<CosF, TypeSet::Float>(r, "Cos", 7, f);
  add_unary<TanF, TypeSet::Float>(r, "Tan", 7, f);
  add_unary<AsinF, TypeSet::Float>(r, "Asin", 7, f);
  add_unary<AcosF, TypeSet::Float>(r, "Acos", 7, f);
  add_unary<AtanF, TypeSet::Float>(r, "Atan", 7, f);
  add_unary<SinhF, TypeSet::Float>(r, "Sinh", 9, f);
  add_unary<CoshF, TypeSet::Float>(r, "Cosh", 9, f);
  add_unary<AsinhF, TypeSet::Float>(r, "Asinh", 9, f);
  add_unary<AcoshF, TypeSet::Float>(r, "Acosh", 9, f);
  add_unary<AtanhF, TypeSet::Float>(r, "Atanh", 9, f);
  add_unary<ReciprocalF, TypeSet::Float>(r, "Reciprocal", 1, f);
  add_unary<AbsF, TypeSet::Numeric>(r, "Abs", 1, numeric_types());
  add_unary<NegF, TypeSet::SignedNumeric>(r, "Neg", 1, signed_numeric_types());
  add_unary<SignF, TypeSet::Numeric>(r, "Sign", 9, numeric_types());
  add_unary<NotF, TypeSet::Bool>(r, "Not", 1, {DType::Bool});
  add_unary<BitwiseNotF, TypeSet::Integer>(r, "BitwiseNot", 18, integer_types());
  r.add(KernelDef{"", "IsNaN", 9, INT32_MAX, f, 0, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
                    return std::unique_ptr<Kernel>(new FloatPredicateKernel(init, FloatPredicateKernel::Kind::IsNaN));
                  }});
  r.add(KernelDef{"", "IsInf", 10, INT32_MAX, f, 0, [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
                    return std::unique_ptr<Kernel>(new FloatPredicateKernel(init, FloatPredicateKernel::Kind::IsInf));
                  }});
}

}  // namespace ortool::rt::cpu::elementwise
