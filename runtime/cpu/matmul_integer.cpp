// MatMulInteger and QLinearMatMul: 8-bit batched matmul with zero points (int32 out, or requantized to 8 bits).
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

#include "lib/quant_scale_check.h"
#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/exact_int_gemm.h"
#include "runtime/cpu/linalg.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

// Per-tensor, per-row of A ([M] or A's dims with K replaced by 1) or per-column of B ([N] or B's
// batch dims + [1, N]) quantization parameters.
struct RowColParam {
  const Tensor* t = nullptr;
  bool per_tensor = true;
  bool batched = false;
};

Result<RowColParam> row_col_param(const Tensor* t, const std::vector<int64_t>& operand_dims, bool is_a,
                                  int64_t len, std::string_view what) {
  RowColParam p;
  p.t = t;
  if (!t || t->numel() == 1) return p;
  p.per_tensor = false;
  if (t->rank() == 1 && t->numel() == len) return p;
  std::vector<int64_t> want = operand_dims;
  if (want.size() >= 2) {
    if (is_a) want.back() = 1;
    else want[want.size() - 2] = 1;
    if (t->dims() == want) {
      p.batched = true;
      return p;
    }
  }
  return invalid("input '{}' of shape [{}] is neither per tensor nor per {}", what, fmt::join(t->dims(), ","),
                 is_a ? "row" : "column");
}

// Index of the parameter for row m (A) or column n (B) of the matrix at element offset `off`.
int64_t param_index(const RowColParam& p, int64_t off, int64_t K, int64_t i) {
  if (p.per_tensor) return 0;
  return p.batched ? off / K + i : i;
}

bool is_8bit(DType t) { return t == DType::UInt8 || t == DType::Int8; }

// Integer accumulators sum_k (a - azp)(b - bzp) for every output element, in int64, exactly.
//
// Eigen's float GEMM (blocked and vectorized) on the zero-point-shifted operands in exact K-chunks
// (exact_int_gemm.h), summed in int64.
// (A scalar triple loop in int64 made a dynamically quantized transformer 60x slower than its float form.)
std::vector<int64_t> accumulate(const Tensor& a, const Tensor& b, const RowColParam& azp, const RowColParam& bzp,
                                const MatMulPlan& p) {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const size_t MN = static_cast<size_t>(p.M * p.N);
  std::vector<int64_t> acc(p.a_offsets.size() * MN, 0);
  auto zp = [](const RowColParam& q, int64_t i) { return q.t ? static_cast<float>(q.t->get_double(i)) : 0.0f; };
  auto load = [](const Tensor& t, int64_t off, int64_t n, float* dst) {
    if (t.dtype() == DType::UInt8)
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(t.data<uint8_t>()[off + i]);
    else
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(t.data<int8_t>()[off + i]);
  };
  Mat A, B(p.K, p.N), C;
  int64_t b_loaded = -1;
  float max_b = 0;
  // Consecutive batches that read the same B (a weight shared by every batch: [T, 1, K] x [K, N]) and
  // consecutive A matrices form one taller product.
  for (size_t first = 0; first < p.a_offsets.size();) {
    size_t last = first + 1;
    while (last < p.a_offsets.size() && p.b_offsets[last] == p.b_offsets[first] &&
           p.a_offsets[last] == p.a_offsets[last - 1] + p.M * p.K)
      ++last;
    const int64_t bo = p.b_offsets[first], rows = static_cast<int64_t>(last - first) * p.M;
    if (bo != b_loaded) {
      load(b, bo, p.K * p.N, B.data());
      std::vector<float> zb(static_cast<size_t>(p.N));
      for (int64_t n = 0; n < p.N; ++n) zb[static_cast<size_t>(n)] = zp(bzp, param_index(bzp, bo, p.K, n));
      max_b = 0;
      for (int64_t k = 0; k < p.K; ++k) {
        float* row = B.data() + k * p.N;
        for (int64_t n = 0; n < p.N; ++n) {
          row[n] -= zb[static_cast<size_t>(n)];
          max_b = std::max(max_b, std::abs(row[n]));
        }
      }
      b_loaded = bo;
    }
    A.resize(rows, p.K);
    float max_a = 0;
    for (size_t bi = first; bi < last; ++bi) {
      const int64_t ao = p.a_offsets[bi], r0 = static_cast<int64_t>(bi - first) * p.M;
      load(a, ao, p.M * p.K, A.data() + r0 * p.K);
      for (int64_t m = 0; m < p.M; ++m) {
        const float za = zp(azp, param_index(azp, ao, p.K, m));
        for (int64_t k = 0; k < p.K; ++k) {
          float& v = A(r0 + m, k);
          v -= za;
          max_a = std::max(max_a, std::abs(v));
        }
      }
    }
    int64_t* out = acc.data() + first * MN;
    if (p.K > 0 && max_a > 0 && max_b > 0) {
      const int64_t chunk = exact_float_chunk(max_a, max_b, p.K);
      for (int64_t k0 = 0; k0 < p.K; k0 += chunk) {
        const int64_t len = std::min(chunk, p.K - k0);
        C.noalias() = A.middleCols(k0, len) * B.middleRows(k0, len);
        for (int64_t i = 0; i < rows * p.N; ++i) out[i] += static_cast<int64_t>(C.data()[i]);
      }
    }
    first = last;
  }
  return acc;
}

