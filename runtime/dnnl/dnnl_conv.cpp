// The dnnl provider's Conv: 2-D float32 convolution with constant weights, plus the nodes fused after it.
//
// Fusions: Conv, then optionally an inference BatchNormalization (folded into the weights and bias
// when the claim is made), then optionally a residual Add of a tensor of the output's shape
// (oneDNN's sum post-op, which accumulates into the destination: the output takes the addend's
// buffer when it dies here, else the kernel copies the addend there first), then optionally an activation (eltwise post-op).
//
// Layouts: the input, addend and output tensors are NCHW, NHWC or (between two dense convs) oneDNN's
// 8-channel blocks, as the provider decided (see Layouts). A pointwise or depthwise conv inside an NHWC
// region asks oneDNN for NHWC activations: left to its own choice (format_tag::any) oneDNN 2.6 picks
// NHWC for its AVX-512 brgconv kernels but 8-channel blocks for its AVX2 kernels, and the two reorders
// around every conv cost more than such a conv (mobilenet_v2 13 -> 8.7 ms, mnasnet0_5 6.3 -> 3.2 ms at
// one thread on an AVX2 Zen 3). Other convs, and those oneDNN has only a reference kernel for in NHWC,
// let the primitive pick (see choose_pd); the kernel reorders where a tensor's order differs from the
// primitive's. The weights are reordered once per input shape. The packed weights and the reorder
// buffers live outside the session's memory meter.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <unordered_map>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/conv_groups4_nhwc.h"
#include "runtime/cpu/fast_silu.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/dnnl/dnnl_row_bands.h"
#include "runtime/partition.h"
#include "runtime/team.h"
#include "runtime/thread_pool.h"

