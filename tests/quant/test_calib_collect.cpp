// Collector tests: running and moving-average min/max, NaN/Inf counts, float16 input, refused types, fixed memory.
#include <doctest/doctest.h>

#include <limits>
#include <random>
#include <vector>

#include "lib/half.h"
#include "quant/calib_collect.h"

using namespace ortool;
using namespace ortool::quant;

namespace {
Tensor floats(const std::vector<float>& v) {
  return Tensor::from_vector(DType::Float, {static_cast<int64_t>(v.size())}, v);
}
}  // namespace

TEST_CASE("collector: running min and max over samples") {
  TensorCollector c;
  REQUIRE(c.add(floats({1, 2, 3})).is_ok());
  REQUIRE(c.add(floats({-5, 0})).is_ok());
  REQUIRE(c.add(floats({4})).is_ok());
  CHECK(c.samples() == 3);
  CHECK(c.finite_count() == 6);
  CHECK(c.min() == -5);
  CHECK(c.max() == 4);
  CHECK_FALSE(c.average_min().has_value());
  CHECK(c.histogram() == nullptr);
}

TEST_CASE("collector: moving-average min and max follow ONNX Runtime's update") {
  CollectOptions o;
  o.moving_average = true;
  o.averaging_constant = 0.5;
  TensorCollector c(o);
  REQUIRE(c.add(floats({-2, 2})).is_ok());  // sets the averages: -2, 2
  REQUIRE(c.add(floats({-4, 6})).is_ok());  // -2 + 0.5 * (-4 - -2) = -3;  2 + 0.5 * (6 - 2) = 4
  REQUIRE(c.add(floats({0, 0})).is_ok());   // -3 + 0.5 * 3 = -1.5;  4 + 0.5 * -4 = 2
  REQUIRE(c.average_min().has_value());
  CHECK(*c.average_min() == -1.5);
  CHECK(*c.average_max() == 2);
  CHECK(c.min() == -4);  // the global extremes are kept as well
  CHECK(c.max() == 6);
}

TEST_CASE("collector: NaN and Inf are counted and skipped, never in the range") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  CollectOptions o;
  o.histogram = true;
  o.moving_average = true;
  TensorCollector c(o);
  REQUIRE(c.add(floats({1, nan, -inf, 2})).is_ok());
  REQUIRE(c.add(floats({3, 4})).is_ok());
  REQUIRE(c.add(floats({nan, nan})).is_ok());  // an all-NaN sample moves nothing
  CHECK(c.samples() == 3);
  CHECK(c.nan_count() == 3);
  CHECK(c.inf_count() == 1);
  CHECK(c.samples_with_nonfinite() == 2);
  CHECK(c.finite_count() == 4);
  CHECK(c.min() == 1);
  CHECK(c.max() == 4);
  CHECK(c.histogram()->total() == 4);
  CHECK(c.histogram()->limit() == 4);
  CHECK(std::isfinite(*c.average_min()));
  CHECK(std::isfinite(*c.average_max()));
}

TEST_CASE("collector: a tensor of only NaN has no values") {
  TensorCollector c;
  REQUIRE(c.add(floats({std::numeric_limits<float>::quiet_NaN()})).is_ok());
  REQUIRE(c.add(Tensor(DType::Float, {0})).is_ok());  // an empty tensor is a sample without values
  CHECK(c.samples() == 2);
  CHECK_FALSE(c.has_values());
}

TEST_CASE("collector: float16, bfloat16 and float64 tensors are read as floats; integers are refused") {
  std::vector<uint16_t> h = {float_to_half(-1.5f), float_to_half(0.25f), float_to_half(3.0f)};
  TensorCollector c;
  REQUIRE(c.add(Tensor::from_vector(DType::Float16, {3}, h)).is_ok());
  CHECK(c.min() == -1.5);
  CHECK(c.max() == 3.0);
  std::vector<uint16_t> b = {float_to_bfloat16(-8.0f), float_to_bfloat16(2.0f)};
  REQUIRE(c.add(Tensor::from_vector(DType::BFloat16, {2}, b)).is_ok());
  CHECK(c.min() == -8);
  REQUIRE(c.add(Tensor::from_vector(DType::Double, {2}, std::vector<double>{1e300, 5.0})).is_ok());
  CHECK(c.inf_count() == 1);  // past float's range
  CHECK(c.max() == 5);
  // A float16 tensor larger than one conversion chunk.
  std::vector<uint16_t> big(10000, float_to_half(1.0f));
  big[9999] = float_to_half(7.0f);
  REQUIRE(c.add(Tensor::from_vector(DType::Float16, {10000}, big)).is_ok());
  CHECK(c.max() == 7);
  Status st = c.add(Tensor::from_vector(DType::Int64, {1}, std::vector<int64_t>{1}));
  CHECK(st.code() == StatusCode::kInvalid);
  CHECK(st.message().find("int64") != std::string::npos);
}

TEST_CASE("collector: memory does not grow with the number of samples") {
  CollectOptions o;
  o.histogram = true;
  o.moving_average = true;
  TensorCollector c(o);
  const size_t at_start = c.bytes();
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(512);
  size_t after_10 = 0;
  for (int s = 0; s < 1000; ++s) {
    for (float& x : v) x = d(rng) * static_cast<float>(1 + s / 100);
    c.add(v);
    if (s == 9) after_10 = c.bytes();
  }
  CHECK(after_10 == at_start);
  CHECK(c.bytes() == at_start);
  CHECK(c.samples() == 1000);
  CHECK(c.bytes() < 40 * 1024);  // 2 x 2048 counters plus a few numbers
}

TEST_CASE("collector: option checks name the option") {
  CollectOptions o;
  o.bins = 1;
  CHECK(check_collect_options(o).message().find("bins") != std::string::npos);
  o = {};
  o.averaging_constant = 0;
  CHECK(check_collect_options(o).message().find("moving-average") != std::string::npos);
  CHECK(check_collect_options({}).is_ok());
}
