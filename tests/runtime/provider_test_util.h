// Helpers the provider tests share: random float tensors, sessions on a provider list, output comparison.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"

namespace ortool::provider_test {

inline Tensor random_tensor(std::vector<int64_t> dims, std::mt19937& rng, float lo = -1, float hi = 1) {
  Tensor t(DType::Float, std::move(dims));
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<float>()[i] = d(rng);
  return t;
}

inline ir::Value* initializer(ir::Graph& g, const std::string& name, Tensor t) {
  return g.add_initializer(name, std::make_shared<Tensor>(std::move(t)));
}

struct Ran {
  std::vector<RValue> outputs;
  std::vector<rt::NodeTiming> timings;
};

// One run of `m` on `providers` with profiling on (so the timings say who ran what).
inline Ran run(const ir::Model& m, std::vector<std::string> providers, const std::map<std::string, RValue>& feeds,
               int threads = 1) {
  rt::SessionOptions o;
  o.providers = std::move(providers);
  o.profile = true;
  o.threads = threads;
  auto s = rt::Session::create(m, o);
  INFO(s.status().message());
  REQUIRE(s.is_ok());
  auto out = (*s)->run(feeds);
  INFO(out.status().message());
  REQUIRE(out.is_ok());
  return {std::move(out).value(), (*s)->node_timings()};
}

// Float outputs within 1e-4 absolute + 1e-4 relative (or equal); a NaN on either side is a mismatch.
inline void check_close(const RValue& got, const RValue& want) {
  REQUIRE(got.is_tensor());
  REQUIRE(want.is_tensor());
  REQUIRE(got.tensor.dims() == want.tensor.dims());
  const float* g = got.tensor.data<float>();
  const float* w = want.tensor.data<float>();
  int bad = 0;
  for (int64_t i = 0; i < got.tensor.numel(); ++i) {
    if (g[i] != w[i] && !(std::fabs(g[i] - w[i]) <= 1e-4f + 1e-4f * std::fabs(w[i]))) {  // equal infinities match
      if (++bad <= 3) FAIL_CHECK(fmt::format("element {}: provider {} vs cpu {}", i, g[i], w[i]));
    }
  }
  CHECK(bad == 0);
}

// The provider that ran `node` and how many nodes its step held; "" when it has no timing entry.
inline std::pair<std::string, size_t> ran_by(const std::vector<rt::NodeTiming>& t, const std::string& node) {
  for (const auto& e : t)
    if (e.node->name == node) return {e.provider, e.fused_nodes};
  return {"", 0};
}

// A uint8 or int8 tensor of uniformly random stored values (every byte value equally likely).
inline Tensor random_q8(DType type, std::vector<int64_t> dims, std::mt19937& rng) {
  Tensor t(type, std::move(dims));
  std::uniform_int_distribution<int> byte(0, 255);
  for (int64_t i = 0; i < t.numel(); ++i) static_cast<uint8_t*>(t.raw_mutable())[i] = static_cast<uint8_t>(byte(rng));
  return t;
}

}  // namespace ortool::provider_test
