// Optimizer steps of domain ai.onnx.preview.training: Adagrad, Adam, Momentum (computed in double).
#include <cmath>

#include <fmt/ranges.h>

#include "runtime/cpu/misc.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

constexpr const char* kTrainingDomain = "ai.onnx.preview.training";

enum class Optimizer { kAdagrad, kAdam, kMomentum };

// Inputs: R (learning rate), T (update count), then `groups` lists of n tensors each (X, G, and the
// optimizer's state tensors). Outputs: the new X list followed by the new state lists.
class OptimizerKernel final : public CheckedKernel {
 public:
  OptimizerKernel(const KernelInit& init, Optimizer kind) : kind_(kind) {
    const ir::Node& n = init.node;
    norm_ = n.attr_float("norm_coefficient", 0.0f);
    switch (kind_) {
      case Optimizer::kAdagrad:
        decay_ = n.attr_float("decay_factor", 0.0f);
        epsilon_ = n.attr_float("epsilon", 1e-6f);
        groups_ = 3;
        break;
      case Optimizer::kAdam:
        alpha_ = n.attr_float("alpha", 0.9f);
        beta_ = n.attr_float("beta", 0.999f);
        epsilon_ = n.attr_float("epsilon", 1e-6f);
        norm_post_ = n.attr_float("norm_coefficient_post", 0.0f);
        groups_ = 4;
        break;
      case Optimizer::kMomentum: {
        alpha_ = n.attr_float("alpha", 0.0f);
        beta_ = n.attr_float("beta", 0.0f);
        const std::string mode = n.attr_string("mode", "standard");
        if (mode == "nesterov") nesterov_ = true;
        else if (mode != "standard") status_ = node_error(n, "unknown mode '{}'", mode);
        groups_ = 3;
        break;
      }
    }
    const size_t ins = n.num_inputs() >= 2 ? n.num_inputs() - 2 : 0;
    count_ = ins / groups_;
    if (!status_.is_ok()) return;
    if (ins == 0 || ins % groups_ != 0)
      status_ = node_error(n, "expects R, T and {} equal groups of tensors, got {} inputs", groups_, n.num_inputs());
    else if (n.num_outputs() > count_ * (groups_ - 1))
      status_ = node_error(n, "has {} outputs, at most {} expected", n.num_outputs(), count_ * (groups_ - 1));
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(double r, scalar_double_input(ctx, 0, "R"));
    ASSIGN_OR_RETURN(int64_t t, scalar_int_input(ctx, 1, "T"));
    for (size_t i = 0; i < count_; ++i) {
      std::vector<const Tensor*> in(groups_);
      for (size_t g = 0; g < groups_; ++g) {
        ASSIGN_OR_RETURN(in[g], need_input(ctx, 2 + g * count_ + i, "optimizer tensor"));
        if (!dtype_is_float(in[g]->dtype()))
          return node_error(n, "input {} must be a float type, got {}", 2 + g * count_ + i, dtype_name(in[g]->dtype()));
        if (in[g]->dims() != in[0]->dims())
          return node_error(n, "input {} has shape [{}] but X has [{}]", 2 + g * count_ + i,
                            fmt::join(in[g]->dims(), ","), fmt::join(in[0]->dims(), ","));
      }
      std::vector<Tensor*> out(groups_ - 1, nullptr);
      std::vector<Tensor> scratch(groups_ - 1);
      for (size_t g = 0; g + 1 < groups_; ++g) {
        // Output g (X_new, then each state) of tensor i; its input counterpart is group 0 or g + 1.
        const size_t slot = g * count_ + i;
        const Tensor* like = g == 0 ? in[0] : in[g + 1];
        if (want_output(ctx, slot)) {
          ASSIGN_OR_RETURN(out[g], ctx.allocate_output(slot, like->dtype(), like->dims()));
        } else {
          scratch[g] = Tensor(like->dtype(), like->dims());
          out[g] = &scratch[g];
        }
      }
      const Tensor &x = *in[0], &grad = *in[1];
      for (int64_t e = 0; e < x.numel(); ++e) {
        const double xv = x.get_double(e);
        const double gr = norm_ * xv + grad.get_double(e);
        if (kind_ == Optimizer::kAdagrad) {
          const double lr = r / (1 + static_cast<double>(t) * decay_);
          const double h = in[2]->get_double(e) + gr * gr;
          set_from_double(*out[0], e, xv - lr * gr / (std::sqrt(h) + epsilon_));
          set_from_double(*out[1], e, h);
        } else if (kind_ == Optimizer::kAdam) {
          const double v = alpha_ * in[2]->get_double(e) + (1 - alpha_) * gr;
          const double h = beta_ * in[3]->get_double(e) + (1 - beta_) * gr * gr;
          const double td = static_cast<double>(t);
          const double lr = t > 0 ? r * std::sqrt(1 - std::pow(beta_, td)) / (1 - std::pow(alpha_, td)) : r;
          const double xn = xv - lr * (v / (std::sqrt(h) + epsilon_));
          set_from_double(*out[0], e, (1 - norm_post_) * xn);
          set_from_double(*out[1], e, v);
          set_from_double(*out[2], e, h);
        } else {
          const double beta_adj = t > 0 ? beta_ : 1.0;
          const double v = alpha_ * in[2]->get_double(e) + beta_adj * gr;
          set_from_double(*out[0], e, nesterov_ ? xv - r * (gr + alpha_ * v) : xv - r * v);
          set_from_double(*out[1], e, v);
        }
      }
    }
    return Status::ok();
  }

 private:
  Optimizer kind_;
  double norm_ = 0, norm_post_ = 0, decay_ = 0, epsilon_ = 0, alpha_ = 0, beta_ = 0;
  bool nesterov_ = false;
  size_t groups_ = 3;
  size_t count_ = 0;
};

template <Optimizer kKind>
KernelFactory optimizer_factory() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    auto k = std::make_unique<OptimizerKernel>(init, kKind);
    if (!k->init_status().is_ok()) return k->init_status();
    return std::unique_ptr<Kernel>(std::move(k));
  };
}

}  // namespace

void register_training_ops(KernelRegistry& r) {
  r.add(kTrainingDomain, "Adagrad", 1, INT32_MAX, optimizer_factory<Optimizer::kAdagrad>());
  r.add(kTrainingDomain, "Adam", 1, INT32_MAX, optimizer_factory<Optimizer::kAdam>());
  r.add(kTrainingDomain, "Momentum", 1, INT32_MAX, optimizer_factory<Optimizer::kMomentum>());
}

}  // namespace ortool::rt::cpu
