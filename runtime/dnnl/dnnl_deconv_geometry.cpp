// ConvTranspose attributes, geometry and weight view in oneDNN's terms (see dnnl_deconv_geometry.h).
#include "runtime/dnnl/dnnl_deconv_geometry.h"

#include <algorithm>
#include <span>

namespace ortool::rt::dnnl_ep {

namespace cf = cpu::conv_family;

bool parse_deconv_attrs(const ir::Node& node, const std::vector<int64_t>& w, DeconvAttrs& out) {
  if (w.size() != 4) return false;
  out.group = node.attr_int("group", 1);
  if (out.group <= 0 || w[0] % out.group != 0) return false;
  if (!cf::parse_window_attrs(node, out.window).is_ok() || !cf::check_window_ranks(node, out.window, 2).is_ok())
    return false;
  const auto& ks = out.window.kernel_shape;
  if (!ks.empty() && !std::equal(ks.begin(), ks.end(), w.begin() + 2, w.end())) return false;
  out.output_padding = node.attr_ints("output_padding");
  out.output_shape = node.attr_ints("output_shape");
  if (!out.output_padding.empty() && out.output_padding.size() != 2) return false;
  for (int64_t v : out.output_padding)
    if (v < 0) return false;
  auto& os = out.output_shape;
  if (os.size() == 4) os.erase(os.begin(), os.begin() + 2);  // [N, M, H, W]: the cpu kernel reads H, W only
  if (!os.empty() && os.size() != 2) return false;
  for (int64_t v : os)
    if (v < 0) return false;
  return true;
}

Result<DeconvGeometry> deconv_geometry(const ir::Node& node, const DeconvAttrs& a, const std::vector<int64_t>& w,
                                       const std::vector<int64_t>& x) {
  const int64_t k[2] = {w[2], w[3]};
  ASSIGN_OR_RETURN(cf::Window win, cf::resolve_transpose_window(node, a.window, a.output_padding, a.output_shape,
                                                                std::span<const int64_t>(x.data() + 2, 2), k));
  DeconvGeometry g;
  g.dst = {x[0], w[1] * a.group, win.in[0], win.in[1]};
  for (size_t d = 0; d < 2; ++d) {
    const int64_t dk = (k[d] - 1) * win.dilation[d] + 1;
    g.strides.push_back(win.stride[d]);
    g.dilates.push_back(win.dilation[d] - 1);  // oneDNN counts the holes
    g.pad_l.push_back(win.pad_begin[d]);
    // oneDNN: out = (in - 1) * stride - pad_l - pad_r + dk, so output_padding lowers the right pad.
    g.pad_r.push_back(win.stride[d] * (x[d + 2] - 1) + dk - win.pad_begin[d] - win.in[d]);
  }
  return g;
}

dnnl::memory::dims deconv_weight_dims(const std::vector<int64_t>& w, int64_t group) {
  if (group == 1) return {w[1], w[0], w[2], w[3]};
  return {group, w[1], w[0] / group, w[2], w[3]};
}

dnnl::memory::desc onnx_deconv_weight_desc(const std::vector<int64_t>& w, int64_t group, dnnl::memory::data_type t) {
  const int64_t kk = w[2] * w[3], mg = w[1], cg = w[0] / group;
  if (group == 1) return {deconv_weight_dims(w, group), t, dnnl::memory::dims{kk, mg * kk, w[3], 1}};
  return {deconv_weight_dims(w, group), t, dnnl::memory::dims{cg * mg * kk, kk, mg * kk, w[3], 1}};
}

}  // namespace ortool::rt::dnnl_ep
