// Binary elementwise kernels with numpy broadcasting (and the opset<7 broadcast/axis attributes):
// Add Sub Mul Div Mod Pow, BitShift, Bitwise{And,Or,Xor}, And Or Xor, and the comparisons.
#include <atomic>
#include <cmath>
#include <string>

#include "runtime/cpu/elementwise.h"
#include "runtime/cpu/vec_math.h"

namespace ortool::rt::cpu::elementwise {
namespace {

enum class Bin {
  Add, Sub, Mul, Div, Mod,
  BitShiftLeft, BitShiftRight, BitAnd, BitOr, BitXor,
  And, Or, Xor,
  Equal, Less, LessOrEqual, Greater, GreaterOrEqual,
};

constexpr bool is_predicate(Bin op) { return op >= Bin::And; }
constexpr bool is_comparison(Bin op) { return op >= Bin::Equal; }

// Element types each op accepts (ONNX's type constraints, all opsets together).
template <Bin op, typename T>
constexpr bool supports() {
  constexpr bool is_bool = std::is_same_v<T, bool>;
  constexpr bool is_int = std::is_integral_v<T> && !is_bool;
  if constexpr (op == Bin::And || op == Bin::Or || op == Bin::Xor) return is_bool;
  else if constexpr (op == Bin::BitShiftLeft || op == Bin::BitShiftRight) return is_int && std::is_unsigned_v<T>;
  else if constexpr (op == Bin::BitAnd || op == Bin::BitOr || op == Bin::BitXor) return is_int || is_bool;
  else if constexpr (is_comparison(op)) return true;
  else return !is_bool;
}

struct Params {
  bool fmod = false;
  std::atomic<bool>* div_by_zero = nullptr;
};

// Integer arithmetic modulo 2^bits (no signed-overflow UB).
template <typename C>
inline C wrap_add(C a, C b) { return static_cast<C>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b)); }
template <typename C>
inline C wrap_sub(C a, C b) { return static_cast<C>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b)); }
template <typename C>
inline C wrap_mul(C a, C b) { return static_cast<C>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b)); }

template <typename C>
inline C int_div(C a, C b, const Params& p) {
  if (b == 0) {
    p.div_by_zero->store(true, std::memory_order_relaxed);
    return 0;
  }
  if constexpr (std::is_signed_v<C>) {
    if (b == -1) return wrap_sub<C>(0, a);  // INT_MIN / -1 wraps instead of trapping
  }
  return static_cast<C>(a / b);  // truncates toward zero, as C and ONNX Runtime do
}

