// Unit tests of the conv kernel family (Conv, ConvTranspose, integer convs, pools, Resize, DepthToSpace,
// GridSample, RoiAlign, ...) against naive loops in this file and hand-computed values.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"
#include "tests/runtime/kernel_test_util.h"

using namespace ortool;
using kernel_test::f32;
using kernel_test::i64;
using kernel_test::make;
using kernel_test::i8;
using kernel_test::u8;
using kernel_test::values;

namespace {

int64_t numel(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

void check_close(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-4f) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol).scale(1.0));
  }
}

ir::Attribute ints(const std::string& n, std::vector<int64_t> v) { return ir::Attribute::make_ints(n, std::move(v)); }
ir::Attribute one(const std::string& n, int64_t v) { return ir::Attribute::make_int(n, v); }
ir::Attribute flt(const std::string& n, float v) { return ir::Attribute::make_float(n, v); }
ir::Attribute str(const std::string& n, const std::string& v) { return ir::Attribute::make_string(n, v); }
ir::Attribute floats(const std::string& n, std::vector<float> v) { return ir::Attribute::make_floats(n, std::move(v)); }

// Runs one node, attributes before the output count (this file's calls mostly pass attributes).
Result<std::vector<RValue>> run_op(const std::string& op, int64_t opset, std::vector<RValue> inputs,
                                   std::vector<ir::Attribute> attrs = {}, size_t outputs = 1,
                                   const std::string& name = "n1") {
  return kernel_test::run1(op, opset, std::move(inputs), outputs, std::move(attrs), name);
}

std::vector<float> run_f32(const std::string& op, int64_t opset, std::vector<RValue> inputs,
                           std::vector<ir::Attribute> attrs, std::vector<int64_t>* dims = nullptr) {
  auto r = run_op(op, opset, std::move(inputs), std::move(attrs));
  INFO(r.status().message());
  REQUIRE(r.is_ok());
  if (dims) *dims = (*r)[0].tensor.dims();
  return values<float>((*r)[0]);
}

// Geometry of a naive convolution over up to 3 spatial dims (missing leading dims are 1).
struct Geo {
  std::vector<int64_t> in, k, s, d, pb, pe;
  std::vector<int64_t> out() const {
    std::vector<int64_t> o;
    for (size_t i = 0; i < in.size(); ++i) o.push_back((in[i] + pb[i] + pe[i] - ((k[i] - 1) * d[i] + 1)) / s[i] + 1);
    return o;
  }
};

// Direct Conv: y[n, m, o] = b[m] + sum_{c, k} x[n, g*cg + c, o*s - pb + k*d] * w[m, c, k].
std::vector<float> naive_conv(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                              int64_t n, int64_t c, int64_t m, int64_t group, Geo g) {
  while (g.in.size() < 3) {
    for (auto* v : {&g.in, &g.k, &g.s, &g.d}) v->insert(v->begin(), 1);
    g.pb.insert(g.pb.begin(), 0);
    g.pe.insert(g.pe.begin(), 0);
  }
  auto o = g.out();
  const int64_t cg = c / group, mg = m / group;
  std::vector<float> y(static_cast<size_t>(n * m * o[0] * o[1] * o[2]));
  size_t yi = 0;
  for (int64_t in = 0; in < n; ++in)
    for (int64_t im = 0; im < m; ++im)
      for (int64_t o0 = 0; o0 < o[0]; ++o0)
        for (int64_t o1 = 0; o1 < o[1]; ++o1)
          for (int64_t o2 = 0; o2 < o[2]; ++o2) {
            double acc = b.empty() ? 0 : b[static_cast<size_t>(im)];
            const int64_t gi = im / mg;
            for (int64_t ic = 0; ic < cg; ++ic)
              for (int64_t k0 = 0; k0 < g.k[0]; ++k0)
                for (int64_t k1 = 0; k1 < g.k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                    const int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
                    const int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
                    const int64_t i2 = o2 * g.s[2] - g.pb[2] + k2 * g.d[2];
                    if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1] || i2 < 0 || i2 >= g.in[2]) continue;
                    const int64_t xc = gi * cg + ic;
                    acc += x[static_cast<size_t>((((in * c + xc) * g.in[0] + i0) * g.in[1] + i1) * g.in[2] + i2)] *
                           w[static_cast<size_t>((((im * cg + ic) * g.k[0] + k0) * g.k[1] + k1) * g.k[2] + k2)];
                  }
            y[yi++] = static_cast<float>(acc);
          }
  return y;
}

struct ConvCase {
  const char* label;
  int64_t n, c, m, group;
  Geo g;
  bool bias;
};

}  // namespace

