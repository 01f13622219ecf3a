// The audit of dims products on empty tensors (docs/bad_inputs.md): control_util's slice and stack, the
// sequence split/concat ops and QLinearConcat/QLinearGlobalAveragePool on tensors with a zero dim and
// huge other dims ([2^62, 5, 0] holds nothing). Before the fixes their outer loops overflowed int64 or
// ran 2^62 times copying nothing.
#include <doctest/doctest.h>

#include "runtime/cpu/control.h"
#include "tests/runtime/kernel_test_util.h"

using namespace ortool;
using namespace ortool::kernel_test;

namespace {
constexpr int64_t kHuge = int64_t{1} << 62;

RValue empty_f(std::vector<int64_t> dims) { return RValue(Tensor(DType::Float, std::move(dims))); }
}  // namespace

TEST_CASE("slice_along_axis and stack_into on an empty tensor with huge dims") {
  const Tensor t(DType::Float, {kHuge, 5, 0, 2});
  const Tensor s = rt::cpu::slice_along_axis(t, 3, 1);
  CHECK(s.dims() == std::vector<int64_t>{kHuge, 5, 0});
  Tensor out(DType::Float, {kHuge, 5, 0, 2});
  rt::cpu::stack_into({s, s}, {0, 1}, 3, out);
  // Stacked in the middle: the zero dim after the stacking axis.
  Tensor mid(DType::Float, {kHuge, 5, 1, 0});
  rt::cpu::stack_into({Tensor(DType::Float, {kHuge, 5, 0})}, {0}, 2, mid);
  CHECK(mid.numel() == 0);
}

TEST_CASE("SplitToSequence on empty tensors: chunks made at once, too many refused, split sums checked") {
  auto r = run1("SplitToSequence", 11, {empty_f({kHuge, 5, 0}), RValue(i64({}, {2}))}, 1,
                {ir::Attribute::make_int("axis", 1)});
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  REQUIRE((*r)[0].sequence.size() == 3);
  CHECK((*r)[0].sequence[2].dims() == std::vector<int64_t>{kHuge, 1, 0});
  // 2^40 chunks of nothing: a sequence of 2^40 tensors is refused, not built.
  auto many = run1("SplitToSequence", 11, {empty_f({int64_t{1} << 40, 0})}, 1, {}, "split_many");
  REQUIRE_FALSE(many.is_ok());
  CHECK(many.status().code() == StatusCode::kResourceLimit);
  CHECK(many.status().message().find("split_many") != std::string::npos);
  // Sizes whose sum overflows int64.
  auto sum = run1("SplitToSequence", 11, {empty_f({kHuge, 0}), RValue(i64({4}, {kHuge, kHuge, kHuge, kHuge}))}, 1, {},
                  "split_sum");
  REQUIRE_FALSE(sum.is_ok());
  CHECK(sum.status().message().find("split_sum") != std::string::npos);
}

TEST_CASE("ConcatFromSequence on empty tensors: huge dims, and an axis total past int64") {
  const Tensor e(DType::Float, {kHuge, 5, 0});
  auto r = run1("ConcatFromSequence", 11, {RValue::seq({e, e}, DType::Float)}, 1, {ir::Attribute::make_int("axis", 1)});
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  CHECK((*r)[0].tensor.dims() == std::vector<int64_t>{kHuge, 10, 0});
  const Tensor f(DType::Float, {kHuge, 0});
  auto over = run1("ConcatFromSequence", 11, {RValue::seq({f, f, f, f}, DType::Float)}, 1,
                   {ir::Attribute::make_int("axis", 0)}, "concat_over");
  REQUIRE_FALSE(over.is_ok());
  CHECK(over.status().message().find("concat_over") != std::string::npos);
}

TEST_CASE("QLinearConcat and QLinearGlobalAveragePool on empty tensors with huge dims") {
  const RValue one(f32({}, {1.0f})), zp(u8({}, {0}));
  const RValue x(Tensor(DType::UInt8, {kHuge, 5, 0}));
  auto r = run1("QLinearConcat", 1, {one, zp, x, one, zp, x, one, zp}, 1, {ir::Attribute::make_int("axis", 1)}, "n",
                "com.microsoft");
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  CHECK((*r)[0].tensor.dims() == std::vector<int64_t>{kHuge, 10, 0});
  const RValue y(Tensor(DType::UInt8, {kHuge, 0}));
  auto over = run1("QLinearConcat", 1, {one, zp, y, one, zp, y, one, zp, y, one, zp, y, one, zp}, 1,
                   {ir::Attribute::make_int("axis", 0)}, "qconcat_over", "com.microsoft");
  REQUIRE_FALSE(over.is_ok());
  CHECK(over.status().message().find("qconcat_over") != std::string::npos);
  // [2^40, 2^40, 0] averages to [2^40, 2^40, 1]: 2^80 elements, refused before anything is allocated.
  const RValue p(Tensor(DType::UInt8, {int64_t{1} << 40, int64_t{1} << 40, 0}));
  auto pool = run1("QLinearGlobalAveragePool", 1, {p, one, zp, one, zp}, 1, {}, "qpool", "com.microsoft");
  REQUIRE_FALSE(pool.is_ok());
  CHECK(pool.status().message().find("qpool") != std::string::npos);
}