template <typename C>
inline C int_mod(C a, C b, const Params& p) {
  if (b == 0) {
    p.div_by_zero->store(true, std::memory_order_relaxed);
    return 0;
  }
  if constexpr (std::is_signed_v<C>) {
    if (b == -1) return 0;
    C r = static_cast<C>(a % b);  // sign of the dividend (C fmod)
    if (!p.fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<C>(r + b);  // sign of the divisor
    return r;
  } else {
    return static_cast<C>(a % b);
  }
}

template <Bin op, typename T>
inline auto apply(T x, T y, const Params& p) {
  if constexpr (is_predicate(op)) {
    auto a = load(x);
    auto b = load(y);
    if constexpr (op == Bin::And) return static_cast<bool>(a && b);
    else if constexpr (op == Bin::Or) return static_cast<bool>(a || b);
    else if constexpr (op == Bin::Xor) return static_cast<bool>(a != b);
    else if constexpr (op == Bin::Equal) return static_cast<bool>(a == b);
    else if constexpr (op == Bin::Less) return static_cast<bool>(a < b);
    else if constexpr (op == Bin::LessOrEqual) return static_cast<bool>(a <= b);
    else if constexpr (op == Bin::Greater) return static_cast<bool>(a > b);
    else return static_cast<bool>(a >= b);
  } else {
    using C = Compute<T>;
    C a = load(x);
    C b = load(y);
    C r{};
    if constexpr (std::is_floating_point_v<C>) {
      if constexpr (op == Bin::Add) r = a + b;
      else if constexpr (op == Bin::Sub) r = a - b;
      else if constexpr (op == Bin::Mul) r = a * b;
      else if constexpr (op == Bin::Div) r = a / b;
      else if constexpr (op == Bin::Mod) r = std::fmod(a, b);
    } else {
      if constexpr (op == Bin::Add) r = wrap_add(a, b);
      else if constexpr (op == Bin::Sub) r = wrap_sub(a, b);
      else if constexpr (op == Bin::Mul) r = wrap_mul(a, b);
      else if constexpr (op == Bin::Div) r = int_div(a, b, p);
      else if constexpr (op == Bin::Mod) r = int_mod(a, b, p);
      else if constexpr (op == Bin::BitShiftLeft) r = b >= C(sizeof(C) * 8) ? C(0) : static_cast<C>(a << b);
      else if constexpr (op == Bin::BitShiftRight) r = b >= C(sizeof(C) * 8) ? C(0) : static_cast<C>(a >> b);
      else if constexpr (op == Bin::BitAnd) r = static_cast<C>(a & b);
      else if constexpr (op == Bin::BitOr) r = static_cast<C>(a | b);
      else if constexpr (op == Bin::BitXor) r = static_cast<C>(a ^ b);
    }
    return store<T>(r);
  }
}

// Before opset 7, binary ops broadcast only with broadcast=1: B matches a contiguous run of A's
// dims starting at `axis` (default: A's trailing dims). Returns B's dims padded to A's rank.
Result<std::vector<int64_t>> legacy_b_dims(const ir::Node& node, const std::vector<int64_t>& a,
                                           const std::vector<int64_t>& b) {
  if (node.attr_int("broadcast", 0) == 0) {
    if (a != b)
      return invalid("{}: inputs have shapes {} and {} but broadcast=0 requires equal shapes", node.describe(),
                     format_dims(a), format_dims(b));
    return b;
  }
  const int64_t ra = static_cast<int64_t>(a.size()), rb = static_cast<int64_t>(b.size());
  int64_t axis = node.has_attr("axis") ? node.attr_int("axis", 0) : ra - rb;
  if (axis < 0) axis += ra;
  if (axis < 0 || axis + rb > ra)
    return invalid("{}: axis {} cannot place B of shape {} in A of shape {}", node.describe(),
                   node.attr_int("axis", 0), format_dims(b), format_dims(a));
  std::vector<int64_t> view(a.size(), 1);
  for (int64_t i = 0; i < rb; ++i) view[static_cast<size_t>(axis + i)] = b[static_cast<size_t>(i)];
  if (!broadcasts_to(view, a))
    return invalid("{}: B of shape {} does not match A of shape {} at axis {}", node.describe(), format_dims(b),
                   format_dims(a), axis);
  return view;
}

// Output dims of a binary op, handling the legacy attributes; `b_view` gets B's dims as read.
Result<std::vector<int64_t>> binary_dims(const ir::Node& node, int64_t opset, bool legacy_capable, const Tensor& a,
                                         const Tensor& b, std::vector<int64_t>& b_view) {
  if (legacy_capable && opset < 7) {
    ASSIGN_OR_RETURN(b_view, legacy_b_dims(node, a.dims(), b.dims()));
    return a.dims();
  }
  b_view = b.dims();
  auto r = broadcast_shape(a.dims(), b.dims());
  if (!r) return r.status().with_context(node.describe() + ": inputs 0 and 1");
  return r;
}

template <Bin op>
class BinaryKernel final : public Kernel {
 public:
  explicit BinaryKernel(const KernelInit& init) : opset_(init.opset) {
    fmod_ = init.node.attr_int("fmod", 0) != 0;
    if constexpr (op == Bin::BitShiftLeft || op == Bin::BitShiftRight) {
      std::string dir = init.node.attr_string("direction", "");
      if (dir == "LEFT") left_ = true;
      else if (dir == "RIGHT") left_ = false;
      else bad_ = invalid("{}: direction must be \"LEFT\" or \"RIGHT\", got \"{}\"", init.node.describe(), dir);
    }
  }

  Status run(KernelContext& ctx) override {
    TRY(bad_);
    ASSIGN_OR_RETURN(const Tensor* a, required_tensor(ctx, 0));
    ASSIGN_OR_RETURN(const Tensor* b, required_tensor(ctx, 1));
    const ir::Node& node = ctx.node();
    if (a->dtype() != b->dtype())
      return invalid("{}: inputs have different element types {} and {}", node.describe(), dtype_name(a->dtype()),
                     dtype_name(b->dtype()));
    constexpr bool legacy = op <= Bin::Div || op == Bin::And || op == Bin::Or || op == Bin::Xor || op == Bin::Equal ||
                            op == Bin::Less || op == Bin::Greater;
    std::vector<int64_t> b_view;
    ASSIGN_OR_RETURN(std::vector<int64_t> out_dims, binary_dims(node, opset_, legacy, *a, *b, b_view));
    const DType out_type = is_predicate(op) ? DType::Bool : a->dtype();

    if constexpr (op == Bin::Equal) {
      if (a->is_string()) {
        ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, out_type, out_dims));
        BroadcastRows rows(out_dims, {a->dims(), b_view});
        const auto& sa = a->strings();
        const auto& sb = b->strings();
        bool* po = out->mutable_data<bool>();
        rows.for_each([&](int64_t o, const int64_t* in, int64_t n) {
          for (int64_t j = 0; j < n; ++j)
            po[o + j] = sa[static_cast<size_t>(in[0] + j * rows.step(0))] == sb[static_cast<size_t>(in[1] + j * rows.step(1))];
        });
        return Status::ok();
      }
    }
    if constexpr (op == Bin::Mod) {
      if (dtype_is_float(a->dtype()) && !fmod_)
        return invalid("{}: floating-point Mod requires fmod=1", node.describe());
    }

    Status st = Status::ok();
    std::atomic<bool> div_by_zero{false};
    Params p{fmod_, &div_by_zero};
    bool known = dispatch_numeric(a->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (supports<op, T>()) {
        using TO = std::conditional_t<is_predicate(op), bool, T>;
        // An operand of the output's shape is read at the output's own index only, so the output
        // may take its buffer when it dies here (same type: not for predicates).
        auto r = !is_predicate(op) && a->dims() == out_dims   ? ctx.reuse_input_or_allocate(0, 0, out_type, out_dims)
                 : !is_predicate(op) && b->dims() == out_dims ? ctx.reuse_input_or_allocate(1, 0, out_type, out_dims)
                                                                : ctx.allocate_output(0, out_type, out_dims);
        if (!r) {
          st = r.status();
          return;
        }
        BroadcastRows rows(out_dims, {a->dims(), b_view});
        if constexpr (op == Bin::BitShiftLeft || op == Bin::BitShiftRight) {
          if (left_)
            binary_loop(ctx, rows, a->data<T>(), b->data<T>(), (*r)->template mutable_data<TO>(),
                        [&](T x, T y) { return apply<Bin::BitShiftLeft>(x, y, p); });
          else
            binary_loop(ctx, rows, a->data<T>(), b->data<T>(), (*r)->template mutable_data<TO>(),
                        [&](T x, T y) { return apply<Bin::BitShiftRight>(x, y, p); });
        } else {
          binary_loop(ctx, rows, a->data<T>(), b->data<T>(), (*r)->template mutable_data<TO>(),
                      [&](T x, T y) { return apply<op>(x, y, p); });
        }
      } else {
        st = unsupported("{}: element type {} is not supported", node.describe(), dtype_name(a->dtype()));
      }
    });
    if (!known) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(a->dtype()));
    TRY(st);
    if (div_by_zero.load()) return invalid("{}: integer division by zero", node.describe());
    return Status::ok();
  }

 private:
  int64_t opset_;
  bool fmod_ = false;
  bool left_ = true;
  Status bad_;
};

