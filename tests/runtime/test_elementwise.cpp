// Unit tests of the elementwise kernels: broadcasting, arithmetic, logic, unary math, activations,
// variadic ops, Where, Identity, Dropout, Cast and Softmax, against hand-computed values.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/half.h"
#include "runtime/cpu/broadcast.h"
#include "runtime/session.h"
#include "tests/runtime/kernel_test_util.h"

using namespace ortool;
using namespace ortool::kernel_test;

namespace {

Tensor b8(std::vector<int64_t> dims, std::vector<bool> v) {
  Tensor t(DType::Bool, std::move(dims));
  for (size_t i = 0; i < v.size(); ++i) t.mutable_data<bool>()[i] = v[i];
  return t;
}
Tensor strs(std::vector<int64_t> dims, std::vector<std::string> v) {
  Tensor t(DType::String, std::move(dims));
  t.mutable_strings() = std::move(v);
  return t;
}

std::vector<bool> bools(const RValue& r) {
  REQUIRE(r.is_tensor());
  REQUIRE(r.tensor.dtype() == DType::Bool);
  std::vector<bool> out;
  for (int64_t i = 0; i < r.tensor.numel(); ++i) out.push_back(r.tensor.data<bool>()[i]);
  return out;
}

ir::Attribute attr_i(const std::string& n, int64_t v) { return ir::Attribute::make_int(n, v); }
ir::Attribute attr_f(const std::string& n, float v) { return ir::Attribute::make_float(n, v); }
ir::Attribute attr_s(const std::string& n, const std::string& v) { return ir::Attribute::make_string(n, v); }

RValue out0(Result<std::vector<RValue>> r) {
  if (!r.is_ok()) FAIL(r.status().message());
  REQUIRE(!r->empty());
  return (*r)[0];
}

}  // namespace

TEST_CASE("broadcast_shape follows numpy and names both shapes on error") {
  using rt::cpu::broadcast_shape;
  std::vector<int64_t> a = {2, 1, 4}, b = {3, 1};
  CHECK(broadcast_shape(a, b).value() == std::vector<int64_t>{2, 3, 4});
  std::vector<int64_t> s = {};
  CHECK(broadcast_shape(a, s).value() == a);
  std::vector<int64_t> z = {0, 1}, z2 = {1, 5};
  CHECK(broadcast_shape(z, z2).value() == std::vector<int64_t>{0, 5});
  std::vector<int64_t> c = {2, 3}, d = {4};
  auto r = broadcast_shape(c, d);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("[2,3]") != std::string::npos);
  CHECK(r.status().message().find("[4]") != std::string::npos);
  CHECK(rt::cpu::broadcasts_to(std::vector<int64_t>{3, 1}, std::vector<int64_t>{2, 3, 4}));
  CHECK_FALSE(rt::cpu::broadcasts_to(std::vector<int64_t>{2, 3, 4}, std::vector<int64_t>{3, 4}));
}

TEST_CASE("BroadcastRows maps every output element to the right operand elements") {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 300; ++iter) {
    const int rank = static_cast<int>(rng() % 5);
    std::vector<int64_t> out(static_cast<size_t>(rank));
    for (auto& d : out) d = 1 + static_cast<int64_t>(rng() % 4);
    // Operands: drop some leading dims and set some dims to 1.
    std::vector<std::vector<int64_t>> ins(3);
    for (auto& in : ins) {
      size_t drop = rank ? rng() % (static_cast<size_t>(rank) + 1) : 0;
      for (size_t d = drop; d < out.size(); ++d) in.push_back(rng() % 3 == 0 ? 1 : out[d]);
    }
    rt::cpu::BroadcastRows rows(out, {ins[0], ins[1], ins[2]});
    int64_t numel = 1;
    for (auto d : out) numel *= d;
    REQUIRE(rows.numel() == numel);
    std::vector<int> seen(static_cast<size_t>(numel), 0);
    // Split the walk at an arbitrary point to exercise for_each_in's start in the middle of a row.
    int64_t split = numel ? static_cast<int64_t>(rng() % static_cast<uint64_t>(numel)) : 0;
    auto check = [&](int64_t o, const int64_t* off, int64_t n) {
      for (int64_t j = 0; j < n; ++j) {
        int64_t flat = o + j;
        seen[static_cast<size_t>(flat)]++;
        // Naive: coordinates of `flat` in out, then each operand's offset.
        std::vector<int64_t> coord(out.size());
        int64_t rem = flat;
        for (size_t d = out.size(); d-- > 0;) {
          coord[d] = rem % out[d];
          rem /= out[d];
        }
        for (size_t k = 0; k < 3; ++k) {
          const auto& in = ins[k];
          int64_t expect = 0;
          size_t pad = out.size() - in.size();
          for (size_t d = 0; d < in.size(); ++d) expect = expect * in[d] + (in[d] == 1 ? 0 : coord[d + pad]);
          REQUIRE(off[k] + j * rows.step(k) == expect);
        }
      }
    };
    rows.for_each_in(0, split, check);
    rows.for_each_in(split, numel, check);
    for (int s : seen) REQUIRE(s == 1);
  }
}

