// rt::cpu::silu_in_place (the dnnl provider's SiLU after a conv) against x / (1 + exp(-x)) in double.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "runtime/cpu/fast_silu.h"
#include "runtime/thread_pool.h"

using namespace ortool;

namespace {

double silu_exact(float x) { return static_cast<double>(x) / (1.0 + std::exp(-static_cast<double>(x))); }

}  // namespace

TEST_CASE("silu_in_place is within 4e-7 relative of SiLU over the float range, special values included") {
  std::mt19937 rng(71);
  std::vector<float> x;
  std::uniform_real_distribution<float> wide(-120.0f, 120.0f), narrow(-6.0f, 6.0f);
  for (int i = 0; i < 100000; ++i) x.push_back(i % 2 ? wide(rng) : narrow(rng));
  for (float v : {0.0f, -0.0f, 1e-40f, -1e-40f, 1e-20f, -1e-20f, 87.9f, 88.1f, -87.9f, -88.1f, 1e30f, -1e30f,
                  std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()})
    x.push_back(v);
  std::vector<float> y = x;
  rt::cpu::silu_in_place(y.data(), static_cast<int64_t>(y.size()), nullptr);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = silu_exact(x[i]);
    // From -88 down the result is 0 (|SiLU| < 6e-37 there): an absolute bound for tiny values.
    const double err = std::fabs(y[i] - want), bound = std::max(4e-7 * std::fabs(want), 6e-37);
    if (err > bound) FAIL_CHECK(fmt::format("silu({}) = {}, want {}", x[i], y[i], want));
    if (std::fabs(want) > 1e-30) worst = std::max(worst, err / std::fabs(want));
  }
  MESSAGE("silu_in_place max relative error ", worst, " (16 lanes: ", rt::cpu::silu_in_place_wide(), ")");
  std::vector<float> s{std::nanf(""), std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  rt::cpu::silu_in_place(s.data(), 3, nullptr);
  CHECK(std::isnan(s[0]));
  CHECK(s[1] == std::numeric_limits<float>::infinity());
  CHECK(std::isnan(s[2]));  // -inf * Sigmoid(-inf) = -inf * 0, as the reference's Sigmoid then Mul
}

TEST_CASE("silu_in_place: every length's tail, and two threads give the one-thread values") {
  std::mt19937 rng(72);
  std::normal_distribution<float> d(0.0f, 4.0f);
  for (int64_t n = 1; n <= 70; ++n) {
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = d(rng);
    std::vector<float> y = x;
    rt::cpu::silu_in_place(y.data(), n, nullptr);
    for (size_t i = 0; i < x.size(); ++i) {
      const double want = silu_exact(x[i]);
      CHECK(std::fabs(y[i] - want) <= 4e-7 * std::fabs(want) + 6e-37);
    }
  }
  std::vector<float> x(300001);
  for (float& v : x) v = d(rng);
  std::vector<float> one = x, two = x;
  rt::ThreadPool pool(2);
  rt::cpu::silu_in_place(one.data(), static_cast<int64_t>(one.size()), nullptr);
  rt::cpu::silu_in_place(two.data(), static_cast<int64_t>(two.size()), &pool);
  CHECK(one == two);
}
