// Transpose: permutes the axes (default: reversed), any element type.
#include <fmt/ranges.h>

#include "runtime/cpu/shape_ops_util.h"
#include "runtime/cpu/tensor.h"

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
    std::vector<std::vector<int64_t>> offsets(r);
    for (size_t i = 0; i < r; ++i) {
      dims[i] = x->dims()[perm[i]];
      offsets[i].resize(dims[i]);
      for (int64_t k = 0; k < dims[i]; ++k) offsets[i][k] = k * in_strides[perm[i]];
    }
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), dims));
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
