// Unit tests of runtime/cpu/vec_math.h (float32 exp, sigmoid, tanh, sqrt, sums and the Softmax row
// helpers) against double-precision references, and of the cpu kernels with float32 fast paths
// (Exp, Sigmoid, Tanh, Sqrt, Softmax, LogSoftmax, Pow with a scalar exponent, broadcast Mul,
// ReduceSum/ReduceMean, GlobalAveragePool, Transpose) on odd sizes, other layouts and other types.
#include <doctest/doctest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/half.h"
#include "runtime/cpu/vec_math.h"
#include "runtime/session.h"

using namespace ortool;
namespace vec = ortool::rt::cpu::vec;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr double kSmallestDenormal = 1.401298464324817e-45;

// A dense sweep of [-100, 100], the neighbourhood of 0 on a log scale, and float bit patterns
// spread over all magnitudes below 200.
std::vector<float> sweep() {
  std::vector<float> x;
  for (int i = -1000000; i <= 1000000; ++i) x.push_back(static_cast<float>(i) * 1e-4f);
  for (float v = 1e-30f; v < 1.0f; v *= 1.01f) {
    x.push_back(v);
    x.push_back(-v);
  }
  for (uint64_t u = 0; u <= 0xffffffffull; u += 104729) {
    float f;
    const uint32_t b = static_cast<uint32_t>(u);
    std::memcpy(&f, &b, 4);
    if (std::fabs(f) <= 200.0f) x.push_back(f);
  }
  return x;
}

std::vector<float> apply(void (*fn)(const float*, float*, int64_t), const std::vector<float>& x) {
  std::vector<float> y(x.size());
  fn(x.data(), y.data(), static_cast<int64_t>(x.size()));
  return y;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

// ---- One-node models ----

Tensor f32_tensor(std::vector<int64_t> dims, const std::vector<float>& v) {
  Tensor t(DType::Float, std::move(dims));
  REQUIRE(static_cast<int64_t>(v.size()) == t.numel());
  std::memcpy(t.mutable_data<float>(), v.data(), v.size() * sizeof(float));
  return t;
}

template <typename T>
Tensor typed_tensor(DType dt, std::vector<int64_t> dims, const std::vector<double>& v) {
  Tensor t(dt, std::move(dims));
  REQUIRE(static_cast<int64_t>(v.size()) == t.numel());
  for (size_t i = 0; i < v.size(); ++i) t.mutable_data<T>()[i] = T(static_cast<float>(v[i]));
  return t;
}

std::vector<float> floats(const Tensor& t) {
  REQUIRE(t.dtype() == DType::Float);
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

// Runs `op` of the default domain at `opset` through a Session with `threads` threads; returns output 0.
Tensor run_op(const std::string& op, int64_t opset, std::vector<Tensor> inputs, std::vector<ir::Attribute> attrs = {},
              int threads = 1) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", opset);
  ir::Graph& g = *m->graph;
  std::vector<ir::Value*> ins;
  std::map<std::string, RValue> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = "in" + std::to_string(i);
    ir::Value* v = g.add_value(name);
    v->type = Type::tensor(inputs[i].dtype());
    g.add_input(v);
    ins.push_back(v);
    feeds.emplace(name, RValue(std::move(inputs[i])));
  }
  ir::Node* n = g.add_node(op, "", ins, {"out"}, "n");
  for (const ir::Attribute& a : attrs) n->set_attr(a);
  g.add_output(n->output(0));
  rt::SessionOptions o;
  o.threads = threads;
  auto s = rt::Session::create(*m, o);
  if (!s.is_ok()) FAIL(s.status().message());
  auto out = (*s)->run(feeds);
  if (!out.is_ok()) FAIL(out.status().message());
  REQUIRE(out->size() == 1);
  return (*out)[0].tensor;
}

std::vector<float> random_floats(size_t n, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// An odd function saturating at +-1 (tanh, erf): signed zeros kept, +-1 at the infinities and from `big` on
// (exactly), NaN kept.
void check_odd_saturation(void (*fn)(const float*, float*, int64_t), float big) {
  const std::vector<float> z = apply(fn, {0.0f, -0.0f, kInf, -kInf, kNaN, big, -big, 50.0f, -1e30f});
  CHECK(same_bits(z[0], 0.0f));
  CHECK(same_bits(z[1], -0.0f));
  CHECK(z[2] == 1.0f);
  CHECK(z[3] == -1.0f);
  CHECK(std::isnan(z[4]));
  CHECK(z[5] == 1.0f);
  CHECK(z[6] == -1.0f);
  CHECK(z[7] == 1.0f);
  CHECK(z[8] == -1.0f);
}

}  // namespace

