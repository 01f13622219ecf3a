// ConvInteger and QLinearConv (uint8/int8, per-tensor or per-channel weight zero points and scales).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "lib/quant_scale_check.h"
#include "runtime/cpu/conv.h"
#include "runtime/cpu/exact_int_gemm.h"

namespace ortool::rt::cpu::conv_family {
namespace {

bool is_8bit(DType t) { return t == DType::UInt8 || t == DType::Int8; }

// Values of an int8/uint8 tensor as int32.
std::vector<int32_t> widen(const Tensor& t) {
  std::vector<int32_t> v(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::UInt8) {
    const uint8_t* p = t.data<uint8_t>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = p[i];
  } else {
    const int8_t* p = t.data<int8_t>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = p[i];
  }
  return v;
}

// A zero point input (absent: 0) of the given element type: one value, or `per_channel` values.
Result<std::vector<int32_t>> zero_points(const ir::Node& node, const Tensor* zp, DType want, const char* name,
                                         int64_t per_channel) {
  if (!zp) return std::vector<int32_t>{0};
  if (zp->dtype() != want)
    return invalid("{}: {} is {}; want {}", node.describe(), name, dtype_name(zp->dtype()), dtype_name(want));
  if (zp->numel() == 1 && zp->rank() <= 1) return widen(*zp);
  if (per_channel > 0 && zp->rank() == 1 && zp->numel() == per_channel) return widen(*zp);
  return invalid("{}: {} has shape {}; want a scalar{}", node.describe(), name, dims_string(zp->dims()),
                 per_channel > 0 ? fmt::format(" or [{}]", per_channel) : std::string());
}

Result<std::vector<float>> scales(const ir::Node& node, size_t input, const Tensor* s, const char* name,
                                  int64_t per_channel) {
  if (!s) return invalid("{}: input {} is required", node.describe(), name);
  if (s->dtype() != DType::Float)
    return invalid("{}: {} must be float32, not {}", node.describe(), name, dtype_name(s->dtype()));
  TRY(check_quant_scale(node, input, *s));
  if ((s->numel() == 1 && s->rank() <= 1) || (per_channel > 0 && s->rank() == 1 && s->numel() == per_channel))
    return std::vector<float>(s->data<float>(), s->data<float>() + s->numel());
  return invalid("{}: {} has shape {}; want a scalar{}", node.describe(), name, dims_string(s->dims()),
                 per_channel > 0 ? fmt::format(" or [{}]", per_channel) : std::string());
}

class IntegerConvBase : public Kernel {
 public:
  explicit IntegerConvBase(const KernelInit& init) {
    status_ = parse_window_attrs(init.node, attrs_);
    group_ = init.node.attr_int("group", 1);
    if (status_.is_ok() && group_ <= 0) status_ = invalid("{}: group {} must be positive", init.node.describe(), group_);
  }
  const Status& init_status() const { return status_; }

