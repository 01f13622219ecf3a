// Random generators: RandomNormal(Like), RandomUniform(Like), Bernoulli, Multinomial.
//
// Every kernel owns a 64-bit Mersenne Twister seeded from the 'seed' attribute, or from a fixed
// default seed when there is none, so a session's outputs are reproducible run after run (ONNX
// leaves unseeded outputs unspecified; ortool prefers reproducibility for compare and bench).
#include <cmath>
#include <cstring>
#include <random>

#include <fmt/ranges.h>

#include "runtime/cpu/misc.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

constexpr uint64_t kDefaultSeed = 0x6f72746f6f6c5eedULL;

uint64_t seed_of(const ir::Node& n) {
  const ir::Attribute* a = n.attr("seed");
  if (!a || a->type != ir::AttrType::Float) return kDefaultSeed;
  uint32_t bits;
  std::memcpy(&bits, &a->f, 4);
  return kDefaultSeed ^ (static_cast<uint64_t>(bits) * 0x9e3779b97f4a7c15ULL);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  double uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {  // Box-Muller, one value per call
    double u1 = uniform();
    const double u2 = uniform();
    if (u1 <= 0) u1 = 0x1.0p-53;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

 private:
  std::mt19937_64 gen_;
};

bool random_output_type(DType t) {
  return t == DType::Float || t == DType::Double || t == DType::Float16 || t == DType::BFloat16;
}

// RandomNormal / RandomUniform and their *Like forms.
class RandomKernel final : public CheckedKernel {
 public:
  RandomKernel(const KernelInit& init, bool normal, bool like)
      : normal_(normal), like_(like), rng_(seed_of(init.node)) {
    const ir::Node& n = init.node;
    if (normal_) {
      a_ = n.attr_float("mean", 0.0f);
      b_ = n.attr_float("scale", 1.0f);
    } else {
      a_ = n.attr_float("low", 0.0f);
      b_ = n.attr_float("high", 1.0f);
    }
    has_dtype_ = n.has_attr("dtype");
    dtype_ = static_cast<DType>(n.attr_int("dtype", static_cast<int64_t>(DType::Float)));
    if (has_dtype_ && !random_output_type(dtype_))
      status_ = node_unsupported(n, "output type {}", dtype_name(dtype_));
    if (!like_) {
      if (!n.has_attr("shape")) status_ = node_error(n, "attribute 'shape' is required");
      shape_ = n.attr_ints("shape");
      auto numel = checked_numel(shape_);
      if (!numel.is_ok()) status_ = node_error(n, "bad shape [{}]: {}", fmt::join(shape_, ","), numel.status().message());
    }
  }

  Status run(KernelContext& ctx) override {
    std::vector<int64_t> dims = shape_;
    DType t = dtype_;
    if (like_) {
      ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "input"));
      dims = x->dims();
      if (!has_dtype_) t = x->dtype();
      if (!random_output_type(t)) return node_unsupported(ctx.node(), "output type {}", dtype_name(t));
    }
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, t, dims));
    for (int64_t i = 0; i < out->numel(); ++i)
      set_from_double(*out, i, normal_ ? a_ + b_ * rng_.normal() : a_ + (b_ - a_) * rng_.uniform());
    return Status::ok();
  }

 private:
  bool normal_, like_;
  Rng rng_;
  double a_ = 0, b_ = 1;
  bool has_dtype_ = false;
  DType dtype_ = DType::Float;
  std::vector<int64_t> shape_;
};

template <bool kNormal, bool kLike>
KernelFactory random_factory() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    auto k = std::make_unique<RandomKernel>(init, kNormal, kLike);
    if (!k->init_status().is_ok()) return k->init_status();
    return std::unique_ptr<Kernel>(std::move(k));
  };
}

// Bernoulli-15: 1 with probability input[i], else 0; dtype attribute or the input's type.
class BernoulliKernel final : public Kernel {
 public:
  explicit BernoulliKernel(const KernelInit& init)
      : rng_(seed_of(init.node)), dtype_(static_cast<DType>(init.node.attr_int("dtype", 0))) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "input"));
    if (!dtype_is_float(x->dtype())) return node_error(n, "input must be a float type, got {}", dtype_name(x->dtype()));
    const DType t = dtype_ == DType::Undefined ? x->dtype() : dtype_;
    if (t == DType::String || dtype_size(t) == 0 || t == DType::Complex64 || t == DType::Complex128)
      return node_unsupported(n, "output type {}", dtype_name(t));
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, t, x->dims()));
    for (int64_t i = 0; i < x->numel(); ++i) set_from_double(*out, i, rng_.uniform() < x->get_double(i) ? 1.0 : 0.0);
    return Status::ok();
  }

 private:
  Rng rng_;
  DType dtype_;
};

// Multinomial-7: sample_size draws per batch row from the softmax of the row's log-probabilities.
class MultinomialKernel final : public CheckedKernel {
 public:
  explicit MultinomialKernel(const KernelInit& init)
      : rng_(seed_of(init.node)), samples_(init.node.attr_int("sample_size", 1)),
        dtype_(static_cast<DType>(init.node.attr_int("dtype", static_cast<int64_t>(DType::Int32)))) {
    if (dtype_ != DType::Int32 && dtype_ != DType::Int64)
      status_ = node_error(init.node, "dtype must be int32 or int64, got {}", dtype_name(dtype_));
    if (samples_ < 0) status_ = node_error(init.node, "sample_size {} is negative", samples_);
  }
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "input"));
    if (x->rank() != 2) return node_error(n, "input must be [batch, classes], got rank {}", x->rank());
    if (!dtype_is_float(x->dtype())) return node_error(n, "input must be a float type, got {}", dtype_name(x->dtype()));
    const int64_t batch = x->dims()[0], classes = x->dims()[1];
    if (classes == 0 && samples_ > 0) return node_error(n, "cannot sample from zero classes");
    TRY(checked_dims(n, {batch, samples_}).status());
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, dtype_, {batch, samples_}));
    std::vector<double> cdf(static_cast<size_t>(classes));
    for (int64_t b = 0; b < batch; ++b) {
      double mx = -INFINITY;
      for (int64_t c = 0; c < classes; ++c) mx = std::max(mx, x->get_double(b * classes + c));
      double total = 0;
      for (int64_t c = 0; c < classes; ++c) {
        total += std::isfinite(mx) ? std::exp(x->get_double(b * classes + c) - mx) : 1.0;
        cdf[c] = total;
      }
      for (int64_t s = 0; s < samples_; ++s) {
        const double u = rng_.uniform() * total;
        int64_t k = std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin();
        k = std::min(k, classes - 1);
        set_from_double(*out, b * samples_ + s, static_cast<double>(k));
      }
    }
    return Status::ok();
  }

 private:
  Rng rng_;
  int64_t samples_;
  DType dtype_;
};

}  // namespace

void register_random_ops(KernelRegistry& r) {
  r.add("", "RandomNormal", 1, INT32_MAX, random_factory<true, false>());
  r.add("", "RandomUniform", 1, INT32_MAX, random_factory<false, false>());
  r.add("", "RandomNormalLike", 1, INT32_MAX, random_factory<true, true>());
  r.add("", "RandomUniformLike", 1, INT32_MAX, random_factory<false, true>());
  r.add("", "Bernoulli", 15, INT32_MAX, factory_of<BernoulliKernel>());
  r.add("", "Multinomial", 7, INT32_MAX, checked_factory<MultinomialKernel>());
}

}  // namespace ortool::rt::cpu
