// Range method tests on known distributions: Gaussian quantiles, outliers clipped, uniform near its max,
// unsigned (post-Relu) data, constant tensors, and the mse error formula against direct simulation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "quant/calib_methods.h"

using namespace ortool;
using namespace ortool::quant;

namespace {

// A collector with a histogram fed `v` in samples of `chunk` values.
TensorCollector collect(const std::vector<float>& v, size_t chunk = 10000) {
  CollectOptions o;
  o.histogram = true;
  TensorCollector c(o);
  for (size_t i = 0; i < v.size(); i += chunk)
    c.add(std::span<const float>(v.data() + i, std::min(chunk, v.size() - i)));
  return c;
}

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

TensorRange range_of(const TensorCollector& c, CalibMethod m, bool symmetric = false, double percentile = 99.999) {
  RangeOptions o;
  o.method = m;
  o.symmetric = symmetric;
  o.percentile = percentile;
  auto r = compute_range(c, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  return *r;
}

// Mean squared error of quantizing `v` as a quantizer with scale `step` and integer levels from
// round(lo/step) to round(hi/step) does.
double simulated_error(const std::vector<float>& v, double lo, double hi, double step) {
  const double qmin = std::round(lo / step), qmax = std::round(hi / step);
  double sum = 0;
  for (float x : v) {
    double q = step * std::clamp(std::round(static_cast<double>(x) / step), qmin, qmax);
    sum += (x - q) * (x - q);
  }
  return sum / static_cast<double>(v.size());
}

}  // namespace

TEST_CASE("percentile: Gaussian samples give thresholds near the analytic quantiles") {
  const std::vector<float> v = gaussian(1000000, 1);
  TensorCollector c = collect(v);
  // P(|x| > 2.5758) = 1%, P(|x| > 3.2905) = 0.1%: symmetric and two-sided cuts agree for a symmetric law.
  TensorRange s99 = range_of(c, CalibMethod::Percentile, true, 99.0);
  CHECK(s99.max == doctest::Approx(2.5758).epsilon(0.01));
  CHECK(s99.min == -s99.max);
  TensorRange a999 = range_of(c, CalibMethod::Percentile, false, 99.9);
  CHECK(a999.max == doctest::Approx(3.2905).epsilon(0.01));
  CHECK(a999.min == doctest::Approx(-3.2905).epsilon(0.01));
  // The default 99.999 is still inside the sample's extremes.
  TensorRange d = range_of(c, CalibMethod::Percentile);
  CHECK(d.max == doctest::Approx(4.4172).epsilon(0.03));
  CHECK(d.max < c.max());
  CHECK(d.min > c.min());
}

TEST_CASE("percentile: each end of a skewed distribution follows its own quantile") {
  std::mt19937 rng(5);
  std::exponential_distribution<float> e(1.0f);
  std::vector<float> v(1000000);
  for (float& x : v) x = e(rng) - 1.0f;  // shifted so that it has negative values too
  TensorCollector c = collect(v);
  TensorRange r = range_of(c, CalibMethod::Percentile, false, 99.0);
  // 0.5% cut from each end: quantiles 0.005 and 0.995 of Exp(1), shifted by -1.
  CHECK(r.min == doctest::Approx(-std::log(1 - 0.005) - 1).epsilon(0.01));
  CHECK(r.max == doctest::Approx(-std::log(0.005) - 1).epsilon(0.01));
}

TEST_CASE("a few huge outliers: entropy, percentile and mse clip them, minmax does not") {
  std::vector<float> v = gaussian(1000000, 2);
  for (int k = 0; k < 3; ++k) {
    v[k * 1000] = 100.0f;
    v[k * 1000 + 1] = -100.0f;
  }
  TensorCollector c = collect(v);
  TensorRange mm = range_of(c, CalibMethod::MinMax);
  CHECK(mm.min == -100);
  CHECK(mm.max == 100);
  TensorRange pc = range_of(c, CalibMethod::Percentile);
  CHECK(pc.max < 6);  // 99.999% cuts 5 values at each end: the 3 outliers and 2 of the Gaussian tail
  CHECK(pc.min > -6);
  TensorRange en = range_of(c, CalibMethod::Entropy, true);
  CHECK(en.max < 20);
  CHECK(en.max > 3);
  TensorRange ms = range_of(c, CalibMethod::Mse, true);
  // mse weighs the outliers' squared error against finer steps for everything else: it clips them
  // to about half way (the optimum of (2T/255)^2/12 + 6e-6 (100-T)^2 is T = 54).
  CHECK(ms.max < 80);
  CHECK(ms.max > 30);
  TensorRange ms_asym = range_of(c, CalibMethod::Mse, false);
  CHECK(ms_asym.max < 80);
  CHECK(ms_asym.min > -80);
}

TEST_CASE("uniform values: every method lands near the max") {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> v(1000000);
  for (float& x : v) x = u(rng);
  TensorCollector c = collect(v);
  for (CalibMethod m : {CalibMethod::MinMax, CalibMethod::Percentile, CalibMethod::Entropy, CalibMethod::Mse}) {
    CAPTURE(calib_method_name(m));
    TensorRange r = range_of(c, m);
    CHECK(r.min == c.min());  // unsigned data: the low end stays at the data
    CHECK(r.max > 0.95 * c.max());
    CHECK(r.max <= c.max());
  }
  // Signed uniform, symmetric ranges.
  for (float& x : v) x = 2 * x - 1;
  TensorCollector s = collect(v);
  for (CalibMethod m : {CalibMethod::MinMax, CalibMethod::Percentile, CalibMethod::Entropy, CalibMethod::Mse}) {
    CAPTURE(calib_method_name(m));
    TensorRange r = range_of(s, m, true);
    CHECK(r.max > 0.95);
    CHECK(r.min == -r.max);
  }
}

TEST_CASE("entropy on unsigned (post-Relu) values uses the right half and keeps 0 as the low end") {
  std::vector<float> v = gaussian(1000000, 4);
  for (float& x : v) x = std::max(x, 0.0f);  // half of the values are exactly 0
  TensorCollector c = collect(v);
  TensorRange r = range_of(c, CalibMethod::Entropy);
  CHECK(r.min == 0);
  CHECK(r.max > 2.0);
  CHECK(r.max < c.max());
  // The spike at 0 does not decide the threshold: the result matches the same data without zeros.
  std::vector<float> positive;
  for (float x : v)
    if (x > 0) positive.push_back(x);
  TensorCollector p = collect(positive);
  TensorRange rp = range_of(p, CalibMethod::Entropy);
  CHECK(r.max == doctest::Approx(rp.max).epsilon(0.05));
}

TEST_CASE("entropy on a Gaussian clips the far tail, as TensorRT's calibrator does") {
  TensorCollector c = collect(gaussian(1000000, 6));
  TensorRange r = range_of(c, CalibMethod::Entropy, true);
  CHECK(r.max > 2.5);
  CHECK(r.max < std::max(-c.min(), c.max()));
  CHECK(r.min == -r.max);
}

TEST_CASE("mse: the expected error per bin matches a direct simulation") {
  const std::vector<float> v = gaussian(400000, 8);
  TensorCollector c = collect(v);
  const Histogram& h = *c.histogram();
  const std::vector<double> bins = h.signed_bins();
  for (double t : {1.0, 2.5, 4.0}) {
    for (int levels : {16, 256}) {
      CAPTURE(t);
      CAPTURE(levels);
      const double step = 2 * t / (levels - 1);
      double formula = expected_quantization_error(bins, -h.limit(), h.bin_width(), -t, t, step);
      double direct = simulated_error(v, -t, t, step);
      CHECK(formula == doctest::Approx(direct).epsilon(0.03));
    }
  }
}

TEST_CASE("mse: the threshold is the one a brute-force simulation finds best") {
  const std::vector<float> v = gaussian(200000, 10);
  TensorCollector c = collect(v);
  RangeOptions o;
  o.method = CalibMethod::Mse;
  o.symmetric = true;
  o.mse_levels = 16;  // 4 bits: the optimum is well inside the data (about 2.5 sigma)
  TensorRange r = *compute_range(c, o);
  double best_t = 0, best_e = 1e300;
  for (int k = 100; k < 500; ++k) {
    const double t = k / 100.0;
    double e = simulated_error(v, -t, t, t / 7);  // levels -7..7
    if (e < best_e) {
      best_e = e;
      best_t = t;
    }
  }
  CHECK(r.max == doctest::Approx(best_t).epsilon(0.03));
  // At 8 bits the optimum moves out towards the tail but stays below the max.
  o.mse_levels = 256;
  TensorRange r8 = *compute_range(c, o);
  CHECK(r8.max > r.max);
  CHECK(r8.max <= std::max(-c.min(), c.max()));
}

TEST_CASE("constant tensors get [c, c] from every method") {
  for (float value : {0.0f, 0.5f, -3.0f}) {
    TensorCollector c = collect(std::vector<float>(1000, value));
    for (CalibMethod m : {CalibMethod::MinMax, CalibMethod::Percentile, CalibMethod::Entropy, CalibMethod::Mse}) {
      CAPTURE(calib_method_name(m));
      CAPTURE(value);
      TensorRange r = range_of(c, m);
      CHECK(r.min == value);
      CHECK(r.max == value);
      TensorRange s = range_of(c, m, true);
      CHECK(s.max == std::fabs(value));
      CHECK(s.min == -std::fabs(value));
    }
  }
}

TEST_CASE("minmax uses the moving averages when the collector kept them") {
  CollectOptions o;
  o.moving_average = true;
  o.averaging_constant = 0.01;
  TensorCollector c(o);
  std::vector<float> a = {-1, 1}, b = {-10, 10};
  c.add(a);
  c.add(b);  // one outlier sample moves the averages by 1% of the way
  TensorRange r = range_of(c, CalibMethod::MinMax);
  CHECK(r.min == doctest::Approx(-1.09));
  CHECK(r.max == doctest::Approx(1.09));
}

TEST_CASE("range methods: errors and option checks") {
  TensorCollector empty;
  RangeOptions o;
  auto r = compute_range(empty, o);
  CHECK(r.status().code() == StatusCode::kInvalid);
  CHECK(r.status().message().find("no finite values") != std::string::npos);
  TensorCollector no_hist;
  std::vector<float> v = {1, 2};
  no_hist.add(v);
  o.method = CalibMethod::Entropy;
  CHECK_FALSE(compute_range(no_hist, o).is_ok());
  CHECK(parse_calib_method("entropy").value() == CalibMethod::Entropy);
  auto bad = parse_calib_method("kl");
  CHECK(bad.status().message().find("minmax, entropy, percentile, mse") != std::string::npos);
  o = {};
  o.percentile = 0;
  CHECK(check_range_options(o).message().find("percentile") != std::string::npos);
  o.percentile = 100;
  CHECK(check_range_options(o).is_ok());
}
