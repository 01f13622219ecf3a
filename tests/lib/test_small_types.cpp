// Tests for the float8 (opset 19) and int4/uint4 (opset 21) element types: code conversions, 4-bit
// packing, and TensorProto round trips (int4 packed two per byte on the wire, one per byte in memory).
#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <limits>

#include "lib/float8.h"
#include "lib/int4.h"
#include "lib/tensor_proto.h"

using namespace ortool;

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
}  // namespace

TEST_CASE("float8: every code decodes and encodes back to itself") {
  for (DType t : {DType::Float8E4M3FN, DType::Float8E4M3FNUZ, DType::Float8E5M2, DType::Float8E5M2FNUZ}) {
    CAPTURE(dtype_name(t));
    CHECK(dtype_is_float8(t));
    CHECK(dtype_size(t) == 1);
    for (int c = 0; c < 256; ++c) {
      const float v = float8_to_float(static_cast<uint8_t>(c), t);
      if (std::isnan(v)) continue;
      CAPTURE(c);
      CHECK(float_to_float8(v, t, false) == c);
    }
  }
}

TEST_CASE("float8: largest values, rounding to even, overflow with and without saturation") {
  CHECK(float8_to_float(0x7E, DType::Float8E4M3FN) == 448.0f);
  CHECK(std::isnan(float8_to_float(0x7F, DType::Float8E4M3FN)));
  CHECK(float8_to_float(0x7B, DType::Float8E5M2) == 57344.0f);
  CHECK(float8_to_float(0x7C, DType::Float8E5M2) == kInf);
  CHECK(std::isnan(float8_to_float(0x80, DType::Float8E4M3FNUZ)));  // fnuz: 0x80 is NaN, not -0
  CHECK(float8_to_float(0x7F, DType::Float8E4M3FNUZ) == 240.0f);
  // 1.0625 lies halfway between 1 and 1.125 (3 mantissa bits): ties go to the even code (1.0).
  CHECK(float8_to_float(float_to_float8(1.0625f, DType::Float8E4M3FN, true), DType::Float8E4M3FN) == 1.0f);
  CHECK(float8_to_float(float_to_float8(1.1875f, DType::Float8E4M3FN, true), DType::Float8E4M3FN) == 1.25f);
  // Subnormals: e4m3fn's smallest is 2^-9; half of it rounds to zero (even), 0.75 of it up.
  CHECK(float8_to_float(float_to_float8(std::ldexp(1.0f, -9), DType::Float8E4M3FN, true), DType::Float8E4M3FN) ==
        std::ldexp(1.0f, -9));
  CHECK(float_to_float8(std::ldexp(1.0f, -10), DType::Float8E4M3FN, true) == 0x00);
  CHECK(float_to_float8(-std::ldexp(1.0f, -10), DType::Float8E4M3FN, true) == 0x80);  // -0
  CHECK(float_to_float8(-std::ldexp(1.0f, -12), DType::Float8E4M3FNUZ, true) == 0x00);  // no -0 in fnuz
  // Out of range.
  CHECK(float_to_float8(1e6f, DType::Float8E4M3FN, true) == 0x7E);
  CHECK(float_to_float8(-1e6f, DType::Float8E4M3FN, true) == 0xFE);
  CHECK(float_to_float8(1e6f, DType::Float8E4M3FN, false) == 0x7F);  // NaN
  CHECK(float_to_float8(61440.0f, DType::Float8E5M2, false) == 0x7C);  // the tie rounds up to infinity
  CHECK(float_to_float8(61440.0f, DType::Float8E5M2, true) == 0x7B);
  CHECK(float_to_float8(-kInf, DType::Float8E5M2, false) == 0xFC);
  CHECK(float_to_float8(kNaN, DType::Float8E5M2FNUZ, true) == 0x80);
}

TEST_CASE("int4: packing puts the first element in the low nibble; unpacking sign-extends int4") {
  const uint8_t values[5] = {1, 0xF, 7, 8, 3};  // as int4: 1, -1, 7, -8, 3
  uint8_t packed[3] = {0xAA, 0xAA, 0xAA};
  pack_4bit(values, 5, packed);
  CHECK(packed[0] == 0xF1);
  CHECK(packed[1] == 0x87);
  CHECK(packed[2] == 0x03);  // odd count: the last high nibble is zero
  uint8_t out[5];
  unpack_4bit(packed, 5, true, out);
  CHECK(static_cast<int8_t>(out[1]) == -1);
  CHECK(static_cast<int8_t>(out[3]) == -8);
  CHECK(out[4] == 3);
  unpack_4bit(packed, 5, false, out);
  CHECK(out[1] == 15);
  CHECK(out[3] == 8);
  CHECK(dtype_wire_bytes(DType::Int4, 5) == 3);
  CHECK(dtype_wire_bytes(DType::Float, 5) == 20);
}

TEST_CASE("tensor proto: int4, uint4 and float8 tensors round-trip; int4 raw_data is packed") {
  Tensor i4(DType::Int4, {3});
  i4.mutable_data<int8_t>()[0] = -8;
  i4.mutable_data<int8_t>()[1] = 7;
  i4.mutable_data<int8_t>()[2] = -1;
  i4.name = "w";
  const std::string bytes = tensor_to_proto_bytes(i4);
  onnx::TensorProto tp;
  REQUIRE(tp.ParseFromString(bytes));
  REQUIRE(tp.raw_data().size() == 2);
  CHECK(static_cast<uint8_t>(tp.raw_data()[0]) == 0x78);  // -8 low, 7 high
  CHECK(static_cast<uint8_t>(tp.raw_data()[1]) == 0x0F);  // -1, then the zero pad
  auto back = tensor_from_proto_bytes(bytes);
  REQUIRE(back.is_ok());
  CHECK(back->equals(i4));
  CHECK(back->get_int64(0) == -8);
  CHECK(back->get_double(2) == -1.0);

  Tensor u4(DType::UInt4, {2, 2});
  for (int i = 0; i < 4; ++i) u4.mutable_data<uint8_t>()[i] = static_cast<uint8_t>(i * 5);
  auto u4_back = tensor_from_proto_bytes(tensor_to_proto_bytes(u4));
  REQUIRE(u4_back.is_ok());
  CHECK(u4_back->equals(u4));
  CHECK(u4_back->get_int64(3) == 15);

  Tensor f8(DType::Float8E5M2, {2});
  f8.mutable_data<uint8_t>()[0] = float_to_float8(-3.5f, DType::Float8E5M2, true);
  f8.mutable_data<uint8_t>()[1] = 0x7C;
  auto f8_back = tensor_from_proto_bytes(tensor_to_proto_bytes(f8));
  REQUIRE(f8_back.is_ok());
  CHECK(f8_back->equals(f8));
  CHECK(f8_back->get_double(0) == -3.5);
  CHECK(std::isinf(f8_back->get_double(1)));
}
