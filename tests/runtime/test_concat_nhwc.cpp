// cpu::concat_channels_nhwc (the dnnl provider's Concat between NHWC tensors) against a direct per-pixel copy.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <vector>

#include "runtime/cpu/concat_nhwc.h"
#include "runtime/thread_pool.h"

using namespace ortool;

TEST_CASE("concat_channels_nhwc equals the per-pixel concatenation, on one thread and on two") {
  std::mt19937 rng(61);
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  rt::ThreadPool two(2);
  const int64_t widths[] = {0, 1, 3, 16, 32, 37, 64, 200};
  int large = 0;
  for (int iter = 0; iter < 60; ++iter) {
    CAPTURE(iter);
    const int64_t inputs = pick(1, 6);
    // Every 10th case above the size where the tiles are split over threads.
    const int64_t pixels = iter % 10 == 9 ? pick(2000, 5000) : pick(1, 300);
    std::vector<int64_t> channels;
    int64_t total = 0;
    for (int64_t k = 0; k < inputs; ++k) {
      channels.push_back(widths[pick(0, 7)]);
      total += channels.back();
    }
    large += pixels * total >= (1 << 17);
    std::vector<std::vector<float>> xs(static_cast<size_t>(inputs));
    std::vector<const float*> ptrs;
    std::uniform_real_distribution<float> d(-1, 1);
    for (int64_t k = 0; k < inputs; ++k) {
      xs[static_cast<size_t>(k)].resize(static_cast<size_t>(pixels * channels[static_cast<size_t>(k)]));
      for (float& v : xs[static_cast<size_t>(k)]) v = d(rng);
      ptrs.push_back(xs[static_cast<size_t>(k)].data());
    }
    std::vector<float> want;
    for (int64_t p = 0; p < pixels; ++p)
      for (int64_t k = 0; k < inputs; ++k) {
        const int64_t c = channels[static_cast<size_t>(k)];
        const float* src = xs[static_cast<size_t>(k)].data() + p * c;
        want.insert(want.end(), src, src + c);
      }
    std::vector<float> got(static_cast<size_t>(pixels * total), 7.0f);
    rt::cpu::concat_channels_nhwc(ptrs, channels, got.data(), pixels, iter % 2 ? &two : nullptr);
    CHECK(got == want);
  }
  CHECK(large >= 3);  // the threaded split ran
}
