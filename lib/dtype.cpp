// Element type sizes and names.
#include "lib/dtype.h"

#include <array>

namespace ortool {

namespace {
struct Info {
  std::string_view name;
  size_t size;
};
constexpr std::array<Info, 23> kInfo = {{
    {"undefined", 0}, {"float32", 4}, {"uint8", 1},  {"int8", 1},    {"uint16", 2},     {"int16", 2},
    {"int32", 4},     {"int64", 8},   {"string", 0}, {"bool", 1},    {"float16", 2},    {"float64", 8},
    {"uint32", 4},    {"uint64", 8},  {"complex64", 8}, {"complex128", 16}, {"bfloat16", 2},
    {"float8e4m3fn", 1}, {"float8e4m3fnuz", 1}, {"float8e5m2", 1}, {"float8e5m2fnuz", 1}, {"uint4", 1}, {"int4", 1},
}};
constexpr int32_t kLast = static_cast<int32_t>(kInfo.size()) - 1;
}  // namespace

bool dtype_is_known(int32_t t) { return t >= 1 && t <= kLast; }

size_t dtype_size(DType t) {
  auto i = static_cast<int32_t>(t);
  return (i >= 0 && i <= kLast) ? kInfo[i].size : 0;
}

size_t dtype_wire_bytes(DType t, size_t numel) {
  return dtype_is_4bit(t) ? (numel + 1) / 2 : numel * dtype_size(t);
}

std::string_view dtype_name(DType t) {
  auto i = static_cast<int32_t>(t);
  return (i >= 0 && i <= kLast) ? kInfo[i].name : std::string_view("unknown");
}

DType dtype_from_name(std::string_view n) {
  for (size_t i = 1; i < kInfo.size(); ++i)
    if (kInfo[i].name == n) return static_cast<DType>(i);
  if (n == "float" || n == "f4" || n == "<f4") return DType::Float;
  if (n == "double" || n == "f8" || n == "<f8") return DType::Double;
  if (n == "half" || n == "<f2" || n == "f2") return DType::Float16;
  return DType::Undefined;
}

bool dtype_is_float(DType t) {
  return t == DType::Float || t == DType::Double || t == DType::Float16 || t == DType::BFloat16;
}

bool dtype_is_float8(DType t) {
  return t == DType::Float8E4M3FN || t == DType::Float8E4M3FNUZ || t == DType::Float8E5M2 || t == DType::Float8E5M2FNUZ;
}

bool dtype_is_4bit(DType t) { return t == DType::Int4 || t == DType::UInt4; }

bool dtype_is_integer(DType t) {
  switch (t) {
    case DType::UInt8: case DType::Int8: case DType::UInt16: case DType::Int16: case DType::Int32:
    case DType::Int64: case DType::UInt32: case DType::UInt64:
      return true;
    default:
      return false;
  }
}

bool dtype_is_signed(DType t) {
  switch (t) {
    case DType::Int8: case DType::Int16: case DType::Int32: case DType::Int64: case DType::Float:
    case DType::Double: case DType::Float16: case DType::BFloat16: case DType::Int4: case DType::Float8E4M3FN:
    case DType::Float8E4M3FNUZ: case DType::Float8E5M2: case DType::Float8E5M2FNUZ:
      return true;
    default:
      return false;
  }
}

}  // namespace ortool