namespace ortool::rt::dnnl_ep {

namespace {

namespace cf = cpu::conv_family;
using md = dnnl::memory::desc;
using tag = dnnl::memory::format_tag;
constexpr auto f32 = dnnl::memory::data_type::f32;

struct ConvSpec {
  std::vector<const ir::Node*> nodes;  // the Conv, then the fused BatchNormalization, Add, activation
  std::string what;                    // describe_nodes(nodes), for messages
  cf::WindowAttrs attrs;
  int64_t group = 1;
  TensorPtr w, b;  // session constants (or their BatchNormalization-folded copies): they outlive every run
  std::optional<PostOp> post;
  // SiLU `post` run by cpu::silu_in_place over the output instead of oneDNN's swish post-op (see silu_pass_for).
  bool silu_pass = false;
  const ir::Node* add = nullptr;  // fused residual Add
  // The weight's shape class, which decides the activation layouts (choose_pd, the claim's Layouts flags).
  bool pointwise() const { return group == 1 && w->dims()[2] * w->dims()[3] == 1; }
  bool depthwise() const { return group > 1 && w->dims()[1] == 1; }
  bool dense() const { return group == 1 && !pointwise(); }  // a dense spatial conv
  // Groups of 4 input and 4 output channels (ResNeXt-50 32x4d): narrower than oneDNN's AVX2 blocks.
  bool groups_of4() const { return group > 1 && w->dims()[1] == 4 && w->dims()[0] == 4 * group; }
  size_t addend_input = 0;        // the step input holding the Add's other operand (see Claim)
  std::shared_ptr<Layouts> layouts = std::make_shared<Layouts>();
};

dnnl::memory::dims weight_dims(const ConvSpec& s) {
  const auto& w = s.w->dims();
  if (s.group == 1) return {w[0], w[1], w[2], w[3]};
  return {s.group, w[0] / s.group, w[1], w[2], w[3]};  // ONNX's [M, C/g, kH, kW] is goihw in memory
}

// The window of the conv over an input of dims `x` (rank 4, checked by the caller).
Result<cf::Window> window_for(const ConvSpec& s, const std::vector<int64_t>& x) {
  std::span<const int64_t> kernel(s.w->dims().data() + 2, 2), in(x.data() + 2, 2);
  return cf::resolve_window(*s.nodes.front(), s.attrs, in, kernel, cf::WindowKind::Conv);
}

std::vector<int64_t> out_dims(const ConvSpec& s, const std::vector<int64_t>& x, const cf::Window& win) {
  return {x[0], s.w->dims()[0], win.out[0], win.out[1]};
}

// Throws dnnl::error when oneDNN has no implementation for this geometry. Activations layout `act`
// (format_tag::any: the primitive's choice).
dnnl::convolution_forward::primitive_desc make_pd(const ConvSpec& s, const std::vector<int64_t>& x,
                                                  const cf::Window& win, tag act) {
  const std::vector<int64_t> y = out_dims(s, x, win);
  md src({x[0], x[1], x[2], x[3]}, f32, act), dst({y[0], y[1], y[2], y[3]}, f32, act);
  md wts(weight_dims(s), f32, tag::any);
  dnnl::memory::dims strides{win.stride[0], win.stride[1]};
  dnnl::memory::dims dil{win.dilation[0] - 1, win.dilation[1] - 1};  // oneDNN counts the holes
  dnnl::memory::dims pl{win.pad_begin[0], win.pad_begin[1]}, pr{win.pad_end[0], win.pad_end[1]};
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::convolution_direct;
  dnnl::primitive_attr attr;
  attr.set_post_ops(make_post_ops(s.silu_pass ? std::nullopt : s.post, s.add != nullptr));
  if (s.b) {
    md bias({y[1]}, f32, tag::x);
    return {dnnl::convolution_forward::desc(prop, alg, src, wts, bias, dst, strides, dil, pl, pr), attr,
            cpu_engine()};
  }
  return {dnnl::convolution_forward::desc(prop, alg, src, wts, dst, strides, dil, pl, pr), attr, cpu_engine()};
}

// NHWC activations when the step's input and output are both NHWC, the conv is pointwise (1 x 1) or
// depthwise, and oneDNN has an optimized kernel for it; else the primitive's own choice (see the file
// comment). Dense spatial convs keep oneDNN's choice: its AVX2 NHWC kernels for them are 5-35% slower
// than the blocked ones (resnet18's 3 x 3 convs), more than the reorders cost; pointwise and depthwise
// convs do little work per element, so there the reorders cost more than the layout saves.
dnnl::convolution_forward::primitive_desc choose_pd(const ConvSpec& s, const std::vector<int64_t>& x,
                                                    const cf::Window& win) {
  if ((s.pointwise() || s.depthwise()) && s.layouts->input_nhwc(0) && s.layouts->out_nhwc) {
    try {
      auto pd = make_pd(s, x, win, tag::nhwc);
      if (!is_reference_impl(pd)) return pd;
    } catch (const dnnl::error&) {
    }
  }
  return make_pd(s, x, win, tag::any);
}

// A view of caller memory; oneDNN only reads through `src` handles.
dnnl::memory view_of(const md& d, const void* data) { return dnnl::memory(d, cpu_engine(), const_cast<void*>(data)); }

// One primitive with its packed weights, for one input shape (empty for an empty tensor).
struct Prepared {
  std::vector<int64_t> src_dims, dst_dims;
  bool empty = false;
  int team = 1;  // team_for_work
  dnnl::convolution_forward prim;
  dnnl::memory weights, bias;
  md src_user, dst_user, addend_user;  // the step's tensors as they are (NCHW, NHWC or 8-channel blocks)
  // Reorders between the tensors' layouts and the primitive's, with the primitive-layout buffers;
  // empty when the primitive takes the tensor's layout itself. to_dst: the addend into the
  // destination, unless it is a plain copy.
  dnnl::reorder to_src, from_dst, to_dst;
  dnnl::memory src_buf, dst_buf;
  bool copy_addend = false;
  double work = 0;  // multiply-adds, team_for_work's unit
  // Bands of output rows for a Team (build_bands, dnnl_row_bands.h): band k's single-threaded primitive on team
  // thread k every run. Empty: no team use.
  struct Band {
    int64_t in_row = 0, out_row = 0, rows = 0;
    dnnl::convolution_forward prim;
    dnnl::memory weights;
    md src, dst;
  };
  std::vector<Band> bands;
  int64_t src_row = 0, dst_row = 0;  // floats per input and output row
};

// The fused activation as bounds [lo, hi] (Relu, Clip, or none), when it is one.
std::optional<std::pair<float, float>> activation_bounds(const std::optional<PostOp>& p) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  if (!p) return std::pair{-inf, inf};
  if (p->clip_after || !p->before.empty()) return std::nullopt;
  if (p->alg == dnnl::algorithm::eltwise_relu && p->alpha == 0.0f) return std::pair{0.0f, inf};
  if (p->alg == dnnl::algorithm::eltwise_clip) return std::pair{p->alpha, p->beta};
  return std::nullopt;
}

class DnnlConvKernel final : public Kernel {
 public:
  // `threads`: the session's (its providers get the same count as its pool), for the row bands.
  DnnlConvKernel(std::shared_ptr<const ConvSpec> spec, int threads)
      : spec_(std::move(spec)), stream_(cpu_engine()), session_threads_(threads) {
    // Groups of 4 channels between NHWC tensors on cpu::conv_groups4_nhwc (see its header), with a fused Relu or
    // Clip and no Add; oneDNN runs the rest.
    const ConvSpec& s = *spec_;
    const auto bounds = activation_bounds(s.post);
    if (s.groups_of4() && !s.add && bounds && s.layouts->input_nhwc(0) && s.layouts->out_nhwc && cpu::conv_groups4_fast()) {
      groups4_ = cpu::pack_groups4(s.w->data<float>(), s.w->dims()[0], s.w->dims()[2], s.w->dims()[3]);
      lo_ = bounds->first;
      hi_ = bounds->second;
    }
  }

