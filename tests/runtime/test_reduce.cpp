// Unit tests of the reduce-family kernels: Reduce*, ArgMax/ArgMin, TopK, CumSum and the
// normalizations, against hand-computed values and naive loops written here.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"
#include "tests/runtime/kernel_test_util.h"

using namespace ortool;
using namespace ortool::kernel_test;

namespace {

ir::Attribute attr_i(const std::string& n, int64_t v) { return ir::Attribute::make_int(n, v); }
ir::Attribute attr_f(const std::string& n, float v) { return ir::Attribute::make_float(n, v); }
ir::Attribute attr_is(const std::string& n, std::vector<int64_t> v) { return ir::Attribute::make_ints(n, std::move(v)); }

RValue out(Result<std::vector<RValue>> r, size_t i = 0) {
  if (!r.is_ok()) FAIL(r.status().message());
  REQUIRE(r->size() > i);
  return (*r)[i];
}

void check_close(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-5) {
  REQUIRE(got.size() == want.size());
  std::string all;
  for (size_t i = 0; i < got.size(); ++i) all += std::to_string(got[i]) + "/" + std::to_string(want[i]) + " ";
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << " (got/want: " << all << ")");
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol));
  }
}

// Naive reduction of a [2,3,4] tensor over the axes in `mask` for each reduce op, from its definition.
std::vector<double> naive_reduce(const std::string& op, const std::vector<float>& x, const bool mask[3]) {
  const int d[3] = {2, 3, 4};
  int od[3];
  for (int a = 0; a < 3; ++a) od[a] = mask[a] ? 1 : d[a];
  std::vector<double> out;
  for (int i = 0; i < od[0]; ++i)
    for (int j = 0; j < od[1]; ++j)
      for (int k = 0; k < od[2]; ++k) {
        std::vector<double> s;
        for (int a = 0; a < d[0]; ++a)
          for (int b = 0; b < d[1]; ++b)
            for (int c = 0; c < d[2]; ++c) {
              if ((!mask[0] && a != i) || (!mask[1] && b != j) || (!mask[2] && c != k)) continue;
              s.push_back(x[static_cast<size_t>((a * 3 + b) * 4 + c)]);
            }
        double r = 0;
        if (op == "ReduceSum") for (double v : s) r += v;
        if (op == "ReduceMean") { for (double v : s) r += v; r /= static_cast<double>(s.size()); }
        if (op == "ReduceMax") { r = -1e300; for (double v : s) r = std::max(r, v); }
        if (op == "ReduceMin") { r = 1e300; for (double v : s) r = std::min(r, v); }
        if (op == "ReduceProd") { r = 1; for (double v : s) r *= v; }
        if (op == "ReduceL1") for (double v : s) r += std::fabs(v);
        if (op == "ReduceL2") { for (double v : s) r += v * v; r = std::sqrt(r); }
        if (op == "ReduceSumSquare") for (double v : s) r += v * v;
        if (op == "ReduceLogSum") { for (double v : s) r += v; r = std::log(r); }
        if (op == "ReduceLogSumExp") { for (double v : s) r += std::exp(v); r = std::log(r); }
        out.push_back(r);
      }
  return out;
}

}  // namespace

