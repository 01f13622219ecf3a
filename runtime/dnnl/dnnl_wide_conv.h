// A 2-D convolution of 8-bit activations by constant 8-bit weights on the widened GEMM (runtime/cpu/
// wide_int8_gemm.h): the input widened once to 16 bits minus its zero point in NHWC, each output pixel's window
// gathered into a GEMM row (im2col), one GEMM per image and group. The dnnl provider's int8 Conv groups and its
// ConvInteger run on it where oneDNN's int8 kernels are not exact (no VNNI).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/wide_int8_gemm.h"
#include "runtime/value.h"

namespace ortool::rt {
class ThreadPool;
}

namespace ortool::rt::dnnl_ep {

// Element i of an 8-bit weight (int8 or uint8).
int32_t weight_at(const Tensor& w, int64_t i);

class WideConv {
 public:
  // `w`: [M, C/group, kH, kW], int8 or uint8 (minus no zero point: a symmetric weight); `requant_of(g)`: the
  // outputs of group g's M/group columns (bytes requantized, or the int32 sums).
  WideConv(const Tensor& w, int64_t group, const std::function<wide8::Requant(int64_t g)>& requant_of);

  int64_t out_channels() const { return m_; }

  // The outputs for `x8` of dims `xd` ([N, C, H, W], its bytes in NCHW order when `nchw`, else NHWC; int8 when
  // `is_signed`; minus `zp`) over window `win`: [N, oH, oW, M] values of the requantization's kind at `dst`.
  void run(const uint8_t* x8, const std::vector<int64_t>& xd, bool nchw, bool is_signed, int32_t zp,
           const cpu::conv_family::Window& win, uint8_t* dst, ThreadPool* pool);

 private:
  int64_t m_ = 0, cg_ = 0, kh_ = 0, kw_ = 0, mg_ = 0, group_ = 1;
  std::vector<wide8::PackedWeights> packed_;  // per group
  std::vector<wide8::Requant> requant_;       // per group
  std::vector<uint8_t> in_buf_;  // a pointwise conv's NCHW input in NHWC
  std::vector<int16_t> wide_;    // the widened input of a conv with a larger window
};

}  // namespace ortool::rt::dnnl_ep