// Pow: the exponent may have another element type than the base; the output has the base's.
template <typename TB, typename TE>
inline TB pow_one(TB base, TE exponent) {
  if constexpr (std::is_integral_v<TB> && std::is_integral_v<TE>) {
    // Exact integer power by squaring, modulo 2^bits; negative exponents truncate 1/x^n.
    int64_t e = static_cast<int64_t>(exponent);
    if constexpr (std::is_unsigned_v<TE>) e = static_cast<int64_t>(std::min<uint64_t>(exponent, INT64_MAX));
    if (e < 0) {
      if (base == 1) return 1;
      if constexpr (std::is_signed_v<TB>) {
        if (base == -1) return (e & 1) ? TB(-1) : TB(1);
      }
      return 0;
    }
    TB r = 1, x = base;
    while (e > 0) {
      if (e & 1) r = wrap_mul(r, x);
      x = wrap_mul(x, x);
      e >>= 1;
    }
    return r;
  } else if constexpr (std::is_integral_v<TB>) {
    return float_to_int<TB>(std::pow(static_cast<double>(base), static_cast<double>(load(exponent))));
  } else {
    using C = Compute<TB>;
    if constexpr (std::is_same_v<C, double>) return store<TB>(std::pow(static_cast<double>(load(base)), static_cast<double>(load(exponent))));
    else return store<TB>(std::pow(static_cast<float>(load(base)), static_cast<float>(load(exponent))));
  }
}

