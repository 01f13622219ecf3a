// Calibration collectors: running min/max, moving averages, NaN/Inf counts and histograms per tensor.
#include "quant/calib_collect.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "lib/half.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ortool::quant {

namespace {
// Float16, bfloat16 and float64 values are converted in chunks of this many: never copied whole.
constexpr size_t kChunk = 16384;

// Min, max (a NaN never wins a comparison: x < lo ? x : lo keeps lo) and the NaN count of a chunk.
// SSE2 on x86-64 (GCC does not vectorize this reduction itself: it may not reorder float min).
void min_max_nan(const float* p, size_t n, float& lo_out, float& hi_out, int64_t& nan_out) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  int64_t nan = 0;
  size_t i = 0;
#if defined(__SSE2__)
  __m128 vlo = _mm_set1_ps(lo), vhi = _mm_set1_ps(hi);
  __m128i vnan = _mm_setzero_si128();
  for (; i + 4 <= n; i += 4) {
    __m128 x = _mm_loadu_ps(p + i);
    vlo = _mm_min_ps(x, vlo);  // minps returns its second operand when either is NaN
    vhi = _mm_max_ps(x, vhi);
    vnan = _mm_sub_epi32(vnan, _mm_castps_si128(_mm_cmpunord_ps(x, x)));
  }
  alignas(16) float l[4], h[4];
  alignas(16) int32_t c[4];
  _mm_store_ps(l, vlo);
  _mm_store_ps(h, vhi);
  _mm_store_si128(reinterpret_cast<__m128i*>(c), vnan);
  for (int j = 0; j < 4; ++j) {
    lo = l[j] < lo ? l[j] : lo;
    hi = h[j] > hi ? h[j] : hi;
    nan += c[j];
  }
#endif
  for (; i < n; ++i) {
    lo = p[i] < lo ? p[i] : lo;
    hi = p[i] > hi ? p[i] : hi;
    nan += p[i] != p[i];
  }
  lo_out = lo;
  hi_out = hi;
  nan_out = nan;
}

}  // namespace

Status check_collect_options(const CollectOptions& o) {
  // 65536 bins per sign (1 MiB per tensor) is far past any use; the bound keeps a typo from asking for gigabytes.
  if (o.bins < 2 || o.bins > (1 << 16)) return invalid("histogram bins must be between 2 and {}, got {}", 1 << 16, o.bins);
  if (!(o.averaging_constant > 0 && o.averaging_constant <= 1))
    return invalid("moving-average constant must be in (0, 1], got {}", o.averaging_constant);
  return Status::ok();
}

TensorCollector::TensorCollector(const CollectOptions& options) : options_(options) {
  if (options_.histogram) histogram_.emplace(options_.bins);
}

void TensorCollector::preset_histogram_limit(double limit) {
  if (histogram_) histogram_->cover(limit);
}

size_t TensorCollector::bytes() const { return sizeof(*this) + (histogram_ ? histogram_->bytes() : 0); }

void TensorCollector::scan(std::span<const float> values, Batch& b) {
  Batch c;  // this chunk
  // Fast path: when both extremes are finite there is no Inf, and every value but the NaNs is finite.
  float lo, hi;
  int64_t nan;
  min_max_nan(values.data(), values.size(), lo, hi, nan);
  if (std::isfinite(lo) && std::isfinite(hi)) {
    c.min = lo;
    c.max = hi;
    c.finite = static_cast<int64_t>(values.size()) - nan;
    c.nan = nan;
  } else {
    for (float x : values) {
      if (std::isfinite(x)) {
        c.min = std::min<double>(c.min, x);
        c.max = std::max<double>(c.max, x);
        ++c.finite;
      } else if (std::isnan(x)) {
        ++c.nan;
      } else {
        ++c.inf;
      }
    }
  }
  if (histogram_ && c.finite > 0) histogram_->add(values, std::max(std::fabs(c.min), std::fabs(c.max)));
  b.finite += c.finite;
  b.nan += c.nan;
  b.inf += c.inf;
  b.min = std::min(b.min, c.min);
  b.max = std::max(b.max, c.max);
}

void TensorCollector::commit(const Batch& b) {
  ++samples_;
  finite_ += b.finite;
  nan_ += b.nan;
  inf_ += b.inf;
  if (b.nan + b.inf > 0) ++samples_nonfinite_;
  if (b.finite == 0) return;  // an empty or all-NaN sample moves no range
  min_ = std::min(min_, b.min);
  max_ = std::max(max_, b.max);
  if (options_.moving_average) {
    if (!avg_min_) {
      avg_min_ = b.min;
      avg_max_ = b.max;
    } else {
      const double c = options_.averaging_constant;
      *avg_min_ += c * (b.min - *avg_min_);
      *avg_max_ += c * (b.max - *avg_max_);
    }
  }
}

void TensorCollector::add(std::span<const float> values) {
  // Pieces of 256 KiB: large enough to amortize the histogram's fixed cost per call (merging its
  // scratch counts), small enough that binning re-reads the piece from cache, not memory.
  constexpr size_t kPiece = size_t{1} << 16;
  Batch b;
  for (size_t i = 0; i < values.size(); i += kPiece) scan(values.subspan(i, std::min(kPiece, values.size() - i)), b);
  commit(b);
}

Status TensorCollector::add(const Tensor& t) {
  const size_t n = static_cast<size_t>(t.numel());
  auto convert = [&](auto to_float) {
    thread_local std::vector<float> buf(kChunk);
    Batch b;
    for (size_t i = 0; i < n; i += kChunk) {
      size_t m = std::min(kChunk, n - i);
      for (size_t k = 0; k < m; ++k) buf[k] = to_float(i + k);
      scan(std::span<const float>(buf.data(), m), b);
    }
    commit(b);
  };
  switch (t.dtype()) {
    case DType::Float:
      add(std::span<const float>(t.data<float>(), n));
      return Status::ok();
    case DType::Float16: {
      const uint16_t* p = t.data<uint16_t>();
      convert([p](size_t i) { return half_to_float(p[i]); });
      return Status::ok();
    }
    case DType::BFloat16: {
      const uint16_t* p = t.data<uint16_t>();
      convert([p](size_t i) { return bfloat16_to_float(p[i]); });
      return Status::ok();
    }
    case DType::Double: {
      // Values past float's range become +-Inf and are counted as such.
      const double* p = t.data<double>();
      convert([p](size_t i) { return static_cast<float>(p[i]); });
      return Status::ok();
    }
    default:
      return invalid("holds {} values; only float tensors (float32, float16, bfloat16, float64) are calibrated",
                     dtype_name(t.dtype()));
  }
}

}  // namespace ortool::quant
