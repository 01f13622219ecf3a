// LSTM: input (i), output (o), forget (f) and cell (c) gates, with optional peepholes, coupled input-forget and clip.
#include <algorithm>
#include <vector>

#include "runtime/cpu/rnn.h"

namespace ortool::rt::cpu {
namespace {

double clipped(const RnnConfig& cfg, double v) { return cfg.clip > 0 ? std::clamp(v, -cfg.clip, cfg.clip) : v; }

// Gates in W, R, B are ordered i, o, f, c; peepholes P are i, o, f; activations f (gates), g (cell
// candidate), h (output).
void lstm_cell(const RnnConfig& cfg, const RnnDirection& dir, int64_t H, const double* xw, double* h, double* c) {
  const size_t n = static_cast<size_t>(H);
  std::vector<double> pre(static_cast<size_t>(4 * H));
  for (int64_t j = 0; j < 4 * H; ++j) {
    const double* row = dir.R + j * H;
    double s = xw[j] + dir.Rb[j];
    for (int64_t k = 0; k < H; ++k) s += row[k] * h[k];
    pre[static_cast<size_t>(j)] = s;
  }
  const RnnActivation& f = dir.act[0];
  const RnnActivation& g = dir.act[1];
  const RnnActivation& hact = dir.act[2];
  std::vector<double> new_c(n);
  for (int64_t j = 0; j < H; ++j) {
    const double pi = dir.P ? dir.P[j] : 0, po = dir.P ? dir.P[H + j] : 0, pf = dir.P ? dir.P[2 * H + j] : 0;
    const double ig = f(clipped(cfg, pre[j] + pi * c[j]));
    const double fg = cfg.input_forget ? 1 - ig : f(clipped(cfg, pre[2 * H + j] + pf * c[j]));
    const double cand = g(clipped(cfg, pre[3 * H + j]));
    const double ct = fg * c[j] + ig * cand;
    const double og = f(clipped(cfg, pre[H + j] + po * ct));
    new_c[j] = ct;
    h[j] = og * hact(ct);
  }
  std::copy(new_c.begin(), new_c.end(), c);
}

class LstmKernel final : public Kernel {
 public:
  static Result<std::unique_ptr<Kernel>> create(const KernelInit& init) {
    ASSIGN_OR_RETURN(RnnConfig cfg, parse_rnn_config(init.node, RnnCellKind::Lstm));
    return std::unique_ptr<Kernel>(new LstmKernel(std::move(cfg)));
  }
  Status run(KernelContext& ctx) override { return run_recurrent_node(ctx, cfg_, lstm_cell); }

 private:
  explicit LstmKernel(RnnConfig cfg) : cfg_(std::move(cfg)) {}
  RnnConfig cfg_;
};

}  // namespace

void register_lstm_ops(KernelRegistry& r) {
  r.add(KernelDef{
      "", "LSTM", 1, INT32_MAX, {DType::Float, DType::Double, DType::Float16, DType::BFloat16}, 0, LstmKernel::create});
}

}  // namespace ortool::rt::cpu
