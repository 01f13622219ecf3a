// Per-channel running means for bias correction: sums and counts, one pair per channel.
#include "quant/calib_mean.h"

#include <cmath>

#include "lib/half.h"

namespace ortool::quant {

Status ChannelMeanCollector::add(const Tensor& t) {
  const int64_t rank = static_cast<int64_t>(t.rank());
  const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
  if (axis < 0 || axis >= rank) return invalid("has rank {}: no channel axis {}", rank, axis_);
  const int64_t channels = t.dims()[static_cast<size_t>(axis)];
  if (sum_.empty()) {
    sum_.assign(static_cast<size_t>(channels), 0.0);
    count_.assign(static_cast<size_t>(channels), 0);
  } else if (channels != this->channels()) {
    return invalid("has {} channels along axis {}, earlier samples had {}", channels, axis_, this->channels());
  }
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d) inner *= t.dims()[static_cast<size_t>(d)];
  const int64_t outer = channels * inner == 0 ? 0 : t.numel() / (channels * inner);
  auto accumulate = [&](auto value_at) {
    int64_t i = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < channels; ++c) {
        double s = 0;
        int64_t n = 0;
        for (int64_t k = 0; k < inner; ++k, ++i) {
          const double x = value_at(i);
          if (!std::isfinite(x)) continue;
          s += x;
          ++n;
        }
        sum_[static_cast<size_t>(c)] += s;
        count_[static_cast<size_t>(c)] += n;
      }
  };
  switch (t.dtype()) {
    case DType::Float: {
      const float* p = t.data<float>();
      accumulate([p](int64_t i) { return static_cast<double>(p[i]); });
      return Status::ok();
    }
    case DType::Float16: {
      const uint16_t* p = t.data<uint16_t>();
      accumulate([p](int64_t i) { return static_cast<double>(half_to_float(p[i])); });
      return Status::ok();
    }
    case DType::BFloat16: {
      const uint16_t* p = t.data<uint16_t>();
      accumulate([p](int64_t i) { return static_cast<double>(bfloat16_to_float(p[i])); });
      return Status::ok();
    }
    case DType::Double: {
      const double* p = t.data<double>();
      accumulate([p](int64_t i) { return p[i]; });
      return Status::ok();
    }
    default:
      return invalid("holds {} values; channel means are taken of float tensors only", dtype_name(t.dtype()));
  }
}

std::vector<double> ChannelMeanCollector::means() const {
  std::vector<double> m(sum_.size(), 0.0);
  for (size_t c = 0; c < m.size(); ++c)
    if (count_[c] > 0) m[c] = sum_[c] / static_cast<double>(count_[c]);
  return m;
}

}  // namespace ortool::quant