  bool on_groups4() const { return !groups4_.empty(); }

  // The primitive and packed weights for input dims `x`; built on first sight of a shape.
  Result<Prepared*> prepare(const std::vector<int64_t>& x);

  TeamUse team_use(KernelContext& ctx) override {
    const Tensor* x = ctx.input_tensor(0);
    if (on_groups4()) return TeamUse::Pool;  // conv_groups4_nhwc splits through ctx.threads()
    if (!x || x->dtype() != DType::Float || x->rank() != 4) return TeamUse::None;  // run reports it
    use_threads(ctx);
    Result<Prepared*> p = prepare(x->dims());
    if (!p.is_ok()) return TeamUse::None;
    // A step oneDNN runs on one thread anyway runs as well on thread 0 of a team (nested: one thread).
    return !(*p)->bands.empty() ? TeamUse::Parts : (*p)->team == 1 ? TeamUse::Pool : TeamUse::None;
  }

  Status run(KernelContext& ctx) override {
    const ConvSpec& s = *spec_;
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input X is required", s.what);
    if (x->dtype() != DType::Float)
      return invalid("{}: input X is {}, the weight is float", s.what, dtype_name(x->dtype()));
    if (x->rank() != 4 || x->dims()[1] != s.w->dims()[1] * s.group)
      return invalid("{}: input X has shape {}; want [N, {}, H, W] for a weight of shape {} and group {}", s.what,
                     cf::dims_string(x->dims()), s.w->dims()[1] * s.group, cf::dims_string(s.w->dims()), s.group);
    if (on_groups4()) {
      ASSIGN_OR_RETURN(cf::Window win, window_for(s, x->dims()));
      const std::vector<int64_t> yd = out_dims(s, x->dims(), win);
      ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, yd, KernelContext::Fill::Uninitialized));
      if (numel_of(yd) == 0) return Status::ok();
      const auto& xd = x->dims();
      cpu::conv_groups4_nhwc(x->data<float>(), xd[0], xd[2], xd[3], xd[1], groups4_, s.b ? s.b->data<float>() : nullptr,
                             win, lo_, hi_, y->mutable_data<float>(), ctx.threads());
      return Status::ok();
    }
    use_threads(ctx);  // before prepare(): a first-run weight reorder runs on OpenMP too
    ASSIGN_OR_RETURN(Prepared * p, prepare(x->dims()));
    set_threads(p->team);
    const Tensor* addend = nullptr;
    if (s.add) {
      addend = ctx.input_tensor(s.addend_input);
      // The claim saw equal declared shapes; a model whose annotations lie ends here, not in a crash.
      if (!addend || addend->dtype() != DType::Float || addend->dims() != p->dst_dims)
        return invalid("{}: the Add's other input has shape {}, the conv output {}", s.what,
                       addend ? cf::dims_string(addend->dims()) : "(none)", cf::dims_string(p->dst_dims));
    }
    // The sum post-op accumulates into the destination: when the addend already sits there in the
    // destination's layout and dies here, the output takes its buffer and the copy goes away. Not
    // when it is also the conv's input (Add(Conv(x), x)): the primitive would overwrite its source.
    const bool sum_in_place = addend && p->copy_addend && !p->dst_buf && addend->data<float>() != x->data<float>();
    Tensor* y = nullptr;
    if (sum_in_place) {
      ASSIGN_OR_RETURN(y, ctx.reuse_input_or_allocate(s.addend_input, 0, DType::Float, p->dst_dims));
    } else {
      ASSIGN_OR_RETURN(y, ctx.allocate_output(0, DType::Float, p->dst_dims, KernelContext::Fill::Uninitialized));
    }
    if (p->empty) return Status::ok();
    if (Team* team = Team::current(); team && !p->bands.empty())
      return guarded(s.what, [&]() -> Status { return run_bands(*team, *p, *x, addend, *y); });
    TRY(guarded(s.what, [&]() -> Status { return execute(*p, *x, addend, *y); }));
    if (s.silu_pass) cpu::silu_in_place(y->mutable_data<float>(), y->numel(), ctx.threads());
    return Status::ok();
  }

 private:
  Status execute(Prepared& p, const Tensor& x, const Tensor* addend, Tensor& y);
  // Each band on its team thread: the addend's rows copied into the output's, the band's primitive, the SiLU pass.
  Status run_bands(Team& team, Prepared& p, const Tensor& x, const Tensor* addend, Tensor& y);
  void build_bands(Prepared& p, const cf::Window& win);

  std::shared_ptr<const ConvSpec> spec_;
  dnnl::stream stream_;
  const int session_threads_;
  std::vector<std::unique_ptr<Prepared>> cache_;  // most recent last
  std::vector<float> groups4_;  // the packed weight, when the conv runs on conv_groups4_nhwc
  float lo_ = 0, hi_ = 0;
  std::vector<dnnl::stream> band_streams_;  // one per band (run_bands)
};