TEST_CASE("Reduce ops match a naive loop for every axis set, attribute and input forms") {
  const std::vector<float> x = random_floats(24, 7, 0.1f, 2.0f);  // positive so LogSum is defined
  const char* ops[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                       "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"};
  for (const char* op : ops) {
    for (int m = 1; m < 8; ++m) {
      const bool mask[3] = {(m & 1) != 0, (m & 2) != 0, (m & 4) != 0};
      std::vector<int64_t> axes, keep_dims = {2, 3, 4};
      for (int a = 0; a < 3; ++a)
        if (mask[a]) {
          axes.push_back(a - 3);  // negative axes
          keep_dims[static_cast<size_t>(a)] = 1;
        }
      const auto want = naive_reduce(op, x, mask);
      INFO(op << " mask " << m);
      // Attribute form (opset 11; ReduceSum's axes became an input at 13, the others' at 18).
      RValue r = out(run1(op, 11, {f32({2, 3, 4}, x)}, 1, {attr_is("axes", axes)}));
      CHECK(r.tensor.dims() == keep_dims);
      check_close(values<float>(r), want);
      // Input form, keepdims = 0.
      RValue r2 = out(run1(op, 18, {f32({2, 3, 4}, x), i64({static_cast<int64_t>(axes.size())}, axes)}, 1,
                           {attr_i("keepdims", 0)}));
      std::vector<int64_t> kept;
      for (int a = 0; a < 3; ++a)
        if (!mask[a]) kept.push_back(keep_dims[static_cast<size_t>(a)]);
      CHECK(r2.tensor.dims() == kept);
      check_close(values<float>(r2), want);
    }
  }
}

TEST_CASE("ReduceSum axes input: empty axes reduce all, or nothing with noop_with_empty_axes") {
  Tensor x = f32({2, 2}, {1, 2, 3, 4});
  RValue all = out(run1("ReduceSum", 13, {x, i64({0}, {})}));
  CHECK(all.tensor.dims() == std::vector<int64_t>{1, 1});
  CHECK(values<float>(all) == std::vector<float>{10});
  RValue none = out(run1("ReduceSum", 13, {x, RValue()}, 1, {attr_i("keepdims", 0)}));
  CHECK(none.tensor.dims().empty());
  CHECK(values<float>(none) == std::vector<float>{10});
  RValue noop = out(run1("ReduceSum", 13, {x, i64({0}, {})}, 1, {attr_i("noop_with_empty_axes", 1)}));
  CHECK(noop.tensor.dims() == std::vector<int64_t>{2, 2});
  CHECK(values<float>(noop) == std::vector<float>{1, 2, 3, 4});
  // noop applies the element transform of the other reductions (opset 18): SumSquare squares.
  RValue sq = out(run1("ReduceSumSquare", 18, {x, RValue()}, 1, {attr_i("noop_with_empty_axes", 1)}));
  CHECK(values<float>(sq) == std::vector<float>{1, 4, 9, 16});
}

TEST_CASE("Reductions over an empty set give the identity element") {
  Tensor x = f32({2, 0, 3}, {});
  const float inf = std::numeric_limits<float>::infinity();
  // Opset 11: every reduction still takes axes as an attribute (ReduceSum moved it to an input at 13).
  auto red = [&](const char* op) {
    return values<float>(out(run1(op, 11, {x}, 1, {attr_is("axes", {1}), attr_i("keepdims", 0)})));
  };
  CHECK(red("ReduceSum") == std::vector<float>(6, 0.0f));
  CHECK(red("ReduceProd") == std::vector<float>(6, 1.0f));
  CHECK(red("ReduceMax") == std::vector<float>(6, -inf));
  CHECK(red("ReduceMin") == std::vector<float>(6, inf));
  CHECK(red("ReduceLogSumExp") == std::vector<float>(6, -inf));
  CHECK(red("ReduceLogSum") == std::vector<float>(6, -inf));
  CHECK(red("ReduceL2") == std::vector<float>(6, 0.0f));
  CHECK(red("ReduceSumSquare") == std::vector<float>(6, 0.0f));
}

TEST_CASE("Integer reductions are exact") {
  Tensor x = i64({2, 3}, {1, -5, 3, 4000000000LL, 2, -7});
  CHECK(values<int64_t>(out(run1("ReduceMax", 13, {x}, 1, {attr_is("axes", {1})}))) == std::vector<int64_t>{3, 4000000000LL});
  CHECK(values<int64_t>(out(run1("ReduceSum", 13, {x, i64({1}, {0})}))) == std::vector<int64_t>{4000000001LL, -3, -4});
  CHECK(values<int64_t>(out(run1("ReduceProd", 13, {x}, 1, {attr_is("axes", {0})}))) ==
        std::vector<int64_t>{4000000000LL, -10, -21});
  Tensor y = i32({3}, {-3, 4, -5});
  CHECK(values<int32_t>(out(run1("ReduceL1", 13, {y}))) == std::vector<int32_t>{12});
  CHECK(values<int32_t>(out(run1("ReduceMean", 13, {y}))) == std::vector<int32_t>{-1});
}

