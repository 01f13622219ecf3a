// Row-major matrix product (Eigen) for the conv family, split into column blocks across threads.
// Eigen's AVX-512 paths trip GCC 12's -Wmaybe-uninitialized inside the compiler's own intrinsics headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Dense>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cstdint>

#include "runtime/cpu/conv.h"

namespace ortool::rt::cpu::conv_family {

template <typename T>
void gemm_rowmajor(bool trans_a, const T* a, const T* b, T* c, int64_t m, int64_t k, int64_t n, ThreadPool* pool) {
  using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  if (m == 0 || n == 0) return;
  if (k == 0) {
    std::fill(c, c + m * n, T(0));
    return;
  }
  auto block = [&](size_t j0, size_t j1) {
    const int64_t len = static_cast<int64_t>(j1 - j0);
    Eigen::Map<const RowMat, 0, Stride> bm(b + j0, k, len, Stride(n));
    Eigen::Map<RowMat, 0, Stride> cm(c + j0, m, len, Stride(n));
    if (trans_a) {
      Eigen::Map<const RowMat> am(a, k, m);
      cm.noalias() = am.transpose() * bm;
    } else {
      Eigen::Map<const RowMat> am(a, m, k);
      cm.noalias() = am * bm;
    }
  };
  // Enough work per block to be worth a thread: at least ~64k multiply-adds and 16 columns.
  const int64_t per_col = std::max<int64_t>(1, m * k);
  const size_t min_chunk = static_cast<size_t>(std::max<int64_t>(16, 65536 / per_col));
  if (pool && pool->size() > 1 && static_cast<size_t>(n) > min_chunk) {
    pool->parallel_for(static_cast<size_t>(n), block, min_chunk);
  } else {
    block(0, static_cast<size_t>(n));
  }
}

template void gemm_rowmajor<float>(bool, const float*, const float*, float*, int64_t, int64_t, int64_t, ThreadPool*);
template void gemm_rowmajor<double>(bool, const double*, const double*, double*, int64_t, int64_t, int64_t,
                                    ThreadPool*);
template void gemm_rowmajor<int32_t>(bool, const int32_t*, const int32_t*, int32_t*, int64_t, int64_t, int64_t,
                                     ThreadPool*);

}  // namespace ortool::rt::cpu::conv_family
