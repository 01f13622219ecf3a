// The four float8 formats of ONNX (opset 19): codes to float and float to codes (round to nearest even).
#pragma once

#include <cstdint>

#include "lib/dtype.h"

namespace ortool {

// The value of a float8 code of type `t` (one of dtype_is_float8); NaN codes give NaN.
float float8_to_float(uint8_t code, DType t);
// The code nearest to `x` (ties to even). Out of range: with `saturate`, the largest finite value of
// the sign (infinities too); without, infinity for float8e5m2 and NaN for the others. NaN gives NaN;
// -0 gives -0 where the type has one (not in the *fnuz types, whose 0x80 is NaN).
uint8_t float_to_float8(float x, DType t, bool saturate);

}  // namespace ortool