TEST_CASE("Conv matches a direct convolution") {
  const ConvCase cases[] = {
      {"2-D plain", 1, 3, 4, 1, {{5, 6}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}}, false},
      {"2-D padded strided bias", 2, 3, 5, 1, {{7, 6}, {3, 2}, {2, 3}, {1, 1}, {1, 0}, {2, 1}}, true},
      {"2-D dilated", 1, 2, 3, 1, {{9, 8}, {3, 3}, {1, 2}, {2, 3}, {1, 1}, {1, 1}}, true},
      {"2-D grouped", 1, 4, 6, 2, {{5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}}, true},
      {"2-D depthwise", 2, 3, 3, 3, {{6, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}}, false},
      {"2-D depthwise multiplier", 1, 2, 4, 2, {{4, 5}, {2, 2}, {1, 1}, {1, 1}, {0, 1}, {1, 0}}, true},
      {"2-D pointwise", 1, 5, 3, 1, {{4, 4}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}}, true},
      {"1-D", 2, 2, 3, 1, {{10}, {3}, {2}, {1}, {1}, {2}}, true},
      {"3-D", 1, 2, 2, 1, {{4, 5, 3}, {2, 3, 2}, {1, 2, 1}, {1, 1, 2}, {1, 0, 1}, {0, 1, 1}}, true},
      {"3-D grouped strided", 1, 4, 4, 2, {{5, 4, 4}, {3, 2, 2}, {2, 1, 2}, {1, 1, 1}, {1, 1, 0}, {1, 0, 1}}, false},
  };
  for (const ConvCase& cc : cases) {
    INFO(cc.label);
    const size_t r = cc.g.in.size();
    std::vector<int64_t> xd{cc.n, cc.c}, wd{cc.m, cc.c / cc.group};
    xd.insert(xd.end(), cc.g.in.begin(), cc.g.in.end());
    wd.insert(wd.end(), cc.g.k.begin(), cc.g.k.end());
    auto x = random_floats(static_cast<size_t>(numel(xd)), 1);
    auto w = random_floats(static_cast<size_t>(numel(wd)), 2);
    auto b = cc.bias ? random_floats(static_cast<size_t>(cc.m), 3) : std::vector<float>{};
    std::vector<int64_t> pads = cc.g.pb;
    pads.insert(pads.end(), cc.g.pe.begin(), cc.g.pe.end());
    std::vector<RValue> ins{f32(xd, x), f32(wd, w)};
    if (cc.bias) ins.push_back(f32({cc.m}, b));
    std::vector<int64_t> dims;
    auto got = run_f32("Conv", 11, ins,
                       {ints("strides", cc.g.s), ints("dilations", cc.g.d), ints("pads", pads), one("group", cc.group),
                        ints("kernel_shape", cc.g.k)},
                       &dims);
    std::vector<int64_t> want_dims{cc.n, cc.m};
    auto o = cc.g.out();
    want_dims.insert(want_dims.end(), o.begin(), o.end());
    CHECK(dims == want_dims);
    CHECK(dims.size() == r + 2);
    check_close(got, naive_conv(x, w, b, cc.n, cc.c, cc.m, cc.group, cc.g));
  }
}

TEST_CASE("Conv auto_pad SAME_UPPER, SAME_LOWER and VALID") {
  auto x = random_floats(1 * 1 * 5 * 5, 4);
  auto w = random_floats(1 * 1 * 2 * 2, 5);
  // Even kernel, stride 1: one pad in total per dim; SAME_UPPER puts it at the end, SAME_LOWER at the start.
  auto upper = run_f32("Conv", 11, {f32({1, 1, 5, 5}, x), f32({1, 1, 2, 2}, w)}, {str("auto_pad", "SAME_UPPER")});
  check_close(upper, naive_conv(x, w, {}, 1, 1, 1, 1, {{5, 5}, {2, 2}, {1, 1}, {1, 1}, {0, 0}, {1, 1}}));
  auto lower = run_f32("Conv", 11, {f32({1, 1, 5, 5}, x), f32({1, 1, 2, 2}, w)}, {str("auto_pad", "SAME_LOWER")});
  check_close(lower, naive_conv(x, w, {}, 1, 1, 1, 1, {{5, 5}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {0, 0}}));
  std::vector<int64_t> dims;
  auto valid = run_f32("Conv", 11, {f32({1, 1, 5, 5}, x), f32({1, 1, 2, 2}, w)},
                       {str("auto_pad", "VALID"), ints("strides", {2, 2})}, &dims);
  CHECK(dims == std::vector<int64_t>{1, 1, 2, 2});
  // SAME with stride 2: output ceil(5 / 2) = 3.
  run_f32("Conv", 11, {f32({1, 1, 5, 5}, x), f32({1, 1, 2, 2}, w)},
          {str("auto_pad", "SAME_UPPER"), ints("strides", {2, 2})}, &dims);
  CHECK(dims == std::vector<int64_t>{1, 1, 3, 3});
}

TEST_CASE("Conv rejects inconsistent shapes and attributes") {
  auto x = f32({1, 4, 3, 3}, std::vector<float>(36, 1.f));
  auto w = f32({2, 3, 1, 1}, std::vector<float>(6, 1.f));
  auto r = run_op("Conv", 11, {x, w}, {}, 1, "c1");
  INFO(r.status().message());
  REQUIRE(!r.is_ok());
  CHECK(r.status().message().find("node 'c1' (Conv): weight has 3 input channels per group but input has 4 channels and "
                                  "group 1") != std::string::npos);
  auto w4 = f32({2, 4, 1, 1}, std::vector<float>(8, 1.f));
  CHECK(!run_op("Conv", 11, {x, w4}, {ints("strides", {0, 1})}).is_ok());
  CHECK(!run_op("Conv", 11, {x, w4}, {ints("dilations", {1, -1})}).is_ok());
  CHECK(!run_op("Conv", 11, {x, w4}, {one("group", 0)}).is_ok());
  CHECK(!run_op("Conv", 11, {x, f32({2, 1, 1, 1}, {1, 1})}, {one("group", 3)}).is_ok());  // 3 does not divide 4
  CHECK(!run_op("Conv", 11, {x, w4}, {ints("pads", {1, 1})}).is_ok());                    // wrong pads length
  CHECK(!run_op("Conv", 11, {x, w4, f32({3}, {1, 2, 3})}).is_ok());                       // bias length
  CHECK(!run_op("Conv", 11, {x, f32({1, 4, 5, 5}, std::vector<float>(100, 1.f))}).is_ok());  // kernel > input
  CHECK(!run_op("Conv", 11, {x, w4}, {ints("kernel_shape", {2, 2})}).is_ok());
  CHECK(!run_op("Conv", 11, {x, w4}, {str("auto_pad", "SAME")}).is_ok());
}

