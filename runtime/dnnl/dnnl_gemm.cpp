// The dnnl provider's Gemm and MatMul: float32 A times a constant 2-D weight (+ bias, fused activation) on a
// oneDNN 1x1 convolution (or its matmul).
//
// Gemm's alpha and beta are folded into the packed weight and the bias once; MatMul's leading dims
// of A are flattened into rows, since the weight is shared by every batch. A MatMul takes the Add
// of a constant bias after it (a Linear layer) as the primitive's bias, then the activation.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/dnnl/dnnl_common.h"
#include "runtime/partition.h"

namespace ortool::rt::dnnl_ep {

namespace {

using md = dnnl::memory::desc;
using tag = dnnl::memory::format_tag;
constexpr auto f32 = dnnl::memory::data_type::f32;

struct GemmSpec {
  std::vector<const ir::Node*> nodes;  // the Gemm or MatMul, then a MatMul's bias Add, then the activation
  std::string what;
  bool gemm = false;        // Gemm: A must be 2-D
  int64_t k = 0, n = 0;
  // The weight: the graph's constant B itself ([K, N], or [N, K] with trans_b), or with alpha != 1 a
  // scaled [K, N] copy in `w`: no copy of a model's weights beside the primitive's packed ones.
  TensorPtr b;
  bool trans_b = false;
  std::vector<float> w;
  std::vector<float> bias;  // [N] with beta applied; empty: none
  bool bias_2d = false;     // a MatMul's fused bias is [1, N]: the product must be a matrix or more
  std::optional<PostOp> post;
};

struct Prepared {
  int64_t rows = 0;
  int team = 1;  // team_for_work
  dnnl::primitive prim;  // a 1x1 convolution, or a matmul where oneDNN has no optimized convolution
  dnnl::memory weights, bias;
  dnnl::memory::desc src, dst;  // A and Y as the primitive sees them (the same row-major memory either way)
};

// A [rows, K] x [K, N] product as a 1 x 1 convolution over a [1, K, rows, 1] NHWC image (the same
// memory as the row-major matrix): oneDNN 2.6's 1x1 convolution kernels ran transformer-sized products
// 1.3-1.9x faster than its matmul on AVX2 (ViT's 197 x 768 x 3072: 12.2 against 23.3 ms; 196 x 384 x
// 1536: 3.3 against 5.3 ms), and level on tall ones (3136 x 96 x 384). Null when oneDNN has only its
// reference convolution for it.
std::optional<dnnl::convolution_forward::primitive_desc> conv_pd(int64_t rows, int64_t k, int64_t n, bool bias,
                                                                 const dnnl::primitive_attr& attr) {
  try {
    md src({1, k, rows, 1}, f32, tag::nhwc), dst({1, n, rows, 1}, f32, tag::nhwc), wts({n, k, 1, 1}, f32, tag::any);
    const auto prop = dnnl::prop_kind::forward_inference;
    const auto alg = dnnl::algorithm::convolution_direct;
    dnnl::convolution_forward::primitive_desc pd =
        bias ? dnnl::convolution_forward::primitive_desc(
                   dnnl::convolution_forward::desc(prop, alg, src, wts, md({n}, f32, tag::x), dst, {1, 1}, {0, 0}, {0, 0}),
                   attr, cpu_engine())
             : dnnl::convolution_forward::primitive_desc(
                   dnnl::convolution_forward::desc(prop, alg, src, wts, dst, {1, 1}, {0, 0}, {0, 0}), attr, cpu_engine());
    if (is_reference_impl(pd)) return std::nullopt;
    return pd;
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
}

std::string dims_str(const std::vector<int64_t>& d) { return fmt::format("[{}]", fmt::join(d, ", ")); }

class DnnlGemmKernel final : public Kernel {
 public:
  explicit DnnlGemmKernel(std::shared_ptr<const GemmSpec> spec) : spec_(std::move(spec)), stream_(cpu_engine()) {}

  Result<Prepared*> prepare(int64_t rows) {
    for (size_t i = 0; i < cache_.size(); ++i) {
      if (cache_[i]->rows != rows) continue;
      auto it = cache_.begin() + static_cast<std::ptrdiff_t>(i);
      std::rotate(it, it + 1, cache_.end());
      return cache_.back().get();
    }
    const GemmSpec& s = *spec_;
    auto p = std::make_unique<Prepared>();
    p->rows = rows;
    p->team = team_for_work(static_cast<double>(rows) * static_cast<double>(s.k) * static_cast<double>(s.n));
    TRY(guarded(s.what, [&]() -> Status {
      const auto& eng = cpu_engine();
      dnnl::primitive_attr attr;
      attr.set_post_ops(make_post_ops(s.post));
      md weights_desc, bias_desc, user_w_desc;
      // A few rows over two threads: the convolution splits its one or two pixels badly (1 x 1280 x 1000:
      // 0.116 against the matmul's 0.102 ms at two threads; 0.107 against 0.125 at one).
      std::optional<dnnl::convolution_forward::primitive_desc> cpd;
      if (rows >= 8 || p->team == 1) cpd = conv_pd(rows, s.k, s.n, !s.bias.empty(), attr);
      if (cpd) {
        p->prim = dnnl::convolution_forward(*cpd);
        p->src = cpd->src_desc();
        p->dst = cpd->dst_desc();
        weights_desc = cpd->weights_desc();
        bias_desc = cpd->bias_desc();
        // [K, N] row-major is [N, K, 1, 1] as ihwo; [N, K] (trans_b) is oihw.
        user_w_desc = md({s.n, s.k, 1, 1}, f32, s.w.empty() && s.trans_b ? tag::oihw : tag::ihwo);
      } else {
        md src({rows, s.k}, f32, tag::ab), dst({rows, s.n}, f32, tag::ab), wts({s.k, s.n}, f32, tag::any);
        dnnl::matmul::primitive_desc pd =
            s.bias.empty() ? dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wts, dst), attr, eng)
                           : dnnl::matmul::primitive_desc(
                                 dnnl::matmul::desc(src, wts, md({1, s.n}, f32, tag::ab), dst), attr, eng);
        p->prim = dnnl::matmul(pd);
        p->src = src;
        p->dst = dst;
        weights_desc = pd.weights_desc();
        bias_desc = pd.bias_desc();
        user_w_desc = md({s.k, s.n}, f32, s.w.empty() && s.trans_b ? tag::ba : tag::ab);
      }
      dnnl::memory user_w(user_w_desc, eng, const_cast<float*>(s.w.empty() ? s.b->data<float>() : s.w.data()));
      if (weights_desc == user_w.get_desc()) {
        p->weights = user_w;
      } else {
        p->weights = dnnl::memory(weights_desc, eng);
        dnnl::reorder(user_w, p->weights).execute(stream_, user_w, p->weights);
        stream_.wait();
      }
      if (!s.bias.empty()) p->bias = dnnl::memory(bias_desc, eng, const_cast<float*>(s.bias.data()));
      return Status::ok();
    }));
    if (cache_.size() >= 4) cache_.erase(cache_.begin());
    cache_.push_back(std::move(p));
    return cache_.back().get();
  }

