// int4/uint4 packing.
#include "lib/int4.h"

namespace ortool {

void unpack_4bit(const uint8_t* packed, size_t numel, bool is_signed, uint8_t* out) {
  for (size_t i = 0; i < numel; ++i) {
    uint8_t nib = (i % 2 == 0) ? (packed[i / 2] & 0x0F) : (packed[i / 2] >> 4);
    if (is_signed && (nib & 0x08)) nib = static_cast<uint8_t>(nib | 0xF0);
    out[i] = nib;
  }
}

void pack_4bit(const uint8_t* values, size_t numel, uint8_t* packed) {
  for (size_t i = 0; i < (numel + 1) / 2; ++i) {
    const uint8_t lo = values[2 * i] & 0x0F;
    const uint8_t hi = 2 * i + 1 < numel ? static_cast<uint8_t>(values[2 * i + 1] & 0x0F) : 0;
    packed[i] = static_cast<uint8_t>(lo | (hi << 4));
  }
}

}  // namespace ortool
