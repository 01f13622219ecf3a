// Unit tests of tensors, dtypes and float16/bfloat16 conversions.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "lib/half.h"
#include "lib/tensor.h"
#include "lib/type.h"

using namespace ortool;

TEST_CASE("checked_numel rejects negative dims and overflow") {
  std::vector<int64_t> ok = {2, 3, 4};
  CHECK(checked_numel(ok).value() == 24);
  std::vector<int64_t> neg = {2, -1};
  CHECK_FALSE(checked_numel(neg).is_ok());
  std::vector<int64_t> huge = {1LL << 40, 1LL << 40};
  CHECK_FALSE(checked_numel(huge).is_ok());
  std::vector<int64_t> zero = {1LL << 62, 0, 1LL << 62};
  CHECK(checked_numel(zero).value() == 0);
}

TEST_CASE("an empty tensor whose other dims overflow together is empty, not an overflow") {
  // Found by fuzz_external_data: a .pb tensor of dims [1080863910568919037, 58, 0] passed checked_numel
  // and then overflowed int64 in the constructor (UBSan), multiplying the first two dims.
  Tensor t(DType::String, {1080863910568919037LL, 58, 0});
  CHECK(t.numel() == 0);
  CHECK(t.nbytes() == 0);
  Tensor u(DType::Float, {1LL << 62, 4, 0, 1LL << 62});
  CHECK(u.numel() == 0);
}

TEST_CASE("Tensor::make enforces a byte limit") {
  CHECK(Tensor::make(DType::Float, {10, 10}, 400).is_ok());
  auto r = Tensor::make(DType::Float, {10, 11}, 400);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == StatusCode::kResourceLimit);
}

TEST_CASE("tensors are zero-initialized, clone is deep") {
  Tensor t(DType::Int32, {3});
  CHECK(t.nbytes() == 12);
  CHECK(t.data<int32_t>()[2] == 0);
  t.mutable_data<int32_t>()[1] = 5;
  Tensor shallow = t;
  Tensor deep = t.clone();
  t.mutable_data<int32_t>()[1] = 6;
  CHECK(shallow.data<int32_t>()[1] == 6);
  CHECK(deep.data<int32_t>()[1] == 5);
  CHECK(deep.get_int64(1) == 5);
  CHECK_FALSE(deep.equals(t));
}

TEST_CASE("string tensors hold one string per element") {
  Tensor s(DType::String, {2});
  s.mutable_strings()[0] = "a";
  CHECK(s.strings().size() == 2);
  CHECK(s.clone().strings()[0] == "a");
}

TEST_CASE("float16 round trip is exact for representable values and rounds to nearest even") {
  for (uint32_t b = 0; b < 0x10000; ++b) {
    uint16_t h = static_cast<uint16_t>(b);
    float f = half_to_float(h);
    if (std::isnan(f)) {
      CHECK(std::isnan(half_to_float(float_to_half(f))));
      continue;
    }
    REQUIRE(float_to_half(f) == h);
  }
  CHECK(float_to_half(65520.0f) == 0x7c00);        // rounds up to inf
  CHECK(float_to_half(1.0f + 1.0f / 2048) == 0x3c00);  // tie to even
  // The smallest subnormal half is exactly 2^-24 (an Approx would be absolute here and accept 0).
  CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));
}

TEST_CASE("bfloat16 rounds to nearest even") {
  CHECK(bfloat16_to_float(float_to_bfloat16(1.0f)) == 1.0f);
  CHECK(float_to_bfloat16(1.00390625f) == 0x3f80);  // halfway: even
  CHECK(std::isnan(bfloat16_to_float(float_to_bfloat16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST_CASE("types print with symbolic dims") {
  Type t = Type::tensor(DType::Float, Shape{Dim::symbol("N"), Dim::known(3), Dim{}});
  CHECK(t.to_string() == "float32[N,3,?]");
  CHECK(static_dims(*t.shape) == std::nullopt);
  CHECK(static_dims(shape_from_dims({1, 2})).value() == std::vector<int64_t>{1, 2});
  CHECK(dtype_from_name("float32") == DType::Float);
  CHECK(dtype_size(DType::Complex128) == 16);
}
