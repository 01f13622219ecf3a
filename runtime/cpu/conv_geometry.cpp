// Sliding-window geometry of the conv family: attribute parsing, output shapes and pads, im2col/col2im.
#include <algorithm>
#include <cstdint>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/cpu/conv.h"

namespace ortool::rt::cpu::conv_family {

std::string dims_string(std::span<const int64_t> dims) { return fmt::format("[{}]", fmt::join(dims, ", ")); }

int64_t Window::in_size() const {
  int64_t n = 1;
  for (int64_t v : in) n *= v;
  return n;
}
int64_t Window::out_size() const {
  int64_t n = 1;
  for (int64_t v : out) n *= v;
  return n;
}
int64_t Window::kernel_size() const {
  int64_t n = 1;
  for (int64_t v : kernel) n *= v;
  return n;
}

Status parse_window_attrs(const ir::Node& node, WindowAttrs& out) {
  out.kernel_shape = node.attr_ints("kernel_shape");
  out.strides = node.attr_ints("strides");
  out.dilations = node.attr_ints("dilations");
  out.pads = node.attr_ints("pads");
  out.ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  std::string ap = node.attr_string("auto_pad", "NOTSET");
  if (ap == "NOTSET" || ap.empty()) {
    out.auto_pad = AutoPad::NotSet;
  } else if (ap == "SAME_UPPER") {
    out.auto_pad = AutoPad::SameUpper;
  } else if (ap == "SAME_LOWER") {
    out.auto_pad = AutoPad::SameLower;
  } else if (ap == "VALID") {
    out.auto_pad = AutoPad::Valid;
  } else {
    return invalid("{}: unknown auto_pad '{}'", node.describe(), ap);
  }
  for (int64_t v : out.kernel_shape)
    if (v <= 0) return invalid("{}: kernel_shape {} must be positive", node.describe(), dims_string(out.kernel_shape));
  for (int64_t v : out.strides)
    if (v <= 0) return invalid("{}: strides {} must be positive", node.describe(), dims_string(out.strides));
  for (int64_t v : out.dilations)
    if (v <= 0) return invalid("{}: dilations {} must be positive", node.describe(), dims_string(out.dilations));
  for (int64_t v : out.pads)
    if (v < 0) return invalid("{}: pads {} must not be negative", node.describe(), dims_string(out.pads));
  return Status::ok();
}

Status check_window_ranks(const ir::Node& node, const WindowAttrs& a, size_t rank) {
  auto check = [&](const std::vector<int64_t>& v, size_t want, const char* name) -> Status {
    if (!v.empty() && v.size() != want)
      return invalid("{}: {} has {} values but the input has {} spatial dims", node.describe(), name, v.size(), rank);
    return Status::ok();
  };
  TRY(check(a.kernel_shape, rank, "kernel_shape"));
  TRY(check(a.strides, rank, "strides"));
  TRY(check(a.dilations, rank, "dilations"));
  if (!a.pads.empty() && a.pads.size() != 2 * rank)
    return invalid("{}: pads has {} values but the input has {} spatial dims (want {})", node.describe(), a.pads.size(),
                   rank, 2 * rank);
  return Status::ok();
}

namespace {
int64_t floor_div2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }
}  // namespace

