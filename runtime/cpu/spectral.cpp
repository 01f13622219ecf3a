// Spectral kernels of opset 17: DFT (and DFT-20, axis as an input) and STFT, as a plain O(n^2) transform
// in double precision (reference).
#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/cpu/misc.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of the tensor and misc kernels (shape_ops_util.h)

namespace {

// Transform lengths past this are refused: the twiddle index k * j must stay inside int64.
constexpr int64_t kMaxLength = INT32_MAX;

// A 0/1 attribute; anything else is an error naming the node.
Status flag_attr(const ir::Node& n, std::string_view name, int64_t fallback, bool& out) {
  const int64_t v = n.attr_int(name, fallback);
  if (v != 0 && v != 1) return node_error(n, "attribute '{}' is {}, expected 0 or 1", name, v);
  out = v != 0;
  return Status::ok();
}

// An optional integer scalar input (int32/int64, scalar or one element) that must be positive;
// `fallback` when absent.
Result<int64_t> positive_length_input(const KernelContext& ctx, size_t i, std::string_view what, int64_t fallback) {
  if (ctx.input(i) == nullptr) return fallback;
  ASSIGN_OR_RETURN(const Tensor* t, need_input(ctx, i, what));
  if (t->dtype() != DType::Int32 && t->dtype() != DType::Int64)
    return node_error(ctx.node(), "input '{}' must be int32 or int64, got {}", what, dtype_name(t->dtype()));
  if (t->rank() > 1 || t->numel() != 1)
    return node_error(ctx.node(), "input '{}' must be a scalar, got shape [{}]", what, fmt::join(t->dims(), ","));
  const int64_t v = t->get_int64(0);
  if (v <= 0) return node_error(ctx.node(), "input '{}' is {}, must be positive", what, v);
  if (v > kMaxLength) return node_error(ctx.node(), "input '{}' is {}, larger than supported ({})", what, v, kMaxLength);
  return v;
}

// Reads a float tensor into doubles; false when the type is not a float type.
bool read_doubles(const Tensor& t, std::vector<double>& out) {
  out.resize(static_cast<size_t>(t.numel()));
  return dispatch_float(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(to_arith(p[i]));
  });
}

// cos/sin of 2 pi m / len for m in [0, len): the twiddles of a length-len transform.
struct Twiddles {
  explicit Twiddles(int64_t len) : n(len), c(static_cast<size_t>(len)), s(static_cast<size_t>(len)) {
    for (int64_t m = 0; m < len; ++m) {
      const double a = 2.0 * M_PI * static_cast<double>(m) / static_cast<double>(len);
      c[static_cast<size_t>(m)] = std::cos(a);
      s[static_cast<size_t>(m)] = std::sin(a);
    }
  }
  int64_t n;
  std::vector<double> c, s;
};

// out[k] = sum_{j < count} in(j) * exp(sign * 2 pi i k j / n) for k < bins; in(j) gives (re, im).
template <typename In>
void dft_line(const Twiddles& tw, int64_t count, int64_t bins, double sign, In in, double* out_re, double* out_im,
              int64_t out_stride) {
  for (int64_t k = 0; k < bins; ++k) {
    double re = 0, im = 0;
    for (int64_t j = 0; j < count; ++j) {
      const auto [xr, xi] = in(j);
      const size_t m = static_cast<size_t>((k * j) % tw.n);
      const double c = tw.c[m], s = sign * tw.s[m];
      re += xr * c - xi * s;
      im += xr * s + xi * c;
    }
    out_re[k * out_stride] = re;
    out_im[k * out_stride] = im;
  }
}