TEST_CASE("ConvTranspose matches a direct scatter") {
  struct Case {
    const char* label;
    int64_t c, m, group;
    std::vector<int64_t> in, k, s, d, pb, pe, op;
  };
  const Case cases[] = {
      {"plain", 1, 2, 1, {3, 3}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, {0, 0}},
      {"strided padded", 2, 3, 1, {3, 4}, {3, 2}, {3, 2}, {1, 1}, {1, 0}, {2, 1}, {0, 0}},
      {"output_padding dilated", 2, 2, 1, {3, 3}, {2, 3}, {2, 2}, {2, 1}, {0, 1}, {0, 0}, {1, 1}},
      {"grouped", 4, 6, 2, {4, 3}, {2, 2}, {2, 1}, {1, 1}, {0, 0}, {0, 0}, {0, 0}},
      {"1-D", 1, 1, 1, {5}, {3}, {2}, {1}, {0}, {0}, {1}},
  };
  for (const Case& cc : cases) {
    INFO(cc.label);
    const size_t r = cc.in.size();
    std::vector<int64_t> xd{1, cc.c}, wd{cc.c, cc.m / cc.group};
    xd.insert(xd.end(), cc.in.begin(), cc.in.end());
    wd.insert(wd.end(), cc.k.begin(), cc.k.end());
    auto x = random_floats(static_cast<size_t>(numel(xd)), 11);
    auto w = random_floats(static_cast<size_t>(numel(wd)), 12);
    auto b = random_floats(static_cast<size_t>(cc.m), 13);
    std::vector<int64_t> od;
    for (size_t i = 0; i < r; ++i)
      od.push_back(cc.s[i] * (cc.in[i] - 1) + cc.op[i] + (cc.k[i] - 1) * cc.d[i] + 1 - cc.pb[i] - cc.pe[i]);
    // Naive scatter over up to 2 spatial dims (1-D as 1 x W).
    auto pad2 = [&](std::vector<int64_t> v, int64_t fill) {
      if (v.size() == 1) v.insert(v.begin(), fill);
      return v;
    };
    auto in2 = pad2(cc.in, 1), k2 = pad2(cc.k, 1), s2 = pad2(cc.s, 1), d2 = pad2(cc.d, 1), pb2 = pad2(cc.pb, 0),
         od2 = pad2(od, 1);
    const int64_t cg = cc.c / cc.group, mg = cc.m / cc.group;
    std::vector<double> want(static_cast<size_t>(cc.m * od2[0] * od2[1]));
    for (int64_t m = 0; m < cc.m; ++m)
      for (int64_t i = 0; i < od2[0] * od2[1]; ++i) want[static_cast<size_t>(m * od2[0] * od2[1] + i)] = b[m];
    for (int64_t ic = 0; ic < cc.c; ++ic)
      for (int64_t i0 = 0; i0 < in2[0]; ++i0)
        for (int64_t i1 = 0; i1 < in2[1]; ++i1)
          for (int64_t mm = 0; mm < mg; ++mm)
            for (int64_t k0 = 0; k0 < k2[0]; ++k0)
              for (int64_t k1 = 0; k1 < k2[1]; ++k1) {
                const int64_t o0 = i0 * s2[0] - pb2[0] + k0 * d2[0], o1 = i1 * s2[1] - pb2[1] + k1 * d2[1];
                if (o0 < 0 || o0 >= od2[0] || o1 < 0 || o1 >= od2[1]) continue;
                const int64_t m = (ic / cg) * mg + mm;
                want[static_cast<size_t>((m * od2[0] + o0) * od2[1] + o1)] +=
                    x[static_cast<size_t>((ic * in2[0] + i0) * in2[1] + i1)] *
                    w[static_cast<size_t>(((ic * mg + mm) * k2[0] + k0) * k2[1] + k1)];
              }
    std::vector<int64_t> pads = cc.pb;
    pads.insert(pads.end(), cc.pe.begin(), cc.pe.end());
    std::vector<int64_t> dims;
    auto got = run_f32("ConvTranspose", 11, {f32(xd, x), f32(wd, w), f32({cc.m}, b)},
                       {ints("strides", cc.s), ints("dilations", cc.d), ints("pads", pads), one("group", cc.group),
                        ints("output_padding", cc.op)},
                       &dims);
    std::vector<int64_t> want_dims{1, cc.m};
    want_dims.insert(want_dims.end(), od.begin(), od.end());
    CHECK(dims == want_dims);
    check_close(got, std::vector<float>(want.begin(), want.end()));
  }
}

