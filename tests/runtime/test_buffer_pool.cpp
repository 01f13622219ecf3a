// Tests of the session's buffer arena: reuse by size, zero-fill, outliving the pool's owner, accounting.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "lib/graph.h"
#include "runtime/buffer_pool.h"
#include "runtime/session.h"

using namespace ortool;

TEST_CASE("a released block is handed out again for the same size, newest first") {
  auto pool = rt::BufferPool::create();
  std::byte* first = nullptr;
  {
    auto a = pool->take(1000, true);
    first = a->data();
    CHECK(a->size() == 1000);
    CHECK(reinterpret_cast<uintptr_t>(first) % 64 == 0);
    std::memset(a->data(), 7, a->size());
  }
  CHECK(pool->reserved_bytes() == 1024);
  auto b = pool->take(1000, true);
  CHECK(b->data() == first);
  for (size_t i = 0; i < b->size(); ++i) REQUIRE(b->data()[i] == std::byte{0});  // zero-filled on reuse too
  auto c = pool->take(1000, false);  // the only free block is in use: a new one
  CHECK(c->data() != first);
  CHECK(pool->reserved_bytes() == 2048);
  auto d = pool->take(5000, false);  // another size never takes a block of 1000
  CHECK(pool->reserved_bytes() == 2048 + 5056);
  CHECK(pool->peak_reserved_bytes() == 2048 + 5056);
}

TEST_CASE("a smaller request takes a free block up to twice its size, not a bigger one") {
  auto pool = rt::BufferPool::create();
  std::byte* big = nullptr;
  {
    auto a = pool->take(1024, false);
    big = a->data();
  }
  {
    auto tiny = pool->take(256, false);  // 1088 > 2 * 320: a block of its own
    CHECK(tiny->data() != big);
  }
  auto half = pool->take(600, true);  // 1088 <= 2 * 640
  CHECK(half->data() == big);
  CHECK(half->size() == 600);
  for (size_t i = 0; i < half->size(); ++i) REQUIRE(half->data()[i] == std::byte{0});
  CHECK(pool->reserved_bytes() == 1088 + 320);  // sizes + 16 bytes of slack, rounded up to 64
}

TEST_CASE("trim frees only the blocks not in use; buffers keep the pool alive") {
  auto pool = rt::BufferPool::create();
  auto kept = pool->take(64, true);
  { auto gone = pool->take(128, true); }
  CHECK(pool->reserved_bytes() == 128 + 192);
  pool->trim();
  CHECK(pool->reserved_bytes() == 128);
  pool.reset();  // the buffer still owns a reference: freeing it later must not touch freed memory
  std::memset(kept->data(), 1, kept->size());
  kept.reset();
}

namespace {

// x -> Relu -> Sigmoid -> Neg -> y, every tensor the same size: liveness reuse needs at most 3 buffers.
ir::Model unary_chain(int64_t n) {
  ir::Model m;
  m.set_opset("", 13);
  ir::Value* x = m.graph->add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::known(n)});
  m.graph->add_input(x);
  ir::Value* a = m.graph->add_node("Relu", "", {x}, {"a"}, "relu")->output(0);
  ir::Value* b = m.graph->add_node("Sigmoid", "", {a}, {"b"}, "sigmoid")->output(0);
  ir::Value* c = m.graph->add_node("Neg", "", {b}, {"c"}, "neg")->output(0);
  ir::Value* d = m.graph->add_node("Abs", "", {c}, {"d"}, "abs")->output(0);
  m.graph->add_output(m.graph->add_node("Neg", "", {d}, {"y"}, "neg2")->output(0));
  return m;
}

}  // namespace

TEST_CASE("a session's arena stays near its live peak across runs, and outputs outlive the session") {
  const int64_t n = 1 << 16;
  ir::Model m = unary_chain(n);
  RValue out;
  {
    auto s = rt::Session::create(m);
    REQUIRE(s.is_ok());
    Tensor x(DType::Float, {n});
    for (int64_t i = 0; i < n; ++i) x.mutable_data<float>()[i] = static_cast<float>(i % 17) - 8.0f;
    for (int run = 0; run < 3; ++run) {
      auto r = (*s)->run({{"x", RValue(x)}});
      REQUIRE(r.is_ok());
      out = (*r)[0];
      const float* y = out.tensor.data<float>();
      for (int64_t i = 0; i < n; i += 1001) {
        const float v = static_cast<float>(i % 17) - 8.0f;
        REQUIRE(y[i] == doctest::Approx(-1.0f / (1.0f + std::exp(-std::max(v, 0.0f)))));
      }
    }
    const size_t bytes = static_cast<size_t>(n) * 4;
    // The output of each run is kept by the caller while the next runs; the rest is recycled.
    CHECK((*s)->arena_bytes() <= 4 * bytes);
    CHECK((*s)->peak_memory_bytes() <= 2 * bytes);
  }
  CHECK(out.tensor.data<float>()[0] == doctest::Approx(-0.5f));  // the session (and its pool owner) is gone
}
