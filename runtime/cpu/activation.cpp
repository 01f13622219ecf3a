// Activation kernels: Relu LeakyRelu PRelu Elu Selu Celu ThresholdedRelu HardSigmoid HardSwish Sigmoid
// Tanh Softplus Softsign Mish Gelu Shrink Clip.
#include <cmath>
#include <limits>
#include <optional>

#include "runtime/cpu/elementwise.h"
#include "runtime/cpu/vec_math.h"

namespace ortool::rt::cpu::elementwise {
namespace {

struct ReluF {
  explicit ReluF(const ir::Node&) {}
  template <typename C>
  C operator()(C x) const { return x < C(0) ? C(0) : x; }  // NaN passes through
};

struct LeakyReluF {
  float alpha;
  explicit LeakyReluF(const ir::Node& n) : alpha(n.attr_float("alpha", 0.01f)) {}
  template <typename C>
  C operator()(C x) const { return x < C(0) ? C(alpha) * x : x; }
};

struct EluF {
  float alpha;
  explicit EluF(const ir::Node& n) : alpha(n.attr_float("alpha", 1.0f)) {}
  template <typename C>
  C operator()(C x) const { return x < C(0) ? C(alpha) * (std::exp(x) - C(1)) : x; }
};

struct SeluF {
  float alpha, gamma;
  explicit SeluF(const ir::Node& n)
      : alpha(n.attr_float("alpha", 1.67326319217681884765625f)), gamma(n.attr_float("gamma", 1.05070102214813232421875f)) {}
  template <typename C>
  C operator()(C x) const { return x > C(0) ? C(gamma) * x : C(gamma) * (C(alpha) * std::exp(x) - C(alpha)); }
};

struct CeluF {
  float alpha;
  explicit CeluF(const ir::Node& n) : alpha(n.attr_float("alpha", 1.0f)) {}
  template <typename C>
  C operator()(C x) const {
    C a = C(alpha);
    return std::max(C(0), x) + std::min(C(0), a * (std::exp(x / a) - C(1)));
  }
};

struct ThresholdedReluF {
  float alpha;
  explicit ThresholdedReluF(const ir::Node& n) : alpha(n.attr_float("alpha", 1.0f)) {}
  template <typename C>
  C operator()(C x) const { return x > C(alpha) ? x : C(0); }
};

struct HardSigmoidF {
  float alpha, beta;
  explicit HardSigmoidF(const ir::Node& n) : alpha(n.attr_float("alpha", 0.2f)), beta(n.attr_float("beta", 0.5f)) {}
  template <typename C>
  C operator()(C x) const { return std::max(C(0), std::min(C(1), C(alpha) * x + C(beta))); }
};

struct HardSwishF {
  explicit HardSwishF(const ir::Node&) {}
  template <typename C>
  C operator()(C x) const { return x * std::max(C(0), std::min(C(1), x / C(6) + C(0.5))); }
};

struct SigmoidF {
  explicit SigmoidF(const ir::Node&) {}
  template <typename C>
  C operator()(C x) const {
    if (x >= C(0)) return C(1) / (C(1) + std::exp(-x));
    C e = std::exp(x);
    return e / (C(1) + e);
  }
};

struct TanhF {
  explicit TanhF(const ir::Node&) {}
  template <typename C>
  C operator()(C x) const { return std::tanh(x); }
};

template <typename C>
inline C softplus(C x) {
  return x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

struct SoftplusF {
  explicit SoftplusF(const ir::Node&) {}
  template <typename C>
  C operator()(C x) const { return softplus(x); }
};

struct SoftsignF {
  explicit SoftsignF(const ir::Node&) {}
  template <typename C>
  C operator()(C x) const { return x / (C(1) + std::fabs(x)); }
};

struct MishF {
  explicit MishF(const ir::Node&) {}
  template <typename C>
  C operator()(C x) const { return x * std::tanh(softplus(x)); }
};

// Gelu (opset 20): x * Phi(x) exactly (erf), or with approximate="tanh" the tanh formula; in double.
struct GeluF {
  bool tanh_approx;
  explicit GeluF(const ir::Node& n) : tanh_approx(n.attr_string("approximate", "none") == "tanh") {}
  template <typename C>
  C operator()(C x) const {
    const double d = static_cast<double>(x);
    if (tanh_approx) {
      constexpr double k = 0.7978845608028654;  // sqrt(2 / pi)
      return static_cast<C>(0.5 * d * (1.0 + std::tanh(k * (d + 0.044715 * d * d * d))));
    }
    return static_cast<C>(0.5 * d * (1.0 + std::erf(d * 0.7071067811865476)));
  }
};

struct ShrinkF {
  double bias, lambd;
  explicit ShrinkF(const ir::Node& n) : bias(n.attr_float("bias", 0.0f)), lambd(n.attr_float("lambd", 0.5f)) {}
  template <typename C>
  C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (x < C(-lambd)) return x + C(bias);
      if (x > C(lambd)) return x - C(bias);
      return C(0);
    } else {
      double v = static_cast<double>(x);
      if (v < -lambd) return convert<C>(v + bias);
      if (v > lambd) return convert<C>(v - bias);
      return C(0);
    }
  }
};

// Clip: bounds from attributes before opset 11, from optional scalar inputs 1 and 2 after.
class ClipKernel final : public Kernel {
 public:
  explicit ClipKernel(const KernelInit& init) : opset_(init.opset) {
    if (opset_ < 11) {
      if (init.node.has_attr("min")) attr_min_ = init.node.attr_float("min", 0);
      if (init.node.has_attr("max")) attr_max_ = init.node.attr_float("max", 0);
    }
  }
  Status run(KernelContext& ctx) override {
    ASSIGN_OR_RETURN(const Tensor* x, required_tensor(ctx, 0));
    const ir::Node& node = ctx.node();
    const Tensor* bounds[2] = {nullptr, nullptr};
    if (opset_ >= 11) {
      for (size_t i = 1; i <= 2; ++i) {
        const Tensor* b = ctx.input_tensor(i);
        if (!b) continue;
        if (b->dtype() != x->dtype())
          return invalid("{}: input {} has element type {} but the input has {}", node.describe(), i,
                         dtype_name(b->dtype()), dtype_name(x->dtype()));
        if (b->numel() != 1)
          return invalid("{}: input {} ({}) must be a scalar, got shape {}", node.describe(), i, i == 1 ? "min" : "max",
                         format_dims(b->dims()));
        bounds[i - 1] = b;
      }
    }
    Status st = Status::ok();
    bool ok_type = false;
    dispatch_numeric(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (!std::is_same_v<T, bool>) {
        ok_type = true;
        using C = Compute<T>;
        C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
        if constexpr (std::is_floating_point_v<C>) {
          lo = -std::numeric_limits<C>::infinity();
          hi = std::numeric_limits<C>::infinity();
        }
        if (attr_min_) lo = convert<C>(*attr_min_);
        if (attr_max_) hi = convert<C>(*attr_max_);
        if (bounds[0]) lo = load(bounds[0]->data<T>()[0]);
        if (bounds[1]) hi = load(bounds[1]->data<T>()[0]);
        auto r = ctx.allocate_output(0, x->dtype(), x->dims());
        if (!r) {
          st = r.status();
          return;
        }
        const T* in = x->data<T>();
        T* out = (*r)->template mutable_data<T>();
        parallel_elements(ctx, x->numel(), [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            C v = load(in[i]);
            // max then min, as ONNX Runtime: with min > max every element becomes max; NaN stays NaN.
            v = v < lo ? lo : v;
            v = hi < v ? hi : v;
            out[i] = store<T>(v);
          }
        });
      }
    });
    if (!ok_type) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return st;
  }

 private:
  int64_t opset_;
  std::optional<float> attr_min_, attr_max_;
};