Result<Prepared*> DnnlConvKernel::prepare(const std::vector<int64_t>& x) {
  for (size_t i = 0; i < cache_.size(); ++i) {
    if (cache_[i]->src_dims != x) continue;
    auto it = cache_.begin() + static_cast<std::ptrdiff_t>(i);
    std::rotate(it, it + 1, cache_.end());
    return cache_.back().get();
  }
  const ConvSpec& s = *spec_;
  ASSIGN_OR_RETURN(cf::Window win, window_for(s, x));
  auto p = std::make_unique<Prepared>();
  p->src_dims = x;
  p->dst_dims = out_dims(s, x, win);
  for (int64_t d : x) p->empty = p->empty || d == 0;
  for (int64_t d : p->dst_dims) p->empty = p->empty || d == 0;
  // Multiply-adds: each output element reads one filter.
  const int64_t per_output = s.w->numel() / std::max<int64_t>(1, s.w->dims()[0]);
  p->work = static_cast<double>(numel_of(p->dst_dims)) * static_cast<double>(per_output);
  p->team = team_for_work(p->work);
  // oneDNN rejects empty tensors; the run only allocates the (empty) output.
  if (!p->empty) TRY(guarded(s.what, [&]() -> Status {
    auto pd = choose_pd(s, x, win);
    p->prim = dnnl::convolution_forward(pd);
    const auto& eng = cpu_engine();
    dnnl::memory user_w(md(weight_dims(s), f32, s.group == 1 ? tag::oihw : tag::goihw), eng,
                        const_cast<float*>(s.w->data<float>()));
    if (pd.weights_desc() == user_w.get_desc()) {
      p->weights = user_w;
    } else {
      p->weights = dnnl::memory(pd.weights_desc(), eng);
      dnnl::reorder(user_w, p->weights).execute(stream_, user_w, p->weights);
      stream_.wait();
    }
    if (s.b) p->bias = dnnl::memory(pd.bias_desc(), eng, const_cast<float*>(s.b->data<float>()));
    const Layouts& l = *s.layouts;
    p->src_user = act_desc(x, l.input_nhwc(0), l.input_blocked(0));
    p->dst_user = act_desc(p->dst_dims, l.out_nhwc, l.out_blocked);
    p->addend_user = act_desc(p->dst_dims, s.add && l.input_nhwc(s.addend_input), s.add && l.input_blocked(s.addend_input));
    if (pd.src_desc() != p->src_user) {
      p->src_buf = dnnl::memory(pd.src_desc(), eng);
      p->to_src = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->src_user, eng, pd.src_desc()));
    }
    if (pd.dst_desc() != p->dst_user) {
      p->dst_buf = dnnl::memory(pd.dst_desc(), eng);
      p->from_dst = dnnl::reorder(dnnl::reorder::primitive_desc(eng, pd.dst_desc(), eng, p->dst_user));
    }
    const md& sum_into = p->dst_buf ? pd.dst_desc() : p->dst_user;
    p->copy_addend = s.add && p->addend_user == sum_into;
    if (s.add && !p->copy_addend)
      p->to_dst = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->addend_user, eng, sum_into));
    build_bands(*p, win);
    return Status::ok();
  }));
  // Shapes rarely vary; a few entries cover a model fed two or three batch sizes.
  if (cache_.size() >= 4) cache_.erase(cache_.begin());
  cache_.push_back(std::move(p));
  return cache_.back().get();
}

