// The float path of RNN, GRU and LSTM: the input projection of every step as one matrix product, then
// per step the recurrent product of all batch rows and the gates over whole vectors.
//
// Same cells, attributes and gate orders as the double-precision reference (rnn_common.cpp and the
// cell files): W, R, B gates i, o, f, c (LSTM) or z, r, h (GRU); peepholes i, o, f; clip before each
// activation; sequence_lens per batch row (reverse runs each row from its own last step). Biases
// that only add are folded into the projection. Directions of a bidirectional node run on two
// threads when the session has them.
// Eigen's AVX-512 paths trip GCC 12's -Wmaybe-uninitialized inside the compiler's own intrinsics headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Dense>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/cpu/rnn.h"
#include "runtime/cpu/vec_math.h"
#include "runtime/thread_pool.h"

namespace ortool::rt::cpu {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapC = Eigen::Map<const RowMat>;
using Map = Eigen::Map<RowMat>;

// x[i] = act(x[i]) for i in [0, n).
void activate(const RnnActivation& a, float* x, int64_t n) {
  using K = RnnActivation::Kind;
  const float alpha = static_cast<float>(a.alpha), beta = static_cast<float>(a.beta);
  switch (a.kind) {
    case K::Sigmoid: vec::sigmoid_f32(x, x, n); return;
    case K::Tanh: vec::tanh_f32(x, x, n); return;
    case K::Relu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : 0;
      return;
    case K::ScaledTanh:
      for (int64_t i = 0; i < n; ++i) x[i] *= beta;
      vec::tanh_f32(x, x, n);
      for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
      return;
    default:
      // The rest are rare in exported models: the double formula, one element at a time.
      for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(a(x[i]));
  }
}

void clip(const RnnConfig& cfg, float* x, int64_t n) {
  if (cfg.clip <= 0) return;
  const float c = static_cast<float>(cfg.clip);
  for (int64_t i = 0; i < n; ++i) x[i] = std::min(std::max(x[i], -c), c);
}

// Everything one direction needs, in float.
struct Direction {
  int64_t d = 0;
  bool reverse = false;
  std::vector<float> xw;       // [rows of X, G*H]: X * W^T + the biases that only add
  const float* R = nullptr;    // [G*H, H]
  std::vector<float> rb_h;     // GRU with linear_before_reset: Rb of the h gate, added before r multiplies
  const float* P = nullptr;    // LSTM peepholes [3*H] or null
  const RnnActivation* act = nullptr;
};

class Runner {
 public:
  Runner(const RnnConfig& cfg, const RnnInputs& in, const RnnOutputs& out) : cfg_(cfg), in_(in), out_(out) {}

  // Input projection and folded biases of direction d.
  Status project(Direction& dir, const RnnGemm& gemm, ThreadPool* pool) const {
    const int64_t GH = in_.G * in_.H, rows = in_.seq * in_.batch, H = in_.H;
    dir.xw.resize(static_cast<size_t>(rows * GH));
    const float* w = in_.W->data<float>() + dir.d * GH * in_.I;
    if (gemm) {
      TRY(gemm(rows, GH, in_.I, in_.X->data<float>(), w, dir.xw.data()));
    } else {
      const MapC x(in_.X->data<float>(), rows, in_.I);
      const MapC wm(w, GH, in_.I);
      auto block = [&](size_t r0, size_t r1) {
        const int64_t n = static_cast<int64_t>(r1 - r0);
        Map(dir.xw.data() + static_cast<int64_t>(r0) * GH, n, GH).noalias() =
            x.middleRows(static_cast<int64_t>(r0), n) * wm.transpose();
      };
      if (pool && pool->size() > 1 && rows * GH * in_.I > (int64_t{1} << 18))
        pool->parallel_for(static_cast<size_t>(rows), block, 16);
      else
        block(0, static_cast<size_t>(rows));
    }
    std::vector<float> bias(static_cast<size_t>(GH), 0.0f);
    if (in_.B) {
      const float* b = in_.B->data<float>() + dir.d * 2 * GH;
      const bool keep_rb_h = cfg_.cell == RnnCellKind::Gru && cfg_.linear_before_reset;
      for (int64_t j = 0; j < GH; ++j)
        bias[static_cast<size_t>(j)] = b[j] + (keep_rb_h && j >= 2 * H ? 0.0f : b[GH + j]);
      if (keep_rb_h) dir.rb_h.assign(b + GH + 2 * H, b + 2 * GH);
    }
    if (cfg_.cell == RnnCellKind::Gru && cfg_.linear_before_reset && dir.rb_h.empty())
      dir.rb_h.assign(static_cast<size_t>(H), 0.0f);
    if (in_.B)
      for (int64_t r = 0; r < rows; ++r) {
        float* row = dir.xw.data() + r * GH;
        for (int64_t j = 0; j < GH; ++j) row[j] += bias[static_cast<size_t>(j)];
      }
    return Status::ok();
  }

