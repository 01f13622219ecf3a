// Unit tests of the linalg-family kernels: MatMul, Gemm, MatMulInteger, QLinearMatMul, Einsum,
// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear and Det, against naive loops and hand values.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/half.h"
#include "runtime/session.h"
#include "tests/runtime/kernel_test_util.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::kernel_test;

namespace {

ir::Attribute attr_i(const std::string& n, int64_t v) { return ir::Attribute::make_int(n, v); }
ir::Attribute attr_f(const std::string& n, float v) { return ir::Attribute::make_float(n, v); }
ir::Attribute attr_s(const std::string& n, const std::string& v) { return ir::Attribute::make_string(n, v); }

RValue out(Result<std::vector<RValue>> r, size_t i = 0) {
  if (!r.is_ok()) FAIL(r.status().message());
  REQUIRE(r->size() > i);
  return (*r)[i];
}

void check_close(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-5) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << " got " << got[i] << " want " << want[i]);
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol));
  }
}

// C[M,N] = A[M,K] * B[K,N], row-major, in double.
std::vector<double> naive_mm(const float* a, const float* b, int M, int K, int N) {
  std::vector<double> c(static_cast<size_t>(M * N), 0.0);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n)
      for (int k = 0; k < K; ++k) c[static_cast<size_t>(m * N + n)] += double(a[m * K + k]) * b[k * N + n];
  return c;
}

}  // namespace

TEST_CASE("MatMul: 2-D, broadcast batches, 1-D operands") {
  auto a = random_floats(2 * 3 * 4, 1, -1.0f, 1.0f), b = random_floats(3 * 4 * 5, 2, -1.0f, 1.0f);
  // [3,4] x [4,5]
  RValue r = out(run1("MatMul", 13, {f32({3, 4}, std::vector<float>(a.begin(), a.begin() + 12)),
                                     f32({4, 5}, std::vector<float>(b.begin(), b.begin() + 20))}));
  CHECK(r.tensor.dims() == std::vector<int64_t>{3, 5});
  check_close(values<float>(r), naive_mm(a.data(), b.data(), 3, 4, 5));
  // [2,1,3,4] x [3,4,5] -> [2,3,3,5]
  RValue br = out(run1("MatMul", 13, {f32({2, 1, 3, 4}, a), f32({3, 4, 5}, b)}));
  CHECK(br.tensor.dims() == std::vector<int64_t>{2, 3, 3, 5});
  std::vector<double> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      auto c = naive_mm(a.data() + i * 12, b.data() + j * 20, 3, 4, 5);
      want.insert(want.end(), c.begin(), c.end());
    }
  check_close(values<float>(br), want);
  // [4] x [3,4,5] -> [3,5];  [2,3,4] x [4] -> [2,3]
  RValue v1 = out(run1("MatMul", 13, {f32({4}, std::vector<float>(a.begin(), a.begin() + 4)), f32({3, 4, 5}, b)}));
  CHECK(v1.tensor.dims() == std::vector<int64_t>{3, 5});
  RValue v2 = out(run1("MatMul", 13, {f32({2, 3, 4}, a), f32({4}, std::vector<float>(b.begin(), b.begin() + 4))}));
  CHECK(v2.tensor.dims() == std::vector<int64_t>{2, 3});
  check_close(values<float>(v2), naive_mm(a.data(), b.data(), 6, 4, 1));
  // 1-D x 1-D -> scalar
  RValue dot = out(run1("MatMul", 13, {f32({3}, {1, 2, 3}), f32({3}, {4, 5, 6})}));
  CHECK(dot.tensor.dims().empty());
  CHECK(values<float>(dot) == std::vector<float>{32});
  // Mismatches are errors naming the node.
  auto bad = run1("MatMul", 13, {f32({2, 3}, std::vector<float>(6, 1)), f32({4, 2}, std::vector<float>(8, 1))});
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().message().find("'n'") != std::string::npos);
  CHECK_FALSE(run1("MatMul", 13, {f32({2, 3, 4}, a), f32({3, 4, 5}, std::vector<float>(60, 1))}).is_ok());
}

