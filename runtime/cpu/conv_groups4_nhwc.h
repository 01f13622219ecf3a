// A float 2-D grouped convolution with 4 input and 4 output channels per group (ResNeXt-50 32x4d's first stage)
// over NHWC tensors. oneDNN 2.6 has no optimized kernel for groups narrower than its 8-channel blocks on AVX2 and
// runs them as one GEMM per group over NCHW copies (3.5 ms for 128 channels at 56x56, with two reorders around
// it, against 0.3 ms here): per output pixel, two groups' 8 outputs are one vector, and each of their 4 inputs per
// tap is the loaded 8 input values with element j broadcast within each half (vpermilps), times 8 weights (FMA).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/cpu/conv.h"

namespace ortool::rt {
class ThreadPool;
}

namespace ortool::rt::cpu {

// Whether the vector kernel runs on this CPU (AVX2 with FMA); the scalar loop is for tests and other CPUs.
bool conv_groups4_fast();

// The weight [M, 4, kH, kW] (M = 4 x groups) for conv_groups4_nhwc: per block of 8 output channels, tap and input
// position j (0-3), the 8 channels' weights; blocks past M (an odd group count) padded with zeros.
std::vector<float> pack_groups4(const float* w, int64_t m, int64_t kh, int64_t kw);

// y[N, oH, oW, M] (NHWC) = clip(bias[o] + sum over taps and j of w[o, j, tap] * x[n, iy, ix, 4 * (o / 4) + j], lo, hi)
// for x [N, H, W, M] in NHWC (zeros outside: the pads), `packed` from pack_groups4, `bias` M values or null; `lo`
// and `hi` a fused Relu or Clip (-inf and inf: none). NaN propagates through them as the reference kernels do.
void conv_groups4_nhwc(const float* x, int64_t n, int64_t h, int64_t w, int64_t m, const std::vector<float>& packed,
                       const float* bias, const conv_family::Window& win, float lo, float hi, float* y, ThreadPool* pool);

}  // namespace ortool::rt::cpu