TEST_CASE("Add, Sub, Mul, Div broadcast and keep integer semantics") {
  auto r = out0(run1("Add", 14, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({3}, {10, 20, 30})}));
  CHECK(r.tensor.dims() == std::vector<int64_t>{2, 3});
  CHECK(values<float>(r) == std::vector<float>{11, 22, 33, 14, 25, 36});
  r = out0(run1("Sub", 14, {f32({}, {1}), f32({2, 1}, {1, 2})}));
  CHECK(values<float>(r) == std::vector<float>{0, -1});
  r = out0(run1("Mul", 14, {i32({2, 1}, {2, 3}), i32({1, 2}, {5, 7})}));
  CHECK(values<int32_t>(r) == std::vector<int32_t>{10, 14, 15, 21});
  r = out0(run1("Div", 14, {i32({4}, {7, -7, 7, -7}), i32({4}, {2, 2, -2, -2})}));
  CHECK(values<int32_t>(r) == std::vector<int32_t>{3, -3, -3, 3});  // truncation
  r = out0(run1("Sub", 14, {u8({2}, {1, 200}), u8({2}, {2, 100})}));
  CHECK(values<uint8_t>(r) == std::vector<uint8_t>{255, 100});  // wraps
  r = out0(run1("Add", 14, {i32({1}, {INT32_MAX}), i32({1}, {1})}));
  CHECK(values<int32_t>(r) == std::vector<int32_t>{INT32_MIN});
}

TEST_CASE("integer division by zero and bad shapes are errors, not crashes") {
  auto r = run1("Div", 14, {i32({2}, {1, 2}), i32({2}, {1, 0})});
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("division by zero") != std::string::npos);
  r = run1("Mod", 13, {i64({1}, {5}), i64({1}, {0})});
  CHECK_FALSE(r.is_ok());
  r = run1("Add", 14, {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({2}, {1, 2})});
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("'n'") != std::string::npos);
  r = run1("Add", 14, {f32({1}, {1}), i32({1}, {1})});
  CHECK_FALSE(r.is_ok());
  r = run1("Div", 14, {i32({1}, {INT32_MIN}), i32({1}, {-1})});
  REQUIRE(r.is_ok());
  CHECK(values<int32_t>((*r)[0]) == std::vector<int32_t>{INT32_MIN});
}

TEST_CASE("opset 6 binary ops use the broadcast and axis attributes") {
  // B of shape [3] placed at axis 1 of A [2,3,2].
  auto r = out0(run1("Add", 6, {f32({2, 3, 2}, {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}), f32({3}, {1, 2, 3})}, 1,
                     {attr_i("broadcast", 1), attr_i("axis", 1)}));
  CHECK(values<float>(r) == std::vector<float>{1, 1, 2, 2, 3, 3, 2, 2, 3, 3, 4, 4});
  // Default: B matches A's trailing dims.
  r = out0(run1("Mul", 6, {f32({2, 2}, {1, 2, 3, 4}), f32({2}, {10, 100})}, 1, {attr_i("broadcast", 1)}));
  CHECK(values<float>(r) == std::vector<float>{10, 200, 30, 400});
  // broadcast=0 requires equal shapes.
  CHECK_FALSE(run1("Add", 6, {f32({2, 2}, {1, 2, 3, 4}), f32({2}, {1, 2})}).is_ok());
}