Result<Window> resolve_transpose_window(const ir::Node& node, const WindowAttrs& a,
                                        std::span<const int64_t> output_padding,
                                        std::span<const int64_t> output_shape, std::span<const int64_t> in_spatial,
                                        std::span<const int64_t> kernel) {
  const size_t r = in_spatial.size();
  Window win;
  win.kernel.assign(kernel.begin(), kernel.end());
  win.stride = a.strides.empty() ? std::vector<int64_t>(r, 1) : a.strides;
  win.dilation = a.dilations.empty() ? std::vector<int64_t>(r, 1) : a.dilations;
  win.out.assign(in_spatial.begin(), in_spatial.end());
  win.in.assign(r, 0);
  win.pad_begin.assign(r, 0);
  win.pad_end.assign(r, 0);
  const bool same = a.auto_pad == AutoPad::SameUpper || a.auto_pad == AutoPad::SameLower;
  for (size_t d = 0; d < r; ++d) {
    const int64_t in = win.out[d], s = win.stride[d];
    const int64_t op = output_padding.empty() ? 0 : output_padding[d];
    const int64_t dk = (win.kernel[d] - 1) * win.dilation[d] + 1;
    const int64_t full = s * (in - 1) + op + dk;
    if (!output_shape.empty() || same) {
      const int64_t target = output_shape.empty() ? in * s : output_shape[d];
      const int64_t total = full - target;
      if (a.auto_pad == AutoPad::SameUpper) {
        win.pad_begin[d] = floor_div2(total);
        win.pad_end[d] = total - win.pad_begin[d];
      } else {
        win.pad_end[d] = floor_div2(total);
        win.pad_begin[d] = total - win.pad_end[d];
      }
      win.in[d] = target;
    } else {
      if (a.auto_pad == AutoPad::NotSet && !a.pads.empty()) {
        win.pad_begin[d] = a.pads[d];
        win.pad_end[d] = a.pads[d + r];
      }
      win.in[d] = full - win.pad_begin[d] - win.pad_end[d];
    }
    if (in == 0) win.in[d] = std::max<int64_t>(0, win.in[d]);
    if (win.in[d] < 0)
      return invalid("{}: output spatial dim {} would be {} (input {}, pads {} + {})", node.describe(), d, win.in[d],
                     in, win.pad_begin[d], win.pad_end[d]);
  }
  return win;
}

Result<Window> resolve_window(const ir::Node& node, const WindowAttrs& a, std::span<const int64_t> in_spatial,
                              std::span<const int64_t> kernel, WindowKind kind) {
  const size_t r = in_spatial.size();
  TRY(check_window_ranks(node, a, r));
  if (kernel.size() != r)
    return invalid("{}: kernel has {} dims but the input has {} spatial dims", node.describe(), kernel.size(), r);
  Window w;
  w.in.assign(in_spatial.begin(), in_spatial.end());
  w.kernel.assign(kernel.begin(), kernel.end());
  w.stride = a.strides.empty() ? std::vector<int64_t>(r, 1) : a.strides;
  w.dilation = a.dilations.empty() ? std::vector<int64_t>(r, 1) : a.dilations;
  w.pad_begin.assign(r, 0);
  w.pad_end.assign(r, 0);
  w.out.assign(r, 0);
  const bool ceil_mode = kind == WindowKind::Pool && a.ceil_mode;
  for (size_t d = 0; d < r; ++d) {
    const int64_t in = w.in[d], s = w.stride[d];
    if (kernel[d] <= 0) return invalid("{}: kernel dims {} must be positive", node.describe(), dims_string(kernel));
    const int64_t dk = (kernel[d] - 1) * w.dilation[d] + 1;
    switch (a.auto_pad) {
      case AutoPad::SameUpper:
      case AutoPad::SameLower: {
        const int64_t target = (in + s - 1) / s;
        const int64_t needed = std::max<int64_t>(0, (target - 1) * s + dk - in);
        w.pad_begin[d] = a.auto_pad == AutoPad::SameLower ? (needed + 1) / 2 : needed / 2;
        w.pad_end[d] = needed - w.pad_begin[d];
        break;
      }
      case AutoPad::Valid:
        break;
      case AutoPad::NotSet:
        if (!a.pads.empty()) {
          w.pad_begin[d] = a.pads[d];
          w.pad_end[d] = a.pads[d + r];
        }
        break;
    }
    const int64_t span = in + w.pad_begin[d] + w.pad_end[d] - dk;
    if (span < 0) {
      if (in == 0) {
        w.out[d] = 0;
        continue;
      }
      return invalid("{}: spatial dim {} of the input is {} (padded {}), smaller than the dilated kernel {}",
                     node.describe(), d, in, in + w.pad_begin[d] + w.pad_end[d], dk);
    }
    if (ceil_mode) {
      int64_t out = (span + s - 1) / s + 1;
      // The last window must start inside the input or the left padding.
      if ((out - 1) * s >= in + w.pad_begin[d]) --out;
      w.out[d] = out;
    } else {
      w.out[d] = span / s + 1;
    }
  }
  return w;
}

