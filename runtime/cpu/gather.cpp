// Gather, GatherElements and GatherND: index-based reads with every index checked against its axis.
#include <fmt/ranges.h>

#include "runtime/cpu/shape_ops_util.h"
#include "runtime/cpu/tensor.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

// Indices as int64 (int32 or int64 input); the error names the node.
Result<std::vector<int64_t>> read_indices(const KernelContext& ctx, const Tensor& t) {
  if (t.dtype() != DType::Int64 && t.dtype() != DType::Int32)
    return node_error(ctx.node(), "indices must be int32 or int64, got {}", dtype_name(t.dtype()));
  return t.to_int64_vector();
}

// Index `v` into an axis of size `dim`, negatives counted from the end.
Result<int64_t> fix_index(const ir::Node& n, int64_t v, int64_t dim, int64_t axis) {
  if (v < -dim || v >= dim) return node_error(n, "index {} is out of range for axis {} of size {}", v, axis, dim);
  return v < 0 ? v + dim : v;
}

class GatherKernel final : public Kernel {
 public:
  explicit GatherKernel(const KernelInit& init) : axis_(init.node.attr_int("axis", 0)) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "data"));
    ASSIGN_OR_RETURN(const Tensor* it, need_input(ctx, 1, "indices"));
    const int64_t r = static_cast<int64_t>(x->rank());
    if (r == 0) return node_error(n, "data must have rank >= 1");
    ASSIGN_OR_RETURN(int64_t axis, normalize_axis(n, axis_, r));
    ASSIGN_OR_RETURN(std::vector<int64_t> idx, read_indices(ctx, *it));
    const int64_t dim = x->dims()[axis];
    for (int64_t& v : idx) {
      ASSIGN_OR_RETURN(v, fix_index(n, v, dim, axis));
    }
    std::vector<int64_t> dims(x->dims().begin(), x->dims().begin() + axis);
    dims.insert(dims.end(), it->dims().begin(), it->dims().end());
    dims.insert(dims.end(), x->dims().begin() + axis + 1, x->dims().end());
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), dims));
    const int64_t outer = product(x->dims(), 0, axis);
    const int64_t inner = product(x->dims(), axis + 1);
    const int64_t nidx = static_cast<int64_t>(idx.size());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < nidx; ++j)
        copy_elements(*x, (o * dim + idx[j]) * inner, *out, (o * nidx + j) * inner, inner);
    return Status::ok();
  }

 private:
  int64_t axis_;
};

class GatherElementsKernel final : public Kernel {
 public:
  explicit GatherElementsKernel(const KernelInit& init) : axis_(init.node.attr_int("axis", 0)) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "data"));
    ASSIGN_OR_RETURN(const Tensor* it, need_input(ctx, 1, "indices"));
    const int64_t r = static_cast<int64_t>(x->rank());
    if (r == 0) return node_error(n, "data must have rank >= 1");
    if (static_cast<int64_t>(it->rank()) != r)
      return node_error(n, "indices have rank {} but data has rank {}", it->rank(), r);
    ASSIGN_OR_RETURN(int64_t axis, normalize_axis(n, axis_, r));
    for (int64_t d = 0; d < r; ++d)
      if (d != axis && it->dims()[d] > x->dims()[d])
        return node_error(n, "indices shape [{}] exceeds data shape [{}] on axis {}", fmt::join(it->dims(), ","),
                          fmt::join(x->dims(), ","), d);
    ASSIGN_OR_RETURN(std::vector<int64_t> idx, read_indices(ctx, *it));
    const int64_t dim = x->dims()[axis];
    for (int64_t& v : idx) {
      ASSIGN_OR_RETURN(v, fix_index(n, v, dim, axis));
    }
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), it->dims()));
    if (out->numel() == 0) return Status::ok();
    const std::vector<int64_t> xs = strides_of(x->dims());
    dispatch_copy(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = elems<T>(*x);
      T* dst = mutable_elems<T>(*out);
      std::vector<int64_t> c(r, 0);
      for (int64_t i = 0; i < out->numel(); ++i) {
        int64_t off = 0;
        for (int64_t d = 0; d < r; ++d) off += (d == axis ? idx[i] : c[d]) * xs[d];
        dst[i] = src[off];
        for (int64_t d = r - 1; d >= 0; --d) {
          if (++c[d] < it->dims()[d]) break;
          c[d] = 0;
        }
      }
    });
    return Status::ok();
  }

 private:
  int64_t axis_;
};

// GatherND: the last indices dim picks the leading data dims after batch_dims (GatherND-12).
class GatherNDKernel final : public Kernel {
 public:
  explicit GatherNDKernel(const KernelInit& init) : batch_dims_(init.node.attr_int("batch_dims", 0)) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "data"));
    ASSIGN_OR_RETURN(const Tensor* it, need_input(ctx, 1, "indices"));
    if (it->dtype() != DType::Int64)
      return node_error(n, "indices must be int64, got {}", dtype_name(it->dtype()));
    const int64_t r = static_cast<int64_t>(x->rank()), q = static_cast<int64_t>(it->rank());
    const int64_t b = batch_dims_;
    if (r < 1 || q < 1) return node_error(n, "data and indices must have rank >= 1");
    if (b < 0 || b >= std::min(r, q)) return node_error(n, "batch_dims {} must be in [0, {})", b, std::min(r, q));
    for (int64_t d = 0; d < b; ++d)
      if (x->dims()[d] != it->dims()[d])
        return node_error(n, "batch dim {} differs between data [{}] and indices [{}]", d, fmt::join(x->dims(), ","),
                          fmt::join(it->dims(), ","));
    const int64_t k = it->dims()[q - 1];
    if (k < 1 || k > r - b)
      return node_error(n, "indices last dim {} must be in [1, {}] (data rank {}, batch_dims {})", k, r - b, r, b);
    std::vector<int64_t> dims(it->dims().begin(), it->dims().end() - 1);
    dims.insert(dims.end(), x->dims().begin() + b + k, x->dims().end());
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), dims));
    const int64_t batch = product(x->dims(), 0, b);
    const int64_t per_batch = product(it->dims(), b, q - 1);  // index tuples per batch
    const int64_t block = product(x->dims(), b + k);
    const int64_t batch_stride = product(x->dims(), b);
    const std::vector<int64_t> xs = strides_of(x->dims());
    const int64_t* idx = it->data<int64_t>();
    for (int64_t bi = 0; bi < batch; ++bi) {
      for (int64_t j = 0; j < per_batch; ++j) {
        const int64_t* tuple = idx + (bi * per_batch + j) * k;
        int64_t off = bi * batch_stride;
        for (int64_t d = 0; d < k; ++d) {
          ASSIGN_OR_RETURN(int64_t v, fix_index(n, tuple[d], x->dims()[b + d], b + d));
          off += v * xs[b + d];
        }
        copy_elements(*x, off, *out, (bi * per_batch + j) * block, block);
      }
    }
    return Status::ok();
  }

 private:
  int64_t batch_dims_;
};

}  // namespace

void register_gather_ops(KernelRegistry& r) {
  r.add("", "Gather", 1, INT32_MAX, factory_of<GatherKernel>());
  r.add("", "GatherElements", 11, INT32_MAX, factory_of<GatherElementsKernel>());
  r.add("", "GatherND", 11, INT32_MAX, factory_of<GatherNDKernel>());
}

}  // namespace ortool::rt::cpu