TEST_CASE("ConvTranspose output_shape and auto_pad place the padding as the spec says") {
  std::vector<float> x{0, 1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> w(9, 1.f);
  // Full 1-D result of x row 0 with stride 2, kernel 3: [0, 0, 1, 1, 3, 2, 2] (length 7).
  std::vector<int64_t> dims;
  auto same = run_f32("ConvTranspose", 11, {f32({1, 1, 9}, x), f32({1, 1, 3}, {1, 1, 1})},
                      {str("auto_pad", "SAME_UPPER"), ints("strides", {2})}, &dims);
  CHECK(dims == std::vector<int64_t>{1, 1, 18});
  // total padding 1: SAME_UPPER pads the end, so output starts with the full result's first value.
  CHECK(same[0] == 0.f);
  CHECK(same[2] == 1.f);
  auto shaped = run_f32("ConvTranspose", 11, {f32({1, 1, 3, 3}, x), f32({1, 1, 3, 3}, w)},
                        {ints("strides", {3, 2}), ints("output_shape", {10, 8})}, &dims);
  CHECK(dims == std::vector<int64_t>{1, 1, 10, 8});
  CHECK(shaped[0 * 8 + 2] == 1.f);  // row 0: 0 0 1 1 3 2 2 0
  CHECK(shaped[0 * 8 + 7] == 0.f);
  CHECK(shaped[9 * 8 + 0] == 0.f);  // extra last row
  CHECK(!run_op("ConvTranspose", 11, {f32({1, 2, 3, 3}, std::vector<float>(18, 1.f)), f32({1, 1, 3, 3}, w)}).is_ok());
}

TEST_CASE("ConvInteger and QLinearConv") {
  // x - 1 = [[0, 1], [2, 3]]; w - [0] * 1x1 kernel of 2 => doubles.
  auto r = run_op("ConvInteger", 10, {u8({1, 1, 2, 2}, {1, 2, 3, 4}), u8({1, 1, 1, 1}, {2}), u8({}, {1})});
  REQUIRE(r.is_ok());
  CHECK(values<int32_t>((*r)[0]) == std::vector<int32_t>{0, 2, 4, 6});
  // Padding reads the zero point: pads of 1 around a 1x1 input with a 3x3 kernel of ones.
  r = run_op("ConvInteger", 10, {u8({1, 1, 1, 1}, {7}), u8({1, 1, 3, 3}, std::vector<uint8_t>(9, 1)), u8({}, {5})},
           {ints("pads", {1, 1, 1, 1})});
  REQUIRE(r.is_ok());
  CHECK(values<int32_t>((*r)[0]) == std::vector<int32_t>{2});
  // Per-channel weight zero points.
  r = run_op("ConvInteger", 10,
           {i8({1, 1, 1, 2}, {3, -2}), i8({2, 1, 1, 1}, {1, 5}), RValue(), i8({2}, {0, 2})});
  REQUIRE(r.is_ok());
  CHECK(values<int32_t>((*r)[0]) == std::vector<int32_t>{3, -2, 9, -6});

  // QLinearConv against a float computation with rounding half to even.
  std::vector<uint8_t> xq{10, 20, 30, 40, 50, 60, 70, 80, 90};
  std::vector<int8_t> wq{1, -2, 3, -4, 5, -6, 7, -8};  // 2 output channels, 2x2 kernels
  const float xs = 0.5f, ys = 0.25f;
  const std::vector<float> wsc{0.1f, 0.2f};
  const uint8_t xz = 12, yz = 100;
  const std::vector<int8_t> wz{1, -1};
  const std::vector<int32_t> bias{7, -30};
  r = run_op("QLinearConv", 10,
           {u8({1, 1, 3, 3}, xq), f32({}, {xs}), u8({}, {xz}), i8({2, 1, 2, 2}, wq), f32({2}, wsc), i8({2}, wz),
            f32({}, {ys}), u8({}, {yz}), make<int32_t>(DType::Int32, {2}, bias)});
  INFO(r.status().message());
  REQUIRE(r.is_ok());
  auto got = values<uint8_t>((*r)[0]);
  REQUIRE(got.size() == 8);
  for (int m = 0; m < 2; ++m)
    for (int oy = 0; oy < 2; ++oy)
      for (int ox = 0; ox < 2; ++ox) {
        int32_t acc = bias[m];
        for (int ky = 0; ky < 2; ++ky)
          for (int kx = 0; kx < 2; ++kx)
            acc += (xq[(oy + ky) * 3 + ox + kx] - xz) * (wq[m * 4 + ky * 2 + kx] - wz[m]);
        float v = std::nearbyint(static_cast<float>(acc) * (xs * wsc[m] / ys)) + yz;
        v = std::min(255.f, std::max(0.f, v));
        CHECK(got[static_cast<size_t>(m * 4 + oy * 2 + ox)] == static_cast<uint8_t>(v));
      }
  // A zero point of the wrong type is refused.
  CHECK(!run_op("ConvInteger", 10, {u8({1, 1, 2, 2}, {1, 2, 3, 4}), u8({1, 1, 1, 1}, {2}), i8({}, {1})}).is_ok());
}

// The kernel multiplies in float a chunk of K = C x kh x kw at a time, each chunk small enough to be
// exact: at the extreme values (255 - 0 times -128 - 127) K = 72 x 3 x 3 = 648 needs two chunks, and
// groups, strides and padding (which reads the zero point) go through the same path. Against int64 loops.
TEST_CASE("ConvInteger is exact for large kernels at extreme values, with groups, strides and padding") {
  std::mt19937 rng(5);
  for (int variant = 0; variant < 3; ++variant) {
    const int64_t c = 72, m = 4, h = 6, w = 5, group = variant == 2 ? 2 : 1, stride = variant == 1 ? 2 : 1;
    std::vector<uint8_t> x(static_cast<size_t>(c * h * w));
    std::vector<int8_t> wt(static_cast<size_t>(m * (c / group) * 9));
    for (auto& v : x) v = variant == 0 ? 255 : static_cast<uint8_t>(rng() % 256);
    for (auto& v : wt) v = variant == 0 ? -128 : static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    const uint8_t xz = variant == 0 ? 0 : 77;
    const int8_t wz = variant == 0 ? 127 : -3;
    auto r = run_op("ConvInteger", 10, {u8({1, c, h, w}, x), i8({m, c / group, 3, 3}, wt), u8({}, {xz}), i8({}, {wz})},
                    {ints("pads", {1, 1, 1, 1}), ints("strides", {stride, stride}), one("group", group)});
    REQUIRE(r.is_ok());
    const auto got = values<int32_t>((*r)[0]);
    const int64_t oh = (h + 2 - 3) / stride + 1, ow = (w + 2 - 3) / stride + 1, cg = c / group, mg = m / group;
    REQUIRE(got.size() == static_cast<size_t>(m * oh * ow));
    int64_t wrong = 0;
    for (int64_t o = 0; o < m; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xx = 0; xx < ow; ++xx) {
          int64_t s = 0;
          const int64_t g = o / mg;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t ky = 0; ky < 3; ++ky)
              for (int64_t kx = 0; kx < 3; ++kx) {
                const int64_t iy = y * stride + ky - 1, ix = xx * stride + kx - 1;
                const int64_t xv = iy < 0 || iy >= h || ix < 0 || ix >= w
                                       ? 0
                                       : int64_t{x[static_cast<size_t>(((g * cg + ci) * h + iy) * w + ix)]} - xz;
                s += xv * (int64_t{wt[static_cast<size_t>(((o * cg + ci) * 3 + ky) * 3 + kx)]} - wz);
              }
          wrong += got[static_cast<size_t>((o * oh + y) * ow + xx)] != static_cast<int32_t>(s);
        }
    INFO("variant " << variant);
    CHECK(wrong == 0);
  }
}