// Bands of output rows for a team of the session's threads (dnnl_row_bands.h): one image, NHWC on both sides with
// the primitive on them, the addend (if any) in the output's layout.
void DnnlConvKernel::build_bands(Prepared& p, const cf::Window& win) {
  const ConvSpec& s = *spec_;
  const Layouts& l = *s.layouts;
  const int k = row_band_count(session_threads_, p.work, static_cast<double>(s.w->nbytes()), p.dst_dims[2]);
  if (k == 0 || p.src_dims[0] != 1 || p.src_buf || p.dst_buf || !l.input_nhwc(0) || !l.out_nhwc ||
      (s.add && !p.copy_addend))
    return;
  const int64_t c = p.src_dims[1], w = p.src_dims[3], m = p.dst_dims[1], ow = p.dst_dims[3];
  set_threads(1);  // band primitives run on one thread each
  std::vector<Prepared::Band> bands;
  for (const RowBand& rb : row_bands(win, k)) {
    Prepared::Band band;
    band.in_row = rb.in_row;
    band.out_row = rb.out_row;
    band.rows = rb.win.out[0];
    band.src = md({1, c, rb.win.in[0], w}, f32, tag::nhwc);
    band.dst = md({1, m, band.rows, ow}, f32, tag::nhwc);
    try {
      auto bpd = make_pd(s, {1, c, rb.win.in[0], w}, rb.win, tag::nhwc);
      if (is_reference_impl(bpd) || bpd.src_desc() != band.src || bpd.dst_desc() != band.dst) {
        set_threads(p.team);
        return;  // oneDNN has no fast kernel for the band in NHWC: no bands
      }
      band.prim = dnnl::convolution_forward(bpd);
      band.weights = band_weights(bpd.weights_desc(), p.weights,
                                  md(weight_dims(s), f32, s.group == 1 ? tag::oihw : tag::goihw), s.w->raw(), stream_);
    } catch (const dnnl::error&) {
      set_threads(p.team);
      return;
    }
    bands.push_back(std::move(band));
  }
  set_threads(p.team);
  p.bands = std::move(bands);
  p.src_row = w * c;
  p.dst_row = ow * m;
}

Status DnnlConvKernel::run_bands(Team& team, Prepared& p, const Tensor& x, const Tensor* addend, Tensor& y) {
  const int k = static_cast<int>(p.bands.size());
  while (static_cast<int>(band_streams_.size()) < k) band_streams_.emplace_back(cpu_engine());
  const float* xd = x.data<float>();
  float* yd = y.mutable_data<float>();
  const float* ad = addend ? addend->data<float>() : nullptr;
  const bool silu = spec_->silu_pass;
  team.for_each(k, [&](int b) {
    Prepared::Band& band = p.bands[static_cast<size_t>(b)];
    float* out = yd + band.out_row * p.dst_row;
    const int64_t n = band.rows * p.dst_row;
    if (ad && ad != yd) std::memcpy(out, ad + band.out_row * p.dst_row, static_cast<size_t>(n) * sizeof(float));
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, view_of(band.src, xd + band.in_row * p.src_row)},
                                               {DNNL_ARG_WEIGHTS, band.weights},
                                               {DNNL_ARG_DST, view_of(band.dst, out)}};
    if (p.bias) args.emplace(DNNL_ARG_BIAS, p.bias);
    dnnl::stream& st = band_streams_[static_cast<size_t>(b)];
    band.prim.execute(st, args);
    st.wait();
    if (silu) cpu::silu_in_place(out, n, nullptr);
  });
  return Status::ok();
}

