// ConvTranspose (1-D, 2-D, 3-D, grouped, dilated, output_padding/output_shape/auto_pad) as GEMM plus col2im.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/dispatch.h"

namespace ortool::rt::cpu::conv_family {
namespace {

class ConvTransposeKernel final : public Kernel {
 public:
  explicit ConvTransposeKernel(const KernelInit& init) {
    const ir::Node& node = init.node;
    status_ = parse_window_attrs(node, attrs_);
    group_ = node.attr_int("group", 1);
    output_padding_ = node.attr_ints("output_padding");
    output_shape_ = node.attr_ints("output_shape");
    if (!status_.is_ok()) return;
    if (group_ <= 0) status_ = invalid("{}: group {} must be positive", node.describe(), group_);
    for (int64_t v : output_padding_)
      if (v < 0) status_ = invalid("{}: output_padding {} must not be negative", node.describe(),
                                   dims_string(output_padding_));
    for (int64_t v : output_shape_)
      if (v < 0) status_ = invalid("{}: output_shape {} must not be negative", node.describe(),
                                   dims_string(output_shape_));
  }
  const Status& init_status() const { return status_; }

  Status run(KernelContext& ctx) override {
    TRY(status_);
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* w = ctx.input_tensor(1);
    const Tensor* b = ctx.input_tensor(2);
    if (!x || !w) return invalid("{}: input X and weight W are required", node.describe());
    if (w->dtype() != x->dtype() || (b && b->dtype() != x->dtype()))
      return invalid("{}: X, W and B must have the same element type", node.describe());
    if (x->rank() < 3)
      return invalid("{}: input X has shape {}; want N x C x D1 x ... (rank 3 or more)", node.describe(),
                     dims_string(x->dims()));
    if (w->rank() != x->rank())
      return invalid("{}: weight has shape {} but input X has rank {}", node.describe(), dims_string(w->dims()),
                     x->rank());
    const size_t r = x->rank() - 2;
    const int64_t n_batch = x->dims()[0], c_in = x->dims()[1];
    if (w->dims()[0] != c_in)
      return invalid("{}: weight has shape {} but input has {} channels (want weight [C, M/group, k...])",
                     node.describe(), dims_string(w->dims()), c_in);
    if (c_in % group_ != 0)
      return invalid("{}: input has {} channels, not a multiple of group {}", node.describe(), c_in, group_);
    const int64_t mg = w->dims()[1], m_out = mg * group_;
    std::span<const int64_t> kernel(w->dims().data() + 2, r);
    if (!attrs_.kernel_shape.empty() && !std::equal(kernel.begin(), kernel.end(), attrs_.kernel_shape.begin(),
                                                    attrs_.kernel_shape.end()))
      return invalid("{}: kernel_shape {} does not match the weight's shape {}", node.describe(),
                     dims_string(attrs_.kernel_shape), dims_string(w->dims()));
    if (b && (b->rank() != 1 || b->dims()[0] != m_out))
      return invalid("{}: bias has shape {}; want [{}]", node.describe(), dims_string(b->dims()), m_out);
    TRY(check_window_ranks(node, attrs_, r));
    if (!output_padding_.empty() && output_padding_.size() != r)
      return invalid("{}: output_padding has {} values but the input has {} spatial dims", node.describe(),
                     output_padding_.size(), r);
    std::vector<int64_t> out_shape;
    if (!output_shape_.empty()) {
      if (output_shape_.size() == r) {
        out_shape = output_shape_;
      } else if (output_shape_.size() == r + 2) {
        out_shape.assign(output_shape_.begin() + 2, output_shape_.end());
      } else {
        return invalid("{}: output_shape {} has the wrong length for {} spatial dims", node.describe(),
                       dims_string(output_shape_), r);
      }
    }

    // Window of the equivalent Conv: its input image is our output, its output is our input.
    ASSIGN_OR_RETURN(Window win, resolve_transpose_window(node, attrs_, output_padding_, out_shape,
                                                          std::span<const int64_t>(x->dims().data() + 2, r), kernel));
    std::vector<int64_t> out_dims{n_batch, m_out};
    out_dims.insert(out_dims.end(), win.in.begin(), win.in.end());
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), out_dims));
    bool known = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      compute<T>(*x, *w, b, win, n_batch, c_in, m_out, *y, ctx.threads());
    });
    if (!known) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  template <typename T>
  void compute(const Tensor& x, const Tensor& w, const Tensor* b, const Window& win, int64_t n_batch, int64_t c_in,
               int64_t m_out, Tensor& y, ThreadPool* pool) const {
    using A = AccOf<T>;
    AccView<T> xv(x), wv(w);
    const int64_t cg = c_in / group_, mg = m_out / group_;
    const int64_t x_size = win.out_size(), y_size = win.in_size(), ksize = win.kernel_size();
    std::vector<A> col(static_cast<size_t>(mg * ksize * x_size));
    std::vector<A> ybuf(static_cast<size_t>(y.numel()), A(0));
    for (int64_t n = 0; n < n_batch; ++n) {
      for (int64_t g = 0; g < group_; ++g) {
        const A* xg = xv.data() + (n * c_in + g * cg) * x_size;
        const A* wg = wv.data() + g * cg * mg * ksize;
        gemm_rowmajor<A>(true, wg, xg, col.data(), mg * ksize, cg, x_size, pool);
        A* yg = ybuf.data() + (n * m_out + g * mg) * y_size;
        auto scatter = [&](size_t m0, size_t m1) {
          const int64_t m = static_cast<int64_t>(m0);
          col2im_add<A>(col.data() + m * ksize * x_size, static_cast<int64_t>(m1 - m0), win, yg + m * y_size);
        };
        if (pool && mg > 1 && mg * ksize * x_size > 65536)
          pool->parallel_for(static_cast<size_t>(mg), scatter);
        else
          scatter(0, static_cast<size_t>(mg));
      }
    }
    if (b) {
      AccView<T> bv(*b);
      for (int64_t n = 0; n < n_batch; ++n)
        for (int64_t m = 0; m < m_out; ++m) {
          A* row = ybuf.data() + (n * m_out + m) * y_size;
          for (int64_t i = 0; i < y_size; ++i) row[i] += bv.data()[m];
        }
    }
    T* out = y.mutable_data<T>();
    for (size_t i = 0; i < ybuf.size(); ++i) out[i] = from_acc<T>(ybuf[i]);
  }

  Status status_;
  WindowAttrs attrs_;
  int64_t group_ = 1;
  std::vector<int64_t> output_padding_, output_shape_;
};

}  // namespace

void register_conv_transpose(KernelRegistry& r) {
  r.add(KernelDef{"", "ConvTranspose", 1, INT32_MAX, {DType::Float, DType::Double, DType::Float16, DType::BFloat16},
                  0, checked_factory<ConvTransposeKernel>()});
}

}  // namespace ortool::rt::cpu::conv_family
