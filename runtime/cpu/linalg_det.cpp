// Det: determinants of a batch of square matrices [..., M, M] (LU with partial pivoting, in double).
#include <Eigen/Dense>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/linalg.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

Status run_det(KernelContext& ctx) {
  const ir::Node& node = ctx.node();
  const Tensor* x = ctx.input_tensor(0);
  if (!x) return invalid("{}: input 'X' is missing", node.describe());
  const auto& dims = x->dims();
  if (dims.size() < 2 || dims[dims.size() - 1] != dims[dims.size() - 2])
    return invalid("{}: input 'X' must be a batch of square matrices [..., M, M], got rank {}", node.describe(),
                   dims.size());
  const int64_t M = dims.back();
  std::vector<int64_t> out_dims(dims.begin(), dims.end() - 2);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), out_dims));
  bool ok = dispatch_float(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = x->data<T>();
    T* yd = y->mutable_data<T>();
    Eigen::MatrixXd m(M, M);
    for (int64_t b = 0; b < y->numel(); ++b) {
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < M; ++j) m(i, j) = to_double(xd[(b * M + i) * M + j]);
      yd[b] = from_double<T>(M == 0 ? 1.0 : m.partialPivLu().determinant());
    }
  });
  if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
  return Status::ok();
}

}  // namespace

KernelFactory det_kernel() { return function_kernel(run_det); }

}  // namespace ortool::rt::cpu