// PRelu: y = x < 0 ? slope * x : x, with slope broadcast to x's shape (unidirectionally).
class PReluKernel final : public Kernel {
 public:
  explicit PReluKernel(const KernelInit& init) : opset_(init.opset) {}
  Status run(KernelContext& ctx) override {
    ASSIGN_OR_RETURN(const Tensor* x, required_tensor(ctx, 0));
    ASSIGN_OR_RETURN(const Tensor* slope, required_tensor(ctx, 1));
    const ir::Node& node = ctx.node();
    if (slope->dtype() != x->dtype())
      return invalid("{}: slope has element type {} but X has {}", node.describe(), dtype_name(slope->dtype()),
                     dtype_name(x->dtype()));
    std::vector<int64_t> sdims = slope->dims();
    if (opset_ < 7 && slope->numel() == 1) {
      sdims.assign(1, 1);
    } else if (opset_ < 7 && sdims.size() == 1 && x->rank() >= 2 && sdims[0] == x->dims()[1]) {
      // Old models give one slope per channel (dim 1).
      sdims.assign(x->rank() - 1, 1);
      sdims[0] = slope->dims()[0];
    }
    if (!broadcasts_to(sdims, x->dims()))
      return invalid("{}: slope of shape {} does not broadcast to X of shape {}", node.describe(),
                     format_dims(slope->dims()), format_dims(x->dims()));
    Status st = Status::ok();
    bool ok_type = false;
    dispatch_numeric(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (in_typeset<TypeSet::Numeric, T>()) {
        ok_type = true;
        auto r = ctx.allocate_output(0, x->dtype(), x->dims());
        if (!r) {
          st = r.status();
          return;
        }
        BroadcastRows rows(x->dims(), {x->dims(), sdims});
        binary_loop(ctx, rows, x->data<T>(), slope->data<T>(), (*r)->template mutable_data<T>(), [](T xv, T sv) {
          auto a = load(xv);
          if constexpr (std::is_unsigned_v<T>) return xv;
          else if (a < decltype(a)(0)) {
            if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(sv));
            else return store<T>(a * load(sv));
          }
          return xv;
        });
      }
    });
    if (!ok_type) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return st;
  }

 private:
  int64_t opset_;
};

}  // namespace

