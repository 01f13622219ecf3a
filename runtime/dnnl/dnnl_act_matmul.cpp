// The widened-GEMM MatMul of two 8-bit activations (dnnl_act_matmul.h).
#include "runtime/dnnl/dnnl_act_matmul.h"

#include <algorithm>

#include "lib/status.h"
#include "runtime/cpu/linalg.h"

namespace ortool::rt::dnnl_ep {

Status ActMatMul::run(KernelContext& ctx, const Tensor& a, const Tensor& b, const qdq::ActQuant& qa,
                      const qdq::ActQuant& qb, const qdq::ActQuant& qy, const std::string& what) {
  Result<cpu::MatMulPlan> plan = cpu::plan_matmul(a.dims(), b.dims());  // MatMul's shapes, batch broadcast
  if (!plan.is_ok()) return invalid("{}: {}", what, plan.status().message());
  const cpu::MatMulPlan& p = *plan;
  const int64_t m = p.M, k = p.K, n = p.N, batches = static_cast<int64_t>(p.a_offsets.size());
  if (k > wide8::kMaxReduction)
    return invalid("{}: a reduction over {} values could overflow the int8 kernel's 32-bit sums", what, k);
  const bool empty = batches * m * n == 0;
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, qy.type, p.out_dims, empty ? KernelContext::Fill::Zero
                                                                                  : KernelContext::Fill::Uninitialized));
  if (empty) return Status::ok();
  if (k == 0) {  // empty sums: every output is Q(0), the zero point
    std::fill_n(static_cast<uint8_t*>(y->raw_mutable()), y->numel(), static_cast<uint8_t>(qy.zero_point));
    return Status::ok();
  }
  // Each distinct matrix of B packed once (a B broadcast over A's batches is read by several jobs).
  const auto* pb = static_cast<const uint8_t*>(b.raw());
  std::vector<size_t> packed_of(static_cast<size_t>(batches));
  std::vector<int64_t> packed_at;
  for (int64_t t = 0; t < batches; ++t) {
    const int64_t off = p.b_offsets[static_cast<size_t>(t)];
    auto it = std::find(packed_at.begin(), packed_at.end(), off);
    if (it == packed_at.end()) it = packed_at.insert(packed_at.end(), off);
    packed_of[static_cast<size_t>(t)] = static_cast<size_t>(it - packed_at.begin());
  }
  packed_.resize(packed_at.size());
  for (size_t i = 0; i < packed_at.size(); ++i)
    wide8::pack_bytes(pb + packed_at[i], n, qb.type == DType::Int8, qb.zero_point, k, n, packed_[i]);
  const auto padded = static_cast<size_t>(packed_[0].panels() * wide8::kPanel);
  if (requant_.scale.size() != padded) {
    requant_.scale.assign(padded, qa.scale * qb.scale / qy.scale);
    requant_.bias.assign(padded, 0.0f);
    requant_.zero_point = qy.zero_point;
    requant_.out_signed = qy.type == DType::Int8;
  }
  const bool a_signed = qa.type == DType::Int8;
  const int32_t za = qa.zero_point;
  const auto* pa = static_cast<const uint8_t*>(a.raw());
  auto* out = static_cast<uint8_t*>(y->raw_mutable());
  std::vector<wide8::WideJob> jobs(static_cast<size_t>(batches));
  for (int64_t t = 0; t < batches; ++t) {
    wide8::WideJob& j = jobs[static_cast<size_t>(t)];
    j.rows = m;
    j.w = &packed_[packed_of[static_cast<size_t>(t)]];
    j.q = &requant_;
    j.out = out + t * m * n;
    j.out_stride = n;
    const uint8_t* rows = pa + p.a_offsets[static_cast<size_t>(t)];
    j.fill = [rows, k, a_signed, za](int64_t r0, int64_t r1, int16_t* dst, int64_t stride) {
      for (int64_t r = r0; r < r1; ++r) wide8::widen(rows + r * k, a_signed, za, k, stride, dst + (r - r0) * stride);
    };
  }
  wide8::run_jobs(jobs, ctx.threads());
  return Status::ok();
}

}  // namespace ortool::rt::dnnl_ep