TEST_CASE("MaxPool values, indices, storage_order, ceil_mode and dilations") {
  std::vector<float> x;
  for (int i = 0; i < 16; ++i) x.push_back(static_cast<float>((i * 7) % 16));
  // x (4x4): 0 7 14 5 / 12 3 10 1 / 8 15 6 13 / 4 11 2 9
  auto r = run_op("MaxPool", 12, {f32({1, 1, 4, 4}, x)}, {ints("kernel_shape", {2, 2}), ints("strides", {2, 2})}, 2);
  REQUIRE(r.is_ok());
  CHECK(values<float>((*r)[0]) == std::vector<float>{12, 14, 15, 13});
  CHECK(values<int64_t>((*r)[1]) == std::vector<int64_t>{4, 2, 9, 11});
  r = run_op("MaxPool", 12, {f32({1, 1, 4, 4}, x)},
           {ints("kernel_shape", {2, 2}), ints("strides", {2, 2}), one("storage_order", 1)}, 2);
  REQUIRE(r.is_ok());
  CHECK(values<int64_t>((*r)[1]) == std::vector<int64_t>{1, 8, 6, 14});  // column-major: h + w * 4
  // Batch/channel offsets are part of the index.
  std::vector<float> x2(x);
  x2.insert(x2.end(), x.begin(), x.end());
  r = run_op("MaxPool", 12, {f32({1, 2, 4, 4}, x2)}, {ints("kernel_shape", {4, 4})}, 2);
  REQUIRE(r.is_ok());
  CHECK(values<int64_t>((*r)[1]) == std::vector<int64_t>{9, 25});
  // ceil_mode: 4 wide, kernel 3, stride 2 -> 2 outputs (floor mode: 1).
  std::vector<int64_t> dims;
  auto y = run_f32("MaxPool", 12, {f32({1, 1, 4, 4}, x)},
                   {ints("kernel_shape", {3, 3}), ints("strides", {2, 2}), one("ceil_mode", 1)}, &dims);
  CHECK(dims == std::vector<int64_t>{1, 1, 2, 2});
  CHECK(y == std::vector<float>{15, 14, 15, 13});
  // Dilation 2 with kernel 2 covers positions 0 and 2.
  y = run_f32("MaxPool", 12, {f32({1, 1, 4, 4}, x)}, {ints("kernel_shape", {2, 2}), ints("dilations", {2, 2})}, &dims);
  CHECK(dims == std::vector<int64_t>{1, 1, 2, 2});
  CHECK(y == std::vector<float>{14, 15, 12, 11});
  // int8 with padding: padded taps never win.
  auto ri = run_op("MaxPool", 12, {i8({1, 1, 1, 3}, {-5, -7, -3})},
                 {ints("kernel_shape", {1, 2}), ints("pads", {0, 1, 0, 0})});
  REQUIRE(ri.is_ok());
  CHECK(values<int8_t>((*ri)[0]) == std::vector<int8_t>{-5, -5, -3});
  CHECK(!run_op("MaxPool", 12, {f32({1, 1, 4, 4}, x)}).is_ok());  // kernel_shape missing
  CHECK(!run_op("MaxPool", 12, {f32({1, 1, 4, 4}, x)}, {ints("kernel_shape", {2})}).is_ok());
}

