// MaxPool (with indices), AveragePool and LpPool over 1-D, 2-D and 3-D windows.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/dispatch.h"

namespace ortool::rt::cpu::conv_family {
namespace {

enum class PoolKind { Max, Average, Lp };

// The p of LpPool/GlobalLpPool: a float attribute at opset 1, an int one since opset 2.
float lp_exponent(const ir::Node& node) {
  const ir::Attribute* a = node.attr("p");
  if (!a) return 2.f;
  if (a->type == ir::AttrType::Float) return a->f;
  return static_cast<float>(a->i);
}

class PoolKernel final : public Kernel {
 public:
  PoolKernel(const KernelInit& init, PoolKind kind) : kind_(kind) {
    const ir::Node& node = init.node;
    status_ = parse_window_attrs(node, attrs_);
    storage_order_ = node.attr_int("storage_order", 0);
    count_include_pad_ = node.attr_int("count_include_pad", 0) != 0;
    p_ = lp_exponent(node);
    if (!status_.is_ok()) return;
    if (attrs_.kernel_shape.empty()) status_ = invalid("{}: attribute kernel_shape is required", node.describe());
    else if (storage_order_ != 0 && storage_order_ != 1)
      status_ = invalid("{}: storage_order {} must be 0 or 1", node.describe(), storage_order_);
    else if (kind_ == PoolKind::Lp && !(p_ > 0))
      status_ = invalid("{}: p {} must be positive", node.describe(), p_);
  }
  const Status& init_status() const { return status_; }