// DFT-17: input [batch, s1..sN, 1 (real) | 2 (complex)], transform along the signal axis `axis`
// (attribute, default 1), length dft_length (input 1, default the axis size; the signal is zero-padded
// or truncated to it). Output [.., K, .., 2] with K = dft_length, or dft_length / 2 + 1 when onesided.
// DFT-20 takes the axis from input 2 (a scalar, default -2) instead of the attribute.
class DftKernel final : public CheckedKernel {
 public:
  explicit DftKernel(const KernelInit& init)
      : axis_from_input_(init.opset >= 20), axis_(init.opset >= 20 ? -2 : init.node.attr_int("axis", 1)) {
    status_ = flag_attr(init.node, "inverse", 0, inverse_);
    if (status_.is_ok()) status_ = flag_attr(init.node, "onesided", 0, onesided_);
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "input"));
    const auto& xd = x->dims();
    const int64_t rank = static_cast<int64_t>(xd.size());
    if (rank < 2) return node_error(n, "input must have rank >= 2 ([batch, ..., 1 or 2]), got rank {}", rank);
    const int64_t comps = xd.back();
    if (comps != 1 && comps != 2)
      return node_error(n, "last dimension of the input must be 1 (real) or 2 (complex), got {}", comps);
    int64_t axis_value = axis_;
    if (axis_from_input_ && ctx.input(2) != nullptr) {
      ASSIGN_OR_RETURN(const Tensor* a, need_input(ctx, 2, "axis"));
      if ((a->dtype() != DType::Int32 && a->dtype() != DType::Int64) || a->rank() > 1 || a->numel() != 1)
        return node_error(n, "input 'axis' must be an int32 or int64 scalar");
      axis_value = a->get_int64(0);
    }
    ASSIGN_OR_RETURN(int64_t axis, normalize_axis(n, axis_value, rank));
    if (axis == rank - 1) return node_error(n, "axis {} is the real/imaginary dimension, not a signal axis", axis_value);
    if (onesided_ && comps == 2) return node_error(n, "onesided output is not possible for a complex input");
    const int64_t len_in = xd[static_cast<size_t>(axis)];
    if (len_in > kMaxLength) return node_error(n, "signal length {} is larger than supported", len_in);
    ASSIGN_OR_RETURN(int64_t len, positive_length_input(ctx, 1, "dft_length", len_in));
    const int64_t bins = onesided_ ? len / 2 + 1 : len;

    std::vector<int64_t> od = xd;
    od[static_cast<size_t>(axis)] = len == 0 ? 0 : bins;
    od.back() = 2;
    ASSIGN_OR_RETURN(int64_t out_numel, checked_dims(n, od));
    std::vector<double> in;
    if (!read_doubles(*x, in)) return node_unsupported(n, "element type {} is not supported", dtype_name(x->dtype()));
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), od));
    if (out_numel == 0) return Status::ok();

    const int64_t outer = product(xd, 0, static_cast<size_t>(axis));
    const int64_t inner = product(xd, static_cast<size_t>(axis) + 1, xd.size() - 1);
    const int64_t count = std::min(len_in, len);
    const Twiddles tw(len);
    const double sign = inverse_ ? 1.0 : -1.0;
    std::vector<double> res(static_cast<size_t>(out_numel));
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        auto at = [&](int64_t j) {
          const size_t base = static_cast<size_t>(((o * len_in + j) * inner + i) * comps);
          return std::pair<double, double>(in[base], comps == 2 ? in[base + 1] : 0.0);
        };
        double* dst = res.data() + (o * bins * inner + i) * 2;
        dft_line(tw, count, bins, sign, at, dst, dst + 1, inner * 2);
      }
    }
    const double scale = inverse_ ? 1.0 / static_cast<double>(len) : 1.0;
    for (int64_t k = 0; k < out_numel; ++k) set_from_double(*out, k, res[static_cast<size_t>(k)] * scale);
    return Status::ok();
  }

 private:
  bool axis_from_input_;
  int64_t axis_;
  bool inverse_ = false;
  bool onesided_ = false;
};