// ---- vec_math.h ----

TEST_CASE("vec::exp_f32 is within 2.5 ulp of exp over the float range") {
  const std::vector<float> x = sweep();
  const std::vector<float> y = apply(vec::exp_f32, x);
  double max_rel = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = std::exp(static_cast<double>(x[i]));
    if (ref > FLT_MAX) {
      CHECK(y[i] == kInf);
    } else if (ref >= FLT_MIN) {
      max_rel = std::max(max_rel, std::fabs(y[i] - ref) / ref);
    } else {
      // Denormal or zero results: within one denormal step.
      CHECK(std::fabs(y[i] - ref) <= kSmallestDenormal);
    }
  }
  MESSAGE("exp max relative error " << max_rel);
  CHECK(max_rel <= 1.5e-7);
}

TEST_CASE("vec::exp_f32 special values") {
  const std::vector<float> x = {0.0f, -0.0f, kInf, -kInf, kNaN, -kNaN, 88.72f, 88.73f, 89.0f, 1e30f, -87.3f,
                                -95.0f, -103.2f, -104.0f, -1e30f, 1e-30f, -FLT_MAX, FLT_MAX};
  const std::vector<float> y = apply(vec::exp_f32, x);
  CHECK(y[0] == 1.0f);
  CHECK(y[1] == 1.0f);
  CHECK(y[2] == kInf);
  CHECK(y[3] == 0.0f);
  CHECK(std::isnan(y[4]));
  CHECK(std::isnan(y[5]));
  CHECK(std::isfinite(y[6]));
  CHECK(y[6] > 3.3e38f);
  CHECK(y[7] == kInf);
  CHECK(y[8] == kInf);
  CHECK(y[9] == kInf);
  CHECK(y[10] > 0.0f);  // 1.2e-38, normal
  CHECK(y[11] > 0.0f);  // 5.5e-42, denormal
  CHECK(y[11] < FLT_MIN);
  CHECK(y[12] > 0.0f);  // the smallest denormal
  CHECK(y[13] == 0.0f);
  CHECK(y[14] == 0.0f);
  CHECK(y[15] == 1.0f);
  CHECK(y[16] == 0.0f);
  CHECK(y[17] == kInf);
}

TEST_CASE("vec::sigmoid_f32 against 1/(1+exp(-x)) in double, with exact saturation") {
  const std::vector<float> x = sweep();
  const std::vector<float> y = apply(vec::sigmoid_f32, x);
  double max_abs = 0, max_rel = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = 1.0 / (1.0 + std::exp(-static_cast<double>(x[i])));
    const double err = std::fabs(y[i] - ref);
    max_abs = std::max(max_abs, err);
    if (ref >= FLT_MIN) max_rel = std::max(max_rel, err / ref);
    else CHECK(err <= kSmallestDenormal);
    CHECK(y[i] >= 0.0f);
    CHECK(y[i] <= 1.0f);
  }
  MESSAGE("sigmoid max absolute error " << max_abs << ", relative " << max_rel);
  CHECK(max_abs <= 1.2e-7);
  CHECK(max_rel <= 3e-7);
  const std::vector<float> s = {0.0f, -0.0f, kInf, -kInf, kNaN, 17.5f, 100.0f, -120.0f, -1e30f, 1e30f, 1e-30f};
  const std::vector<float> z = apply(vec::sigmoid_f32, s);
  CHECK(z[0] == 0.5f);
  CHECK(z[1] == 0.5f);
  CHECK(z[2] == 1.0f);
  CHECK(z[3] == 0.0f);
  CHECK(std::isnan(z[4]));
  CHECK(z[5] == 1.0f);
  CHECK(z[6] == 1.0f);
  CHECK(z[7] == 0.0f);
  CHECK(z[8] == 0.0f);
  CHECK(z[9] == 1.0f);
  CHECK(z[10] == 0.5f);
}

