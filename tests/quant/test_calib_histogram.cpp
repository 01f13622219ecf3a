// Histogram tests: binning either side of 0, exact range doubling, zeros before any range, fixed memory.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "quant/calib_histogram.h"

using namespace ortool::quant;

namespace {
double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v)
    if (std::isfinite(x)) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}
void add(Histogram& h, const std::vector<float>& v) { h.add(v, max_abs(v)); }
std::vector<uint64_t> vec(std::span<const uint64_t> s) { return {s.begin(), s.end()}; }
}  // namespace

TEST_CASE("histogram: values land in their bins on either side of 0") {
  Histogram h(8);
  add(h, {-4.0f, -0.1f, 0.0f, 0.4f, 0.6f, 2.5f, 4.0f});
  CHECK(h.limit() == 4.0);
  CHECK(h.bin_width() == 0.5);
  CHECK(h.total() == 7);
  // Positive bins of width 0.5: 0 and 0.4 in bin 0, 0.6 in bin 1, 2.5 in bin 5, 4.0 (the limit) in the last.
  CHECK(vec(h.positive()) == std::vector<uint64_t>{2, 1, 0, 0, 0, 1, 0, 1});
  // Negative bin i holds (-(i+1)w, -iw]: -0.1 in bin 0, -4.0 in the last.
  CHECK(vec(h.negative()) == std::vector<uint64_t>{1, 0, 0, 0, 0, 0, 0, 1});
  std::vector<double> m = h.magnitudes();
  CHECK(m[0] == 3);
  CHECK(m[7] == 2);
  std::vector<double> s = h.signed_bins();
  REQUIRE(s.size() == 16);
  CHECK(s[0] == 1);   // [-4, -3.5)
  CHECK(s[7] == 1);   // [-0.5, 0)
  CHECK(s[8] == 2);   // [0, 0.5)
  CHECK(s[15] == 1);  // [3.5, 4]
}

TEST_CASE("histogram: doubling the range merges bins exactly") {
  // Built incrementally from a range of 1 up to 8 (three doublings) or with the range set up front,
  // the counts are the same: each doubling merges bins 2i and 2i+1 into bin i.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> small(-1.0f, 1.0f), large(-5.0f, 5.0f);
  std::vector<float> a(10000), b(10000);
  for (float& x : a) x = small(rng);
  for (float& x : b) x = large(rng);
  Histogram grown(2048), preset(2048);
  grown.cover(1.0);
  add(grown, a);
  add(grown, b);
  preset.cover(8.0);
  add(preset, a);
  add(preset, b);
  CHECK(grown.limit() == 8.0);
  CHECK(grown.doublings() == 3);
  CHECK(preset.doublings() == 0);
  CHECK(vec(grown.positive()) == vec(preset.positive()));
  CHECK(vec(grown.negative()) == vec(preset.negative()));
  CHECK(grown.total() == 20000);
}

TEST_CASE("histogram: the first values set the range, later ones double it as often as needed") {
  Histogram h(16);
  add(h, {0.9f, -0.3f});
  CHECK(h.limit() == doctest::Approx(0.9));
  add(h, {3.0f});
  CHECK(h.limit() == doctest::Approx(3.6));  // 0.9 doubled twice
  CHECK(h.doublings() == 2);
  CHECK(h.total() == 3);
}

TEST_CASE("histogram: zeros before any range, NaN and Inf skipped") {
  Histogram h(16);
  add(h, {0.0f, 0.0f, -0.0f});
  CHECK(h.limit() == 0);
  CHECK(h.positive()[0] == 3);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  add(h, {nan, inf, -inf, 2.0f});
  CHECK(h.limit() == 2.0);
  CHECK(h.positive()[0] == 3);  // the zeros stay at 0
  CHECK(h.positive()[15] == 1);
  CHECK(h.total() == 4);
}

TEST_CASE("histogram: memory is fixed, whatever the data") {
  Histogram h(2048);
  const size_t before = h.bytes();
  CHECK(before == 2 * 2048 * sizeof(uint64_t));
  std::mt19937 rng(3);
  for (int k = 0; k < 50; ++k) {
    std::normal_distribution<float> d(0.0f, static_cast<float>(1 << (k % 20)));
    std::vector<float> v(1000);
    for (float& x : v) x = d(rng);
    add(h, v);
  }
  CHECK(h.bytes() == before);
  CHECK(h.total() == 50000);
}

TEST_CASE("histogram: odd bin counts are rounded up to even") {
  CHECK(Histogram(7).bins() == 8);
  CHECK(Histogram(0).bins() == 2);
}