TEST_CASE("Pow takes mixed base and exponent types") {
  auto r = out0(run1("Pow", 15, {i32({3}, {1, 2, 3}), f32({3}, {1, 2, 3})}));
  CHECK(r.tensor.dtype() == DType::Int32);
  CHECK(values<int32_t>(r) == std::vector<int32_t>{1, 4, 27});
  r = out0(run1("Pow", 15, {f32({3}, {1, 2, 3}), i64({3}, {2, -1, 0})}));
  CHECK(values<float>(r) == std::vector<float>{1, 0.5f, 1});
  r = out0(run1("Pow", 15, {i64({3}, {3, -2, 2}), i64({3}, {4, 3, -1})}));
  CHECK(values<int64_t>(r) == std::vector<int64_t>{81, -8, 0});
  CHECK_FALSE(run1("Pow", 7, {i32({1}, {2}), f32({1}, {2})}).is_ok());  // mixed types only from 12
}

TEST_CASE("Mod follows the divisor's sign unless fmod=1") {
  auto r = out0(run1("Mod", 13, {i32({4}, {5, -5, 5, -5}), i32({4}, {3, 3, -3, -3})}));
  CHECK(values<int32_t>(r) == std::vector<int32_t>{2, 1, -1, -2});
  r = out0(run1("Mod", 13, {i32({4}, {5, -5, 5, -5}), i32({4}, {3, 3, -3, -3})}, 1, {attr_i("fmod", 1)}));
  CHECK(values<int32_t>(r) == std::vector<int32_t>{2, -2, 2, -2});
  r = out0(run1("Mod", 13, {f32({2}, {5.5f, -5.5f}), f32({2}, {2, 2})}, 1, {attr_i("fmod", 1)}));
  CHECK(values<float>(r) == std::vector<float>{1.5f, -1.5f});
  CHECK_FALSE(run1("Mod", 13, {f32({1}, {1}), f32({1}, {2})}).is_ok());  // float needs fmod=1
}

TEST_CASE("comparisons, logic and bit shifts") {
  auto r = out0(run1("Less", 13, {f32({3}, {1, 2, 3}), f32({}, {2})}));
  CHECK(bools(r) == std::vector<bool>{true, false, false});
  r = out0(run1("GreaterOrEqual", 16, {i64({3}, {1, 2, 3}), i64({1}, {2})}));
  CHECK(bools(r) == std::vector<bool>{false, true, true});
  r = out0(run1("Equal", 19, {strs({2}, {"a", "b"}), strs({1}, {"b"})}));
  CHECK(bools(r) == std::vector<bool>{false, true});
  r = out0(run1("Xor", 7, {b8({2, 2}, {true, true, false, false}), b8({2}, {true, false})}));
  CHECK(bools(r) == std::vector<bool>{false, true, true, false});
  r = out0(run1("Not", 1, {b8({2}, {true, false})}));
  CHECK(bools(r) == std::vector<bool>{false, true});
  r = out0(run1("BitShift", 11, {u8({3}, {1, 2, 128}), u8({3}, {1, 8, 1})}, 1, {attr_s("direction", "LEFT")}));
  CHECK(values<uint8_t>(r) == std::vector<uint8_t>{2, 0, 0});
  r = out0(run1("BitShift", 11, {u8({2}, {16, 255}), u8({1}, {2})}, 1, {attr_s("direction", "RIGHT")}));
  CHECK(values<uint8_t>(r) == std::vector<uint8_t>{4, 63});
  CHECK_FALSE(run1("And", 7, {f32({1}, {1}), f32({1}, {1})}).is_ok());
  CHECK_FALSE(run1("BitShift", 11, {u8({1}, {1}), u8({1}, {1})}, 1, {attr_s("direction", "UP")}).is_ok());
}