TEST_CASE("vec::tanh_f32 against tanh in double, with exact saturation and signed zero") {
  const std::vector<float> x = sweep();
  const std::vector<float> y = apply(vec::tanh_f32, x);
  double max_abs = 0, max_rel = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = std::tanh(static_cast<double>(x[i]));
    const double err = std::fabs(y[i] - ref);
    max_abs = std::max(max_abs, err);
    if (std::fabs(ref) >= FLT_MIN) max_rel = std::max(max_rel, err / std::fabs(ref));
    CHECK(std::fabs(y[i]) <= 1.0f);
  }
  MESSAGE("tanh max absolute error " << max_abs << ", relative " << max_rel);
  CHECK(max_abs <= 2e-7);
  CHECK(max_rel <= 3e-7);
  check_odd_saturation(vec::tanh_f32, 9.1f);
  const std::vector<float> z = apply(vec::tanh_f32, {1e-30f, -1e-40f});
  CHECK(z[0] == 1e-30f);
  CHECK(z[1] == -1e-40f);
}

TEST_CASE("vec::erf_f32 against erf in double: 3.2e-7 absolute, 2 ulp near 0, exact saturation and signed zero") {
  const std::vector<float> x = sweep();
  const std::vector<float> y = apply(vec::erf_f32, x);
  double max_abs = 0, max_rel_small = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = std::erf(static_cast<double>(x[i]));
    const double err = std::fabs(y[i] - ref);
    max_abs = std::max(max_abs, err);
    // Below 0.5 the result keeps its relative accuracy (GELU's small inputs; denormals within a step).
    if (std::fabs(x[i]) < 0.5f && std::fabs(ref) >= FLT_MIN) max_rel_small = std::max(max_rel_small, err / std::fabs(ref));
    if (std::fabs(ref) < FLT_MIN) CHECK(err <= 2 * kSmallestDenormal);
    CHECK(std::fabs(y[i]) <= 1.0f);
  }
  MESSAGE("erf max absolute error " << max_abs << ", relative below 0.5 " << max_rel_small);
  CHECK(max_abs <= 3.2e-7);
  CHECK(max_rel_small <= 2.5e-7);
  check_odd_saturation(vec::erf_f32, 3.832f);
  const std::vector<float> z = apply(vec::erf_f32, {1e-30f, -1e-40f, 1.0f});
  CHECK(std::fabs(z[0] - 1.1283791670955126e-30) <= 2e-37);
  CHECK(z[1] < 0.0f);
  CHECK(std::fabs(z[2] - 0.8427007929497149) <= 1.2e-7);
}

TEST_CASE("vec array functions: every length and in place give the per-element results") {
  const std::vector<float> base = random_floats(80, -30.0f, 30.0f, 3);
  for (auto fn : {vec::exp_f32, vec::sigmoid_f32, vec::tanh_f32, vec::erf_f32, vec::sqrt_f32}) {
    std::vector<float> one(base.size());
    for (size_t i = 0; i < base.size(); ++i) fn(&base[i], &one[i], 1);
    for (int64_t n = 0; n <= 41; ++n) {
      // Offset by one so the loads are unaligned; a sentinel after the end must stay untouched.
      std::vector<float> y(static_cast<size_t>(n) + 2, 42.0f);
      fn(base.data() + 1, y.data() + 1, n);
      for (int64_t i = 0; i < n; ++i) CHECK(same_bits(y[static_cast<size_t>(i) + 1], one[static_cast<size_t>(i) + 1]));
      CHECK(y[0] == 42.0f);
      CHECK(y[static_cast<size_t>(n) + 1] == 42.0f);
      std::vector<float> in_place(base.begin() + 1, base.begin() + 1 + n);
      fn(in_place.data(), in_place.data(), n);
      for (int64_t i = 0; i < n; ++i) CHECK(same_bits(in_place[static_cast<size_t>(i)], one[static_cast<size_t>(i) + 1]));
    }
  }
}

TEST_CASE("vec softmax row helpers") {
  for (int64_t n : {1, 7, 8, 9, 16, 33, 1000}) {
    const std::vector<float> x = random_floats(static_cast<size_t>(n), -20.0f, 20.0f, static_cast<unsigned>(n));
    float mx = x[0];
    for (float v : x) mx = std::max(mx, v);
    CHECK(vec::max_f32(x.data(), n) == mx);
    std::vector<float> y(static_cast<size_t>(n) + 1, 42.0f);
    const double sum = vec::exp_shift_sum_f32(x.data(), y.data(), n, mx);
    const double sum_only = vec::exp_shift_sum_f32(x.data(), nullptr, n, mx);
    double ref = 0;
    for (int64_t i = 0; i < n; ++i) {
      // The argument is x - shift rounded to float, as the helper computes it.
      const double e = std::exp(static_cast<double>(x[static_cast<size_t>(i)] - mx));
      ref += e;
      CHECK(std::fabs(y[static_cast<size_t>(i)] - e) <= 3e-7 * e + 1e-30);
    }
    CHECK(y[static_cast<size_t>(n)] == 42.0f);
    CHECK(std::fabs(sum - ref) <= 3e-7 * ref);
    CHECK(sum == sum_only);
  }
  // The maximum is found wherever it is, negative rows included.
  std::vector<float> neg(37, -5.0f);
  neg[36] = -1.0f;
  CHECK(vec::max_f32(neg.data(), 37) == -1.0f);
  neg[3] = -0.5f;
  CHECK(vec::max_f32(neg.data(), 37) == -0.5f);
}