Status DnnlConvKernel::execute(Prepared& p, const Tensor& x, const Tensor* addend, Tensor& y) {
  dnnl::memory src = view_of(p.src_user, x.data<float>());
  dnnl::memory dst = view_of(p.dst_user, y.mutable_data<float>());
  if (addend && p.copy_addend) {
    if (addend->data<float>() != y.data<float>())
        std::memcpy(p.dst_buf ? p.dst_buf.get_data_handle() : y.mutable_data<float>(), addend->data<float>(),
                  addend->nbytes());
  } else if (addend) {
    dnnl::memory a = view_of(p.addend_user, addend->data<float>());
    p.to_dst.execute(stream_, a, p.dst_buf ? p.dst_buf : dst);
  }
  if (p.src_buf) {
    p.to_src.execute(stream_, src, p.src_buf);
    src = p.src_buf;
  }
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, p.weights}, {DNNL_ARG_DST, p.dst_buf ? p.dst_buf : dst}};
  if (p.bias) args.emplace(DNNL_ARG_BIAS, p.bias);
  p.prim.execute(stream_, args);
  if (p.dst_buf) p.from_dst.execute(stream_, p.dst_buf, dst);
  stream_.wait();
  return Status::ok();
}

std::atomic<KernelChoice> g_silu_mode{KernelChoice::Default};

// Whether a fused SiLU runs as cpu::silu_in_place over the conv's output: with AVX-512, where that pass costs
// 0.19 ns an element against 0.3 for oneDNN 2.6's swish post-op (exp and a division per vector; Zen 5:
// efficientnet_b0's SiLUs 2.3 ms of its convs' 8.0). Not measured on AVX2, so the post-op stays there.
bool silu_pass_for(const std::optional<PostOp>& post) {
  if (!post || post->alg != dnnl::algorithm::eltwise_swish || post->alpha != 1.0f || post->clip_after) return false;
  const KernelChoice mode = g_silu_mode.load();
  return mode == KernelChoice::Own || (mode == KernelChoice::Default && avx512_kernels() && cpu::silu_in_place_wide());
}

// Equal declared shapes: every dim the same number or the same symbol.
bool same_declared_shape(const ir::Value& a, const ir::Value& b) {
  if (!a.type.is_tensor() || !b.type.is_tensor() || !a.type.shape || !b.type.shape) return false;
  const Shape &sa = *a.type.shape, &sb = *b.type.shape;
  if (sa.size() != sb.size()) return false;
  for (size_t i = 0; i < sa.size(); ++i) {
    const bool numbers = sa[i].is_known() && sb[i].is_known() && sa[i].value == sb[i].value;
    const bool symbols = sa[i].kind == Dim::Kind::Param && sb[i].kind == Dim::Kind::Param && sa[i].param == sb[i].param;
    if (!numbers && !symbols) return false;
  }
  return true;
}

// The Add reading `producer`'s output plus a float tensor of the same declared shape (a residual
// connection), when it is that output's only reader; null otherwise. Broadcasting Adds stay out:
// the sum post-op needs the addend in the destination's shape.
const ir::Node* fusable_add(const GraphView& view, const ir::Node& producer) {
  const ir::Value* c = producer.output(0);
  if (!c || c->uses().size() != 1) return nullptr;
  const ir::Node* add = c->uses()[0].node;
  if (!ir::is_op(*add, "Add")) return nullptr;
  if (view.is_taken(add) || add->num_inputs() != 2 || add->num_outputs() != 1 || !add->output(0)) return nullptr;
  const ir::Value* other = add->input(c->uses()[0].index == 0 ? 1 : 0);
  if (!other || other == c || other->type.elem != DType::Float) return nullptr;
  const ir::Node* group[] = {&producer, add};
  if (!view.read_only_by(*c, group)) return nullptr;
  if (!same_declared_shape(*c, *other) || !same_declared_shape(*c, *add->output(0))) return nullptr;
  return add;
}

