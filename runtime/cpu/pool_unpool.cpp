// MaxUnpool: scatters pooled values back to the positions MaxPool's indices name; the rest is zero.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "runtime/cpu/conv.h"

namespace ortool::rt::cpu::conv_family {
namespace {

class MaxUnpoolKernel final : public Kernel {
 public:
  explicit MaxUnpoolKernel(const KernelInit& init) {
    status_ = parse_window_attrs(init.node, attrs_);
    if (status_.is_ok() && attrs_.kernel_shape.empty())
      status_ = invalid("{}: attribute kernel_shape is required", init.node.describe());
  }
  const Status& init_status() const { return status_; }

  Status run(KernelContext& ctx) override {
    TRY(status_);
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* ind = ctx.input_tensor(1);
    const Tensor* shape = ctx.input_tensor(2);
    if (!x || !ind) return invalid("{}: inputs X and I are required", node.describe());
    if (x->rank() < 3)
      return invalid("{}: input X has shape {}; want N x C x D1 x ... (rank 3 or more)", node.describe(),
                     dims_string(x->dims()));
    if (ind->dtype() != DType::Int64 || ind->dims() != x->dims())
      return invalid("{}: indices I are {} {}; want int64 of X's shape {}", node.describe(), dtype_name(ind->dtype()),
                     dims_string(ind->dims()), dims_string(x->dims()));
    const size_t r = x->rank() - 2;
    TRY(check_window_ranks(node, attrs_, r));
    if (attrs_.kernel_shape.size() != r)
      return invalid("{}: kernel_shape {} does not match the {} spatial dims of X", node.describe(),
                     dims_string(attrs_.kernel_shape), r);
    // Indices address the inferred shape; a larger output_shape pads it at the end of each spatial
    // dim (the ONNX reference implementation; ONNX Runtime instead indexes the given shape).
    std::vector<int64_t> inferred{x->dims()[0], x->dims()[1]};
    for (size_t d = 0; d < r; ++d) {
      const int64_t s = attrs_.strides.empty() ? 1 : attrs_.strides[d];
      const int64_t pb = attrs_.pads.empty() ? 0 : attrs_.pads[d];
      const int64_t pe = attrs_.pads.empty() ? 0 : attrs_.pads[d + r];
      const int64_t v = (x->dims()[d + 2] - 1) * s + attrs_.kernel_shape[d] - pb - pe;
      if (v <= 0 && x->dims()[d + 2] > 0)
        return invalid("{}: inferred output dim {} is {}; check kernel_shape, strides and pads", node.describe(), d + 2,
                       v);
      inferred.push_back(std::max<int64_t>(v, 0));
    }
    std::vector<int64_t> out_dims = inferred;
    if (shape) {
      if (!dtype_is_integer(shape->dtype()) || shape->rank() != 1 || shape->numel() != static_cast<int64_t>(x->rank()))
        return invalid("{}: output_shape must be a 1-D integer tensor of {} values, got {} {}", node.describe(),
                       x->rank(), dtype_name(shape->dtype()), dims_string(shape->dims()));
      out_dims = shape->to_int64_vector();
      for (size_t d = 0; d < out_dims.size(); ++d)
        if (out_dims[d] < inferred[d] || (d < 2 && out_dims[d] != inferred[d]))
          return invalid("{}: output_shape {} is smaller than the inferred shape {} or changes batch/channels",
                         node.describe(), dims_string(out_dims), dims_string(inferred));
    }
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), out_dims));
    int64_t total = 1;
    for (int64_t v : inferred) total *= v;
    // Row-major strides of the inferred shape and of the output.
    std::vector<int64_t> in_stride(inferred.size(), 1), out_stride(out_dims.size(), 1);
    for (size_t d = inferred.size(); d-- > 1;) {
      in_stride[d - 1] = in_stride[d] * inferred[d];
      out_stride[d - 1] = out_stride[d] * out_dims[d];
    }
    const int64_t* ip = ind->data<int64_t>();
    const size_t es = x->element_size();
    const auto* src = static_cast<const std::byte*>(x->raw());
    auto* dst = static_cast<std::byte*>(y->raw_mutable());
    for (int64_t i = 0; i < x->numel(); ++i) {
      if (ip[i] < 0 || ip[i] >= total)
        return invalid("{}: index {} at position {} of I is outside the unpooled shape {}", node.describe(), ip[i], i,
                       dims_string(inferred));
      int64_t rem = ip[i], off = 0;
      for (size_t d = 0; d < inferred.size(); ++d) {
        off += (rem / in_stride[d]) * out_stride[d];
        rem %= in_stride[d];
      }
      std::memcpy(dst + off * es, src + i * es, es);
    }
    return Status::ok();
  }

 private:
  Status status_;
  WindowAttrs attrs_;
};

}  // namespace

void register_pool_unpool(KernelRegistry& r) {
  r.add(KernelDef{"", "MaxUnpool", 9, INT32_MAX, {DType::Float, DType::Double, DType::Float16, DType::BFloat16}, 0,
                  checked_factory<MaxUnpoolKernel>()});
}

}  // namespace ortool::rt::cpu::conv_family