  Status run(KernelContext& ctx) override {
    const GemmSpec& s = *spec_;
    const Tensor* a = ctx.input_tensor(0);
    if (!a) return invalid("{}: input A is required", s.what);
    if (a->dtype() != DType::Float)
      return invalid("{}: input A is {}, the weight is float", s.what, dtype_name(a->dtype()));
    if ((s.gemm && a->rank() != 2) || a->rank() < 1 || a->dims().back() != s.k)
      return invalid("{}: input A has shape {}; want {} with {} columns to match the weight [{}, {}]", s.what,
                     dims_str(a->dims()), s.gemm ? "a matrix" : "rank 1 or more", s.k, s.k, s.n);
    if (s.bias_2d && a->rank() < 2)
      return invalid("{}: input A is a vector; the fused Add's [1, N] bias would make the sum a matrix", s.what);
    std::vector<int64_t> y_dims(a->dims().begin(), a->dims().end() - 1);  // a vector A gives a vector Y
    const int64_t rows = a->numel() / s.k;  // k > 0: empty weights are not claimed
    y_dims.push_back(s.n);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, y_dims, KernelContext::Fill::Uninitialized));
    if (y->numel() == 0) return Status::ok();
    use_threads(ctx);  // before prepare(): a first-run weight reorder runs on OpenMP too
    ASSIGN_OR_RETURN(Prepared * p, prepare(rows));
    set_threads(p->team);
    return guarded(s.what, [&]() -> Status {
      const auto& eng = cpu_engine();
      dnnl::memory src(p->src, eng, const_cast<float*>(a->data<float>()));
      dnnl::memory dst(p->dst, eng, y->mutable_data<float>());
      std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, p->weights}, {DNNL_ARG_DST, dst}};
      if (p->bias) args.emplace(DNNL_ARG_BIAS, p->bias);
      p->prim.execute(stream_, args);
      stream_.wait();
      return Status::ok();
    });
  }

 private:
  std::shared_ptr<const GemmSpec> spec_;
  dnnl::stream stream_;
  std::vector<std::unique_ptr<Prepared>> cache_;  // most recent last
};