TEST_CASE("AveragePool count_include_pad and LpPool") {
  std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto excl = run_f32("AveragePool", 11, {f32({1, 1, 3, 3}, x)}, {ints("kernel_shape", {2, 2}), ints("pads", {1, 1, 0, 0})});
  // Top-left window holds only x[0]; with count_include_pad it is divided by 4.
  INFO(fmt::format("{}", fmt::join(excl, ",")));
  CHECK(excl[0] == doctest::Approx(1.0));
  CHECK(excl[4] == doctest::Approx((1 + 2 + 4 + 5) / 4.0));
  auto incl = run_f32("AveragePool", 11, {f32({1, 1, 3, 3}, x)},
                      {ints("kernel_shape", {2, 2}), ints("pads", {1, 1, 0, 0}), one("count_include_pad", 1)});
  CHECK(incl[0] == doctest::Approx(0.25));
  CHECK(incl[1] == doctest::Approx((1 + 2) / 4.0));
  // ceil_mode windows hanging past the input count only the input (and pads) they cover.
  auto ceil = run_f32("AveragePool", 11, {f32({1, 1, 3, 3}, x)},
                      {ints("kernel_shape", {2, 2}), ints("strides", {2, 2}), one("ceil_mode", 1)});
  CHECK(ceil == std::vector<float>{3, 4.5f, 7.5f, 9});
  auto lp = run_f32("LpPool", 11, {f32({1, 1, 1, 4}, {3, 4, 1, 1})}, {ints("kernel_shape", {1, 2}),
                                                                      ints("strides", {1, 2}), one("p", 2)});
  CHECK(lp[0] == doctest::Approx(5.0));
  CHECK(lp[1] == doctest::Approx(std::sqrt(2.0)));
  // LpPool-1 has a float p.
  auto lp1 = run_f32("LpPool", 1, {f32({1, 1, 1, 2}, {3, 4})}, {ints("kernel_shape", {1, 2}), flt("p", 1.f)});
  CHECK(lp1[0] == doctest::Approx(7.0));
}

TEST_CASE("Global pools") {
  std::vector<float> x{1, -2, 3, 4, 5, -6, 7, 8};
  std::vector<int64_t> dims;
  auto avg = run_f32("GlobalAveragePool", 1, {f32({1, 2, 2, 2}, x)}, {}, &dims);
  CHECK(dims == std::vector<int64_t>{1, 2, 1, 1});
  CHECK(avg == std::vector<float>{1.5f, 3.5f});
  CHECK(run_f32("GlobalMaxPool", 1, {f32({1, 2, 2, 2}, x)}, {}) == std::vector<float>{4, 8});
  auto lp = run_f32("GlobalLpPool", 2, {f32({1, 1, 2}, {3, -4})}, {one("p", 2)});
  CHECK(lp[0] == doctest::Approx(5.0));
}

TEST_CASE("MaxUnpool scatters MaxPool's values back") {
  std::vector<float> x{1, 9, 2, 3, 4, 5, 8, 6, 7, 0, 1, 2, 3, 4, 5, 11};
  auto r = run_op("MaxPool", 12, {f32({1, 1, 4, 4}, x)}, {ints("kernel_shape", {2, 2}), ints("strides", {2, 2})}, 2);
  REQUIRE(r.is_ok());
  std::vector<int64_t> dims;
  auto y = run_f32("MaxUnpool", 11, {(*r)[0], (*r)[1]}, {ints("kernel_shape", {2, 2}), ints("strides", {2, 2})}, &dims);
  CHECK(dims == std::vector<int64_t>{1, 1, 4, 4});
  std::vector<float> want(16, 0.f);
  want[1] = 9;
  want[6] = 8;
  want[8] = 7;
  want[15] = 11;
  CHECK(y == want);
  // A larger output_shape pads the unpooled 4x4 result at the end (ONNX reference semantics).
  y = run_f32("MaxUnpool", 11, {(*r)[0], (*r)[1], i64({4}, {1, 1, 5, 5})},
              {ints("kernel_shape", {2, 2}), ints("strides", {2, 2})}, &dims);
  CHECK(dims == std::vector<int64_t>{1, 1, 5, 5});
  std::vector<float> want5(25, 0.f);
  want5[0 * 5 + 1] = 9;
  want5[1 * 5 + 2] = 8;
  want5[2 * 5 + 0] = 7;
  want5[3 * 5 + 3] = 11;
  CHECK(y == want5);
  CHECK(!run_op("MaxUnpool", 11, {(*r)[0], (*r)[1], i64({4}, {1, 1, 3, 5})},
              {ints("kernel_shape", {2, 2}), ints("strides", {2, 2})})
             .is_ok());
  // Out-of-range index.
  CHECK(!run_op("MaxUnpool", 11, {f32({1, 1, 1, 1}, {1}), i64({1, 1, 1, 1}, {4})}, {ints("kernel_shape", {2, 2})})
             .is_ok());
}

