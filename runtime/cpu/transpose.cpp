// Transpose: permutes the axes (default: reversed), any element type.
#include <algorithm>

#include <fmt/ranges.h>

#include "runtime/cpu/shape_ops_util.h"
#include "runtime/cpu/tensor.h"
#include "runtime/cpu/transpose_tiled.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

class TransposeKernel final : public Kernel {
 public:
  explicit TransposeKernel(const KernelInit& init)
      : has_perm_(init.node.has_attr("perm")), perm_(init.node.attr_ints("perm")) {}

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "data"));
    const size_t r = x->rank();
    std::vector<int64_t> perm = perm_;
    if (!has_perm_) {
      perm.resize(r);
      for (size_t i = 0; i < r; ++i) perm[i] = static_cast<int64_t>(r - 1 - i);
    }
    if (perm.size() != r)
      return node_error(n, "perm [{}] has {} entries but the input has rank {}", fmt::join(perm, ","), perm.size(), r);
    std::vector<bool> seen(r, false);
    for (int64_t p : perm) {
      if (p < 0 || p >= static_cast<int64_t>(r) || seen[p])
        return node_error(n, "perm [{}] is not a permutation of the input's {} axes", fmt::join(perm, ","), r);
      seen[p] = true;
    }
    const std::vector<int64_t> in_strides = strides_of(x->dims());
    std::vector<int64_t> dims(r);
    for (size_t i = 0; i < r; ++i) dims[i] = x->dims()[perm[i]];
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), dims));
    if (out->numel() == 0) return Status::ok();

    // The output's axes without those of size 1, adjacent ones that are adjacent in the input too
    // merged into one: [1,128,256] perm [1,0,2] becomes a plain copy, [4,128,64] perm [1,2,0] a
    // [4,8192] -> [8192,4] matrix transpose.
    std::vector<int64_t> mdims, mstrides;  // merged output dims and their input strides
    for (size_t i = 0; i < r; ++i) {
      if (dims[i] == 1) continue;
      const int64_t stride = in_strides[perm[i]];
      if (!mdims.empty() && mstrides.back() == stride * dims[i]) {
        mdims.back() *= dims[i];
        mstrides.back() = stride;
      } else {
        mdims.push_back(dims[i]);
        mstrides.push_back(stride);
      }
    }
    const size_t m = mdims.size();
    if (m <= 1) {
      copy_elements(*x, 0, *out, 0, x->numel());
      return Status::ok();
    }
    // [B, R, C] -> [B, C, R] (B may be absent, or strided in the input): tiled, so reads and writes both
    // stay in cache.
    const bool matrix = !x->is_string() && mstrides[m - 2] == 1 && (m == 2 || m == 3);
    if (matrix) {
      // Input rows of in_cols contiguous elements (the output's next-to-last merged dim), row_stride apart.
      const int64_t in_cols = mdims[m - 2], in_rows = mdims[m - 1], batch = m == 3 ? mdims[0] : 1;
      const int64_t row_stride = mstrides[m - 1], batch_stride = m == 3 ? mstrides[0] : 0;
      dispatch_by_size(x->element_size(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        transpose_tiled(static_cast<const T*>(x->raw()), static_cast<T*>(out->raw_mutable()), batch, in_rows, in_cols,
                        batch_stride, row_stride);
      });
      return Status::ok();
    }
    std::vector<std::vector<int64_t>> offsets(m);
    for (size_t i = 0; i < m; ++i) {
      offsets[i].resize(static_cast<size_t>(mdims[i]));
      for (int64_t k = 0; k < mdims[i]; ++k) offsets[i][static_cast<size_t>(k)] = k * mstrides[i];
    }
    map_copy(*x, *out, offsets);
    return Status::ok();
  }

 private:
  bool has_perm_;
  std::vector<int64_t> perm_;
};

}  // namespace

void register_transpose_ops(KernelRegistry& r) { r.add("", "Transpose", 1, INT32_MAX, factory_of<TransposeKernel>()); }

}  // namespace ortool::rt::cpu
