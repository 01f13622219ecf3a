// Unique-11: unique elements (or slices along an axis), sorted or in first-occurrence order, with all 4 outputs.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "runtime/cpu/shape_ops_util.h"
#include "runtime/cpu/tensor.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

class UniqueKernel final : public Kernel {
 public:
  explicit UniqueKernel(const KernelInit& init)
      : has_axis_(init.node.has_attr("axis")), axis_(init.node.attr_int("axis", 0)),
        sorted_(init.node.attr_int("sorted", 1) != 0) {}

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "X"));
    // View the input as [outer, count, inner]; slice j is every (o, j, i).
    int64_t axis = 0;
    std::vector<int64_t> dims = {x->numel()};
    if (has_axis_) {
      ASSIGN_OR_RETURN(axis, normalize_axis(n, axis_, static_cast<int64_t>(x->rank())));
      dims = x->dims();
    }
    const int64_t outer = product(dims, 0, axis), count = dims[axis], inner = product(dims, axis + 1);
    // Three-way comparison of slices a and b, lexicographic in (o, i) order.
    std::function<int(int64_t, int64_t)> cmp;
    if (x->is_string()) {
      const std::string* p = x->strings().data();
      cmp = [=](int64_t a, int64_t b) {
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i) {
            const std::string& u = p[(o * count + a) * inner + i];
            const std::string& v = p[(o * count + b) * inner + i];
            if (u != v) return u < v ? -1 : 1;
          }
        return 0;
      };
    } else {
      bool ok = dispatch_numeric(x->dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* p = x->data<T>();
        cmp = [=](int64_t a, int64_t b) {
          for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < inner; ++i) {
              const auto u = to_arith(p[(o * count + a) * inner + i]);
              const auto v = to_arith(p[(o * count + b) * inner + i]);
              if constexpr (std::is_floating_point_v<decltype(u)>) {  // NaNs sort last, equal to each other
                if (std::isnan(u) || std::isnan(v)) {
                  if (std::isnan(u) && std::isnan(v)) continue;
                  return std::isnan(u) ? 1 : -1;
                }
              }
              if (u < v) return -1;
              if (v < u) return 1;
            }
          return 0;
        };
      });
      if (!ok) return node_unsupported(n, "element type {}", dtype_name(x->dtype()));
    }
    // Stable sort keeps the first occurrence first within each group of equal slices.
    std::vector<int64_t> order(static_cast<size_t>(count));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
    std::vector<int64_t> first, counts, group_of(static_cast<size_t>(count));
    for (size_t k = 0; k < order.size(); ++k) {
      if (k == 0 || cmp(order[k - 1], order[k]) != 0) {
        first.push_back(order[k]);
        counts.push_back(0);
      }
      group_of[order[k]] = static_cast<int64_t>(first.size()) - 1;
      ++counts.back();
    }
    // Output position of every group: sorted order, or by first occurrence.
    const int64_t groups = static_cast<int64_t>(first.size());
    std::vector<int64_t> pos(static_cast<size_t>(groups));
    std::iota(pos.begin(), pos.end(), 0);
    if (!sorted_) {
      std::vector<int64_t> by_first(pos);
      std::sort(by_first.begin(), by_first.end(), [&](int64_t a, int64_t b) { return first[a] < first[b]; });
      for (int64_t p = 0; p < groups; ++p) pos[by_first[p]] = p;
    }
    std::vector<int64_t> out_first(groups), out_counts(groups);
    for (int64_t g = 0; g < groups; ++g) {
      out_first[pos[g]] = first[g];
      out_counts[pos[g]] = counts[g];
    }
    std::vector<int64_t> ydims = dims;
    ydims[axis] = groups;
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), ydims));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t g = 0; g < groups; ++g)
        copy_elements(*x, (o * count + out_first[g]) * inner, *y, (o * groups + g) * inner, inner);
    if (want_output(ctx, 1)) {
      ASSIGN_OR_RETURN(Tensor * t, ctx.allocate_output(1, DType::Int64, {groups}));
      std::copy(out_first.begin(), out_first.end(), t->mutable_data<int64_t>());
    }
    if (want_output(ctx, 2)) {
      ASSIGN_OR_RETURN(Tensor * t, ctx.allocate_output(2, DType::Int64, {count}));
      for (int64_t j = 0; j < count; ++j) t->mutable_data<int64_t>()[j] = pos[group_of[j]];
    }
    if (want_output(ctx, 3)) {
      ASSIGN_OR_RETURN(Tensor * t, ctx.allocate_output(3, DType::Int64, {groups}));
      std::copy(out_counts.begin(), out_counts.end(), t->mutable_data<int64_t>());
    }
    return Status::ok();
  }

 private:
  bool has_axis_;
  int64_t axis_;
  bool sorted_;
};

}  // namespace

void register_unique_ops(KernelRegistry& r) { r.add("", "Unique", 11, INT32_MAX, factory_of<UniqueKernel>()); }

}  // namespace ortool::rt::cpu
