// Softmax, LogSoftmax and Hardmax: before opset 13 over the input coerced to 2-D at `axis` (default 1),
// from 13 along the single dim `axis` (default -1).
#include <cmath>

#include "runtime/cpu/elementwise.h"
#include "runtime/cpu/vec_math.h"

namespace ortool::rt::cpu::elementwise {
namespace {

enum class SoftKind { Softmax, LogSoftmax, Hardmax };

template <SoftKind kind>
class SoftmaxKernel final : public Kernel {
 public:
  explicit SoftmaxKernel(const KernelInit& init) : opset_(init.opset) {
    axis_ = init.node.attr_int("axis", opset_ >= 13 ? -1 : 1);
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, required_tensor(ctx, 0));
    const auto& dims = x->dims();
    const int64_t r = static_cast<int64_t>(dims.size());
    int64_t axis = axis_;
    const int64_t rank_for_axis = std::max<int64_t>(r, 1);
    if (axis < -rank_for_axis || axis >= rank_for_axis)
      return invalid("{}: axis {} is out of range for input of rank {}", node.describe(), axis_, r);
    if (axis < 0) axis += rank_for_axis;
    // outer x n x inner, reducing over n.
    int64_t outer = 1, n = 1, inner = 1;
    for (int64_t d = 0; d < r; ++d) {
      int64_t v = dims[static_cast<size_t>(d)];
      if (d < axis) outer *= v;
      else if (d == axis || opset_ < 13) n *= v;
      else inner *= v;
    }
    Status st = Status::ok();
    bool ok = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      auto res = ctx.allocate_output(0, x->dtype(), dims);
      if (!res) {
        st = res.status();
        return;
      }
      const T* in = x->data<T>();
      T* out = (*res)->template mutable_data<T>();
      if (n == 0) return;
      if constexpr (std::is_same_v<T, float> && kind != SoftKind::Hardmax) {
        if (inner == 1) {
          softmax_rows_f32(ctx, in, out, outer, n);
          return;
        }
      }
      parallel_elements(ctx, outer * inner, [&](int64_t b, int64_t e) {
        for (int64_t oi = b; oi < e; ++oi) {
          const int64_t o = oi / inner, i = oi % inner;
          const int64_t base = o * n * inner + i;
          auto at = [&](int64_t k) { return base + k * inner; };
          using C = Compute<T>;
          C mx = load(in[at(0)]);
          int64_t arg = 0;
          for (int64_t k = 1; k < n; ++k) {
            C v = load(in[at(k)]);
            if (v > mx) {
              mx = v;
              arg = k;
            }
          }
          if constexpr (kind == SoftKind::Hardmax) {
            for (int64_t k = 0; k < n; ++k) out[at(k)] = store<T>(C(k == arg ? 1 : 0));
          } else {
            double sum = 0;
            for (int64_t k = 0; k < n; ++k) sum += std::exp(static_cast<double>(load(in[at(k)])) - static_cast<double>(mx));
            if constexpr (kind == SoftKind::Softmax) {
              for (int64_t k = 0; k < n; ++k)
                out[at(k)] = store<T>(static_cast<C>(std::exp(static_cast<double>(load(in[at(k)])) - static_cast<double>(mx)) / sum));
            } else {
              const double lse = std::log(sum);
              for (int64_t k = 0; k < n; ++k)
                out[at(k)] = store<T>(static_cast<C>(static_cast<double>(load(in[at(k)])) - static_cast<double>(mx) - lse));
            }
          }
        }
      });
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return st;
  }

 private:
  // Float32 rows of n contiguous elements (the reduced axis innermost): max, exp(x - max) with its
  // sum in double, then the scaling (Softmax) or x - max - log(sum) (LogSoftmax). Rows are split
  // among threads by element count, so a few long rows parallelize too.
  static void softmax_rows_f32(KernelContext& ctx, const float* in, float* out, int64_t rows, int64_t n) {
    parallel_elements(ctx, rows * n, [&](int64_t b, int64_t e) {
      // Row r belongs to the range holding its first element r * n.
      for (int64_t r = (b + n - 1) / n; r * n < e; ++r) {
        const float* x = in + r * n;
        float* y = out + r * n;
        const float mx = vec::max_f32(x, n);
        if constexpr (kind == SoftKind::Softmax) {
          const double sum = vec::exp_shift_sum_f32(x, y, n, mx);
          vec::scale_f32(y, n, static_cast<float>(1.0 / sum));
        } else {
          const double sum = vec::exp_shift_sum_f32(x, nullptr, n, mx);
          const double shift = static_cast<double>(mx) + std::log(sum);
          for (int64_t k = 0; k < n; ++k) y[k] = static_cast<float>(static_cast<double>(x[k]) - shift);
        }
      }
    });
  }

  int64_t opset_;
  int64_t axis_;
};

}  // namespace

void register_softmax_kernels(KernelRegistry& r) {
  r.add(KernelDef{"", "Softmax", 1, INT32_MAX, float_types(), 0, factory_of<SoftmaxKernel<SoftKind::Softmax>>()});
  r.add(KernelDef{"", "LogSoftmax", 1, INT32_MAX, float_types(), 0, factory_of<SoftmaxKernel<SoftKind::LogSoftmax>>()});
  r.add(KernelDef{"", "Hardmax", 1, INT32_MAX, float_types(), 0, factory_of<SoftmaxKernel<SoftKind::Hardmax>>()});
}

}  // namespace ortool::rt::cpu::elementwise
