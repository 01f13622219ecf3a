// Loss kernels of opset 12+: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (with its log_prob output).
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "runtime/cpu/misc.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of the tensor and misc kernels (shape_ops_util.h)

namespace {

enum class Reduction { kNone, kSum, kMean };

// Input x is [N, C, d1..dk] and target [N, d1..dk]. Per element i = (n, d):
//   loss[i] = -W[t] * x[n, t, d] with t = target[i] and W = weight (or 1), and 0 when t == ignore_index.
// 'mean' divides the sum by the sum of W[t] over the non-ignored targets. SoftmaxCrossEntropyLoss applies
// the same to log_softmax(x) along C, and can also return that log-probability tensor.
class LossKernel : public CheckedKernel {
 public:
  LossKernel(const KernelInit& init, bool softmax) : softmax_(softmax) {
    const ir::Node& n = init.node;
    const std::string r = n.attr_string("reduction", "mean");
    if (r == "none") reduction_ = Reduction::kNone;
    else if (r == "sum") reduction_ = Reduction::kSum;
    else if (r == "mean") reduction_ = Reduction::kMean;
    else status_ = node_error(n, "attribute 'reduction' is '{}', expected none, sum or mean", r);
    if (n.has_attr("ignore_index")) ignore_index_ = n.attr_int("ignore_index", 0);
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, softmax_ ? "scores" : "input"));
    ASSIGN_OR_RETURN(const Tensor* target, need_input(ctx, 1, "target"));
    const Tensor* weight = nullptr;
    if (ctx.input(2) != nullptr) {
      ASSIGN_OR_RETURN(weight, need_input(ctx, 2, "weights"));
    }
    TRY(check_shapes(n, *x, *target, weight));

    const auto& xd = x->dims();
    const int64_t batch = xd[0], classes = xd[1], spatial = product(xd, 2);
    const int64_t count = batch * spatial;  // == target->numel()

    // Per-element loss and weight, in double; validates every target on the way.
    std::vector<double> log_prob;  // softmax only: log_softmax(x) along C
    std::vector<double> loss(static_cast<size_t>(count), 0.0);
    double weight_sum = 0, loss_sum = 0;
    Status st = Status::ok();
    const bool ok = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x->data<T>();
      const T* pw = weight ? weight->data<T>() : nullptr;
      if (softmax_) log_prob = log_softmax(px, batch, classes, spatial);
      for (int64_t i = 0; i < count; ++i) {
        const int64_t t = target->get_int64(i);
        if (ignore_index_ && t == *ignore_index_) continue;
        if (t < 0 || t >= classes) {
          st = node_error(n, "target value {} at flat index {} is out of range [0, {}){}", t, i, classes,
                          ignore_index_ ? fmt::format(" and is not ignore_index {}", *ignore_index_) : std::string());
          return;
        }
        const int64_t at = ((i / spatial) * classes + t) * spatial + i % spatial;
        const double v = softmax_ ? log_prob[static_cast<size_t>(at)] : static_cast<double>(to_arith(px[at]));
        const double w = pw ? static_cast<double>(to_arith(pw[t])) : 1.0;
        loss[static_cast<size_t>(i)] = -w * v;
        weight_sum += w;
        loss_sum += -w * v;
      }
    });
    if (!ok) return node_unsupported(n, "element type {} is not supported", dtype_name(x->dtype()));
    TRY(st);

    if (reduction_ == Reduction::kNone) {
      ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), target->dims()));
      for (int64_t i = 0; i < count; ++i) set_from_double(*out, i, loss[static_cast<size_t>(i)]);
    } else {
      ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), {}));
      // All targets ignored (or zero weights) gives 0/0 = NaN, as in ONNX's reference.
      set_from_double(*out, 0, reduction_ == Reduction::kSum ? loss_sum : loss_sum / weight_sum);
    }
    if (softmax_ && want_output(ctx, 1)) {
      ASSIGN_OR_RETURN(Tensor * lp, ctx.allocate_output(1, x->dtype(), xd));
      for (int64_t i = 0; i < x->numel(); ++i) set_from_double(*lp, i, log_prob[static_cast<size_t>(i)]);
    }
    return Status::ok();
  }

 private:
  Status check_shapes(const ir::Node& n, const Tensor& x, const Tensor& target, const Tensor* weight) const {
    const auto& xd = x.dims();
    const auto& td = target.dims();
    if (xd.size() < 2) return node_error(n, "input must have rank >= 2 ([N, C, d1..dk]), got rank {}", xd.size());
    if (target.dtype() != DType::Int32 && target.dtype() != DType::Int64)
      return node_error(n, "target must be int32 or int64, got {}", dtype_name(target.dtype()));
    bool match = td.size() + 1 == xd.size() && td[0] == xd[0];
    for (size_t i = 1; match && i < td.size(); ++i) match = td[i] == xd[i + 1];
    if (!match)
      return node_error(n, "target shape [{}] does not match input shape [{}] (expected [N, d1..dk])",
                        fmt::join(td, ","), fmt::join(xd, ","));
    if (weight) {
      if (weight->dtype() != x.dtype())
        return node_error(n, "weights type {} differs from input type {}", dtype_name(weight->dtype()),
                          dtype_name(x.dtype()));
      if (weight->rank() != 1 || weight->dims()[0] != xd[1])
        return node_error(n, "weights shape [{}] must be [C] = [{}]", fmt::join(weight->dims(), ","), xd[1]);
    }
    return Status::ok();
  }

  // log_softmax along axis 1 of [N, C, D] data, in double.
  template <typename T>
  static std::vector<double> log_softmax(const T* px, int64_t batch, int64_t classes, int64_t spatial) {
    std::vector<double> lp(static_cast<size_t>(batch * classes * spatial));
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t d = 0; d < spatial; ++d) {
        auto at = [&](int64_t c) { return (b * classes + c) * spatial + d; };
        double mx = -INFINITY;
        for (int64_t c = 0; c < classes; ++c) mx = std::max(mx, static_cast<double>(to_arith(px[at(c)])));
        double sum = 0;
        for (int64_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(to_arith(px[at(c)])) - mx);
        const double lse = mx + std::log(sum);
        for (int64_t c = 0; c < classes; ++c)
          lp[static_cast<size_t>(at(c))] = static_cast<double>(to_arith(px[at(c)])) - lse;
      }
    }
    return lp;
  }

  bool softmax_;
  Reduction reduction_ = Reduction::kMean;
  std::optional<int64_t> ignore_index_;
};

template <bool kSoftmax>
class LossKernelOf final : public LossKernel {
 public:
  explicit LossKernelOf(const KernelInit& init) : LossKernel(init, kSoftmax) {}
};

}  // namespace

void register_loss_ops(KernelRegistry& r) {
  const std::vector<DType> types = {DType::Float, DType::Double, DType::Float16};
  r.add(KernelDef{"", "NegativeLogLikelihoodLoss", 12, INT32_MAX, types, 0, checked_factory<LossKernelOf<false>>()});
  r.add(KernelDef{"", "SoftmaxCrossEntropyLoss", 12, INT32_MAX, types, 0, checked_factory<LossKernelOf<true>>()});
}

}  // namespace ortool::rt::cpu