// Float32 base, one-element exponent: exponents with an exact cheap form skip powf.
enum class PowForm { General, Zero, One, Two, Three, Half, MinusOne, MinusHalf };

PowForm pow_form(float e) {
  if (e == 0.0f) return PowForm::Zero;
  if (e == 1.0f) return PowForm::One;
  if (e == 2.0f) return PowForm::Two;
  if (e == 3.0f) return PowForm::Three;
  if (e == 0.5f) return PowForm::Half;
  if (e == -1.0f) return PowForm::MinusOne;
  if (e == -0.5f) return PowForm::MinusHalf;
  return PowForm::General;
}

// y = pow(x, e) for the form's e, with pow's results at the special values: pow(x, 0) = 1 even for
// NaN, pow(-0, 0.5) = +0, pow(-inf, 0.5) = +inf, pow(-0, -0.5) = +inf, pow(-inf, -0.5) = +0.
void pow_f32(PowForm form, const float* x, float* y, int64_t n) {
  switch (form) {
    case PowForm::Zero: for (int64_t i = 0; i < n; ++i) y[i] = 1.0f; return;
    case PowForm::One: for (int64_t i = 0; i < n; ++i) y[i] = x[i]; return;
    case PowForm::Two: for (int64_t i = 0; i < n; ++i) y[i] = x[i] * x[i]; return;
    case PowForm::Three: for (int64_t i = 0; i < n; ++i) y[i] = x[i] * x[i] * x[i]; return;
    case PowForm::MinusOne: for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / x[i]; return;
    case PowForm::Half:
    case PowForm::MinusHalf: {
      constexpr int64_t kBlock = 256;
      constexpr float inf = std::numeric_limits<float>::infinity();
      float s[kBlock];
      for (int64_t b = 0; b < n; b += kBlock) {
        const int64_t m = std::min(kBlock, n - b);
        vec::sqrt_f32(x + b, s, m);
        for (int64_t i = 0; i < m; ++i) s[i] = x[b + i] == -inf ? inf : s[i] + 0.0f;  // + 0: -0 to +0
        if (form == PowForm::Half)
          for (int64_t i = 0; i < m; ++i) y[b + i] = s[i];
        else
          for (int64_t i = 0; i < m; ++i) y[b + i] = 1.0f / s[i];
      }
      return;
    }
    case PowForm::General: return;  // callers take the generic path
  }
}

