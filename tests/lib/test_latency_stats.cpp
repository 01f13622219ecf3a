// Tests of lib/latency_stats (bench's percentiles and spread rule) and lib/human_size.
#include <doctest/doctest.h>

#include "lib/human_size.h"
#include "lib/latency_stats.h"

using namespace ortool;

TEST_CASE("latency_stats: nearest-rank percentiles of unsorted runs") {
  std::vector<double> ms;
  for (int i = 50; i >= 1; --i) ms.push_back(i);  // 50 .. 1 ms
  LatencyStats s = latency_stats(ms);
  CHECK(s.runs == 50);
  CHECK(s.min == 1);
  CHECK(s.max == 50);
  CHECK(s.median == 25);
  CHECK(s.p90 == 45);
  CHECK(s.p99 == 50);
  CHECK(s.mean == doctest::Approx(25.5));
}

TEST_CASE("latency_stats: runs are too spread when the p90 is over 1.5x the median") {
  // A quiet machine: within 10 percent.
  LatencyStats quiet = latency_stats({10, 10.5, 11, 10.2, 10.8, 10.1, 10.3, 10.9, 10.4, 10.6});
  CHECK(quiet.spread < 1.2);
  CHECK_FALSE(quiet.too_spread);
  // Another process took the cores for a fifth of the runs.
  LatencyStats busy = latency_stats({10, 10, 10, 10, 10, 10, 10, 10, 30, 30});
  CHECK(busy.p90 == 30);
  CHECK(busy.spread == doctest::Approx(3.0));
  CHECK(busy.too_spread);
  // The limit itself is still trusted.
  CHECK_FALSE(latency_stats({10, 10, 10, 10, 10, 10, 10, 10, 15, 15}).too_spread);
  CHECK(latency_stats({10, 10, 10, 10, 10, 10, 10, 10, 15.1, 15.1}).too_spread);
  // Nothing to compare: trusted, all zero.
  LatencyStats none = latency_stats({});
  CHECK(none.runs == 0);
  CHECK_FALSE(none.too_spread);
}

TEST_CASE("human_bytes and human_count") {
  CHECK(human_bytes(300) == "300 B");
  CHECK(human_bytes(1536) == "1.50 KiB");
  CHECK(human_bytes(uint64_t{8} << 30) == "8.00 GiB");
  CHECK(human_bytes(uint64_t{40} << 30) == "40.0 GiB");
  CHECK(human_count(999) == "999");
  CHECK(human_count(516256) == "516 K");
}

TEST_CASE("latency_histogram: equal bins from the fastest to the slowest run") {
  LatencyHistogram h = latency_histogram({1.0, 2.0, 2.5, 3.0, 5.0}, 4);
  REQUIRE(h.counts.size() == 4);
  CHECK(h.width == doctest::Approx(1.0));
  CHECK(h.starts == std::vector<double>{1.0, 2.0, 3.0, 4.0});
  CHECK(h.counts == std::vector<size_t>{1, 2, 1, 1});  // 1 | 2, 2.5 | 3 | 5 (the slowest in the last bin)
  LatencyHistogram same = latency_histogram({2.0, 2.0, 2.0}, 10);
  CHECK(same.counts == std::vector<size_t>{3});
  CHECK(latency_histogram({}, 10).counts.empty());
}