// A float vector of n values fixed for the session, or null (the tensor outlives the claim: the model holds it).
const float* constant_vector(const GraphView& view, const ir::Value* v, int64_t n) {
  const TensorPtr t = fixed_tensor(view, v);
  if (!t || t->dtype() != DType::Float || t->rank() != 1 || t->dims()[0] != n) return nullptr;
  return t->data<float>();
}

// Folds an inference BatchNormalization reading the conv's output (its only reader) into the spec's
// weights and bias; false (spec untouched) when the node is anything else.
bool fold_batch_norm(const GraphView& view, const ir::Node& conv, ConvSpec& spec) {
  const ir::Value* c = conv.output(0);
  if (!c || c->uses().size() != 1 || c->uses()[0].index != 0) return false;
  const ir::Node* bn = c->uses()[0].node;
  if (!ir::is_op(*bn, "BatchNormalization")) return false;
  if (view.is_taken(bn) || view.opset(*bn) < 7 || bn->num_inputs() != 5 || !bn->output(0)) return false;
  for (size_t i = 1; i < bn->num_outputs(); ++i)
    if (bn->output(i)) return false;  // running statistics outputs: training
  if (bn->attr_int("training_mode", 0) != 0 || bn->attr_int("spatial", 1) != 1) return false;
  const ir::Node* group[] = {&conv, bn};
  if (!view.read_only_by(*c, group)) return false;
  const int64_t m = spec.w->dims()[0];
  const float* scale = constant_vector(view, bn->input(1), m);
  const float* shift = constant_vector(view, bn->input(2), m);
  const float* mean = constant_vector(view, bn->input(3), m);
  const float* var = constant_vector(view, bn->input(4), m);
  const float eps = bn->attr_float("epsilon", 1e-5f);
  if (!scale || !shift || !mean || !var || !std::isfinite(eps)) return false;
  auto w = std::make_shared<Tensor>(DType::Float, spec.w->dims());
  auto b = std::make_shared<Tensor>(DType::Float, std::vector<int64_t>{m});
  const int64_t per = spec.w->numel() / m;
  const float* w0 = spec.w->data<float>();
  const float* b0 = spec.b ? spec.b->data<float>() : nullptr;
  for (int64_t o = 0; o < m; ++o) {
    const float a = scale[o] / std::sqrt(var[o] + eps);
    for (int64_t i = 0; i < per; ++i) w->mutable_data<float>()[o * per + i] = w0[o * per + i] * a;
    b->mutable_data<float>()[o] = ((b0 ? b0[o] : 0.0f) - mean[o]) * a + shift[o];
  }
  spec.w = std::move(w);
  spec.b = std::move(b);
  spec.nodes.push_back(bn);
  return true;
}

}  // namespace

