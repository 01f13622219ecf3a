// The widened-GEMM MatMul of two 8-bit activations (dnnl_act_matmul.h).
#include "runtime/dnnl/dnnl_act_matmul.h"

#include <fmt/format.h>

#include <algorithm>
#include <span>

#include "lib/status.h"
#include "runtime/cpu/conv.h"

namespace ortool::rt::dnnl_ep {

namespace cf = cpu::conv_family;

Status ActMatMul::run(KernelContext& ctx, const Tensor& a, const Tensor& b, const qdq::ActQuant& qa,
                      const qdq::ActQuant& qb, const qdq::ActQuant& qy, const std::string& what) {
  const std::vector<int64_t>&ad = a.dims(), &bd = b.dims();
  if (ad.size() < 2 || bd.size() < 2)
    return invalid("{}: inputs of shapes {} and {}; want both of rank 2 or more", what, cf::dims_string(ad), cf::dims_string(bd));
  const int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  if (bd[bd.size() - 2] != k)
    return invalid("{}: inner dimensions differ: A is {}, B is {}", what, cf::dims_string(ad), cf::dims_string(bd));
  if (k > wide8::kMaxReduction)
    return invalid("{}: a reduction over {} values could overflow the int8 kernel's 32-bit sums", what, k);
  // Batch dims, right-aligned and broadcast; element strides of A's and B's matrices per output batch dim.
  const size_t rank = std::max(ad.size(), bd.size()) - 2;
  std::vector<int64_t> yd(rank), sa(rank, 0), sb(rank, 0);
  int64_t step_a = m * k, step_b = k * n, batches_b = 1;
  for (size_t i = rank; i-- > 0;) {
    const size_t off_a = rank - i, off_b = rank - i;
    const int64_t da = off_a <= ad.size() - 2 ? ad[ad.size() - 2 - off_a] : 1;
    const int64_t db = off_b <= bd.size() - 2 ? bd[bd.size() - 2 - off_b] : 1;
    if (da != db && da != 1 && db != 1)
      return invalid("{}: batch dims of {} and {} do not broadcast", what, cf::dims_string(ad), cf::dims_string(bd));
    yd[i] = da == 1 ? db : da;
    sa[i] = da == 1 ? 0 : step_a;
    sb[i] = db == 1 ? 0 : step_b;
    step_a *= da;
    step_b *= db;
    batches_b *= db;
  }
  int64_t batches = 1;
  for (int64_t d : yd) batches *= d;
  yd.push_back(m);
  yd.push_back(n);
  const bool empty = batches * m * n == 0;
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, qy.type, yd, empty ? KernelContext::Fill::Zero
                                                                           : KernelContext::Fill::Uninitialized));
  if (empty) return Status::ok();
  if (k == 0) {  // empty sums: every output is Q(0), the zero point
    std::fill_n(static_cast<uint8_t*>(y->raw_mutable()), y->numel(), static_cast<uint8_t>(qy.zero_point));
    return Status::ok();
  }
  const auto* pa = static_cast<const uint8_t*>(a.raw());
  const auto* pb = static_cast<const uint8_t*>(b.raw());
  packed_.resize(static_cast<size_t>(batches_b));
  for (int64_t i = 0; i < batches_b; ++i)
    wide8::pack_bytes(pb + i * k * n, n, qb.type == DType::Int8, qb.zero_point, k, n, packed_[static_cast<size_t>(i)]);
  const auto padded = static_cast<size_t>(packed_[0].panels() * wide8::kPanel);
  if (requant_.scale.size() != padded) {
    requant_.scale.assign(padded, qa.scale * qb.scale / qy.scale);
    requant_.bias.assign(padded, 0.0f);
    requant_.zero_point = qy.zero_point;
    requant_.out_signed = qy.type == DType::Int8;
  }
  const bool a_signed = qa.type == DType::Int8;
  const int32_t za = qa.zero_point;
  std::vector<wide8::WideJob> jobs(static_cast<size_t>(batches));
  auto* out = static_cast<uint8_t*>(y->raw_mutable());
  for (int64_t t = 0; t < batches; ++t) {
    // Offsets of this output batch's matrices in A and B (B's as a packed index).
    int64_t rest = t, off_a = 0, off_b = 0;
    for (size_t i = rank; i-- > 0;) {
      const int64_t idx = rest % yd[i];
      rest /= yd[i];
      off_a += idx * sa[i];
      off_b += idx * sb[i];
    }
    wide8::WideJob& j = jobs[static_cast<size_t>(t)];
    j.rows = m;
    j.w = &packed_[static_cast<size_t>(off_b / (k * n))];
    j.q = &requant_;
    j.out = out + t * m * n;
    j.out_stride = n;
    const uint8_t* rows = pa + off_a;
    j.fill = [rows, k, a_signed, za](int64_t r0, int64_t r1, int16_t* dst, int64_t stride) {
      for (int64_t r = r0; r < r1; ++r) wide8::widen(rows + r * k, a_signed, za, k, stride, dst + (r - r0) * stride);
    };
  }
  wide8::run_jobs(jobs, ctx.threads());
  return Status::ok();
}

}  // namespace ortool::rt::dnnl_ep