bool float_or_unknown(const ir::Value& v) {
  return !v.type.is_tensor() || v.type.elem == DType::Float || v.type.elem == DType::Undefined;
}

// Gemm's C as a per-column bias: a scalar, [N] or [1, N]; empty when C is absent, nullopt otherwise.
std::optional<std::vector<float>> gemm_bias(const GraphView& view, const ir::Value* c, int64_t n, float beta) {
  if (!c || beta == 0.0f) return std::vector<float>{};
  const TensorPtr fixed = fixed_tensor(view, c);
  if (!fixed) return std::nullopt;
  const Tensor& t = *fixed;
  if (t.dtype() != DType::Float) return std::nullopt;
  const auto& d = t.dims();
  std::vector<float> out(static_cast<size_t>(n));
  if (t.numel() == 1) {
    std::fill(out.begin(), out.end(), beta * t.data<float>()[0]);
  } else if ((d.size() == 1 && d[0] == n) || (d.size() == 2 && d[0] == 1 && d[1] == n)) {
    for (int64_t j = 0; j < n; ++j) out[static_cast<size_t>(j)] = beta * t.data<float>()[j];
  } else {
    return std::nullopt;
  }
  return out;
}

// The Add of a constant per-column bias (scalar, [N] or [1, N], either operand) reading the
// MatMul's output as its only reader, as exporters write a Linear layer; null otherwise.
const ir::Node* bias_add(const GraphView& view, const ir::Node& matmul, int64_t n) {
  const ir::Value* c = matmul.output(0);
  if (!c || c->uses().size() != 1) return nullptr;
  const ir::Node* add = c->uses()[0].node;
  if (!ir::is_op(*add, "Add")) return nullptr;
  if (view.is_taken(add) || add->num_inputs() != 2 || add->num_outputs() != 1 || !add->output(0)) return nullptr;
  const ir::Node* group[] = {&matmul, add};
  if (!view.read_only_by(*c, group)) return nullptr;  // a graph output or a watched value stays visible
  const ir::Value* other = add->input(c->uses()[0].index == 0 ? 1 : 0);
  if (!other || other == c || !gemm_bias(view, other, n, 1.0f)) return nullptr;
  // A bias of rank 2 would broadcast a vector product [N] up to [1, N]; keep the shapes exact.
  const TensorPtr t = fixed_tensor(view, other);
  if (t->rank() > 1) {
    const ir::Value* a = matmul.input(0);
    if (!a->type.is_tensor() || !a->type.shape || a->type.shape->size() < 2) return nullptr;
  }
  return add;
}

}  // namespace