TEST_CASE("unary math: rounding, sign, abs, float16 through float") {
  auto r = out0(run1("Round", 11, {f32({6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f})}));
  CHECK(values<float>(r) == std::vector<float>{0, 2, 2, -0.f, -2, 2});
  r = out0(run1("Sign", 13, {i32({3}, {-4, 0, 9})}));
  CHECK(values<int32_t>(r) == std::vector<int32_t>{-1, 0, 1});
  r = out0(run1("Abs", 13, {i8({3}, {-128, -3, 4})}));
  CHECK(values<int8_t>(r) == std::vector<int8_t>{-128, 3, 4});
  r = out0(run1("Neg", 13, {i64({2}, {3, -4})}));
  CHECK(values<int64_t>(r) == std::vector<int64_t>{-3, 4});
  Tensor h(DType::Float16, {2});
  h.mutable_data<Float16>()[0] = Float16(4.0f);
  h.mutable_data<Float16>()[1] = Float16(0.25f);
  r = out0(run1("Sqrt", 13, {h}));
  REQUIRE(r.tensor.dtype() == DType::Float16);
  CHECK(static_cast<float>(r.tensor.data<Float16>()[0]) == 2.0f);
  CHECK(static_cast<float>(r.tensor.data<Float16>()[1]) == 0.5f);
  r = out0(run1("Add", 14, {h, h}));
  CHECK(static_cast<float>(r.tensor.data<Float16>()[0]) == 8.0f);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
  r = out0(run1("IsInf", 10, {f32({4}, {inf, -inf, nan, 1})}, 1, {attr_i("detect_positive", 0)}));
  CHECK(bools(r) == std::vector<bool>{false, true, false, false});
  r = out0(run1("IsNaN", 13, {f32({2}, {nan, 1})}));
  CHECK(bools(r) == std::vector<bool>{true, false});
  CHECK_FALSE(run1("Sqrt", 13, {i32({1}, {4})}).is_ok());
}

TEST_CASE("activations with attributes") {
  auto r = out0(run1("LeakyRelu", 16, {f32({2}, {-2, 3})}, 1, {attr_f("alpha", 0.5f)}));
  CHECK(values<float>(r) == std::vector<float>{-1, 3});
  r = out0(run1("Relu", 14, {i32({2}, {-2, 3})}));
  CHECK(values<int32_t>(r) == std::vector<int32_t>{0, 3});
  r = out0(run1("HardSigmoid", 6, {f32({3}, {-10, 0, 10})}));
  CHECK(values<float>(r) == std::vector<float>{0, 0.5f, 1});
  r = out0(run1("HardSwish", 14, {f32({3}, {-4, 0, 1})}));
  CHECK(values<float>(r)[2] == doctest::Approx(1.0 * (1.0 / 6 + 0.5)));
  r = out0(run1("ThresholdedRelu", 10, {f32({3}, {0.5f, 1, 2})}));
  CHECK(values<float>(r) == std::vector<float>{0, 0, 2});
  r = out0(run1("Selu", 6, {f32({2}, {-1, 1})}, 1, {attr_f("alpha", 2), attr_f("gamma", 3)}));
  CHECK(values<float>(r)[0] == doctest::Approx(3 * (2 * std::exp(-1.0) - 2)));
  CHECK(values<float>(r)[1] == 3);
  r = out0(run1("Shrink", 9, {f32({3}, {-2, 0.2f, 2})}, 1, {attr_f("bias", 1), attr_f("lambd", 1)}));
  CHECK(values<float>(r) == std::vector<float>{-1, 0, 1});
  r = out0(run1("Sigmoid", 13, {f32({3}, {-1000, 0, 1000})}));
  CHECK(values<float>(r) == std::vector<float>{0, 0.5f, 1});
  r = out0(run1("Softplus", 1, {f32({2}, {-1000, 1000})}));
  CHECK(values<float>(r) == std::vector<float>{0, 1000});
}

TEST_CASE("Clip: attributes before 11, optional scalar inputs after") {
  auto r = out0(run1("Clip", 6, {f32({3}, {-5, 0, 5})}, 1, {attr_f("min", -1), attr_f("max", 1)}));
  CHECK(values<float>(r) == std::vector<float>{-1, 0, 1});
  r = out0(run1("Clip", 6, {f32({3}, {-5, 0, 5})}, 1, {attr_f("max", 1)}));
  CHECK(values<float>(r) == std::vector<float>{-5, 0, 1});
  r = out0(run1("Clip", 13, {i8({3}, {-100, 0, 100}), RValue(), i8({}, {50})}));
  CHECK(values<int8_t>(r) == std::vector<int8_t>{-100, 0, 50});
  r = out0(run1("Clip", 13, {f32({3}, {-5, 0, 5}), f32({}, {-1})}));
  CHECK(values<float>(r) == std::vector<float>{-1, 0, 5});
  CHECK_FALSE(run1("Clip", 13, {f32({3}, {-5, 0, 5}), f32({2}, {-1, 1})}).is_ok());
  CHECK_FALSE(run1("Clip", 13, {f32({3}, {-5, 0, 5}), i32({}, {-1})}).is_ok());
}

