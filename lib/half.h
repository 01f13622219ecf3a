// IEEE float16 and bfloat16 storage types with exact conversions to and from float.
#pragma once

#include <cstdint>
#include <cstring>

namespace ortool {

float half_to_float(uint16_t h);
uint16_t float_to_half(float f);  // round to nearest even, overflow to inf, NaN kept

inline float bfloat16_to_float(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t float_to_bfloat16(float f);  // round to nearest even, NaN kept

struct Float16 {
  uint16_t bits = 0;
  Float16() = default;
  explicit Float16(float f) : bits(float_to_half(f)) {}
  operator float() const { return half_to_float(bits); }  // NOLINT
};
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  explicit BFloat16(float f) : bits(float_to_bfloat16(f)) {}
  operator float() const { return bfloat16_to_float(bits); }  // NOLINT
};
static_assert(sizeof(Float16) == 2 && sizeof(BFloat16) == 2);

}  // namespace ortool
