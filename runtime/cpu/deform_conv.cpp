// DeformConv (opset 19): 2-D convolution whose taps sample the input at learned offsets (bilinear,
// zero outside), optionally weighted by a mask; groups and offset groups as in torchvision's
// deform_conv2d. Reference kernel: double accumulation, no im2col.
#include <cmath>
#include <cstdint>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/dispatch.h"

namespace ortool::rt::cpu::conv_family {
namespace {

// Bilinear sample of a h x w plane at (y, x); taps outside the plane read zero.
double bilinear(const double* plane, int64_t h, int64_t w, double y, double x) {
  if (!(y > -1.0 && y < static_cast<double>(h) && x > -1.0 && x < static_cast<double>(w))) return 0.0;
  const double y0f = std::floor(y), x0f = std::floor(x);
  const int64_t y0 = static_cast<int64_t>(y0f), x0 = static_cast<int64_t>(x0f);
  const double ly = y - y0f, lx = x - x0f;
  auto at = [&](int64_t r, int64_t c) { return r >= 0 && r < h && c >= 0 && c < w ? plane[r * w + c] : 0.0; };
  return (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x0 + 1)) + ly * ((1 - lx) * at(y0 + 1, x0) + lx * at(y0 + 1, x0 + 1));
}

class DeformConvKernel final : public Kernel {
 public:
  explicit DeformConvKernel(const KernelInit& init) {
    const ir::Node& n = init.node;
    status_ = parse_window_attrs(n, attrs_);
    group_ = n.attr_int("group", 1);
    offset_group_ = n.attr_int("offset_group", 1);
    if (status_.is_ok() && (group_ <= 0 || offset_group_ <= 0))
      status_ = invalid("{}: group {} and offset_group {} must be positive", n.describe(), group_, offset_group_);
  }
  const Status& init_status() const { return status_; }

  Status run(KernelContext& ctx) override {
    TRY(status_);
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* w = ctx.input_tensor(1);
    const Tensor* off = ctx.input_tensor(2);
    const Tensor* b = ctx.input_tensor(3);
    const Tensor* mask = ctx.input_tensor(4);
    if (!x || !w || !off) return invalid("{}: inputs X, W and offset are required", node.describe());
    if (x->rank() != 4 || w->rank() != 4)
      return unsupported("{}: X {} and W {} must be 4-D (2-D deformable convolution)", node.describe(),
                         dims_string(x->dims()), dims_string(w->dims()));
    const int64_t N = x->dims()[0], C = x->dims()[1], H = x->dims()[2], W = x->dims()[3];
    const int64_t OC = w->dims()[0], kh = w->dims()[2], kw = w->dims()[3];
    if (C % group_ != 0 || OC % group_ != 0 || w->dims()[1] != C / group_ || C % offset_group_ != 0)
      return invalid("{}: X {} and W {} do not fit group {} and offset_group {}", node.describe(), dims_string(x->dims()),
                     dims_string(w->dims()), group_, offset_group_);
    TRY(check_window_ranks(node, attrs_, 2));
    const int64_t spatial[2] = {H, W}, kernel[2] = {kh, kw};
    ASSIGN_OR_RETURN(Window win, resolve_window(node, attrs_, spatial, kernel, WindowKind::Conv));
    const int64_t OH = win.out[0], OW = win.out[1], taps = kh * kw;
    const std::vector<int64_t> want_off{N, offset_group_ * 2 * taps, OH, OW};
    if (off->dims() != want_off)
      return invalid("{}: offset has shape {}; want {}", node.describe(), dims_string(off->dims()),
                     dims_string(want_off));
    const std::vector<int64_t> want_mask{N, offset_group_ * taps, OH, OW};
    if (mask && mask->dims() != want_mask)
      return invalid("{}: mask has shape {}; want {}", node.describe(), dims_string(mask->dims()), dims_string(want_mask));
    if (b && (b->rank() != 1 || b->dims()[0] != OC))
      return invalid("{}: B has shape {}; want [{}]", node.describe(), dims_string(b->dims()), OC);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), {N, OC, OH, OW}));
    bool known = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      std::vector<double> xd(static_cast<size_t>(x->numel()));
      for (size_t i = 0; i < xd.size(); ++i) xd[i] = x->get_double(static_cast<int64_t>(i));
      T* out = y->mutable_data<T>();
      const int64_t cpg = C / group_, ocpg = OC / group_, cpog = C / offset_group_;
      // Sampled columns of one image: [C * taps, OH * OW].
      std::vector<double> col(static_cast<size_t>(C * taps * OH * OW));
      for (int64_t n = 0; n < N; ++n) {
        for (int64_t c = 0; c < C; ++c) {
          const int64_t g = c / cpog;
          const double* plane = xd.data() + (n * C + c) * H * W;
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t t = i * kw + j;
              for (int64_t oh = 0; oh < OH; ++oh)
                for (int64_t ow = 0; ow < OW; ++ow) {
                  const int64_t o_h = (((n * offset_group_ + g) * taps + t) * 2) * OH * OW + oh * OW + ow;
                  const double dy = off->get_double(o_h), dx = off->get_double(o_h + OH * OW);
                  const double py = static_cast<double>(oh * win.stride[0] - win.pad_begin[0] + i * win.dilation[0]) + dy;
                  const double px = static_cast<double>(ow * win.stride[1] - win.pad_begin[1] + j * win.dilation[1]) + dx;
                  double v = bilinear(plane, H, W, py, px);
                  if (mask) v *= mask->get_double(((n * offset_group_ + g) * taps + t) * OH * OW + oh * OW + ow);
                  col[static_cast<size_t>((c * taps + t) * OH * OW + oh * OW + ow)] = v;
                }
            }
        }
        for (int64_t oc = 0; oc < OC; ++oc) {
          const int64_t g = oc / ocpg;
          for (int64_t p = 0; p < OH * OW; ++p) {
            double acc = b ? b->get_double(oc) : 0.0;
            for (int64_t ci = 0; ci < cpg; ++ci)
              for (int64_t t = 0; t < taps; ++t)
                acc += w->get_double((oc * cpg + ci) * taps + t) *
                       col[static_cast<size_t>(((g * cpg + ci) * taps + t) * OH * OW + p)];
            out[(n * OC + oc) * OH * OW + p] = from_acc<T>(static_cast<AccOf<T>>(acc));
          }
        }
      }
    });
    if (!known) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  Status status_;
  WindowAttrs attrs_;
  int64_t group_ = 1, offset_group_ = 1;
};

}  // namespace

void register_deform_conv(KernelRegistry& r) {
  r.add(KernelDef{"", "DeformConv", 19, INT32_MAX, {DType::Float, DType::Double, DType::Float16, DType::BFloat16}, 0,
                  checked_factory<DeformConvKernel>()});
}

}  // namespace ortool::rt::cpu::conv_family
