// The dnnl provider's MatMul of two computed float tensors (attention's Q*K^T and P*V) on oneDNN matmul.
//
// Both operands rank 2 or more; the shorter one is padded with leading 1s and batch dims broadcast
// where one side is 1, as oneDNN's matmul does itself. Vectors, other element types and shapes
// that do not broadcast run the cpu provider's kernel. One primitive per pair of shapes.
#include <algorithm>
#include <memory>

#include "runtime/dnnl/dnnl_common.h"
#include "runtime/partition.h"

namespace ortool::rt::dnnl_ep {

namespace {

using md = dnnl::memory::desc;
constexpr auto f32 = dnnl::memory::data_type::f32;

// A row-major descriptor of `d`.
md plain_desc(const std::vector<int64_t>& d) {
  dnnl::memory::dims strides(d.size());
  int64_t s = 1;
  for (size_t i = d.size(); i-- > 0;) {
    strides[i] = s;
    s *= std::max<int64_t>(d[i], 1);
  }
  return md(dnnl::memory::dims(d.begin(), d.end()), f32, strides);
}

struct Prepared {
  std::vector<int64_t> a_dims, b_dims;
  int team = 1;           // team_for_work
  bool fallback = false;  // shapes oneDNN does not take (or that do not broadcast): cpu kernel
  bool empty = false;
  std::vector<int64_t> y_dims;
  md a, b, y;
  dnnl::matmul prim;
};

class DnnlMatMulKernel final : public Kernel {
 public:
  explicit DnnlMatMulKernel(const KernelInit& init)
      : what_(init.node.describe()), stream_(cpu_engine()), fallback_(init) {}

  Status run(KernelContext& ctx) override {
    const Tensor* a = ctx.input_tensor(0);
    const Tensor* b = ctx.input_tensor(1);
    if (!a || !b || a->dtype() != DType::Float || b->dtype() != DType::Float || a->rank() < 2 || b->rank() < 2)
      return fallback_.run(ctx, a ? a->dtype() : DType::Float);
    use_threads(ctx);
    ASSIGN_OR_RETURN(Prepared * p, prepare(a->dims(), b->dims()));
    set_threads(p->team);
    if (p->fallback) return fallback_.run(ctx, DType::Float);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, p->y_dims,
                                                     p->empty ? KernelContext::Fill::Zero
                                                              : KernelContext::Fill::Uninitialized));
    if (p->empty || y->numel() == 0) return Status::ok();  // K == 0 leaves the zero fill: sums of nothing
    return guarded(what_, [&]() -> Status {
      const auto& eng = cpu_engine();
      p->prim.execute(stream_, {{DNNL_ARG_SRC, dnnl::memory(p->a, eng, const_cast<float*>(a->data<float>()))},
                                {DNNL_ARG_WEIGHTS, dnnl::memory(p->b, eng, const_cast<float*>(b->data<float>()))},
                                {DNNL_ARG_DST, dnnl::memory(p->y, eng, y->mutable_data<float>())}});
      stream_.wait();
      return Status::ok();
    });
  }

 private:
  Result<Prepared*> prepare(const std::vector<int64_t>& ad, const std::vector<int64_t>& bd) {
    for (size_t i = 0; i < cache_.size(); ++i) {
      if (cache_[i]->a_dims != ad || cache_[i]->b_dims != bd) continue;
      auto it = cache_.begin() + static_cast<std::ptrdiff_t>(i);
      std::rotate(it, it + 1, cache_.end());
      return cache_.back().get();
    }
    auto p = std::make_unique<Prepared>();
    p->a_dims = ad;
    p->b_dims = bd;
    const size_t r = std::max(ad.size(), bd.size());
    std::vector<int64_t> a(r - ad.size(), 1), b(r - bd.size(), 1);
    a.insert(a.end(), ad.begin(), ad.end());
    b.insert(b.end(), bd.begin(), bd.end());
    p->fallback = r > 12 || a[r - 1] != b[r - 2];  // oneDNN's limit; a K mismatch is the cpu kernel's to word
    p->y_dims = a;
    p->y_dims[r - 1] = b[r - 1];
    for (size_t i = 0; i + 2 < r && !p->fallback; ++i) {
      if (a[i] != b[i] && a[i] != 1 && b[i] != 1) p->fallback = true;
      p->y_dims[i] = a[i] == 1 ? b[i] : a[i];
    }
    // The output has the broadcast rank; the cpu kernel keeps the same rule.
    for (int64_t d : a) p->empty = p->empty || d == 0;
    for (int64_t d : b) p->empty = p->empty || d == 0;
    if (!p->fallback && !p->empty) {
      p->team = team_for_work(static_cast<double>(numel_of(p->y_dims)) * static_cast<double>(a[r - 1]));
      Status st = guarded(what_, [&]() -> Status {
        p->a = plain_desc(a);
        p->b = plain_desc(b);
        p->y = plain_desc(p->y_dims);
        p->prim = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(p->a, p->b, p->y), cpu_engine()));
        return Status::ok();
      });
      p->fallback = !st.is_ok();  // a broadcast this oneDNN build does not implement: cpu
    }
    if (cache_.size() >= 4) cache_.erase(cache_.begin());
    cache_.push_back(std::move(p));
    return cache_.back().get();
  }

  std::string what_;
  dnnl::stream stream_;
  std::vector<std::unique_ptr<Prepared>> cache_;  // most recent last
  CpuFallback fallback_;
};

bool float_or_unknown(const ir::Value* v) {
  return v && (!v->type.is_tensor() || v->type.elem == DType::Float || v->type.elem == DType::Undefined);
}

bool declared_vector(const ir::Value* v) {
  return v->type.is_tensor() && v->type.shape && v->type.shape->size() < 2;
}

}  // namespace

std::optional<DnnlClaim> claim_matmul(const GraphView&, const ir::Node& node, int threads) {
  if (node.num_inputs() != 2 || node.num_outputs() != 1 || !node.output(0)) return std::nullopt;
  const ir::Value* a = node.input(0);
  const ir::Value* b = node.input(1);
  if (!float_or_unknown(a) || !float_or_unknown(b) || declared_vector(a) || declared_vector(b)) return std::nullopt;
  DnnlClaim dc;
  const ir::Node* group[] = {&node};
  dc.nhwc_ok.assign(group_inputs(group).size(), false);
  dc.claim.nodes = {&node};
  const std::string what = node.describe();
  dc.claim.factory = [threads, what](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    set_threads(threads);
    std::unique_ptr<Kernel> k;
    TRY(guarded(what, [&]() -> Status {
      k = std::make_unique<DnnlMatMulKernel>(init);
      return Status::ok();
    }));
    return k;
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