// ---- Kernels ----

TEST_CASE("Exp, Sigmoid, Tanh and Sqrt kernels on float32 odd sizes against double references") {
  struct Case {
    const char* op;
    double (*ref)(double);
    double tol;  // absolute + relative
  };
  const Case cases[] = {
      {"Exp", [](double v) { return std::exp(v); }, 3e-7},
      {"Sigmoid", [](double v) { return 1.0 / (1.0 + std::exp(-v)); }, 3e-7},
      {"Tanh", [](double v) { return std::tanh(v); }, 3e-7},
      {"Sqrt", [](double v) { return std::sqrt(v); }, 1e-7},
  };
  for (const Case& c : cases) {
    for (int64_t n : {1, 7, 33, 1000}) {
      CAPTURE(c.op);
      CAPTURE(n);
      const bool sqrt = std::string(c.op) == "Sqrt";
      std::vector<float> x = random_floats(static_cast<size_t>(n), sqrt ? 0.0f : -12.0f, 12.0f, static_cast<unsigned>(n));
      x[0] = sqrt ? 4.0f : 0.0f;
      const std::vector<float> y = floats(run_op(c.op, 13, {f32_tensor({n}, x)}));
      REQUIRE(y.size() == x.size());
      for (size_t i = 0; i < x.size(); ++i) {
        const double ref = c.ref(x[i]);
        CHECK(std::fabs(y[i] - ref) <= c.tol * (1.0 + std::fabs(ref)));
      }
    }
  }
  // Special values come through the kernels unchanged.
  const std::vector<float> s = {kInf, -kInf, kNaN, 0.0f};
  const std::vector<float> e = floats(run_op("Exp", 13, {f32_tensor({4}, s)}));
  CHECK(e[0] == kInf);
  CHECK(e[1] == 0.0f);
  CHECK(std::isnan(e[2]));
  CHECK(e[3] == 1.0f);
  const std::vector<float> g = floats(run_op("Sigmoid", 13, {f32_tensor({4}, s)}));
  CHECK(g[0] == 1.0f);
  CHECK(g[1] == 0.0f);
  CHECK(std::isnan(g[2]));
  CHECK(g[3] == 0.5f);
  const std::vector<float> t = floats(run_op("Tanh", 13, {f32_tensor({4}, s)}));
  CHECK(t[0] == 1.0f);
  CHECK(t[1] == -1.0f);
  CHECK(std::isnan(t[2]));
  CHECK(t[3] == 0.0f);
}

TEST_CASE("Exp, Sigmoid and Tanh kernels keep double and float16") {
  const std::vector<double> x = {-3.0, -0.5, 0.0, 0.25, 2.0, 7.0, -40.0};
  const int64_t n = static_cast<int64_t>(x.size());
  for (const char* op : {"Exp", "Sigmoid", "Tanh"}) {
    CAPTURE(op);
    auto ref = [&](double v) {
      if (std::string(op) == "Exp") return std::exp(v);
      if (std::string(op) == "Sigmoid") return 1.0 / (1.0 + std::exp(-v));
      return std::tanh(v);
    };
    Tensor d(DType::Double, {n});
    for (int64_t i = 0; i < n; ++i) d.mutable_data<double>()[i] = x[static_cast<size_t>(i)];
    const Tensor yd = run_op(op, 13, {d});
    REQUIRE(yd.dtype() == DType::Double);
    for (int64_t i = 0; i < n; ++i) {
      const double r = ref(x[static_cast<size_t>(i)]);
      CHECK(std::fabs(yd.data<double>()[i] - r) <= 1e-15 * (1 + std::fabs(r)));
    }
    const Tensor yh = run_op(op, 13, {typed_tensor<Float16>(DType::Float16, {n}, x)});
    REQUIRE(yh.dtype() == DType::Float16);
    for (int64_t i = 0; i < n; ++i) {
      const double r = ref(x[static_cast<size_t>(i)]);
      const double got = static_cast<float>(yh.data<Float16>()[i]);
      if (r > 65504) CHECK(std::isinf(got));
      else CHECK(std::fabs(got - r) <= 1e-3 * (1 + std::fabs(r)));
    }
  }
}