namespace {

// Walks every (channel, kernel tap, outer output index) row segment of the im2col matrix and
// calls seg(col_offset, valid, x_offset, lo, hi, last_stride): outputs o in [lo, hi) of the segment
// read x[x_offset + o * last_stride] (x_offset itself may be negative); the others, and all of them
// when !valid, read padding.
template <typename Seg>
void for_each_segment(int64_t channels, const Window& w, Seg&& seg) {
  const size_t r = w.rank();
  const int64_t K = w.kernel_size(), P = w.out_size(), IN = w.in_size();
  if (P == 0 || K == 0) return;
  const int64_t out_last = w.out[r - 1], in_last = w.in[r - 1];
  const int64_t outer = P / out_last;
  std::vector<int64_t> in_stride(r, 1);
  for (size_t d = r - 1; d > 0; --d) in_stride[d - 1] = in_stride[d] * w.in[d];
  std::vector<int64_t> k(r, 0), o(r, 0);
  for (int64_t c = 0; c < channels; ++c) {
    std::fill(k.begin(), k.end(), 0);
    for (int64_t kk = 0; kk < K; ++kk) {
      const int64_t row = (c * K + kk) * P;
      const int64_t s = w.stride[r - 1];
      const int64_t off = k[r - 1] * w.dilation[r - 1] - w.pad_begin[r - 1];
      // Valid outputs o of the last dim: 0 <= o * s + off < in_last.
      int64_t lo = off >= 0 ? 0 : (-off + s - 1) / s;
      int64_t hi = in_last - 1 - off < 0 ? 0 : (in_last - 1 - off) / s + 1;
      lo = std::min(lo, out_last);
      hi = std::clamp(hi, lo, out_last);
      std::fill(o.begin(), o.end(), 0);
      for (int64_t oi = 0; oi < outer; ++oi) {
        int64_t base = c * IN;
        bool valid = true;
        for (size_t d = 0; d + 1 < r; ++d) {
          const int64_t i = o[d] * w.stride[d] - w.pad_begin[d] + k[d] * w.dilation[d];
          if (i < 0 || i >= w.in[d]) {
            valid = false;
            break;
          }
          base += i * in_stride[d];
        }
        seg(row + oi * out_last, valid, base + off, lo, hi, s);
        for (size_t d = r - 1; d-- > 0;) {  // next outer output index (dims 0..r-2)
          if (++o[d] < w.out[d]) break;
          o[d] = 0;
        }
      }
      for (size_t d = r; d-- > 0;) {  // next kernel tap
        if (++k[d] < w.kernel[d]) break;
        k[d] = 0;
      }
    }
  }
}

}  // namespace

template <typename T>
void im2col(const T* x, int64_t channels, const Window& w, T pad, T* col) {
  const int64_t out_last = w.rank() ? w.out[w.rank() - 1] : 0;
  for_each_segment(channels, w, [&](int64_t row, bool valid, int64_t start, int64_t lo, int64_t hi, int64_t s) {
    T* dst = col + row;
    if (!valid) {
      std::fill(dst, dst + out_last, pad);
      return;
    }
    std::fill(dst, dst + lo, pad);
    if (s == 1) {
      std::copy(x + start + lo, x + start + hi, dst + lo);
    } else {
      for (int64_t o = lo; o < hi; ++o) dst[o] = x[start + o * s];
    }
    std::fill(dst + hi, dst + out_last, pad);
  });
}

template <typename T>
void col2im_add(const T* col, int64_t channels, const Window& w, T* y) {
  for_each_segment(channels, w, [&](int64_t row, bool valid, int64_t start, int64_t lo, int64_t hi, int64_t s) {
    if (!valid) return;
    const T* src = col + row;
    for (int64_t o = lo; o < hi; ++o) y[start + o * s] += src[o];
  });
}

template void im2col<float>(const float*, int64_t, const Window&, float, float*);
template void im2col<double>(const double*, int64_t, const Window&, double, double*);
template void im2col<int32_t>(const int32_t*, int64_t, const Window&, int32_t, int32_t*);
template void col2im_add<float>(const float*, int64_t, const Window&, float*);
template void col2im_add<double>(const double*, int64_t, const Window&, double*);

}  // namespace ortool::rt::cpu::conv_family