TEST_CASE("Reduce rejects bad axes") {
  Tensor x = f32({2, 2}, {1, 2, 3, 4});
  CHECK_FALSE(run1("ReduceMean", 13, {x}, 1, {attr_is("axes", {2})}).is_ok());
  CHECK_FALSE(run1("ReduceMean", 13, {x}, 1, {attr_is("axes", {-3})}).is_ok());
  CHECK_FALSE(run1("ReduceMean", 13, {x}, 1, {attr_is("axes", {1, -1})}).is_ok());
  auto r = run1("ReduceSum", 13, {x, i64({1}, {5})});
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("'n'") != std::string::npos);  // names the node
}

TEST_CASE("ArgMax and ArgMin: keepdims, negative axis, select_last_index") {
  Tensor x = f32({2, 3}, {1, 5, 5, 7, 0, 7});
  RValue a = out(run1("ArgMax", 13, {x}, 1, {attr_i("axis", 1)}));
  CHECK(a.tensor.dims() == std::vector<int64_t>{2, 1});
  CHECK(values<int64_t>(a) == std::vector<int64_t>{1, 0});
  RValue b = out(run1("ArgMax", 13, {x}, 1, {attr_i("axis", -1), attr_i("keepdims", 0), attr_i("select_last_index", 1)}));
  CHECK(b.tensor.dims() == std::vector<int64_t>{2});
  CHECK(values<int64_t>(b) == std::vector<int64_t>{2, 2});
  RValue c = out(run1("ArgMin", 13, {x}, 1, {attr_i("axis", 0)}));
  CHECK(values<int64_t>(c) == std::vector<int64_t>{0, 1, 0});
  CHECK_FALSE(run1("ArgMax", 13, {x}, 1, {attr_i("axis", 2)}).is_ok());
  CHECK_FALSE(run1("ArgMax", 13, {f32({2, 0}, {})}, 1, {attr_i("axis", 1)}).is_ok());
}

TEST_CASE("TopK: largest and smallest, ties keep the lower index first, k checked") {
  Tensor x = f32({2, 4}, {3, 1, 3, 2, 0, 0, -1, 5});
  auto r = run1("TopK", 11, {x, i64({1}, {3})}, 2, {attr_i("axis", 1)});
  CHECK(values<float>(out(r, 0)) == std::vector<float>{3, 3, 2, 5, 0, 0});
  CHECK(values<int64_t>(out(r, 1)) == std::vector<int64_t>{0, 2, 3, 3, 0, 1});
  auto s = run1("TopK", 11, {x, i64({1}, {2})}, 2, {attr_i("largest", 0)});
  CHECK(values<float>(out(s, 0)) == std::vector<float>{1, 2, -1, 0});
  CHECK(values<int64_t>(out(s, 1)) == std::vector<int64_t>{1, 3, 2, 0});
  // Opset 1: k is an attribute; axis 0.
  auto t = run1("TopK", 1, {x}, 2, {attr_i("k", 1), attr_i("axis", 0)});
  CHECK(values<float>(out(t, 0)) == std::vector<float>{3, 1, 3, 5});
  CHECK(out(t, 0).tensor.dims() == std::vector<int64_t>{1, 4});
  CHECK_FALSE(run1("TopK", 11, {x, i64({1}, {5})}, 2).is_ok());
  CHECK_FALSE(run1("TopK", 11, {x, i64({1}, {-1})}, 2).is_ok());
}

