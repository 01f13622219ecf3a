// The com.microsoft quantized kernels (QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLeakyRelu,
// QLinearConcat, QLinearGlobalAveragePool, QLinearSoftmax, QGemm) against a float computation:
// dequantize in double, compute, requantize; the kernels compute in float, so an element may differ
// by one step where the value lies within float rounding of a tie.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <random>

#include "runtime/session.h"
#include "tests/runtime/kernel_test_util.h"

using namespace ortool;
using namespace ortool::kernel_test;

namespace {

// Runs one com.microsoft node (opset 1).
Result<std::vector<RValue>> run_ms(const std::string& op, std::vector<RValue> inputs,
                                   std::vector<ir::Attribute> attrs = {}) {
  return run1(op, 1, std::move(inputs), 1, std::move(attrs), "n", "com.microsoft");
}

struct QTensor {
  Tensor t;
  float scale;
  int zp;
};

// Random 8-bit values with a scale and zero point.
QTensor random_q(DType type, std::vector<int64_t> dims, float scale, int zp, uint32_t seed) {
  std::mt19937 gen(seed);
  const bool u8 = type == DType::UInt8;
  std::uniform_int_distribution<int> d(u8 ? 0 : -128, u8 ? 255 : 127);
  Tensor t(type, std::move(dims));
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (u8) t.mutable_data<uint8_t>()[i] = static_cast<uint8_t>(d(gen));
    else t.mutable_data<int8_t>()[i] = static_cast<int8_t>(d(gen));
  }
  return {std::move(t), scale, zp};
}

RValue scalar_f(float v) { return RValue(f32({}, {v})); }
RValue zero_point(DType type, int v) {
  return RValue(type == DType::UInt8 ? u8({}, {static_cast<uint8_t>(v)}) : i8({}, {static_cast<int8_t>(v)}));
}

double deq(const QTensor& q, int64_t i) { return (q.t.get_int64(i) - q.zp) * static_cast<double>(q.scale); }

int64_t quant(double y, float scale, int zp, DType type) {
  const double lo = type == DType::UInt8 ? 0 : -128, hi = type == DType::UInt8 ? 255 : 127;
  return static_cast<int64_t>(std::clamp(std::nearbyint(y / scale) + zp, lo, hi));
}

// Every element within one step of the expected value, and at most 1% of them (or one) off at all.
// The tests' scales are irregular numbers, so exact ties, where float and double round apart, are rare.
void check_close(const RValue& got, const std::vector<int64_t>& want) {
  REQUIRE(got.is_tensor());
  REQUIRE(got.tensor.numel() == static_cast<int64_t>(want.size()));
  int64_t off = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const int64_t g = got.tensor.get_int64(static_cast<int64_t>(i));
    CHECK(std::abs(g - want[i]) <= 1);
    off += g != want[i];
  }
  CHECK(off <= std::max<int64_t>(1, static_cast<int64_t>(want.size()) / 100));
}

}  // namespace

TEST_CASE("QLinearAdd and QLinearMul broadcast like Add and Mul") {
  for (DType type : {DType::UInt8, DType::Int8}) {
    CAPTURE(dtype_name(type));
    const int za = type == DType::UInt8 ? 120 : -3, zb = type == DType::UInt8 ? 90 : 5, zc = type == DType::UInt8 ? 128 : 0;
    QTensor a = random_q(type, {2, 3, 4}, 0.0517f, za, 1);
    QTensor b = random_q(type, {3, 1}, 0.0213f, zb, 2);
    for (bool mul : {false, true}) {
      CAPTURE(mul);
      const float sc = mul ? 0.0411f : 0.0791f;
      auto r = run_ms(mul ? "QLinearMul" : "QLinearAdd",
                      {RValue(a.t), scalar_f(a.scale), zero_point(type, za), RValue(b.t), scalar_f(b.scale),
                       zero_point(type, zb), scalar_f(sc), zero_point(type, zc)});
      REQUIRE_MESSAGE(r.is_ok(), r.status().message());
      CHECK((*r)[0].tensor.dims() == std::vector<int64_t>{2, 3, 4});
      CHECK((*r)[0].tensor.dtype() == type);
      std::vector<int64_t> want;
      for (int64_t i = 0; i < 24; ++i) {
        const double x = deq(a, i), y = deq(b, (i / 4) % 3);
        want.push_back(quant(mul ? x * y : x + y, sc, zc, type));
      }
      check_close((*r)[0], want);
    }
  }
}

