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
  // Opset 19's float8 types: one byte per element holding the code (lib/float8.h converts).
  Float8E4M3FN = 17,
  Float8E4M3FNUZ = 18,
  Float8E5M2 = 19,
  Float8E5M2FNUZ = 20,
  // Opset 21's 4-bit integers: in memory one element per byte (the value, sign-extended for Int4);
  // packed two per byte (low nibble first) only in TensorProto, external data and tensor files
  // (lib/int4.h packs and unpacks).
  UInt4 = 21,
  Int4 = 22,
};

// True for the ONNX data_type numbers ortool can hold in a tensor (1..22).
bool dtype_is_known(int32_t onnx_type);
// Bytes per element in memory; 0 for Undefined and String (strings are held separately).
size_t dtype_size(DType t);
// Bytes `numel` elements take in a TensorProto's raw_data or external data: numel * dtype_size,
// except the 4-bit types, packed two per byte.
size_t dtype_wire_bytes(DType t, size_t numel);
// Lower-case name as used in messages and `info`: "float32", "int64", "bool", ...
std::string_view dtype_name(DType t);
// Inverse of dtype_name, also accepting numpy spellings ("<f4"); Undefined when unknown.
DType dtype_from_name(std::string_view name);
bool dtype_is_float(DType t);    // float16, bfloat16, float, double (not the float8 codes)
bool dtype_is_float8(DType t);   // the four float8 types
bool dtype_is_4bit(DType t);     // int4, uint4
bool dtype_is_integer(DType t);  // signed and unsigned integers of 8 bits and more (not bool, not 4-bit)
bool dtype_is_signed(DType t);

}  // namespace ortool