TEST_CASE("Resize and Upsample") {
  std::vector<float> x{1, 2, 3, 4};
  std::vector<int64_t> dims;
  // Nearest 2x, asymmetric + floor.
  auto y = run_f32("Resize", 13, {f32({1, 1, 2, 2}, x), RValue(), f32({4}, {1, 1, 2, 2})},
                   {str("coordinate_transformation_mode", "asymmetric"), str("nearest_mode", "floor")}, &dims);
  CHECK(dims == std::vector<int64_t>{1, 1, 4, 4});
  CHECK(y == std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  // Bilinear half_pixel 2x on one row: x_orig = (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped.
  y = run_f32("Resize", 13, {f32({1, 2}, {1, 3}), RValue(), f32({2}, {1, 2})}, {str("mode", "linear")}, &dims);
  check_close(y, {1, 1.5f, 2.5f, 3});
  // align_corners with sizes: 2 -> 3 maps to 0, 0.5, 1.
  y = run_f32("Resize", 13, {f32({1, 2}, {1, 3}), RValue(), RValue(), i64({2}, {1, 3})},
              {str("mode", "linear"), str("coordinate_transformation_mode", "align_corners")});
  check_close(y, {1, 2, 3});
  // Cubic at integer positions reproduces the input (asymmetric, scale 1 on rows, 2 on columns: even outputs).
  y = run_f32("Resize", 13, {f32({1, 4}, {1, 5, 2, 7}), RValue(), f32({2}, {1, 2})},
              {str("mode", "cubic"), str("coordinate_transformation_mode", "asymmetric")});
  REQUIRE(y.size() == 8);
  CHECK(y[0] == doctest::Approx(1));
  CHECK(y[2] == doctest::Approx(5));
  CHECK(y[4] == doctest::Approx(2));
  // tf_crop_and_resize outside the roi gives extrapolation_value.
  y = run_f32("Resize", 11,
              {f32({1, 2}, {1, 3}), f32({4}, {0, 0, 1, 1.5f}), f32({0}, {}), i64({2}, {1, 3})},
              {str("mode", "linear"), str("coordinate_transformation_mode", "tf_crop_and_resize"),
               flt("extrapolation_value", -7.f)});
  check_close(y, {1, 2.5f, -7});
  // Upsample-7 (attribute scales) and Upsample-9 (input scales), nearest.
  y = run_f32("Upsample", 7, {f32({1, 2}, {1, 3})}, {floats("scales", {1, 2})});
  CHECK(y == std::vector<float>{1, 1, 3, 3});
  y = run_f32("Upsample", 9, {f32({1, 2}, {1, 3}), f32({2}, {1, 3})}, {});
  CHECK(y == std::vector<float>{1, 1, 1, 3, 3, 3});
  // Linear Upsample is asymmetric: x_orig = o / 2.
  y = run_f32("Upsample", 9, {f32({1, 2}, {1, 3}), f32({2}, {1, 2})}, {str("mode", "linear")});
  check_close(y, {1, 2, 3, 3});
  // Integer nearest.
  auto ri = run_op("Resize", 13, {u8({1, 2}, {5, 9}), RValue(), f32({2}, {1, 2})});
  REQUIRE(ri.is_ok());
  CHECK(values<uint8_t>((*ri)[0]) == std::vector<uint8_t>{5, 5, 9, 9});
  // Errors: both scales and sizes, wrong lengths, bad mode.
  CHECK(!run_op("Resize", 13, {f32({1, 2}, {1, 3}), RValue(), f32({2}, {1, 2}), i64({2}, {1, 4})}).is_ok());
  CHECK(!run_op("Resize", 13, {f32({1, 2}, {1, 3}), RValue(), f32({3}, {1, 2, 2})}).is_ok());
  CHECK(!run_op("Resize", 13, {f32({1, 2}, {1, 3}), RValue(), f32({2}, {1, -2})}).is_ok());
  CHECK(!run_op("Resize", 13, {f32({1, 2}, {1, 3}), RValue(), f32({2}, {1, 2})}, {str("mode", "area")}).is_ok());
  CHECK(!run_op("Resize", 13, {f32({1, 2}, {1, 3})}).is_ok());
}

TEST_CASE("DepthToSpace and SpaceToDepth") {
  std::vector<float> x;
  for (int i = 0; i < 8; ++i) x.push_back(static_cast<float>(i));
  // 1 x 4 x 1 x 2, blocksize 2 -> 1 x 1 x 2 x 4.
  std::vector<int64_t> dims;
  auto dcr = run_f32("DepthToSpace", 13, {f32({1, 4, 1, 2}, x)}, {one("blocksize", 2)}, &dims);
  CHECK(dims == std::vector<int64_t>{1, 1, 2, 4});
  // DCR: out[0, 0, i, w*2 + j] = in[(i*2 + j), 0, w]
  CHECK(dcr == std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7});
  auto crd = run_f32("DepthToSpace", 13, {f32({1, 4, 1, 2}, x)}, {one("blocksize", 2), str("mode", "CRD")});
  CHECK(crd == std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7});  // one output channel: CRD equals DCR
  std::vector<float> x16;
  for (int i = 0; i < 16; ++i) x16.push_back(static_cast<float>(i));
  auto s2d = run_f32("SpaceToDepth", 13, {f32({1, 1, 4, 4}, x16)}, {one("blocksize", 2)}, &dims);
  CHECK(dims == std::vector<int64_t>{1, 4, 2, 2});
  auto back = run_f32("DepthToSpace", 13, {f32(dims, s2d)}, {one("blocksize", 2)});
  CHECK(back == x16);
  // CRD with two output channels.
  auto crd2 = run_f32("DepthToSpace", 13, {f32({1, 8, 1, 1}, x)}, {one("blocksize", 2), str("mode", "CRD")}, &dims);
  CHECK(dims == std::vector<int64_t>{1, 2, 2, 2});
  CHECK(crd2 == x);
  auto dcr2 = run_f32("DepthToSpace", 13, {f32({1, 8, 1, 1}, x)}, {one("blocksize", 2)});
  CHECK(dcr2 == std::vector<float>{0, 2, 4, 6, 1, 3, 5, 7});
  CHECK(!run_op("SpaceToDepth", 13, {f32({1, 1, 3, 4}, std::vector<float>(12))}, {one("blocksize", 2)}).is_ok());
  CHECK(!run_op("DepthToSpace", 13, {f32({1, 3, 1, 1}, {1, 2, 3})}, {one("blocksize", 2)}).is_ok());
}