TEST_CASE("QLinearSigmoid and QLinearLeakyRelu") {
  for (DType type : {DType::UInt8, DType::Int8}) {
    CAPTURE(dtype_name(type));
    const int zx = type == DType::UInt8 ? 128 : 0;
    QTensor x = random_q(type, {5, 7}, 0.05f, zx, 3);
    auto s = run_ms("QLinearSigmoid", {RValue(x.t), scalar_f(x.scale), zero_point(type, zx), scalar_f(1.0f / 256),
                                      zero_point(type, type == DType::UInt8 ? 0 : -128)});
    REQUIRE_MESSAGE(s.is_ok(), s.status().message());
    std::vector<int64_t> want;
    for (int64_t i = 0; i < 35; ++i)
      want.push_back(quant(1.0 / (1.0 + std::exp(-deq(x, i))), 1.0f / 256, type == DType::UInt8 ? 0 : -128, type));
    check_close((*s)[0], want);
    auto l = run_ms("QLinearLeakyRelu", {RValue(x.t), scalar_f(x.scale), zero_point(type, zx), scalar_f(0.03f),
                                        zero_point(type, zx)},
                    {ir::Attribute::make_float("alpha", 0.2f)});
    REQUIRE_MESSAGE(l.is_ok(), l.status().message());
    want.clear();
    for (int64_t i = 0; i < 35; ++i) {
      const double v = deq(x, i);
      want.push_back(quant(v >= 0 ? v : 0.2 * v, 0.03f, zx, type));
    }
    check_close((*l)[0], want);
  }
}

TEST_CASE("QLinearConcat requantizes each input to the output's parameters") {
  const DType type = DType::UInt8;
  QTensor a = random_q(type, {2, 2, 3}, 0.1037f, 100, 4);
  QTensor b = random_q(type, {2, 1, 3}, 0.0529f, 30, 5);
  auto r = run_ms("QLinearConcat", {scalar_f(0.0813f), zero_point(type, 60), RValue(a.t), scalar_f(a.scale),
                                    zero_point(type, a.zp), RValue(b.t), scalar_f(b.scale), zero_point(type, b.zp)},
                  {ir::Attribute::make_int("axis", -2)});
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  CHECK((*r)[0].tensor.dims() == std::vector<int64_t>{2, 3, 3});
  std::vector<int64_t> want;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t k = 0; k < 3; ++k)
        want.push_back(quant(c < 2 ? deq(a, (n * 2 + c) * 3 + k) : deq(b, n * 3 + k), 0.0813f, 60, type));
  check_close((*r)[0], want);
  // axis is required.
  CHECK_FALSE(run_ms("QLinearConcat", {scalar_f(0.0813f), zero_point(type, 60), RValue(a.t), scalar_f(a.scale),
                                       zero_point(type, a.zp)})
                  .is_ok());
}

TEST_CASE("QLinearGlobalAveragePool, channels first and last") {
  for (DType type : {DType::UInt8, DType::Int8}) {
    CAPTURE(dtype_name(type));
    QTensor x = random_q(type, {2, 3, 4, 5}, 0.1f, 7, 6);
    for (int last : {0, 1}) {
      CAPTURE(last);
      auto r = run_ms("QLinearGlobalAveragePool",
                      {RValue(x.t), scalar_f(x.scale), zero_point(type, 7), scalar_f(0.02f), zero_point(type, 3)},
                      {ir::Attribute::make_int("channels_last", last)});
      REQUIRE_MESSAGE(r.is_ok(), r.status().message());
      // NCHW [2,3,4,5] -> [2,3,1,1]; NHWC reads [2,3,4,5] as N=2, H=3, W=4, C=5 -> [2,1,1,5].
      const int64_t channels = last ? 5 : 3, spatial = last ? 12 : 20;
      CHECK((*r)[0].tensor.dims() == (last ? std::vector<int64_t>{2, 1, 1, 5} : std::vector<int64_t>{2, 3, 1, 1}));
      std::vector<int64_t> want;
      for (int64_t n = 0; n < 2; ++n)
        for (int64_t c = 0; c < channels; ++c) {
          double sum = 0;
          for (int64_t s = 0; s < spatial; ++s)
            sum += deq(x, last ? (n * spatial + s) * channels + c : (n * channels + c) * spatial + s);
          want.push_back(quant(sum / static_cast<double>(spatial), 0.02f, 3, type));
        }
      check_close((*r)[0], want);
    }
  }
}

