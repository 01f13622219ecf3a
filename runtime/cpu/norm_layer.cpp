// LayerNormalization (opset 17): normalize over the trailing dims from `axis`, optional Mean and InvStdDev.
#include <cmath>

#include "runtime/cpu/broadcast.h"
#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/reduce.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

DType stash_dtype(int64_t stash_type) {
  switch (stash_type) {
    case 10: return DType::Float16;
    case 11: return DType::Double;
    case 16: return DType::BFloat16;
    default: return DType::Float;
  }
}

class LayerNormKernel final : public Kernel {
 public:
  explicit LayerNormKernel(const KernelInit& init) {
    axis_ = init.node.attr_int("axis", -1);
    epsilon_ = init.node.attr_float("epsilon", 1e-5f);
    stash_ = stash_dtype(init.node.attr_int("stash_type", 1));
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* scale = ctx.input_tensor(1);
    const Tensor* bias = ctx.input_tensor(2);
    if (!x || !scale) return invalid("{}: inputs 'X' and 'Scale' are required", node.describe());
    const int64_t rank = static_cast<int64_t>(x->rank());
    int64_t axis = axis_;
    if (!normalize_axis(axis, rank))
      return invalid("{}: axis {} is out of range for input 'X' of rank {}", node.describe(), axis_, rank);
    const auto& dims = x->dims();
    std::vector<int64_t> norm_dims(dims.begin() + axis, dims.end());
    // product(): 0 past a zero dim and no int64 overflow on an empty tensor with huge other dims.
    const int64_t outer = tensor_util::product(dims, 0, static_cast<size_t>(axis));
    const int64_t inner = tensor_util::product(norm_dims);
    std::vector<int64_t> stat_dims(dims.begin(), dims.begin() + axis);
    stat_dims.resize(dims.size(), 1);
    Tensor* mean_out = nullptr;
    Tensor* inv_out = nullptr;
    if (ctx.num_outputs() > 1 && ctx.output_wanted(1)) {
      ASSIGN_OR_RETURN(mean_out, ctx.allocate_output(1, stash_, stat_dims));
    }
    if (ctx.num_outputs() > 2 && ctx.output_wanted(2)) {
      ASSIGN_OR_RETURN(inv_out, ctx.allocate_output(2, stash_, stat_dims));
    }
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), dims));
    // An empty X ([0, 2^40, 2^40]) needs no index maps, which are as long as the normalized shape.
    if (x->numel() == 0) return Status::ok();  // nothing to normalize (the statistics stay zero)
    std::vector<int64_t> smap, bmap;
    if (!broadcast_index_map(scale->dims(), norm_dims, smap))
      return invalid("{}: input 'Scale' does not broadcast to the normalized shape", node.describe());
    if (bias && !broadcast_index_map(bias->dims(), norm_dims, bmap))
      return invalid("{}: input 'B' does not broadcast to the normalized shape", node.describe());
    std::vector<double> sv(smap.size()), bv(smap.size(), 0.0);
    for (size_t j = 0; j < smap.size(); ++j) {
      sv[j] = scale->get_double(smap[j]);
      if (bias) bv[j] = bias->get_double(bmap[j]);
    }
    std::vector<double> means(static_cast<size_t>(outer)), invs(static_cast<size_t>(outer));
    const double eps = epsilon_;
    bool ok = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xd = x->data<T>();
      T* yd = y->mutable_data<T>();
      for (int64_t o = 0; o < outer; ++o) {
        const T* p = xd + o * inner;
        T* q = yd + o * inner;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < inner; ++i) mean += to_double(p[i]);
        mean = inner ? mean / static_cast<double>(inner) : 0.0;
        for (int64_t i = 0; i < inner; ++i) var += (to_double(p[i]) - mean) * (to_double(p[i]) - mean);
        var = inner ? var / static_cast<double>(inner) : 0.0;
        const double inv = 1.0 / std::sqrt(var + eps);
        for (int64_t i = 0; i < inner; ++i)
          q[i] = from_double<T>((to_double(p[i]) - mean) * inv * sv[static_cast<size_t>(i)] + bv[static_cast<size_t>(i)]);
        means[static_cast<size_t>(o)] = mean;
        invs[static_cast<size_t>(o)] = inv;
      }
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    for (auto pair : {std::pair{mean_out, &means}, std::pair{inv_out, &invs}}) {
      // Plain variables, not a structured binding: clang 14 (the fuzz build) cannot capture those.
      auto* out = pair.first;
      auto* vals = pair.second;
      if (!out) continue;
      dispatch_float(stash_, [&](auto tag) {
        using U = typename decltype(tag)::type;
        U* od = out->template mutable_data<U>();
        for (size_t o = 0; o < vals->size(); ++o) od[o] = from_double<U>((*vals)[o]);
      });
    }
    return Status::ok();
  }

 private:
  int64_t axis_ = -1;
  float epsilon_ = 1e-5f;
  DType stash_ = DType::Float;
};

}  // namespace

KernelFactory layer_norm_kernel() { return factory_of<LayerNormKernel>(); }

}  // namespace ortool::rt::cpu
