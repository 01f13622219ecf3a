// MatMul: numpy-style batched matrix product (Eigen for float types, exact wrapping loops for integers).
#include <Eigen/Dense>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/linalg.h"

namespace ortool::rt::cpu {

Result<MatMulPlan> plan_matmul(const std::vector<int64_t>& a_in, const std::vector<int64_t>& b_in) {
  if (a_in.empty() || b_in.empty()) return invalid("MatMul operands must have rank >= 1");
  std::vector<int64_t> a = a_in, b = b_in;
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  MatMulPlan p;
  p.M = a[a.size() - 2];
  p.K = a[a.size() - 1];
  p.N = b[b.size() - 1];
  if (b[b.size() - 2] != p.K)
    return invalid("inner dimensions differ: A has {} columns, B has {} rows", p.K, b[b.size() - 2]);
  const size_t ab = a.size() - 2, bb = b.size() - 2, rb = std::max(ab, bb);
  std::vector<int64_t> batch(rb);
  for (size_t i = 0; i < rb; ++i) {
    const int64_t da = i + ab >= rb ? a[i + ab - rb] : 1;
    const int64_t db = i + bb >= rb ? b[i + bb - rb] : 1;
    if (da != db && da != 1 && db != 1) return invalid("batch dimensions {} and {} do not broadcast", da, db);
    batch[i] = da == 1 ? db : da;
  }
  // Batch strides in matrices of each operand (0 where the operand broadcasts).
  std::vector<int64_t> sa(rb, 0), sb(rb, 0);
  int64_t ma = 1, mb = 1;
  for (size_t i = rb; i-- > 0;) {
    const int64_t da = i + ab >= rb ? a[i + ab - rb] : 1;
    const int64_t db = i + bb >= rb ? b[i + bb - rb] : 1;
    sa[i] = da == 1 ? 0 : ma;
    sb[i] = db == 1 ? 0 : mb;
    ma *= da;
    mb *= db;
  }
  int64_t nbatch = 1;
  for (int64_t d : batch) nbatch *= d;
  std::vector<int64_t> idx(rb, 0);
  for (int64_t k = 0; k < nbatch; ++k) {
    int64_t oa = 0, ob = 0;
    for (size_t i = 0; i < rb; ++i) {
      oa += idx[i] * sa[i];
      ob += idx[i] * sb[i];
    }
    p.a_offsets.push_back(oa * p.M * p.K);
    p.b_offsets.push_back(ob * p.K * p.N);
    for (size_t i = rb; i-- > 0;) {
      if (++idx[i] < batch[i]) break;
      idx[i] = 0;
    }
  }
  p.out_dims = batch;
  if (!a_vec) p.out_dims.push_back(p.M);
  if (!b_vec) p.out_dims.push_back(p.N);
  return p;
}

namespace {
using namespace kit;

template <typename T>
void matmul_one(const T* a, const T* b, T* c, int64_t M, int64_t K, int64_t N) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    if (M == 0 || N == 0 || K == 0) return;  // output is already zero
    using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::Map<const Mat> A(a, M, K), B(b, K, N);
    Eigen::Map<Mat> C(c, M, N);
    C.noalias() = A * B;
  } else if constexpr (is_half_v<T>) {
    // Half types: multiply in float, round once at the end.
    std::vector<float> fa(static_cast<size_t>(M * K)), fb(static_cast<size_t>(K * N)), fc(static_cast<size_t>(M * N));
    for (size_t i = 0; i < fa.size(); ++i) fa[i] = static_cast<float>(a[i]);
    for (size_t i = 0; i < fb.size(); ++i) fb[i] = static_cast<float>(b[i]);
    matmul_one<float>(fa.data(), fb.data(), fc.data(), M, K, N);
    for (size_t i = 0; i < fc.size(); ++i) c[i] = T(fc[i]);
  } else {
    // Integers: exact products that wrap like the element type.
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        uint64_t acc = 0;
        for (int64_t k = 0; k < K; ++k)
          acc += static_cast<uint64_t>(static_cast<int64_t>(a[m * K + k])) *
                 static_cast<uint64_t>(static_cast<int64_t>(b[k * N + n]));
        c[m * N + n] = static_cast<T>(acc);
      }
  }
}

Status run_matmul(KernelContext& ctx) {
  const ir::Node& node = ctx.node();
  const Tensor* a = ctx.input_tensor(0);
  const Tensor* b = ctx.input_tensor(1);
  if (!a || !b) return invalid("{}: inputs 'A' and 'B' are required", node.describe());
  if (a->dtype() != b->dtype())
    return invalid("{}: inputs 'A' ({}) and 'B' ({}) differ in type", node.describe(), dtype_name(a->dtype()),
                   dtype_name(b->dtype()));
  auto plan = plan_matmul(a->dims(), b->dims());
  if (!plan) return plan.status().with_context(node.describe());
  const MatMulPlan& p = *plan;
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, a->dtype(), p.out_dims));
  bool ok = dispatch_numeric(a->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      const T* ad = a->data<T>();
      const T* bd = b->data<T>();
      T* yd = y->mutable_data<T>();
      parallel_ranges(ctx, p.a_offsets.size(), [&](size_t lo, size_t hi) {
        for (size_t k = lo; k < hi; ++k)
          matmul_one<T>(ad + p.a_offsets[k], bd + p.b_offsets[k], yd + static_cast<int64_t>(k) * p.M * p.N, p.M, p.K,
                        p.N);
      });
    }
  });
  if (!ok || a->dtype() == DType::Bool)
    return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(a->dtype()));
  return Status::ok();
}

}  // namespace

KernelFactory matmul_kernel() { return function_kernel(run_matmul); }

}  // namespace ortool::rt::cpu
