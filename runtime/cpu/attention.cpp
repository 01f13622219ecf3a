// Attention (opset 23): scaled dot-product attention over 4-D [batch, heads, seq, head_size] or 3-D
// [batch, seq, heads * head_size] Q, K, V; grouped-query heads, a boolean or additive mask, causal
// masking offset by the past length, a key/value cache (past in, present out), softcap, and the
// intermediate scores as a fourth output. Reference kernel: double accumulation, one head at a time.
#include <cmath>
#include <functional>
#include <limits>

#include <fmt/ranges.h>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/linalg.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// A Q, K or V operand as a [batch, heads, seq, size] array of doubles, whatever its layout.
struct Heads {
  int64_t batch = 0, heads = 0, seq = 0, size = 0;
  std::vector<double> v;
  double at(int64_t b, int64_t h, int64_t s, int64_t d) const {
    return v[static_cast<size_t>(((b * heads + h) * seq + s) * size + d)];
  }
};

Result<Heads> read_heads(const Tensor& t, int64_t num_heads, std::string_view what) {
  Heads r;
  const auto& d = t.dims();
  if (t.rank() == 4) {
    r = Heads{d[0], d[1], d[2], d[3], {}};
  } else if (t.rank() == 3) {
    if (num_heads <= 0 || d[2] % num_heads != 0)
      return invalid("3-D input '{}' of shape [{}] needs a head count (attributes q_num_heads, kv_num_heads) that "
                     "divides its last dim", what, fmt::join(d, ","));
    r = Heads{d[0], num_heads, d[1], d[2] / num_heads, {}};
  } else {
    return invalid("input '{}' must be 3-D or 4-D, got shape [{}]", what, fmt::join(d, ","));
  }
  r.v.resize(static_cast<size_t>(t.numel()));
  bool ok = dispatch_float(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    for (int64_t b = 0; b < r.batch; ++b)
      for (int64_t h = 0; h < r.heads; ++h)
        for (int64_t s = 0; s < r.seq; ++s)
          for (int64_t k = 0; k < r.size; ++k) {
            // 3-D: [b, s, h * size + k]; 4-D: [b, h, s, k].
            const int64_t src = t.rank() == 4 ? ((b * r.heads + h) * r.seq + s) * r.size + k
                                              : (b * r.seq + s) * r.heads * r.size + h * r.size + k;
            r.v[static_cast<size_t>(((b * r.heads + h) * r.seq + s) * r.size + k)] = to_double(p[src]);
          }
  });
  if (!ok) return invalid("input '{}' has element type {}, not a float type", what, dtype_name(t.dtype()));
  return r;
}

// past (4-D, may be absent) followed by cur along the sequence.
Result<Heads> concat_seq(const Tensor* past, const Heads& cur, std::string_view what) {
  if (!past) return cur;
  ASSIGN_OR_RETURN(Heads p, read_heads(*past, 0, what));
  if (past->rank() != 4 || p.batch != cur.batch || p.heads != cur.heads || p.size != cur.size)
    return invalid("input '{}' of shape [{}] does not fit [{}, {}, past, {}]", what, fmt::join(past->dims(), ","),
                   cur.batch, cur.heads, cur.size);
  Heads r{cur.batch, cur.heads, p.seq + cur.seq, cur.size, {}};
  r.v.resize(static_cast<size_t>(r.batch * r.heads * r.seq * r.size));
  for (int64_t b = 0; b < r.batch; ++b)
    for (int64_t h = 0; h < r.heads; ++h)
      for (int64_t s = 0; s < r.seq; ++s)
        for (int64_t k = 0; k < r.size; ++k)
          r.v[static_cast<size_t>(((b * r.heads + h) * r.seq + s) * r.size + k)] =
              s < p.seq ? p.at(b, h, s, k) : cur.at(b, h, s - p.seq, k);
  return r;
}

// Writes a [batch, heads, seq, size] array into a tensor of type `dt`, 4-D or (three_d) 3-D.
Status write_heads(KernelContext& ctx, size_t out, DType dt, const Heads& h, bool three_d) {
  std::vector<int64_t> dims = three_d ? std::vector<int64_t>{h.batch, h.seq, h.heads * h.size}
                                      : std::vector<int64_t>{h.batch, h.heads, h.seq, h.size};
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(out, dt, dims));
  dispatch_float(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = y->mutable_data<T>();
    for (int64_t b = 0; b < h.batch; ++b)
      for (int64_t hh = 0; hh < h.heads; ++hh)
        for (int64_t s = 0; s < h.seq; ++s)
          for (int64_t k = 0; k < h.size; ++k) {
            const int64_t dst = three_d ? (b * h.seq + s) * h.heads * h.size + hh * h.size + k
                                        : ((b * h.heads + hh) * h.seq + s) * h.size + k;
            p[dst] = from_double<T>(h.at(b, hh, s, k));
          }
  });
  return Status::ok();
}

