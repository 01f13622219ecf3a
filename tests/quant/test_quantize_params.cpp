// Quantization arithmetic: scale and zero point formulas, per-channel weight scales, int32 biases.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "quant/quantize_params.h"

using namespace ortool;
using namespace ortool::quant;

TEST_CASE("activation parameters follow ONNX Runtime's formula") {
  // uint8 asymmetric: [-1, 3] -> scale 4/255, zero point round(0 + 1/scale) = round(63.75) = 64.
  QuantParams p = activation_params(TensorRange{-1.0, 3.0}, DType::UInt8, false);
  CHECK(p.scale[0] == static_cast<float>(4.0 / 255.0));
  CHECK(p.zero_point[0] == 64);
  // The range is widened to contain 0: [2, 6] behaves as [0, 6].
  p = activation_params(TensorRange{2.0, 6.0}, DType::UInt8, false);
  CHECK(p.scale[0] == static_cast<float>(6.0 / 255.0));
  CHECK(p.zero_point[0] == 0);
  // int8 asymmetric: [-128, 127] -> [-1, 3] gives zero point round(-128 + 63.75) = -64.
  p = activation_params(TensorRange{-1.0, 3.0}, DType::Int8, false);
  CHECK(p.zero_point[0] == -64);
  // Symmetric: [-absmax, absmax]; uint8 zero point in the middle (128), int8 on [-127, 127] at 0.
  p = activation_params(TensorRange{-1.0, 3.0}, DType::UInt8, true);
  CHECK(p.scale[0] == static_cast<float>(6.0 / 255.0));
  CHECK(p.zero_point[0] == 128);
  p = activation_params(TensorRange{-1.0, 3.0}, DType::Int8, true);
  CHECK(p.scale[0] == static_cast<float>(6.0 / 254.0));
  CHECK(p.zero_point[0] == 0);
  // An all-zero tensor keeps scale 1 (every value is 0 exactly).
  p = activation_params(TensorRange{0.0, 0.0}, DType::UInt8, false);
  CHECK(p.scale[0] == 1.0f);
  CHECK(p.zero_point[0] == 0);
}

TEST_CASE("per-channel int8 weight scales are exact for a hand-made weight") {
  // Two output channels of a [2, 1, 1, 3] conv weight: absmax 1.27 and 2.54 -> scales 0.01 and 0.02.
  Tensor w = Tensor::from_vector<float>(DType::Float, {2, 1, 1, 3}, {0.5f, -1.27f, 0.3f, 2.54f, 0.0f, -1.0f});
  QuantParams p = weight_params(w, DType::Int8, 0, false);
  REQUIRE(p.scale.size() == 2);
  CHECK(p.scale[0] == static_cast<float>(1.27f / 127.0));
  CHECK(p.scale[1] == static_cast<float>(2.54f / 127.0));
  CHECK(p.zero_point == std::vector<int32_t>{0, 0});
  Tensor q = quantize_tensor(w, p);
  const int8_t* d = q.data<int8_t>();
  CHECK(std::vector<int>(d, d + 6) == std::vector<int>{50, -127, 30, 127, 0, -50});
  // Per tensor: one scale from the largest magnitude, 2.54 / 127.
  QuantParams t = weight_params(w, DType::Int8, -1, false);
  REQUIRE(t.scale.size() == 1);
  CHECK(t.scale[0] == static_cast<float>(2.54f / 127.0));
  // Reduce-range keeps 7 bits: [-64, 64].
  QuantParams r = weight_params(w, DType::Int8, 0, true);
  CHECK(r.scale[0] == static_cast<float>(2.0 * 1.27f / 128.0));
  // ConvTranspose's axis 1: a [1, 2, 1, 2] weight has two channels along axis 1.
  Tensor wt = Tensor::from_vector<float>(DType::Float, {1, 2, 1, 2}, {1.27f, 0.0f, 0.0f, -0.127f});
  QuantParams pt = weight_params(wt, DType::Int8, 1, false);
  CHECK(pt.scale == std::vector<float>{static_cast<float>(1.27f / 127.0), static_cast<float>(0.127f / 127.0)});
}