TEST_CASE("MatMul: integer and float16 element types") {
  RValue r = out(run1("MatMul", 13, {i32({2, 2}, {1, 2, 3, 4}), i32({2, 2}, {5, 6, 7, 8})}));
  CHECK(values<int32_t>(r) == std::vector<int32_t>{19, 22, 43, 50});
  Tensor ha(DType::Float16, {1, 2}), hb(DType::Float16, {2, 1});
  ha.mutable_data<Float16>()[0] = Float16(1.5f);
  ha.mutable_data<Float16>()[1] = Float16(2.0f);
  hb.mutable_data<Float16>()[0] = Float16(4.0f);
  hb.mutable_data<Float16>()[1] = Float16(0.25f);
  RValue h = out(run1("MatMul", 13, {ha, hb}));
  CHECK(static_cast<float>(h.tensor.data<Float16>()[0]) == 6.5f);
}

TEST_CASE("Gemm: transposes, alpha, beta, C broadcasting and optional C") {
  auto a = random_floats(12, 3, -1.0f, 1.0f), b = random_floats(20, 4, -1.0f, 1.0f);
  // A stored [K=4, M=3] (transA), B stored [N=5, K=4] (transB).
  std::vector<float> at(12), bt(20);
  for (int m = 0; m < 3; ++m)
    for (int k = 0; k < 4; ++k) at[static_cast<size_t>(k * 3 + m)] = a[static_cast<size_t>(m * 4 + k)];
  for (int k = 0; k < 4; ++k)
    for (int n = 0; n < 5; ++n) bt[static_cast<size_t>(n * 4 + k)] = b[static_cast<size_t>(k * 5 + n)];
  const auto p = naive_mm(a.data(), b.data(), 3, 4, 5);
  const std::vector<float> c = {1, 2, 3, 4, 5};
  RValue r = out(run1("Gemm", 13, {f32({4, 3}, at), f32({5, 4}, bt), f32({1, 5}, c)}, 1,
                      {attr_i("transA", 1), attr_i("transB", 1), attr_f("alpha", 0.5f), attr_f("beta", 2.0f)}));
  std::vector<double> want;
  for (int m = 0; m < 3; ++m)
    for (int n = 0; n < 5; ++n) want.push_back(0.5 * p[static_cast<size_t>(m * 5 + n)] + 2.0 * c[static_cast<size_t>(n)]);
  check_close(values<float>(r), want);
  // Scalar C, no C, column C [3,1].
  RValue s = out(run1("Gemm", 13, {f32({3, 4}, a), f32({4, 5}, b), f32({}, {1})}));
  for (size_t i = 0; i < want.size(); ++i) want[i] = p[i] + 1;
  check_close(values<float>(s), want);
  RValue n = out(run1("Gemm", 13, {f32({3, 4}, a), f32({4, 5}, b)}));
  check_close(values<float>(n), p);
  RValue col = out(run1("Gemm", 13, {f32({3, 4}, a), f32({4, 5}, b), f32({3, 1}, {10, 20, 30})}));
  for (size_t i = 0; i < want.size(); ++i) want[i] = p[i] + 10.0 * static_cast<double>(i / 5 + 1);
  check_close(values<float>(col), want);
  CHECK_FALSE(run1("Gemm", 13, {f32({3, 4}, a), f32({4, 5}, b), f32({2, 5}, std::vector<float>(10, 0))}).is_ok());
  CHECK_FALSE(run1("Gemm", 13, {f32({3, 4}, a), f32({5, 4}, b)}).is_ok());
}

TEST_CASE("MatMulInteger and QLinearMatMul apply zero points and requantize") {
  // (A - 1) = [[0, 1], [2, 3]]; B = ones; int32 products.
  RValue r = out(run1("MatMulInteger", 10, {u8({2, 2}, {1, 2, 3, 4}), u8({2, 2}, {1, 1, 1, 1}), u8({}, {1}), u8({}, {0})}));
  CHECK(r.tensor.dtype() == DType::Int32);
  CHECK(values<int32_t>(r) == std::vector<int32_t>{1, 1, 5, 5});
  // int8 B with a per-column zero point.
  RValue r2 = out(run1("MatMulInteger", 10, {u8({1, 2}, {3, 4}), i8({2, 2}, {-1, 2, 0, 5}), RValue(), i8({2}, {1, 2})}));
  CHECK(values<int32_t>(r2) == std::vector<int32_t>{3 * -2 + 4 * -1, 3 * 0 + 4 * 3});
  // a = [2, 4] * 0.5 = [1, 2]; b = [2, 2]^T * 1; y = 6 / 2 + 1 = 4.
  RValue q = out(run1("QLinearMatMul", 10, {u8({1, 2}, {2, 4}), f32({}, {0.5f}), u8({}, {0}), u8({2, 1}, {2, 2}),
                                            f32({}, {1}), u8({}, {0}), f32({}, {2}), u8({}, {1})}));
  CHECK(values<uint8_t>(q) == std::vector<uint8_t>{4});
  // Saturation: 6 / 0.01 overflows uint8.
  RValue sat = out(run1("QLinearMatMul", 10, {u8({1, 2}, {2, 4}), f32({}, {0.5f}), u8({}, {0}), u8({2, 1}, {2, 2}),
                                              f32({}, {1}), u8({}, {0}), f32({}, {0.01f}), u8({}, {1})}));
  CHECK(values<uint8_t>(sat) == std::vector<uint8_t>{255});
  CHECK_FALSE(run1("MatMulInteger", 10, {u8({2, 2}, {1, 2, 3, 4}), u8({3, 1}, {1, 1, 1})}).is_ok());
}

