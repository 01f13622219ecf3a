// Col2Im (opset 18): sums sliding blocks [N, C * prod(block), L] back into images [N, C, image_shape...].
#include <cstdint>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/dispatch.h"

namespace ortool::rt::cpu::conv_family {
namespace {

class Col2ImKernel final : public Kernel {
 public:
  explicit Col2ImKernel(const KernelInit& init) { status_ = parse_window_attrs(init.node, attrs_); }
  const Status& init_status() const { return status_; }

  Status run(KernelContext& ctx) override {
    TRY(status_);
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* image = ctx.input_tensor(1);
    const Tensor* block = ctx.input_tensor(2);
    if (!x || !image || !block) return invalid("{}: inputs input, image_shape and block_shape are required",
                                               node.describe());
    if (!dtype_is_integer(image->dtype()) || !dtype_is_integer(block->dtype()) || image->rank() != 1 ||
        block->rank() != 1 || image->numel() != block->numel() || image->numel() == 0)
      return invalid("{}: image_shape {} and block_shape {} must be 1-D int64 tensors of the same length",
                     node.describe(), dims_string(image->dims()), dims_string(block->dims()));
    if (x->rank() != 3) return invalid("{}: input has shape {}; want [N, C * prod(block_shape), L]", node.describe(),
                                       dims_string(x->dims()));
    std::vector<int64_t> img = image->to_int64_vector(), blk = block->to_int64_vector();
    for (size_t d = 0; d < img.size(); ++d)
      if (img[d] < 0 || blk[d] <= 0)
        return invalid("{}: image_shape {} must be non-negative and block_shape {} positive", node.describe(),
                       dims_string(img), dims_string(blk));
    ASSIGN_OR_RETURN(Window win, resolve_window(node, attrs_, img, blk, WindowKind::Conv));
    const int64_t ksize = win.kernel_size();
    if (x->dims()[1] % ksize != 0)
      return invalid("{}: input has {} rows, not a multiple of prod(block_shape) = {}", node.describe(), x->dims()[1],
                     ksize);
    if (x->dims()[2] != win.out_size())
      return invalid("{}: input has {} blocks but image_shape {} with block_shape {} gives {}", node.describe(),
                     x->dims()[2], dims_string(img), dims_string(blk), win.out_size());
    const int64_t n = x->dims()[0], c = x->dims()[1] / ksize;
    std::vector<int64_t> out_dims{n, c};
    out_dims.insert(out_dims.end(), img.begin(), img.end());
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), out_dims));
    bool known = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      using A = AccOf<T>;
      AccView<T> xv(*x);
      std::vector<A> acc(static_cast<size_t>(y->numel()), A(0));
      const int64_t in_size = win.in_size(), col_size = c * ksize * win.out_size();
      for (int64_t b = 0; b < n; ++b) col2im_add<A>(xv.data() + b * col_size, c, win, acc.data() + b * c * in_size);
      T* out = y->mutable_data<T>();
      for (size_t i = 0; i < acc.size(); ++i) out[i] = from_acc<T>(acc[i]);
    });
    if (!known) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  Status status_;
  WindowAttrs attrs_;
};

}  // namespace

void register_col2im(KernelRegistry& r) {
  r.add(KernelDef{"", "Col2Im", 18, INT32_MAX, {DType::Float, DType::Double, DType::Float16, DType::BFloat16}, 0,
                  checked_factory<Col2ImKernel>()});
}

}  // namespace ortool::rt::cpu::conv_family
