// GRU: update (z), reset (r) and hidden (h) gates, with linear_before_reset choosing where r applies.
#include <algorithm>
#include <vector>

#include "runtime/cpu/rnn.h"

namespace ortool::rt::cpu {
namespace {

double clipped(const RnnConfig& cfg, double v) { return cfg.clip > 0 ? std::clamp(v, -cfg.clip, cfg.clip) : v; }

// Row `j` of R's gate block `gate` times vector v.
double rdot(const RnnDirection& dir, int64_t H, int64_t gate, int64_t j, const double* v) {
  const double* row = dir.R + (gate * H + j) * H;
  double s = 0;
  for (int64_t k = 0; k < H; ++k) s += row[k] * v[k];
  return s;
}

// Gates in W, R, B are ordered z, r, h; activations f (z, r) and g (h).
void gru_cell(const RnnConfig& cfg, const RnnDirection& dir, int64_t H, const double* xw, double* h, double*) {
  const size_t n = static_cast<size_t>(H);
  std::vector<double> z(n), r(n), rh(n), next(n);
  const RnnActivation& f = dir.act[0];
  const RnnActivation& g = dir.act[1];
  for (int64_t j = 0; j < H; ++j) {
    z[j] = f(clipped(cfg, xw[j] + rdot(dir, H, 0, j, h) + dir.Rb[j]));
    r[j] = f(clipped(cfg, xw[H + j] + rdot(dir, H, 1, j, h) + dir.Rb[H + j]));
  }
  for (size_t j = 0; j < n; ++j) rh[j] = r[j] * h[j];
  for (int64_t j = 0; j < H; ++j) {
    const double rb = dir.Rb[2 * H + j];
    const double pre = cfg.linear_before_reset ? xw[2 * H + j] + r[j] * (rdot(dir, H, 2, j, h) + rb)
                                               : xw[2 * H + j] + rdot(dir, H, 2, j, rh.data()) + rb;
    const double hh = g(clipped(cfg, pre));
    next[j] = (1 - z[j]) * hh + z[j] * h[j];
  }
  std::copy(next.begin(), next.end(), h);
}

class GruKernel final : public Kernel {
 public:
  static Result<std::unique_ptr<Kernel>> create(const KernelInit& init) {
    ASSIGN_OR_RETURN(RnnConfig cfg, parse_rnn_config(init.node, RnnCellKind::Gru));
    return std::unique_ptr<Kernel>(new GruKernel(std::move(cfg)));
  }
  Status run(KernelContext& ctx) override { return run_recurrent_node(ctx, cfg_, gru_cell); }

 private:
  explicit GruKernel(RnnConfig cfg) : cfg_(std::move(cfg)) {}
  RnnConfig cfg_;
};

}  // namespace

void register_gru_ops(KernelRegistry& r) {
  r.add(KernelDef{
      "", "GRU", 1, INT32_MAX, {DType::Float, DType::Double, DType::Float16, DType::BFloat16}, 0, GruKernel::create});
}

}  // namespace ortool::rt::cpu