class AttentionKernel final : public Kernel {
 public:
  explicit AttentionKernel(const KernelInit& init) {
    const ir::Node& n = init.node;
    causal_ = n.attr_int("is_causal", 0) != 0;
    q_heads_ = n.attr_int("q_num_heads", 0);
    kv_heads_ = n.attr_int("kv_num_heads", 0);
    mode_ = n.attr_int("qk_matmul_output_mode", 0);
    has_scale_ = n.has_attr("scale");
    scale_ = n.attr_float("scale", 1.0f);
    softcap_ = n.attr_float("softcap", 0.0f);
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    auto fail = [&](const Status& s) { return s.with_context(node.describe()); };
    const Tensor* q = ctx.input_tensor(0);
    const Tensor* k = ctx.input_tensor(1);
    const Tensor* v = ctx.input_tensor(2);
    if (!q || !k || !v) return invalid("{}: inputs 'Q', 'K' and 'V' are required", node.describe());
    if (q->rank() != k->rank() || q->rank() != v->rank())
      return invalid("{}: Q, K and V must have the same rank", node.describe());
    const bool three_d = q->rank() == 3;
    auto qh = read_heads(*q, q_heads_, "Q");
    if (!qh) return fail(qh.status());
    auto kh = read_heads(*k, kv_heads_, "K");
    if (!kh) return fail(kh.status());
    auto vh = read_heads(*v, kv_heads_, "V");
    if (!vh) return fail(vh.status());
    if (kh->batch != qh->batch || vh->batch != qh->batch || kh->size != qh->size || kh->heads != vh->heads ||
        kh->seq != vh->seq)
      return invalid("{}: shapes of Q [{}], K [{}] and V [{}] do not agree", node.describe(), fmt::join(q->dims(), ","),
                     fmt::join(k->dims(), ","), fmt::join(v->dims(), ","));
    if (kh->heads <= 0 || qh->heads % kh->heads != 0)
      return invalid("{}: {} query heads are not a multiple of {} key/value heads", node.describe(), qh->heads,
                     kh->heads);
    const Tensor* past_k = ctx.input_tensor(4);
    const Tensor* past_v = ctx.input_tensor(5);
    if ((past_k == nullptr) != (past_v == nullptr))
      return invalid("{}: past_key and past_value must be given together", node.describe());
    auto kp = concat_seq(past_k, *kh, "past_key");
    if (!kp) return fail(kp.status());
    auto vp = concat_seq(past_v, *vh, "past_value");
    if (!vp) return fail(vp.status());

    const int64_t B = qh->batch, Hq = qh->heads, Sq = qh->seq, D = qh->size, T = kp->seq, Dv = vp->size;
    const int64_t group = Hq / kh->heads;
    const double scale = has_scale_ ? scale_ : 1.0 / std::sqrt(static_cast<double>(D));
    auto bias = mask_bias(ctx, B, Hq, Sq, T);
    if (!bias) return fail(bias.status());

    Heads y{B, Hq, Sq, Dv, std::vector<double>(static_cast<size_t>(B * Hq * Sq * Dv))};
    Heads qk{B, Hq, Sq, T, std::vector<double>(static_cast<size_t>(B * Hq * Sq * T))};
    std::vector<double> row(static_cast<size_t>(T));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < Hq; ++h)
        for (int64_t i = 0; i < Sq; ++i) {
          double* out_qk = &qk.v[static_cast<size_t>(((b * Hq + h) * Sq + i) * T)];
          for (int64_t j = 0; j < T; ++j) {
            double s = 0;
            for (int64_t d = 0; d < D; ++d) s += qh->at(b, h, i, d) * kp->at(b, h / group, j, d);
            s *= scale;
            if (mode_ == 0) out_qk[j] = s;
            s += (*bias)(b, h, i, j);
            if (mode_ == 1) out_qk[j] = s;
            if (softcap_ > 0) s = softcap_ * std::tanh(s / softcap_);
            if (mode_ == 2) out_qk[j] = s;
            row[static_cast<size_t>(j)] = s;
          }
          softmax(row);
          if (mode_ == 3) std::copy(row.begin(), row.end(), out_qk);
          for (int64_t d = 0; d < Dv; ++d) {
            double acc = 0;
            for (int64_t j = 0; j < T; ++j) acc += row[static_cast<size_t>(j)] * vp->at(b, h / group, j, d);
            y.v[static_cast<size_t>(((b * Hq + h) * Sq + i) * Dv + d)] = acc;
          }
        }
    const DType dt = q->dtype();
    TRY(write_heads(ctx, 0, dt, y, three_d));
    if (ctx.output_wanted(1) && ctx.num_outputs() > 1) TRY(write_heads(ctx, 1, dt, *kp, false));
    if (ctx.output_wanted(2) && ctx.num_outputs() > 2) TRY(write_heads(ctx, 2, dt, *vp, false));
    if (ctx.output_wanted(3) && ctx.num_outputs() > 3) TRY(write_heads(ctx, 3, dt, qk, false));
    return Status::ok();
  }

 private:
  // Softmax in place; a row masked everywhere (all -inf) gives zeros.
  static void softmax(std::vector<double>& r) {
    double mx = kNegInf;
    for (double x : r) mx = std::max(mx, x);
    if (mx == kNegInf) {
      std::fill(r.begin(), r.end(), 0.0);
      return;
    }
    double sum = 0;
    for (double& x : r) sum += (x = std::exp(x - mx));
    for (double& x : r) x /= sum;
  }

  // The additive bias of score (b, h, i, j): the mask (bool: 0 or -inf; float: added; broadcast from
  // its trailing dims, a last dim shorter than the total length counting as masked beyond it), plus
  // -inf above the causal diagonal j <= i + past.
  using Bias = std::function<double(int64_t, int64_t, int64_t, int64_t)>;
  Result<Bias> mask_bias(KernelContext& ctx, int64_t B, int64_t H, int64_t S, int64_t T) const {
    const Tensor* m = ctx.input_tensor(3);
    const int64_t past = T - (ctx.input_tensor(1)->rank() == 4 ? ctx.input_tensor(1)->dims()[2]
                                                              : ctx.input_tensor(1)->dims()[1]);
    const bool causal = causal_;
    if (!m) {
      return Bias([causal, past](int64_t, int64_t, int64_t i, int64_t j) {
        return causal && j > i + past ? kNegInf : 0.0;
      });
    }
    if (m->rank() < 2 || m->rank() > 4)
      return invalid("attn_mask must have rank 2 to 4, got shape [{}]", fmt::join(m->dims(), ","));
    std::vector<int64_t> md(4 - m->rank(), 1);
    md.insert(md.end(), m->dims().begin(), m->dims().end());
    const int64_t want[4] = {B, H, S, T};
    for (int i = 0; i < 3; ++i)
      if (md[static_cast<size_t>(i)] != 1 && md[static_cast<size_t>(i)] != want[i])
        return invalid("attn_mask of shape [{}] does not broadcast to [{}, {}, {}, {}]", fmt::join(m->dims(), ","), B,
                       H, S, T);
    if (md[3] > T)
      return invalid("attn_mask of shape [{}] is longer than the {} keys", fmt::join(m->dims(), ","), T);
    const bool is_bool = m->dtype() == DType::Bool;
    if (!is_bool && !dtype_is_float(m->dtype()))
      return invalid("attn_mask must be bool or float, got {}", dtype_name(m->dtype()));
    std::vector<double> vals(static_cast<size_t>(m->numel()));
    for (int64_t i = 0; i < m->numel(); ++i)
      vals[static_cast<size_t>(i)] = is_bool ? (m->data<uint8_t>()[i] ? 0.0 : kNegInf) : m->get_double(i);
    return Bias([vals = std::move(vals), md, causal, past](int64_t b, int64_t h, int64_t i, int64_t j) {
      if (causal && j > i + past) return kNegInf;
      if (j >= md[3]) return kNegInf;
      const int64_t idx = (((md[0] == 1 ? 0 : b) * md[1] + (md[1] == 1 ? 0 : h)) * md[2] + (md[2] == 1 ? 0 : i)) *
                              md[3] + j;
      return vals[static_cast<size_t>(idx)];
    });
  }

  bool causal_ = false;
  int64_t q_heads_ = 0, kv_heads_ = 0, mode_ = 0;
  bool has_scale_ = false;
  double scale_ = 1.0, softcap_ = 0.0;
};

}  // namespace

KernelFactory attention_kernel() { return factory_of<AttentionKernel>(); }

}  // namespace ortool::rt::cpu
