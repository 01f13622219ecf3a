// Element types of tensors, numbered as ONNX's TensorProto.DataType, with sizes and names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ortool {

enum class DType : int32_t {
  Undefined = 0,
  Float = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Double = 11,
  UInt32 = 12,
  UInt64 = 13,
  Complex64 = 14,
  Complex128 = 15,
  BFloat16 = 16,
};

// True for the ONNX data_type numbers ortool can hold in a tensor (1..16).
bool dtype_is_known(int32_t onnx_type);
// Bytes per element; 0 for Undefined and String (strings are held separately).
size_t dtype_size(DType t);
// Lower-case name as used in messages and `info`: "float32", "int64", "bool", ...
std::string_view dtype_name(DType t);
// Inverse of dtype_name, also accepting numpy spellings ("<f4"); Undefined when unknown.
DType dtype_from_name(std::string_view name);
bool dtype_is_float(DType t);    // float16, bfloat16, float, double
bool dtype_is_integer(DType t);  // signed and unsigned integers (not bool)
bool dtype_is_signed(DType t);

}  // namespace ortool
