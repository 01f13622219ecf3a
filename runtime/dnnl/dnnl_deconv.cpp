// The dnnl provider's ConvTranspose: 2-D float32 deconvolution with constant weights, plus the nodes fused after it.
//
// Fusions, each optional, in this order: an Add of a constant per-channel bias (paddle2onnx writes the
// bias so) and an inference BatchNormalization, both folded into the bias and weights when the claim is
// made, then an activation (a oneDNN eltwise run in place on the output, not a post-op: see Prepared::act).
//
// Geometry follows the cpu kernel (runtime/cpu/conv_transpose.cpp) exactly, and a strided view of ONNX's
// [C, M/group, kH, kW] weight in oneDNN's order makes the one reorder into the primitive's packed format
// (once per input shape, at session creation when the shape is static) transpose it too: both shared with
// the int8 deconvolution (dnnl_deconv_geometry.h).
//
// Layouts: input and output are NCHW or NHWC as the provider decided (see Layouts); the primitive
// computes in NCHW when oneDNN has that (see choose_pd) and the kernel reorders where a tensor's order
// differs from the primitive's.
//
// Upsampling whose windows do not overlap (kernel == stride, no pads or dilation, group 1: the 2x2
// stride-2 ConvTranspose of U-Nets and text detectors) skips the primitive: it is one sgemm of the
// input by the weights, [pixels x C] x [C x kH*kW*M], whose rows are scattered to their kH x kW
// output blocks. oneDNN 2.6's deconvolution took 2 ms for ppocr_det's 24->24 channel 80->160 step
// (15 GFLOP/s), the sgemm and scatter a fraction of that.
#include <algorithm>
#include <cmath>
#include <memory>
#include <unordered_map>

#include "runtime/cpu/conv.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/dnnl/dnnl_deconv_geometry.h"
#include "runtime/partition.h"