TEST_CASE("PRelu broadcasts the slope to X") {
  auto r = out0(run1("PRelu", 16, {f32({2, 2}, {-1, -1, 2, -2}), f32({2}, {0.5f, 2})}));
  CHECK(values<float>(r) == std::vector<float>{-0.5f, -2, 2, -4});
  // Opset 6: one slope per channel.
  r = out0(run1("PRelu", 6, {f32({1, 2, 2}, {-1, -1, -1, 2}), f32({2}, {0.5f, 3})}));
  CHECK(values<float>(r) == std::vector<float>{-0.5f, -0.5f, -3, 2});
  CHECK_FALSE(run1("PRelu", 16, {f32({2}, {1, 2}), f32({2, 2}, {1, 2, 3, 4})}).is_ok());
}

TEST_CASE("Where broadcasts three ways, any element type") {
  auto r = out0(run1("Where", 16, {b8({2, 1}, {true, false}), f32({1, 2}, {1, 2}), f32({}, {9})}));
  CHECK(r.tensor.dims() == std::vector<int64_t>{2, 2});
  CHECK(values<float>(r) == std::vector<float>{1, 2, 9, 9});
  r = out0(run1("Where", 16, {b8({2}, {false, true}), strs({2}, {"x", "y"}), strs({1}, {"z"})}));
  CHECK(r.tensor.strings() == std::vector<std::string>{"z", "y"});
  CHECK_FALSE(run1("Where", 16, {f32({1}, {1}), f32({1}, {1}), f32({1}, {1})}).is_ok());
  CHECK_FALSE(run1("Where", 16, {b8({3}, {true, true, true}), f32({2}, {1, 1}), f32({1}, {1})}).is_ok());
}

TEST_CASE("variadic Sum Mean Max Min broadcast their inputs") {
  auto r = out0(run1("Sum", 13, {f32({2}, {1, 2}), f32({2, 1}, {10, 20}), f32({}, {100})}));
  CHECK(values<float>(r) == std::vector<float>{111, 112, 121, 122});
  r = out0(run1("Mean", 13, {f32({2}, {1, 3}), f32({2}, {3, 5})}));
  CHECK(values<float>(r) == std::vector<float>{2, 4});
  r = out0(run1("Max", 13, {i32({3}, {1, 5, 3}), i32({1}, {2})}));
  CHECK(values<int32_t>(r) == std::vector<int32_t>{2, 5, 3});
  r = out0(run1("Min", 13, {u8({3}, {1, 5, 3})}));
  CHECK(values<uint8_t>(r) == std::vector<uint8_t>{1, 5, 3});
  r = out0(run1("Max", 13, {f32({2}, {std::nanf(""), 1}), f32({2}, {0, 0})}));
  CHECK(std::isnan(values<float>(r)[0]));
  CHECK_FALSE(run1("Max", 13, {f32({2}, {1, 2}), i32({2}, {1, 2})}).is_ok());
}

TEST_CASE("Identity passes sequences and empty optionals; Dropout is inference-only") {
  RValue seq = RValue::seq({f32({1}, {1}), f32({2}, {2, 3})}, DType::Float);
  auto r = out0(run1("Identity", 16, {seq}));
  REQUIRE(r.is_sequence());
  CHECK(r.sequence.size() == 2);
  auto d = run1("Dropout", 13, {f32({2}, {1, 2})}, 2);
  REQUIRE(d.is_ok());
  CHECK(values<float>((*d)[0]) == std::vector<float>{1, 2});
  CHECK(bools((*d)[1]) == std::vector<bool>{true, true});
  d = run1("Dropout", 13, {f32({2}, {1, 2}), f32({}, {0}), b8({}, {true})}, 2);
  REQUIRE(d.is_ok());
  CHECK(values<float>((*d)[0]) == std::vector<float>{1, 2});
  d = run1("Dropout", 13, {f32({2}, {1, 2}), f32({}, {0.5f}), b8({}, {true})});
  REQUIRE_FALSE(d.is_ok());
  CHECK(d.status().message().find("training") != std::string::npos);
  d = run1("Dropout", 7, {f32({2}, {1, 2})}, 2, {attr_f("ratio", 0.3f)});
  REQUIRE(d.is_ok());
  CHECK(values<float>((*d)[1]) == std::vector<float>{1, 1});  // opset 7-9 mask has the input's type
}