std::optional<DnnlClaim> claim_gemm(const GraphView& view, const ir::Node& node, int threads) {
  const bool gemm = node.op_type() == "Gemm";
  const ir::Value* a = node.input(0);
  const ir::Value* b = node.input(1);
  if (!a || node.num_outputs() != 1 || !node.output(0) || node.num_inputs() > (gemm ? 3u : 2u)) return std::nullopt;
  const TensorPtr bc = fixed_tensor(view, b);
  if (!float_or_unknown(*a) || !bc) return std::nullopt;
  const Tensor& bt = *bc;
  if (bt.dtype() != DType::Float || bt.rank() != 2 || bt.numel() == 0) return std::nullopt;
  if (a->type.is_tensor() && a->type.shape && a->type.shape->empty()) return std::nullopt;

  auto spec = std::make_shared<GemmSpec>();
  spec->gemm = gemm;
  bool trans_b = false;
  float alpha = 1.0f, beta = 1.0f;
  if (gemm) {
    if (node.attr_int("transA", 0) != 0) return std::nullopt;
    if (view.opset(node) < 7 && node.attr_int("broadcast", 0) == 0 && node.has_input(2)) return std::nullopt;
    trans_b = node.attr_int("transB", 0) != 0;
    alpha = node.attr_float("alpha", 1.0f);
    beta = node.attr_float("beta", 1.0f);
    if (!std::isfinite(alpha) || !std::isfinite(beta)) return std::nullopt;
  }
  spec->k = trans_b ? bt.dims()[1] : bt.dims()[0];
  spec->n = trans_b ? bt.dims()[0] : bt.dims()[1];
  if (a->type.is_tensor() && a->type.shape) {
    const Shape& s = *a->type.shape;
    if (gemm && s.size() != 2) return std::nullopt;
    if (s.back().is_known() && s.back().value != spec->k) return std::nullopt;
  }
  if (gemm) {
    auto bias = gemm_bias(view, node.input(2), spec->n, beta);
    if (!bias) return std::nullopt;
    spec->bias = std::move(*bias);
  }
  spec->b = bc;
  spec->trans_b = trans_b;
  if (alpha != 1.0f) {
    spec->w.resize(static_cast<size_t>(spec->k * spec->n));
    const float* src = bt.data<float>();
    for (int64_t i = 0; i < spec->k; ++i)
      for (int64_t j = 0; j < spec->n; ++j)
        spec->w[static_cast<size_t>(i * spec->n + j)] = alpha * (trans_b ? src[j * spec->k + i] : src[i * spec->n + j]);
  }
  spec->nodes = {&node};
  if (const ir::Node* add = gemm ? nullptr : bias_add(view, node, spec->n)) {
    spec->bias = *gemm_bias(view, add->input(add->input(0) == node.output(0) ? 1 : 0), spec->n, 1.0f);
    spec->bias_2d = fixed_tensor(view, add->input(add->input(0) == node.output(0) ? 1 : 0))->rank() > 1;
    spec->nodes.push_back(add);
  }
  spec->post = fusable_activation(view, *spec->nodes.back());
  if (spec->post) append_nodes(spec->nodes, *spec->post);
  spec->what = describe_nodes(spec->nodes);
  DnnlClaim dc;  // A and the product stay NCHW: [rows, K] is not an image
  dc.nhwc_ok.assign(group_inputs(spec->nodes).size(), false);
  Claim& c = dc.claim;
  c.nodes = spec->nodes;
  c.factory = [spec, threads](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    set_threads(threads);
    std::unique_ptr<Kernel> k;
    TRY(guarded(spec->what, [&]() -> Status {
      k = std::make_unique<DnnlGemmKernel>(spec);
      return Status::ok();
    }));
    return k;
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