class PowKernel final : public Kernel {
 public:
  explicit PowKernel(const KernelInit& init) : opset_(init.opset) {}
  Status run(KernelContext& ctx) override {
    ASSIGN_OR_RETURN(const Tensor* a, required_tensor(ctx, 0));
    ASSIGN_OR_RETURN(const Tensor* b, required_tensor(ctx, 1));
    const ir::Node& node = ctx.node();
    if (opset_ < 12 && a->dtype() != b->dtype())
      return invalid("{}: base and exponent have different element types {} and {} (allowed from opset 12)",
                     node.describe(), dtype_name(a->dtype()), dtype_name(b->dtype()));
    std::vector<int64_t> b_view;
    ASSIGN_OR_RETURN(std::vector<int64_t> out_dims, binary_dims(node, opset_, true, *a, *b, b_view));
    if (a->dtype() == DType::Float && b->numel() == 1) {
      // The exponent as pow_one uses it for a float base: converted to float.
      float e = std::numeric_limits<float>::quiet_NaN();
      dispatch_numeric(b->dtype(), [&](auto te) {
        using TE = typename decltype(te)::type;
        if constexpr (!std::is_same_v<TE, bool>) e = static_cast<float>(load(b->data<TE>()[0]));
      });
      const PowForm form = pow_form(e);
      if (form != PowForm::General) {
        ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, a->dtype(), out_dims));
        const float* x = a->data<float>();
        float* y = out->mutable_data<float>();
        parallel_elements(ctx, out->numel(), [&](int64_t lo, int64_t hi) { pow_f32(form, x + lo, y + lo, hi - lo); });
        return Status::ok();
      }
    }
    Status st = Status::ok();
    bool known = dispatch_numeric(a->dtype(), [&](auto tb) {
      using TB = typename decltype(tb)::type;
      bool known_e = dispatch_numeric(b->dtype(), [&](auto te) {
        using TE = typename decltype(te)::type;
        if constexpr (std::is_same_v<TB, bool> || std::is_same_v<TE, bool>) {
          st = unsupported("{}: bool base or exponent is not supported", node.describe());
        } else {
          auto r = ctx.allocate_output(0, a->dtype(), out_dims);
          if (!r) {
            st = r.status();
            return;
          }
          BroadcastRows rows(out_dims, {a->dims(), b_view});
          binary_loop(ctx, rows, a->data<TB>(), b->data<TE>(), (*r)->template mutable_data<TB>(),
                      [](TB x, TE y) { return pow_one<TB, TE>(x, y); });
        }
      });
      if (!known_e) st = unsupported("{}: exponent type {} is not supported", node.describe(), dtype_name(b->dtype()));
    });
    if (!known) return unsupported("{}: base type {} is not supported", node.describe(), dtype_name(a->dtype()));
    return st;
  }

 private:
  int64_t opset_;
};

template <Bin op>
void add_binary(KernelRegistry& r, const char* name, int since, std::vector<DType> types) {
  r.add(KernelDef{"", name, since, INT32_MAX, std::move(types), 0, factory_of<BinaryKernel<op>>()});
}

std::vector<DType> with(std::vector<DType> v, std::initializer_list<DType> extra) {
  v.insert(v.end(), extra);
  return v;
}

}  // namespace

void register_binary_kernels(KernelRegistry& r) {
  add_binary<Bin::Add>(r, "Add", 1, numeric_types());
  add_binary<Bin::Sub>(r, "Sub", 1, numeric_types());
  add_binary<Bin::Mul>(r, "Mul", 1, numeric_types());
  add_binary<Bin::Div>(r, "Div", 1, numeric_types());
  add_binary<Bin::Mod>(r, "Mod", 10, numeric_types());
  add_binary<Bin::BitShiftLeft>(r, "BitShift", 11, unsigned_types());
  add_binary<Bin::BitAnd>(r, "BitwiseAnd", 18, with(integer_types(), {DType::Bool}));
  add_binary<Bin::BitOr>(r, "BitwiseOr", 18, with(integer_types(), {DType::Bool}));
  add_binary<Bin::BitXor>(r, "BitwiseXor", 18, with(integer_types(), {DType::Bool}));
  add_binary<Bin::And>(r, "And", 1, {DType::Bool});
  add_binary<Bin::Or>(r, "Or", 1, {DType::Bool});
  add_binary<Bin::Xor>(r, "Xor", 1, {DType::Bool});
  add_binary<Bin::Equal>(r, "Equal", 1, all_tensor_types());
  add_binary<Bin::Less>(r, "Less", 1, with(numeric_types(), {DType::Bool}));
  add_binary<Bin::LessOrEqual>(r, "LessOrEqual", 12, with(numeric_types(), {DType::Bool}));
  add_binary<Bin::Greater>(r, "Greater", 1, with(numeric_types(), {DType::Bool}));
  add_binary<Bin::GreaterOrEqual>(r, "GreaterOrEqual", 12, with(numeric_types(), {DType::Bool}));
  r.add(KernelDef{"", "Pow", 1, INT32_MAX, numeric_types(), 0, factory_of<PowKernel>()});
}

}  // namespace ortool::rt::cpu::elementwise