// The kernel multiplies in float a chunk of K at a time, each chunk small enough to stay exact: extreme
// values (255 - 0, -128 - 127) and K = 3000 need several chunks; batches share B; zero points per
// tensor, per row of A and per column of B. Checked against int64 loops.
TEST_CASE("MatMulInteger is exact for large K, extreme values, batches and per-row/column zero points") {
  std::mt19937 rng(11);
  for (int variant = 0; variant < 3; ++variant) {
    const int64_t T = 3, M = 2, K = variant == 0 ? 3000 : 257, N = 5;
    std::vector<uint8_t> a(static_cast<size_t>(T * M * K));
    std::vector<int8_t> b(static_cast<size_t>(K * N));
    for (auto& v : a) v = variant == 0 ? 255 : static_cast<uint8_t>(rng() % 256);
    for (auto& v : b) v = variant == 0 ? -128 : static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    std::vector<uint8_t> za = variant == 2 ? std::vector<uint8_t>{3, 250} : std::vector<uint8_t>{0};
    std::vector<int8_t> zb = variant == 2 ? std::vector<int8_t>{-3, 0, 5, 127, -128} : std::vector<int8_t>{127};
    RValue r = out(run1("MatMulInteger", 10,
                        {u8({T, M, K}, a), i8({K, N}, b), za.size() == 1 ? u8({}, za) : u8({M}, za),
                         zb.size() == 1 ? i8({}, zb) : i8({N}, zb)}));
    REQUIRE(r.tensor.dims() == std::vector<int64_t>{T, M, N});
    const std::vector<int32_t> got = values<int32_t>(r);
    int64_t wrong = 0;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          int64_t s = 0;
          for (int64_t k = 0; k < K; ++k)
            s += (int64_t{a[static_cast<size_t>((t * M + m) * K + k)]} - za[za.size() == 1 ? 0 : static_cast<size_t>(m)]) *
                 (int64_t{b[static_cast<size_t>(k * N + n)]} - zb[zb.size() == 1 ? 0 : static_cast<size_t>(n)]);
          wrong += got[static_cast<size_t>((t * M + m) * N + n)] != static_cast<int32_t>(s);
        }
    INFO("variant " << variant);
    CHECK(wrong == 0);
  }
}