TEST_CASE("QLinearSoftmax: along an axis (opset 13), or over the flattened tail (before 13)") {
  const DType type = DType::UInt8;
  QTensor x = random_q(type, {2, 3, 4}, 0.05f, 128, 7);
  for (int64_t opset : {13, 11}) {
    CAPTURE(opset);
    auto r = run_ms("QLinearSoftmax",
                    {RValue(x.t), scalar_f(x.scale), zero_point(type, 128), scalar_f(1.0f / 256), zero_point(type, 0)},
                    {ir::Attribute::make_int("axis", opset >= 13 ? -1 : 1), ir::Attribute::make_int("opset", opset)});
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    // Opset 13: 6 rows of 4; opset 11 with axis 1: 2 rows of 12.
    const int64_t len = opset >= 13 ? 4 : 12;
    std::vector<int64_t> want;
    for (int64_t row = 0; row < 24 / len; ++row) {
      double mx = -1e30, sum = 0;
      for (int64_t k = 0; k < len; ++k) mx = std::max(mx, deq(x, row * len + k));
      for (int64_t k = 0; k < len; ++k) sum += std::exp(deq(x, row * len + k) - mx);
      for (int64_t k = 0; k < len; ++k) want.push_back(quant(std::exp(deq(x, row * len + k) - mx) / sum, 1.0f / 256, 0, type));
    }
    check_close((*r)[0], want);
  }
}

TEST_CASE("QGemm: zero points, per-column B scales, int32 bias, 8-bit or float output") {
  for (DType type : {DType::UInt8, DType::Int8}) {
    CAPTURE(dtype_name(type));
    const int64_t M = 3, K = 5, N = 4;
    QTensor a = random_q(type, {K, M}, 0.05f, type == DType::UInt8 ? 110 : 4, 8);  // transA
    QTensor b = random_q(DType::Int8, {N, K}, 1.0f, 0, 9);                          // transB
    const std::vector<float> bs = {0.01f, 0.02f, 0.015f, 0.005f};
    Tensor c = i32({N}, {100, -50, 0, 7});
    const float alpha = 0.5f;
    auto expected = [&](int64_t m, int64_t n) {
      int64_t acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += (a.t.get_int64(k * M + m) - a.zp) * b.t.get_int64(n * K + k);
      acc += c.data<int32_t>()[n];
      return alpha * static_cast<double>(a.scale) * bs[static_cast<size_t>(n)] * static_cast<double>(acc);
    };
    std::vector<ir::Attribute> attrs = {ir::Attribute::make_int("transA", 1), ir::Attribute::make_int("transB", 1),
                                        ir::Attribute::make_float("alpha", alpha)};
    const int zy = type == DType::UInt8 ? 128 : 0;
    auto r = run_ms("QGemm", {RValue(a.t), scalar_f(a.scale), zero_point(type, a.zp), RValue(b.t), RValue(f32({N}, bs)),
                              RValue(i8({N}, {0, 0, 0, 0})), RValue(c), scalar_f(0.01f), zero_point(type, zy)},
                    attrs);
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    CHECK((*r)[0].tensor.dims() == std::vector<int64_t>{M, N});
    std::vector<int64_t> want;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) want.push_back(quant(expected(m, n), 0.01f, zy, type));
    check_close((*r)[0], want);
    // Without y_scale the output is float.
    auto f = run_ms("QGemm", {RValue(a.t), scalar_f(a.scale), zero_point(type, a.zp), RValue(b.t), RValue(f32({N}, bs)),
                              RValue(i8({N}, {0, 0, 0, 0})), RValue(c)},
                    attrs);
    REQUIRE_MESSAGE(f.is_ok(), f.status().message());
    REQUIRE((*f)[0].tensor.dtype() == DType::Float);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n)
        CHECK((*f)[0].tensor.data<float>()[m * N + n] == doctest::Approx(expected(m, n)).epsilon(1e-5));
  }
}

TEST_CASE("com.microsoft quantized kernels refuse bad parameters with the node named") {
  QTensor x = random_q(DType::UInt8, {2, 2}, 0.1f, 0, 10);
  // A zero point of another type than the input.
  auto r = run_ms("QLinearSigmoid", {RValue(x.t), scalar_f(0.1f), RValue(i8({}, {0})), scalar_f(0.1f),
                                    zero_point(DType::UInt8, 0)});
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("node 'n'") != std::string::npos);
  // A float input.
  CHECK_FALSE(run_ms("QLinearAdd", {RValue(f32({2}, {1, 2})), scalar_f(0.1f), zero_point(DType::UInt8, 0),
                                    RValue(x.t), scalar_f(0.1f), zero_point(DType::UInt8, 0), scalar_f(0.1f),
                                    zero_point(DType::UInt8, 0)})
                  .is_ok());
  // QGemm with inner dims that differ.
  QTensor b = random_q(DType::Int8, {3, 2}, 1.0f, 0, 11);
  CHECK_FALSE(run_ms("QGemm", {RValue(x.t), scalar_f(0.1f), zero_point(DType::UInt8, 0), RValue(b.t), scalar_f(0.1f)},
                     {ir::Attribute::make_int("transB", 0)})
                  .is_ok());
}