  // The recurrence of one direction over every batch row.
  void recur(const Direction& dir) const {
    const int64_t batch = in_.batch, H = in_.H, G = in_.G, GH = G * H, seq = in_.seq, D = in_.D;
    const int64_t d = dir.d;
    auto state_at = [&](int64_t b) { return cfg_.batch_first ? (b * D + d) * H : (d * batch + b) * H; };
    auto x_row = [&](int64_t t, int64_t b) { return cfg_.batch_first ? b * seq + t : t * batch + b; };
    auto y_at = [&](int64_t t, int64_t b) {
      return cfg_.batch_first ? ((b * seq + t) * D + d) * H : ((t * D + d) * batch + b) * H;
    };
    // States of all rows, [batch, H].
    std::vector<float> h(static_cast<size_t>(batch * H), 0.0f), c(h.size(), 0.0f);
    for (int64_t b = 0; b < batch; ++b) {
      if (in_.h0) std::copy_n(in_.h0->data<float>() + state_at(b), H, h.data() + b * H);
      if (in_.c0) std::copy_n(in_.c0->data<float>() + state_at(b), H, c.data() + b * H);
    }
    int64_t longest = 0;
    for (int64_t l : in_.lens) longest = std::max(longest, l);
    std::vector<float> pre(static_cast<size_t>(batch * GH)), rh, tmp(static_cast<size_t>(4 * H));
    if (cfg_.cell == RnnCellKind::Gru && !cfg_.linear_before_reset) rh.resize(static_cast<size_t>(batch * H));
    const MapC r(dir.R, GH, H);
    // The recurrent product covers the rows still running (a prefix when lengths are sorted, all of
    // them otherwise: a finished row's product is computed and ignored).
    for (int64_t s = 0; s < longest; ++s) {
      int64_t live = 0;
      for (int64_t b = 0; b < batch; ++b)
        if (s < in_.lens[static_cast<size_t>(b)]) live = b + 1;
      const MapC hm(h.data(), live, H);
      Map pm(pre.data(), live, GH);
      if (cfg_.cell == RnnCellKind::Gru && !cfg_.linear_before_reset) {
        pm.leftCols(2 * H).noalias() = hm * r.topRows(2 * H).transpose();  // z, r; h's needs r first
      } else {
        pm.noalias() = hm * r.transpose();
      }
      for (int64_t b = 0; b < live; ++b) {
        const int64_t len = in_.lens[static_cast<size_t>(b)];
        if (s >= len) continue;
        const int64_t t = dir.reverse ? len - 1 - s : s;
        const float* xw = dir.xw.data() + x_row(t, b) * GH;
        float* p = pre.data() + b * GH;
        float* hb = h.data() + b * H;
        float* cb = c.data() + b * H;
        if (cfg_.cell == RnnCellKind::Lstm) lstm_step(dir, xw, p, hb, cb, tmp.data());
        else if (cfg_.cell == RnnCellKind::Gru) gru_gates(dir, xw, p, hb, rh.empty() ? nullptr : rh.data() + b * H);
        else simple_step(dir, xw, p, hb);
      }
      if (cfg_.cell == RnnCellKind::Gru && !cfg_.linear_before_reset) {
        // h gate: (r * h) R_h^T, then the new state.
        Map(pre.data(), live, GH).middleCols(2 * H, H).noalias() =
            MapC(rh.data(), live, H) * r.bottomRows(H).transpose();
      }
      for (int64_t b = 0; b < live; ++b) {
        const int64_t len = in_.lens[static_cast<size_t>(b)];
        if (s >= len) continue;
        const int64_t t = dir.reverse ? len - 1 - s : s;
        if (cfg_.cell == RnnCellKind::Gru)
          gru_update(dir, dir.xw.data() + x_row(t, b) * GH, pre.data() + b * GH, h.data() + b * H);
        if (out_.y) std::copy_n(h.data() + b * H, H, out_.y->mutable_data<float>() + y_at(t, b));
      }
    }
    for (int64_t b = 0; b < batch; ++b) {
      if (in_.lens[static_cast<size_t>(b)] == 0) continue;  // zero-length: final states stay zero
      if (out_.yh) std::copy_n(h.data() + b * H, H, out_.yh->mutable_data<float>() + state_at(b));
      if (out_.yc) std::copy_n(c.data() + b * H, H, out_.yc->mutable_data<float>() + state_at(b));
    }
  }

 private:
  void simple_step(const Direction& dir, const float* xw, float* p, float* h) const {
    const int64_t H = in_.H;
    for (int64_t j = 0; j < H; ++j) p[j] += xw[j];
    clip(cfg_, p, H);
    activate(dir.act[0], p, H);
    std::copy_n(p, H, h);
  }