TEST_CASE("CumSum: inclusive, exclusive, reverse, axis checks") {
  Tensor x = f64({2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(values<double>(out(run1("CumSum", 14, {x, i32({}, {1})}))) == std::vector<double>{1, 3, 6, 4, 9, 15});
  CHECK(values<double>(out(run1("CumSum", 14, {x, i64({1}, {0})}))) == std::vector<double>{1, 2, 3, 5, 7, 9});
  CHECK(values<double>(out(run1("CumSum", 14, {x, i32({}, {-1})}, 1, {attr_i("exclusive", 1)}))) ==
        std::vector<double>{0, 1, 3, 0, 4, 9});
  CHECK(values<double>(out(run1("CumSum", 14, {x, i32({}, {1})}, 1, {attr_i("reverse", 1)}))) ==
        std::vector<double>{6, 5, 3, 15, 11, 6});
  CHECK(values<double>(out(run1("CumSum", 14, {x, i32({}, {1})}, 1, {attr_i("reverse", 1), attr_i("exclusive", 1)}))) ==
        std::vector<double>{5, 3, 0, 11, 6, 0});
  CHECK(values<int32_t>(out(run1("CumSum", 14, {i32({3}, {1, -2, 5}), i32({}, {0})}))) == std::vector<int32_t>{1, -1, 4});
  CHECK_FALSE(run1("CumSum", 14, {x, i32({}, {2})}).is_ok());
}

TEST_CASE("BatchNormalization: inference and training-mode running statistics") {
  // x [2, 2, 2]: channel 0 = {1, 3, 5, 7}, channel 1 = {2, 2, 4, 4}.
  Tensor x = f32({2, 2, 2}, {1, 3, 2, 2, 5, 7, 4, 4});
  Tensor scale = f32({2}, {2, 1}), bias = f32({2}, {0, 1}), mean = f32({2}, {4, 3}), var = f32({2}, {5, 1});
  RValue y = out(run1("BatchNormalization", 15, {x, scale, bias, mean, var}, 1, {attr_f("epsilon", 0)}));
  const double s5 = std::sqrt(5.0);
  check_close(values<float>(y), {2 * -3 / s5, 2 * -1 / s5, 0, 0, 2 * 1 / s5, 2 * 3 / s5, 2, 2});

  // Training: y uses the batch stats (channel 0 mean 4 var 5, channel 1 mean 3 var 1, the same as
  // above); running stats = input * momentum + batch * (1 - momentum).
  auto r = run1("BatchNormalization", 15, {x, scale, bias, f32({2}, {0, 1}), f32({2}, {1, 3})}, 3,
                {attr_f("epsilon", 0), attr_i("training_mode", 1), attr_f("momentum", 0.5f)});
  check_close(values<float>(out(r, 0)), {2 * -3 / s5, 2 * -1 / s5, 0, 0, 2 * 1 / s5, 2 * 3 / s5, 2, 2});
  check_close(values<float>(out(r, 1)), {2, 2});
  check_close(values<float>(out(r, 2)), {3, 2});
  CHECK_FALSE(run1("BatchNormalization", 15, {x, f32({3}, {1, 1, 1}), bias, mean, var}).is_ok());
}

TEST_CASE("InstanceNormalization and GroupNormalization normalize per instance / group") {
  Tensor x = f32({1, 2, 3}, {1, 2, 3, 2, 4, 6});
  const double a = std::sqrt(2.0 / 3.0), b = std::sqrt(8.0 / 3.0);
  RValue y = out(run1("InstanceNormalization", 6, {x, f32({2}, {1, 2}), f32({2}, {0, 1})}, 1, {attr_f("epsilon", 0)}));
  check_close(values<float>(y), {-1 / a, 0, 1 / a, 1 + 2 * -2 / b, 1, 1 + 2 * 2 / b});
  // One group over both channels: mean 3, var 16/6.
  const double g = std::sqrt(16.0 / 6.0);
  RValue z = out(run1("GroupNormalization", 18, {x, f32({1}, {1}), f32({1}, {0})}, 1,
                      {attr_i("num_groups", 1), attr_f("epsilon", 0)}));
  check_close(values<float>(z), {-2 / g, -1 / g, 0, -1 / g, 1 / g, 3 / g});
  // Two groups with per-channel scale: the same as InstanceNormalization.
  RValue w = out(run1("GroupNormalization", 21, {x, f32({2}, {1, 2}), f32({2}, {0, 1})}, 1,
                      {attr_i("num_groups", 2), attr_f("epsilon", 0)}));
  check_close(values<float>(w), {-1 / a, 0, 1 / a, 1 - 4 / b, 1, 1 + 4 / b});
  CHECK_FALSE(run1("GroupNormalization", 18, {x, f32({1}, {1}), f32({1}, {0})}, 1, {attr_i("num_groups", 4)}).is_ok());
}

TEST_CASE("LayerNormalization: axis, broadcast scale, Mean and InvStdDev outputs") {
  const std::vector<float> xv = random_floats(24, 3);
  Tensor x = f32({2, 3, 4}, xv);
  Tensor scale = f32({4}, {1, 2, 3, 4}), bias = f32({1}, {0.5f});
  auto r = run1("LayerNormalization", 17, {x, scale, bias}, 3, {attr_i("axis", -1), attr_f("epsilon", 1e-3f)});
  std::vector<double> want_y, want_mean, want_inv;
  for (int row = 0; row < 6; ++row) {
    double m = 0, v = 0;
    for (int i = 0; i < 4; ++i) m += xv[static_cast<size_t>(row * 4 + i)];
    m /= 4;
    for (int i = 0; i < 4; ++i) v += std::pow(xv[static_cast<size_t>(row * 4 + i)] - m, 2);
    const double inv = 1 / std::sqrt(v / 4 + 1e-3);
    for (int i = 0; i < 4; ++i) want_y.push_back((xv[static_cast<size_t>(row * 4 + i)] - m) * inv * (i + 1) + 0.5);
    want_mean.push_back(m);
    want_inv.push_back(inv);
  }
  check_close(values<float>(out(r, 0)), want_y, 1e-4);
  CHECK(out(r, 1).tensor.dims() == std::vector<int64_t>{2, 3, 1});
  check_close(values<float>(out(r, 1)), want_mean, 1e-4);
  check_close(values<float>(out(r, 2)), want_inv, 1e-4);
  CHECK_FALSE(run1("LayerNormalization", 17, {x, f32({3}, {1, 1, 1})}, 1).is_ok());
  CHECK_FALSE(run1("LayerNormalization", 17, {x, scale}, 1, {attr_i("axis", 3)}).is_ok());
}

TEST_CASE("LpNormalization, MeanVarianceNormalization and LRN follow their formulas") {
  Tensor x = f32({2, 2}, {3, 4, 0, 0});
  check_close(values<float>(out(run1("LpNormalization", 1, {x}))), {0.6, 0.8, 0, 0});
  check_close(values<float>(out(run1("LpNormalization", 1, {x}, 1, {attr_i("p", 1), attr_i("axis", 0)}))),
              {1, 1, 0, 0});
  CHECK_FALSE(run1("LpNormalization", 1, {x}, 1, {attr_i("p", 3)}).is_ok());

  // MVN over axis 1 of [2, 2]: rows {3, 4} -> {-1, 1}, {0, 0} -> {0, 0}.
  check_close(values<float>(out(run1("MeanVarianceNormalization", 13, {x}, 1, {attr_is("axes", {1})}))),
              {-1, 1, 0, 0}, 1e-6);

  // LRN size 3 over 3 channels, one pixel: square sums {1+4, 1+4+9, 4+9}.
  Tensor c = f32({1, 3, 1}, {1, 2, 3});
  RValue l = out(run1("LRN", 13, {c}, 1, {attr_i("size", 3), attr_f("alpha", 0.3f), attr_f("beta", 0.5f), attr_f("bias", 1)}));
  check_close(values<float>(l), {1 / std::sqrt(1 + 0.1 * 5), 2 / std::sqrt(1 + 0.1 * 14), 3 / std::sqrt(1 + 0.1 * 13)});
  CHECK_FALSE(run1("LRN", 13, {c}, 1).is_ok());  // size is required
}