Status run_matmul_integer(KernelContext& ctx) {
  const ir::Node& node = ctx.node();
  const Tensor* a = ctx.input_tensor(0);
  const Tensor* b = ctx.input_tensor(1);
  if (!a || !b) return invalid("{}: inputs 'A' and 'B' are required", node.describe());
  if (!is_8bit(a->dtype()) || !is_8bit(b->dtype()))
    return unsupported("{}: inputs 'A' and 'B' must be int8 or uint8", node.describe());
  auto plan = plan_matmul(a->dims(), b->dims());
  if (!plan) return plan.status().with_context(node.describe());
  const MatMulPlan& p = *plan;
  const Tensor* azt = ctx.input_tensor(2);
  const Tensor* bzt = ctx.input_tensor(3);
  if ((azt && azt->dtype() != a->dtype()) || (bzt && bzt->dtype() != b->dtype()))
    return invalid("{}: zero points must have the type of their operand", node.describe());
  auto azp = row_col_param(azt, a->dims(), true, p.M, "a_zero_point");
  if (!azp) return azp.status().with_context(node.describe());
  auto bzp = row_col_param(bzt, b->dims(), false, p.N, "b_zero_point");
  if (!bzp) return bzp.status().with_context(node.describe());
  const std::vector<int64_t> acc = accumulate(*a, *b, *azp, *bzp, p);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Int32, p.out_dims));
  int32_t* yd = y->mutable_data<int32_t>();
  for (size_t i = 0; i < acc.size(); ++i) yd[i] = static_cast<int32_t>(acc[i]);
  return Status::ok();
}

Status run_qlinear_matmul(KernelContext& ctx) {
  const ir::Node& node = ctx.node();
  static const char* names[] = {"a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point", "y_scale", "y_zero_point"};
  const Tensor* in[8];
  for (size_t i = 0; i < 8; ++i) {
    in[i] = ctx.input_tensor(i);
    if (!in[i] && i != 2 && i != 5 && i != 7) return invalid("{}: input '{}' is missing", node.describe(), names[i]);
  }
  const Tensor& a = *in[0];
  const Tensor& b = *in[3];
  if (!is_8bit(a.dtype()) || !is_8bit(b.dtype()))
    return unsupported("{}: inputs 'a' and 'b' must be int8 or uint8", node.describe());
  auto plan = plan_matmul(a.dims(), b.dims());
  if (!plan) return plan.status().with_context(node.describe());
  const MatMulPlan& p = *plan;
  for (size_t i : {size_t{1}, size_t{4}, size_t{6}})
    if (!dtype_is_float(in[i]->dtype())) return invalid("{}: input '{}' must be a float tensor", node.describe(), names[i]);
  for (size_t i : {size_t{1}, size_t{4}, size_t{6}}) TRY(check_quant_scale(node, i, *in[i]));
  auto as = row_col_param(in[1], a.dims(), true, p.M, names[1]);
  auto az = row_col_param(in[2], a.dims(), true, p.M, names[2]);
  auto bs = row_col_param(in[4], b.dims(), false, p.N, names[4]);
  auto bz = row_col_param(in[5], b.dims(), false, p.N, names[5]);
  for (auto* r : {&as, &az, &bs, &bz})
    if (!*r) return r->status().with_context(node.describe());
  if (in[6]->numel() != 1 || (in[7] && in[7]->numel() != 1))
    return invalid("{}: inputs 'y_scale' and 'y_zero_point' must be scalars", node.describe());
  const DType out_type = in[7] ? in[7]->dtype() : DType::UInt8;
  if (!is_8bit(out_type)) return unsupported("{}: output type {} is not supported", node.describe(), dtype_name(out_type));
  const std::vector<int64_t> acc = accumulate(a, b, *az, *bz, p);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out_type, p.out_dims));
  const float ys = static_cast<float>(in[6]->get_double(0));
  const float yz = in[7] ? static_cast<float>(in[7]->get_double(0)) : 0.0f;
  const float lo = out_type == DType::UInt8 ? 0.0f : -128.0f, hi = out_type == DType::UInt8 ? 255.0f : 127.0f;
  const int64_t MN = p.M * p.N;
  for (size_t bi = 0; bi < p.a_offsets.size(); ++bi)
    for (int64_t m = 0; m < p.M; ++m)
      for (int64_t n = 0; n < p.N; ++n) {
        const float sa = static_cast<float>(as->t->get_double(param_index(*as, p.a_offsets[bi], p.K, m)));
        const float sb = static_cast<float>(bs->t->get_double(param_index(*bs, p.b_offsets[bi], p.K, n)));
        const size_t i = bi * static_cast<size_t>(MN) + static_cast<size_t>(m * p.N + n);
        float v = std::nearbyint(static_cast<float>(acc[i]) * (sa * sb / ys)) + yz;
        v = std::isnan(v) ? yz : std::min(hi, std::max(lo, v));
        if (out_type == DType::UInt8) y->mutable_data<uint8_t>()[i] = static_cast<uint8_t>(v);
        else y->mutable_data<int8_t>()[i] = static_cast<int8_t>(v);
      }
  return Status::ok();
}

}  // namespace

KernelFactory matmul_integer_kernel() { return function_kernel(run_matmul_integer); }
KernelFactory qlinear_matmul_kernel() { return function_kernel(run_qlinear_matmul); }

}  // namespace ortool::rt::cpu
