// BatchNormalization: inference with running statistics, or training mode (opset 14+) with batch statistics.
//
// Float inference (the common case) folds each channel's statistics into y = x * a + b once per run
// (a and b computed in double) and runs the channels' rows threaded, in a loop the compiler
// vectorizes; everything else takes the double-precision path of the spec's formula.
#include <algorithm>
#include <cmath>

#include "runtime/cpu/batch_norm_affine.h"
#include "runtime/thread_pool.h"

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/reduce.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = t.get_double(i);
  return v;
}

class BatchNormKernel final : public Kernel {
 public:
  explicit BatchNormKernel(const KernelInit& init) {
    const ir::Node& n = init.node;
    epsilon_ = n.attr_float("epsilon", 1e-5f);
    momentum_ = n.attr_float("momentum", 0.9f);
    spatial_ = init.opset >= 9 || n.attr_int("spatial", 1) != 0;
    training_ = init.opset >= 14 && n.attr_int("training_mode", 0) != 0;
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    static const char* names[] = {"X", "scale", "B", "input_mean", "input_var"};
    const Tensor* in[5];
    for (size_t i = 0; i < 5; ++i) {
      in[i] = ctx.input_tensor(i);
      if (!in[i]) return invalid("{}: input '{}' is missing", node.describe(), names[i]);
    }
    const Tensor& x = *in[0];
    if (x.rank() < 2) return invalid("{}: input 'X' must have rank >= 2, got {}", node.describe(), x.rank());
    const int64_t N = x.dims()[0], C = x.dims()[1];
    int64_t inner = 1;
    for (size_t i = 2; i < x.rank(); ++i) inner *= x.dims()[i];
    // Parameters are per channel, or (opset < 9, spatial = 0) per channel and spatial position.
    const int64_t per = spatial_ ? C : C * inner;
    for (size_t i = 1; i < 5; ++i)
      if (in[i]->numel() != per)
        return invalid("{}: input '{}' has {} elements, expected {}", node.describe(), names[i], in[i]->numel(), per);
    if (!training_) {
      for (size_t i = 1; i < ctx.num_outputs(); ++i)
        if (ctx.output_wanted(i))
          return unsupported("{}: training outputs are only computed with training_mode = 1 (opset 14+)",
                             node.describe());
    }
    std::vector<double> scale = as_doubles(*in[1]), bias = as_doubles(*in[2]);
    std::vector<double> mean = as_doubles(*in[3]), var = as_doubles(*in[4]);

    if (training_) {
      // Batch statistics per channel over N and the spatial dims (population variance).
      std::vector<double> bm(static_cast<size_t>(C), 0.0), bv(static_cast<size_t>(C), 0.0);
      const double count = static_cast<double>(N * inner);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < inner; ++i) bm[static_cast<size_t>(c)] += x.get_double((n * C + c) * inner + i);
      for (auto& m : bm) m = count > 0 ? m / count : 0.0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < inner; ++i) {
            const double d = x.get_double((n * C + c) * inner + i) - bm[static_cast<size_t>(c)];
            bv[static_cast<size_t>(c)] += d * d;
          }
      for (auto& v : bv) v = count > 0 ? v / count : 0.0;
      const double mom = momentum_;
      for (size_t out : {size_t{1}, size_t{2}}) {  // running mean, running var
        if (out >= ctx.num_outputs() || !ctx.output_wanted(out)) continue;
        const Tensor& src = out == 1 ? *in[3] : *in[4];
        const std::vector<double>& cur = out == 1 ? bm : bv;
        const std::vector<double>& run = out == 1 ? mean : var;
        ASSIGN_OR_RETURN(Tensor * o, ctx.allocate_output(out, src.dtype(), src.dims()));
        bool ok = dispatch_float(src.dtype(), [&](auto tag) {
          using T = typename decltype(tag)::type;
          T* od = o->mutable_data<T>();
          for (size_t c = 0; c < static_cast<size_t>(C); ++c) od[c] = from_double<T>(run[c] * mom + cur[c] * (1 - mom));
        });
        if (!ok) return unsupported("{}: statistics of type {} are not supported", node.describe(), dtype_name(src.dtype()));
      }
      mean = bm;
      var = bv;
    }

    const double eps = epsilon_;
    if (x.dtype() == DType::Float && !training_) return run_float(ctx, x, N, C, inner, scale, bias, mean, var);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.dims()));
    bool ok = dispatch_float(x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xd = x.data<T>();
      T* yd = y->mutable_data<T>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < inner; ++i) {
            const size_t p = static_cast<size_t>(spatial_ ? c : c * inner + i);
            const int64_t at = (n * C + c) * inner + i;
            const double v = (to_double(xd[at]) - mean[p]) / std::sqrt(var[p] + eps);
            yd[at] = from_double<T>(v * scale[p] + bias[p]);
          }
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x.dtype()));
    return Status::ok();
  }

 private:
  // y = x * a + b per parameter (a channel, or with spatial = 0 a channel's position), rows threaded.
  Status run_float(KernelContext& ctx, const Tensor& x, int64_t N, int64_t C, int64_t inner,
                   const std::vector<double>& scale, const std::vector<double>& bias, const std::vector<double>& mean,
                   const std::vector<double>& var) const {
    std::vector<float> a, b;
    batch_norm_affine(scale, bias, mean, var, epsilon_, a, b);
    ASSIGN_OR_RETURN(Tensor * y, ctx.reuse_input_or_allocate(0, 0, DType::Float, x.dims()));
    const float* xd = x.data<float>();
    float* yd = y->mutable_data<float>();
    const bool spatial = spatial_;
    auto rows = [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; ++r) {
        const int64_t c = static_cast<int64_t>(r) % C;
        const float* xr = xd + static_cast<int64_t>(r) * inner;
        float* yr = yd + static_cast<int64_t>(r) * inner;
        if (spatial) {
          const float ac = a[static_cast<size_t>(c)], bc = b[static_cast<size_t>(c)];
          for (int64_t i = 0; i < inner; ++i) yr[i] = xr[i] * ac + bc;
        } else {
          const float* ar = a.data() + c * inner;
          const float* br = b.data() + c * inner;
          for (int64_t i = 0; i < inner; ++i) yr[i] = xr[i] * ar[i] + br[i];
        }
      }
    };
    const size_t n_rows = static_cast<size_t>(N * C);
    // Rows of at least ~16k elements per chunk: smaller jobs cost more to hand out than they save.
    const size_t min_rows = static_cast<size_t>(std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, inner)));
    ThreadPool* pool = ctx.threads();
    if (pool && pool->size() > 1 && n_rows > min_rows) pool->parallel_for(n_rows, rows, min_rows);
    else rows(0, n_rows);
    return Status::ok();
  }

  float epsilon_ = 1e-5f;
  float momentum_ = 0.9f;
  bool spatial_ = true;
  bool training_ = false;
};

}  // namespace

KernelFactory batch_norm_kernel() { return factory_of<BatchNormKernel>(); }

}  // namespace ortool::rt::cpu