TEST_CASE("uint8 weights: asymmetric per tensor, zero point 128 on every channel per channel") {
  Tensor w = Tensor::from_vector<float>(DType::Float, {2, 3}, {0.0f, 1.0f, 2.0f, -1.0f, 0.0f, 0.0f});
  QuantParams t = weight_params(w, DType::UInt8, -1, false);
  CHECK(t.scale[0] == static_cast<float>(3.0 / 255.0));
  CHECK(t.zero_point[0] == 85);  // round(1 / (3/255))
  QuantParams c = weight_params(w, DType::UInt8, 0, false);
  CHECK(c.zero_point == std::vector<int32_t>{128, 128});
  // A channel of zeros keeps the shared zero point too (ONNX Runtime's ConvInteger takes one).
  Tensor z = Tensor::from_vector<float>(DType::Float, {2, 2}, {0.0f, 0.0f, 1.0f, -1.0f});
  CHECK(weight_params(z, DType::UInt8, 0, false).zero_point == std::vector<int32_t>{128, 128});
  CHECK(weight_params(z, DType::Int8, 0, false).scale[0] == 1.0f);
}

TEST_CASE("int32 bias at input scale x weight scale") {
  Tensor w = Tensor::from_vector<float>(DType::Float, {2, 1}, {1.27f, 2.54f});
  QuantParams wp = weight_params(w, DType::Int8, 0, false);
  Tensor b = Tensor::from_vector<float>(DType::Float, {2}, {0.5f, -0.25f});
  const float sx = 0.1f;
  QuantizedBias qb = quantize_bias(b, sx, wp);
  CHECK(qb.raised == 0);
  REQUIRE(qb.scale.size() == 2);
  CHECK(qb.scale[0] == sx * wp.scale[0]);
  CHECK(qb.scale[1] == sx * wp.scale[1]);
  CHECK(qb.q.data<int32_t>()[0] == static_cast<int32_t>(std::nearbyint(0.5 / (sx * wp.scale[0]))));
  CHECK(qb.q.data<int32_t>()[1] == static_cast<int32_t>(std::nearbyint(-0.25 / (sx * wp.scale[1]))));
}

TEST_CASE("a bias that would overflow int32 raises its channel's weight scale") {
  // Channel 0: tiny weights and a large bias at a tiny input scale: 1000 / (1e-4 * 1e-5/127) ~ 1.3e14.
  Tensor w = Tensor::from_vector<float>(DType::Float, {2, 1}, {1e-5f, 1.0f});
  QuantParams wp = weight_params(w, DType::Int8, 0, false);
  const float before1 = wp.scale[1];
  Tensor b = Tensor::from_vector<float>(DType::Float, {2}, {1000.0f, 0.5f});
  const float sx = 1e-4f;
  QuantizedBias qb = quantize_bias(b, sx, wp);
  CHECK(qb.raised == 1);
  CHECK(wp.scale[1] == before1);  // the other channel is left alone
  const double int32_max = std::numeric_limits<int32_t>::max();
  CHECK(static_cast<double>(sx) * wp.scale[0] >= 1000.0 / int32_max);
  const int32_t q0 = qb.q.data<int32_t>()[0];
  CHECK(std::abs(static_cast<double>(q0)) < int32_max);
  // The int32 bias still dequantizes to the float bias.
  CHECK(static_cast<double>(q0) * qb.scale[0] == doctest::Approx(1000.0).epsilon(1e-6));
  // Per-tensor weights raise their single scale (1e5 / (1e-4 * 1/127) ~ 1.3e11).
  QuantParams pt = weight_params(w, DType::Int8, -1, false);
  Tensor big = Tensor::from_vector<float>(DType::Float, {2}, {1e5f, 0.5f});
  QuantizedBias qt = quantize_bias(big, sx, pt);
  CHECK(qt.raised == 1);
  CHECK(qt.scale.size() == 1);
}

TEST_CASE("an empty tensor quantizes per channel at once, whatever its other dims") {
  // [2^62, 5, 0] holds nothing; split at axis 1, the outer count 2^62 overflowed and the loop ran 2^62 times.
  const int64_t huge = int64_t{1} << 62;
  Tensor x(DType::Float, {huge, 5, 0});
  QuantParams p;
  p.type = DType::Int8;
  p.axis = 1;
  p.scale.assign(5, 0.5f);
  p.zero_point.assign(5, 0);
  const Tensor q = quantize_tensor(x, p);
  CHECK(q.dims() == x.dims());
  CHECK(channel_values(x, 1, 3).empty());
  const QuantParams w = weight_params(x, DType::Int8, 1, false);
  CHECK(w.scale.size() == 5);
}
