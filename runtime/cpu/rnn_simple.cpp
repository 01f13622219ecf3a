// RNN (simple recurrent layer): Ht = f(Xt * Wi^T + Ht-1 * Ri^T + Wbi + Rbi).
#include <algorithm>
#include <vector>

#include "runtime/cpu/rnn.h"

namespace ortool::rt::cpu {
namespace {

// Pre-activation clipped to [-clip, clip] when clip is set.
double clipped(const RnnConfig& cfg, double v) { return cfg.clip > 0 ? std::clamp(v, -cfg.clip, cfg.clip) : v; }

void simple_cell(const RnnConfig& cfg, const RnnDirection& dir, int64_t H, const double* xw, double* h, double*) {
  std::vector<double> next(static_cast<size_t>(H));
  for (int64_t j = 0; j < H; ++j) {
    double v = xw[j] + dir.Rb[j];
    const double* row = dir.R + j * H;
    for (int64_t k = 0; k < H; ++k) v += row[k] * h[k];
    next[static_cast<size_t>(j)] = dir.act[0](clipped(cfg, v));
  }
  std::copy(next.begin(), next.end(), h);
}

class RnnKernel final : public Kernel {
 public:
  static Result<std::unique_ptr<Kernel>> create(const KernelInit& init) {
    ASSIGN_OR_RETURN(RnnConfig cfg, parse_rnn_config(init.node, RnnCellKind::Simple));
    return std::unique_ptr<Kernel>(new RnnKernel(std::move(cfg)));
  }
  Status run(KernelContext& ctx) override { return run_recurrent_node(ctx, cfg_, simple_cell); }

 private:
  explicit RnnKernel(RnnConfig cfg) : cfg_(std::move(cfg)) {}
  RnnConfig cfg_;
};

}  // namespace

void register_simple_rnn_ops(KernelRegistry& r) {
  r.add(KernelDef{
      "", "RNN", 1, INT32_MAX, {DType::Float, DType::Double, DType::Float16, DType::BFloat16}, 0, RnnKernel::create});
}

}  // namespace ortool::rt::cpu