// STFT-17: signal [batch, length, 1 | 2], frame_step (input 1), window (input 2, [frame_length]) and/or
// frame_length (input 3). Frames start every frame_step samples; each is multiplied by the window (ones
// when absent) and transformed. Output [batch, frames, bins, 2], frames = 1 + (length - frame_length) /
// frame_step, bins = frame_length / 2 + 1 when onesided (default) else frame_length.
class StftKernel final : public CheckedKernel {
 public:
  explicit StftKernel(const KernelInit& init) { status_ = flag_attr(init.node, "onesided", 1, onesided_); }

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "signal"));
    const auto& xd = x->dims();
    if (xd.size() != 3) return node_error(n, "signal must have shape [batch, length, 1 or 2], got [{}]", fmt::join(xd, ","));
    const int64_t batch = xd[0], length = xd[1], comps = xd[2];
    if (comps != 1 && comps != 2)
      return node_error(n, "last dimension of the signal must be 1 (real) or 2 (complex), got {}", comps);
    if (onesided_ && comps == 2) return node_error(n, "onesided output is not possible for a complex signal");
    if (ctx.input(1) == nullptr) return node_error(n, "input 'frame_step' is required");
    ASSIGN_OR_RETURN(int64_t step, positive_length_input(ctx, 1, "frame_step", 1));

    const Tensor* window = nullptr;
    if (ctx.input(2) != nullptr) {
      ASSIGN_OR_RETURN(window, need_input(ctx, 2, "window"));
      if (window->dtype() != x->dtype())
        return node_error(n, "window type {} differs from signal type {}", dtype_name(window->dtype()),
                          dtype_name(x->dtype()));
      if (window->rank() != 1) return node_error(n, "window must have rank 1, got rank {}", window->rank());
      if (window->numel() == 0) return node_error(n, "window is empty");
    }
    const int64_t default_length = window ? window->numel() : length;
    if (default_length > kMaxLength) return node_error(n, "frame length {} is larger than supported", default_length);
    ASSIGN_OR_RETURN(int64_t frame, positive_length_input(ctx, 3, "frame_length", default_length));
    if (window && window->numel() != frame)
      return node_error(n, "window length {} differs from frame_length {}", window->numel(), frame);
    if (frame <= 0 || frame > length)
      return node_error(n, "frame length {} must be in [1, signal length {}]", frame, length);

    const int64_t frames = 1 + (length - frame) / step;
    const int64_t bins = onesided_ ? frame / 2 + 1 : frame;
    const std::vector<int64_t> od = {batch, frames, bins, 2};
    ASSIGN_OR_RETURN(int64_t out_numel, checked_dims(n, od));
    std::vector<double> in, win;
    if (!read_doubles(*x, in)) return node_unsupported(n, "element type {} is not supported", dtype_name(x->dtype()));
    if (window) read_doubles(*window, win);
    else win.assign(static_cast<size_t>(frame), 1.0);
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), od));
    if (out_numel == 0) return Status::ok();

    const Twiddles tw(frame);
    std::vector<double> res(static_cast<size_t>(out_numel));
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t f = 0; f < frames; ++f) {
        const int64_t start = f * step;  // start + frame <= length by the frame count
        auto at = [&](int64_t j) {
          const size_t base = static_cast<size_t>((b * length + start + j) * comps);
          const double w = win[static_cast<size_t>(j)];
          return std::pair<double, double>(w * in[base], comps == 2 ? w * in[base + 1] : 0.0);
        };
        double* dst = res.data() + (b * frames + f) * bins * 2;
        dft_line(tw, frame, bins, -1.0, at, dst, dst + 1, 2);
      }
    }
    for (int64_t k = 0; k < out_numel; ++k) set_from_double(*out, k, res[static_cast<size_t>(k)]);
    return Status::ok();
  }

 private:
  bool onesided_ = true;
};

}  // namespace

void register_spectral_ops(KernelRegistry& r) {
  const std::vector<DType> types = {DType::Float, DType::Double, DType::Float16, DType::BFloat16};
  r.add(KernelDef{"", "DFT", 17, INT32_MAX, types, 0, checked_factory<DftKernel>()});
  r.add(KernelDef{"", "STFT", 17, INT32_MAX, types, 0, checked_factory<StftKernel>()});
}

}  // namespace ortool::rt::cpu
