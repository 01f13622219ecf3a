// The tiled matrix transpose of the Transpose kernel, for other kernels that change layouts (the dnnl
// provider's int8 steps between NCHW and NHWC).
#pragma once

#include <algorithm>
#include <cstdint>

namespace ortool::rt::cpu {

// out[b][j][i] = in[b * batch_stride + i * row_stride + j] (out of dims [batch, cols, rows], contiguous), in
// tiles so that reads and writes both stay in cache. The input's batches need not be whole matrices:
// attention's K^T ([1, S, H, D] -> [1, H, D, S]) reads head h's D x S matrix at h * D with rows S apart.
template <typename T>
void transpose_tiled(const T* in, T* out, int64_t batch, int64_t rows, int64_t cols, int64_t batch_stride,
                     int64_t row_stride) {
  constexpr int64_t kTile = 32;
  for (int64_t b = 0; b < batch; ++b) {
    const T* src = in + b * batch_stride;
    T* dst = out + b * rows * cols;
    for (int64_t i0 = 0; i0 < rows; i0 += kTile) {
      const int64_t i1 = std::min(rows, i0 + kTile);
      for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
        const int64_t j1 = std::min(cols, j0 + kTile);
        for (int64_t j = j0; j < j1; ++j)
          for (int64_t i = i0; i < i1; ++i) dst[j * rows + i] = src[i * row_stride + j];
      }
    }
  }
}

// [N, C, HW] bytes -> [N, HW, C] (NCHW to NHWC), and back.
inline void nchw_to_nhwc_bytes(const uint8_t* src, uint8_t* dst, int64_t n, int64_t c, int64_t hw) {
  transpose_tiled(src, dst, n, c, hw, c * hw, hw);
}
inline void nhwc_to_nchw_bytes(const uint8_t* src, uint8_t* dst, int64_t n, int64_t c, int64_t hw) {
  transpose_tiled(src, dst, n, hw, c, c * hw, c);
}

}  // namespace ortool::rt::cpu