TEST_CASE("Einsum: explicit and implicit outputs, ellipsis, diagonals, sums") {
  auto a = random_floats(12, 5, -1.0f, 1.0f), b = random_floats(20, 6, -1.0f, 1.0f);
  RValue mm = out(run1("Einsum", 12, {f32({3, 4}, a), f32({4, 5}, b)}, 1, {attr_s("equation", "ij,jk->ik")}));
  check_close(values<float>(mm), naive_mm(a.data(), b.data(), 3, 4, 5));
  RValue impl = out(run1("Einsum", 12, {f32({3, 4}, a), f32({4, 5}, b)}, 1, {attr_s("equation", "ij,jk")}));
  check_close(values<float>(impl), naive_mm(a.data(), b.data(), 3, 4, 5));
  // Implicit output is alphabetical: "ba" transposes.
  RValue tr = out(run1("Einsum", 12, {f32({2, 3}, {1, 2, 3, 4, 5, 6})}, 1, {attr_s("equation", "ba")}));
  CHECK(tr.tensor.dims() == std::vector<int64_t>{3, 2});
  CHECK(values<float>(tr) == std::vector<float>{1, 4, 2, 5, 3, 6});
  RValue tr2 = out(run1("Einsum", 12, {f32({2, 3}, {1, 2, 3, 4, 5, 6})}, 1, {attr_s("equation", "ij -> ji")}));
  CHECK(values<float>(tr2) == std::vector<float>{1, 4, 2, 5, 3, 6});
  // Trace, diagonal with ellipsis, sum of everything, outer product.
  Tensor sq = f64({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  RValue diag = out(run1("Einsum", 12, {sq}, 1, {attr_s("equation", "...ii->...i")}));
  CHECK(diag.tensor.dims() == std::vector<int64_t>{2, 2});
  CHECK(values<double>(diag) == std::vector<double>{1, 4, 5, 8});
  RValue trace = out(run1("Einsum", 12, {f64({2, 2}, {1, 2, 3, 4})}, 1, {attr_s("equation", "ii")}));
  CHECK(trace.tensor.dims().empty());
  CHECK(values<double>(trace) == std::vector<double>{5});
  RValue sum = out(run1("Einsum", 12, {sq}, 1, {attr_s("equation", "ijk->")}));
  CHECK(values<double>(sum) == std::vector<double>{36});
  RValue outer = out(run1("Einsum", 12, {f64({2}, {1, 2}), f64({3}, {1, 10, 100})}, 1, {attr_s("equation", "i,j")}));
  CHECK(values<double>(outer) == std::vector<double>{1, 10, 100, 2, 20, 200});
  // Batched matmul with a broadcast ellipsis: [2,1,2] x [3,2] via "...ij,jk->...ik" style.
  RValue bm = out(run1("Einsum", 12, {f64({2, 1, 2}, {1, 2, 3, 4}), f64({2, 1}, {10, 1})}, 1,
                       {attr_s("equation", "...j,jk->...k")}));
  CHECK(bm.tensor.dims() == std::vector<int64_t>{2, 1, 1});
  CHECK(values<double>(bm) == std::vector<double>{12, 34});
  // Integers.
  RValue dot = out(run1("Einsum", 12, {i32({3}, {1, 2, 3}), i32({3}, {4, 5, 6})}, 1, {attr_s("equation", "i,i")}));
  CHECK(values<int32_t>(dot) == std::vector<int32_t>{32});
  // Errors: wrong operand count, unknown output label, rank mismatch, bad characters.
  CHECK_FALSE(run1("Einsum", 12, {f32({3, 4}, a)}, 1, {attr_s("equation", "ij,jk->ik")}).is_ok());
  CHECK_FALSE(run1("Einsum", 12, {f32({3, 4}, a)}, 1, {attr_s("equation", "ij->k")}).is_ok());
  CHECK_FALSE(run1("Einsum", 12, {f32({3, 4}, a)}, 1, {attr_s("equation", "ijk->i")}).is_ok());
  CHECK_FALSE(run1("Einsum", 12, {f32({3, 4}, a)}, 1, {attr_s("equation", "i1->i")}).is_ok());
  CHECK_FALSE(run1("Einsum", 12, {f32({3, 4}, a), f32({5, 4}, b)}, 1, {attr_s("equation", "ij,jk->ik")}).is_ok());
}

TEST_CASE("QuantizeLinear rounds half to even and saturates; per axis since opset 13") {
  Tensor x = f32({7}, {0, 1, 2.5f, 3.5f, -1, 1000, -1000});
  RValue q = out(run1("QuantizeLinear", 13, {x, f32({}, {1}), u8({}, {128})}));
  CHECK(values<uint8_t>(q) == std::vector<uint8_t>{128, 129, 130, 132, 127, 255, 0});
  RValue s = out(run1("QuantizeLinear", 13, {x, f32({}, {1}), i8({}, {0})}));
  CHECK(s.tensor.dtype() == DType::Int8);
  CHECK(values<int8_t>(s) == std::vector<int8_t>{0, 1, 2, 4, -1, 127, -128});
  RValue nozp = out(run1("QuantizeLinear", 10, {f32({2}, {-3, 3}), f32({}, {2})}));
  CHECK(values<uint8_t>(nozp) == std::vector<uint8_t>{0, 2});
  RValue pa = out(run1("QuantizeLinear", 13, {f32({2, 2}, {2, 4, 2, 4}), f32({2}, {1, 2}), u8({2}, {0, 10})}, 1,
                       {attr_i("axis", 0)}));
  CHECK(values<uint8_t>(pa) == std::vector<uint8_t>{2, 4, 11, 12});
  CHECK_FALSE(run1("QuantizeLinear", 10, {f32({2, 2}, {2, 4, 2, 4}), f32({2}, {1, 2}), u8({2}, {0, 10})}).is_ok());
  CHECK_FALSE(run1("QuantizeLinear", 13, {f32({2, 2}, {2, 4, 2, 4}), f32({3}, {1, 2, 3})}).is_ok());
}

TEST_CASE("DequantizeLinear per tensor and per axis; DynamicQuantizeLinear from the data range") {
  RValue d = out(run1("DequantizeLinear", 13, {u8({3}, {0, 128, 255}), f32({}, {0.5f}), u8({}, {128})}));
  CHECK(values<float>(d) == std::vector<float>{-64, 0, 63.5f});
  RValue pa = out(run1("DequantizeLinear", 13, {i8({2, 2}, {1, -1, 4, 6}), f32({2}, {1, 0.5f}), i8({2}, {0, 2})}, 1,
                       {attr_i("axis", 1)}));
  CHECK(values<float>(pa) == std::vector<float>{1, -1.5f, 4, 2});
  RValue i = out(run1("DequantizeLinear", 13, {i32({2}, {-4, 6}), f32({}, {0.25f})}));
  CHECK(values<float>(i) == std::vector<float>{-1, 1.5f});

  auto r = run1("DynamicQuantizeLinear", 11, {f32({4}, {0, 2, -3, -1})}, 3);
  CHECK(values<float>(out(r, 1)) == std::vector<float>{5.0f / 255.0f});
  CHECK(values<uint8_t>(out(r, 2)) == std::vector<uint8_t>{153});
  CHECK(values<uint8_t>(out(r, 0)) == std::vector<uint8_t>{153, 255, 0, 102});
  auto z = run1("DynamicQuantizeLinear", 11, {f32({2}, {0, 0})}, 3);
  CHECK(values<uint8_t>(out(z, 0)) == std::vector<uint8_t>{0, 0});
}

TEST_CASE("DynamicQuantizeLinear over many values: pieces and threads give the scalar definition's bytes, NaN to the zero point") {
  // 70001 values: two whole pieces of 2^15 and a short one (the range and the quantization are split over threads),
  // the extremes and NaNs in different pieces and at odd positions past the vector loops.
  const int64_t n = 70001;
  std::vector<float> x = random_floats(static_cast<size_t>(n), 21, -3.0f, 1.5f);
  x[40000] = -7.25f;
  x[70000] = 4.5f;
  x[5] = x[65537] = x[69999] = std::nanf("");
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  ir::Value* in = m->graph->add_value("x");
  m->graph->add_input(in);
  ir::Node* node = m->graph->add_node("DynamicQuantizeLinear", "", {in}, {"y", "s", "z"}, "dql");
  for (size_t i = 0; i < 3; ++i) m->graph->add_output(node->output(i));
  const float scale = (4.5f + 7.25f) / 255.0f;
  const float zp = std::nearbyint(7.25f / scale);
  for (int threads : {1, 2}) {
    INFO("threads " << threads);
    const auto ran = provider_test::run(*m, {"cpu"}, {{"x", RValue(f32({n}, x))}}, threads);
    CHECK(values<float>(ran.outputs[1]) == std::vector<float>{scale});
    CHECK(values<uint8_t>(ran.outputs[2]) == std::vector<uint8_t>{static_cast<uint8_t>(zp)});
    const std::vector<uint8_t> y = values<uint8_t>(ran.outputs[0]);
    REQUIRE(y.size() == x.size());
    int64_t off = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const float q = std::isnan(x[i]) ? zp : std::clamp(std::nearbyint(x[i] / scale) + zp, 0.0f, 255.0f);
      off += y[i] != static_cast<uint8_t>(q);
    }
    CHECK(off == 0);
    CHECK(y[5] == static_cast<uint8_t>(zp));
    CHECK(y[40000] == 0);
    CHECK(y[70000] == 255);
  }
}

TEST_CASE("Det of single and batched square matrices") {
  RValue d = out(run1("Det", 11, {f32({2, 2}, {1, 2, 3, 4})}));
  CHECK(d.tensor.dims().empty());
  CHECK(values<float>(d)[0] == doctest::Approx(-2));
  RValue b = out(run1("Det", 11, {f64({2, 3, 3}, {2, 0, 0, 0, 3, 0, 1, 1, 4, 0, 1, 0, 1, 0, 0, 0, 0, 1})}));
  CHECK(b.tensor.dims() == std::vector<int64_t>{2});
  CHECK(values<double>(b)[0] == doctest::Approx(24));
  CHECK(values<double>(b)[1] == doctest::Approx(-1));
  CHECK_FALSE(run1("Det", 11, {f32({2, 3}, {1, 2, 3, 4, 5, 6})}).is_ok());
}
