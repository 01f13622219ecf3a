// Exact 8-bit depthwise 2-D convolution with requantization, for x86 CPUs without VNNI: per output pixel and 16
// channels, two taps' activations (16-bit) interleaved and multiplied by the two taps' weights by one vpmaddwd, so
// 9 taps cost 5 multiply-add pairs per 16 channels. oneDNN 2.6's AVX2 int8 depthwise kernel widens to 32 bits and
// multiplies with vpmulld, one tap at a time, and takes twice its float kernel's time; it is exact only for uint8
// activations (the widened GEMM ran int8 ones as a GEMM of one column per channel).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/wide_int8_gemm.h"

namespace ortool::rt {
class ThreadPool;
}

namespace ortool::rt::wide8 {

// A depthwise weight [C, 1, kH, kW] in blocks of 16 channels: per block and pair of taps (t, t + 1), the
// interleaved (w[t], w[t + 1]) of channels 0-3 and 8-11 (`lo`), then 4-7 and 12-15 (`hi`), the lane order of
// vpunpcklwd / vpunpckhwd; past the last tap and channel, zeros. With it, in the same lane order (per block, lo's
// 8 lanes then hi's), the requantization's scale and bias and the activation zero point's share zp x sum(w),
// which comes off the raw sums.
struct DepthwiseWeights {
  int64_t channels = 0, taps = 0, pairs = 0, blocks = 0;
  int32_t zero_point = 0;     // the activation's
  std::vector<int16_t> data;  // blocks x pairs x 32 values (lo then hi, 16 each)
  std::vector<float> scale, bias;
  std::vector<int32_t> comp;
};

// `w(c, t)`: the weight of channel c at tap t (ky * kW + kx), |w| <= 255; `q`: the requantization (scale and bias
// per channel, padded to 16); `zp`: the activation's zero point.
DepthwiseWeights pack_depthwise(int64_t channels, int64_t taps, const std::function<int32_t(int64_t c, int64_t t)>& w,
                                const Requant& q, int32_t zp);

// y = requant(sum over taps of (x - zp) * w) for one image of dims [C, H, W] (C = weights.channels; bytes at `x`,
// int8 when `is_signed`, NHWC when `nhwc` else NCHW) over the 2-D window `win`, written NHWC at `y` (win.out[0] x
// win.out[1] x C bytes); padding reads as the zero point. `q` as given to pack_depthwise (its bounds, output zero
// point and type; Output::Bytes). Rows of the output over `pool`.
void depthwise_int8(const uint8_t* x, bool nhwc, bool is_signed, int64_t h, int64_t w, const cpu::conv_family::Window& win,
                    const DepthwiseWeights& weights, const Requant& q, uint8_t* y, ThreadPool* pool);

}  // namespace ortool::rt::wide8