 protected:
  // Checks shapes of x and w, resolves the window, and computes the int32 accumulators
  // acc[n, m, out...] = sum (x - xzp) * (w - wzp[m]).
  Status accumulate(const ir::Node& node, const Tensor& x, const Tensor& w, const std::vector<int32_t>& xzp,
                    const std::vector<int32_t>& wzp, ThreadPool* pool, std::vector<int64_t>& out_dims,
                    std::vector<int32_t>& acc) const {
    if (x.rank() < 3)
      return invalid("{}: input x has shape {}; want N x C x D1 x ... (rank 3 or more)", node.describe(),
                     dims_string(x.dims()));
    if (w.rank() != x.rank())
      return invalid("{}: weight has shape {} but input x has rank {}", node.describe(), dims_string(w.dims()),
                     x.rank());
    const int64_t n_batch = x.dims()[0], c_in = x.dims()[1];
    const int64_t m_out = w.dims()[0], cg = w.dims()[1];
    if (cg * group_ != c_in)
      return invalid("{}: weight has {} input channels per group but input has {} channels and group {}",
                     node.describe(), cg, c_in, group_);
    if (m_out % group_ != 0)
      return invalid("{}: weight has {} output channels, not a multiple of group {}", node.describe(), m_out, group_);
    std::span<const int64_t> kernel(w.dims().data() + 2, w.rank() - 2);
    if (!attrs_.kernel_shape.empty() && !std::equal(kernel.begin(), kernel.end(), attrs_.kernel_shape.begin(),
                                                    attrs_.kernel_shape.end()))
      return invalid("{}: kernel_shape {} does not match the weight's shape {}", node.describe(),
                     dims_string(attrs_.kernel_shape), dims_string(w.dims()));
    if (wzp.size() != 1 && static_cast<int64_t>(wzp.size()) != m_out)
      return invalid("{}: weight zero point has {} values for {} output channels", node.describe(), wzp.size(), m_out);
    std::span<const int64_t> in_spatial(x.dims().data() + 2, x.rank() - 2);
    ASSIGN_OR_RETURN(Window win, resolve_window(node, attrs_, in_spatial, kernel, WindowKind::Conv));
    out_dims = {n_batch, m_out};
    out_dims.insert(out_dims.end(), win.out.begin(), win.out.end());

    // Float GEMMs on the zero-point-shifted values in exact K-chunks (exact_int_gemm.h), summed in int32:
    // Eigen's int32 product was 14x slower than the float model (a dynamic-quantized SqueezeNet).
    std::vector<float> xs(static_cast<size_t>(x.numel()));
    {
      const std::vector<int32_t> xi = widen(x);
      for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>(xi[i] - xzp[0]);
    }
    const std::vector<int32_t> wi = widen(w);
    const int64_t mg = m_out / group_, ksize = win.kernel_size(), k = cg * ksize;
    const int64_t in_size = win.in_size(), out_size = win.out_size();
    std::vector<float> ws(wi.size());
    float max_x = 0, max_w = 0;
    for (float v : xs) max_x = std::max(max_x, std::abs(v));
    for (int64_t m = 0; m < m_out; ++m) {
      const int32_t z = wzp.size() == 1 ? wzp[0] : wzp[static_cast<size_t>(m)];
      for (int64_t i = 0; i < k; ++i) {
        const auto v = static_cast<float>(wi[static_cast<size_t>(m * k + i)] - z);
        ws[static_cast<size_t>(m * k + i)] = v;
        max_w = std::max(max_w, std::abs(v));
      }
    }
    const int64_t chunk = exact_float_chunk(max_x, max_w, k);
    acc.assign(static_cast<size_t>(n_batch * m_out * out_size), 0);
    std::vector<float> col(static_cast<size_t>(k * out_size)), part(static_cast<size_t>(mg * out_size)), wchunk;
    for (int64_t n = 0; n < n_batch; ++n) {
      for (int64_t g = 0; g < group_; ++g) {
        im2col<float>(xs.data() + (n * c_in + g * cg) * in_size, cg, win, 0, col.data());
        int32_t* out = acc.data() + (n * m_out + g * mg) * out_size;
        for (int64_t k0 = 0; k0 < k; k0 += chunk) {
          const int64_t len = std::min(chunk, k - k0);
          wchunk.resize(static_cast<size_t>(mg * len));
          for (int64_t m = 0; m < mg; ++m)
            std::copy_n(ws.data() + (g * mg + m) * k + k0, len, wchunk.data() + m * len);
          gemm_rowmajor<float>(false, wchunk.data(), col.data() + k0 * out_size, part.data(), mg, len, out_size, pool);
          for (size_t i = 0; i < part.size(); ++i) out[i] += static_cast<int32_t>(part[i]);
        }
      }
    }
    return Status::ok();
  }

  Status status_;
  WindowAttrs attrs_;
  int64_t group_ = 1;
};

class ConvIntegerKernel final : public IntegerConvBase {
 public:
  using IntegerConvBase::IntegerConvBase;
  Status run(KernelContext& ctx) override {
    TRY(status_);
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* w = ctx.input_tensor(1);
    if (!x || !w) return invalid("{}: inputs x and w are required", node.describe());
    if (!is_8bit(x->dtype()) || !is_8bit(w->dtype()))
      return unsupported("{}: x is {} and w is {}; want int8 or uint8", node.describe(), dtype_name(x->dtype()),
                         dtype_name(w->dtype()));
    const int64_t m_out = w->rank() > 0 ? w->dims()[0] : 0;
    ASSIGN_OR_RETURN(auto xzp, zero_points(node, ctx.input_tensor(2), x->dtype(), "x_zero_point", 0));
    ASSIGN_OR_RETURN(auto wzp, zero_points(node, ctx.input_tensor(3), w->dtype(), "w_zero_point", m_out));
    std::vector<int64_t> out_dims;
    std::vector<int32_t> acc;
    TRY(accumulate(node, *x, *w, xzp, wzp, ctx.threads(), out_dims, acc));
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Int32, out_dims));
    std::copy(acc.begin(), acc.end(), y->mutable_data<int32_t>());
    return Status::ok();
  }
};

