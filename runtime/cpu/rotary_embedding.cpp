// RotaryEmbedding (opset 23): rotates the first rotary_embedding_dim channels of each head by the
// angles of cos_cache/sin_cache (rows picked by position_ids, or given per batch and position), as
// two halves or as interleaved pairs; the other channels pass through.
#include <fmt/ranges.h>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/linalg.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

class RotaryEmbeddingKernel final : public Kernel {
 public:
  explicit RotaryEmbeddingKernel(const KernelInit& init) {
    interleaved_ = init.node.attr_int("interleaved", 0) != 0;
    num_heads_ = init.node.attr_int("num_heads", 0);
    rotary_dim_ = init.node.attr_int("rotary_embedding_dim", 0);
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* cos = ctx.input_tensor(1);
    const Tensor* sin = ctx.input_tensor(2);
    const Tensor* pos = ctx.input_tensor(3);
    if (!x || !cos || !sin) return invalid("{}: inputs 'X', 'cos_cache' and 'sin_cache' are required", node.describe());
    const auto& xd = x->dims();
    int64_t B, H, S, D;
    if (x->rank() == 4) {  // [batch, heads, seq, head_size]
      B = xd[0], H = xd[1], S = xd[2], D = xd[3];
    } else if (x->rank() == 3) {  // [batch, seq, heads * head_size]
      if (num_heads_ <= 0 || xd[2] % num_heads_ != 0)
        return invalid("{}: a 3-D input of shape [{}] needs attribute num_heads dividing its last dim",
                       node.describe(), fmt::join(xd, ","));
      B = xd[0], S = xd[1], H = num_heads_, D = xd[2] / num_heads_;
    } else {
      return invalid("{}: input 'X' must be 3-D or 4-D, got shape [{}]", node.describe(), fmt::join(xd, ","));
    }
    const int64_t R = rotary_dim_ > 0 ? rotary_dim_ : D;
    if (R > D || R % 2 != 0)
      return invalid("{}: rotary_embedding_dim {} must be even and at most the head size {}", node.describe(), R, D);
    const int64_t half = R / 2;
    // Row of the caches for (b, s): position_ids[b, s] into [max_pos, half], or (b, s) of [B, S, half].
    std::vector<int64_t> rows(static_cast<size_t>(B * S));
    if (pos) {
      if (pos->rank() != 2 || pos->dims()[0] != B || pos->dims()[1] != S)
        return invalid("{}: position_ids of shape [{}] must be [{}, {}]", node.describe(), fmt::join(pos->dims(), ","),
                       B, S);
      if (cos->rank() != 2 || cos->dims()[1] != half || sin->dims() != cos->dims())
        return invalid("{}: cos_cache and sin_cache must be [max_position, {}] with position_ids", node.describe(),
                       half);
      for (int64_t i = 0; i < B * S; ++i) {
        const int64_t p = pos->get_int64(i);
        if (p < 0 || p >= cos->dims()[0])
          return invalid("{}: position_ids value {} is outside the caches' {} rows", node.describe(), p,
                         cos->dims()[0]);
        rows[static_cast<size_t>(i)] = p;
      }
    } else {
      if (cos->rank() != 3 || cos->dims()[0] != B || cos->dims()[1] != S || cos->dims()[2] != half ||
          sin->dims() != cos->dims())
        return invalid("{}: without position_ids, cos_cache and sin_cache must be [{}, {}, {}]", node.describe(), B, S,
                       half);
      for (int64_t i = 0; i < B * S; ++i) rows[static_cast<size_t>(i)] = i;
    }
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), xd));
    const bool four_d = x->rank() == 4;
    bool ok = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xp = x->data<T>();
      T* yp = y->mutable_data<T>();
      for (int64_t b = 0; b < B; ++b)
        for (int64_t s = 0; s < S; ++s) {
          const int64_t row = rows[static_cast<size_t>(b * S + s)] * half;
          for (int64_t h = 0; h < H; ++h) {
            const int64_t base = four_d ? ((b * H + h) * S + s) * D : (b * S + s) * H * D + h * D;
            for (int64_t k = 0; k < half; ++k) {
              // The pair (i1, i2) rotated by the angle of channel k.
              const int64_t i1 = interleaved_ ? 2 * k : k, i2 = interleaved_ ? 2 * k + 1 : k + half;
              const double c = cos->get_double(row + k), sn = sin->get_double(row + k);
              const double a = to_double(xp[base + i1]), bb = to_double(xp[base + i2]);
              yp[base + i1] = from_double<T>(c * a - sn * bb);
              yp[base + i2] = from_double<T>(sn * a + c * bb);
            }
            for (int64_t k = R; k < D; ++k) yp[base + k] = xp[base + k];
          }
        }
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  bool interleaved_ = false;
  int64_t num_heads_ = 0, rotary_dim_ = 0;
};

}  // namespace

KernelFactory rotary_embedding_kernel() { return factory_of<RotaryEmbeddingKernel>(); }

}  // namespace ortool::rt::cpu