  Status run(KernelContext& ctx) override {
    TRY(status_);
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input X is required", node.describe());
    if (x->rank() < 3)
      return invalid("{}: input X has shape {}; want N x C x D1 x ... (rank 3 or more)", node.describe(),
                     dims_string(x->dims()));
    const size_t r = x->rank() - 2;
    if (attrs_.kernel_shape.size() != r)
      return invalid("{}: kernel_shape {} does not match the {} spatial dims of input {}", node.describe(),
                     dims_string(attrs_.kernel_shape), r, dims_string(x->dims()));
    std::span<const int64_t> in_spatial(x->dims().data() + 2, r);
    ASSIGN_OR_RETURN(Window win, resolve_window(node, attrs_, in_spatial, attrs_.kernel_shape, WindowKind::Pool));
    std::vector<int64_t> out_dims{x->dims()[0], x->dims()[1]};
    out_dims.insert(out_dims.end(), win.out.begin(), win.out.end());
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), out_dims));
    Tensor* indices = nullptr;
    if (kind_ == PoolKind::Max && ctx.num_outputs() > 1 && ctx.output_wanted(1)) {
      ASSIGN_OR_RETURN(indices, ctx.allocate_output(1, DType::Int64, out_dims));
    }
    bool known = false;
    auto go = [&](auto tag) {
      using T = typename decltype(tag)::type;
      compute<T>(*x, win, *y, indices, ctx.threads());
    };
    if (kind_ == PoolKind::Max && x->dtype() == DType::Int8) {
      go(Tag<int8_t>{});
      known = true;
    } else if (kind_ == PoolKind::Max && x->dtype() == DType::UInt8) {
      go(Tag<uint8_t>{});
      known = true;
    } else {
      known = dispatch_float(x->dtype(), go);
    }
    if (!known) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  // 2-D float Max/Average pooling without dilation or indices (nearly every CNN): direct loops over
  // each window's clipped rectangle, about 20x faster than the general tap-list walk below.
  bool fast_2d(const Tensor& x, const Window& win, Tensor& y, Tensor* indices, ThreadPool* pool) const {
    if (win.rank() != 2 || indices || kind_ == PoolKind::Lp || x.dtype() != DType::Float) return false;
    for (size_t d = 0; d < 2; ++d)
      if (win.dilation[d] != 1 || win.pad_begin[d] >= win.kernel[d] || win.pad_end[d] >= win.kernel[d]) return false;
    const int64_t H = win.in[0], W = win.in[1], OH = win.out[0], OW = win.out[1];
    const int64_t kh = win.kernel[0], kw = win.kernel[1], sh = win.stride[0], sw = win.stride[1];
    const int64_t ph = win.pad_begin[0], pw = win.pad_begin[1], eh = win.pad_end[0], ew = win.pad_end[1];
    if ((OH - 1) * sh - ph >= H || (OW - 1) * sw - pw >= W) return false;  // a window with no input (ceil_mode)
    const int64_t planes = x.dims()[0] * x.dims()[1];
    const float* xp = x.data<float>();
    float* yp = y.mutable_data<float>();
    const bool is_max = kind_ == PoolKind::Max;
    auto work = [&](size_t p0, size_t p1) {
      for (int64_t plane = static_cast<int64_t>(p0); plane < static_cast<int64_t>(p1); ++plane) {
        const float* xs = xp + plane * H * W;
        float* ys = yp + plane * OH * OW;
        for (int64_t oh = 0; oh < OH; ++oh) {
          const int64_t h0 = oh * sh - ph, hs = std::max<int64_t>(h0, 0), he = std::min(h0 + kh, H);
          const int64_t padded_h = std::min(h0 + kh, H + eh) - h0;
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t w0 = ow * sw - pw, ws = std::max<int64_t>(w0, 0), we = std::min(w0 + kw, W);
            float out;
            if (is_max) {
              float acc = -std::numeric_limits<float>::infinity();
              bool nan = false;
              for (int64_t h = hs; h < he; ++h)
                for (int64_t w = ws; w < we; ++w) {
                  const float v = xs[h * W + w];
                  acc = v > acc ? v : acc;
                  nan |= v != v;  // NaN propagates, as in the general path
                }
              out = nan ? std::numeric_limits<float>::quiet_NaN() : acc;
            } else {
              float acc = 0;
              for (int64_t h = hs; h < he; ++h)
                for (int64_t w = ws; w < we; ++w) acc += xs[h * W + w];
              const int64_t div = count_include_pad_ ? padded_h * (std::min(w0 + kw, W + ew) - w0) : (he - hs) * (we - ws);
              out = div > 0 ? acc / static_cast<float>(div) : 0.f;
            }
            ys[oh * OW + ow] = out;
          }
        }
      }
    };
    if (pool && planes > 1 && OH * OW * kh * kw * planes > 65536)
      pool->parallel_for(static_cast<size_t>(planes), work);
    else
      work(0, static_cast<size_t>(planes));
    return true;
  }

  template <typename T>
  void compute(const Tensor& x, const Window& win, Tensor& y, Tensor* indices, ThreadPool* pool) const {
    if (fast_2d(x, win, y, indices, pool)) return;
    using V = std::conditional_t<std::is_same_v<T, double>, double, float>;
    const size_t r = win.rank();
    // Per spatial dim and output position: the input coordinates the window covers, and how many
    // window taps fall inside the padded input (AveragePool's count_include_pad divisor).
    std::vector<std::vector<std::vector<int64_t>>> taps(r);
    std::vector<std::vector<int64_t>> padded(r);
    for (size_t d = 0; d < r; ++d) {
      taps[d].resize(static_cast<size_t>(win.out[d]));
      padded[d].resize(static_cast<size_t>(win.out[d]));
      for (int64_t o = 0; o < win.out[d]; ++o) {
        const int64_t start = o * win.stride[d] - win.pad_begin[d];
        for (int64_t k = 0; k < win.kernel[d]; ++k) {
          const int64_t i = start + k * win.dilation[d];
          if (i >= 0 && i < win.in[d]) taps[d][o].push_back(i);
          if (i < win.in[d] + win.pad_end[d]) ++padded[d][o];
        }
      }
    }
    std::vector<int64_t> row_stride(r, 1), col_stride(r, 1);
    for (size_t d = r - 1; d > 0; --d) row_stride[d - 1] = row_stride[d] * win.in[d];
    for (size_t d = 1; d < r; ++d) col_stride[d] = col_stride[d - 1] * win.in[d - 1];
    const int64_t in_size = win.in_size(), out_size = win.out_size();
    const int64_t planes = x.dims()[0] * x.dims()[1];
    const T* xp = x.data<T>();
    T* yp = y.mutable_data<T>();
    int64_t* ip = indices ? indices->mutable_data<int64_t>() : nullptr;
    const V p = static_cast<V>(p_);

    auto work = [&](size_t p0, size_t p1) {
      std::vector<int64_t> o(r), t(r);
      std::vector<const std::vector<int64_t>*> lists(r);
      for (int64_t plane = static_cast<int64_t>(p0); plane < static_cast<int64_t>(p1); ++plane) {
        const T* xs = xp + plane * in_size;
        std::fill(o.begin(), o.end(), 0);
        for (int64_t oi = 0; oi < out_size; ++oi) {
          bool empty = false;
          int64_t pad_count = 1;
          for (size_t d = 0; d < r; ++d) {
            lists[d] = &taps[d][static_cast<size_t>(o[d])];
            empty = empty || lists[d]->empty();
            pad_count *= padded[d][static_cast<size_t>(o[d])];
          }
          V acc = kind_ == PoolKind::Max ? std::numeric_limits<V>::lowest() : V(0);
          int64_t best_row = 0, best_col = 0, count = 0;
          bool found = false;
          if (!empty) {
            std::fill(t.begin(), t.end(), 0);
            while (true) {
              int64_t ro = 0, co = 0;
              for (size_t d = 0; d < r; ++d) {
                const int64_t c = (*lists[d])[static_cast<size_t>(t[d])];
                ro += c * row_stride[d];
                co += c * col_stride[d];
              }
              const V vv = load_as<V>(xs[ro]);
              switch (kind_) {
                case PoolKind::Max:
                  // NaN propagates (numpy, PyTorch): a NaN input must not turn into a finite output.
                  if (acc != acc) break;
                  if (vv != vv || !found || vv > acc) {
                    if (vv != vv || vv > acc) acc = vv;
                    best_row = ro;
                    best_col = co;
                    found = true;
                  }
                  break;
                case PoolKind::Average: acc += vv; break;
                case PoolKind::Lp: acc += std::pow(std::abs(vv), p); break;
              }
              ++count;
              size_t d = r;
              while (d-- > 0) {
                if (++t[d] < static_cast<int64_t>(lists[d]->size())) break;
                t[d] = 0;
              }
              if (d == SIZE_MAX) break;
            }
          }
          V result = acc;
          if (kind_ == PoolKind::Average) {
            const int64_t div = count_include_pad_ ? pad_count : count;
            result = div > 0 ? acc / static_cast<V>(div) : V(0);
          } else if (kind_ == PoolKind::Lp) {
            result = std::pow(acc, V(1) / p);
          }
          if constexpr (std::is_integral_v<T>) {
            yp[plane * out_size + oi] = found ? static_cast<T>(result) : std::numeric_limits<T>::lowest();
          } else {
            yp[plane * out_size + oi] = from_acc<T>(result);
          }
          if (ip) ip[plane * out_size + oi] = plane * in_size + (storage_order_ == 1 ? best_col : best_row);
          for (size_t d = r; d-- > 0;) {
            if (++o[d] < win.out[d]) break;
            o[d] = 0;
          }
        }
      }
    };
    if (pool && planes > 1 && out_size * win.kernel_size() * planes > 65536)
      pool->parallel_for(static_cast<size_t>(planes), work);
    else
      work(0, static_cast<size_t>(planes));
  }

  PoolKind kind_;
  Status status_;
  WindowAttrs attrs_;
  int64_t storage_order_ = 0;
  bool count_include_pad_ = false;
  float p_ = 2.f;
};

template <PoolKind K>
KernelFactory pool_factory() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    auto k = std::make_unique<PoolKernel>(init, K);
    if (!k->init_status().is_ok()) return k->init_status();
    return std::unique_ptr<Kernel>(std::move(k));
  };
}

}  // namespace

void register_pool(KernelRegistry& r) {
  const std::vector<DType> floats{DType::Float, DType::Double, DType::Float16, DType::BFloat16};
  r.add(KernelDef{"", "MaxPool", 1, 11, floats, 0, pool_factory<PoolKind::Max>()});
  r.add(KernelDef{"", "MaxPool", 12, INT32_MAX,
                  {DType::Float, DType::Double, DType::Float16, DType::BFloat16, DType::Int8, DType::UInt8}, 0,
                  pool_factory<PoolKind::Max>()});
  r.add(KernelDef{"", "AveragePool", 1, INT32_MAX, floats, 0, pool_factory<PoolKind::Average>()});
  r.add(KernelDef{"", "LpPool", 1, INT32_MAX, floats, 0, pool_factory<PoolKind::Lp>()});
}

}  // namespace ortool::rt::cpu::conv_family