void register_activation_kernels(KernelRegistry& r) {
  const auto f = float_types();
  add_unary<ReluF, TypeSet::SignedNumeric>(r, "Relu", 1, signed_numeric_types());
  add_unary<LeakyReluF, TypeSet::Float>(r, "LeakyRelu", 1, f);
  add_unary<EluF, TypeSet::Float>(r, "Elu", 1, f);
  add_unary<SeluF, TypeSet::Float>(r, "Selu", 1, f);
  add_unary<CeluF, TypeSet::Float>(r, "Celu", 12, f);
  add_unary<ThresholdedReluF, TypeSet::Float>(r, "ThresholdedRelu", 1, f);
  add_unary<HardSigmoidF, TypeSet::Float>(r, "HardSigmoid", 1, f);
  add_unary<HardSwishF, TypeSet::Float>(r, "HardSwish", 14, f);
  add_f32_array<SigmoidF, vec::sigmoid_f32>(r, "Sigmoid", 1);
  add_f32_array<TanhF, vec::tanh_f32>(r, "Tanh", 1);
  add_unary<SoftplusF, TypeSet::Float>(r, "Softplus", 1, f);
  add_unary<SoftsignF, TypeSet::Float>(r, "Softsign", 1, f);
  add_unary<MishF, TypeSet::Float>(r, "Mish", 18, f);
  add_unary<GeluF, TypeSet::Float>(r, "Gelu", 20, f);
  add_unary<ShrinkF, TypeSet::Numeric>(r, "Shrink", 9, numeric_types());
  r.add(KernelDef{"", "Clip", 1, INT32_MAX, numeric_types(), 0, factory_of<ClipKernel>()});
  r.add(KernelDef{"", "PRelu", 1, INT32_MAX, numeric_types(), 0, factory_of<PReluKernel>()});
}

}  // namespace ortool::rt::cpu::elementwise
