// Range methods (minmax, percentile, entropy, mse) on collected min/max and histograms.
#include "quant/calib_methods.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace ortool::quant {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Clamps [lo, hi] into the observed [min, max], or makes it [-T, T] with T <= max|x| when symmetric.
TensorRange finish(double lo, double hi, double min, double max, bool symmetric) {
  if (symmetric) {
    double t = std::min(std::max(std::fabs(lo), std::fabs(hi)), std::max(std::fabs(min), std::fabs(max)));
    return {-t, t};
  }
  lo = std::clamp(lo, min, max);
  hi = std::clamp(hi, min, max);
  return {std::min(lo, hi), std::max(lo, hi)};
}

// Index one past the last non-zero bin (0 when all are zero).
size_t used_bins(const std::vector<double>& bins) {
  size_t k = bins.size();
  while (k > 0 && bins[k - 1] == 0) --k;
  return k;
}

// The candidate in [1, n] minimizing f: every candidate when there are few, otherwise every
// `stride`-th one and then every candidate around the best of those.
size_t argmin_coarse_to_fine(size_t n, const std::function<double(size_t)>& f) {
  size_t best = n;
  double best_v = f(n);
  auto consider = [&](size_t i) {
    double v = f(i);
    if (v < best_v) {
      best_v = v;
      best = i;
    }
  };
  if (n <= 256) {
    for (size_t i = 1; i < n; ++i) consider(i);
    return best;
  }
  const size_t stride = (n + 127) / 128;
  for (size_t i = stride; i < n; i += stride) consider(i);
  const size_t center = best;
  for (size_t i = center > stride ? center - stride : 1; i <= std::min(n, center + stride); ++i) consider(i);
  return best;
}

// Integral of (x - step*round(x/step))^2 from a fixed origin to x: a full period adds step^3/12.
double rounding_error_integral(double x, double step) {
  double u = x / step + 0.5;
  double k = std::floor(u);
  double f = u - k - 0.5;
  return step * step * step * (k / 12.0 + (f * f * f + 0.125) / 3.0);
}

double clip_error_integral(double u, double v, double c) {
  return ((v - c) * (v - c) * (v - c) - (u - c) * (u - c) * (u - c)) / 3.0;
}

// Expected error over non-zero bins given as (lower edge, count); bins all of width w.
struct Bin {
  double a;
  double count;
};

double expected_error(const std::vector<Bin>& bins, double total, double w, double lo, double hi, double step) {
  // The quantizer's end points are grid points (its zero point is an integer): values past them
  // round to the end point, so snap the ends to the grid; between them rounding is to the nearest point.
  if (step > 0) {
    if (std::isfinite(lo)) lo = step * std::round(lo / step);
    if (std::isfinite(hi)) hi = step * std::round(hi / step);
  }
  double sum = 0;
  for (const Bin& bin : bins) {
    const double a = bin.a, b = bin.a + w;
    double e = 0;
    if (a < lo) e += clip_error_integral(a, std::min(b, lo), lo);
    if (b > hi) e += clip_error_integral(std::max(a, hi), b, hi);
    double u = std::max(a, lo), v = std::min(b, hi);
    if (v > u && step > 0) e += rounding_error_integral(v, step) - rounding_error_integral(u, step);
    sum += bin.count / w * e;
  }
  return total > 0 ? sum / total : 0;
}

std::vector<Bin> nonzero_bins(const std::vector<double>& bins, double lo_edge, double w, double* total) {
  std::vector<Bin> out;
  *total = 0;
  for (size_t j = 0; j < bins.size(); ++j) {
    if (bins[j] == 0) continue;
    out.push_back({lo_edge + static_cast<double>(j) * w, bins[j]});
    *total += bins[j];
  }
  return out;
}

// Replaces zeros by `eps` and takes the same mass from the non-zero entries (MXNet's and ONNX Runtime's
// smoothing for the entropy calibrator), so that a bin only one side has does not make KL infinite.
// False when everything is zero.
bool smooth(std::vector<double>& d, double eps = 1e-4) {
  size_t zeros = 0;
  for (double x : d) zeros += x == 0;
  if (zeros == d.size()) return false;
  const double take = eps * static_cast<double>(zeros) / static_cast<double>(d.size() - zeros);
  for (double& x : d) x = x == 0 ? eps : x - take;
  return true;
}