namespace {

// Softmax / LogSoftmax of x (dims) over `axis` (opset >= 13 semantics: one axis) in double.
std::vector<double> softmax_ref(const std::vector<float>& x, const std::vector<int64_t>& dims, int64_t axis, bool log,
                                bool coerce_2d) {
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t d = 0; d < static_cast<int64_t>(dims.size()); ++d) {
    if (d < axis) outer *= dims[static_cast<size_t>(d)];
    else if (d == axis || coerce_2d) n *= dims[static_cast<size_t>(d)];
    else inner *= dims[static_cast<size_t>(d)];
  }
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t k) { return static_cast<size_t>((o * n + k) * inner + i); };
      double mx = -INFINITY;
      for (int64_t k = 0; k < n; ++k) mx = std::max(mx, static_cast<double>(x[at(k)]));
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) sum += std::exp(x[at(k)] - mx);
      for (int64_t k = 0; k < n; ++k)
        y[at(k)] = log ? x[at(k)] - mx - std::log(sum) : std::exp(x[at(k)] - mx) / sum;
    }
  }
  return y;
}

void check_softmax(const std::vector<int64_t>& dims, int64_t axis, int64_t opset, int threads = 1) {
  int64_t numel = 1;
  for (int64_t d : dims) numel *= d;
  std::vector<float> x = random_floats(static_cast<size_t>(numel), -15.0f, 15.0f, static_cast<unsigned>(numel + axis));
  const int64_t r = static_cast<int64_t>(dims.size());
  const int64_t ax = axis < 0 ? axis + r : axis;
  for (bool log : {false, true}) {
    CAPTURE(log);
    CAPTURE(axis);
    CAPTURE(opset);
    CAPTURE(numel);
    const std::vector<float> y =
        floats(run_op(log ? "LogSoftmax" : "Softmax", opset, {f32_tensor(dims, x)}, {ir::Attribute::make_int("axis", axis)}, threads));
    const std::vector<double> ref = softmax_ref(x, dims, ax, log, opset < 13);
    REQUIRE(y.size() == ref.size());
    // Softmax: relative error per element; the float path rounds x - max, which costs up to
    // 2^-20 relative for elements exp(-16) and smaller than the largest. LogSoftmax: relative to
    // 1 + |y|.
    double max_err = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      const double err = std::fabs(y[i] - ref[i]) / (log ? 1.0 + std::fabs(ref[i]) : 1e-30 + ref[i]);
      max_err = std::max(max_err, err);
    }
    CHECK(max_err <= (log ? 6e-7 : 1.5e-6));
  }
}

}  // namespace

TEST_CASE("Softmax and LogSoftmax on float32: innermost, other axes, coerced 2-D, odd sizes") {
  for (int64_t n : {1, 7, 33, 1000}) {
    check_softmax({n}, -1, 13);
    check_softmax({3, n}, -1, 13);
    check_softmax({3, n}, 0, 13);  // strided reduction: the generic path
  }
  check_softmax({2, 7, 33}, 1, 13);
  check_softmax({2, 7, 33}, 0, 13);
  check_softmax({2, 7, 33}, 2, 13);
  check_softmax({2, 7, 33}, 1, 11);  // coerced to [2, 231]: contiguous rows
  check_softmax({2, 7, 33}, 0, 11);
  check_softmax({1, 4, 128, 128}, -1, 13);
  // Enough elements for the pool to split rows among threads.
  check_softmax({67, 1001}, -1, 13, 2);
  check_softmax({3, 40001}, 1, 13, 2);
}

