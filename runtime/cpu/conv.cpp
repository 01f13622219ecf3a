// Conv (1-D, 2-D, 3-D, grouped, dilated, strided, padded) as im2col per group plus an Eigen matrix product.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/dispatch.h"

namespace ortool::rt::cpu::conv_family {
namespace {

class ConvKernel final : public Kernel {
 public:
  explicit ConvKernel(const KernelInit& init) {
    status_ = parse_window_attrs(init.node, attrs_);
    group_ = init.node.attr_int("group", 1);
    if (status_.is_ok() && group_ <= 0) status_ = invalid("{}: group {} must be positive", init.node.describe(), group_);
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
      return invalid("{}: X, W and B must have the same element type (X is {}, W is {}{}{})", node.describe(),
                     dtype_name(x->dtype()), dtype_name(w->dtype()), b ? ", B is " : "",
                     b ? dtype_name(b->dtype()) : "");
    if (x->rank() < 3)
      return invalid("{}: input X has shape {}; want N x C x D1 x ... (rank 3 or more)", node.describe(),
                     dims_string(x->dims()));
    if (w->rank() != x->rank())
      return invalid("{}: weight has shape {} but input X has rank {}", node.describe(), dims_string(w->dims()),
                     x->rank());
    const int64_t n_batch = x->dims()[0], c_in = x->dims()[1];
    const int64_t m_out = w->dims()[0], c_per_group = w->dims()[1];
    if (c_per_group * group_ != c_in)
      return invalid("{}: weight has {} input channels per group but input has {} channels and group {}",
                     node.describe(), c_per_group, c_in, group_);
    if (m_out % group_ != 0)
      return invalid("{}: weight has {} output channels, not a multiple of group {}", node.describe(), m_out, group_);
    std::span<const int64_t> kernel(w->dims().data() + 2, w->rank() - 2);
    if (!attrs_.kernel_shape.empty() && !std::equal(kernel.begin(), kernel.end(), attrs_.kernel_shape.begin(),
                                                    attrs_.kernel_shape.end()))
      return invalid("{}: kernel_shape {} does not match the weight's shape {}", node.describe(),
                     dims_string(attrs_.kernel_shape), dims_string(w->dims()));
    if (b && (b->rank() != 1 || b->dims()[0] != m_out))
      return invalid("{}: bias has shape {}; want [{}]", node.describe(), dims_string(b->dims()), m_out);
    std::span<const int64_t> in_spatial(x->dims().data() + 2, x->rank() - 2);
    ASSIGN_OR_RETURN(Window win, resolve_window(node, attrs_, in_spatial, kernel, WindowKind::Conv));
    std::vector<int64_t> out_dims{n_batch, m_out};
    out_dims.insert(out_dims.end(), win.out.begin(), win.out.end());
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), out_dims));
    Status st = Status::ok();
    bool known = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      compute<T>(*x, *w, b, win, n_batch, c_in, m_out, *y, ctx.threads());
    });
    if (!known) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return st;
  }

 private:
  template <typename T>
  void compute(const Tensor& x, const Tensor& w, const Tensor* b, const Window& win, int64_t n_batch, int64_t c_in,
               int64_t m_out, Tensor& y, ThreadPool* pool) const {
    using A = AccOf<T>;
    AccView<T> xv(x), wv(w);
    std::vector<A> bias;
    if (b) {
      AccView<T> bv(*b);
      bias.assign(bv.data(), bv.data() + m_out);
    }
    const int64_t cg = c_in / group_, mg = m_out / group_;
    const int64_t in_size = win.in_size(), out_size = win.out_size(), ksize = win.kernel_size();
    const int64_t k = cg * ksize;
    bool pointwise = true;
    for (size_t d = 0; d < win.rank(); ++d)
      pointwise = pointwise && win.kernel[d] == 1 && win.stride[d] == 1 && win.pad_begin[d] == 0 &&
                  win.pad_end[d] == 0;
    std::vector<A> col(pointwise ? 0 : static_cast<size_t>(k * out_size));
    std::vector<A> ybuf;
    A* yp;
    if constexpr (std::is_same_v<T, A>) {
      yp = y.mutable_data<A>();
    } else {
      ybuf.resize(static_cast<size_t>(y.numel()));
      yp = ybuf.data();
    }
    for (int64_t n = 0; n < n_batch; ++n) {
      for (int64_t g = 0; g < group_; ++g) {
        const A* xg = xv.data() + (n * c_in + g * cg) * in_size;
        const A* colp = xg;
        if (!pointwise) {
          auto fill = [&](size_t c0, size_t c1) {
            im2col<A>(xg + static_cast<int64_t>(c0) * in_size, static_cast<int64_t>(c1 - c0), win, A(0),
                      col.data() + static_cast<int64_t>(c0) * ksize * out_size);
          };
          if (pool && cg > 1 && k * out_size > 65536)
            pool->parallel_for(static_cast<size_t>(cg), fill);
          else
            fill(0, static_cast<size_t>(cg));
          colp = col.data();
        }
        A* yg = yp + (n * m_out + g * mg) * out_size;
        gemm_rowmajor<A>(false, wv.data() + g * mg * k, colp, yg, mg, k, out_size, pool);
        if (!bias.empty()) {
          for (int64_t m = 0; m < mg; ++m) {
            const A bv = bias[static_cast<size_t>(g * mg + m)];
            A* row = yg + m * out_size;
            for (int64_t i = 0; i < out_size; ++i) row[i] += bv;
          }
        }
      }
    }
    if constexpr (!std::is_same_v<T, A>) {
      T* out = y.mutable_data<T>();
      for (size_t i = 0; i < ybuf.size(); ++i) out[i] = from_acc<T>(ybuf[i]);
    }
  }

  Status status_;
  WindowAttrs attrs_;
  int64_t group_ = 1;
};

}  // namespace

void register_conv(KernelRegistry& r) {
  r.add(KernelDef{"", "Conv", 1, INT32_MAX, {DType::Float, DType::Double, DType::Float16, DType::BFloat16}, 0,
                  checked_factory<ConvKernel>()});
}

}  // namespace ortool::rt::cpu::conv_family