// KL divergence of TensorRT's calibrator for threshold bin `i`: reference p = bins[0, i) with the
// counts past i added to bin i-1; candidate q = bins[0, i) merged into `levels` groups, each group's
// count spread evenly over its non-empty bins. Both smoothed; `p`, `q` and the group vectors are scratch.
double entropy_divergence(const std::vector<double>& bins, size_t i, double tail, int levels, std::vector<double>& p,
                          std::vector<double>& q, std::vector<double>& group_sum, std::vector<int>& group_nonzero) {
  std::fill(group_sum.begin(), group_sum.end(), 0.0);
  std::fill(group_nonzero.begin(), group_nonzero.end(), 0);
  auto group = [&](size_t k) { return static_cast<size_t>(static_cast<double>(k) * levels / static_cast<double>(i)); };
  for (size_t k = 0; k < i; ++k) {
    if (bins[k] == 0) continue;
    size_t g = group(k);
    group_sum[g] += bins[k];
    group_nonzero[g] += 1;
  }
  p.assign(bins.begin(), bins.begin() + static_cast<std::ptrdiff_t>(i));
  p[i - 1] += tail;
  q.assign(i, 0.0);
  for (size_t k = 0; k < i; ++k)
    if (bins[k] != 0) q[k] = group_sum[group(k)] / group_nonzero[group(k)];
  if (!smooth(p) || !smooth(q)) return kInf;
  double p_total = 0, q_total = 0;
  for (size_t k = 0; k < i; ++k) {
    p_total += p[k];
    q_total += q[k];
  }
  double kl = 0;
  for (size_t k = 0; k < i; ++k) {
    double pk = p[k] / p_total, qk = q[k] / q_total;
    if (pk > 0 && qk > 0) kl += pk * std::log(pk / qk);
  }
  return kl;
}

}  // namespace

std::string_view calib_method_name(CalibMethod m) {
  switch (m) {
    case CalibMethod::MinMax: return "minmax";
    case CalibMethod::Entropy: return "entropy";
    case CalibMethod::Percentile: return "percentile";
    case CalibMethod::Mse: return "mse";
  }
  return "minmax";
}

Result<CalibMethod> parse_calib_method(std::string_view name) {
  for (CalibMethod m : {CalibMethod::MinMax, CalibMethod::Entropy, CalibMethod::Percentile, CalibMethod::Mse})
    if (calib_method_name(m) == name) return m;
  return invalid("unknown calibration method '{}' (minmax, entropy, percentile, mse)", name);
}

bool method_needs_histogram(CalibMethod m) { return m != CalibMethod::MinMax; }

Status check_range_options(const RangeOptions& o) {
  if (!(o.percentile > 0 && o.percentile <= 100)) return invalid("percentile must be in (0, 100], got {}", o.percentile);
  if (o.entropy_levels < 2) return invalid("entropy levels must be at least 2, got {}", o.entropy_levels);
  if (o.entropy_start_bin < 1) return invalid("entropy start bin must be at least 1, got {}", o.entropy_start_bin);
  if (o.mse_levels < 3) return invalid("mse levels must be at least 3, got {}", o.mse_levels);
  return Status::ok();
}

TensorRange range_minmax(double min, double max, bool symmetric) { return finish(min, max, min, max, symmetric); }

TensorRange range_percentile(const Histogram& h, double min, double max, double percentile, bool symmetric) {
  if (h.total() == 0 || h.limit() == 0 || min == max) return range_minmax(min, max, symmetric);
  const double w = h.bin_width();
  const double total = static_cast<double>(h.total());
  if (symmetric) {
    std::vector<double> m = h.magnitudes();
    const double want = percentile / 100.0 * total;
    double cum = 0;
    size_t i = 0;
    for (; i + 1 < m.size(); ++i) {
      cum += m[i];
      if (cum >= want) break;
    }
    double t = static_cast<double>(i + 1) * w;  // upper edge of the bin holding the percentile
    return finish(-t, t, min, max, true);
  }
  // Half of the clipped share from each end of the real line.
  std::vector<double> s = h.signed_bins();
  const double cut = (100.0 - percentile) / 200.0 * total;
  double cum = 0;
  size_t left = 0;
  for (; left + 1 < s.size(); ++left) {
    cum += s[left];
    if (cum > cut) break;
  }
  cum = 0;
  size_t right = s.size() - 1;
  for (; right > 0; --right) {
    cum += s[right];
    if (cum > cut) break;
  }
  double lo = -h.limit() + static_cast<double>(left) * w;       // lower edge of the left cut's bin
  double hi = -h.limit() + static_cast<double>(right + 1) * w;  // upper edge of the right cut's bin
  return finish(lo, hi, min, max, false);
}

