// int4/uint4 on the wire: two elements per byte, the first in the low nibble (ONNX's packing).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ortool {

// Unpacks `numel` 4-bit elements from (numel + 1) / 2 bytes into one byte each, sign-extended when
// `is_signed` (int4: -8..7; uint4: 0..15).
void unpack_4bit(const uint8_t* packed, size_t numel, bool is_signed, uint8_t* out);
// Packs `numel` elements (one byte each; only the low nibble is kept) into (numel + 1) / 2 bytes;
// an odd count leaves the last high nibble zero.
void pack_4bit(const uint8_t* values, size_t numel, uint8_t* packed);

}  // namespace ortool