TEST_CASE("GridSample") {
  std::vector<float> x{1, 2, 3, 4, 5, 6};  // 2 x 3
  // align_corners=1 identity grid reproduces the input.
  std::vector<float> grid;
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) {
      grid.push_back(-1.f + static_cast<float>(c));
      grid.push_back(-1.f + 2.f * static_cast<float>(r));
    }
  auto y = run_f32("GridSample", 16, {f32({1, 1, 2, 3}, x), f32({1, 2, 3, 2}, grid)}, {one("align_corners", 1)});
  check_close(y, x);
  y = run_f32("GridSample", 16, {f32({1, 1, 2, 3}, x), f32({1, 2, 3, 2}, grid)},
              {one("align_corners", 1), str("mode", "bicubic")});
  check_close(y, x);
  // Midpoint between the two rows of the first column; outside the image zeros vs border.
  y = run_f32("GridSample", 16, {f32({1, 1, 2, 3}, x), f32({1, 1, 2, 2}, {-1, 0, -3, -1})}, {one("align_corners", 1)});
  check_close(y, {2.5f, 0});
  y = run_f32("GridSample", 16, {f32({1, 1, 2, 3}, x), f32({1, 1, 2, 2}, {-1, 0, -3, -1})},
              {one("align_corners", 1), str("padding_mode", "border")});
  check_close(y, {2.5f, 1});
  CHECK(!run_op("GridSample", 16, {f32({1, 1, 2, 3}, x), f32({1, 1, 2, 3}, std::vector<float>(6))}).is_ok());
}

TEST_CASE("RoiAlign and MaxRoiPool") {
  std::vector<float> x;
  for (int i = 0; i < 16; ++i) x.push_back(static_cast<float>(i));
  // output_half_pixel, ROI (0,0)-(2,2), 1x1 output, 2x2 samples at 0.5/1.5: bilinear means 2.5, 3.5, 6.5, 7.5 -> 5.
  auto y = run_f32("RoiAlign", 10, {f32({1, 1, 4, 4}, x), f32({1, 4}, {0, 0, 2, 2}), i64({1}, {0})},
                   {one("sampling_ratio", 2)});
  check_close(y, {5});
  // half_pixel shifts the ROI back by half a pixel: the same samples.
  y = run_f32("RoiAlign", 16, {f32({1, 1, 4, 4}, x), f32({1, 4}, {0.5f, 0.5f, 2.5f, 2.5f}), i64({1}, {0})},
              {one("sampling_ratio", 2)});
  check_close(y, {5});
  // max mode takes the largest weighted corner value of any sample, as ONNX Runtime: 0.25 * 10.
  y = run_f32("RoiAlign", 16, {f32({1, 1, 4, 4}, x), f32({1, 4}, {0.5f, 0.5f, 2.5f, 2.5f}), i64({1}, {0})},
              {one("sampling_ratio", 2), str("mode", "max")});
  check_close(y, {2.5f});
  CHECK(!run_op("RoiAlign", 16, {f32({1, 1, 4, 4}, x), f32({1, 4}, {0, 0, 1, 1}), i64({1}, {1})}).is_ok());
  // MaxRoiPool: ROI columns 1..2, rows 0..3 of batch 0, 2x1 bins.
  y = run_f32("MaxRoiPool", 1, {f32({1, 1, 4, 4}, x), f32({1, 5}, {0, 1, 0, 2, 3})}, {ints("pooled_shape", {2, 1})});
  check_close(y, {6, 14});
  CHECK(!run_op("MaxRoiPool", 1, {f32({1, 1, 4, 4}, x), f32({1, 5}, {3, 1, 0, 2, 3})}, {ints("pooled_shape", {2, 1})})
             .is_ok());
}

TEST_CASE("Col2Im inverts an im2col of disjoint blocks") {
  // 1 channel 2x4 image split into 2x2 blocks with stride 2: columns are the blocks.
  std::vector<float> cols{0, 2, 1, 3, 4, 6, 5, 7};  // rows: block tap (ky, kx), columns: block index
  std::vector<int64_t> dims;
  auto y = run_f32("Col2Im", 18, {f32({1, 4, 2}, cols), i64({2}, {2, 4}), i64({2}, {2, 2})}, {ints("strides", {2, 2})},
                   &dims);
  CHECK(dims == std::vector<int64_t>{1, 1, 2, 4});
  CHECK(y == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
}
