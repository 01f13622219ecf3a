// Gemm: Y = alpha * op(A) * op(B) + beta * C with optional transposes and C broadcast to (M, N).
#include <Eigen/Dense>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/linalg.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

class GemmKernel final : public Kernel {
 public:
  explicit GemmKernel(const KernelInit& init) {
    const ir::Node& n = init.node;
    trans_a_ = n.attr_int("transA", 0) != 0;
    trans_b_ = n.attr_int("transB", 0) != 0;
    alpha_ = n.attr_float("alpha", 1.0f);
    beta_ = n.attr_float("beta", 1.0f);
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* a = ctx.input_tensor(0);
    const Tensor* b = ctx.input_tensor(1);
    const Tensor* c = ctx.input_tensor(2);
    if (!a || !b) return invalid("{}: inputs 'A' and 'B' are required", node.describe());
    if (a->rank() != 2 || b->rank() != 2)
      return invalid("{}: inputs 'A' and 'B' must be 2-D, got ranks {} and {}", node.describe(), a->rank(), b->rank());
    if (a->dtype() != b->dtype() || (c && c->dtype() != a->dtype()))
      return invalid("{}: inputs 'A', 'B' and 'C' must have the same type", node.describe());
    const int64_t M = trans_a_ ? a->dims()[1] : a->dims()[0];
    const int64_t K = trans_a_ ? a->dims()[0] : a->dims()[1];
    const int64_t KB = trans_b_ ? b->dims()[1] : b->dims()[0];
    const int64_t N = trans_b_ ? b->dims()[0] : b->dims()[1];
    if (K != KB) return invalid("{}: inner dimensions differ: op(A) has {} columns, op(B) has {} rows", node.describe(), K, KB);
    // C's strides over (M, N): 0 along broadcast dims.
    int64_t cs_m = 0, cs_n = 0;
    if (c) {
      const auto& cd = c->dims();
      if (cd.size() > 2) return invalid("{}: input 'C' must have rank <= 2, got {}", node.describe(), cd.size());
      const int64_t cm = cd.size() == 2 ? cd[0] : 1, cn = cd.empty() ? 1 : cd.back();
      if ((cm != M && cm != 1) || (cn != N && cn != 1))
        return invalid("{}: input 'C' of shape [{}] does not broadcast to [{}, {}]", node.describe(),
                       fmt::join(cd, ","), M, N);
      cs_n = cn == 1 ? 0 : 1;
      cs_m = cm == 1 ? 0 : cn;
    }
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, a->dtype(), {M, N}));
    bool ok = dispatch_numeric(a->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (!std::is_same_v<T, bool>) compute<T>(*a, *b, c, *y, M, K, N, cs_m, cs_n);
    });
    if (!ok || a->dtype() == DType::Bool)
      return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(a->dtype()));
    return Status::ok();
  }

 private:
  template <typename T>
  void compute(const Tensor& a, const Tensor& b, const Tensor* c, Tensor& y, int64_t M, int64_t K, int64_t N,
               int64_t cs_m, int64_t cs_n) const {
    const T* ad = a.data<T>();
    const T* bd = b.data<T>();
    const T* cd = c ? c->data<T>() : nullptr;
    T* yd = y.mutable_data<T>();
    auto a_at = [&](int64_t m, int64_t k) { return ad[trans_a_ ? k * M + m : m * K + k]; };
    auto b_at = [&](int64_t k, int64_t n) { return bd[trans_b_ ? n * K + k : k * N + n]; };
    if constexpr (is_floating_v<T>) {
      // Float types: op(A) * op(B) in float (double for double) with Eigen, then scale and add C.
      using F = std::conditional_t<std::is_same_v<T, double>, double, float>;
      using Mat = Eigen::Matrix<F, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      Mat A(M, K), B(K, N);
      for (int64_t m = 0; m < M; ++m)
        for (int64_t k = 0; k < K; ++k) A(m, k) = static_cast<F>(a_at(m, k));
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n) B(k, n) = static_cast<F>(b_at(k, n));
      Mat P = Mat::Zero(M, N);
      if (K > 0 && M > 0 && N > 0) P.noalias() = A * B;
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double v = static_cast<double>(alpha_) * static_cast<double>(P(m, n));
          if (cd) v += static_cast<double>(beta_) * to_double(cd[m * cs_m + n * cs_n]);
          yd[m * N + n] = from_double<T>(v);
        }
    } else {
      // Integers: exact wrapping product; alpha and beta other than 1 go through double.
      const bool exact = alpha_ == 1.0f && beta_ == 1.0f;
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          uint64_t acc = 0;
          for (int64_t k = 0; k < K; ++k)
            acc += static_cast<uint64_t>(static_cast<int64_t>(a_at(m, k))) *
                   static_cast<uint64_t>(static_cast<int64_t>(b_at(k, n)));
          const T prod = static_cast<T>(acc);
          const T cv = cd ? cd[m * cs_m + n * cs_n] : T(0);
          if (exact) {
            yd[m * N + n] = static_cast<T>(static_cast<uint64_t>(static_cast<int64_t>(prod)) +
                                           static_cast<uint64_t>(static_cast<int64_t>(cv)));
          } else {
            yd[m * N + n] = from_double<T>(static_cast<double>(alpha_) * to_double(prod) +
                                           static_cast<double>(beta_) * to_double(cv));
          }
        }
    }
  }

  bool trans_a_ = false, trans_b_ = false;
  float alpha_ = 1.0f, beta_ = 1.0f;
};

}  // namespace

KernelFactory gemm_kernel() { return factory_of<GemmKernel>(); }

}  // namespace ortool::rt::cpu