TEST_CASE("Softmax float32 rows with infinities and NaN match the generic semantics") {
  const std::vector<float> x = {1.0f, -kInf, 2.0f, -kInf, 0.5f, 0.25f, 3.0f, -1.0f, 0.0f, 4.0f,
                                kNaN, 1.0f,  2.0f, 3.0f,  4.0f, 5.0f,  6.0f, 7.0f,  8.0f, 9.0f};
  const std::vector<float> y = floats(run_op("Softmax", 13, {f32_tensor({2, 10}, x)}, {ir::Attribute::make_int("axis", 1)}));
  CHECK(y[1] == 0.0f);  // exp(-inf) = 0
  CHECK(y[3] == 0.0f);
  double sum = 0;
  for (int i = 0; i < 10; ++i) sum += y[static_cast<size_t>(i)];
  CHECK(std::fabs(sum - 1.0) <= 1e-6);
  for (int i = 10; i < 20; ++i) CHECK(std::isnan(y[static_cast<size_t>(i)]));  // a NaN poisons its row
  const std::vector<float> l = floats(run_op("LogSoftmax", 13, {f32_tensor({2, 10}, x)}, {ir::Attribute::make_int("axis", 1)}));
  CHECK(l[1] == -kInf);
  CHECK(std::isnan(l[15]));
}

TEST_CASE("Pow with a one-element exponent: the fast forms match pow, special values included") {
  std::vector<float> x = random_floats(1000, -4.0f, 4.0f, 11);
  const std::vector<float> specials = {0.0f, -0.0f, kInf, -kInf, kNaN, 1.0f, -1.0f, 1e-30f, 1e30f, -2.0f};
  std::copy(specials.begin(), specials.end(), x.begin());
  for (float e : {0.0f, 1.0f, 2.0f, 3.0f, 0.5f, -1.0f, -0.5f, 2.5f, -2.0f}) {
    for (int64_t n : {1, 7, 33, 1000}) {
      CAPTURE(e);
      CAPTURE(n);
      const std::vector<float> xs(x.begin(), x.begin() + n);
      const std::vector<float> y = floats(run_op("Pow", 13, {f32_tensor({n}, xs), f32_tensor({}, {e})}));
      REQUIRE(y.size() == xs.size());
      for (size_t i = 0; i < xs.size(); ++i) {
        const double ref = std::pow(static_cast<double>(xs[i]), static_cast<double>(e));
        CAPTURE(xs[i]);
        if (std::isnan(ref)) {
          CHECK(std::isnan(y[i]));
        } else if (std::isinf(ref) || ref == 0 || std::fabs(ref) > FLT_MAX) {
          CHECK(static_cast<double>(y[i]) == static_cast<double>(static_cast<float>(ref)));
          CHECK(std::signbit(y[i]) == std::signbit(ref));
        } else if (std::fabs(ref) < FLT_MIN) {
          CHECK(std::fabs(y[i] - ref) <= kSmallestDenormal);
        } else {
          CHECK(std::fabs(y[i] - ref) <= 2.5e-7 * std::fabs(ref));
        }
      }
    }
  }
  // Exponents of other types, broadcast dims, and a tensor exponent (the general path).
  const std::vector<float> b = {1.5f, -2.0f, 3.0f, 0.0f, 4.0f, -0.25f};
  Tensor e64(DType::Int64, {1, 1});
  e64.mutable_data<int64_t>()[0] = 2;
  Tensor y64 = run_op("Pow", 13, {f32_tensor({2, 3}, b), e64});
  CHECK(y64.dims() == std::vector<int64_t>{2, 3});
  for (size_t i = 0; i < b.size(); ++i) CHECK(floats(y64)[i] == b[i] * b[i]);
  Tensor ed(DType::Double, {1});
  ed.mutable_data<double>()[0] = 0.5;
  const std::vector<float> yd = floats(run_op("Pow", 13, {f32_tensor({6}, b), ed}));
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i] < 0) CHECK(std::isnan(yd[i]));
    else CHECK(yd[i] == std::sqrt(b[i]));
  }
  const std::vector<float> yt = floats(run_op("Pow", 13, {f32_tensor({6}, b), f32_tensor({6}, {2, 2, 2, 2, 2, 2})}));
  for (size_t i = 0; i < b.size(); ++i) CHECK(yt[i] == b[i] * b[i]);
}

