// Element-type dispatch: call a generic lambda with a value of the C++ type matching a DType.
#pragma once

#include <cstdint>

#include "lib/dtype.h"
#include "lib/half.h"
#include "lib/status.h"

namespace ortool::rt::cpu {

template <typename T>
struct Tag {
  using type = T;
};

// fn(Tag<T>{}) for numeric types (bool as bool, float16/bfloat16 as Float16/BFloat16 storage).
// Returns false when the dtype is not numeric.
template <typename Fn>
bool dispatch_numeric(DType t, Fn&& fn) {
  switch (t) {
    case DType::Float: fn(Tag<float>{}); return true;
    case DType::Double: fn(Tag<double>{}); return true;
    case DType::Float16: fn(Tag<Float16>{}); return true;
    case DType::BFloat16: fn(Tag<BFloat16>{}); return true;
    case DType::Int8: fn(Tag<int8_t>{}); return true;
    case DType::UInt8: fn(Tag<uint8_t>{}); return true;
    case DType::Int16: fn(Tag<int16_t>{}); return true;
    case DType::UInt16: fn(Tag<uint16_t>{}); return true;
    case DType::Int32: fn(Tag<int32_t>{}); return true;
    case DType::UInt32: fn(Tag<uint32_t>{}); return true;
    case DType::Int64: fn(Tag<int64_t>{}); return true;
    case DType::UInt64: fn(Tag<uint64_t>{}); return true;
    case DType::Bool: fn(Tag<bool>{}); return true;
    default: return false;
  }
}

// Same, for float types only.
template <typename Fn>
bool dispatch_float(DType t, Fn&& fn) {
  switch (t) {
    case DType::Float: fn(Tag<float>{}); return true;
    case DType::Double: fn(Tag<double>{}); return true;
    case DType::Float16: fn(Tag<Float16>{}); return true;
    case DType::BFloat16: fn(Tag<BFloat16>{}); return true;
    default: return false;
  }
}

// Byte-wise copy dispatch for data movement ops: fn(Tag<uintN_t>) by element size (1, 2, 4, 8, 16).
template <typename Fn>
bool dispatch_by_size(size_t elem_size, Fn&& fn) {
  struct B16 { uint64_t a, b; };
  switch (elem_size) {
    case 1: fn(Tag<uint8_t>{}); return true;
    case 2: fn(Tag<uint16_t>{}); return true;
    case 4: fn(Tag<uint32_t>{}); return true;
    case 8: fn(Tag<uint64_t>{}); return true;
    case 16: fn(Tag<B16>{}); return true;
    default: return false;
  }
}

}  // namespace ortool::rt::cpu
