// Tests of lib/accuracy: statistics over samples (worst sample, totals, top-1), the all-zero
// reference, gates and their validation, and the worst element named in a failure.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lib/accuracy.h"

using namespace ortool;

namespace {

RValue f32(std::vector<int64_t> dims, std::vector<float> v) { return RValue(Tensor::from_vector(DType::Float, dims, v)); }

bool contains(const std::vector<std::string>& v, const std::string& part) {
  for (const std::string& s : v)
    if (s.find(part) != std::string::npos) return true;
  return false;
}

const double kInf = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("identical outputs: no error, SQNR +inf, cosine 1, every gate passes") {
  OutputAccuracy a("y", {});
  a.add(f32({4}, {1, -2, 3, 0.5f}), f32({4}, {1, -2, 3, 0.5f}), "s0");
  CHECK(a.samples == 1);
  CHECK(a.elements == 4);
  CHECK(a.failed == 0);
  CHECK(a.max_abs == 0);
  REQUIRE(a.min_cosine);
  CHECK(*a.min_cosine == doctest::Approx(1.0));
  REQUIRE(a.min_sqnr_db);
  CHECK(*a.min_sqnr_db == kInf);
  CHECK(a.total_sqnr_db() == kInf);
  Gates g;
  g.min_cosine = 0.999;
  g.min_sqnr_db = 60;
  g.max_top1_drop = 0;
  OutputVerdict v = judge(a, g);
  CHECK(v.passed);
  CHECK(v.failures.empty());
}

TEST_CASE("SQNR and cosine follow their definitions; the worst sample is kept") {
  OutputAccuracy a("y", {1, 0});  // loose tolerance: only the metrics matter here
  // Sample 0: noise 4 * 0.01 against signal 4: 20 dB.
  a.add(f32({4}, {1, 1, 1, 1}), f32({4}, {1.1f, 1.1f, 1.1f, 1.1f}), "s0");
  // Sample 1: error 1 on a signal of 4 elements of 2: 10 log10(16 / 1) = 12.04 dB.
  a.add(f32({4}, {2, 2, 2, 2}), f32({4}, {3, 2, 2, 2}), "s1");
  double want_s1 = 10 * std::log10(16.0 / 1.0);
  REQUIRE(a.min_sqnr_db);
  CHECK(*a.min_sqnr_db == doctest::Approx(want_s1).epsilon(1e-6));
  double cos_s1 = (3 * 2 + 3 * 4) / (std::sqrt(16.0) * std::sqrt(9.0 + 12.0));
  REQUIRE(a.min_cosine);
  CHECK(*a.min_cosine == doctest::Approx(cos_s1).epsilon(1e-6));
  // Totals: signal 4 + 16, noise 4 * 0.1^2 (in float) + 1.
  double noise0 = 4 * std::pow(static_cast<double>(1.1f) - 1, 2);
  REQUIRE(a.total_sqnr_db());
  CHECK(*a.total_sqnr_db() == doctest::Approx(10 * std::log10(20.0 / (noise0 + 1.0))).epsilon(1e-6));
  CHECK(a.max_abs == doctest::Approx(1.0));
  CHECK(a.mean_abs() == doctest::Approx((4 * (static_cast<double>(1.1f) - 1) + 1.0) / 8).epsilon(1e-6));
  Gates g;
  g.tol = {1, 0};
  g.min_sqnr_db = 15;
  OutputVerdict v = judge(a, g);
  CHECK(!v.passed);
  CHECK(contains(v.failures, "--min-sqnr 15"));
  g.min_sqnr_db = 12;
  g.min_cosine = cos_s1 + 1e-3;
  v = judge(a, g);
  CHECK(!v.passed);
  CHECK(contains(v.failures, "--min-cosine"));
  CHECK(!contains(v.failures, "--min-sqnr"));
}

TEST_CASE("an all-zero reference within atol passes every gate; SQNR and cosine are undefined, not -inf") {
  OutputAccuracy a("zeros", {1e-4, 1e-3});
  a.add(f32({2, 3}, {0, 0, 0, 0, 0, 0}), f32({2, 3}, {0, 1e-6f, -2e-6f, 0, 0, 3e-7f}), "s0");
  CHECK(a.failed == 0);
  CHECK(!a.min_sqnr_db);
  CHECK(!a.min_cosine);
  CHECK(!a.total_sqnr_db());
  Gates g;
  g.min_sqnr_db = 30;
  g.min_cosine = 0.99;
  OutputVerdict v = judge(a, g);
  CHECK(v.passed);
  CHECK(contains(v.notes, "--min-sqnr not applied"));
  CHECK(contains(v.notes, "--min-cosine not applied"));
  CHECK(format_db(a.min_sqnr_db) == "n/a");
  // The same reference answered exactly: SQNR +inf, cosine 1, no notes.
  OutputAccuracy exact("zeros", {});
  exact.add(f32({3}, {0, 0, 0}), f32({3}, {0, 0, 0}), "s0");
  REQUIRE(exact.min_sqnr_db);
  CHECK(*exact.min_sqnr_db == kInf);
  REQUIRE(exact.min_cosine);
  CHECK(*exact.min_cosine == 1.0);
  CHECK(judge(exact, g).notes.empty());
  // Beyond atol an all-zero reference still fails, on the elements.
  OutputAccuracy off("zeros", {1e-4, 1e-3});
  off.add(f32({3}, {0, 0, 0}), f32({3}, {0, 0.5f, 0}), "s7");
  v = judge(off, g);
  CHECK(!v.passed);
  CHECK(contains(v.failures, "1 of 3 elements outside"));
  CHECK(contains(v.failures, "sample s7 element [1]"));
}

TEST_CASE("a zero sample does not hide a bad one; a zero result for a real reference has cosine 0") {
  OutputAccuracy a("y", {10, 0});
  a.add(f32({2}, {0, 0}), f32({2}, {1e-3f, 0}), "zero");
  a.add(f32({2}, {1, 2}), f32({2}, {0, 0}), "dead");
  REQUIRE(a.min_cosine);
  CHECK(*a.min_cosine == 0.0);
  REQUIRE(a.min_sqnr_db);
  CHECK(*a.min_sqnr_db == doctest::Approx(0.0));  // noise equals signal
}

TEST_CASE("top-1 agreement over rows of class scores, and the top-1 drop gate") {
  OutputAccuracy a("probs", {1, 1});
  // Two rows per sample; row 1 of s0 changes its argmax.
  a.add(f32({2, 3}, {0.1f, 0.7f, 0.2f, 0.5f, 0.3f, 0.2f}), f32({2, 3}, {0.1f, 0.6f, 0.3f, 0.3f, 0.5f, 0.2f}), "s0");
  a.add(f32({2, 3}, {0.9f, 0.05f, 0.05f, 0.2f, 0.2f, 0.6f}), f32({2, 3}, {0.8f, 0.1f, 0.1f, 0.1f, 0.2f, 0.7f}), "s1");
  CHECK(a.top1_rows == 4);
  CHECK(a.top1_agree == 3);
  REQUIRE(a.top1_agreement());
  CHECK(*a.top1_agreement() == doctest::Approx(0.75));
  CHECK(*a.top1_drop() == doctest::Approx(25.0));
  Gates g;
  g.tol = {1, 1};
  g.max_top1_drop = 20;
  OutputVerdict v = judge(a, g);
  CHECK(!v.passed);
  CHECK(contains(v.failures, "--max-top1-drop 20"));
  g.max_top1_drop = 25;
  CHECK(judge(a, g).passed);
  // No rows of class scores (1-D, or a single column): not gated, with a note.
  OutputAccuracy flat("v", {});
  flat.add(f32({3}, {1, 2, 3}), f32({3}, {1, 2, 3}), "s0");
  flat.add(f32({3, 1}, {1, 2, 3}), f32({3, 1}, {1, 2, 3}), "s1");
  CHECK(!flat.top1_agreement());
  v = judge(flat, g);
  CHECK(v.passed);
  CHECK(contains(v.notes, "--max-top1-drop not applied"));
}

TEST_CASE("failed elements: counted over samples, the worst named by sample and index") {
  OutputAccuracy a("y", {1e-3, 0});
  a.add(f32({2, 2}, {1, 2, 3, 4}), f32({2, 2}, {1, 2.01f, 3, 4}), "first.npy");
  a.add(f32({2, 2}, {1, 2, 3, 4}), f32({2, 2}, {1, 2, 3.5f, 4.1f}), "second.npy");
  CHECK(a.failed == 3);
  CHECK(a.elements == 8);
  CHECK(a.worst.find("sample second.npy element [1,0]") != std::string::npos);
  CHECK(a.worst.find("expected 3") != std::string::npos);
  Gates g;
  g.tol = {1e-3, 0};
  OutputVerdict v = judge(a, g);
  CHECK(!v.passed);
  CHECK(contains(v.failures, "3 of 8 elements outside atol 0.001 + rtol 0"));
  // The element gate can be turned off (quantize gates on SQNR and cosine only).
  g.check_elements = false;
  CHECK(judge(a, g).passed);
}

TEST_CASE("NaN where the reference has NaN is equal; elsewhere it fails and is the worst") {
  float nan = std::numeric_limits<float>::quiet_NaN();
  OutputAccuracy a("y", {});
  a.add(f32({3}, {nan, 1, 2}), f32({3}, {nan, 1, 2}), "s0");
  CHECK(a.failed == 0);
  a.add(f32({3}, {0, 1, 2}), f32({3}, {0, nan, 2.5f}), "s1");
  CHECK(a.failed == 2);
  CHECK(a.worst.find("element [1]") != std::string::npos);
}

TEST_CASE("mismatched kinds, types and shapes always fail") {
  Gates g;
  g.check_elements = false;
  OutputAccuracy shape("y", {});
  shape.add(f32({2}, {1, 2}), f32({3}, {1, 2, 3}), "s4");
  OutputVerdict v = judge(shape, g);
  CHECK(!v.passed);
  CHECK(contains(v.failures, "sample s4: shape [2] vs [3]"));
  OutputAccuracy type("y", {});
  type.add(f32({1}, {1}), RValue(Tensor::from_vector(DType::Int64, {1}, std::vector<int64_t>{1})), "s0");
  CHECK(!judge(type, g).passed);
  OutputAccuracy kind("y", {});
  kind.add(f32({1}, {1}), RValue(), "s0");
  CHECK(contains(judge(kind, g).failures, "a tensor vs a none"));
  OutputAccuracy none("y", {});
  none.add(RValue(), RValue(), "s0");
  CHECK(judge(none, g).passed);
}

TEST_CASE("sequences compare item by item") {
  OutputAccuracy a("seq", {1e-4, 0});
  RValue r = RValue::seq({Tensor::from_vector(DType::Float, {2}, std::vector<float>{1, 2}),
                          Tensor::from_vector(DType::Float, {1}, std::vector<float>{3})},
                         DType::Float);
  RValue g = RValue::seq({Tensor::from_vector(DType::Float, {2}, std::vector<float>{1, 2}),
                          Tensor::from_vector(DType::Float, {1}, std::vector<float>{4})},
                         DType::Float);
  a.add(r, g, "s0");
  CHECK(a.elements == 3);
  CHECK(a.failed == 1);
  CHECK(a.worst.find("sample s0 item 1 element [0]") != std::string::npos);
  OutputAccuracy b("seq", {});
  b.add(r, RValue::seq({}, DType::Float), "s1");
  CHECK(b.mismatch.find("sequence of 2 tensors vs 0") != std::string::npos);
}

TEST_CASE("string outputs compare exactly and have no cosine or SQNR") {
  Tensor r(DType::String, {2});
  r.mutable_strings() = {"cat", "dog"};
  Tensor g = r.clone();
  g.mutable_strings()[1] = "cow";
  OutputAccuracy a("labels", {});
  a.add(RValue(r), RValue(g), "s0");
  CHECK(a.failed == 1);
  CHECK(!a.min_cosine);
  CHECK(!a.min_sqnr_db);
  CHECK(!judge(a, Gates{}).passed);
}

TEST_CASE("validate_gates refuses negative, infinite and NaN tolerances and out-of-range thresholds") {
  CHECK(validate_gates(Gates{}).is_ok());
  auto message = [](Gates g) { return validate_gates(g).message(); };
  Gates g;
  g.tol.atol = -1;
  CHECK(message(g).rfind("--atol -1", 0) == 0);
  g.tol.atol = std::nan("");
  CHECK(message(g).rfind("--atol nan", 0) == 0);
  g = Gates{};
  g.tol.rtol = kInf;
  CHECK(message(g).rfind("--rtol inf", 0) == 0);
  g = Gates{};
  g.min_cosine = 2;
  CHECK(message(g).rfind("--min-cosine 2", 0) == 0);
  g.min_cosine = -1;
  CHECK(validate_gates(g).is_ok());
  g.min_cosine = std::nan("");
  CHECK(!validate_gates(g).is_ok());
  g = Gates{};
  g.min_sqnr_db = -kInf;
  CHECK(message(g).rfind("--min-sqnr", 0) == 0);
  g.min_sqnr_db = -20;
  CHECK(validate_gates(g).is_ok());
  g.max_top1_drop = 101;
  CHECK(message(g).rfind("--max-top1-drop 101", 0) == 0);
  g.max_top1_drop = -0.5;
  CHECK(!validate_gates(g).is_ok());
  g.tol = {0, 0};
  g.max_top1_drop = 0;
  CHECK(validate_gates(g).is_ok());
  CHECK(validate_gates(g).exit_code() == 0);
  g.tol.atol = -1;
  CHECK(validate_gates(g).exit_code() == 2);
}

TEST_CASE("AccuracyReport adds samples for every output and judges each") {
  Gates g;
  g.min_cosine = 0.9;
  AccuracyReport r({"a", "b"}, g);
  std::vector<RValue> ref = {f32({2}, {1, 2}), f32({2}, {1, 0})};
  std::vector<RValue> got = {f32({2}, {1, 2}), f32({2}, {0, 1})};
  REQUIRE(r.add(ref, got, "s0").is_ok());
  CHECK(r.samples() == 1);
  std::vector<OutputVerdict> v = r.verdicts();
  REQUIRE(v.size() == 2);
  CHECK(v[0].name == "a");
  CHECK(v[0].passed);
  CHECK(!v[1].passed);
  CHECK(!r.passed());
  std::vector<RValue> short_got = {f32({2}, {1, 2})};
  Status st = r.add(ref, short_got, "s1");
  CHECK(!st.is_ok());
  CHECK(st.message().find("sample s1") != std::string::npos);
}

TEST_CASE("the absolute-error histogram counts elements by decade over all samples") {
  CHECK(abs_error_bin(0) == 0);
  CHECK(abs_error_bin(1e-12) == 1);
  CHECK(abs_error_bin(1e-9) == 2);
  CHECK(abs_error_bin(0.5) == 10);
  CHECK(abs_error_bin(9.99) == 11);
  CHECK(abs_error_bin(10) == 12);
  CHECK(abs_error_bin(kInf) == 12);
  CHECK(abs_error_bin_label(0) == "0");
  CHECK(abs_error_bin_label(2) == "1e-9..1e-8");
  CHECK(abs_error_bin_label(10) == "1e-1..1e0");
  CHECK(abs_error_bin_label(12) == ">=10");
  OutputAccuracy a("y", {});
  a.add(f32({4}, {1, 2, 3, 4}), f32({4}, {1, 2.5f, 3.05f, 40}), "s0");  // 0, 0.5, ~0.05, 36
  a.add(f32({1}, {1}), f32({1}, {1}), "s1");
  CHECK(a.abs_error_hist[0] == 2);
  CHECK(a.abs_error_hist[10] == 1);
  CHECK(a.abs_error_hist[9] == 1);  // 0.05
  CHECK(a.abs_error_hist[12] == 1);
  int64_t total = 0;
  for (int64_t c : a.abs_error_hist) total += c;
  CHECK(total == a.elements);
}