namespace ortool::rt::dnnl_ep {

namespace {

namespace cf = cpu::conv_family;
using md = dnnl::memory::desc;
using tag = dnnl::memory::format_tag;
constexpr auto f32 = dnnl::memory::data_type::f32;

struct DeconvSpec {
  std::vector<const ir::Node*> nodes;  // the ConvTranspose, then the fused bias Add, BatchNormalization, activation
  std::string what;                    // describe_nodes(nodes), for messages
  DeconvAttrs attrs;
  TensorPtr w, b;  // session constants or their folded copies: they outlive every run
  std::optional<PostOp> post;
  std::shared_ptr<Layouts> layouts = std::make_shared<Layouts>();
};

// The geometry for input dims `x` (rank 4, channels checked by the caller).
Result<DeconvGeometry> geometry_for(const DeconvSpec& s, const std::vector<int64_t>& x) {
  return deconv_geometry(*s.nodes.front(), s.attrs, s.w->dims(), x);
}

// Throws dnnl::error when oneDNN has no implementation for this geometry. Activations layout `act`
// (format_tag::any: the primitive's choice).
dnnl::deconvolution_forward::primitive_desc make_pd(const DeconvSpec& s, const std::vector<int64_t>& x,
                                                    const DeconvGeometry& g, tag act) {
  const auto& y = g.dst;
  md src({x[0], x[1], x[2], x[3]}, f32, act), dst({y[0], y[1], y[2], y[3]}, f32, act);
  md wts(deconv_weight_dims(s.w->dims(), s.attrs.group), f32, tag::any);
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::deconvolution_direct;
  if (s.b) {
    md bias({y[1]}, f32, tag::x);
    return {dnnl::deconvolution_forward::desc(prop, alg, src, wts, bias, dst, g.strides, g.dilates, g.pad_l, g.pad_r),
            cpu_engine()};
  }
  return {dnnl::deconvolution_forward::desc(prop, alg, src, wts, dst, g.strides, g.dilates, g.pad_l, g.pad_r),
          cpu_engine()};
}

// The primitive for this geometry: plain NCHW activations when oneDNN takes them (its gemm-based
// deconvolution, 1.2-10x faster in oneDNN 2.6 than the blocked or NHWC jit kernels `any` picks, e.g.
// 0.26 vs 3.3 ms for ppocr's 24->1 channel 160->320 upsampling), else its own choice.
dnnl::deconvolution_forward::primitive_desc choose_pd(const DeconvSpec& s, const std::vector<int64_t>& x,
                                                      const DeconvGeometry& g) {
  try {
    return make_pd(s, x, g, tag::nchw);
  } catch (const dnnl::error&) {
    return make_pd(s, x, g, tag::any);
  }
}

// A view of caller memory; oneDNN only reads through `src` handles.
dnnl::memory view_of(const md& d, const void* data) { return dnnl::memory(d, cpu_engine(), const_cast<void*>(data)); }

// One primitive with its packed weights, for one input shape (empty for an empty tensor).
struct Prepared {
  std::vector<int64_t> src_dims, dst_dims;
  bool empty = false;
  int team = 1;  // team_for_work
  dnnl::deconvolution_forward prim;
  // The activation, run in place on the output: oneDNN 2.6's deconvolutions with an eltwise post-op
  // are 5-10x slower than without (the post-op goes through a reference path).
  dnnl::eltwise_forward act;
  dnnl::memory weights, bias;
  md src_user, dst_user;  // the step's tensors as they are (NCHW or NHWC)
  // Reorders between the tensors' layouts and the primitive's, with the primitive-layout buffers;
  // empty when the primitive takes the tensor's layout itself.
  dnnl::reorder to_src, from_dst;
  dnnl::memory src_buf, dst_buf;
  // Non-overlapping windows (see the top of the file): no primitive, an sgemm and a scatter.
  bool blocks = false;
  bool src_nhwc = false, dst_nhwc = false;
  std::vector<float> gemm_w;  // [C, kH, kW, M] row-major: row c holds each output block's M values
  std::vector<float> rows;    // the sgemm's result, one run's worth
};

// Whether every output pixel comes from exactly one input pixel and one weight tap.
bool non_overlapping(const DeconvSpec& s, const DeconvGeometry& g) {
  if (s.attrs.group != 1) return false;
  for (size_t d = 0; d < 2; ++d)
    if (g.dilates[d] != 0 || g.pad_l[d] != 0 || g.pad_r[d] != 0 || g.strides[d] != s.w->dims()[2 + d]) return false;
  return true;
}

class DnnlDeconvKernel final : public Kernel {
 public:
  explicit DnnlDeconvKernel(std::shared_ptr<const DeconvSpec> spec)
      : spec_(std::move(spec)), stream_(cpu_engine()) {}

  // The primitive and packed weights for input dims `x`; built on first sight of a shape.
  Result<Prepared*> prepare(const std::vector<int64_t>& x);

  Status run(KernelContext& ctx) override {
    const DeconvSpec& s = *spec_;
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input X is required", s.what);
    if (x->dtype() != DType::Float)
      return invalid("{}: input X is {}, the weight is float", s.what, dtype_name(x->dtype()));
    if (x->rank() != 4 || x->dims()[1] != s.w->dims()[0])
      return invalid("{}: input X has shape {}; want [N, {}, H, W] for a weight of shape {}", s.what,
                     cf::dims_string(x->dims()), s.w->dims()[0], cf::dims_string(s.w->dims()));
    use_threads(ctx);  // before prepare(): a first-run weight reorder runs on OpenMP too
    ASSIGN_OR_RETURN(Prepared * p, prepare(x->dims()));
    set_threads(p->team);
    ASSIGN_OR_RETURN(Tensor * y,
                     ctx.allocate_output(0, DType::Float, p->dst_dims, KernelContext::Fill::Uninitialized));
    if (p->empty) return Status::ok();
    return guarded(s.what, [&]() -> Status { return execute(*p, *x, *y); });
  }

 private:
  Status execute(Prepared& p, const Tensor& x, Tensor& y);
  Status execute_blocks(Prepared& p, const Tensor& x, Tensor& y);