class QLinearConvKernel final : public IntegerConvBase {
 public:
  using IntegerConvBase::IntegerConvBase;
  Status run(KernelContext& ctx) override {
    TRY(status_);
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* w = ctx.input_tensor(3);
    if (!x || !w) return invalid("{}: inputs x and w are required", node.describe());
    if (!is_8bit(x->dtype()) || !is_8bit(w->dtype()))
      return unsupported("{}: x is {} and w is {}; want int8 or uint8", node.describe(), dtype_name(x->dtype()),
                         dtype_name(w->dtype()));
    const int64_t m_out = w->rank() > 0 ? w->dims()[0] : 0;
    const Tensor* yzp_t = ctx.input_tensor(7);
    const DType out_type = yzp_t ? yzp_t->dtype() : x->dtype();
    if (!is_8bit(out_type))
      return unsupported("{}: y_zero_point is {}; want int8 or uint8", node.describe(), dtype_name(out_type));
    ASSIGN_OR_RETURN(auto xs, scales(node, 1, ctx.input_tensor(1), "x_scale", 0));
    ASSIGN_OR_RETURN(auto xzp, zero_points(node, ctx.input_tensor(2), x->dtype(), "x_zero_point", 0));
    ASSIGN_OR_RETURN(auto wsc, scales(node, 4, ctx.input_tensor(4), "w_scale", m_out));
    ASSIGN_OR_RETURN(auto wzp, zero_points(node, ctx.input_tensor(5), w->dtype(), "w_zero_point", m_out));
    ASSIGN_OR_RETURN(auto ys, scales(node, 6, ctx.input_tensor(6), "y_scale", 0));
    ASSIGN_OR_RETURN(auto yzp, zero_points(node, yzp_t, out_type, "y_zero_point", 0));
    const Tensor* b = ctx.input_tensor(8);
    if (b && (b->dtype() != DType::Int32 || b->rank() != 1 || b->dims()[0] != m_out))
      return invalid("{}: bias B is {} {}; want int32 [{}]", node.describe(), dtype_name(b->dtype()),
                     dims_string(b->dims()), m_out);
    std::vector<int64_t> out_dims;
    std::vector<int32_t> acc;
    TRY(accumulate(node, *x, *w, xzp, wzp, ctx.threads(), out_dims, acc));
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out_type, out_dims));
    const int64_t n_batch = out_dims[0];
    int64_t out_size = 1;
    for (size_t d = 2; d < out_dims.size(); ++d) out_size *= out_dims[d];
    const float lo = out_type == DType::UInt8 ? 0.f : -128.f, hi = out_type == DType::UInt8 ? 255.f : 127.f;
    for (int64_t n = 0; n < n_batch; ++n) {
      for (int64_t m = 0; m < m_out; ++m) {
        const float scale = xs[0] * (wsc.size() == 1 ? wsc[0] : wsc[static_cast<size_t>(m)]) / ys[0];
        const int32_t bias = b ? b->data<int32_t>()[m] : 0;
        const size_t base = static_cast<size_t>((n * m_out + m) * out_size);
        for (int64_t i = 0; i < out_size; ++i) {
          const float v = std::nearbyint(static_cast<float>(acc[base + i] + bias) * scale) + static_cast<float>(yzp[0]);
          const float c = std::clamp(v, lo, hi);
          if (out_type == DType::UInt8)
            y->mutable_data<uint8_t>()[base + i] = static_cast<uint8_t>(c);
          else
            y->mutable_data<int8_t>()[base + i] = static_cast<int8_t>(c);
        }
      }
    }
    return Status::ok();
  }
};

}  // namespace

void register_conv_integer(KernelRegistry& r) {
  r.add(KernelDef{"", "ConvInteger", 10, INT32_MAX, {DType::UInt8, DType::Int8}, 0,
                  checked_factory<ConvIntegerKernel>()});
  r.add(KernelDef{"", "QLinearConv", 10, INT32_MAX, {DType::UInt8, DType::Int8}, 0,
                  checked_factory<QLinearConvKernel>()});
}

}  // namespace ortool::rt::cpu::conv_family