TensorRange range_entropy(const Histogram& h, double min, double max, int levels, int start_bin, bool symmetric) {
  if (h.total() == 0 || h.limit() == 0 || min == max) return range_minmax(min, max, symmetric);
  std::vector<double> bins = h.magnitudes();
  const size_t used = used_bins(bins);
  if (used <= 1) return range_minmax(min, max, symmetric);
  // The zero bin takes its neighbour's count (as pytorch-quantization, NVIDIA's calibration toolkit,
  // does): after Relu it holds every negative value, and that spike would otherwise weigh on the choice.
  bins[0] = bins[1];
  const size_t start = std::min(used, static_cast<size_t>(start_bin));
  std::vector<double> tail_from(used + 1, 0.0);  // tail_from[i] = sum of bins[i, used)
  for (size_t k = used; k-- > 0;) tail_from[k] = tail_from[k + 1] + bins[k];
  std::vector<double> p, q, group_sum(levels);
  std::vector<int> group_nonzero(levels);
  size_t best = used;
  double best_kl = kInf;
  for (size_t i = start; i <= used; ++i) {
    double kl = entropy_divergence(bins, i, tail_from[i], levels, p, q, group_sum, group_nonzero);
    if (kl <= best_kl) {  // ties go to the wider threshold, as pytorch-quantization's last argmin
      best_kl = kl;
      best = i;
    }
  }
  const double t = static_cast<double>(best) * h.bin_width();
  return finish(-t, t, min, max, symmetric);
}

double expected_quantization_error(const std::vector<double>& bins, double lo_edge, double w, double lo, double hi,
                                   double step) {
  double total = 0;
  std::vector<Bin> nz = nonzero_bins(bins, lo_edge, w, &total);
  return expected_error(nz, total, w, lo, hi, step);
}

TensorRange range_mse(const Histogram& h, double min, double max, int levels, bool symmetric) {
  if (h.total() == 0 || h.limit() == 0 || min == max) return range_minmax(min, max, symmetric);
  const double w = h.bin_width();
  const double steps = levels - 1;
  double total = 0;
  if (symmetric || min >= 0) {
    // One threshold T: [-T, T] over |x| (the error is even in x), or [0, T] for unsigned values.
    std::vector<double> mags = h.magnitudes();
    const size_t used = used_bins(mags);
    std::vector<Bin> nz = nonzero_bins(mags, 0, w, &total);
    // Symmetric targets use the levels -(L/2 - 1) .. L/2 - 1 (-127..127 for int8, as ONNX Runtime's
    // symmetric int8), so T is a grid point; unsigned ones 0 .. L-1.
    const double per_t = symmetric ? 2.0 / (levels - 2) : 1.0 / steps;
    size_t best = argmin_coarse_to_fine(used, [&](size_t i) {
      double t = static_cast<double>(i) * w;
      return expected_error(nz, total, w, -kInf, t, t * per_t);
    });
    double t = static_cast<double>(best) * w;
    return symmetric ? finish(-t, t, min, max, true) : finish(min, t, min, max, false);
  }
  // Signed values, asymmetric range: search each end with the other fixed, a few rounds.
  std::vector<double> s = h.signed_bins();
  std::vector<Bin> nz = nonzero_bins(s, -h.limit(), w, &total);
  const size_t n_hi = static_cast<size_t>(std::ceil(std::max(max, 0.0) / w));
  const size_t n_lo = static_cast<size_t>(std::ceil(-std::min(min, 0.0) / w));
  double lo = min, hi = max;
  for (int round = 0; round < 3; ++round) {
    const double old_lo = lo, old_hi = hi;
    if (n_hi > 0) {
      size_t i = argmin_coarse_to_fine(n_hi, [&](size_t k) {
        double t = static_cast<double>(k) * w;
        return expected_error(nz, total, w, lo, t, (t - lo) / steps);
      });
      hi = std::min(max, static_cast<double>(i) * w);
    }
    if (n_lo > 0) {
      size_t i = argmin_coarse_to_fine(n_lo, [&](size_t k) {
        double t = -static_cast<double>(k) * w;
        return expected_error(nz, total, w, t, hi, (hi - t) / steps);
      });
      lo = std::max(min, -static_cast<double>(i) * w);
    }
    if (lo == old_lo && hi == old_hi) break;
  }
  return finish(lo, hi, min, max, false);
}

Result<TensorRange> compute_range(const TensorCollector& c, const RangeOptions& o) {
  if (!c.has_values())
    return invalid("no finite values in {} samples ({} NaN, {} Inf)", c.samples(), c.nan_count(), c.inf_count());
  const double min = c.min(), max = c.max();
  if (o.method == CalibMethod::MinMax) {
    if (c.average_min() && c.average_max()) return range_minmax(*c.average_min(), *c.average_max(), o.symmetric);
    return range_minmax(min, max, o.symmetric);
  }
  const Histogram* h = c.histogram();
  if (h == nullptr) return internal_error("the {} method needs a histogram; this collector kept none", calib_method_name(o.method));
  switch (o.method) {
    case CalibMethod::Percentile: return range_percentile(*h, min, max, o.percentile, o.symmetric);
    case CalibMethod::Entropy: return range_entropy(*h, min, max, o.entropy_levels, o.entropy_start_bin, o.symmetric);
    case CalibMethod::Mse: return range_mse(*h, min, max, o.mse_levels, o.symmetric);
    case CalibMethod::MinMax: break;
  }
  return range_minmax(min, max, o.symmetric);
}

}  // namespace ortool::quant