  std::shared_ptr<const DeconvSpec> spec_;
  dnnl::stream stream_;
  ShapeCache<Prepared> cache_;
};

Result<Prepared*> DnnlDeconvKernel::prepare(const std::vector<int64_t>& x) {
  if (Prepared* hit = cache_.find(x)) return hit;
  const DeconvSpec& s = *spec_;
  ASSIGN_OR_RETURN(DeconvGeometry g, geometry_for(s, x));
  auto p = std::make_unique<Prepared>();
  p->src_dims = x;
  p->dst_dims = g.dst;
  for (int64_t d : x) p->empty = p->empty || d == 0;
  for (int64_t d : p->dst_dims) p->empty = p->empty || d == 0;
  // Multiply-adds: each input element scatters through one input channel's filters.
  const int64_t per_input = s.w->numel() / std::max<int64_t>(1, s.w->dims()[0]);
  p->team = team_for_work(static_cast<double>(numel_of(x)) * static_cast<double>(per_input));
  const Layouts& lay = *s.layouts;
  p->blocks = !p->empty && non_overlapping(s, g);
  if (p->blocks) {
    p->src_nhwc = lay.input_nhwc(0);
    p->dst_nhwc = lay.out_nhwc;
    const auto& wd = s.w->dims();  // [C, M, kH, kW]
    const int64_t c = wd[0], m = wd[1], kk = wd[2] * wd[3];
    p->gemm_w.resize(static_cast<size_t>(c * kk * m));
    const float* w = s.w->data<float>();
    for (int64_t ci = 0; ci < c; ++ci)
      for (int64_t o = 0; o < m; ++o)
        for (int64_t t = 0; t < kk; ++t) p->gemm_w[static_cast<size_t>((ci * kk + t) * m + o)] = w[(ci * m + o) * kk + t];
    p->rows.resize(static_cast<size_t>(x[0] * x[2] * x[3] * kk * m));
    if (s.post)
      TRY(guarded(s.what, [&]() -> Status {
        p->dst_user = act_desc(p->dst_dims, lay.out_nhwc);
        p->act = dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(
            dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, s.post->alg, p->dst_user, s.post->alpha,
                                        s.post->beta),
            cpu_engine()));
        return Status::ok();
      }));
  }
  // oneDNN rejects empty tensors; the run only allocates the (empty) output.
  if (!p->empty && !p->blocks) TRY(guarded(s.what, [&]() -> Status {
    auto pd = choose_pd(s, x, g);
    p->prim = dnnl::deconvolution_forward(pd);
    const auto& eng = cpu_engine();
    dnnl::memory user_w(onnx_deconv_weight_desc(s.w->dims(), s.attrs.group, f32), eng, const_cast<float*>(s.w->data<float>()));
    p->weights = dnnl::memory(pd.weights_desc(), eng);
    dnnl::reorder(user_w, p->weights).execute(stream_, user_w, p->weights);
    stream_.wait();
    if (s.b) p->bias = dnnl::memory(pd.bias_desc(), eng, const_cast<float*>(s.b->data<float>()));
    const Layouts& l = *s.layouts;
    p->src_user = act_desc(x, l.input_nhwc(0));
    p->dst_user = act_desc(p->dst_dims, l.out_nhwc);
    if (pd.src_desc() != p->src_user) {
      p->src_buf = dnnl::memory(pd.src_desc(), eng);
      p->to_src = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->src_user, eng, pd.src_desc()));
    }
    if (pd.dst_desc() != p->dst_user) {
      p->dst_buf = dnnl::memory(pd.dst_desc(), eng);
      p->from_dst = dnnl::reorder(dnnl::reorder::primitive_desc(eng, pd.dst_desc(), eng, p->dst_user));
    }
    if (s.post)
      p->act = dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, s.post->alg, p->dst_user, s.post->alpha,
                                      s.post->beta),
          eng));
    return Status::ok();
  }));
  return cache_.add(std::move(p));
}