TEST_CASE("Mul and Add on float32: same shape, scalar and per-channel broadcast") {
  const int64_t c = 5, hw = 37;
  const std::vector<float> a = random_floats(static_cast<size_t>(2 * c * hw), -3.0f, 3.0f, 21);
  const std::vector<float> s = random_floats(static_cast<size_t>(c), -3.0f, 3.0f, 22);
  const std::vector<float> y = floats(run_op("Mul", 13, {f32_tensor({2, c, hw, 1}, a), f32_tensor({1, c, 1, 1}, s)}));
  for (int64_t i = 0; i < 2 * c * hw; ++i)
    CHECK(y[static_cast<size_t>(i)] == a[static_cast<size_t>(i)] * s[static_cast<size_t>((i / hw) % c)]);
  const std::vector<float> y2 = floats(run_op("Mul", 13, {f32_tensor({1, c, 1, 1}, s), f32_tensor({2, c, hw, 1}, a)}));
  CHECK(y2 == y);
  const std::vector<float> z = floats(run_op("Add", 13, {f32_tensor({2, c, hw, 1}, a), f32_tensor({}, {0.5f})}));
  for (size_t i = 0; i < a.size(); ++i) CHECK(z[i] == a[i] + 0.5f);
  const std::vector<float> w = floats(run_op("Sub", 13, {f32_tensor({2, c, hw, 1}, a), f32_tensor({2, c, hw, 1}, a)}));
  for (float v : w) CHECK(v == 0.0f);
}

TEST_CASE("vec::sum_f32 against a double sum") {
  for (int64_t n : {0, 1, 7, 15, 16, 17, 33, 1000, 100003}) {
    const std::vector<float> x = random_floats(static_cast<size_t>(n), -1.0f, 3.0f, static_cast<unsigned>(n + 5));
    double ref = 0;
    for (float v : x) ref += v;
    CHECK(std::fabs(vec::sum_f32(x.data(), n) - ref) <= 1e-12 * (1.0 + std::fabs(ref)));
  }
  const std::vector<float> s = {1.0f, kInf, 2.0f};
  CHECK(vec::sum_f32(s.data(), 3) == INFINITY);
  const std::vector<float> q = {1.0f, kNaN, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f, 9.0f, 10.0f, 11.0f, 12.0f, 13.0f, 14.0f, 15.0f, 16.0f};
  CHECK(std::isnan(vec::sum_f32(q.data(), 17)));
}

TEST_CASE("ReduceSum and ReduceMean on float32: innermost runs and other axes against double sums") {
  const std::vector<int64_t> dims = {3, 5, 37};
  const std::vector<float> x = random_floats(3 * 5 * 37, -2.0f, 2.0f, 31);
  auto ref = [&](const std::vector<bool>& red, bool mean) {
    std::vector<double> acc;
    std::vector<int64_t> count;
    std::map<int64_t, size_t> slot;
    std::vector<double> out;
    for (int64_t a = 0; a < 3; ++a)
      for (int64_t b = 0; b < 5; ++b)
        for (int64_t c = 0; c < 37; ++c) {
          const int64_t key = (red[0] ? 0 : a) * 1000000 + (red[1] ? 0 : b) * 1000 + (red[2] ? 0 : c);
          auto it = slot.find(key);
          if (it == slot.end()) it = slot.emplace(key, out.size()).first, out.push_back(0), count.push_back(0);
          out[it->second] += x[static_cast<size_t>((a * 5 + b) * 37 + c)];
          ++count[it->second];
        }
    if (mean)
      for (size_t i = 0; i < out.size(); ++i) out[i] /= static_cast<double>(count[i]);
    return out;
  };
  struct Case {
    std::vector<int64_t> axes;
    std::vector<bool> red;
  };
  const Case cases[] = {{{-1}, {false, false, true}},
                        {{1, 2}, {false, true, true}},
                        {{0, 1, 2}, {true, true, true}},
                        {{1}, {false, true, false}},
                        {{0}, {true, false, false}}};
  for (const Case& c : cases) {
    for (bool mean : {false, true}) {
      CAPTURE(mean);
      CAPTURE(c.axes.size());
      Tensor axes(DType::Int64, {static_cast<int64_t>(c.axes.size())});
      for (size_t i = 0; i < c.axes.size(); ++i) axes.mutable_data<int64_t>()[i] = c.axes[i];
      const Tensor y = run_op(mean ? "ReduceMean" : "ReduceSum", 18, {f32_tensor(dims, x), axes},
                              {ir::Attribute::make_int("keepdims", 0)});
      const std::vector<double> r = ref(c.red, mean);
      const std::vector<float> got = floats(y);
      REQUIRE(got.size() == r.size());
      for (size_t i = 0; i < r.size(); ++i) CHECK(std::fabs(got[i] - r[i]) <= 1e-6 * (1.0 + std::fabs(r[i])));
    }
  }
}