std::optional<DnnlClaim> claim_conv(const GraphView& view, const ir::Node& conv, int threads) {
  const ir::Value* x = conv.input(0);
  const ir::Value* w = conv.input(1);
  const ir::Value* b = conv.input(2);
  if (!x || conv.num_inputs() > 3 || conv.num_outputs() != 1 || !conv.output(0)) return std::nullopt;
  const TensorPtr wc = fixed_tensor(view, w), bc = fixed_tensor(view, b);
  if (!wc || (b && !bc)) return std::nullopt;
  const Tensor& wt = *wc;
  if (wt.dtype() != DType::Float || wt.rank() != 4 || wt.numel() == 0) return std::nullopt;
  if (x->type.is_tensor() && x->type.elem != DType::Float && x->type.elem != DType::Undefined) return std::nullopt;
  if (x->type.is_tensor() && x->type.shape && x->type.shape->size() != 4) return std::nullopt;

  auto spec = std::make_shared<ConvSpec>();
  spec->group = conv.attr_int("group", 1);
  const int64_t m = wt.dims()[0];
  if (spec->group <= 0 || m % spec->group != 0) return std::nullopt;
  if (x->type.is_tensor() && x->type.shape) {
    const Dim& c = (*x->type.shape)[1];
    if (c.is_known() && c.value != wt.dims()[1] * spec->group) return std::nullopt;
  }
  if (b) {
    const Tensor& bt = *bc;
    if (bt.dtype() != DType::Float || bt.rank() != 1 || bt.dims()[0] != m) return std::nullopt;
    spec->b = bc;
  }
  if (!cf::parse_window_attrs(conv, spec->attrs).is_ok() || !cf::check_window_ranks(conv, spec->attrs, 2).is_ok())
    return std::nullopt;
  const auto& ks = spec->attrs.kernel_shape;
  if (!ks.empty() && !std::equal(ks.begin(), ks.end(), wt.dims().begin() + 2, wt.dims().end())) return std::nullopt;
  spec->w = wc;
  spec->nodes = {&conv};
  fold_batch_norm(view, conv, *spec);
  spec->post = fusable_activation(view, *spec->nodes.back());
  if (!spec->post) {
    spec->add = fusable_add(view, *spec->nodes.back());
    if (spec->add) {
      spec->nodes.push_back(spec->add);
      const std::vector<const ir::Value*> ins = group_inputs(spec->nodes);
      const ir::Value* other = spec->add->input(spec->add->input(0) == spec->nodes.end()[-2]->output(0) ? 1 : 0);
      spec->addend_input = static_cast<size_t>(std::find(ins.begin(), ins.end(), other) - ins.begin());
      spec->post = fusable_activation(view, *spec->add);
    }
  }
  if (spec->post) append_nodes(spec->nodes, *spec->post);
  spec->silu_pass = silu_pass_for(spec->post);
  spec->what = describe_nodes(spec->nodes);

  // With a fixed input shape, ask oneDNN now, so an unsupported geometry stays on the cpu provider.
  const std::vector<int64_t> xd = static_dims(*x);
  if (!xd.empty()) {
    auto win = window_for(*spec, xd);
    if (!win.is_ok()) return std::nullopt;
    Status supported = guarded(spec->what, [&]() -> Status {
      (void)make_pd(*spec, xd, *win, tag::any);
      return Status::ok();
    });
    if (!supported.is_ok()) return std::nullopt;
  }
  DnnlClaim dc;
  dc.layouts = spec->layouts;
  const std::vector<const ir::Value*> ins = group_inputs(spec->nodes);
  dc.nhwc_ok.assign(ins.size(), false);
  dc.nhwc_ok[0] = true;
  // The addend at every step input holding it: Add(Conv(x), x) lists x twice.
  if (spec->add)
    for (size_t k = 0; k < ins.size(); ++k) dc.nhwc_ok[k] = dc.nhwc_ok[k] || ins[k] == ins[spec->addend_input];
  dc.out_nhwc_ok = true;
  dc.out_float4_always = true;
  // 8-channel blocks only between dense spatial convs, where oneDNN's AVX2 kernels want them on both sides:
  // pointwise and depthwise convs run NHWC (choose_pd), and a blocked value read by one of them (or by a
  // grouped conv) moves the reorder rather than saving it (RegNet, ResNeXt: 2-4% slower so).
  dc.blocked_ok.assign(dc.nhwc_ok.size(), false);
  if (spec->dense()) dc.blocked_ok = dc.nhwc_ok;  // the input and the fused Add's addend
  dc.out_blocked_ok = spec->dense();
  dc.out_channels = spec->w->dims()[0];
  Claim& c = dc.claim;
  c.nodes = spec->nodes;
  c.factory = [spec, xd, threads](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    std::unique_ptr<DnnlConvKernel> k;
    TRY(guarded(spec->what, [&]() -> Status {
      k = std::make_unique<DnnlConvKernel>(spec, threads);
      return Status::ok();
    }));
    set_threads(threads);
    if (!xd.empty() && !k->on_groups4()) TRY(k->prepare(xd).status());  // weights packed at session creation
    return std::unique_ptr<Kernel>(std::move(k));
  };
  return dc;
}

void set_silu_mode(KernelChoice mode) { g_silu_mode.store(mode); }

}  // namespace ortool::rt::dnnl_ep