Status DnnlDeconvKernel::execute_blocks(Prepared& p, const Tensor& x, Tensor& y) {
  const DeconvSpec& s = *spec_;
  const int64_t n = x.dims()[0], c = x.dims()[1], h = x.dims()[2], w = x.dims()[3];
  const int64_t kh = s.w->dims()[2], kw = s.w->dims()[3], m = s.w->dims()[1];
  const int64_t hw = h * w, cols = kh * kw * m, oh = h * kh, ow = w * kw;
  const float* xp = x.data<float>();
  float* yp = y.mutable_data<float>();
  float* rows = p.rows.data();
  const float* wp = p.gemm_w.data();
  const float* bias = s.b ? s.b->data<float>() : nullptr;
  // One sgemm per image, its result laid out as the output wants it: [pixel, (i, j, o)] for NHWC
  // (each block row is then kW*M contiguous values), [(i, j, o), pixel] for NCHW. An NHWC input is
  // [pixel, c], an NCHW one [c, pixel]; the transpose flags read either as it lies.
  for (int64_t b = 0; b < n; ++b) {
    const float* xb = xp + b * c * hw;
    float* rb = rows + b * cols * hw;
    const dnnl_status_t st =
        p.dst_nhwc ? (p.src_nhwc ? dnnl_sgemm('N', 'N', hw, cols, c, 1.0f, xb, c, wp, cols, 0.0f, rb, cols)
                                 : dnnl_sgemm('T', 'N', hw, cols, c, 1.0f, xb, hw, wp, cols, 0.0f, rb, cols))
                   : (p.src_nhwc ? dnnl_sgemm('T', 'T', cols, hw, c, 1.0f, wp, cols, xb, c, 0.0f, rb, hw)
                                 : dnnl_sgemm('T', 'N', cols, hw, c, 1.0f, wp, cols, xb, hw, 0.0f, rb, hw));
    if (st != dnnl_success) return unsupported("{}: oneDNN sgemm failed (status {})", s.what, static_cast<int>(st));
  }
  const int team = p.team;
  if (p.dst_nhwc) {
#pragma omp parallel for num_threads(team) schedule(static)
    for (int64_t r = 0; r < n * h; ++r) {
      const int64_t b = r / h, y0 = r % h;
      for (int64_t x0 = 0; x0 < w; ++x0) {
        const float* from = rows + ((b * h + y0) * w + x0) * cols;
        for (int64_t i = 0; i < kh; ++i, from += kw * m) {
          float* to = yp + ((b * oh + y0 * kh + i) * ow + x0 * kw) * m;
          for (int64_t j = 0; j < kw; ++j)
            for (int64_t o = 0; o < m; ++o) to[j * m + o] = from[j * m + o] + (bias ? bias[o] : 0.0f);
        }
      }
    }
  } else {
#pragma omp parallel for num_threads(team) schedule(static)
    for (int64_t r = 0; r < n * m * oh; ++r) {
      const int64_t b = r / (m * oh), o = (r / oh) % m, yy = r % oh, y0 = yy / kh, i = yy % kh;
      const float add = bias ? bias[o] : 0.0f;
      float* to = yp + r * ow;
      for (int64_t j = 0; j < kw; ++j) {
        const float* from = rows + (b * cols + (i * kw + j) * m + o) * hw + y0 * w;
        for (int64_t x0 = 0; x0 < w; ++x0) to[x0 * kw + j] = from[x0] + add;
      }
    }
  }
  if (s.post) {
    dnnl::memory dst = view_of(p.dst_user, yp);
    p.act.execute(stream_, {{DNNL_ARG_SRC, dst}, {DNNL_ARG_DST, dst}});
    stream_.wait();
  }
  return Status::ok();
}

Status DnnlDeconvKernel::execute(Prepared& p, const Tensor& x, Tensor& y) {
  if (p.blocks) return execute_blocks(p, x, y);
  dnnl::memory src = view_of(p.src_user, x.data<float>());
  dnnl::memory dst = view_of(p.dst_user, y.mutable_data<float>());
  if (p.src_buf) {
    p.to_src.execute(stream_, src, p.src_buf);
    src = p.src_buf;
  }
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, p.weights}, {DNNL_ARG_DST, p.dst_buf ? p.dst_buf : dst}};
  if (p.bias) args.emplace(DNNL_ARG_BIAS, p.bias);
  p.prim.execute(stream_, args);
  if (p.dst_buf) p.from_dst.execute(stream_, p.dst_buf, dst);
  if (spec_->post) p.act.execute(stream_, {{DNNL_ARG_SRC, dst}, {DNNL_ARG_DST, dst}});
  stream_.wait();
  return Status::ok();
}

