// Registration of the cpu provider's linalg kernel family (kernels live in files beside this one).
#include "runtime/cpu/families.h"
#include "runtime/cpu/linalg.h"

namespace ortool::rt::cpu {

void register_linalg_kernels(KernelRegistry& r) {
  const std::vector<DType> floats = {DType::Float, DType::Double, DType::Float16, DType::BFloat16};
  std::vector<DType> mm_types = floats;
  mm_types.insert(mm_types.end(), {DType::Int32, DType::Int64, DType::UInt32, DType::UInt64});
  std::vector<DType> einsum_types = mm_types;
  einsum_types.insert(einsum_types.end(), {DType::Int8, DType::UInt8, DType::Int16, DType::UInt16});
  const std::vector<DType> q8 = {DType::UInt8, DType::Int8};

  r.add(KernelDef{"", "MatMul", 1, INT32_MAX, mm_types, 0, matmul_kernel()});
  r.add(KernelDef{"", "Gemm", 1, INT32_MAX, mm_types, 0, gemm_kernel()});
  r.add(KernelDef{"", "MatMulInteger", 10, INT32_MAX, q8, 0, matmul_integer_kernel()});
  r.add(KernelDef{"", "QLinearMatMul", 10, INT32_MAX, q8, 0, qlinear_matmul_kernel()});
  r.add(KernelDef{"", "Einsum", 12, INT32_MAX, einsum_types, 0, einsum_kernel()});
  // Quantize: x may be float types or int32 (opset 10); dequantize: 8/16-bit, int32, int4/uint4 (opset 21)
  // or float8 (opset 19) x.
  std::vector<DType> q_in = floats;
  q_in.push_back(DType::Int32);
  r.add(KernelDef{"", "QuantizeLinear", 10, INT32_MAX, q_in, 0, quantize_linear_kernel()});
  r.add(KernelDef{"", "DequantizeLinear", 10, INT32_MAX,
                  {DType::UInt8, DType::Int8, DType::Int32, DType::UInt16, DType::Int16, DType::UInt4, DType::Int4,
                   DType::Float8E4M3FN, DType::Float8E4M3FNUZ, DType::Float8E5M2, DType::Float8E5M2FNUZ},
                  0, dequantize_linear_kernel()});
  r.add(KernelDef{"", "DynamicQuantizeLinear", 11, INT32_MAX, {DType::Float}, 0, dynamic_quantize_linear_kernel()});
  r.add(KernelDef{"", "Det", 11, INT32_MAX, floats, 0, det_kernel()});
  r.add(KernelDef{"", "Attention", 23, INT32_MAX, floats, 0, attention_kernel()});
  r.add(KernelDef{"", "RotaryEmbedding", 23, INT32_MAX, floats, 0, rotary_embedding_kernel()});
}

}  // namespace ortool::rt::cpu