TEST_CASE("GlobalAveragePool on float32 against double means") {
  for (int64_t hw : {1, 7, 33, 1000}) {
    const std::vector<float> x = random_floats(static_cast<size_t>(2 * 3 * hw), -5.0f, 5.0f, static_cast<unsigned>(hw));
    const Tensor y = run_op("GlobalAveragePool", 13, {f32_tensor({2, 3, hw, 1}, x)});
    CHECK(y.dims() == std::vector<int64_t>{2, 3, 1, 1});
    const std::vector<float> got = floats(y);
    for (int64_t p = 0; p < 6; ++p) {
      double s = 0;
      for (int64_t i = 0; i < hw; ++i) s += x[static_cast<size_t>(p * hw + i)];
      CHECK(std::fabs(got[static_cast<size_t>(p)] - s / static_cast<double>(hw)) <= 1e-6);
    }
  }
}

TEST_CASE("Transpose: random shapes and permutations, every element size and strings") {
  std::mt19937 rng(5);
  for (int iter = 0; iter < 400; ++iter) {
    const size_t rank = rng() % 6;
    std::vector<int64_t> dims(rank);
    for (auto& d : dims) d = (rng() % 3 == 0) ? 1 : 1 + static_cast<int64_t>(rng() % 9);
    if (iter % 50 == 7 && rank > 0) dims[0] = 0;
    if (iter % 40 == 3 && rank >= 2) {  // a long matrix, as attention's [4,128,64] -> [128,64,4]
      dims[rank - 1] = 67;
      dims[rank - 2] = 35;
    }
    std::vector<int64_t> perm(rank);
    for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(i);
    std::shuffle(perm.begin(), perm.end(), rng);
    int64_t numel = 1;
    for (int64_t d : dims) numel *= d;
    std::vector<int64_t> in_strides(rank, 1), out_dims(rank);
    for (size_t i = rank; i-- > 1;) in_strides[i - 1] = in_strides[i] * dims[i];
    for (size_t i = 0; i < rank; ++i) out_dims[i] = dims[static_cast<size_t>(perm[i])];
    // Expected source index of every output element.
    std::vector<int64_t> src(static_cast<size_t>(numel));
    std::vector<int64_t> idx(rank, 0);
    for (int64_t o = 0; o < numel; ++o) {
      int64_t s = 0;
      for (size_t i = 0; i < rank; ++i) s += idx[i] * in_strides[static_cast<size_t>(perm[i])];
      src[static_cast<size_t>(o)] = s;
      for (size_t d = rank; d-- > 0;) {
        if (++idx[d] < out_dims[d]) break;
        idx[d] = 0;
      }
    }
    CAPTURE(iter);
    const auto attrs = std::vector<ir::Attribute>{ir::Attribute::make_ints("perm", perm)};
    for (DType dt : {DType::Float, DType::Int64, DType::UInt8, DType::Float16, DType::String}) {
      Tensor x(dt, dims);
      for (int64_t i = 0; i < numel; ++i) {
        if (dt == DType::Float) x.mutable_data<float>()[i] = static_cast<float>(i);
        else if (dt == DType::Int64) x.mutable_data<int64_t>()[i] = i * 1000003;
        else if (dt == DType::UInt8) x.mutable_data<uint8_t>()[i] = static_cast<uint8_t>(i * 7);
        else if (dt == DType::Float16) x.mutable_data<Float16>()[i] = Float16(static_cast<float>(i % 2048));
        else x.mutable_strings()[static_cast<size_t>(i)] = std::to_string(i);
      }
      const Tensor y = run_op("Transpose", 13, {x}, attrs);
      REQUIRE(y.dims() == out_dims);
      for (int64_t o = 0; o < numel; ++o) {
        const int64_t s = src[static_cast<size_t>(o)];
        if (dt == DType::Float) REQUIRE(y.data<float>()[o] == static_cast<float>(s));
        else if (dt == DType::Int64) REQUIRE(y.data<int64_t>()[o] == s * 1000003);
        else if (dt == DType::UInt8) REQUIRE(y.data<uint8_t>()[o] == static_cast<uint8_t>(s * 7));
        else if (dt == DType::Float16) REQUIRE(static_cast<float>(y.data<Float16>()[o]) == static_cast<float>(s % 2048));
        else REQUIRE(y.strings()[static_cast<size_t>(o)] == std::to_string(s));
      }
    }
  }
}