// The node reading `producer`'s output as its only reader, when it is a free default-domain node of
// that op type with one output; null otherwise.
const ir::Node* only_reader(const GraphView& view, const ir::Node& producer, const char* op) {
  const ir::Value* v = producer.output(0);
  if (!v || v->uses().size() != 1) return nullptr;
  const ir::Node* c = v->uses()[0].node;
  if (!ir::is_op(*c, op) || view.is_taken(c)) return nullptr;
  if (c->num_outputs() != 1 || !c->output(0)) return nullptr;
  const ir::Node* group[] = {&producer, c};
  return view.read_only_by(*v, group) ? c : nullptr;
}

// The spec's bias as a fresh tensor of m values (zeros without one), to fold into.
std::shared_ptr<Tensor> bias_copy(const DeconvSpec& spec, int64_t m) {
  auto b = std::make_shared<Tensor>(DType::Float, std::vector<int64_t>{m});
  for (int64_t o = 0; o < m; ++o) b->mutable_data<float>()[o] = spec.b ? spec.b->data<float>()[o] : 0.0f;
  return b;
}

// Folds an Add of a constant per-channel (or scalar) float tensor after the ConvTranspose into the bias:
// exporters such as paddle2onnx write the bias that way. False (spec untouched) when it is anything else.
bool fold_bias_add(const GraphView& view, DeconvSpec& spec) {
  const ir::Node* add = only_reader(view, *spec.nodes.back(), "Add");
  if (!add || add->num_inputs() != 2) return false;
  const ir::Value* v = spec.nodes.back()->output(0);
  const ir::Value* other = add->input(add->input(0) == v ? 1 : 0);
  if (other == v) return false;
  const TensorPtr t = fixed_tensor(view, other);
  const int64_t m = spec.w->dims()[1] * spec.attrs.group;
  if (!t || t->dtype() != DType::Float || t->rank() > 4 || (t->numel() != m && t->numel() != 1)) return false;
  // Right-aligned against [N, M, H, W], only the channel dim may be more than 1.
  const auto& d = t->dims();
  for (size_t i = 0; i < d.size(); ++i)
    if (d[i] != 1 && !(d.size() - i == 3 && d[i] == m)) return false;
  auto b = bias_copy(spec, m);
  for (int64_t o = 0; o < m; ++o) b->mutable_data<float>()[o] += t->data<float>()[t->numel() == 1 ? 0 : o];
  spec.b = std::move(b);
  spec.nodes.push_back(add);
  return true;
}

// Folds an inference BatchNormalization after the group into the weights and bias; false (spec
// untouched) when it is anything else. Output channel o = g * M/g + m is weight [c, m] for c in group g.
bool fold_batch_norm(const GraphView& view, DeconvSpec& spec) {
  const ir::Node* bn = only_reader(view, *spec.nodes.back(), "BatchNormalization");
  if (!bn || bn->input(0) != spec.nodes.back()->output(0)) return false;
  if (view.opset(*bn) < 7 || bn->num_inputs() != 5) return false;
  if (bn->attr_int("training_mode", 0) != 0 || bn->attr_int("spatial", 1) != 1) return false;
  const int64_t mg = spec.w->dims()[1], m = mg * spec.attrs.group, cg = spec.w->dims()[0] / spec.attrs.group;
  const float* vec[4];
  for (int i = 0; i < 4; ++i) {
    const TensorPtr t = fixed_tensor(view, bn->input(static_cast<size_t>(i) + 1));
    if (!t || t->dtype() != DType::Float || t->rank() != 1 || t->dims()[0] != m) return false;
    vec[i] = t->data<float>();  // the model holds the constant beyond the claim
  }
  const float eps = bn->attr_float("epsilon", 1e-5f);
  if (!std::isfinite(eps)) return false;
  std::vector<float> a(static_cast<size_t>(m));
  for (int64_t o = 0; o < m; ++o) a[o] = vec[0][o] / std::sqrt(vec[3][o] + eps);
  auto w = std::make_shared<Tensor>(DType::Float, spec.w->dims());
  const int64_t kk = spec.w->dims()[2] * spec.w->dims()[3];
  const float* w0 = spec.w->data<float>();
  float* w1 = w->mutable_data<float>();
  for (int64_t c = 0; c < spec.w->dims()[0]; ++c)
    for (int64_t j = 0; j < mg; ++j) {
      const float s = a[(c / cg) * mg + j];
      for (int64_t k = 0; k < kk; ++k) w1[(c * mg + j) * kk + k] = w0[(c * mg + j) * kk + k] * s;
    }
  auto b = bias_copy(spec, m);
  for (int64_t o = 0; o < m; ++o) b->mutable_data<float>()[o] = (b->data<float>()[o] - vec[2][o]) * a[o] + vec[1][o];
  spec.w = std::move(w);
  spec.b = std::move(b);
  spec.nodes.push_back(bn);
  return true;
}

}  // namespace