  // p holds h R^T ([i o f c] blocks); adds xw, peepholes, clips, activates and updates h, c.
  void lstm_step(const Direction& dir, const float* xw, float* p, float* h, float* c, float* tmp) const {
    const int64_t H = in_.H;
    for (int64_t j = 0; j < 4 * H; ++j) p[j] += xw[j];
    float* pi = p;
    float* po = p + H;
    float* pf = p + 2 * H;
    float* pc = p + 3 * H;
    if (dir.P) {
      for (int64_t j = 0; j < H; ++j) pi[j] += dir.P[j] * c[j];
      if (!cfg_.input_forget)
        for (int64_t j = 0; j < H; ++j) pf[j] += dir.P[2 * H + j] * c[j];
    }
    clip(cfg_, pi, H);
    activate(dir.act[0], pi, H);
    if (cfg_.input_forget) {
      for (int64_t j = 0; j < H; ++j) pf[j] = 1 - pi[j];
    } else {
      clip(cfg_, pf, H);
      activate(dir.act[0], pf, H);
    }
    clip(cfg_, pc, H);
    activate(dir.act[1], pc, H);
    for (int64_t j = 0; j < H; ++j) c[j] = pf[j] * c[j] + pi[j] * pc[j];
    if (dir.P)
      for (int64_t j = 0; j < H; ++j) po[j] += dir.P[H + j] * c[j];
    clip(cfg_, po, H);
    activate(dir.act[0], po, H);
    std::copy_n(c, H, tmp);
    activate(dir.act[2], tmp, H);
    for (int64_t j = 0; j < H; ++j) h[j] = po[j] * tmp[j];
  }

  // z and r gates (p's first 2H); with linear_before_reset also the h gate's pre-activation, else r * h into rh.
  void gru_gates(const Direction& dir, const float* xw, float* p, const float* h, float* rh) const {
    const int64_t H = in_.H;
    for (int64_t j = 0; j < 2 * H; ++j) p[j] += xw[j];
    clip(cfg_, p, 2 * H);
    activate(dir.act[0], p, 2 * H);
    const float* r = p + H;
    if (rh) {
      for (int64_t j = 0; j < H; ++j) rh[j] = r[j] * h[j];
    } else {
      float* ph = p + 2 * H;
      for (int64_t j = 0; j < H; ++j) ph[j] = r[j] * (ph[j] + dir.rb_h[static_cast<size_t>(j)]);
    }
  }

  void gru_update(const Direction& dir, const float* xw, float* p, float* h) const {
    const int64_t H = in_.H;
    float* ph = p + 2 * H;
    for (int64_t j = 0; j < H; ++j) ph[j] += xw[2 * H + j];
    clip(cfg_, ph, H);
    activate(dir.act[1], ph, H);
    const float* z = p;
    for (int64_t j = 0; j < H; ++j) h[j] = (1 - z[j]) * ph[j] + z[j] * h[j];
  }

  const RnnConfig& cfg_;
  const RnnInputs& in_;
  const RnnOutputs& out_;
};

}  // namespace

Status run_recurrent_f32(KernelContext& ctx, const RnnConfig& cfg, const RnnGemm& gemm) {
  ASSIGN_OR_RETURN(const RnnInputs in, check_recurrent_inputs(ctx, cfg));
  if (in.X->dtype() != DType::Float)
    return internal_error("{}: the float path got {}", ctx.node().describe(), dtype_name(in.X->dtype()));
  ASSIGN_OR_RETURN(const RnnOutputs out, allocate_recurrent_outputs(ctx, cfg, in));
  if (in.seq == 0 || in.batch == 0) return Status::ok();
  const int64_t GH = in.G * in.H;
  std::vector<Direction> dirs(static_cast<size_t>(in.D));
  for (int64_t d = 0; d < in.D; ++d) {
    Direction& dir = dirs[static_cast<size_t>(d)];
    dir.d = d;
    dir.reverse = cfg.reverse_only || d == 1;
    dir.R = in.R->data<float>() + d * GH * in.H;
    dir.P = in.P ? in.P->data<float>() + d * 3 * in.H : nullptr;
    dir.act = cfg.activations.data() + d * cfg.per_direction;
  }
  const Runner runner(cfg, in, out);
  ThreadPool* pool = ctx.threads();
  if (in.D == 2 && pool && pool->size() > 1) {
    // One thread per direction: each writes its own half of Y, Y_h and Y_c.
    Status st[2];
    pool->parallel_for(2, [&](size_t d0, size_t d1) {
      for (size_t d = d0; d < d1; ++d) {
        st[d] = runner.project(dirs[d], gemm, nullptr);
        if (st[d].is_ok()) runner.recur(dirs[d]);
      }
    });
    TRY(st[0]);
    return st[1];
  }
  for (Direction& dir : dirs) {
    TRY(runner.project(dir, gemm, pool));
    runner.recur(dir);
  }
  return Status::ok();
}

}  // namespace ortool::rt::cpu
