// MatMul of two 8-bit activations between DequantizeLinear and QuantizeLinear (a quantized transformer's
// attention: Q x K^T and softmax(.) x V) on the widened int8 GEMM: B packed on every run, batch dims
// broadcast as in MatMul, the product requantized to the output's parameters in the GEMM's epilogue.
#pragma once

#include <string>
#include <vector>

#include "runtime/cpu/wide_int8_gemm.h"
#include "runtime/kernel.h"
#include "runtime/qdq_group.h"

namespace ortool::rt::dnnl_ep {

class ActMatMul {
 public:
  // y = Q_y(DQ_a(a) x DQ_b(b)), exact integer products and sums, with MatMul's shapes (cpu::plan_matmul).
  Status run(KernelContext& ctx, const Tensor& a, const Tensor& b, const qdq::ActQuant& qa, const qdq::ActQuant& qb,
             const qdq::ActQuant& qy, const std::string& what);

 private:
  std::vector<wide8::PackedWeights> packed_;  // per distinct matrix of B, kept between runs for their buffers
  wide8::Requant requant_;
};

}  // namespace ortool::rt::dnnl_ep