std::optional<DnnlClaim> claim_deconv(const GraphView& view, const ir::Node& node, int threads) {
  const ir::Value* x = node.input(0);
  const ir::Value* w = node.input(1);
  const ir::Value* b = node.input(2);
  if (!x || node.num_inputs() > 3 || node.num_outputs() != 1 || !node.output(0)) return std::nullopt;
  const TensorPtr wc = fixed_tensor(view, w), bc = fixed_tensor(view, b);
  if (!wc || (b && !bc)) return std::nullopt;
  const Tensor& wt = *wc;
  if (wt.dtype() != DType::Float || wt.rank() != 4 || wt.numel() == 0) return std::nullopt;
  if (x->type.is_tensor() && x->type.elem != DType::Float && x->type.elem != DType::Undefined) return std::nullopt;
  if (x->type.is_tensor() && x->type.shape && x->type.shape->size() != 4) return std::nullopt;

  auto spec = std::make_shared<DeconvSpec>();
  if (!parse_deconv_attrs(node, wt.dims(), spec->attrs)) return std::nullopt;
  const int64_t c_in = wt.dims()[0];
  if (x->type.is_tensor() && x->type.shape) {
    const Dim& c = (*x->type.shape)[1];
    if (c.is_known() && c.value != c_in) return std::nullopt;
  }
  if (b) {
    const Tensor& bt = *bc;
    if (bt.dtype() != DType::Float || bt.rank() != 1 || bt.dims()[0] != wt.dims()[1] * spec->attrs.group)
      return std::nullopt;
    spec->b = bc;
  }
  spec->w = wc;
  spec->nodes = {&node};
  fold_bias_add(view, *spec);
  fold_batch_norm(view, *spec);
  spec->post = fusable_activation(view, *spec->nodes.back());
  if (spec->post && spec->post->clip_after) spec->post.reset();  // its activation runs one eltwise step
  if (spec->post) append_nodes(spec->nodes, *spec->post);
  spec->what = describe_nodes(spec->nodes);

  // With a fixed input shape, ask oneDNN now, so an unsupported geometry stays on the cpu provider.
  const std::vector<int64_t> xd = static_dims(*x);
  if (!xd.empty()) {
    auto g = geometry_for(*spec, xd);
    if (!g.is_ok()) return std::nullopt;
    Status supported = guarded(spec->what, [&]() -> Status {
      (void)choose_pd(*spec, xd, *g);
      return Status::ok();
    });
    if (!supported.is_ok()) return std::nullopt;
  }
  DnnlClaim dc;
  dc.layouts = spec->layouts;
  dc.nhwc_ok.assign(group_inputs(spec->nodes).size(), false);
  dc.nhwc_ok[0] = true;
  // The primitive computes in NCHW (choose_pd): an output that only ConvTranspose nodes read (a
  // stack of upsamplings, as in ppocr's head) stays NCHW, saving a reorder on each side of the edge.
  const ir::Value* out = spec->nodes.back()->output(0);
  bool deconvs_only = !out->uses().empty();
  for (const ir::Use& u : out->uses()) deconvs_only = deconvs_only && u.node->op_type() == "ConvTranspose";
  dc.out_nhwc_ok = !deconvs_only;
  dc.out_float4_always = true;
  Claim& c = dc.claim;
  c.nodes = spec->nodes;
  c.factory = [spec, xd, threads](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    std::unique_ptr<DnnlDeconvKernel> k;
    TRY(guarded(spec->what, [&]() -> Status {
      k = std::make_unique<DnnlDeconvKernel>(spec);
      return Status::ok();
    }));
    set_threads(threads);
    if (!xd.empty()) TRY(k->prepare(xd).status());  // weights packed at session creation
    return std::unique_ptr<Kernel>(std::move(k));
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
