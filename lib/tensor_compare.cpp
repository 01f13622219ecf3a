// Error metrics between two tensors (max/mean abs, rel, cosine, SQNR, top-1) with tolerance counting.
#include "lib/tensor_compare.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace ortool {

std::string index_to_string(const std::vector<int64_t>& dims, int64_t flat) {
  std::vector<int64_t> idx(dims.size());
  for (size_t i = dims.size(); i-- > 0;) {
    if (dims[i] > 0) {
      idx[i] = flat % dims[i];
      flat /= dims[i];
    }
  }
  std::string s = "[";
  for (size_t i = 0; i < idx.size(); ++i) s += (i ? "," : "") + std::to_string(idx[i]);
  return s + "]";
}

size_t abs_error_bin(double err) {
  if (err == 0) return 0;
  if (!(err < 10)) return kAbsErrorBins - 1;  // 10 and more, infinity, NaN
  double edge = 1e-9;
  size_t bin = 1;
  while (bin < kAbsErrorBins - 2 && err >= edge) {
    edge *= 10;
    ++bin;
  }
  return bin;
}

std::string abs_error_bin_label(size_t bin) {
  if (bin == 0) return "0";
  if (bin == 1) return "<1e-9";
  if (bin >= kAbsErrorBins - 1) return ">=10";
  int lo = static_cast<int>(bin) - 11;  // bin 2 starts at 1e-9
  return fmt::format("1e{}..1e{}", lo, lo + 1);
}

CompareStats compare_tensors(const Tensor& ref, const Tensor& got, const Tolerance& tol) {
  CompareStats st;
  if (ref.dtype() != got.dtype()) {
    st.mismatch = fmt::format("element type {} vs {}", dtype_name(ref.dtype()), dtype_name(got.dtype()));
    return st;
  }
  if (ref.dims() != got.dims()) {
    auto show = [](const std::vector<int64_t>& d) {
      std::string s = "[";
      for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::to_string(d[i]);
      return s + "]";
    };
    st.mismatch = fmt::format("shape {} vs {}", show(ref.dims()), show(got.dims()));
    return st;
  }
  st.count = ref.numel();
  if (ref.is_string()) {
    for (int64_t i = 0; i < st.count; ++i) {
      if (ref.strings()[static_cast<size_t>(i)] != got.strings()[static_cast<size_t>(i)]) {
        if (st.failed++ == 0) st.worst_index = i;
      }
    }
    st.max_abs = st.failed ? 1 : 0;
    st.cosine.reset();
    return st;
  }
  double sum_abs = 0, dot = 0, nr = 0, ng = 0, noise = 0, worst_excess = -1;
  for (int64_t i = 0; i < st.count; ++i) {
    double r = ref.get_double(i), g = got.get_double(i);
    bool rn = std::isnan(r), gn = std::isnan(g);
    double err;
    bool fail;
    if (rn || gn) {
      err = (rn && gn) ? 0 : std::numeric_limits<double>::infinity();
      fail = !(rn && gn);
    } else if (std::isinf(r) || std::isinf(g)) {
      err = (r == g) ? 0 : std::numeric_limits<double>::infinity();
      fail = r != g;
    } else {
      err = std::fabs(r - g);
      fail = err > tol.atol + tol.rtol * std::fabs(r);
      dot += r * g;
      nr += r * r;
      ng += g * g;
      noise += (r - g) * (r - g);
      double rel = err / std::max(std::fabs(r), 1e-12);
      if (err > 0) st.max_rel = std::max(st.max_rel, rel);
    }
    sum_abs += std::isfinite(err) ? err : 0;
    ++st.abs_error_hist[abs_error_bin(err)];
    st.max_abs = std::max(st.max_abs, err);
    if (fail) ++st.failed;
    double excess = err - (tol.atol + tol.rtol * (std::isfinite(r) ? std::fabs(r) : 0));
    if (excess > worst_excess || st.worst_index < 0) {
      worst_excess = excess;
      st.worst_index = i;
      st.worst_ref = r;
      st.worst_got = g;
    }
  }
  st.mean_abs = st.count ? sum_abs / static_cast<double>(st.count) : 0;
  st.ref_energy = nr;
  st.noise_energy = noise;
  if (nr > 0 && ng > 0) st.cosine = std::clamp(dot / std::sqrt(nr * ng), -1.0, 1.0);
  else if (nr == 0 && ng == 0) st.cosine = 1.0;
  else if (nr == 0) st.cosine.reset();
  else st.cosine = 0.0;
  if (noise == 0) st.sqnr_db = std::numeric_limits<double>::infinity();
  else if (nr > 0) st.sqnr_db = 10 * std::log10(nr / noise);
  if (ref.rank() == 2 && ref.dims()[0] > 0 && ref.dims()[1] > 1) {
    int64_t rows = ref.dims()[0], cols = ref.dims()[1], agree = 0;
    for (int64_t r = 0; r < rows; ++r) {
      int64_t ar = 0, ag = 0;
      for (int64_t c = 1; c < cols; ++c) {
        if (ref.get_double(r * cols + c) > ref.get_double(r * cols + ar)) ar = c;
        if (got.get_double(r * cols + c) > got.get_double(r * cols + ag)) ag = c;
      }
      agree += ar == ag;
    }
    st.top1_agreement = static_cast<double>(agree) / static_cast<double>(rows);
    st.top1_rows = rows;
    st.top1_agree = agree;
  }
  return st;
}

}  // namespace ortool