TEST_CASE("Cast between numbers, bools, halves and strings") {
  auto r = out0(run1("Cast", 13, {f32({4}, {1.9f, -1.9f, 300, -1})}, 1, {attr_i("to", 6)}));
  CHECK(values<int32_t>(r) == std::vector<int32_t>{1, -1, 300, -1});
  r = out0(run1("Cast", 13, {f32({3}, {300, -1, std::nanf("")})}, 1, {attr_i("to", 2)}));
  CHECK(values<uint8_t>(r) == std::vector<uint8_t>{44, 255, 0});
  r = out0(run1("Cast", 13, {f32({3}, {0, 0.5f, -2})}, 1, {attr_i("to", 9)}));
  CHECK(bools(r) == std::vector<bool>{false, true, true});
  r = out0(run1("Cast", 13, {f32({2}, {0.1f, 65504})}, 1, {attr_i("to", 10)}));
  CHECK(r.tensor.dtype() == DType::Float16);
  CHECK(static_cast<float>(r.tensor.data<Float16>()[1]) == 65504.0f);
  // double -> float16 rounds once: 1 + 2^-11 + 2^-40 is just above the halfway point.
  r = out0(run1("Cast", 13, {make<double>(DType::Double, {1}, {1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)})}, 1,
                {attr_i("to", 10)}));
  CHECK(static_cast<float>(r.tensor.data<Float16>()[0]) == 1.0f + std::ldexp(1.0f, -10));
  r = out0(run1("Cast", 13, {f32({3}, {0.039187793f, 1.5f, -std::numeric_limits<float>::infinity()})}, 1, {attr_i("to", 8)}));
  CHECK(r.tensor.strings() == std::vector<std::string>{"0.039187793", "1.5", "-inf"});
  r = out0(run1("Cast", 13, {strs({4}, {"0.5", "NaN", "-INF", "+INF"})}, 1, {attr_i("to", 1)}));
  auto v = values<float>(r);
  CHECK(v[0] == 0.5f);
  CHECK(std::isnan(v[1]));
  CHECK(v[2] == -std::numeric_limits<float>::infinity());
  CHECK(v[3] == std::numeric_limits<float>::infinity());
  r = out0(run1("Cast", 13, {strs({2}, {"-7", "12"})}, 1, {attr_i("to", 7)}));
  CHECK(values<int64_t>(r) == std::vector<int64_t>{-7, 12});
  CHECK_FALSE(run1("Cast", 13, {strs({1}, {"abc"})}, 1, {attr_i("to", 1)}).is_ok());
  r = out0(run1("Cast", 1, {i32({2}, {1, 2})}, 1, {attr_s("to", "DOUBLE")}));
  CHECK(values<double>(r) == std::vector<double>{1, 2});
  r = out0(run1("CastLike", 15, {f32({2}, {1.5f, 2.5f}), i64({1}, {0})}));
  CHECK(values<int64_t>(r) == std::vector<int64_t>{1, 2});
  CHECK_FALSE(run1("Cast", 13, {f32({1}, {1})}, 1, {attr_i("to", 99)}).is_ok());
}

TEST_CASE("Softmax, LogSoftmax and Hardmax along an axis and coerced to 2-D") {
  // Opset 13: along the last axis.
  auto r = out0(run1("Softmax", 13, {f32({2, 2}, {0, 0, 1000, 1000})}));
  CHECK(values<float>(r) == std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f});
  r = out0(run1("Softmax", 13, {f32({2, 2}, {0, 1, 0, 1})}, 1, {attr_i("axis", 0)}));
  CHECK(values<float>(r) == std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f});
  // Opset 11, axis 1 on [1,2,2]: one row of 4.
  r = out0(run1("Softmax", 11, {f32({1, 2, 2}, {0, 0, 0, 0})}));
  CHECK(values<float>(r) == std::vector<float>{0.25f, 0.25f, 0.25f, 0.25f});
  r = out0(run1("LogSoftmax", 13, {f32({2}, {1, 1})}));
  CHECK(values<float>(r)[0] == doctest::Approx(-std::log(2.0)));
  r = out0(run1("Hardmax", 13, {f32({2, 3}, {1, 3, 3, -1, -2, -3})}));
  CHECK(values<float>(r) == std::vector<float>{0, 1, 0, 1, 0, 0});
  CHECK_FALSE(run1("Softmax", 13, {f32({2, 2}, {0, 0, 0, 0})}, 1, {attr_i("axis", 2)}).is_ok());
  CHECK_FALSE(run1("Softmax", 13, {i32({1}, {1})}).is_ok());
}
